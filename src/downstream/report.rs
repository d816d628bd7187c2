//! Report: one self-contained static HTML dashboard (inline CSS and SVG charts, no external
//! assets, no script) over the outputs of `run`, `score`, `sample` and `scorecard`: volume and
//! audio hours, top drivers with confidence intervals, complaint topics over time, the
//! silence distribution, checklist alignment, agent scorecards, and links to the QA review
//! pages. Sections whose inputs are missing say which command produces them.
//!
//! The page is the askama template `templates/report.html` (on the layout and stylesheet it
//! shares with the QA review pages), which escapes every value; the charts are the templates
//! `bar_chart.svg` and `forest_plot.svg`, escaped the same way, and only their output ([`Svg`])
//! goes into the page unescaped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use askama::Template;

use crate::store::{self, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "missing column {column:?} in {path}\nhint: it was not written by this callsift's `callsift {command}`: run that again and pass its folder"
    )]
    MissingColumn {
        path: PathBuf,
        column: String,
        command: &'static str,
    },
    #[error("cannot render the report")]
    Render(#[source] askama::Error),
    #[error(transparent)]
    Folder(#[from] crate::downstream::inputs::FolderError),
    #[error(
        "--out {path}: a folder, but the report is one HTML file\nhint: name the file, e.g. --out {example}",
        example = .path.join("report.html").display()
    )]
    OutIsFolder { path: PathBuf },
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// SVG markup built by a chart template, every data value in it escaped: the only markup the
/// report's template takes as it is (`|safe`).
#[derive(Debug, Clone)]
pub struct Svg(String);

impl Svg {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Svg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn render_svg(t: &impl Template) -> Svg {
    // a chart template only formats numbers and strings: it cannot fail
    Svg(t.render().expect("a chart template renders"))
}

/// One bar of [`BarChart`], in SVG coordinates.
struct Bar<'a> {
    label: &'a str,
    value: f64,
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    text_x: f64,
    value_y: f64,
    label_y: f64,
}

#[derive(Template)]
#[template(path = "bar_chart.svg")]
struct BarChart<'a> {
    title: &'a str,
    width: f64,
    height: f64,
    pad: f64,
    axis_y: f64,
    axis_x1: f64,
    bars: Vec<Bar<'a>>,
}

/// A vertical bar chart.
pub fn bar_chart(title: &str, bars: &[(String, f64)]) -> Svg {
    let (w, h, pad) = (720.0, 220.0, 40.0);
    let max = bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0);
    let bw = (w - 2.0 * pad) / bars.len().max(1) as f64;
    let bars = bars
        .iter()
        .enumerate()
        .map(|(i, (label, v))| {
            let bh = (h - 20.0) * v / max;
            let x = pad + i as f64 * bw;
            Bar {
                label,
                value: *v,
                x,
                y: h - bh,
                width: (bw * 0.8).max(1.0),
                height: bh,
                text_x: x + bw * 0.4,
                value_y: h - bh - 3.0,
                label_y: h + 14.0,
            }
        })
        .collect();
    render_svg(&BarChart {
        title,
        width: w,
        height: h + 40.0,
        pad,
        axis_y: h,
        axis_x1: w - pad,
        bars,
    })
}

/// One row of [`ForestPlot`]: the effect and its interval, in SVG coordinates.
struct ForestRow<'a> {
    label: &'a str,
    effect: f64,
    low: f64,
    high: f64,
    y: f64,
    text_y: f64,
    low_x: f64,
    high_x: f64,
    effect_x: f64,
    color: &'static str,
}

#[derive(Template)]
#[template(path = "forest_plot.svg")]
struct ForestPlot<'a> {
    title: &'a str,
    width: f64,
    height: f64,
    zero_x: f64,
    left: f64,
    right: f64,
    axis_y: f64,
    lo: f64,
    hi: f64,
    rows: Vec<ForestRow<'a>>,
}

/// A forest plot: one row per effect with its interval, a zero line.
pub fn forest_plot(title: &str, rows: &[(String, f64, f64, f64)]) -> Svg {
    let (w, row_h, left) = (720.0, 22.0, 260.0);
    let h = row_h * rows.len() as f64 + 30.0;
    let lo = rows.iter().map(|r| r.2).fold(0.0, f64::min);
    let hi = rows.iter().map(|r| r.3).fold(0.0, f64::max);
    let span = (hi - lo).max(1e-9);
    let x = |v: f64| left + (w - left - 20.0) * (v - lo) / span;
    let rows = rows
        .iter()
        .enumerate()
        .map(|(i, (label, eff, a, b))| {
            let y = row_h * i as f64 + 15.0;
            ForestRow {
                label,
                effect: *eff,
                low: *a,
                high: *b,
                y,
                text_y: y + 4.0,
                low_x: x(*a),
                high_x: x(*b),
                effect_x: x(*eff),
                color: if *eff < 0.0 { "#b54a4a" } else { "#3f8f4f" },
            }
        })
        .collect();
    render_svg(&ForestPlot {
        title,
        width: w,
        height: h,
        zero_x: x(0.0),
        left,
        right: w - 20.0,
        axis_y: h - 2.0,
        lo,
        hi,
        rows,
    })
}

/// Inputs of the report.
#[derive(Debug, Clone, Default)]
pub struct ReportInputs {
    pub features: PathBuf,
    pub scores: Option<PathBuf>,
    pub qa: Option<PathBuf>,
    pub cards: Option<PathBuf>,
}

// --- reading the tables -------------------------------------------------------------------

/// A table the report reads through the store: where it came from, the command that writes
/// it, its header and its rows of optional text (null: absent).
struct Rows {
    path: PathBuf,
    command: &'static str,
    header: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
}

/// A column of [`Rows`]; one the table lacks (only optional ones) reads as null.
#[derive(Clone, Copy)]
struct Col(Option<usize>);

impl Col {
    fn text(self, row: &[Option<String>]) -> Option<&str> {
        self.0.and_then(|c| row.get(c)?.as_deref())
    }
    fn number(self, row: &[Option<String>]) -> Option<f64> {
        self.text(row).and_then(|v| v.trim().parse().ok())
    }
    fn is_true(self, row: &[Option<String>]) -> bool {
        self.text(row) == Some("true")
    }
}

impl Rows {
    /// The table at `path` (a Parquet file or a dataset table folder), `None` when there is
    /// none: no such file, or a folder without a part.
    fn read(path: PathBuf, command: &'static str) -> Result<Option<Rows>, ReportError> {
        if !path.exists() {
            return Ok(None);
        }
        let (header, rows) = store::read::read_text_rows(&path)?;
        if header.is_empty() {
            return Ok(None);
        }
        Ok(Some(Rows {
            path,
            command,
            header,
            rows,
        }))
    }

    /// A column the report needs: an error naming the file and the column when it is missing.
    fn column(&self, name: &str) -> Result<Col, ReportError> {
        match self.optional(name) {
            Col(Some(c)) => Ok(Col(Some(c))),
            Col(None) => Err(ReportError::MissingColumn {
                path: self.path.clone(),
                column: name.into(),
                command: self.command,
            }),
        }
    }

    /// A column the report can do without.
    fn optional(&self, name: &str) -> Col {
        Col(self.header.iter().position(|h| h == name))
    }
}

/// What the report uses of one recording (a row of the interactions table).
struct Call {
    ok: bool,
    /// UTC day the call started, `YYYY-MM-DD`, or `unknown`.
    day: String,
    duration_ms: Option<f64>,
    longest_silence_ms: Option<f64>,
    non_talk_time_ms: Option<f64>,
    /// The `topic_*` columns true for this call.
    topics: Vec<String>,
}

fn day(ms: Option<f64>) -> String {
    ms.and_then(|ms| chrono::DateTime::from_timestamp_millis(ms as i64))
        .map_or("unknown".to_string(), |t| t.format("%Y-%m-%d").to_string())
}

/// Every recording of the dataset in `features` (none when it holds no interactions table).
fn read_calls(features: &Path) -> Result<Vec<Call>, ReportError> {
    let Some(t) = Rows::read(features.join(store::dataset::INTERACTIONS), "run")? else {
        return Ok(Vec::new());
    };
    let status = t.column("status")?;
    let started = t.optional("started_at");
    let duration = t.optional("duration_ms");
    let silence = t.optional("longest_silence_ms");
    let non_talk = t.optional("non_talk_time_ms");
    let topics: Vec<(&String, Col)> = t
        .header
        .iter()
        .enumerate()
        .filter(|(_, h)| h.starts_with("topic_"))
        .map(|(i, h)| (h, Col(Some(i))))
        .collect();
    Ok(t.rows
        .iter()
        .map(|r| Call {
            ok: status.text(r) == Some("ok"),
            day: day(started.number(r)),
            duration_ms: duration.number(r),
            longest_silence_ms: silence.number(r),
            non_talk_time_ms: non_talk.number(r),
            topics: topics
                .iter()
                .filter(|(_, c)| c.is_true(r))
                .map(|(h, _)| h.to_string())
                .collect(),
        })
        .collect())
}

// --- the sections --------------------------------------------------------------------------

struct Volume {
    recordings: usize,
    processed: usize,
    failed: usize,
    hours: f64,
    chart: Svg,
}

fn volume(calls: &[Call]) -> Volume {
    let ok: Vec<&Call> = calls.iter().filter(|c| c.ok).collect();
    let mut per_day: BTreeMap<&str, f64> = BTreeMap::new();
    for c in &ok {
        *per_day.entry(&c.day).or_default() += 1.0;
    }
    // short labels (MM-DD) keep the bars readable
    let per_day: Vec<(String, f64)> = per_day
        .into_iter()
        .map(|(d, n)| (d.get(5..).unwrap_or(d).to_string(), n))
        .collect();
    Volume {
        recordings: calls.len(),
        processed: ok.len(),
        failed: calls.len() - ok.len(),
        hours: ok.iter().filter_map(|c| c.duration_ms).sum::<f64>() / 3.6e6,
        chart: bar_chart("calls per day", &per_day),
    }
}

/// One row of drivers.parquet, as the report uses it.
struct Driver {
    survey_type: String,
    outcome: String,
    feature: String,
    feature_type: String,
    threshold: Option<f64>,
    n: i64,
    n_with: Option<i64>,
    n_without: Option<i64>,
    significant: bool,
    /// The raw difference (flags, thresholds) or rank correlation (continuous).
    raw: Option<f64>,
    effect: Option<f64>,
    ci_low: Option<f64>,
    ci_high: Option<f64>,
    q_value: Option<f64>,
    verdict: String,
}

impl Driver {
    /// The feature as people read it: `hold_time_ms > 41000` for a threshold row.
    fn label(&self) -> String {
        match self.threshold {
            Some(c) => format!("{} > {}", self.feature, fmt_num(c)),
            None => self.feature.clone(),
        }
    }
    /// n as shown beside the figure: with / without for flags and thresholds.
    fn n_text(&self) -> String {
        match (self.n_with, self.n_without) {
            (Some(a), Some(b)) => format!("{a} with, {b} without"),
            _ => format!("{}", self.n),
        }
    }
}

/// A number without trailing zeros.
fn fmt_num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn read_drivers(scores: &Path) -> Result<Option<Vec<Driver>>, ReportError> {
    let Some(t) = Rows::read(scores.join("drivers.parquet"), "score")? else {
        return Ok(None);
    };
    let c = |name: &str| t.column(name);
    let (survey_type, outcome, feature) = (c("survey_type")?, c("outcome")?, c("feature")?);
    let (feature_type, significant, n) = (c("feature_type")?, c("significant")?, t.optional("n"));
    let (raw, raw_lo, raw_hi) = (c("effect")?, c("ci_low")?, c("ci_high")?);
    let raw_q = t.optional("q_value");
    let (n_with, n_without) = (t.optional("n_with"), t.optional("n_without"));
    // written by score before the adjusted model: the raw figures stand in
    let verdict = t.optional("verdict");
    let adjusted = verdict.0.is_some();
    let (effect, lo, hi, q) = if adjusted {
        (
            c("adjusted_effect")?,
            c("adjusted_ci_low")?,
            c("adjusted_ci_high")?,
            c("adjusted_p_holm")?,
        )
    } else {
        (raw, raw_lo, raw_hi, raw_q)
    };
    let threshold = t.optional("threshold");
    Ok(Some(
        t.rows
            .iter()
            .filter_map(|r| {
                let significant = significant.is_true(r);
                Some(Driver {
                    survey_type: survey_type.text(r)?.to_string(),
                    outcome: outcome.text(r)?.to_string(),
                    feature: feature.text(r)?.to_string(),
                    feature_type: feature_type.text(r)?.to_string(),
                    threshold: threshold.number(r),
                    n: n.number(r).unwrap_or(0.0) as i64,
                    n_with: n_with.number(r).map(|v| v as i64),
                    n_without: n_without.number(r).map(|v| v as i64),
                    significant,
                    raw: raw.number(r),
                    effect: effect.number(r),
                    ci_low: lo.number(r),
                    ci_high: hi.number(r),
                    q_value: q.number(r),
                    verdict: verdict.text(r).map(str::to_string).unwrap_or_else(|| {
                        if significant {
                            "driver"
                        } else {
                            "no effect found"
                        }
                        .into()
                    }),
                })
            })
            .collect(),
    ))
}

/// One driver as a table row of the report.
struct DriverLine {
    feature: String,
    effect: String,
    interval: String,
    raw: String,
    q: String,
    n: String,
}

struct DriverFamily {
    survey_type: String,
    outcome: String,
    /// Answers the family rests on.
    answers: i64,
    drivers: usize,
    no_effect: usize,
    not_tested: usize,
    /// The commonest reasons for not testing, with their counts.
    not_tested_why: Vec<(String, usize)>,
    chart: Option<Svg>,
    lines: Vec<DriverLine>,
}

struct Drivers {
    /// Families where nothing at all could be tested: the page says so before anything else.
    thin: Vec<String>,
    families: Vec<DriverFamily>,
}

/// Per survey type and outcome (not the `_mean` ones): how many features are drivers, show no
/// effect, or could not be tested (and why); the drivers ranked by their adjusted effect with
/// interval, raw difference, q and n; a forest plot of the 12 largest in outcome points.
fn drivers(rows: &[Driver]) -> Drivers {
    let mut families: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.survey_type.as_str(), r.outcome.as_str()))
        .filter(|(_, o)| !o.ends_with("_mean"))
        .collect();
    families.sort();
    families.dedup();
    let mut out = Drivers {
        thin: Vec::new(),
        families: Vec::new(),
    };
    for (ty, outcome) in families {
        let fam: Vec<&Driver> = rows
            .iter()
            .filter(|r| r.survey_type == ty && r.outcome == outcome)
            .collect();
        let not_tested: Vec<&&Driver> = fam
            .iter()
            .filter(|r| r.verdict.starts_with("not tested"))
            .collect();
        let mut why =
            crate::downstream::score::not_tested_reasons(fam.iter().map(|r| r.verdict.as_str()));
        why.truncate(3);
        let mut sig: Vec<&Driver> = fam.iter().copied().filter(|r| r.significant).collect();
        sig.sort_by(|a, b| {
            b.effect
                .map_or(0.0, f64::abs)
                .total_cmp(&a.effect.map_or(0.0, f64::abs))
        });
        let answers = fam.iter().map(|r| r.n).max().unwrap_or(0);
        if not_tested.len() == fam.len() {
            out.thin
                .push(format!("{ty} / {outcome} ({answers} answers)"));
        }
        // the plot shows effects in outcome points: flags and thresholds
        let points: Vec<(String, f64, f64, f64)> = sig
            .iter()
            .filter(|r| r.feature_type != "continuous")
            .filter_map(|r| {
                Some((
                    format!("{} (n {})", r.label(), r.n_text()),
                    r.effect?,
                    r.ci_low?,
                    r.ci_high?,
                ))
            })
            .take(12)
            .collect();
        let num = |v: Option<f64>| v.map_or("—".into(), |v| format!("{v:+.2}"));
        out.families.push(DriverFamily {
            survey_type: ty.into(),
            outcome: outcome.into(),
            answers,
            drivers: sig.len(),
            no_effect: fam.len() - sig.len() - not_tested.len(),
            not_tested: not_tested.len(),
            not_tested_why: why,
            chart: (!points.is_empty()).then(|| {
                forest_plot(
                    &format!("{ty} {outcome}: adjusted effect and 95% interval"),
                    &points,
                )
            }),
            lines: sig
                .iter()
                .map(|r| DriverLine {
                    feature: r.label(),
                    effect: match r.feature_type.as_str() {
                        "continuous" => format!("{} per sd", num(r.effect)),
                        _ => num(r.effect),
                    },
                    interval: match (r.ci_low, r.ci_high) {
                        (Some(a), Some(b)) => format!("[{a:+.2}, {b:+.2}]"),
                        _ => "—".into(),
                    },
                    raw: match r.feature_type.as_str() {
                        "continuous" => r.raw.map_or("—".into(), |v| format!("rho {v:+.2}")),
                        _ => num(r.raw),
                    },
                    q: r.q_value.map_or("—".into(), |q| format!("{q:.2e}")),
                    n: r.n_text(),
                })
                .collect(),
        });
    }
    out
}

/// The survey answers behind the drivers: per survey type, answers and response rate.
struct Answers {
    survey_type: String,
    responses: u64,
    interactions: u64,
    rate_pct: f64,
}

/// `score_report.json` of a scores folder; `None` when there is none to read.
fn score_report(scores: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(scores.join("score_report.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The response rates of `score_report.json`.
fn answers(v: &serde_json::Value) -> Vec<Answers> {
    v["response_rate"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(ty, r)| Answers {
            survey_type: ty.clone(),
            responses: r["responses"].as_u64().unwrap_or(0),
            interactions: r["interactions"].as_u64().unwrap_or(0),
            rate_pct: 100.0 * r["rate"].as_f64().unwrap_or(0.0),
        })
        .collect()
}

struct Topics {
    chart: Svg,
    days: Vec<String>,
    /// Topic column and its count of calls per day of `days`.
    rows: Vec<(String, Vec<usize>)>,
}

/// Calls per complaint topic and day; `None` when no call has a topic.
fn topics(calls: &[Call]) -> Option<Topics> {
    let mut grid: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.ok) {
        for t in &c.topics {
            *grid.entry(t).or_default().entry(&c.day).or_default() += 1;
        }
    }
    if grid.is_empty() {
        return None;
    }
    let days: BTreeSet<&str> = grid.values().flat_map(|m| m.keys().copied()).collect();
    let totals: Vec<(String, f64)> = grid
        .iter()
        .map(|(t, m)| {
            (
                t.trim_start_matches("topic_").to_string(),
                m.values().sum::<usize>() as f64,
            )
        })
        .collect();
    Some(Topics {
        chart: bar_chart("calls per complaint topic", &totals),
        rows: grid
            .iter()
            .map(|(t, m)| {
                let counts = days.iter().map(|d| m.get(d).copied().unwrap_or(0));
                (t.to_string(), counts.collect())
            })
            .collect(),
        days: days.into_iter().map(str::to_string).collect(),
    })
}

struct Silence {
    chart: Svg,
    /// Non-talk share, pooled (`measures::non_talk_share_with_interval`), the calls it rests
    /// on and its 95% interval (`a–b`, or empty).
    non_talk_pct: Option<f64>,
    non_talk_n: usize,
    non_talk_interval: String,
}

fn silence(calls: &[Call]) -> Silence {
    let ok: Vec<&Call> = calls.iter().filter(|c| c.ok).collect();
    let buckets = [
        (0.0, 3.0),
        (3.0, 5.0),
        (5.0, 10.0),
        (10.0, 20.0),
        (20.0, 60.0),
        (60.0, f64::INFINITY),
    ];
    let hist: Vec<(String, f64)> = buckets
        .iter()
        .map(|(a, b)| {
            let n = ok
                .iter()
                .filter_map(|c| c.longest_silence_ms)
                .filter(|v| *v / 1000.0 >= *a && *v / 1000.0 < *b)
                .count();
            let label = if b.is_finite() {
                format!("{a}-{b} s")
            } else {
                format!("≥{a} s")
            };
            (label, n as f64)
        })
        .collect();
    let (non_talk_pct, non_talk_n, ci) = crate::downstream::measures::non_talk_share_with_interval(
        ok.iter().map(|c| (c.non_talk_time_ms, c.duration_ms)),
    );
    Silence {
        chart: bar_chart("calls by longest silence", &hist),
        non_talk_pct,
        non_talk_n,
        non_talk_interval: ci.map_or(String::new(), |(a, b)| format!("{a:.1}–{b:.1}%")),
    }
}

struct ChecklistItem {
    feature: String,
    on_checklist: bool,
    polarity: String,
    outcome: String,
    effect: String,
    n: String,
    verdict: String,
}

/// The checklist alignment of `score_report.json`.
fn checklist(v: &serde_json::Value) -> Vec<ChecklistItem> {
    let s = |c: &serde_json::Value, k: &str| c[k].as_str().unwrap_or("").to_string();
    v["checklist"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| ChecklistItem {
            feature: s(c, "feature"),
            on_checklist: c["on_checklist"].as_bool() == Some(true),
            polarity: s(c, "polarity"),
            outcome: s(c, "outcome"),
            effect: match (
                c["effect"].as_f64(),
                c["ci_low"].as_f64(),
                c["ci_high"].as_f64(),
            ) {
                (Some(e), Some(a), Some(b)) => format!("{e:+.1} [{a:+.1}, {b:+.1}]"),
                (Some(e), _, _) => format!("{e:+.1}"),
                _ => "—".into(),
            },
            n: match (c["n_with"].as_i64(), c["n_without"].as_i64()) {
                (Some(a), Some(b)) => format!("{a} with, {b} without"),
                _ => "—".into(),
            },
            verdict: s(c, "verdict"),
        })
        .collect()
}

/// The metrics shown per agent and period.
const CARD_METRICS: [&str; 6] = [
    "aht_ms",
    "non_talk_share_pct",
    "hold_time_ms",
    "complaint_rate_pct",
    "repeat_contact_rate_pct",
    "nps",
];

/// One metric of an agent-period: its value (or why there is none: "not enough answers"),
/// percentile (`pN`) and the count it rests on.
#[derive(Clone)]
struct CardCell {
    value: String,
    /// The 95% interval, `[lo–hi]`, or empty.
    interval: String,
    percentile: String,
    n: String,
}

struct CardRow {
    agent_id: String,
    period: String,
    queue: String,
    calls: String,
    /// One per [`CARD_METRICS`].
    cells: Vec<CardCell>,
}

struct Scorecards {
    metrics: [&'static str; 6],
    rows: Vec<CardRow>,
}

/// scorecard.parquet (one row per agent, period and metric) as one row per agent and period.
fn read_scorecards(cards: &Path) -> Result<Option<Scorecards>, ReportError> {
    let Some(t) = Rows::read(cards.join("scorecard.parquet"), "scorecard")? else {
        return Ok(None);
    };
    let c = |name: &str| t.column(name);
    let (agent, period, queue, calls) = (c("agent_id")?, c("period")?, c("queue")?, c("calls")?);
    let (metric, value, percentile, n) = (c("metric")?, c("value")?, c("percentile")?, c("n")?);
    let note = t.optional("note");
    let (ci_low, ci_high) = (t.optional("ci_low"), t.optional("ci_high"));
    let mut by: BTreeMap<(&str, &str), CardRow> = BTreeMap::new();
    for r in &t.rows {
        let (Some(a), Some(p)) = (agent.text(r), period.text(r)) else {
            continue;
        };
        let row = by.entry((a, p)).or_insert_with(|| CardRow {
            agent_id: a.into(),
            period: p.into(),
            queue: String::new(),
            calls: String::new(),
            cells: vec![
                CardCell {
                    value: "-".into(),
                    interval: String::new(),
                    percentile: String::new(),
                    n: String::new(),
                };
                CARD_METRICS.len()
            ],
        });
        row.queue = queue.text(r).unwrap_or_default().into();
        row.calls = calls.text(r).unwrap_or_default().into();
        if let Some(k) = CARD_METRICS.iter().position(|m| Some(*m) == metric.text(r)) {
            let withheld = note.text(r).filter(|n| n.starts_with("not enough"));
            row.cells[k] = CardCell {
                value: match (value.number(r), withheld) {
                    (Some(v), _) => format!("{v:.0}"),
                    (None, Some(why)) => why.split(" (").next().unwrap_or(why).into(),
                    (None, None) => "-".into(),
                },
                interval: match (ci_low.number(r), ci_high.number(r)) {
                    (Some(lo), Some(hi)) => format!("[{lo:.0}–{hi:.0}]"),
                    _ => String::new(),
                },
                percentile: percentile
                    .number(r)
                    .map_or(String::new(), |p| format!("p{p:.0}")),
                n: n.text(r).unwrap_or_default().into(),
            };
        }
    }
    Ok(Some(Scorecards {
        metrics: CARD_METRICS,
        rows: by.into_values().collect(),
    }))
}

/// A link to a QA review page.
struct QaLink {
    href: String,
    interaction_id: String,
    agent_id: String,
    reasons: String,
}

/// One link per sampled call of qa_sample.parquet, relative to the report's folder.
fn read_qa_links(qa: &Path, out_dir: &Path) -> Result<Option<Vec<QaLink>>, ReportError> {
    let Some(t) = Rows::read(qa.join("qa_sample.parquet"), "sample")? else {
        return Ok(None);
    };
    let (id, agent, page) = (
        t.column("interaction_id")?,
        t.column("agent_id")?,
        t.column("review_page")?,
    );
    let reasons = t.optional("reasons");
    let base = relative_link(qa, out_dir);
    let mut seen = BTreeSet::new();
    let mut links = Vec::new();
    for r in &t.rows {
        let (Some(i), Some(p)) = (id.text(r), page.text(r)) else {
            continue;
        };
        if !seen.insert(i) {
            continue;
        }
        links.push(QaLink {
            // the page name `sample` stored (sample::file_stem), never rebuilt here
            href: format!("{base}/{p}"),
            interaction_id: i.into(),
            agent_id: agent.text(r).unwrap_or_default().into(),
            reasons: reasons.text(r).unwrap_or_default().into(),
        });
    }
    Ok(Some(links))
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    volume: Volume,
    drivers: Option<Drivers>,
    answers: Vec<Answers>,
    topics: Option<Topics>,
    silence: Silence,
    checklist: Option<Vec<ChecklistItem>>,
    scorecards: Option<Scorecards>,
    qa: Option<Vec<QaLink>>,
    version: &'static str,
}

/// Build the HTML (reads the tables; writes nothing). Links to the QA pages are relative to
/// `out_dir`, the report's folder.
pub fn build(inp: &ReportInputs, out_dir: &Path) -> Result<String, ReportError> {
    let calls = read_calls(&inp.features)?;
    let drivers = match &inp.scores {
        Some(d) => read_drivers(d)?.map(|rows| drivers(&rows)),
        None => None,
    };
    let scorecards = match &inp.cards {
        Some(d) => read_scorecards(d)?,
        None => None,
    };
    let qa = match &inp.qa {
        Some(d) => read_qa_links(d, out_dir)?,
        None => None,
    };
    let report_json = inp.scores.as_deref().and_then(score_report);
    let page = ReportPage {
        volume: volume(&calls),
        drivers,
        answers: report_json.as_ref().map(answers).unwrap_or_default(),
        topics: topics(&calls),
        silence: silence(&calls),
        checklist: report_json.as_ref().map(checklist),
        scorecards,
        qa,
        version: env!("CARGO_PKG_VERSION"),
    };
    let mut html = page.render().map_err(ReportError::Render)?;
    html.push('\n');
    Ok(html)
}

/// `target` relative to `from` (both made absolute and canonical), with `..` where it lies
/// outside: a report links to nothing by absolute path, so that the folders moved or zipped
/// together still link. Absolute only where no relative path exists.
fn relative_link(target: &Path, from: &Path) -> String {
    let canon = |p: &Path| {
        std::fs::canonicalize(p)
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let (t, f) = (canon(target), canon(from));
    match pathdiff::diff_paths(&t, &f) {
        Some(rel) if rel.as_os_str().is_empty() => ".".into(),
        Some(rel) => rel.display().to_string(),
        None => t.display().to_string(),
    }
}

/// Check the inputs before anything is read: each folder exists and holds its command's
/// output, and `out` names a file, not a folder.
fn check_inputs(inp: &ReportInputs, out: &Path) -> Result<(), ReportError> {
    use crate::downstream::inputs::{FolderKind, check_folder};
    check_folder("--features", &inp.features, FolderKind::Dataset)?;
    let optional = [
        ("--scores", &inp.scores, FolderKind::Scores),
        ("--qa", &inp.qa, FolderKind::Sample),
        ("--cards", &inp.cards, FolderKind::Scorecard),
    ];
    for (option, dir, kind) in optional {
        if let Some(d) = dir {
            check_folder(option, d, kind)?;
        }
    }
    let trailing = out
        .as_os_str()
        .to_string_lossy()
        .ends_with(std::path::is_separator);
    if out.is_dir() || trailing {
        return Err(ReportError::OutIsFolder { path: out.into() });
    }
    Ok(())
}

/// Write the report file (atomically), after checking the inputs ([`check_inputs`]).
pub fn run(inp: &ReportInputs, out: &Path) -> Result<PathBuf, ReportError> {
    check_inputs(inp, out)?;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.into(),
        source,
    })?;
    let html = build(inp, dir)?;
    crate::fsutil::write_atomic(out, html.as_bytes()).map_err(|source| ReportError::Io {
        path: out.into(),
        source,
    })?;
    Ok(out.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::table::{Column, Table};

    const HOSTILE: &str = "\"><script>alert(1)</script>";
    /// HOSTILE as HTML text or a quoted attribute value.
    const ESCAPED: &str = "&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;";

    #[test]
    fn charts_are_svg_with_one_mark_per_value() {
        let b = bar_chart("t", &[("a".into(), 1.0), ("b".into(), 3.0)]);
        let b = b.as_str();
        assert_eq!(b.matches("<rect").count(), 2);
        assert!(b.starts_with("<svg") && b.ends_with("</svg>"));
        assert!(b.contains("<title>b: 3</title>"), "{b}");
        let f = forest_plot(
            "t",
            &[("x".into(), 1.0, 0.5, 1.5), ("y".into(), -2.0, -3.0, -1.0)],
        );
        let f = f.as_str();
        assert_eq!(f.matches("<circle").count(), 2);
        assert!(f.contains("x: +1.00 [0.50, 1.50]"));
        assert!(f.starts_with("<svg") && f.ends_with("</svg>"));
    }

    #[test]
    fn chart_titles_and_labels_are_escaped_when_the_svg_is_built() {
        let charts = [
            bar_chart(HOSTILE, &[(HOSTILE.into(), 1.0)]),
            forest_plot(HOSTILE, &[(HOSTILE.into(), 1.0, 0.5, 1.5)]),
        ];
        for svg in charts {
            let s = svg.as_str();
            assert!(!s.contains("<script") && !s.contains(HOSTILE), "{s}");
            assert!(s.contains(&format!("aria-label=\"{ESCAPED}\"")), "{s}");
            assert!(s.contains(&format!("<title>{ESCAPED}</title>")), "{s}");
            assert!(s.contains(&format!(">{ESCAPED}</text>")), "{s}");
        }
    }

    struct Qa(&'static str, Option<&'static str>, &'static str);
    struct Card(&'static str, &'static str);
    struct Drv(&'static str, &'static str);

    fn qa_table() -> Table<Qa> {
        Table::new(
            "qa_sample",
            vec![
                Column::str("interaction_id", false, |r: &Qa| Some(r.0)),
                Column::str("agent_id", true, |r: &Qa| r.1),
                Column::str("reasons", false, |r: &Qa| Some(r.0)),
                Column::str("review_page", false, |r: &Qa| Some(r.2)),
            ],
        )
    }

    /// A scorecard table with a metric column or without.
    fn card_table(with_metric: bool) -> Table<Card> {
        let mut cols = vec![
            Column::str("agent_id", false, |r: &Card| Some(r.0)),
            Column::str("period", false, |r: &Card| Some(r.0)),
            Column::str("queue", false, |r: &Card| Some(r.0)),
            Column::i64("calls", false, |_: &Card| Some(3)),
            Column::f64("value", true, |_: &Card| Some(42.0)),
            Column::i64("n", false, |_: &Card| Some(3)),
            Column::f64("percentile", true, |_: &Card| None),
        ];
        if with_metric {
            cols.push(Column::str("metric", false, |r: &Card| Some(r.1)));
        }
        Table::new("scorecard", cols)
    }

    fn drivers_table() -> Table<Drv> {
        Table::new(
            "drivers",
            vec![
                Column::str("survey_type", false, |r: &Drv| Some(r.0)),
                Column::str("outcome", false, |r: &Drv| Some(r.0)),
                Column::str("feature", false, |r: &Drv| Some(r.1)),
                Column::str("feature_type", false, |_: &Drv| Some("flag")),
                Column::f64("effect", true, |_: &Drv| Some(-3.0)),
                Column::f64("ci_low", true, |_: &Drv| Some(-4.0)),
                Column::f64("ci_high", true, |_: &Drv| Some(-2.0)),
                Column::bool("significant", false, |_: &Drv| Some(true)),
            ],
        )
    }

    #[test]
    fn hostile_table_values_come_out_inert_and_nulls_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let qa = [
            Qa(HOSTILE, Some(HOSTILE), HOSTILE),
            Qa("B-1", None, "review/B-1.html"),
        ];
        store::write_table(&d.join("qa_sample.parquet"), &qa_table(), &qa).unwrap();
        let cards = [Card(HOSTILE, "nps")];
        store::write_table(&d.join("scorecard.parquet"), &card_table(true), &cards).unwrap();
        let drivers = [Drv(HOSTILE, HOSTILE)];
        store::write_table(&d.join("drivers.parquet"), &drivers_table(), &drivers).unwrap();
        let inp = ReportInputs {
            features: d.join("no-features"),
            scores: Some(d.into()),
            qa: Some(d.into()),
            cards: Some(d.into()),
        };
        let html = build(&inp, d).unwrap();
        assert!(
            !html.contains("<script") && !html.contains(HOSTILE),
            "{html}"
        );
        // text: scorecard cells, the QA list, the drivers heading and chart labels
        assert!(html.contains(&format!("<tr><td>{ESCAPED}</td><td>{ESCAPED}</td>")));
        assert!(html.contains(&format!(">{ESCAPED}</a> — {ESCAPED} ({ESCAPED})</li>")));
        assert!(html.contains(&format!("<h3>{ESCAPED} / {ESCAPED}</h3>")));
        assert!(html.contains(&format!(">{ESCAPED} (n 0)</text>")));
        // attributes: the chart's label, the link (percent-encoded as a path)
        assert!(html.contains(&format!(
            "aria-label=\"{ESCAPED} {ESCAPED}: adjusted effect"
        )));
        assert!(html.contains("href=\"./%22%3E%3Cscript%3Ealert%281%29%3C/script%3E\""));
        // a null agent reads as absent
        assert!(
            html.contains("<a href=\"./review/B-1.html\">B-1</a> —  (B-1)</li>"),
            "{html}"
        );
    }

    #[test]
    fn a_missing_column_is_an_error_naming_the_file_and_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scorecard.parquet");
        store::write_table(&path, &card_table(false), &[Card("a", "nps")]).unwrap();
        let inp = ReportInputs {
            features: dir.path().join("no-features"),
            cards: Some(dir.path().into()),
            ..Default::default()
        };
        let e = build(&inp, dir.path()).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("missing column \"metric\" in {}", path.display()))
                && e.contains("\nhint: ")
                && e.contains("callsift scorecard"),
            "{e}"
        );
    }
}
