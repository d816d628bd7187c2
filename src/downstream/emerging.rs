//! Emerging complaint themes (`callsift score --emerging`): the customers' complaints that no
//! topic rule catches, clustered by meaning with the semantic layer's sentence embeddings; each
//! theme named by its most distinctive words, with the quotes nearest its centre, its calls per
//! week, and its calls' NPS and repeat-contact rate beside the other calls' — so a new
//! complaint shows before anyone writes a rule for it (`callsift rules draft` starts one from a
//! theme's quotes).
//!
//! A complaint is a customer turn of at least [`MIN_WORDS`] words that VADER scores negative or
//! that holds a complaint word ("still", "again", "keeps", "broken", "not working"…), on a
//! stereo call, where no topic of the pack fired. Themes are k-means clusters (k-means++
//! seeded, cosine) holding at least [`MIN_CALLS`] distinct calls.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use chrono::Datelike;
use rand::SeedableRng;
use rand::distr::{Distribution, weighted::WeightedIndex};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::analyze::rules::words::normalise;
use crate::analyze::semantic::Embed;
use crate::analyze::sentiment;
use crate::downstream::score::{repeat_contacts, surveys};
use crate::downstream::spreadsheet_text;
use crate::store::{self, read::StoredSegment};

/// Words a complaint needs.
pub const MIN_WORDS: usize = 6;
/// Distinct calls a theme needs.
pub const MIN_CALLS: usize = 3;
/// Surveyed calls each side needs before an NPS difference is shown.
pub const MIN_ANSWERS: usize = 5;
/// Quotes shown per theme.
const EXAMPLES: usize = 3;
/// Words that make a neutral-sounding turn a complaint.
const COMPLAINT_WORDS: &[&str] = &[
    "still",
    "again",
    "keeps",
    "keep",
    "kept",
    "broken",
    "wrong",
    "problem",
    "issue",
    "never",
    "nobody",
    "complain",
    "complaint",
    "not",
    "no",
    "cannot",
    "stopped",
    "fails",
    "failed",
    "useless",
    "ridiculous",
    "disappointed",
    "unacceptable",
    "waiting",
    "missing",
    "lost",
];
/// Words too common to name a theme.
const STOP: &[&str] = &[
    "the",
    "and",
    "you",
    "your",
    "for",
    "that",
    "this",
    "with",
    "have",
    "has",
    "had",
    "was",
    "were",
    "are",
    "is",
    "it",
    "its",
    "not",
    "but",
    "they",
    "them",
    "their",
    "there",
    "what",
    "when",
    "which",
    "who",
    "will",
    "would",
    "could",
    "should",
    "can",
    "just",
    "about",
    "been",
    "from",
    "into",
    "out",
    "our",
    "all",
    "any",
    "one",
    "get",
    "got",
    "because",
    "then",
    "than",
    "again",
    "still",
    "know",
    "like",
    "now",
    "time",
    "even",
    "really",
    "very",
    "some",
    "said",
    "say",
    "told",
    "tell",
    "want",
    "need",
    "going",
    "did",
    "does",
    "do",
    "been",
    "being",
    "my",
    "me",
    "we",
    "us",
    "she",
    "he",
    "him",
    "her",
    "his",
    "how",
    "why",
    "where",
    "here",
    "also",
    "only",
    "over",
    "more",
    "much",
    "too",
    "yes",
    "yeah",
    "okay",
    "well",
    "sure",
    "right",
    "thing",
    "things",
    "something",
    "anything",
    "nothing",
    "every",
    "am",
    "be",
    "no",
    "so",
    "of",
    "to",
    "in",
    "on",
    "at",
    "a",
    "i",
    "or",
    "if",
    "as",
    "by",
    "an",
    "up",
    "keep",
    "keeps",
    "kept",
    "never",
    "nobody",
    "cannot",
    "make",
    "makes",
    "made",
    "every",
    "time",
];

#[derive(Debug, thiserror::Error)]
pub enum EmergingError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Surveys(#[from] crate::downstream::score::surveys::SurveyError),
    #[error("the sentence-embedding model failed: {0}")]
    Embed(String),
    #[error(
        "{path}: {detail}\nhint: pass the emerging_topics.csv that `callsift score --emerging` wrote"
    )]
    Theme { path: PathBuf, detail: String },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A customer complaint no topic caught.
#[derive(Debug, Clone)]
pub struct Complaint {
    /// Row of the call in the features table.
    pub row: usize,
    pub start_ms: i64,
    pub text: String,
}

/// One emerging theme.
#[derive(Debug, Clone, Serialize)]
pub struct Theme {
    pub theme: usize,
    /// Its most distinctive words, most distinctive first.
    pub terms: Vec<String>,
    pub complaints: usize,
    pub calls: usize,
    /// (interaction id, start ms, text) of the complaints nearest its centre.
    pub examples: Vec<(String, i64, String)>,
    /// Calls per ISO week of their start (`2026-W47`), for calls with a start time.
    pub weeks: Vec<(String, usize)>,
    /// Mean NPS (0–10) of its surveyed calls and of the other surveyed calls, with their n;
    /// `None` below [`MIN_ANSWERS`] on either side.
    pub nps_with: Option<f64>,
    pub nps_without: Option<f64>,
    pub nps_n_with: usize,
    pub nps_n_without: usize,
    /// Share of its calls followed by a repeat contact, and of the other calls, with their n.
    pub repeat_with: Option<f64>,
    pub repeat_without: Option<f64>,
    pub repeat_n_with: usize,
    pub repeat_n_without: usize,
}

/// What `score --emerging` reads.
pub struct EmergingSettings {
    pub features: PathBuf,
    pub surveys: PathBuf,
    pub out: PathBuf,
    pub repeat_days: i64,
    pub seed: u64,
}

/// The file the themes are written to, under the scores folder.
pub const FILE: &str = "emerging_topics.csv";

/// Find the themes of the dataset and write them to `<out>/emerging_topics.csv`.
pub fn run(
    s: &EmergingSettings,
    model: &dyn Embed,
) -> Result<(Vec<Theme>, PathBuf), EmergingError> {
    let t = store::read::read_calls(&s.features)?;
    let ids = t.row_index();
    let sv = surveys::read(&s.surveys, &ids)?;
    let segments = store::read::read_segments(&s.features)?;
    let topics = topic_spans(&s.features.join("events"))?;
    let found = complaints(&segments, &topics, &ids);
    let texts: Vec<&str> = found.iter().map(|c| c.text.as_str()).collect();
    let vectors = model.embed(&texts).map_err(EmergingError::Embed)?;
    let clusters = kmeans(&vectors, s.seed);
    let nps: HashMap<usize, f64> = sv
        .responses
        .iter()
        .filter_map(|(row, r)| r.nps.map(|v| (*row, v)))
        .collect();
    let repeat = repeat_contacts(&t, s.repeat_days);
    let ctx = Context {
        ids: &t.ids,
        started_at: &t.started_at,
        nps: &nps,
        repeat: &repeat,
    };
    let themes = themes(&found, &vectors, &clusters, &ctx);
    let path = s.out.join(FILE);
    write_csv(&path, &themes)?;
    Ok((themes, path))
}

/// (start, end) of the topic hits of each call, from the events table.
fn topic_spans(events: &Path) -> Result<HashMap<String, Vec<(i64, i64)>>, EmergingError> {
    let mut out: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    if !events.exists() {
        return Ok(out);
    }
    let (header, rows) = store::read::read_text_rows(events)?;
    let col = |n: &str| header.iter().position(|h| h == n);
    let (Some(id), Some(kind), Some(start), Some(end)) = (
        col("interaction_id"),
        col("kind"),
        col("start_ms"),
        col("end_ms"),
    ) else {
        return Ok(out);
    };
    for r in rows {
        if r[kind].as_deref() != Some("topic") {
            continue;
        }
        let num = |i: usize| r[i].as_deref().and_then(|v| v.parse::<i64>().ok());
        if let (Some(call), Some(a), Some(b)) = (r[id].clone(), num(start), num(end)) {
            out.entry(call).or_default().push((a, b));
        }
    }
    Ok(out)
}

/// The customer complaints of `segments` that no topic hit overlaps.
pub fn complaints(
    segments: &[StoredSegment],
    topics: &HashMap<String, Vec<(i64, i64)>>,
    ids: &HashMap<String, usize>,
) -> Vec<Complaint> {
    let none = Vec::new();
    segments
        .iter()
        .filter(|s| s.role == "customer")
        .filter_map(|s| {
            let row = *ids.get(&s.interaction_id)?;
            let words = normalise(&s.text);
            let complaint = words.len() >= MIN_WORDS
                && (sentiment::score(&s.text) < -0.05
                    || words.iter().any(|w| COMPLAINT_WORDS.contains(&w.as_str())));
            let caught = topics
                .get(&s.interaction_id)
                .unwrap_or(&none)
                .iter()
                .any(|&(a, b)| a < s.end_ms && s.start_ms < b);
            (complaint && !caught).then(|| Complaint {
                row,
                start_ms: s.start_ms,
                text: s.text.clone(),
            })
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The cluster of each vector: spherical k-means, k-means++ seeded from `seed`,
/// k = √(n/2) (2 to 40), then clusters with close centres joined ([`MERGE`]).
pub fn kmeans(vectors: &[Vec<f32>], seed: u64) -> Vec<usize> {
    let n = vectors.len();
    if n == 0 {
        return Vec::new();
    }
    let k = (((n as f64) / 2.0).sqrt().round() as usize)
        .clamp(2, 40)
        .min(n);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centres: Vec<Vec<f32>> = vec![vectors[0].clone()];
    while centres.len() < k {
        let d: Vec<f64> = vectors
            .iter()
            .map(|v| {
                let best = centres.iter().map(|c| dot(v, c)).fold(f32::MIN, f32::max);
                f64::from((1.0 - best).max(0.0)).powi(2) + 1e-12
            })
            .collect();
        let pick = WeightedIndex::new(&d).map_or(0, |w| w.sample(&mut rng));
        centres.push(vectors[pick].clone());
    }
    let mut assign = vec![0; n];
    for _ in 0..30 {
        let next: Vec<usize> = vectors
            .iter()
            .map(|v| {
                (0..k)
                    .max_by(|&a, &b| dot(v, &centres[a]).total_cmp(&dot(v, &centres[b])))
                    .unwrap_or(0)
            })
            .collect();
        let changed = next != assign;
        assign = next;
        for (c, centre) in centres.iter_mut().enumerate() {
            let mut sum = vec![0.0f32; vectors[0].len()];
            for (v, _) in vectors.iter().zip(&assign).filter(|(_, a)| **a == c) {
                for (s, x) in sum.iter_mut().zip(v) {
                    *s += x;
                }
            }
            let norm = dot(&sum, &sum).sqrt();
            if norm > 0.0 {
                *centre = sum.iter().map(|x| x / norm).collect();
            }
        }
        if !changed {
            break;
        }
    }
    merge_close(&mut assign, vectors)
}

/// Centres at least this similar (cosine) are one theme.
pub const MERGE: f32 = 0.7;

/// Join clusters whose centres are at least [`MERGE`] alike, closest pair first (k-means cuts
/// a theme in pieces when k is more than the themes present), and number them 0.. again.
fn merge_close(assign: &mut [usize], vectors: &[Vec<f32>]) -> Vec<usize> {
    let centre = |assign: &[usize], c: usize| {
        let mut sum = vec![0.0f32; vectors[0].len()];
        for (v, _) in vectors.iter().zip(assign).filter(|(_, a)| **a == c) {
            for (s, x) in sum.iter_mut().zip(v) {
                *s += x;
            }
        }
        let norm = dot(&sum, &sum).sqrt().max(1e-12);
        sum.iter().map(|x| x / norm).collect::<Vec<f32>>()
    };
    loop {
        let live: BTreeSet<usize> = assign.iter().copied().collect();
        let centres: Vec<(usize, Vec<f32>)> =
            live.iter().map(|&c| (c, centre(assign, c))).collect();
        let mut best: Option<(f32, usize, usize)> = None;
        for (i, (a, ca)) in centres.iter().enumerate() {
            for (b, cb) in &centres[i + 1..] {
                let sim = dot(ca, cb);
                if sim >= MERGE && best.is_none_or(|(s, _, _)| sim > s) {
                    best = Some((sim, *a, *b));
                }
            }
        }
        let Some((_, a, b)) = best else { break };
        for x in assign.iter_mut().filter(|x| **x == b) {
            *x = a;
        }
    }
    let order: Vec<usize> = assign
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assign
        .iter()
        .map(|a| order.iter().position(|o| o == a).unwrap_or(0))
        .collect()
}

/// What the themes are measured against.
pub struct Context<'a> {
    pub ids: &'a [String],
    pub started_at: &'a [Option<i64>],
    /// NPS answer per call row.
    pub nps: &'a HashMap<usize, f64>,
    /// Repeat contact per call row.
    pub repeat: &'a [Option<bool>],
}

/// The clusters holding at least [`MIN_CALLS`] calls, as themes, most calls first.
pub fn themes(
    found: &[Complaint],
    vectors: &[Vec<f32>],
    clusters: &[usize],
    ctx: &Context,
) -> Vec<Theme> {
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, &c) in clusters.iter().enumerate() {
        members.entry(c).or_default().push(i);
    }
    let df_all = document_frequency(found.iter().map(|c| c.text.as_str()));
    let mut out: Vec<Theme> = members
        .values()
        .filter_map(|m| {
            let calls: BTreeSet<usize> = m.iter().map(|&i| found[i].row).collect();
            (calls.len() >= MIN_CALLS).then(|| theme(found, vectors, m, &calls, &df_all, ctx))
        })
        .collect();
    out.sort_by(|a, b| b.calls.cmp(&a.calls).then(b.complaints.cmp(&a.complaints)));
    for (i, t) in out.iter_mut().enumerate() {
        t.theme = i + 1;
    }
    out
}

/// In how many texts each word occurs (stop words left out).
fn document_frequency<'a>(texts: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut df = HashMap::new();
    for t in texts {
        let words: BTreeSet<String> = normalise(t)
            .into_iter()
            .filter(|w| w.len() >= 3 && !STOP.contains(&w.as_str()))
            .collect();
        for w in words {
            *df.entry(w).or_insert(0) += 1;
        }
    }
    df
}

fn theme(
    found: &[Complaint],
    vectors: &[Vec<f32>],
    m: &[usize],
    calls: &BTreeSet<usize>,
    df_all: &HashMap<String, usize>,
    ctx: &Context,
) -> Theme {
    let n_all = found.len() as f64;
    let df = document_frequency(m.iter().map(|&i| found[i].text.as_str()));
    let mut terms: Vec<(f64, String)> = df
        .into_iter()
        .filter(|(_, c)| *c >= 2)
        .map(|(w, c)| {
            let idf = (n_all / df_all.get(&w).copied().unwrap_or(1) as f64).ln();
            (c as f64 / m.len() as f64 * idf, w)
        })
        .collect();
    terms.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    // the complaints nearest the centre
    let mut centre = vec![0.0f32; vectors[0].len()];
    for &i in m {
        for (c, x) in centre.iter_mut().zip(&vectors[i]) {
            *c += x;
        }
    }
    let mut near: Vec<usize> = m.to_vec();
    near.sort_by(|&a, &b| dot(&vectors[b], &centre).total_cmp(&dot(&vectors[a], &centre)));
    let mut seen = BTreeSet::new();
    let examples = near
        .into_iter()
        .filter(|&i| seen.insert(found[i].row))
        .take(EXAMPLES)
        .map(|i| {
            let c = &found[i];
            (ctx.ids[c.row].clone(), c.start_ms, c.text.clone())
        })
        .collect();
    let mut weeks: BTreeMap<String, usize> = BTreeMap::new();
    for &row in calls {
        if let Some(ms) = ctx.started_at[row]
            && let Some(d) = chrono::DateTime::from_timestamp_millis(ms)
        {
            let w = d.iso_week();
            *weeks
                .entry(format!("{}-W{:02}", w.year(), w.week()))
                .or_insert(0) += 1;
        }
    }
    let (nps_with, nps_n_with, nps_without, nps_n_without) = compare(
        ctx.nps.len(),
        |row| ctx.nps.get(&row).copied(),
        calls,
        ctx.ids.len(),
    );
    let (repeat_with, repeat_n_with, repeat_without, repeat_n_without) = compare(
        ctx.repeat.len(),
        |row| ctx.repeat[row].map(|r| if r { 1.0 } else { 0.0 }),
        calls,
        ctx.ids.len(),
    );
    Theme {
        theme: 0,
        terms: terms.into_iter().take(3).map(|(_, w)| w).collect(),
        complaints: m.len(),
        calls: calls.len(),
        examples,
        weeks: weeks.into_iter().collect(),
        nps_with,
        nps_without,
        nps_n_with,
        nps_n_without,
        repeat_with,
        repeat_without,
        repeat_n_with,
        repeat_n_without,
    }
}

/// Mean of `value` over the theme's calls and over the others, with their n; a mean is
/// `None` when either side has fewer than [`MIN_ANSWERS`] values.
fn compare(
    _known: usize,
    value: impl Fn(usize) -> Option<f64>,
    calls: &BTreeSet<usize>,
    rows: usize,
) -> (Option<f64>, usize, Option<f64>, usize) {
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for row in 0..rows {
        if let Some(v) = value(row) {
            if calls.contains(&row) {
                with.push(v);
            } else {
                without.push(v);
            }
        }
    }
    let enough = with.len() >= MIN_ANSWERS && without.len() >= MIN_ANSWERS;
    let mean = |v: &[f64]| enough.then(|| v.iter().sum::<f64>() / v.len() as f64);
    (mean(&with), with.len(), mean(&without), without.len())
}

/// A theme as `emerging_topics.csv` holds it, for `rules draft`.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub theme: usize,
    pub terms: Vec<String>,
    pub calls: usize,
    /// The quotes, without their call and time.
    pub quotes: Vec<String>,
}

/// Theme `n` of an `emerging_topics.csv`.
pub fn read_theme(path: &Path, n: usize) -> Result<Written, EmergingError> {
    let bad = |detail: String| EmergingError::Theme {
        path: path.to_path_buf(),
        detail,
    };
    let mut rd = csv::Reader::from_path(path).map_err(|e| bad(e.to_string()))?;
    let header = rd.headers().map_err(|e| bad(e.to_string()))?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| bad(format!("no column {name}")))
    };
    let (theme, terms, calls) = (col("theme")?, col("terms")?, col("calls")?);
    let examples: Vec<usize> = (1..=EXAMPLES)
        .filter_map(|k| header.iter().position(|h| h == format!("example_{k}")))
        .collect();
    let mut known = Vec::new();
    for (line, r) in rd.records().enumerate() {
        let r = r.map_err(|e| bad(format!("line {}: {e}", line + 2)))?;
        known.push(r[theme].to_string());
        if r[theme].parse::<usize>().ok() != Some(n) {
            continue;
        }
        // a quote is `<call> @<s>s: <text>`, spreadsheet-safe (a leading apostrophe)
        let quote = |cell: &str| {
            let cell = cell.strip_prefix('\'').unwrap_or(cell);
            cell.split_once("s: ")
                .map_or(cell, |(_, t)| t)
                .trim()
                .to_string()
        };
        return Ok(Written {
            theme: n,
            terms: r[terms]
                .trim_start_matches('\'')
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            calls: r[calls].parse().unwrap_or(0),
            quotes: examples
                .iter()
                .map(|&k| quote(&r[k]))
                .filter(|q| !q.is_empty())
                .collect(),
        });
    }
    Err(bad(format!(
        "no theme {n}; the file holds {}",
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    )))
}

/// A topic category (TOML) started from a theme: its words as phrases, its quotes as the
/// examples that must fire. A start to edit, not a finished rule.
pub fn draft_category(t: &Written, id: &str) -> String {
    #[derive(Serialize)]
    struct Category<'a> {
        id: &'a str,
        kind: &'a str,
        description: String,
        role: &'a str,
        any: &'a [String],
        examples: Vec<String>,
    }
    #[derive(Serialize)]
    struct Pack<'a> {
        category: [Category<'a>; 1],
    }
    let pack = Pack {
        category: [Category {
            id,
            kind: "topic",
            description: format!(
                "Emerging theme {} of `score --emerging` ({} calls): {}. Edit the phrases before use.",
                t.theme,
                t.calls,
                t.terms.join(", ")
            ),
            role: "customer",
            any: &t.terms,
            examples: t.quotes.iter().map(|q| format!("customer: {q}")).collect(),
        }],
    };
    toml::to_string(&pack).unwrap_or_default()
}

fn write_csv(path: &Path, themes: &[Theme]) -> Result<(), EmergingError> {
    let err = |source| EmergingError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
    w.write_record([
        "theme",
        "terms",
        "complaints",
        "calls",
        "weeks",
        "nps_with",
        "nps_n_with",
        "nps_without",
        "nps_n_without",
        "repeat_with",
        "repeat_n_with",
        "repeat_without",
        "repeat_n_without",
        "example_1",
        "example_2",
        "example_3",
    ])
    .map_err(|e| err(e.into()))?;
    for t in themes {
        let weeks: Vec<String> = t.weeks.iter().map(|(w, n)| format!("{w}:{n}")).collect();
        let mut row = vec![
            t.theme.to_string(),
            spreadsheet_text(&t.terms.join(" ")),
            t.complaints.to_string(),
            t.calls.to_string(),
            weeks.join(" "),
            opt(t.nps_with),
            t.nps_n_with.to_string(),
            opt(t.nps_without),
            t.nps_n_without.to_string(),
            opt(t.repeat_with),
            t.repeat_n_with.to_string(),
            opt(t.repeat_without),
            t.repeat_n_without.to_string(),
        ];
        for k in 0..EXAMPLES {
            row.push(t.examples.get(k).map_or(String::new(), |(id, ms, text)| {
                spreadsheet_text(&format!("{id} @{:.1}s: {text}", *ms as f64 / 1000.0))
            }));
        }
        w.write_record(&row).map_err(|e| err(e.into()))?;
    }
    let bytes = w.into_inner().map_err(|e| err(e.into_error()))?;
    crate::fsutil::write_atomic(path, &bytes).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(dir: usize, k: usize) -> Vec<f32> {
        // a direction plus a little of another, different per k
        let mut v = vec![0.0f32; 8];
        v[dir] = 1.0;
        v[(dir + 1 + k % 3) % 8] = 0.2;
        let n = dot(&v, &v).sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn themes_are_found_named_and_measured() {
        let mut found = Vec::new();
        let mut vectors = Vec::new();
        for k in 0..6 {
            found.push(Complaint {
                row: k,
                start_ms: 1_000,
                text: format!("the app logged me out again number {k}"),
            });
            vectors.push(unit(0, k));
        }
        for k in 0..4 {
            found.push(Complaint {
                row: 6 + k,
                start_ms: 2_000,
                text: format!("the kiosk refused my loyalty card at till {k}"),
            });
            vectors.push(unit(4, k));
        }
        let clusters = kmeans(&vectors, 1);
        assert_eq!(
            clusters.iter().collect::<BTreeSet<_>>().len(),
            2,
            "{clusters:?}"
        );
        let ids: Vec<String> = (0..20).map(|i| format!("C-{i}")).collect();
        let started: Vec<Option<i64>> = vec![Some(1_794_787_200_000); 20];
        let nps: HashMap<usize, f64> = (0..20)
            .map(|r| (r, if r < 6 { 2.0 } else { 9.0 }))
            .collect();
        let repeat = vec![Some(false); 20];
        let ctx = Context {
            ids: &ids,
            started_at: &started,
            nps: &nps,
            repeat: &repeat,
        };
        let t = themes(&found, &vectors, &clusters, &ctx);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].theme, t[0].calls), (1, 6));
        assert!(t[0].terms.contains(&"app".to_string()), "{:?}", t[0].terms);
        assert_eq!(t[0].weeks, vec![("2026-W47".to_string(), 6)]);
        assert_eq!((t[0].nps_with, t[0].nps_n_with), (Some(2.0), 6));
        assert_eq!((t[0].nps_without, t[0].nps_n_without), (Some(9.0), 14));
        // the smaller theme has 4 answers: not enough for an NPS comparison
        assert_eq!((t[1].nps_with, t[1].nps_n_with), (None, 4));
        assert_eq!(t[0].examples.len(), 3);
        // a draft from a theme is a valid category
        let w = Written {
            theme: 1,
            terms: t[0].terms.clone(),
            calls: 6,
            quotes: t[0].examples.iter().map(|e| e.2.clone()).collect(),
        };
        let text = draft_category(&w, "app_logout");
        let rules = crate::analyze::rules::RuleSet::parse(&text, "draft").unwrap();
        assert_eq!(rules.categories[0].id, "app_logout");
    }
}
