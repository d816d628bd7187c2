//! The QA checklist file of `score --checklist`: a CSV of `item,weight` lines (header first),
//! an item being a feature column such as `beh_empathy`; a missing weight is 1.

use std::path::{Path, PathBuf};

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
    #[error("{path}:{line}: weight {value:?} is not a number\nhint: lines are item,weight")]
    Weight {
        path: PathBuf,
        line: usize,
        value: String,
    },
}

/// Read a checklist: (item, weight) in file order. Errors name the file and the line.
pub fn read(path: &Path) -> Result<Vec<(String, f64)>, ChecklistError> {
    let mut rd = csv::Reader::from_path(path).map_err(|source| ChecklistError::Open {
        path: path.into(),
        source,
    })?;
    let mut items = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        // line 1 is the header
        let line = i + 2;
        let rec = rec.map_err(|source| ChecklistError::Record {
            path: path.into(),
            line,
            source,
        })?;
        let item = rec.get(0).unwrap_or("").trim().to_string();
        let weight = rec.get(1).unwrap_or("1").trim();
        let weight: f64 = weight.parse().map_err(|_| ChecklistError::Weight {
            path: path.into(),
            line,
            value: rec.get(1).unwrap_or("").into(),
        })?;
        items.push((item, weight));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_weights_with_errors_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("checklist.csv");
        std::fs::write(&p, "item,weight\nbeh_empathy,2\n beh_greeting , 0.5\n").unwrap();
        assert_eq!(
            read(&p).unwrap(),
            vec![("beh_empathy".into(), 2.0), ("beh_greeting".into(), 0.5)]
        );
        std::fs::write(&p, "item\nbeh_empathy\n").unwrap();
        assert_eq!(read(&p).unwrap(), vec![("beh_empathy".into(), 1.0)]);
        std::fs::write(&p, "item,weight\nbeh_empathy,2\nbeh_greeting,lots\n").unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "checklist.csv:3: weight \"lots\" is not a number\nhint: lines are item,weight"
            ),
            "{e}"
        );
        let e = read(&dir.path().join("none.csv")).unwrap_err().to_string();
        assert!(e.starts_with("cannot read checklist "), "{e}");
    }
}
