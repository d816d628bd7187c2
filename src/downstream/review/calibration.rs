//! Calibration (pure): how far reviewers agree on each checklist item — Cohen's kappa for two
//! reviewers, Fleiss' kappa for more — and how far callsift's automatic flag agrees with them
//! (precision and recall of the flag against the reviewers' verdicts), each with its n.

use std::collections::BTreeMap;

use crate::store::reviews::ReviewRow;

/// Agreement on one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    pub item: String,
    /// `Cohen` (two reviewers) or `Fleiss` (more).
    pub method: &'static str,
    /// Calls rated by at least two reviewers, and the reviewers.
    pub calls: usize,
    pub reviewers: usize,
    /// Share of rater pairs that agree, and kappa (`None` when undefined: fewer than two calls
    /// or no variation at all).
    pub observed: Option<f64>,
    pub kappa: Option<f64>,
}

/// callsift's flag for one item against reviewers' verdicts (`yes`/`no`; N/A left out).
#[derive(Debug, Clone, PartialEq)]
pub struct FlagAccuracy {
    pub item: String,
    pub true_pos: usize,
    pub false_pos: usize,
    pub false_neg: usize,
    pub true_neg: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

impl FlagAccuracy {
    pub fn n(&self) -> usize {
        self.true_pos + self.false_pos + self.false_neg + self.true_neg
    }
}

const CATEGORIES: [&str; 3] = ["yes", "no", "na"];

fn category(v: &str) -> usize {
    CATEGORIES.iter().position(|c| *c == v).unwrap_or(2)
}

/// Cohen's kappa over pairs of ratings (category indices).
pub fn cohen(pairs: &[(usize, usize)]) -> Option<f64> {
    let n = pairs.len() as f64;
    if pairs.len() < 2 {
        return None;
    }
    let po = pairs.iter().filter(|(a, b)| a == b).count() as f64 / n;
    let pe: f64 = (0..CATEGORIES.len())
        .map(|k| {
            let a = pairs.iter().filter(|p| p.0 == k).count() as f64 / n;
            let b = pairs.iter().filter(|p| p.1 == k).count() as f64 / n;
            a * b
        })
        .sum();
    (pe < 1.0).then(|| (po - pe) / (1.0 - pe))
}

/// Fleiss' kappa over subjects, each the counts of ratings per category (at least two ratings
/// each; the number of raters may differ between subjects).
pub fn fleiss(subjects: &[[usize; 3]]) -> Option<f64> {
    let subjects: Vec<&[usize; 3]> = subjects
        .iter()
        .filter(|s| s.iter().sum::<usize>() >= 2)
        .collect();
    if subjects.len() < 2 {
        return None;
    }
    let total: f64 = subjects
        .iter()
        .map(|s| s.iter().sum::<usize>() as f64)
        .sum();
    let p_bar = subjects
        .iter()
        .map(|s| {
            let n = s.iter().sum::<usize>() as f64;
            let agree: f64 = s.iter().map(|&c| (c * c) as f64).sum::<f64>() - n;
            agree / (n * (n - 1.0))
        })
        .sum::<f64>()
        / subjects.len() as f64;
    let pe: f64 = (0..3)
        .map(|k| {
            let p = subjects.iter().map(|s| s[k] as f64).sum::<f64>() / total;
            p * p
        })
        .sum();
    (pe < 1.0).then(|| (p_bar - pe) / (1.0 - pe))
}

/// Share of agreeing rater pairs over subjects.
fn observed(subjects: &[[usize; 3]]) -> Option<f64> {
    let (mut agree, mut pairs) = (0usize, 0usize);
    for s in subjects {
        let n: usize = s.iter().sum();
        pairs += n * n.saturating_sub(1) / 2;
        agree += s
            .iter()
            .map(|&c| c * c.saturating_sub(1) / 2)
            .sum::<usize>();
    }
    (pairs > 0).then(|| agree as f64 / pairs as f64)
}

/// Agreement per item over the current submitted reviews (`reviews`: the rows of each
/// review's latest submitted save), items in `items` order.
pub fn agreement(reviews: &[ReviewRow], items: &[String]) -> Vec<Agreement> {
    items
        .iter()
        .map(|item| {
            // call → reviewer → verdict
            let mut by_call: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
            for r in reviews.iter().filter(|r| &r.item == item) {
                by_call
                    .entry(&r.interaction_id)
                    .or_default()
                    .insert(&r.reviewer, category(&r.verdict));
            }
            by_call.retain(|_, v| v.len() >= 2);
            let mut raters: Vec<&str> = by_call.values().flat_map(|v| v.keys().copied()).collect();
            raters.sort();
            raters.dedup();
            let subjects: Vec<[usize; 3]> = by_call
                .values()
                .map(|v| {
                    let mut c = [0; 3];
                    for &k in v.values() {
                        c[k] += 1;
                    }
                    c
                })
                .collect();
            let (method, kappa) = if raters.len() == 2 {
                let pairs: Vec<(usize, usize)> = by_call
                    .values()
                    .map(|v| (v[raters[0]], v[raters[1]]))
                    .collect();
                ("Cohen", cohen(&pairs))
            } else {
                ("Fleiss", fleiss(&subjects))
            };
            Agreement {
                item: item.clone(),
                method,
                calls: by_call.len(),
                reviewers: raters.len(),
                observed: observed(&subjects),
                kappa,
            }
        })
        .collect()
}

/// callsift's flag against every reviewer verdict, per item.
pub fn flag_accuracy(reviews: &[ReviewRow], items: &[String]) -> Vec<FlagAccuracy> {
    items
        .iter()
        .map(|item| {
            let mut a = FlagAccuracy {
                item: item.clone(),
                true_pos: 0,
                false_pos: 0,
                false_neg: 0,
                true_neg: 0,
                precision: None,
                recall: None,
            };
            for r in reviews.iter().filter(|r| &r.item == item) {
                match (r.auto_flag, r.verdict.as_str()) {
                    (Some(true), "yes") => a.true_pos += 1,
                    (Some(true), "no") => a.false_pos += 1,
                    (Some(false), "yes") => a.false_neg += 1,
                    (Some(false), "no") => a.true_neg += 1,
                    _ => {}
                }
            }
            let ratio = |k: usize, n: usize| (n > 0).then(|| k as f64 / n as f64);
            a.precision = ratio(a.true_pos, a.true_pos + a.false_pos);
            a.recall = ratio(a.true_pos, a.true_pos + a.false_neg);
            a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(reviewer: &str, call: &str, verdict: &str, auto: bool) -> ReviewRow {
        ReviewRow {
            reviewer: reviewer.into(),
            interaction_id: call.into(),
            item: "beh_empathy".into(),
            verdict: verdict.into(),
            auto_flag: Some(auto),
            ..Default::default()
        }
    }

    #[test]
    fn kappas_match_worked_examples() {
        // Cohen's textbook example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no → kappa 0.4
        let mut pairs = vec![(0, 0); 20];
        pairs.extend(vec![(0, 1); 5]);
        pairs.extend(vec![(1, 0); 10]);
        pairs.extend(vec![(1, 1); 15]);
        assert!((cohen(&pairs).unwrap() - 0.4).abs() < 1e-9);
        // perfect agreement with variation: 1; no variation at all: undefined
        assert_eq!(cohen(&[(0, 0), (1, 1)]), Some(1.0));
        assert_eq!(cohen(&[(0, 0), (0, 0)]), None);
        // Fleiss with two raters and the same table equals Scott's pi (close to Cohen here)
        let subjects: Vec<[usize; 3]> = pairs
            .iter()
            .map(|&(a, b)| {
                let mut c = [0; 3];
                c[a] += 1;
                c[b] += 1;
                c
            })
            .collect();
        let f = fleiss(&subjects).unwrap();
        assert!((f - 0.3939).abs() < 1e-3, "{f}");
        // three raters agreeing fully on varied subjects: 1
        assert_eq!(fleiss(&[[3, 0, 0], [0, 3, 0]]), Some(1.0));
    }

    #[test]
    fn agreement_and_flag_accuracy_per_item() {
        let rows = vec![
            row("ann", "C-1", "yes", true),
            row("bob", "C-1", "yes", true),
            row("ann", "C-2", "no", true),
            row("bob", "C-2", "no", true),
            row("ann", "C-3", "yes", false),
        ];
        let items = vec!["beh_empathy".to_string()];
        let a = &agreement(&rows, &items)[0];
        assert_eq!((a.method, a.calls, a.reviewers), ("Cohen", 2, 2));
        assert_eq!((a.observed, a.kappa), (Some(1.0), Some(1.0)));
        let f = &flag_accuracy(&rows, &items)[0];
        assert_eq!((f.true_pos, f.false_pos, f.false_neg, f.n()), (2, 2, 1, 5));
        assert_eq!(f.precision, Some(0.5));
        assert!((f.recall.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    }
}
