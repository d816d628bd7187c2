//! Paths that survive moving: models found from any working folder (the search order and
//! `models list`). Needs no model.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{callsift, root, text};

/// `callsift ARGS` started in `cwd`, with a user data folder of its own (`tmp/data`) and no
/// models folder in the environment.
fn callsift_in(cwd: &Path, data: &Path, args: &[&str]) -> Output {
    callsift()
        .args(args)
        .current_dir(cwd)
        .env_remove("CALLSIFT_MODELS")
        .env_remove("CALLSIFT_MODELS_DIR")
        .env("XDG_DATA_HOME", data)
        .output()
        .unwrap()
}

/// A folder with the given files (path relative to it → contents).
fn folder(dir: &Path, files: &[(&str, &[u8])]) {
    for (f, bytes) in files {
        let p = dir.join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }
}

#[test]
fn models_list_prints_where_it_looks_in_order_and_what_each_folder_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let (work, data) = (tmp.path().join("work"), tmp.path().join("data"));
    folder(&work, &[("models/ggml-base.bin", b"not a model")]);
    fs::create_dir_all(&data).unwrap();
    let o = callsift_in(&work, &data, &["models", "list"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_callsift"));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("models are looked for in these folders, in order"),
        "{out}"
    );
    let user = data.join("callsift/models");
    let beside = exe.parent().unwrap().join("models");
    let checkout = root().join("models");
    let here = work.join("models");
    assert_eq!(
        lines[1],
        format!("  1. {} (user data folder): no such folder", user.display()),
        "{out}"
    );
    assert!(
        lines[2].starts_with(&format!("  2. {} (beside the binary): ", beside.display())),
        "{out}"
    );
    assert!(
        lines[3].starts_with(&format!(
            "  3. {} (the binary's checkout): ",
            checkout.display()
        )),
        "{out}"
    );
    assert_eq!(
        lines[4],
        format!("  4. {} (working folder): ggml-base.bin", here.display()),
        "{out}"
    );
    assert_eq!(
        lines[5],
        format!("`callsift models fetch` installs into {}", user.display()),
        "{out}"
    );
    let base = lines
        .iter()
        .find(|l| l.starts_with("ggml-base.bin "))
        .unwrap();
    assert!(
        base.ends_with(&format!("({})", here.join("ggml-base.bin").display())),
        "{out}"
    );
    // the environment variable: that folder alone
    let o = callsift()
        .args(["models", "list"])
        .current_dir(&work)
        .env("CALLSIFT_MODELS", tmp.path().join("shared"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains(&format!(
            "\n  1. {} ($CALLSIFT_MODELS): no such folder\n`callsift models fetch` installs into {}\n",
            tmp.path().join("shared").display(),
            tmp.path().join("shared").display()
        )),
        "{out}"
    );
}

#[test]
fn a_missing_model_names_every_folder_searched_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    folder(tmp.path(), &[("a.wav", b"x")]);
    let o = callsift_in(
        tmp.path(),
        &data,
        &["run", "a.wav", "--out", "out", "--model", "base"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_callsift"));
    let want = format!(
        "model base is not installed: no ggml-base.bin in\n  {} (user data folder)\n  {} (beside the binary)\n  {} (the binary's checkout)\n  {} (working folder)\nhint: run `callsift models fetch base`, set CALLSIFT_MODELS to the folder holding ggml-base.bin, or pass its path to --model",
        data.join("callsift/models").display(),
        exe.parent().unwrap().join("models").display(),
        root().join("models").display(),
        tmp.path().join("models").display(),
    );
    assert!(err.contains(&want), "{err}\nwanted:\n{want}");
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn a_model_is_found_from_any_folder_in_the_environments_folder_and_the_data_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (jobs, data) = (tmp.path().join("jobs"), tmp.path().join("data"));
    // a damaged model file is refused by name: proof of which file was found
    folder(
        tmp.path(),
        &[
            ("jobs/a.wav", b"x"),
            ("shared/ggml-tiny.en-q8_0.bin", b"damaged"),
            ("data/callsift/models/ggml-tiny.en-q8_0.bin", b"damaged"),
        ],
    );
    let args = ["run", "a.wav", "--out", "out", "--model", "tiny.en-q8_0"];
    let o = callsift_in(&jobs, &data, &args);
    let err = text(&o);
    let in_data = data.join("callsift/models/ggml-tiny.en-q8_0.bin");
    assert!(
        err.contains(&format!(
            "{} is not a usable Whisper model",
            in_data.display()
        )),
        "{err}"
    );
    let o = callsift()
        .args(args)
        .current_dir(&jobs)
        .env("CALLSIFT_MODELS", tmp.path().join("shared"))
        .output()
        .unwrap();
    let err = text(&o);
    let shared = tmp.path().join("shared/ggml-tiny.en-q8_0.bin");
    assert!(
        err.contains(&format!(
            "{} is not a usable Whisper model",
            shared.display()
        )),
        "{err}"
    );
}
