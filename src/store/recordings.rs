//! Where a call's recording is now, for the commands that read audio after `run` (`sample`'s
//! clips). The dataset stores each recording's path in `interactions.source_path`: absolute and
//! in a canonical folder since schema version 4, as given (relative to the folder `run` started in) before.
//! Each run's manifest records that folder (`working_dir`). A stored path is resolved so:
//!
//! - with an audio root (`--audio-root DIR`, the folder the recordings were moved to): the
//!   stored path's place under the run's folder, then its tails (`a/b/c.wav`, `b/c.wav`,
//!   `c.wav`) under DIR, longest first; nothing outside DIR;
//! - else an absolute path as it is, and a relative one (an older dataset) under the run's
//!   recorded folder, then under the working folder.
//!
//! The first candidate that exists and, where the dataset holds the recording's SHA-256, has
//! that content is the recording: a file of the same name holding another call is never taken.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::store::dataset::META_DIR;

/// Why a recording was not found: the paths tried, and what was wrong with each.
#[derive(Debug, thiserror::Error)]
#[error(
    "recording {stored} not found: tried{list}\nhint: {hint}",
    list = .tried.iter().map(|(p, why)| format!("\n  {} ({why})", p.display())).collect::<String>()
)]
pub struct NotFound {
    pub stored: String,
    pub tried: Vec<(PathBuf, &'static str)>,
    pub hint: &'static str,
}

const HINT_ROOT: &str = "pass --audio-root DIR, the folder the recordings were moved to (a stored path is looked for under DIR by its place under the folder `run` started in, then by its last components)";
const HINT_WRONG_ROOT: &str = "check --audio-root: it names the folder the recordings were moved to (a stored path is looked for under it by its place under the folder `run` started in, then by its last components)";

/// The recordings of a dataset, located on disk.
#[derive(Debug, Clone, Default)]
pub struct Recordings {
    audio_root: Option<PathBuf>,
    /// The folder each run started in, by run id (from the run manifests).
    run_dirs: HashMap<String, PathBuf>,
    cwd: PathBuf,
}

impl Recordings {
    /// The recordings of the dataset at `features`, looked for under `audio_root` when given.
    pub fn open(features: &Path, audio_root: Option<&Path>) -> Recordings {
        Recordings {
            audio_root: audio_root.map(Path::to_path_buf),
            run_dirs: run_dirs(features),
            cwd: std::env::current_dir().unwrap_or_default(),
        }
    }

    /// The paths where the recording stored as `stored` by run `run_id` may be, in order.
    pub fn candidates(&self, stored: &str, run_id: Option<&str>) -> Vec<PathBuf> {
        let p = Path::new(stored);
        let run_dir = run_id.and_then(|r| self.run_dirs.get(r));
        let mut out = Vec::new();
        match &self.audio_root {
            Some(root) => {
                if let Some(rel) = run_dir.and_then(|d| p.strip_prefix(d).ok()) {
                    out.push(root.join(rel));
                }
                let parts: Vec<&std::ffi::OsStr> = p
                    .components()
                    .filter_map(|c| match c {
                        Component::Normal(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                for k in 0..parts.len() {
                    out.push(parts[k..].iter().fold(root.clone(), |a, s| a.join(s)));
                }
            }
            None if p.is_absolute() => out.push(p.to_path_buf()),
            None => {
                if let Some(d) = run_dir {
                    out.push(d.join(p));
                }
                out.push(self.cwd.join(p));
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|c| seen.insert(c.clone()));
        out
    }

    /// The recording stored as `stored` by run `run_id`, whose content has the SHA-256
    /// `sha256` when the dataset knows it.
    pub fn locate(
        &self,
        stored: &str,
        run_id: Option<&str>,
        sha256: Option<&str>,
    ) -> Result<PathBuf, NotFound> {
        let mut tried = Vec::new();
        for c in self.candidates(stored, run_id) {
            if !c.is_file() {
                tried.push((c, "no such file"));
                continue;
            }
            let same = match sha256 {
                None => true,
                Some(want) => std::fs::File::open(&c)
                    .and_then(crate::fsutil::sha256_reader)
                    .is_ok_and(|got| got == want),
            };
            if same {
                return Ok(c);
            }
            tried.push((c, "another recording: its content differs"));
        }
        Err(NotFound {
            stored: stored.to_string(),
            tried,
            hint: if self.audio_root.is_some() {
                HINT_WRONG_ROOT
            } else {
                HINT_ROOT
            },
        })
    }
}

/// The folder each run of the dataset at `root` started in (`working_dir` of its manifest), by
/// run id; runs of older versions did not record it.
pub fn run_dirs(root: &Path) -> HashMap<String, PathBuf> {
    let Ok(rd) = std::fs::read_dir(root.join(META_DIR).join("runs")) else {
        return HashMap::new();
    };
    rd.flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| {
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(e.path()).ok()?).ok()?;
            Some((
                v.get("run_id")?.as_str()?.to_string(),
                PathBuf::from(v.get("working_dir")?.as_str()?),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recs(root: Option<&str>) -> Recordings {
        Recordings {
            audio_root: root.map(PathBuf::from),
            run_dirs: [("r1".to_string(), PathBuf::from("/data/proj"))].into(),
            cwd: PathBuf::from("/here"),
        }
    }

    #[test]
    fn stored_paths_resolve_against_the_documented_roots() {
        let paths = |r: &Recordings, s: &str, run: Option<&str>| -> Vec<String> {
            r.candidates(s, run)
                .iter()
                .map(|p| p.display().to_string())
                .collect()
        };
        // absolute: as stored
        let r = recs(None);
        assert_eq!(
            paths(&r, "/data/proj/calls/a.wav", Some("r1")),
            ["/data/proj/calls/a.wav"]
        );
        // relative (before schema 4): the run's folder, then the working folder
        assert_eq!(
            paths(&r, "calls/a.wav", Some("r1")),
            ["/data/proj/calls/a.wav", "/here/calls/a.wav"]
        );
        assert_eq!(paths(&r, "calls/a.wav", None), ["/here/calls/a.wav"]);
        // moved: the place under the run's folder, then the tails, longest first
        let r = recs(Some("/mnt/proj"));
        assert_eq!(
            paths(&r, "/data/proj/calls/a.wav", Some("r1")),
            [
                "/mnt/proj/calls/a.wav",
                "/mnt/proj/data/proj/calls/a.wav",
                "/mnt/proj/proj/calls/a.wav",
                "/mnt/proj/a.wav"
            ]
        );
        assert_eq!(
            paths(&r, "calls/a.wav", None),
            ["/mnt/proj/calls/a.wav", "/mnt/proj/a.wav"]
        );
    }

    #[test]
    fn a_file_of_the_same_name_with_another_call_is_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let moved = dir.path().join("moved");
        std::fs::create_dir_all(moved.join("calls")).unwrap();
        std::fs::write(moved.join("calls/a.wav"), b"other call").unwrap();
        std::fs::write(moved.join("a.wav"), b"the call").unwrap();
        let r = Recordings {
            audio_root: Some(moved.clone()),
            ..Default::default()
        };
        let sha = crate::fsutil::sha256_hex(b"the call");
        let found = r.locate("/old/calls/a.wav", None, Some(&sha)).unwrap();
        assert_eq!(found, moved.join("a.wav"));
        let e = r
            .locate("/old/calls/b.wav", None, Some(&sha))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("recording /old/calls/b.wav not found: tried\n"),
            "{e}"
        );
        assert!(e.contains("calls/b.wav (no such file)"), "{e}");
        assert!(e.contains("hint: check --audio-root"), "{e}");
        let e = recs(None)
            .locate("/nowhere/x.wav", None, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\n  /nowhere/x.wav (no such file)\nhint: pass --audio-root DIR"),
            "{e}"
        );
    }
}
