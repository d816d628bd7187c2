//! Input: turns the command line's files, folders and manifest into the ordered list of calls
//! to process, each with its interaction id and manifest metadata. Reads directories and the
//! manifest CSV; never opens audio.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// File extensions picked up when walking a folder. Files named explicitly are always taken.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "mp3", "flac", "ogg", "oga", "opus", "m4a", "mp4", "aac", "aif", "aiff", "caf",
    "mkv", "mka", "webm", "weba",
];

/// Columns of the manifest that callsift interprets; any other column is passed through.
pub const MANIFEST_COLUMNS: &[&str] = &[
    "call_id",
    "path",
    "agent_id",
    "customer_id",
    "started_at",
    "queue",
    // the contact channel (voice, chat, …); `channel` is its older name, still accepted
    "contact_channel",
    "channel",
];

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("input {path} does not exist")]
    Missing { path: PathBuf },
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Manifest {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error(
        "no recordings found in the given inputs\nhint: pass audio files or folders holding .wav/.mp3/.flac/.ogg/.m4a files, or --manifest calls.csv"
    )]
    NothingToDo,
}

/// Largest recording callsift reads (bytes): about 12 hours of 48 kHz stereo 16-bit PCM. A
/// bigger file is almost certainly not one call, and reading it would only exhaust memory.
pub const MAX_RECORDING_BYTES: u64 = 8 << 30;

/// Why a recording cannot be read, found from its metadata alone (it is never opened).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is {kind}, not a regular file\nhint: callsift reads recordings from regular files only (a FIFO or device would block or never end); copy the recording into a file"
    )]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error(
        "{path} is {bytes} bytes, more than the {limit} bytes callsift reads for one recording\nhint: split the recording into calls, or check that the path names a recording"
    )]
    TooLarge {
        path: PathBuf,
        bytes: u64,
        limit: u64,
    },
}

/// What kind of file system object `ft` is, in words.
fn kind_of(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a folder"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// The size of the recording at `path` when it is a regular file (following symbolic links)
/// of a sane size; never opens it, so a FIFO or device cannot block or stream without end.
pub fn regular_file_len(path: &Path) -> Result<u64, SourceError> {
    let meta = std::fs::metadata(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.file_type().is_file() {
        return Err(SourceError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(meta.file_type()),
        });
    }
    if meta.len() > MAX_RECORDING_BYTES {
        return Err(SourceError::TooLarge {
            path: path.to_path_buf(),
            bytes: meta.len(),
            limit: MAX_RECORDING_BYTES,
        });
    }
    Ok(meta.len())
}

/// SHA-256 of a recording's bytes (hex), read only when it is a regular file of a sane size
/// and only up to the length it had when looked at (a file still growing is not chased).
pub fn content_sha256(path: &Path) -> Result<String, SourceError> {
    use std::io::Read;
    let len = regular_file_len(path)?;
    let io = |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?.take(len);
    crate::fsutil::sha256_reader(f).map_err(io)
}

/// `path` absolute, its folder canonical (links and `..` resolved) and its own name kept (a
/// link to a recording stays the link, so the row names the file the user gave), so that the
/// dataset finds it again from any folder; absolute as it is when its folder cannot be
/// resolved.
pub fn absolute(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => dir.canonicalize().map_or(abs.clone(), |d| d.join(name)),
        _ => abs,
    }
}

/// One call to process.
#[derive(Debug, Clone, PartialEq)]
pub struct CallInput {
    pub interaction_id: String,
    /// Absolute, in a canonical folder ([`absolute`]): stored as the row's `source_path`.
    pub path: PathBuf,
    pub agent_id: Option<String>,
    pub customer_id: Option<String>,
    pub started_at: Option<i64>,
    pub queue: Option<String>,
    /// The contact channel (voice, chat, …), from the manifest's `contact_channel` (or
    /// `channel`) column.
    pub contact_channel: Option<String>,
    pub extra: Vec<Option<String>>,
}

/// All calls of a run, plus the names of the manifest's pass-through columns.
#[derive(Debug, Clone, Default)]
pub struct InputSet {
    pub calls: Vec<CallInput>,
    pub extra_columns: Vec<String>,
}

/// Stable id for a call without a manifest id: file stem plus 8 hex digits of the SHA-256 of
/// its canonical path, so the same file gets the same id from any working directory. The hash
/// is over the path's raw bytes: two names that differ only in bytes that are not UTF-8 (shown
/// alike as U+FFFD) get different ids.
pub fn derived_id(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let canon = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let digest = Sha256::digest(canon.as_os_str().as_bytes());
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "call".into());
    format!("{stem}-{}", &hex::encode(digest)[..8])
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InputError> {
    walk_once(dir, out, &mut HashSet::new())
}

/// [`walk`], entering each folder once however symbolic links loop back to it.
fn walk_once(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    seen: &mut HashSet<PathBuf>,
) -> Result<(), InputError> {
    if !seen.insert(dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())) {
        return Ok(());
    }
    let rd = std::fs::read_dir(dir).map_err(|source| InputError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in rd {
        let entry = entry.map_err(|source| InputError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk_once(&path, out, seen)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Files and folders (recursive) from the command line, sorted, without duplicates.
pub fn from_paths(inputs: &[PathBuf]) -> Result<InputSet, InputError> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found)?;
            found.sort();
            files.extend(found);
        } else if input.exists() {
            files.push(input.clone());
        } else {
            return Err(InputError::Missing {
                path: input.clone(),
            });
        }
    }
    let mut seen = HashSet::new();
    let calls = files
        .into_iter()
        .filter(|p| seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())))
        .map(|path| CallInput {
            interaction_id: derived_id(&path),
            path: absolute(&path),
            agent_id: None,
            customer_id: None,
            started_at: None,
            queue: None,
            contact_channel: None,
            extra: Vec::new(),
        })
        .collect();
    Ok(InputSet {
        calls,
        extra_columns: Vec::new(),
    })
}

/// Parse a timestamp: RFC 3339 (`2026-11-20T09:14:03Z`, with offset), or a naive
/// `YYYY-MM-DD HH:MM:SS` / `YYYY-MM-DDTHH:MM:SS` taken as UTC, or a bare date.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// Read a manifest CSV. `path` values are relative to the manifest's folder (and made
/// [`absolute`]).
pub fn from_manifest(manifest: &Path) -> Result<InputSet, InputError> {
    let err = |line: u64, reason: String| InputError::Manifest {
        path: manifest.to_path_buf(),
        line,
        reason,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_path(manifest)
        .map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(source) => InputError::Io {
                path: manifest.to_path_buf(),
                source,
            },
            other => err(1, format!("{other:?}")),
        })?;
    let headers = rdr.headers().map_err(|e| err(1, e.to_string()))?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(id_col), Some(path_col)) = (col("call_id"), col("path")) else {
        return Err(err(
            1,
            format!(
                "header must have columns call_id and path (found: {})\nhint: the first line names the columns, e.g. call_id,path,agent_id,customer_id,started_at,queue,channel",
                headers.iter().collect::<Vec<_>>().join(",")
            ),
        ));
    };
    let extra_idx: Vec<usize> = (0..headers.len())
        .filter(|&i| !MANIFEST_COLUMNS.contains(&&headers[i]))
        .collect();
    let extra_columns = extra_idx.iter().map(|&i| headers[i].to_string()).collect();
    let base = manifest.parent().unwrap_or(Path::new("."));
    let mut calls = Vec::new();
    let mut ids = HashSet::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            err(line, e.to_string())
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        let get = |i: Option<usize>| {
            i.and_then(|i| rec.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let id = get(Some(id_col)).ok_or_else(|| err(line, "call_id is empty".into()))?;
        if !ids.insert(id.clone()) {
            return Err(err(line, format!("call_id {id:?} appears more than once")));
        }
        let rel =
            get(Some(path_col)).ok_or_else(|| err(line, format!("path is empty for call {id}")))?;
        let started_at = match get(col("started_at")) {
            None => None,
            Some(v) => Some(parse_timestamp(&v).ok_or_else(|| {
                err(
                    line,
                    format!("started_at {v:?} is not a timestamp\nhint: use RFC 3339 such as 2026-11-20T09:14:03Z, or YYYY-MM-DD HH:MM:SS (UTC)"),
                )
            })?),
        };
        calls.push(CallInput {
            interaction_id: id,
            path: absolute(&base.join(rel)),
            agent_id: get(col("agent_id")),
            customer_id: get(col("customer_id")),
            started_at,
            queue: get(col("queue")),
            contact_channel: get(col("contact_channel")).or_else(|| get(col("channel"))),
            extra: extra_idx.iter().map(|&i| get(Some(i))).collect(),
        });
    }
    Ok(InputSet {
        calls,
        extra_columns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_common_forms() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_timestamp("1970-01-01T01:00:01+01:00"), Some(1000));
        assert_eq!(parse_timestamp("1970-01-01 00:00:02"), Some(2000));
        assert_eq!(parse_timestamp("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn manifest_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("calls.csv");
        std::fs::write(
            &m,
            "call_id,path,started_at\nA,a.wav,2026-01-01\nB,b.wav,soon\n",
        )
        .unwrap();
        let e = from_manifest(&m).unwrap_err().to_string();
        assert!(e.contains("calls.csv:3:"), "{e}");
        assert!(e.contains("\"soon\""), "{e}");
        std::fs::write(&m, "call_id,path\nA,a.wav\nA,b.wav\n").unwrap();
        let e = from_manifest(&m).unwrap_err().to_string();
        assert!(e.contains(":3:") && e.contains("more than once"), "{e}");
        std::fs::write(&m, "id,file\nA,a.wav\n").unwrap();
        assert!(from_manifest(&m).unwrap_err().to_string().contains(":1:"));
    }

    #[test]
    fn manifest_paths_are_relative_to_it_and_extras_pass_through() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("calls.csv");
        std::fs::write(
            &m,
            "call_id,path,queue,region\nA,sub/a.wav,billing,north\nB,b.wav,,\n",
        )
        .unwrap();
        let set = from_manifest(&m).unwrap();
        assert_eq!(set.extra_columns, vec!["region"]);
        assert_eq!(set.calls[0].path, dir.path().join("sub/a.wav"));
        assert_eq!(set.calls[0].queue.as_deref(), Some("billing"));
        assert_eq!(set.calls[0].extra, vec![Some("north".to_string())]);
        assert_eq!(set.calls[1].extra, vec![None]);
    }

    #[test]
    fn the_contact_channel_is_read_under_its_new_and_its_old_name() {
        let dir = tempfile::tempdir().unwrap();
        for (header, extra) in [("contact_channel", 0), ("channel", 0)] {
            let m = dir.path().join("calls.csv");
            std::fs::write(&m, format!("call_id,path,{header}\nA,a.wav,chat\n")).unwrap();
            let set = from_manifest(&m).unwrap();
            assert_eq!(set.calls[0].contact_channel.as_deref(), Some("chat"));
            assert_eq!(
                set.extra_columns.len(),
                extra,
                "{header} is not passed through"
            );
        }
    }

    #[test]
    fn names_differing_only_in_bytes_that_are_not_utf8_get_their_own_ids() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let a = dir
            .path()
            .join(std::ffi::OsStr::from_bytes(b"call\xff.wav"));
        let b = dir
            .path()
            .join(std::ffi::OsStr::from_bytes(b"call\xfe.wav"));
        std::fs::write(&a, b"x").unwrap();
        std::fs::write(&b, b"y").unwrap();
        assert_ne!(derived_id(&a), derived_id(&b));
        assert_eq!(derived_id(&a), derived_id(&a), "stable");
        let set = from_paths(&[dir.path().to_path_buf()]).unwrap();
        let ids: HashSet<_> = set.calls.iter().map(|c| &c.interaction_id).collect();
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero.wav");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let e = content_sha256(&link).unwrap_err().to_string();
        assert!(e.contains("a character device, not a regular file"), "{e}");
        assert!(e.contains("hint: "), "{e}");
        let e = regular_file_len(dir.path()).unwrap_err().to_string();
        assert!(e.contains("a folder"), "{e}");
        let f = dir.path().join("a.wav");
        std::fs::write(&f, b"abc").unwrap();
        assert_eq!(regular_file_len(&f).unwrap(), 3);
        assert_eq!(
            content_sha256(&f).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn recordings_are_stored_by_their_absolute_path_in_a_canonical_folder() {
        let dir = tempfile::tempdir().unwrap();
        let canon = dir.path().canonicalize().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a.wav"), b"x").unwrap();
        let set = from_paths(&[dir.path().join("sub/../a.wav")]).unwrap();
        assert_eq!(set.calls[0].path, canon.join("a.wav"));
        let m = dir.path().join("sub/calls.csv");
        std::fs::write(&m, "call_id,path\nA,../a.wav\nB,missing.wav\n").unwrap();
        let set = from_manifest(&m).unwrap();
        assert_eq!(set.calls[0].path, canon.join("a.wav"));
        // a missing file (an error row) is stored absolute all the same
        assert_eq!(set.calls[1].path, canon.join("sub/missing.wav"));
        assert!(absolute(Path::new("x.wav")).is_absolute());
        // a link keeps its own name (its folder is resolved)
        std::os::unix::fs::symlink(dir.path().join("a.wav"), dir.path().join("sub/l.wav")).unwrap();
        let set = from_paths(&[dir.path().join("sub/l.wav")]).unwrap();
        assert_eq!(set.calls[0].path, canon.join("sub/l.wav"));
    }

    #[test]
    fn a_folder_linked_into_itself_is_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.wav"), b"x").unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
        let set = from_paths(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(set.calls.len(), 1);
    }

    #[test]
    fn folders_are_walked_for_audio_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("nested")).unwrap();
        for f in ["a.wav", "nested/b.MP3", "notes.txt", ".hidden.wav"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        let set = from_paths(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = set
            .calls
            .iter()
            .map(|c| c.path.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, vec!["a.wav", "b.MP3"]);
        let id = &set.calls[0].interaction_id;
        assert!(id.starts_with("a-") && id.len() == 10, "{id}");
        assert_eq!(*id, derived_id(&dir.path().join("a.wav")));
    }
}
