//! Analyze: turns what was heard (speech regions per channel, transcribed segments) into the
//! features analysts use. Pure computation over in-memory data; does no I/O.

pub mod metrics;
pub mod names;
pub mod pii;
pub mod roles;
pub mod rules;
pub mod semantic;
pub mod sentiment;

use crate::conversation::{self, Role, SegmentRow};
use metrics::ChannelActivity;

/// What the analysis of one call needs from the run's settings.
pub struct Settings<'a> {
    /// The agent's and the customer's index in `activity` (their `SegmentRow::speaker`): the
    /// channels of a stereo call, the diarized speakers of a mono one; `None` when who speaks is
    /// not known (a mono call not diarized, or one voice).
    pub sides: Option<(usize, usize)>,
    pub metrics: metrics::MetricParams,
    pub redact_pii: bool,
    pub rules: &'a rules::RuleSet,
    /// The semantic rules layer: the embedding model and the pack's calibrated heads.
    pub semantic: Option<(&'a dyn semantic::Embed, &'a semantic::Heads)>,
    /// How the roles were found (stereo channels, or diarization); `None` when not looked for.
    pub cast: Option<roles::Cast>,
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(
        "the sentence-embedding model failed: {0}\nhint: run without --semantic, and report this with the file"
    )]
    Embed(String),
}

/// What the analysis of one call found: every analytic column of its `interactions` row, its
/// rule hits and its (redacted) segments.
#[derive(Debug, Clone, PartialEq)]
pub struct CallAnalysis {
    /// Words per role; `None` on mono recordings.
    pub agent_words: Option<i32>,
    pub customer_words: Option<i32>,
    pub total_words: i32,
    /// Number of PII redactions; `None` when redaction is off.
    pub pii_redactions: Option<i32>,
    pub sentiment: sentiment::CallSentiment,
    pub metrics: metrics::Metrics,
    /// Times the agent says the customer's name; `None` on mono recordings.
    pub customer_name_uses: Option<i32>,
    /// Rule hits (evidence), already redacted.
    pub hits: Vec<rules::Hit>,
    /// Per category of the rule set: fired or not; `None` where it cannot be judged
    /// (role-specific categories on mono recordings).
    pub categories: Vec<Option<bool>>,
    pub transcript: String,
    /// The segments, redacted and scored, in time order.
    pub segments: Vec<SegmentRow>,
    /// How the roles were found.
    pub cast: Option<roles::Cast>,
}

/// Everything after transcription, for one call: word counts, PII redaction (before any text
/// is kept), sentiment, conversation metrics, customer-name use, rules and hold etiquette.
/// `activity` has one entry per speaker (`SegmentRow::speaker`).
pub fn analyze_call(
    mut segments: Vec<SegmentRow>,
    activity: &[ChannelActivity],
    duration: i64,
    s: &Settings,
) -> Result<CallAnalysis, AnalyzeError> {
    let mut activity = activity.to_vec();
    let speakers = activity.len();
    // both roles known: per-role words, metrics and categories
    let stereo = s.sides.is_some();
    let agent_words = stereo.then(|| conversation::words_of(&segments, Role::Agent) as i32);
    let customer_words = stereo.then(|| conversation::words_of(&segments, Role::Customer) as i32);
    let total_words = segments
        .iter()
        .map(|s| conversation::word_count(&s.text))
        .sum::<usize>() as i32;
    let pii_redactions = s
        .redact_pii
        .then(|| redact_pii(&mut segments, speakers, &s.rules.pii) as i32);
    for (k, a) in activity.iter_mut().enumerate() {
        a.words = segments
            .iter()
            .filter(|s| s.speaker == k as i32)
            .map(|s| conversation::word_count(&s.text))
            .sum();
    }
    for seg in &mut segments {
        seg.sentiment = sentiment::score(&seg.text);
    }
    let sentiment = sentiment::aggregate(&segments, duration, stereo);
    let mut call_metrics = if let Some((agent, customer)) = s.sides {
        metrics::compute(
            &activity[agent],
            Some(&activity[customer]),
            duration,
            &s.metrics,
        )
    } else {
        metrics::compute(&activity[0], None, duration, &s.metrics)
    };
    segments.sort_by_key(|s| (s.start_ms, s.speaker));
    // rules match on turns (a speaker's consecutive segments), so a phrase that ASR split
    // across two segments still matches and the evidence is the whole turn
    let turns = conversation::turns(&segments);
    let names = names::customer_names(&turns);
    let customer_name_uses = names::agent_name_uses(&turns, &names);
    let mut hits = s.rules.evaluate(&turns, duration, &names);
    if let Some((model, heads)) = s.semantic {
        let texts: Vec<&str> = turns.iter().map(|t| t.text.as_str()).collect();
        let embeddings = model.embed(&texts).map_err(AnalyzeError::Embed)?;
        let more = semantic::hits(s.rules, heads, &turns, &embeddings, duration, &names, &hits);
        hits.extend(more);
    }
    hold_etiquette(&mut call_metrics, &hits, s.rules);
    let categories = s
        .rules
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (stereo || c.works_without_roles()).then(|| hits.iter().any(|h| h.category == i))
        })
        .collect();
    Ok(CallAnalysis {
        agent_words,
        customer_words,
        total_words,
        pii_redactions,
        sentiment,
        metrics: call_metrics,
        customer_name_uses,
        hits,
        categories,
        transcript: conversation::transcript(&turns),
        segments,
        cast: s.cast.clone(),
    })
}

/// Holds announced before and thanked after, from the hits of the categories linked to holds.
fn hold_etiquette(m: &mut metrics::Metrics, hits: &[rules::Hit], rules: &rules::RuleSet) {
    let spans = |link: rules::HoldLink| -> Vec<metrics::Span> {
        hits.iter()
            .filter(|h| rules.categories[h.category].hold == Some(link))
            .map(|h| metrics::Span {
                start_ms: h.start_ms,
                end_ms: h.end_ms,
            })
            .collect()
    };
    metrics::hold_etiquette(
        m,
        &spans(rules::HoldLink::Before),
        &spans(rules::HoldLink::After),
    );
}

/// Redact each speaker's texts, in time order, with the other speakers as context (taken from
/// the original text, in memory only). Returns the number of redactions.
fn redact_pii(segments: &mut [SegmentRow], speakers: usize, policy: &pii::Policy) -> usize {
    segments.sort_by_key(|s| (s.speaker, s.start_ms));
    let mut redactions = 0;
    // context from the other channel is taken from the original text, in memory only
    let originals: Vec<(i32, i64, String)> = segments
        .iter()
        .map(|s| (s.speaker, s.start_ms, s.text.to_lowercase()))
        .collect();
    for ch in 0..speakers as i32 {
        let idx: Vec<usize> = (0..segments.len())
            .filter(|&i| segments[i].speaker == ch)
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
        let (n, pieces) = pii::redact_channel_marked(
            &mut texts,
            &pii::OtherSide {
                seg_start_ms: &starts,
                segments: &other,
            },
            policy,
        );
        redactions += n;
        for (k, (i, t)) in idx.into_iter().zip(texts).enumerate() {
            let mine: Vec<&pii::Redacted> = pieces.iter().filter(|p| p.segment == k).collect();
            let seg = &mut segments[i];
            seg.redactions = timed(seg, &mine);
            seg.text = t;
            // the word times describe the text before redaction
            seg.times.clear();
        }
    }
    redactions
}

/// When each redacted piece of a segment was said, from its word times; `None` when a piece
/// cannot be timed (no word times: the whole segment is to be treated as sensitive).
fn timed(seg: &SegmentRow, pieces: &[&pii::Redacted]) -> Option<Vec<conversation::Redaction>> {
    pieces
        .iter()
        .map(|p| {
            seg.time_of(p.from, p.to)
                .map(|(start_ms, end_ms)| conversation::Redaction {
                    kind: p.label.to_string(),
                    start_ms,
                    end_ms,
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{Redaction, TextTime};

    fn seg(channel: i32, start_ms: i64, end_ms: i64, text: &str) -> SegmentRow {
        SegmentRow {
            role: if channel == 0 {
                Role::Agent
            } else {
                Role::Customer
            },
            channel,
            speaker: channel,
            start_ms,
            end_ms,
            text: text.into(),
            sentiment: 0.0,
            avg_token_prob: 0.9,
            no_speech_prob: 0.0,
            times: Vec::new(),
            redactions: None,
        }
    }

    #[test]
    fn redactions_are_timed_by_the_word_times_or_left_unknown() {
        let mut segs = vec![
            seg(0, 0, 2_000, "Can I take the long card number please?"),
            seg(1, 3_000, 8_000, "It is 4539 1488 0343 6467."),
            seg(1, 9_000, 10_000, "Thank you."),
        ];
        // whisper's pieces: " It", " is", " 4539", " 1488", " 0343", " 6467", "."
        segs[1].times = [(0, 3_100), (2, 3_400), (5, 4_000), (10, 5_000), (15, 6_000)]
            .into_iter()
            .chain([(20, 7_000), (25, 7_800)])
            .map(|(byte, ms)| TextTime { byte, ms })
            .collect();
        assert_eq!(redact_pii(&mut segs, 2, &pii::Policy::default()), 1);
        let answer = segs.iter().find(|s| s.start_ms == 3_000).unwrap();
        assert_eq!(answer.text, "It is [CARD_NUMBER].");
        // from the word before the number to the full stop after it
        assert_eq!(
            answer.redactions,
            Some(vec![Redaction {
                kind: "CARD_NUMBER".into(),
                start_ms: 3_400,
                end_ms: 7_800
            }])
        );
        assert!(
            answer.times.is_empty(),
            "times describe the unredacted text"
        );
        // nothing redacted: known to be empty
        let thanks = segs.iter().find(|s| s.start_ms == 9_000).unwrap();
        assert_eq!(thanks.redactions, Some(Vec::new()));
        // a redaction without word times: not known
        let mut segs = vec![seg(1, 3_000, 8_000, "It is 4539 1488 0343 6467.")];
        redact_pii(&mut segs, 2, &pii::Policy::default());
        assert_eq!(segs[0].redactions, None);
    }
}
