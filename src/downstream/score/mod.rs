//! Score: relates the per-interaction features to real survey outcomes (NPS, CSAT, FCR) —
//! which behaviours and complaint topics move satisfaction, with bootstrap confidence
//! intervals and Benjamini–Hochberg q-values; a regularised model that predicts scores for
//! every call, surveyed or not; the QA checklist's alignment with outcomes; agents'
//! self-assessment gap; repeat contacts. Reads and writes through `output` (Parquet) and
//! `surveys`; the analysis itself is pure.

pub mod adjusted;
pub mod checklist;
pub mod model;
pub mod reviewed;
pub mod stats;
pub mod surveys;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::analyze::rules::{Polarity, RuleSet};
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
    #[error(transparent)]
    Checklist(#[from] checklist::ChecklistError),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no survey answer matches an interaction in {features} ({rows} survey rows, {unknown} with unknown ids; every row is listed in {issues})\nhint: survey ids must equal interaction_id (the manifest's call_id)"
    )]
    NoMatch {
        features: PathBuf,
        rows: usize,
        unknown: usize,
        issues: PathBuf,
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
    /// QA checklist file (`item,weight,polarity`); `None` = the behaviours, equally weighted,
    /// with the built-in pack's polarity.
    pub checklist: Option<PathBuf>,
    pub repeat_days: i64,
    pub bootstrap: usize,
    pub seed: u64,
    /// Familywise level: an adjusted effect whose Holm p-value is below it is a driver.
    pub alpha: f64,
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
            alpha: 0.05,
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
    /// `flag` (difference of means, with vs without), `continuous` (Spearman) or `threshold`
    /// (difference of means above vs below `threshold`, the cut chosen out of fold).
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
    /// `threshold` rows: the cut, in the feature's units (the row compares calls above it
    /// with the others).
    pub threshold: Option<f64>,
    /// The effect with every other tested feature held fixed: outcome points with vs without
    /// (flags, thresholds) or per standard deviation (continuous).
    pub adjusted_effect: Option<f64>,
    pub adjusted_ci_low: Option<f64>,
    pub adjusted_ci_high: Option<f64>,
    pub adjusted_p_value: Option<f64>,
    /// Holm's familywise adjustment of the adjusted p-values within the survey type and
    /// outcome: what decides a driver.
    pub adjusted_p_holm: Option<f64>,
    /// `driver`, `no effect found`, or `not tested: …` with the reason (what it needs).
    pub verdict: String,
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
            Column::f64("threshold", true, |r: &D| r.threshold),
            Column::f64("adjusted_effect", true, |r: &D| r.adjusted_effect),
            Column::f64("adjusted_ci_low", true, |r: &D| r.adjusted_ci_low),
            Column::f64("adjusted_ci_high", true, |r: &D| r.adjusted_ci_high),
            Column::f64("adjusted_p_value", true, |r: &D| r.adjusted_p_value),
            Column::f64("adjusted_p_holm", true, |r: &D| r.adjusted_p_holm),
            Column::str("verdict", false, |r: &D| Some(&r.verdict)),
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

/// QA checklist score per call, 0–100: the weighted share of the points earned among the
/// items that could be judged (a positive item earns its weight when present, a negative one
/// when absent). `None` when no item could be judged (every item's column unknown for the call).
pub fn qa_scores(t: &CallTable, checklist: &[checklist::Item]) -> Vec<Option<f64>> {
    let cols: Vec<(&Vec<Option<bool>>, &checklist::Item)> = checklist
        .iter()
        .filter_map(|it| {
            t.flags
                .iter()
                .find(|(n, _)| *n == it.item)
                .map(|(_, v)| (v, it))
        })
        .collect();
    (0..t.len())
        .map(|i| {
            let (mut got, mut total) = (0.0, 0.0);
            for (v, it) in &cols {
                if let Some(present) = v[i] {
                    total += it.weight;
                    if present == (it.polarity == Polarity::Positive) {
                        got += it.weight;
                    }
                }
            }
            (total > 0.0).then(|| 100.0 * got / total)
        })
        .collect()
}

/// The flag columns of the read model, by name.
pub fn flag_columns(t: &CallTable) -> Vec<&str> {
    t.flags.iter().map(|(n, _)| n.as_str()).collect()
}

/// Driver rows for one outcome: every flag and continuous feature against `y` (per row of
/// the feature table, `None` = no answer): the raw comparison (difference of means with a
/// bootstrap interval, or Spearman's rho), a threshold row for each continuous feature, and
/// the effect adjusted for every other feature ([`adjusted`]); q-values within the family,
/// verdicts and ranks by the adjusted effect.
pub fn drivers_for(
    t: &CallTable,
    survey_type: &str,
    outcome: &str,
    y: &[Option<f64>],
    s: &ScoreSettings,
    rng: &mut ChaCha8Rng,
) -> Vec<DriverRow> {
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
        threshold: None,
        adjusted_effect: None,
        adjusted_ci_low: None,
        adjusted_ci_high: None,
        adjusted_p_value: None,
        adjusted_p_holm: None,
        verdict: String::new(),
    };
    // each row, and the column it brings into the adjusted model (`None`: not in the model)
    let mut rows: Vec<(DriverRow, Option<Vec<Option<f64>>>)> = Vec::new();
    for (name, v) in &t.flags {
        let x: Vec<Option<f64>> = v.iter().map(|b| b.map(|b| b as u8 as f64)).collect();
        let mut r = blank(name, "flag");
        let testable = compare_groups(&mut r, &x, y, s, rng);
        rows.push((r, testable.then_some(x)));
    }
    for (name, v) in &t.numeric {
        let mut r = blank(name, "continuous");
        let testable = correlate(&mut r, v, y, s, rng);
        // the QA score is made of the checklist flags: tested raw, not in the joint model
        let in_model = testable && name != "qa_score";
        rows.push((r, in_model.then(|| per_sd(v, y))));
        if !in_model {
            continue;
        }
        if let Some((ind, cut)) = adjusted::threshold_indicator(v, y, s.min_group, rng) {
            let mut r = blank(name, "threshold");
            r.threshold = Some(cut);
            let testable = compare_groups(&mut r, &ind, y, s, rng);
            rows.push((r, testable.then_some(ind)));
        }
    }
    drop_collinear(&mut rows);
    adjust(&mut rows, y);
    let mut rows: Vec<DriverRow> = rows.into_iter().map(|(r, _)| r).collect();
    decide(&mut rows, s.alpha);
    rows
}

/// The raw comparison of a 0/1 column: means with and without, difference, Welch p and a
/// bootstrap interval when both groups have `min_group` answers. Returns whether it could be
/// tested; otherwise the row's verdict says why not.
fn compare_groups(
    r: &mut DriverRow,
    x: &[Option<f64>],
    y: &[Option<f64>],
    s: &ScoreSettings,
    rng: &mut ChaCha8Rng,
) -> bool {
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for (f, o) in x.iter().zip(y) {
        if let (Some(f), Some(o)) = (f, o) {
            if *f > 0.5 {
                with.push(*o)
            } else {
                without.push(*o)
            }
        }
    }
    r.n_with = Some(with.len() as i64);
    r.n_without = Some(without.len() as i64);
    r.n = (with.len() + without.len()) as i64;
    if r.n > 0 {
        r.prevalence = Some(with.len() as f64 / r.n as f64);
    }
    r.mean_with = stats::mean(&with);
    r.mean_without = stats::mean(&without);
    if with.len() < s.min_group || without.len() < s.min_group {
        r.verdict = format!(
            "not tested: needs {m} answers with and {m} without, has {} and {}",
            with.len(),
            without.len(),
            m = s.min_group
        );
        return false;
    }
    r.effect = r.mean_with.zip(r.mean_without).map(|(a, b)| a - b);
    r.p_value = stats::welch_p(&with, &without);
    if let Some((lo, hi)) = stats::bootstrap_diff_ci(&with, &without, s.bootstrap, rng) {
        r.ci_low = Some(lo);
        r.ci_high = Some(hi);
    }
    true
}

/// The raw rank correlation of a continuous feature with the outcome, with a bootstrap
/// interval, when `2 × min_group` answers have a value and it varies. Returns whether it could
/// be tested; otherwise the row's verdict says why not.
fn correlate(
    r: &mut DriverRow,
    v: &[Option<f64>],
    y: &[Option<f64>],
    s: &ScoreSettings,
    rng: &mut ChaCha8Rng,
) -> bool {
    let (xs, ys): (Vec<f64>, Vec<f64>) = v
        .iter()
        .zip(y)
        .filter_map(|(x, o)| Some(((*x)?, (*o)?)))
        .unzip();
    r.n = xs.len() as i64;
    if xs.len() < 2 * s.min_group {
        r.verdict = format!(
            "not tested: needs {} answers with a value, has {}",
            2 * s.min_group,
            xs.len()
        );
        return false;
    }
    r.effect = stats::spearman(&xs, &ys);
    let Some(rho) = r.effect else {
        r.verdict = "not tested: the same value in every answered call".into();
        return false;
    };
    r.p_value = stats::spearman_p(rho, xs.len());
    if let Some((lo, hi)) = stats::bootstrap_spearman_ci(&xs, &ys, s.bootstrap, rng) {
        r.ci_low = Some(lo);
        r.ci_high = Some(hi);
    }
    true
}

/// A continuous column in units of its standard deviation among the answered calls, so that
/// its adjusted effect reads as outcome points per sd.
fn per_sd(v: &[Option<f64>], y: &[Option<f64>]) -> Vec<Option<f64>> {
    let known: Vec<f64> = v.iter().zip(y).filter_map(|(x, o)| o.and(*x)).collect();
    let m = stats::mean(&known).unwrap_or(0.0);
    let sd = (known.iter().map(|x| (x - m).powi(2)).sum::<f64>() / known.len().max(1) as f64)
        .sqrt()
        .max(1e-12);
    v.iter().map(|x| x.map(|x| x / sd)).collect()
}

/// A model column that moves with an earlier one (|r| ≥ [`adjusted::COLLINEAR`]) leaves the
/// model: the two cannot be told apart, and the later one's verdict names the earlier.
fn drop_collinear(rows: &mut [(DriverRow, Option<Vec<Option<f64>>>)]) {
    for j in 0..rows.len() {
        let Some(col) = &rows[j].1 else { continue };
        let twin = (0..j).find_map(|i| {
            let other = rows[i].1.as_ref()?;
            let r = adjusted::correlation(col, other)?;
            let twin = &rows[i].0;
            (r.abs() >= adjusted::COLLINEAR).then(|| (twin.feature.clone(), twin.threshold, r))
        });
        if let Some((feature, threshold, r)) = twin {
            rows[j].0.verdict = format!(
                "not tested: moves with {feature}{} (r = {r:.2})",
                threshold.map_or(String::new(), |c| format!(" > {c}"))
            );
            rows[j].1 = None;
        }
    }
}

/// Fit the adjusted models over the answered calls and put each estimate on its row; when they
/// cannot be fitted, every model row's verdict says why. A continuous feature's straight-line
/// and threshold forms share its effect, so each form is read from a model holding the flags
/// and the other features in the same form; the flags from the model holding everything.
fn adjust(rows: &mut [(DriverRow, Option<Vec<Option<f64>>>)], y: &[Option<f64>]) {
    let answered: Vec<usize> = (0..y.len()).filter(|&i| y[i].is_some()).collect();
    let yy: Vec<f64> = answered.iter().filter_map(|&i| y[i]).collect();
    let in_model: Vec<usize> = (0..rows.len()).filter(|&k| rows[k].1.is_some()).collect();
    let fit_on = |rows: &[(DriverRow, Option<Vec<Option<f64>>>)], members: &[usize]| {
        let x: Vec<Vec<Option<f64>>> = members
            .iter()
            .map(|&k| {
                let col = rows[k].1.as_ref().expect("in the model");
                answered.iter().map(|&i| col[i]).collect()
            })
            .collect();
        adjusted::fit(&x, &yy)
    };
    let all = match fit_on(rows, &in_model) {
        Ok(est) => est,
        Err(why) => {
            for &k in &in_model {
                rows[k].0.verdict = why.reason();
            }
            return;
        }
    };
    let form = |ty: &str| -> Vec<usize> {
        in_model
            .iter()
            .copied()
            .filter(|&k| rows[k].0.feature_type == "flag" || rows[k].0.feature_type == ty)
            .collect()
    };
    let mut estimates = vec![(all, in_model.clone(), "flag")];
    for ty in ["continuous", "threshold"] {
        let members = form(ty);
        if let Ok(est) = fit_on(rows, &members) {
            estimates.push((est, members, ty));
        }
    }
    for (est, members, ty) in estimates {
        for (&k, e) in members.iter().zip(est) {
            let r = &mut rows[k].0;
            if r.feature_type != ty {
                continue;
            }
            match e {
                Some(e) => {
                    r.adjusted_effect = Some(e.effect);
                    r.adjusted_ci_low = Some(e.ci_low);
                    r.adjusted_ci_high = Some(e.ci_high);
                    r.adjusted_p_value = e.p_value;
                }
                None => r.verdict = "not tested: the same value in every answered call".into(),
            }
        }
    }
}

/// Why features were not tested, grouped by what they need (not by what each has), commonest
/// first: `("not tested: needs 5 answers with and 5 without", 9)`.
pub fn not_tested_reasons<'a>(verdicts: impl Iterator<Item = &'a str>) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for v in verdicts.filter(|v| v.starts_with("not tested")) {
        let need = v.split(", has").next().unwrap_or(v);
        match out.iter_mut().find(|(w, _)| w == need) {
            Some((_, n)) => *n += 1,
            None => out.push((need.to_string(), 1)),
        }
    }
    out.sort_by_key(|w| std::cmp::Reverse(w.1));
    out
}

/// q-values of the raw comparisons (Benjamini–Hochberg within the family), Holm-adjusted
/// p-values of the adjusted effects, verdicts and ranks. A driver is a feature whose adjusted
/// effect has a Holm p below `alpha` and an interval that excludes zero: familywise,
/// so that a list of drivers holds no feature without an effect in 95% of families, not only
/// few of them. The QA score, built from the flags, is judged on its raw correlation. Ranks
/// order the drivers by the size of the adjusted effect.
fn decide(rows: &mut [DriverRow], alpha: f64) {
    let excludes_zero =
        |lo: Option<f64>, hi: Option<f64>| lo.zip(hi).is_some_and(|(lo, hi)| lo > 0.0 || hi < 0.0);
    let q = stats::bh(&rows.iter().map(|r| r.p_value).collect::<Vec<_>>());
    let holm = stats::holm(&rows.iter().map(|r| r.adjusted_p_value).collect::<Vec<_>>());
    for ((r, q), h) in rows.iter_mut().zip(q).zip(holm) {
        r.q_value = q;
        r.adjusted_p_holm = h;
        if !r.verdict.is_empty() {
            continue;
        }
        r.significant = if r.feature == "qa_score" {
            q.is_some_and(|q| q < alpha) && excludes_zero(r.ci_low, r.ci_high)
        } else {
            h.is_some_and(|h| h < alpha) && excludes_zero(r.adjusted_ci_low, r.adjusted_ci_high)
        };
        r.verdict = if r.significant {
            "driver"
        } else {
            "no effect found"
        }
        .into();
    }
    let mut sig: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].significant && rows[i].adjusted_effect.is_some())
        .collect();
    sig.sort_by(|&a, &b| {
        let e = |i: usize| rows[i].adjusted_effect.map_or(0.0, f64::abs);
        e(b).total_cmp(&e(a))
    });
    for (k, i) in sig.into_iter().enumerate() {
        rows[i].rank = Some(k as i32 + 1);
    }
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
    /// The reviewers' verdicts (the dataset's reviews/) beside flags, self-scores and answers;
    /// `None` when no review was submitted.
    pub reviewed: Option<reviewed::ReviewedSummary>,
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
    /// Calls with a value on each side.
    pub n_surveyed: usize,
    pub n_unsurveyed: usize,
    /// Difference in units of the pooled standard deviation; `None` with fewer than the
    /// minimum group size on either side.
    pub standardised_difference: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ChecklistItem {
    pub feature: String,
    pub weight: Option<f64>,
    pub polarity: Option<Polarity>,
    pub on_checklist: bool,
    pub outcome: String,
    /// Answers with and without the behaviour.
    pub n_with: Option<i64>,
    pub n_without: Option<i64>,
    /// The adjusted effect on the outcome and its interval; `None` when not tested.
    pub effect: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Holm-adjusted p-value of the adjusted effect.
    pub p_holm: Option<f64>,
    pub significant: bool,
    /// `keep` (on the list, moves the outcome the way its polarity says), `reverse: …` (moves
    /// it the other way), `no measurable effect` (tested, a candidate to drop), `not tested: …`
    /// (what it needs), `matters, not on the checklist`.
    pub verdict: String,
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
    checklist: &[checklist::Item],
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
    let qa = qa_scores(t, checklist);
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
    rep.response_bias = response_bias(t, &by_type, s.min_group);

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
    rep.checklist = checklist_alignment(&rep.drivers, by_type.keys(), checklist);
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
    min_group: usize,
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
        let enough = a.len() >= min_group && b.len() >= min_group;
        out.push(BiasRow {
            feature: name,
            mean_surveyed: ma,
            mean_unsurveyed: mb,
            n_surveyed: a.len(),
            n_unsurveyed: b.len(),
            standardised_difference: ma
                .zip(mb)
                .zip(sd)
                .filter(|_| enough)
                .and_then(|((x, y), sd)| (sd > 0.0).then(|| (x - y) / sd)),
        });
    }
    out
}

/// Checklist alignment, on the primary outcome of each survey type: keep what moves it the
/// way its polarity says, flag what moves it the other way and what matters but is not on the
/// checklist; an item that could not be tested says what it needs.
fn checklist_alignment<'a>(
    drivers: &[DriverRow],
    survey_types: impl Iterator<Item = &'a String>,
    checklist: &[checklist::Item],
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
            let item = checklist.iter().find(|it| it.item == d.feature);
            let verdict = match (item, d.significant) {
                (Some(it), true) => {
                    let up = d.adjusted_effect.unwrap_or(0.0) > 0.0;
                    if up == (it.polarity == Polarity::Positive) {
                        "keep".to_string()
                    } else {
                        "reverse: moves the outcome against its polarity".to_string()
                    }
                }
                (Some(_), false) if d.verdict == "no effect found" => {
                    "no measurable effect".to_string()
                }
                (Some(_), false) => d.verdict.clone(),
                (None, true) => "matters, not on the checklist".to_string(),
                (None, false) => continue,
            };
            out.push(ChecklistItem {
                feature: d.feature.clone(),
                weight: item.map(|it| it.weight),
                polarity: item.map(|it| it.polarity),
                on_checklist: item.is_some(),
                outcome: format!("{ty}/{outcome}"),
                n_with: d.n_with,
                n_without: d.n_without,
                effect: d.adjusted_effect,
                ci_low: d.adjusted_ci_low,
                ci_high: d.adjusted_ci_high,
                p_holm: d.adjusted_p_holm,
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

/// The checklist of a run: the file's items checked against the dataset's flag columns, or the
/// default (every behaviour, the built-in pack's polarity).
pub fn checklist_items(
    t: &CallTable,
    file: Option<&Path>,
) -> Result<Vec<checklist::Item>, checklist::ChecklistError> {
    let (cols, pack) = (flag_columns(t), RuleSet::builtin());
    match file {
        Some(p) => checklist::resolve(checklist::read(p)?, &cols, &pack),
        None => Ok(checklist::default_items(&cols, &pack)),
    }
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
    std::fs::create_dir_all(&s.out).map_err(|source| ScoreError::Write {
        path: s.out.clone(),
        source,
    })?;
    // every bad row is listed even when none is usable: that file says why
    let issues =
        tables::write_issues(&s.out, &sv.input_issues()).map_err(|source| ScoreError::Write {
            path: s.out.join(tables::ISSUES_FILE),
            source,
        })?;
    if sv.responses.is_empty() {
        return Err(ScoreError::NoMatch {
            features: s.features.clone(),
            rows: sv.rows,
            unknown: sv.issues.iter().filter(|i| i.kind == "unknown id").count(),
            issues,
        });
    }
    let selfs = match &s.self_scores {
        None => None,
        Some(p) => Some(tables::self_scores(p, &ids)?),
    };
    let items = checklist_items(&t, s.checklist.as_deref())?;
    let mut rep = analyse(&mut t, &sv, &items, selfs.as_ref(), s);
    let mut written = vec![
        store::write_table(
            &s.out.join("drivers.parquet"),
            &drivers_table(),
            &rep.drivers,
        )?,
        store::write_table(&s.out.join("scores.parquet"), &scores_table(), &rep.scores)?,
        issues,
    ];
    let saved = store::reviews::read_all(&s.features)?;
    if !saved.is_empty() {
        let rows = reviewed::verdict_rows(&t, &sv, selfs.as_ref(), &saved);
        let path = s.out.join("review_verdicts.parquet");
        written.push(store::write_table(
            &path,
            &reviewed::verdicts_table(),
            &rows,
        )?);
        rep.reviewed = Some(reviewed::summarise(&rows));
    }
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
        let item = |n: &str, weight, polarity| checklist::Item {
            item: n.into(),
            weight,
            polarity,
            origin: None,
        };
        let q = qa_scores(
            &t,
            &[
                item("beh_empathy", 3.0, Polarity::Positive),
                item("beh_greeting", 1.0, Polarity::Positive),
            ],
        );
        assert_eq!(
            q,
            vec![Some(100.0), Some(25.0), Some(100.0), Some(0.0), Some(100.0)]
        );
        // a behaviour to avoid earns its points when absent; scores stay within 0-100
        let q = qa_scores(
            &t,
            &[
                item("beh_empathy", 3.0, Polarity::Positive),
                item("beh_greeting", 1.0, Polarity::Negative),
            ],
        );
        assert_eq!(
            q,
            vec![Some(75.0), Some(0.0), Some(100.0), Some(25.0), Some(75.0)]
        );
        assert_eq!(checklist_items(&t, None).unwrap().len(), 2);
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
        let items = checklist_items(&t, None).unwrap();
        let rep = analyse(&mut t, &sv, &items, Some(&selfs), &ScoreSettings::default());
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
