//! `callsift rules check`, `rules test` and `rules eval`: the rules file as `run` reads it.

use std::io::{self, Write};

use callsift::analyze::rules::{Hit, Kind, RuleSet, eval, fixtures};
use callsift::conversation::Role;
use callsift::settings::{load_eval_set, load_rules};

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
        RulesCommand::Eval {
            sets,
            rules,
            errors,
        } => {
            let loaded = load_rules(rules.as_deref())?;
            let mut items = Vec::new();
            for s in &sets {
                items.extend(load_eval_set(s, &loaded.rules)?);
            }
            let report = eval::score(&loaded.rules, &items);
            let mut out = io::BufWriter::new(io::stdout().lock());
            let written = (|| {
                if errors {
                    print_errors(&mut out, &loaded.rules, &report)?;
                }
                print_scores(&mut out, &report, items.len())?;
                out.flush()
            })();
            match written {
                // `rules eval --errors | head`: the reader has seen enough
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
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
        println!("{} ({}) — {}", c.id, c.kind.as_str(), describe(h));
    }
}

/// A hit as `rules test` and `rules eval --errors` show it: who, what, which words and layer.
fn describe(h: &Hit) -> String {
    format!(
        "{}: {:?}, matched {:?} by {} (confidence {:.1})",
        h.role.as_str(),
        h.evidence,
        h.matched,
        h.layer.as_str(),
        h.layer.confidence()
    )
}

fn print_errors(w: &mut impl Write, rules: &RuleSet, report: &eval::Report) -> io::Result<()> {
    let lists = [
        ("missed", &report.misses),
        ("false alarm", &report.false_alarms),
    ];
    for (what, errors) in lists {
        for e in errors {
            let near_miss = if e.item.expect { "" } else { ", near-miss" };
            writeln!(
                w,
                "{what} {} at {} (item for {}{near_miss})",
                e.category, e.item.origin, e.item.target
            )?;
            for line in e.item.text.lines().filter(|l| !l.trim().is_empty()) {
                writeln!(w, "    | {}", line.trim())?;
            }
            for h in &e.hits {
                let id = &rules.categories[h.category].id;
                writeln!(w, "    fired: {id} {}", describe(h))?;
            }
        }
    }
    writeln!(w)
}

fn print_scores(w: &mut impl Write, report: &eval::Report, items: usize) -> io::Result<()> {
    let pct = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.2}"));
    writeln!(
        w,
        "{:<24} {:>5} {:>4} {:>4} {:>4} {:>9} {:>6} {:>5}",
        "category", "n", "tp", "fp", "fn", "precision", "recall", "f1"
    )?;
    for (id, c) in &report.per_category {
        writeln!(
            w,
            "{:<24} {:>5} {:>4} {:>4} {:>4} {:>9} {:>6} {:>5}",
            id,
            c.tp + c.fn_,
            c.tp,
            c.fp,
            c.fn_,
            pct(c.precision()),
            pct(c.recall()),
            pct(c.f1())
        )?;
    }
    writeln!(
        w,
        "{items} items, macro-F1 {} over the categories with labelled items",
        pct(report.macro_f1())
    )
}
