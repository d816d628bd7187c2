//! Audio redaction: where in a call the spoken payment and identity data lie, so that every
//! clip written for people (and any player serving the recording) can mute it.
//!
//! [`mute_spans`] turns a call's segments (their redacted texts, roles, times, confidence and
//! the redacted stretches `run` stored with their word times) into time spans (call ms) to
//! replace on every channel — the agent often reads the number back, and cross-talk leaks the
//! other party's voice into each channel. A span is muted when:
//!
//! - a segment's text was redacted (`[CARD_NUMBER]`, `[CVV]`, `[EXPIRY]`, `[PHONE]`,
//!   `[NATIONAL_ID]`, `[EMAIL]`, …): each redacted stretch, from the word times of the
//!   redacted text, with [`WORD_MARGIN_MS`] on each side; the whole segment, with
//!   [`MARGIN_MS`], when the stretches are not known (no word times: a dataset written before
//!   schema version 5);
//! - a segment holds a run of [`DIGIT_RUN`] or more digits (numerals or number words) that the
//!   text redaction let through: the whole segment, with [`MARGIN_MS`];
//! - an agent segment (any segment on a mono recording) holds a payment cue ("card number",
//!   "security code", "expiry", "payment", …) and the text of the answers is unreliable: the
//!   whole **payment stretch** from the end of the cue to the end of the last answer that holds
//!   digits, number words, placeholders or text the recogniser was unsure of
//!   (`avg_token_prob` below [`LOW_CONFIDENCE`]), following further cues ("and the expiry
//!   date?"), until the other party says something else; at most [`MAX_STRETCH_MS`] after the
//!   cue. An answer is unreliable when the recogniser was unsure of it, when it still holds
//!   digits or number words (garbled digits, "double for 1-1-3", that the text redaction did
//!   not recognise), or when its redactions are not timed. Where every answer is reliable, the
//!   redacted stretches alone are muted and the rest of the stretch ("thank you", the next
//!   question) is kept.
//!
//! Pure: no I/O, so the review pages, clips and any future player share one definition.

use std::sync::OnceLock;

use regex::Regex;

use crate::conversation::Redaction;

/// Milliseconds muted before and after a sensitive segment (segment times are approximate).
pub const MARGIN_MS: i64 = 300;
/// Milliseconds muted before and after a redacted stretch timed by its words (whisper's word
/// times are off by up to a few hundred milliseconds).
pub const WORD_MARGIN_MS: i64 = 500;
/// Longest payment stretch after a cue.
pub const MAX_STRETCH_MS: i64 = 90_000;
/// Segments whose mean token probability is below this are unreliable text.
pub const LOW_CONFIDENCE: f32 = 0.5;
/// A run of this many digits in one segment is muted wherever it is.
pub const DIGIT_RUN: usize = 6;

/// One transcribed segment of a call, as stored in the `segments` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// `agent`, `customer` or `unknown` (mono).
    pub role: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// The redacted text.
    pub text: String,
    /// Mean token probability; `None` when not known (treated as reliable).
    pub avg_token_prob: Option<f32>,
    /// The redacted stretches (call ms) from the word times; `None` when not known.
    pub redactions: Option<Vec<Redaction>>,
}

/// A time span of the call to mute, `[start_ms, end_ms)`, on every channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MuteSpan {
    pub start_ms: i64,
    pub end_ms: i64,
}

fn placeholder() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\[[A-Z][A-Z_]*\]").expect("placeholder pattern"))
}

fn payment_cue() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)\b(card|cards|credit|debit|visa|mastercard|amex|long number|security (code|number)|cvv|cvc|cv2|three digits?|expiry|expiration|expires|valid (until|thru|through)|payments?|pay|paying|account number|sort code)\b|\[(CARD_NUMBER|CVV|EXPIRY)\]",
        )
        .expect("payment cue pattern")
    })
}

/// Digits a word stands for (0 when none): numerals, number words, "double"/"triple".
fn digits_in(word: &str) -> usize {
    let w = word.to_lowercase();
    let numerals = w.chars().filter(char::is_ascii_digit).count();
    if numerals > 0 {
        return numerals;
    }
    match w.as_str() {
        "zero" | "oh" | "o" | "nought" | "one" | "two" | "three" | "four" | "five" | "six"
        | "seven" | "eight" | "nine" | "double" | "triple" => 1,
        "ten" | "eleven" | "twelve" | "thirteen" | "fourteen" | "fifteen" | "sixteen"
        | "seventeen" | "eighteen" | "nineteen" | "twenty" | "thirty" | "forty" | "fifty"
        | "sixty" | "seventy" | "eighty" | "ninety" | "hundred" => 2,
        "thousand" => 3,
        _ => 0,
    }
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
}

/// The longest run of consecutive digit-bearing words, in digits.
fn longest_digit_run(text: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for w in words(text) {
        match digits_in(w) {
            0 => run = 0,
            n => {
                run += n;
                best = best.max(run);
            }
        }
    }
    best
}

fn has_placeholder(s: &Segment) -> bool {
    placeholder().is_match(&s.text)
}

/// The redacted stretches of a segment holding a placeholder, when they are known.
fn timed_redactions(s: &Segment) -> Option<&[Redaction]> {
    s.redactions.as_deref().filter(|r| !r.is_empty())
}

/// What of a segment must be muted whatever its context (before margins): the whole segment
/// when it holds digits the text redaction let through, or redactions that are not timed; else
/// its redacted stretches with [`WORD_MARGIN_MS`].
fn sensitive_anywhere(s: &Segment) -> Vec<MuteSpan> {
    let whole = MuteSpan {
        start_ms: s.start_ms - MARGIN_MS,
        end_ms: s.end_ms + MARGIN_MS,
    };
    if longest_digit_run(&s.text) >= DIGIT_RUN {
        return vec![whole];
    }
    if !has_placeholder(s) {
        return Vec::new();
    }
    match timed_redactions(s) {
        Some(r) => r
            .iter()
            .map(|r| MuteSpan {
                start_ms: r.start_ms - WORD_MARGIN_MS,
                end_ms: r.end_ms + WORD_MARGIN_MS,
            })
            .collect(),
        None => vec![whole],
    }
}

/// Digits in a row that a question may hold in its own words ("the three digit code", "the
/// sixteen digit number"); more are digits read out.
const CUE_DIGITS: usize = 2;

/// Whether an answer's text can be trusted to show where its sensitive words are: the
/// recogniser was sure of it, it holds no digits or number words (an asker's segment: no more
/// than its question's [`CUE_DIGITS`]), and its redactions are timed.
fn reliable(s: &Segment, asker: bool) -> bool {
    let digits = if asker {
        longest_digit_run(&s.text) > CUE_DIGITS
    } else {
        words(&s.text).any(|w| digits_in(w) > 0)
    };
    s.avg_token_prob.is_none_or(|p| p >= LOW_CONFIDENCE)
        && !digits
        && (!has_placeholder(s) || timed_redactions(s).is_some())
}

/// Whether a segment, heard after a payment cue, may hold the details asked for.
fn answer_like(s: &Segment) -> bool {
    has_placeholder(s)
        || words(&s.text).any(|w| digits_in(w) > 0)
        || s.avg_token_prob.is_some_and(|p| p < LOW_CONFIDENCE)
}

fn asks_for_payment(s: &Segment) -> bool {
    s.role != "customer" && payment_cue().is_match(&s.text)
}

/// The payment stretch opened by the cue `segs[cue]` (time-ordered segments), if any answer
/// follows it, and whether every answer in it is [`reliable`].
fn payment_stretch(segs: &[&Segment], cue: usize) -> Option<(MuteSpan, bool)> {
    let c = segs[cue];
    let limit = c.end_ms + MAX_STRETCH_MS;
    let mut span: Option<MuteSpan> = None;
    let mut all_reliable = true;
    for (j, s) in segs.iter().enumerate() {
        if j == cue || s.start_ms < c.start_ms || (j < cue && s.start_ms == c.start_ms) {
            continue;
        }
        if s.start_ms > limit {
            break;
        }
        let asker = s.role == "agent" || (s.role != "customer" && asks_for_payment(s));
        if answer_like(s) {
            all_reliable &= reliable(s, asker);
            let sp = span.get_or_insert(MuteSpan {
                start_ms: c.end_ms.min(s.start_ms),
                end_ms: s.end_ms,
            });
            sp.end_ms = sp.end_ms.max(s.end_ms.min(limit));
        } else if !asker {
            // the other party moved on to something else
            break;
        }
    }
    span.map(|sp| (sp, all_reliable))
}

fn merge(mut spans: Vec<MuteSpan>) -> Vec<MuteSpan> {
    spans.sort_by_key(|s| (s.start_ms, s.end_ms));
    let mut out: Vec<MuteSpan> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start_ms <= last.end_ms => last.end_ms = last.end_ms.max(s.end_ms),
            _ => out.push(s),
        }
    }
    out
}

/// The spans of a call (call ms, sorted, disjoint, with margins) whose audio must be muted on
/// every channel: redacted stretches (whole segments where they are not timed), segments
/// holding digit runs, and payment stretches whose text is unreliable.
pub fn mute_spans(segments: &[Segment]) -> Vec<MuteSpan> {
    let mut segs: Vec<&Segment> = segments.iter().collect();
    segs.sort_by_key(|s| (s.start_ms, s.end_ms));
    let mut spans = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        spans.extend(sensitive_anywhere(s));
        if asks_for_payment(s)
            && let Some((sp, false)) = payment_stretch(&segs, i)
        {
            spans.push(MuteSpan {
                start_ms: sp.start_ms - MARGIN_MS,
                end_ms: sp.end_ms + MARGIN_MS,
            });
        }
    }
    let clamped = spans
        .into_iter()
        .map(|s| MuteSpan {
            start_ms: s.start_ms.max(0),
            end_ms: s.end_ms,
        })
        .collect();
    merge(clamped)
}

/// Milliseconds of `[start_ms, end_ms)` that the spans cover.
pub fn covered_ms(spans: &[MuteSpan], start_ms: i64, end_ms: i64) -> i64 {
    spans
        .iter()
        .map(|s| (s.end_ms.min(end_ms) - s.start_ms.max(start_ms)).max(0))
        .sum()
}

/// Level of the tone that replaces muted audio (full scale = 1).
pub const TONE_AMPLITUDE: f32 = 0.05;
/// Frequency of the tone that replaces muted audio.
pub const TONE_HZ: f32 = 1_000.0;

/// Replace the spans in 16 kHz samples whose first sample is at `offset_ms` of the call by a
/// low 1 kHz tone (phase from the call time, so every channel and clip agree). Returns the
/// number of samples replaced.
pub fn apply(samples: &mut [f32], offset_ms: i64, spans: &[MuteSpan]) -> usize {
    const RATE: i64 = 16_000;
    let first = offset_ms * RATE / 1000;
    let mut replaced = 0;
    for s in spans {
        let a = (s.start_ms * RATE / 1000 - first).clamp(0, samples.len() as i64) as usize;
        let b = (s.end_ms * RATE / 1000 - first).clamp(0, samples.len() as i64) as usize;
        for (k, v) in samples[a..b].iter_mut().enumerate() {
            // the position within the second, exact however long the call
            let t = (first + (a + k) as i64).rem_euclid(RATE) as f32 / RATE as f32;
            *v = TONE_AMPLITUDE * (std::f32::consts::TAU * TONE_HZ * t).sin();
        }
        replaced += b - a;
    }
    replaced
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(role: &str, start_ms: i64, end_ms: i64, text: &str) -> Segment {
        Segment {
            role: role.into(),
            start_ms,
            end_ms,
            text: text.into(),
            avg_token_prob: Some(0.8),
            redactions: None,
        }
    }

    fn span(start_ms: i64, end_ms: i64) -> MuteSpan {
        MuteSpan { start_ms, end_ms }
    }

    /// samples/call_007 as the recogniser and the text redaction leave it.
    fn payment_call() -> Vec<Segment> {
        vec![
            seg(
                "agent",
                1400,
                6777,
                "Thank you for calling Acme Energy, my name is Paul.",
            ),
            seg(
                "customer",
                7377,
                10660,
                "I would like to pay my outstanding bill by card please.",
            ),
            seg(
                "agent",
                11260,
                14981,
                "Of course. Can I take the long card number please?",
            ),
            seg("customer", 15581, 21015, "It is [CARD_NUMBER]."),
            seg("agent", 21615, 24131, "Thank you. And the expiry date?"),
            seg("customer", 24731, 26444, "It expires [EXPIRY]."),
            seg(
                "agent",
                27044,
                29810,
                "And the three digit security code on the back?",
            ),
            seg("customer", 30410, 31117, "[CVV]."),
            seg(
                "agent",
                31717,
                37053,
                "Thank you, the payment has gone through.",
            ),
            seg("customer", 37653, 38840, "No, that is all, thanks."),
        ]
    }

    #[test]
    fn the_payment_stretch_runs_from_the_cue_to_the_last_answer() {
        assert_eq!(
            mute_spans(&payment_call()),
            vec![span(14981 - MARGIN_MS, 31117 + MARGIN_MS)]
        );
    }

    /// `payment_call` as `run` stores it today: each redaction timed by its words.
    fn timed_payment_call() -> Vec<Segment> {
        let mut call = payment_call();
        for (k, kind, start_ms, end_ms) in [
            (3, "CARD_NUMBER", 16_200, 21_015),
            (5, "EXPIRY", 25_500, 26_444),
            (7, "CVV", 30_410, 31_117),
        ] {
            call[k].redactions = Some(vec![Redaction {
                kind: kind.into(),
                start_ms,
                end_ms,
            }]);
        }
        call
    }

    #[test]
    fn timed_redactions_mute_the_details_alone_when_the_answers_are_reliable() {
        let w = WORD_MARGIN_MS;
        assert_eq!(
            mute_spans(&timed_payment_call()),
            vec![
                span(16_200 - w, 21_015 + w),
                span(25_500 - w, 26_444 + w),
                span(30_410 - w, 31_117 + w)
            ]
        );
    }

    #[test]
    fn an_unreliable_answer_mutes_the_whole_payment_stretch() {
        // the stretch, to the end of the timed CVV's margin
        let stretch = span(14981 - MARGIN_MS, 31117 + WORD_MARGIN_MS);
        // the recogniser was unsure of the expiry answer
        let mut call = timed_payment_call();
        call[5].avg_token_prob = Some(0.3);
        assert_eq!(mute_spans(&call), vec![stretch]);
        // digits the text redaction let through
        let mut call = timed_payment_call();
        call[7].text = "[CVV], want to three.".into();
        assert_eq!(mute_spans(&call), vec![stretch]);
        // a redaction whose time is not known (no word times: an older dataset)
        let mut call = timed_payment_call();
        call[5].redactions = None;
        assert_eq!(mute_spans(&call), vec![stretch]);
        // outside a payment stretch, an untimed redaction mutes its whole segment, a timed one
        // its words
        let mut phone = seg("customer", 5_000, 9_000, "You can reach me on [PHONE].");
        assert_eq!(mute_spans(&[phone.clone()]), vec![span(4_700, 9_300)]);
        phone.redactions = Some(vec![Redaction {
            kind: "PHONE".into(),
            start_ms: 6_500,
            end_ms: 9_000,
        }]);
        assert_eq!(
            mute_spans(&[phone]),
            vec![span(6_500 - WORD_MARGIN_MS, 9_000 + WORD_MARGIN_MS)]
        );
    }

    #[test]
    fn garbled_unredacted_digits_after_a_cue_are_muted_too() {
        let mut call = payment_call();
        call[3].text = "It is double for 1-1-3, 4-3, 6-4, 6-7.".into();
        call[5].text = "Exiring 928.".into();
        call[7].text = "Want to tree.".into();
        call[7].avg_token_prob = Some(0.31);
        assert_eq!(
            mute_spans(&call),
            vec![span(14981 - MARGIN_MS, 31117 + MARGIN_MS)]
        );
    }

    #[test]
    fn placeholders_and_long_digit_runs_are_muted_anywhere_with_a_margin() {
        let call = vec![
            seg("customer", 5_000, 8_000, "You can reach me on [PHONE]."),
            seg("agent", 9_000, 10_000, "Lovely, thank you."),
            seg(
                "customer",
                20_000,
                22_000,
                "My reference is four four one two three nine.",
            ),
            seg("customer", 30_000, 31_000, "I called two times."),
            seg("unknown", 40_000, 41_000, "[EMAIL]"),
        ];
        assert_eq!(
            mute_spans(&call),
            vec![
                span(4_700, 8_300),
                span(19_700, 22_300),
                span(39_700, 41_300)
            ]
        );
    }

    #[test]
    fn a_cue_without_an_answer_mutes_nothing_and_stretches_are_bounded() {
        // the cue is followed by talk without numbers: nothing to mute
        let call = vec![
            seg("agent", 1_000, 3_000, "The payment has gone through."),
            seg("customer", 3_500, 5_000, "Great, thanks a lot."),
            seg("customer", 6_000, 7_000, "It was seven."),
        ];
        assert_eq!(mute_spans(&call), vec![]);
        // a customer cue is no payment cue
        let call = vec![
            seg("customer", 1_000, 3_000, "I want to pay by card."),
            seg("customer", 3_500, 5_000, "I have three kids."),
        ];
        assert_eq!(mute_spans(&call), vec![]);
        // unsure text keeps the stretch open, but not beyond MAX_STRETCH_MS after the cue
        let mut call = vec![seg("agent", 0, 2_000, "Can I take your card details?")];
        for k in 0..30 {
            let mut s = seg("customer", 3_000 + k * 4_000, 6_000 + k * 4_000, "mm hm");
            s.avg_token_prob = Some(0.2);
            call.push(s);
        }
        assert_eq!(
            mute_spans(&call),
            vec![span(2_000 - MARGIN_MS, 2_000 + MAX_STRETCH_MS + MARGIN_MS)]
        );
    }

    #[test]
    fn mono_calls_use_any_speaker_as_the_cue_and_answers_that_overlap_count() {
        let call = vec![
            seg("unknown", 1_000, 3_000, "What is the security code?"),
            seg("unknown", 2_800, 4_000, "It's one two three."),
            seg("unknown", 5_000, 8_000, "Thank you very much."),
        ];
        assert_eq!(mute_spans(&call), vec![span(2_500, 4_300)]);
    }

    #[test]
    fn apply_replaces_exactly_the_spans_with_the_tone() {
        let mut x = vec![0.5f32; 16_000];
        // the buffer starts at call time 1 s; mute 1.25–1.5 s
        let n = apply(&mut x, 1_000, &[span(1_250, 1_500), span(5_000, 6_000)]);
        assert_eq!(n, 4_000);
        assert!(x[..4_000].iter().all(|&v| v == 0.5));
        assert!(x[8_000..].iter().all(|&v| v == 0.5));
        let peak = x[4_000..8_000].iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!((peak - TONE_AMPLITUDE).abs() < 1e-3, "{peak}");
        // 1 kHz at 16 kHz: a period of 16 samples, in phase with the call time
        assert!((x[4_000] - x[4_016]).abs() < 1e-4 && x[4_000].abs() < 1e-4);
        assert_eq!(covered_ms(&[span(1_250, 1_500)], 1_000, 1_300), 50);
    }
}
