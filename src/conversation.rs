//! Conversation: the leaf types every stage shares — who speaks ([`Role`]), what was said on a
//! channel ([`SegmentRow`]) and the time-ordered turns built from it — with the role-tagged
//! transcript and word counts. Pure functions; no I/O; imports nothing from the crate.

/// Who speaks on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Agent,
    Customer,
    /// Mono recordings: both parties mixed on one channel.
    Unknown,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Customer => "customer",
            Role::Unknown => "unknown",
        }
    }
}

/// One transcribed segment, attributed to a role and a source channel.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRow {
    pub role: Role,
    /// 0-based channel index in the source file.
    pub channel: i32,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    /// VADER sentiment of the (redacted) text, −5…+5.
    pub sentiment: f32,
    pub avg_token_prob: f32,
    pub no_speech_prob: f32,
}

/// Consecutive segments of one role, merged.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub role: Role,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
}

/// A pause of one speaker longer than this ends their turn even when nobody else speaks (a
/// hold, dead air), so a turn never spans a hold.
pub const TURN_PAUSE_MS: i64 = 2_000;

/// Sort segments by start time (ties: by channel) and merge runs of the same role into turns,
/// unless the speaker pauses longer than [`TURN_PAUSE_MS`].
pub fn turns(segments: &[SegmentRow]) -> Vec<Turn> {
    let mut sorted: Vec<&SegmentRow> = segments.iter().collect();
    sorted.sort_by_key(|s| (s.start_ms, s.channel, s.end_ms));
    let mut out: Vec<Turn> = Vec::new();
    for s in sorted {
        match out.last_mut() {
            Some(t) if t.role == s.role && s.start_ms - t.end_ms <= TURN_PAUSE_MS => {
                t.end_ms = t.end_ms.max(s.end_ms);
                t.text.push(' ');
                t.text.push_str(s.text.trim());
            }
            _ => out.push(Turn {
                role: s.role,
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                text: s.text.trim().to_string(),
            }),
        }
    }
    out
}

fn clock(ms: i64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}.{}", s / 60, s % 60, (ms % 1000) / 100)
}

/// The transcript as one line per turn: `[mm:ss.d] role: text`.
pub fn transcript(turns: &[Turn]) -> String {
    turns
        .iter()
        .map(|t| format!("[{}] {}: {}", clock(t.start_ms), t.role.as_str(), t.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Words in a text: whitespace-separated tokens holding at least one letter or digit.
pub fn word_count(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

/// Words spoken by `role` across the segments.
pub fn words_of(segments: &[SegmentRow], role: Role) -> usize {
    segments
        .iter()
        .filter(|s| s.role == role)
        .map(|s| word_count(&s.text))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(role: Role, channel: i32, start: i64, end: i64, text: &str) -> SegmentRow {
        SegmentRow {
            role,
            channel,
            start_ms: start,
            end_ms: end,
            text: text.into(),
            sentiment: 0.0,
            avg_token_prob: 0.9,
            no_speech_prob: 0.0,
        }
    }

    #[test]
    fn channels_merge_into_time_ordered_turns() {
        let segs = vec![
            seg(Role::Customer, 1, 4_000, 6_000, "I was charged twice."),
            seg(Role::Agent, 0, 0, 2_000, "Thank you for calling."),
            seg(Role::Agent, 0, 2_100, 3_500, "How can I help?"),
            seg(Role::Agent, 0, 65_000, 66_500, "Goodbye."),
        ];
        let t = turns(&segs);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].text, "Thank you for calling. How can I help?");
        assert_eq!((t[0].start_ms, t[0].end_ms), (0, 3_500));
        assert_eq!(t[1].role, Role::Customer);
        assert_eq!(
            transcript(&t),
            "[00:00.0] agent: Thank you for calling. How can I help?\n\
             [00:04.0] customer: I was charged twice.\n\
             [01:05.0] agent: Goodbye."
        );
        assert_eq!(words_of(&segs, Role::Agent), 9);
        // a long pause (a hold) ends the turn even though nobody else spoke
        let held = vec![
            seg(Role::Agent, 0, 0, 3_000, "May I place you on hold?"),
            seg(Role::Agent, 0, 15_000, 17_000, "Thank you for holding."),
        ];
        assert_eq!(turns(&held).len(), 2);
        assert_eq!(words_of(&segs, Role::Customer), 4);
    }

    #[test]
    fn punctuation_is_not_a_word() {
        assert_eq!(word_count("well - I mean ... 42 times"), 5);
    }
}
