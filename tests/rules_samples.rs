//! The built-in rule pack on the bundled calls' scripts (the exact words, with their real
//! times from samples/*.timeline.csv) against the human-labelled categories in
//! samples/expected_categories.csv: every expected category fires and nothing else does.
//! The same labels are checked against real ASR output in the model-backed tests.

mod common;

use callsift::analyze::rules::RuleSet;
use callsift::conversation::Role;
use callsift::conversation::Turn;
use common::samples;
use std::collections::BTreeSet;

#[test]
fn builtin_rules_label_the_scripted_calls_exactly() {
    let rules = RuleSet::builtin();
    let expected = std::fs::read_to_string(samples().join("expected_categories.csv")).unwrap();
    let mut checked = 0;
    for line in expected.lines().skip(1) {
        let (id, cats) = line.split_once(',').unwrap();
        let want: BTreeSet<&str> = cats.split_whitespace().collect();
        let n: u32 = id.trim_start_matches("C-").parse().unwrap();
        let call = format!("call_{:03}", n - 1000);
        let timeline =
            std::fs::read_to_string(samples().join(format!("{call}.timeline.csv"))).unwrap();
        let rows: Vec<(Role, i64, i64, String)> = timeline
            .lines()
            .skip(1)
            .map(|l| l.splitn(4, ',').collect::<Vec<&str>>())
            .filter(|f| f[0] != "music")
            .map(|f| {
                let role = if f[0] == "agent" {
                    Role::Agent
                } else {
                    Role::Customer
                };
                (
                    role,
                    f[1].parse().unwrap(),
                    f[2].parse().unwrap(),
                    f[3].trim_matches('"').to_string(),
                )
            })
            .collect();
        let utts: Vec<Turn> = rows
            .iter()
            .map(|(role, s, e, t)| Turn {
                role: *role,
                start_ms: *s,
                end_ms: *e,
                text: t.clone(),
            })
            .collect();
        let duration = rows.last().unwrap().2 + 1_000;
        let names = callsift::analyze::names::customer_names(&utts);
        let got: BTreeSet<&str> = rules
            .evaluate(&utts, duration, &names)
            .iter()
            .map(|h| rules.categories[h.category].id.as_str())
            .collect();
        let missed: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got.difference(&want).collect();
        assert!(
            missed.is_empty() && extra.is_empty(),
            "{id}: missed {missed:?}, false positives {extra:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 7);
}
