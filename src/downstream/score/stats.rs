//! Statistics for driver analysis: means, Welch's t-test, bootstrap intervals, Spearman
//! correlation and Benjamini–Hochberg q-values. Distributions come from `statrs`; resampling
//! uses a seeded ChaCha generator so results are reproducible. Pure computation.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ContinuousCDF, StudentsT};

pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn var(v: &[f64], m: f64) -> f64 {
    v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)
}

/// Two-sided p-value of a t statistic with `df` degrees of freedom.
pub fn t_p(t: f64, df: f64) -> Option<f64> {
    if !t.is_finite() || !df.is_finite() || df <= 0.0 {
        return None;
    }
    let d = StudentsT::new(0.0, 1.0, df).ok()?;
    Some((2.0 * (1.0 - d.cdf(t.abs()))).clamp(0.0, 1.0))
}

/// The `q` quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile(q: f64, df: f64) -> Option<f64> {
    (df > 0.0 && df.is_finite())
        .then(|| StudentsT::new(0.0, 1.0, df).ok())
        .flatten()
        .map(|d| d.inverse_cdf(q))
}

/// Welch's t statistic of mean(a) − mean(b); `None` with fewer than two values on a side or
/// no variance.
pub fn welch_t(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (ma, mb) = (mean(a)?, mean(b)?);
    let se2 = var(a, ma) / a.len() as f64 + var(b, mb) / b.len() as f64;
    (se2 > 0.0).then(|| (ma - mb) / se2.sqrt())
}

/// Welch's two-sample t-test of mean(a) − mean(b): two-sided p-value. `None` with fewer than
/// two values on a side; 1.0 when both samples are constant and equal, 0.0 when constant and
/// different.
pub fn welch_p(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (ma, mb) = (mean(a)?, mean(b)?);
    let (va, vb) = (var(a, ma) / a.len() as f64, var(b, mb) / b.len() as f64);
    let se2 = va + vb;
    if se2 <= 0.0 {
        return Some(if ma == mb { 1.0 } else { 0.0 });
    }
    let t = (ma - mb) / se2.sqrt();
    let df = se2 * se2
        / (va * va / (a.len() as f64 - 1.0) + vb * vb / (b.len() as f64 - 1.0)).max(1e-300);
    t_p(t, df)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// 95% percentile-bootstrap interval of mean(a) − mean(b), resampling each group.
pub fn bootstrap_diff_ci(
    a: &[f64],
    b: &[f64],
    reps: usize,
    rng: &mut ChaCha8Rng,
) -> Option<(f64, f64)> {
    if a.is_empty() || b.is_empty() || reps == 0 {
        return None;
    }
    let resample_mean = |v: &[f64], rng: &mut ChaCha8Rng| {
        (0..v.len())
            .map(|_| v[rng.random_range(0..v.len())])
            .sum::<f64>()
            / v.len() as f64
    };
    let mut diffs: Vec<f64> = (0..reps)
        .map(|_| resample_mean(a, rng) - resample_mean(b, rng))
        .collect();
    diffs.sort_by(f64::total_cmp);
    Some((percentile(&diffs, 0.025), percentile(&diffs, 0.975)))
}

/// Ranks (1-based), ties get their average rank.
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let (mx, my) = (mean(x)?, mean(y)?);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// Spearman's rank correlation; `None` when either variable is constant or n < 3.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() < 3 || x.len() != y.len() {
        return None;
    }
    pearson(&ranks(x), &ranks(y))
}

/// Two-sided p-value of a Spearman correlation (t approximation, n − 2 degrees of freedom).
pub fn spearman_p(rho: f64, n: usize) -> Option<f64> {
    if n < 4 {
        return None;
    }
    if rho.abs() >= 1.0 {
        return Some(0.0);
    }
    let df = (n - 2) as f64;
    t_p(rho * (df / (1.0 - rho * rho)).sqrt(), df)
}

/// 95% percentile-bootstrap interval of Spearman's rho, resampling pairs.
pub fn bootstrap_spearman_ci(
    x: &[f64],
    y: &[f64],
    reps: usize,
    rng: &mut ChaCha8Rng,
) -> Option<(f64, f64)> {
    let n = x.len();
    if n < 3 || reps == 0 {
        return None;
    }
    let mut rhos = Vec::with_capacity(reps);
    let (mut bx, mut by) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..reps {
        for k in 0..n {
            let i = rng.random_range(0..n);
            bx[k] = x[i];
            by[k] = y[i];
        }
        if let Some(r) = spearman(&bx, &by) {
            rhos.push(r);
        }
    }
    if rhos.len() < reps / 2 {
        return None;
    }
    rhos.sort_by(f64::total_cmp);
    Some((percentile(&rhos, 0.025), percentile(&rhos, 0.975)))
}

/// Benjamini–Hochberg adjusted p-values (q-values), same order as `p`; `None` stays `None`
/// and does not count as a test.
pub fn bh(p: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut tested: Vec<(usize, f64)> = p
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let m = tested.len() as f64;
    tested.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut q = vec![None; p.len()];
    let mut running = 1.0f64;
    for (rank, &(i, pv)) in tested.iter().enumerate().rev() {
        running = running.min(pv * m / (rank as f64 + 1.0));
        q[i] = Some(running.min(1.0));
    }
    q
}

/// Holm's step-down adjusted p-values (familywise error): the k-th smallest of m p-values is
/// multiplied by m − k + 1, kept monotone. `None` entries are not tested and not counted.
pub fn holm(p: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut tested: Vec<(usize, f64)> = p
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let m = tested.len();
    tested.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut out = vec![None; p.len()];
    let mut running = 0.0f64;
    for (k, &(i, pv)) in tested.iter().enumerate() {
        running = running.max((pv * (m - k) as f64).min(1.0));
        out[i] = Some(running);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn holm_by_hand() {
        let h = holm(&[Some(0.01), None, Some(0.04), Some(0.03)]);
        // sorted 0.01, 0.03, 0.04: × 3, × 2, × 1, kept monotone
        assert_eq!(h[0], Some(0.03));
        assert_eq!(h[1], None);
        assert!((h[3].unwrap() - 0.06).abs() < 1e-12 && (h[2].unwrap() - 0.06).abs() < 1e-12);
    }

    #[test]
    fn hand_checked_values() {
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 5.0]), vec![2.0, 3.5, 3.5, 1.0]);
        assert!(
            (spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 4.0, 9.0, 16.0]).unwrap() - 1.0).abs() < 1e-12
        );
        assert!(
            (spearman(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12
        );
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.5), "BH") = 0.04 0.0533 0.0533 0.5
        let q = bh(&[Some(0.01), Some(0.04), Some(0.03), None, Some(0.5)]);
        let want = [0.04, 0.04 * 4.0 / 3.0, 0.04 * 4.0 / 3.0];
        for (g, w) in q.iter().zip(want) {
            assert!((g.unwrap() - w).abs() < 1e-12, "{q:?}");
        }
        assert_eq!(q[3], None);
        assert!((q[4].unwrap() - 0.5).abs() < 1e-12);
        // t = 2, 10 df: two-sided p = 0.0734 (t tables)
        assert!((t_p(2.0, 10.0).unwrap() - 0.0734).abs() < 5e-4);
        // Welch by hand: means 3 and 6, variances 2.5 and 10 -> se² = 0.5 + 2 = 2.5,
        // t = -3 / √2.5, df = 2.5² / (0.5²/4 + 2²/4) = 5.8824
        let p = welch_p(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 6.0, 8.0, 10.0]).unwrap();
        let want = t_p(3.0 / 2.5f64.sqrt(), 6.25 / 1.0625).unwrap();
        assert!((p - want).abs() < 1e-12 && p > 0.09 && p < 0.12, "{p}");
        assert_eq!(welch_p(&[3.0, 3.0], &[3.0, 3.0]), Some(1.0));
        assert_eq!(welch_p(&[3.0], &[3.0, 4.0]), None);
    }

    #[test]
    fn bootstrap_interval_covers_the_difference_and_is_reproducible() {
        let a: Vec<f64> = (0..200).map(|i| 5.0 + (i % 7) as f64).collect();
        let b: Vec<f64> = (0..300).map(|i| 3.0 + (i % 7) as f64).collect();
        let ci =
            |seed| bootstrap_diff_ci(&a, &b, 500, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
        let (lo, hi) = ci(1);
        assert!(lo < 2.0 && hi > 2.0 && hi - lo < 1.0, "{lo} {hi}");
        assert_eq!(ci(1), ci(1));
        assert_ne!(ci(1), ci(2));
    }
}
