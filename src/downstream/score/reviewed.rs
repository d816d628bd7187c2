//! Reviewers' verdicts beside everything else `score` knows of a call: the dataset's
//! `reviews/` (written by `callsift review`; the latest submitted save of each reviewer's
//! review) joined to callsift's flag, the agent's self-score and the caller's answers — one row
//! per verdict (`review_verdicts.parquet`) — and, per agent and checklist item, how often
//! reviewers confirmed the behaviour, how often callsift flagged it, how far they agree, and
//! the outcomes with and without it; and the reviewed QA score's alignment with NPS.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::stats;
use super::surveys::Surveys;
use crate::store::read::CallTable;
use crate::store::reviews::{self, ReviewRow};
use crate::store::table::{Column, Table};

/// One reviewer verdict with the call's flag, self-score and answers.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictRow {
    pub interaction_id: String,
    pub agent_id: Option<String>,
    pub reviewer: String,
    pub item: String,
    /// `yes`, `no` or `na`.
    pub verdict: String,
    pub auto_flag: Option<bool>,
    /// The QA score of the reviewer's review (0–100).
    pub review_score: Option<f64>,
    pub agent_self_score: Option<f64>,
    pub nps: Option<f64>,
    pub csat: Option<f64>,
    pub fcr: Option<bool>,
}

/// `review_verdicts.parquet`, declared once.
pub fn verdicts_table() -> Table<VerdictRow> {
    type V = VerdictRow;
    Table::new(
        "review_verdicts",
        vec![
            Column::str("interaction_id", false, |r: &V| Some(&r.interaction_id)),
            Column::str("agent_id", true, |r: &V| r.agent_id.as_deref()),
            Column::str("reviewer", false, |r: &V| Some(&r.reviewer)),
            Column::str("item", false, |r: &V| Some(&r.item)),
            Column::str("verdict", false, |r: &V| Some(&r.verdict)),
            Column::bool("auto_flag", true, |r: &V| r.auto_flag),
            Column::f64("review_score", true, |r: &V| r.review_score),
            Column::f64("agent_self_score", true, |r: &V| r.agent_self_score),
            Column::f64("nps", true, |r: &V| r.nps),
            Column::f64("csat", true, |r: &V| r.csat),
            Column::bool("fcr", true, |r: &V| r.fcr),
        ],
    )
}

/// Per agent and item: reviewers' verdicts, callsift's flags and the outcomes, side by side.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AgentItem {
    pub agent_id: String,
    pub item: String,
    /// Verdicts `yes` or `no` (N/A left out).
    pub n: usize,
    /// Share of those verdicts that found the behaviour present, and of callsift's flags.
    pub reviewer_yes_pct: Option<f64>,
    pub auto_yes_pct: Option<f64>,
    /// Share of verdicts that agree with callsift's flag.
    pub agreement_pct: Option<f64>,
    pub mean_self_score: Option<f64>,
    /// Mean CSAT of the calls where the reviewer found the behaviour present, and absent.
    pub csat_with: Option<f64>,
    pub csat_without: Option<f64>,
}

/// The reviewed QA score against NPS.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alignment {
    /// Reviews of calls with an NPS answer.
    pub n: usize,
    pub spearman: Option<f64>,
    pub p: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReviewedSummary {
    pub reviews: usize,
    pub calls: usize,
    pub verdicts: usize,
    pub per_agent_item: Vec<AgentItem>,
    pub qa_score_vs_nps: Alignment,
}

/// The latest submitted verdicts, joined to the call's flag, self-score and answers (verdicts
/// of calls the features do not hold are left out).
pub fn verdict_rows(
    t: &CallTable,
    sv: &Surveys,
    selfs: Option<&HashMap<usize, f64>>,
    saved: &[ReviewRow],
) -> Vec<VerdictRow> {
    let index = t.row_index();
    let answers: HashMap<usize, &super::surveys::Response> =
        sv.responses.iter().map(|(i, r)| (*i, r)).collect();
    reviews::latest(saved, true)
        .into_iter()
        .filter_map(|r| {
            let &i = index.get(&r.interaction_id)?;
            let answer = answers.get(&i);
            Some(VerdictRow {
                interaction_id: r.interaction_id.clone(),
                agent_id: t.agent_id[i].clone(),
                reviewer: r.reviewer.clone(),
                item: r.item.clone(),
                verdict: r.verdict.clone(),
                auto_flag: r.auto_flag,
                review_score: r.score,
                agent_self_score: selfs.and_then(|s| s.get(&i).copied()),
                nps: answer.and_then(|a| a.nps),
                csat: answer.and_then(|a| a.csat),
                fcr: answer.and_then(|a| a.fcr),
            })
        })
        .collect()
}

fn pct(k: usize, n: usize) -> Option<f64> {
    (n > 0).then(|| 100.0 * k as f64 / n as f64)
}

fn agent_item(agent_id: &str, item: &str, v: &[&VerdictRow]) -> AgentItem {
    let judged: Vec<&VerdictRow> = v.iter().copied().filter(|r| r.verdict != "na").collect();
    let yes = |r: &VerdictRow| r.verdict == "yes";
    let flagged: Vec<bool> = judged.iter().filter_map(|r| r.auto_flag).collect();
    let agree = judged
        .iter()
        .filter(|r| r.auto_flag.is_some_and(|a| a == yes(r)))
        .count();
    let csat = |want: bool| {
        let x: Vec<f64> = judged
            .iter()
            .filter(|r| yes(r) == want)
            .filter_map(|r| r.csat)
            .collect();
        stats::mean(&x)
    };
    let selfs: Vec<f64> = v.iter().filter_map(|r| r.agent_self_score).collect();
    AgentItem {
        agent_id: agent_id.into(),
        item: item.into(),
        n: judged.len(),
        reviewer_yes_pct: pct(judged.iter().filter(|r| yes(r)).count(), judged.len()),
        auto_yes_pct: pct(flagged.iter().filter(|f| **f).count(), flagged.len()),
        agreement_pct: pct(agree, flagged.len()),
        mean_self_score: stats::mean(&selfs),
        csat_with: csat(true),
        csat_without: csat(false),
    }
}

type ScoreAndNps = (Option<f64>, Option<f64>);

/// Per agent and item, and the reviewed QA score's alignment with NPS.
pub fn summarise(rows: &[VerdictRow]) -> ReviewedSummary {
    let mut groups: BTreeMap<(String, String), Vec<&VerdictRow>> = BTreeMap::new();
    // (reviewer, call) → (the review's QA score, the call's NPS)
    let mut reviews: BTreeMap<(&str, &str), ScoreAndNps> = BTreeMap::new();
    for r in rows {
        let agent = r.agent_id.clone().unwrap_or_else(|| "(unknown)".into());
        groups.entry((agent, r.item.clone())).or_default().push(r);
        reviews.insert((&r.reviewer, &r.interaction_id), (r.review_score, r.nps));
    }
    let (x, y): (Vec<f64>, Vec<f64>) = reviews.values().filter_map(|(s, n)| s.zip(*n)).unzip();
    let rho = stats::spearman(&x, &y);
    let calls: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.interaction_id.as_str()).collect();
    ReviewedSummary {
        reviews: reviews.len(),
        calls: calls.len(),
        verdicts: rows.len(),
        per_agent_item: groups
            .iter()
            .map(|((a, i), v)| agent_item(a, i, v))
            .collect(),
        qa_score_vs_nps: Alignment {
            n: x.len(),
            spearman: rho,
            p: rho.and_then(|r| stats::spearman_p(r, x.len())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(
        agent: &str,
        reviewer: &str,
        call: &str,
        verdict: &str,
        auto: bool,
        csat: f64,
    ) -> VerdictRow {
        VerdictRow {
            interaction_id: call.into(),
            agent_id: Some(agent.into()),
            reviewer: reviewer.into(),
            item: "beh_empathy".into(),
            verdict: verdict.into(),
            auto_flag: Some(auto),
            review_score: Some(if verdict == "yes" { 100.0 } else { 0.0 }),
            agent_self_score: Some(4.0),
            nps: Some(csat * 2.0),
            csat: Some(csat),
            fcr: None,
        }
    }

    #[test]
    fn verdicts_flags_and_outcomes_side_by_side() {
        let rows = vec![
            v("ag-1", "ann", "C-1", "yes", true, 5.0),
            v("ag-1", "bob", "C-1", "yes", false, 5.0),
            v("ag-1", "ann", "C-2", "no", true, 1.0),
            v("ag-1", "ann", "C-3", "na", true, 3.0),
        ];
        let s = summarise(&rows);
        assert_eq!((s.reviews, s.calls, s.verdicts), (4, 3, 4));
        let a = &s.per_agent_item[0];
        assert_eq!((a.n, a.reviewer_yes_pct), (3, Some(100.0 * 2.0 / 3.0)));
        assert_eq!(a.agreement_pct, Some(100.0 / 3.0));
        assert_eq!((a.csat_with, a.csat_without), (Some(5.0), Some(1.0)));
        assert_eq!(a.mean_self_score, Some(4.0));
        assert_eq!(s.qa_score_vs_nps.n, 4);
    }
}
