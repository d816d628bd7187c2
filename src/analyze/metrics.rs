//! Conversation metrics in the sense contact-centre analysts know from Amazon Transcribe Call
//! Analytics / Contact Lens (TalkTime, NonTalkTime, Interruptions, TalkSpeed), in milliseconds.
//!
//! Input is the voice activity of each channel (speech intervals, unpadded) plus word counts.
//! Stereo calls get every metric; mono calls (both parties mixed, roles unknown) get only what
//! can be measured without knowing who speaks, and nulls elsewhere — never invented values.

use serde::Serialize;

/// A time interval in milliseconds, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Span {
    pub fn len(&self) -> i64 {
        (self.end_ms - self.start_ms).max(0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Thresholds; written into the output metadata with the run settings.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MetricParams {
    /// Silences of both parties at least this long are non-talk instances (Contact Lens: 3 s;
    /// Google CCAI counts only > 5 s).
    pub non_talk_min_ms: i64,
    /// An agent-side silence at least this long, while the customer is mostly silent too, is
    /// a hold.
    pub hold_min_ms: i64,
    /// Overlap shorter than this at the start of a turn is back-channel, not an interruption.
    pub interruption_tolerance_ms: i64,
    /// Customer→agent gaps longer than this are not counted as response latency.
    pub max_latency_ms: i64,
}

impl Default for MetricParams {
    fn default() -> Self {
        MetricParams {
            non_talk_min_ms: 3_000,
            hold_min_ms: 8_000,
            interruption_tolerance_ms: 300,
            max_latency_ms: 10_000,
        }
    }
}

/// Voice activity and words of one channel.
#[derive(Debug, Clone, Default)]
pub struct ChannelActivity {
    /// Sorted, non-overlapping speech intervals.
    pub speech: Vec<Span>,
    pub words: usize,
    /// Mean level of the speech frames in dBFS, if any speech.
    pub loudness_db: Option<f32>,
    /// Sorted stretches of music (hold music) on this channel; not part of `speech`.
    pub music: Vec<Span>,
}

/// Metrics of one interaction. `None` = not measurable for this recording.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    pub talk_time_ms: i64,
    pub talk_time_agent_ms: Option<i64>,
    pub talk_time_customer_ms: Option<i64>,
    pub non_talk_time_ms: i64,
    pub non_talk_instances: Vec<Span>,
    pub longest_silence_ms: i64,
    pub hold_count: Option<i32>,
    pub hold_time_ms: Option<i64>,
    pub holds: Vec<Span>,
    /// Music on the agent channel (mono: on the line), in ms.
    pub hold_music_ms: Option<i64>,
    /// Holds preceded by a hold-permission request / followed by thanks; set by
    /// [`hold_etiquette`] once the rules have run. `None` where holds are not measured.
    pub holds_announced: Option<i32>,
    pub holds_thanked: Option<i32>,
    pub interruptions_agent: Option<i32>,
    pub interruptions_customer: Option<i32>,
    pub overtalk_ms: Option<i64>,
    pub talk_speed_agent_wpm: Option<f64>,
    pub talk_speed_customer_wpm: Option<f64>,
    /// Mono recordings: words per minute of all speech.
    pub talk_speed_wpm: Option<f64>,
    pub loudness_agent_db: Option<f64>,
    pub loudness_customer_db: Option<f64>,
    pub agent_response_latency_ms: Option<i64>,
    pub talk_listen_ratio: Option<f64>,
}

/// Union of sorted span lists.
pub fn union(a: &[Span], b: &[Span]) -> Vec<Span> {
    let mut all: Vec<Span> = a
        .iter()
        .chain(b)
        .copied()
        .filter(|s| !s.is_empty())
        .collect();
    all.sort_by_key(|s| s.start_ms);
    let mut out: Vec<Span> = Vec::new();
    for s in all {
        match out.last_mut() {
            Some(l) if s.start_ms <= l.end_ms => l.end_ms = l.end_ms.max(s.end_ms),
            _ => out.push(s),
        }
    }
    out
}

/// Intersection of two sorted, non-overlapping span lists.
pub fn intersection(a: &[Span], b: &[Span]) -> Vec<Span> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let s = a[i].start_ms.max(b[j].start_ms);
        let e = a[i].end_ms.min(b[j].end_ms);
        if s < e {
            out.push(Span {
                start_ms: s,
                end_ms: e,
            });
        }
        if a[i].end_ms < b[j].end_ms {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Gaps between `speech` within [0, duration).
pub fn gaps(speech: &[Span], duration_ms: i64) -> Vec<Span> {
    let mut out = Vec::new();
    let mut t = 0;
    for s in speech {
        if s.start_ms > t {
            out.push(Span {
                start_ms: t,
                end_ms: s.start_ms,
            });
        }
        t = t.max(s.end_ms);
    }
    if duration_ms > t {
        out.push(Span {
            start_ms: t,
            end_ms: duration_ms,
        });
    }
    out
}

fn total(spans: &[Span]) -> i64 {
    spans.iter().map(Span::len).sum()
}

fn wpm(words: usize, ms: i64) -> Option<f64> {
    (ms > 0).then(|| words as f64 / (ms as f64 / 60_000.0))
}

/// Count turns of `speaker` that start while `other` has been speaking for longer than the
/// tolerance and keeps speaking past it.
fn interruptions(speaker: &[Span], other: &[Span], tol: i64) -> i32 {
    speaker
        .iter()
        .filter(|s| {
            other
                .iter()
                .any(|o| o.start_ms + tol <= s.start_ms && o.end_ms >= s.start_ms + tol)
        })
        .count() as i32
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

/// Metrics for a stereo call (agent and customer channels) or a mono one (`customer = None`).
pub fn compute(
    agent_or_mixed: &ChannelActivity,
    customer: Option<&ChannelActivity>,
    duration_ms: i64,
    p: &MetricParams,
) -> Metrics {
    let Some(cust) = customer else {
        let speech = union(&agent_or_mixed.speech, &[]);
        let silences = gaps(&speech, duration_ms);
        let non_talk: Vec<Span> = silences
            .iter()
            .copied()
            .filter(|g| g.len() >= p.non_talk_min_ms)
            .collect();
        return Metrics {
            talk_time_ms: total(&speech),
            non_talk_time_ms: total(&non_talk),
            non_talk_instances: non_talk,
            longest_silence_ms: silences.iter().map(Span::len).max().unwrap_or(0),
            talk_speed_wpm: wpm(agent_or_mixed.words, total(&speech)),
            hold_music_ms: Some(total(&agent_or_mixed.music)),
            ..Default::default()
        };
    };
    let agent = agent_or_mixed;
    let both = union(&agent.speech, &cust.speech);
    let silences = gaps(&both, duration_ms);
    let non_talk: Vec<Span> = silences
        .iter()
        .copied()
        .filter(|g| g.len() >= p.non_talk_min_ms)
        .collect();
    let (agent_ms, cust_ms) = (total(&agent.speech), total(&cust.speech));

    // holds: long agent silences, inside the call (after the agent first spoke), during which
    // the customer speaks for less than a fifth of the time
    let first_agent = agent.speech.first().map_or(duration_ms, |s| s.start_ms);
    let last_agent = agent.speech.last().map_or(0, |s| s.end_ms);
    let holds: Vec<Span> = gaps(&agent.speech, duration_ms)
        .into_iter()
        .filter(|g| g.start_ms >= first_agent && g.end_ms <= last_agent && g.len() >= p.hold_min_ms)
        .filter(|g| total(&intersection(&[*g], &cust.speech)) * 5 < g.len())
        .collect();

    // response latency: customer turn end → next agent speech start, when the agent waits
    let mut latencies = Vec::new();
    for c in &cust.speech {
        let next_agent = agent.speech.iter().find(|a| a.start_ms >= c.end_ms);
        let next_cust = cust.speech.iter().find(|x| x.start_ms > c.end_ms);
        if let Some(a) = next_agent {
            let customer_resumes_first = next_cust.is_some_and(|x| x.start_ms < a.start_ms);
            let gap = a.start_ms - c.end_ms;
            if !customer_resumes_first && gap <= p.max_latency_ms {
                latencies.push(gap);
            }
        }
    }

    Metrics {
        talk_time_ms: total(&both),
        talk_time_agent_ms: Some(agent_ms),
        talk_time_customer_ms: Some(cust_ms),
        non_talk_time_ms: total(&non_talk),
        non_talk_instances: non_talk,
        longest_silence_ms: silences.iter().map(Span::len).max().unwrap_or(0),
        hold_count: Some(holds.len() as i32),
        hold_time_ms: Some(total(&holds)),
        holds_announced: Some(0),
        holds_thanked: Some(0),
        holds,
        hold_music_ms: Some(total(&agent.music)),
        interruptions_agent: Some(interruptions(
            &agent.speech,
            &cust.speech,
            p.interruption_tolerance_ms,
        )),
        interruptions_customer: Some(interruptions(
            &cust.speech,
            &agent.speech,
            p.interruption_tolerance_ms,
        )),
        overtalk_ms: Some(total(&intersection(&agent.speech, &cust.speech))),
        talk_speed_agent_wpm: wpm(agent.words, agent_ms),
        talk_speed_customer_wpm: wpm(cust.words, cust_ms),
        talk_speed_wpm: None,
        loudness_agent_db: agent.loudness_db.map(f64::from),
        loudness_customer_db: cust.loudness_db.map(f64::from),
        agent_response_latency_ms: median(latencies),
        talk_listen_ratio: (cust_ms > 0).then(|| agent_ms as f64 / cust_ms as f64),
    }
}

/// How far before a hold a permission request, and after it the thanks, may be.
pub const HOLD_ETIQUETTE_MS: i64 = 60_000;

/// Link measured holds to rule hits: a hold is announced when a `before` hit (e.g. "may I
/// place you on hold") ends at most [`HOLD_ETIQUETTE_MS`] before it starts, and thanked when
/// an `after` hit ("thank you for holding") starts at most that long after it ends. A hit may
/// overlap the hold's edge by a second (VAD and segment boundaries differ slightly).
pub fn hold_etiquette(m: &mut Metrics, before: &[Span], after: &[Span]) {
    if m.hold_count.is_none() {
        return;
    }
    const EDGE: i64 = 1_000;
    let announced = m
        .holds
        .iter()
        .filter(|h| {
            before.iter().any(|b| {
                b.end_ms <= h.start_ms + EDGE && b.end_ms >= h.start_ms - HOLD_ETIQUETTE_MS
            })
        })
        .count();
    let thanked = m
        .holds
        .iter()
        .filter(|h| {
            after.iter().any(|a| {
                a.start_ms >= h.end_ms - EDGE && a.start_ms <= h.end_ms + HOLD_ETIQUETTE_MS
            })
        })
        .count();
    m.holds_announced = Some(announced as i32);
    m.holds_thanked = Some(thanked as i32);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(v: &[(i64, i64)]) -> Vec<Span> {
        v.iter()
            .map(|&(s, e)| Span {
                start_ms: s,
                end_ms: e,
            })
            .collect()
    }

    fn ch(v: &[(i64, i64)], words: usize) -> ChannelActivity {
        ChannelActivity {
            speech: sp(v),
            words,
            loudness_db: Some(-20.0),
            music: Vec::new(),
        }
    }

    #[test]
    fn hand_checked_stereo_call() {
        // agent: 0-5 s, 6-10 s, [12 s agent silence = hold], 22-30 s
        // customer: 5.5-6 s (reply), 9-14 s (starts 1 s before agent stops: interruption),
        //           29.5-31 s (0.5 s overtalk at the agent's end: interruption)
        let agent = ch(&[(0, 5_000), (6_000, 10_000), (22_000, 30_000)], 50);
        let cust = ch(&[(5_500, 6_000), (9_000, 14_000), (29_500, 31_000)], 20);
        let m = compute(&agent, Some(&cust), 33_000, &MetricParams::default());
        assert_eq!(m.talk_time_agent_ms, Some(17_000));
        assert_eq!(m.talk_time_customer_ms, Some(7_000));
        // union: 0-5, 5.5-14, 22-31
        assert_eq!(m.talk_time_ms, 5_000 + 8_500 + 9_000);
        // silences: 5.0-5.5, 14-22 (8 s), 31-33 (2 s) -> one instance >= 3 s
        assert_eq!(m.non_talk_instances, sp(&[(14_000, 22_000)]));
        assert_eq!(m.non_talk_time_ms, 8_000);
        assert_eq!(m.longest_silence_ms, 8_000);
        // agent silent 10-22 s (12 s), customer speaks 10-14 (4 s = 33%) -> not a hold
        assert_eq!(m.hold_count, Some(0));
        assert_eq!(m.interruptions_customer, Some(2));
        assert_eq!(m.interruptions_agent, Some(0));
        assert_eq!(m.overtalk_ms, Some(1_000 + 500));
        assert_eq!(m.talk_speed_agent_wpm, Some(50.0 / (17.0 / 60.0)));
        // customer 5.5-6 ends -> agent at 6.0: 0 ms; 9-14 -> agent 22 s: 8 s; 31 -> none
        assert_eq!(m.agent_response_latency_ms, Some(4_000));
        assert!((m.talk_listen_ratio.unwrap() - 17.0 / 7.0).abs() < 1e-9);
    }

    #[test]
    fn silent_customer_during_agent_silence_is_a_hold() {
        let agent = ch(&[(0, 4_000), (20_000, 25_000)], 10);
        let cust = ch(&[(4_500, 5_500), (26_000, 27_000)], 4);
        let m = compute(&agent, Some(&cust), 28_000, &MetricParams::default());
        assert_eq!(m.hold_count, Some(1));
        assert_eq!(m.holds, sp(&[(4_000, 20_000)]));
        assert_eq!(m.hold_time_ms, Some(16_000));
    }

    #[test]
    fn music_on_the_agent_channel_is_a_hold_and_holds_link_to_etiquette_hits() {
        // agent: 0-4 s, hold music 5-19 s, 20-25 s; customer silent in between
        let mut agent = ch(&[(0, 4_000), (20_000, 25_000)], 10);
        agent.music = sp(&[(5_000, 19_000)]);
        let cust = ch(&[(26_000, 27_000)], 4);
        let mut m = compute(&agent, Some(&cust), 28_000, &MetricParams::default());
        assert_eq!(m.holds, sp(&[(4_000, 20_000)]));
        assert_eq!(m.hold_music_ms, Some(14_000));
        assert_eq!(m.talk_time_agent_ms, Some(9_000));
        // asked at 1-3.8 s, thanked at 20 s
        hold_etiquette(&mut m, &sp(&[(1_000, 3_800)]), &sp(&[(20_000, 22_000)]));
        assert_eq!((m.holds_announced, m.holds_thanked), (Some(1), Some(1)));
        // one request before the first of two holds; the second starts 71 s after it
        let mut two = compute(
            &ch(&[(0, 2_000), (70_000, 71_000), (90_000, 95_000)], 5),
            Some(&cust),
            96_000,
            &MetricParams::default(),
        );
        hold_etiquette(&mut two, &sp(&[(0, 1_000)]), &[]);
        assert_eq!(two.hold_count, Some(2));
        assert_eq!((two.holds_announced, two.holds_thanked), (Some(1), Some(0)));
    }

    #[test]
    fn mono_gets_only_what_can_be_measured() {
        let mixed = ch(&[(0, 2_000), (6_000, 8_000)], 12);
        let m = compute(&mixed, None, 10_000, &MetricParams::default());
        assert_eq!(m.talk_time_ms, 4_000);
        assert_eq!(m.non_talk_instances, sp(&[(2_000, 6_000)]));
        assert_eq!(m.talk_time_agent_ms, None);
        assert_eq!(m.interruptions_agent, None);
        assert_eq!(m.hold_count, None);
        assert_eq!(m.talk_speed_wpm, Some(12.0 / (4.0 / 60.0)));
    }

    #[test]
    fn span_algebra() {
        assert_eq!(
            union(&sp(&[(0, 5), (10, 20)]), &sp(&[(3, 12)])),
            sp(&[(0, 20)])
        );
        assert_eq!(
            intersection(&sp(&[(0, 5), (10, 20)]), &sp(&[(3, 12)])),
            sp(&[(3, 5), (10, 12)])
        );
        assert_eq!(gaps(&sp(&[(2, 5)]), 8), sp(&[(0, 2), (5, 8)]));
    }
}
