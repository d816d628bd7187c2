//! PII redaction for transcripts, applied before any text reaches disk (PCI DSS: card numbers,
//! CVV and expiry dates spoken during payment must never be stored).
//!
//! Works on the words of one channel across its segments, so a card number split over two
//! segments is still caught. Digits count whether ASR wrote them as numerals ("4539 1488"),
//! grouped with dashes/dots, or as words ("four five three nine", "oh", "double seven",
//! "forty five"). Redacted spans become a placeholder such as `[CARD_NUMBER]`; the count of
//! redactions is reported, the values never are.
//!
//! Categories:
//! - `CARD_NUMBER`: a run of 13–19 digits. Luhn validity is not required: one misheard digit
//!   breaks the checksum but leaves a real card number on disk.
//! - `NATIONAL_ID`: `ddd-dd-dddd`, or 9 digits after "social security", "ssn", "national
//!   insurance", "id number" (within 8 words).
//! - `PHONE`: 10–12 digits, or 7–9 digits after "phone", "number", "call", "mobile", "cell".
//! - `CVV`: 3–4 digits within 8 words after "cvv", "cvc", "security code", "code on the back".
//! - `EXPIRY`: digits within 8 words after "expiry", "expires", "expiration", "exp", "valid".
//! - `EMAIL`: `name@host.tld`, or spoken "name at host dot com".

use std::sync::OnceLock;

use regex::Regex;

/// One word of a channel's text: where it is and what digits it stands for.
#[derive(Debug, Clone)]
struct Word {
    seg: usize,
    start: usize,
    end: usize,
    lower: String,
    digits: Option<String>,
}

fn unit(w: &str) -> Option<u32> {
    Some(match w {
        "zero" | "oh" | "o" | "nought" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        _ => return None,
    })
}

fn tens(w: &str) -> Option<u32> {
    Some(match w {
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

/// Split text into words with byte ranges; a "word" keeps digits, letters, @ . - / '.
fn words(seg: usize, text: &str, out: &mut Vec<Word>) {
    let mut start = None;
    let is_word =
        |c: char| c.is_alphanumeric() || matches!(c, '@' | '.' | '-' | '/' | '\'' | '_' | '+');
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (is_word(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let raw = text[s..i].trim_end_matches(['.', '-', '\'', '/']);
                let end = s + raw.len();
                if !raw.is_empty() {
                    let lower = raw.to_lowercase();
                    let numeric: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
                    let digit_shaped = raw.chars().all(|c| c.is_ascii_digit() || "-./".contains(c));
                    let digits = if !numeric.is_empty() && digit_shaped {
                        Some(numeric)
                    } else {
                        unit(&lower).map(|d| d.to_string())
                    };
                    out.push(Word {
                        seg,
                        start: s,
                        end,
                        lower,
                        digits,
                    });
                }
                start = None;
            }
            _ => {}
        }
    }
}

/// Resolve "double X", "triple X" and "forty five" into digits on the word list.
fn spell_out(ws: &mut [Word]) {
    for i in 0..ws.len() {
        let rep = match ws[i].lower.as_str() {
            "double" => 2,
            "triple" => 3,
            _ => 0,
        };
        if let Some(d) = ws
            .get(i + 1)
            .and_then(|n| n.digits.clone())
            .filter(|d| rep > 0 && d.len() == 1)
        {
            ws[i].digits = Some(d.repeat(rep - 1));
        }
        if let Some(t) = tens(&ws[i].lower) {
            let next_unit = ws
                .get(i + 1)
                .and_then(|n| unit(&n.lower))
                .filter(|&u| t >= 20 && u > 0);
            ws[i].digits = Some(match next_unit {
                Some(_) => (t / 10).to_string(), // the unit word supplies the second digit
                None => t.to_string(),
            });
        }
    }
}

const CONTEXT_WINDOW: usize = 8;

/// What the other party said around this channel's segments: (start ms, lower-case text).
/// In a stereo call the agent asks "and the security code?" on one channel and the customer
/// answers with bare digits on the other.
#[derive(Debug, Clone, Default)]
pub struct OtherSide<'a> {
    /// Start time of each of this channel's segments (same order as the texts).
    pub seg_start_ms: &'a [i64],
    /// The other channel's segments.
    pub segments: &'a [(i64, String)],
}

/// How far back a cue on the other channel counts.
const CROSS_CUE_MS: i64 = 20_000;

fn has_key(text: &str, keys: &[&str]) -> bool {
    let joined = format!(" {text} ");
    keys.iter().any(|k| joined.contains(&format!(" {k}")))
}

fn context(ws: &[Word], at: usize, keys: &[&str], other: &OtherSide) -> bool {
    let from = at.saturating_sub(CONTEXT_WINDOW);
    let text: Vec<&str> = ws[from..at].iter().map(|w| w.lower.as_str()).collect();
    if has_key(&text.join(" "), keys) {
        return true;
    }
    let Some(&t) = other.seg_start_ms.get(ws[at].seg) else {
        return false;
    };
    other
        .segments
        .iter()
        .filter(|(start, _)| *start <= t + 1_000 && *start >= t - CROSS_CUE_MS)
        .any(|(_, text)| has_key(text, keys))
}

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$").unwrap())
}

fn ssn_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^\d{3}-\d{2}-\d{4}$").unwrap())
}

const TLDS: &[&str] = &[
    "com", "net", "org", "co", "uk", "io", "edu", "gov", "de", "fr", "info", "biz", "us", "ca",
];

/// A redaction to apply: word range [from, to) and its label.
type Hit = (usize, usize, &'static str);

fn find(ws: &[Word], other: &OtherSide) -> Vec<Hit> {
    let mut hits: Vec<Hit> = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        // written e-mail
        if email_re().is_match(&ws[i].lower) {
            hits.push((i, i + 1, "EMAIL"));
            i += 1;
            continue;
        }
        // spoken e-mail: name [dot name]* at host (dot part)+ ending in a TLD
        if ws[i].lower == "at" && i > 0 {
            let mut j = i + 2;
            let mut last_tld = None;
            while j + 1 < ws.len() + 1 && ws.get(j).is_some_and(|w| w.lower == "dot") {
                if ws
                    .get(j + 1)
                    .is_some_and(|w| TLDS.contains(&w.lower.as_str()))
                {
                    last_tld = Some(j + 2);
                }
                j += 2;
            }
            if let Some(end) = last_tld {
                let mut start = i - 1;
                while start >= 2 && ws[start - 1].lower == "dot" {
                    start -= 2;
                }
                hits.retain(|h| h.1 <= start);
                hits.push((start, end, "EMAIL"));
                i = end;
                continue;
            }
        }
        // digit runs
        if ws[i].digits.is_some() {
            let mut j = i;
            let mut digits = String::new();
            while let Some(d) = ws.get(j).and_then(|w| w.digits.as_ref()) {
                // a number goes on into the next segment only if that segment follows closely
                if j > i && ws[j].seg != ws[j - 1].seg {
                    let t = |k: usize| other.seg_start_ms.get(ws[k].seg).copied();
                    if let (Some(a), Some(b)) = (t(j - 1), t(j))
                        && b - a > 10_000
                    {
                        break;
                    }
                }
                digits.push_str(d);
                j += 1;
            }
            // a lone unit word ("one", "two") is ordinary speech, not a number
            let spoken_single = j == i + 1 && ws[i].lower.chars().all(char::is_alphabetic);
            let n = digits.len();
            let raw = &ws[i].lower;
            let label = if spoken_single && n < 3 {
                None
            } else if (13..=19).contains(&n) {
                Some("CARD_NUMBER")
            } else if (j == i + 1 && ssn_re().is_match(raw))
                || n == 9
                    && context(
                        ws,
                        i,
                        &[
                            "social",
                            "ssn",
                            "national insurance",
                            "insurance number",
                            "id number",
                            "identification",
                        ],
                        other,
                    )
            {
                Some("NATIONAL_ID")
            } else if (3..=4).contains(&n)
                && context(
                    ws,
                    i,
                    &[
                        "cvv",
                        "cvc",
                        "security code",
                        "code on the back",
                        "three digit",
                        "card verification",
                    ],
                    other,
                )
            {
                Some("CVV")
            } else if (3..=6).contains(&n) && context(ws, i, &["expir", "exp ", "valid"], other) {
                Some("EXPIRY")
            } else if (10..=12).contains(&n)
                || (7..=9).contains(&n)
                    && context(
                        ws,
                        i,
                        &["phone", "number", "call", "mobile", "cell", "reach"],
                        other,
                    )
            {
                Some("PHONE")
            } else {
                None
            };
            if let Some(l) = label {
                hits.push((i, j, l));
            }
            i = j;
            continue;
        }
        i += 1;
    }
    hits
}

/// Redact the texts of one channel's segments (in time order) in place, using the other
/// channel (if any) as context for CVV/expiry/id cues. Returns the number of redactions made.
pub fn redact_channel(texts: &mut [String], other: &OtherSide) -> usize {
    let mut ws = Vec::new();
    for (k, t) in texts.iter().enumerate() {
        words(k, t, &mut ws);
    }
    spell_out(&mut ws);
    let hits = find(&ws, other);
    // edits per segment: (start byte, end byte, replacement), applied back to front
    let mut edits: Vec<Vec<(usize, usize, String)>> = vec![Vec::new(); texts.len()];
    for &(from, to, label) in &hits {
        let mut k = from;
        while k < to {
            let seg = ws[k].seg;
            let mut last = k;
            while last + 1 < to && ws[last + 1].seg == seg {
                last += 1;
            }
            edits[seg].push((ws[k].start, ws[last].end, format!("[{label}]")));
            k = last + 1;
        }
    }
    for (t, e) in texts.iter_mut().zip(edits) {
        for (s, end, rep) in e.into_iter().rev() {
            t.replace_range(s..end, &rep);
        }
    }
    hits.len()
}

/// Redact a single text (e.g. `callsift rules test --text`).
pub fn redact(text: &str) -> (String, usize) {
    let mut v = vec![text.to_string()];
    let n = redact_channel(&mut v, &OtherSide::default());
    (v.pop().unwrap_or_default(), n)
}

/// Luhn checksum (used by tests and for reporting, not as a condition for redaction).
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else {
            return false;
        };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        redact(s).0
    }

    #[test]
    fn card_numbers_in_every_form_asr_writes() {
        assert!(luhn_valid("4539148803436467"));
        assert_eq!(
            r("my card is 4539 1488 0343 6467 thanks"),
            "my card is [CARD_NUMBER] thanks"
        );
        assert_eq!(r("it's 4539-1488-0343-6467."), "it's [CARD_NUMBER].");
        assert_eq!(r("4539148803436467"), "[CARD_NUMBER]");
        assert_eq!(
            r("four five three nine one four eight eight oh three four three six four six seven"),
            "[CARD_NUMBER]"
        );
        assert_eq!(r("It is 4539, 1488, 0343, 6467."), "It is [CARD_NUMBER].");
        assert_eq!(
            r("double four five three nine 1488 0343 6467"),
            "[CARD_NUMBER]"
        );
        // a misheard digit breaks Luhn but must still be redacted
        assert_eq!(r("4539 1488 0343 6468"), "[CARD_NUMBER]");
    }

    #[test]
    fn a_card_number_split_across_segments_is_caught() {
        let mut v = vec![
            "The number is 4539 1488".to_string(),
            "0343 6467. Okay.".to_string(),
        ];
        assert_eq!(redact_channel(&mut v, &OtherSide::default()), 1);
        assert_eq!(
            v,
            vec!["The number is [CARD_NUMBER]", "[CARD_NUMBER]. Okay."]
        );
    }

    #[test]
    fn cvv_expiry_id_phone_email_in_context() {
        assert_eq!(
            r("the security code on the back is 123"),
            "the security code on the back is [CVV]"
        );
        assert_eq!(r("the CVV is four one two"), "the CVV is [CVV]");
        assert_eq!(r("it expires oh nine twenty eight"), "it expires [EXPIRY]");
        assert_eq!(r("expiry date 09/28"), "expiry date [EXPIRY]");
        assert_eq!(
            r("my social security number is 123-45-6789"),
            "my social security number is [NATIONAL_ID]"
        );
        assert_eq!(
            r("SSN one two three four five six seven eight nine"),
            "SSN [NATIONAL_ID]"
        );
        assert_eq!(r("call me on 555 867 5309"), "call me on [PHONE]");
        assert_eq!(r("reach me at 07700 900123"), "reach me at [PHONE]");
        assert_eq!(
            r("email jane.doe@example.com please"),
            "email [EMAIL] please"
        );
        assert_eq!(r("it is jane dot doe at example dot com"), "it is [EMAIL]");
    }

    #[test]
    fn the_agents_question_is_context_for_the_customers_digits() {
        let agent = vec![(
            10_000,
            "and the three digit security code on the back?".to_string(),
        )];
        let other = OtherSide {
            seg_start_ms: &[13_000, 60_000],
            segments: &agent,
        };
        let mut v = vec!["four one two".to_string(), "four one two".to_string()];
        assert_eq!(redact_channel(&mut v, &other), 1);
        assert_eq!(
            v,
            vec!["[CVV]", "four one two"],
            "a minute later the cue no longer counts"
        );
        let agent = vec![(5_000, "and when does the card expire?".to_string())];
        let other = OtherSide {
            seg_start_ms: &[8_000],
            segments: &agent,
        };
        let mut v = vec!["oh nine twenty eight".to_string()];
        redact_channel(&mut v, &other);
        assert_eq!(v, vec!["[EXPIRY]"]);
    }

    #[test]
    fn ordinary_numbers_and_words_stay() {
        for s in [
            "I waited forty minutes in the queue",
            "This is the third time I am calling",
            "within three to five business days",
            "order number 77429",
            "one moment please, I have two questions",
            "the fee was added on the 5th",
            "we met at the office",
        ] {
            assert_eq!(r(s), s);
        }
    }
}
