//! Rules: categories of agent behaviour, customer events and complaint topics, defined as data
//! (a TOML rules file) and matched on normalised transcript text, so that ordinary ASR
//! variation ("I'm"/"I am", case, punctuation) still matches.
//!
//! A category:
//! ```toml
//! [[category]]
//! id = "empathy"                 # snake_case, unique
//! kind = "behaviour"             # behaviour | event | topic
//! description = "..."
//! role = "agent"                 # agent | customer | any (default)
//! any = ["i understand how*", "within * days"]  # one of these; `word*` = prefix, `*` = one word
//! all = ["refund*", "card"]      # every one of these somewhere in the call
//! near = ['"credit" NEAR:3 "card"']              # two phrases at most N words apart
//! not = ["not sorry"]            # a segment holding one of these does not count
//! window = "first 30s"           # or "last 20s", "first 10%", "last 25%"
//! min_count = 1                  # matches of any/near needed (default 1)
//! hold = "before"                # optional: hits announce ("before") or close ("after") a
//!                                # measured hold; gives holds_announced / holds_thanked
//! examples = ["agent: I understand how frustrating that is"]       # must fire
//! counter_examples = ["agent: I understand your order number"]      # must not fire
//! ```
//! `{customer_name}` in a phrase stands for the name the customer gave in this call (see
//! [`crate::analyze::names`]); several name words in a row ("James Cooper") are one match.
//! Matches of one category that overlap in a segment count once.
//! Examples are fixture transcripts, one `role: text` line per segment; the tests run every
//! built-in category's examples. Matching does no I/O.

use serde::Deserialize;
use toml::Spanned;

use crate::analyze::pii::Policy;
use crate::record::Role;

/// The built-in English rule pack (rules/builtin.toml).
pub const BUILTIN: &str = include_str!("../../rules/builtin.toml");

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{origin}:{line}:{col}: {message}\nhint: see the rule format in docs/rules.md")]
    Parse {
        origin: String,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{origin}:{line}: [pii] allow_contexts: {message}\nhint: {hint}")]
    Pii {
        origin: String,
        line: usize,
        message: String,
        hint: &'static str,
    },
    #[error("{origin}:{line}: category {id:?}: {message}")]
    Invalid {
        origin: String,
        line: usize,
        id: String,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Behaviour,
    Event,
    Topic,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Behaviour => "behaviour",
            Kind::Event => "event",
            Kind::Topic => "topic",
        }
    }
    /// Prefix of the per-category column: `beh_`, `evt_`, `topic_`.
    pub fn column_prefix(self) -> &'static str {
        match self {
            Kind::Behaviour => "beh_",
            Kind::Event => "evt_",
            Kind::Topic => "topic_",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleSel {
    Agent,
    Customer,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Window {
    FirstMs(i64),
    LastMs(i64),
    FirstFrac(f64),
    LastFrac(f64),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Prefix(String),
    /// A lone `*`: exactly one word, whatever it is.
    Any,
    /// `{customer_name}`: one or more consecutive words of the customer's name.
    CustomerName,
}

/// How a category's hits relate to measured holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldLink {
    /// Said before a hold (permission asked).
    Before,
    /// Said after a hold (thanks for waiting).
    After,
}

#[derive(Debug, Clone, PartialEq)]
struct Phrase(Vec<Tok>);

#[derive(Debug, Clone)]
struct Near {
    a: Phrase,
    b: Phrase,
    max_words: usize,
}

/// A compiled category.
#[derive(Debug, Clone)]
pub struct Category {
    pub id: String,
    pub kind: Kind,
    pub description: String,
    pub role: RoleSel,
    any: Vec<Phrase>,
    all: Vec<Phrase>,
    near: Vec<Near>,
    not: Vec<Phrase>,
    window: Option<Window>,
    min_count: usize,
    pub hold: Option<HoldLink>,
    pub examples: Vec<String>,
    pub counter_examples: Vec<String>,
}

/// A compiled rule set.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub categories: Vec<Category>,
    /// The `[pii]` table: contexts whose numbers the site does not treat as personal data.
    pub pii: Policy,
}

/// One piece of the conversation to match against.
#[derive(Debug, Clone)]
pub struct Utterance<'a> {
    pub role: Role,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: &'a str,
}

/// Evidence that a category fired: which segment, and the (already redacted) text.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub category: usize,
    pub role: Role,
    pub start_ms: i64,
    pub end_ms: i64,
    pub evidence: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default, rename = "category")]
    categories: Vec<Spanned<CategoryDef>>,
    #[serde(default)]
    pii: Option<Spanned<PiiDef>>,
}

/// `[pii] allow_contexts = ["order number", ...]` (see docs/rules.md).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PiiDef {
    #[serde(default)]
    allow_contexts: Vec<String>,
}

fn default_role() -> String {
    "any".into()
}
fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryDef {
    id: String,
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default = "default_role")]
    role: String,
    #[serde(default)]
    any: Vec<String>,
    #[serde(default)]
    all: Vec<String>,
    #[serde(default)]
    near: Vec<String>,
    #[serde(default)]
    not: Vec<String>,
    #[serde(default)]
    window: Option<String>,
    #[serde(default = "one")]
    min_count: usize,
    #[serde(default)]
    hold: Option<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    counter_examples: Vec<String>,
}

/// Lower-case, expand contractions, drop punctuation; returns the words.
pub fn normalise(text: &str) -> Vec<String> {
    let t = text.to_lowercase().replace(['’', '‘'], "'");
    let mut out = Vec::new();
    for raw in t.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '*')) {
        let w = raw.trim_matches('\'');
        if w.is_empty() {
            continue;
        }
        let expanded: &[&str] = match w {
            "can't" | "cannot" => &["can", "not"],
            "won't" => &["will", "not"],
            "shan't" => &["shall", "not"],
            "i'm" => &["i", "am"],
            "let's" => &["let", "us"],
            _ => &[],
        };
        if !expanded.is_empty() {
            out.extend(expanded.iter().map(|s| s.to_string()));
            continue;
        }
        let pairs = [
            ("n't", "not"),
            ("'ll", "will"),
            ("'re", "are"),
            ("'ve", "have"),
            ("'d", "would"),
            ("'s", "is"),
        ];
        if let Some((stem, rest)) = pairs
            .iter()
            .find_map(|(suf, full)| w.strip_suffix(suf).map(|s| (s, *full)))
            && !stem.is_empty()
        {
            out.push(stem.replace('\'', ""));
            out.push(rest.to_string());
            continue;
        }
        out.push(w.replace('\'', ""));
    }
    out
}

fn phrase(s: &str) -> Result<Phrase, String> {
    let mut toks: Vec<Tok> = Vec::new();
    for piece in s.split_whitespace() {
        if piece == "{customer_name}" {
            toks.push(Tok::CustomerName);
            continue;
        }
        if piece.contains(['{', '}']) {
            return Err(format!(
                "unknown placeholder in {s:?}; the only one is {{customer_name}}"
            ));
        }
        for w in normalise(piece) {
            toks.push(match w.strip_suffix('*') {
                Some("") => Tok::Any,
                Some(p) if !p.contains('*') => Tok::Prefix(p.to_string()),
                Some(_) => return Err(format!("wildcard must follow a word prefix in {s:?}")),
                None if w.contains('*') => {
                    return Err(format!("wildcard only at the end of a word in {s:?}"));
                }
                None => Tok::Word(w),
            });
        }
    }
    if toks.is_empty() || toks.iter().all(|t| *t == Tok::Any) {
        return Err(format!("phrase {s:?} has no words"));
    }
    Ok(Phrase(toks))
}

fn near(s: &str) -> Result<Near, String> {
    let bad = || format!("near must look like '\"credit\" NEAR:3 \"card\"', got {s:?}");
    let (left, rest) = s.split_once("NEAR:").ok_or_else(bad)?;
    let rest = rest.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let max_words = digits.parse().map_err(|_| bad())?;
    let right = &rest[digits.len()..];
    let unq = |x: &str| x.trim().trim_matches('"').to_string();
    Ok(Near {
        a: phrase(&unq(left))?,
        b: phrase(&unq(right))?,
        max_words,
    })
}

fn window(s: &str) -> Result<Window, String> {
    let bad = || {
        format!(
            "window must be like \"first 30s\", \"last 20s\", \"first 10%\" or \"last 25%\", got {s:?}"
        )
    };
    let (side, amount) = s.trim().split_once(' ').ok_or_else(bad)?;
    let amount = amount.trim();
    // a window of zero or negative length never fires: refuse it rather than ignore the rule
    let positive = |x: f64| {
        if x.is_finite() && x > 0.0 {
            Ok(x)
        } else {
            Err(format!(
                "window {s:?} has no length: it would never fire\nhint: give a positive length, e.g. \"first 30s\" or \"last 25%\""
            ))
        }
    };
    let w = if let Some(p) = amount.strip_suffix('%') {
        let f = positive(p.trim().parse().map_err(|_| bad())?)?;
        if f > 100.0 {
            return Err(bad());
        }
        match side {
            "first" => Window::FirstFrac(f / 100.0),
            "last" => Window::LastFrac(f / 100.0),
            _ => return Err(bad()),
        }
    } else if let Some(secs) = amount.strip_suffix('s') {
        let secs = positive(secs.trim().parse::<f64>().map_err(|_| bad())?)?;
        let ms = (secs * 1000.0).round() as i64;
        if ms == 0 {
            return Err(positive(0.0).unwrap_err());
        }
        match side {
            "first" => Window::FirstMs(ms),
            "last" => Window::LastMs(ms),
            _ => return Err(bad()),
        }
    } else {
        return Err(bad());
    };
    Ok(w)
}

/// Check the `[pii]` table: every allowed context is a phrase that names no payment, account
/// or identity cue (those numbers are always redacted).
fn pii_policy(contexts: &[String], origin: &str, line: usize) -> Result<Policy, RulesError> {
    let err = |message: String, hint| RulesError::Pii {
        origin: origin.into(),
        line,
        message,
        hint,
    };
    let mut allow = Vec::new();
    for c in contexts {
        let words = normalise(c);
        if words.is_empty() {
            return Err(err(
                format!("{c:?} has no words"),
                "give phrases such as \"order number\"",
            ));
        }
        if let Some(what) = Policy::refuse(c) {
            return Err(err(
                format!("{c:?} would let {what} through"),
                "allowed contexts are for numbers that are not personal data (order, ticket, reference numbers)",
            ));
        }
        allow.push(words.join(" "));
    }
    Ok(Policy {
        allow_contexts: allow,
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

impl Category {
    /// Output column: `beh_<id>`, `evt_<id>` or `topic_<id>`.
    pub fn column(&self) -> String {
        format!("{}{}", self.kind.column_prefix(), self.id)
    }
    /// Matches of this category's `any` and `near` phrases in one text (overlaps once).
    pub fn count_in(&self, text: &str, names: &[String]) -> usize {
        let words = normalise(text);
        let m = Matcher { names };
        m.count_any(&words, &self.any) + self.near.iter().filter(|n| m.near(&words, n)).count()
    }
    /// Whether the category can be judged on a recording whose roles are unknown (mono).
    pub fn works_without_roles(&self) -> bool {
        self.role == RoleSel::Any
    }
}

impl RuleSet {
    /// The built-in English pack.
    pub fn builtin() -> RuleSet {
        RuleSet::parse(BUILTIN, "rules/builtin.toml").expect("the built-in rule pack is valid")
    }

    /// Parse and validate a rules file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<RuleSet, RulesError> {
        let file: FileDef = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            RulesError::Parse {
                origin: origin.into(),
                line,
                col,
                message: e.message().trim().to_string(),
            }
        })?;
        let mut categories = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for sp in file.categories {
            let line = line_col(text, sp.span().start).0;
            let d = sp.into_inner();
            let invalid = |message: String| RulesError::Invalid {
                origin: origin.into(),
                line,
                id: d.id.clone(),
                message,
            };
            if d.id.is_empty()
                || !d
                    .id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(invalid("id must be snake_case (a-z, 0-9, _)".into()));
            }
            if !seen.insert(d.id.clone()) {
                return Err(invalid("id is defined twice".into()));
            }
            let kind = match d.kind.as_str() {
                "behaviour" | "behavior" => Kind::Behaviour,
                "event" => Kind::Event,
                "topic" => Kind::Topic,
                k => {
                    return Err(invalid(format!(
                        "kind {k:?} is not behaviour, event or topic"
                    )));
                }
            };
            let role = match d.role.as_str() {
                "agent" => RoleSel::Agent,
                "customer" => RoleSel::Customer,
                "any" => RoleSel::Any,
                r => return Err(invalid(format!("role {r:?} is not agent, customer or any"))),
            };
            let phrases = |v: &[String]| v.iter().map(|p| phrase(p)).collect::<Result<Vec<_>, _>>();
            let any = phrases(&d.any).map_err(&invalid)?;
            let all = phrases(&d.all).map_err(&invalid)?;
            let not = phrases(&d.not).map_err(&invalid)?;
            let nears = d
                .near
                .iter()
                .map(|n| near(n))
                .collect::<Result<Vec<_>, _>>()
                .map_err(&invalid)?;
            if any.is_empty() && all.is_empty() && nears.is_empty() {
                return Err(invalid("needs at least one of any, all or near".into()));
            }
            if d.min_count == 0 {
                return Err(invalid("min_count must be at least 1".into()));
            }
            let hold = match d.hold.as_deref() {
                None => None,
                Some("before") => Some(HoldLink::Before),
                Some("after") => Some(HoldLink::After),
                Some(h) => return Err(invalid(format!("hold {h:?} is not before or after"))),
            };
            let window = d
                .window
                .as_deref()
                .map(window)
                .transpose()
                .map_err(&invalid)?;
            categories.push(Category {
                id: d.id,
                kind,
                description: d.description,
                role,
                any,
                all,
                near: nears,
                not,
                window,
                min_count: d.min_count,
                hold,
                examples: d.examples,
                counter_examples: d.counter_examples,
            });
        }
        let pii = match file.pii {
            Some(sp) => pii_policy(
                &sp.get_ref().allow_contexts,
                origin,
                line_col(text, sp.span().start).0,
            )?,
            None => Policy::default(),
        };
        Ok(RuleSet { categories, pii })
    }

    /// Which categories fire on a conversation, with evidence. `duration_ms` bounds windows;
    /// `names` are the customer's name words (lower case) for `{customer_name}`.
    pub fn evaluate(&self, utts: &[Utterance], duration_ms: i64, names: &[String]) -> Vec<Hit> {
        let words: Vec<Vec<String>> = utts.iter().map(|u| normalise(u.text)).collect();
        let m = Matcher { names };
        let mut hits = Vec::new();
        for (ci, c) in self.categories.iter().enumerate() {
            let candidates: Vec<usize> = (0..utts.len())
                .filter(|&i| match (c.role, utts[i].role) {
                    (RoleSel::Any, _) => true,
                    (RoleSel::Agent, r) => r == Role::Agent,
                    (RoleSel::Customer, r) => r == Role::Customer,
                })
                .filter(|&i| in_window(c.window, utts[i].start_ms, duration_ms))
                .filter(|&i| !c.not.iter().any(|p| m.find(&words[i], p).is_some()))
                .collect();
            let mut evidence: Vec<usize> = Vec::new();
            let mut count = 0;
            for &i in &candidates {
                let n = m.count_any(&words[i], &c.any)
                    + c.near.iter().filter(|n| m.near(&words[i], n)).count();
                if n > 0 {
                    count += n;
                    evidence.push(i);
                }
            }
            let needs_count = !(c.any.is_empty() && c.near.is_empty());
            if needs_count && count < c.min_count {
                continue;
            }
            let mut all_ok = true;
            for p in &c.all {
                match candidates.iter().find(|&&i| m.find(&words[i], p).is_some()) {
                    Some(&i) => evidence.push(i),
                    None => all_ok = false,
                }
            }
            if !all_ok {
                continue;
            }
            evidence.sort_unstable();
            evidence.dedup();
            for i in evidence {
                hits.push(Hit {
                    category: ci,
                    role: utts[i].role,
                    start_ms: utts[i].start_ms,
                    end_ms: utts[i].end_ms,
                    evidence: utts[i].text.to_string(),
                });
            }
        }
        hits
    }
}

fn in_window(w: Option<Window>, start: i64, duration: i64) -> bool {
    match w {
        None => true,
        Some(Window::FirstMs(ms)) => start < ms,
        Some(Window::LastMs(ms)) => start >= duration - ms,
        Some(Window::FirstFrac(f)) => (start as f64) < f * duration as f64,
        Some(Window::LastFrac(f)) => (start as f64) >= (1.0 - f) * duration as f64,
    }
}

/// Phrase matching against one call's customer names.
struct Matcher<'a> {
    names: &'a [String],
}

impl Matcher<'_> {
    /// Length in words of a match of `p` starting at `at`.
    fn match_len(&self, words: &[String], p: &Phrase, at: usize) -> Option<usize> {
        let mut k = at;
        for t in &p.0 {
            let w = words.get(k)?;
            match t {
                Tok::Word(x) if x == w => k += 1,
                Tok::Prefix(x) if w.starts_with(x.as_str()) => k += 1,
                Tok::Any => k += 1,
                Tok::CustomerName if self.names.contains(w) => {
                    k += 1;
                    while words.get(k).is_some_and(|w| self.names.contains(w)) {
                        k += 1;
                    }
                }
                _ => return None,
            }
        }
        Some(k - at)
    }

    fn find(&self, words: &[String], p: &Phrase) -> Option<usize> {
        (0..words.len()).find(|&i| self.match_len(words, p, i).is_some())
    }

    /// Matches of any of `phrases`, counting overlapping matches once.
    fn count_any(&self, words: &[String], phrases: &[Phrase]) -> usize {
        let mut spans: Vec<(usize, usize)> = phrases
            .iter()
            .flat_map(|p| {
                (0..words.len())
                    .filter_map(move |i| self.match_len(words, p, i).map(|n| (i, i + n)))
            })
            .collect();
        spans.sort_unstable();
        let (mut count, mut end) = (0, 0);
        for (s, e) in spans {
            if count == 0 || s >= end {
                count += 1;
                end = e;
            } else {
                end = end.max(e);
            }
        }
        count
    }

    fn near(&self, words: &[String], n: &Near) -> bool {
        let pos = |p: &Phrase| -> Vec<(usize, usize)> {
            (0..words.len())
                .filter_map(|i| self.match_len(words, p, i).map(|len| (i, len)))
                .collect()
        };
        let (a, b) = (pos(&n.a), pos(&n.b));
        a.iter().any(|&(i, la)| {
            b.iter().any(|&(j, lb)| {
                let gap = if i < j {
                    j.saturating_sub(i + la)
                } else {
                    i.saturating_sub(j + lb)
                };
                i != j && gap <= n.max_words
            })
        })
    }
}

/// Parse a fixture transcript (`role: text` per line, 5 s apart) into utterances.
pub fn fixture(text: &str) -> Vec<(Role, i64, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let (role, t) = l.split_once(':').unwrap_or(("any", l));
            let role = match role.trim() {
                "agent" => Role::Agent,
                "customer" => Role::Customer,
                _ => Role::Unknown,
            };
            (role, i as i64 * 5_000, t.trim().to_string())
        })
        .collect()
}

/// Fixture lines (as `fixture` returns them) as utterances: each a 4 s turn, 5 s apart.
pub fn fixture_utterances(lines: &[(Role, i64, String)]) -> Vec<Utterance<'_>> {
    lines
        .iter()
        .map(|(role, start, t)| Utterance {
            role: *role,
            start_ms: *start,
            end_ms: start + 4_000,
            text: t,
        })
        .collect()
}

/// Evaluate fixture lines (as `fixture` returns them).
pub fn evaluate_fixture(rules: &RuleSet, lines: &[(Role, i64, String)]) -> Vec<Hit> {
    let utts = fixture_utterances(lines);
    let names = crate::analyze::names::customer_names(&utts);
    rules.evaluate(&utts, lines.len() as i64 * 5_000, &names)
}

/// Run a fixture transcript through the rules; returns ids of the categories that fire.
pub fn fire_on_fixture(rules: &RuleSet, text: &str) -> Vec<String> {
    let mut ids: Vec<String> = evaluate_fixture(rules, &fixture(text))
        .into_iter()
        .map(|h| rules.categories[h.category].id.clone())
        .collect();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_absorbs_asr_variation() {
        assert_eq!(
            normalise("I'm SORRY, I can't!"),
            vec!["i", "am", "sorry", "i", "can", "not"]
        );
        assert_eq!(
            normalise("We’ll fix it; you've"),
            vec!["we", "will", "fix", "it", "you", "have"]
        );
        assert_eq!(normalise("don't"), vec!["do", "not"]);
    }

    fn one(rule: &str) -> RuleSet {
        RuleSet::parse(
            &format!("[[category]]\nid = \"x\"\nkind = \"topic\"\n{rule}"),
            "t.toml",
        )
        .unwrap()
    }

    #[test]
    fn wildcards_near_negation_role_window_and_count() {
        let r = one("any = [\"refund*\"]");
        assert_eq!(
            fire_on_fixture(&r, "customer: I want my money refunded"),
            vec!["x"]
        );
        assert!(fire_on_fixture(&r, "customer: I want my money back").is_empty());

        let r = one("near = ['\"credit\" NEAR:3 \"card\"']");
        assert_eq!(
            fire_on_fixture(&r, "customer: my credit union debit card"),
            vec!["x"]
        );
        assert!(
            fire_on_fixture(
                &r,
                "customer: credit is good, and later we talk about a card"
            )
            .is_empty()
        );

        let r = one("any = [\"sorry\"]\nnot = [\"not sorry\"]\nrole = \"agent\"");
        assert!(fire_on_fixture(&r, "agent: I am not sorry").is_empty());
        assert!(fire_on_fixture(&r, "customer: sorry").is_empty());
        assert_eq!(fire_on_fixture(&r, "agent: sorry about that"), vec!["x"]);

        let r = one("any = [\"hello\"]\nwindow = \"first 10s\"");
        assert_eq!(
            fire_on_fixture(&r, "agent: hello\nagent: x\nagent: y"),
            vec!["x"]
        );
        assert!(fire_on_fixture(&r, "agent: x\nagent: y\nagent: hello").is_empty());
        let r = one("any = [\"bye\"]\nwindow = \"last 20%\"");
        assert!(
            fire_on_fixture(&r, "agent: bye\nagent: a\nagent: b\nagent: c\nagent: d").is_empty()
        );
        assert_eq!(
            fire_on_fixture(&r, "agent: a\nagent: b\nagent: c\nagent: d\nagent: bye"),
            vec!["x"]
        );

        let r = one("any = [\"sarah\"]\nmin_count = 3");
        assert!(fire_on_fixture(&r, "agent: sarah\nagent: well sarah").is_empty());
        assert_eq!(
            fire_on_fixture(&r, "agent: sarah\nagent: well sarah, sarah"),
            vec!["x"]
        );

        let r = one("all = [\"refund\", \"card\"]");
        assert!(fire_on_fixture(&r, "customer: refund please").is_empty());
        assert_eq!(
            fire_on_fixture(&r, "customer: refund please\nagent: to the card?"),
            vec!["x"]
        );
    }

    #[test]
    fn the_rules_doc_matches_the_builtin_pack() {
        let doc = include_str!("../../docs/rules.md");
        for c in &RuleSet::builtin().categories {
            assert!(
                doc.contains(&format!("### {}\n\n{}\n", c.id, c.description)),
                "docs/rules.md is stale for {}: run python3 rules/gen_docs.py",
                c.id
            );
        }
    }

    #[test]
    fn the_pii_table_allows_contexts_but_never_a_payment_cue() {
        let r = RuleSet::parse(
            "[pii]\nallow_contexts = [\"Order Number\", \"ticket number\"]\n",
            "r.toml",
        )
        .unwrap();
        assert_eq!(r.pii.allow_contexts, vec!["order number", "ticket number"]);
        assert!(RuleSet::builtin().pii.allow_contexts.is_empty());
        let e = RuleSet::parse(
            "[[category]]\nid = \"a\"\nkind = \"topic\"\nany = [\"x\"]\n\n[pii]\nallow_contexts = [\"card number\"]\n",
            "r.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("r.toml:6: [pii] allow_contexts: \"card number\" would let a card number through\nhint: "),
            "{e}"
        );
        assert!(RuleSet::parse("[pii]\nallow = [\"x\"]\n", "r.toml").is_err());
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let e = RuleSet::parse("[[category]]\nid = \"a\"\nkind = \"topic\"\nany = [\"x\"]\n\n[[category]]\nid = \"b\"\nkind = \"mood\"\nany = [\"y\"]\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("r.toml:6: category \"b\": kind \"mood\""),
            "{e}"
        );
        let e = RuleSet::parse(
            "[[category]]\nid = \"a\"\nkind = \"topic\"\nany = [\"x\"\n",
            "r.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("r.toml:4:") || e.starts_with("r.toml:5:"),
            "{e}"
        );
        let e = RuleSet::parse(
            "[[category]]\nid = \"a\"\nkind = \"topic\"\nanyy = [\"x\"]\n",
            "r.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("anyy"), "{e}");
        let e = RuleSet::parse(
            "[[category]]\nid = \"a\"\nkind = \"topic\"\nnear = [\"credit card\"]\n",
            "r.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("NEAR:3"), "{e}");
        let e = RuleSet::parse(
            "[[category]]\nid = \"a\"\nkind = \"topic\"\nany = [\"x\"]\nwindow = \"middle\"\n",
            "r.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("window must be like"), "{e}");
    }

    #[test]
    fn windows_without_length_are_refused_with_file_category_and_hint() {
        for w in [
            "first -5s",
            "last 0s",
            "first 0%",
            "last -10%",
            "first 0.0001s",
            "first nans",
        ] {
            let e = RuleSet::parse(
                &format!(
                    "[[category]]\nid = \"late\"\nkind = \"topic\"\nany = [\"x\"]\nwindow = \"{w}\"\n"
                ),
                "site.toml",
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.starts_with("site.toml:1: category \"late\"")
                    && e.contains("never fire")
                    && e.contains("\nhint: "),
                "{w}: {e}"
            );
        }
        for w in ["first 0.5s", "last 100%", "first 30s"] {
            let text = format!(
                "[[category]]\nid = \"late\"\nkind = \"topic\"\nany = [\"x\"]\nwindow = \"{w}\"\n"
            );
            assert!(RuleSet::parse(&text, "site.toml").is_ok(), "{w}");
        }
    }

    #[test]
    fn every_builtin_category_passes_its_fixtures() {
        let rules = RuleSet::builtin();
        assert!(rules.categories.len() >= 20);
        let mut failures = Vec::new();
        for c in &rules.categories {
            assert!(
                !c.examples.is_empty() && !c.counter_examples.is_empty(),
                "{} lacks fixtures",
                c.id
            );
            assert!(!c.description.is_empty(), "{} lacks a description", c.id);
            for ex in &c.examples {
                if !fire_on_fixture(&rules, ex).contains(&c.id) {
                    failures.push(format!("{} does not fire on {ex:?}", c.id));
                }
            }
            for ex in &c.counter_examples {
                if fire_on_fixture(&rules, ex).contains(&c.id) {
                    failures.push(format!("{} fires on counter-example {ex:?}", c.id));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
