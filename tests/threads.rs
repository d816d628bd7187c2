//! The thread plan follows the CPUs the process is granted: a run under `taskset` with one CPU
//! plans 1 worker × 1 thread, says why, and completes. Needs the model and `taskset`
//! (util-linux), so it is ignored by a bare `cargo test`; `make test` runs it.

mod common;

use std::process::Command;

use common::root;

#[test]
#[ignore = "needs the Whisper model and taskset: run with `make test`"]
fn a_run_pinned_to_one_cpu_plans_one_thread_and_completes() {
    common::model_path();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::new("taskset")
        .args(["-c", "0", env!("CARGO_BIN_EXE_callsift"), "run"])
        .arg(root().join("samples/call_001.wav"))
        .arg("--out")
        .arg(&out_dir)
        .current_dir(root())
        .env_remove("SLURM_CPUS_PER_TASK")
        .output()
        .expect("taskset (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("plan: 1 worker × 1 thread (cpus: 1 from affinity mask;"),
        "{stdout}"
    );
    assert!(stdout.contains("1 ok, 0 failed"), "{stdout}");
    // the run manifest records the same plan
    let runs = out_dir.join("_callsift/runs");
    let manifest = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a run manifest");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert_eq!(v["plan"]["jobs"], 1, "{v}");
    assert_eq!(v["plan"]["threads"], 1, "{v}");
    assert!(
        v["plan"]["why"]
            .as_str()
            .is_some_and(|w| w.contains("affinity mask 1")),
        "{v}"
    );
}

#[test]
#[ignore = "needs the Whisper model and taskset: run with `make test`"]
fn explicit_threads_override_the_grant() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("taskset")
        .args(["-c", "0", env!("CARGO_BIN_EXE_callsift"), "run"])
        .arg(root().join("samples/call_004.wav"))
        .args(["--threads", "2", "--out"])
        .arg(dir.path().join("out"))
        .current_dir(root())
        .output()
        .expect("taskset (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if callsift::settings::CpuEnv::read().online.unwrap_or(1) < 2 {
        // never more threads than the machine has, override or not
        assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
        return;
    }
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout
            .contains("plan: 1 worker × 2 threads (--threads 2 given; cpus: 1 from affinity mask;"),
        "{stdout}"
    );
}
