//! The measures more than one command shows, each defined once (docs/measures.md lists every
//! measure of the report and the scorecard with its formula and its n). Each takes per-call
//! values, where `None` is unknown: unknown values are left out of both the numerator and
//! the denominator, never counted as zero, and a measure with no known call is `None`.

/// A 95% interval.
pub type Interval = Option<(f64, f64)>;

/// Non-talk share, in percent: the calls' non-talk time over their duration, **pooled** (the
/// sum of non-talk time over the sum of duration, so a long call weighs more than a short one),
/// over the calls where both are known; with `n`, the number of those calls, and the 95%
/// interval: the ratio estimator's linearised standard error, √(Σ(ntᵢ − r·dᵢ)² / (n(n − 1)))
/// / mean(d), with Student's t (`None` below 2 calls). The share is `None` when no call has
/// both (or their durations add up to zero). Items: (non-talk ms, duration ms).
pub fn non_talk_share_with_interval(
    calls: impl IntoIterator<Item = (Option<f64>, Option<f64>)>,
) -> (Option<f64>, usize, Interval) {
    let pairs: Vec<(f64, f64)> = calls
        .into_iter()
        .filter_map(|(nt, d)| Some((nt?, d?)))
        .collect();
    let (non_talk, duration): (f64, f64) = pairs
        .iter()
        .fold((0.0, 0.0), |(a, b), (nt, d)| (a + nt, b + d));
    let n = pairs.len();
    if duration <= 0.0 {
        return (None, n, None);
    }
    let r = non_talk / duration;
    let interval = (n >= 2).then(|| {
        let nf = n as f64;
        let ss: f64 = pairs.iter().map(|(nt, d)| (nt - r * d).powi(2)).sum();
        let se = (ss / (nf * (nf - 1.0))).sqrt() / (duration / nf);
        let t = t95(nf - 1.0);
        (100.0 * (r - t * se).max(0.0), 100.0 * (r + t * se).min(1.0))
    });
    (Some(100.0 * r), n, interval)
}

/// Student's t quantile for a two-sided 95% interval with `df` degrees of freedom.
fn t95(df: f64) -> f64 {
    crate::downstream::score::stats::t_quantile(0.975, df).unwrap_or(1.96)
}

/// 95% interval of a mean: mean ± t · sd / √n; `None` below 2 values.
pub fn mean_interval(x: &[f64]) -> Interval {
    let n = x.len() as f64;
    if x.len() < 2 {
        return None;
    }
    let m = x.iter().sum::<f64>() / n;
    let sd = (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let h = t95(n - 1.0) * sd / n.sqrt();
    Some((m - h, m + h))
}

/// 95% Wilson interval of a rate, in percent, from `k` of `n`; `None` when `n` is 0. It stays
/// within 0–100 and is not empty at 0 or n (5 of 5 is 57–100%, not 100–100%).
pub fn rate_interval(k: usize, n: usize) -> Interval {
    if n == 0 {
        return None;
    }
    let (z, nf) = (1.959_963_984_540_054, n as f64);
    let p = k as f64 / nf;
    let centre = (p + z * z / (2.0 * nf)) / (1.0 + z * z / nf);
    let half = z * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt() / (1.0 + z * z / nf);
    Some((
        100.0 * (centre - half).max(0.0),
        100.0 * (centre + half).min(1.0),
    ))
}

/// Whether a call is a complaint: any complaint topic fired. `Some(true)` when one did,
/// `Some(false)` only when every topic is known not to have fired, `None` when it is unknown
/// (no topic columns, or some are null — e.g. a mono recording — and none fired).
pub fn complaint(topics: &[Option<bool>]) -> Option<bool> {
    if topics.contains(&Some(true)) {
        Some(true)
    } else if !topics.is_empty() && topics.iter().all(Option::is_some) {
        Some(false)
    } else {
        None
    }
}

/// A call's contribution to NPS from its 0–10 answer: +100 for a promoter (9–10), −100 for a
/// detractor (0–6), 0 for a passive (7–8); NPS is the mean over the answers.
pub fn nps_points(answer: f64) -> f64 {
    if answer >= 9.0 {
        100.0
    } else if answer <= 6.0 {
        -100.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_talk_share_is_pooled_over_calls_with_both_values() {
        // 10 s of 100 s and 30 s of 50 s: pooled 40/150, not the mean of 10% and 60%
        let calls = [
            (Some(10_000.0), Some(100_000.0)),
            (Some(30_000.0), Some(50_000.0)),
            (None, Some(80_000.0)),
            (Some(5_000.0), None),
        ];
        let (v, n, _) = non_talk_share_with_interval(calls);
        assert_eq!(n, 2);
        assert!((v.unwrap() - 100.0 * 40.0 / 150.0).abs() < 1e-9);
        assert_eq!(
            non_talk_share_with_interval([(None, Some(1.0))]),
            (None, 0, None)
        );
    }

    #[test]
    fn intervals_by_hand() {
        // Wilson: 5 of 5 is not certain; 0 of 0 has none
        let (lo, hi) = rate_interval(5, 5).unwrap();
        assert!((lo - 56.55).abs() < 0.05 && hi == 100.0, "{lo} {hi}");
        let (lo, hi) = rate_interval(50, 100).unwrap();
        assert!(
            (lo - 40.38).abs() < 0.05 && (hi - 59.62).abs() < 0.05,
            "{lo} {hi}"
        );
        assert_eq!(rate_interval(0, 0), None);
        // mean of 1, 2, 3: 2 ± 4.303 · 1 / √3
        let (lo, hi) = mean_interval(&[1.0, 2.0, 3.0]).unwrap();
        assert!((lo - (2.0 - 2.4843)).abs() < 1e-3 && (hi - (2.0 + 2.4843)).abs() < 1e-3);
        assert_eq!(mean_interval(&[1.0]), None);
        // the pooled share's interval holds the share; one call has none
        let calls = [
            (Some(10_000.0), Some(100_000.0)),
            (Some(30_000.0), Some(50_000.0)),
            (Some(12_000.0), Some(60_000.0)),
        ];
        let (v, n, ci) = non_talk_share_with_interval(calls);
        let (lo, hi) = ci.unwrap();
        assert!(
            n == 3 && lo < v.unwrap() && v.unwrap() < hi && lo >= 0.0,
            "{lo} {hi}"
        );
        assert_eq!(non_talk_share_with_interval([calls[0]]).2, None);
    }

    #[test]
    fn unknown_topics_make_an_unknown_complaint_not_a_zero() {
        assert_eq!(complaint(&[None, None]), None);
        assert_eq!(complaint(&[Some(false), None]), None);
        assert_eq!(complaint(&[Some(false), Some(false)]), Some(false));
        assert_eq!(complaint(&[None, Some(true)]), Some(true));
        assert_eq!(complaint(&[]), None);
        assert_eq!([10.0, 8.0, 6.0].map(nps_points), [100.0, 0.0, -100.0]);
    }
}
