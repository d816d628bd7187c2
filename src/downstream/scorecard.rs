//! Scorecard: a balanced picture of each agent per period — handle time, non-talk share,
//! hold, behaviour rates, complaint and escalation rates, survey outcomes with their n,
//! repeat contacts, self-assessment gap — each also as a percentile among the agents of the
//! same queue and channel in that period, so agents on hard queues are compared with their
//! peers. Long format: one row per agent, period and metric. Pure computation in `build`.
//!
//! Thin data is said, not shown as a number: a survey value resting on fewer than
//! [`MIN_ANSWERS`] answers is null with a note ("not enough answers (n=1)"), and a percentile
//! needs at least [`MIN_PEERS`] agents with a value in the peer group. The measures shared with
//! the report are defined once, in `downstream::measures` (docs/measures.md).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::downstream::measures::{self, Interval};
use crate::downstream::score::{self, ScoreError};
use crate::downstream::{Period, tables};
use crate::store;
use crate::store::read::CallTable;
use crate::store::table::{Column, Table};

/// One row of scorecard.parquet / scorecard.csv.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardRow {
    pub agent_id: String,
    pub period: String,
    /// The agent's most frequent queue / contact channel in the period (the peer group).
    pub queue: String,
    pub contact_channel: String,
    pub calls: i64,
    pub metric: String,
    pub value: Option<f64>,
    /// Calls (or survey answers) the value rests on.
    pub n: i64,
    /// Mid-rank percentile of the value among the peer group's agents (0-100), null when
    /// the value is null.
    pub percentile: Option<f64>,
    /// Agents in the peer group with a value.
    pub peers: i64,
    /// Why the value or its percentile is missing although there is data: "not enough answers
    /// (n=1; needs 5)", "percentile needs 5 peers (2 here)".
    pub note: Option<String>,
    /// 95% interval of the value (a t interval of a mean, a Wilson interval of a rate, the
    /// ratio estimator's for the pooled non-talk share); null with fewer than 2 calls or when
    /// the value is withheld.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// Fewest survey answers (or self-scores) an NPS, CSAT, FCR or self-assessment value rests on;
/// below it the value is null with a note.
pub const MIN_ANSWERS: i64 = 5;

/// Fewest agents with a value in a peer group for a percentile; below it the percentile is null
/// with a note.
pub const MIN_PEERS: usize = 5;

/// The metrics computed from survey answers (subject to [`MIN_ANSWERS`]).
const ANSWER_METRICS: [&str; 4] = ["nps", "csat_top2_pct", "fcr_pct", "self_assessment_gap"];

/// scorecard.parquet, declared once.
pub fn scorecard_table() -> Table<CardRow> {
    type C = CardRow;
    Table::new(
        "scorecard",
        vec![
            Column::str("agent_id", false, |r: &C| Some(&r.agent_id)),
            Column::str("period", false, |r: &C| Some(&r.period)),
            Column::str("queue", false, |r: &C| Some(&r.queue)),
            Column::str("contact_channel", false, |r: &C| Some(&r.contact_channel)),
            Column::i64("calls", false, |r: &C| Some(r.calls)),
            Column::str("metric", false, |r: &C| Some(&r.metric)),
            Column::f64("value", true, |r: &C| r.value),
            Column::i64("n", false, |r: &C| Some(r.n)),
            Column::f64("percentile", true, |r: &C| r.percentile),
            Column::i64("peers", false, |r: &C| Some(r.peers)),
            Column::str("note", true, |r: &C| r.note.as_deref()),
            Column::f64("ci_low", true, |r: &C| r.ci_low),
            Column::f64("ci_high", true, |r: &C| r.ci_high),
        ],
    )
}

impl CardRow {
    /// The row as written to `scorecard.csv`: texts from manifests neutralised for spreadsheets;
    /// values, counts and percentiles stay numbers.
    fn for_spreadsheet(&self) -> CardRow {
        let t = |s: &str| crate::downstream::spreadsheet_text(s);
        CardRow {
            agent_id: t(&self.agent_id),
            period: t(&self.period),
            queue: t(&self.queue),
            contact_channel: t(&self.contact_channel),
            metric: t(&self.metric),
            note: self.note.as_deref().map(t),
            ..self.clone()
        }
    }
}

/// Per-call outcome inputs the scorecard may use (aligned with the feature table rows).
#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    pub nps: Vec<Option<f64>>,
    pub csat: Vec<Option<f64>>,
    pub fcr: Vec<Option<bool>>,
    pub self_score: Vec<Option<f64>>,
}

fn col<'a>(t: &'a CallTable, name: &str) -> Option<&'a Vec<Option<f64>>> {
    t.numeric.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

fn flag<'a>(t: &'a CallTable, name: &str) -> Option<&'a Vec<Option<bool>>> {
    t.flags.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

fn mode(v: impl Iterator<Item = Option<String>>) -> String {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for x in v {
        *count
            .entry(x.unwrap_or_else(|| "(none)".into()))
            .or_default() += 1;
    }
    let best = count.values().copied().max().unwrap_or(0);
    count
        .into_iter()
        .find(|(_, c)| *c == best)
        .map_or_else(|| "(none)".into(), |(k, _)| k)
}

/// Mid-rank percentile of `x` among `all` (which contains it): share below plus half the
/// share equal, × 100.
pub fn percentile(x: f64, all: &[f64]) -> f64 {
    let below = all.iter().filter(|v| **v < x).count() as f64;
    let equal = all.iter().filter(|v| **v == x).count() as f64;
    100.0 * (below + 0.5 * equal) / all.len() as f64
}

/// A scorecard metric: its name and how it is computed over a group of calls (rows of the
/// read model), giving the value and the number of calls it rests on.
type Metric<'a> = (String, Box<dyn Fn(&[usize]) -> Value + 'a>);

/// A metric's value for a group of calls, the number of calls (or answers) it rests on, and
/// its 95% interval ([`measures`]).
type Value = (Option<f64>, i64, Interval);

fn mean_of(v: Option<&Vec<Option<f64>>>) -> impl Fn(&[usize]) -> Value + use<> {
    let v = v.cloned();
    move |rows: &[usize]| {
        let x: Vec<f64> = rows
            .iter()
            .filter_map(|&i| v.as_ref().and_then(|v| v[i]))
            .collect();
        mean_value(&x)
    }
}

fn mean_value(x: &[f64]) -> Value {
    (
        score::stats::mean(x),
        x.len() as i64,
        measures::mean_interval(x),
    )
}

fn rate_of(v: Vec<Option<bool>>) -> impl Fn(&[usize]) -> Value {
    move |rows: &[usize]| {
        let known: Vec<bool> = rows.iter().filter_map(|&i| v[i]).collect();
        let k = known.iter().filter(|&&b| b).count();
        let n = known.len();
        (
            (n > 0).then(|| 100.0 * k as f64 / n as f64),
            n as i64,
            measures::rate_interval(k, n),
        )
    }
}

/// Non-talk time as a share of the calls' total duration ([`measures::non_talk_share_pct`]).
fn non_talk_share(t: &CallTable) -> impl Fn(&[usize]) -> Value + '_ {
    |rows: &[usize]| {
        let (d, nt) = (col(t, "duration_ms"), col(t, "non_talk_time_ms"));
        let calls = rows
            .iter()
            .map(|&i| (nt.and_then(|v| v[i]), d.and_then(|d| d[i])));
        let (v, n, ci) = measures::non_talk_share_with_interval(calls);
        (v, n as i64, ci)
    }
}

/// Per call: any complaint topic fired ([`measures::complaint`]: null when unknown).
fn complaints(t: &CallTable) -> Vec<Option<bool>> {
    (0..t.len())
        .map(|i| {
            let topics: Vec<Option<bool>> = t
                .flags
                .iter()
                .filter(|(n, _)| n.starts_with("topic_"))
                .map(|(_, v)| v[i])
                .collect();
            measures::complaint(&topics)
        })
        .collect()
}

/// The metrics measured on the calls themselves: handling, behaviours, complaints, repeats.
fn call_metrics(t: &CallTable, repeat_days: i64) -> Vec<Metric<'_>> {
    let mut metrics: Vec<Metric> = vec![
        ("aht_ms".into(), Box::new(mean_of(col(t, "duration_ms")))),
        ("non_talk_share_pct".into(), Box::new(non_talk_share(t))),
        (
            "hold_time_ms".into(),
            Box::new(mean_of(col(t, "hold_time_ms"))),
        ),
        (
            "sentiment_customer_change".into(),
            Box::new(mean_of(col(t, "sentiment_customer_change"))),
        ),
    ];
    for (name, v) in t.flags.iter().filter(|(n, _)| n.starts_with("beh_")) {
        metrics.push((format!("{name}_pct"), Box::new(rate_of(v.clone()))));
    }
    metrics.push((
        "complaint_rate_pct".into(),
        Box::new(rate_of(complaints(t))),
    ));
    if let Some(e) = flag(t, "evt_escalation_request") {
        metrics.push(("escalation_rate_pct".into(), Box::new(rate_of(e.clone()))));
    }
    let repeat = score::repeat_contacts(t, repeat_days);
    metrics.push(("repeat_contact_rate_pct".into(), Box::new(rate_of(repeat))));
    metrics
}

/// The metrics from survey answers and self-scores, where there are any.
fn outcome_metrics(o: &Outcomes) -> Vec<Metric<'static>> {
    let mut metrics: Vec<Metric> = Vec::new();
    let nps = o.nps.clone();
    if nps.iter().any(Option::is_some) {
        metrics.push((
            "nps".into(),
            Box::new(move |rows: &[usize]| {
                let x: Vec<f64> = rows
                    .iter()
                    .filter_map(|&i| nps[i].map(measures::nps_points))
                    .collect();
                // NPS lies within ±100, and so does its interval
                let (v, n, ci) = mean_value(&x);
                (v, n, ci.map(|(lo, hi)| (lo.max(-100.0), hi.min(100.0))))
            }),
        ));
    }
    let csat = o.csat.clone();
    if csat.iter().any(Option::is_some) {
        metrics.push((
            "csat_top2_pct".into(),
            Box::new(rate_of(csat.iter().map(|c| c.map(|c| c >= 4.0)).collect())),
        ));
    }
    if o.fcr.iter().any(Option::is_some) {
        metrics.push(("fcr_pct".into(), Box::new(rate_of(o.fcr.clone()))));
    }
    if o.self_score.iter().any(Option::is_some) {
        let gap: Vec<Option<f64>> = (0..o.self_score.len())
            .map(|i| {
                o.self_score
                    .get(i)
                    .copied()
                    .flatten()
                    .zip(o.csat.get(i).copied().flatten())
                    .map(|(s, c)| s - c)
            })
            .collect();
        metrics.push(("self_assessment_gap".into(), Box::new(mean_of(Some(&gap)))));
    }

    metrics
}

/// One agent in one period: the peer group it belongs to and its metric values.
struct Cell {
    agent: String,
    period: String,
    queue: String,
    channel: String,
    calls: i64,
    values: Vec<Value>,
}

/// The metrics' values per agent and period.
fn cells(t: &CallTable, period: Period, metrics: &[Metric]) -> Vec<Cell> {
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for i in 0..t.len() {
        let agent = t.agent_id[i].clone().unwrap_or_else(|| "(unknown)".into());
        groups
            .entry((agent, period.label(t.started_at[i])))
            .or_default()
            .push(i);
    }
    groups
        .into_iter()
        .map(|((agent, period), rows)| Cell {
            queue: mode(rows.iter().map(|&i| t.queue[i].clone())),
            channel: mode(rows.iter().map(|&i| t.contact_channel[i].clone())),
            calls: rows.len() as i64,
            values: metrics.iter().map(|(_, f)| f(&rows)).collect(),
            agent,
            period,
        })
        .collect()
}

/// A survey value on fewer than [`MIN_ANSWERS`] answers is withheld: `None`, with the note.
fn withhold_thin(metric: &str, (v, n, ci): Value) -> (Value, Option<String>) {
    if ANSWER_METRICS.contains(&metric) && v.is_some() && n < MIN_ANSWERS {
        let note = format!("not enough answers (n={n}; needs {MIN_ANSWERS})");
        return ((None, n, None), Some(note));
    }
    ((v, n, ci), None)
}

/// Build the scorecard: per agent and period, every metric with its n and its percentile
/// among the agents of the same queue × contact channel × period (when at least
/// [`MIN_PEERS`] of them have a value); survey values on fewer than [`MIN_ANSWERS`] answers
/// are withheld with a note.
pub fn build(t: &CallTable, o: &Outcomes, period: Period, repeat_days: i64) -> Vec<CardRow> {
    let mut metrics = call_metrics(t, repeat_days);
    metrics.extend(outcome_metrics(o));
    let mut cells = cells(t, period, &metrics);
    let mut notes: HashMap<(usize, usize), String> = HashMap::new();
    for (k, c) in cells.iter_mut().enumerate() {
        for (m, value) in c.values.iter_mut().enumerate() {
            let (v, note) = withhold_thin(&metrics[m].0, *value);
            *value = v;
            if let Some(note) = note {
                notes.insert((k, m), note);
            }
        }
    }
    let mut peers: HashMap<(&str, &str, &str, usize), Vec<f64>> = HashMap::new();
    for c in &cells {
        for (m, (v, _, _)) in c.values.iter().enumerate() {
            if let Some(v) = v {
                peers
                    .entry((&c.period, &c.queue, &c.channel, m))
                    .or_default()
                    .push(*v);
            }
        }
    }
    let mut out = Vec::new();
    for (k, c) in cells.iter().enumerate() {
        for (m, (v, n, ci)) in c.values.iter().enumerate() {
            let group = peers.get(&(c.period.as_str(), c.queue.as_str(), c.channel.as_str(), m));
            let enough = group.filter(|g| g.len() >= MIN_PEERS);
            let note = notes.remove(&(k, m)).or_else(|| {
                let few = v.is_some() && enough.is_none();
                few.then(|| {
                    let here = group.map_or(0, Vec::len);
                    format!("percentile needs {MIN_PEERS} peers ({here} here)")
                })
            });
            out.push(CardRow {
                agent_id: c.agent.clone(),
                period: c.period.clone(),
                queue: c.queue.clone(),
                contact_channel: c.channel.clone(),
                calls: c.calls,
                metric: metrics[m].0.clone(),
                value: *v,
                n: *n,
                percentile: v.zip(enough).map(|(v, g)| percentile(v, g)),
                peers: group.map_or(0, |g| g.len() as i64),
                note,
                ci_low: ci.map(|c| c.0),
                ci_high: ci.map(|c| c.1),
            });
        }
    }
    out
}

/// Settings of a `scorecard` run.
#[derive(Debug, Clone)]
pub struct ScorecardSettings {
    /// Dataset folder of `callsift run`.
    pub features: PathBuf,
    /// Survey answers (CSV or Parquet), for NPS, CSAT and FCR per agent.
    pub surveys: Option<PathBuf>,
    /// Agents' self-assessment (interaction_id, agent_self_score), for the gap to CSAT.
    pub self_scores: Option<PathBuf>,
    pub period: Period,
    /// A call by the same customer within this many days is a repeat contact.
    pub repeat_days: i64,
    /// Folder for scorecard.parquet and scorecard.csv.
    pub out: PathBuf,
}

/// What a `scorecard` run made and read.
#[derive(Debug, Default)]
pub struct ScorecardRun {
    pub rows: Vec<CardRow>,
    pub written: Vec<PathBuf>,
    /// Survey rows read, and those skipped or partly used (each listed in input_issues.csv).
    pub survey_rows: usize,
    pub survey_issues: usize,
    /// How the survey file was read (e.g. separated by ';').
    pub notes: Vec<String>,
}

/// Run `scorecard`: read the features (and surveys / self-scores), write scorecard.parquet
/// and scorecard.csv, and with `--surveys` input_issues.csv (every survey row skipped or
/// partly used).
pub fn run(s: &ScorecardSettings) -> Result<ScorecardRun, ScoreError> {
    let (features, surveys, self_scores): (&Path, Option<&Path>, Option<&Path>) =
        (&s.features, s.surveys.as_deref(), s.self_scores.as_deref());
    let (period, repeat_days, out): (Period, i64, &Path) = (s.period, s.repeat_days, &s.out);
    use crate::downstream::inputs::{FolderKind, check_folder};
    check_folder("--features", features, FolderKind::Dataset)?;
    let t = store::read::read_calls(features)?;
    let ids = t.row_index();
    let mut o = Outcomes {
        nps: vec![None; t.len()],
        csat: vec![None; t.len()],
        fcr: vec![None; t.len()],
        self_score: vec![None; t.len()],
    };
    let mut done = ScorecardRun::default();
    let mut issues = None;
    if let Some(p) = surveys {
        let sv = score::surveys::read(p, &ids)?;
        done.survey_rows = sv.rows;
        done.survey_issues = sv.issues.len();
        done.notes = sv.notes();
        issues = Some(sv.input_issues());
        for (i, r) in &sv.responses {
            o.nps[*i] = o.nps[*i].or(r.nps);
            o.csat[*i] = o.csat[*i].or(r.csat);
            o.fcr[*i] = o.fcr[*i].or(r.fcr);
        }
    }
    if let Some(p) = self_scores {
        for (i, v) in tables::self_scores(p, &ids)? {
            o.self_score[i] = Some(v);
        }
    }
    let rows = build(&t, &o, period, repeat_days);
    std::fs::create_dir_all(out).map_err(|source| ScoreError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    let csv_path = out.join("scorecard.csv");
    let cells: Vec<CardRow> = rows.iter().map(CardRow::for_spreadsheet).collect();
    crate::downstream::write_csv(&csv_path, &cells).map_err(|source| ScoreError::Write {
        path: csv_path.clone(),
        source,
    })?;
    let pq = store::write_table(&out.join("scorecard.parquet"), &scorecard_table(), &rows)?;
    done.written = vec![pq, csv_path];
    if let Some(issues) = issues {
        let path = tables::write_issues(out, &issues).map_err(|source| ScoreError::Write {
            path: out.join(tables::ISSUES_FILE),
            source,
        })?;
        done.written.push(path);
    }
    done.rows = rows;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_hand() {
        assert_eq!(percentile(30.0, &[10.0, 20.0, 30.0, 40.0]), 62.5);
        assert_eq!(percentile(10.0, &[10.0, 10.0]), 50.0);
        assert_eq!(percentile(5.0, &[5.0]), 50.0);
    }

    #[test]
    fn agents_are_ranked_within_their_queue() {
        // queue "billing": agents a..e (AHT 100..500 s); queue "tech": f (600 s); 5 calls each
        let aht = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0];
        let n = 30;
        let agent = |i: usize| ["a", "b", "c", "d", "e", "f"][i % 6];
        let t = CallTable {
            ids: (0..n).map(|i| format!("c{i}")).collect(),
            agent_id: (0..n).map(|i| Some(agent(i).to_string())).collect(),
            customer_id: vec![None; n],
            started_at: vec![Some(1_794_787_200_000); n],
            queue: (0..n)
                .map(|i| Some(if i % 6 == 5 { "tech" } else { "billing" }.to_string()))
                .collect(),
            contact_channel: vec![Some("phone".into()); n],
            flags: vec![("beh_empathy".into(), (0..n).map(|i| Some(i < 6)).collect())],
            numeric: vec![(
                "duration_ms".into(),
                (0..n).map(|i| Some(aht[i % 6] * 1000.0)).collect(),
            )],
        };
        let o = Outcomes {
            // a: five promoters; b: five detractors; c: two answers only
            nps: (0..n)
                .map(|i| match i % 6 {
                    0 => Some(10.0),
                    2 if i < 12 => Some(9.0),
                    2 => None,
                    _ => Some(3.0),
                })
                .collect(),
            ..Default::default()
        };
        let rows = build(&t, &o, Period::Week, 7);
        let get = |a: &str, m: &str| {
            rows.iter()
                .find(|r| r.agent_id == a && r.metric == m)
                .unwrap()
                .clone()
        };
        let c = get("c", "aht_ms");
        assert_eq!((c.value, c.n, c.calls, c.peers), (Some(300_000.0), 5, 5, 5));
        assert_eq!(c.percentile, Some(100.0 * (2.0 + 0.5) / 5.0));
        assert_eq!((c.note, get("a", "aht_ms").percentile), (None, Some(10.0)));
        // f is alone in its queue: no percentile (not the slowest of all, nor "p50 of one")
        let f = get("f", "aht_ms");
        assert_eq!((f.queue.as_str(), f.percentile, f.peers), ("tech", None, 1));
        assert_eq!(f.note.as_deref(), Some("percentile needs 5 peers (1 here)"));
        assert_eq!(get("a", "beh_empathy_pct").value, Some(20.0));
        assert_eq!(get("a", "nps").value, Some(100.0));
        assert_eq!(get("b", "nps").value, Some(-100.0));
        assert_eq!(get("a", "nps").period, "2026-W47");
        // two answers: withheld, with the reason and the n
        let thin = get("c", "nps");
        assert_eq!((thin.value, thin.n, thin.percentile), (None, 2, None));
        assert_eq!(
            thin.note.as_deref(),
            Some("not enough answers (n=2; needs 5)")
        );
        // the others' NPS: four billing agents with a value, too few for percentiles
        assert_eq!(
            (get("a", "nps").peers, get("a", "nps").percentile),
            (4, None)
        );
    }
}
