//! Scale-out on real cluster engines. The Slurm test starts a real single-node Slurm
//! (slurm-wlm + munge from `make setup`, root needed) on localhost, submits the committed
//! array script `deploy/slurm/callsift-array.sbatch` over four sample calls as two shards,
//! and checks the dataset holds every call exactly once. Model-backed and slow: `make test`.
//! The Kubernetes Indexed Job is checked with python3 + pyyaml (also `make test`); the shard
//! callsift takes from it needs nothing.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use common::root;

/// Stops the local cluster however the test ends.
struct Cluster(PathBuf);

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(root().join("tests/support/slurm_local.sh"))
            .arg("stop")
            .arg(&self.0)
            .status();
    }
}

#[test]
#[ignore = "model-backed, starts a local Slurm cluster (slow): run with `make test`"]
fn model_slurm_array_job_writes_every_call_once() {
    let model = common::model_path();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("slurm");
    let start = Command::new("bash")
        .arg(root().join("tests/support/slurm_local.sh"))
        .arg("start")
        .arg(&state)
        .output()
        .unwrap();
    let _cluster = Cluster(state.clone());
    assert!(
        start.status.success(),
        "local Slurm did not start:\n{}{}",
        String::from_utf8_lossy(&start.stdout),
        String::from_utf8_lossy(&start.stderr)
    );
    let conf = state.join("slurm.conf");

    let calls = dir.path().join("calls");
    fs::create_dir(&calls).unwrap();
    let mut csv = String::from("call_id,path,agent_id,started_at\n");
    for (id, file, at) in [
        ("C-1004", "call_004.wav", "2026-11-20T13:45:12Z"),
        ("C-1005", "call_005.ogg", "2026-11-21T08:05:55Z"),
        ("C-1003", "call_003.flac", "2026-11-20T11:30:00Z"),
        ("C-1007", "call_007.wav", "2026-11-21T17:02:10Z"),
    ] {
        fs::copy(root().join("samples").join(file), calls.join(file)).unwrap();
        csv.push_str(&format!("{id},{file},ag-1,{at}\n"));
    }
    fs::write(calls.join("manifest.csv"), csv).unwrap();
    let out = dir.path().join("dataset");
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();

    let submit = |extra: &[&str]| {
        let o = Command::new("sbatch")
            .env("SLURM_CONF", &conf)
            .env("CALLSIFT_BIN", env!("CARGO_BIN_EXE_callsift"))
            .env("CALLSIFT_MANIFEST", calls.join("manifest.csv"))
            .env("CALLSIFT_OUT", &out)
            .env("CALLSIFT_MODEL", &model)
            .args(["--wait", "--array=0-1", "--cpus-per-task=1"])
            .arg(format!("--output={}/task-%a.log", logs.display()))
            .args(extra)
            .arg(root().join("deploy/slurm/callsift-array.sbatch"))
            .output()
            .unwrap();
        let mut task_logs = String::new();
        for k in 0..2 {
            task_logs +=
                &fs::read_to_string(logs.join(format!("task-{k}.log"))).unwrap_or_default();
        }
        assert!(
            o.status.success(),
            "array job failed: {}{}\n{task_logs}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        task_logs
    };
    let logs_first = submit(&[]);
    assert!(
        logs_first.contains("shard 0/2 (from SLURM_ARRAY_TASK_ID)"),
        "{logs_first}"
    );
    assert!(
        logs_first.contains("shard 1/2 (from SLURM_ARRAY_TASK_ID)"),
        "{logs_first}"
    );

    // every input exactly once, whichever task wrote it
    let (h, rows) = callsift::store::read::read_text_rows(&out.join("interactions")).unwrap();
    let col = |c: &str| h.iter().position(|x| x == c).unwrap();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        *ids.entry(r[col("interaction_id")].clone().unwrap())
            .or_default() += 1;
        assert_eq!(r[col("status")].as_deref(), Some("ok"), "{r:?}");
    }
    assert_eq!(
        ids.keys().map(String::as_str).collect::<Vec<_>>(),
        ["C-1003", "C-1004", "C-1005", "C-1007"]
    );
    assert!(ids.values().all(|&n| n == 1), "{ids:?}");
    let shards: Vec<String> = fs::read_dir(out.join("_callsift/runs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        shards.iter().any(|s| s.contains("-0of2")) && shards.iter().any(|s| s.contains("-1of2")),
        "{shards:?}"
    );
    common::check_parquet(&out, "docs/schema.md");

    // the same array again: nothing to do, still once each
    let again = submit(&[]);
    assert!(
        again.matches("processed 0 recordings").count() == 2,
        "{again}"
    );
    let (_, rows) = callsift::store::read::read_text_rows(&out.join("interactions")).unwrap();
    assert_eq!(rows.len(), 4);
}

/// The Kubernetes manifest is consistent: an Indexed Job whose shard count equals its
/// completions, with the model mounted read-only.
#[test]
#[ignore = "needs python3 with pyyaml: run with `make test`"]
fn kubernetes_indexed_job_is_consistent() {
    let text =
        fs::read_to_string(root().join("deploy/kubernetes/callsift-indexed-job.yaml")).unwrap();
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import sys, yaml
job = yaml.safe_load(sys.stdin)
spec = job["spec"]
assert job["kind"] == "Job" and spec["completionMode"] == "Indexed", "not an Indexed Job"
c = spec["template"]["spec"]["containers"][0]
env = {e["name"]: e["value"] for e in c["env"]}
assert int(env["CALLSIFT_SHARD_COUNT"]) == spec["completions"], "CALLSIFT_SHARD_COUNT != completions"
assert c["args"][0] == "run", c["args"]
mounts = {m["name"]: m for m in c["volumeMounts"]}
assert mounts["models"].get("readOnly") is True, "model not read-only"
assert mounts["recordings"].get("readOnly") is True
assert "readOnly" not in mounts["dataset"]
args = " ".join(c["args"])
assert "--models-dir=" + mounts["models"]["mountPath"] in args and "--out=" + mounts["dataset"]["mountPath"] in args
print("ok")
"#,
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut ch| {
            use std::io::Write;
            ch.stdin.take().unwrap().write_all(text.as_bytes())?;
            ch.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// callsift accepts the shard the Indexed Job gives each pod.
#[test]
fn kubernetes_job_completion_index_is_a_shard() {
    let s = callsift::settings::Shard::from_env(|k| match k {
        "JOB_COMPLETION_INDEX" => Some("3".into()),
        "CALLSIFT_SHARD_COUNT" => Some("4".into()),
        _ => None,
    })
    .unwrap()
    .unwrap();
    assert_eq!((s.index, s.count), (3, 4));
}
