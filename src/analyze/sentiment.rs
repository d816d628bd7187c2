//! Sentiment: VADER (the `vader_sentiment` crate, the Hutto & Gilbert lexicon and rules) on
//! each transcribed segment, then per role for the whole call and per quarter of the call, and
//! the customer's change from the first to the last quarter — the same shape as Amazon
//! Transcribe Call Analytics' sentiment, on its −5…+5 scale (VADER's compound score × 5).
//! Pure computation on already redacted text; no I/O.

use std::sync::OnceLock;

use vader_sentiment::SentimentIntensityAnalyzer;

use crate::conversation::{Role, SegmentRow};

fn analyzer() -> &'static SentimentIntensityAnalyzer<'static> {
    static A: OnceLock<SentimentIntensityAnalyzer<'static>> = OnceLock::new();
    A.get_or_init(SentimentIntensityAnalyzer::new)
}

/// Sentiment of one piece of text, −5 (very negative) … +5 (very positive); 0 is neutral.
pub fn score(text: &str) -> f32 {
    let compound = analyzer()
        .polarity_scores(text)
        .get("compound")
        .copied()
        .unwrap_or(0.0);
    (compound * 5.0) as f32
}

/// Sentiment of a call. Scores are means over segments weighted by their word counts, so a
/// long complaint weighs more than a short "okay"; `None` where a party (or a quarter) has no
/// words, and per-role values are `None` on mono recordings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallSentiment {
    /// All speech, whoever speaks (the only value for mono recordings).
    pub overall: Option<f32>,
    pub agent: Option<f32>,
    pub customer: Option<f32>,
    /// Quarters of the call's duration; a segment belongs to the quarter of its midpoint.
    pub agent_quarters: [Option<f32>; 4],
    pub customer_quarters: [Option<f32>; 4],
    /// Customer's last quarter minus first quarter; `None` unless the customer said at least
    /// [`MIN_CHANGE_WORDS`] words in both.
    pub customer_change: Option<f32>,
}

/// Words the customer must say in the first and in the last quarter before their change is
/// computed: a "yes" against a "thanks, bye" is no change of mood.
pub const MIN_CHANGE_WORDS: usize = 8;

#[derive(Default, Clone, Copy)]
struct Acc {
    sum: f64,
    words: usize,
}

impl Acc {
    fn add(&mut self, score: f32, words: usize) {
        self.sum += score as f64 * words as f64;
        self.words += words;
    }
    fn mean(self) -> Option<f32> {
        (self.words > 0).then(|| (self.sum / self.words as f64) as f32)
    }
}

/// Aggregate scored segments (`SegmentRow::sentiment`) over a call of `duration_ms`.
pub fn aggregate(segments: &[SegmentRow], duration_ms: i64, stereo: bool) -> CallSentiment {
    let (mut all, mut agent, mut cust) = (Acc::default(), Acc::default(), Acc::default());
    let (mut aq, mut cq) = ([Acc::default(); 4], [Acc::default(); 4]);
    for s in segments {
        let words = crate::conversation::word_count(&s.text);
        if words == 0 {
            continue;
        }
        let mid = (s.start_ms + s.end_ms) / 2;
        let q = if duration_ms > 0 {
            ((mid.clamp(0, duration_ms - 1) * 4) / duration_ms) as usize
        } else {
            0
        };
        all.add(s.sentiment, words);
        match s.role {
            Role::Agent => {
                agent.add(s.sentiment, words);
                aq[q].add(s.sentiment, words);
            }
            Role::Customer => {
                cust.add(s.sentiment, words);
                cq[q].add(s.sentiment, words);
            }
            Role::Unknown => {}
        }
    }
    if !stereo {
        return CallSentiment {
            overall: all.mean(),
            ..Default::default()
        };
    }
    let customer_quarters = cq.map(Acc::mean);
    let enough = |a: Acc| a.words >= MIN_CHANGE_WORDS;
    CallSentiment {
        overall: all.mean(),
        agent: agent.mean(),
        customer: cust.mean(),
        agent_quarters: aq.map(Acc::mean),
        customer_change: customer_quarters[3]
            .zip(customer_quarters[0])
            .filter(|_| enough(cq[0]) && enough(cq[3]))
            .map(|(last, first)| last - first),
        customer_quarters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(role: Role, start_ms: i64, text: &str) -> SegmentRow {
        SegmentRow {
            role,
            channel: (role == Role::Customer) as i32,
            speaker: (role == Role::Customer) as i32,
            start_ms,
            end_ms: start_ms + 2_000,
            sentiment: score(text),
            text: text.into(),
            avg_token_prob: 0.9,
            no_speech_prob: 0.0,
            times: Vec::new(),
            redactions: None,
        }
    }

    #[test]
    fn scores_have_the_right_sign_and_scale() {
        assert!(score("This is terrible, I am really angry and frustrated.") < -2.5);
        assert!(score("That is great news, thank you so much, I really appreciate it.") > 2.5);
        assert_eq!(score("The parcel is at the depot in Leeds."), 0.0);
        assert_eq!(score(""), 0.0);
        // negation is understood
        assert!(score("This is not good.") < 0.0);
    }

    #[test]
    fn quarters_roles_and_change() {
        let segs = vec![
            seg(
                Role::Customer,
                1_000,
                "This is ridiculous, I am furious with the service.",
            ),
            seg(
                Role::Agent,
                12_000,
                "I am sorry to hear that, I will help you.",
            ),
            seg(Role::Customer, 36_000, "Okay."),
            seg(
                Role::Customer,
                35_000,
                "Wonderful, thank you so much for sorting it out!",
            ),
        ];
        let s = aggregate(&segs, 40_000, true);
        let (q1, q4) = (
            s.customer_quarters[0].unwrap(),
            s.customer_quarters[3].unwrap(),
        );
        assert!(q1 < -2.0 && q4 > 2.0, "{s:?}");
        assert_eq!(s.customer_quarters[1], None);
        assert!((s.customer_change.unwrap() - (q4 - q1)).abs() < 1e-6);
        assert!(s.agent_quarters[1].is_some() && s.agent_quarters[0].is_none());
        // "Okay." has one word; the nine-word segment dominates the quarter
        assert!(
            q4 > score("Okay.") && q4 < score("Wonderful, thank you so much for sorting it out!")
        );
        // too few words at either end: no change is claimed
        let short = [
            seg(Role::Customer, 1_000, "No."),
            seg(Role::Customer, 35_000, "Wonderful, thank you so much!"),
        ];
        let s = aggregate(&short, 40_000, true);
        assert!(s.customer_quarters[0].is_some() && s.customer_change.is_none());
        // mono: only the overall value
        let mono = aggregate(&segs, 40_000, false);
        assert!(
            mono.overall.is_some() && mono.customer.is_none() && mono.customer_change.is_none()
        );
    }
}
