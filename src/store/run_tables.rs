//! The three tables of a `callsift run` dataset — `interactions`, `segments`, `events` —
//! declared once each (see docs/schema.md for the columns' meaning).

use crate::analyze::metrics::Metrics;
use crate::analyze::rules::{Hit, RuleSet};
use crate::analyze::sentiment::CallSentiment;
use crate::conversation::SegmentRow;
use crate::record::Interaction;
use crate::store::StoreError;
use crate::store::dataset::{EVENTS, INTERACTIONS, PARTITION_COLUMN, SEGMENTS};
use crate::store::table::{Column, Table};

/// A metric column: null for failed files (no metrics) and where the metric is unmeasurable.
fn metric_i64(name: &str, f: fn(&Metrics) -> Option<i64>) -> Column<Interaction> {
    Column::i64(name, true, move |r: &Interaction| {
        r.metrics.as_ref().and_then(f)
    })
}
fn metric_i32(name: &str, f: fn(&Metrics) -> Option<i32>) -> Column<Interaction> {
    Column::i32(name, true, move |r: &Interaction| {
        r.metrics.as_ref().and_then(f)
    })
}
fn metric_f64(name: &str, f: fn(&Metrics) -> Option<f64>) -> Column<Interaction> {
    Column::f64(name, true, move |r: &Interaction| {
        r.metrics.as_ref().and_then(f)
    })
}
fn sentiment(name: &str, f: fn(&CallSentiment) -> Option<f32>) -> Column<Interaction> {
    Column::f32(name, true, move |r: &Interaction| {
        r.sentiment.as_ref().and_then(f)
    })
}

/// The built-in columns of `interactions`, in order.
fn interaction_columns() -> Vec<Column<Interaction>> {
    type I = Interaction;
    vec![
        Column::str("interaction_id", false, |r: &I| Some(&r.interaction_id)),
        Column::str("source_path", false, |r: &I| Some(&r.source_path)),
        Column::str("status", false, |r: &I| {
            Some(if r.ok { "ok" } else { "error" })
        }),
        Column::str("error", true, |r: &I| r.error.as_deref()),
        Column::str("content_sha256", true, |r: &I| r.content_sha256.as_deref()),
        Column::str("settings_sha256", true, |r: &I| {
            r.settings_sha256.as_deref()
        }),
        Column::str("run_id", false, |r: &I| Some(&r.run_id)),
        Column::i64("duration_ms", true, |r: &I| r.duration_ms),
        Column::i32("sample_rate_hz", true, |r: &I| r.sample_rate_hz),
        Column::i32("channels", true, |r: &I| r.channels),
        Column::str("codec", true, |r: &I| r.codec.as_deref()),
        Column::str("agent_id", true, |r: &I| r.agent_id.as_deref()),
        Column::str("customer_id", true, |r: &I| r.customer_id.as_deref()),
        Column::timestamp_ms("started_at", true, |r: &I| r.started_at),
        Column::str("queue", true, |r: &I| r.queue.as_deref()),
        Column::str("contact_channel", true, |r: &I| {
            r.contact_channel.as_deref()
        }),
        Column::str("model", false, |r: &I| Some(&r.model)),
        Column::str("language", false, |r: &I| Some(&r.language)),
        Column::str("transcript", true, |r: &I| r.transcript.as_deref()),
        Column::i32("agent_words", true, |r: &I| r.agent_words),
        Column::i32("customer_words", true, |r: &I| r.customer_words),
        Column::i32("total_words", true, |r: &I| r.total_words),
        Column::i32("segment_count", true, |r: &I| r.segment_count),
        Column::i64("processing_ms", false, |r: &I| Some(r.processing_ms)),
        metric_i64("talk_time_ms", |x| Some(x.talk_time_ms)),
        metric_i64("talk_time_agent_ms", |x| x.talk_time_agent_ms),
        metric_i64("talk_time_customer_ms", |x| x.talk_time_customer_ms),
        metric_i64("non_talk_time_ms", |x| Some(x.non_talk_time_ms)),
        Column::spans("non_talk_instances", true, |r: &I| {
            r.metrics.as_ref().map(|x| x.non_talk_instances.as_slice())
        }),
        metric_i64("longest_silence_ms", |x| Some(x.longest_silence_ms)),
        metric_i32("hold_count", |x| x.hold_count),
        metric_i64("hold_time_ms", |x| x.hold_time_ms),
        Column::spans("holds", true, |r: &I| {
            r.metrics
                .as_ref()
                .filter(|x| x.hold_count.is_some())
                .map(|x| x.holds.as_slice())
        }),
        metric_i64("hold_music_ms", |x| x.hold_music_ms),
        metric_i32("holds_announced", |x| x.holds_announced),
        metric_i32("holds_thanked", |x| x.holds_thanked),
        metric_i32("interruptions_agent", |x| x.interruptions_agent),
        metric_i32("interruptions_customer", |x| x.interruptions_customer),
        metric_i64("overtalk_ms", |x| x.overtalk_ms),
        metric_f64("talk_speed_agent_wpm", |x| x.talk_speed_agent_wpm),
        metric_f64("talk_speed_customer_wpm", |x| x.talk_speed_customer_wpm),
        metric_f64("talk_speed_wpm", |x| x.talk_speed_wpm),
        metric_f64("loudness_agent_db", |x| x.loudness_agent_db),
        metric_f64("loudness_customer_db", |x| x.loudness_customer_db),
        metric_i64("agent_response_latency_ms", |x| x.agent_response_latency_ms),
        metric_f64("talk_listen_ratio", |x| x.talk_listen_ratio),
        Column::i32("pii_redactions", true, |r: &I| r.pii_redactions),
        Column::i32("customer_name_uses", true, |r: &I| r.customer_name_uses),
        Column::str("roles_source", true, |r: &I| r.roles_source.as_deref()),
        Column::f64("role_confidence", true, |r: &I| r.role_confidence),
        Column::i32("speakers", true, |r: &I| r.speakers),
        sentiment("sentiment_overall", |s| s.overall),
        sentiment("sentiment_agent", |s| s.agent),
        sentiment("sentiment_customer", |s| s.customer),
        sentiment("sentiment_agent_q1", |s| s.agent_quarters[0]),
        sentiment("sentiment_agent_q2", |s| s.agent_quarters[1]),
        sentiment("sentiment_agent_q3", |s| s.agent_quarters[2]),
        sentiment("sentiment_agent_q4", |s| s.agent_quarters[3]),
        sentiment("sentiment_customer_q1", |s| s.customer_quarters[0]),
        sentiment("sentiment_customer_q2", |s| s.customer_quarters[1]),
        sentiment("sentiment_customer_q3", |s| s.customer_quarters[2]),
        sentiment("sentiment_customer_q4", |s| s.customer_quarters[3]),
        sentiment("sentiment_customer_change", |s| s.customer_change),
    ]
}

/// `interactions`: the built-in columns, one boolean per rule category (`beh_*`, `evt_*`,
/// `topic_*`), then the manifest's pass-through columns (which may not shadow a built-in
/// column or the `date` partition column).
pub fn interactions(rules: &RuleSet, extra: &[String]) -> Result<Table<Interaction>, StoreError> {
    let mut t = Table::new(INTERACTIONS, interaction_columns());
    for (i, c) in rules.categories.iter().enumerate() {
        t.columns
            .push(Column::bool(c.column(), true, move |r: &Interaction| {
                r.categories.get(i).copied().flatten()
            }));
    }
    for (i, name) in extra.iter().enumerate() {
        if name == PARTITION_COLUMN || t.has(name) {
            return Err(StoreError::ColumnClash(name.clone()));
        }
        t.columns
            .push(Column::str(name.clone(), true, move |r: &Interaction| {
                r.extra.get(i).and_then(|v| v.as_deref())
            }));
    }
    Ok(t)
}

/// A row of `segments`: a call's id and one of its segments.
pub type SegmentOf<'a> = (&'a str, &'a SegmentRow);

/// `segments`: every transcribed (redacted) segment of the processed calls.
pub fn segments<'a>() -> Table<SegmentOf<'a>> {
    type S<'a> = SegmentOf<'a>;
    Table::new(
        SEGMENTS,
        vec![
            Column::str("interaction_id", false, |r: &S| Some(r.0)),
            Column::str("role", false, |r: &S| Some(r.1.role.as_str())),
            Column::i32("channel", false, |r: &S| Some(r.1.channel)),
            Column::i32("speaker", false, |r: &S| Some(r.1.speaker)),
            Column::i64("start_ms", false, |r: &S| Some(r.1.start_ms)),
            Column::i64("end_ms", false, |r: &S| Some(r.1.end_ms)),
            Column::str("text", false, |r: &S| Some(&r.1.text)),
            Column::f32("sentiment", false, |r: &S| Some(r.1.sentiment)),
            Column::f32("avg_token_prob", false, |r: &S| Some(r.1.avg_token_prob)),
            Column::f32("no_speech_prob", false, |r: &S| Some(r.1.no_speech_prob)),
            Column::redactions("redactions", true, |r: &S| r.1.redactions.as_deref()),
        ],
    )
}

/// A row of `events`: a call's id, a rule hit, and the hit category's id and kind.
pub type EventOf<'a> = (&'a str, &'a Hit, &'a str, &'static str);

/// `events`: one row per rule hit, with its evidence (redacted).
pub fn events<'a>() -> Table<EventOf<'a>> {
    type E<'a> = EventOf<'a>;
    Table::new(
        EVENTS,
        vec![
            Column::str("interaction_id", false, |r: &E| Some(r.0)),
            Column::str("category_id", false, |r: &E| Some(r.2)),
            Column::str("kind", false, |r: &E| Some(r.3)),
            Column::str("role", false, |r: &E| Some(r.1.role.as_str())),
            Column::i64("start_ms", false, |r: &E| Some(r.1.start_ms)),
            Column::i64("end_ms", false, |r: &E| Some(r.1.end_ms)),
            Column::str("evidence", false, |r: &E| Some(&r.1.evidence)),
            Column::str("matched", false, |r: &E| Some(&r.1.matched)),
            Column::str("matched_by", false, |r: &E| Some(r.1.layer.as_str())),
            Column::f32("confidence", false, |r: &E| Some(r.1.confidence)),
        ],
    )
}
