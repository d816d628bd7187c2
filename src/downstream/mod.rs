//! The commands after `run`, over the dataset it wrote: `score` (survey drivers), `sample` (QA
//! picks, clips, review pages), `scorecard` (per agent and period) and `report` (the HTML
//! dashboard). They read the dataset only through the store's read model.

pub mod report;
pub mod sample;
pub mod score;
pub mod scorecard;

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
