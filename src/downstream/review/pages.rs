//! The pages the server answers GET requests with: dashboard, queue, call, calibration, and
//! the CSV export of the reviews.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::book::Status;
use super::calibration;
use super::data::{Call, polarity_name};
use super::state::{Params, html, not_found, score_text, status_of};
use super::views::{
    self, AccuracyLine, AgreementLine, CalibrationPage, CallPage, FormItem, HistoryLine, QueueLine,
    QueuePage,
};

type Shared = std::sync::Arc<super::state::State>;

/// The queue filters a call passes: agent, queue, channel, reason, status, and a date range
/// (`from`, `to`: YYYY-MM-DD, UTC).
pub fn passes(
    call: &Call,
    reasons: &[String],
    status: Status,
    f: &BTreeMap<String, String>,
) -> bool {
    let is = |k: &str, v: Option<&String>| f.get(k).is_none_or(|want| v == Some(want));
    let day = views::when(call.started_at)
        .get(..10)
        .unwrap_or("")
        .to_string();
    is("agent", call.agent_id.as_ref())
        && is("queue", call.queue.as_ref())
        && is("channel", call.contact_channel.as_ref())
        && f.get("reason").is_none_or(|r| reasons.contains(r))
        && f.get("flag")
            .is_none_or(|fl| call.flags.get(fl) == Some(&Some(true)))
        && f.get("status").is_none_or(|s| s == status.class())
        && f.get("from")
            .is_none_or(|d| !day.is_empty() && day.as_str() >= d.as_str())
        && f.get("to")
            .is_none_or(|d| !day.is_empty() && day.as_str() <= d.as_str())
}

const FILTERS: [&str; 9] = [
    "agent", "queue", "channel", "reason", "flag", "status", "from", "to", "all",
];

/// The queue: the calls to review (`?all=1`: every call of the dataset), filtered.
pub async fn queue(State(st): State<Shared>, headers: HeaderMap, q: Params) -> Response {
    let f: BTreeMap<String, String> =
        q.0.into_iter()
            .filter(|(k, v)| FILTERS.contains(&k.as_str()) && !v.is_empty())
            .collect();
    let who = st.who(&headers);
    let statuses = who
        .reviewer
        .as_deref()
        .map(|r| st.book.statuses(r))
        .unwrap_or_default();
    let by_call = st.book.reviewers_by_call();
    let all;
    let entries = if f.contains_key("all") || f.contains_key("flag") {
        all = st
            .data
            .calls
            .iter()
            .map(|c| super::data::QueueEntry {
                id: c.id.clone(),
                pick: "dataset".into(),
                reasons: super::data::call_reasons(c),
            })
            .collect::<Vec<_>>();
        &all
    } else {
        &st.data.queue
    };
    let mut counts = [0; 3];
    let mut lines = Vec::new();
    for e in entries {
        let Some(c) = st.data.call(&e.id) else {
            continue;
        };
        let status = status_of(&statuses, &e.id);
        if !passes(c, &e.reasons, status, &f) {
            continue;
        }
        counts[status as usize] += 1;
        lines.push(QueueLine {
            id: e.id.clone(),
            agent: c.agent_id.clone().unwrap_or_default(),
            started: views::when(c.started_at),
            queue: c.queue.clone().unwrap_or_default(),
            pick: e.pick.clone(),
            reasons: e.reasons.clone(),
            status: status.label(),
            reviewed_by: by_call.get(&e.id).cloned().unwrap_or_default(),
        });
    }
    let page = QueuePage {
        who,
        title: "Review queue".into(),
        filters: f.into_iter().filter(|(k, _)| k != "all").collect(),
        lines,
        counts,
        source: st.source.clone(),
    };
    html(StatusCode::OK, &page)
}

/// A call's page.
pub async fn call(
    State(st): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    match st.data.call(&id) {
        Some(c) => call_page(&st, &headers, c, Vec::new()),
        None => not_found().await,
    }
}

/// The call page, with `errors` of a submit that could not be taken.
pub fn call_page(
    st: &super::state::State,
    headers: &HeaderMap,
    call: &Call,
    errors: Vec<String>,
) -> Response {
    let who = st.who(headers);
    let current = who
        .reviewer
        .as_deref()
        .map(|r| st.book.current(r, &call.id))
        .unwrap_or_default();
    let items = form_items(st, call, &current);
    let status = match current.first() {
        None => Status::ToDo,
        Some(r) if r.status == "submitted" => Status::Done,
        Some(_) => Status::InProgress,
    };
    let reasons = st
        .data
        .queue
        .iter()
        .find(|e| e.id == call.id)
        .map(|e| e.reasons.clone())
        .unwrap_or_default();
    let page = CallPage {
        started: views::when(call.started_at),
        duration: call.duration_ms.map(views::clock).unwrap_or_default(),
        meta: call.meta.clone(),
        muted: !st.keep_original_audio,
        lanes: views::timeline(call),
        lines: views::transcript(call),
        detections: views::detections(call),
        reasons,
        others: st
            .data
            .same_customer(call)
            .into_iter()
            .map(|o| (o.id.clone(), views::when(o.started_at)))
            .collect(),
        items,
        note: current
            .first()
            .and_then(|r| r.coaching_note.clone())
            .unwrap_or_default(),
        status: status.label(),
        score: score_text(current.first().and_then(|r| r.score)),
        errors,
        history: st
            .book
            .history(&call.id)
            .into_iter()
            .map(|(reviewer, t, status, score, overridden)| HistoryLine {
                reviewer,
                saved: views::when(Some(t)),
                status,
                score: score_text(score),
                overridden,
            })
            .collect(),
        checklist_version: st.data.checklist_version.clone(),
        who,
        call,
    };
    html(
        if page.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        &page,
    )
}

/// The checklist's items, with the reviewer's saved verdicts or else callsift's flags.
fn form_items(
    st: &super::state::State,
    call: &Call,
    current: &[crate::store::reviews::ReviewRow],
) -> Vec<FormItem> {
    st.data
        .checklist
        .iter()
        .map(|it| {
            let auto = match call.flags.get(&it.item).copied().flatten() {
                Some(true) => "yes",
                Some(false) => "no",
                None => "",
            };
            let saved = current.iter().find(|r| r.item == it.item);
            FormItem {
                item: it.item.clone(),
                weight: format!("{}", it.weight),
                polarity: polarity_name(it.polarity),
                auto,
                verdict: saved.map_or_else(|| auto.to_string(), |r| r.verdict.clone()),
                reason: saved.and_then(|r| r.reason.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

fn fmt(x: Option<f64>) -> String {
    x.map_or_else(|| "not tested".into(), |v| format!("{v:.2}"))
}

/// Calibration: agreement per item, flags against verdicts.
pub async fn calibration(State(st): State<Shared>, headers: HeaderMap) -> Response {
    let latest = st.book.latest(true);
    let rows: Vec<_> = latest.iter().flatten().cloned().collect();
    let items: Vec<String> = st.data.checklist.iter().map(|i| i.item.clone()).collect();
    let page = CalibrationPage {
        who: st.who(&headers),
        reviews: latest.len(),
        agreement: calibration::agreement(&rows, &items)
            .into_iter()
            .map(|a| AgreementLine {
                item: a.item,
                method: a.method,
                calls: a.calls,
                reviewers: a.reviewers,
                observed: fmt(a.observed),
                kappa: fmt(a.kappa),
            })
            .collect(),
        accuracy: calibration::flag_accuracy(&rows, &items)
            .into_iter()
            .map(|a| AccuracyLine {
                counts: format!(
                    "{} / {} / {} / {}",
                    a.true_pos, a.false_pos, a.false_neg, a.true_neg
                ),
                n: a.n(),
                precision: fmt(a.precision),
                recall: fmt(a.recall),
                item: a.item,
            })
            .collect(),
    };
    html(StatusCode::OK, &page)
}

/// Every saved row of the reviews as CSV (texts neutralised for spreadsheets).
pub async fn export_csv(State(st): State<Shared>) -> Response {
    let mut w = csv::Writer::from_writer(Vec::new());
    let t = |s: &str| crate::downstream::spreadsheet_text(s);
    let _ = w.write_record(crate::store::reviews::column_names());
    for r in st.book.all() {
        let iso = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|d| d.to_rfc3339())
                .unwrap_or_default()
        };
        let _ = w.write_record([
            t(&r.review_id),
            t(&r.interaction_id),
            t(&r.reviewer),
            r.status.clone(),
            iso(r.started_at),
            iso(r.saved_at),
            r.checklist_version.clone(),
            t(&r.item),
            r.weight.to_string(),
            r.polarity.clone(),
            r.auto_flag.map(|b| b.to_string()).unwrap_or_default(),
            r.verdict.clone(),
            r.overridden.to_string(),
            r.reason.as_deref().map(t).unwrap_or_default(),
            r.coaching_note.as_deref().map(t).unwrap_or_default(),
            r.score.map(|s| format!("{s:.1}")).unwrap_or_default(),
        ]);
    }
    let body = w.into_inner().unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"reviews.csv\"",
            ),
        ],
        body,
    )
        .into_response()
}
