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
    #[error("{path}:{line}: {detail}")]
    Line {
        path: PathBuf,
        line: usize,
        detail: String,
    },
}

/// Rows of a CSV file, or of a Parquet file when the name ends in `.parquet`.
pub fn rows_of(path: &Path) -> Result<TextRows, TableError> {
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if is_parquet {
        return Ok(crate::store::read::read_text_rows(path)?);
    }
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| TableError::Read {
            path: path.into(),
            detail: e.to_string(),
        })?;
    let header: Vec<String> = rd
        .headers()
        .map_err(|e| TableError::Read {
            path: path.into(),
            detail: e.to_string(),
        })?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|e| TableError::Line {
            path: path.into(),
            line: i + 2,
            detail: e.to_string(),
        })?;
        rows.push(
            rec.iter()
                .map(|v| (!v.is_empty()).then(|| v.to_string()))
                .collect(),
        );
    }
    Ok((header, rows))
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
/// read model (`ids`: interaction id → row). Rows of unknown calls are skipped; a value that is
/// not a number is an error naming its line.
pub fn self_scores(
    path: &Path,
    ids: &HashMap<String, usize>,
) -> Result<HashMap<usize, f64>, TableError> {
    let (header, rows) = rows_of(path)?;
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
    let mut m = HashMap::new();
    for (k, r) in rows.iter().enumerate() {
        let id = r.get(ic).cloned().flatten().unwrap_or_default();
        let Some(&i) = ids.get(id.trim()) else {
            continue;
        };
        let v = r.get(sc).cloned().flatten().unwrap_or_default();
        let v: f64 = v.trim().parse().map_err(|_| TableError::Line {
            path: path.into(),
            line: k + 2,
            detail: format!("agent_self_score {v:?} is not a number\nhint: give a number from 1 to 5, or leave the row out"),
        })?;
        m.insert(i, v);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

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
