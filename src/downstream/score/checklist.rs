//! The QA checklist of `score --checklist`: a CSV of `item,weight,polarity` lines (header
//! first), an item being a flag column such as `beh_empathy`. A missing weight is 1; weights
//! are positive. Polarity `positive` (the behaviour earns its weight when present) or
//! `negative` (a behaviour to avoid: it earns its weight when absent); a missing polarity is
//! the rule pack's (`over_scripted_name_use` is negative in the built-in pack), else positive.
//! The score is the weighted share of the points earned among the items that could be judged,
//! so it stays within 0–100.

use std::path::{Path, PathBuf};

use crate::analyze::rules::{Polarity, RuleSet};

#[derive(Debug, thiserror::Error)]
pub enum ChecklistError {
    #[error("cannot read checklist {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("{path}:{line}: {source}")]
    Record {
        path: PathBuf,
        line: usize,
        #[source]
        source: csv::Error,
    },
    #[error(
        "{path}:{line}: weight {value:?} is not a positive number\nhint: lines are item,weight,polarity; to count a behaviour against the score, give it a positive weight and polarity negative"
    )]
    Weight {
        path: PathBuf,
        line: usize,
        value: String,
    },
    #[error(
        "{path}:{line}: polarity {value:?} is not positive or negative\nhint: lines are item,weight,polarity"
    )]
    Polarity {
        path: PathBuf,
        line: usize,
        value: String,
    },
    #[error("{path}:{line}: the checklist has no item {item:?}{}\nhint: items are flag columns of the dataset (beh_*, evt_*, topic_*)", did_you_mean(.suggestions))]
    UnknownItem {
        path: PathBuf,
        line: usize,
        item: String,
        suggestions: Vec<String>,
    },
    #[error("{path}:{line}: {item} is listed twice (first on line {first})")]
    Duplicate {
        path: PathBuf,
        line: usize,
        item: String,
        first: usize,
    },
    #[error(
        "{path}: the checklist has no items\nhint: lines are item,weight,polarity, e.g. beh_empathy,2,positive"
    )]
    Empty { path: PathBuf },
}

fn did_you_mean(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", s.join(", "))
    }
}

/// One checklist line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Item {
    pub item: String,
    pub weight: f64,
    pub polarity: Polarity,
    /// Where it came from: (file, line); `None` for the default checklist.
    #[serde(skip)]
    pub origin: Option<(PathBuf, usize)>,
}

/// Read a checklist in file order. Errors name the file and the line. The polarity of a
/// line without one is resolved against the rule pack by [`resolve`].
pub fn read(path: &Path) -> Result<Vec<(Item, bool)>, ChecklistError> {
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|source| ChecklistError::Open {
            path: path.into(),
            source,
        })?;
    let mut items: Vec<(Item, bool)> = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        // line 1 is the header
        let line = i + 2;
        let rec = rec.map_err(|source| ChecklistError::Record {
            path: path.into(),
            line,
            source,
        })?;
        let item = rec.get(0).unwrap_or("").trim().to_string();
        if item.is_empty() {
            continue;
        }
        let raw = rec.get(1).map(str::trim).filter(|w| !w.is_empty());
        let weight = match raw {
            None => 1.0,
            Some(w) => w
                .parse::<f64>()
                .ok()
                .filter(|w| w.is_finite() && *w > 0.0)
                .ok_or_else(|| ChecklistError::Weight {
                    path: path.into(),
                    line,
                    value: w.into(),
                })?,
        };
        let (polarity, given) = match rec.get(2).map(str::trim).unwrap_or("") {
            "" => (Polarity::Positive, false),
            "positive" | "+" => (Polarity::Positive, true),
            "negative" | "-" => (Polarity::Negative, true),
            other => {
                return Err(ChecklistError::Polarity {
                    path: path.into(),
                    line,
                    value: other.into(),
                });
            }
        };
        if let Some((first, _)) = items.iter().find(|(it, _)| it.item == item) {
            return Err(ChecklistError::Duplicate {
                path: path.into(),
                line,
                item,
                first: first.origin.as_ref().map_or(0, |o| o.1),
            });
        }
        items.push((
            Item {
                item,
                weight,
                polarity,
                origin: Some((path.into(), line)),
            },
            given,
        ));
    }
    if items.is_empty() {
        return Err(ChecklistError::Empty { path: path.into() });
    }
    Ok(items)
}

/// The polarity the rule pack gives a flag column (`beh_over_scripted_name_use` → negative).
pub fn pack_polarity(column: &str, pack: &RuleSet) -> Polarity {
    pack.categories
        .iter()
        .find(|c| format!("{}{}", c.kind.column_prefix(), c.id) == column)
        .map_or(Polarity::Positive, |c| c.polarity)
}

/// Check every item against the dataset's flag columns (an unknown one is an error with the
/// closest names) and fill the polarity of lines that gave none from the pack.
pub fn resolve(
    items: Vec<(Item, bool)>,
    columns: &[&str],
    pack: &RuleSet,
) -> Result<Vec<Item>, ChecklistError> {
    items
        .into_iter()
        .map(|(mut it, given)| {
            if !columns.contains(&it.item.as_str()) {
                let (path, line) = it.origin.clone().unwrap_or_default();
                return Err(ChecklistError::UnknownItem {
                    path,
                    line,
                    suggestions: crate::downstream::inputs::did_you_mean(
                        &it.item,
                        columns.iter().copied(),
                    ),
                    item: it.item,
                });
            }
            if !given {
                it.polarity = pack_polarity(&it.item, pack);
            }
            Ok(it)
        })
        .collect()
}

/// The default checklist: every behaviour column, weight 1, polarity from the pack.
pub fn default_items(columns: &[&str], pack: &RuleSet) -> Vec<Item> {
    columns
        .iter()
        .filter(|n| n.starts_with("beh_"))
        .map(|n| Item {
            item: n.to_string(),
            weight: 1.0,
            polarity: pack_polarity(n, pack),
            origin: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(p: &Path) -> Vec<(String, f64, Polarity)> {
        let cols = ["beh_empathy", "beh_greeting", "beh_over_scripted_name_use"];
        resolve(read(p).unwrap(), &cols, &RuleSet::builtin())
            .unwrap()
            .into_iter()
            .map(|i| (i.item, i.weight, i.polarity))
            .collect()
    }

    #[test]
    fn items_weights_and_polarity_with_errors_naming_the_line() {
        use Polarity::*;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("checklist.csv");
        std::fs::write(&p, "item,weight\nbeh_empathy,2\n beh_greeting , 0.5\n").unwrap();
        assert_eq!(
            items(&p),
            vec![
                ("beh_empathy".into(), 2.0, Positive),
                ("beh_greeting".into(), 0.5, Positive)
            ]
        );
        // the pack's polarity unless the line gives one
        std::fs::write(
            &p,
            "item\nbeh_empathy\nbeh_over_scripted_name_use\nbeh_greeting,1,negative\n",
        )
        .unwrap();
        assert_eq!(
            items(&p),
            vec![
                ("beh_empathy".into(), 1.0, Positive),
                ("beh_over_scripted_name_use".into(), 1.0, Negative),
                ("beh_greeting".into(), 1.0, Negative)
            ]
        );
        let err = |text: &str| {
            std::fs::write(&p, text).unwrap();
            let cols = ["beh_empathy", "beh_greeting"];
            read(&p)
                .and_then(|v| resolve(v, &cols, &RuleSet::builtin()))
                .unwrap_err()
                .to_string()
        };
        let e = err("item,weight\nbeh_empathy,2\nbeh_greeting,lots\n");
        assert!(
            e.contains("checklist.csv:3: weight \"lots\" is not a positive number\nhint: "),
            "{e}"
        );
        let e = err("item,weight\nbeh_empathy,-1\n");
        assert!(
            e.contains("checklist.csv:2: weight \"-1\" is not a positive number")
                && e.contains("polarity negative"),
            "{e}"
        );
        let e = err("item,weight,polarity\nbeh_empathy,1,bad\n");
        assert!(e.contains("checklist.csv:2: polarity \"bad\""), "{e}");
        let e = err("item\nbeh_greeting\nbeh_empathi\n");
        assert!(
            e.contains(
                "checklist.csv:3: the checklist has no item \"beh_empathi\" (did you mean beh_empathy?)"
            ),
            "{e}"
        );
        let e = err("item\nbeh_greeting\nbeh_greeting\n");
        assert!(
            e.contains("checklist.csv:3: beh_greeting is listed twice (first on line 2)"),
            "{e}"
        );
        let e = err("item,weight\n");
        assert!(e.contains("the checklist has no items"), "{e}");
        let e = read(&dir.path().join("none.csv")).unwrap_err().to_string();
        assert!(e.starts_with("cannot read checklist "), "{e}");
    }
}
