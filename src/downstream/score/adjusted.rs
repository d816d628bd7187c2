//! Drivers adjusted for what co-occurs. A difference of means between calls with and without a
//! topic also carries whatever travels with the topic (calls about deliveries rarely carry the
//! billing problems that lower NPS); so every testable feature enters one linear model of the
//! outcome at once, and each effect is read with the others held fixed:
//!
//! - flags as 0/1 (effect: outcome points with vs without),
//! - continuous features per standard deviation (effect: outcome points per sd),
//! - each continuous feature's threshold `x > cut` (effect: points above vs below), where the
//!   cut is chosen on one half of the answers and applied to the other ([`threshold_indicator`]),
//!   so choosing the cut cannot manufacture an effect.
//!
//! The model is least squares on standardised columns with a light ridge penalty (numerical
//! safety for features that nearly move together), with heteroscedasticity-robust (HC1)
//! standard errors, 95% intervals and two-sided p-values from Student's t with n − k − 1
//! degrees of freedom. Unknown feature values are set to the feature's mean among the answers.
//! It is fitted only with at least [`ANSWERS_PER_TERM`] answers per term. Pure computation.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::stats;

/// Answers needed per model term before the adjusted model is fitted (the usual rule of thumb
/// for linear regression; below it the estimates are too unstable to report).
pub const ANSWERS_PER_TERM: usize = 10;
/// Halves over which a threshold is chosen and applied out of fold (see
/// [`threshold_indicator`]).
pub const THRESHOLD_FOLDS: usize = 2;
/// Columns correlated beyond this move together: the later one is not tested.
pub const COLLINEAR: f64 = 0.98;
/// Ridge penalty on the standardised scale, per answer.
const RIDGE: f64 = 1e-3;

/// One estimate of the adjusted model, in the term's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub effect: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p_value: Option<f64>,
}

/// Why the model was not fitted.
#[derive(Debug, Clone, PartialEq)]
pub enum NotFitted {
    NoTerms,
    TooFewAnswers { answers: usize, terms: usize },
}

impl NotFitted {
    pub fn reason(&self) -> String {
        match self {
            NotFitted::NoTerms => "not tested: no feature can be tested".into(),
            NotFitted::TooFewAnswers { answers, terms } => format!(
                "not tested: the adjusted model needs {} answers ({ANSWERS_PER_TERM} per feature \
                 for {terms}), has {answers}",
                ANSWERS_PER_TERM * terms
            ),
        }
    }
}

/// Fit `y` on the columns `x` (one `Vec` per term, `None` = unknown) jointly. Returns one
/// estimate per term, in the column's own units (`None` for a constant column).
#[allow(clippy::needless_range_loop)] // matrix code reads best with its indices
pub fn fit(x: &[Vec<Option<f64>>], y: &[f64]) -> Result<Vec<Option<Estimate>>, NotFitted> {
    let (n, k) = (y.len(), x.len());
    if k == 0 {
        return Err(NotFitted::NoTerms);
    }
    if n < ANSWERS_PER_TERM * k || n <= k + 1 {
        return Err(NotFitted::TooFewAnswers {
            answers: n,
            terms: k,
        });
    }
    // standardised, mean-imputed columns; constant columns are left out
    let mut z: Vec<Vec<f64>> = Vec::new();
    let mut scale: Vec<Option<(usize, f64)>> = Vec::new();
    for col in x {
        let known: Vec<f64> = col.iter().flatten().copied().collect();
        let m = stats::mean(&known).unwrap_or(0.0);
        let filled: Vec<f64> = col.iter().map(|v| v.unwrap_or(m)).collect();
        let sd = (filled.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n as f64).sqrt();
        if sd <= 1e-12 {
            scale.push(None);
            continue;
        }
        scale.push(Some((z.len(), sd)));
        z.push(filled.iter().map(|v| (v - m) / sd).collect());
    }
    let p = z.len();
    if p == 0 {
        return Err(NotFitted::NoTerms);
    }
    let my = y.iter().sum::<f64>() / n as f64;
    let yc: Vec<f64> = y.iter().map(|v| v - my).collect();
    // A = ZᵀZ + λn I, b = Zᵀy
    let mut a = vec![vec![0.0; p]; p];
    for i in 0..p {
        for j in i..p {
            let v: f64 = z[i].iter().zip(&z[j]).map(|(u, w)| u * w).sum();
            a[i][j] = v;
            a[j][i] = v;
        }
        a[i][i] += RIDGE * n as f64;
    }
    let b: Vec<f64> = z
        .iter()
        .map(|c| c.iter().zip(&yc).map(|(u, w)| u * w).sum())
        .collect();
    let ainv = invert_spd(&a).ok_or(NotFitted::NoTerms)?;
    let beta: Vec<f64> = (0..p)
        .map(|i| (0..p).map(|j| ainv[i][j] * b[j]).sum())
        .collect();
    // HC1 sandwich: A⁻¹ (Σ eᵢ² zᵢ zᵢᵀ) A⁻¹ · n / (n − p − 1)
    let mut meat = vec![vec![0.0; p]; p];
    for r in 0..n {
        let fit: f64 = (0..p).map(|j| beta[j] * z[j][r]).sum();
        let e2 = (yc[r] - fit).powi(2);
        for i in 0..p {
            let zi = z[i][r] * e2;
            for j in i..p {
                meat[i][j] += zi * z[j][r];
            }
        }
    }
    for i in 0..p {
        for j in 0..i {
            meat[i][j] = meat[j][i];
        }
    }
    let df = (n - p - 1) as f64;
    let correction = n as f64 / df;
    let t_crit = stats::t_quantile(0.975, df).unwrap_or(1.96);
    Ok(scale
        .iter()
        .map(|s| {
            let (j, sd) = (*s)?;
            // variance of beta_j: row j of A⁻¹ · meat · column j of A⁻¹
            let mut v = 0.0;
            for u in 0..p {
                let left = ainv[j][u];
                if left == 0.0 {
                    continue;
                }
                v += left * (0..p).map(|w| meat[u][w] * ainv[w][j]).sum::<f64>();
            }
            let se = (v * correction).max(0.0).sqrt() / sd;
            let effect = beta[j] / sd;
            Some(Estimate {
                effect,
                ci_low: effect - t_crit * se,
                ci_high: effect + t_crit * se,
                p_value: (se > 0.0).then(|| stats::t_p(effect / se, df)).flatten(),
            })
        })
        .collect())
}

/// Inverse of a symmetric positive definite matrix by Cholesky; `None` when it is not.
#[allow(clippy::needless_range_loop)] // matrix code reads best with its indices
fn invert_spd(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let p = a.len();
    let mut l = vec![vec![0.0; p]; p];
    for i in 0..p {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    // solve L Lᵀ X = I column by column
    let mut inv = vec![vec![0.0; p]; p];
    for c in 0..p {
        let mut w = vec![0.0; p];
        for i in 0..p {
            let e = if i == c { 1.0 } else { 0.0 };
            w[i] = (e - (0..i).map(|k| l[i][k] * w[k]).sum::<f64>()) / l[i][i];
        }
        for i in (0..p).rev() {
            w[i] = (w[i] - (i + 1..p).map(|k| l[k][i] * w[k]).sum::<f64>()) / l[i][i];
        }
        for i in 0..p {
            inv[i][c] = w[i];
        }
    }
    Some(inv)
}

/// Pearson correlation of two columns over the rows where both are known.
pub fn correlation(a: &[Option<f64>], b: &[Option<f64>]) -> Option<f64> {
    let (x, y): (Vec<f64>, Vec<f64>) = a
        .iter()
        .zip(b)
        .filter_map(|(u, v)| Some(((*u)?, (*v)?)))
        .unzip();
    stats::pearson(&x, &y)
}

/// A threshold indicator `x > cut` for a continuous feature, chosen without the calls it is
/// applied to: the answered rows are split in two halves (seeded); each half gets its
/// indicator from the cut chosen on the other half — the one of its 10th–90th percentiles (in
/// steps of 5) whose two sides differ most in the outcome (largest |Welch t|, at least
/// `min_group` on each side). With two halves each cut depends on the other half alone, so
/// under no effect the two halves' comparisons stay uncorrelated (with more folds the cuts
/// share data and the test ran hot in a null simulation: 2.7× the false drivers of the flags). Returns the
/// indicator per row (`None` where `x` or `y` is unknown) and, for reading, the cut chosen on
/// all the answers; `None` when a half has no admissible cut.
pub fn threshold_indicator(
    x: &[Option<f64>],
    y: &[Option<f64>],
    min_group: usize,
    rng: &mut ChaCha8Rng,
) -> Option<(Vec<Option<f64>>, f64)> {
    let mut rows: Vec<usize> = (0..x.len())
        .filter(|&i| x[i].is_some() && y[i].is_some())
        .collect();
    if rows.len() < 2 * min_group * 2 {
        return None;
    }
    let pairs = |rows: &[usize]| -> Vec<(f64, f64)> {
        rows.iter()
            .map(|&i| (x[i].unwrap_or_default(), y[i].unwrap_or_default()))
            .collect()
    };
    // the cut people read: the best split of all the answers
    let overall = best_cut(&pairs(&rows), min_group)?;
    rows.shuffle(rng);
    let mut out = vec![None; x.len()];
    for f in 0..THRESHOLD_FOLDS {
        let (mut held, mut train) = (Vec::new(), Vec::new());
        for (k, &i) in rows.iter().enumerate() {
            if k % THRESHOLD_FOLDS == f {
                held.push(i);
            } else {
                train.push(i);
            }
        }
        let cut = best_cut(&pairs(&train), min_group)?;
        for i in held {
            out[i] = x[i].map(|v| if v > cut { 1.0 } else { 0.0 });
        }
    }
    Some((out, overall))
}

/// The cut among the percentiles of `xy`'s x whose sides differ most in y.
fn best_cut(xy: &[(f64, f64)], min_group: usize) -> Option<f64> {
    let mut xs: Vec<f64> = xy.iter().map(|v| v.0).collect();
    xs.sort_by(f64::total_cmp);
    let mut cands: Vec<f64> = (2..=18)
        .map(|k| xs[(k as f64 * 0.05 * (xs.len() - 1) as f64).round() as usize])
        .collect();
    cands.dedup();
    let mut best: Option<(f64, f64)> = None;
    for c in cands {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for &(v, o) in xy {
            if v > c { a.push(o) } else { b.push(o) }
        }
        if a.len() < min_group || b.len() < min_group {
            continue;
        }
        let Some(t) = stats::welch_t(&a, &b) else {
            continue;
        };
        if best.is_none_or(|(bt, _)| t.abs() > bt) {
            best = Some((t.abs(), c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn recovers_joint_effects_that_raw_differences_confound() {
        // b lowers y by 2; a has no effect but is rare when b is present
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut a, mut b, mut y) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..2000 {
            let bi = rng.random::<f64>() < 0.4;
            let ai = rng.random::<f64>() < if bi { 0.05 } else { 0.5 };
            let noise: f64 = (0..6).map(|_| rng.random::<f64>() - 0.5).sum();
            a.push(Some(ai as u8 as f64));
            b.push(Some(bi as u8 as f64));
            y.push(7.0 - 2.0 * bi as u8 as f64 + noise);
        }
        let raw = |f: &[Option<f64>]| {
            let m = |on: f64| {
                let v: Vec<f64> = (0..y.len())
                    .filter(|&i| f[i] == Some(on))
                    .map(|i| y[i])
                    .collect();
                stats::mean(&v).unwrap()
            };
            m(1.0) - m(0.0)
        };
        assert!(raw(&a) > 0.8, "a's raw difference is confounded by b");
        let est = fit(&[a, b], &y).unwrap();
        let (ea, eb) = (est[0].unwrap(), est[1].unwrap());
        assert!(ea.ci_low < 0.0 && ea.ci_high > 0.0, "{ea:?}");
        assert!((eb.effect + 2.0).abs() < 0.15 && eb.ci_high < 0.0, "{eb:?}");
        assert!(eb.p_value.unwrap() < 1e-6 && ea.p_value.unwrap() > 0.01);
    }

    #[test]
    fn constant_columns_are_untested_and_thin_data_is_refused() {
        let y: Vec<f64> = (0..50).map(|i| (i % 7) as f64).collect();
        let c = vec![Some(1.0); 50];
        let v: Vec<Option<f64>> = (0..50).map(|i| Some((i % 3) as f64)).collect();
        let est = fit(&[c.clone(), v.clone()], &y).unwrap();
        assert!(est[0].is_none() && est[1].is_some());
        assert_eq!(
            fit(
                &[c, v.clone(), v.clone(), v.clone(), v.clone(), v.clone()],
                &y
            ),
            Err(NotFitted::TooFewAnswers {
                answers: 50,
                terms: 6
            })
        );
        assert!(
            NotFitted::TooFewAnswers {
                answers: 8,
                terms: 3
            }
            .reason()
            .contains("needs 30 answers")
        );
    }

    #[test]
    fn a_threshold_is_found_out_of_fold_and_noise_gets_none_of_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (mut x, mut y, mut z) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..1000 {
            let hold = rng.random::<f64>() * 120.0;
            let noise: f64 = (0..6).map(|_| rng.random::<f64>() - 0.5).sum();
            x.push(Some(hold));
            z.push(Some(rng.random::<f64>()));
            y.push(Some(8.0 - if hold > 40.0 { 1.5 } else { 0.0 } + noise));
        }
        let (ind, cut) = threshold_indicator(&x, &y, 5, &mut rng).unwrap();
        assert!((30.0..50.0).contains(&cut), "{cut}");
        // every call got the cut of folds that did not see it: most agree with the true one
        let agree = (0..x.len())
            .filter(|&i| ind[i] == Some((x[i].unwrap() > 40.0) as u8 as f64))
            .count();
        assert!(agree > 950, "{agree}");
        let yy: Vec<f64> = y.iter().flatten().copied().collect();
        let (zind, _) = threshold_indicator(&z, &y, 5, &mut rng).unwrap();
        let est = fit(&[ind, zind], &yy).unwrap();
        let (e, ez) = (est[0].unwrap(), est[1].unwrap());
        assert!(e.ci_high < -1.0 && e.ci_low > -2.0, "{e:?}");
        assert!(ez.p_value.unwrap() > 0.01, "{ez:?}");
    }
}
