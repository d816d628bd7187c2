//! Who is the agent: the speaker (a diarized speaker of a mono call, or a channel of a stereo
//! one) whose words make the rule pack's agent behaviours fire, while the other's make its
//! customer events and topics fire — the greeting with the company name, "how can I help",
//! hold and transfer language, asking for account details against "I'm calling about", a
//! complaint, a threat to leave. Every assignment of the roles is tried; the one with the most
//! such evidence wins, with a confidence from its margin over the runner-up. Pure; no I/O.

use crate::conversation::{self, Role, SegmentRow};

use super::names;
use super::rules::{RoleSel, RuleSet};

/// Below this confidence a role decision is reported as uncertain (run summary, QA flags), and
/// a stereo call's channels are not swapped.
pub const CONFIDENT: f64 = 0.8;

/// How the roles of a call were found, for its `interactions` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Cast {
    /// `channel`, `channel_swapped` or `diarization`.
    pub source: &'static str,
    /// How sure the roles are: 0.5 when nothing said tells, below 0.5 when what was said points
    /// the other way (a stereo call kept as configured), ≤ 0.5 for a single voice.
    pub confidence: f64,
    /// Speakers heard (channels with speech in stereo, diarized voices in mono).
    pub speakers: i32,
}

/// The roles of a call's speakers.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleDecision {
    /// The agent's speaker index; `None` when the call has one speaker and nothing says who.
    pub agent: Option<usize>,
    /// The customer's speaker index (another speaker than the agent's).
    pub customer: Option<usize>,
    /// 0.5 (no evidence either way) … 1.
    pub confidence: f64,
    /// The evidence of the winning assignment and of the runner-up (role-specific rule hits,
    /// plus one for the agent speaking first).
    pub score: (usize, usize),
}

impl RoleDecision {
    /// The role of speaker `k` under this decision.
    pub fn role_of(&self, k: usize) -> Role {
        if Some(k) == self.agent {
            Role::Agent
        } else if Some(k) == self.customer {
            Role::Customer
        } else {
            Role::Unknown
        }
    }
}

/// Evidence for one assignment: hits of the pack's role-specific categories when `agent` speaks
/// as the agent and `customer` as the customer, and one more when the agent is heard first.
fn evidence(
    segments: &[SegmentRow],
    speaker_of: &dyn Fn(&SegmentRow) -> usize,
    agent: usize,
    customer: Option<usize>,
    rules: &RuleSet,
    duration_ms: i64,
) -> usize {
    let cast: Vec<SegmentRow> = segments
        .iter()
        .map(|s| {
            let k = speaker_of(s);
            let role = if k == agent {
                Role::Agent
            } else if Some(k) == customer {
                Role::Customer
            } else {
                Role::Unknown
            };
            SegmentRow {
                role,
                times: Vec::new(),
                ..s.clone()
            }
        })
        .collect();
    let turns = conversation::turns(&cast);
    let names = names::customer_names(&turns);
    let mut hits: Vec<(usize, i64)> = rules
        .evaluate(&turns, duration_ms, &names)
        .into_iter()
        .filter(|h| rules.categories[h.category].role != RoleSel::Any)
        .map(|h| (h.category, h.start_ms))
        .collect();
    hits.sort_unstable();
    hits.dedup();
    let first = segments
        .iter()
        .filter(|s| !s.text.trim().is_empty())
        .min_by_key(|s| s.start_ms)
        .map(speaker_of);
    hits.len() + usize::from(first == Some(agent))
}

/// Decide the roles of `speakers` speakers (`speaker_of` gives a segment's speaker index), from
/// their (unredacted, in-memory) words.
pub fn decide(
    segments: &[SegmentRow],
    speakers: usize,
    speaker_of: &dyn Fn(&SegmentRow) -> usize,
    rules: &RuleSet,
    duration_ms: i64,
) -> RoleDecision {
    let mut scored: Vec<(usize, Option<usize>, Option<usize>)> = Vec::new();
    if speakers == 1 {
        // one voice (a voicemail, an IVR, a one-sided recording): agent or customer?
        let as_agent = evidence(segments, speaker_of, 0, None, rules, duration_ms);
        let as_customer = evidence(
            segments,
            speaker_of,
            usize::MAX,
            Some(0),
            rules,
            duration_ms,
        );
        scored.push((as_agent, Some(0), None));
        scored.push((as_customer, None, Some(0)));
    } else {
        for a in 0..speakers {
            for c in (0..speakers).filter(|&c| c != a) {
                let e = evidence(segments, speaker_of, a, Some(c), rules, duration_ms);
                scored.push((e, Some(a), Some(c)));
            }
        }
    }
    // stable: on a tie the first assignment (speaker 0 as the agent, the channel order) wins
    scored.sort_by_key(|x| std::cmp::Reverse(x.0));
    let (best, agent, customer) = scored[0];
    // the runner-up that disagrees about who the agent is
    let second = scored.iter().find(|s| s.1 != agent).map_or(0, |s| s.0);
    let margin = best as f64 - second as f64;
    let mut confidence = 1.0 / (1.0 + (-margin).exp());
    if speakers == 1 {
        // one voice: which role it plays is never sure
        confidence = confidence.min(0.5);
    }
    RoleDecision {
        agent,
        customer,
        confidence,
        score: (best, second),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(speaker: i32, start_ms: i64, text: &str) -> SegmentRow {
        SegmentRow {
            role: Role::Unknown,
            channel: 0,
            speaker,
            start_ms,
            end_ms: start_ms + 3_000,
            text: text.into(),
            sentiment: 0.0,
            avg_token_prob: 0.9,
            no_speech_prob: 0.0,
            times: Vec::new(),
            redactions: None,
        }
    }

    fn call(agent: i32) -> Vec<SegmentRow> {
        let customer = 1 - agent;
        vec![
            seg(
                agent,
                0,
                "Thank you for calling Northwind, my name is Priya, how can I help you today?",
            ),
            seg(
                customer,
                4_000,
                "I was charged twice this month and this is the third time I am calling about it.",
            ),
            seg(
                agent,
                8_000,
                "I am so sorry about that. May I place you on hold for a moment while I check?",
            ),
            seg(
                customer,
                30_000,
                "Fine, but if this is not fixed I will cancel and switch to another provider.",
            ),
            seg(
                agent,
                34_000,
                "Thank you for holding. I will take care of this for you right now.",
            ),
            seg(customer, 38_000, "Okay, thanks."),
            seg(
                agent,
                41_000,
                "Is there anything else I can help you with? Thank you for calling, goodbye.",
            ),
        ]
    }

    #[test]
    fn the_agent_is_the_speaker_the_agent_behaviours_fire_on_whatever_the_numbering() {
        let rules = RuleSet::builtin();
        for agent in [0, 1] {
            let d = decide(&call(agent), 2, &|s| s.speaker as usize, &rules, 45_000);
            assert_eq!(d.agent, Some(agent as usize), "{d:?}");
            assert_eq!(d.customer, Some(1 - agent as usize));
            assert!(d.confidence > 0.95, "{d:?}");
            assert_eq!(d.role_of(agent as usize), Role::Agent);
        }
    }

    #[test]
    fn nothing_said_that_tells_is_half_sure_and_one_voice_is_never_sure() {
        let rules = RuleSet::builtin();
        let plain = vec![
            seg(0, 0, "The weather is nice."),
            seg(1, 4_000, "Yes it is."),
        ];
        let d = decide(&plain, 2, &|s| s.speaker as usize, &rules, 8_000);
        // only who spoke first speaks for speaker 0
        assert_eq!(d.agent, Some(0));
        assert!(d.confidence < CONFIDENT, "{d:?}");
        let voicemail: Vec<SegmentRow> = call(0).into_iter().filter(|s| s.speaker == 0).collect();
        let d = decide(&voicemail, 1, &|_| 0, &rules, 45_000);
        assert!(d.confidence <= 0.5, "{d:?}");
    }
}
