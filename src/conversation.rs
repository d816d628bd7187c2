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
    /// Who speaks, numbered within the call: the channel in a stereo recording, the diarized
    /// speaker in a mono one (0 when not diarized).
    pub speaker: i32,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    /// VADER sentiment of the (redacted) text, −5…+5.
    pub sentiment: f32,
    pub avg_token_prob: f32,
    pub no_speech_prob: f32,
    /// When the pieces of the recogniser's `text` are spoken, in text order (empty when not
    /// known). In memory only: they describe the text as transcribed, before redaction.
    pub times: Vec<TextTime>,
    /// The stretches of this segment whose text was redacted; `None` when not known (the
    /// segment has a redaction but no word times, or redaction is off).
    pub redactions: Option<Vec<Redaction>>,
}

/// Where a piece of a segment's text (a recogniser token) starts, and when it is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextTime {
    /// Byte offset of the piece in the segment's text.
    pub byte: usize,
    /// Call time (ms).
    pub ms: i64,
}

/// A stretch of a call whose words were redacted: when it was said and the kind of data it
/// held (the placeholder's label, `CARD_NUMBER`), never the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    pub kind: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl SegmentRow {
    /// When the text's bytes `[from, to)` are spoken (call ms), from the word times. A piece's
    /// time falls inside its sound, not at its start, so the stretch runs from the piece before
    /// the first one (the segment's start when there is none) to the piece after the last one
    /// (the segment's end when there is none); `None` without word times.
    pub fn time_of(&self, from: usize, to: usize) -> Option<(i64, i64)> {
        let t = &self.times;
        if t.is_empty() {
            return None;
        }
        let first = t.iter().rposition(|p| p.byte <= from).unwrap_or(0);
        let after = t.iter().position(|p| p.byte >= to && p.byte > from);
        let inside = &t.get(first..after.unwrap_or(t.len()))?;
        let start = match first.checked_sub(1) {
            Some(k) => inside.iter().map(|p| p.ms).chain([t[k].ms]).min()?,
            None => self.start_ms,
        };
        let end = match after {
            Some(k) => inside.iter().map(|p| p.ms).chain([t[k].ms]).max()?,
            None => self.end_ms,
        };
        let clamp = |ms: i64| ms.clamp(self.start_ms, self.end_ms);
        Some((clamp(start), clamp(end.max(start))))
    }
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
    sorted.sort_by_key(|s| (s.start_ms, s.speaker, s.end_ms));
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
            speaker: channel,
            start_ms: start,
            end_ms: end,
            text: text.into(),
            sentiment: 0.0,
            avg_token_prob: 0.9,
            no_speech_prob: 0.0,
            times: Vec::new(),
            redactions: None,
        }
    }

    #[test]
    fn a_stretch_of_text_is_timed_by_its_pieces() {
        // "It is 4539 1488." spoken from 1 s; pieces " It", " is", " 45", "39", " 14", "88", "."
        let mut s = seg(Role::Customer, 1, 1_000, 5_000, "It is 4539 1488.");
        s.times = [
            (0, 1_100),
            (2, 1_300),
            (5, 1_700),
            (8, 2_000),
            (10, 2_600),
            (13, 2_900),
            (15, 3_300),
        ]
        .iter()
        .map(|&(byte, ms)| TextTime { byte, ms })
        .collect();
        // "4539 1488": from the piece before it (" is") to the full stop after it
        assert_eq!(s.time_of(6, 15), Some((1_300, 3_300)));
        // to the end of the text: to the segment's end; from its start: the segment's start
        assert_eq!(s.time_of(6, 16), Some((1_300, 5_000)));
        assert_eq!(s.time_of(0, 2), Some((1_000, 1_300)));
        s.times.clear();
        assert_eq!(s.time_of(6, 15), None);
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
