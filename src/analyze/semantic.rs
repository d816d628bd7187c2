//! The semantic layer: a category also fires on a turn that a small classifier, reading the
//! turn's sentence embedding (all-MiniLM-L6-v2, computed by `crate::embed`), scores at or above
//! the category's calibrated threshold — within the category's role, window and `not` phrases,
//! like its phrases. Each category's classifier (a [`Head`]: L2-regularised logistic regression
//! on the embedding) is fitted on labelled transcripts by `callsift rules calibrate`
//! ([`calibrate`]), its threshold chosen out of fold so that the layer alone keeps the precision
//! asked for, and stored with the pack (`rules/builtin.semantic.json` for the built-in one).
//! Pure: embeddings are given.

use std::collections::BTreeSet;

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::rules::words::Layer;
use super::rules::{Hit, RuleSet};
use crate::conversation::Turn;

/// Dimensions of an all-MiniLM-L6-v2 sentence embedding.
pub const DIM: usize = 384;

/// The heads calibrated for the built-in pack (`callsift rules calibrate`).
pub const BUILTIN_HEADS: &str = include_str!("../../rules/builtin.semantic.json");

/// Turns one sentence-embedding model turns texts into unit vectors of [`DIM`] numbers.
pub trait Embed: Sync {
    /// One embedding per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String>;
    /// The model's name and the checksum of its weights, recorded with calibrated heads.
    fn model_id(&self) -> &str;
}

/// One category's classifier.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Head {
    pub category: String,
    pub weights: Vec<f32>,
    pub bias: f32,
    /// A turn counts when its probability is at least this.
    pub threshold: f32,
    /// Out-of-fold precision and recall of the layer alone on the calibration set, per item.
    pub cv_precision: f32,
    pub cv_recall: f32,
    /// Calibration items labelled with the category.
    pub positives: usize,
}

impl Head {
    /// The probability that a turn with embedding `e` expresses the category.
    pub fn probability(&self, e: &[f32]) -> f32 {
        let z: f32 = self.bias + self.weights.iter().zip(e).map(|(w, x)| w * x).sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }
}

/// A pack's calibrated heads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Heads {
    /// The embedding model they read ([`Embed::model_id`]).
    pub model: String,
    /// The labelled sets they were fitted on.
    pub calibrated_on: Vec<String>,
    /// The out-of-fold precision each threshold was chosen to keep.
    pub min_precision: f32,
    pub l2: f32,
    pub heads: Vec<Head>,
}

impl Heads {
    pub fn builtin() -> Heads {
        serde_json::from_str(BUILTIN_HEADS).expect("rules/builtin.semantic.json is valid")
    }
    pub fn parse(text: &str) -> Result<Heads, String> {
        let h: Heads = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if let Some(bad) = h.heads.iter().find(|h| h.weights.len() != DIM) {
            return Err(format!(
                "head {:?} has {} weights, expected {DIM}",
                bad.category,
                bad.weights.len()
            ));
        }
        Ok(h)
    }
}

/// Hits of the semantic layer on `turns` (whose embeddings are `embeddings`, in order): one per
/// turn a head scores at or above its threshold, unless the category's phrases already fired on
/// that turn (`rule_hits`).
pub fn hits(
    rules: &RuleSet,
    heads: &Heads,
    turns: &[Turn],
    embeddings: &[Vec<f32>],
    duration_ms: i64,
    names: &[String],
    rule_hits: &[Hit],
) -> Vec<Hit> {
    let mut out = Vec::new();
    for head in &heads.heads {
        let Some(ci) = rules.categories.iter().position(|c| c.id == head.category) else {
            continue;
        };
        let fired: BTreeSet<i64> = rule_hits
            .iter()
            .filter(|h| h.category == ci)
            .map(|h| h.start_ms)
            .collect();
        for i in rules.candidates(ci, turns, duration_ms, names) {
            if fired.contains(&turns[i].start_ms) {
                continue;
            }
            let p = head.probability(&embeddings[i]);
            if p >= head.threshold {
                out.push(Hit {
                    category: ci,
                    role: turns[i].role,
                    start_ms: turns[i].start_ms,
                    end_ms: turns[i].end_ms,
                    evidence: turns[i].text.clone(),
                    matched: format!("p = {p:.2} (threshold {:.2})", head.threshold),
                    layer: Layer::Semantic,
                    confidence: p,
                });
            }
        }
    }
    out
}

/// One labelled transcript for calibration: its turns' embeddings, and for every category
/// the turns it may fire on (role, window and `not` phrases applied).
pub struct CalibrationItem {
    pub labels: BTreeSet<String>,
    pub embeddings: Vec<Vec<f32>>,
    pub candidates: Vec<Vec<usize>>,
}

/// Calibration settings.
#[derive(Debug, Clone, Copy)]
pub struct Calibration {
    pub min_precision: f32,
    pub l2: f32,
    pub folds: usize,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            min_precision: 0.9,
            l2: 1.0,
            folds: 5,
        }
    }
}

/// Whether a category gets a head: those matched on the customer's name are left to the
/// phrases (a name is not a meaning).
pub fn calibratable(rules: &RuleSet, ci: usize) -> bool {
    !rules.categories[ci].uses_customer_name()
}

/// Fit a head per category on `items`: logistic regression on the turns' embeddings (a
/// positive item's turn that the first fit ranks highest is its positive, every other turn a
/// negative), the threshold the lowest probability whose out-of-fold precision per item is at
/// least `min_precision` with the best F1. A category without such a threshold gets no head.
pub fn calibrate(
    rules: &RuleSet,
    items: &[CalibrationItem],
    cal: Calibration,
    model: &str,
    sets: Vec<String>,
) -> Heads {
    let mut heads = Vec::new();
    for (ci, c) in rules.categories.iter().enumerate() {
        if !calibratable(rules, ci) {
            continue;
        }
        let positives = items.iter().filter(|it| it.labels.contains(&c.id)).count();
        if positives < cal.folds {
            continue;
        }
        let mut oof = vec![f32::NEG_INFINITY; items.len()];
        for fold in 0..cal.folds {
            let train: Vec<usize> = (0..items.len()).filter(|j| j % cal.folds != fold).collect();
            let Some(head) = fit(items, &train, ci, &c.id, cal.l2) else {
                continue;
            };
            for j in (0..items.len()).filter(|j| j % cal.folds == fold) {
                oof[j] = item_score(&head, &items[j], ci);
            }
        }
        let labels: Vec<bool> = items.iter().map(|it| it.labels.contains(&c.id)).collect();
        let Some((threshold, p, r)) = choose_threshold(&oof, &labels, cal.min_precision) else {
            continue;
        };
        let all: Vec<usize> = (0..items.len()).collect();
        if let Some(mut head) = fit(items, &all, ci, &c.id, cal.l2) {
            head.threshold = threshold;
            head.cv_precision = p;
            head.cv_recall = r;
            head.positives = positives;
            heads.push(head);
        }
    }
    Heads {
        model: model.to_string(),
        calibrated_on: sets,
        min_precision: cal.min_precision,
        l2: cal.l2,
        heads,
    }
}

/// The highest probability of an item's candidate turns.
fn item_score(head: &Head, item: &CalibrationItem, ci: usize) -> f32 {
    item.candidates[ci]
        .iter()
        .map(|&t| head.probability(&item.embeddings[t]))
        .fold(f32::NEG_INFINITY, f32::max)
}

/// Fit one category's head on the items `train` (multiple-instance: two fits).
fn fit(items: &[CalibrationItem], train: &[usize], ci: usize, id: &str, l2: f32) -> Option<Head> {
    let rows: Vec<(usize, usize)> = train
        .iter()
        .flat_map(|&j| items[j].candidates[ci].iter().map(move |&t| (j, t)))
        .collect();
    let positive_item = |j: usize| items[j].labels.contains(id);
    let first = logistic(items, &rows, |j, _| positive_item(j), l2)?;
    // each positive item's best turn stays positive; its other turns say something else
    let mut best: Vec<Option<(f32, usize)>> = vec![None; items.len()];
    for &(j, t) in &rows {
        if positive_item(j) {
            let p = first.probability(&items[j].embeddings[t]);
            if best[j].is_none_or(|(q, _)| p > q) {
                best[j] = Some((p, t));
            }
        }
    }
    let mut head = logistic(
        items,
        &rows,
        |j, t| best[j].is_some_and(|(_, b)| b == t),
        l2,
    )?;
    head.category = id.to_string();
    Some(head)
}

fn logistic(
    items: &[CalibrationItem],
    rows: &[(usize, usize)],
    label: impl Fn(usize, usize) -> bool,
    l2: f32,
) -> Option<Head> {
    let ys: Vec<bool> = rows.iter().map(|&(j, t)| label(j, t)).collect();
    if ys.iter().all(|&y| y) || ys.iter().all(|&y| !y) {
        return None;
    }
    let mut xs = Array2::<f64>::zeros((rows.len(), DIM));
    for (r, &(j, t)) in rows.iter().enumerate() {
        for (k, v) in items[j].embeddings[t].iter().enumerate() {
            xs[[r, k]] = f64::from(*v);
        }
    }
    let model = LogisticRegression::default()
        .alpha(f64::from(l2))
        .max_iterations(300)
        .fit(&Dataset::new(xs, Array1::from(ys)))
        .ok()?;
    // linfa reports the probability of its "positive" class: make it P(label = true)
    let sign = if model.labels().pos.class { 1.0 } else { -1.0 };
    Some(Head {
        category: String::new(),
        weights: model.params().iter().map(|w| (sign * w) as f32).collect(),
        bias: (sign * model.intercept()) as f32,
        threshold: 0.5,
        cv_precision: 0.0,
        cv_recall: 0.0,
        positives: 0,
    })
}

/// The lowest threshold among `scores` whose precision is at least `min_precision`, with the
/// best F1: (threshold, precision, recall).
fn choose_threshold(
    scores: &[f32],
    labels: &[bool],
    min_precision: f32,
) -> Option<(f32, f32, f32)> {
    let positives = labels.iter().filter(|&&l| l).count();
    let mut cuts: Vec<f32> = scores.iter().copied().filter(|s| s.is_finite()).collect();
    cuts.sort_by(f32::total_cmp);
    cuts.dedup();
    let mut best: Option<(f32, f32, f32, f32)> = None;
    for &t in &cuts {
        let tp = scores
            .iter()
            .zip(labels)
            .filter(|&(&s, &l)| s >= t && l)
            .count();
        let fired = scores.iter().filter(|&&s| s >= t).count();
        if tp == 0 {
            continue;
        }
        let p = tp as f32 / fired as f32;
        let r = tp as f32 / positives as f32;
        let f1 = 2.0 * p * r / (p + r);
        if p >= min_precision && best.is_none_or(|(_, _, _, bf)| f1 > bf) {
            best = Some((t, p, r, f1));
        }
    }
    best.map(|(t, p, r, _)| (t, p, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_keeps_the_precision_asked_for() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
        let labels = [true, true, false, true, false, false];
        // at 0.6: 3 of 4 (0.75); at 0.8: 2 of 2
        assert_eq!(
            choose_threshold(&scores, &labels, 0.9),
            Some((0.8, 1.0, 2.0 / 3.0))
        );
        assert_eq!(
            choose_threshold(&scores, &labels, 0.7),
            Some((0.6, 0.75, 1.0))
        );
        assert_eq!(choose_threshold(&[0.3, 0.2], &[false, true], 0.9), None);
    }

    /// A unit vector: `dir` (if any) weighted `w` plus seeded noise.
    fn vector(rng: &mut rand_chacha::ChaCha8Rng, dir: Option<usize>, w: f32) -> Vec<f32> {
        use rand::Rng;
        let mut v: Vec<f32> = (0..DIM).map(|_| rng.random_range(-1.0..1.0)).collect();
        if let Some(d) = dir {
            v[d] += w;
        }
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn calibration_learns_a_meaning_and_keeps_precision() {
        use rand::SeedableRng;
        let rules = RuleSet::builtin();
        let refund = rules
            .categories
            .iter()
            .position(|c| c.id == "refund")
            .unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        // positives say "refund" (direction 0) in one of two turns; near-misses lean on
        // direction 1; other items are noise
        let items: Vec<CalibrationItem> = (0..120)
            .map(|j| {
                let (labels, first) = match j % 3 {
                    0 => (
                        BTreeSet::from(["refund".to_string()]),
                        vector(&mut rng, Some(0), 12.0),
                    ),
                    1 => (BTreeSet::new(), vector(&mut rng, Some(1), 12.0)),
                    _ => (BTreeSet::new(), vector(&mut rng, None, 0.0)),
                };
                let second = vector(&mut rng, None, 0.0);
                CalibrationItem {
                    labels,
                    embeddings: vec![second, first],
                    candidates: vec![vec![0, 1]; rules.categories.len()],
                }
            })
            .collect();
        let heads = calibrate(&rules, &items, Calibration::default(), "test", vec![]);
        // only the category with labelled items gets a head
        assert_eq!(heads.heads.len(), 1);
        let h = &heads.heads[0];
        assert_eq!(h.category, "refund");
        assert!(h.cv_precision >= 0.9 && h.cv_recall >= 0.9, "{h:?}");
        let said = vector(&mut rng, Some(0), 12.0);
        let near_miss = vector(&mut rng, Some(1), 12.0);
        assert!(h.probability(&said) >= h.threshold);
        assert!(h.probability(&near_miss) < h.threshold);
        // a turn the category's phrases already matched is not counted twice
        let turns = vec![Turn {
            role: crate::conversation::Role::Customer,
            start_ms: 0,
            end_ms: 4_000,
            text: "I would like my money back".into(),
        }];
        let by_meaning = hits(
            &rules,
            &heads,
            &turns,
            std::slice::from_ref(&said),
            5_000,
            &[],
            &[],
        );
        assert_eq!(by_meaning.len(), 1);
        assert_eq!(by_meaning[0].category, refund);
        assert_eq!(by_meaning[0].layer, Layer::Semantic);
        let by_phrase = rules.evaluate(&turns, 5_000, &[]);
        assert!(!by_phrase.is_empty());
        assert!(hits(&rules, &heads, &turns, &[said], 5_000, &[], &by_phrase).is_empty());
    }

    #[test]
    fn the_builtin_heads_name_builtin_categories() {
        let rules = RuleSet::builtin();
        let heads = Heads::builtin();
        assert!(!heads.heads.is_empty());
        for h in &heads.heads {
            assert!(
                rules.categories.iter().any(|c| c.id == h.category),
                "{}",
                h.category
            );
            assert_eq!(h.weights.len(), DIM);
            assert!(h.cv_precision >= heads.min_precision, "{}", h.category);
        }
    }
}
