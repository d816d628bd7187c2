//! Evaluation sets: labelled fixture transcripts that measure a rule pack's precision and
//! recall per category (`callsift rules eval`). An item:
//! ```toml
//! [[item]]
//! target = "churn_threat"   # the category the item was written for
//! expect = true             # the target is present (false: a near-miss that must not fire)
//! also = ["cancellation"]   # every other category present
//! text = """
//! customer: Honestly if this isn't sorted by Friday I'm off to Virgin.
//! """
//! ```
//! Every item is scored for every category: a category that fires on an item is a true
//! positive when the item is labelled with it (target with `expect`, or in `also`), else a
//! false positive. Pure; no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::fixtures::{fixture, fixture_turns};
use super::parse::line_col;
use super::{Hit, RuleSet, RulesError};
use crate::analyze::names;
use crate::conversation::Turn;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetDef {
    #[serde(rename = "item")]
    items: Vec<toml::Spanned<ItemDef>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemDef {
    target: String,
    expect: bool,
    #[serde(default)]
    also: Vec<String>,
    text: String,
}

/// One labelled transcript.
#[derive(Debug, Clone)]
pub struct Item {
    /// `file:line` of the item, for reports.
    pub origin: String,
    pub target: String,
    pub expect: bool,
    /// Every category present in the item.
    pub labels: BTreeSet<String>,
    pub text: String,
}

/// Parse an evaluation set; every category named must exist in `rules`.
pub fn parse_set(text: &str, origin: &str, rules: &RuleSet) -> Result<Vec<Item>, RulesError> {
    let line_of = |offset: usize| line_col(text, offset).0;
    let set: SetDef = toml::from_str(text).map_err(|e| RulesError::Parse {
        origin: origin.into(),
        line: e.span().map_or(1, |s| line_of(s.start)),
        col: 1,
        message: e.message().trim().to_string(),
    })?;
    let known: BTreeSet<&str> = rules.categories.iter().map(|c| c.id.as_str()).collect();
    let mut items = Vec::new();
    for sp in set.items {
        let line = line_of(sp.span().start);
        let d = sp.into_inner();
        let unknown = d
            .also
            .iter()
            .chain(std::iter::once(&d.target))
            .find(|id| !known.contains(id.as_str()));
        if let Some(id) = unknown {
            return Err(RulesError::Invalid {
                origin: origin.into(),
                line,
                id: id.clone(),
                message: "no such category in the rules".into(),
            });
        }
        let mut labels: BTreeSet<String> = d.also.into_iter().collect();
        if d.expect {
            labels.insert(d.target.clone());
        }
        items.push(Item {
            origin: format!("{origin}:{line}"),
            target: d.target,
            expect: d.expect,
            labels,
            text: d.text,
        });
    }
    Ok(items)
}

/// Counts of one category over a set.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Counts {
    /// `None` when nothing fired.
    pub fn precision(&self) -> Option<f64> {
        let d = self.tp + self.fp;
        (d > 0).then(|| self.tp as f64 / d as f64)
    }
    /// `None` when no item is labelled with the category.
    pub fn recall(&self) -> Option<f64> {
        let d = self.tp + self.fn_;
        (d > 0).then(|| self.tp as f64 / d as f64)
    }
    /// F1; 0 when nothing fired on a category with labelled items.
    pub fn f1(&self) -> Option<f64> {
        let r = self.recall()?;
        let p = self.precision().unwrap_or(0.0);
        Some(if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        })
    }
}

/// An item a category got wrong: missed (labelled, did not fire) or a false alarm (fired
/// without the label, with its hits).
#[derive(Debug, Clone)]
pub struct Error<'a> {
    pub category: String,
    pub item: &'a Item,
    pub hits: Vec<Hit>,
}

/// The result of scoring a rule pack on a set.
#[derive(Debug, Default)]
pub struct Report<'a> {
    pub per_category: BTreeMap<String, Counts>,
    pub misses: Vec<Error<'a>>,
    pub false_alarms: Vec<Error<'a>>,
}

impl Report<'_> {
    /// Mean F1 over the categories with labelled items.
    pub fn macro_f1(&self) -> Option<f64> {
        let f: Vec<f64> = self.per_category.values().filter_map(Counts::f1).collect();
        (!f.is_empty()).then(|| f.iter().sum::<f64>() / f.len() as f64)
    }
}

/// Score `rules` on `items`.
pub fn score<'a>(rules: &RuleSet, items: &'a [Item]) -> Report<'a> {
    score_with(rules, items, |_, _, _, _| Vec::new())
}

/// An item as the rules see it: its fixture turns, the customer's names in them and the
/// duration they span.
pub fn item_turns(item: &Item) -> (Vec<Turn>, Vec<String>, i64) {
    let lines = fixture(&item.text);
    let turns = fixture_turns(&lines);
    let names = names::customer_names(&turns);
    (turns, names, lines.len() as i64 * 5_000)
}

/// Score `rules` on `items`, with the hits of another layer added: `more(k, turns, names,
/// rule_hits)` gives item `k`'s extra hits (the semantic layer's).
pub fn score_with<'a>(
    rules: &RuleSet,
    items: &'a [Item],
    more: impl Fn(usize, &[Turn], &[String], &[Hit]) -> Vec<Hit>,
) -> Report<'a> {
    let mut report = Report::default();
    for c in &rules.categories {
        report.per_category.insert(c.id.clone(), Counts::default());
    }
    for (k, item) in items.iter().enumerate() {
        let (turns, names, duration) = item_turns(item);
        let mut hits = rules.evaluate(&turns, duration, &names);
        hits.extend(more(k, &turns, &names, &hits));
        let fired: BTreeSet<&str> = hits
            .iter()
            .map(|h| rules.categories[h.category].id.as_str())
            .collect();
        for c in &rules.categories {
            let id = c.id.as_str();
            let counts = report.per_category.get_mut(id).expect("every category");
            let error = |hits: Vec<Hit>| Error {
                category: id.to_string(),
                item,
                hits,
            };
            match (item.labels.contains(id), fired.contains(id)) {
                (true, true) => counts.tp += 1,
                (true, false) => {
                    counts.fn_ += 1;
                    report.misses.push(error(Vec::new()));
                }
                (false, true) => {
                    counts.fp += 1;
                    let mine = hits
                        .iter()
                        .filter(|h| rules.categories[h.category].id == id)
                        .cloned()
                        .collect();
                    report.false_alarms.push(error(mine));
                }
                (false, false) => {}
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    const SET: &str = r#"
[[item]]
target = "refund"
expect = true
text = "customer: I want my money back"

[[item]]
target = "refund"
expect = false
also = ["apology"]
text = "agent: sorry, we do not do refunds on sale items\ncustomer: fine"

[[item]]
target = "apology"
expect = true
text = "agent: my apologies for that"
"#;

    #[test]
    fn every_item_is_scored_for_every_category() {
        let rules = RuleSet::builtin();
        let items = parse_set(SET, "set.toml", &rules).unwrap();
        assert_eq!(items[1].origin, "set.toml:7");
        let r = score(&rules, &items);
        // the refund near-miss fires refund (a false alarm); both apologies are found
        assert_eq!(
            r.per_category["refund"],
            Counts {
                tp: 1,
                fp: 1,
                fn_: 0
            }
        );
        assert_eq!(r.per_category["apology"].tp, 2);
        assert_eq!(r.false_alarms.len(), 1);
        assert_eq!(r.false_alarms[0].item.origin, "set.toml:7");
        assert_eq!(r.per_category["greeting"].f1(), None);
    }

    #[test]
    fn unknown_categories_are_refused_with_the_line() {
        let rules = RuleSet::builtin();
        let e = parse_set(
            "[[item]]\ntarget = \"refund\"\nexpect = true\nalso = [\"refnud\"]\ntext = \"x\"\n",
            "s.toml",
            &rules,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("s.toml:1: category \"refnud\""), "{e}");
    }
}
