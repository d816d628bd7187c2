//! What `sample`, `scorecard` and `report` hand to people, with hostile manifest values:
//! spreadsheet formulas in ids, agents, queues and channels are neutralised in the CSVs (and
//! kept as they are in Parquet); ids that sanitise alike (`Q/1`, `Q_1`, `Q 1`) get their own
//! review pages and clips, linked correctly from the index and the report; escape sequences
//! in manifest values never reach the terminal. Needs no model.

mod common;

use std::collections::HashSet;
use std::path::Path;

use callsift::record::Interaction;
use common::{builtin_rules, escalation, ok_call};

const FORMULAS: [&str; 5] = [
    "=HYPERLINK(\"http://x\",\"y\")",
    "=cmd|' /C calc'!A0",
    "+1",
    "-1+2",
    "@SUM(1)",
];
const ALIKE: [&str; 3] = ["Q/1", "Q_1", "Q 1"];
const EVIL_AGENT: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7}ag-evil\r";

/// One call per hostile id, each with an escalation at 5-8 s in call_001; a hostile agent and
/// queue on the formula calls; an agent with escape sequences on a call of its own.
fn write_features(dir: &Path) {
    let (rules, esc) = builtin_rules();
    let calls = FORMULAS
        .iter()
        .map(|f| (f.to_string(), f.to_string()))
        .chain(ALIKE.iter().map(|id| (id.to_string(), "ag-q".to_string())))
        .chain(std::iter::once(("E-1".to_string(), EVIL_AGENT.to_string())));
    let rows = calls.enumerate().map(|(i, (id, agent))| {
        let hit = escalation(esc, 5_000, 8_000, "-I want to speak to a supervisor.");
        Interaction {
            agent_id: Some(agent),
            queue: Some("=1+1".into()),
            contact_channel: Some("@phone".into()),
            started_at: Some(1_794_787_200_000 + i as i64 * 60_000),
            duration_ms: Some(60_000),
            segment_count: Some(0),
            ..ok_call(&rules, id, "call_001.wav", vec![hit])
        }
    });
    common::write_features(dir, &rules, rows);
}

fn callsift(args: &[&str], paths: &[(&str, &Path)]) -> std::process::Output {
    let mut cmd = common::callsift();
    cmd.args(args);
    for (flag, p) in paths {
        cmd.arg(flag).arg(p);
    }
    common::run_ok(&mut cmd)
}

fn csv_cells(path: &Path) -> Vec<Vec<String>> {
    let mut rd = csv::Reader::from_path(path).unwrap();
    rd.records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

fn formula_like(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

#[test]
fn exports_neutralise_formulas_keep_names_apart_and_print_no_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let features = dir.path().join("features");
    write_features(&features);
    let qa = dir.path().join("qa");
    let sampled = callsift(
        &[
            "sample",
            "--per-agent",
            "3",
            "--period",
            "all",
            "--flags",
            "escalation_request",
            "--seed",
            "1",
        ],
        &[("--features", &features), ("--out", &qa)],
    );

    // qa_sample.csv: no cell a spreadsheet would evaluate; the values are all there, quoted
    let cells = csv_cells(&qa.join("qa_sample.csv"));
    assert_eq!(cells.len(), FORMULAS.len() + ALIKE.len() + 1);
    for row in &cells {
        for c in row {
            assert!(!formula_like(c), "qa_sample.csv cell {c:?}");
        }
    }
    let ids: HashSet<&str> = cells.iter().map(|r| r[0].as_str()).collect();
    for f in FORMULAS {
        assert!(
            ids.contains(format!("'{f}").as_str()),
            "{f} missing: {ids:?}"
        );
    }
    assert!(
        cells
            .iter()
            .all(|r| r[9] == "'-I want to speak to a supervisor.")
    );
    // callsift's own numbers are not touched
    assert!(cells.iter().all(|r| r[7] == "5000" && r[8] == "8000"));
    // the Parquet table keeps the values as they are
    let (h, rows) = callsift::store::read::read_text_rows(&qa.join("qa_sample.parquet")).unwrap();
    let id = h.iter().position(|c| c == "interaction_id").unwrap();
    let raw: HashSet<String> = rows.iter().filter_map(|r| r[id].clone()).collect();
    assert!(FORMULAS.iter().all(|f| raw.contains(*f)), "{raw:?}");

    // ids that sanitise alike: three pages, three clips each their own, linked correctly
    let mut pages = HashSet::new();
    let index = std::fs::read_to_string(qa.join("index.html")).unwrap();
    for q in ALIKE {
        let row = cells.iter().find(|r| r[0] == q).unwrap();
        let (clip, page) = (&row[11], &row[12]);
        assert!(pages.insert(page.clone()), "{q}: {page} shared");
        let html = std::fs::read_to_string(qa.join(page)).unwrap();
        let escaped = html_escape::encode_text(q).to_string();
        assert!(
            html.contains(&format!("QA review: {escaped}</h1>")),
            "{page}"
        );
        assert!(html.contains(&format!("src=\"../{clip}\"")), "{page}");
        assert!(qa.join(clip).is_file());
        assert!(
            index.contains(&format!("<a href=\"{page}\">{escaped}</a>")),
            "index links {q} elsewhere"
        );
    }
    let clips: HashSet<&String> = cells.iter().map(|r| &r[11]).collect();
    assert_eq!(clips.len(), cells.len(), "clips shared: {clips:?}");
    let on_disk = std::fs::read_dir(qa.join("review")).unwrap().count();
    assert_eq!(on_disk, cells.len());

    // the terminal never sees the escape sequences of the manifest
    let stdout = String::from_utf8_lossy(&sampled.stdout);
    assert!(stdout.contains("ag-evil in all: only 1 of 3"), "{stdout}");
    assert!(
        !stdout.contains(['\u{1b}', '\u{7}', '\r']),
        "{:?}",
        stdout.as_ref()
    );

    // scorecard.csv: manifest texts neutralised, callsift's numbers (even negative) kept
    let cards = dir.path().join("cards");
    callsift(
        &["scorecard", "--period", "all"],
        &[("--features", &features), ("--out", &cards)],
    );
    let cells = csv_cells(&cards.join("scorecard.csv"));
    assert!(!cells.is_empty());
    for row in &cells {
        for c in row {
            assert!(!formula_like(c), "scorecard.csv cell {c:?}");
        }
        assert_eq!((row[2].as_str(), row[3].as_str()), ("'=1+1", "'@phone"));
        for k in [4, 6, 7, 8, 9] {
            assert!(
                row[k].is_empty() || row[k].parse::<f64>().is_ok(),
                "{row:?}"
            );
        }
    }
    assert!(cells.iter().any(|r| r[0] == "'=cmd|' /C calc'!A0"));

    // the report links each of the three calls to its own page
    let report = dir.path().join("report.html");
    callsift(
        &["report"],
        &[
            ("--features", &features),
            ("--qa", &qa),
            ("--cards", &cards),
            ("--out", &report),
        ],
    );
    let html = std::fs::read_to_string(&report).unwrap();
    for page in &pages {
        assert!(
            html.contains(&format!("qa/{page}\"")),
            "report lacks {page}"
        );
    }
}
