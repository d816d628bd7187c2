//! Nightly operation on real audio (model-backed, slow; `make test` runs them): incremental
//! reruns, kill -9 at several points then resume, and two shards writing one dataset.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{model_path, root};

/// The four shortest sample calls, copied into `dir` with a manifest.
fn calls(dir: &Path) -> PathBuf {
    let rows = [
        ("C-1004", "call_004.wav", "ag-lisa", "2026-11-20T13:45:12Z"),
        ("C-1005", "call_005.ogg", "ag-tom", "2026-11-21T08:05:55Z"),
        ("C-1003", "call_003.flac", "ag-mark", "2026-11-20T11:30:00Z"),
        ("C-1007", "call_007.wav", "ag-paul", "2026-11-21T17:02:10Z"),
    ];
    let mut csv = String::from("call_id,path,agent_id,started_at\n");
    for (id, file, agent, at) in rows {
        fs::copy(root().join("samples").join(file), dir.join(file)).unwrap();
        csv.push_str(&format!("{id},{file},{agent},{at}\n"));
    }
    let m = dir.join("manifest.csv");
    fs::write(&m, csv).unwrap();
    m
}

fn command(manifest: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = common::callsift();
    c.env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX");
    c.arg("run")
        .arg("--manifest")
        .arg(manifest)
        .arg("--out")
        .arg(out)
        .arg("--model")
        .arg(model_path())
        .args(extra);
    if !extra.contains(&"--jobs") {
        // the same plan in every run, so transcripts compare exactly
        c.args(["--jobs", "2", "--threads", "1"]);
    }
    c
}

fn run(manifest: &Path, out: &Path, extra: &[&str]) -> Output {
    command(manifest, out, extra).output().unwrap()
}

/// Numbers from the summary line: (processed, skipped, replaced).
fn counts(o: &Output) -> (usize, usize, usize) {
    let text = String::from_utf8_lossy(&o.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("processed "))
        .unwrap_or_else(|| {
            panic!(
                "no summary in:\n{text}\n{}",
                String::from_utf8_lossy(&o.stderr)
            )
        });
    let num = |after: &str| -> usize {
        let i = line.find(after).unwrap_or_else(|| panic!("{line}"));
        line[..i]
            .split_whitespace()
            .last()
            .unwrap()
            .parse()
            .unwrap()
    };
    (
        line.split_whitespace().nth(1).unwrap().parse().unwrap(),
        num(" unchanged skipped"),
        num(" replaced"),
    )
}

/// interaction_id → the named columns, from the whole dataset; panics on a duplicate id.
fn table(out: &Path, cols: &[&str]) -> BTreeMap<String, Vec<Option<String>>> {
    let (h, rows) = callsift::store::read::read_text_rows(&out.join("interactions")).unwrap();
    let pos = |c: &str| h.iter().position(|x| x == c).unwrap();
    let mut m = BTreeMap::new();
    for r in rows {
        let id = r[pos("interaction_id")].clone().unwrap();
        let v = cols.iter().map(|c| r[pos(c)].clone()).collect();
        assert!(m.insert(id.clone(), v).is_none(), "{id} appears twice");
    }
    m
}

/// Nothing half-written is visible: no temporary files, and every segments/events part has
/// its interactions part.
fn assert_clean(out: &Path) {
    for table in ["interactions", "segments", "events"] {
        let Ok(parts) = fs::read_dir(out.join(table)) else {
            continue;
        };
        for p in parts.flatten() {
            for f in fs::read_dir(p.path()).unwrap().flatten() {
                let name = f.file_name().to_string_lossy().to_string();
                assert!(!name.ends_with(".partial"), "temporary file {name} visible");
                assert!(
                    out.join("interactions")
                        .join(p.file_name())
                        .join(&name)
                        .exists(),
                    "{table}/{name} has no interactions part"
                );
            }
        }
    }
}

fn check_parquet(out: &Path) {
    common::check_parquet(out, "docs/schema.md");
}

#[test]
#[ignore = "model-backed (slow): run with `make test`"]
fn model_reruns_process_only_what_is_new_or_changed() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = calls(dir.path());
    let out = dir.path().join("out");
    let first = run(&manifest, &out, &[]);
    assert_eq!(first.status.code(), Some(0));
    assert_eq!(counts(&first), (4, 0, 0));
    let before = table(&out, &["content_sha256", "run_id", "transcript"]);
    assert_eq!(before.len(), 4);

    // the same inputs again: no transcription, nothing written, done in seconds
    let t = Instant::now();
    let again = run(&manifest, &out, &[]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(counts(&again), (0, 4, 0));
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert_eq!(
        table(&out, &["content_sha256", "run_id", "transcript"]),
        before
    );

    // one recording changes (a sample flipped), one manifest row changes, a new corrupt file
    let wav = dir.path().join("call_004.wav");
    let mut bytes = fs::read(&wav).unwrap();
    let n = bytes.len();
    bytes[n - 400] ^= 0x55;
    fs::write(&wav, bytes).unwrap();
    let text = fs::read_to_string(&manifest)
        .unwrap()
        .replace("C-1005,call_005.ogg,ag-tom", "C-1005,call_005.ogg,ag-tina");
    fs::write(
        &manifest,
        text + "X-1,notes.wav,ag-lisa,2026-11-21T09:00:00Z\n",
    )
    .unwrap();
    fs::write(dir.path().join("notes.wav"), "not audio").unwrap();
    let third = run(&manifest, &out, &[]);
    assert_eq!(
        third.status.code(),
        Some(1),
        "the corrupt file fails the run"
    );
    assert_eq!(counts(&third), (3, 2, 2));
    let after = table(&out, &["content_sha256", "run_id", "agent_id", "status"]);
    assert_eq!(after.len(), 5);
    assert_ne!(after["C-1004"][0], before["C-1004"][0], "new content hash");
    assert_ne!(
        after["C-1004"][1], before["C-1004"][1],
        "rewritten by the new run"
    );
    assert_eq!(after["C-1005"][2].as_deref(), Some("ag-tina"));
    assert_eq!(
        after["C-1003"][1], before["C-1003"][1],
        "unchanged row kept"
    );
    assert_eq!(after["X-1"][3].as_deref(), Some("error"));

    // an earlier failure is retried (and replaced), the rest skipped
    let fourth = run(&manifest, &out, &[]);
    assert_eq!(counts(&fourth), (1, 4, 1));
    // --force redoes everything, still one row per call
    let forced = run(&manifest, &out, &["--force"]);
    assert_eq!(counts(&forced), (5, 0, 5));
    assert_eq!(table(&out, &["status"]).len(), 5);
    assert_clean(&out);
    check_parquet(&out);
    let runs = fs::read_dir(out.join("_callsift/runs")).unwrap().count();
    assert_eq!(runs, 5, "one manifest per run");
}

#[test]
#[ignore = "model-backed (slow): run with `make test`"]
fn model_kill_9_then_resume_holds_every_call_once() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = calls(dir.path());
    let reference = dir.path().join("reference");
    let r = run(&manifest, &reference, &["--commit-every", "1"]);
    assert_eq!(r.status.code(), Some(0));
    let want = table(&reference, &["status", "transcript", "segment_count"]);
    assert_eq!(want.len(), 4);

    // kill points: while loading (nothing committed), after the first commit, after three
    let points: [(&str, usize); 3] = [("early", 0), ("after 1", 1), ("after 3", 3)];
    for (label, parts) in points {
        let out = dir.path().join(format!("out-{parts}"));
        let mut child = command(&manifest, &out, &["--commit-every", "1", "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        loop {
            let committed = callsift::store::read::table_files(&out.join("interactions"))
                .map(|f| f.len())
                .unwrap_or(0);
            let due = if parts == 0 {
                // the run has opened the dataset (its manifest exists, not only the temporary
                // file it is written through) and loads the model
                fs::read_dir(out.join("_callsift/runs")).is_ok_and(|d| {
                    d.flatten()
                        .any(|e| !e.file_name().to_string_lossy().starts_with('.'))
                })
            } else {
                committed >= parts
            };
            if due || child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(300),
                "{label}: no progress"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let done = if out.join("interactions").exists() {
            table(&out, &["status"]).len()
        } else {
            0
        };
        assert!(done < 4, "{label}: the run finished before it was killed");
        if parts > 0 {
            assert!(done >= parts, "{label}: {done} committed");
        }

        let resumed = run(&manifest, &out, &[]);
        assert_eq!(resumed.status.code(), Some(0), "{label}");
        let (processed, skipped, replaced) = counts(&resumed);
        assert_eq!(
            (processed, skipped, replaced),
            (4 - done, done, 0),
            "{label}: finished work is not redone"
        );
        assert_eq!(
            table(&out, &["status", "transcript", "segment_count"]),
            want,
            "{label}: the resumed dataset equals the uninterrupted one"
        );
        assert_clean(&out);
        check_parquet(&out);
        let statuses: Vec<String> = fs::read_dir(out.join("_callsift/runs"))
            .unwrap()
            .flatten()
            .map(|e| {
                let v: serde_json::Value =
                    serde_json::from_str(&fs::read_to_string(e.path()).unwrap()).unwrap();
                v["status"].as_str().unwrap().to_string()
            })
            .collect();
        assert!(
            statuses.contains(&"interrupted".into()) && statuses.contains(&"complete".into()),
            "{label}: {statuses:?}"
        );
    }
}

#[test]
#[ignore = "model-backed (slow): run with `make test`"]
fn model_two_shards_write_one_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = calls(dir.path());
    let out = dir.path().join("out");
    // shard 0 from the flag, shard 1 from a Slurm array's environment, at the same time,
    // one core each
    let one = ["--jobs", "1", "--threads", "1"];
    let mut a = command(&manifest, &out, &[&one[..], &["--shard", "0/2"]].concat());
    let mut b = command(&manifest, &out, &one);
    b.env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_MIN", "0")
        .env("SLURM_ARRAY_TASK_COUNT", "2");
    let ha = a.stdout(Stdio::piped()).spawn().unwrap();
    let hb = b.stdout(Stdio::piped()).spawn().unwrap();
    let (oa, ob) = (
        ha.wait_with_output().unwrap(),
        hb.wait_with_output().unwrap(),
    );
    assert_eq!(oa.status.code(), Some(0));
    assert_eq!(ob.status.code(), Some(0));
    let sb = String::from_utf8_lossy(&ob.stdout);
    assert!(sb.contains("shard 1/2 (from SLURM_ARRAY_TASK_ID)"), "{sb}");
    let (pa, pb) = (counts(&oa).0, counts(&ob).0);
    assert_eq!(pa + pb, 4, "the shards split the inputs");
    assert!(pa > 0 && pb > 0, "{pa} + {pb}");
    assert_eq!(table(&out, &["status"]).len(), 4);
    assert_clean(&out);
    check_parquet(&out);
    // each shard again: nothing left to do
    assert_eq!(
        counts(&run(&manifest, &out, &["--shard", "0/2"])),
        (0, pa, 0)
    );
    assert_eq!(
        counts(&run(&manifest, &out, &["--shard", "1/2"])),
        (0, pb, 0)
    );
}

/// Unmounts the test's small file system however the test ends.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
#[ignore = "model-backed (slow), mounts a tmpfs (root): run with `make test`"]
fn model_a_full_disk_stops_the_run_cleanly_and_a_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = calls(dir.path());
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    // a dataset folder with room for about two committed calls
    let mount = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=100k", "tmpfs"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        mount.status.success(),
        "cannot mount a tmpfs (the test needs root): {}",
        String::from_utf8_lossy(&mount.stderr)
    );
    let _m = Mount(out.clone());
    let full = run(&manifest, &out, &["--commit-every", "1"]);
    let stderr = String::from_utf8_lossy(&full.stderr);
    assert_eq!(full.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("No space left on device") && stderr.contains(out.to_str().unwrap()),
        "the error names the cause and the path: {stderr}"
    );
    assert_clean(&out);
    let committed = table(&out, &["status"]).len();
    assert!(committed < 4, "{committed}");

    // space is freed: the same command finishes the night, every call once
    let grow = Command::new("mount")
        .args(["-o", "remount,size=20m"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(grow.success());
    let again = run(&manifest, &out, &[]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(counts(&again), (4 - committed, committed, 0));
    assert_eq!(table(&out, &["status"]).len(), 4);
    assert_clean(&out);
    check_parquet(&out);
}
