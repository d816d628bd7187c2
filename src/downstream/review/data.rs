//! What the review server shows, read once at start: every processed call of the dataset with
//! its metadata, transcript, detections, holds and silences, the survey answers and
//! predictions, the checklist, and the queue of calls to review.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::analyze::rules::{Polarity, RuleSet};
use crate::downstream::inputs::{FolderKind, check_folder};
use crate::downstream::sample::audio_redaction::Segment;
use crate::downstream::score::checklist::{self, Item};
use crate::store::read::{self, TextRows};

use super::{ReviewError, ReviewSettings};

/// A silence of at least this long is a detection of its own (the `long_silence` QA flag).
pub const LONG_SILENCE_MS: i64 = 10_000;

/// A detection of callsift on a call: a rule hit, a long silence or a hold.
#[derive(Debug, Clone)]
pub struct Detection {
    /// `behaviour`, `event`, `topic`, `silence` or `hold`.
    pub kind: String,
    pub category_id: String,
    pub role: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub evidence: String,
    /// "matched by stem (confidence 0.9)"; empty for silences and holds.
    pub how: String,
}

/// One processed call.
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub id: String,
    pub agent_id: Option<String>,
    pub customer_id: Option<String>,
    pub started_at: Option<i64>,
    pub queue: Option<String>,
    pub contact_channel: Option<String>,
    pub duration_ms: Option<i64>,
    pub channels: Option<i64>,
    pub source_path: String,
    pub run_id: Option<String>,
    pub content_sha256: Option<String>,
    pub segment_count: Option<usize>,
    /// The manifest's own columns (e.g. `region`), in table order.
    pub meta: Vec<(String, String)>,
    /// Every `beh_*`, `evt_*`, `topic_*` flag.
    pub flags: BTreeMap<String, Option<bool>>,
    /// Every numeric column (metrics, sentiment), by name.
    pub numbers: BTreeMap<String, f64>,
    pub segments: Vec<Segment>,
    pub detections: Vec<Detection>,
    pub holds: Vec<(i64, i64)>,
    pub silences: Vec<(i64, i64)>,
    /// Survey answers (`--surveys`) and `score`'s predictions (`--scores`), as shown.
    pub survey: Vec<(String, String)>,
    pub predictions: Vec<(String, String)>,
}

impl Call {
    /// The call's length: its duration, else the end of its last segment.
    pub fn length_ms(&self) -> i64 {
        self.duration_ms
            .or_else(|| self.segments.iter().map(|s| s.end_ms).max())
            .unwrap_or(0)
            .max(1)
    }
    /// Whether all of its segments are in the dataset (the audio can be muted reliably).
    pub fn segments_complete(&self) -> bool {
        self.segment_count.is_none_or(|n| self.segments.len() >= n)
    }
}

/// A call of the queue and why it is there.
#[derive(Debug, Clone)]
pub struct QueueEntry {
    pub id: String,
    /// `targeted` or `random` (a `sample` pick), or `flagged` / `unflagged` (the dataset).
    pub pick: String,
    /// Every reason, not only the first.
    pub reasons: Vec<String>,
}

/// A driver of satisfaction found by `callsift score` (`--scores`): its adjusted effect.
#[derive(Debug, Clone)]
pub struct Driver {
    pub survey_type: String,
    pub outcome: String,
    pub feature: String,
    /// The adjusted effect and its 95% interval, as written.
    pub effect: String,
    pub n: usize,
}

/// Everything the server shows, read once.
#[derive(Debug, Default)]
pub struct Data {
    pub calls: Vec<Call>,
    pub index: HashMap<String, usize>,
    pub queue: Vec<QueueEntry>,
    pub checklist: Vec<Item>,
    /// A hash of the checklist (items, weights, polarities): 12 hex digits.
    pub checklist_version: String,
    /// The drivers `score` found (`--scores`), strongest first within each outcome.
    pub drivers: Vec<Driver>,
}

impl Data {
    pub fn call(&self, id: &str) -> Option<&Call> {
        self.index.get(id).map(|&i| &self.calls[i])
    }
    /// The other calls of the same customer, oldest first.
    pub fn same_customer(&self, call: &Call) -> Vec<&Call> {
        let Some(c) = &call.customer_id else {
            return Vec::new();
        };
        let mut v: Vec<&Call> = self
            .calls
            .iter()
            .filter(|o| o.id != call.id && o.customer_id.as_ref() == Some(c))
            .collect();
        v.sort_by_key(|o| o.started_at);
        v
    }
}

/// Read the dataset (and the other inputs of the settings).
pub fn load(s: &ReviewSettings) -> Result<Data, ReviewError> {
    check_folder("--dataset", &s.dataset, FolderKind::Dataset)?;
    if let Some(dir) = &s.scores {
        check_folder("--scores", dir, FolderKind::Scores)?;
    }
    if let Some(dir) = &s.qa {
        check_folder("--qa", dir, FolderKind::Sample)?;
    }
    let mut calls = read_calls(&s.dataset)?;
    if calls.is_empty() {
        return Err(ReviewError::NoCalls(s.dataset.clone()));
    }
    let index: HashMap<String, usize> = calls
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.clone(), i))
        .collect();
    attach_segments(&s.dataset, &mut calls, &index)?;
    attach_events(&s.dataset, &mut calls, &index)?;
    attach_spans(&s.dataset, &mut calls, &index)?;
    let mut drivers = Vec::new();
    if let Some(dir) = &s.scores {
        let rows = read::read_text_rows(&dir.join("scores.parquet"))?;
        attach_columns(&rows, &mut calls, &index, |c| &mut c.predictions);
        drivers = read_drivers(dir)?;
    }
    if let Some(p) = &s.surveys {
        let rows = crate::downstream::tables::rows_of(p)?;
        attach_columns(&rows, &mut calls, &index, |c| &mut c.survey);
    }
    let checklist = checklist_items(s, &calls)?;
    let queue = match &s.qa {
        Some(dir) => sample_queue(dir, &index)?,
        None => dataset_queue(&calls),
    };
    Ok(Data {
        checklist_version: checklist_version(&checklist),
        calls,
        index,
        queue,
        checklist,
        drivers,
    })
}

/// The features `score` called drivers (`drivers.parquet`, verdict `driver`), by rank.
fn read_drivers(dir: &Path) -> Result<Vec<Driver>, ReviewError> {
    let path = dir.join("drivers.parquet");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let (h, rows) = read::read_text_rows(&path)?;
    let col = |n: &str| h.iter().position(|x| x == n);
    let mut out: Vec<(i64, Driver)> = Vec::new();
    for r in &rows {
        let get = |n: &str| col(n).and_then(|c| r[c].clone()).unwrap_or_default();
        let num = |n: &str| get(n).parse::<f64>().ok();
        if get("verdict") != "driver" {
            continue;
        }
        let effect = match (
            num("adjusted_effect"),
            num("adjusted_ci_low"),
            num("adjusted_ci_high"),
        ) {
            (Some(e), Some(a), Some(z)) => format!("{e:+.2} [{a:+.2}–{z:+.2}]"),
            (Some(e), ..) => format!("{e:+.2}"),
            _ => String::new(),
        };
        out.push((
            get("rank").parse().unwrap_or(i64::MAX),
            Driver {
                survey_type: get("survey_type"),
                outcome: get("outcome"),
                feature: get("feature"),
                effect,
                n: get("n").parse().unwrap_or(0),
            },
        ));
    }
    out.sort_by(|a, b| {
        (&a.1.survey_type, &a.1.outcome, a.0).cmp(&(&b.1.survey_type, &b.1.outcome, b.0))
    });
    Ok(out.into_iter().map(|(_, d)| d).collect())
}

const BUILT_IN_TEXT: &[&str] = &[
    "interaction_id",
    "source_path",
    "status",
    "error",
    "content_sha256",
    "settings_sha256",
    "run_id",
    "codec",
    "agent_id",
    "customer_id",
    "started_at",
    "queue",
    "contact_channel",
    "model",
    "language",
    "transcript",
    "non_talk_instances",
    "holds",
    "date",
];

fn is_flag(name: &str) -> bool {
    ["beh_", "evt_", "topic_"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// The processed calls of the interactions table, with their metadata, flags and numbers.
fn read_calls(dataset: &Path) -> Result<Vec<Call>, ReviewError> {
    let (h, rows) = read::read_text_rows(&dataset.join(crate::store::dataset::INTERACTIONS))?;
    let numeric: Vec<&str> = crate::store::run_tables::interactions(&RuleSet::builtin(), &[])
        .map(|t| t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|n| !BUILT_IN_TEXT.contains(&n.as_str()) && !is_flag(n))
        .filter_map(|n| h.iter().find(|x| **x == n).map(String::as_str))
        .collect();
    let col = |n: &str| h.iter().position(|x| x == n);
    let mut calls = Vec::new();
    for r in &rows {
        let get = |n: &str| col(n).and_then(|c| r[c].clone());
        if get("status").as_deref() != Some("ok") {
            continue;
        }
        let num = |n: &str| get(n).and_then(|v| v.parse::<f64>().ok());
        let mut c = Call {
            id: get("interaction_id").unwrap_or_default(),
            agent_id: get("agent_id"),
            customer_id: get("customer_id"),
            started_at: get("started_at").and_then(|v| v.parse().ok()),
            queue: get("queue"),
            contact_channel: get("contact_channel"),
            duration_ms: num("duration_ms").map(|v| v as i64),
            channels: num("channels").map(|v| v as i64),
            source_path: get("source_path").unwrap_or_default(),
            run_id: get("run_id"),
            content_sha256: get("content_sha256"),
            segment_count: num("segment_count").map(|v| v as usize),
            ..Default::default()
        };
        for (k, name) in h.iter().enumerate() {
            let v = r[k].clone();
            if is_flag(name) {
                c.flags.insert(name.clone(), v.map(|v| v == "true"));
            } else if numeric.contains(&name.as_str()) {
                if let Some(x) = v.and_then(|v| v.parse().ok()) {
                    c.numbers.insert(name.clone(), x);
                }
            } else if !BUILT_IN_TEXT.contains(&name.as_str())
                && let Some(v) = v
            {
                c.meta.push((name.clone(), v));
            }
        }
        calls.push(c);
    }
    Ok(calls)
}

fn attach_segments(
    dataset: &Path,
    calls: &mut [Call],
    index: &HashMap<String, usize>,
) -> Result<(), ReviewError> {
    let path = dataset.join(crate::store::dataset::SEGMENTS);
    if !path.exists() {
        return Ok(());
    }
    // typed, with the redacted stretches the player mutes
    for r in read::read_segments(dataset)? {
        let Some(&i) = index.get(&r.interaction_id) else {
            continue;
        };
        calls[i].segments.push(Segment {
            role: r.role,
            start_ms: r.start_ms,
            end_ms: r.end_ms,
            text: r.text,
            avg_token_prob: r.avg_token_prob,
            redactions: r.redactions,
        });
    }
    for c in calls.iter_mut() {
        c.segments.sort_by_key(|s| (s.start_ms, s.end_ms));
    }
    Ok(())
}

fn attach_events(
    dataset: &Path,
    calls: &mut [Call],
    index: &HashMap<String, usize>,
) -> Result<(), ReviewError> {
    let path = dataset.join(crate::store::dataset::EVENTS);
    if !path.exists() {
        return Ok(());
    }
    let (h, rows) = read::read_text_rows(&path)?;
    let col = |n: &str| h.iter().position(|x| x == n);
    for r in &rows {
        let get = |n: &str| col(n).and_then(|c| r[c].clone()).unwrap_or_default();
        let Some(&i) = index.get(&get("interaction_id")) else {
            continue;
        };
        let how = match get("matched_by").as_str() {
            "" => String::new(),
            m => format!(
                "matched by {m} (confidence {:.1})",
                get("confidence").parse::<f32>().unwrap_or(1.0)
            ),
        };
        calls[i].detections.push(Detection {
            kind: get("kind"),
            category_id: get("category_id"),
            role: get("role"),
            start_ms: get("start_ms").parse().unwrap_or(0),
            end_ms: get("end_ms").parse().unwrap_or(0),
            evidence: get("evidence"),
            how,
        });
    }
    Ok(())
}

/// Holds and silences of each call, and the long silences and holds as detections.
fn attach_spans(
    dataset: &Path,
    calls: &mut [Call],
    index: &HashMap<String, usize>,
) -> Result<(), ReviewError> {
    for (column, is_hold) in [("holds", true), ("non_talk_instances", false)] {
        for (id, spans) in read::call_spans(dataset, column)? {
            let Some(&i) = index.get(&id) else { continue };
            let c = &mut calls[i];
            for &(a, z) in &spans {
                if is_hold || z - a >= LONG_SILENCE_MS {
                    c.detections.push(Detection {
                        kind: if is_hold { "hold" } else { "silence" }.into(),
                        category_id: if is_hold { "hold" } else { "long_silence" }.into(),
                        role: String::new(),
                        start_ms: a,
                        end_ms: z,
                        evidence: format!("{:.0} s", (z - a) as f64 / 1000.0),
                        how: String::new(),
                    });
                }
            }
            if is_hold {
                c.holds = spans;
            } else {
                c.silences = spans;
            }
        }
    }
    for c in calls.iter_mut() {
        c.detections.sort_by_key(|d| (d.start_ms, d.end_ms));
    }
    Ok(())
}

/// Columns of a table keyed by `interaction_id` (or `call_id`) added to each call's list.
fn attach_columns(
    (h, rows): &TextRows,
    calls: &mut [Call],
    index: &HashMap<String, usize>,
    list: impl Fn(&mut Call) -> &mut Vec<(String, String)>,
) {
    let Some(key) = h
        .iter()
        .position(|x| matches!(x.trim(), "interaction_id" | "call_id"))
    else {
        return;
    };
    for r in rows {
        let Some(&i) = r[key].as_ref().and_then(|id| index.get(id.trim())) else {
            continue;
        };
        for (k, name) in h.iter().enumerate() {
            if k != key
                && let Some(v) = &r[k]
            {
                list(&mut calls[i]).push((name.clone(), v.clone()));
            }
        }
    }
}

/// The checklist: the file's items checked against the dataset's flags, or every behaviour.
fn checklist_items(s: &ReviewSettings, calls: &[Call]) -> Result<Vec<Item>, ReviewError> {
    let columns: Vec<&str> = calls
        .first()
        .map(|c| c.flags.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let pack = RuleSet::builtin();
    match &s.checklist {
        Some(p) => {
            if !p.is_file() {
                return Err(ReviewError::NoChecklist(p.clone()));
            }
            Ok(checklist::resolve(checklist::read(p)?, &columns, &pack)?)
        }
        None => Ok(checklist::default_items(&columns, &pack)),
    }
}

/// The first 12 hex digits of the SHA-256 of the checklist's lines.
pub fn checklist_version(items: &[Item]) -> String {
    let text: String = items
        .iter()
        .map(|i| format!("{},{},{}\n", i.item, i.weight, polarity_name(i.polarity)))
        .collect();
    crate::fsutil::sha256_hex(text.as_bytes())[..12].to_string()
}

pub fn polarity_name(p: Polarity) -> &'static str {
    match p {
        Polarity::Positive => "positive",
        Polarity::Negative => "negative",
    }
}

/// The picks of `sample` in its order, each with every reason: the reasons it recorded and
/// every category of the moments it showed.
fn sample_queue(
    dir: &Path,
    index: &HashMap<String, usize>,
) -> Result<Vec<QueueEntry>, ReviewError> {
    let (h, rows) = read::read_text_rows(&dir.join("qa_sample.parquet"))?;
    let col = |n: &str| h.iter().position(|x| x == n);
    let mut out: Vec<QueueEntry> = Vec::new();
    for r in &rows {
        let get = |n: &str| col(n).and_then(|c| r[c].clone()).unwrap_or_default();
        let id = get("interaction_id");
        if !index.contains_key(&id) {
            continue;
        }
        let pos = match out.iter().position(|e| e.id == id) {
            Some(p) => p,
            None => {
                out.push(QueueEntry {
                    id,
                    pick: get("pick"),
                    reasons: Vec::new(),
                });
                out.len() - 1
            }
        };
        let e = &mut out[pos];
        let mut more: Vec<String> = get("reasons")
            .split(", ")
            .filter(|x| !x.is_empty() && *x != "random")
            .map(str::to_string)
            .collect();
        more.push(get("category_id"));
        for m in more {
            if !m.is_empty() && !e.reasons.contains(&m) {
                e.reasons.push(m);
            }
        }
    }
    Ok(out)
}

/// Every call of the dataset, flagged ones first: the reasons are its events, topics, long
/// silences and holds.
fn dataset_queue(calls: &[Call]) -> Vec<QueueEntry> {
    let mut out: Vec<QueueEntry> = calls
        .iter()
        .map(|c| {
            let reasons = call_reasons(c);
            QueueEntry {
                id: c.id.clone(),
                pick: if reasons.is_empty() {
                    "unflagged"
                } else {
                    "flagged"
                }
                .into(),
                reasons,
            }
        })
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.reasons.len()));
    out
}

/// Why a call is worth a review: its events, topics, long silences and holds (each once).
pub fn call_reasons(c: &Call) -> Vec<String> {
    let mut reasons: Vec<String> = Vec::new();
    for d in &c.detections {
        if d.kind != "behaviour" && !reasons.contains(&d.category_id) {
            reasons.push(d.category_id.clone());
        }
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::downstream::score::{DriverRow, drivers_table};

    fn driver(feature: &str, rank: Option<i32>, verdict: &str) -> DriverRow {
        DriverRow {
            survey_type: "post_call".into(),
            outcome: "nps".into(),
            feature: feature.into(),
            feature_type: "flag",
            n_with: Some(10),
            n_without: Some(30),
            n: 40,
            prevalence: Some(0.25),
            mean_with: None,
            mean_without: None,
            effect: Some(-3.0),
            ci_low: None,
            ci_high: None,
            p_value: None,
            q_value: None,
            significant: verdict == "driver",
            rank,
            threshold: None,
            adjusted_effect: Some(-2.5),
            adjusted_ci_low: Some(-3.5),
            adjusted_ci_high: Some(-1.5),
            adjusted_p_value: None,
            adjusted_p_holm: None,
            verdict: verdict.into(),
        }
    }

    #[test]
    fn drivers_are_read_by_rank_and_the_others_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let rows = [
            driver("topic_refund", Some(2), "driver"),
            driver("beh_empathy", None, "no effect found"),
            driver("evt_escalation_request", Some(1), "driver"),
        ];
        crate::store::write_table(&dir.path().join("drivers.parquet"), &drivers_table(), &rows)
            .unwrap();
        let d = read_drivers(dir.path()).unwrap();
        let names: Vec<&str> = d.iter().map(|d| d.feature.as_str()).collect();
        assert_eq!(names, ["evt_escalation_request", "topic_refund"]);
        assert_eq!((d[0].effect.as_str(), d[0].n), ("-2.50 [-3.50–-1.50]", 40));
        assert!(read_drivers(&dir.path().join("none")).unwrap().is_empty());
    }
}
