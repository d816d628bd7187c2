//! `callsift review` over HTTP, on a dataset written by the real Parquet writer over the bundled
//! recording samples/call_007.wav (a card payment): it refuses to start where it should (exit
//! 2 with a hint), answers byte ranges of the muted full-call audio, serves nothing outside the
//! dataset, refuses changes without its form secret or from another origin, needs its token
//! when given one, escapes every value, and keeps every review saved — also two reviewers
//! saving at once. Needs no model and no browser (the browser test is tests/review_browser.rs).

mod common;

use std::path::Path;

use callsift::conversation::{Role, SegmentRow};
use callsift::record::Interaction;
use callsift::store::sink::ParquetSink;
use common::{ReviewServer, http, ok_call};

const HOSTILE: &str = "\"><script>alert(1)</script>";
const ESCAPED: &str = "&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;";

fn seg(role: Role, start_ms: i64, end_ms: i64, text: &str) -> SegmentRow {
    SegmentRow {
        role,
        channel: if role == Role::Agent { 0 } else { 1 },
        speaker: if role == Role::Agent { 0 } else { 1 },
        start_ms,
        end_ms,
        text: text.into(),
        sentiment: 0.0,
        avg_token_prob: 0.9,
        no_speech_prob: 0.0,
        times: Vec::new(),
        redactions: None,
    }
}

/// Three calls of samples/call_007.wav; H-1 carries HOSTILE in its agent, customer, region,
/// transcript and evidence, and its card number (15.6–21.0 s) is a redacted segment.
fn write_dataset(dir: &Path) {
    let (rules, esc) = common::builtin_rules();
    let mut sink = ParquetSink::create(dir, &rules, &["region".to_string()], &[]).unwrap();
    for i in 1..=3 {
        let hostile = i == 1;
        let segments = vec![
            seg(
                Role::Agent,
                1_400,
                6_777,
                "Thank you for calling, my name is Paul.",
            ),
            seg(
                Role::Customer,
                7_377,
                10_660,
                if hostile {
                    HOSTILE
                } else {
                    "I would like to pay by card."
                },
            ),
            seg(
                Role::Agent,
                11_260,
                14_981,
                "Can I take the long card number please?",
            ),
            seg(Role::Customer, 15_581, 21_015, "It is [CARD_NUMBER]."),
            seg(
                Role::Agent,
                31_717,
                37_053,
                "Thank you, the payment has gone through.",
            ),
        ];
        let hits = vec![common::escalation(esc, 7_377, 10_660, HOSTILE)];
        sink.push(Interaction {
            agent_id: Some(if hostile { HOSTILE } else { "ag-paul" }.into()),
            customer_id: Some(if hostile {
                HOSTILE.into()
            } else {
                format!("cust-{i}")
            }),
            started_at: Some(1_794_787_200_000 + i * 3_600_000),
            queue: Some("payments".into()),
            duration_ms: Some(39_000),
            channels: Some(1),
            extra: vec![Some(if hostile { HOSTILE } else { "east" }.into())],
            segment_count: Some(segments.len() as i32),
            segments,
            ..ok_call(&rules, format!("H-{i}"), "call_007.wav", hits)
        })
        .unwrap();
    }
    sink.finish().unwrap();
}

fn dataset() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    write_dataset(&ds);
    (dir, ds.display().to_string())
}

/// The server's form secret, from a page.
fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form") + 19;
    html[at..at + 48].to_string()
}

#[test]
fn bad_starts_exit_2_with_a_hint() {
    let (dir, ds) = dataset();
    let fails = |args: &[&str], want: &str| {
        let o = common::callsift()
            .arg("review")
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(want) && err.contains("\nhint: "),
            "{args:?}: {err}"
        );
    };
    fails(
        &["--dataset", &ds, "--listen", "0.0.0.0:0"],
        "error: --listen 0.0.0.0:0: not a loopback address, and no --token",
    );
    fails(
        &[
            "--dataset",
            &ds,
            "--listen",
            "0.0.0.0:0",
            "--token",
            "short",
        ],
        "--token: an access token needs at least 16 characters",
    );
    let missing = dir.path().join("nope").display().to_string();
    fails(&["--dataset", &missing], "--dataset");
    fails(&["--dataset", &ds, "--checklist", &missing], "--checklist");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    fails(&["--dataset", &ds, "--listen", &port], "cannot listen on");
}

#[test]
fn audio_is_served_in_ranges_and_muted_where_the_card_number_was_said() {
    let (_dir, ds) = dataset();
    let s = ReviewServer::start(&["--dataset", &ds]);
    let whole = s.get("/audio/H-2");
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let len = whole.body.len();
    assert!(whole.body.starts_with(b"RIFF") && len > 1_000_000, "{len}");
    let part = http(
        &s.addr,
        "GET",
        "/audio/H-2",
        &[("Range", "bytes=100-199")],
        b"",
    );
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 100-199/{len}").as_str())
    );
    assert_eq!(part.body, whole.body[100..200]);
    let tail = http(&s.addr, "GET", "/audio/H-2", &[("Range", "bytes=-10")], b"");
    assert_eq!(
        (tail.status, &tail.body[..]),
        (206, &whole.body[len - 10..])
    );
    let past = http(
        &s.addr,
        "GET",
        "/audio/H-2",
        &[("Range", &format!("bytes={len}-"))],
        b"",
    );
    assert_eq!(past.status, 416);
    assert_eq!(
        past.header("content-range"),
        Some(format!("bytes */{len}").as_str())
    );
    // the card number (15.6–21.0 s) is the low tone; the customer's request (7.4–10.6 s) is not
    let wav = hound::WavReader::new(std::io::Cursor::new(whole.body)).unwrap();
    let ch = wav.spec().channels as usize;
    let samples: Vec<i16> = wav.into_samples().map(Result::unwrap).collect();
    let peak = |a: f64, z: f64| {
        samples[(a * 16_000.0) as usize * ch..(z * 16_000.0) as usize * ch]
            .iter()
            .map(|v| v.unsigned_abs())
            .max()
            .unwrap()
    };
    assert!(
        peak(16.0, 20.5) <= 1_700,
        "card number audible: {}",
        peak(16.0, 20.5)
    );
    assert!(peak(7.5, 10.5) > 3_000, "speech muted: {}", peak(7.5, 10.5));
    drop(s);
    // --keep-original-audio plays the card number as it was said, with a warning
    let s = ReviewServer::start(&["--dataset", &ds, "--keep-original-audio"]);
    let wav = hound::WavReader::new(std::io::Cursor::new(s.get("/audio/H-2").body)).unwrap();
    let original: Vec<i16> = wav.into_samples().map(Result::unwrap).collect();
    let card = &original[16 * 16_000 * ch..20 * 16_000 * ch];
    assert!(card.iter().map(|v| v.unsigned_abs()).max().unwrap() > 3_000);
    assert!(
        s.get("/calls/H-2")
            .text()
            .contains("payment and identity data are NOT muted")
    );
}

#[test]
fn nothing_outside_the_dataset_is_served() {
    let (_dir, ds) = dataset();
    let s = ReviewServer::start(&["--dataset", &ds]);
    for path in [
        "/audio/..%2F..%2F..%2Fetc%2Fpasswd",
        "/audio/../../../etc/passwd",
        "/audio/%2e%2e/%2e%2e/Cargo.toml",
        "/calls/..%2F..%2Fetc%2Fpasswd",
        "/static/../../Cargo.toml",
        "/static/review.js/../../../etc/passwd",
        "/reviews/",
        "/interactions/",
        "//etc/passwd",
        "/etc/passwd",
        "/audio/H-9",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 404, "{path}: {}", r.status);
        assert!(
            !r.text().contains("root:") && !r.text().contains("[package]"),
            "{path}"
        );
    }
    assert_eq!(s.get("/static/review.js").status, 200);
}

#[test]
fn changes_need_the_form_secret_and_this_origin() {
    let (dir, ds) = dataset();
    let s = ReviewServer::start(&["--dataset", &ds]);
    let page = s.get("/queue");
    assert_eq!(page.status, 200);
    let secret = csrf(&page.text());
    let form = "application/x-www-form-urlencoded";
    let post = |headers: &[(&str, &str)], body: &str| {
        let mut h = vec![("Content-Type", form)];
        h.extend_from_slice(headers);
        http(&s.addr, "POST", "/reviewer", &h, body.as_bytes())
    };
    assert_eq!(post(&[], "reviewer=ann").status, 403, "no secret");
    assert_eq!(
        post(&[], "reviewer=ann&csrf=0000").status,
        403,
        "a wrong secret"
    );
    let good = format!("reviewer=ann&csrf={secret}");
    assert_eq!(
        post(&[("Origin", "http://evil.example")], &good).status,
        403,
        "another origin"
    );
    assert_eq!(
        post(&[("Referer", "http://evil.example/x")], &good).status,
        403,
        "another referrer"
    );
    let own = format!("http://{}", s.addr);
    let ok = post(&[("Origin", &own)], &good);
    assert_eq!(ok.status, 303);
    let cookie = ok
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // a review without the secret is refused and writes nothing
    let r = http(
        &s.addr,
        "POST",
        "/calls/H-2/review",
        &[("Content-Type", form), ("Cookie", &cookie)],
        b"action=submit&v%3Abeh_greeting=yes",
    );
    assert_eq!(r.status, 403);
    assert!(!dir.path().join("ds/reviews").exists());
    // a request for another host name (DNS rebinding) is not answered
    let r = http(
        &s.addr,
        "GET",
        "/queue",
        &[("Host", "evil.example:80")],
        b"",
    );
    assert_eq!(r.status, 421);
    // every page forbids other scripts and framing
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
}

#[test]
fn a_token_is_needed_when_given() {
    let (_dir, ds) = dataset();
    let token = "0123456789abcdef-token";
    let s = ReviewServer::start(&["--dataset", &ds, "--token", token]);
    assert_eq!(s.get("/queue").status, 401);
    assert_eq!(s.get("/audio/H-2").status, 401);
    assert_eq!(s.get("/queue?token=wrong-0123456789abcdef").status, 401);
    let first = s.get(&format!("/queue?token={token}"));
    assert_eq!(
        (first.status, first.header("location")),
        (303, Some("/queue"))
    );
    let cookie = first.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let cookie = cookie.split(';').next().unwrap();
    assert_eq!(
        http(&s.addr, "GET", "/queue", &[("Cookie", cookie)], b"").status,
        200
    );
    let bearer = format!("Bearer {token}");
    let r = http(
        &s.addr,
        "GET",
        "/calls/H-2",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn every_value_from_the_data_is_escaped() {
    let (_dir, ds) = dataset();
    let s = ReviewServer::start(&["--dataset", &ds]);
    for path in [
        "/",
        "/queue",
        "/queue?all=1",
        "/calls/H-1",
        "/calls/H-3",
        "/calibration",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}");
        let html = r.text();
        assert!(
            !html.contains(HOSTILE) && !html.contains("<script>alert"),
            "{path} carries the payload:\n{html}"
        );
        assert_eq!(
            html.matches("<script").count(),
            1,
            "{path}: one script, ours"
        );
    }
    let call = s.get("/calls/H-1").text();
    // agent, customer, region, transcript line and evidence: all shown, escaped
    assert!(call.matches(ESCAPED).count() >= 5, "{call}");
    assert!(call.contains(&format!(
        "<tr><th>region</th><td colspan=\"3\">{ESCAPED}</td></tr>"
    )));
    // the hostile customer's other calls: none; H-2 and H-3 are different customers
    assert!(
        s.get("/queue")
            .text()
            .contains(&format!("<td>{ESCAPED}</td>"))
    );
}

/// Set a reviewer; returns the cookie and the form secret.
fn sign_in(s: &ReviewServer, name: &str) -> (String, String) {
    let secret = csrf(&s.get("/queue").text());
    let r = http(
        &s.addr,
        "POST",
        "/reviewer",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("reviewer={name}&csrf={secret}").as_bytes(),
    );
    assert_eq!(r.status, 303);
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (cookie, secret)
}

fn save(s: &ReviewServer, who: &(String, String), call: &str, body: &str) -> common::HttpResponse {
    http(
        &s.addr,
        "POST",
        &format!("/calls/{call}/review"),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &who.0),
        ],
        format!("csrf={}&{body}", who.1).as_bytes(),
    )
}

/// Every behaviour of the default checklist as callsift flagged it (none), as a form body.
fn all_as_flagged(ds: &str) -> String {
    let calls = callsift::store::read::read_calls(Path::new(ds)).unwrap();
    calls
        .flags
        .iter()
        .filter(|(n, _)| n.starts_with("beh_"))
        .map(|(n, _)| format!("v%3A{n}=no"))
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn reviews_are_saved_kept_exported_and_calibrated() {
    let (_dir, ds) = dataset();
    let s = ReviewServer::start(&["--dataset", &ds]);
    let ann = sign_in(&s, "ann");
    let base = all_as_flagged(&ds);
    // an override without a reason is not submitted: kept as a draft, the page says why
    let r = save(
        &s,
        &ann,
        "H-2",
        &format!("v%3Abeh_greeting=yes&{base}&action=submit"),
    );
    assert_eq!(r.status, 422);
    assert!(
        r.text().contains("beh_greeting: say why you override"),
        "{}",
        r.text()
    );
    // autosave answers 204
    let r = save(
        &s,
        &ann,
        "H-2",
        &format!("{base}&note=draft&action=autosave"),
    );
    assert_eq!(r.status, 204);
    let reason = "greets by name at 00:01";
    let body = format!(
        "v%3Abeh_greeting=yes&{base}&r%3Abeh_greeting={}&note=Good+call&action=submit",
        reason.replace(' ', "+").replace(':', "%3A")
    );
    assert_eq!(save(&s, &ann, "H-2", &body).status, 303);
    let page = http(&s.addr, "GET", "/calls/H-2", &[("Cookie", &ann.0)], b"").text();
    assert!(page.contains("Your review: <b>done</b>"), "{page}");
    assert!(page.contains(reason) && page.contains("Good call"));
    // bob agrees on the same call: calibration has two reviewers on one call
    let bob = sign_in(&s, "bob");
    let body = format!("v%3Abeh_greeting=yes&{base}&r%3Abeh_greeting=heard+it&action=submit");
    assert_eq!(save(&s, &bob, "H-2", &body).status, 303);
    let cal = s.get("/calibration").text();
    assert!(cal.contains("<tr><td>beh_greeting</td><td>not tested</td><td>Cohen</td><td>1.00</td><td>1</td><td>2</td></tr>"), "{cal}");
    // callsift never flagged a greeting, reviewers heard one twice: recall 0 of 2
    assert!(cal.contains("<tr><td>beh_greeting</td><td>not tested</td><td>0.00</td><td>0 / 0 / 2 / 0</td><td>2</td></tr>"), "{cal}");
    let csv = s.get("/reviews.csv").text();
    assert!(csv.starts_with("review_id,interaction_id,reviewer,status,"));
    assert!(csv.contains("ann/H-2,H-2,ann,submitted,") && csv.contains(reason));
    // every save is in the dataset: 3 saves of ann, 1 of bob
    let rows = callsift::store::reviews::read_all(Path::new(&ds)).unwrap();
    let saves: std::collections::BTreeSet<(String, i64)> = rows
        .iter()
        .map(|r| (r.reviewer.clone(), r.saved_at))
        .collect();
    assert_eq!(saves.len(), 4);
    let status = |c: &str| http(&s.addr, "GET", "/queue", &[("Cookie", c)], b"").text();
    assert!(status(&ann.0).contains("<b>1</b> done"));
}

#[test]
fn reviewers_saving_at_once_lose_nothing() {
    let (_dir, ds) = dataset();
    let s = ReviewServer::start(&["--dataset", &ds]);
    let base = all_as_flagged(&ds);
    let who: Vec<(String, String)> = (0..4).map(|k| sign_in(&s, &format!("r{k}"))).collect();
    std::thread::scope(|sc| {
        for w in &who {
            let (s, base) = (&s, &base);
            sc.spawn(move || {
                for k in 0..5 {
                    let call = format!("H-{}", 1 + k % 3);
                    let r = save(s, w, &call, &format!("{base}&note=n{k}&action=draft"));
                    assert_eq!(r.status, 303);
                }
            });
        }
    });
    let rows = callsift::store::reviews::read_all(Path::new(&ds)).unwrap();
    let saves: std::collections::BTreeSet<(String, String, i64)> = rows
        .iter()
        .map(|r| (r.reviewer.clone(), r.interaction_id.clone(), r.saved_at))
        .collect();
    assert_eq!(saves.len(), 20, "every save of every reviewer is kept");
    // and a server started again shows them
    drop(s);
    let s = ReviewServer::start(&["--dataset", &ds]);
    assert_eq!(s.get("/reviews.csv").text().lines().count(), 1 + rows.len());
}

#[test]
fn sample_leaves_out_reviewed_calls_and_score_reads_the_verdicts() {
    let (dir, ds) = dataset();
    {
        let s = ReviewServer::start(&["--dataset", &ds]);
        let ann = sign_in(&s, "ann");
        let base = all_as_flagged(&ds);
        let submit = save(&s, &ann, "H-2", &format!("{base}&action=submit"));
        assert_eq!(submit.status, 303);
        // a draft is not a review yet
        assert_eq!(
            save(&s, &ann, "H-3", &format!("{base}&action=draft")).status,
            303
        );
    }
    let d = |p: &str| dir.path().join(p).display().to_string();
    let out = common::callsift_ok(&[
        "sample",
        "--features",
        &ds,
        "--per-agent",
        "5",
        "--period",
        "all",
        "--seed",
        "1",
        "--out",
        &d("qa"),
    ]);
    assert!(out.contains("left out 1 calls already reviewed"), "{out}");
    let picked = std::fs::read_to_string(dir.path().join("qa/qa_sample.csv")).unwrap();
    assert!(
        picked.contains("H-3,") && !picked.contains("H-2,"),
        "{picked}"
    );

    std::fs::write(
        dir.path().join("surveys.csv"),
        "interaction_id,nps,csat\nH-1,3,2\nH-2,9,5\nH-3,6,3\n",
    )
    .unwrap();
    let out = common::callsift_ok(&[
        "score",
        "--features",
        &ds,
        "--surveys",
        &d("surveys.csv"),
        "--bootstrap",
        "50",
        "--out",
        &d("scores"),
    ]);
    assert!(
        out.contains("reviewed by QA (callsift review): 1 reviews of 1 calls"),
        "{out}"
    );
    let (h, rows) =
        callsift::store::read::read_text_rows(&dir.path().join("scores/review_verdicts.parquet"))
            .unwrap();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r[col("interaction_id")].as_deref(), Some("H-2"));
        assert_eq!(r[col("agent_id")].as_deref(), Some("ag-paul"));
        assert_eq!(r[col("verdict")].as_deref(), Some("no"));
        assert_eq!(r[col("auto_flag")].as_deref(), Some("false"));
        assert_eq!(r[col("nps")].as_deref(), Some("9.0"));
    }
    let report = std::fs::read_to_string(dir.path().join("scores/score_report.json")).unwrap();
    assert!(report.contains("\"reviewed\": {") && report.contains("\"per_agent_item\""));
}

#[test]
fn the_dashboard_filters_and_every_figure_links_to_its_calls_with_its_n() {
    let (_dir, ds) = dataset();
    let s = ReviewServer::start(&["--dataset", &ds]);
    let all = s.get("/").text();
    assert!(all.contains("<b>3</b> calls</a> of 3"), "{all}");
    let home = s.get("/?agent=ag-paul&from=2026-11-16").text();
    assert!(
        home.contains(
            "<a href=\"/queue?all=1&#38;agent=ag-paul&#38;from=2026-11-16\"><b>2</b> calls</a> of 3"
        ),
        "{home}"
    );
    // the escalation rate: 2 of 2 calls, with its interval and n, linked to those calls
    let href = "/queue?all=1&#38;agent=ag-paul&#38;from=2026-11-16&#38;flag=evt_escalation_request";
    let row = format!("<tr><td><a href=\"{href}\">evt_escalation_request</a></td><td>100.0% [");
    assert!(
        home.contains(&row) && home.contains("(2 calls)</td><td>2</td></tr>"),
        "{home}"
    );
    let list = s.get(&href.replace("&#38;", "&")).text();
    assert_eq!(list.matches("<a class=\"call\"").count(), 2, "{list}");
    assert!(list.contains("H-2") && list.contains("H-3") && !list.contains(">H-1<"));
    // a date range that keeps nothing
    assert!(
        s.get("/?to=2020-01-01")
            .text()
            .contains("<b>0</b> calls</a> of 3")
    );
}
