//! The architecture's invariants that a test can check (ARCHITECTURE.md, "Invariants"): imports
//! point one way (no module imports one that imports it back, directly or through others), and
//! each outside library is known to one module only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every library source file (the binary's `main.rs`, `cli.rs` and `commands/` excluded) with
/// its module path, e.g. `src/store/read.rs` → `store::read`, `src/store/mod.rs` → `store`.
fn library_files() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut out = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if ["main", "cli", "commands"].contains(&parts[0].as_str()) {
            continue;
        }
        if parts.last().map(String::as_str) == Some("mod") {
            parts.pop();
        }
        let name = if parts == ["lib"] {
            "crate".to_string()
        } else {
            parts.join("::")
        };
        out.insert(name, f);
    }
    out
}

/// The source without its `#[cfg(test)]` modules (tests may reach anywhere) and comments.
fn non_test_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Module paths named in `code`: `crate::a::b`, `super::x` (resolved against `module`), and
/// the items of `use crate::{a::b, c}` groups.
fn referenced_paths(module: &str, code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let path = regex::Regex::new(r"\b(crate|super)((?:::[a-z_][a-z0-9_]*)+)").unwrap();
    let group = regex::Regex::new(r"\buse\s+crate::\{([^}]*)\}").unwrap();
    let here: Vec<&str> = if module == "crate" {
        vec![]
    } else {
        module.split("::").collect()
    };
    // `super` is the enclosing module (module names already drop `mod`)
    let parent: Vec<&str> = here
        .iter()
        .take(here.len().saturating_sub(1))
        .copied()
        .collect();
    for c in path.captures_iter(code) {
        let tail: Vec<&str> = c[2].trim_start_matches("::").split("::").collect();
        let mut full: Vec<&str> = if &c[1] == "crate" {
            vec![]
        } else {
            parent.clone()
        };
        full.extend(tail);
        out.insert(full.join("::"));
    }
    for c in group.captures_iter(code) {
        for item in c[1].split(',') {
            let item = item.trim().split("::{").next().unwrap_or("").trim();
            if !item.is_empty() {
                out.insert(item.to_string());
            }
        }
    }
    out
}

/// The module a path points into: its longest prefix that is a module of ours.
fn module_of<'a>(path: &str, modules: &'a BTreeMap<String, PathBuf>) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|p| modules.get_key_value(&p).map(|(k, _)| k.as_str()))
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = library_files();
    let mut graph = BTreeMap::new();
    for (name, file) in &modules {
        let code = non_test_code(&std::fs::read_to_string(file).unwrap());
        let targets: BTreeSet<String> = referenced_paths(name, &code)
            .iter()
            .filter_map(|p| module_of(p, &modules))
            .filter(|m| m != name && *m != "crate")
            .map(str::to_string)
            .collect();
        graph.insert(name.clone(), targets);
    }
    graph
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = import_graph();
    assert!(graph.len() > 30, "found only {} modules", graph.len());
    // a module's descendants count as part of it: `pipeline` (its mod.rs) may use its stages,
    // but nothing a module uses may use that module (or its descendants) back
    let within = |m: &str, root: &str| m == root || m.starts_with(&format!("{root}::"));
    let mut cycles = Vec::new();
    for start in graph.keys() {
        // depth-first search from `start`'s imports back to `start`
        let mut stack: Vec<(String, Vec<String>)> = graph[start]
            .iter()
            .map(|t| (t.clone(), vec![start.clone(), t.clone()]))
            .collect();
        let mut seen = BTreeSet::new();
        while let Some((m, path)) = stack.pop() {
            if !seen.insert(m.clone()) {
                continue;
            }
            for t in graph.get(&m).into_iter().flatten() {
                if t == start {
                    cycles.push(format!("{} -> {}", path.join(" -> "), t));
                } else if !within(t, start) {
                    let mut p = path.clone();
                    p.push(t.clone());
                    stack.push((t.clone(), p));
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn stages_import_only_downwards() {
    // the layers, bottom up: a module may import from its own layer's leaf modules and from
    // layers below, never from a layer above
    let layers: &[&[&str]] = &[
        &["fsutil", "watchdog", "conversation"],
        &["analyze"],
        &["record", "models", "settings", "embed"],
        &["store"],
        &["pipeline", "downstream"],
        &["fuzzing"],
    ];
    let layer_of = |m: &str| {
        let top = m.split("::").next().unwrap();
        layers.iter().position(|l| l.contains(&top))
    };
    let mut wrong = Vec::new();
    for (m, targets) in import_graph() {
        let Some(lm) = layer_of(&m) else { continue };
        for t in targets {
            if layer_of(&t).is_some_and(|lt| lt > lm) {
                wrong.push(format!("{m} imports {t}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports pointing up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn each_outside_library_is_known_to_one_module() {
    // crate → the module subtree that alone may name it
    let owners = [
        ("arrow", "store"),
        ("parquet", "store"),
        ("symphonia", "pipeline::decode"),
        ("rubato", "pipeline::decode"),
        ("symphonia_adapter_libopus", "pipeline::decode"),
        ("audio_codec", "pipeline::decode"),
        ("whisper_rs", "pipeline::transcribe"),
        ("linfa", "downstream::score"),
        // the semantic layer's calibration fits its heads with linfa's logistic regression
        ("linfa", "analyze::semantic"),
        ("candle_core", "embed"),
        ("candle_nn", "embed"),
        ("candle_transformers", "embed"),
        ("tokenizers", "embed"),
        ("axum", "downstream::review"),
        ("tokio", "downstream::review"),
        ("clap", "-"),
        ("indicatif", "-"),
        ("anyhow", "-"),
    ];
    let mut wrong = Vec::new();
    for (module, file) in library_files() {
        let code = non_test_code(&std::fs::read_to_string(&file).unwrap());
        let krates: std::collections::BTreeSet<&str> = owners.iter().map(|(k, _)| *k).collect();
        for krate in krates {
            let named = regex::Regex::new(&format!(r"\b{krate}::"))
                .unwrap()
                .is_match(&code);
            let mine: Vec<&str> = owners
                .iter()
                .filter(|(k, _)| *k == krate)
                .map(|(_, o)| *o)
                .collect();
            let allowed = mine
                .iter()
                .any(|o| module == *o || module.starts_with(&format!("{o}::")));
            if named && !allowed {
                wrong.push(format!(
                    "{module} uses {krate} (only {} may)",
                    mine.join(", ")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
