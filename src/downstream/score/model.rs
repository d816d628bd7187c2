//! The multivariate model: L2-regularised logistic regression (`linfa-logistic`) on all
//! features jointly, standardised so coefficients compare, with k-fold cross-validated AUC
//! and calibration. Missing values are imputed with the training mean; constant features get
//! a zero coefficient. Pure computation.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// L2 penalty of the fits (on standardised features).
pub const ALPHA: f64 = 1.0;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "{outcome}: only one class among {n} surveyed calls, nothing to model\nhint: the model needs both {outcome} and non-{outcome} answers"
    )]
    OneClass { outcome: String, n: usize },
    #[error("{outcome}: logistic regression failed: {detail}")]
    Fit { outcome: String, detail: String },
}

/// A fitted model: standardisation plus coefficients.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub means: Vec<f64>,
    pub sds: Vec<f64>,
    /// Per feature, on the standardised scale (0 for constant features).
    pub coef: Vec<f64>,
    pub intercept: f64,
}

/// Cross-validated quality of a model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Validation {
    pub folds: usize,
    pub auc: Option<f64>,
    /// Mean predicted probability vs observed rate on held-out calls.
    pub mean_predicted: f64,
    pub observed_rate: f64,
    pub brier: f64,
}

impl Fitted {
    fn z(&self, j: usize, v: Option<f64>) -> f64 {
        match v {
            Some(v) if self.sds[j] > 0.0 => (v - self.means[j]) / self.sds[j],
            _ => 0.0,
        }
    }
    /// Probability of the positive outcome for one row of features.
    pub fn prob(&self, row: &[Option<f64>]) -> f64 {
        let s: f64 = (0..self.coef.len())
            .map(|j| self.coef[j] * self.z(j, row[j]))
            .sum::<f64>()
            + self.intercept;
        1.0 / (1.0 + (-s).exp())
    }
    /// Each feature's contribution to the log-odds for one row.
    pub fn contributions(&self, row: &[Option<f64>]) -> Vec<f64> {
        (0..self.coef.len())
            .map(|j| self.coef[j] * self.z(j, row[j]))
            .collect()
    }
}

/// Fit on rows `idx` of `x` (rows × features, `None` = missing) with outcome `y`.
pub fn fit(
    outcome: &str,
    x: &[Vec<Option<f64>>],
    y: &[bool],
    idx: &[usize],
) -> Result<Fitted, ModelError> {
    let p = x.first().map_or(0, Vec::len);
    let positives = idx.iter().filter(|&&i| y[i]).count();
    if positives == 0 || positives == idx.len() {
        return Err(ModelError::OneClass {
            outcome: outcome.into(),
            n: idx.len(),
        });
    }
    let mut means = vec![0.0; p];
    let mut sds = vec![0.0; p];
    for j in 0..p {
        let v: Vec<f64> = idx.iter().filter_map(|&i| x[i][j]).collect();
        if v.len() >= 2 {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            means[j] = m;
            sds[j] = (v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
        }
    }
    let mut f = Fitted {
        means,
        sds,
        coef: vec![0.0; p],
        intercept: 0.0,
    };
    let live: Vec<usize> = (0..p).filter(|&j| f.sds[j] > 0.0).collect();
    let xs = Array2::from_shape_fn((idx.len(), live.len()), |(r, c)| {
        f.z(live[c], x[idx[r]][live[c]])
    });
    let ys: Array1<bool> = idx.iter().map(|&i| y[i]).collect();
    let model = LogisticRegression::default()
        .alpha(ALPHA)
        .max_iterations(200)
        .fit(&Dataset::new(xs, ys))
        .map_err(|e| ModelError::Fit {
            outcome: outcome.into(),
            detail: e.to_string(),
        })?;
    // linfa reports the probability of its "positive" class: make it P(outcome = true)
    let sign = if model.labels().pos.class { 1.0 } else { -1.0 };
    for (c, &j) in live.iter().enumerate() {
        f.coef[j] = sign * model.params()[c];
    }
    f.intercept = sign * model.intercept();
    Ok(f)
}

/// Area under the ROC curve (Mann–Whitney), ties counted half.
pub fn auc(scores: &[f64], y: &[bool]) -> Option<f64> {
    let r = super::stats::ranks(scores);
    let n1 = y.iter().filter(|&&b| b).count() as f64;
    let n0 = y.len() as f64 - n1;
    if n1 == 0.0 || n0 == 0.0 {
        return None;
    }
    let sum: f64 = r.iter().zip(y).filter(|(_, b)| **b).map(|(r, _)| r).sum();
    Some((sum - n1 * (n1 + 1.0) / 2.0) / (n1 * n0))
}

/// k-fold cross-validation (stratified by shuffling each class, seeded).
pub fn cross_validate(
    outcome: &str,
    x: &[Vec<Option<f64>>],
    y: &[bool],
    idx: &[usize],
    k: usize,
    seed: u64,
) -> Result<Validation, ModelError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut pos, mut neg): (Vec<usize>, Vec<usize>) = idx.iter().partition(|&&i| y[i]);
    let k = k.min(pos.len()).min(neg.len()).max(2);
    pos.shuffle(&mut rng);
    neg.shuffle(&mut rng);
    let mut fold = vec![0usize; x.len()];
    for (n, &i) in pos.iter().chain(&neg).enumerate() {
        fold[i] = n % k;
    }
    let (mut preds, mut truth) = (Vec::new(), Vec::new());
    for f in 0..k {
        let train: Vec<usize> = idx.iter().copied().filter(|&i| fold[i] != f).collect();
        let test: Vec<usize> = idx.iter().copied().filter(|&i| fold[i] == f).collect();
        let m = fit(outcome, x, y, &train)?;
        for i in test {
            preds.push(m.prob(&x[i]));
            truth.push(y[i]);
        }
    }
    let n = preds.len() as f64;
    Ok(Validation {
        folds: k,
        auc: auc(&preds, &truth),
        mean_predicted: preds.iter().sum::<f64>() / n,
        observed_rate: truth.iter().filter(|&&b| b).count() as f64 / n,
        brier: preds
            .iter()
            .zip(&truth)
            .map(|(p, &t)| (p - if t { 1.0 } else { 0.0 }).powi(2))
            .sum::<f64>()
            / n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand() {
        assert_eq!(
            auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn recovers_a_planted_signal() {
        // outcome true mostly when feature 0 is high; feature 1 is noise; feature 2 constant
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        use rand::Rng;
        let n = 400;
        let x: Vec<Vec<Option<f64>>> = (0..n)
            .map(|_| {
                vec![
                    Some(rng.random::<f64>()),
                    Some(rng.random::<f64>()),
                    Some(1.0),
                ]
            })
            .collect();
        let y: Vec<bool> = x
            .iter()
            .map(|r| r[0].unwrap() + 0.3 * (rng.random::<f64>() - 0.5) > 0.5)
            .collect();
        let idx: Vec<usize> = (0..n).collect();
        let m = fit("t", &x, &y, &idx).unwrap();
        assert!(
            m.coef[0] > 1.0 && m.coef[1].abs() < 0.3 && m.coef[2] == 0.0,
            "{m:?}"
        );
        assert!(m.prob(&[Some(0.9), Some(0.5), Some(1.0)]) > 0.8);
        let v = cross_validate("t", &x, &y, &idx, 5, 1).unwrap();
        assert!(v.auc.unwrap() > 0.9, "{v:?}");
        let one = vec![true; n];
        assert!(matches!(
            fit("t", &x, &one, &idx),
            Err(ModelError::OneClass { .. })
        ));
    }
}
