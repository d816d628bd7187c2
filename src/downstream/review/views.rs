//! The server's pages: askama templates `templates/review_*.html` on the layout and stylesheet
//! of every callsift page. Every value from the data (ids, manifest columns, transcript,
//! evidence, survey answers, reviewers' names and notes) is escaped by the templates; ids go
//! into links percent-encoded; times go into `data-t` attributes as numbers, read by the
//! vendored script (`templates/review.js`).

use askama::Template;

use super::book::Status;
use super::data::{Call, Detection};
use crate::downstream::sample::audio_redaction::Segment;

/// `mm:ss` (or `h:mm:ss`) of a call time.
pub fn clock(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// Seconds for `data-t` (the player's `currentTime`).
pub fn secs(ms: i64) -> String {
    format!("{:.2}", ms.max(0) as f64 / 1000.0)
}

/// A UTC date and time, or empty.
pub fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The top bar of every page: who reviews, and the form to change it.
pub struct Who {
    pub reviewer: Option<String>,
    pub csrf: String,
}

/// One line of the queue.
pub struct QueueLine {
    pub id: String,
    pub agent: String,
    pub started: String,
    pub queue: String,
    pub pick: String,
    pub reasons: Vec<String>,
    pub status: &'static str,
    /// Reviewers who submitted a review.
    pub reviewed_by: Vec<String>,
}

#[derive(Template)]
#[template(path = "review_queue.html")]
pub struct QueuePage {
    pub who: Who,
    pub title: String,
    pub filters: Vec<(String, String)>,
    pub lines: Vec<QueueLine>,
    pub counts: [usize; 3],
    pub source: String,
}

/// A bar of the timeline: its lane class, place and width (percent of the call), start.
pub struct Bar {
    pub class: &'static str,
    pub left: String,
    pub width: String,
    pub t: String,
    pub title: String,
}

/// A lane of the timeline.
pub struct Lane {
    pub name: &'static str,
    pub bars: Vec<Bar>,
}

/// A transcript line in its role's lane.
pub struct Line<'a> {
    pub t: String,
    pub time: String,
    pub role: &'a str,
    /// 0 agent, 1 customer, 2 unknown (mono).
    pub lane: u8,
    pub text: &'a str,
}

/// A detection, shown with its evidence.
pub struct Shown<'a> {
    pub d: &'a Detection,
    pub t: String,
    pub at: String,
}

/// A checklist item of the form.
pub struct FormItem {
    pub item: String,
    pub weight: String,
    pub polarity: &'static str,
    /// `yes` / `no` (callsift's flag), empty when unknown.
    pub auto: &'static str,
    /// The verdict to show checked.
    pub verdict: String,
    pub reason: String,
}

/// A save in the review history.
pub struct HistoryLine {
    pub reviewer: String,
    pub saved: String,
    pub status: String,
    pub score: String,
    pub overridden: usize,
}

#[derive(Template)]
#[template(path = "review_call.html")]
pub struct CallPage<'a> {
    pub who: Who,
    pub call: &'a Call,
    pub started: String,
    pub duration: String,
    pub meta: Vec<(String, String)>,
    pub muted: bool,
    pub lanes: Vec<Lane>,
    pub lines: Vec<Line<'a>>,
    pub detections: Vec<Shown<'a>>,
    pub reasons: Vec<String>,
    pub others: Vec<(String, String)>,
    pub items: Vec<FormItem>,
    pub note: String,
    pub status: &'static str,
    pub score: String,
    pub errors: Vec<String>,
    pub history: Vec<HistoryLine>,
    pub checklist_version: String,
}

/// A row of the calibration page.
pub struct AgreementLine {
    pub item: String,
    pub method: &'static str,
    pub calls: usize,
    pub reviewers: usize,
    pub observed: String,
    pub kappa: String,
}

pub struct AccuracyLine {
    pub item: String,
    pub precision: String,
    pub recall: String,
    pub counts: String,
    pub n: usize,
}

#[derive(Template)]
#[template(path = "review_calibration.html")]
pub struct CalibrationPage {
    pub who: Who,
    pub reviews: usize,
    pub agreement: Vec<AgreementLine>,
    pub accuracy: Vec<AccuracyLine>,
}

/// A figure of the dashboard: label, value, its n, and the list of calls behind it.
pub struct Figure {
    pub label: String,
    pub value: String,
    pub n: usize,
    pub href: String,
}

pub struct FigureTable {
    pub title: String,
    pub figures: Vec<Figure>,
}

/// A filter of the dashboard: its name, the values to choose from, the one chosen.
pub struct Select {
    pub name: &'static str,
    pub values: Vec<String>,
    pub selected: String,
}

#[derive(Template)]
#[template(path = "review_home.html")]
pub struct HomePage {
    pub who: Who,
    pub selects: Vec<Select>,
    pub from: String,
    pub to: String,
    /// Calls the filters keep, of all.
    pub calls: usize,
    pub all_calls: usize,
    /// The list of the calls kept (the queue page with the same filters).
    pub link: String,
    pub hours: String,
    pub queued: usize,
    pub reviewed: usize,
    pub mean_score: String,
    pub tables: Vec<FigureTable>,
}

#[derive(Template)]
#[template(path = "review_message.html")]
pub struct MessagePage {
    pub title: String,
    pub message: String,
}

/// The lanes of the timeline: each party's talk, silences and holds, and overtalk.
pub fn timeline(call: &Call) -> Vec<Lane> {
    let len = call.length_ms() as f64;
    let bar = |class: &'static str, a: i64, z: i64, title: String| Bar {
        class,
        left: format!("{:.3}", 100.0 * a.max(0) as f64 / len),
        width: format!("{:.3}", (100.0 * (z - a).max(0) as f64 / len).max(0.2)),
        t: secs(a),
        title,
    };
    let talk = |role: &str, class: &'static str| {
        call.segments
            .iter()
            .filter(|s| s.role == role)
            .map(|s| {
                bar(
                    class,
                    s.start_ms,
                    s.end_ms,
                    format!("{role} {}", clock(s.start_ms)),
                )
            })
            .collect::<Vec<_>>()
    };
    let mut quiet: Vec<Bar> = call
        .silences
        .iter()
        .map(|&(a, z)| bar("silence", a, z, format!("silence {}", clock(a))))
        .collect();
    quiet.extend(
        call.holds
            .iter()
            .map(|&(a, z)| bar("hold", a, z, format!("hold {}", clock(a)))),
    );
    let over = overtalk(&call.segments)
        .into_iter()
        .map(|(a, z)| bar("overtalk", a, z, format!("overtalk {}", clock(a))))
        .collect();
    let mut lanes = vec![
        Lane {
            name: "agent",
            bars: talk("agent", "talk-agent"),
        },
        Lane {
            name: "customer",
            bars: talk("customer", "talk-customer"),
        },
    ];
    let mono = talk("unknown", "talk-unknown");
    if !mono.is_empty() {
        lanes.push(Lane {
            name: "speech (mono)",
            bars: mono,
        });
    }
    lanes.push(Lane {
        name: "silence / hold",
        bars: quiet,
    });
    lanes.push(Lane {
        name: "overtalk",
        bars: over,
    });
    lanes
}

/// Where agent and customer segments overlap.
pub fn overtalk(segs: &[Segment]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for a in segs.iter().filter(|s| s.role == "agent") {
        for c in segs.iter().filter(|s| s.role == "customer") {
            let (s, e) = (a.start_ms.max(c.start_ms), a.end_ms.min(c.end_ms));
            if e > s {
                out.push((s, e));
            }
        }
    }
    out.sort();
    out
}

/// The transcript, each line in its role's lane.
pub fn transcript(call: &Call) -> Vec<Line<'_>> {
    call.segments
        .iter()
        .map(|s| Line {
            t: secs(s.start_ms),
            time: clock(s.start_ms),
            role: &s.role,
            lane: match s.role.as_str() {
                "agent" => 0,
                "customer" => 1,
                _ => 2,
            },
            text: &s.text,
        })
        .collect()
}

/// Every detection with its moment.
pub fn detections(call: &Call) -> Vec<Shown<'_>> {
    call.detections
        .iter()
        .map(|d| Shown {
            d,
            t: secs(d.start_ms),
            at: if d.end_ms > d.start_ms {
                format!("{}–{}", clock(d.start_ms), clock(d.end_ms))
            } else {
                clock(d.start_ms)
            },
        })
        .collect()
}

impl Status {
    pub fn class(self) -> &'static str {
        match self {
            Status::ToDo => "todo",
            Status::InProgress => "progress",
            Status::Done => "done",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_and_overtalk() {
        assert_eq!(clock(65_000), "01:05");
        assert_eq!(clock(3_725_000), "1:02:05");
        assert_eq!(secs(1_500), "1.50");
        let seg = |role: &str, a, z| Segment {
            role: role.into(),
            start_ms: a,
            end_ms: z,
            text: String::new(),
            avg_token_prob: None,
            redactions: None,
        };
        let segs = [
            seg("agent", 0, 5_000),
            seg("customer", 4_000, 8_000),
            seg("agent", 9_000, 10_000),
        ];
        assert_eq!(overtalk(&segs), vec![(4_000, 5_000)]);
    }
}
