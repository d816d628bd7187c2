//! Fixture transcripts (`role: text` per line) for the examples and counter-examples every
//! category carries, and for tests.

use super::{Hit, RuleSet};
use crate::analyze::names;
use crate::conversation::{Role, Turn};

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

/// Fixture lines (as `fixture` returns them) as turns: each a 4 s turn, 5 s apart.
pub fn fixture_turns(lines: &[(Role, i64, String)]) -> Vec<Turn> {
    lines
        .iter()
        .map(|(role, start, t)| Turn {
            role: *role,
            start_ms: *start,
            end_ms: start + 4_000,
            text: t.clone(),
        })
        .collect()
}

/// Evaluate fixture lines (as `fixture` returns them).
pub fn evaluate_fixture(rules: &RuleSet, lines: &[(Role, i64, String)]) -> Vec<Hit> {
    let utts = fixture_turns(lines);
    let names = names::customer_names(&utts);
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
