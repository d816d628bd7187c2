//! Command-line behaviour that needs no model: usage and configuration errors exit with 2,
//! name the problem and give a hint, and nothing is written.

use std::process::Command;

fn callsift(args: &[&str], cwd: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_callsift"))
        .args(args)
        .current_dir(cwd)
        .env("CALLSIFT_MODELS_DIR", cwd.join("models"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn missing_model_is_a_configuration_error_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = callsift(&["run", "x.wav", "--out", "out"], dir.path());
    assert_eq!(code, Some(2));
    assert!(err.contains("model tiny.en is not installed"), "{err}");
    assert!(
        err.contains("hint: run `callsift models fetch tiny.en`"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn unknown_model_and_bad_usage_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = callsift(
        &["run", "x.wav", "--out", "o", "--model", "huge"],
        dir.path(),
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("unknown model \"huge\"") && err.contains("tiny.en, base"),
        "{err}"
    );
    let (code, _) = callsift(
        &["run", "--agent-channel", "middle", "--out", "o"],
        dir.path(),
    );
    assert_eq!(code, Some(2));
    let (code, err) = callsift(
        &["models", "fetch", "tiny.en", "--weights", "q3"],
        dir.path(),
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("hint: use f16 or q8_0"), "{err}");
    // fetch takes the names --model takes (and its not-installed hint gives)
    let (code, err) = callsift(&["models", "fetch", "huge-q8_0"], dir.path());
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown model \"huge\""), "{err}");
}

#[test]
fn oversubscribed_threads_and_bad_manifest_are_rejected_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("fake.bin");
    std::fs::write(&model, b"not loaded: settings are checked first").unwrap();
    let cores = std::thread::available_parallelism().unwrap().get();
    let too_many = (cores + 1).to_string();
    let (code, err) = callsift(
        &[
            "run",
            "a.wav",
            "--out",
            "o",
            "--model",
            model.to_str().unwrap(),
            "--jobs",
            &too_many,
            "--threads",
            "1",
        ],
        dir.path(),
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("more than the") && err.contains("hint: keep jobs × threads"),
        "{err}"
    );

    std::fs::write(
        dir.path().join("calls.csv"),
        "call_id,path,started_at\nA,a.wav,tomorrow\n",
    )
    .unwrap();
    let (code, err) = callsift(
        &[
            "run",
            "--manifest",
            "calls.csv",
            "--out",
            "o",
            "--model",
            model.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("calls.csv:2: started_at \"tomorrow\""),
        "{err}"
    );
    assert!(!dir.path().join("o").exists(), "nothing may be written");
}
