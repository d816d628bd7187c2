//! The commands after `run`, over the dataset it wrote: `score` (survey drivers), `sample` (QA
//! picks, clips, review pages), `scorecard` (per agent and period), `report` (the HTML
//! dashboard) and `review` (the QA reviewers' web server, whose verdicts go back into the
//! dataset). They read the dataset only through the store's read model.

pub mod emerging;
pub mod inputs;
pub mod measures;
pub mod report;
pub mod review;
pub mod sample;
pub mod score;
pub mod scorecard;
pub mod tables;

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

/// A period that calls are grouped by (QA sample strata, scorecards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
    All,
}

impl Period {
    pub fn parse(s: &str) -> Result<Period, PeriodError> {
        match s {
            "day" => Ok(Period::Day),
            "week" => Ok(Period::Week),
            "month" => Ok(Period::Month),
            "all" => Ok(Period::All),
            _ => Err(PeriodError(s.into())),
        }
    }
    /// Label of the period holding `ms` (UTC): `2026-11-20`, `2026-W47`, `2026-11`, `all`.
    pub fn label(self, ms: Option<i64>) -> String {
        use chrono::Datelike;
        let Some(t) = ms.and_then(chrono::DateTime::from_timestamp_millis) else {
            return if self == Period::All {
                "all".into()
            } else {
                "unknown".into()
            };
        };
        match self {
            Period::Day => t.format("%Y-%m-%d").to_string(),
            Period::Week => {
                let w = t.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Period::Month => t.format("%Y-%m").to_string(),
            Period::All => "all".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("--period {0:?} is not day, week, month or all\nhint: {hint}", hint = period_hint(.0))]
pub struct PeriodError(pub String);

fn period_hint(given: &str) -> String {
    let known = ["day", "week", "month", "all"];
    let close = inputs::did_you_mean(&given.to_ascii_lowercase(), known);
    if close.is_empty() {
        "e.g. --period week".into()
    } else {
        format!("did you mean {}?", close.join(", "))
    }
}

/// Write rows as a CSV file with a header, atomically (see [`crate::fsutil::write_atomic_with`]).
pub fn write_csv<T: serde::Serialize>(path: &std::path::Path, rows: &[T]) -> std::io::Result<()> {
    crate::fsutil::write_atomic_with(path, |file| {
        let mut w = csv::Writer::from_writer(file);
        for r in rows {
            w.serialize(r)?;
        }
        w.flush()
    })
}
