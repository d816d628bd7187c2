//! The semantic rules layer end to end: the embedding model run in Rust against the reference
//! model's published output, the shipped heads against a fresh calibration on the dev half,
//! the layer on the held-out half of `benches/detection/`, and `run --semantic`. Every test
//! needs the embedding model `make setup` installs (`#[ignore]` for a bare `cargo test`).

mod common;

use std::path::PathBuf;

use callsift::analyze::semantic::{Embed, Heads};
use callsift::embed::MiniLm;
use callsift::models;
use callsift::store::read::read_text_rows;
use common::{callsift, callsift_ok, root, run_ok, text};

fn model() -> MiniLm {
    let found = models::embedder::resolve(&models::search_dirs(Some(&root().join("models"))))
        .expect("the embedding model is missing: run `make setup` first");
    MiniLm::load(&found.dir, &found.id).unwrap()
}

fn sets(half: &str) -> Vec<String> {
    ["behaviours", "events_topics"]
        .iter()
        .map(|p| {
            root()
                .join(format!("benches/detection/{p}.{half}.toml"))
                .display()
                .to_string()
        })
        .collect()
}

/// The macro-F1 `rules eval` prints on its last line.
fn macro_f1(out: &str) -> f64 {
    let last = out.lines().last().unwrap();
    let v = last.split("macro-F1 ").nth(1).unwrap();
    v.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
#[ignore = "needs the embedding model (make setup)"]
fn embeddings_match_the_reference_model() {
    let m = model();
    let v = m
        .embed(&[
            "This is an example sentence",
            "I understand how frustrating that must be",
            "that sounds really annoying for you",
            "your order number is one two three",
        ])
        .unwrap();
    // sentence-transformers' all-MiniLM-L6-v2 on its own example sentence
    let reference = [0.0677, 0.0634, 0.0488, 0.0792, 0.0374];
    for (k, r) in reference.iter().enumerate() {
        assert!((v[0][k] - r).abs() < 2e-3, "dim {k}: {} vs {r}", v[0][k]);
    }
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    for e in &v {
        assert!((dot(e, e) - 1.0).abs() < 1e-4);
    }
    // two ways of saying one thing are closer than a sentence about something else
    assert!(dot(&v[1], &v[2]) > dot(&v[1], &v[3]) + 0.1);
    // one text embeds the same alone as in a batch with longer ones (padding is masked)
    let alone = m.embed(&["This is an example sentence"]).unwrap();
    assert!(dot(&alone[0], &v[0]) > 0.9999);
}

#[test]
#[ignore = "needs the embedding model (make setup)"]
fn the_builtin_heads_are_a_calibration_on_the_dev_half() {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("heads.json");
    let mut args = vec!["rules", "calibrate", "--models-dir"];
    let models_dir = root().join("models").display().to_string();
    args.push(&models_dir);
    let dev = sets("dev");
    args.extend(dev.iter().map(String::as_str));
    let file_arg = file.display().to_string();
    args.extend(["--out", &file_arg]);
    callsift_ok(&args);
    let fresh = Heads::parse(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let shipped = Heads::builtin();
    assert_eq!(fresh.model, shipped.model);
    let ids = |h: &Heads| {
        h.heads
            .iter()
            .map(|x| x.category.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&fresh), ids(&shipped));
    for (a, b) in fresh.heads.iter().zip(&shipped.heads) {
        assert!(
            (a.threshold - b.threshold).abs() < 0.01,
            "{}: {} vs {}",
            a.category,
            a.threshold,
            b.threshold
        );
    }
    // calibrated on the dev half only: the test half is what it is measured on
    assert!(
        shipped
            .calibrated_on
            .iter()
            .all(|s| s.ends_with(".dev.toml"))
    );
}

#[test]
#[ignore = "needs the embedding model (make setup)"]
fn the_layer_finds_held_out_phrasings_the_phrases_miss() {
    let test = sets("test");
    let mut plain = vec!["rules", "eval"];
    plain.extend(test.iter().map(String::as_str));
    let rules_only = macro_f1(&callsift_ok(&plain));
    let models_dir = root().join("models").display().to_string();
    let mut with = plain.clone();
    with.extend(["--semantic", "--models-dir", &models_dir]);
    let out = callsift_ok(&with);
    let semantic = macro_f1(&out);
    // measured 0.68 → 0.76 (benches/RESULTS.md)
    assert!(
        semantic >= 0.74,
        "held-out macro-F1 with the layer {semantic:.2}\n{out}"
    );
    assert!(
        semantic >= rules_only + 0.05,
        "{rules_only:.2} → {semantic:.2}"
    );
    // `--errors` names the layer that fired
    with.push("--errors");
    let errors = callsift_ok(&with);
    assert!(errors.contains("by semantic (confidence 0."), "{errors}");
}

#[test]
#[ignore = "needs the whisper and embedding models (make setup)"]
fn run_with_the_layer_marks_its_hits_and_redoes_the_calls() {
    let out = tempfile::tempdir().unwrap();
    let data = out.path().join("data");
    let call: PathBuf = root().join("samples/call_001.wav");
    let base = |extra: &[&str]| {
        let mut c = callsift();
        c.args(["run", "--out"])
            .arg(&data)
            .arg("--models-dir")
            .arg(root().join("models"))
            .args(extra)
            .arg(&call);
        c
    };
    run_ok(&mut base(&[]));
    let o = run_ok(&mut base(&["--semantic"]));
    // turning the layer on is a change of settings: the call is redone, not skipped
    assert!(text(&o).contains("1 replaced"), "{}", text(&o));
    let (header, rows) = read_text_rows(&data.join("events")).unwrap();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let cell = |r: &Vec<Option<String>>, n: &str| r[col(n)].clone().unwrap_or_default();
    let semantic: Vec<_> = rows
        .iter()
        .filter(|r| cell(r, "matched_by") == "semantic")
        .collect();
    assert!(!semantic.is_empty(), "{rows:?}");
    for r in semantic {
        assert!(cell(r, "matched").starts_with("p = "), "{r:?}");
        let confidence: f64 = cell(r, "confidence").parse().unwrap();
        assert!(confidence > 0.0 && confidence < 1.0, "{r:?}");
    }
    // the built-in heads belong to the built-in pack
    let custom = out.path().join("rules.toml");
    std::fs::write(&custom, callsift::analyze::rules::BUILTIN).unwrap();
    let custom = custom.display().to_string();
    let o = base(&["--semantic", "--rules", &custom]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("hint: calibrate heads for your pack"),
        "{}",
        text(&o)
    );
    // without the model, the error says how to install it
    let empty = out.path().join("no-models");
    std::fs::create_dir(&empty).unwrap();
    let o = callsift()
        .args(["run", "--semantic", "--out"])
        .arg(&data)
        .arg("--models-dir")
        .arg(&empty)
        .arg("--model")
        .arg(common::model_path())
        .arg(&call)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("callsift models fetch all-minilm-l6-v2"),
        "{}",
        text(&o)
    );
}
