//! `callsift rules check`, `rules test`, `rules eval` and `rules calibrate`: the rules file as
//! `run` reads it, and its semantic layer.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use callsift::analyze::rules::{Hit, Kind, RuleSet, eval, fixtures};
use callsift::analyze::semantic::{self, Embed, Heads};
use callsift::conversation::Role;
use callsift::embed::MiniLm;
use callsift::models;
use callsift::settings::{load_eval_set, load_rules, semantic_settings};

use crate::cli::{RoleArg, RulesCommand};

/// Prints even with --quiet: the output is the answer.
pub fn run(command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::Check { file } => {
            let loaded = load_rules(file.as_deref())?;
            check(&loaded.rules, &loaded.source);
        }
        RulesCommand::Test {
            file,
            text,
            role,
            semantic,
            semantic_heads,
            models_dir,
        } => {
            let loaded = load_rules(file.as_deref())?;
            let layer = match semantic_source(semantic, semantic_heads) {
                Some(f) => Some(load_layer(
                    f.as_deref(),
                    file.is_some(),
                    models_dir.as_deref(),
                )?),
                None => None,
            };
            test(&loaded.rules, &text, role, layer.as_ref())?;
        }
        RulesCommand::Eval {
            sets,
            rules,
            errors,
            semantic,
            semantic_heads,
            models_dir,
        } => {
            let loaded = load_rules(rules.as_deref())?;
            let mut items = Vec::new();
            for s in &sets {
                items.extend(load_eval_set(s, &loaded.rules)?);
            }
            let report = match semantic_source(semantic, semantic_heads) {
                None => eval::score(&loaded.rules, &items),
                Some(file) => {
                    let (heads, embedder) =
                        load_layer(file.as_deref(), rules.is_some(), models_dir.as_deref())?;
                    let embedded = embed_items(&embedder, &items)?;
                    eval::score_with(&loaded.rules, &items, |k, turns, names, rule_hits| {
                        let duration = turns.len() as i64 * 5_000;
                        semantic::hits(
                            &loaded.rules,
                            &heads,
                            turns,
                            &embedded[k],
                            duration,
                            names,
                            rule_hits,
                        )
                    })
                }
            };
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
        RulesCommand::Draft { themes, theme, id } => {
            let t = callsift::downstream::emerging::read_theme(&themes, theme)?;
            let text = callsift::downstream::emerging::draft_category(&t, &id);
            // the draft is a valid category before anyone edits it
            RuleSet::parse(&text, "draft")?;
            print!("{text}");
        }
        RulesCommand::Calibrate {
            sets,
            rules,
            out,
            min_precision,
            l2,
            models_dir,
        } => {
            let cal = semantic::Calibration {
                min_precision,
                l2,
                ..Default::default()
            };
            calibrate(&sets, rules.as_deref(), &out, cal, models_dir.as_deref())?;
        }
    }
    Ok(())
}

/// Whether the semantic layer is asked for (`Some`), and with which heads file (`None`: the
/// built-in pack's).
fn semantic_source(on: bool, heads: Option<PathBuf>) -> Option<Option<PathBuf>> {
    (on || heads.is_some()).then_some(heads)
}

/// The semantic layer as `run --semantic` gets it: the heads (`file`, else the built-in
/// pack's) and the embedding model they were calibrated with.
fn load_layer(
    file: Option<&Path>,
    custom_rules: bool,
    models_dir: Option<&Path>,
) -> anyhow::Result<(Arc<Heads>, MiniLm)> {
    let sem = semantic_settings(file, custom_rules, &models::search_dirs(models_dir))?;
    let model = MiniLm::load(&sem.model_dir, &sem.model_id)?;
    Ok((sem.heads, model))
}

/// Every item's fixture turns, embedded (one vector per turn).
fn embed_items(model: &MiniLm, items: &[eval::Item]) -> anyhow::Result<Vec<Vec<Vec<f32>>>> {
    let turns: Vec<Vec<String>> = items
        .iter()
        .map(|it| eval::item_turns(it).0.into_iter().map(|t| t.text).collect())
        .collect();
    let flat: Vec<&str> = turns.iter().flatten().map(String::as_str).collect();
    let mut vectors = model
        .embed(&flat)
        .map_err(|e| anyhow::anyhow!("embedding failed: {e}"))?
        .into_iter();
    Ok(turns
        .iter()
        .map(|t| vectors.by_ref().take(t.len()).collect())
        .collect())
}

fn calibrate(
    sets: &[PathBuf],
    rules: Option<&Path>,
    out: &Path,
    cal: semantic::Calibration,
    models_dir: Option<&Path>,
) -> anyhow::Result<()> {
    let loaded = load_rules(rules)?;
    let mut items = Vec::new();
    for s in sets {
        items.extend(load_eval_set(s, &loaded.rules)?);
    }
    let found = models::embedder::resolve(&models::search_dirs(models_dir))?;
    let model = MiniLm::load(&found.dir, &found.id)?;
    let embedded = embed_items(&model, &items)?;
    let cal_items: Vec<semantic::CalibrationItem> = items
        .iter()
        .zip(embedded)
        .map(|(it, embeddings)| {
            let (turns, names, duration) = eval::item_turns(it);
            semantic::CalibrationItem {
                labels: it.labels.clone(),
                embeddings,
                candidates: (0..loaded.rules.categories.len())
                    .map(|ci| loaded.rules.candidates(ci, &turns, duration, &names))
                    .collect(),
            }
        })
        .collect();
    let names: Vec<String> = sets.iter().map(|s| s.display().to_string()).collect();
    let heads = semantic::calibrate(&loaded.rules, &cal_items, cal, model.model_id(), names);
    let json = serde_json::to_string_pretty(&heads)?;
    callsift::fsutil::write_atomic(out, format!("{json}\n").as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "{:<24} {:>9} {:>9} {:>6} {:>9}",
        "category", "positives", "threshold", "cv p", "cv recall"
    );
    for h in &heads.heads {
        println!(
            "{:<24} {:>9} {:>9.3} {:>6.2} {:>9.2}",
            h.category, h.positives, h.threshold, h.cv_precision, h.cv_recall
        );
    }
    println!(
        "{} heads for {} categories, written to {}",
        heads.heads.len(),
        loaded.rules.categories.len(),
        out.display()
    );
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

fn test(
    rules: &RuleSet,
    text: &str,
    role: Option<RoleArg>,
    semantic: Option<&(Arc<Heads>, MiniLm)>,
) -> anyhow::Result<()> {
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
    let mut hits = fixtures::evaluate_fixture(rules, &lines);
    if let Some((heads, model)) = semantic {
        let turns = fixtures::fixture_turns(&lines);
        let texts: Vec<&str> = turns.iter().map(|t| t.text.as_str()).collect();
        let embeddings = model
            .embed(&texts)
            .map_err(|e| anyhow::anyhow!("embedding failed: {e}"))?;
        let names = callsift::analyze::names::customer_names(&turns);
        let duration = lines.len() as i64 * 5_000;
        hits.extend(semantic::hits(
            rules,
            heads,
            &turns,
            &embeddings,
            duration,
            &names,
            &hits,
        ));
    }
    if hits.is_empty() {
        println!("no category fires");
    }
    for h in &hits {
        let c = &rules.categories[h.category];
        println!("{} ({}) — {}", c.id, c.kind.as_str(), describe(h));
    }
    Ok(())
}

/// A hit as `rules test` and `rules eval --errors` show it: who, what, which words and layer.
fn describe(h: &Hit) -> String {
    format!(
        "{}: {:?}, matched {:?} by {} (confidence {:.1})",
        h.role.as_str(),
        h.evidence,
        h.matched,
        h.layer.as_str(),
        h.confidence
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
