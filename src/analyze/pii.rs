//! PII redaction for transcripts, applied before any text reaches disk (PCI DSS: card numbers,
//! CVV and expiry dates spoken during payment must never be stored).
//!
//! Works on the words of one channel across its segments, so a card number split over two
//! segments is still caught. Redaction does not rely on clean text: digits count whether the
//! recogniser wrote them as numerals ("4539 1488"), grouped with dashes, dots or commas
//! ("1-1-3, 4-3"), as words ("four five three nine", "oh", "double seven", "forty five") or as
//! homophones next to another digit ("double for", "0 to 0", "ate"); a filler ("and", "uh")
//! between digit groups does not end the number. Redacted spans become a placeholder such as
//! `[CARD_NUMBER]`; the count of redactions is reported, the values never are.
//!
//! What a run of digits is depends on its length and on the cue before it — in the same
//! speaker's words, or in the other party's latest question (the agent asks "and the expiry
//! date?", the customer answers "nine twenty eight"); garbled cues count ("exiring",
//! "accountant", "c v v"). See `docs/pii.md` for the cue lists.
//!
//! Categories:
//! - `CARD_NUMBER`: a run of 13–19 digits anywhere (Luhn validity is not required: one
//!   misheard digit breaks the checksum but leaves a real card number on disk), or 3+ digits
//!   after a card cue (partial card numbers).
//! - `CVV` (2–4 digits), `PIN` (3–8), `EXPIRY` (2–6), `DATE_OF_BIRTH` (2–8) after their cues.
//! - `ACCOUNT_NUMBER`, `SORT_CODE`, `NATIONAL_ID`: 4+ digits after account, member, policy,
//!   sort code or identity cues; `ddd-dd-dddd` anywhere.
//! - `PHONE`: 10–12 digits anywhere, or 6+ after a phone cue.
//! - `NUMBER`: any other run of 6–9 digits, unless the site allows its context (`[pii]
//!   allow_contexts` in the rules file: "order number", "ticket number"); an allowed context
//!   never exempts a card-length run or a run after a payment, account or identity cue.
//! - `EMAIL`: `name@host.tld`, half-written ("jon.mit.example.com", "name70 at
//!   mail.example.com") or spoken ("j smith at example dot co dot uk"), and after an e-mail
//!   cue any answer ending in a domain.

use std::sync::OnceLock;

use regex::Regex;

/// A site's redaction policy, from the `[pii]` table of the rules file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    /// Phrases (lower case, normalised words) whose numbers are not personal data at this
    /// site, e.g. "order number". They exempt runs of up to 12 digits from the length rule.
    pub allow_contexts: Vec<String>,
}

impl Policy {
    /// Why an allowed context would be unsafe (it names a payment, account or identity
    /// cue), if it would.
    pub fn refuse(context: &str) -> Option<&'static str> {
        let text = cue_text(context);
        SENSITIVE
            .iter()
            .find(|(_, keys)| has_cue(&text, keys))
            .map(|(cue, _)| cue.name())
    }
}

/// One word of a channel's text: where it is and what digits it stands for.
#[derive(Debug, Clone)]
struct Word {
    seg: usize,
    start: usize,
    end: usize,
    lower: String,
    digits: Option<String>,
    /// Written with a capital first letter (a name, or a sentence's first word).
    capital: bool,
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

/// Words the recogniser writes for a digit it heard; digits only next to another digit.
fn homophone(w: &str) -> Option<&'static str> {
    Some(match w {
        "for" | "fore" => "4",
        "to" | "too" => "2",
        "ate" => "8",
        "won" => "1",
        _ => return None,
    })
}

/// Words said between digit groups that do not end a number.
fn filler(w: &str) -> bool {
    matches!(
        w,
        "and" | "then" | "uh" | "um" | "er" | "erm" | "ah" | "hmm" | "slash" | "dash" | "hyphen"
    )
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
                if !raw.is_empty() {
                    out.push(word(seg, s, raw));
                }
                start = None;
            }
            _ => {}
        }
    }
}

fn word(seg: usize, start: usize, raw: &str) -> Word {
    let lower = raw.to_lowercase();
    let digits = numeral(&lower).or_else(|| unit(&lower).map(|d| d.to_string()));
    Word {
        seg,
        start,
        end: start + raw.len(),
        lower,
        digits,
        capital: raw.starts_with(|c: char| c.is_uppercase()),
    }
}

/// The digits of a numeral as the recogniser writes them: `4539`, `4539-1488`, `09/28`,
/// `1.5`; "double"/"triple" inside it (`8-double-7-4-6`: 8, 7, 7, 4, 6), "double" heard as
/// the letter w (`53-w2-9`, `w33`, `47w2470`, `0-8-w-4`: the digit after a w is said twice),
/// "oh" as the letter o (`o6-29`), "slash" written out (`1-slash-30`), a digit word or
/// homophone between dashes (`4003-double-a-2`: "eight" heard as "a") and a "double" left at
/// the end (`07-double`, whose digit is the next word's).
fn numeral(w: &str) -> Option<String> {
    if !w.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    plain_numeral(w).or_else(|| garbled_numeral(w))
}

/// [`numeral`] as written with digits, "double"/"triple", w, o and "slash" only.
fn plain_numeral(w: &str) -> Option<String> {
    let mut digits = String::new();
    let mut times = 1; // how often the next digit is said
    for part in w.split(['-', '.', '/']).filter(|p| !p.is_empty()) {
        let rep = match part {
            "w" => 2,
            "slash" | "dash" | "stroke" => continue,
            _ => repeat(part),
        };
        if rep > 0 {
            times = rep;
            continue;
        }
        // a digit said as a word between the numeral's groups, or a word the recogniser
        // wrote for it (`4003-double-a-2`: "double eight" with "eight" heard as "a")
        if let Some(d) = unit(part).or_else(|| spoken_digit(part)) {
            (0..times).for_each(|_| digits.push_str(&d.to_string()));
            times = 1;
            continue;
        }
        let mut chars = part.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                // the letter o for "oh" among digits (`o6-29`)
                '0'..='9' | 'o' => {
                    let d = if c == 'o' { '0' } else { c };
                    (0..times).for_each(|_| digits.push(d));
                    times = 1;
                }
                'w' if chars.peek().is_some_and(char::is_ascii_digit) => times = 2,
                _ => return None,
            }
        }
    }
    // a numeral may end with "double"/"triple" (`07-double 4003`): the digit it repeats is
    // the next word's first, added by `spell_out`
    let trailing_repeat = times > 1 && w.ends_with(|c: char| c.is_ascii_alphabetic());
    (!digits.is_empty() && (times == 1 || trailing_repeat)).then_some(digits)
}

/// A word the recogniser writes for a digit inside a dash- or dot-joined numeral, where no
/// ordinary word stands: the homophones ("for", "to", "ate", "won") and "a" for "eight".
fn spoken_digit(part: &str) -> Option<u32> {
    Some(match part {
        "a" | "ate" => 8,
        _ => homophone(part)?.parse().ok()?,
    })
}

/// How many times a numeral's trailing "double"/"triple" (`07-double`) repeats the next
/// word's first digit; 0 when it has none.
fn trailing_repeat(w: &str) -> usize {
    match w.rsplit_once(['-', '.']) {
        Some((head, tail)) if head.bytes().any(|b| b.is_ascii_digit()) => repeat(tail),
        _ => 0,
    }
}

/// A numeral with a number word the recogniser wrote as letters (at least four digits in all):
/// up to two letters between digits inside a group (`8873he27`, `4g2-99`,
/// `4.56732h835099120`: "eighty" heard as "he", "forty" as "4g"), or one short word before
/// two or more digit groups (`niti-552-3590`: "eighty five" heard as "niti"). Its digits, the
/// letters left out; or a short word glued before the digits, four or more of them in all
/// (`ben1291`: "then one two nine one"; `a16.838`: "oh one six, eight three eight" with "oh"
/// heard as "a"). Words with digits at an end (`2020s`, `10am`, `mp3`, `b2b`) stay words.
fn garbled_numeral(w: &str) -> Option<String> {
    let digits: String = w.chars().filter(char::is_ascii_digit).collect();
    let parts: Vec<&str> = w.split(['-', '.', '/']).filter(|p| !p.is_empty()).collect();
    if digits.len() < 4 {
        return None;
    }
    if let [first, rest @ ..] = &parts[..] {
        let letters = first.trim_end_matches(|c: char| c.is_ascii_digit());
        if (1..=3).contains(&letters.len())
            && letters.len() < first.len()
            && letters.chars().all(|c| c.is_ascii_alphabetic())
            && rest.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
        {
            return Some(digits);
        }
    }
    let digit_at_ends = |p: &str| {
        p.starts_with(|c: char| c.is_ascii_digit()) && p.ends_with(|c: char| c.is_ascii_digit())
    };
    let (mut inner_letters, mut leading_word) = (0, false);
    for (k, p) in parts.iter().enumerate() {
        if !p.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        if p.chars().all(|c| c.is_ascii_alphabetic()) {
            if k != 0 || p.len() > 5 || parts.len() < 3 {
                return None;
            }
            leading_word = true;
        } else if digit_at_ends(p) {
            inner_letters += p.chars().filter(char::is_ascii_alphabetic).count();
        } else {
            return None;
        }
    }
    (inner_letters <= 2 && (inner_letters > 0 || leading_word)).then_some(digits)
}

/// Resolve "forty five", homophones next to digits ("0 to 0", "double for"), and
/// "double X" / "triple X" into digits on the word list.
fn spell_out(ws: &mut [Word]) {
    for i in 0..ws.len() {
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
    // homophones: a pass to a fixed point, so "0 to 1 to" takes both
    loop {
        let mut changed = false;
        for i in 0..ws.len() {
            let Some(d) = homophone(&ws[i].lower).filter(|_| ws[i].digits.is_none()) else {
                continue;
            };
            let digit_at = |k: Option<usize>| {
                k.and_then(|k| ws.get(k))
                    .is_some_and(|w| w.digits.is_some() || repeat(&w.lower) > 0)
            };
            if digit_at(i.checked_sub(1)) || digit_at(Some(i + 1)) {
                ws[i].digits = Some(d.to_string());
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // "07-double 4003" → 07, 44003: the repeat at a numeral's end takes the next word's digit
    for i in 0..ws.len().saturating_sub(1) {
        let rep = trailing_repeat(&ws[i].lower);
        if let (true, Some(d)) = (
            rep > 0 && ws[i].digits.is_some(),
            ws[i + 1].digits.as_deref().and_then(|d| d.get(..1)),
        ) {
            let d = d.repeat(rep - 1);
            ws[i].digits.get_or_insert_with(String::new).push_str(&d);
        }
    }
    // "double 4" → 44; "triple 3.821" (the recogniser wrote one of the three) → 333821
    for i in 0..ws.len() {
        let rep = repeat(&ws[i].lower);
        if let Some(d) = ws
            .get(i + 1)
            .and_then(|n| n.digits.as_deref())
            .and_then(|d| d.get(..1))
            .filter(|_| rep > 0)
        {
            ws[i].digits = Some(d.repeat(rep - 1));
        }
    }
}

/// How many times "double"/"triple" (and the recogniser's garbles of them) repeat a digit.
fn repeat(w: &str) -> usize {
    match w {
        "double" => 2,
        "triple" | "tripple" | "treble" | "ripple" => 3,
        _ => 0,
    }
}

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
/// How far back the speaker's own earlier segment still gives context.
const OWN_CUE_MS: i64 = 4_000;
/// Words before a number that can hold its cue.
const CONTEXT_WINDOW: usize = 10;
/// The other party's question: the latest of their segments with at least this many words
/// (and any shorter ones after it, "okay, go ahead").
const QUESTION_WORDS: usize = 4;

/// What a number is said to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cue {
    Cvv,
    Pin,
    Expiry,
    Card,
    SortCode,
    Account,
    Id,
    Birth,
    Phone,
    Email,
}

impl Cue {
    fn name(self) -> &'static str {
        match self {
            Cue::Cvv => "a card security code",
            Cue::Pin => "a pin",
            Cue::Expiry => "an expiry date",
            Cue::Card => "a card number",
            Cue::SortCode => "a sort code",
            Cue::Account => "an account number",
            Cue::Id => "an identity number",
            Cue::Birth => "a date of birth",
            Cue::Phone => "a phone number",
            Cue::Email => "an e-mail address",
        }
    }
}

/// Cue phrases, most specific first ("social security number" is an identity cue, not a
/// card security one); `word*` is a prefix, other keys are whole words.
/// Garbles the recogniser makes of them are listed too ("exiring", "accountant").
#[rustfmt::skip]
const SENSITIVE: &[(Cue, &[&str])] = &[
    (
        Cue::Id,
        &[
            "social", "ssn", "national insurance", "insurance number", "id number",
            "identification", "passport", "driving licen*", "driver's licen*",
            "drivers licen*", "licen* number",
        ],
    ),
    (
        Cue::Cvv,
        &[
            "cvv*", "cvc*", "c v v", "c v c", "cv2", "security code", "security number",
            "security digits", "code on the back", "digits on the back", "numbers on the back",
            "number on the back", "three digit*", "3 digit*", "four digit code",
            "card verification", "verification code", "signature strip",
        ],
    ),
    (Cue::Pin, &["pin", "pin number", "passcode", "password"]),
    (
        Cue::Expiry,
        &[
            "expir*", "exir*", "expar*", "expair*", "exp", "spire", "spires", "spyre", "valid*",
            "end date", "until",
            "runs out", "good thru", "good through",
        ],
    ),
    (
        Cue::Card,
        &[
            "card", "cards", "card's", "visa", "mastercard", "master card", "amex",
            "american express", "maestro", "debit", "credit", "long number", "sixteen digit*",
            "16 digit*", "fifteen digit*", "15 digit*",
        ],
    ),
    (Cue::SortCode, &["sort code*", "sortcode*", "sort cod*", "bank code", "routing"]),
    (
        Cue::Account,
        &[
            "account*", "acct", "a c c t", "count number", "member*", "policy", "customer number",
            "client number", "customer id", "iban", "bank details", "roll number",
        ],
    ),
    (Cue::Birth, &["date of birth", "d o b", "dob", "born", "birthday"]),
    (
        Cue::Phone,
        &[
            "phone*", "mobile*", "cell", "cellphone", "call", "reach", "contact number",
            "landline", "ring", "text me", "whatsapp", "extension",
        ],
    ),
    (Cue::Email, &["email*", "e mail*", "mail"]),
];

/// The most specific cue in `text` (as [`cue_text`] writes it). A question about when
/// something does or will happen, with a word rhyming with "expire", asks for an expiry date
/// ("when does the car retire?", "when does the caratops hire?"), ahead of the card it names.
fn cue_of(text: &str, when: bool) -> Option<Cue> {
    let listed = SENSITIVE.iter().position(|(_, keys)| has_cue(text, keys));
    let expiry = SENSITIVE.iter().position(|(c, _)| *c == Cue::Expiry);
    let expires =
        when && has_cue(text, &["does", "will"]) && text.split(' ').any(rhymes_with_expire);
    match listed {
        Some(k) if expiry.is_some_and(|e| k <= e) => Some(SENSITIVE[k].0),
        _ if expires => Some(Cue::Expiry),
        Some(k) => Some(SENSITIVE[k].0),
        None => None,
    }
}

/// A word the recogniser writes for "expire"/"expiry" when it loses the "ex": one ending like
/// it ("retire", "hire", "spiral"), but not the common words that merely rhyme in a question
/// ("require", "enquire", "entire").
fn rhymes_with_expire(w: &str) -> bool {
    const ENDINGS: &[&str] = &["ire", "ires", "ired", "iry", "iral"];
    const NOT: &[&str] = &[
        "require",
        "required",
        "requires",
        "enquire",
        "enquired",
        "enquiry",
        "inquire",
        "inquired",
        "inquiry",
        "entire",
        "desire",
        "acquire",
        "acquired",
        "questionnaire",
    ];
    ENDINGS.iter().any(|e| w.len() > e.len() && w.ends_with(e)) && !NOT.contains(&w)
}

/// Lower case, punctuation as spaces, one space between words and at both ends.
fn cue_text(s: &str) -> String {
    let mut out = String::from(" ");
    for w in s
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
    {
        out.push_str(w);
        out.push(' ');
    }
    out
}

fn has_cue(text: &str, keys: &[&str]) -> bool {
    keys.iter().any(|k| match k.strip_suffix('*') {
        Some(prefix) => text.contains(&format!(" {prefix}")),
        None => text.contains(&format!(" {k} ")),
    })
}

/// What a stretch of text says about the numbers after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Context {
    cue: Option<Cue>,
    /// Mentions a site-allowed context ("order number").
    allowed: bool,
    /// Says "number" (weak: a phone number, unless the site allows the context).
    number: bool,
    /// Asks for an ordinary quantity: an amount, a count, a time, a duration, an address
    /// ([`ORDINARY`]).
    ordinary: bool,
    /// Asks "when": a time or a date — ordinary unless the answer has an expiry's shape.
    when: bool,
    /// The other party asked something just before (their latest question is known).
    asked: bool,
}

/// Questions whose answer is an ordinary number, not personal data: a bare number given in
/// answer to anything else ("what is the…", a garbled "and the x-piry date") is redacted.
#[rustfmt::skip]
const ORDINARY: &[&str] = &[
    "how much", "how many", "how long", "how old", "how far", "what time", "time",
    "times", "price*", "cost*", "charg*", "paid", "pay", "amount", "pound*", "dollar*",
    "euro*", "bill", "total", "balance", "year*", "age", "old", "house", "flat", "street",
    "address", "postcode", "zip", "floor", "room", "quantity", "items", "minute*", "hour*",
    "day", "days", "week*", "month*", "deliver*", "wait*",
];

impl Context {
    fn of(text: &str, policy: &Policy) -> Context {
        let text = cue_text(text);
        let when = has_cue(&text, &["when"]);
        Context {
            cue: cue_of(&text, when),
            allowed: policy
                .allow_contexts
                .iter()
                .any(|a| text.contains(&cue_text(a))),
            number: has_cue(&text, &["number*"]),
            ordinary: has_cue(&text, ORDINARY),
            when,
            asked: false,
        }
    }

    /// This context, with what `other` adds: a sensitive cue on either side counts.
    fn or(self, other: Context) -> Context {
        Context {
            cue: self.cue.or(other.cue),
            allowed: self.allowed || other.allowed,
            number: self.number || other.number,
            ordinary: self.ordinary || other.ordinary,
            when: self.when || other.when,
            asked: self.asked || other.asked,
        }
    }
}

/// The context of the number starting at word `at`: the speaker's own words just before it
/// and the other party's latest question (the own cue first).
fn context(ws: &[Word], at: usize, other: &OtherSide, policy: &Policy) -> Context {
    let seg_start = |k: usize| other.seg_start_ms.get(ws[k].seg).copied();
    let from = (at.saturating_sub(CONTEXT_WINDOW)..at)
        .find(|&k| {
            ws[k].seg == ws[at].seg
                || matches!((seg_start(k), seg_start(at)), (Some(a), Some(b)) if b - a <= OWN_CUE_MS)
        })
        .unwrap_or(at);
    let own: Vec<&str> = ws[from..at].iter().map(|w| w.lower.as_str()).collect();
    let own = Context::of(&own.join(" "), policy);
    let Some(t) = seg_start(at) else {
        return own;
    };
    let question = question(other, t);
    let latest_text = last_words(&question, ANSWER_WORDS);
    let latest = Context::of(latest_text, policy);
    let whole = Context::of(&question, policy);
    let asked = Context {
        asked: !question.trim().is_empty(),
        // what kind of number is asked for: the latest thing said, not the one before it
        // ("how many times have you called?" … "what is the" → not a count; "do you have the
        // order number," … "and the 4-code," → not an order number)
        ordinary: latest.ordinary,
        when: latest.when,
        allowed: if names_a_number(latest_text) {
            latest.allowed
        } else {
            whole.allowed
        },
        ..whole
    };
    own.or(asked)
}

/// Whether a request names the kind of number it asks for ("and the 4-code", "the order
/// number"), rather than only prompting for it ("okay, go ahead").
fn names_a_number(text: &str) -> bool {
    has_cue(
        &cue_text(text),
        &["number*", "code*", "digit*", "date*", "detail*"],
    )
}

/// The end of `text` from the start of its last sentence of at least `n` words (all of it when
/// no sentence end leaves that many).
fn last_words(text: &str, n: usize) -> &str {
    text.rmatch_indices(['?', '.', '!'])
        .map(|(i, _)| &text[i + 1..])
        .find(|rest| rest.split_whitespace().count() >= n)
        .unwrap_or(text)
}

/// The other party's latest question before `t` (within [`CROSS_CUE_MS`]); each of their
/// segments ends a sentence ([`last_words`]), whatever punctuation the recogniser gave it.
fn question(other: &OtherSide, t: i64) -> String {
    let mut recent: Vec<&(i64, String)> = other
        .segments
        .iter()
        .filter(|(start, _)| *start <= t + 1_000 && *start >= t - CROSS_CUE_MS)
        .collect();
    recent.sort_by_key(|(start, _)| *start);
    let mut parts = Vec::new();
    for (_, text) in recent.iter().rev() {
        parts.push(text.as_str());
        if text.split_whitespace().count() >= QUESTION_WORDS {
            break;
        }
    }
    parts.reverse();
    parts.join(". ")
}

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[\w.+-]*\w@[\w-]+(\.[\w-]+)*$").unwrap())
}

fn domain_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)+$").unwrap())
}

fn ssn_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^\d{3}-\d{2}-\d{4}$").unwrap())
}

const TLDS: &[&str] = &[
    "com", "net", "org", "co", "uk", "io", "edu", "gov", "de", "fr", "info", "biz", "us", "ca",
    "ie", "au", "me",
];

/// Mail providers: "at gmail" is an address even when the recogniser lost the "dot com".
const MAIL_HOSTS: &[&str] = &[
    "gmail",
    "googlemail",
    "hotmail",
    "outlook",
    "yahoo",
    "icloud",
    "aol",
    "btinternet",
    "protonmail",
    "talktalk",
];

/// Words that end an e-mail's local part when reading back from "at".
const NOT_LOCAL: &[&str] = &[
    "is", "it", "it's", "its", "my", "email", "e-mail", "address", "the", "a", "yes", "yeah",
    "sure", "that", "that's", "me", "on", "to", "please", "ok", "okay", "so", "um", "uh", "er",
    "send", "here", "you", "can", "use", "of", "be", "would", "was", "just", "try", "under", "and",
    "i", "i'm", "am", "at", "we", "have", "got", "by", "via", "or", "from",
];

/// A domain-shaped word ending in a top-level domain: "example.com", "mail.example.co.uk".
fn domain_word(w: &str) -> bool {
    domain_re().is_match(w) && w.rsplit('.').next().is_some_and(|t| TLDS.contains(&t))
}

/// Where a host that starts at word `i` ends (exclusive), if `i` starts one: a domain word
/// or a mail provider, either followed by any "dot part" pairs, or a word followed by "dot TLD".
fn host_end(ws: &[Word], i: usize) -> Option<usize> {
    let w = ws.get(i)?;
    let mut end = i + 1;
    let mut tld = domain_word(&w.lower) || MAIL_HOSTS.contains(&w.lower.as_str());
    while ws
        .get(end)
        .is_some_and(|w| w.lower == "dot" || w.lower == "point")
        && ws.get(end + 1).is_some_and(|n| n.seg == w.seg)
    {
        tld |= TLDS.contains(&ws[end + 1].lower.trim_start_matches('.'));
        end += 2;
    }
    tld.then_some(end)
}

/// Where the host after the word "at" (`at`) ends: right after it ("at gmail", "at example dot
/// com"), after one or two garbled words ("at exam pull.com"), or — in answer to an e-mail
/// question or after a name spelt with "dot"/"underscore" — at the end of the segment
/// ("nadotbrown at example.", "in the dot tailor at example.").
fn spoken_host_end(ws: &[Word], at: usize, other: &OtherSide, policy: &Policy) -> Option<usize> {
    let seg = ws[at].seg;
    let in_seg = |k: usize| ws.get(k).is_some_and(|w| w.seg == seg);
    if let Some(end) = host_end(ws, at + 1) {
        return Some(end);
    }
    // garbled words before the host only after a name ("john at exam pull.com", not "we
    // bought it at the example.com shop")
    let local = local_start(ws, at);
    let named = local < at;
    if let Some(end) = (at + 2..=at + 3)
        .take_while(|&k| named && in_seg(k))
        .find_map(|k| host_end(ws, k))
    {
        return Some(end);
    }
    let joined = ws[local..at]
        .iter()
        .any(|w| matches!(w.lower.as_str(), "dot" | "underscore"));
    let asked = context(ws, at, other, policy).cue == Some(Cue::Email);
    (named && (asked || joined || handle(ws, at)) && in_seg(at + 1))
        .then(|| {
            (at + 1..ws.len())
                .take_while(|&k| in_seg(k))
                .last()
                .map(|k| k + 1)
        })
        .flatten()
}

/// The end of an address whose host the recogniser lost: "at" ends its segment after a name,
/// in answer to an e-mail question or spelt with "dot"/"underscore" ("It is Lucy Underscore
/// Brown at"): the name is redacted with the "at".
fn host_lost(ws: &[Word], at: usize, other: &OtherSide, policy: &Policy) -> Option<usize> {
    let last_in_seg = ws.get(at + 1).is_none_or(|n| n.seg != ws[at].seg);
    let local = local_start(ws, at);
    let joined = ws[local..at]
        .iter()
        .any(|w| matches!(w.lower.as_str(), "dot" | "underscore"));
    let asked = || context(ws, at, other, policy).cue == Some(Cue::Email);
    (last_in_seg && local < at && (joined || asked())).then_some(at + 1)
}

/// A user name with a number just before word `at`: a capitalised name and a number — a
/// numeral, a number word, or the letters the recogniser wrote for one ("It is Walker 50 at
/// example.", "It is Brown H.E. at exam pull.": "eighty" heard as "h.e.") whatever the
/// question was heard as —, or letters and digits in one word ("white50 at mail. com");
/// "paid 50 at the shop" and "Mark is at work" are not.
fn handle(ws: &[Word], at: usize) -> bool {
    let glued = at >= 1 && {
        // "white50 at mail. com": letters then digits in one word
        let w = ws[at - 1].lower.as_str();
        let letters = w.trim_end_matches(|c: char| c.is_ascii_digit());
        letters.len() >= 2
            && letters.len() < w.len()
            && letters.chars().all(|c| c.is_ascii_alphabetic())
    };
    glued
        || at >= 2 && {
            let (name, num) = (&ws[at - 2], &ws[at - 1]);
            name.seg == num.seg
                && name.capital
                && name.lower.chars().all(char::is_alphabetic)
                && !NOT_LOCAL.contains(&name.lower.as_str())
                && (num.lower.chars().all(|c| c.is_ascii_digit())
                    || unit(&num.lower).is_some()
                    || tens(&num.lower).is_some()
                    || spelt_letters(&num.lower))
        }
}

/// Letters written one by one with dots between ("h.e", "j.k"): what the recogniser writes
/// when it hears a number word as letters.
fn spelt_letters(w: &str) -> bool {
    let parts: Vec<&str> = w.split('.').collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|p| p.len() == 1 && p.chars().all(|c| c.is_ascii_alphabetic()))
}

/// The first word of the local part ending just before word `at` (exclusive end).
fn local_start(ws: &[Word], at: usize) -> usize {
    let mut k = at;
    let mut taken = 0;
    while k > 0 && ws[k - 1].seg == ws[at.min(ws.len() - 1)].seg && taken < 4 {
        let w = ws[k - 1].lower.as_str();
        if NOT_LOCAL.contains(&w) {
            break;
        }
        k -= 1;
        if !matches!(w, "dot" | "underscore" | "dash" | "hyphen" | "point") {
            taken += 1;
        }
    }
    k
}

/// E-mail addresses in every form the recogniser writes them.
fn find_emails(ws: &[Word], other: &OtherSide, policy: &Policy) -> Vec<Hit> {
    let mut hits: Vec<Hit> = Vec::new();
    let mut i = 0;
    while i < ws.len() {
        let w = &ws[i].lower;
        let hit = if email_re().is_match(w) {
            // written, perhaps with the rest spoken: "smith@gmail dot com"
            let end = host_end(ws, i).unwrap_or(i + 1).max(i + 1);
            Some((local_start(ws, i), end))
        } else if (w == "at" || w == "@") && i > 0 {
            spoken_host_end(ws, i, other, policy)
                .or_else(|| host_lost(ws, i, other, policy))
                .map(|end| (local_start(ws, i), end))
        } else if domain_word(w) && w.split('.').count() >= 3 && !w.starts_with("www.") {
            // half-written: "jon.mit.example.com" (the recogniser heard "at" as "dot")
            Some((local_start(ws, i), host_end(ws, i).unwrap_or(i + 1)))
        } else if (host_end(ws, i).is_some_and(|e| e > i + 1) || domain_word(w))
            && context(ws, i, other, policy).cue == Some(Cue::Email)
        {
            // after "what is your e-mail?", an answer ending in "dot com" with no "at", or a
            // domain with the name glued to it ("mawiteatexample.com", "Brunette-Mail.com")
            let end = host_end(ws, i).unwrap_or(i + 1);
            Some((local_start(ws, i), end))
        } else {
            None
        };
        match hit {
            Some((start, end)) => {
                hits.retain(|h| h.1 <= start);
                hits.push((start, end, "EMAIL"));
                i = end;
            }
            None => i += 1,
        }
    }
    hits
}

/// A redaction to apply: word range [from, to) and its label.
type Hit = (usize, usize, &'static str);

/// The run of digits starting at word `i`: (end word, digits). Fillers between digit groups
/// belong to it; it goes on into the speaker's next segment only if that follows within 10 s
/// and the other party said nothing in between (else it is the answer to another question).
fn digit_run(ws: &[Word], i: usize, other: &OtherSide, taken: &[bool]) -> (usize, String) {
    let mut j = i;
    let mut end = i;
    let mut digits = String::new();
    while j < ws.len() && !taken[j] {
        if j > i && ws[j].seg != ws[j - 1].seg && !follows_on(ws, j - 1, j, other) {
            // too late, or the other party spoke in between: another answer
            break;
        }
        match &ws[j].digits {
            Some(d) => {
                digits.push_str(d);
                j += 1;
                end = j;
            }
            None if filler(&ws[j].lower) && ws.get(j + 1).is_some_and(|n| n.digits.is_some()) => {
                j += 1;
            }
            None => break,
        }
    }
    (end, digits)
}

/// Whether word `b`'s segment goes on from word `a`'s: it starts within 10 s and the other
/// party said nothing in between (else it is the answer to another question).
fn follows_on(ws: &[Word], a: usize, b: usize, other: &OtherSide) -> bool {
    let t = |k: usize| other.seg_start_ms.get(ws[k].seg).copied();
    match (t(a), t(b)) {
        (Some(a), Some(b)) => {
            b - a <= 10_000 && !other.segments.iter().any(|(s, _)| *s > a && *s < b)
        }
        _ => true,
    }
}

/// The end (exclusive) of a segment that starting at word `i` holds only the rest of a number:
/// digits and at most two-letter garbles ("AA 8827 0." after a card number: "double eight"
/// heard as "AA"), with at least three digits; `None` otherwise.
fn number_tail(ws: &[Word], i: usize) -> Option<usize> {
    let seg = ws.get(i)?.seg;
    let end = (i..ws.len())
        .find(|&k| ws[k].seg != seg)
        .unwrap_or(ws.len());
    let digits: usize = ws[i..end]
        .iter()
        .filter_map(|w| w.digits.as_ref().map(String::len))
        .sum();
    let only_number = ws[i..end]
        .iter()
        .all(|w| digit_like(w) || (w.lower.len() <= 2 && w.lower.chars().all(char::is_alphabetic)));
    (only_number && digits >= 3).then_some(end)
}

/// Words a bare answer may have beside its number ("it is 593", "yes, oh eight two six").
const ANSWER_WORDS: usize = 3;

/// The label of a run of `n` digits in this context, if it is to be redacted. `bare`: the run
/// is all its segment says but for a few words (an answer, not a sentence).
fn label(digits: &str, ssn: bool, bare: bool, ctx: Context) -> Option<&'static str> {
    let n = digits.len();
    if (13..=19).contains(&n) {
        return Some("CARD_NUMBER");
    }
    if ssn {
        return Some("NATIONAL_ID");
    }
    let by_cue = match ctx.cue {
        Some(Cue::Cvv) if (2..=4).contains(&n) => Some("CVV"),
        Some(Cue::Pin) if (3..=8).contains(&n) => Some("PIN"),
        Some(Cue::Expiry) if (2..=6).contains(&n) => Some("EXPIRY"),
        Some(Cue::Card) if n >= 3 => Some("CARD_NUMBER"),
        Some(Cue::SortCode) if n >= 4 => Some("SORT_CODE"),
        Some(Cue::Account) if n >= 4 => Some("ACCOUNT_NUMBER"),
        Some(Cue::Id) if n >= 4 => Some("NATIONAL_ID"),
        Some(Cue::Birth) if (2..=8).contains(&n) => Some("DATE_OF_BIRTH"),
        Some(Cue::Phone) if n >= 6 => Some("PHONE"),
        _ => None,
    };
    if by_cue.is_some() {
        return by_cue;
    }
    let sensitive_cue = ctx.cue.is_some_and(|c| c != Cue::Email);
    if ctx.allowed && !sensitive_cue && n <= 12 {
        return None;
    }
    // an expiry's shape (0227, 1131: a month, then a year) answers "when" as no time does
    let month = digits.get(..2).and_then(|m| m.parse::<u32>().ok());
    let expiry_shaped = n == 4 && month.is_some_and(|m| (1..=12).contains(&m));
    let ordinary = ctx.ordinary || ctx.when && !expiry_shaped;
    if bare && ctx.asked && !ordinary && (3..=12).contains(&n) {
        // the answer to a question the recogniser garbled ("what is the CDB number?" "It is
        // 394."): a bare number asked for is personal data unless the question is about an
        // amount, a count, a time or an address
        return Some("NUMBER");
    }
    match n {
        10..=12 => Some("PHONE"),
        7..=9 if ctx.number => Some("PHONE"),
        6.. => Some("NUMBER"),
        _ => None,
    }
}

fn find(ws: &[Word], other: &OtherSide, policy: &Policy) -> Vec<Hit> {
    let mut hits = find_emails(ws, other, policy);
    let mut in_email = vec![false; ws.len()];
    for &(a, b, _) in &hits {
        in_email[a..b].iter_mut().for_each(|x| *x = true);
    }
    let mut i = 0;
    while i < ws.len() {
        if ws[i].digits.is_none() || in_email[i] {
            i += 1;
            continue;
        }
        let (j, digits) = digit_run(ws, i, other, &in_email);
        // a lone unit word ("one", "two") is ordinary speech, not a number; nor is a digit
        // word beside a homophone ("pay for three items", "two to one")
        let spoken_single = j == i + 1 && ws[i].lower.chars().all(char::is_alphabetic);
        let n = digits.len();
        let homophone_pair =
            n < 3 && j == i + 2 && ws[i..j].iter().any(|w| homophone(&w.lower).is_some());
        let not_a_number = homophone_pair || spoken_single && n < 3;
        if !not_a_number {
            let ssn = j == i + 1 && ssn_re().is_match(&ws[i].lower);
            let rest: Vec<&str> = ws
                .iter()
                .enumerate()
                .filter(|&(k, w)| w.seg == ws[i].seg && !(i..j).contains(&k) && w.digits.is_none())
                .map(|(_, w)| w.lower.as_str())
                .collect();
            let bare = rest.len() <= ANSWER_WORDS;
            let mut ctx = context(ws, i, other, policy);
            // the answer's own words can say what kind of number it is ("any day from 7 to 4")
            ctx.ordinary |= has_cue(&cue_text(&rest.join(" ")), ORDINARY);
            if let Some(l) = label(&digits, ssn, bare, ctx) {
                hits.push((i, j, l));
            }
        }
        i = j;
    }
    hits.sort_unstable();
    absorb_neighbours(ws, hits, other)
}

/// Whether word `k` stands for digits ("4", "four", "double").
fn digit_like(w: &Word) -> bool {
    w.digits.is_some() || repeat(&w.lower) > 0
}

/// Grow each redacted number over digits left beside it in its segment, with at most one
/// other word between ("079 double [PHONE]", "[CARD_NUMBER], go for 448", "[ACCOUNT_NUMBER]
/// ripple 0.05"), and over the speaker's next segment when it goes on from the number and
/// holds only the rest of it ([`number_tail`]): what the recogniser split off a number is part
/// of it. E-mail hits stay.
fn absorb_neighbours(ws: &[Word], mut hits: Vec<Hit>, other: &OtherSide) -> Vec<Hit> {
    let mut taken = vec![false; ws.len()];
    for &(a, b, _) in &hits {
        taken[a..b].iter_mut().for_each(|x| *x = true);
    }
    // words to take from the neighbour `next` onwards (`after` is the one beyond it): 1 if it
    // is a digit, 2 if one other word stands before a digit, 0 to stop
    let steps = |seg: usize, next: Option<usize>, after: Option<usize>, taken: &[bool]| {
        let free = |k: Option<usize>| k.filter(|&k| k < ws.len() && ws[k].seg == seg && !taken[k]);
        match (free(next), free(after)) {
            (Some(n), _) if digit_like(&ws[n]) => 1,
            (Some(_), Some(a)) if digit_like(&ws[a]) => 2,
            _ => 0,
        }
    };
    for h in hits.iter_mut().filter(|h| h.2 != "EMAIL") {
        let seg = ws[h.1 - 1].seg;
        loop {
            let step = steps(seg, Some(h.1), Some(h.1 + 1), &taken);
            if step == 0 {
                break;
            }
            taken[h.1..h.1 + step].iter_mut().for_each(|x| *x = true);
            h.1 += step;
        }
        let next = h.1;
        if next < ws.len()
            && ws[next].seg != seg
            && !taken[next]
            && follows_on(ws, next - 1, next, other)
            && let Some(end) = number_tail(ws, next)
            && !taken[next..end].contains(&true)
        {
            taken[next..end].iter_mut().for_each(|x| *x = true);
            h.1 = end;
        }
        let seg = ws[h.0].seg;
        loop {
            let step = steps(seg, h.0.checked_sub(1), h.0.checked_sub(2), &taken);
            if step == 0 {
                break;
            }
            taken[h.0 - step..h.0].iter_mut().for_each(|x| *x = true);
            h.0 -= step;
        }
    }
    hits
}

/// A piece of one segment's text that was replaced by a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redacted {
    /// Index of the segment among the channel's texts.
    pub segment: usize,
    /// Byte range `[from, to)` in the text as it was before redaction.
    pub from: usize,
    pub to: usize,
    /// The placeholder's label (`CARD_NUMBER`).
    pub label: &'static str,
}

/// Redact the texts of one channel's segments (in time order) in place, using the other
/// channel (if any) as context for the cues, and the site's policy for allowed contexts.
/// Returns the number of redactions made.
pub fn redact_channel(texts: &mut [String], other: &OtherSide, policy: &Policy) -> usize {
    redact_channel_marked(texts, other, policy).0
}

/// [`redact_channel`], also returning where each replaced piece was in the original texts (a
/// redaction that spans two segments is a piece in each).
pub fn redact_channel_marked(
    texts: &mut [String],
    other: &OtherSide,
    policy: &Policy,
) -> (usize, Vec<Redacted>) {
    let mut ws = Vec::new();
    for (k, t) in texts.iter().enumerate() {
        words(k, t, &mut ws);
    }
    spell_out(&mut ws);
    let hits = find(&ws, other, policy);
    let mut pieces = Vec::new();
    for &(from, to, label) in &hits {
        let mut k = from;
        while k < to {
            let seg = ws[k].seg;
            let mut last = k;
            while last + 1 < to && ws[last + 1].seg == seg {
                last += 1;
            }
            pieces.push(Redacted {
                segment: seg,
                from: ws[k].start,
                to: ws[last].end,
                label,
            });
            k = last + 1;
        }
    }
    // applied back to front, so the byte ranges before each edit stay valid
    pieces.sort_by_key(|p| (p.segment, p.from));
    for p in pieces.iter().rev() {
        texts[p.segment].replace_range(p.from..p.to, &format!("[{}]", p.label));
    }
    (hits.len(), pieces)
}

/// Redact a single text (e.g. `callsift rules test --text`) with the built-in policy.
pub fn redact(text: &str) -> (String, usize) {
    let mut v = vec![text.to_string()];
    let n = redact_channel(&mut v, &OtherSide::default(), &Policy::default());
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
        assert_eq!(
            redact_channel(&mut v, &OtherSide::default(), &Policy::default()),
            1
        );
        assert_eq!(
            v,
            vec!["The number is [CARD_NUMBER]", "[CARD_NUMBER]. Okay."]
        );
        // the rest of the number in the next segment, "double eight" heard as "AA"
        let mut v = vec![
            "by card. My card number is 5091 5410 9488".to_string(),
            "AA 8827 0.".to_string(),
        ];
        let starts = [0, 6_000];
        let other = OtherSide {
            seg_start_ms: &starts,
            segments: &[],
        };
        redact_channel(&mut v, &other, &Policy::default());
        assert_eq!(
            v,
            vec!["by card. My card number is [CARD_NUMBER]", "[CARD_NUMBER]."]
        );
        // not when the other party spoke in between, nor when the segment says more
        let said = [(3_000, "And how many boxes did you order?".to_string())];
        let mut v = vec![
            "My card number is 5091 5410 9488 8827".to_string(),
            "I think 8827 0 is right.".to_string(),
        ];
        let other = OtherSide {
            seg_start_ms: &starts,
            segments: &said[..0],
        };
        redact_channel(&mut v, &other, &Policy::default());
        assert_eq!(v[1], "I think 8827 0 is right.");
        let mut v = vec![
            "My card number is 5091 5410 9488 8827".to_string(),
            "AA 12.".to_string(),
        ];
        let other = OtherSide {
            seg_start_ms: &starts,
            segments: &said,
        };
        redact_channel(&mut v, &other, &Policy::default());
        assert_eq!(v[1], "AA 12.");
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
        assert_eq!(redact_channel(&mut v, &other, &Policy::default()), 1);
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
        redact_channel(&mut v, &other, &Policy::default());
        assert_eq!(v, vec!["[EXPIRY]"]);
    }

    /// Redact `answer` as said on one channel 3 s after `question` on the other.
    fn answer(question: &str, answer: &str, policy: &Policy) -> String {
        let q = vec![(10_000, question.to_lowercase())];
        let other = OtherSide {
            seg_start_ms: &[13_000],
            segments: &q,
        };
        let mut v = vec![answer.to_string()];
        redact_channel(&mut v, &other, policy);
        v.pop().unwrap()
    }

    fn no_digits(s: &str) -> bool {
        !s.chars().any(|c| c.is_ascii_digit())
    }

    #[test]
    fn card_digits_garbled_into_dashes_and_homophones() {
        let got = answer(
            "Can I take the long card number please?",
            "double for 1-1-3, 4-3, 6-4, 6-7",
            &Policy::default(),
        );
        assert_eq!(got, "[CARD_NUMBER]");
    }

    #[test]
    fn partial_card_digits_after_a_card_cue() {
        let got = answer(
            "Go ahead with the card number.",
            "411 11",
            &Policy::default(),
        );
        assert_eq!(got, "[CARD_NUMBER]");
    }

    #[test]
    fn a_phone_number_with_to_for_two_and_a_filler() {
        let got = answer(
            "What is the best number to reach you on?",
            "0 to 0, 7 and 9 4 6, 0 to 1 to",
            &Policy::default(),
        );
        assert_eq!(got, "[PHONE]");
    }

    #[test]
    fn half_written_and_spoken_emails() {
        assert_eq!(r("It is jon.mit.example.com."), "It is [EMAIL].");
        assert_eq!(r("Name70 at mail.example.com"), "[EMAIL]");
        assert_eq!(r("it is j smith at example dot co dot uk"), "it is [EMAIL]");
        assert_eq!(r("yes john dot smith at gmail dot com"), "yes [EMAIL]");
        assert_eq!(r("sarah underscore jones at hotmail"), "[EMAIL]");
        // after the question, an answer whose "at" was lost
        assert_eq!(
            answer(
                "What email should I send the receipt to?",
                "It is john dot smith gmail dot com",
                &Policy::default()
            ),
            "It is [EMAIL]"
        );
        // websites and "at" in ordinary speech stay
        for s in ["go to www.example.com for the form", "we met at the office"] {
            assert_eq!(r(s), s);
        }
    }

    #[test]
    fn garbled_expiry_and_cvv_cues() {
        assert_eq!(r("Exiring 928"), "Exiring [EXPIRY]");
        let p = Policy::default();
        assert_eq!(
            answer("And the end date on the card?", "nine twenty eight", &p),
            "[EXPIRY]"
        );
        assert_eq!(
            answer("What is the C V V?", "seven double one", &p),
            "[CVV]"
        );
        assert_eq!(
            answer("And the numbers on the back?", "It is 4 oh 7.", &p),
            "It is [CVV]."
        );
    }

    #[test]
    fn an_account_number_after_accountant() {
        let got = answer(
            "Can I take your accountant?",
            "4 8 1 7 2 9 3 6",
            &Policy::default(),
        );
        assert_eq!(got, "[ACCOUNT_NUMBER]");
        assert_eq!(
            answer(
                "And the sort code?",
                "twenty, thirty two, fifteen",
                &Policy::default()
            ),
            "[SORT_CODE]"
        );
    }

    #[test]
    fn six_digits_anywhere_unless_the_site_allows_the_context() {
        assert_eq!(
            r("the code they gave me is 482913"),
            "the code they gave me is [NUMBER]"
        );
        let site = Policy {
            allow_contexts: vec!["order number".into()],
        };
        let said = "the order number is seven two nine four one eight three";
        assert!(no_digits(&answer(
            "Anything else?",
            said,
            &Policy::default()
        )));
        assert_eq!(answer("Anything else?", said, &site), said);
        assert_eq!(
            answer("Do you have the order number?", "7294183", &site),
            "7294183"
        );
        // a card-length run, or a number after a payment cue, is never allowed
        assert_eq!(
            answer("Anything else?", "order number 4539148803436467", &site),
            "order number [CARD_NUMBER]"
        );
        assert_eq!(
            answer(
                "And the card number?",
                "the order number is 4539 1488",
                &site
            ),
            "the order number is [CARD_NUMBER]",
            "a payment cue on either side wins over an allowed context"
        );
        assert_eq!(
            answer("And the card number?", "4539 1488", &site),
            "[CARD_NUMBER]"
        );
    }

    #[test]
    fn the_latest_question_is_the_cue() {
        let agent = vec![
            (0, "can i take the long card number please".to_string()),
            (10_000, "thank you. how much were you charged?".to_string()),
        ];
        let other = OtherSide {
            seg_start_ms: &[12_000],
            segments: &agent,
        };
        let mut v = vec!["twenty nine ninety nine".to_string()];
        redact_channel(&mut v, &other, &Policy::default());
        assert_eq!(v, vec!["twenty nine ninety nine"]);
    }

    #[test]
    fn an_allowed_context_cannot_name_a_payment_cue() {
        assert_eq!(Policy::refuse("order number"), None);
        assert_eq!(Policy::refuse("card number"), Some("a card number"));
        assert_eq!(
            Policy::refuse("security code"),
            Some("a card security code")
        );
    }

    #[test]
    fn double_heard_as_w_inside_a_dashed_numeral() {
        let got = answer(
            "Could you read me the card number?",
            "53-w2-9-2-2-w2-w4-91-w8-3-0.",
            &Policy::default(),
        );
        assert_eq!(got, "[CARD_NUMBER].");
        assert_eq!(r("the W2 form"), "the W2 form");
    }

    #[test]
    fn answers_to_two_questions_are_two_numbers() {
        // the card answer and the next answer are 8 s apart, with the agent's question
        // between them: two runs, each with its own cue (together they were 23 digits,
        // too long for a card number)
        let agent = vec![
            (0, "can i take the long card number please".to_string()),
            (
                8_000,
                "what is the count number on your statement?".to_string(),
            ),
        ];
        let other = OtherSide {
            seg_start_ms: &[3_000, 11_000],
            segments: &agent,
        };
        let mut v = vec![
            "It is 57517419 1292462".to_string(),
            "37 21 59 97".to_string(),
        ];
        assert_eq!(redact_channel(&mut v, &other, &Policy::default()), 2);
        assert_eq!(v, vec!["It is [CARD_NUMBER]", "[ACCOUNT_NUMBER]"]);
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
            "I would like to pay for two items today",
            "I need to talk to someone for ten minutes",
            "any day from nine to five",
            "it was twenty nine ninety nine",
        ] {
            assert_eq!(r(s), s);
        }
    }

    #[test]
    fn a_bare_number_asked_for_is_redacted_unless_the_question_is_about_a_quantity() {
        let p = Policy::default();
        // the recogniser garbled the cue ("CVV" → "CDB", "expiry" → "x-piry")
        assert_eq!(
            answer("What is the CDB number?", "It is 394.", &p),
            "It is [NUMBER]."
        );
        assert_eq!(
            answer("And the X-Piry date,", "Of 428.", &p),
            "Of [NUMBER]."
        );
        assert_eq!(answer("What is the", "08-30", &p), "[NUMBER]");
        // the latest thing asked counts, not the question before it
        assert_eq!(
            answer("How many times have you called? What is the", "08-30", &p),
            "[NUMBER]"
        );
        // amounts, times, counts and durations stay, as do numbers inside a sentence
        assert_eq!(
            answer("How much were you charged?", "It was 2989.", &p),
            "It was 2989."
        );
        assert_eq!(
            answer("When can you be in", "Any day from 7 to 4.", &p),
            "Any day from 7 to 4."
        );
        assert_eq!(
            answer(
                "Is there anything else I can help with?",
                "I bought 250 of them last year.",
                &p
            ),
            "I bought 250 of them last year."
        );
        // without a question (a mono call, an unprompted remark) the rule does not apply
        assert_eq!(r("It is 394."), "It is 394.");
    }

    #[test]
    fn digits_split_off_a_redacted_number_go_with_it() {
        let p = Policy::default();
        assert_eq!(
            answer("Can I take your account number?", "123456 ripple 0.05.", &p),
            "[ACCOUNT_NUMBER]."
        );
        assert_eq!(
            answer("Is there a phone number?", "079 double 4 5 6 1 2 3 4 5", &p),
            "[PHONE]"
        );
        assert_eq!(
            r("So that is 4539 1488 0343 6467, go for 448. Is that right?"),
            "So that is [CARD_NUMBER]. Is that right?"
        );
        assert_eq!(
            answer("Can you give me the policy number?", "44 55 66 77 W33", &p),
            "[ACCOUNT_NUMBER]"
        );
        // an ordinary number further along the sentence stays
        assert_eq!(
            r("card 4539 1488 0343 6467 and I was charged 40 pounds"),
            "card [CARD_NUMBER] and I was charged 40 pounds"
        );
    }

    #[test]
    fn e_mail_hosts_the_recogniser_split_or_cut() {
        let p = Policy::default();
        assert_eq!(
            r("It is John Underscore Walker at exam pull.com."),
            "It is [EMAIL]."
        );
        assert_eq!(
            answer(
                "What mail should I send the receipt to?",
                "It is nadotbrown at example.",
                &p
            ),
            "It is [EMAIL]."
        );
        // "at" in ordinary speech, a shop's website
        assert_eq!(
            r("we bought it at the example.com shop"),
            "we bought it at the example.com shop"
        );
        assert_eq!(
            answer("Where did you buy it?", "I was at the shop.", &p),
            "I was at the shop."
        );
    }

    #[test]
    fn doubles_inside_numerals_homophone_pairs_and_when_questions() {
        let p = Policy::default();
        assert_eq!(
            answer(
                "And the bank account number?",
                "8-double-7-4-6. Double-5-7.",
                &p
            ),
            "[ACCOUNT_NUMBER]."
        );
        assert_eq!(
            r("You can call me back on 07-6. Double-0-26-7. 5-double-1."),
            "You can call me back on [PHONE]."
        );
        assert_eq!(
            r("by card. My card number is 47W24704W5853048."),
            "by card. My card number is [CARD_NUMBER]."
        );
        // "for three" is not 4-3, even just after the expiry question
        assert_eq!(
            answer(
                "And the expiry date?",
                "I would like to pay for three items today",
                &p
            ),
            "I would like to pay for three items today"
        );
        assert_eq!(
            answer(
                "And the last three digits in the back of the card",
                "Monday for 24",
                &p
            ),
            "Monday [CVV]"
        );
        // "when" asks for a time or a date: an expiry's shape (0227) is redacted, a time not
        // (a rhyme of "expire" makes it an expiry question outright)
        assert_eq!(
            answer("When does the carrtyp spiral?", "0227.", &p),
            "[EXPIRY]."
        );
        assert_eq!(
            answer("and when is the caratops?", "0227.", &p),
            "[NUMBER]."
        );
        assert_eq!(
            answer("and when is the caratops?", "1.131.", &p),
            "[NUMBER]."
        );
        assert_eq!(
            answer("What time did the engineer come?", "It was 1030.", &p),
            "It was 1030."
        );
        // numerals with "oh" as o, "slash" written out and a lone w for "double"
        assert_eq!(answer("And the expiry date?", "O6-29.", &p), "[EXPIRY].");
        assert_eq!(
            answer("and x pirate date", "a 1-slash-30.", &p),
            "a [NUMBER]."
        );
        assert_eq!(
            answer(
                "Can you give me the policy number?",
                "0-8-W-4-1-9-4-29.",
                &p
            ),
            "[ACCOUNT_NUMBER]."
        );
        // words with an o stay words
        assert_eq!(r("go to the o2 shop"), "go to the o2 shop");
        assert_eq!(
            answer("When can you be in?", "mut 8 from 9 to 5 man", &p),
            "mut 8 from 9 to 5 man"
        );
        assert_eq!(
            r("It is in the dot tailor at example."),
            "It is in the [EMAIL]."
        );
    }

    #[test]
    fn letters_inside_numerals_spire_for_expire_and_handles_with_numbers() {
        let p = Policy::default();
        // "eighty" heard as "he" inside the account number
        assert_eq!(
            answer(
                "date, what is the account number on your statement?",
                "8873HE27.",
                &p
            ),
            "[ACCOUNT_NUMBER]."
        );
        // words with digits at an end stay words
        assert_eq!(r("back in the 2020s at 10am"), "back in the 2020s at 10am");
        assert_eq!(garbled_numeral("4g2-99").as_deref(), Some("4299"));
        assert_eq!(
            garbled_numeral("4.56732h835099120").as_deref(),
            Some("456732835099120")
        );
        assert_eq!(garbled_numeral("niti-552-3590").as_deref(), Some("5523590"));
        for word in [
            "2020s",
            "10am",
            "mp3",
            "b2b",
            "a4-5",
            "covid-19",
            "abcdef-12-34",
        ] {
            assert_eq!(garbled_numeral(word), None, "{word}");
        }
        assert_eq!(
            answer(
                "What is the long number on the front of the card?",
                "Yes 4G2-99. 4G5-19.",
                &p
            ),
            "Yes [CARD_NUMBER]."
        );
        // "expire" heard as "up spire": the answer is an expiry however its digits came out
        assert_eq!(
            answer("When does the carad up spire?", "8 0 6 25", &p),
            "[EXPIRY]"
        );
        // a name with a number before "at", the e-mail question garbled past recognition
        assert_eq!(
            answer(
                "and go or may let us please?",
                "It is Walker 50 at example.",
                &p
            ),
            "It is [EMAIL]."
        );
        assert_eq!(
            answer("How much did you pay?", "I paid 50 at the shop.", &p),
            "I paid 50 at the shop."
        );
        assert_eq!(
            answer(
                "And go to my letter, please.",
                "It is white50 at mail. com.",
                &p
            ),
            "It is [EMAIL]."
        );
        // after the e-mail question, a domain with the name glued to it
        for said in [
            "It is mawiteatexample.com.",
            "It is David Brunette-Mail.com.",
        ] {
            assert!(
                answer("Can I take an email address?", said, &p).ends_with("[EMAIL]."),
                "{said}"
            );
        }
        // a website named without an e-mail question stays
        assert_eq!(
            answer("Where did you see the offer?", "On example.com.", &p),
            "On example.com."
        );
    }

    #[test]
    fn a_word_glued_to_digits_inside_a_card_number() {
        // "then one two nine one" heard as "Ben1291" between two groups of the number
        assert_eq!(
            answer(
                "Can I take the long card number please?",
                "Okay, 4253 2235, Ben1291, 4734,",
                &Policy::default()
            ),
            "Okay, [CARD_NUMBER],"
        );
        assert_eq!(garbled_numeral("ben1291").as_deref(), Some("1291"));
        for word in ["mp3", "abcd1234", "a12", "covid19"] {
            assert_eq!(garbled_numeral(word), None, "{word}");
        }
    }

    #[test]
    fn the_latest_request_decides_whether_an_allowed_context_applies() {
        let site = Policy {
            allow_contexts: vec!["order number".into()],
        };
        // "and the sort code?" heard as "and the 4-code," after the order-number question
        let agent = vec![
            (0, "Do you have the order number,".to_string()),
            (7_000, "and the 4-code,".to_string()),
        ];
        let other = OtherSide {
            seg_start_ms: &[2_000, 9_000],
            segments: &agent,
        };
        let mut v = vec![
            "Yes the order number is 355263 1 1 4".to_string(),
            "3705 905.".to_string(),
        ];
        redact_channel(&mut v, &other, &site);
        assert_eq!(v, vec!["Yes the order number is 355263 1 1 4", "[NUMBER]."]);
        // a prompt that names no number ("okay, go ahead") leaves the order number allowed
        let agent = vec![
            (0, "Do you have the order number,".to_string()),
            (3_000, "okay go ahead".to_string()),
        ];
        let other = OtherSide {
            seg_start_ms: &[5_000],
            segments: &agent,
        };
        let mut v = vec!["355263114.".to_string()];
        redact_channel(&mut v, &other, &site);
        assert_eq!(v, vec!["355263114."]);
    }

    #[test]
    fn oh_heard_as_a_letter_glued_to_a_phone_number_group() {
        assert_eq!(
            r("You can call me back on 0.7496. A16.838."),
            "You can call me back on [PHONE]."
        );
        assert_eq!(garbled_numeral("a16.838").as_deref(), Some("16838"));
        for word in ["b2-3", "abcd16.838", "a16.b38"] {
            assert_eq!(garbled_numeral(word), None, "{word}");
        }
    }

    #[test]
    fn double_at_a_numerals_end_and_a_digit_heard_as_a_letter_inside_it() {
        // "zero seven double four zero, zero double three, double eight two" after "and your
        // mobile number": the repeat written at the end of one numeral, its digit in the next;
        // "eight" heard as "a" between dashes
        assert_eq!(
            answer(
                "And your mobile number,",
                "07-double 4003-double-a-2.",
                &Policy::default()
            ),
            "[PHONE]."
        );
        assert_eq!(plain_numeral("07-double").as_deref(), Some("07"));
        assert_eq!(plain_numeral("4003-double-a-2").as_deref(), Some("4003882"));
        assert_eq!(plain_numeral("53-for-9").as_deref(), Some("5349"));
        assert_eq!(plain_numeral("1-eight-2").as_deref(), Some("182"));
        assert_eq!(trailing_repeat("07-double"), 2);
        assert_eq!(trailing_repeat("well-double"), 0);
        // with no cue, in running speech, the same forms read as ten digits anywhere
        assert_eq!(r("it's 07-double 4003-double-a-2 yes"), "it's [PHONE] yes");
        // words that are not digits still end a numeral; ordinary hyphenated words stay
        for word in ["5-a-side", "24-hour", "9-to-5", "2-for-1"] {
            assert_eq!(
                r(&format!("a {word} deal")),
                format!("a {word} deal"),
                "{word}"
            );
        }
        assert_eq!(plain_numeral("4-day"), None);
    }

    #[test]
    fn a_name_before_at_whose_host_was_lost() {
        let p = Policy::default();
        assert_eq!(
            answer(
                "What mail should I send the receipt to?",
                "It is Lucy Underscore Brown at",
                &p
            ),
            "It is [EMAIL]"
        );
        assert_eq!(r("it is lucy dot brown at"), "it is [EMAIL]");
        // "at" ending an ordinary sentence stays
        for said in ["Where is she? She is at", "I will look at"] {
            assert_eq!(answer("Where did you leave it?", said, &p), said);
        }
    }

    #[test]
    fn a_name_with_a_number_heard_as_letters_before_at() {
        let p = Policy::default();
        // "brown eighty at example dot com": eighty heard as "H.E.", the question garbled
        assert_eq!(
            answer(
                "And go or may let us please?",
                "It is Brown H.E. at exam pull.",
                &p
            ),
            "It is [EMAIL]."
        );
        assert_eq!(
            answer(
                "And go or may let us please?",
                "It is Smith forty at mail.",
                &p
            ),
            "It is [EMAIL]."
        );
        for said in ["Mark is at work today.", "Ask Sarah to be at the office."] {
            assert_eq!(answer("Where is he?", said, &p), said);
        }
    }

    #[test]
    fn expire_heard_as_a_rhyme_in_a_when_question() {
        let p = Policy::default();
        // "when does the card expire?" heard as "when does the car retire?", "oh" as "on"
        assert_eq!(
            answer("When does the car retire?", "on 928.", &p),
            "on [EXPIRY]."
        );
        assert_eq!(
            answer("When does the card up spire?", "928", &p),
            "[EXPIRY]"
        );
        // other "when" questions keep their times and dates: a past event, a common rhyme
        for (q, a) in [
            ("When did it happen?", "At 930."),
            ("When does the engineer require access?", "At 930."),
            ("When did you retire?", "In 2019."),
        ] {
            assert_eq!(answer(q, a, &p), a, "{q}");
        }
    }
}
