//! Helpers shared by the integration tests: the checkout's paths, the model, running the
//! callsift binary, the Python read-back check, and features folders written by the real
//! Parquet writer. Each test file takes it with `mod common;`.

// each test binary uses its own subset
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use callsift::analyze::rules::words::Layer;
use callsift::analyze::rules::{Hit, RuleSet};
use callsift::conversation::Role;
use callsift::record::Interaction;
use callsift::store::sink::ParquetSink;

/// The checkout: samples/, docs/, models/, deploy/ and tests/support/ are read from it.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled sample calls.
pub fn samples() -> PathBuf {
    root().join("samples")
}

/// The default Whisper model that `make setup` installs; panics with the fix when it is not
/// there (only `#[ignore]`d tests may call this).
pub fn model_path() -> PathBuf {
    let p = root().join("models/ggml-tiny.en.bin");
    assert!(
        p.is_file(),
        "{} is missing: run `make setup` first",
        p.display()
    );
    p
}

/// The callsift binary under test.
pub fn callsift() -> Command {
    Command::new(env!("CARGO_BIN_EXE_callsift"))
}

/// `callsift run --quiet` with the installed model over `inputs` into `out`; panics with the
/// output unless it succeeded (only `#[ignore]`d tests may call this).
pub fn run_with_model(out: &Path, inputs: &[PathBuf]) -> Output {
    run_ok(
        callsift()
            .args(["run", "--quiet", "--out"])
            .arg(out)
            .arg("--model")
            .arg(model_path())
            .args(inputs),
    )
}

/// Stdout and stderr of a finished command, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `cmd` to the end; panics with its output unless it succeeded.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} cannot start: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The standard output of `callsift ARGS`, which must succeed.
pub fn callsift_ok(args: &[&str]) -> String {
    String::from_utf8_lossy(&run_ok(callsift().args(args)).stdout).to_string()
}

/// `tests/support/check_parquet.py` (pyarrow, DuckDB and polars) over the tables under `dir`,
/// against the columns documented in `doc` (a path in the checkout, e.g. `docs/schema.md`);
/// panics with its output unless every table passes. Returns what it printed.
pub fn check_parquet(dir: &Path, doc: &str) -> String {
    let o = run_ok(
        Command::new("python3")
            .arg(root().join("tests/support/check_parquet.py"))
            .arg(dir)
            .arg(root().join(doc)),
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The built-in rule pack and the index of its `escalation_request` category (the flag the
/// QA tests plant).
pub fn builtin_rules() -> (RuleSet, usize) {
    let rules = RuleSet::builtin();
    let esc = rules
        .categories
        .iter()
        .position(|c| c.id == "escalation_request")
        .unwrap();
    (rules, esc)
}

/// A customer's escalation request at `start_ms`..`end_ms`, with `evidence`.
pub fn escalation(esc: usize, start_ms: i64, end_ms: i64, evidence: &str) -> Hit {
    Hit {
        category: esc,
        role: Role::Customer,
        start_ms,
        end_ms,
        evidence: evidence.into(),
        matched: "speak to a manager".into(),
        layer: Layer::Exact,
        confidence: Layer::Exact.confidence(),
    }
}

/// A processed call of the bundled recording `samples/<recording>`: ok, tiny.en, English,
/// default metrics, and the categories of `hits` fired (every other category not).
pub fn ok_call(rules: &RuleSet, id: String, recording: &str, hits: Vec<Hit>) -> Interaction {
    Interaction {
        interaction_id: id,
        source_path: samples().join(recording).display().to_string(),
        ok: true,
        model: "tiny.en".into(),
        language: "en".into(),
        categories: (0..rules.categories.len())
            .map(|k| Some(hits.iter().any(|h| h.category == k)))
            .collect(),
        hits,
        metrics: Some(Default::default()),
        ..Default::default()
    }
}

/// A features folder written by the real Parquet writer, as `run` leaves it.
pub fn write_features(dir: &Path, rules: &RuleSet, calls: impl IntoIterator<Item = Interaction>) {
    let mut sink = ParquetSink::create(dir, rules, &[], &[]).unwrap();
    for call in calls {
        sink.push(call).unwrap();
    }
    sink.finish().unwrap();
}

/// The headless browser's command (Debian `chromium`, or `chromium-browser` elsewhere).
pub fn chromium() -> &'static str {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium is not installed: run scripts/setup.sh")
}
