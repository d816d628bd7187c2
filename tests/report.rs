//! The whole analyst/QA workflow after `run`, on a features folder written by the real
//! Parquet writer with a planted effect (escalations lower NPS): score → sample → scorecard →
//! report. The page shows every section and the drivers chart and links to the QA review
//! pages; then, in a real headless browser (Debian chromium), it loads without errors, the
//! same holds of its DOM, and it renders. Needs no model; the browser half needs chromium
//! (installed by scripts/setup.sh).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use callsift::record::Interaction;
use common::{builtin_rules, callsift_ok, escalation, ok_call};

const N: usize = 240;

fn escalated(i: usize) -> bool {
    i.is_multiple_of(4)
}

fn write_features(dir: &Path) {
    let (rules, esc) = builtin_rules();
    let rows = (0..N).map(|i| {
        let hits = if escalated(i) {
            vec![escalation(
                esc,
                10_000,
                13_000,
                "I want to speak to a supervisor.",
            )]
        } else {
            Vec::new()
        };
        Interaction {
            agent_id: Some(format!("ag-{}", i % 6)),
            customer_id: Some(format!("cust-{}", i % 200)),
            queue: Some(if i % 6 < 3 { "billing" } else { "tech" }.into()),
            contact_channel: Some("phone".into()),
            started_at: Some(1_794_787_200_000 + (i as i64 % 14) * 86_400_000),
            duration_ms: Some(60_000 + (i as i64 % 7) * 10_000),
            metrics: Some(callsift::analyze::metrics::Metrics {
                longest_silence_ms: (i as i64 % 5) * 4_000,
                non_talk_time_ms: (i as i64 % 5) * 4_000,
                ..Default::default()
            }),
            ..ok_call(&rules, format!("C-{i:03}"), "call_003.flac", hits)
        }
    });
    common::write_features(dir, &rules, rows);
}

/// score → sample → scorecard → report in `dir`; returns the report page, `dir/report/index.html`.
fn build_report(dir: &Path) -> PathBuf {
    let d = |p: &str| dir.join(p).display().to_string();
    write_features(dir.join("features").as_path());
    // NPS: escalated calls mostly detractors, the rest mostly promoters (deterministic mix)
    let mut csv = String::from("call_id,nps,csat\n");
    for i in (0..N).filter(|i| i % 2 == 0 || i % 3 == 0) {
        let nps = if escalated(i) {
            [2, 4, 9][i % 3]
        } else {
            [9, 10, 8, 10, 6][i % 5]
        };
        csv.push_str(&format!(
            "C-{i:03},{nps},{}\n",
            if nps >= 9 { 5 } else { 2 }
        ));
    }
    std::fs::write(dir.join("surveys.csv"), csv).unwrap();
    callsift_ok(&[
        "score",
        "--quiet",
        "--bootstrap",
        "200",
        "--features",
        &d("features"),
        "--surveys",
        &d("surveys.csv"),
        "--out",
        &d("scores"),
    ]);
    callsift_ok(&[
        "sample",
        "--quiet",
        "--per-agent",
        "2",
        "--seed",
        "3",
        "--features",
        &d("features"),
        "--scores",
        &d("scores"),
        "--out",
        &d("report/qa"),
    ]);
    callsift_ok(&[
        "scorecard",
        "--quiet",
        "--features",
        &d("features"),
        "--surveys",
        &d("surveys.csv"),
        "--out",
        &d("cards"),
    ]);
    callsift_ok(&[
        "report",
        "--features",
        &d("features"),
        "--scores",
        &d("scores"),
        "--qa",
        &d("report/qa"),
        "--cards",
        &d("cards"),
        "--out",
        &d("report/index.html"),
    ]);
    dir.join("report/index.html")
}

/// The page `html` of the report in `report_dir`: every section, the volume, the planted
/// driver, no section without its input, and QA links to review pages that exist.
fn check_page(html: &str, report_dir: &Path) {
    for section in [
        "volume",
        "drivers",
        "topics",
        "silence",
        "checklist",
        "scorecards",
        "qa",
    ] {
        assert!(
            html.contains(&format!("<section id=\"{section}\">")),
            "section {section} missing"
        );
    }
    assert!(html.contains("<b>240</b> recordings"), "volume");
    // the planted driver shows in the forest plot and the drivers table with its n, the
    // answers behind the figures are counted, and no section lacks its input
    assert!(
        html.contains("evt_escalation_request (n ")
            && html.contains("<tr><td>evt_escalation_request</td><td>-"),
        "escalation not shown as a negative driver"
    );
    assert!(
        html.contains("survey answers for 240 calls (response rate"),
        "answers"
    );
    assert!(!html.contains("Thin data"), "240 calls are not thin data");
    assert!(!html.contains("class=\"missing\""), "a section has no data");
    // QA links point at review pages that exist
    let links: Vec<&str> = html
        .match_indices("href=\"qa/review/")
        .map(|(i, _)| &html[i + 6..])
        .collect();
    assert!(!links.is_empty());
    for l in links {
        let rel = &l[..l.find('"').unwrap()];
        assert!(report_dir.join(rel).exists(), "{rel}");
    }
}

#[test]
fn report_written_with_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let page = build_report(dir.path());
    check_page(
        &std::fs::read_to_string(&page).unwrap(),
        &dir.path().join("report"),
    );
}

#[test]
#[ignore = "needs chromium: run with `make test`"]
fn report_opens_in_a_headless_browser_with_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let page = format!("file://{}", build_report(dir.path()).display());

    let chromium = common::chromium();
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let dom = Command::new(chromium)
        .args(flags)
        .arg("--dump-dom")
        .arg(&page)
        .output()
        .unwrap();
    assert!(dom.status.success());
    let html = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    for bad in ["Uncaught", "Failed to load resource", "net::ERR_"] {
        assert!(!log.contains(bad), "the browser reported {bad}:\n{log}");
    }
    check_page(&html, &dir.path().join("report"));
    // and it renders: a screenshot of the page
    let shot = dir.path().join("report.png");
    let s = Command::new(chromium)
        .args(flags)
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,2400")
        .arg(&page)
        .output()
        .unwrap();
    assert!(s.status.success() && std::fs::metadata(&shot).unwrap().len() > 20_000);
    if let Ok(keep) = std::env::var("CALLSIFT_REPORT_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
