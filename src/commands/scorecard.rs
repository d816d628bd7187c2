//! `callsift scorecard`: per agent and period metrics with percentiles among peers.

use std::collections::BTreeSet;

use callsift::downstream::Period;
use callsift::downstream::scorecard::{self, ScorecardSettings};

use crate::cli::ScorecardArgs;

pub fn run(a: ScorecardArgs, quiet: bool) -> anyhow::Result<()> {
    let settings = ScorecardSettings {
        features: a.features,
        surveys: a.surveys,
        self_scores: a.self_scores,
        period: Period::parse(&a.period)?,
        repeat_days: a.repeat_days,
        out: a.out,
    };
    let (rows, written) = scorecard::run(&settings)?;
    if quiet {
        return Ok(());
    }
    let agents: BTreeSet<(&str, &str)> = rows
        .iter()
        .map(|r| (r.agent_id.as_str(), r.period.as_str()))
        .collect();
    println!("scorecards for {} agent-periods", agents.len());
    for p in &written {
        println!("wrote {}", p.display());
    }
    Ok(())
}
