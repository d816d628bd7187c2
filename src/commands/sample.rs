//! `callsift sample`: calls for QA review, with evidence, clips and review pages.

use callsift::downstream::Period;
use callsift::downstream::sample::{self, SampleSettings, SampleSummary, printable};

use super::printable_first_line;
use crate::cli::SampleArgs;

pub fn run(a: SampleArgs, quiet: bool) -> anyhow::Result<()> {
    let settings = into_settings(&a)?;
    if settings.keep_original_audio {
        eprintln!(
            "warning: --keep-original-audio: clips keep spoken card numbers, security codes and identity data\nhint: only for sites allowed to store them; without it these spans are muted"
        );
    }
    let sum = sample::run(
        &a.features,
        a.scores.as_deref(),
        a.audio_root.as_deref(),
        &a.out,
        &settings,
    )?;
    if !quiet {
        print_summary(&sum);
    }
    for why in &sum.unmatched {
        eprintln!("warning: {}", printable(why));
    }
    let some_match = sum.unmatched.len() < sum.flags.len();
    if sum.picked > 0 && sum.targeted == 0 && some_match && settings.targeted_share > 0.0 {
        eprintln!(
            "warning: no targeted pick: all {} picks are random\nhint: the calls that match the flags are excluded or in other agent-periods",
            sum.picked
        );
    }
    for (id, e) in &sum.clip_errors {
        // the paths tried, without the hint (said once below)
        let tried: String = e
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("hint: "))
            .map(|l| format!("\n{}", printable(l)))
            .collect();
        eprintln!(
            "warning: no clips for {}: {}{tried}",
            printable(id),
            printable_first_line(e)
        );
    }
    if sum.recordings_unreadable > 0 {
        eprintln!(
            "warning: {} of {} recordings of picked calls not found or unreadable: those calls have no clips\nhint: pass --audio-root DIR, the folder the recordings were moved to",
            sum.recordings_unreadable,
            sum.recordings_unreadable + sum.recordings_read
        );
    }
    Ok(())
}

fn into_settings(a: &SampleArgs) -> anyhow::Result<SampleSettings> {
    let mut s = SampleSettings {
        per_agent: a.per_agent,
        targeted_share: a.targeted_share,
        seed: a.seed,
        keep_original_audio: a.keep_original_audio,
        max_confidence: a.max_confidence,
        strict_flags: a.flags.is_some(),
        // filled in below: the counts are checked first
        period: Period::All,
        flags: Vec::new(),
        exclude: Default::default(),
    };
    s.validate()?;
    s.period = Period::parse(&a.period)?;
    s.flags = sample::parse_flags(a.flags.as_deref().unwrap_or(sample::DEFAULT_FLAGS))?;
    if let Some(p) = &a.exclude {
        s.exclude = sample::read_exclusions(p)?;
    }
    Ok(s)
}

fn print_summary(sum: &SampleSummary) {
    println!(
        "picked {} calls ({} targeted, {} random) in {} agent-periods; {} clips ({:.1} s muted)",
        sum.picked,
        sum.targeted,
        sum.picked - sum.targeted,
        sum.strata,
        sum.clips,
        sum.muted_ms as f64 / 1000.0
    );
    if sum.reviewed_excluded > 0 {
        println!(
            "left out {} calls already reviewed (the dataset's reviews/)",
            sum.reviewed_excluded
        );
    }
    if !sum.skipped_flags.is_empty() {
        println!(
            "default flags the data cannot serve, left out: {}",
            sum.skipped_flags.join(", ")
        );
    }
    for s in &sum.shortfalls {
        println!(
            "  {} in {}: only {} of {} calls available",
            printable(&s.agent_id),
            printable(&s.period),
            s.available,
            s.wanted
        );
    }
    for p in &sum.written {
        println!("wrote {}", printable(&p.display().to_string()));
    }
}
