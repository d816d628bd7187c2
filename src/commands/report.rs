//! `callsift report`: the HTML dashboard over the other commands' outputs.

use callsift::downstream::report::{self, ReportInputs};

use crate::cli::ReportArgs;

pub fn run(a: ReportArgs, quiet: bool) -> anyhow::Result<()> {
    let inputs = ReportInputs {
        features: a.features,
        scores: a.scores,
        qa: a.qa,
        cards: a.cards,
    };
    let path = report::run(&inputs, &a.out)?;
    if !quiet {
        println!("wrote {}", path.display());
    }
    Ok(())
}
