//! Rules files (TOML) → a validated, compiled [`RuleSet`]; errors name the file, line and
//! column.

use serde::Deserialize;
use toml::Spanned;

use std::collections::BTreeMap;

use super::words::{Word, normalise};
use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default, rename = "category")]
    categories: Vec<Spanned<CategoryDef>>,
    #[serde(default)]
    pii: Option<Spanned<PiiDef>>,
    /// `[synonyms] name = ["phrase", ...]`: sets a phrase names as `<name>`.
    #[serde(default)]
    synonyms: Option<Spanned<BTreeMap<String, Vec<String>>>>,
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
    polarity: Option<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    counter_examples: Vec<String>,
}

/// Synonym sets by name, compiled.
type Sets = BTreeMap<String, Vec<Phrase>>;

fn phrase(s: &str, sets: &Sets) -> Result<Phrase, String> {
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
        if let Some(n) = piece.strip_prefix('~') {
            let n = if n.is_empty() {
                Ok(3)
            } else {
                n.parse::<usize>()
            };
            match n {
                Ok(n @ 1..=10) => toks.push(Tok::Gap(n)),
                _ => {
                    return Err(format!(
                        "a gap is `~N` with N from 1 to 10 (or `~` for 3), got {piece:?} in {s:?}"
                    ));
                }
            }
            continue;
        }
        if let Some(name) = piece.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
            let set = sets.get(name).ok_or_else(|| {
                let known: Vec<&str> = sets.keys().map(String::as_str).collect();
                format!(
                    "no synonym set <{name}> in {s:?}; the [synonyms] table defines {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            })?;
            toks.push(Tok::Alt(set.clone()));
            continue;
        }
        if piece.contains(['<', '>', '~']) {
            return Err(format!(
                "`<set>` and `~N` must stand alone between spaces, got {piece:?} in {s:?}"
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
                None => Tok::Word(Word::new(w)),
            });
        }
    }
    let wordless = |t: &Tok| matches!(t, Tok::Any | Tok::Gap(_));
    if toks.iter().all(wordless) {
        return Err(format!("phrase {s:?} has no words"));
    }
    if matches!(toks.first(), Some(Tok::Gap(_))) || matches!(toks.last(), Some(Tok::Gap(_))) {
        return Err(format!(
            "a gap `~N` belongs between two words, not at the edge of {s:?}"
        ));
    }
    Ok(Phrase(toks))
}

/// The `[synonyms]` table compiled: every set a non-empty list of phrases without sets.
fn synonym_sets(defs: &BTreeMap<String, Vec<String>>) -> Result<Sets, (String, String)> {
    let none = Sets::new();
    let mut sets = Sets::new();
    for (name, phrases) in defs {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err((
                name.clone(),
                "a set's name must be snake_case (a-z, 0-9, _)".into(),
            ));
        }
        if phrases.is_empty() {
            return Err((name.clone(), "a set needs at least one phrase".into()));
        }
        let compiled = phrases
            .iter()
            .map(|p| phrase(p, &none))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| (name.clone(), e))?;
        sets.insert(name.clone(), compiled);
    }
    Ok(sets)
}

fn near(s: &str, sets: &Sets) -> Result<Near, String> {
    let bad = || format!("near must look like '\"credit\" NEAR:3 \"card\"', got {s:?}");
    let (left, rest) = s.split_once("NEAR:").ok_or_else(bad)?;
    let rest = rest.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let max_words = digits.parse().map_err(|_| bad())?;
    let right = &rest[digits.len()..];
    let unq = |x: &str| x.trim().trim_matches('"').to_string();
    Ok(Near {
        a: phrase(&unq(left), sets)?,
        b: phrase(&unq(right), sets)?,
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

/// 1-based line and column of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
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
        let sets = match &file.synonyms {
            Some(sp) => {
                synonym_sets(sp.get_ref()).map_err(|(name, message)| RulesError::Synonyms {
                    origin: origin.into(),
                    line: line_col(text, sp.span().start).0,
                    name,
                    message,
                })?
            }
            None => Sets::new(),
        };
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
            let phrases = |v: &[String]| {
                v.iter()
                    .map(|p| phrase(p, &sets))
                    .collect::<Result<Vec<_>, _>>()
            };
            let any = phrases(&d.any).map_err(&invalid)?;
            let all = phrases(&d.all).map_err(&invalid)?;
            let not = phrases(&d.not).map_err(&invalid)?;
            let nears = d
                .near
                .iter()
                .map(|n| near(n, &sets))
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
            let polarity = match d.polarity.as_deref() {
                None | Some("positive") => Polarity::Positive,
                Some("negative") => Polarity::Negative,
                Some(p) => {
                    return Err(invalid(format!(
                        "polarity {p:?} is not positive or negative"
                    )));
                }
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
                polarity,
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
}
