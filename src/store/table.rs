//! A table declared once: each column's name, type, nullability and getter from a row type,
//! from which both the Arrow schema and the record batches are derived — so the two can never
//! disagree. Every table callsift writes is a [`Table`].

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array, ListArray,
    ListBuilder, RecordBatch, StringArray, StringBuilder, StructArray, TimestampMillisecondArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;

use crate::analyze::metrics::Span;
use crate::conversation::Redaction;

type Get<R, T> = Box<dyn for<'a> Fn(&'a R) -> T + Send + Sync>;
type GetStr<R> = Box<dyn for<'a> Fn(&'a R) -> Option<&'a str> + Send + Sync>;
type GetSpans<R> = Box<dyn for<'a> Fn(&'a R) -> Option<&'a [Span]> + Send + Sync>;
type GetStrList<R> = Box<dyn for<'a> Fn(&'a R) -> &'a [String] + Send + Sync>;
type GetRedactions<R> = Box<dyn for<'a> Fn(&'a R) -> Option<&'a [Redaction]> + Send + Sync>;

/// How a column's values are taken from a row; the variant fixes the column's Arrow type.
enum Getter<R> {
    Str(GetStr<R>),
    I32(Get<R, Option<i32>>),
    I64(Get<R, Option<i64>>),
    F32(Get<R, Option<f32>>),
    F64(Get<R, Option<f64>>),
    Bool(Get<R, Option<bool>>),
    /// Milliseconds since the Unix epoch, UTC.
    TimestampMs(Get<R, Option<i64>>),
    /// `list<struct<start_ms, end_ms>>`
    Spans(GetSpans<R>),
    /// `list<string>`
    StrList(GetStrList<R>),
    /// `list<struct<kind, start_ms, end_ms>>`
    Redactions(GetRedactions<R>),
}

/// One column of a table of rows `R`.
pub struct Column<R> {
    pub name: String,
    pub nullable: bool,
    get: Getter<R>,
}

macro_rules! constructor {
    ($(#[$doc:meta])* $fn:ident, $variant:ident, $t:ty) => {
        $(#[$doc])*
        pub fn $fn(
            name: impl Into<String>,
            nullable: bool,
            get: impl Fn(&R) -> $t + Send + Sync + 'static,
        ) -> Self {
            Column { name: name.into(), nullable, get: Getter::$variant(Box::new(get)) }
        }
    };
}

impl<R> Column<R> {
    /// A UTF-8 column.
    pub fn str(
        name: impl Into<String>,
        nullable: bool,
        get: impl for<'a> Fn(&'a R) -> Option<&'a str> + Send + Sync + 'static,
    ) -> Self {
        Column {
            name: name.into(),
            nullable,
            get: Getter::Str(Box::new(get)),
        }
    }
    constructor!(i32, I32, Option<i32>);
    constructor!(i64, I64, Option<i64>);
    constructor!(f32, F32, Option<f32>);
    constructor!(f64, F64, Option<f64>);
    constructor!(bool, Bool, Option<bool>);
    constructor!(
        /// A UTC timestamp column in milliseconds since the epoch.
        timestamp_ms,
        TimestampMs,
        Option<i64>
    );
    /// Time ranges: `list<struct<start_ms: int64, end_ms: int64>>`.
    pub fn spans(
        name: impl Into<String>,
        nullable: bool,
        get: impl for<'a> Fn(&'a R) -> Option<&'a [Span]> + Send + Sync + 'static,
    ) -> Self {
        Column {
            name: name.into(),
            nullable,
            get: Getter::Spans(Box::new(get)),
        }
    }
    /// Redacted stretches: `list<struct<kind: string, start_ms: int64, end_ms: int64>>`.
    pub fn redactions(
        name: impl Into<String>,
        nullable: bool,
        get: impl for<'a> Fn(&'a R) -> Option<&'a [Redaction]> + Send + Sync + 'static,
    ) -> Self {
        Column {
            name: name.into(),
            nullable,
            get: Getter::Redactions(Box::new(get)),
        }
    }
    /// A list of strings (never null; may be empty).
    pub fn str_list(
        name: impl Into<String>,
        get: impl for<'a> Fn(&'a R) -> &'a [String] + Send + Sync + 'static,
    ) -> Self {
        Column {
            name: name.into(),
            nullable: false,
            get: Getter::StrList(Box::new(get)),
        }
    }

    fn data_type(&self) -> DataType {
        match self.get {
            Getter::Str(_) => DataType::Utf8,
            Getter::I32(_) => DataType::Int32,
            Getter::I64(_) => DataType::Int64,
            Getter::F32(_) => DataType::Float32,
            Getter::F64(_) => DataType::Float64,
            Getter::Bool(_) => DataType::Boolean,
            Getter::TimestampMs(_) => {
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
            }
            Getter::Spans(_) => span_list_type(),
            Getter::Redactions(_) => redaction_list_type(),
            Getter::StrList(_) => {
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
            }
        }
    }

    fn values(&self, rows: &[R]) -> ArrayRef {
        match &self.get {
            Getter::Str(f) => Arc::new(StringArray::from_iter(rows.iter().map(f))),
            Getter::I32(f) => Arc::new(Int32Array::from_iter(rows.iter().map(f))),
            Getter::I64(f) => Arc::new(Int64Array::from_iter(rows.iter().map(f))),
            Getter::F32(f) => Arc::new(Float32Array::from_iter(rows.iter().map(f))),
            Getter::F64(f) => Arc::new(Float64Array::from_iter(rows.iter().map(f))),
            Getter::Bool(f) => Arc::new(BooleanArray::from_iter(rows.iter().map(f))),
            Getter::TimestampMs(f) => Arc::new(
                TimestampMillisecondArray::from_iter(rows.iter().map(f)).with_timezone("UTC"),
            ),
            Getter::Spans(f) => span_lists(rows.iter().map(f)),
            Getter::Redactions(f) => redaction_lists(rows.iter().map(f)),
            Getter::StrList(f) => {
                let mut b = ListBuilder::new(StringBuilder::new());
                for r in rows {
                    for v in f(r) {
                        b.values().append_value(v);
                    }
                    b.append(true);
                }
                Arc::new(b.finish())
            }
        }
    }
}

/// A table: its name and its columns, in order.
pub struct Table<R> {
    pub name: &'static str,
    pub columns: Vec<Column<R>>,
}

impl<R> Table<R> {
    pub fn new(name: &'static str, columns: Vec<Column<R>>) -> Self {
        Table { name, columns }
    }

    /// The Arrow schema: one field per column, in order.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.data_type(), c.nullable))
                .collect::<Vec<_>>(),
        ))
    }

    /// The rows as one record batch (fails if a non-nullable column holds a null).
    pub fn batch(&self, rows: &[R]) -> Result<RecordBatch, ArrowError> {
        RecordBatch::try_new(
            self.schema(),
            self.columns.iter().map(|c| c.values(rows)).collect(),
        )
    }

    /// Whether a column of this name exists.
    pub fn has(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.name == name)
    }
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
        unreachable!("span_list_type is a list")
    };
    Arc::new(ListArray::new(
        field,
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Arc::new(values),
        Some(NullBuffer::from(valid)),
    ))
}

fn redaction_fields() -> Fields {
    Fields::from(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("start_ms", DataType::Int64, false),
        Field::new("end_ms", DataType::Int64, false),
    ])
}

/// `list<struct<kind: string, start_ms: int64, end_ms: int64>>`: redacted stretches.
pub fn redaction_list_type() -> DataType {
    DataType::List(Arc::new(Field::new(
        "item",
        DataType::Struct(redaction_fields()),
        false,
    )))
}

fn redaction_lists<'a>(lists: impl Iterator<Item = Option<&'a [Redaction]>>) -> ArrayRef {
    let mut offsets = vec![0i32];
    let (mut kinds, mut starts, mut ends, mut valid) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for l in lists {
        valid.push(l.is_some());
        for r in l.unwrap_or_default() {
            kinds.push(r.kind.as_str());
            starts.push(r.start_ms);
            ends.push(r.end_ms);
        }
        offsets.push(starts.len() as i32);
    }
    let values = StructArray::new(
        redaction_fields(),
        vec![
            Arc::new(StringArray::from(kinds)) as ArrayRef,
            Arc::new(Int64Array::from(starts)) as ArrayRef,
            Arc::new(Int64Array::from(ends)) as ArrayRef,
        ],
        None,
    );
    let DataType::List(field) = redaction_list_type() else {
        unreachable!("redaction_list_type is a list")
    };
    Arc::new(ListArray::new(
        field,
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Arc::new(values),
        Some(NullBuffer::from(valid)),
    ))
}
