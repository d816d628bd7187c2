//! The dataset's `reviews/` table: the verdicts QA reviewers give in `callsift review`, one
//! row per checklist item of each save, declared once ([`reviews`]).
//!
//! ```text
//! OUT/reviews/part-<saved_at>-<random>.parquet   one file per save (draft or submitted)
//! ```
//!
//! Every save is a new file, written atomically (temporary name, fsync, rename): a killed
//! server leaves no partial review, and two reviewers saving at once write two files, so
//! nothing is lost and nothing is read-modified-written. A review's history is its saves; the
//! current version of a reviewer's review of a call is its latest save.

use std::path::{Path, PathBuf};

use crate::store::table::{Column, Table};
use crate::store::{StoreError, read, write_table};

/// The folder of the table inside a dataset.
pub const REVIEWS: &str = "reviews";

/// One item verdict of one save of a review.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReviewRow {
    /// `<reviewer>/<interaction_id>`'s review: the same across its saves.
    pub review_id: String,
    pub interaction_id: String,
    pub reviewer: String,
    /// `draft` (autosaved or saved for later) or `submitted`.
    pub status: String,
    /// When the reviewer first saved this review, and when this version was saved (ms since
    /// the epoch, UTC).
    pub started_at: i64,
    pub saved_at: i64,
    /// A hash of the checklist's items, weights and polarities (its first 12 hex digits).
    pub checklist_version: String,
    /// The checklist item: a flag column such as `beh_empathy`.
    pub item: String,
    pub weight: f64,
    /// `positive` or `negative`.
    pub polarity: String,
    /// callsift's automatic flag for the item (null where the dataset has none).
    pub auto_flag: Option<bool>,
    /// `yes` (the behaviour is present), `no`, or `na` (not applicable).
    pub verdict: String,
    /// The verdict differs from the automatic flag.
    pub overridden: bool,
    /// Why the reviewer overrode the flag (required on submit when overriding).
    pub reason: Option<String>,
    /// The coaching note of the review (the same on each row of a save).
    pub coaching_note: Option<String>,
    /// The QA score (0–100) of this save, over the items judged (null when all are N/A).
    pub score: Option<f64>,
}

/// The columns of `reviews`, in order (from its one declaration).
pub fn column_names() -> Vec<String> {
    reviews().columns.into_iter().map(|c| c.name).collect()
}

/// `reviews`, declared once.
pub fn reviews() -> Table<ReviewRow> {
    type R = ReviewRow;
    Table::new(
        REVIEWS,
        vec![
            Column::str("review_id", false, |r: &R| Some(&r.review_id)),
            Column::str("interaction_id", false, |r: &R| Some(&r.interaction_id)),
            Column::str("reviewer", false, |r: &R| Some(&r.reviewer)),
            Column::str("status", false, |r: &R| Some(&r.status)),
            Column::timestamp_ms("started_at", false, |r: &R| Some(r.started_at)),
            Column::timestamp_ms("saved_at", false, |r: &R| Some(r.saved_at)),
            Column::str("checklist_version", false, |r: &R| {
                Some(&r.checklist_version)
            }),
            Column::str("item", false, |r: &R| Some(&r.item)),
            Column::f64("weight", false, |r: &R| Some(r.weight)),
            Column::str("polarity", false, |r: &R| Some(&r.polarity)),
            Column::bool("auto_flag", true, |r: &R| r.auto_flag),
            Column::str("verdict", false, |r: &R| Some(&r.verdict)),
            Column::bool("overridden", false, |r: &R| Some(r.overridden)),
            Column::str("reason", true, |r: &R| r.reason.as_deref()),
            Column::str("coaching_note", true, |r: &R| r.coaching_note.as_deref()),
            Column::f64("score", true, |r: &R| r.score),
        ],
    )
}

/// Write one save (the rows of one review version) as a new part file of `dataset/reviews/`,
/// atomically; returns its path.
pub fn append(dataset: &Path, rows: &[ReviewRow]) -> Result<PathBuf, StoreError> {
    let dir = dataset.join(REVIEWS);
    std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
        path: dir.clone(),
        source,
    })?;
    let saved = rows.first().map_or(0, |r| r.saved_at);
    let salt = format!(
        "{}-{:?}-{:?}-{}",
        std::process::id(),
        std::thread::current().id(),
        std::time::SystemTime::now(),
        rows.first().map_or("", |r| r.review_id.as_str())
    );
    let name = format!(
        "part-{saved:013}-{}.parquet",
        &crate::fsutil::sha256_hex(salt.as_bytes())[..12]
    );
    write_table(&dir.join(name), &reviews(), rows)
}

/// The part files of `dataset/reviews/` (temporary files of interrupted saves skipped), in
/// name order (the order they were saved in).
pub fn part_files(dataset: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let dir = dataset.join(REVIEWS);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in entries {
        let p = e
            .map_err(|source| StoreError::Io {
                path: dir.clone(),
                source,
            })?
            .path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("part-") && name.ends_with(".parquet") {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Every saved row of `dataset/reviews/`, in the order saved.
pub fn read_all(dataset: &Path) -> Result<Vec<ReviewRow>, StoreError> {
    let mut out = Vec::new();
    for f in part_files(dataset)? {
        let (h, rows) = read::read_text_rows(&f)?;
        let col = |n: &str| h.iter().position(|x| x == n);
        let cols: Vec<Option<usize>> = column_names().iter().map(|n| col(n)).collect();
        for r in rows {
            out.push(row_of(&cols, &r));
        }
    }
    Ok(out)
}

/// The rows of the latest save of each review — of its latest *submitted* save when
/// `submitted_only` (later drafts ignored) — in saved order.
pub fn latest(rows: &[ReviewRow], submitted_only: bool) -> Vec<&ReviewRow> {
    let counts = |r: &ReviewRow| !submitted_only || r.status == "submitted";
    let mut last: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    for r in rows.iter().filter(|r| counts(r)) {
        let t = last.entry(&r.review_id).or_insert(r.saved_at);
        *t = (*t).max(r.saved_at);
    }
    rows.iter()
        .filter(|r| counts(r) && last.get(r.review_id.as_str()) == Some(&r.saved_at))
        .collect()
}

/// A row from its text cells (`cols`: the position of each field in [`read_all`]'s order).
fn row_of(cols: &[Option<usize>], r: &[Option<String>]) -> ReviewRow {
    let get = |k: usize| cols[k].and_then(|c| r[c].clone());
    let text = |k: usize| get(k).unwrap_or_default();
    let flag = |k: usize| get(k).map(|v| v == "true");
    ReviewRow {
        review_id: text(0),
        interaction_id: text(1),
        reviewer: text(2),
        status: text(3),
        started_at: text(4).parse().unwrap_or(0),
        saved_at: text(5).parse().unwrap_or(0),
        checklist_version: text(6),
        item: text(7),
        weight: text(8).parse().unwrap_or(1.0),
        polarity: text(9),
        auto_flag: flag(10),
        verdict: text(11),
        overridden: flag(12).unwrap_or(false),
        reason: get(13),
        coaching_note: get(14),
        score: get(15).and_then(|s| s.parse().ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(reviewer: &str, item: &str, saved_at: i64) -> ReviewRow {
        ReviewRow {
            review_id: format!("{reviewer}/C-1"),
            interaction_id: "C-1".into(),
            reviewer: reviewer.into(),
            status: "submitted".into(),
            started_at: 1_000,
            saved_at,
            checklist_version: "abc".into(),
            item: item.into(),
            weight: 2.0,
            polarity: "negative".into(),
            auto_flag: Some(true),
            verdict: "no".into(),
            overridden: true,
            reason: Some("\"quoted\", <b>".into()),
            coaching_note: None,
            score: Some(50.0),
        }
    }

    #[test]
    fn saves_are_separate_files_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_all(dir.path()).unwrap().is_empty());
        let a = vec![row("ann", "beh_empathy", 2_000), row("ann", "beh_x", 2_000)];
        let b = vec![row("bob", "beh_empathy", 3_000)];
        append(dir.path(), &a).unwrap();
        append(dir.path(), &b).unwrap();
        // an interrupted save's temporary file is not read
        std::fs::write(dir.path().join("reviews/.part-9.parquet.partial"), b"x").unwrap();
        let back = read_all(dir.path()).unwrap();
        assert_eq!(back, [a, b].concat());
    }
}
