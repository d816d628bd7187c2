//! `callsift review`: the QA workbench's web server, until interrupted.

use callsift::downstream::review::{self, ReviewSettings};

use crate::cli::ReviewArgs;

pub fn run(a: ReviewArgs, quiet: bool) -> anyhow::Result<()> {
    let settings = into_settings(a);
    if settings.keep_original_audio {
        eprintln!(
            "warning: --keep-original-audio: the player plays spoken card numbers, security codes and identity data\nhint: only for sites allowed to keep them; without it these spans are muted"
        );
    }
    let server = review::prepare(&settings)?;
    if !quiet {
        let query = if settings.token.is_some() {
            "?token=…"
        } else {
            ""
        };
        println!(
            "reviewing {} at http://{}/{query} (Ctrl-C to stop)",
            settings.dataset.display(),
            server.addr
        );
    }
    server.run()?;
    Ok(())
}

fn into_settings(a: ReviewArgs) -> ReviewSettings {
    ReviewSettings {
        dataset: a.dataset,
        scores: a.scores,
        qa: a.qa,
        surveys: a.surveys,
        checklist: a.checklist,
        listen: a.listen,
        token: a.token,
        keep_original_audio: a.keep_original_audio,
    }
}
