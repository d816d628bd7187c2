//! Output: the only module that knows Parquet. `run` writes a dataset (see [`dataset`]):
//! hive-partitioned `interactions/`, `segments/` and `events/` tables that grow run by run, in
//! small committed batches, each part file complete or absent (temp file, fsync, rename).
//! Also the readers the later commands use, and the single-file tables they write.

pub mod dataset;

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
use parquet::file::metadata::KeyValue;

use crate::analyze::metrics::{Metrics, Span};
use crate::analyze::rules::{Hit, RuleSet};
use crate::analyze::sentiment::CallSentiment;
use crate::record::Interaction;

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
    #[error(
        "{path} is not a folder, but the dataset needs one there\nhint: --out must name a callsift dataset folder (or a new one); move the file away"
    )]
    NotAFolder { path: PathBuf },
}

/// Columns of the interactions table, in order: the built-in ones, one boolean per rule
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
        s("settings_sha256", true),
        s("run_id", false),
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
        // `date` is the hive partition column readers add from the folder names
        if name == dataset::PARTITION_COLUMN || fields.iter().any(|f| f.name() == name) {
            return Err(OutputError::ColumnClash(name.clone()));
        }
        fields.push(s(name, true));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// Sentiment columns of the interactions table, in order (see `sentiment_values`).
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

/// Rows per committed batch and the longest a finished row waits to be committed.
#[derive(Debug, Clone, Copy)]
pub struct CommitPolicy {
    pub rows: usize,
    pub max_wait: std::time::Duration,
}

impl Default for CommitPolicy {
    fn default() -> Self {
        CommitPolicy {
            rows: 32,
            max_wait: std::time::Duration::from_secs(60),
        }
    }
}

/// `YYYY-MM-DD` (UTC) of a time in ms since the epoch: the `date=` partition of a call.
pub fn partition_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// Writes one run's rows into the dataset under `dir` (see [`dataset`]): rows are buffered and
/// committed in small batches (one part file per table and date partition), so a killed run
/// loses at most the rows of its current batch. Dropped unfinished, it leaves nothing visible
/// beyond the batches already committed.
pub struct ParquetSink {
    ds: dataset::Dataset,
    interactions_schema: SchemaRef,
    meta: Vec<KeyValue>,
    /// (id, kind) of each rule category, in column order.
    categories: Vec<(String, &'static str)>,
    extra_columns: usize,
    pending: Vec<Interaction>,
    policy: CommitPolicy,
    oldest_pending: Option<std::time::Instant>,
    seq: u32,
    parts: Vec<PathBuf>,
    committed: (usize, usize),
    /// Run manifest fields set by the caller; counts and parts are added on each commit.
    run_info: serde_json::Map<String, serde_json::Value>,
}

impl ParquetSink {
    /// A sink for a new unsharded run with the default commit policy.
    pub fn create(
        dir: &Path,
        rules: &RuleSet,
        extra_columns: &[String],
        meta: &[(String, String)],
    ) -> Result<Self, OutputError> {
        Self::open(
            dir,
            dataset::RunKey::new(0, 1),
            rules,
            extra_columns,
            meta,
            CommitPolicy::default(),
        )
    }

    /// Open the dataset under `dir` for the run `key` (cleaning up after dead runs).
    pub fn open(
        dir: &Path,
        key: dataset::RunKey,
        rules: &RuleSet,
        extra_columns: &[String],
        meta: &[(String, String)],
        policy: CommitPolicy,
    ) -> Result<Self, OutputError> {
        let columns: Vec<String> = rules.categories.iter().map(|c| c.column()).collect();
        let interactions_schema = interactions_schema(&columns, extra_columns)?;
        let ds = dataset::Dataset::open(dir, key)?;
        let mut run_info = serde_json::Map::new();
        run_info.insert("run_id".into(), ds.key.run_id.clone().into());
        run_info.insert("shard".into(), ds.key.shard.clone().into());
        run_info.insert("status".into(), "running".into());
        run_info.insert(
            "started_at".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .into(),
        );
        let sink = ParquetSink {
            ds,
            interactions_schema,
            meta: meta
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
                .collect(),
            categories: rules
                .categories
                .iter()
                .map(|c| (c.id.clone(), c.kind.as_str()))
                .collect(),
            extra_columns: extra_columns.len(),
            pending: Vec::new(),
            policy,
            oldest_pending: None,
            seq: 0,
            parts: Vec::new(),
            committed: (0, 0),
            run_info,
        };
        sink.write_manifest()?;
        Ok(sink)
    }

    /// Key-value metadata of the part files written from now on.
    pub fn set_file_metadata(&mut self, meta: &[(String, String)]) {
        self.meta = meta
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .collect();
    }

    pub fn run_key(&self) -> &dataset::RunKey {
        &self.ds.key
    }

    /// Record a field of the run manifest (`_callsift/runs/<run>-<shard>.json`).
    pub fn note(&mut self, key: &str, value: serde_json::Value) -> Result<(), OutputError> {
        self.run_info.insert(key.into(), value);
        self.write_manifest()
    }

    fn write_manifest(&self) -> Result<(), OutputError> {
        let mut v = self.run_info.clone();
        v.insert("rows_committed".into(), self.committed.0.into());
        v.insert("rows_failed".into(), self.committed.1.into());
        v.insert("batches".into(), self.seq.into());
        let root = &self.ds.root;
        v.insert(
            "parts".into(),
            self.parts
                .iter()
                .map(|p| {
                    p.strip_prefix(root)
                        .unwrap_or(p)
                        .to_string_lossy()
                        .into_owned()
                })
                .collect::<Vec<_>>()
                .into(),
        );
        self.ds.write_manifest(&serde_json::Value::Object(v))
    }

    /// What the dataset already holds for these interaction ids.
    pub fn stored(
        &self,
        ids: &std::collections::HashSet<String>,
    ) -> Result<std::collections::HashMap<String, dataset::Stored>, OutputError> {
        self.ds.stored(ids)
    }

    /// See [`dataset::Dataset::claim`].
    pub fn claim<T>(
        &self,
        ids: &std::collections::HashSet<String>,
        choose: impl FnOnce(&dataset::Claimed) -> (Vec<String>, T),
    ) -> Result<(dataset::Claimed, T), OutputError> {
        self.ds.claim(ids, choose)
    }

    /// Remove earlier rows of these ids (before they are processed again).
    pub fn remove(
        &self,
        ids: &std::collections::HashSet<String>,
        stored: &[&dataset::Stored],
    ) -> Result<(), OutputError> {
        self.ds.remove(ids, stored)
    }

    /// Buffer a row; commits a batch when the policy says so.
    pub fn push(&mut self, mut rec: Interaction) -> Result<(), OutputError> {
        rec.run_id = self.ds.key.run_id.clone();
        self.pending.push(rec);
        let oldest = *self
            .oldest_pending
            .get_or_insert_with(std::time::Instant::now);
        if self.pending.len() >= self.policy.rows || oldest.elapsed() >= self.policy.max_wait {
            self.commit()?;
        }
        Ok(())
    }

    /// Commit the buffered rows now (one part per table and date partition).
    pub fn commit(&mut self) -> Result<(), OutputError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let recs = std::mem::take(&mut self.pending);
        self.oldest_pending = None;
        let today = partition_date(chrono::Utc::now().timestamp_millis());
        let mut by_date: std::collections::BTreeMap<String, Vec<Interaction>> = Default::default();
        for r in recs {
            let date = r
                .partition_date
                .clone()
                .or_else(|| r.started_at.map(partition_date))
                .unwrap_or_else(|| today.clone());
            by_date.entry(format!("date={date}")).or_default().push(r);
        }
        let batch = |schema: &SchemaRef, cols: Vec<ArrayRef>| {
            RecordBatch::try_new(schema.clone(), cols).map_err(|source| OutputError::Arrow {
                path: self.ds.root.clone(),
                source,
            })
        };
        let mut parts = std::collections::BTreeMap::new();
        let mut counts = (0, 0);
        for (partition, recs) in &by_date {
            counts.0 += recs.len();
            counts.1 += recs.iter().filter(|r| !r.ok).count();
            let tables = vec![
                (
                    "segments",
                    segments_schema(),
                    self.meta.clone(),
                    batch(&segments_schema(), segment_columns(recs))?,
                ),
                (
                    "events",
                    events_schema(),
                    self.meta.clone(),
                    batch(&events_schema(), event_columns(recs, &self.categories))?,
                ),
                (
                    dataset::INTERACTIONS,
                    self.interactions_schema.clone(),
                    self.meta.clone(),
                    batch(
                        &self.interactions_schema,
                        interaction_columns(recs, self.categories.len(), self.extra_columns),
                    )?,
                ),
            ];
            parts.insert(partition.clone(), tables);
        }
        self.seq += 1;
        let published = self.ds.publish(self.seq, &parts)?;
        self.parts.extend(published);
        self.committed.0 += counts.0;
        self.committed.1 += counts.1;
        self.write_manifest()
    }

    /// Commit what is left, mark the run complete and release the dataset. Returns the
    /// interactions parts this run wrote.
    pub fn finish(mut self) -> Result<Vec<PathBuf>, OutputError> {
        self.commit()?;
        self.run_info.insert("status".into(), "complete".into());
        self.run_info.insert(
            "finished_at".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .into(),
        );
        self.write_manifest()?;
        let parts = std::mem::take(&mut self.parts);
        self.ds.close();
        Ok(parts)
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
        strings(recs.iter().map(|r| r.settings_sha256.as_deref())),
        strings(recs.iter().map(|r| Some(r.run_id.as_str()))),
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

/// The Parquet files behind `path`: the file itself, or every part of a dataset table folder
/// (`OUT/interactions`, …) in path order.
pub fn table_files(path: &Path) -> Result<Vec<PathBuf>, OutputError> {
    if !path.is_dir() {
        if !path.exists() {
            return Err(OutputError::Read {
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
pub fn read_text_rows(path: &Path) -> Result<TextRows, OutputError> {
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

/// The successfully processed interactions of the dataset in `dir` (the `--out` folder of
/// `callsift run`) as a feature table.
pub fn read_features(dir: &Path) -> Result<crate::score::FeatureTable, OutputError> {
    let table = dir.join(dataset::INTERACTIONS);
    let files = table_files(&table)?;
    if files.is_empty() {
        return Err(OutputError::Read {
            path: table,
            detail: "the dataset holds no interactions".into(),
        });
    }
    let mut batches = Vec::new();
    for f in &files {
        batches.extend(read_batches(f)?);
    }
    let path = table;
    let mut t = crate::score::FeatureTable::default();
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
    let numeric_names: Vec<&str> = crate::score::NUMERIC_FEATURES
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
    let batch =
        RecordBatch::try_new(schema.clone(), columns).map_err(|source| OutputError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
    let tmp = dir.join(format!(".{name}.partial"));
    let meta = meta.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect();
    dataset::write_synced(&tmp, schema, Some(meta), &[batch])?;
    std::fs::rename(&tmp, path).map_err(|source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
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

/// A text cell for a CSV that people open in spreadsheets: one starting with `=`, `+`, `-`,
/// `@`, tab or carriage return gets a leading `'` so it is shown as text, never evaluated as a
/// formula (OWASP, CSV injection). For texts from manifests and transcripts; callsift's own
/// numbers are written as numbers (a metric of −3.2 stays numeric).
pub fn spreadsheet_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
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
        Field::new("clip_muted_ms", DataType::Int64, true),
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
        Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.clip_muted_ms))),
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

    fn parts(dir: &Path, table: &str) -> Vec<PathBuf> {
        dataset::part_files(dir, table).unwrap()
    }

    fn rows_in(files: &[PathBuf]) -> i64 {
        files
            .iter()
            .map(|f| {
                let r = SerializedFileReader::new(File::open(f).unwrap()).unwrap();
                r.metadata().file_metadata().num_rows()
            })
            .sum()
    }

    #[test]
    fn batches_appear_only_when_committed_and_carry_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let meta = vec![("callsift.version".to_string(), "test".to_string())];
        let mut sink =
            ParquetSink::create(dir.path(), &RuleSet::builtin(), &["region".into()], &meta)
                .unwrap();
        sink.push(rec("a", true)).unwrap();
        sink.push(rec("b", false)).unwrap();
        assert!(parts(dir.path(), "interactions").is_empty());
        sink.finish().unwrap();
        let inter = parts(dir.path(), "interactions");
        assert_eq!(inter.len(), 1);
        assert!(inter[0].to_string_lossy().contains("date=2023-11-14"));
        assert_eq!(rows_in(&inter), 2);
        let r = SerializedFileReader::new(File::open(&inter[0]).unwrap()).unwrap();
        let kv = r.metadata().file_metadata().key_value_metadata().unwrap();
        assert!(kv.iter().any(|k| k.key == "callsift.version"));
        assert_eq!(rows_in(&parts(dir.path(), "segments")), 2);
        // the manifest says what the run did
        let runs: Vec<_> = std::fs::read_dir(dir.path().join("_callsift/runs"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(runs.len(), 1);
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(runs[0].path()).unwrap()).unwrap();
        assert_eq!(m["status"], "complete");
        assert_eq!(m["rows_committed"], 2);
        assert_eq!(m["rows_failed"], 1);
    }

    #[test]
    fn an_abandoned_sink_leaves_only_committed_batches() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = ParquetSink::open(
            dir.path(),
            dataset::RunKey::new(0, 1),
            &RuleSet::default(),
            &[],
            &[],
            CommitPolicy {
                rows: 2,
                max_wait: std::time::Duration::from_secs(3600),
            },
        )
        .unwrap();
        for id in ["a", "b", "c"] {
            sink.push(rec(id, true)).unwrap();
        }
        drop(sink);
        assert_eq!(rows_in(&parts(dir.path(), "interactions")), 2);
        // rerun: the dead run's manifest is marked interrupted
        let sink = ParquetSink::create(dir.path(), &RuleSet::default(), &[], &[]).unwrap();
        sink.finish().unwrap();
        let statuses: Vec<String> = std::fs::read_dir(dir.path().join("_callsift/runs"))
            .unwrap()
            .flatten()
            .map(|e| {
                let v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap();
                v["status"].as_str().unwrap().to_string()
            })
            .collect();
        assert!(
            statuses.contains(&"interrupted".to_string()),
            "{statuses:?}"
        );
    }

    #[test]
    fn removed_rows_leave_every_table() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = ParquetSink::create(dir.path(), &RuleSet::default(), &[], &[]).unwrap();
        for id in ["a", "b"] {
            sink.push(rec(id, true)).unwrap();
        }
        sink.finish().unwrap();
        let sink = ParquetSink::create(dir.path(), &RuleSet::default(), &[], &[]).unwrap();
        let ids: std::collections::HashSet<String> = ["a".to_string(), "zz".to_string()].into();
        let stored = sink.stored(&ids).unwrap();
        assert_eq!(stored.len(), 1);
        assert!(stored["a"].ok);
        sink.remove(&ids, &stored.values().collect::<Vec<_>>())
            .unwrap();
        sink.finish().unwrap();
        assert_eq!(rows_in(&parts(dir.path(), "interactions")), 1);
        assert_eq!(rows_in(&parts(dir.path(), "segments")), 1);
        let (h, rows) = read_text_rows(&dir.path().join("interactions")).unwrap();
        let id = h.iter().position(|c| c == "interaction_id").unwrap();
        assert_eq!(rows[0][id].as_deref(), Some("b"));
    }

    #[test]
    fn manifest_columns_may_not_shadow_built_ins() {
        assert!(interactions_schema(&[], &["queue".into()]).is_err());
        assert!(interactions_schema(&["beh_empathy".into()], &["beh_empathy".into()]).is_err());
    }
}
