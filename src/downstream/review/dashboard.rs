//! The dashboard (home page): the figures of the dataset over the calls the filters keep (date
//! range, queue, channel, agent, topic) — volume, non-talk share, the rate of every event,
//! topic and behaviour with its 95% interval, long silences, calls per agent and queue, review
//! progress, and the drivers of satisfaction `score` found (`--scores`) — each with its n and a link to the list of its calls (the queue page with the
//! same filters). Measures are those of `downstream::measures`, as in the report.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::book::Status;
use super::data::{Call, call_reasons};
use super::pages::passes;
use super::state::{Params, html, url_escape};
use super::views::{Figure, FigureTable, HomePage, Select};
use crate::downstream::measures;

type Shared = std::sync::Arc<super::state::State>;

/// The filters of the dashboard, as given.
const FILTERS: [&str; 6] = ["agent", "queue", "channel", "reason", "from", "to"];

fn interval(i: measures::Interval) -> String {
    i.map(|(a, b)| format!(" [{a:.1}–{b:.1}]"))
        .unwrap_or_default()
}

/// The share of `k` of `n` calls with its interval, linked to the calls.
fn rate_figure(label: String, k: usize, n: usize, href: String) -> Figure {
    Figure {
        label,
        value: if n > 0 {
            format!(
                "{:.1}%{} ({k} calls)",
                100.0 * k as f64 / n as f64,
                interval(measures::rate_interval(k, n))
            )
        } else {
            "no calls".into()
        },
        n,
        href,
    }
}

/// Calls per value of a column (agent, queue), each linked to its list.
fn count_table(
    title: &str,
    key: &str,
    calls: &[&Call],
    link: &str,
    get: impl Fn(&Call) -> Option<&String>,
) -> FigureTable {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for c in calls {
        if let Some(v) = get(c) {
            *counts.entry(v.as_str()).or_default() += 1;
        }
    }
    FigureTable {
        title: title.into(),
        figures: counts
            .into_iter()
            .map(|(v, n)| Figure {
                label: v.to_string(),
                value: format!("{n} calls"),
                n,
                href: format!("{link}&{key}={}", url_escape(v)),
            })
            .collect(),
    }
}

/// The rate of each flag with a prefix, over the calls where it is known.
fn flag_table(title: &str, prefix: &str, calls: &[&Call], link: &str) -> FigureTable {
    let names: Vec<&String> = calls
        .first()
        .map(|c| c.flags.keys().filter(|f| f.starts_with(prefix)).collect())
        .unwrap_or_default();
    let figures = names
        .into_iter()
        .map(|f| {
            let known: Vec<&&Call> = calls
                .iter()
                .filter(|c| c.flags.get(f).is_some_and(Option::is_some))
                .collect();
            let k = known.iter().filter(|c| c.flags[f] == Some(true)).count();
            rate_figure(
                f.to_string(),
                k,
                known.len(),
                format!("{link}&flag={}", url_escape(f)),
            )
        })
        .collect();
    FigureTable {
        title: title.into(),
        figures,
    }
}

/// The silence figures: non-talk share (pooled, with its interval) and long silences.
fn silence_table(calls: &[&Call], link: &str) -> FigureTable {
    let (share, n, ci) = measures::non_talk_share_with_interval(calls.iter().map(|c| {
        (
            c.numbers.get("non_talk_time_ms").copied(),
            c.duration_ms.map(|d| d as f64),
        )
    }));
    let silent = calls
        .iter()
        .filter(|c| c.detections.iter().any(|d| d.kind == "silence"))
        .count();
    FigureTable {
        title: "Silence".into(),
        figures: vec![
            Figure {
                label: "non-talk share of call time (pooled)".into(),
                value: share
                    .map(|s| format!("{s:.1}%{}", interval(ci)))
                    .unwrap_or_else(|| "unknown".into()),
                n,
                href: link.into(),
            },
            rate_figure(
                "calls with a silence of 10 s or more".into(),
                silent,
                calls.len(),
                format!("{link}&reason=long_silence"),
            ),
        ],
    }
}

/// The drivers `score` found, each linked to the calls with the feature (all calls: the
/// driver analysis is over every surveyed call, not the filters).
fn driver_table(drivers: &[super::data::Driver]) -> FigureTable {
    FigureTable {
        title: "What moves satisfaction (callsift score, over all surveyed calls)".into(),
        figures: drivers
            .iter()
            .map(|d| Figure {
                label: format!("{} — {}/{}", d.feature, d.survey_type, d.outcome),
                value: format!("adjusted effect {}", d.effect),
                n: d.n,
                href: if ["beh_", "evt_", "topic_"]
                    .iter()
                    .any(|p| d.feature.starts_with(p))
                {
                    format!("/queue?all=1&flag={}", url_escape(&d.feature))
                } else {
                    "/queue?all=1".into()
                },
            })
            .collect(),
    }
}

/// The choices of a filter: every value the dataset holds.
fn select(name: &'static str, values: Vec<String>, f: &BTreeMap<String, String>) -> Select {
    let mut values = values;
    values.sort();
    values.dedup();
    Select {
        name,
        selected: f.get(name).cloned().unwrap_or_default(),
        values,
    }
}

fn selects(calls: &[Call], f: &BTreeMap<String, String>) -> Vec<Select> {
    let of = |get: fn(&Call) -> Option<&String>| -> Vec<String> {
        calls.iter().filter_map(|c| get(c).cloned()).collect()
    };
    vec![
        select("agent", of(|c| c.agent_id.as_ref()), f),
        select("queue", of(|c| c.queue.as_ref()), f),
        select("channel", of(|c| c.contact_channel.as_ref()), f),
        select("reason", calls.iter().flat_map(call_reasons).collect(), f),
    ]
}

/// The dashboard.
pub async fn home(State(st): State<Shared>, headers: HeaderMap, q: Params) -> Response {
    let f: BTreeMap<String, String> =
        q.0.into_iter()
            .filter(|(k, v)| FILTERS.contains(&k.as_str()) && !v.is_empty())
            .collect();
    let calls: Vec<&Call> = st
        .data
        .calls
        .iter()
        .filter(|c| passes(c, &call_reasons(c), Status::ToDo, &f))
        .collect();
    let link: String = std::iter::once("/queue?all=1".to_string())
        .chain(f.iter().map(|(k, v)| format!("{k}={}", url_escape(v))))
        .collect::<Vec<_>>()
        .join("&");
    let mut tables = vec![
        silence_table(&calls, &link),
        flag_table("Events", "evt_", &calls, &link),
        flag_table("Topics", "topic_", &calls, &link),
        flag_table("Behaviours", "beh_", &calls, &link),
        count_table("Calls per agent", "agent", &calls, &link, |c| {
            c.agent_id.as_ref()
        }),
        count_table("Calls per queue", "queue", &calls, &link, |c| {
            c.queue.as_ref()
        }),
    ];
    if !st.data.drivers.is_empty() {
        tables.insert(0, driver_table(&st.data.drivers));
    }
    let kept: std::collections::HashSet<&str> = calls.iter().map(|c| c.id.as_str()).collect();
    let scores: Vec<f64> = st
        .book
        .latest(true)
        .iter()
        .filter_map(|v| v.first())
        .filter(|r| kept.contains(r.interaction_id.as_str()))
        .filter_map(|r| r.score)
        .collect();
    let page = HomePage {
        who: st.who(&headers),
        selects: selects(&st.data.calls, &f),
        from: f.get("from").cloned().unwrap_or_default(),
        to: f.get("to").cloned().unwrap_or_default(),
        calls: calls.len(),
        all_calls: st.data.calls.len(),
        link,
        hours: format!(
            "{:.2}",
            calls.iter().filter_map(|c| c.duration_ms).sum::<i64>() as f64 / 3.6e6
        ),
        queued: st.data.queue.len(),
        reviewed: scores.len(),
        mean_score: match scores.len() {
            0 => "none yet".into(),
            n => format!(
                "{:.1}{}",
                scores.iter().sum::<f64>() / n as f64,
                interval(measures::mean_interval(&scores))
            ),
        },
        tables,
    };
    html(StatusCode::OK, &page)
}
