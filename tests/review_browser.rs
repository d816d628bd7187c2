//! `callsift review` in a real browser (Debian chromium driven through chromium-driver's
//! WebDriver), on a real dataset: callsift run (the installed model) over samples/ with a
//! manifest whose region of one call is markup, then sample. A reviewer opens the queue, opens
//! a call, clicks a transcript line (the player seeks there), overrides an item with a reason,
//! writes a coaching note, submits, reloads and sees the review kept; it shows in calibration,
//! the CSV export and `callsift score`'s output; the injected markup shows as text. Needs the model, chromium and
//! chromium-driver (scripts/setup.sh).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{ReviewServer, http, root};
use serde_json::{Value, json};

const HOSTILE: &str = "\"><script>alert(1)</script>";

/// A chromedriver on a free port with one headless chromium session.
struct Browser {
    driver: Child,
    addr: String,
    session: String,
}

impl Browser {
    fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed: run scripts/setup.sh");
        let addr = format!("127.0.0.1:{port}");
        let t0 = Instant::now();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": which_chromium(),
                "args": ["--headless", "--no-sandbox", "--disable-gpu",
                         "--autoplay-policy=no-user-gesture-required", "--window-size=1280,2000"]
            }
        }}});
        let mut b = Browser {
            driver,
            addr,
            session: String::new(),
        };
        let v = b.call("POST", "/session", caps);
        b.session = v["sessionId"].as_str().expect("a session").to_string();
        b
    }

    /// One WebDriver command; its `value`, panicking on an error.
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let r = http(
            &self.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        assert!(r.status == 200, "{method} {path}: {} {v}", r.status);
        v["value"].clone()
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", json!({ "url": url }));
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/clear"), json!({}));
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            json!({ "text": text }),
        );
    }

    fn js(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
    }

    fn source(&self) -> String {
        self.cmd("GET", "/source", json!(null))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(
                &self.addr,
                "DELETE",
                &format!("/session/{}", self.session),
                &[],
                b"",
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn which_chromium() -> String {
    let c = common::chromium();
    let o = Command::new("which").arg(c).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// callsift run over samples/ (one call's region is HOSTILE), then sample: (dataset, qa).
fn real_dataset(dir: &Path) -> (String, String) {
    let manifest = std::fs::read_to_string(root().join("samples/manifest.csv")).unwrap();
    let manifest = manifest.replacen(
        "C-1001,call_001.wav,ag-sarah,cust-501,2026-11-20T09:14:03Z,billing,phone,north",
        &format!(
            "C-1001,call_001.wav,ag-sarah,cust-501,2026-11-20T09:14:03Z,billing,phone,\"{}\"",
            HOSTILE.replace('"', "\"\"")
        ),
        1,
    );
    let samples = dir.join("samples");
    std::fs::create_dir_all(&samples).unwrap();
    for e in std::fs::read_dir(root().join("samples")).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), samples.join(e.file_name())).unwrap();
        }
    }
    std::fs::write(samples.join("manifest.csv"), manifest).unwrap();
    let ds = dir.join("ds");
    common::run_ok(
        common::callsift()
            .args(["run", "--quiet", "--manifest"])
            .arg(samples.join("manifest.csv"))
            .arg("--model")
            .arg(common::model_path())
            .arg("--out")
            .arg(&ds),
    );
    let qa = dir.join("qa");
    common::run_ok(
        common::callsift()
            .args([
                "sample",
                "--quiet",
                "--per-agent",
                "1",
                "--seed",
                "1",
                "--features",
            ])
            .arg(&ds)
            .arg("--out")
            .arg(&qa),
    );
    (ds.display().to_string(), qa.display().to_string())
}

/// Wait until `f` holds (at most 10 s).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < Duration::from_secs(10), "{what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[ignore = "needs the model, chromium and chromium-driver: run with `make test`"]
fn a_reviewer_listens_scores_and_finds_the_review_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (ds, qa) = real_dataset(dir.path());
    let server = ReviewServer::start(&["--dataset", &ds, "--qa", &qa]);
    let base = format!("http://{}", server.addr);
    let b = Browser::start();

    // the queue, and who reviews
    b.go(&format!("{base}/queue"));
    b.type_into("form.who input[name=reviewer]", "ann");
    b.click("form.who button");
    eventually("the queue after signing in", || {
        b.source().contains("to do, <b>0</b> in progress")
    });
    // open C-1001 (the hostile region): its markup is text
    b.go(&format!("{base}/queue?all=1"));
    b.click("a.call[href='/calls/C-1001']");
    eventually("the call page", || {
        b.source().contains("<h1>Call C-1001</h1>")
    });
    assert_eq!(b.js("return document.scripts.length"), json!(1));
    let meta = b.js("return document.querySelector('table.meta').innerText");
    assert!(meta.as_str().unwrap().contains(HOSTILE), "{meta}");

    // a click on the fourth transcript line plays the call from there
    let t: f64 = b
        .js("return parseFloat(document.querySelectorAll('tr.line')[3].dataset.t)")
        .as_f64()
        .unwrap();
    assert!(t > 5.0, "{t}");
    b.click("tr.line:nth-of-type(5) td.time a");
    eventually("the player at the line", || {
        let now = b
            .js("return document.getElementById('player').currentTime")
            .as_f64()
            .unwrap_or(-1.0);
        (now - t).abs() < 1.5
    });

    // override the first item callsift flagged, with a reason, and submit
    let item: String = b
        .js("return document.querySelector(\"tr.item[data-auto='yes'] td\").firstChild.textContent.trim()")
        .as_str()
        .unwrap()
        .to_string();
    b.click(&format!("input[name='v:{item}'][value='no']"));
    assert_eq!(
        b.js(&format!(
            "return document.querySelector(\"input[name='r:{item}']\").required"
        )),
        json!(true),
        "an override asks for a reason"
    );
    b.type_into(
        &format!("input[name='r:{item}']"),
        "not heard <b>at all</b>",
    );
    b.type_into("textarea[name=note]", "Slow down on the payment script.");
    b.click("#submit-review");
    eventually("the submitted review", || {
        b.source().contains("Your review: <b>done</b>")
    });

    // reloaded, it is kept: verdict, reason (as text), note, history
    b.go(&format!("{base}/calls/C-1001"));
    let src = b.source();
    assert!(src.contains("Your review: <b>done</b>"), "{src}");
    assert_eq!(
        b.js(&format!(
            "return document.querySelector(\"input[name='r:{item}']\").value"
        )),
        json!("not heard <b>at all</b>"),
        "the reason is kept, as text"
    );
    assert!(src.contains("Slow down on the payment script."));
    assert_eq!(
        b.js(&format!(
            "return document.querySelector(\"input[name='v:{item}'][value='no']\").checked"
        )),
        json!(true)
    );
    assert!(src.contains("<td>ann</td>") && src.contains("<td>submitted</td>"));

    // calibration counts the override as a false alarm of callsift's flag
    b.go(&format!("{base}/calibration"));
    assert!(
        b.source()
            .contains(&format!("<tr><td>{item}</td><td>0.00</td><td>not tested</td><td>0 / 1 / 0 / 0</td><td>1</td></tr>")),
        "{}",
        b.source()
    );
    // and the export holds it
    let csv = server.get("/reviews.csv").text();
    assert!(csv.contains("ann/C-1001,C-1001,ann,submitted,"), "{csv}");
    assert!(csv.contains(&format!(",{item},")) && csv.contains("not heard <b>at all</b>"));
    // and score sets the verdicts beside callsift's flags and the caller's answers
    let scores = dir.path().join("scores");
    let out = common::run_ok(
        common::callsift()
            .args(["score", "--bootstrap", "50", "--features", &ds, "--surveys"])
            .arg(root().join("samples/surveys.csv"))
            .arg("--out")
            .arg(&scores),
    );
    let out = common::text(&out);
    assert!(
        out.contains("reviewed by QA (callsift review): 1 reviews of 1 calls"),
        "{out}"
    );
    assert!(
        out.contains(&format!("  ag-sarah             {item:<28}   1")),
        "{out}"
    );
    assert!(scores.join("review_verdicts.parquet").is_file());
    // screenshots for docs/ when asked
    if let Ok(dir) = std::env::var("CALLSIFT_REVIEW_SCREENSHOTS") {
        use base64_free::decode;
        for (name, path) in [
            ("review_queue.png", "/queue"),
            ("review_call.png", "/calls/C-1001"),
            ("review_calibration.png", "/calibration"),
        ] {
            b.go(&format!("{base}{path}"));
            let png = b.cmd("GET", "/screenshot", json!(null));
            std::fs::write(Path::new(&dir).join(name), decode(png.as_str().unwrap())).unwrap();
        }
        // the review form of the call page
        b.go(&format!("{base}/calls/C-1001"));
        b.js("document.getElementById('review').scrollIntoView(); return 0");
        let form = b.find("#review");
        let png = b.cmd("GET", &format!("/element/{form}/screenshot"), json!(null));
        std::fs::write(
            Path::new(&dir).join("review_form.png"),
            decode(png.as_str().unwrap()),
        )
        .unwrap();
    }
}

/// Base64 decoding for WebDriver screenshots (no dependency for a test-only need).
mod base64_free {
    pub fn decode(s: &str) -> Vec<u8> {
        let val = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            _ => 63,
        };
        let bytes: Vec<u8> = s
            .bytes()
            .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
            .collect();
        let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
        for chunk in bytes.chunks(4) {
            let v: Vec<u32> = chunk.iter().map(|&c| u32::from(val(c))).collect();
            let n = v
                .iter()
                .enumerate()
                .fold(0u32, |a, (i, x)| a | (x << (18 - 6 * i)));
            for k in 0..chunk.len().saturating_sub(1) {
                out.push((n >> (16 - 8 * k)) as u8);
            }
        }
        out
    }
}
