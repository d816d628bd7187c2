//! `callsift rules check` and `callsift rules test`: the rules file as `run` reads it.

use callsift::analyze::rules::{Kind, RuleSet, fixtures};
use callsift::conversation::Role;
use callsift::settings::load_rules;

use crate::cli::{RoleArg, RulesCommand};

/// Prints even with --quiet: the output is the answer.
pub fn run(command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::Check { file } => {
            let loaded = load_rules(file.as_deref())?;
            check(&loaded.rules, &loaded.source);
        }
        RulesCommand::Test { file, text, role } => {
            let loaded = load_rules(file.as_deref())?;
            test(&loaded.rules, &text, role);
        }
    }
    Ok(())
}

fn check(rules: &RuleSet, origin: &str) {
    let count = |k: Kind| rules.categories.iter().filter(|c| c.kind == k).count();
    println!(
        "{origin}: ok, {} categories ({} behaviours, {} events, {} topics)",
        rules.categories.len(),
        count(Kind::Behaviour),
        count(Kind::Event),
        count(Kind::Topic)
    );
}

fn test(rules: &RuleSet, text: &str, role: Option<RoleArg>) {
    let mut lines = fixtures::fixture(text);
    if let Some(r) = role {
        let role = match r {
            RoleArg::Agent => Role::Agent,
            RoleArg::Customer => Role::Customer,
        };
        for l in &mut lines {
            l.0 = role;
        }
    }
    let hits = fixtures::evaluate_fixture(rules, &lines);
    if hits.is_empty() {
        println!("no category fires");
    }
    for h in &hits {
        let c = &rules.categories[h.category];
        println!(
            "{} ({}) — {}: {:?}",
            c.id,
            c.kind.as_str(),
            h.role.as_str(),
            h.evidence
        );
    }
}
