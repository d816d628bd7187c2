//! The folders and names people pass to the commands after `run`, checked before anything is
//! read: a folder must exist and hold what its option expects (a dataset for `--features`, the
//! output of `score` for `--scores`, …) — a folder passed to the wrong option is named as what
//! it is — and a name that is not known gets the known names closest to it ([`did_you_mean`]).

use std::path::{Path, PathBuf};

/// What a folder passed to a command holds: the output of one callsift command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    /// `callsift run`'s dataset (`interactions/`, `segments/`, `events/`).
    Dataset,
    /// `callsift score`'s output (`drivers.parquet`, `scores.parquet`, `score_report.json`).
    Scores,
    /// `callsift sample`'s output (`qa_sample.parquet`, `review/`, `clips/`).
    Sample,
    /// `callsift scorecard`'s output (`scorecard.parquet`, `scorecard.csv`).
    Scorecard,
}

const KINDS: [FolderKind; 4] = [
    FolderKind::Dataset,
    FolderKind::Scores,
    FolderKind::Sample,
    FolderKind::Scorecard,
];

impl FolderKind {
    /// The command that writes such a folder.
    pub fn command(self) -> &'static str {
        match self {
            FolderKind::Dataset => "callsift run",
            FolderKind::Scores => "callsift score",
            FolderKind::Sample => "callsift sample",
            FolderKind::Scorecard => "callsift scorecard",
        }
    }
    /// The option that takes such a folder.
    pub fn option(self) -> &'static str {
        match self {
            FolderKind::Dataset => "--features",
            FolderKind::Scores => "--scores",
            FolderKind::Sample => "--qa",
            FolderKind::Scorecard => "--cards",
        }
    }
    /// What such a folder holds, in words.
    pub fn holds(self) -> &'static str {
        match self {
            FolderKind::Dataset => {
                "the dataset `callsift run --out` wrote (interactions/, segments/, events/)"
            }
            FolderKind::Scores => {
                "what `callsift score --out` wrote (drivers.parquet, scores.parquet, score_report.json)"
            }
            FolderKind::Sample => {
                "what `callsift sample --out` wrote (qa_sample.parquet, review/, clips/)"
            }
            FolderKind::Scorecard => {
                "what `callsift scorecard --out` wrote (scorecard.parquet, scorecard.csv)"
            }
        }
    }
    /// The entry whose presence marks such a folder.
    fn marker(self) -> &'static str {
        match self {
            FolderKind::Dataset => crate::store::dataset::INTERACTIONS,
            FolderKind::Scores => "scores.parquet",
            FolderKind::Sample => "qa_sample.parquet",
            FolderKind::Scorecard => "scorecard.parquet",
        }
    }
    /// Whether `dir` holds such an output.
    pub fn is(self, dir: &Path) -> bool {
        dir.join(self.marker()).exists()
    }
}

/// A folder that cannot be used where it was passed.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("{option} {path}: no such folder\nhint: pass {holds}", holds = .kind.holds())]
    Missing {
        option: &'static str,
        path: PathBuf,
        kind: FolderKind,
    },
    #[error("{option} {path}: a file, not a folder\nhint: pass the folder of {holds}", holds = .kind.holds())]
    NotAFolder {
        option: &'static str,
        path: PathBuf,
        kind: FolderKind,
    },
    #[error(
        "{option} {path}: not written by `{command}` (no {marker} in it){looks}\nhint: pass {holds}",
        command = .kind.command(),
        marker = .kind.marker(),
        holds = .kind.holds(),
        looks = .looks_like.map_or(String::new(), |k| format!("; it holds the output of `{}`: pass it to {}", k.command(), k.option()))
    )]
    Wrong {
        option: &'static str,
        path: PathBuf,
        kind: FolderKind,
        looks_like: Option<FolderKind>,
    },
}

/// Check that the folder passed to `option` exists and holds the output of `kind`'s command;
/// a folder holding another command's output is named as such.
pub fn check_folder(
    option: &'static str,
    path: &Path,
    kind: FolderKind,
) -> Result<(), FolderError> {
    let (p, o) = (path.to_path_buf(), option);
    if !path.exists() {
        return Err(FolderError::Missing {
            option: o,
            path: p,
            kind,
        });
    }
    if !path.is_dir() {
        return Err(FolderError::NotAFolder {
            option: o,
            path: p,
            kind,
        });
    }
    if kind.is(path) {
        return Ok(());
    }
    let looks_like = KINDS.into_iter().find(|k| *k != kind && k.is(path));
    Err(FolderError::Wrong {
        option: o,
        path: p,
        kind,
        looks_like,
    })
}

/// The known names closest to `name` (at most three, closest first): those within an edit
/// distance of a third of the name's length (at least 2), or sharing a long prefix with it.
/// Empty when nothing is close.
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let name = name.trim();
    let limit = (name.chars().count() / 3).max(2);
    let mut close: Vec<(usize, String)> = known
        .into_iter()
        .filter(|k| *k != name)
        .filter_map(|k| {
            let d = strsim::levenshtein(name, k);
            let jw = strsim::jaro_winkler(name, k);
            let prefix = name.len() >= 4 && k.starts_with(name);
            (d <= limit || jw >= 0.9 || prefix).then(|| (d, k.to_string()))
        })
        .collect();
    close.sort();
    close.dedup_by(|a, b| a.1 == b.1);
    close.into_iter().take(3).map(|(_, k)| k).collect()
}

/// A `hint:` line suggesting `close` (from [`did_you_mean`]), or listing some of `known` when
/// nothing is close.
pub fn suggestion(close: &[String], known: &[String]) -> String {
    if !close.is_empty() {
        return format!("did you mean {}?", close.join(", "));
    }
    let mut some: Vec<&str> = known.iter().map(String::as_str).take(12).collect();
    if known.len() > some.len() {
        some.push("…");
    }
    format!("known names: {}", some.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let known = [
            "topic_refund",
            "topic_billing",
            "escalation_request",
            "p_detractor",
        ];
        assert_eq!(did_you_mean("topic_refnd", known), vec!["topic_refund"]);
        assert_eq!(did_you_mean("p_detractr", known), vec!["p_detractor"]);
        assert_eq!(
            did_you_mean("escalation", known),
            vec!["escalation_request"]
        );
        assert!(did_you_mean("xyz", known).is_empty());
        assert_eq!(
            suggestion(&[], &["a".into(), "b".into()]),
            "known names: a, b"
        );
    }

    #[test]
    fn folders_passed_to_the_wrong_option_are_named_as_what_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("interactions")).unwrap();
        let e = check_folder("--scores", d, FolderKind::Scores)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not written by `callsift score`")
                && e.contains("output of `callsift run`: pass it to --features")
                && e.contains("\nhint: pass what `callsift score --out` wrote"),
            "{e}"
        );
        check_folder("--features", d, FolderKind::Dataset).unwrap();
        let e = check_folder("--scores", &d.join("nosuch"), FolderKind::Scores)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nosuch: no such folder\nhint:"), "{e}");
    }
}
