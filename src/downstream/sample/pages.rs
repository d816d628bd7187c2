//! The pages `sample` writes for people: the index of the picks and a review page per call —
//! the askama templates `templates/qa_index.html` and `templates/review.html`, on the layout
//! and stylesheet they share with the report. Every value from the data (ids, agents,
//! evidence, transcript text, file names) is escaped by the templates; clip and page names go
//! into `src`/`href` percent-encoded.

use std::path::Path;

use askama::Template;

use super::audio_redaction::Segment;
use super::{Evidence, SampleError, clock};

/// One line of a transcript excerpt.
pub(super) struct ExcerptLine<'a> {
    time: String,
    role: &'a str,
    text: &'a str,
    /// The line overlaps the flagged moment (highlighted).
    hit: bool,
}

/// A flagged moment of a review page.
pub(super) struct Moment<'a> {
    category_id: &'a str,
    role: &'a str,
    start: String,
    end: String,
    text: &'a str,
    /// How the rule matched: "matched by stem (confidence 0.9)"; empty for derived flags.
    how: String,
    /// The clip's name relative to the sample folder.
    clip: Option<String>,
    excerpt: Vec<ExcerptLine<'a>>,
}

/// The moment `e` with its clip and the transcript 15 s around it (from the call's segments).
pub(super) fn moment<'a>(e: &'a Evidence, clip: Option<String>, segs: &'a [Segment]) -> Moment<'a> {
    Moment {
        category_id: &e.category_id,
        role: &e.role,
        start: clock(e.start_ms),
        end: clock(e.end_ms),
        text: &e.text,
        how: e
            .matched_by
            .as_deref()
            .map(|m| format!("matched by {m} (confidence {:.1})", e.confidence))
            .unwrap_or_default(),
        clip,
        excerpt: excerpt(segs, e),
    }
}

/// The transcript 15 s around a moment, the moment's own lines marked.
fn excerpt<'a>(segs: &'a [Segment], e: &Evidence) -> Vec<ExcerptLine<'a>> {
    segs.iter()
        .filter(|s| s.end_ms >= e.start_ms - 15_000 && s.start_ms <= e.end_ms + 15_000)
        .map(|s| ExcerptLine {
            time: clock(s.start_ms),
            role: &s.role,
            text: &s.text,
            hit: s.end_ms > e.start_ms && s.start_ms < e.end_ms.max(e.start_ms + 1),
        })
        .collect()
}

/// The review page of one picked call (`review/<file_stem>.html`).
#[derive(Template)]
#[template(path = "review.html")]
pub(super) struct ReviewPage<'a> {
    pub interaction_id: &'a str,
    pub agent_id: &'a str,
    pub period: &'a str,
    /// Why the call was picked (`random` for random picks).
    pub reasons: &'a str,
    pub source_path: &'a str,
    pub moments: Vec<Moment<'a>>,
}

/// A line of the index: one pick and the link to its review page.
pub(super) struct IndexEntry {
    pub agent_id: String,
    pub period: String,
    pub interaction_id: String,
    /// The review page relative to the sample folder.
    pub page: String,
    /// `targeted` or `random`.
    pub pick: &'static str,
    pub reasons: String,
}

/// `index.html` of the sample folder.
#[derive(Template)]
#[template(path = "qa_index.html")]
pub(super) struct IndexPage<'a> {
    pub picked: usize,
    pub targeted: usize,
    pub random: usize,
    pub seed: u64,
    pub entries: &'a [IndexEntry],
}

/// Render a page and write it to `path` atomically.
pub(super) fn write_page(path: &Path, page: &impl Template) -> Result<(), SampleError> {
    let mut html = page.render().map_err(|source| SampleError::Render {
        path: path.into(),
        source,
    })?;
    html.push('\n');
    crate::fsutil::write_atomic(path, html.as_bytes()).map_err(|e| super::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "\"><script>alert(1)</script>";
    const ESCAPED: &str = "&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;";

    #[test]
    fn review_pages_escape_every_value_and_mark_the_moment() {
        let e = Evidence {
            category_id: HOSTILE.into(),
            prefix: "evt_".into(),
            role: HOSTILE.into(),
            start_ms: 65_000,
            end_ms: 68_000,
            matched_by: Some("stem".into()),
            confidence: 0.9,
            text: HOSTILE.into(),
        };
        let segs = [
            Segment {
                role: "agent".into(),
                start_ms: 60_000,
                end_ms: 64_000,
                text: "How can I help?".into(),
                avg_token_prob: None,
                redactions: None,
            },
            Segment {
                role: "customer".into(),
                start_ms: 65_000,
                end_ms: 68_000,
                text: HOSTILE.into(),
                avg_token_prob: None,
                redactions: None,
            },
        ];
        let clip = Some(format!("clips/{HOSTILE}.wav"));
        let page = ReviewPage {
            interaction_id: HOSTILE,
            agent_id: HOSTILE,
            period: "2026-W47",
            reasons: HOSTILE,
            source_path: HOSTILE,
            moments: vec![moment(&e, clip, &segs)],
        }
        .render()
        .unwrap();
        assert!(
            !page.contains("<script") && !page.contains(HOSTILE),
            "{page}"
        );
        assert!(page.contains(&format!("<title>QA review {ESCAPED}</title>")));
        assert!(page.contains(&format!("<h1>QA review: {ESCAPED}</h1>")));
        assert!(page.contains(&format!("<h3>{ESCAPED} — {ESCAPED} at 01:05–01:08</h3>")));
        assert!(page.contains(&format!(
            "<p>“{ESCAPED}” <span class=\"how\">matched by stem (confidence 0.9)</span></p>"
        )));
        assert!(page.contains("src=\"../clips/%22%3E%3Cscript%3Ealert%281%29%3C/script%3E.wav\""));
        assert!(page.contains(&format!(
            "[01:00] agent: How can I help?\n<span class=\"hit\">[01:05] customer: {ESCAPED}</span></div>"
        )));
    }

    #[test]
    fn the_index_links_each_pick_to_its_page() {
        let entries = [IndexEntry {
            agent_id: HOSTILE.into(),
            period: "all".into(),
            interaction_id: HOSTILE.into(),
            page: "review/Q_1-0123abcd.html".into(),
            pick: "targeted",
            reasons: HOSTILE.into(),
        }];
        let html = IndexPage {
            picked: 1,
            targeted: 1,
            random: 0,
            seed: 7,
            entries: &entries,
        }
        .render()
        .unwrap();
        assert!(
            !html.contains("<script") && !html.contains(HOSTILE),
            "{html}"
        );
        assert!(html.contains("<p>1 calls (1 targeted, 0 random), seed 7</p>"));
        assert!(html.contains(&format!(
            "<tr><td>{ESCAPED}</td><td>all</td><td><a href=\"review/Q_1-0123abcd.html\">{ESCAPED}</a></td><td>targeted</td><td>{ESCAPED}</td></tr>"
        )));
    }
}
