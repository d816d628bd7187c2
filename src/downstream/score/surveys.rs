//! Survey answers: reads `interaction_id`/`call_id` + `nps` (0–10), `csat` (1–5), `fcr`
//! (true/false) and an optional `survey_type`, from rows of text (a CSV file, or a Parquet
//! file, read by `downstream::tables`). Every problem — unknown id, duplicate, out-of-range
//! value, a row with extra fields, unparsable row — is counted and reported with its line
//! (all of them in `input_issues.csv`, [`Surveys::input_issues`]), never silently dropped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use crate::downstream::tables::{self, InputIssue, TableError};

use serde::Serialize;

/// One validated answer set.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub row: usize,
    pub survey_type: String,
    pub nps: Option<f64>,
    pub csat: Option<f64>,
    pub fcr: Option<bool>,
}

/// A problem with one row (line numbers count the header as line 1).
#[derive(Debug, Clone, Serialize)]
pub struct Issue {
    pub line: usize,
    pub kind: &'static str,
    /// The offending value(s) as written (the id, `nps=11`, the extra fields).
    pub value: String,
    pub detail: String,
}

/// Answers by interaction id, plus the problems found.
#[derive(Debug, Default)]
pub struct Surveys {
    /// (interaction row index in the feature table, answer)
    pub responses: Vec<(usize, Response)>,
    pub issues: Vec<Issue>,
    pub rows: usize,
    /// The file the answers were read from (empty when parsed from rows).
    pub file: String,
    /// The separator of a CSV file that is not comma-separated, as detected.
    pub separator: Option<char>,
}

impl Surveys {
    /// Issues grouped by kind: (kind, count, first three examples).
    pub fn issue_summary(&self) -> Vec<(&'static str, usize, Vec<String>)> {
        let mut by: BTreeMap<&'static str, (usize, Vec<String>)> = BTreeMap::new();
        for i in &self.issues {
            let e = by.entry(i.kind).or_default();
            e.0 += 1;
            if e.1.len() < 3 {
                e.1.push(format!("line {}: {}", i.line, i.detail));
            }
        }
        by.into_iter().map(|(k, (n, ex))| (k, n, ex)).collect()
    }

    /// Every issue as a row of `input_issues.csv`.
    pub fn input_issues(&self) -> Vec<InputIssue> {
        self.issues
            .iter()
            .map(|i| InputIssue {
                file: self.file.clone(),
                line: i.line,
                kind: i.kind.into(),
                value: i.value.clone(),
                message: i.detail.clone(),
            })
            .collect()
    }

    /// What a summary says about how the file was read, beside the issue counts: e.g. that it
    /// is separated by `;`.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(c) = self.separator {
            let name = if c == '\t' {
                "tabs".to_string()
            } else {
                format!("'{c}'")
            };
            notes.push(format!(
                "{} is separated by {name}, not commas: read as such",
                self.file
            ));
        }
        notes
    }

    pub fn survey_types(&self) -> Vec<String> {
        let mut t: Vec<String> = self
            .responses
            .iter()
            .map(|(_, r)| r.survey_type.clone())
            .collect();
        t.sort();
        t.dedup();
        t
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error(
        "{origin}: no interaction_id or call_id column (columns: {columns})\nhint: name the id column interaction_id or call_id"
    )]
    NoId { origin: String, columns: String },
    #[error(
        "{origin}: none of the outcome columns nps, csat, fcr is present\nhint: add at least one of nps (0-10), csat (1-5), fcr (true/false)"
    )]
    NoOutcome { origin: String },
}

fn parse_num(v: &str, lo: f64, hi: f64) -> Result<f64, String> {
    let x: f64 = v
        .trim()
        .parse()
        .map_err(|_| format!("{v:?} is not a number"))?;
    if x.fract() != 0.0 || x < lo || x > hi {
        return Err(format!("{v} is outside {lo}-{hi}"));
    }
    Ok(x)
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "t" => Ok(true),
        "false" | "no" | "n" | "0" | "f" => Ok(false),
        _ => Err(format!("{v:?} is not true/false")),
    }
}

/// Read and validate a survey file (CSV or Parquet, see [`tables::read`]) against the
/// interaction ids of the feature table; rows the reader left out (extra fields) are issues
/// like the others.
pub fn read(path: &Path, ids: &HashMap<String, usize>) -> Result<Surveys, SurveyError> {
    let t = tables::read(path)?;
    let file = path.display().to_string();
    let mut sv = parse_lines(&file, &t.header, &t.rows, &t.lines, ids)?;
    sv.rows += t.bad_rows.len();
    sv.issues.extend(t.bad_rows.into_iter().map(|b| Issue {
        line: b.line,
        kind: if b.kind == "extra fields" {
            "extra fields"
        } else {
            "unreadable row"
        },
        value: b.value,
        detail: b.message,
    }));
    sv.issues.sort_by_key(|i| i.line);
    sv.file = file;
    sv.separator = t.separator;
    Ok(sv)
}

/// Validate survey rows against the interaction ids of the feature table (row `i` on line
/// `i + 2`).
pub fn parse(
    origin: &str,
    header: &[String],
    rows: &[Vec<Option<String>>],
    ids: &HashMap<String, usize>,
) -> Result<Surveys, SurveyError> {
    let lines: Vec<usize> = (0..rows.len()).map(|i| i + 2).collect();
    parse_lines(origin, header, rows, &lines, ids)
}

fn parse_lines(
    origin: &str,
    header: &[String],
    rows: &[Vec<Option<String>>],
    lines: &[usize],
    ids: &HashMap<String, usize>,
) -> Result<Surveys, SurveyError> {
    let col = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.contains(&h.trim().to_ascii_lowercase().as_str()))
    };
    let id_col = col(&["interaction_id", "call_id"]).ok_or_else(|| SurveyError::NoId {
        origin: origin.into(),
        columns: header.join(","),
    })?;
    let (nps, csat, fcr, ty) = (
        col(&["nps"]),
        col(&["csat"]),
        col(&["fcr"]),
        col(&["survey_type"]),
    );
    if nps.is_none() && csat.is_none() && fcr.is_none() {
        return Err(SurveyError::NoOutcome {
            origin: origin.into(),
        });
    }
    let mut out = Surveys {
        rows: rows.len(),
        file: origin.into(),
        ..Default::default()
    };
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let line = lines.get(i).copied().unwrap_or(i + 2);
        let get = |c: Option<usize>| {
            c.and_then(|c| row.get(c).cloned().flatten())
                .filter(|v| !v.trim().is_empty())
        };
        let Some(id) = get(Some(id_col)) else {
            out.issues.push(Issue {
                line,
                kind: "missing id",
                value: String::new(),
                detail: "empty interaction id".into(),
            });
            continue;
        };
        let id = id.trim().to_string();
        let Some(&idx) = ids.get(&id) else {
            out.issues.push(Issue {
                line,
                kind: "unknown id",
                value: id.clone(),
                detail: format!("{id} is not in the features"),
            });
            continue;
        };
        let survey_type = get(ty).unwrap_or_else(|| "survey".into());
        let (mut bad, mut bad_values) = (Vec::new(), Vec::new());
        let mut r = Response {
            row: idx,
            survey_type: survey_type.trim().to_string(),
            nps: None,
            csat: None,
            fcr: None,
        };
        if let Some(v) = get(nps) {
            match parse_num(&v, 0.0, 10.0) {
                Ok(x) => r.nps = Some(x),
                Err(e) => {
                    bad.push(format!("nps {e}"));
                    bad_values.push(format!("nps={v}"));
                }
            }
        }
        if let Some(v) = get(csat) {
            match parse_num(&v, 1.0, 5.0) {
                Ok(x) => r.csat = Some(x),
                Err(e) => {
                    bad.push(format!("csat {e}"));
                    bad_values.push(format!("csat={v}"));
                }
            }
        }
        if let Some(v) = get(fcr) {
            match parse_bool(&v) {
                Ok(x) => r.fcr = Some(x),
                Err(e) => {
                    bad.push(format!("fcr {e}"));
                    bad_values.push(format!("fcr={v}"));
                }
            }
        }
        if !bad.is_empty() {
            out.issues.push(Issue {
                line,
                kind: "invalid value",
                value: bad_values.join("; "),
                detail: format!("{id}: {}", bad.join("; ")),
            });
        }
        if r.nps.is_none() && r.csat.is_none() && r.fcr.is_none() {
            if bad.is_empty() {
                out.issues.push(Issue {
                    line,
                    kind: "no answer",
                    value: id.clone(),
                    detail: format!("{id}: no nps, csat or fcr"),
                });
            }
            continue;
        }
        if !seen.insert((id.clone(), r.survey_type.clone())) {
            out.issues.push(Issue {
                line,
                kind: "duplicate",
                value: id.clone(),
                detail: format!(
                    "{id} ({}) already answered; the first answer is kept",
                    r.survey_type
                ),
            });
            continue;
        }
        out.responses.push((idx, r));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let header: Vec<String> = "call_id,survey_type,nps,csat,fcr"
            .split(',')
            .map(String::from)
            .collect();
        let row = |s: &str| -> Vec<Option<String>> {
            s.split(',')
                .map(|v| (!v.is_empty()).then(|| v.to_string()))
                .collect()
        };
        let rows = vec![
            row("A,post_call,9,5,true"),
            row("B,post_call,11,4,false"),
            row("Z,post_call,3,2,false"),
            row("A,post_call,7,4,true"),
            row("A,email,7,,"),
            row("C,post_call,x,3,maybe"),
            row(",post_call,5,3,true"),
            row("C,post_call,,,"),
        ];
        let ids: HashMap<String, usize> = [("A", 0), ("B", 1), ("C", 2)]
            .map(|(k, v)| (k.to_string(), v))
            .into();
        let s = parse("s.csv", &header, &rows, &ids).unwrap();
        // A post_call, B (csat and fcr are fine, nps is out of range), A email, C (csat only)
        assert_eq!(s.responses.len(), 4);
        assert_eq!(s.responses[1].1.nps, None);
        assert_eq!(s.responses[1].1.csat, Some(4.0));
        assert_eq!(s.survey_types(), vec!["email", "post_call"]);
        let kinds: Vec<(&str, usize)> =
            s.issue_summary().iter().map(|(k, n, _)| (*k, *n)).collect();
        assert_eq!(
            kinds,
            vec![
                ("duplicate", 1),
                ("invalid value", 2),
                ("missing id", 1),
                ("no answer", 1),
                ("unknown id", 1)
            ]
        );
        let unknown = s.issues.iter().find(|i| i.kind == "unknown id").unwrap();
        assert_eq!(unknown.line, 4);
        let e = parse("s.csv", &["id".into(), "nps".into()], &rows, &ids).unwrap_err();
        assert!(e.to_string().contains("hint: name the id column"), "{e}");
    }
}
