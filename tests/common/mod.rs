//! Helpers shared by the integration tests: the checkout's paths, the model, running the
//! callsift binary, the Python read-back check, and features folders written by the real
//! Parquet writer. Each test file takes it with `mod common;`.

// each test binary uses its own subset
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use callsift::analyze::rules::words::Layer;
use callsift::analyze::rules::{Hit, RuleSet};
use callsift::conversation::Role;
use callsift::record::Interaction;
use callsift::store::sink::ParquetSink;

/// The checkout: samples/, docs/, models/, deploy/ and tests/support/ are read from it.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled sample calls.
pub fn samples() -> PathBuf {
    root().join("samples")
}

/// The default Whisper model that `make setup` installs; panics with the fix when it is not
/// there (only `#[ignore]`d tests may call this).
pub fn model_path() -> PathBuf {
    let p = root().join("models/ggml-tiny.en.bin");
    assert!(
        p.is_file(),
        "{} is missing: run `make setup` first",
        p.display()
    );
    p
}

/// The callsift binary under test.
pub fn callsift() -> Command {
    Command::new(env!("CARGO_BIN_EXE_callsift"))
}

/// `callsift run --quiet` with the installed model over `inputs` into `out`; panics with the
/// output unless it succeeded (only `#[ignore]`d tests may call this).
pub fn run_with_model(out: &Path, inputs: &[PathBuf]) -> Output {
    run_ok(
        callsift()
            .args(["run", "--quiet", "--out"])
            .arg(out)
            .arg("--model")
            .arg(model_path())
            .args(inputs),
    )
}

/// Stdout and stderr of a finished command, for assertion messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `cmd` to the end; panics with its output unless it succeeded.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} cannot start: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The standard output of `callsift ARGS`, which must succeed.
pub fn callsift_ok(args: &[&str]) -> String {
    String::from_utf8_lossy(&run_ok(callsift().args(args)).stdout).to_string()
}

/// `tests/support/check_parquet.py` (pyarrow, DuckDB and polars) over the tables under `dir`,
/// against the columns documented in `doc` (a path in the checkout, e.g. `docs/schema.md`);
/// panics with its output unless every table passes. Returns what it printed.
pub fn check_parquet(dir: &Path, doc: &str) -> String {
    let o = run_ok(
        Command::new("python3")
            .arg(root().join("tests/support/check_parquet.py"))
            .arg(dir)
            .arg(root().join(doc)),
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The built-in rule pack and the index of its `escalation_request` category (the flag the
/// QA tests plant).
pub fn builtin_rules() -> (RuleSet, usize) {
    let rules = RuleSet::builtin();
    let esc = rules
        .categories
        .iter()
        .position(|c| c.id == "escalation_request")
        .unwrap();
    (rules, esc)
}

/// A customer's escalation request at `start_ms`..`end_ms`, with `evidence`.
pub fn escalation(esc: usize, start_ms: i64, end_ms: i64, evidence: &str) -> Hit {
    Hit {
        category: esc,
        role: Role::Customer,
        start_ms,
        end_ms,
        evidence: evidence.into(),
        matched: "speak to a manager".into(),
        layer: Layer::Exact,
        confidence: Layer::Exact.confidence(),
    }
}

/// A processed call of the bundled recording `samples/<recording>`: ok, tiny.en, English,
/// default metrics, and the categories of `hits` fired (every other category not).
pub fn ok_call(rules: &RuleSet, id: String, recording: &str, hits: Vec<Hit>) -> Interaction {
    Interaction {
        interaction_id: id,
        source_path: samples().join(recording).display().to_string(),
        ok: true,
        model: "tiny.en".into(),
        language: "en".into(),
        categories: (0..rules.categories.len())
            .map(|k| Some(hits.iter().any(|h| h.category == k)))
            .collect(),
        hits,
        metrics: Some(Default::default()),
        ..Default::default()
    }
}

/// A features folder written by the real Parquet writer, as `run` leaves it.
pub fn write_features(dir: &Path, rules: &RuleSet, calls: impl IntoIterator<Item = Interaction>) {
    let mut sink = ParquetSink::create(dir, rules, &[], &[]).unwrap();
    for call in calls {
        sink.push(call).unwrap();
    }
    sink.finish().unwrap();
}

/// The headless browser's command (Debian `chromium`, or `chromium-browser` elsewhere).
pub fn chromium() -> &'static str {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium is not installed: run scripts/setup.sh")
}

/// An HTTP/1.1 response as a test sees it: status, headers (names lowercase) and body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
}

/// One HTTP/1.1 request over a plain TCP connection (`Connection: close`; the body read to the
/// end, de-chunked when chunked): enough for the review server and chromedriver.
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    // read the head, then the body: Content-Length bytes (some servers keep the connection
    // open whatever they say), chunks up to the last, or else to the end
    let mut raw = Vec::new();
    let mut buf = [0u8; 65536];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = s.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "{addr}: the connection closed before a response head"
        );
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    loop {
        let done = match length {
            Some(n) => body.len() >= n,
            None => chunked && body.windows(5).any(|w| w == b"0\r\n\r\n"),
        };
        if done || method == "HEAD" {
            break;
        }
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    if let Some(n) = length {
        body.truncate(n);
    }
    if chunked {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
}

/// A running `callsift review` on a free loopback port, stopped when dropped.
pub struct ReviewServer {
    pub child: std::process::Child,
    /// `127.0.0.1:PORT`
    pub addr: String,
}

impl ReviewServer {
    /// `callsift review --listen 127.0.0.1:0 ARGS`, once it listens.
    pub fn start(args: &[&str]) -> ReviewServer {
        use std::io::BufRead;
        let mut child = callsift()
            .args(["review", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(addr) = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
        else {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("the server did not start: {line}{}", text(&o));
        };
        ReviewServer {
            addr: addr.to_string(),
            child,
        }
    }
    pub fn get(&self, path: &str) -> HttpResponse {
        http(&self.addr, "GET", path, &[], b"")
    }
}

impl Drop for ReviewServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
