//! The reviews of a server: every save read at start and kept in memory, each new save
//! appended to the dataset's `reviews/` table (`store::reviews`) under one lock, so saves of
//! several reviewers at once are written one after the other and none is lost.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::analyze::rules::Polarity;
use crate::downstream::score::checklist::Item;
use crate::store::reviews::{self, ReviewRow};

use super::ReviewError;

/// Where a reviewer is with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    ToDo,
    InProgress,
    Done,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::ToDo => "to do",
            Status::InProgress => "in progress",
            Status::Done => "done",
        }
    }
}

/// A reviewer's verdict on one item, as the form sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub item: String,
    /// `yes`, `no` or `na`.
    pub verdict: String,
    pub reason: Option<String>,
}

/// One save of a review, as the form sends it.
#[derive(Debug, Clone)]
pub struct Save {
    pub reviewer: String,
    pub interaction_id: String,
    pub submit: bool,
    pub verdicts: Vec<Verdict>,
    pub note: Option<String>,
}

/// The QA score of verdicts (0–100): the weighted share of points earned among the items
/// judged — a positive item earns its weight when present (`yes`), a negative one (a
/// behaviour to avoid) when absent (`no`); N/A items do not count. `None` when none is judged.
pub fn qa_score(items: &[Item], verdicts: &[Verdict]) -> Option<f64> {
    let (mut earned, mut total) = (0.0, 0.0);
    for it in items {
        let Some(v) = verdicts.iter().find(|v| v.item == it.item) else {
            continue;
        };
        let present = match v.verdict.as_str() {
            "yes" => true,
            "no" => false,
            _ => continue,
        };
        total += it.weight;
        if present == (it.polarity == Polarity::Positive) {
            earned += it.weight;
        }
    }
    (total > 0.0).then(|| 100.0 * earned / total)
}

/// The reviews of the dataset.
pub struct Book {
    dataset: PathBuf,
    rows: Mutex<Vec<ReviewRow>>,
}

/// The rows of the latest save of each review, by review id.
fn latest_saves(rows: &[ReviewRow], submitted_only: bool) -> BTreeMap<&str, Vec<&ReviewRow>> {
    let mut out: BTreeMap<&str, Vec<&ReviewRow>> = BTreeMap::new();
    for r in reviews::latest(rows, submitted_only) {
        out.entry(&r.review_id).or_default().push(r);
    }
    out
}

pub fn review_id(reviewer: &str, interaction_id: &str) -> String {
    format!("{reviewer}/{interaction_id}")
}

impl Book {
    /// The reviews saved so far in `dataset/reviews/`.
    pub fn open(dataset: PathBuf) -> Result<Book, ReviewError> {
        let rows = reviews::read_all(&dataset)?;
        Ok(Book {
            dataset,
            rows: Mutex::new(rows),
        })
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, Vec<ReviewRow>> {
        self.rows.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every saved row (for the CSV export and calibration).
    pub fn all(&self) -> Vec<ReviewRow> {
        self.rows().clone()
    }

    /// The rows of the latest save of every review (`submitted_only`: of its latest submitted
    /// save, ignoring later drafts).
    pub fn latest(&self, submitted_only: bool) -> Vec<Vec<ReviewRow>> {
        let rows = self.rows();
        latest_saves(&rows, submitted_only)
            .into_values()
            .map(|v| v.into_iter().cloned().collect())
            .collect()
    }

    /// The latest save of `reviewer`'s review of a call.
    pub fn current(&self, reviewer: &str, interaction_id: &str) -> Vec<ReviewRow> {
        let id = review_id(reviewer, interaction_id);
        let rows = self.rows();
        latest_saves(&rows, false)
            .remove(id.as_str())
            .map(|v| v.into_iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every save of every review of a call, oldest first: (reviewer, saved_at, status, score,
    /// items overridden, coaching note).
    pub fn history(&self, interaction_id: &str) -> Vec<(String, i64, String, Option<f64>, usize)> {
        let rows = self.rows();
        let mut saves: BTreeMap<(i64, &str), (String, Option<f64>, usize)> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.interaction_id == interaction_id) {
            let e =
                saves
                    .entry((r.saved_at, &r.reviewer))
                    .or_insert((r.status.clone(), r.score, 0));
            e.2 += usize::from(r.overridden);
        }
        saves
            .into_iter()
            .map(|((t, who), (status, score, n))| (who.to_string(), t, status, score, n))
            .collect()
    }

    /// Where `reviewer` is with each call: done once a save is submitted and no draft is newer,
    /// in progress with a newer draft.
    pub fn statuses(&self, reviewer: &str) -> BTreeMap<String, Status> {
        let rows = self.rows();
        latest_saves(&rows, false)
            .into_values()
            .filter_map(|v| {
                let r = v.first()?;
                (r.reviewer == reviewer).then(|| {
                    let s = if r.status == "submitted" {
                        Status::Done
                    } else {
                        Status::InProgress
                    };
                    (r.interaction_id.clone(), s)
                })
            })
            .collect()
    }

    /// Reviewers who submitted a review of each call.
    pub fn reviewers_by_call(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in self.rows().iter().filter(|r| r.status == "submitted") {
            let v = out.entry(r.interaction_id.clone()).or_default();
            if !v.contains(&r.reviewer) {
                v.push(r.reviewer.clone());
            }
        }
        out
    }

    /// Write one save: its rows appended to `reviews/` (one new file) and kept. Saves are
    /// written one at a time; a save's time is after the review's previous save.
    pub fn save(
        &self,
        s: &Save,
        items: &[Item],
        auto: impl Fn(&str) -> Option<bool>,
        version: &str,
    ) -> Result<(), ReviewError> {
        let mut rows = self.rows();
        let id = review_id(&s.reviewer, &s.interaction_id);
        let previous: Vec<&ReviewRow> = rows.iter().filter(|r| r.review_id == id).collect();
        let now = chrono::Utc::now().timestamp_millis();
        let saved_at = previous
            .iter()
            .map(|r| r.saved_at + 1)
            .max()
            .unwrap_or(now)
            .max(now);
        let started_at = previous.iter().map(|r| r.started_at).min().unwrap_or(now);
        let score = qa_score(items, &s.verdicts);
        let new: Vec<ReviewRow> = items
            .iter()
            .filter_map(|it| {
                let v = s.verdicts.iter().find(|v| v.item == it.item)?;
                let auto_flag = auto(&it.item);
                Some(ReviewRow {
                    review_id: id.clone(),
                    interaction_id: s.interaction_id.clone(),
                    reviewer: s.reviewer.clone(),
                    status: if s.submit { "submitted" } else { "draft" }.into(),
                    started_at,
                    saved_at,
                    checklist_version: version.into(),
                    item: it.item.clone(),
                    weight: it.weight,
                    polarity: super::data::polarity_name(it.polarity).into(),
                    auto_flag,
                    overridden: overridden(auto_flag, &v.verdict),
                    verdict: v.verdict.clone(),
                    reason: v.reason.clone().filter(|r| !r.trim().is_empty()),
                    coaching_note: s.note.clone().filter(|n| !n.trim().is_empty()),
                    score,
                })
            })
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        reviews::append(&self.dataset, &new)?;
        rows.extend(new);
        Ok(())
    }
}

/// Whether a verdict overrides callsift's flag: `yes` where it saw nothing, `no` where it did
/// (N/A overrides nothing).
pub fn overridden(auto_flag: Option<bool>, verdict: &str) -> bool {
    match (auto_flag, verdict) {
        (Some(a), "yes") => !a,
        (Some(a), "no") => a,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, weight: f64, polarity: Polarity) -> Item {
        Item {
            item: name.into(),
            weight,
            polarity,
            origin: None,
        }
    }
    fn v(item: &str, verdict: &str) -> Verdict {
        Verdict {
            item: item.into(),
            verdict: verdict.into(),
            reason: None,
        }
    }

    #[test]
    fn negative_items_count_against_the_score_and_na_is_left_out() {
        let items = [
            item("beh_empathy", 2.0, Polarity::Positive),
            item("beh_greeting", 1.0, Polarity::Positive),
            item("beh_over_scripted_name_use", 1.0, Polarity::Negative),
        ];
        // all good: empathy and greeting present, no over-scripted name use
        let good = [
            v("beh_empathy", "yes"),
            v("beh_greeting", "yes"),
            v("beh_over_scripted_name_use", "no"),
        ];
        assert_eq!(qa_score(&items, &good), Some(100.0));
        // the name overused costs its weight
        let mut bad = good.clone();
        bad[2].verdict = "yes".into();
        assert_eq!(qa_score(&items, &bad), Some(75.0));
        // greeting N/A: out of 3 points, not 4
        let na = [
            v("beh_empathy", "no"),
            v("beh_greeting", "na"),
            v("beh_over_scripted_name_use", "no"),
        ];
        assert!((qa_score(&items, &na).unwrap() - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(qa_score(&items, &[v("beh_greeting", "na")]), None);
        assert!(overridden(Some(true), "no") && !overridden(Some(true), "na"));
    }

    #[test]
    fn saves_keep_history_and_the_latest_is_current() {
        let dir = tempfile::tempdir().unwrap();
        let book = Book::open(dir.path().into()).unwrap();
        let items = [item("beh_empathy", 1.0, Polarity::Positive)];
        let save = |who: &str, verdict: &str, submit: bool| Save {
            reviewer: who.into(),
            interaction_id: "C-1".into(),
            submit,
            verdicts: vec![Verdict {
                item: "beh_empathy".into(),
                verdict: verdict.into(),
                reason: Some("heard none".into()),
            }],
            note: None,
        };
        book.save(&save("ann", "no", false), &items, |_| Some(true), "v1")
            .unwrap();
        assert_eq!(book.statuses("ann")["C-1"], Status::InProgress);
        book.save(&save("ann", "yes", true), &items, |_| Some(true), "v1")
            .unwrap();
        book.save(&save("bob", "no", true), &items, |_| Some(true), "v1")
            .unwrap();
        assert_eq!(book.statuses("ann")["C-1"], Status::Done);
        assert!(!book.statuses("carl").contains_key("C-1"));
        let cur = book.current("ann", "C-1");
        assert_eq!((cur.len(), cur[0].verdict.as_str()), (1, "yes"));
        assert!(!cur[0].overridden && cur[0].started_at <= cur[0].saved_at);
        assert_eq!(book.history("C-1").len(), 3);
        // read back from the files by a new server: the same
        let again = Book::open(dir.path().into()).unwrap();
        assert_eq!(again.all(), book.all());
        assert_eq!(again.latest(true).len(), 2);
    }
}
