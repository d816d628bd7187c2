//! Thin and wrong inputs to the commands after `run`, as analysts and QA leads give them: typos
//! in every name-taking option (exit 2, the closest names in the message), folders passed to
//! the wrong option, `report --out` naming a folder, survey files separated by semicolons, with
//! extra fields, in Latin-1 or with a byte-order mark, every bad row listed in
//! `input_issues.csv`, and scorecard values resting on too few answers, peers or known calls.
//! Needs no model: the dataset is written by the real Parquet writer.

mod common;

use std::path::{Path, PathBuf};

use callsift::analyze::metrics::Metrics;
use callsift::analyze::rules::Kind;
use callsift::record::Interaction;
use common::{builtin_rules, escalation, ok_call};

/// Exit code, stdout and stderr of `callsift ARGS`.
fn cs(args: &[&str]) -> (Option<i32>, String, String) {
    let o = common::callsift().args(args).output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// `callsift ARGS` must fail with exit 2 and an error holding each of `needles`; returns stderr.
fn refused(args: &[&str], needles: &[&str]) -> String {
    let (code, out, err) = cs(args);
    assert_eq!(code, Some(2), "{args:?} exited {code:?}:\n{out}{err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: no {n:?} in\n{err}");
    }
    assert!(err.contains("\nhint: "), "{args:?}: no hint in\n{err}");
    err
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn p(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.p(name).display().to_string()
    }
}

/// Nine calls: C-0..C-7 stereo (agents ag-a: C-0..C-2 and ag-b: C-3..C-7; C-0 and C-4 with an
/// escalation request), and C-8 mono by ag-m, whose customer-side topics are unknown (null) and the
/// others known false.
fn dataset() -> Dir {
    let dir = Dir(tempfile::tempdir().unwrap());
    let (rules, esc) = builtin_rules();
    let calls = (0..9).map(|i| {
        let hits = if i % 4 == 0 && i < 8 {
            vec![escalation(
                esc,
                5_000,
                8_000,
                "I want to speak to a manager.",
            )]
        } else {
            Vec::new()
        };
        let mut c = Interaction {
            agent_id: Some(match i {
                0..=2 => "ag-a".into(),
                3..=7 => "ag-b".into(),
                _ => "ag-m".into(),
            }),
            customer_id: Some(format!("K-{i}")),
            started_at: Some(1_794_787_200_000 + i as i64 * 3_600_000),
            duration_ms: Some(60_000 + 20_000 * i as i64),
            channels: Some(2),
            segment_count: Some(0),
            metrics: Some(Metrics {
                non_talk_time_ms: 6_000,
                ..Default::default()
            }),
            ..ok_call(&rules, format!("C-{i}"), "call_001.wav", hits)
        };
        if i == 8 {
            c.channels = Some(1);
            let mut topics = 0;
            for (k, cat) in rules.categories.iter().enumerate() {
                if cat.kind == Kind::Topic {
                    c.categories[k] = (topics % 2 == 1).then_some(false);
                    topics += 1;
                } else if cat.kind == Kind::Behaviour {
                    c.categories[k] = None;
                }
            }
        }
        c
    });
    std::fs::create_dir(dir.p("features")).unwrap();
    common::write_features(&dir.p("features"), &rules, calls);
    dir
}

/// A scores folder from `callsift score` over the dataset and `surveys` (CSV text).
fn score(d: &Dir, surveys: &str) -> (String, String) {
    std::fs::write(d.p("surveys.csv"), surveys).unwrap();
    let (code, out, err) = cs(&[
        "score",
        "--bootstrap",
        "50",
        "--features",
        &d.s("features"),
        "--surveys",
        &d.s("surveys.csv"),
        "--out",
        &d.s("scores"),
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    (out, err)
}

/// `callsift scorecard --period all` over the dataset with `surveys` (a file in `d`) into `out`.
fn scorecard(d: &Dir, surveys: &str, out: &str) -> (Option<i32>, String, String) {
    cs(&[
        "scorecard",
        "--period",
        "all",
        "--features",
        &d.s("features"),
        "--surveys",
        &d.s(surveys),
        "--out",
        &d.s(out),
    ])
}

/// The rows of a CSV file as maps from column to text.
fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut rd = csv::Reader::from_path(path).unwrap();
    let h: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
    rd.records()
        .map(|r| {
            let r = r.unwrap();
            h.iter().cloned().zip(r.iter().map(String::from)).collect()
        })
        .collect()
}

fn sample_args<'a>(d: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "sample",
        "--per-agent",
        "2",
        "--seed",
        "1",
        "--features",
        &d[0],
        "--out",
        &d[1],
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn typos_in_flags_and_periods_are_refused_with_the_closest_names() {
    let d = dataset();
    let paths = [d.s("features"), d.s("qa")];
    let err = refused(
        &sample_args(
            &paths,
            &["--flags", "escalation,p_detractr>0.6,topic_refnd"],
        ),
        &[
            "escalation_request",
            "topic_refund",
            "p_detractor",
            "did you mean",
        ],
    );
    assert!(err.contains("3 flags"), "{err}");
    refused(
        &sample_args(&paths, &["--flags", "topc_*"]),
        &["topc_*", "did you mean topic_*?"],
    );
    refused(
        &sample_args(&paths, &["--flags", "hold_tim_ms>1000"]),
        &["hold_tim_ms", "did you mean hold_time_ms"],
    );
    refused(
        &sample_args(&paths, &["--period", "wek"]),
        &["--period \"wek\"", "did you mean week?"],
    );
    refused(
        &[
            "scorecard",
            "--period",
            "mnth",
            "--features",
            &d.s("features"),
            "--out",
            &d.s("cards"),
        ],
        &["did you mean month?"],
    );
    assert!(!d.p("qa").join("qa_sample.csv").exists());
}

#[test]
fn p_detractor_needs_a_model_and_an_empty_selection_says_why() {
    let d = dataset();
    let paths = [d.s("features"), d.s("qa")];
    refused(
        &sample_args(&paths, &["--flags", "p_detractor>0.6"]),
        &["p_detractor is written by `callsift score`", "--scores"],
    );
    // two answers: score builds no model, so p_detractor is empty
    score(&d, "call_id,nps\nC-0,3\nC-1,9\n");
    let scores = d.s("scores");
    refused(
        &sample_args(&paths, &["--scores", &scores, "--flags", "p_detractor>0.6"]),
        &["p_detractor is empty in scores.parquet", "built no model"],
    );
    // valid flags that match nothing: a warning saying which, not silence
    let (code, out, err) = cs(&sample_args(
        &paths,
        &["--flags", "churn_threat,escalation_request"],
    ));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        err.contains("warning: no call has churn_threat (of 9 eligible calls)"),
        "{err}"
    );
    assert!(!err.contains("no call has escalation_request"), "{err}");
    let (code, out, err) = cs(&sample_args(
        &paths,
        &["--flags", "escalation_request", "--max-confidence", "0.9"],
    ));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        err.contains("no call has escalation_request matched with confidence ≤ 0.9"),
        "{err}"
    );
    // the defaults skip what the data lacks (p_detractor and repeat_contact need --scores)
    let (code, out, err) = cs(&sample_args(&paths, &[]));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("default flags the data cannot serve, left out: p_detractor>0.6"),
        "{out}"
    );
}

#[test]
fn folders_passed_to_the_wrong_option_are_refused_naming_what_they_hold() {
    let d = dataset();
    score(&d, "call_id,nps\nC-0,3\nC-1,9\n");
    let (f, s, nosuch) = (d.s("features"), d.s("scores"), d.s("nosuch"));
    let out = d.s("report.html");
    refused(
        &[
            "report",
            "--features",
            &f,
            "--scores",
            &nosuch,
            "--out",
            &out,
        ],
        &["--scores", "nosuch: no such folder", "callsift score --out"],
    );
    refused(
        &["report", "--features", &f, "--scores", &f, "--out", &out],
        &["not written by `callsift score`", "pass it to --features"],
    );
    refused(
        &["report", "--features", &s, "--scores", &s, "--out", &out],
        &["--features", "pass it to --scores"],
    );
    refused(
        &["report", "--features", &f, "--cards", &s, "--out", &out],
        &["--cards", "not written by `callsift scorecard`"],
    );
    assert!(!d.p("report.html").exists());
    let paths = [f.clone(), d.s("qa")];
    let err = refused(
        &sample_args(&paths, &["--scores", &nosuch]),
        &["--scores", "nosuch: no such folder"],
    );
    assert!(!err.contains("--features"), "{err}");
    refused(
        &["scorecard", "--features", &s, "--out", &d.s("cards")],
        &["--features", "pass it to --scores"],
    );
    refused(
        &[
            "score",
            "--features",
            &nosuch,
            "--surveys",
            &d.s("surveys.csv"),
            "--out",
            &d.s("s2"),
        ],
        &["--features", "no such folder"],
    );
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn report_out_naming_a_folder_is_refused_and_leaves_no_partial() {
    let d = dataset();
    std::fs::create_dir(d.p("report")).unwrap();
    let f = d.s("features");
    for out in [
        d.s("report"),
        format!("{}/", d.s("report")),
        format!("{}/", d.s("new")),
    ] {
        refused(
            &["report", "--features", &f, "--out", &out],
            &["a folder, but the report is one HTML file", "report.html"],
        );
    }
    let partial: Vec<PathBuf> = files(d.0.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("partial"))
        .collect();
    assert!(partial.is_empty(), "{partial:?}");
    assert!(!d.p("new").exists());
}

#[test]
fn survey_files_separators_encodings_and_every_bad_row() {
    let d = dataset();
    // semicolons, a byte-order mark, an extra field, and more than three bad rows
    let text = "\u{feff}call_id;nps;csat\nC-0;3;2\nC-1;9;5;extra\nC-2;11;4\nC-3;x;\nZ-9;5;3\nC-4;;\nC-0;4;2\nC-5;10;5\n";
    let (out, _) = score(&d, text);
    assert!(out.contains("separated by ';'"), "{out}");
    assert!(out.contains("input_issues.csv"), "{out}");
    let issues = csv_rows(&d.p("scores").join("input_issues.csv"));
    let got: Vec<(String, String)> = issues
        .iter()
        .map(|r| (r["line"].clone(), r["kind"].clone()))
        .collect();
    let want = [
        ("3", "extra fields"),
        ("4", "invalid value"),
        ("5", "invalid value"),
        ("6", "unknown id"),
        ("7", "no answer"),
        ("8", "duplicate"),
    ];
    assert_eq!(
        got,
        want.map(|(a, b)| (a.to_string(), b.to_string())).to_vec()
    );
    assert_eq!(issues[0]["value"], "extra");
    assert_eq!(issues[1]["value"], "nps=11");
    assert!(issues.iter().all(|r| r["file"].ends_with("surveys.csv")));

    // scorecard --surveys: the same rows, a warning with the count, the same file
    let (code, out, err) = scorecard(&d, "surveys.csv", "cards");
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        err.contains("warning: 6 of 8 survey rows skipped or partly used"),
        "{err}"
    );
    assert!(out.contains("separated by ';'"), "{out}");
    assert_eq!(csv_rows(&d.p("cards").join("input_issues.csv")).len(), 6);

    // a missing file, or a folder given as the survey file
    for (surveys, says) in [
        ("nosuch.csv", "no such file"),
        ("scores", "a folder, not a file"),
    ] {
        refused(
            &[
                "scorecard",
                "--features",
                &d.s("features"),
                "--surveys",
                &d.s(surveys),
                "--out",
                &d.s("c2"),
            ],
            &[says],
        );
    }

    // Latin-1: an error naming the line and the encoding
    std::fs::write(
        d.p("latin1.csv"),
        b"call_id,nps,comment\nC-0,3,ok\nC-1,9,tr\xe8s bien\n",
    )
    .unwrap();
    for cmd in ["score", "scorecard"] {
        refused(
            &[
                cmd,
                "--features",
                &d.s("features"),
                "--surveys",
                &d.s("latin1.csv"),
                "--out",
                &d.s("l1"),
            ],
            &["latin1.csv:3:", "not UTF-8", "Latin-1", "iconv"],
        );
    }
}

#[test]
fn scorecard_values_carry_their_n_and_thin_ones_are_withheld() {
    let d = dataset();
    // ag-a: one answer (thin), ag-b: five (enough)
    let surveys = "call_id,nps\nC-0,3\nC-3,9\nC-4,10\nC-5,9\nC-6,10\nC-7,2\nC-8,9\n";
    std::fs::write(d.p("surveys.csv"), surveys).unwrap();
    let (code, out, err) = scorecard(&d, "surveys.csv", "cards");
    assert_eq!(code, Some(0), "{out}{err}");
    let rows = csv_rows(&d.p("cards").join("scorecard.csv"));
    let get = |agent: &str, metric: &str| {
        rows.iter()
            .find(|r| r["agent_id"] == agent && r["metric"] == metric)
            .unwrap_or_else(|| panic!("no {agent} {metric}"))
            .clone()
    };
    let thin = get("ag-a", "nps");
    assert_eq!((thin["value"].as_str(), thin["n"].as_str()), ("", "1"));
    assert_eq!(thin["note"], "not enough answers (n=1; needs 5)");
    assert_eq!(thin["percentile"], "");
    let ok = get("ag-b", "nps");
    assert_eq!((ok["value"].as_str(), ok["n"].as_str()), ("60.0", "5"));
    // its 95% interval: +100 ×4 and −100 ×1, sd 89.4, t(4) 2.776 → 60 ± 111, within ±100
    let (lo, hi): (f64, f64) = (
        ok["ci_low"].parse().unwrap(),
        ok["ci_high"].parse().unwrap(),
    );
    assert!((lo + 51.0).abs() < 0.5 && hi == 100.0, "{lo} {hi}");
    assert_eq!(
        (thin["ci_low"].as_str(), thin["ci_high"].as_str()),
        ("", "")
    );
    // three agents in the peer group: no percentile, and the note says why
    assert_eq!(ok["percentile"], "");
    assert_eq!(ok["note"], "percentile needs 5 peers (1 here)");
    let aht = get("ag-a", "aht_ms");
    assert_eq!(aht["percentile"], "");
    assert_eq!(aht["note"], "percentile needs 5 peers (3 here)");
    // the mono call's topics are partly unknown and none fired: unknown, not 0
    let mono = get("ag-m", "complaint_rate_pct");
    assert_eq!((mono["value"].as_str(), mono["n"].as_str()), ("", "0"));
    // non-talk share pooled: ag-a's calls last 60+80+100 s with 6 s each
    let nt = get("ag-a", "non_talk_share_pct");
    let v: f64 = nt["value"].parse().unwrap();
    assert!((v - 100.0 * 18.0 / 240.0).abs() < 1e-6, "{v}");
    assert_eq!(nt["n"], "3");

    // the report shows n beside every scorecard value and says why a value is withheld
    let (code, out, err) = cs(&[
        "report",
        "--features",
        &d.s("features"),
        "--cards",
        &d.s("cards"),
        "--out",
        &d.s("report.html"),
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let html = std::fs::read_to_string(d.p("report.html")).unwrap();
    assert!(
        html.contains("not enough answers <small>n=1 </small>"),
        "{html}"
    );
    assert!(
        html.contains("<td>60 <small>[-51–100] n=5 </small></td>"),
        "{html}"
    );
    assert!(!html.contains("title=\"n="), "{html}");
    assert!(!html.contains(">p50<"), "{html}");
    // the report's non-talk share is the scorecard's definition (pooled over all 9 calls)
    let total: f64 = (0..9).map(|i| 60.0 + 20.0 * i as f64).sum();
    let pooled = format!("{:.1}%", 100.0 * 54.0 / total);
    assert!(html.contains(&pooled), "{pooled} not in the report");
    assert!(html.contains("pooled over n=9 calls"), "{html}");
}
