//! Store: the only module that knows Arrow and Parquet. Every table is declared once
//! ([`table::Table`]: name, type, nullability, getter) and written generically. `run` writes a
//! dataset ([`dataset`]: hive-partitioned `interactions/`, `segments/`, `events/` that grow
//! run by run, in small committed batches through the [`sink`]); the later commands read it
//! through the typed read model ([`read`]), which checks the schema version, and write their
//! own single-file tables with [`write_table`]. `callsift review` appends the reviewers' verdicts
//! to the dataset's [`reviews`] table, one file per save.

pub mod dataset;
pub mod read;
pub mod recordings;
pub mod reviews;
pub mod run_tables;
pub mod sink;
pub mod table;

use std::path::{Path, PathBuf};

use parquet::file::metadata::KeyValue;

use table::Table;

/// Version of the column layout; bumped on any incompatible change (see docs/schema.md).
pub const SCHEMA_VERSION: &str = "6";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write Parquet file {path}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("cannot build a record batch for {path}")]
    Arrow {
        path: PathBuf,
        #[source]
        source: arrow::error::ArrowError,
    },
    #[error(
        "cannot read Parquet file {path}: {detail}\nhint: point --features at the --out directory of a `callsift run`"
    )]
    Read { path: PathBuf, detail: String },
    #[error(
        "manifest column {0:?} clashes with a built-in column\nhint: rename the column in the manifest"
    )]
    ColumnClash(String),
    #[error(
        "{path} was written by a newer callsift (schema version {found}); this one reads versions up to {ours}\nhint: run the callsift that wrote the dataset, or upgrade this one",
        ours = SCHEMA_VERSION
    )]
    NewerSchema { path: PathBuf, found: String },
    #[error(
        "{path} is not a folder, but the dataset needs one there\nhint: --out must name a callsift dataset folder (or a new one); move the file away"
    )]
    NotAFolder { path: PathBuf },
}

/// The key-value metadata every file callsift writes carries: the program's and the schema's
/// versions.
pub fn version_metadata() -> Vec<(String, String)> {
    vec![
        (
            "callsift.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        (
            "callsift.schema_version".to_string(),
            SCHEMA_VERSION.to_string(),
        ),
    ]
}

/// Write `rows` as the single-file table `path` (complete or absent: see
/// [`crate::fsutil::write_atomic_with`]).
pub fn write_table<R>(path: &Path, table: &Table<R>, rows: &[R]) -> Result<PathBuf, StoreError> {
    let batch = table.batch(rows).map_err(|source| StoreError::Arrow {
        path: path.to_path_buf(),
        source,
    })?;
    let meta = version_metadata()
        .into_iter()
        .map(|(k, v)| KeyValue::new(k, v))
        .collect();
    dataset::write_parquet(path, table.schema(), Some(meta), &[batch])?;
    Ok(path.to_path_buf())
}
