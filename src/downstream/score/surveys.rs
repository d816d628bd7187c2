//! Survey answers: reads `interaction_id`/`call_id` + `nps` (0–10), `csat` (1–5), `fcr`
//! (true/false) and an optional `survey_type`, from rows of text (a CSV file, or a Parquet
//! file read by `output`). Every problem — unknown id, duplicate, out-of-range value,
//! unparsable row — is counted and reported with its line, never silently dropped.

use std::collections::{BTreeMap, HashMap, HashSet};

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
    pub detail: String,
}

/// Answers by interaction id, plus the problems found.
#[derive(Debug, Default)]
pub struct Surveys {
    /// (interaction row index in the feature table, answer)
    pub responses: Vec<(usize, Response)>,
    pub issues: Vec<Issue>,
    pub rows: usize,
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

/// Validate survey rows against the interaction ids of the feature table.
pub fn parse(
    origin: &str,
    header: &[String],
    rows: &[Vec<Option<String>>],
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
        ..Default::default()
    };
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let line = i + 2;
        let get = |c: Option<usize>| {
            c.and_then(|c| row.get(c).cloned().flatten())
                .filter(|v| !v.trim().is_empty())
        };
        let Some(id) = get(Some(id_col)) else {
            out.issues.push(Issue {
                line,
                kind: "missing id",
                detail: "empty interaction id".into(),
            });
            continue;
        };
        let id = id.trim().to_string();
        let Some(&idx) = ids.get(&id) else {
            out.issues.push(Issue {
                line,
                kind: "unknown id",
                detail: format!("{id} is not in the features"),
            });
            continue;
        };
        let survey_type = get(ty).unwrap_or_else(|| "survey".into());
        let mut bad = Vec::new();
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
                Err(e) => bad.push(format!("nps {e}")),
            }
        }
        if let Some(v) = get(csat) {
            match parse_num(&v, 1.0, 5.0) {
                Ok(x) => r.csat = Some(x),
                Err(e) => bad.push(format!("csat {e}")),
            }
        }
        if let Some(v) = get(fcr) {
            match parse_bool(&v) {
                Ok(x) => r.fcr = Some(x),
                Err(e) => bad.push(format!("fcr {e}")),
            }
        }
        if !bad.is_empty() {
            out.issues.push(Issue {
                line,
                kind: "invalid value",
                detail: format!("{id}: {}", bad.join("; ")),
            });
        }
        if r.nps.is_none() && r.csat.is_none() && r.fcr.is_none() {
            if bad.is_empty() {
                out.issues.push(Issue {
                    line,
                    kind: "no answer",
                    detail: format!("{id}: no nps, csat or fcr"),
                });
            }
            continue;
        }
        if !seen.insert((id.clone(), r.survey_type.clone())) {
            out.issues.push(Issue {
                line,
                kind: "duplicate",
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
