//! The tables people give the downstream commands (surveys, self-scores, manifests), as CSV or
//! Parquet: one reader for both, and the self-scores reader that `score` and `scorecard` share.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::store::StoreError;
use crate::store::read::TextRows;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error(
        "{path}: no such file\nhint: pass a CSV file (separated by commas, semicolons or tabs) or a .parquet file"
    )]
    Missing { path: PathBuf },
    #[error(
        "{path}: a folder, not a file\nhint: pass a CSV file (separated by commas, semicolons or tabs) or a .parquet file; folders are given to --features, --scores, --qa and --cards"
    )]
    Folder { path: PathBuf },
    #[error(
        "{path}:{line}: {detail}\nhint: save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 FILE > NEW.csv, or \"CSV UTF-8\" in a spreadsheet's save dialog)"
    )]
    Encoding {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    #[error("{path}:{line}: {detail}")]
    Line {
        path: PathBuf,
        line: usize,
        detail: String,
    },
}

/// A table people gave a command, as read: its rows of text with the line each starts on, the
/// separator it was read with, and the rows that could not be used.
#[derive(Debug, Clone, Default)]
pub struct InputTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// The line of the file each row starts on (the header is line 1); for Parquet, the row
    /// number + 1.
    pub lines: Vec<usize>,
    /// The separator of a CSV file that is not comma-separated (`;` or tab), detected from its
    /// header line; `None` for commas and Parquet.
    pub separator: Option<char>,
    /// Rows left out: more fields than the header names, or unreadable.
    pub bad_rows: Vec<InputIssue>,
}

/// A problem with one row of an input file: the rows written to `input_issues.csv`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InputIssue {
    pub file: String,
    /// The line of the file (the header is line 1).
    pub line: usize,
    pub kind: String,
    /// The offending value(s) as written in the file.
    pub value: String,
    pub message: String,
}

/// The name of the file listing every bad row of the input files, beside a command's outputs.
pub const ISSUES_FILE: &str = "input_issues.csv";

/// Write `issues` (all of them, sorted by file and line) to `dir/input_issues.csv`, a header
/// alone when there are none; texts neutralised for spreadsheets.
pub fn write_issues(dir: &Path, issues: &[InputIssue]) -> std::io::Result<PathBuf> {
    let mut rows: Vec<InputIssue> = issues
        .iter()
        .map(|i| InputIssue {
            file: super::spreadsheet_text(&i.file),
            kind: i.kind.clone(),
            value: super::spreadsheet_text(&i.value),
            message: super::spreadsheet_text(&i.message),
            line: i.line,
        })
        .collect();
    rows.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    let path = dir.join(ISSUES_FILE);
    if rows.is_empty() {
        crate::fsutil::write_atomic(&path, b"file,line,kind,value,message\n")?;
    } else {
        super::write_csv(&path, &rows)?;
    }
    Ok(path)
}

/// The separator a CSV file's header line uses: the most frequent of `,`, `;` and tab outside
/// quotes (a comma on a tie or when there is none).
fn detect_separator(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let (mut quoted, mut count) = (false, [0usize; 3]);
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => count[0] += 1,
            ';' if !quoted => count[1] += 1,
            '\t' if !quoted => count[2] += 1,
            _ => {}
        }
    }
    let best = (0..3)
        .max_by_key(|&i| (count[i], std::cmp::Reverse(i)))
        .unwrap_or(0);
    if count[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

/// The text of a CSV file: UTF-8, a byte-order mark dropped; any other encoding is an error
/// naming the line of its first byte that is not UTF-8.
fn utf8_text(path: &Path, bytes: &[u8]) -> Result<String, TableError> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(TableError::Encoding {
            path: path.into(),
            line: 1,
            detail: "UTF-16 text (it starts with a UTF-16 byte-order mark)".into(),
        });
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(t) => Ok(t.to_string()),
        Err(e) => {
            let at = e.valid_up_to();
            let line = 1 + bytes[..at].iter().filter(|b| **b == b'\n').count();
            Err(TableError::Encoding {
                path: path.into(),
                line,
                detail: format!(
                    "byte 0x{:02X} is not UTF-8; the file looks like Latin-1 or Windows-1252",
                    bytes[at]
                ),
            })
        }
    }
}

/// Read a CSV file, or a Parquet file when the name ends in `.parquet` — the one reader of the
/// tables people give the commands. A CSV file may be separated by commas, semicolons or tabs
/// (detected from its header line) and start with a UTF-8 byte-order mark; it must be UTF-8.
/// A row with more fields than the header names is left out and listed in `bad_rows` (extra
/// fields that are all empty, e.g. a trailing separator, are dropped instead); a row with
/// fewer fields reads the missing ones as empty.
pub fn read(path: &Path) -> Result<InputTable, TableError> {
    if !path.exists() {
        return Err(TableError::Missing { path: path.into() });
    }
    if path.is_dir() {
        return Err(TableError::Folder { path: path.into() });
    }
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if is_parquet {
        let (header, rows) = crate::store::read::read_text_rows(path)?;
        let lines = (0..rows.len()).map(|i| i + 2).collect();
        return Ok(InputTable {
            header,
            rows,
            lines,
            ..Default::default()
        });
    }
    let read_err = |detail: String| TableError::Read {
        path: path.into(),
        detail,
    };
    let bytes = std::fs::read(path).map_err(|e| read_err(e.to_string()))?;
    let text = utf8_text(path, &bytes)?;
    let sep = detect_separator(&text);
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(sep)
        .from_reader(text.as_bytes());
    let header: Vec<String> = rd
        .headers()
        .map_err(|e| read_err(e.to_string()))?
        .iter()
        .map(String::from)
        .collect();
    let file = path.display().to_string();
    let mut t = InputTable {
        separator: (sep != b',').then_some(sep as char),
        ..Default::default()
    };
    for rec in rd.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                t.bad_rows.push(InputIssue {
                    file: file.clone(),
                    line,
                    kind: "unreadable row".into(),
                    value: String::new(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let extra: Vec<&str> = rec.iter().skip(header.len()).collect();
        if extra.iter().any(|v| !v.trim().is_empty()) {
            t.bad_rows.push(InputIssue {
                file: file.clone(),
                line,
                kind: "extra fields".into(),
                value: extra.join(&(sep as char).to_string()),
                message: format!(
                    "{} fields, but the header names {}: the row is left out",
                    rec.len(),
                    header.len()
                ),
            });
            continue;
        }
        let mut row: Vec<Option<String>> = rec
            .iter()
            .take(header.len())
            .map(|v| (!v.is_empty()).then(|| v.to_string()))
            .collect();
        row.resize(header.len(), None);
        t.rows.push(row);
        t.lines.push(line);
    }
    t.header = header;
    Ok(t)
}

/// Rows of a CSV file, or of a Parquet file when the name ends in `.parquet` (see [`read`]),
/// for inputs that must be whole: a row that cannot be used is an error naming its line.
pub fn rows_of(path: &Path) -> Result<TextRows, TableError> {
    let t = read_whole(path)?;
    Ok((t.header, t.rows))
}

/// [`read`] for inputs that must be whole: the first unusable row is an error naming its line.
fn read_whole(path: &Path) -> Result<InputTable, TableError> {
    let t = read(path)?;
    if let Some(bad) = t.bad_rows.first() {
        return Err(TableError::Line {
            path: path.into(),
            line: bad.line,
            detail: format!("{}: {}", bad.kind, bad.message),
        });
    }
    Ok(t)
}

/// The interaction ids a list names (its `interaction_id` or `call_id` column, or else its first
/// column), trimmed, blanks skipped: e.g. the calls already reviewed that `sample` leaves out.
pub fn interaction_ids(path: &Path) -> Result<HashSet<String>, TableError> {
    let (header, rows) = rows_of(path)?;
    let col = header
        .iter()
        .position(|h| matches!(h.trim(), "interaction_id" | "call_id"))
        .unwrap_or(0);
    Ok(rows
        .iter()
        .filter_map(|r| r.get(col).cloned().flatten())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

/// Agents' self-assessment (`interaction_id` or `call_id`, `agent_self_score`) by row of the
/// read model (`ids`: interaction id → row). Rows of unknown calls are skipped; values that are
/// not a number from 1 to 5 are one error naming every such line.
pub fn self_scores(
    path: &Path,
    ids: &HashMap<String, usize>,
) -> Result<HashMap<usize, f64>, TableError> {
    let t = read_whole(path)?;
    let header = &t.header;
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let (Some(ic), Some(sc)) = (
        col("interaction_id").or(col("call_id")),
        col("agent_self_score"),
    ) else {
        return Err(TableError::Read {
            path: path.into(),
            detail: "needs columns interaction_id and agent_self_score\nhint: the first line names the columns, e.g. interaction_id,agent_self_score".into(),
        });
    };
    let (mut m, mut bad) = (HashMap::new(), Vec::new());
    for (r, &line) in t.rows.iter().zip(&t.lines) {
        let id = r.get(ic).cloned().flatten().unwrap_or_default();
        let Some(&i) = ids.get(id.trim()) else {
            continue;
        };
        let v = r.get(sc).cloned().flatten().unwrap_or_default();
        match v.trim().parse::<f64>() {
            Ok(x) if (1.0..=5.0).contains(&x) => {
                m.insert(i, x);
            }
            _ => bad.push((line, v)),
        }
    }
    if let Some(&(line, _)) = bad.first() {
        let all: Vec<String> = bad
            .iter()
            .map(|(l, v)| format!("line {l}: {v:?}"))
            .collect();
        return Err(TableError::Line {
            path: path.into(),
            line,
            detail: format!(
                "agent_self_score is not a number from 1 to 5 on {} row(s): {}\nhint: give a number from 1 to 5, or leave the row out",
                bad.len(),
                all.join(", ")
            ),
        });
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_self_score_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("self.csv");
        let ids: HashMap<String, usize> = [("C-1", 0), ("C-2", 1), ("C-3", 2)]
            .map(|(k, v)| (k.to_string(), v))
            .into();
        std::fs::write(&p, "call_id;agent_self_score\nC-1;4\nC-2;x\nZ;9\nC-3;7\n").unwrap();
        let e = self_scores(&p, &ids).unwrap_err().to_string();
        assert!(
            e.contains("self.csv:3: agent_self_score is not a number from 1 to 5 on 2 row(s): line 3: \"x\", line 5: \"7\"\nhint:"),
            "{e}"
        );
        std::fs::write(&p, "call_id,agent_self_score\nC-1,4\nC-2,2,extra\n").unwrap();
        let e = self_scores(&p, &ids).unwrap_err().to_string();
        assert!(e.contains("self.csv:3: extra fields"), "{e}");
        std::fs::write(&p, "\u{feff}call_id,agent_self_score\nC-1,4\n").unwrap();
        assert_eq!(self_scores(&p, &ids).unwrap(), HashMap::from([(0, 4.0)]));
    }

    #[test]
    fn id_lists_are_read_by_their_id_column_or_else_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let named = dir.path().join("reviewed.csv");
        std::fs::write(&named, "reviewer,call_id\nann, C-1 \nbob,\nann,C-2\n").unwrap();
        let ids = interaction_ids(&named).unwrap();
        assert_eq!(ids, HashSet::from(["C-1".into(), "C-2".into()]));
        let bare = dir.path().join("ids.csv");
        std::fs::write(&bare, "id\nC-3\n\"C-4\"\n").unwrap();
        assert_eq!(
            interaction_ids(&bare).unwrap(),
            HashSet::from(["C-3".into(), "C-4".into()])
        );
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, b"call_id\nC-5\n\xff\xfe\n").unwrap();
        let err = interaction_ids(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.csv:3"), "{err}");
    }
}
