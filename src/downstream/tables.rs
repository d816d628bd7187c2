//! The tables people give the downstream commands (surveys, self-scores, manifests), as CSV or
//! Parquet: one reader for both, and the self-scores reader that `score` and `scorecard` share.

use std::collections::HashMap;
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
