//! Reading what callsift wrote: a Parquet file or a dataset table folder, as text rows or as
//! the typed read model of the dataset's calls ([`CallTable`]) that the downstream commands use.
//! The schema version of every file is checked; files of an older version are read with their
//! columns renamed to today's names.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::DataType;

use crate::conversation::Redaction;
use crate::store::{SCHEMA_VERSION, StoreError, dataset};

/// Columns renamed in a schema version: (version, table, old name, new name). A file of an
/// older version is read with its columns renamed (see docs/schema.md, "Versions").
const RENAMES: &[(u32, &str, &str, &str)] = &[
    (2, dataset::INTERACTIONS, "channel", "contact_channel"),
    (2, "scorecard", "channel", "contact_channel"),
];

/// The table a file belongs to: the dataset table folder it is in, else its file stem.
fn table_of(path: &Path) -> String {
    path.ancestors()
        .filter_map(|a| a.file_name()?.to_str())
        .find(|n| dataset::PUBLISH_ORDER.contains(n))
        .map(str::to_string)
        .or_else(|| Some(path.file_stem()?.to_str()?.to_string()))
        .unwrap_or_default()
}

/// The schema version a file was written with (`None`: not written by callsift).
fn schema_version(
    path: &Path,
    kv: Option<&Vec<parquet::file::metadata::KeyValue>>,
) -> Result<Option<u32>, StoreError> {
    let Some(v) = kv
        .into_iter()
        .flatten()
        .find(|k| k.key == "callsift.schema_version")
        .and_then(|k| k.value.clone())
    else {
        return Ok(None);
    };
    let ours: u32 = SCHEMA_VERSION
        .parse()
        .expect("the schema version is a number");
    match v.parse::<u32>() {
        Ok(n) if n <= ours => Ok(Some(n)),
        _ => Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found: v,
        }),
    }
}

/// A batch of a file of schema `version` with its columns under today's names.
fn renamed(path: &Path, batch: RecordBatch, version: u32) -> Result<RecordBatch, StoreError> {
    let table = table_of(path);
    let renames: HashMap<&str, &str> = RENAMES
        .iter()
        .filter(|(v, t, ..)| version < *v && *t == table)
        .map(|(_, _, old, new)| (*old, *new))
        .collect();
    if renames.is_empty() {
        return Ok(batch);
    }
    let fields: Vec<arrow::datatypes::Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| match renames.get(f.name().as_str()) {
            Some(new) => f.as_ref().clone().with_name(*new),
            None => f.as_ref().clone(),
        })
        .collect();
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(fields));
    RecordBatch::try_new(schema, batch.columns().to_vec()).map_err(|e| StoreError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// Every batch of one Parquet file, with the schema version checked and older column names
/// mapped to today's.
fn read_batches(path: &Path) -> Result<Vec<RecordBatch>, StoreError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let bad = |detail: String| StoreError::Read {
        path: path.to_path_buf(),
        detail,
    };
    let f = File::open(path).map_err(|e| bad(e.to_string()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| bad(e.to_string()))?;
    let version = schema_version(
        path,
        builder.metadata().file_metadata().key_value_metadata(),
    )?;
    let reader = builder.build().map_err(|e| bad(e.to_string()))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    match version {
        Some(v) => batches.into_iter().map(|b| renamed(path, b, v)).collect(),
        None => Ok(batches),
    }
}

fn cast(path: &Path, col: &ArrayRef, to: &DataType) -> Result<ArrayRef, StoreError> {
    arrow::compute::cast(col, to).map_err(|e| StoreError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// A header and rows of optional text values.
pub type TextRows = (Vec<String>, Vec<Vec<Option<String>>>);

/// The Parquet files behind `path`: the file itself, or every part of a dataset table folder
/// (`OUT/interactions`, …) in path order.
pub fn table_files(path: &Path) -> Result<Vec<PathBuf>, StoreError> {
    if !path.is_dir() {
        if !path.exists() {
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                detail: "no such file or folder".into(),
            });
        }
        return Ok(vec![path.to_path_buf()]);
    }
    let (Some(root), Some(table)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
    else {
        return Ok(Vec::new());
    };
    dataset::part_files(root, table)
}

/// Every column of a Parquet file, or of all parts of a dataset table folder, as text
/// (timestamps as epoch integers). The header is the union of the parts' columns, in order of
/// appearance; a column a part lacks reads as null.
pub fn read_text_rows(path: &Path) -> Result<TextRows, StoreError> {
    let mut header: Vec<String> = Vec::new();
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    for file in table_files(path)? {
        for b in read_batches(&file)? {
            let names: Vec<String> = b
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let pos: Vec<usize> = names
                .iter()
                .map(|n| match header.iter().position(|h| h == n) {
                    Some(i) => i,
                    None => {
                        header.push(n.clone());
                        header.len() - 1
                    }
                })
                .collect();
            let cols: Vec<ArrayRef> = b
                .columns()
                .iter()
                .map(|c| match c.data_type() {
                    // timestamps become their integer value (ms since the epoch for ours)
                    DataType::Timestamp(..) => {
                        cast(&file, &cast(&file, c, &DataType::Int64)?, &DataType::Utf8)
                    }
                    _ => cast(&file, c, &DataType::Utf8),
                })
                .collect::<Result<_, _>>()?;
            for i in 0..b.num_rows() {
                let mut row = vec![None; header.len()];
                for (c, &p) in cols.iter().zip(&pos) {
                    let s = c.as_string::<i32>();
                    row[p] = s.is_valid(i).then(|| s.value(i).to_string());
                }
                rows.push(row);
            }
        }
    }
    for r in rows.iter_mut() {
        r.resize(header.len(), None);
    }
    Ok((header, rows))
}

/// Continuous features analysed when present in the interactions table.
pub const NUMERIC_FEATURES: &[&str] = &[
    "duration_ms",
    "talk_time_agent_ms",
    "talk_time_customer_ms",
    "non_talk_time_ms",
    "longest_silence_ms",
    "hold_count",
    "hold_time_ms",
    "hold_music_ms",
    "interruptions_agent",
    "interruptions_customer",
    "overtalk_ms",
    "talk_speed_agent_wpm",
    "talk_speed_customer_wpm",
    "agent_response_latency_ms",
    "talk_listen_ratio",
    "customer_name_uses",
    "role_confidence",
    "sentiment_agent",
    "sentiment_customer",
    "sentiment_customer_change",
];

/// The read model of a dataset: its successfully processed calls, column by column — the
/// metadata, every boolean rule flag and every numeric feature that score, scorecard and
/// sample use.
#[derive(Debug, Clone, Default)]
pub struct CallTable {
    pub ids: Vec<String>,
    pub agent_id: Vec<Option<String>>,
    pub customer_id: Vec<Option<String>>,
    /// Milliseconds since the epoch.
    pub started_at: Vec<Option<i64>>,
    pub queue: Vec<Option<String>>,
    pub contact_channel: Vec<Option<String>>,
    /// Boolean features: `beh_*`, `evt_*`, `topic_*` (and derived ones added by the analysis).
    pub flags: Vec<(String, Vec<Option<bool>>)>,
    pub numeric: Vec<(String, Vec<Option<f64>>)>,
}

impl CallTable {
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    /// Row of each interaction id.
    pub fn row_index(&self) -> HashMap<String, usize> {
        self.ids
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, id)| (id, i))
            .collect()
    }
}

/// The successfully processed interactions of the dataset in `dir` (the `--out` folder of
/// `callsift run`) as the typed read model.
pub fn read_calls(dir: &Path) -> Result<CallTable, StoreError> {
    let table = dir.join(dataset::INTERACTIONS);
    let files = table_files(&table)?;
    if files.is_empty() {
        return Err(StoreError::Read {
            path: table,
            detail: "the dataset holds no interactions".into(),
        });
    }
    let mut batches = Vec::new();
    for f in &files {
        batches.extend(read_batches(f)?);
    }
    let path = table;
    let mut t = CallTable::default();
    // the union of the parts' columns (parts of different runs may differ, e.g. in rules)
    let mut flag_names: Vec<String> = Vec::new();
    for b in &batches {
        for f in b.schema().fields() {
            if f.data_type() == &DataType::Boolean
                && ["beh_", "evt_", "topic_"]
                    .iter()
                    .any(|p| f.name().starts_with(p))
                && !flag_names.contains(f.name())
            {
                flag_names.push(f.name().clone());
            }
        }
    }
    let numeric_names: Vec<&str> = NUMERIC_FEATURES
        .iter()
        .copied()
        .filter(|n| {
            batches
                .iter()
                .any(|b| b.schema().field_with_name(n).is_ok())
        })
        .collect();
    t.flags = flag_names.iter().map(|n| (n.clone(), Vec::new())).collect();
    t.numeric = numeric_names
        .iter()
        .map(|n| (n.to_string(), Vec::new()))
        .collect();
    let need = |b: &RecordBatch, name: &str| -> Result<ArrayRef, StoreError> {
        b.column_by_name(name)
            .cloned()
            .ok_or_else(|| StoreError::Read {
                path: path.clone(),
                detail: format!("column {name} is missing"),
            })
    };
    for b in &batches {
        let text = |name: &str| -> Result<Vec<Option<String>>, StoreError> {
            let c = cast(&path, &need(b, name)?, &DataType::Utf8)?;
            let s = c.as_string::<i32>();
            Ok((0..b.num_rows())
                .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
                .collect())
        };
        let status = text("status")?;
        let keep: Vec<usize> = (0..b.num_rows())
            .filter(|&i| status[i].as_deref() == Some("ok"))
            .collect();
        let pick = |v: Vec<Option<String>>| keep.iter().map(|&i| v[i].clone()).collect::<Vec<_>>();
        t.ids.extend(
            pick(text("interaction_id")?)
                .into_iter()
                .map(Option::unwrap_or_default),
        );
        t.agent_id.extend(pick(text("agent_id")?));
        t.customer_id.extend(pick(text("customer_id")?));
        t.queue.extend(pick(text("queue")?));
        t.contact_channel.extend(pick(text("contact_channel")?));
        let started = cast(&path, &need(b, "started_at")?, &DataType::Int64)?;
        let started = started.as_primitive::<arrow::datatypes::Int64Type>();
        t.started_at.extend(
            keep.iter()
                .map(|&i| started.is_valid(i).then(|| started.value(i))),
        );
        for (name, v) in t.flags.iter_mut() {
            let Some(c) = b.column_by_name(name) else {
                v.extend(keep.iter().map(|_| None));
                continue;
            };
            let c = c.as_boolean();
            v.extend(keep.iter().map(|&i| c.is_valid(i).then(|| c.value(i))));
        }
        for (name, v) in t.numeric.iter_mut() {
            let Some(c) = b.column_by_name(name) else {
                v.extend(keep.iter().map(|_| None));
                continue;
            };
            let c = cast(&path, c, &DataType::Float64)?;
            let c = c.as_primitive::<arrow::datatypes::Float64Type>();
            v.extend(keep.iter().map(|&i| c.is_valid(i).then(|| c.value(i))));
        }
    }
    Ok(t)
}

/// One row of a dataset's `segments` table, as the commands after `run` read it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSegment {
    pub interaction_id: String,
    pub role: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    pub avg_token_prob: Option<f32>,
    /// The redacted stretches; `None` when not known (a redaction without word times, or a
    /// dataset written before schema version 5, which has no such column).
    pub redactions: Option<Vec<Redaction>>,
}

/// The `segments` table of the dataset in `dir` (the `--out` folder of `callsift run`).
pub fn read_segments(dir: &Path) -> Result<Vec<StoredSegment>, StoreError> {
    let mut out = Vec::new();
    for file in table_files(&dir.join(dataset::SEGMENTS))? {
        for b in read_batches(&file)? {
            out.extend(segments_of(&file, &b)?);
        }
    }
    Ok(out)
}

/// The rows of one batch of a segments part.
fn segments_of(path: &Path, b: &RecordBatch) -> Result<Vec<StoredSegment>, StoreError> {
    let column = |name: &str, to: &DataType| -> Result<Option<ArrayRef>, StoreError> {
        b.column_by_name(name)
            .map(|c| cast(path, c, to))
            .transpose()
    };
    let need = |name: &str, to: &DataType| -> Result<ArrayRef, StoreError> {
        column(name, to)?.ok_or_else(|| StoreError::Read {
            path: path.to_path_buf(),
            detail: format!("column {name} is missing"),
        })
    };
    let (id, role, text) = (
        need("interaction_id", &DataType::Utf8)?,
        need("role", &DataType::Utf8)?,
        need("text", &DataType::Utf8)?,
    );
    let (start, end) = (
        need("start_ms", &DataType::Int64)?,
        need("end_ms", &DataType::Int64)?,
    );
    let prob = column("avg_token_prob", &DataType::Float32)?;
    let redactions = b.column_by_name("redactions").map(|c| c.as_list::<i32>());
    let string = |a: &ArrayRef, i: usize| a.as_string::<i32>().value(i).to_string();
    let int = |a: &ArrayRef, i: usize| a.as_primitive::<arrow::datatypes::Int64Type>().value(i);
    Ok((0..b.num_rows())
        .map(|i| StoredSegment {
            interaction_id: string(&id, i),
            role: string(&role, i),
            start_ms: int(&start, i),
            end_ms: int(&end, i),
            text: string(&text, i),
            avg_token_prob: prob.as_ref().and_then(|p| {
                let p = p.as_primitive::<arrow::datatypes::Float32Type>();
                p.is_valid(i).then(|| p.value(i))
            }),
            redactions: redactions
                .filter(|l| l.is_valid(i))
                .and_then(|l| redactions_of(l.value(i).as_struct())),
        })
        .collect())
}

/// The redacted stretches of one `redactions` list (`None` when its items lack a field: then
/// they are not known).
fn redactions_of(items: &arrow::array::StructArray) -> Option<Vec<Redaction>> {
    let (Some(kind), Some(start), Some(end)) = (
        items.column_by_name("kind"),
        items.column_by_name("start_ms"),
        items.column_by_name("end_ms"),
    ) else {
        return None;
    };
    let (kind, start, end) = (
        kind.as_string::<i32>(),
        start.as_primitive::<arrow::datatypes::Int64Type>(),
        end.as_primitive::<arrow::datatypes::Int64Type>(),
    );
    Some(
        (0..items.len())
            .map(|k| Redaction {
                kind: kind.value(k).to_string(),
                start_ms: start.value(k),
                end_ms: end.value(k),
            })
            .collect(),
    )
}

/// A span-list column of the dataset's interactions (`holds`, `non_talk_instances`) by
/// interaction id, as `(start_ms, end_ms)` pairs; a call whose value is null is absent.
pub fn call_spans(
    dir: &Path,
    column: &str,
) -> Result<HashMap<String, Vec<(i64, i64)>>, StoreError> {
    let table = dir.join(dataset::INTERACTIONS);
    let mut out = HashMap::new();
    for f in table_files(&table)? {
        for b in read_batches(&f)? {
            let (Some(ids), Some(col)) =
                (b.column_by_name("interaction_id"), b.column_by_name(column))
            else {
                continue;
            };
            let ids = cast(&f, ids, &DataType::Utf8)?;
            let ids = ids.as_string::<i32>();
            let Some(lists) = col.as_list_opt::<i32>() else {
                continue;
            };
            for i in 0..b.num_rows() {
                if !lists.is_valid(i) || !ids.is_valid(i) {
                    continue;
                }
                out.insert(ids.value(i).to_string(), spans_of(&lists.value(i)));
            }
        }
    }
    Ok(out)
}

/// The `(start_ms, end_ms)` pairs of one list value of struct spans.
fn spans_of(v: &ArrayRef) -> Vec<(i64, i64)> {
    let Some(s) = v.as_struct_opt() else {
        return Vec::new();
    };
    let field = |n: &str| {
        s.column_by_name(n)
            .and_then(|c| c.as_primitive_opt::<arrow::datatypes::Int64Type>().cloned())
    };
    let (Some(a), Some(z)) = (field("start_ms"), field("end_ms")) else {
        return Vec::new();
    };
    (0..s.len()).map(|k| (a.value(k), z.value(k))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BooleanArray, StringArray};
    use arrow::datatypes::{Field, Schema};
    use parquet::file::metadata::KeyValue;
    use std::sync::Arc;

    /// An interactions part as schema `version` wrote it (`channel` before version 2).
    fn part(root: &Path, version: &str, channel_column: &str) -> PathBuf {
        let dir = root.join("interactions/date=2026-11-20");
        std::fs::create_dir_all(&dir).unwrap();
        let s = |n: &str| Field::new(n, DataType::Utf8, true);
        let schema = Arc::new(Schema::new(vec![
            s("interaction_id"),
            s("status"),
            s("agent_id"),
            s("customer_id"),
            s("queue"),
            s(channel_column),
            Field::new("started_at", DataType::Int64, true),
            Field::new("beh_x", DataType::Boolean, true),
        ]));
        let text = |v: &str| Arc::new(StringArray::from(vec![Some(v)])) as ArrayRef;
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                text("A"),
                text("ok"),
                text("ag"),
                text("cu"),
                text("billing"),
                text("chat"),
                Arc::new(arrow::array::Int64Array::from(vec![Some(1)])),
                Arc::new(BooleanArray::from(vec![Some(true)])),
            ],
        )
        .unwrap();
        let path = dir.join("part-20261120T000000Z_abcdef-0of1-00001.parquet");
        let meta = vec![KeyValue::new(
            "callsift.schema_version".into(),
            version.to_string(),
        )];
        dataset::write_parquet(&path, schema, Some(meta), &[batch]).unwrap();
        path
    }

    #[test]
    fn older_files_are_read_under_todays_names_and_newer_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        part(dir.path(), "1", "channel");
        let t = read_calls(dir.path()).unwrap();
        assert_eq!(t.contact_channel, vec![Some("chat".to_string())]);
        let (h, _) = read_text_rows(&dir.path().join("interactions")).unwrap();
        assert!(h.contains(&"contact_channel".to_string()) && !h.contains(&"channel".into()));

        let newer = tempfile::tempdir().unwrap();
        let p = part(newer.path(), "99", "contact_channel");
        let e = read_calls(newer.path()).unwrap_err().to_string();
        assert!(
            e.contains(&p.display().to_string()) && e.contains("newer"),
            "{e}"
        );
    }
}
