//! What an on-call operator and a careless neighbour do to a nightly run: FIFOs and devices
//! among the inputs, damaged model files, two runs over one dataset at once, duplicated rows
//! left by older versions, files that take far too long, names that are not UTF-8. Nothing may
//! hang, abort, be lost or be written twice. Tests marked `model_` need the Whisper model
//! (`make test` runs them).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{model_path, root, text};

fn callsift(args: &[&str]) -> Command {
    let mut c = common::callsift();
    c.env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_ARRAY_TASK_COUNT")
        .env_remove("JOB_COMPLETION_INDEX")
        .args(args);
    c
}

/// Wait for `child`, killing it (and failing) when it runs past `limit`.
fn wait_or_fail(mut child: Child, limit: Duration, what: &str) -> Output {
    let t0 = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t0.elapsed() > limit {
            let _ = child.kill();
            panic!("{what} still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    child.wait_with_output().unwrap()
}

/// interaction_id → rows of the named columns, from the whole dataset (duplicates kept).
fn rows(out: &Path, cols: &[&str]) -> BTreeMap<String, Vec<Vec<Option<String>>>> {
    let (h, rows) = callsift::store::read::read_text_rows(&out.join("interactions")).unwrap();
    let pos = |c: &str| h.iter().position(|x| x == c).unwrap();
    let mut m: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for r in rows {
        let id = r[pos("interaction_id")].clone().unwrap();
        m.entry(id)
            .or_default()
            .push(cols.iter().map(|c| r[pos(c)].clone()).collect());
    }
    m
}

/// The four shortest sample calls, copied into `dir` with a manifest.
fn four_calls(dir: &Path) -> PathBuf {
    let rows = [
        ("C-1", "call_004.wav"),
        ("C-2", "call_005.ogg"),
        ("C-3", "call_003.flac"),
        ("C-4", "call_007.wav"),
    ];
    let mut csv = String::from("call_id,path\n");
    for (id, file) in rows {
        fs::copy(root().join("samples").join(file), dir.join(file)).unwrap();
        csv.push_str(&format!("{id},{file}\n"));
    }
    let m = dir.join("manifest.csv");
    fs::write(&m, csv).unwrap();
    m
}

fn run_args<'a>(manifest: &'a Path, out: &'a Path, model: &'a Path) -> Vec<&'a str> {
    vec![
        "run",
        "--manifest",
        manifest.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--jobs",
        "1",
        "--threads",
        "1",
    ]
}

/// A ggml model header (tiny.en's hyper-parameters), its mel filterbank and a vocabulary of
/// `tokens` one-byte tokens: the start of a real model file, without tensors.
fn ggml_head(tokens: u32) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [
        0x6767_6d6c_u32,
        51_864,
        1500,
        384,
        6,
        4,
        448,
        384,
        6,
        4,
        80,
        1,
        80,
        201,
    ] {
        b.extend(v.to_le_bytes());
    }
    b.extend(vec![0u8; 80 * 201 * 4]);
    b.extend(tokens.to_le_bytes());
    for _ in 0..tokens {
        b.extend(1u32.to_le_bytes());
        b.push(b'a');
    }
    b
}

fn run_with_model(model: &Path) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        root().join("samples/call_004.wav"),
        dir.path().join("a.wav"),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = callsift(&[
        "run",
        dir.path().join("a.wav").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(
        !out.join("interactions").exists(),
        "nothing may be written with a bad model"
    );
    (o.status.code(), text(&o))
}

#[test]
fn damaged_and_crafted_models_exit_2_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("text.bin", b"hello, not a model".to_vec(), "wrong magic"),
        (
            "header.bin",
            ggml_head(0)[..40].to_vec(),
            "ends inside the hyper-parameters",
        ),
        ("no-tensors.bin", ggml_head(3), "holds 0 tensors"),
        (
            "huge-state.bin",
            {
                let mut b = ggml_head(3);
                b[12..16].copy_from_slice(&(1u32 << 28).to_le_bytes());
                b
            },
            "n_audio_state",
        ),
        (
            "tensor-past-end.bin",
            {
                // one f16 tensor of 51864 x 384 with only a few bytes of data
                let mut b = ggml_head(3);
                for v in [2u32, 4, 1, 384, 51_864] {
                    b.extend(v.to_le_bytes());
                }
                b.extend(b"abcd");
                b.extend([0u8; 16]);
                b
            },
            "tensor abcd needs",
        ),
    ];
    for (name, bytes, why) in cases {
        let p = dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        let (code, err) = run_with_model(&p);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert!(err.contains("not a usable Whisper model"), "{name}: {err}");
        assert!(err.contains(why), "{name}: {err}");
        assert!(err.contains("hint: "), "{name}: {err}");
        assert!(!err.contains("backtrace"), "{name}: {err}");
    }
    // a folder given as --model says so
    let (code, err) = run_with_model(dir.path());
    assert_eq!(code, Some(2));
    assert!(err.contains("is a folder, not a model file"), "{err}");
}

#[test]
#[ignore = "needs the Whisper model: run with `make test`"]
fn model_the_start_of_a_real_model_is_refused_not_aborted() {
    let dir = tempfile::tempdir().unwrap();
    let real = fs::read(model_path()).unwrap();
    for len in [1_000, real.len() / 2, real.len() - 1] {
        let p = dir.path().join(format!("cut-{len}.bin"));
        fs::write(&p, &real[..len]).unwrap();
        let (code, err) = run_with_model(&p);
        assert_eq!(code, Some(2), "{len} bytes: {err}");
        assert!(err.contains("not a usable Whisper model"), "{err}");
    }
}

#[test]
#[ignore = "needs the Whisper model: run with `make test`"]
fn model_fifos_and_devices_become_error_rows_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls");
    fs::create_dir(&calls).unwrap();
    fs::copy(root().join("samples/call_004.wav"), calls.join("real.wav")).unwrap();
    let fifo = calls.join("stuck.wav");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", calls.join("zero.wav")).unwrap();
    // a name that would retitle the operator's terminal and colour it red if printed raw
    fs::write(
        calls.join("esc\u{1b}]0;pwned\u{7}\u{1b}[31m.wav"),
        b"not audio",
    )
    .unwrap();
    let out = dir.path().join("out");
    let model = model_path();
    let child = callsift(&[
        "run",
        calls.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let o = wait_or_fail(child, Duration::from_secs(300), "a run with a FIFO input");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        !text(&o).contains('\u{1b}'),
        "escape sequences printed: {:?}",
        text(&o)
    );
    let table = rows(&out, &["source_path", "status", "error"]);
    assert_eq!(table.len(), 4, "{table:?}");
    let by_file = |f: &str| {
        table
            .values()
            .flatten()
            .find(|r| r[0].as_deref().is_some_and(|p| p.ends_with(f)))
            .unwrap_or_else(|| panic!("no row for {f}: {table:?}"))
            .clone()
    };
    assert_eq!(by_file("real.wav")[1].as_deref(), Some("ok"));
    let stuck = by_file("stuck.wav");
    assert_eq!(stuck[1].as_deref(), Some("error"));
    assert!(stuck[2].as_deref().unwrap().contains("FIFO"), "{stuck:?}");
    let zero = by_file("zero.wav");
    assert!(
        zero[2].as_deref().unwrap().contains("character device"),
        "{zero:?}"
    );
    let manifests = fs::read_dir(out.join("_callsift/runs")).unwrap();
    for m in manifests.flatten() {
        let v = fs::read_to_string(m.path()).unwrap();
        assert!(v.contains("\"status\": \"complete\""), "{v}");
    }
}

#[test]
#[ignore = "needs the Whisper model: run with `make test`"]
fn model_two_runs_at_once_hold_every_call_once() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = four_calls(dir.path());
    let out = dir.path().join("out");
    let model = model_path();
    let spawn = || {
        callsift(&run_args(&manifest, &out, &model))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        wait_or_fail(a, Duration::from_secs(600), "first run"),
        wait_or_fail(b, Duration::from_secs(600), "second run"),
    );
    assert!(a.status.success(), "{}", text(&a));
    assert!(b.status.success(), "{}", text(&b));
    let table = rows(&out, &["status"]);
    assert_eq!(table.len(), 4, "{table:?}");
    for (id, r) in &table {
        assert_eq!(r.len(), 1, "{id} is held {} times", r.len());
        assert_eq!(r[0][0].as_deref(), Some("ok"), "{id}");
    }
    // a rerun finds everything done, and --force still leaves one row each
    let again = callsift(&run_args(&manifest, &out, &model))
        .output()
        .unwrap();
    assert!(
        text(&again).contains("processed 0 recordings"),
        "{}",
        text(&again)
    );
    let mut force = run_args(&manifest, &out, &model);
    force.push("--force");
    let forced = callsift(&force).output().unwrap();
    assert!(forced.status.success(), "{}", text(&forced));
    assert!(rows(&out, &["status"]).values().all(|r| r.len() == 1));
}

#[test]
#[ignore = "needs the Whisper model: run with `make test`"]
fn model_duplicates_from_an_older_dataset_are_repaired_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = four_calls(dir.path());
    let model = model_path();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for out in [&a, &b] {
        let o = callsift(&run_args(&manifest, out, &model))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    // what two uncoordinated runs left: every call's rows twice, in parts of two runs
    for table in ["interactions", "segments", "events"] {
        let Ok(parts) = fs::read_dir(b.join(table)) else {
            continue;
        };
        for p in parts.flatten() {
            let to = a.join(table).join(p.file_name());
            fs::create_dir_all(&to).unwrap();
            for f in fs::read_dir(p.path()).unwrap().flatten() {
                fs::copy(f.path(), to.join(f.file_name())).unwrap();
            }
        }
    }
    assert!(rows(&a, &["status"]).values().all(|r| r.len() == 2));
    let o = callsift(&run_args(&manifest, &a, &model)).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("4 recordings held twice in the dataset were redone"),
        "{}",
        text(&o)
    );
    let table = rows(&a, &["status"]);
    assert_eq!(table.len(), 4);
    assert!(table.values().all(|r| r.len() == 1), "{table:?}");
    let (h, segs) = callsift::store::read::read_text_rows(&a.join("segments")).unwrap();
    let (hb, segs_b) = callsift::store::read::read_text_rows(&b.join("segments")).unwrap();
    assert_eq!(h, hb);
    assert_eq!(segs.len(), segs_b.len(), "segments are held once again");
}

#[test]
#[ignore = "needs the Whisper model: run with `make test`"]
fn model_a_file_that_outlasts_the_watchdog_is_an_error_row() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = four_calls(dir.path());
    let out = dir.path().join("out");
    let model = model_path();
    let mut args = run_args(&manifest, &out, &model);
    args.extend(["--watchdog-base", "0", "--watchdog-factor", "0.0001"]);
    let child = callsift(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let o = wait_or_fail(
        child,
        Duration::from_secs(300),
        "a run under a tight watchdog",
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let table = rows(&out, &["status", "error"]);
    assert_eq!(table.len(), 4);
    for r in table.values().flatten() {
        assert_eq!(r[0].as_deref(), Some("error"));
        assert!(r[1].as_deref().unwrap().contains("watchdog"), "{r:?}");
    }
    // the same calls under the default watchdog are fine
    let o = callsift(&run_args(&manifest, &out, &model))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        rows(&out, &["status"])
            .values()
            .flatten()
            .all(|r| r[0].as_deref() == Some("ok"))
    );
}

#[test]
fn a_file_where_the_dataset_needs_a_folder_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("interactions"), b"a file").unwrap();
    let ds =
        callsift::store::dataset::Dataset::open(&out, callsift::store::dataset::RunKey::new(0, 1));
    let e = ds
        .err()
        .expect("a file named interactions is refused")
        .to_string();
    assert!(e.contains("interactions is not a folder"), "{e}");
    assert!(e.contains("hint: "), "{e}");
}

#[test]
#[ignore = "needs the Whisper model: run with `make test`"]
fn model_a_run_started_from_another_folder_finds_the_model() {
    model_path();
    let dir = tempfile::tempdir().unwrap();
    let call = dir.path().join("a.wav");
    fs::copy(root().join("samples/call_004.wav"), &call).unwrap();
    let o = callsift(&["run", "a.wav", "--out", "out"])
        .current_dir(dir.path())
        .env_remove("CALLSIFT_MODELS_DIR")
        .env_remove("CALLSIFT_MODELS")
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(rows(&dir.path().join("out"), &["status"]).len(), 1);
    let o = callsift(&["models", "list"])
        .current_dir(dir.path())
        .env_remove("CALLSIFT_MODELS_DIR")
        .env_remove("CALLSIFT_MODELS")
        .env("XDG_DATA_HOME", dir.path())
        .output()
        .unwrap();
    let listing = text(&o);
    let beside = root().join("models/ggml-tiny.en.bin");
    assert!(
        listing.contains(&format!("({})", beside.display())),
        "{listing}"
    );
}
