//! Score: relates the per-interaction features to real survey outcomes (NPS, CSAT, FCR) —
//! which behaviours and complaint topics move satisfaction, with bootstrap confidence
//! intervals and Benjamini–Hochberg q-values; a regularised model that predicts scores for
//! every call, surveyed or not; the QA checklist's alignment with outcomes; agents'
//! self-assessment gap; repeat contacts. Reads and writes through `output` (Parquet) and
//! `surveys`; the analysis itself is pure.

pub mod checklist;
pub mod model;
pub mod stats;
pub mod surveys;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::downstream::tables::{self, TableError, rows_of};
use crate::store::read::CallTable;
use crate::store::table::{Column, Table};
use crate::store::{self, StoreError};
use surveys::{Response, SurveyError, Surveys};

#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error(transparent)]
    Output(#[from] StoreError),
    #[error(transparent)]
    Folder(#[from] crate::downstream::inputs::FolderError),
    #[error(transparent)]
    Survey(#[from] SurveyError),
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no survey answer matches an interaction in {features} ({rows} survey rows, {unknown} with unknown ids)\nhint: survey ids must equal interaction_id (the manifest's call_id)"
    )]
    NoMatch {
        features: PathBuf,
        rows: usize,
        unknown: usize,
    },
    #[error("{features}: no successfully processed interactions to score")]
    NoFeatures { features: PathBuf },
    #[error("--repeat-days must be at least 1")]
    RepeatDays(i64),
}

/// Settings of a `score` run.
#[derive(Debug, Clone)]
pub struct ScoreSettings {
    pub features: PathBuf,
    pub surveys: PathBuf,
    pub self_scores: Option<PathBuf>,
    /// A manifest (call_id, customer_id, started_at, agent_id) that fills in or corrects
    /// those fields of the features, for repeat contacts and per-agent results.
    pub manifest: Option<PathBuf>,
    pub out: PathBuf,
    /// QA checklist: (feature column, weight); `None` = the behaviours, equally weighted.
    pub checklist: Option<Vec<(String, f64)>>,
    pub repeat_days: i64,
    pub bootstrap: usize,
    pub seed: u64,
    /// q-value below which an effect is reported as a driver.
    pub fdr: f64,
    /// Fewer calls than this in either group: no test.
    pub min_group: usize,
}

impl Default for ScoreSettings {
    fn default() -> Self {
        ScoreSettings {
            features: PathBuf::new(),
            surveys: PathBuf::new(),
            self_scores: None,
            manifest: None,
            out: PathBuf::new(),
            checklist: None,
            repeat_days: 7,
            bootstrap: 1000,
            seed: 1,
            fdr: 0.05,
            min_group: 5,
        }
    }
}

impl ScoreSettings {
    /// Check what can be checked before any file is read.
    pub fn validate(&self) -> Result<(), ScoreError> {
        if self.repeat_days < 1 {
            return Err(ScoreError::RepeatDays(self.repeat_days));
        }
        Ok(())
    }
}

/// One row of drivers.parquet.
#[derive(Debug, Clone, Serialize)]
pub struct DriverRow {
    pub survey_type: String,
    pub outcome: String,
    pub feature: String,
    /// `flag` (difference of means, with vs without) or `continuous` (Spearman).
    pub feature_type: &'static str,
    pub n_with: Option<i64>,
    pub n_without: Option<i64>,
    pub n: i64,
    pub prevalence: Option<f64>,
    pub mean_with: Option<f64>,
    pub mean_without: Option<f64>,
    pub effect: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub p_value: Option<f64>,
    pub q_value: Option<f64>,
    pub significant: bool,
    pub rank: Option<i32>,
}

/// One row of scores.parquet.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreRow {
    pub interaction_id: String,
    pub predicted_nps: Option<f64>,
    pub p_detractor: Option<f64>,
    pub p_promoter: Option<f64>,
    pub qa_score: Option<f64>,
    pub repeat_contact: Option<bool>,
    pub top_features: Vec<String>,
}

/// drivers.parquet, declared once.
pub fn drivers_table() -> Table<DriverRow> {
    type D = DriverRow;
    Table::new(
        "drivers",
        vec![
            Column::str("survey_type", false, |r: &D| Some(&r.survey_type)),
            Column::str("outcome", false, |r: &D| Some(&r.outcome)),
            Column::str("feature", false, |r: &D| Some(&r.feature)),
            Column::str("feature_type", false, |r: &D| Some(r.feature_type)),
            Column::i64("n_with", true, |r: &D| r.n_with),
            Column::i64("n_without", true, |r: &D| r.n_without),
            Column::i64("n", false, |r: &D| Some(r.n)),
            Column::f64("prevalence", true, |r: &D| r.prevalence),
            Column::f64("mean_with", true, |r: &D| r.mean_with),
            Column::f64("mean_without", true, |r: &D| r.mean_without),
            Column::f64("effect", true, |r: &D| r.effect),
            Column::f64("ci_low", true, |r: &D| r.ci_low),
            Column::f64("ci_high", true, |r: &D| r.ci_high),
            Column::f64("p_value", true, |r: &D| r.p_value),
            Column::f64("q_value", true, |r: &D| r.q_value),
            Column::bool("significant", false, |r: &D| Some(r.significant)),
            Column::i32("rank", true, |r: &D| r.rank),
        ],
    )
}

/// scores.parquet, declared once.
pub fn scores_table() -> Table<ScoreRow> {
    type S = ScoreRow;
    Table::new(
        "scores",
        vec![
            Column::str("interaction_id", false, |r: &S| Some(&r.interaction_id)),
            Column::f64("predicted_nps", true, |r: &S| r.predicted_nps),
            Column::f64("p_detractor", true, |r: &S| r.p_detractor),
            Column::f64("p_promoter", true, |r: &S| r.p_promoter),
            Column::f64("qa_score", true, |r: &S| r.qa_score),
            Column::bool("repeat_contact", true, |r: &S| r.repeat_contact),
            Column::str_list("top_features", |r: &S| &r.top_features),
        ],
    )
}

/// An outcome measure: each is the mean of a per-respondent value, so one test fits all.
struct Measure {
    name: &'static str,
    value: fn(&Response) -> Option<f64>,
}

const MEASURES: &[Measure] = &[
    Measure {
        name: "nps_mean",
        value: |r| r.nps,
    },
    Measure {
        // promoter +100, passive 0, detractor −100: its mean is the NPS of the group
        name: "nps_score",
        value: |r| {
            r.nps.map(|x| {
                if x >= 9.0 {
                    100.0
                } else if x <= 6.0 {
                    -100.0
                } else {
                    0.0
                }
            })
        },
    },
    Measure {
        name: "csat_mean",
        value: |r| r.csat,
    },
    Measure {
        name: "csat_top2_pct",
        value: |r| r.csat.map(|c| if c >= 4.0 { 100.0 } else { 0.0 }),
    },
    Measure {
        name: "fcr_pct",
        value: |r| r.fcr.map(|b| if b { 100.0 } else { 0.0 }),
    },
];

/// `repeat_contact` per interaction: the same customer calls again within `days` days.
/// `None` without customer id or start time.
pub fn repeat_contacts(t: &CallTable, days: i64) -> Vec<Option<bool>> {
    let mut by_customer: HashMap<&str, Vec<i64>> = HashMap::new();
    for i in 0..t.len() {
        if let (Some(c), Some(s)) = (&t.customer_id[i], t.started_at[i]) {
            by_customer.entry(c.as_str()).or_default().push(s);
        }
    }
    let window = days * 86_400_000;
    (0..t.len())
        .map(|i| {
            let (c, s) = (t.customer_id[i].as_deref()?, t.started_at[i]?);
            Some(by_customer[c].iter().any(|&o| o > s && o - s <= window))
        })
        .collect()
}

/// QA checklist score per call, 0–100: weighted share of the checklist items present among
/// those that could be judged. `None` when no item could be judged.
pub fn qa_scores(t: &CallTable, checklist: &[(String, f64)]) -> Vec<Option<f64>> {
    let cols: Vec<(&Vec<Option<bool>>, f64)> = checklist
        .iter()
        .filter_map(|(name, w)| {
            t.flags
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| (v, *w))
        })
        .collect();
    (0..t.len())
        .map(|i| {
            let (mut got, mut total) = (0.0, 0.0);
            for (v, w) in &cols {
                if let Some(b) = v[i] {
                    total += w;
                    if b {
                        got += w;
                    }
                }
            }
            (total > 0.0).then(|| 100.0 * got / total)
        })
        .collect()
}

/// The default checklist: every behaviour column, weight 1.
pub fn default_checklist(t: &CallTable) -> Vec<(String, f64)> {
    t.flags
        .iter()
        .filter(|(n, _)| n.starts_with("beh_"))
        .map(|(n, _)| (n.clone(), 1.0))
        .collect()
}

/// Driver rows for one outcome: every flag and continuous feature against `y` (per row of
/// the feature table, `None` = no answer), with q-values and ranks within the family.
pub fn drivers_for(
    t: &CallTable,
    survey_type: &str,
    outcome: &str,
    y: &[Option<f64>],
    s: &ScoreSettings,
    rng: &mut ChaCha8Rng,
) -> Vec<DriverRow> {
    let mut rows = Vec::new();
    let blank = |feature: &str, feature_type| DriverRow {
        survey_type: survey_type.into(),
        outcome: outcome.into(),
        feature: feature.into(),
        feature_type,
        n_with: None,
        n_without: None,
        n: 0,
        prevalence: None,
        mean_with: None,
        mean_without: None,
        effect: None,
        ci_low: None,
        ci_high: None,
        p_value: None,
        q_value: None,
        significant: false,
        rank: None,
    };
    for (name, v) in &t.flags {
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for i in 0..t.len() {
            if let (Some(f), Some(o)) = (v[i], y[i]) {
                if f { with.push(o) } else { without.push(o) }
            }
        }
        let mut r = blank(name, "flag");
        r.n_with = Some(with.len() as i64);
        r.n_without = Some(without.len() as i64);
        r.n = (with.len() + without.len()) as i64;
        if r.n > 0 {
            r.prevalence = Some(with.len() as f64 / r.n as f64);
        }
        r.mean_with = stats::mean(&with);
        r.mean_without = stats::mean(&without);
        r.effect = r.mean_with.zip(r.mean_without).map(|(a, b)| a - b);
        if with.len() >= s.min_group && without.len() >= s.min_group {
            r.p_value = stats::welch_p(&with, &without);
            if let Some((lo, hi)) = stats::bootstrap_diff_ci(&with, &without, s.bootstrap, rng) {
                r.ci_low = Some(lo);
                r.ci_high = Some(hi);
            }
        }
        rows.push(r);
    }
    for (name, v) in &t.numeric {
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for i in 0..t.len() {
            if let (Some(x), Some(o)) = (v[i], y[i]) {
                xs.push(x);
                ys.push(o);
            }
        }
        let mut r = blank(name, "continuous");
        r.n = xs.len() as i64;
        if xs.len() >= 2 * s.min_group {
            r.effect = stats::spearman(&xs, &ys);
            r.p_value = r.effect.and_then(|rho| stats::spearman_p(rho, xs.len()));
            if r.effect.is_some()
                && let Some((lo, hi)) = stats::bootstrap_spearman_ci(&xs, &ys, s.bootstrap, rng)
            {
                r.ci_low = Some(lo);
                r.ci_high = Some(hi);
            }
        }
        rows.push(r);
    }
    let q = stats::bh(&rows.iter().map(|r| r.p_value).collect::<Vec<_>>());
    for (r, q) in rows.iter_mut().zip(q) {
        r.q_value = q;
        // significant: q below the FDR and a bootstrap interval that excludes zero
        r.significant = q.is_some_and(|q| q < s.fdr)
            && r.ci_low
                .zip(r.ci_high)
                .is_some_and(|(lo, hi)| lo > 0.0 || hi < 0.0);
    }
    for ty in ["flag", "continuous"] {
        let mut sig: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].significant && rows[i].feature_type == ty)
            .collect();
        sig.sort_by(|&a, &b| {
            let e = |i: usize| rows[i].effect.map_or(0.0, f64::abs);
            e(b).total_cmp(&e(a))
        });
        for (k, i) in sig.into_iter().enumerate() {
            rows[i].rank = Some(k as i32 + 1);
        }
    }
    rows
}

/// Everything `score` computes, before it is written.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub interactions: usize,
    pub survey_rows: usize,
    pub survey_issues: Vec<IssueSummary>,
    /// How the survey file was read (e.g. separated by ';'), for the summary.
    pub survey_notes: Vec<String>,
    pub response_rate: BTreeMap<String, ResponseRate>,
    pub response_bias: Vec<BiasRow>,
    pub models: BTreeMap<String, model::Validation>,
    pub model_notes: Vec<String>,
    /// Standardised coefficients of the detractor and promoter models.
    pub coefficients: BTreeMap<String, BTreeMap<String, f64>>,
    pub checklist: Vec<ChecklistItem>,
    pub qa_score_correlation: Vec<DriverRow>,
    pub self_assessment: Option<SelfAssessment>,
    pub repeat_contact_rate: Option<f64>,
    pub fcr_derived_pct: Option<f64>,
    #[serde(skip)]
    pub drivers: Vec<DriverRow>,
    #[serde(skip)]
    pub scores: Vec<ScoreRow>,
}

#[derive(Debug, Serialize)]
pub struct IssueSummary {
    pub kind: String,
    pub count: usize,
    pub examples: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ResponseRate {
    pub responses: usize,
    pub interactions: usize,
    pub rate: f64,
}

/// How surveyed calls differ from unsurveyed ones on one feature.
#[derive(Debug, Serialize)]
pub struct BiasRow {
    pub feature: String,
    pub mean_surveyed: Option<f64>,
    pub mean_unsurveyed: Option<f64>,
    /// Difference in units of the pooled standard deviation.
    pub standardised_difference: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ChecklistItem {
    pub feature: String,
    pub weight: Option<f64>,
    pub on_checklist: bool,
    pub outcome: String,
    pub effect: Option<f64>,
    pub q_value: Option<f64>,
    pub significant: bool,
    /// `keep` (on the list, moves the outcome), `no measurable effect` (on the list, does
    /// not — a candidate to drop), `not enough data`, `matters, not on the checklist`.
    pub verdict: &'static str,
}

#[derive(Debug, Serialize)]
pub struct SelfAssessment {
    /// Both on the 1–5 scale: agent_self_score vs the customer's CSAT.
    pub per_agent: Vec<AgentGap>,
    /// Behaviours where the gap (self − customer) differs most between calls with and without.
    pub behaviours: Vec<BehaviourGap>,
}

#[derive(Debug, Serialize)]
pub struct AgentGap {
    pub agent_id: String,
    pub n: usize,
    pub mean_self: f64,
    pub mean_customer: f64,
    pub gap: f64,
}

#[derive(Debug, Serialize)]
pub struct BehaviourGap {
    pub feature: String,
    pub gap_with: Option<f64>,
    pub gap_without: Option<f64>,
    pub difference: Option<f64>,
}

/// Fill customer_id, started_at and agent_id from a manifest (by call_id / interaction_id).
fn apply_manifest(
    t: &mut CallTable,
    path: &Path,
    ids: &HashMap<String, usize>,
) -> Result<(), ScoreError> {
    let (header, rows) = rows_of(path)?;
    let col = |n: &str| header.iter().position(|h| h.trim() == n);
    let Some(idc) = col("call_id").or(col("interaction_id")) else {
        return Err(TableError::Read {
            path: path.into(),
            detail: "no call_id column\nhint: the manifest of `callsift run` has call_id,path,..."
                .into(),
        }
        .into());
    };
    for (k, r) in rows.iter().enumerate() {
        let field = |c: Option<usize>| {
            c.and_then(|c| r.get(c).cloned().flatten())
                .map(|v| v.trim().to_string())
        };
        let Some(&i) = field(Some(idc)).and_then(|id| ids.get(&id)) else {
            continue;
        };
        if let Some(c) = field(col("customer_id")) {
            t.customer_id[i] = Some(c);
        }
        if let Some(a) = field(col("agent_id")) {
            t.agent_id[i] = Some(a);
        }
        if let Some(ts) = field(col("started_at")) {
            t.started_at[i] = Some(crate::pipeline::input::parse_timestamp(&ts).ok_or_else(|| TableError::Line {
                path: path.into(),
                line: k + 2,
                detail: format!("started_at {ts:?} is not a date-time\nhint: use ISO 8601, e.g. 2026-11-20T09:14:03Z"),
            })?);
        }
    }
    Ok(())
}

/// Analyse a feature table against parsed surveys (pure; no I/O).
pub fn analyse(
    t: &mut CallTable,
    sv: &Surveys,
    self_scores: Option<&HashMap<usize, f64>>,
    s: &ScoreSettings,
) -> Report {
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let mut rep = Report {
        interactions: t.len(),
        survey_rows: sv.rows,
        survey_notes: sv.notes(),
        ..Default::default()
    };
    rep.survey_issues = sv
        .issue_summary()
        .into_iter()
        .map(|(k, n, ex)| IssueSummary {
            kind: k.into(),
            count: n,
            examples: ex,
        })
        .collect();
    // derived features: repeat contact and the QA checklist score
    let repeat = repeat_contacts(t, s.repeat_days);
    let repeat_name = format!("repeat_contact_{}d", s.repeat_days);
    let known: Vec<bool> = repeat.iter().flatten().copied().collect();
    if !known.is_empty() {
        let rate = known.iter().filter(|&&b| b).count() as f64 / known.len() as f64;
        rep.repeat_contact_rate = Some(rate);
        rep.fcr_derived_pct = Some(100.0 * (1.0 - rate));
    }
    let checklist = s.checklist.clone().unwrap_or_else(|| default_checklist(t));
    let qa = qa_scores(t, &checklist);
    t.flags.push((repeat_name.clone(), repeat.clone()));

    let by_type = answers_by_type(sv, t.len());
    for (ty, answers) in &by_type {
        let n = answers.iter().flatten().count();
        rep.response_rate.insert(
            ty.clone(),
            ResponseRate {
                responses: n,
                interactions: t.len(),
                rate: n as f64 / t.len().max(1) as f64,
            },
        );
    }
    rep.response_bias = response_bias(t, &by_type);

    // drivers for every survey type and measure
    t.numeric.push(("qa_score".into(), qa.clone()));
    for (ty, answers) in &by_type {
        for m in MEASURES {
            let y: Vec<Option<f64>> = answers.iter().map(|a| a.and_then(m.value)).collect();
            if y.iter().flatten().count() == 0 {
                continue;
            }
            rep.drivers
                .extend(drivers_for(t, ty, m.name, &y, s, &mut rng));
        }
    }
    // repeat contacts as an outcome for every call: which topics lead to a call back
    if !known.is_empty() {
        let y: Vec<Option<f64>> = repeat
            .iter()
            .map(|r| r.map(|b| if b { 100.0 } else { 0.0 }))
            .collect();
        let flags = std::mem::take(&mut t.flags);
        t.flags = flags
            .iter()
            .filter(|(n, _)| *n != repeat_name)
            .cloned()
            .collect();
        rep.drivers.extend(drivers_for(
            t,
            "derived",
            &format!("{repeat_name}_pct"),
            &y,
            s,
            &mut rng,
        ));
        t.flags = flags;
    }
    rep.qa_score_correlation = rep
        .drivers
        .iter()
        .filter(|d| d.feature == "qa_score")
        .cloned()
        .collect();
    rep.checklist = checklist_alignment(&rep.drivers, by_type.keys(), &checklist);
    rep.self_assessment = self_scores.map(|selfs| self_assessment(t, sv, selfs));
    let fitted = fit_models(t, &by_type, s, &mut rep);
    rep.scores = score_rows(t, &fitted, &qa, &repeat);
    rep
}

/// Survey answers by row of the read model, per survey type.
fn answers_by_type(sv: &Surveys, rows: usize) -> BTreeMap<String, Vec<Option<&Response>>> {
    let mut by_type: BTreeMap<String, Vec<Option<&Response>>> = BTreeMap::new();
    for (idx, r) in &sv.responses {
        by_type
            .entry(r.survey_type.clone())
            .or_insert_with(|| vec![None; rows])[*idx] = Some(r);
    }
    by_type
}

/// Response bias on every feature: surveyed calls (any type) against the others.
fn response_bias(
    t: &CallTable,
    by_type: &BTreeMap<String, Vec<Option<&Response>>>,
) -> Vec<BiasRow> {
    let mut out = Vec::new();
    let surveyed: Vec<bool> = (0..t.len())
        .map(|i| by_type.values().any(|a| a[i].is_some()))
        .collect();
    for (name, v) in
        t.numeric
            .iter()
            .map(|(n, v)| (n.clone(), v.clone()))
            .chain(t.flags.iter().map(|(n, v)| {
                (
                    n.clone(),
                    v.iter().map(|b| b.map(|b| b as u8 as f64)).collect(),
                )
            }))
    {
        let a: Vec<f64> = (0..t.len())
            .filter(|&i| surveyed[i])
            .filter_map(|i| v[i])
            .collect();
        let b: Vec<f64> = (0..t.len())
            .filter(|&i| !surveyed[i])
            .filter_map(|i| v[i])
            .collect();
        let all: Vec<f64> = a.iter().chain(&b).copied().collect();
        let sd = stats::mean(&all).map(|m| {
            (all.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (all.len().max(2) - 1) as f64)
                .sqrt()
        });
        let (ma, mb) = (stats::mean(&a), stats::mean(&b));
        out.push(BiasRow {
            feature: name,
            mean_surveyed: ma,
            mean_unsurveyed: mb,
            standardised_difference: ma
                .zip(mb)
                .zip(sd)
                .and_then(|((x, y), sd)| (sd > 0.0).then(|| (x - y) / sd)),
        });
    }
    out
}

/// Checklist alignment, on the primary outcome of each survey type: keep what moves it, flag
/// what matters but is not on the checklist.
fn checklist_alignment<'a>(
    drivers: &[DriverRow],
    survey_types: impl Iterator<Item = &'a String>,
    checklist: &[(String, f64)],
) -> Vec<ChecklistItem> {
    let mut out = Vec::new();
    for ty in survey_types {
        let primary = ["nps_score", "csat_top2_pct", "fcr_pct"]
            .into_iter()
            .find(|o| {
                drivers
                    .iter()
                    .any(|d| &d.survey_type == ty && d.outcome == *o)
            });
        let Some(outcome) = primary else { continue };
        for d in drivers
            .iter()
            .filter(|d| &d.survey_type == ty && d.outcome == outcome && d.feature_type == "flag")
        {
            let weight = checklist
                .iter()
                .find(|(n, _)| *n == d.feature)
                .map(|(_, w)| *w);
            let verdict = match (weight.is_some(), d.significant, d.p_value.is_some()) {
                (true, true, _) => "keep",
                (true, false, true) => "no measurable effect",
                (true, false, false) => "not enough data",
                (false, true, _) => "matters, not on the checklist",
                (false, false, _) => continue,
            };
            out.push(ChecklistItem {
                feature: d.feature.clone(),
                weight,
                on_checklist: weight.is_some(),
                outcome: format!("{ty}/{outcome}"),
                effect: d.effect,
                q_value: d.q_value,
                significant: d.significant,
                verdict,
            });
        }
    }
    out
}

/// Self-assessment gap: the agent's self score against the customer's CSAT (both 1-5), per
/// agent and per behaviour.
fn self_assessment(t: &CallTable, sv: &Surveys, selfs: &HashMap<usize, f64>) -> SelfAssessment {
    let csat: HashMap<usize, f64> = sv
        .responses
        .iter()
        .filter_map(|(i, r)| r.csat.map(|c| (*i, c)))
        .collect();
    let pairs: Vec<(usize, f64, f64)> = selfs
        .iter()
        .filter_map(|(i, s)| csat.get(i).map(|c| (*i, *s, *c)))
        .collect();
    let mut per: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (i, sf, c) in &pairs {
        let agent = t.agent_id[*i].clone().unwrap_or_else(|| "(unknown)".into());
        per.entry(agent).or_default().push((*sf, *c));
    }
    let per_agent = per
        .into_iter()
        .map(|(agent_id, v)| {
            let n = v.len() as f64;
            let ms = v.iter().map(|x| x.0).sum::<f64>() / n;
            let mc = v.iter().map(|x| x.1).sum::<f64>() / n;
            AgentGap {
                agent_id,
                n: v.len(),
                mean_self: ms,
                mean_customer: mc,
                gap: ms - mc,
            }
        })
        .collect();
    let mut behaviours: Vec<BehaviourGap> = t
        .flags
        .iter()
        .filter(|(n, _)| n.starts_with("beh_"))
        .map(|(n, v)| {
            let gaps = |want: bool| {
                let g: Vec<f64> = pairs
                    .iter()
                    .filter(|(i, _, _)| v[*i] == Some(want))
                    .map(|(_, s, c)| s - c)
                    .collect();
                stats::mean(&g)
            };
            let (w, wo) = (gaps(true), gaps(false));
            BehaviourGap {
                feature: n.clone(),
                gap_with: w,
                gap_without: wo,
                difference: w.zip(wo).map(|(a, b)| a - b),
            }
        })
        .collect();
    behaviours.sort_by(|a, b| {
        b.difference
            .map_or(0.0, f64::abs)
            .total_cmp(&a.difference.map_or(0.0, f64::abs))
    });
    SelfAssessment {
        per_agent,
        behaviours,
    }
}

/// The model: detractor and promoter on all features jointly, from NPS answers; coefficients,
/// cross-validation and notes go into `rep`. Returns the fitted models by outcome.
fn fit_models(
    t: &CallTable,
    by_type: &BTreeMap<String, Vec<Option<&Response>>>,
    s: &ScoreSettings,
    rep: &mut Report,
) -> BTreeMap<&'static str, model::Fitted> {
    let (names, x) = model_inputs(t);
    let nps: Vec<Option<f64>> = (0..t.len())
        .map(|i| by_type.values().find_map(|a| a[i].and_then(|r| r.nps)))
        .collect();
    let idx: Vec<usize> = (0..t.len()).filter(|&i| nps[i].is_some()).collect();
    let mut fitted: BTreeMap<&str, model::Fitted> = BTreeMap::new();
    if idx.len() < 2 * s.min_group {
        rep.model_notes.push(format!(
            "no model: {} NPS answers, at least {} needed",
            idx.len(),
            2 * s.min_group
        ));
    } else {
        let detractor: fn(f64) -> bool = |v| v <= 6.0;
        let promoter: fn(f64) -> bool = |v| v >= 9.0;
        for (outcome, test) in [("detractor", detractor), ("promoter", promoter)] {
            let y: Vec<bool> = nps.iter().map(|v| v.is_some_and(test)).collect();
            let fit = model::fit(outcome, &x, &y, &idx).and_then(|f| {
                model::cross_validate(outcome, &x, &y, &idx, 5, s.seed).map(|v| (f, v))
            });
            match fit {
                Ok((f, v)) => {
                    rep.coefficients.insert(
                        outcome.into(),
                        names
                            .iter()
                            .cloned()
                            .zip(f.coef.iter().copied())
                            .filter(|(_, c)| *c != 0.0)
                            .collect(),
                    );
                    rep.models.insert(outcome.into(), v);
                    fitted.insert(outcome, f);
                }
                Err(e) => rep.model_notes.push(e.to_string()),
            }
        }
    }
    fitted
}

/// Feature names and the feature matrix (flags as 0/1, then numeric features) of every row.
fn model_inputs(t: &CallTable) -> (Vec<String>, Vec<Vec<Option<f64>>>) {
    let names: Vec<String> = t
        .flags
        .iter()
        .map(|(n, _)| n.clone())
        .chain(t.numeric.iter().map(|(n, _)| n.clone()))
        .collect();
    let x: Vec<Vec<Option<f64>>> = (0..t.len())
        .map(|i| {
            t.flags
                .iter()
                .map(|(_, v)| v[i].map(|b| b as u8 as f64))
                .chain(t.numeric.iter().map(|(_, v)| v[i]))
                .collect()
        })
        .collect();
    (names, x)
}

/// One scores row per call: predicted NPS, the two probabilities, QA score, repeat contact and
/// the three features that push the detractor probability most.
fn score_rows(
    t: &CallTable,
    fitted: &BTreeMap<&'static str, model::Fitted>,
    qa: &[Option<f64>],
    repeat: &[Option<bool>],
) -> Vec<ScoreRow> {
    let (names, x) = model_inputs(t);
    (0..t.len())
        .map(|i| {
            let pd = fitted.get("detractor").map(|f| f.prob(&x[i]));
            let pp = fitted.get("promoter").map(|f| f.prob(&x[i]));
            let top_features = fitted
                .get("detractor")
                .map(|f| {
                    let c = f.contributions(&x[i]);
                    let mut order: Vec<usize> = (0..c.len()).filter(|&j| c[j] != 0.0).collect();
                    order.sort_by(|&a, &b| c[b].abs().total_cmp(&c[a].abs()));
                    order
                        .into_iter()
                        .take(3)
                        .map(|j| format!("{} {:+.2}", names[j], c[j]))
                        .collect()
                })
                .unwrap_or_default();
            ScoreRow {
                interaction_id: t.ids[i].clone(),
                predicted_nps: pd.zip(pp).map(|(d, p)| 100.0 * (p - d)),
                p_detractor: pd,
                p_promoter: pp,
                qa_score: qa[i],
                repeat_contact: repeat[i],
                top_features,
            }
        })
        .collect()
}

/// Run `score`: read, analyse, write drivers.parquet, scores.parquet and score_report.json.
pub fn run(s: &ScoreSettings) -> Result<(Report, Vec<PathBuf>), ScoreError> {
    use crate::downstream::inputs::{FolderKind, check_folder};
    check_folder("--features", &s.features, FolderKind::Dataset)?;
    let mut t = store::read::read_calls(&s.features)?;
    if t.is_empty() {
        return Err(ScoreError::NoFeatures {
            features: s.features.clone(),
        });
    }
    let ids = t.row_index();
    if let Some(m) = &s.manifest {
        apply_manifest(&mut t, m, &ids)?;
    }
    let sv = surveys::read(&s.surveys, &ids)?;
    if sv.responses.is_empty() {
        return Err(ScoreError::NoMatch {
            features: s.features.clone(),
            rows: sv.rows,
            unknown: sv.issues.iter().filter(|i| i.kind == "unknown id").count(),
        });
    }
    let selfs = match &s.self_scores {
        None => None,
        Some(p) => Some(tables::self_scores(p, &ids)?),
    };
    let rep = analyse(&mut t, &sv, selfs.as_ref(), s);
    std::fs::create_dir_all(&s.out).map_err(|source| ScoreError::Write {
        path: s.out.clone(),
        source,
    })?;
    let mut written = vec![
        store::write_table(
            &s.out.join("drivers.parquet"),
            &drivers_table(),
            &rep.drivers,
        )?,
        store::write_table(&s.out.join("scores.parquet"), &scores_table(), &rep.scores)?,
        tables::write_issues(&s.out, &sv.input_issues()).map_err(|source| ScoreError::Write {
            path: s.out.join(tables::ISSUES_FILE),
            source,
        })?,
    ];
    let json = s.out.join("score_report.json");
    let text = serde_json::to_string_pretty(&rep).unwrap_or_default();
    crate::fsutil::write_atomic(&json, text.as_bytes()).map_err(|source| ScoreError::Write {
        path: json.clone(),
        source,
    })?;
    written.push(json);
    Ok((rep, written))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> CallTable {
        let day = 86_400_000;
        CallTable {
            ids: ["a", "b", "c", "d", "e"].map(String::from).to_vec(),
            agent_id: ["x", "x", "y", "y", "y"]
                .map(|s| Some(s.to_string()))
                .to_vec(),
            customer_id: vec![
                Some("k1".into()),
                Some("k1".into()),
                Some("k1".into()),
                Some("k2".into()),
                None,
            ],
            started_at: vec![Some(0), Some(3 * day), Some(11 * day), Some(day), Some(day)],
            queue: vec![None; 5],
            contact_channel: vec![None; 5],
            flags: vec![
                (
                    "beh_empathy".into(),
                    vec![Some(true), Some(false), Some(true), Some(false), Some(true)],
                ),
                (
                    "beh_greeting".into(),
                    vec![Some(true), Some(true), None, Some(false), Some(true)],
                ),
            ],
            numeric: Vec::new(),
        }
    }

    #[test]
    fn repeat_contacts_by_hand() {
        // k1 calls on day 0, 3 and 11: the day-0 call is followed within 7 days, the day-3
        // one only after 8; k2 calls once; e has no customer id
        assert_eq!(
            repeat_contacts(&table(), 7),
            vec![Some(true), Some(false), Some(false), Some(false), None]
        );
        assert_eq!(repeat_contacts(&table(), 8)[1], Some(true));
    }

    #[test]
    fn qa_score_weights_the_judgeable_items() {
        let t = table();
        let q = qa_scores(
            &t,
            &[("beh_empathy".into(), 3.0), ("beh_greeting".into(), 1.0)],
        );
        assert_eq!(
            q,
            vec![Some(100.0), Some(25.0), Some(100.0), Some(0.0), Some(100.0)]
        );
        assert_eq!(default_checklist(&t).len(), 2);
    }

    #[test]
    fn self_assessment_gap_per_agent_and_behaviour() {
        let mut t = table();
        let ids = t.row_index();
        let header = vec!["interaction_id".to_string(), "csat".to_string()];
        let rows: Vec<Vec<Option<String>>> = [("a", "5"), ("b", "2"), ("c", "4"), ("d", "1")]
            .iter()
            .map(|(i, c)| vec![Some(i.to_string()), Some(c.to_string())])
            .collect();
        let sv = surveys::parse("s.csv", &header, &rows, &ids).unwrap();
        // agents rate themselves 5 everywhere
        let selfs: HashMap<usize, f64> = (0..4).map(|i| (i, 5.0)).collect();
        let rep = analyse(&mut t, &sv, Some(&selfs), &ScoreSettings::default());
        let sa = rep.self_assessment.unwrap();
        let gap = |a: &str| sa.per_agent.iter().find(|g| g.agent_id == a).unwrap().gap;
        assert_eq!(gap("x"), 5.0 - 3.5); // a: 5, b: 2
        assert_eq!(gap("y"), 5.0 - 2.5); // c: 4, d: 1
        // with empathy (a, c) customers gave 4.5, without (b, d) 1.5: gap 0.5 vs 3.5
        let emp = sa
            .behaviours
            .iter()
            .find(|b| b.feature == "beh_empathy")
            .unwrap();
        assert_eq!(
            (emp.gap_with, emp.gap_without, emp.difference),
            (Some(0.5), Some(3.5), Some(-3.0))
        );
        // too few answers: no model, a note instead
        assert!(rep.models.is_empty() && !rep.model_notes.is_empty());
    }
}
