//! The measures more than one command shows, each defined once (docs/measures.md lists every
//! measure of the report and the scorecard with its formula and its n). Each takes per-call
//! values, where `None` is unknown: unknown values are left out of both the numerator and
//! the denominator, never counted as zero, and a measure with no known call is `None`.

/// Non-talk share, in percent: the calls' non-talk time over their duration, **pooled** (the
/// sum of non-talk time over the sum of duration, so a long call weighs more than a short one),
/// over the calls where both are known; with `n`, the number of those calls. `None` when no
/// call has both (or their durations add up to zero). Items: (non-talk ms, duration ms).
pub fn non_talk_share_pct(
    calls: impl IntoIterator<Item = (Option<f64>, Option<f64>)>,
) -> (Option<f64>, usize) {
    let (mut non_talk, mut duration, mut n) = (0.0, 0.0, 0);
    for (nt, d) in calls {
        if let (Some(nt), Some(d)) = (nt, d) {
            non_talk += nt;
            duration += d;
            n += 1;
        }
    }
    ((duration > 0.0).then(|| 100.0 * non_talk / duration), n)
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
        let (v, n) = non_talk_share_pct(calls);
        assert_eq!(n, 2);
        assert!((v.unwrap() - 100.0 * 40.0 / 150.0).abs() < 1e-9);
        assert_eq!(non_talk_share_pct([(None, Some(1.0))]), (None, 0));
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
