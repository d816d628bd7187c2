//! Rules: categories of agent behaviour, customer events and complaint topics, defined as data
//! (a TOML rules file) and matched on normalised transcript text, so that ordinary ASR
//! variation ("I'm"/"I am", case, punctuation, fillers) still matches, and so that a phrase
//! finds its inflected forms (by stem) and the recogniser's sound-alike words (by sound).
//!
//! A category:
//! ```toml
//! [synonyms]                     # sets of phrases any category can name as <set>
//! manager = ["manager", "supervisor", "team leader", "someone * senior"]
//!
//! [[category]]
//! id = "empathy"                 # snake_case, unique
//! kind = "behaviour"             # behaviour | event | topic
//! description = "..."
//! role = "agent"                 # agent | customer | any (default)
//! any = ["i understand how*", "within * days", "speak to ~2 <manager>"]
//!                                # one of these; `word*` = prefix, `*` = one word,
//!                                # `~N` = up to N words (`~` = 3), `<set>` = a synonym set
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

pub mod eval;
pub mod fixtures;
pub mod matcher;
pub mod parse;
pub mod words;

use crate::analyze::pii::Policy;
use crate::conversation::Role;
use words::{Layer, Word};

/// The built-in English rule pack (rules/builtin.toml).
pub const BUILTIN: &str = include_str!("../../../rules/builtin.toml");

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
    #[error(
        "{origin}:{line}: [synonyms] {name}: {message}\nhint: see the rule format in docs/rules.md"
    )]
    Synonyms {
        origin: String,
        line: usize,
        name: String,
        message: String,
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
    Word(Word),
    Prefix(String),
    /// A lone `*`: exactly one word, whatever it is.
    Any,
    /// `~N`: up to N words, whatever they are.
    Gap(usize),
    /// `<set>`: any phrase of a synonym set.
    Alt(Vec<Phrase>),
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
    /// Whether the behaviour is one to show (`positive`) or to avoid (`negative`): a negative
    /// behaviour counts against the QA checklist score.
    pub polarity: Polarity,
    pub examples: Vec<String>,
    pub counter_examples: Vec<String>,
}

/// Whether a behaviour is one to show or one to avoid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    #[default]
    Positive,
    Negative,
}

/// A compiled rule set.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub categories: Vec<Category>,
    /// The `[pii]` table: contexts whose numbers the site does not treat as personal data.
    pub pii: Policy,
}

/// Evidence that a category fired: which segment, and the (already redacted) text.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub category: usize,
    pub role: Role,
    pub start_ms: i64,
    pub end_ms: i64,
    pub evidence: String,
    /// The words that matched (normalised), and the layer that matched them.
    pub matched: String,
    pub layer: Layer,
    /// How sure the layer is: fixed per phrase layer, the probability for a semantic hit.
    pub confidence: f32,
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::words::normalise;
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

    /// The layer of the first hit of the one category `x` on a fixture, and its words.
    fn layer_of(r: &RuleSet, text: &str) -> Option<(Layer, String)> {
        evaluate_fixture(r, &fixture(text))
            .into_iter()
            .next()
            .map(|h| (h.layer, h.matched))
    }

    #[test]
    fn phrases_match_inflections_sounds_split_words_and_fillers() {
        let r = one("any = [\"switch to another\", \"speak to a supervisor\"]");
        assert_eq!(
            layer_of(&r, "customer: switch to another company"),
            Some((Layer::Exact, "switch to another".into()))
        );
        // inflection: matched by stem
        assert_eq!(
            layer_of(&r, "customer: I am switching to another provider"),
            Some((Layer::Stem, "switching to another".into()))
        );
        // the recogniser's split of a long word, and a filler between the words
        assert_eq!(
            layer_of(&r, "customer: speak to a, um, super visor"),
            Some((Layer::Sound, "speak to a um super visor".into()))
        );
        // a sound-alike of a long word (same Double Metaphone code, same first letter)
        let r = one("any = [\"escalate\"]");
        assert_eq!(
            layer_of(&r, "customer: please eskalate it").map(|x| x.0),
            Some(Layer::Sound)
        );
        // short words never match by sound ("fault" and "flight" share a code)
        let r = one("any = [\"fault\"]");
        assert!(fire_on_fixture(&r, "customer: my flight").is_empty());
        // `not` phrases match exactly: "refundable" does not negate "refund"
        let r = one("any = [\"refund\"]\nnot = [\"refundable\"]");
        assert_eq!(fire_on_fixture(&r, "customer: a refund please"), vec!["x"]);
        assert!(fire_on_fixture(&r, "customer: is it refundable").is_empty());
    }

    #[test]
    fn gaps_synonym_sets_and_turns_that_run_on() {
        let text = "[synonyms]\nmanager = [\"manager\", \"team leader\", \"someone * senior\"]\n\n[[category]]\nid = \"x\"\nkind = \"event\"\nrole = \"customer\"\nany = [\"speak to ~2 <manager>\", \"on hold for ~1 hour\"]\n";
        let r = RuleSet::parse(text, "t.toml").unwrap();
        for yes in [
            "customer: can I speak to your team leader",
            "customer: I want to speak to someone more senior",
            "customer: let me speak to the duty manager",
        ] {
            assert_eq!(fire_on_fixture(&r, yes), vec!["x"], "{yes}");
        }
        for no in [
            "customer: I will speak to my wife about the manager",
            "agent: let me speak to my manager",
        ] {
            assert!(fire_on_fixture(&r, no).is_empty(), "{no}");
        }
        // one request over two turns of the same speaker: both turns are evidence
        let hits = evaluate_fixture(
            &r,
            &fixture("customer: I was on hold for\ncustomer: an hour"),
        );
        assert_eq!(hits.len(), 2);
        assert_eq!((hits[0].start_ms, hits[1].start_ms), (0, 5_000));
        assert_eq!(
            (hits[0].matched.as_str(), hits[1].matched.as_str()),
            ("on hold for", "an hour")
        );
        // ...but not across the other party's answer
        assert!(
            fire_on_fixture(
                &r,
                "customer: I was on hold for\nagent: sorry\ncustomer: you know\ncustomer: an hour"
            )
            .is_empty()
        );
    }

    #[test]
    fn bad_gaps_and_unknown_sets_are_refused_with_the_line() {
        for (any, want) in [
            ("~2 refund", "a gap `~N` belongs between two words"),
            ("refund ~0 card", "a gap is `~N` with N from 1 to 10"),
            ("speak to <boss>", "no synonym set <boss>"),
            ("speak to<manager>", "must stand alone"),
        ] {
            let e = RuleSet::parse(
                &format!("[[category]]\nid = \"a\"\nkind = \"topic\"\nany = [\"{any}\"]\n"),
                "r.toml",
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.starts_with("r.toml:1: category \"a\"") && e.contains(want),
                "{any}: {e}"
            );
        }
        let e = RuleSet::parse("x = 1\n[synonyms]\nBoss = [\"boss\"]\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field"), "{e}");
        let e = RuleSet::parse("[synonyms]\nBoss = [\"boss\"]\n", "r.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("r.toml:1: [synonyms] Boss: a set's name must be snake_case")
                && e.contains("\nhint: "),
            "{e}"
        );
    }

    #[test]
    fn the_rules_doc_matches_the_builtin_pack() {
        let doc = include_str!("../../../docs/rules.md");
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
