//! The spoken PII set: calls synthesised by `benches/pii_set.py` (card numbers, CVVs, expiry
//! dates, phone and account numbers, e-mail addresses read out as people read them, next to
//! ordinary numbers), transcribed by callsift itself. No sensitive digit may survive in any
//! table or file of the run, nor in the QA sample drawn from it, nor be audible in its clips
//! (transcribed again by callsift with redaction off), nor any e-mail address; at most two
//! ordinary numbers may be redacted.
//! Needs the model, festival, sox and python3 with pyarrow: ignored by a bare `cargo test`;
//! `make test` runs it with `--include-ignored`.

mod common;

use std::path::Path;
use std::process::Command;

use common::root;

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn callsift(args: &[&str], paths: &[&Path]) -> Command {
    let mut c = common::callsift();
    c.args(args).args(paths);
    c
}

#[test]
#[ignore = "model-backed, needs festival, sox and pyarrow (slow): run with `make test`"]
fn spoken_pii_survives_in_no_table_file_or_page() {
    let model = common::model_path();
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set");
    // four calls of the held-out half (32 variants), the same four on every machine
    run(
        Command::new("python3")
            .arg(root().join("benches/pii_set.py"))
            .arg(&set)
            .args(["--half", "test", "--sample", "4"]),
        "benches/pii_set.py",
    );
    let out = dir.path().join("out");
    run(
        callsift(
            &["run", "--quiet", "--manifest"],
            &[&set.join("manifest.csv")],
        )
        .arg("--rules")
        .arg(set.join("site_rules.toml"))
        .arg("--model")
        .arg(&model)
        .arg("--out")
        .arg(&out),
        "callsift run",
    );
    let qa = dir.path().join("qa");
    run(
        callsift(
            &["sample", "--per-agent", "4", "--seed", "7", "--features"],
            &[&out],
        )
        .arg("--out")
        .arg(&qa),
        "callsift sample",
    );
    // what can still be heard in the clips: their audio transcribed again, unredacted
    let clips = std::fs::read_dir(qa.join("clips")).unwrap().count();
    let heard = dir.path().join("heard");
    if clips > 0 {
        run(
            callsift(&["run", "--quiet", "--no-redact-pii"], &[&qa.join("clips")])
                .arg("--model")
                .arg(&model)
                .arg("--out")
                .arg(&heard),
            "callsift run over the clips",
        );
    }
    // the checker exits non-zero on any survivor; its figures decide here, so that each
    // failure says which bound it broke
    let figures = dir.path().join("figures.json");
    let checked = Command::new("python3")
        .arg(root().join("tests/support/check_no_pii.py"))
        .arg("--truth")
        .arg(set.join("truth.json"))
        .arg("--json")
        .arg(&figures)
        .arg("--show")
        .arg(&out)
        .arg(&qa)
        .args(Some(&heard).filter(|_| clips > 0))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&checked.stdout).to_string();
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&figures)
            .unwrap_or_else(|e| panic!("no figures ({e}):\n{report}")),
    )
    .unwrap();
    let test = &v["test"];
    assert_eq!(test["calls"], 4, "{report}");
    assert!(test["sensitive_digits"].as_u64().unwrap() > 100, "{report}");
    assert_eq!(
        test["surviving_digits"], 0,
        "a sensitive digit survives in a table, file or page:\n{report}"
    );
    assert!(
        test["ordinary_redacted"].as_u64().unwrap() <= 2,
        "ordinary numbers over-redacted:\n{report}"
    );
    assert_eq!(
        test["emails_surviving"], 0,
        "an e-mail address (its host or a name in it) survives:\n{report}"
    );
}
