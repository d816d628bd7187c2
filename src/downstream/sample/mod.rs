//! Sample: picks interactions for QA review — per agent and period, a reproducible mix of
//! random picks (an unbiased view) and targeted picks (calls with the flagged events, topics or
//! scores), never the same call twice, never one already reviewed — and prepares the review:
//! `qa_sample.csv`/`.parquet` with the evidence, a WAV clip around each flagged moment, and an
//! HTML page per call with the transcript excerpt and a player per clip.
//!
//! Clips never carry spoken payment or identity data: the spans found by
//! [`audio_redaction::mute_spans`] are replaced by a low tone on every channel, unless the site
//! asks for the original audio (`keep_original_audio`). Texts written for spreadsheets are
//! neutralised against formula injection, and every call gets its own file names
//! ([`file_stem`]) however its id sanitises.

pub mod audio_redaction;
mod pages;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::downstream::{Period, PeriodError};
use crate::store::table::{Column, Table};
use crate::store::{self, StoreError};
use audio_redaction::{MuteSpan, Segment};
use pages::{IndexEntry, IndexPage, ReviewPage};

/// Seconds of audio kept before and after a flagged moment.
pub const CLIP_MARGIN_MS: i64 = 3_000;

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error(transparent)]
    Output(#[from] StoreError),
    #[error("{path}: {detail}")]
    Io { path: PathBuf, detail: String },
    #[error("cannot render {path}")]
    Render {
        path: PathBuf,
        #[source]
        source: askama::Error,
    },
    #[error(
        "flag {flag:?}: {detail}\nhint: flags are category ids (escalation_request, topic_*), column>number (p_detractor>0.6), column<number, long_silence or uncertain_roles"
    )]
    Flag { flag: String, detail: String },
    #[error("flag {flag:?}: {detail}\nhint: {hint}")]
    UnknownFlag {
        flag: String,
        detail: String,
        hint: String,
    },
    #[error(
        "{} flags cannot be used:\n{}\nhint: correct or drop them; flags are category ids (escalation_request, topic_*), column>number (hold_time_ms>120000), column<number, long_silence or uncertain_roles",
        .0.len(),
        .0.iter().map(|(f, d, h)| format!("  flag {f:?}: {d} ({h})")).collect::<Vec<_>>().join("\n")
    )]
    UnknownFlags(Vec<(String, String, String)>),
    #[error(transparent)]
    Folder(#[from] crate::downstream::inputs::FolderError),
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error(
        "no recording of the {calls} picked calls with flagged moments was found, so no clip can be cut and nothing was written; {first}"
    )]
    NoRecordings { calls: usize, first: String },
    #[error(transparent)]
    Table(#[from] crate::downstream::tables::TableError),
    #[error(
        "--per-agent must be at least 1 and --targeted-share between 0 and 1\nhint: e.g. --per-agent 4 --targeted-share 0.5"
    )]
    Counts {
        per_agent: usize,
        targeted_share: f64,
    },
    #[error(
        "--max-confidence {0} is not between 0 and 1\nhint: matches carry confidence 1.0 (exact), 0.9 (stem) or 0.6 (sound); e.g. --max-confidence 0.9 picks the calls flagged by stems or sounds"
    )]
    MaxConfidence(f32),
}

/// One targeting flag.
#[derive(Debug, Clone, PartialEq)]
pub enum Flag {
    /// Category id or glob (`topic_*`) over event category ids (prefixes beh_/evt_/topic_ allowed).
    Category(String),
    /// A numeric column of interactions or scores above a threshold.
    Above(String, f64),
    /// A numeric column below a threshold (`role_confidence<0.8`).
    Below(String, f64),
}

pub const DEFAULT_FLAGS: &str = "escalation_request,churn_threat,repeat_contact,topic_*,p_detractor>0.6,long_silence,uncertain_roles";

pub fn parse_flags(s: &str) -> Result<Vec<Flag>, SampleError> {
    s.split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            if f == "long_silence" {
                return Ok(Flag::Above("longest_silence_ms".into(), 9_999.0));
            }
            if f == "uncertain_roles" {
                return Ok(Flag::Below(
                    "role_confidence".into(),
                    crate::analyze::roles::CONFIDENT,
                ));
            }
            for (op, make) in [
                ('>', Flag::Above as fn(String, f64) -> Flag),
                ('<', Flag::Below as fn(String, f64) -> Flag),
            ] {
                if let Some((col, v)) = f.split_once(op) {
                    let v: f64 = v.trim().parse().map_err(|_| SampleError::Flag {
                        flag: f.into(),
                        detail: format!("{v:?} is not a number"),
                    })?;
                    return Ok(make(col.trim().into(), v));
                }
            }
            let ok = f
                .trim_end_matches('*')
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok || f.trim_end_matches('*').is_empty() {
                return Err(SampleError::Flag {
                    flag: f.into(),
                    detail: "not a category id".into(),
                });
            }
            Ok(Flag::Category(f.into()))
        })
        .collect()
}

fn glob(pattern: &str, s: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(p) => s.starts_with(p),
        None => pattern == s,
    }
}

impl Evidence {
    /// Whether a category flag (id or column name, `*` at the end) matches this evidence.
    fn matches(&self, pattern: &str) -> bool {
        glob(pattern, &self.category_id)
            || glob(pattern, &format!("{}{}", self.prefix, self.category_id))
    }
}

/// A flagged moment of a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub category_id: String,
    /// Column prefix of the category: `beh_`, `evt_`, `topic_`, or empty for derived flags.
    pub prefix: String,
    pub role: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    /// The layer that matched the rule (`exact`, `stem`, `sound`; null for derived flags and
    /// datasets written before schema version 3) and its confidence (1 when unknown: older
    /// datasets matched exact words only).
    pub matched_by: Option<String>,
    pub confidence: f32,
}

/// A call that can be sampled.
#[derive(Debug, Clone, Default)]
pub struct Candidate {
    pub interaction_id: String,
    pub agent_id: String,
    pub started_at: Option<i64>,
    pub source_path: String,
    /// The run that wrote the row and the recording's SHA-256, to find the recording again
    /// (`store::recordings`).
    pub run_id: Option<String>,
    pub content_sha256: Option<String>,
    pub numbers: HashMap<String, f64>,
    pub evidence: Vec<Evidence>,
}

impl Candidate {
    /// Why this call matches the flags (empty: it does not).
    pub fn reasons(&self, flags: &[Flag]) -> Vec<String> {
        let mut out = Vec::new();
        for f in flags {
            match f {
                Flag::Category(p) => {
                    let hits: Vec<&str> = self
                        .evidence
                        .iter()
                        .filter(|e| e.matches(p))
                        .map(|e| e.category_id.as_str())
                        .collect();
                    if let Some(h) = hits.first() {
                        out.push(h.to_string());
                    }
                }
                Flag::Above(col, v) | Flag::Below(col, v) => {
                    let beyond = |x: &&f64| match f {
                        Flag::Below(..) => *x < v,
                        _ => *x > v,
                    };
                    if let Some(x) = self.numbers.get(col).filter(beyond) {
                        out.push(if x.fract() == 0.0 {
                            format!("{col}={x}")
                        } else {
                            format!("{col}={x:.2}")
                        });
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
    /// Evidence to show for the flags (all of it for targeted picks that matched categories).
    pub fn flagged_evidence(&self, flags: &[Flag]) -> Vec<&Evidence> {
        self.evidence
            .iter()
            .filter(|e| {
                flags.iter().any(|f| match f {
                    Flag::Category(p) => e.matches(p),
                    Flag::Above(..) | Flag::Below(..) => false,
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct SampleSettings {
    pub per_agent: usize,
    pub period: Period,
    pub targeted_share: f64,
    pub flags: Vec<Flag>,
    pub exclude: HashSet<String>,
    pub seed: u64,
    /// Write clips with the original audio, payment and identity data included (only for
    /// sites allowed to keep it); by default those spans are muted.
    pub keep_original_audio: bool,
    /// Only flags matched with at most this confidence count (doubtful matches for review).
    pub max_confidence: Option<f32>,
    /// The flags were given by the user: each must name a category or column the features
    /// (or scores) hold, else the run stops. The default flags instead skip what the data
    /// lacks (e.g. `p_detractor` without `--scores`).
    pub strict_flags: bool,
}

impl SampleSettings {
    /// Check the counts: at least one call per agent and period, a share between 0 and 1.
    pub fn validate(&self) -> Result<(), SampleError> {
        if self.per_agent == 0 || !(0.0..=1.0).contains(&self.targeted_share) {
            return Err(SampleError::Counts {
                per_agent: self.per_agent,
                targeted_share: self.targeted_share,
            });
        }
        if let Some(c) = self.max_confidence
            && !(0.0..=1.0).contains(&c)
        {
            return Err(SampleError::MaxConfidence(c));
        }
        Ok(())
    }
}

/// A pick.
#[derive(Debug, Clone)]
pub struct Pick {
    pub index: usize,
    pub agent_id: String,
    pub period: String,
    pub targeted: bool,
    pub reasons: Vec<String>,
}

/// A stratum with fewer eligible calls than asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortfall {
    pub agent_id: String,
    pub period: String,
    pub wanted: usize,
    pub available: usize,
}

fn stratum_rng(seed: u64, agent: &str, period: &str) -> ChaCha8Rng {
    let h = Sha256::digest(format!("{seed}\0{agent}\0{period}").as_bytes());
    ChaCha8Rng::from_seed(h.into())
}

/// Choose the sample (pure): per agent and period, targeted picks first (most reasons, ties
/// broken at random), then random picks among the rest.
pub fn choose(cands: &[Candidate], s: &SampleSettings) -> (Vec<Pick>, Vec<Shortfall>) {
    let mut strata: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, c) in cands.iter().enumerate() {
        if s.exclude.contains(&c.interaction_id) {
            continue;
        }
        strata
            .entry((c.agent_id.clone(), s.period.label(c.started_at)))
            .or_default()
            .push(i);
    }
    let (mut picks, mut short) = (Vec::new(), Vec::new());
    for ((agent, period), mut members) in strata {
        let mut rng = stratum_rng(s.seed, &agent, &period);
        members.sort_by(|&a, &b| cands[a].interaction_id.cmp(&cands[b].interaction_id));
        members.shuffle(&mut rng);
        let reasons: HashMap<usize, Vec<String>> = members
            .iter()
            .map(|&i| (i, cands[i].reasons(&s.flags)))
            .collect();
        let n_targeted = ((s.per_agent as f64) * s.targeted_share).round() as usize;
        let mut flagged: Vec<usize> = members
            .iter()
            .copied()
            .filter(|i| !reasons[i].is_empty())
            .collect();
        // stable sort keeps the shuffled order among equals
        flagged.sort_by_key(|i| std::cmp::Reverse(reasons[i].len()));
        let mut chosen: Vec<(usize, bool)> = flagged
            .iter()
            .take(n_targeted)
            .map(|&i| (i, true))
            .collect();
        for &i in &members {
            if chosen.len() >= s.per_agent {
                break;
            }
            if !chosen.iter().any(|(c, _)| *c == i) {
                chosen.push((i, false));
            }
        }
        if members.len() < s.per_agent {
            short.push(Shortfall {
                agent_id: agent.clone(),
                period: period.clone(),
                wanted: s.per_agent,
                available: members.len(),
            });
        }
        for (i, targeted) in chosen {
            picks.push(Pick {
                index: i,
                agent_id: agent.clone(),
                period: period.clone(),
                targeted,
                reasons: if targeted {
                    reasons[&i].clone()
                } else {
                    Vec::new()
                },
            });
        }
    }
    (picks, short)
}

fn num(v: &Option<String>) -> Option<f64> {
    v.as_deref().and_then(|s| s.trim().parse().ok())
}

/// Read the candidates from a run's output (and optional scores).
pub fn load(features: &Path, scores: Option<&Path>) -> Result<Loaded, SampleError> {
    use crate::downstream::inputs::{FolderKind, check_folder};
    check_folder("--features", features, FolderKind::Dataset)?;
    if let Some(dir) = scores {
        check_folder("--scores", dir, FolderKind::Scores)?;
    }
    let (h, rows) = store::read::read_text_rows(&features.join("interactions"))?;
    let columns = h.clone();
    let (mut score_columns, mut model_notes) = (Vec::new(), Vec::new());
    let col = |h: &[String], n: &str| h.iter().position(|x| x == n);
    let (id, st, ag, sa, sp) = (
        col(&h, "interaction_id"),
        col(&h, "status"),
        col(&h, "agent_id"),
        col(&h, "started_at"),
        col(&h, "source_path"),
    );
    let mut cands = Vec::new();
    let mut by_id = HashMap::new();
    for r in &rows {
        let get = |c: Option<usize>| c.and_then(|c| r[c].clone());
        if get(st).as_deref() != Some("ok") {
            continue;
        }
        let mut c = Candidate {
            interaction_id: get(id).unwrap_or_default(),
            agent_id: get(ag).unwrap_or_else(|| "(unknown)".into()),
            started_at: get(sa).and_then(|t| {
                t.parse()
                    .ok()
                    .or_else(|| crate::pipeline::input::parse_timestamp(&t))
            }),
            source_path: get(sp).unwrap_or_default(),
            run_id: get(col(&h, "run_id")),
            content_sha256: get(col(&h, "content_sha256")),
            ..Default::default()
        };
        for (k, name) in h.iter().enumerate() {
            if let Some(x) = num(&r[k]) {
                c.numbers.insert(name.clone(), x);
            }
        }
        by_id.insert(c.interaction_id.clone(), cands.len());
        cands.push(c);
    }
    let events = features.join("events");
    if events.exists() {
        let (h, rows) = store::read::read_text_rows(&events)?;
        let f = |r: &Vec<Option<String>>, n: &str| {
            col(&h, n).and_then(|c| r[c].clone()).unwrap_or_default()
        };
        for r in &rows {
            if let Some(&i) = by_id.get(&f(r, "interaction_id")) {
                cands[i].evidence.push(Evidence {
                    category_id: f(r, "category_id"),
                    prefix: match f(r, "kind").as_str() {
                        "behaviour" => "beh_".into(),
                        "event" => "evt_".into(),
                        "topic" => "topic_".into(),
                        _ => String::new(),
                    },
                    role: f(r, "role"),
                    start_ms: f(r, "start_ms").parse().unwrap_or(0),
                    end_ms: f(r, "end_ms").parse().unwrap_or(0),
                    text: f(r, "evidence"),
                    matched_by: Some(f(r, "matched_by")).filter(|m| !m.is_empty()),
                    confidence: f(r, "confidence").parse().unwrap_or(1.0),
                });
            }
        }
    }
    if let Some(dir) = scores {
        let (h, rows) = store::read::read_text_rows(&dir.join("scores.parquet"))?;
        score_columns = h.clone();
        model_notes = score_model_notes(dir);
        for r in &rows {
            let Some(&i) = col(&h, "interaction_id")
                .and_then(|c| r[c].as_ref())
                .and_then(|id| by_id.get(id))
            else {
                continue;
            };
            for (k, name) in h.iter().enumerate() {
                if let Some(x) = num(&r[k]) {
                    cands[i].numbers.insert(name.clone(), x);
                }
                if name == "repeat_contact" && r[k].as_deref() == Some("true") {
                    cands[i].evidence.push(Evidence {
                        category_id: "repeat_contact".into(),
                        prefix: String::new(),
                        role: "customer".into(),
                        start_ms: 0,
                        end_ms: 0,
                        text: "the customer called again within the repeat window".into(),
                        matched_by: None,
                        confidence: 1.0,
                    });
                }
            }
        }
    }
    let segments = store::read::read_segments(features).ok();
    Ok(Loaded {
        cands,
        segments,
        columns,
        score_columns,
        model_notes,
    })
}

/// The notes of `score_report.json` saying why `score` built no model (empty when none).
fn score_model_notes(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("score_report.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| {
            v["model_notes"].as_array().map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(String::from))
                    .collect()
            })
        })
        .unwrap_or_default()
}

const CATEGORY_PREFIXES: [&str; 3] = ["beh_", "evt_", "topic_"];

impl Loaded {
    /// The category names a flag may use: each category column (`topic_refund`) and its id
    /// (`refund`), and `repeat_contact` when scores were read.
    fn category_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for c in &self.columns {
            if let Some(p) = CATEGORY_PREFIXES.iter().find(|p| c.starts_with(*p)) {
                names.push(c.clone());
                names.push(c[p.len()..].to_string());
            }
        }
        if self.score_columns.iter().any(|c| c == "repeat_contact") {
            names.push("repeat_contact".into());
        }
        names.sort();
        names.dedup();
        names
    }

    /// The columns a `column>number` flag may name: those of the interactions table (but the
    /// categories) and of scores.parquet.
    fn numeric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .cands
            .iter()
            .flat_map(|c| c.numbers.keys().cloned())
            .chain(self.columns.iter().chain(&self.score_columns).cloned())
            .filter(|c| !CATEGORY_PREFIXES.iter().any(|p| c.starts_with(p)))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Why `flag` cannot be used on these features, or `None` when it can.
    fn flag_problem(&self, flag: &Flag, has_scores: bool) -> Option<(String, String)> {
        use crate::downstream::inputs::{did_you_mean, suggestion};
        let from_scores = |n: &str| {
            !self.columns.iter().any(|c| c == n)
                && (n == "repeat_contact" || crate::downstream::score::scores_table().has(n))
        };
        let need_scores = |n: &str| {
            (
                format!(
                    "{n} is written by `callsift score` (scores.parquet) and no --scores was given"
                ),
                "pass --scores with the folder `callsift score --out` wrote".to_string(),
            )
        };
        match flag {
            Flag::Category(p) => {
                let names = self.category_names();
                if names.iter().any(|n| glob(p, n)) {
                    return None;
                }
                if !has_scores && from_scores(p) {
                    return Some(need_scores(p));
                }
                let stem = p.trim_end_matches('*');
                let close = if p.ends_with('*') {
                    let prefixes: Vec<String> = names
                        .iter()
                        .filter_map(|n| n.find('_').map(|i| format!("{}*", &n[..=i])))
                        .collect();
                    did_you_mean(p, prefixes.iter().map(String::as_str))
                } else {
                    did_you_mean(stem, names.iter().map(String::as_str))
                };
                let what = if p.ends_with('*') {
                    "matches no category of the rules these features were built with"
                } else {
                    "is not a category of the rules these features were built with"
                };
                Some((format!("{p} {what}"), suggestion(&close, &names)))
            }
            Flag::Above(col, _) | Flag::Below(col, _) => {
                if self.cands.iter().any(|c| c.numbers.contains_key(col)) {
                    return None;
                }
                if !has_scores && from_scores(col) {
                    return Some(need_scores(col));
                }
                if self.score_columns.iter().any(|c| c == col) {
                    let why = self.model_notes.first().map_or_else(
                        || "no call has a value".to_string(),
                        |n| format!("`callsift score` built no model ({n})"),
                    );
                    return Some((
                        format!("{col} is empty in scores.parquet: {why}"),
                        "drop this flag, or score more survey answers so that score can fit its model".into(),
                    ));
                }
                if self.columns.iter().any(|c| c == col) {
                    return Some((
                        format!("{col} has no value for any call (unknown for these recordings)"),
                        "drop this flag; mono recordings leave who-speaks metrics null".into(),
                    ));
                }
                let mut names = self.numeric_names();
                if !has_scores {
                    // score's columns, so a typo of one is still recognised
                    let table = crate::downstream::score::scores_table();
                    names.extend(table.columns.iter().map(|c| c.name.clone()).filter(|n| {
                        n.starts_with("p_") || n.starts_with("predicted_") || n == "qa_score"
                    }));
                }
                let close = did_you_mean(col, names.iter().map(String::as_str));
                Some((
                    format!("{col} is not a numeric column of the features or scores"),
                    suggestion(&close, &names),
                ))
            }
        }
    }

    /// The flags to use: with `strict`, every flag must be usable (the problems of all of
    /// them are one error); without, the ones these features cannot serve are left out.
    pub fn usable_flags(
        &self,
        flags: &[Flag],
        has_scores: bool,
        strict: bool,
    ) -> Result<Vec<Flag>, SampleError> {
        let (mut out, mut problems) = (Vec::new(), Vec::new());
        for f in flags {
            match self.flag_problem(f, has_scores) {
                None => out.push(f.clone()),
                Some((detail, hint)) => problems.push((flag_text(f), detail, hint)),
            }
        }
        if !strict || problems.is_empty() {
            return Ok(out);
        }
        if problems.len() == 1 {
            let (flag, detail, hint) = problems.remove(0);
            return Err(SampleError::UnknownFlag { flag, detail, hint });
        }
        Err(SampleError::UnknownFlags(problems))
    }
}

/// A flag as it is written on the command line.
pub fn flag_text(f: &Flag) -> String {
    match f {
        Flag::Category(p) => p.clone(),
        Flag::Above(c, v) if c == "longest_silence_ms" && *v == 9_999.0 => "long_silence".into(),
        Flag::Above(c, v) => format!("{c}>{v}"),
        Flag::Below(c, v) if c == "role_confidence" && *v == crate::analyze::roles::CONFIDENT => {
            "uncertain_roles".into()
        }
        Flag::Below(c, v) => format!("{c}<{v}"),
    }
}

/// The flags that match none of the calls that could be picked, each with why (e.g. "no call
/// has escalation_request"): an empty selection is said, never silent.
fn unmatched_flags(cands: &[Candidate], s: &SampleSettings) -> Vec<String> {
    let eligible: Vec<&Candidate> = cands
        .iter()
        .filter(|c| !s.exclude.contains(&c.interaction_id))
        .collect();
    s.flags
        .iter()
        .filter(|f| {
            eligible
                .iter()
                .all(|c| c.reasons(std::slice::from_ref(*f)).is_empty())
        })
        .map(|f| {
            let of = format!("{} eligible calls", eligible.len());
            match f {
                Flag::Category(p) => match s.max_confidence {
                    Some(c) => format!("no call has {p} matched with confidence ≤ {c} (of {of})"),
                    None => format!("no call has {p} (of {of})"),
                },
                Flag::Above(_, v) if flag_text(f) == "long_silence" => {
                    format!(
                        "no call has a silence longer than {:.0} s (of {of})",
                        (v + 1.0) / 1000.0
                    )
                }
                Flag::Above(c, v) => format!("no call has {c} above {v} (of {of})"),
                Flag::Below(c, v) => format!("no call has {c} below {v} (of {of})"),
            }
        })
        .collect()
}

/// Candidates plus the segments table (for transcript excerpts).
pub struct Loaded {
    pub cands: Vec<Candidate>,
    pub segments: Option<Vec<store::read::StoredSegment>>,
    /// Columns of the interactions table and of scores.parquet (empty without `--scores`).
    pub columns: Vec<String>,
    pub score_columns: Vec<String>,
    /// Why `score` built no model, from its score_report.json (empty when it did, or none).
    pub model_notes: Vec<String>,
}

/// One row of qa_sample.csv / qa_sample.parquet.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SampleRow {
    pub interaction_id: String,
    pub agent_id: String,
    pub period: String,
    /// `targeted` or `random`.
    pub pick: &'static str,
    pub reasons: String,
    pub category_id: Option<String>,
    pub role: Option<String>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub evidence: Option<String>,
    /// Milliseconds of the clip muted (payment or identity data); null without a clip or when
    /// the original audio was kept.
    pub clip_muted_ms: Option<i64>,
    /// Audio clip around the moment, relative to the output folder.
    pub clip: Option<String>,
    pub review_page: String,
    /// The layer that matched the rule and its confidence (see docs/schema.md, events).
    pub matched_by: Option<String>,
    pub confidence: Option<f32>,
}

/// qa_sample.parquet, declared once.
pub fn qa_sample_table() -> Table<SampleRow> {
    type S = SampleRow;
    Table::new(
        "qa_sample",
        vec![
            Column::str("interaction_id", false, |r: &S| Some(&r.interaction_id)),
            Column::str("agent_id", false, |r: &S| Some(&r.agent_id)),
            Column::str("period", false, |r: &S| Some(&r.period)),
            Column::str("pick", false, |r: &S| Some(r.pick)),
            Column::str("reasons", false, |r: &S| Some(&r.reasons)),
            Column::str("category_id", true, |r: &S| r.category_id.as_deref()),
            Column::str("role", true, |r: &S| r.role.as_deref()),
            Column::i64("start_ms", true, |r: &S| r.start_ms),
            Column::i64("end_ms", true, |r: &S| r.end_ms),
            Column::str("evidence", true, |r: &S| r.evidence.as_deref()),
            Column::i64("clip_muted_ms", true, |r: &S| r.clip_muted_ms),
            Column::str("clip", true, |r: &S| r.clip.as_deref()),
            Column::str("review_page", false, |r: &S| Some(&r.review_page)),
            Column::str("matched_by", true, |r: &S| r.matched_by.as_deref()),
            Column::f32("confidence", true, |r: &S| r.confidence),
        ],
    )
}

impl SampleRow {
    /// The row as written to `qa_sample.csv`: texts from manifests and transcripts neutralised
    /// for spreadsheets (callsift's own numbers stay numbers).
    fn for_spreadsheet(&self) -> SampleRow {
        let t = |s: &str| crate::downstream::spreadsheet_text(s);
        let o = |s: &Option<String>| s.as_deref().map(t);
        SampleRow {
            interaction_id: t(&self.interaction_id),
            agent_id: t(&self.agent_id),
            period: t(&self.period),
            reasons: t(&self.reasons),
            category_id: o(&self.category_id),
            role: o(&self.role),
            evidence: o(&self.evidence),
            matched_by: o(&self.matched_by),
            clip: o(&self.clip),
            review_page: t(&self.review_page),
            ..self.clone()
        }
    }
}

/// What `sample` did.
#[derive(Debug, Default)]
pub struct SampleSummary {
    pub picked: usize,
    pub targeted: usize,
    pub strata: usize,
    pub shortfalls: Vec<Shortfall>,
    /// The flags used, and those of the defaults left out because the data cannot serve them
    /// (e.g. `p_detractor>0.6` without `--scores`).
    pub flags: Vec<String>,
    pub skipped_flags: Vec<String>,
    /// Flags that matched no call, each with why ("no call has escalation_request").
    pub unmatched: Vec<String>,
    pub clips: usize,
    /// Milliseconds muted over all clips (payment and identity data).
    pub muted_ms: i64,
    /// Calls whose audio could not be cut into clips, with the reason.
    pub clip_errors: Vec<(String, String)>,
    /// Picked calls with a timed moment whose recording was read, and whose recording was not
    /// found or could not be decoded (among `clip_errors`).
    pub recordings_read: usize,
    pub recordings_unreadable: usize,
    pub written: Vec<PathBuf>,
    /// Calls left out because a reviewer submitted a review of them (the dataset's reviews/).
    pub reviewed_excluded: usize,
}

fn clock(ms: i64) -> String {
    format!("{:02}:{:02}", ms / 60_000, (ms / 1000) % 60)
}

fn io(path: &Path, e: impl std::fmt::Display) -> SampleError {
    SampleError::Io {
        path: path.into(),
        detail: e.to_string(),
    }
}

/// Write a 16-bit PCM WAV clip [start_ms, end_ms) of decoded 16 kHz audio, with the `mute`
/// spans (call times) replaced by the redaction tone on every channel. Returns the
/// milliseconds muted.
pub fn write_clip(
    path: &Path,
    channels: &[Vec<f32>],
    start_ms: i64,
    end_ms: i64,
    mute: &[MuteSpan],
) -> Result<i64, SampleError> {
    let rate = 16_000i64;
    let len = channels.first().map_or(0, Vec::len) as i64;
    let (a, b) = (
        (start_ms * rate / 1000).clamp(0, len),
        (end_ms * rate / 1000).clamp(0, len),
    );
    let clip: Vec<Vec<f32>> = channels
        .iter()
        .map(|ch| {
            let mut v = ch[a as usize..b as usize].to_vec();
            audio_redaction::apply(&mut v, a * 1000 / rate, mute);
            v
        })
        .collect();
    let muted = audio_redaction::covered_ms(mute, a * 1000 / rate, b * 1000 / rate);
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: rate as u32,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    crate::fsutil::write_atomic_with(path, |f| {
        let mut w = hound::WavWriter::new(std::io::BufWriter::new(f), spec).map_err(wav_io)?;
        for i in 0..(b - a) as usize {
            for ch in &clip {
                let v = (ch[i].clamp(-1.0, 1.0) * 32767.0).round() as i16;
                w.write_sample(v).map_err(wav_io)?;
            }
        }
        w.finalize().map_err(wav_io)
    })
    .map_err(|e| io(path, e))?;
    Ok(muted)
}

/// A WAV writer's error as the I/O error it is (or wraps).
fn wav_io(e: hound::Error) -> std::io::Error {
    match e {
        hound::Error::IoError(e) => e,
        e => std::io::Error::other(e),
    }
}

fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Longest sanitised part of a file name.
const STEM_CHARS: usize = 80;

/// The file-name stem of a call's review page and clips: the id with anything but ASCII
/// letters, digits, `-` and `_` replaced (at most 80 characters), then `-` and the first 8 hex
/// digits of the id's SHA-256 — so ids that sanitise alike (`Q/1`, `Q_1`, `Q 1`) still get
/// their own files. Everything that links to a review page uses the name stored in
/// `qa_sample` (`review_page`), which comes from here.
pub fn file_stem(interaction_id: &str) -> String {
    let short: String = safe(interaction_id).chars().take(STEM_CHARS).collect();
    format!(
        "{short}-{}",
        &crate::fsutil::sha256_hex(interaction_id.as_bytes())[..8]
    )
}

/// A value from a manifest or transcript made safe to print on a terminal: escape sequences
/// (CSI, OSC and two-byte ones) removed, other control characters (CR, BEL, backspace, C1)
/// and bidirectional overrides dropped.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\u{1b}' => match it.next() {
                // CSI: parameters and intermediates up to a final byte @..~
                Some('[') => {
                    for d in it.by_ref() {
                        if ('@'..='~').contains(&d) {
                            break;
                        }
                    }
                }
                // OSC, DCS, APC, PM, SOS: up to BEL or ESC \
                Some(']' | 'P' | '_' | '^' | 'X') => {
                    while let Some(d) = it.next() {
                        if d == '\u{7}' || (d == '\u{1b}' && it.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            c if c.is_control() => {}
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Run `sample`: choose, write the sample table, the clips and the review pages.
pub fn run(
    features: &Path,
    scores: Option<&Path>,
    audio_root: Option<&Path>,
    out: &Path,
    s: &SampleSettings,
) -> Result<SampleSummary, SampleError> {
    s.validate()?;
    let mut loaded = load(features, scores)?;
    let flags = loaded.usable_flags(&s.flags, scores.is_some(), s.strict_flags)?;
    let skipped_flags: Vec<String> = s
        .flags
        .iter()
        .filter(|f| !flags.contains(f))
        .map(flag_text)
        .collect();
    // calls with a submitted review (callsift review) are never picked again
    let reviewed = reviewed_calls(features)?;
    let mut exclude = s.exclude.clone();
    exclude.extend(reviewed.iter().cloned());
    let s = &SampleSettings {
        flags,
        exclude,
        ..s.clone()
    };
    if let Some(max) = s.max_confidence {
        // only doubtful matches flag a call (and are shown as its evidence)
        for c in &mut loaded.cands {
            c.evidence.retain(|e| e.confidence <= max);
        }
    }
    let (picks, shortfalls) = choose(&loaded.cands, s);
    let mut sum = summary(&picks, shortfalls);
    sum.reviewed_excluded = loaded
        .cands
        .iter()
        .filter(|c| reviewed.contains(&c.interaction_id))
        .count();
    let recordings = locate_recordings(features, audio_root, &loaded.cands, &picks, s)?;
    for d in ["clips", "review"] {
        std::fs::create_dir_all(out.join(d)).map_err(|e| io(&out.join(d), e))?;
    }
    sum.unmatched = unmatched_flags(&loaded.cands, s);
    sum.flags = s.flags.iter().map(flag_text).collect();
    sum.skipped_flags = skipped_flags;
    // segments by call, for transcript excerpts and audio redaction
    let segs = loaded.segments.as_deref().map(segments_by_call);
    let ctx = Review {
        out,
        recordings: &recordings,
        settings: s,
    };
    let mut rows = Vec::new();
    let mut entries = Vec::new();
    for p in &picks {
        let c = &loaded.cands[p.index];
        let (call_rows, entry) = ctx.call(c, p, known_segments(c, segs.as_ref()), &mut sum)?;
        rows.extend(call_rows);
        entries.push(entry);
    }
    let index = out.join("index.html");
    let page = IndexPage {
        picked: sum.picked,
        targeted: sum.targeted,
        random: sum.picked - sum.targeted,
        seed: s.seed,
        entries: &entries,
    };
    pages::write_page(&index, &page)?;
    let csv_path = write_csv(&out.join("qa_sample.csv"), &rows)?;
    sum.written = vec![
        csv_path,
        store::write_table(&out.join("qa_sample.parquet"), &qa_sample_table(), &rows)?,
        index,
    ];
    Ok(sum)
}

/// The recording of every picked call that has a timed flagged moment to cut a clip of, or
/// why it was not found (`store::recordings`), by interaction id. When clips are wanted and
/// not one recording is found, nothing is written: the error names the paths tried.
fn locate_recordings(
    features: &Path,
    audio_root: Option<&Path>,
    cands: &[Candidate],
    picks: &[Pick],
    s: &SampleSettings,
) -> Result<HashMap<String, Result<PathBuf, String>>, SampleError> {
    let recordings = store::recordings::Recordings::open(features, audio_root);
    let mut out = HashMap::new();
    for p in picks {
        let c = &cands[p.index];
        if !c
            .flagged_evidence(&s.flags)
            .iter()
            .any(|e| e.end_ms > e.start_ms)
        {
            continue;
        }
        let at = recordings.locate(
            &c.source_path,
            c.run_id.as_deref(),
            c.content_sha256.as_deref(),
        );
        out.insert(c.interaction_id.clone(), at);
    }
    if !out.is_empty() && out.values().all(Result::is_err) {
        let first = out
            .values()
            .find_map(|r| r.as_ref().err())
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(SampleError::NoRecordings {
            calls: out.len(),
            first,
        });
    }
    Ok(out
        .into_iter()
        .map(|(id, r)| (id, r.map_err(|e| e.to_string())))
        .collect())
}

/// What `run` says before it writes anything: the counts of the picks and the short strata.
fn summary(picks: &[Pick], shortfalls: Vec<Shortfall>) -> SampleSummary {
    SampleSummary {
        picked: picks.len(),
        targeted: picks.iter().filter(|p| p.targeted).count(),
        strata: picks
            .iter()
            .map(|p| (&p.agent_id, &p.period))
            .collect::<HashSet<_>>()
            .len(),
        shortfalls,
        ..Default::default()
    }
}

/// Where and how the review of each picked call is written.
struct Review<'a> {
    out: &'a Path,
    /// The located recordings of the picked calls that need one ([`locate_recordings`]).
    recordings: &'a HashMap<String, Result<PathBuf, String>>,
    settings: &'a SampleSettings,
}

impl Review<'_> {
    /// The review of one picked call: a clip per timed flagged moment, its review page, its
    /// rows of the sample table (one per moment, or one without evidence) and its index line.
    fn call(
        &self,
        c: &Candidate,
        p: &Pick,
        segments: Option<&[Segment]>,
        sum: &mut SampleSummary,
    ) -> Result<(Vec<SampleRow>, IndexEntry), SampleError> {
        let stem = file_stem(&c.interaction_id);
        let page = format!("review/{stem}.html");
        let evidence: Vec<&Evidence> = c.flagged_evidence(&self.settings.flags);
        let reasons = if p.targeted {
            p.reasons.join(", ")
        } else {
            "random".into()
        };
        let source = self.clip_source(c, &evidence, segments, sum);
        let row = |e: Option<&Evidence>, clip: Option<String>, muted: Option<i64>| SampleRow {
            interaction_id: c.interaction_id.clone(),
            agent_id: p.agent_id.clone(),
            period: p.period.clone(),
            pick: if p.targeted { "targeted" } else { "random" },
            reasons: reasons.clone(),
            category_id: e.map(|e| e.category_id.clone()),
            role: e.map(|e| e.role.clone()),
            start_ms: e.map(|e| e.start_ms),
            end_ms: e.map(|e| e.end_ms),
            evidence: e.map(|e| e.text.clone()),
            matched_by: e.and_then(|e| e.matched_by.clone()),
            confidence: e.map(|e| e.confidence),
            clip_muted_ms: muted,
            clip,
            review_page: page.clone(),
        };
        let mut rows = Vec::new();
        if evidence.is_empty() {
            rows.push(row(None, None, None));
        }
        let mut moments = Vec::new();
        for (k, e) in evidence.iter().enumerate() {
            let (clip, muted) = match &source {
                Some(src) if e.end_ms > e.start_ms => self.cut_clip(&stem, k, e, src, sum)?,
                _ => (None, None),
            };
            moments.push(pages::moment(e, clip.clone(), segments.unwrap_or_default()));
            rows.push(row(Some(e), clip, muted));
        }
        let review = ReviewPage {
            interaction_id: &c.interaction_id,
            agent_id: &p.agent_id,
            period: &p.period,
            reasons: &reasons,
            source_path: &c.source_path,
            moments,
        };
        pages::write_page(&self.out.join(&page), &review)?;
        let entry = IndexEntry {
            agent_id: p.agent_id.clone(),
            period: p.period.clone(),
            interaction_id: c.interaction_id.clone(),
            page,
            pick: if p.targeted { "targeted" } else { "random" },
            reasons,
        };
        Ok((rows, entry))
    }

    /// The decoded recording and the spans to mute, decoded once per call and only when a
    /// moment is timed; `None` when there is nothing to cut or it cannot be cut (the reason
    /// goes to the summary).
    fn clip_source(
        &self,
        c: &Candidate,
        evidence: &[&Evidence],
        segments: Option<&[Segment]>,
        sum: &mut SampleSummary,
    ) -> Option<ClipSource> {
        if !evidence.iter().any(|e| e.end_ms > e.start_ms) {
            return None;
        }
        let keep = self.settings.keep_original_audio;
        match clip_source(c, segments, self.recordings, keep) {
            Ok(src) => {
                sum.recordings_read += 1;
                Some(src)
            }
            Err((e, unreadable)) => {
                sum.recordings_unreadable += usize::from(unreadable);
                sum.clip_errors.push((c.interaction_id.clone(), e));
                None
            }
        }
    }

    /// Cut the clip of the `k`-th flagged moment of a call: its name (relative to the sample
    /// folder) and the milliseconds muted (`None` when the original audio is kept).
    fn cut_clip(
        &self,
        stem: &str,
        k: usize,
        e: &Evidence,
        (audio, mute): &ClipSource,
        sum: &mut SampleSummary,
    ) -> Result<(Option<String>, Option<i64>), SampleError> {
        let name = format!("clips/{stem}_{:02}_{}.wav", k + 1, safe(&e.category_id));
        let ms = write_clip(
            &self.out.join(&name),
            &audio.channels,
            e.start_ms - CLIP_MARGIN_MS,
            e.end_ms + CLIP_MARGIN_MS,
            mute,
        )?;
        sum.clips += 1;
        sum.muted_ms += ms;
        Ok((
            Some(name),
            (!self.settings.keep_original_audio).then_some(ms),
        ))
    }
}

/// The decoded recording of a call and the spans its clips must mute.
type ClipSource = (crate::pipeline::decode::Audio, Vec<MuteSpan>);

const NO_SEGMENTS: &str = "the features lack this call's segments, which clips need to mute payment and identity data\nhint: point --features at the full output of callsift run, or pass --keep-original-audio where the site may keep such audio";

/// The decoded recording of a call and the spans its clips must mute (none when the original
/// audio is kept), or why no clip can be cut and whether it is because the recording could not
/// be found or read. `segments` is `None` when the features have no segments table: then
/// nothing tells where the payment data is, and no clip is cut.
fn clip_source(
    c: &Candidate,
    segments: Option<&[Segment]>,
    recordings: &HashMap<String, Result<PathBuf, String>>,
    keep_original_audio: bool,
) -> Result<ClipSource, (String, bool)> {
    let mute = match (keep_original_audio, segments) {
        (true, _) => Vec::new(),
        (false, Some(segs)) => audio_redaction::mute_spans(segs),
        (false, None) => return Err((NO_SEGMENTS.into(), false)),
    };
    let src = match recordings.get(&c.interaction_id) {
        Some(Ok(p)) => p,
        Some(Err(e)) => return Err((e.clone(), true)),
        None => return Err(("no recording was looked for".into(), true)),
    };
    let audio = crate::pipeline::decode::decode_file(src).map_err(|e| (e.to_string(), true))?;
    Ok((audio, mute))
}

/// The segments of a call when they are all there: the call's rows of the segments table
/// (`None` when the features have none) — as many as its `segment_count` says, or none at all
/// when it says 0. `None` when they cannot be trusted to show where the payment data is.
fn known_segments<'a>(
    c: &Candidate,
    table: Option<&'a HashMap<String, Vec<Segment>>>,
) -> Option<&'a [Segment]> {
    let rows = table.map(|m| m.get(&c.interaction_id).map_or(&[][..], Vec::as_slice));
    match (rows, c.numbers.get("segment_count")) {
        (Some(r), Some(&n)) if r.len() as f64 >= n => Some(r),
        (Some(r), None) => Some(r),
        (None, Some(0.0)) => Some(&[]),
        _ => None,
    }
}

/// The segments of each call (from the `segments` table), for excerpts and audio redaction.
fn segments_by_call(table: &[store::read::StoredSegment]) -> HashMap<String, Vec<Segment>> {
    let mut out: HashMap<String, Vec<Segment>> = HashMap::new();
    for r in table {
        out.entry(r.interaction_id.clone())
            .or_default()
            .push(Segment {
                role: r.role.clone(),
                start_ms: r.start_ms,
                end_ms: r.end_ms,
                text: r.text.clone(),
                avg_token_prob: r.avg_token_prob,
                redactions: r.redactions.clone(),
            });
    }
    for v in out.values_mut() {
        v.sort_by_key(|s| s.start_ms);
    }
    out
}

/// Write `qa_sample.csv`, neutralised for spreadsheets.
fn write_csv(path: &Path, rows: &[SampleRow]) -> Result<PathBuf, SampleError> {
    crate::fsutil::write_atomic_with(path, |f| {
        let mut w = csv::Writer::from_writer(f);
        for r in rows {
            w.serialize(r.for_spreadsheet())?;
        }
        w.flush()
    })
    .map_err(|e| io(path, e))?;
    Ok(path.to_path_buf())
}

/// The calls of the dataset a reviewer submitted a review of (`callsift review`).
pub fn reviewed_calls(features: &Path) -> Result<HashSet<String>, SampleError> {
    Ok(store::reviews::read_all(features)?
        .into_iter()
        .filter(|r| r.status == "submitted")
        .map(|r| r.interaction_id)
        .collect())
}

/// Read the exclusion list: a CSV (or Parquet) file whose `interaction_id`/`call_id` column,
/// or else its first column, names calls already reviewed.
pub fn read_exclusions(path: &Path) -> Result<HashSet<String>, SampleError> {
    Ok(crate::downstream::tables::interaction_ids(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: &str, agent: &str, day: i64, cats: &[&str]) -> Candidate {
        Candidate {
            interaction_id: id.into(),
            agent_id: agent.into(),
            started_at: Some(1_763_596_800_000 + day * 86_400_000), // 2025-11-20, a Thursday
            evidence: cats
                .iter()
                .map(|c| Evidence {
                    category_id: c.to_string(),
                    prefix: if c.starts_with("late") {
                        "topic_".into()
                    } else {
                        "evt_".into()
                    },
                    role: "customer".into(),
                    start_ms: 1_000,
                    end_ms: 2_000,
                    text: "x".into(),
                    matched_by: Some("exact".into()),
                    confidence: 1.0,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn settings(seed: u64) -> SampleSettings {
        SampleSettings {
            per_agent: 4,
            period: Period::Week,
            targeted_share: 0.5,
            flags: parse_flags("escalation_request,topic_*").unwrap(),
            exclude: HashSet::new(),
            seed,
            keep_original_audio: false,
            max_confidence: None,
            strict_flags: true,
        }
    }

    fn pool() -> Vec<Candidate> {
        let mut v = Vec::new();
        for i in 0..20 {
            let cats: &[&str] = match i % 5 {
                0 => &["escalation_request"],
                1 => &["late_delivery"],
                2 => &["escalation_request", "late_delivery"],
                _ => &[],
            };
            v.push(cand(&format!("a{i:02}"), "ann", i % 2 * 7, cats));
        }
        for i in 0..3 {
            v.push(cand(&format!("b{i}"), "bob", 0, &[]));
        }
        v
    }

    #[test]
    fn strata_targets_randoms_and_exclusions() {
        let (picks, short) = choose(&pool(), &settings(1));
        // ann: two weeks x 4; bob: one week, only 3 calls
        assert_eq!(picks.len(), 4 + 4 + 3);
        assert_eq!(
            short,
            vec![Shortfall {
                agent_id: "bob".into(),
                period: "2025-W47".into(),
                wanted: 4,
                available: 3
            }]
        );
        let ids: HashSet<usize> = picks.iter().map(|p| p.index).collect();
        assert_eq!(ids.len(), picks.len(), "a call picked twice");
        for week in ["2025-W47", "2025-W48"] {
            let ann: Vec<&Pick> = picks
                .iter()
                .filter(|p| p.agent_id == "ann" && p.period == week)
                .collect();
            assert_eq!(ann.len(), 4);
            let targeted: Vec<&&Pick> = ann.iter().filter(|p| p.targeted).collect();
            assert_eq!(targeted.len(), 2);
            // the calls with both flags come first
            assert!(
                targeted.iter().all(|p| p.reasons.len() == 2),
                "{targeted:?}"
            );
        }
        // exclusions are never picked
        let mut s = settings(1);
        s.exclude = picks
            .iter()
            .map(|p| pool()[p.index].interaction_id.clone())
            .collect();
        let (again, _) = choose(&pool(), &s);
        assert!(
            again
                .iter()
                .all(|p| !s.exclude.contains(&pool()[p.index].interaction_id))
        );
        assert!(!again.is_empty());
    }

    #[test]
    fn reproducible_for_a_seed_and_different_for_another() {
        let ids = |seed| {
            choose(&pool(), &settings(seed))
                .0
                .iter()
                .map(|p| p.index)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(7), ids(7));
        assert!((1..6).any(|s| ids(s) != ids(7)));
    }

    #[test]
    fn ids_that_sanitise_alike_get_their_own_files() {
        let stems: Vec<String> = ["Q/1", "Q_1", "Q 1", "Q?1"]
            .iter()
            .map(|i| file_stem(i))
            .collect();
        let unique: HashSet<&String> = stems.iter().collect();
        assert_eq!(unique.len(), 4, "{stems:?}");
        for s in &stems {
            assert!(s.starts_with("Q_1-") && s.len() == "Q_1-".len() + 8, "{s}");
        }
        // stable across runs, and long ids stay within file-name limits
        assert_eq!(file_stem("Q/1"), file_stem("Q/1"));
        let long = file_stem(&"x".repeat(5_000));
        assert_eq!(long.len(), STEM_CHARS + 9);
        assert_ne!(file_stem(&"x".repeat(5_000)), file_stem(&"x".repeat(4_999)));
    }

    #[test]
    fn terminal_output_loses_escape_sequences_and_control_characters() {
        assert_eq!(printable("ag-\u{1b}[31mred\u{1b}[0m"), "ag-red");
        assert_eq!(
            printable("\u{1b}]0;owned\u{7}title \u{1b}]8;;http://x\u{1b}\\link"),
            "title link"
        );
        assert_eq!(printable("a\rb\u{7}c\u{8}d\u{9b}e\n"), "abcde");
        assert_eq!(printable("x\u{202e}gpj.exe"), "xgpj.exe");
        assert_eq!(printable("Zoë 2026-W47"), "Zoë 2026-W47");
        assert_eq!(printable("\u{1b}"), "");
    }

    #[test]
    fn flags_parse_and_match() {
        assert_eq!(
            parse_flags("p_detractor>0.6,long_silence,topic_*").unwrap(),
            vec![
                Flag::Above("p_detractor".into(), 0.6),
                Flag::Above("longest_silence_ms".into(), 9_999.0),
                Flag::Category("topic_*".into())
            ]
        );
        assert!(
            parse_flags("p_detractor>high")
                .unwrap_err()
                .to_string()
                .contains("hint:")
        );
        let mut c = cand("x", "a", 0, &["late_delivery"]);
        c.numbers.insert("p_detractor".into(), 0.8);
        assert_eq!(
            c.reasons(&parse_flags("topic_*,p_detractor>0.6").unwrap()),
            vec!["late_delivery", "p_detractor=0.80"]
        );
        assert!(c.reasons(&parse_flags("evt_*").unwrap()).is_empty());
    }
}
