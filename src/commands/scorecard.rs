//! `callsift scorecard`: per agent and period metrics with percentiles among peers.

use std::collections::BTreeSet;

use callsift::downstream::scorecard::{self, ScorecardSettings};
use callsift::downstream::{Period, tables};

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
    let done = scorecard::run(&settings)?;
    if done.survey_issues > 0 {
        eprintln!(
            "warning: {} of {} survey rows skipped or partly used; every one is listed in {}",
            done.survey_issues,
            done.survey_rows,
            settings.out.join(tables::ISSUES_FILE).display()
        );
    }
    if quiet {
        return Ok(());
    }
    for n in &done.notes {
        println!("{n}");
    }
    let agents: BTreeSet<(&str, &str)> = done
        .rows
        .iter()
        .map(|r| (r.agent_id.as_str(), r.period.as_str()))
        .collect();
    println!("scorecards for {} agent-periods", agents.len());
    for p in &done.written {
        println!("wrote {}", p.display());
    }
    Ok(())
}
