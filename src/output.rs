//! Output: the only module that knows Parquet. A `ParquetSink` owns the writers of one run's
//! tables, writes zstd-compressed row groups as records arrive, and makes each file visible
//! atomically (temp file, fsync, rename) when the run finishes. Dropped unfinished, it leaves
//! nothing behind.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, ListArray,
    RecordBatch, StringArray, StructArray, TimestampMillisecondArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::analyze::metrics::{Metrics, Span};
use crate::analyze::rules::{Hit, RuleSet};
use crate::analyze::sentiment::CallSentiment;
use crate::record::Interaction;

pub const INTERACTIONS_FILE: &str = "interactions.parquet";
pub const SEGMENTS_FILE: &str = "segments.parquet";
pub const EVENTS_FILE: &str = "events.parquet";

/// Version of the column layout; bumped on any incompatible change (see docs/schema.md).
pub const SCHEMA_VERSION: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
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
}

/// Columns of interactions.parquet, in order: the built-in ones, one boolean per rule
/// category (`beh_*`, `evt_*`, `topic_*`), then the manifest's pass-through columns.
pub fn interactions_schema(
    categories: &[String],
    extra: &[String],
) -> Result<SchemaRef, OutputError> {
    let s = |n: &str, null| Field::new(n, DataType::Utf8, null);
    let mut fields = vec![
        s("interaction_id", false),
        s("source_path", false),
        s("status", false),
        s("error", true),
        s("content_sha256", true),
        Field::new("duration_ms", DataType::Int64, true),
        Field::new("sample_rate_hz", DataType::Int32, true),
        Field::new("channels", DataType::Int32, true),
        s("codec", true),
        s("agent_id", true),
        s("customer_id", true),
        Field::new(
            "started_at",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        s("queue", true),
        s("channel", true),
        s("model", false),
        s("language", false),
        s("transcript", true),
        Field::new("agent_words", DataType::Int32, true),
        Field::new("customer_words", DataType::Int32, true),
        Field::new("total_words", DataType::Int32, true),
        Field::new("segment_count", DataType::Int32, true),
        Field::new("processing_ms", DataType::Int64, false),
        Field::new("talk_time_ms", DataType::Int64, true),
        Field::new("talk_time_agent_ms", DataType::Int64, true),
        Field::new("talk_time_customer_ms", DataType::Int64, true),
        Field::new("non_talk_time_ms", DataType::Int64, true),
        Field::new("non_talk_instances", span_list_type(), true),
        Field::new("longest_silence_ms", DataType::Int64, true),
        Field::new("hold_count", DataType::Int32, true),
        Field::new("hold_time_ms", DataType::Int64, true),
        Field::new("holds", span_list_type(), true),
        Field::new("hold_music_ms", DataType::Int64, true),
        Field::new("holds_announced", DataType::Int32, true),
        Field::new("holds_thanked", DataType::Int32, true),
        Field::new("interruptions_agent", DataType::Int32, true),
        Field::new("interruptions_customer", DataType::Int32, true),
        Field::new("overtalk_ms", DataType::Int64, true),
        Field::new("talk_speed_agent_wpm", DataType::Float64, true),
        Field::new("talk_speed_customer_wpm", DataType::Float64, true),
        Field::new("talk_speed_wpm", DataType::Float64, true),
        Field::new("loudness_agent_db", DataType::Float64, true),
        Field::new("loudness_customer_db", DataType::Float64, true),
        Field::new("agent_response_latency_ms", DataType::Int64, true),
        Field::new("talk_listen_ratio", DataType::Float64, true),
        Field::new("pii_redactions", DataType::Int32, true),
        Field::new("customer_name_uses", DataType::Int32, true),
    ];
    for name in SENTIMENT_COLUMNS {
        fields.push(Field::new(name, DataType::Float32, true));
    }
    for name in categories {
        fields.push(Field::new(name, DataType::Boolean, true));
    }
    for name in extra {
        if fields.iter().any(|f| f.name() == name) {
            return Err(OutputError::ColumnClash(name.clone()));
        }
        fields.push(s(name, true));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// Sentiment columns of interactions.parquet, in order (see `sentiment_values`).
const SENTIMENT_COLUMNS: [&str; 12] = [
    "sentiment_overall",
    "sentiment_agent",
    "sentiment_customer",
    "sentiment_agent_q1",
    "sentiment_agent_q2",
    "sentiment_agent_q3",
    "sentiment_agent_q4",
    "sentiment_customer_q1",
    "sentiment_customer_q2",
    "sentiment_customer_q3",
    "sentiment_customer_q4",
    "sentiment_customer_change",
];

fn sentiment_values(s: &CallSentiment) -> [Option<f32>; 12] {
    let (a, c) = (s.agent_quarters, s.customer_quarters);
    [
        s.overall,
        s.agent,
        s.customer,
        a[0],
        a[1],
        a[2],
        a[3],
        c[0],
        c[1],
        c[2],
        c[3],
        s.customer_change,
    ]
}

fn span_fields() -> Fields {
    Fields::from(vec![
        Field::new("start_ms", DataType::Int64, false),
        Field::new("end_ms", DataType::Int64, false),
    ])
}

/// `list<struct<start_ms: int64, end_ms: int64>>`: time ranges such as non-talk instances.
fn span_list_type() -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(span_fields()),
        false,
    )))
}

fn span_lists<'a>(lists: impl Iterator<Item = Option<&'a [Span]>>) -> ArrayRef {
    let mut offsets = vec![0i32];
    let (mut starts, mut ends, mut valid) = (Vec::new(), Vec::new(), Vec::new());
    for l in lists {
        valid.push(l.is_some());
        for s in l.unwrap_or_default() {
            starts.push(s.start_ms);
            ends.push(s.end_ms);
        }
        offsets.push(starts.len() as i32);
    }
    let values = StructArray::new(
        span_fields(),
        vec![
            Arc::new(Int64Array::from(starts)) as ArrayRef,
            Arc::new(Int64Array::from(ends)) as ArrayRef,
        ],
        None,
    );
    let DataType::List(field) = span_list_type() else {
        unreachable!()
    };
    Arc::new(ListArray::new(
        field,
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Arc::new(values),
        Some(NullBuffer::from(valid)),
    ))
}

pub fn events_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("interaction_id", DataType::Utf8, false),
        Field::new("category_id", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("role", DataType::Utf8, false),
        Field::new("start_ms", DataType::Int64, false),
        Field::new("end_ms", DataType::Int64, false),
        Field::new("evidence", DataType::Utf8, false),
    ]))
}

pub fn segments_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("interaction_id", DataType::Utf8, false),
        Field::new("role", DataType::Utf8, false),
        Field::new("channel", DataType::Int32, false),
        Field::new("start_ms", DataType::Int64, false),
        Field::new("end_ms", DataType::Int64, false),
        Field::new("text", DataType::Utf8, false),
        Field::new("sentiment", DataType::Float32, false),
        Field::new("avg_token_prob", DataType::Float32, false),
        Field::new("no_speech_prob", DataType::Float32, false),
    ]))
}

struct Table {
    final_path: PathBuf,
    tmp_path: PathBuf,
    writer: Option<ArrowWriter<File>>,
    schema: SchemaRef,
}

impl Table {
    fn create(
        dir: &Path,
        name: &str,
        schema: SchemaRef,
        meta: &[(String, String)],
    ) -> Result<Table, OutputError> {
        let final_path = dir.join(name);
        let tmp_path = dir.join(format!(".{name}.partial"));
        let file = File::create(&tmp_path).map_err(|source| OutputError::Io {
            path: tmp_path.clone(),
            source,
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(3).expect("valid zstd level"),
            ))
            .set_key_value_metadata(Some(
                meta.iter()
                    .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                    .collect(),
            ))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|source| {
            OutputError::Parquet {
                path: tmp_path.clone(),
                source,
            }
        })?;
        Ok(Table {
            final_path,
            tmp_path,
            writer: Some(writer),
            schema,
        })
    }

    fn write(&mut self, columns: Vec<ArrayRef>) -> Result<(), OutputError> {
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(|source| {
            OutputError::Arrow {
                path: self.final_path.clone(),
                source,
            }
        })?;
        if let Some(w) = self.writer.as_mut() {
            w.write(&batch).map_err(|source| OutputError::Parquet {
                path: self.tmp_path.clone(),
                source,
            })?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), OutputError> {
        let Some(w) = self.writer.take() else {
            return Ok(());
        };
        let file = w.into_inner().map_err(|source| OutputError::Parquet {
            path: self.tmp_path.clone(),
            source,
        })?;
        let io = |source| OutputError::Io {
            path: self.final_path.clone(),
            source,
        };
        file.sync_all().map_err(io)?;
        std::fs::rename(&self.tmp_path, &self.final_path).map_err(io)?;
        if let Some(dir) = self.final_path.parent()
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}

/// Writes interactions and segments of one run. Records are buffered and written as row
/// groups of `batch_rows` interactions.
pub struct ParquetSink {
    interactions: Table,
    segments: Table,
    events: Table,
    /// (id, kind) of each rule category, in column order.
    categories: Vec<(String, &'static str)>,
    pending: Vec<Interaction>,
    batch_rows: usize,
    extra_columns: usize,
}

impl ParquetSink {
    pub fn create(
        dir: &Path,
        rules: &RuleSet,
        extra_columns: &[String],
        meta: &[(String, String)],
    ) -> Result<Self, OutputError> {
        std::fs::create_dir_all(dir).map_err(|source| OutputError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let columns: Vec<String> = rules.categories.iter().map(|c| c.column()).collect();
        let schema = interactions_schema(&columns, extra_columns)?;
        Ok(ParquetSink {
            interactions: Table::create(dir, INTERACTIONS_FILE, schema, meta)?,
            segments: Table::create(dir, SEGMENTS_FILE, segments_schema(), meta)?,
            events: Table::create(dir, EVENTS_FILE, events_schema(), meta)?,
            categories: rules
                .categories
                .iter()
                .map(|c| (c.id.clone(), c.kind.as_str()))
                .collect(),
            pending: Vec::new(),
            batch_rows: 256,
            extra_columns: extra_columns.len(),
        })
    }

    pub fn push(&mut self, rec: Interaction) -> Result<(), OutputError> {
        self.pending.push(rec);
        if self.pending.len() >= self.batch_rows {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let recs = std::mem::take(&mut self.pending);
        self.interactions.write(interaction_columns(
            &recs,
            self.categories.len(),
            self.extra_columns,
        ))?;
        self.segments.write(segment_columns(&recs))?;
        self.events.write(event_columns(&recs, &self.categories))?;
        Ok(())
    }

    /// Flush, close and publish both files.
    pub fn finish(mut self) -> Result<Vec<PathBuf>, OutputError> {
        self.flush()?;
        self.interactions.finish()?;
        self.segments.finish()?;
        self.events.finish()?;
        Ok(vec![
            self.interactions.final_path.clone(),
            self.segments.final_path.clone(),
            self.events.final_path.clone(),
        ])
    }
}

fn strings<'a>(it: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(it))
}

fn event_columns(recs: &[Interaction], cats: &[(String, &'static str)]) -> Vec<ArrayRef> {
    let rows: Vec<(&str, &Hit)> = recs
        .iter()
        .flat_map(|r| r.hits.iter().map(move |h| (r.interaction_id.as_str(), h)))
        .collect();
    vec![
        strings(rows.iter().map(|(id, _)| Some(*id))),
        strings(rows.iter().map(|(_, h)| Some(cats[h.category].0.as_str()))),
        strings(rows.iter().map(|(_, h)| Some(cats[h.category].1))),
        strings(rows.iter().map(|(_, h)| Some(h.role.as_str()))),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|(_, h)| h.start_ms),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|(_, h)| h.end_ms),
        )),
        strings(rows.iter().map(|(_, h)| Some(h.evidence.as_str()))),
    ]
}

fn interaction_columns(recs: &[Interaction], categories: usize, extra: usize) -> Vec<ArrayRef> {
    let mut cols: Vec<ArrayRef> = vec![
        strings(recs.iter().map(|r| Some(r.interaction_id.as_str()))),
        strings(recs.iter().map(|r| Some(r.source_path.as_str()))),
        strings(recs.iter().map(|r| Some(if r.ok { "ok" } else { "error" }))),
        strings(recs.iter().map(|r| r.error.as_deref())),
        strings(recs.iter().map(|r| r.content_sha256.as_deref())),
        Arc::new(Int64Array::from_iter(recs.iter().map(|r| r.duration_ms))),
        Arc::new(Int32Array::from_iter(recs.iter().map(|r| r.sample_rate_hz))),
        Arc::new(Int32Array::from_iter(recs.iter().map(|r| r.channels))),
        strings(recs.iter().map(|r| r.codec.as_deref())),
        strings(recs.iter().map(|r| r.agent_id.as_deref())),
        strings(recs.iter().map(|r| r.customer_id.as_deref())),
        Arc::new(
            TimestampMillisecondArray::from_iter(recs.iter().map(|r| r.started_at))
                .with_timezone("UTC"),
        ),
        strings(recs.iter().map(|r| r.queue.as_deref())),
        strings(recs.iter().map(|r| r.channel.as_deref())),
        strings(recs.iter().map(|r| Some(r.model.as_str()))),
        strings(recs.iter().map(|r| Some(r.language.as_str()))),
        strings(recs.iter().map(|r| r.transcript.as_deref())),
        Arc::new(Int32Array::from_iter(recs.iter().map(|r| r.agent_words))),
        Arc::new(Int32Array::from_iter(recs.iter().map(|r| r.customer_words))),
        Arc::new(Int32Array::from_iter(recs.iter().map(|r| r.total_words))),
        Arc::new(Int32Array::from_iter(recs.iter().map(|r| r.segment_count))),
        Arc::new(Int64Array::from_iter_values(
            recs.iter().map(|r| r.processing_ms),
        )),
    ];
    let m = |f: fn(&Metrics) -> Option<i64>| -> ArrayRef {
        Arc::new(Int64Array::from_iter(
            recs.iter().map(|r| r.metrics.as_ref().and_then(f)),
        ))
    };
    let m32 = |f: fn(&Metrics) -> Option<i32>| -> ArrayRef {
        Arc::new(Int32Array::from_iter(
            recs.iter().map(|r| r.metrics.as_ref().and_then(f)),
        ))
    };
    let mf = |f: fn(&Metrics) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from_iter(
            recs.iter().map(|r| r.metrics.as_ref().and_then(f)),
        ))
    };
    cols.extend([
        m(|x| Some(x.talk_time_ms)),
        m(|x| x.talk_time_agent_ms),
        m(|x| x.talk_time_customer_ms),
        m(|x| Some(x.non_talk_time_ms)),
        span_lists(
            recs.iter()
                .map(|r| r.metrics.as_ref().map(|x| x.non_talk_instances.as_slice())),
        ),
        m(|x| Some(x.longest_silence_ms)),
        m32(|x| x.hold_count),
        m(|x| x.hold_time_ms),
        span_lists(recs.iter().map(|r| {
            r.metrics
                .as_ref()
                .filter(|x| x.hold_count.is_some())
                .map(|x| x.holds.as_slice())
        })),
        m(|x| x.hold_music_ms),
        m32(|x| x.holds_announced),
        m32(|x| x.holds_thanked),
        m32(|x| x.interruptions_agent),
        m32(|x| x.interruptions_customer),
        m(|x| x.overtalk_ms),
        mf(|x| x.talk_speed_agent_wpm),
        mf(|x| x.talk_speed_customer_wpm),
        mf(|x| x.talk_speed_wpm),
        mf(|x| x.loudness_agent_db),
        mf(|x| x.loudness_customer_db),
        m(|x| x.agent_response_latency_ms),
        mf(|x| x.talk_listen_ratio),
        Arc::new(Int32Array::from_iter(recs.iter().map(|r| r.pii_redactions))),
        Arc::new(Int32Array::from_iter(
            recs.iter().map(|r| r.customer_name_uses),
        )),
    ]);
    let sentiments: Vec<Option<[Option<f32>; 12]>> = recs
        .iter()
        .map(|r| r.sentiment.as_ref().map(sentiment_values))
        .collect();
    for i in 0..SENTIMENT_COLUMNS.len() {
        cols.push(Arc::new(Float32Array::from_iter(
            sentiments.iter().map(|v| v.and_then(|v| v[i])),
        )));
    }
    for i in 0..categories {
        cols.push(Arc::new(BooleanArray::from_iter(
            recs.iter().map(|r| r.categories.get(i).copied().flatten()),
        )));
    }
    for i in 0..extra {
        cols.push(strings(
            recs.iter()
                .map(|r| r.extra.get(i).and_then(|v| v.as_deref())),
        ));
    }
    cols
}

fn segment_columns(recs: &[Interaction]) -> Vec<ArrayRef> {
    let rows: Vec<(&str, &crate::record::SegmentRow)> = recs
        .iter()
        .flat_map(|r| {
            r.segments
                .iter()
                .map(move |s| (r.interaction_id.as_str(), s))
        })
        .collect();
    vec![
        strings(rows.iter().map(|(id, _)| Some(*id))),
        strings(rows.iter().map(|(_, s)| Some(s.role.as_str()))),
        Arc::new(Int32Array::from_iter_values(
            rows.iter().map(|(_, s)| s.channel),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|(_, s)| s.start_ms),
        )),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|(_, s)| s.end_ms),
        )),
        strings(rows.iter().map(|(_, s)| Some(s.text.as_str()))),
        Arc::new(Float32Array::from_iter_values(
            rows.iter().map(|(_, s)| s.sentiment),
        )),
        Arc::new(Float32Array::from_iter_values(
            rows.iter().map(|(_, s)| s.avg_token_prob),
        )),
        Arc::new(Float32Array::from_iter_values(
            rows.iter().map(|(_, s)| s.no_speech_prob),
        )),
    ]
}

// ---------------------------------------------------------------- reading, and score tables

fn read_batches(path: &Path) -> Result<Vec<RecordBatch>, OutputError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let bad = |detail: String| OutputError::Read {
        path: path.to_path_buf(),
        detail,
    };
    let f = File::open(path).map_err(|e| bad(e.to_string()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| bad(e.to_string()))?
        .build()
        .map_err(|e| bad(e.to_string()))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))
}

fn cast(path: &Path, col: &ArrayRef, to: &DataType) -> Result<ArrayRef, OutputError> {
    arrow::compute::cast(col, to).map_err(|e| OutputError::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// A header and rows of optional text values.
pub type TextRows = (Vec<String>, Vec<Vec<Option<String>>>);

/// Every column of a Parquet file as text (timestamps as epoch integers).
pub fn read_text_rows(path: &Path) -> Result<TextRows, OutputError> {
    let batches = read_batches(path)?;
    let header: Vec<String> = batches.first().map_or_else(Vec::new, |b| {
        b.schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    });
    let mut rows = Vec::new();
    for b in &batches {
        let cols: Vec<ArrayRef> = b
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                // timestamps become their integer value (ms since the epoch for ours)
                DataType::Timestamp(..) => {
                    cast(path, &cast(path, c, &DataType::Int64)?, &DataType::Utf8)
                }
                _ => cast(path, c, &DataType::Utf8),
            })
            .collect::<Result<_, _>>()?;
        for i in 0..b.num_rows() {
            rows.push(
                cols.iter()
                    .map(|c| {
                        let s = c.as_string::<i32>();
                        s.is_valid(i).then(|| s.value(i).to_string())
                    })
                    .collect(),
            );
        }
    }
    Ok((header, rows))
}

/// The successfully processed interactions of `dir/interactions.parquet` as a feature table.
pub fn read_features(dir: &Path) -> Result<crate::score::FeatureTable, OutputError> {
    let path = dir.join("interactions.parquet");
    let mut t = crate::score::FeatureTable::default();
    let batches = read_batches(&path)?;
    let Some(schema) = batches.first().map(|b| b.schema()) else {
        return Ok(t);
    };
    let flag_names: Vec<String> = schema
        .fields()
        .iter()
        .filter(|f| {
            f.data_type() == &DataType::Boolean
                && ["beh_", "evt_", "topic_"]
                    .iter()
                    .any(|p| f.name().starts_with(p))
        })
        .map(|f| f.name().clone())
        .collect();
    let numeric_names: Vec<&str> = crate::score::NUMERIC_FEATURES
        .iter()
        .copied()
        .filter(|n| schema.field_with_name(n).is_ok())
        .collect();
    t.flags = flag_names.iter().map(|n| (n.clone(), Vec::new())).collect();
    t.numeric = numeric_names
        .iter()
        .map(|n| (n.to_string(), Vec::new()))
        .collect();
    let need = |b: &RecordBatch, name: &str| -> Result<ArrayRef, OutputError> {
        b.column_by_name(name)
            .cloned()
            .ok_or_else(|| OutputError::Read {
                path: path.clone(),
                detail: format!("column {name} is missing"),
            })
    };
    for b in &batches {
        let text = |name: &str| -> Result<Vec<Option<String>>, OutputError> {
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
        t.channel.extend(pick(text("channel")?));
        let started = cast(&path, &need(b, "started_at")?, &DataType::Int64)?;
        let started = started.as_primitive::<arrow::datatypes::Int64Type>();
        t.started_at.extend(
            keep.iter()
                .map(|&i| started.is_valid(i).then(|| started.value(i))),
        );
        for (name, v) in t.flags.iter_mut() {
            let c = need(b, name)?;
            let c = c.as_boolean();
            v.extend(keep.iter().map(|&i| c.is_valid(i).then(|| c.value(i))));
        }
        for (name, v) in t.numeric.iter_mut() {
            let c = cast(&path, &need(b, name)?, &DataType::Float64)?;
            let c = c.as_primitive::<arrow::datatypes::Float64Type>();
            v.extend(keep.iter().map(|&i| c.is_valid(i).then(|| c.value(i))));
        }
    }
    Ok(t)
}

fn write_one(
    path: &Path,
    schema: SchemaRef,
    columns: Vec<ArrayRef>,
) -> Result<PathBuf, OutputError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("table.parquet");
    let meta = vec![
        (
            "callsift.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        (
            "callsift.schema_version".to_string(),
            SCHEMA_VERSION.to_string(),
        ),
    ];
    let mut t = Table::create(dir, name, schema, &meta)?;
    t.write(columns)?;
    t.finish()?;
    Ok(path.to_path_buf())
}

pub fn drivers_schema() -> SchemaRef {
    let f = |n: &str, t: DataType, null| Field::new(n, t, null);
    Arc::new(Schema::new(vec![
        f("survey_type", DataType::Utf8, false),
        f("outcome", DataType::Utf8, false),
        f("feature", DataType::Utf8, false),
        f("feature_type", DataType::Utf8, false),
        f("n_with", DataType::Int64, true),
        f("n_without", DataType::Int64, true),
        f("n", DataType::Int64, false),
        f("prevalence", DataType::Float64, true),
        f("mean_with", DataType::Float64, true),
        f("mean_without", DataType::Float64, true),
        f("effect", DataType::Float64, true),
        f("ci_low", DataType::Float64, true),
        f("ci_high", DataType::Float64, true),
        f("p_value", DataType::Float64, true),
        f("q_value", DataType::Float64, true),
        f("significant", DataType::Boolean, false),
        f("rank", DataType::Int32, true),
    ]))
}

/// Write drivers.parquet (complete or absent).
pub fn write_drivers(
    path: &Path,
    rows: &[crate::score::DriverRow],
) -> Result<PathBuf, OutputError> {
    let fl = |f: fn(&crate::score::DriverRow) -> Option<f64>| -> ArrayRef {
        Arc::new(Float64Array::from_iter(rows.iter().map(f)))
    };
    let cols: Vec<ArrayRef> = vec![
        strings(rows.iter().map(|r| Some(r.survey_type.as_str()))),
        strings(rows.iter().map(|r| Some(r.outcome.as_str()))),
        strings(rows.iter().map(|r| Some(r.feature.as_str()))),
        strings(rows.iter().map(|r| Some(r.feature_type))),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.n_with))),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.n_without))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.n))),
        fl(|r| r.prevalence),
        fl(|r| r.mean_with),
        fl(|r| r.mean_without),
        fl(|r| r.effect),
        fl(|r| r.ci_low),
        fl(|r| r.ci_high),
        fl(|r| r.p_value),
        fl(|r| r.q_value),
        Arc::new(BooleanArray::from_iter(
            rows.iter().map(|r| Some(r.significant)),
        )),
        Arc::new(Int32Array::from_iter(rows.iter().map(|r| r.rank))),
    ];
    write_one(path, drivers_schema(), cols)
}

pub fn scores_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("interaction_id", DataType::Utf8, false),
        Field::new("predicted_nps", DataType::Float64, true),
        Field::new("p_detractor", DataType::Float64, true),
        Field::new("p_promoter", DataType::Float64, true),
        Field::new("qa_score", DataType::Float64, true),
        Field::new("repeat_contact", DataType::Boolean, true),
        Field::new(
            "top_features",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
    ]))
}

/// Write scores.parquet (complete or absent).
pub fn write_scores(path: &Path, rows: &[crate::score::ScoreRow]) -> Result<PathBuf, OutputError> {
    let mut tops = arrow::array::ListBuilder::new(arrow::array::StringBuilder::new());
    for r in rows {
        for f in &r.top_features {
            tops.values().append_value(f);
        }
        tops.append(true);
    }
    let cols: Vec<ArrayRef> = vec![
        strings(rows.iter().map(|r| Some(r.interaction_id.as_str()))),
        Arc::new(Float64Array::from_iter(
            rows.iter().map(|r| r.predicted_nps),
        )),
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.p_detractor))),
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.p_promoter))),
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.qa_score))),
        Arc::new(BooleanArray::from_iter(
            rows.iter().map(|r| r.repeat_contact),
        )),
        Arc::new(tops.finish()),
    ];
    write_one(path, scores_schema(), cols)
}

pub fn qa_sample_schema() -> SchemaRef {
    let s = |n: &str, null| Field::new(n, DataType::Utf8, null);
    Arc::new(Schema::new(vec![
        s("interaction_id", false),
        s("agent_id", false),
        s("period", false),
        s("pick", false),
        s("reasons", false),
        s("category_id", true),
        s("role", true),
        Field::new("start_ms", DataType::Int64, true),
        Field::new("end_ms", DataType::Int64, true),
        s("evidence", true),
        s("clip", true),
        s("review_page", false),
    ]))
}

/// Write qa_sample.parquet (complete or absent).
pub fn write_qa_sample(
    path: &Path,
    rows: &[crate::sample::SampleRow],
) -> Result<PathBuf, OutputError> {
    let cols: Vec<ArrayRef> = vec![
        strings(rows.iter().map(|r| Some(r.interaction_id.as_str()))),
        strings(rows.iter().map(|r| Some(r.agent_id.as_str()))),
        strings(rows.iter().map(|r| Some(r.period.as_str()))),
        strings(rows.iter().map(|r| Some(r.pick))),
        strings(rows.iter().map(|r| Some(r.reasons.as_str()))),
        strings(rows.iter().map(|r| r.category_id.as_deref())),
        strings(rows.iter().map(|r| r.role.as_deref())),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.start_ms))),
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.end_ms))),
        strings(rows.iter().map(|r| r.evidence.as_deref())),
        strings(rows.iter().map(|r| r.clip.as_deref())),
        strings(rows.iter().map(|r| Some(r.review_page.as_str()))),
    ];
    write_one(path, qa_sample_schema(), cols)
}

pub fn scorecard_schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        s("agent_id"),
        s("period"),
        s("queue"),
        s("channel"),
        Field::new("calls", DataType::Int64, false),
        s("metric"),
        Field::new("value", DataType::Float64, true),
        Field::new("n", DataType::Int64, false),
        Field::new("percentile", DataType::Float64, true),
        Field::new("peers", DataType::Int64, false),
    ]))
}

/// Write scorecard.parquet (complete or absent).
pub fn write_scorecard(
    path: &Path,
    rows: &[crate::scorecard::CardRow],
) -> Result<PathBuf, OutputError> {
    let cols: Vec<ArrayRef> = vec![
        strings(rows.iter().map(|r| Some(r.agent_id.as_str()))),
        strings(rows.iter().map(|r| Some(r.period.as_str()))),
        strings(rows.iter().map(|r| Some(r.queue.as_str()))),
        strings(rows.iter().map(|r| Some(r.channel.as_str()))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.calls))),
        strings(rows.iter().map(|r| Some(r.metric.as_str()))),
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.value))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.n))),
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.percentile))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.peers))),
    ];
    write_one(path, scorecard_schema(), cols)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Role, SegmentRow};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn rec(id: &str, ok: bool) -> Interaction {
        Interaction {
            interaction_id: id.into(),
            source_path: format!("{id}.wav"),
            ok,
            error: (!ok).then(|| "broken".to_string()),
            model: "tiny.en".into(),
            language: "en".into(),
            started_at: Some(1_700_000_000_000),
            extra: vec![Some("north".into())],
            segments: vec![SegmentRow {
                role: Role::Agent,
                channel: 0,
                start_ms: 0,
                end_ms: 1200,
                text: "hello".into(),
                avg_token_prob: 0.9,
                no_speech_prob: 0.01,
                sentiment: 0.0,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn files_appear_only_when_finished_and_carry_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let meta = vec![("callsift.version".to_string(), "test".to_string())];
        let mut sink =
            ParquetSink::create(dir.path(), &RuleSet::builtin(), &["region".into()], &meta)
                .unwrap();
        sink.push(rec("a", true)).unwrap();
        sink.push(rec("b", false)).unwrap();
        assert!(!dir.path().join(INTERACTIONS_FILE).exists());
        sink.finish().unwrap();
        let f = File::open(dir.path().join(INTERACTIONS_FILE)).unwrap();
        let r = SerializedFileReader::new(f).unwrap();
        assert_eq!(r.metadata().file_metadata().num_rows(), 2);
        let kv = r.metadata().file_metadata().key_value_metadata().unwrap();
        assert!(kv.iter().any(|k| k.key == "callsift.version"));
        let f = File::open(dir.path().join(SEGMENTS_FILE)).unwrap();
        let r = SerializedFileReader::new(f).unwrap();
        assert_eq!(r.metadata().file_metadata().num_rows(), 2);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn an_abandoned_sink_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = ParquetSink::create(dir.path(), &RuleSet::default(), &[], &[]).unwrap();
        sink.push(rec("a", true)).unwrap();
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn manifest_columns_may_not_shadow_built_ins() {
        assert!(interactions_schema(&[], &["queue".into()]).is_err());
        assert!(interactions_schema(&["beh_empathy".into()], &["beh_empathy".into()]).is_err());
    }
}
