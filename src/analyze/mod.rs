//! Analyze: turns what was heard (speech regions per channel, transcribed segments) into the
//! features analysts use. Pure computation over in-memory data; does no I/O.

pub mod metrics;
pub mod names;
pub mod pii;
pub mod rules;
pub mod sentiment;

use crate::features;
use crate::record::{Interaction, Role, SegmentRow};
use metrics::ChannelActivity;

/// What the analysis of one call needs from the run's settings.
pub struct Settings<'a> {
    /// Index of the agent's channel in stereo recordings.
    pub agent_channel: usize,
    pub metrics: metrics::MetricParams,
    pub redact_pii: bool,
    pub rules: &'a rules::RuleSet,
}

/// Everything after transcription, for one call: word counts, PII redaction (before any text
/// is kept), sentiment, conversation metrics, customer-name use, rules and hold etiquette.
/// `activity` has one entry per channel; fills `row` and moves the segments into it.
pub fn analyze_call(
    row: &mut Interaction,
    mut segments: Vec<SegmentRow>,
    activity: &[ChannelActivity],
    duration: i64,
    s: &Settings,
) {
    let mut activity = activity.to_vec();
    let channels = activity.len();
    let stereo = channels == 2;
    row.agent_words = stereo.then(|| features::words_of(&segments, Role::Agent) as i32);
    row.customer_words = stereo.then(|| features::words_of(&segments, Role::Customer) as i32);
    row.total_words = Some(
        segments
            .iter()
            .map(|s| features::word_count(&s.text))
            .sum::<usize>() as i32,
    );
    if s.redact_pii {
        // redact per channel, in time order, before any text is kept
        segments.sort_by_key(|s| (s.channel, s.start_ms));
        let mut redactions = 0;
        // context from the other channel is taken from the original text, in memory only
        let originals: Vec<(i32, i64, String)> = segments
            .iter()
            .map(|s| (s.channel, s.start_ms, s.text.to_lowercase()))
            .collect();
        for ch in 0..channels as i32 {
            let idx: Vec<usize> = (0..segments.len())
                .filter(|&i| segments[i].channel == ch)
                .collect();
            let starts: Vec<i64> = idx.iter().map(|&i| segments[i].start_ms).collect();
            let other: Vec<(i64, String)> = originals
                .iter()
                .filter(|o| o.0 != ch)
                .map(|o| (o.1, o.2.clone()))
                .collect();
            let mut texts: Vec<String> = idx
                .iter()
                .map(|&i| std::mem::take(&mut segments[i].text))
                .collect();
            redactions += pii::redact_channel(
                &mut texts,
                &pii::OtherSide {
                    seg_start_ms: &starts,
                    segments: &other,
                },
                &s.rules.pii,
            );
            for (i, t) in idx.into_iter().zip(texts) {
                segments[i].text = t;
            }
        }
        row.pii_redactions = Some(redactions as i32);
    }
    for (ch, a) in activity.iter_mut().enumerate() {
        a.words = segments
            .iter()
            .filter(|s| s.channel == ch as i32)
            .map(|s| features::word_count(&s.text))
            .sum();
    }
    for seg in &mut segments {
        seg.sentiment = sentiment::score(&seg.text);
    }
    row.sentiment = Some(sentiment::aggregate(&segments, duration, stereo));
    let mut call_metrics = if stereo {
        let agent = s.agent_channel;
        metrics::compute(
            &activity[agent],
            Some(&activity[1 - agent]),
            duration,
            &s.metrics,
        )
    } else {
        metrics::compute(&activity[0], None, duration, &s.metrics)
    };
    segments.sort_by_key(|s| (s.start_ms, s.channel));
    // rules match on turns (a speaker's consecutive segments), so a phrase that ASR split
    // across two segments still matches and the evidence is the whole turn
    let turns = features::turns(&segments);
    let utterances: Vec<rules::Utterance> = turns
        .iter()
        .map(|t| rules::Utterance {
            role: t.role,
            start_ms: t.start_ms,
            end_ms: t.end_ms,
            text: &t.text,
        })
        .collect();
    let names = names::customer_names(&utterances);
    row.customer_name_uses = names::agent_name_uses(&utterances, &names);
    row.hits = s.rules.evaluate(&utterances, duration, &names);
    let hold_hits = |link: rules::HoldLink| -> Vec<metrics::Span> {
        row.hits
            .iter()
            .filter(|h| s.rules.categories[h.category].hold == Some(link))
            .map(|h| metrics::Span {
                start_ms: h.start_ms,
                end_ms: h.end_ms,
            })
            .collect()
    };
    metrics::hold_etiquette(
        &mut call_metrics,
        &hold_hits(rules::HoldLink::Before),
        &hold_hits(rules::HoldLink::After),
    );
    row.metrics = Some(call_metrics);
    row.categories = s
        .rules
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (stereo || c.works_without_roles()).then(|| row.hits.iter().any(|h| h.category == i))
        })
        .collect();
    row.transcript = Some(features::transcript(&turns));
    row.segment_count = Some(segments.len() as i32);
    row.segments = segments;
}
