//! Load measure of `callsift review` (not a timed test: it prints what benches/RESULTS.md
//! records): 20 simulated reviewers against a 10,000-call dataset written by the real Parquet
//! writer (12 segments and 2 rule hits a call), each opening call pages and the queue at
//! random; page latency p50/p95 per page and the server's peak memory. Run with
//! `cargo bench --bench review_load` (about 8 minutes on 2 cores).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use callsift::conversation::{Role, SegmentRow};
use callsift::record::Interaction;
use common::{ReviewServer, ok_call};

const CALLS: usize = 10_000;
const REVIEWERS: usize = 20;
const PAGES_EACH: usize = 40;

fn write_dataset(dir: &std::path::Path) {
    let (rules, esc) = common::builtin_rules();
    let calls = (0..CALLS).map(|i| {
        let segments: Vec<SegmentRow> = (0..12)
            .map(|k| SegmentRow {
                role: if k % 2 == 0 {
                    Role::Agent
                } else {
                    Role::Customer
                },
                channel: k % 2,
                speaker: k % 2,
                start_ms: k as i64 * 5_000,
                end_ms: k as i64 * 5_000 + 4_000,
                text: format!("line {k} of call {i}, some words about the bill and the order"),
                sentiment: 0.0,
                avg_token_prob: 0.9,
                no_speech_prob: 0.0,
                times: Vec::new(),
                redactions: None,
            })
            .collect();
        let hits = vec![
            common::escalation(esc, 10_000, 14_000, "I want a manager"),
            common::escalation(esc, 40_000, 44_000, "a supervisor now"),
        ];
        Interaction {
            agent_id: Some(format!("ag-{}", i % 50)),
            customer_id: Some(format!("cust-{}", i % 4_000)),
            queue: Some(["billing", "orders", "tech"][i % 3].into()),
            started_at: Some(1_794_787_200_000 + (i as i64 % 30) * 86_400_000),
            duration_ms: Some(60_000),
            segment_count: Some(12),
            segments,
            ..ok_call(&rules, format!("L-{i:05}"), "call_001.wav", hits)
        }
    });
    common::write_features(dir, &rules, calls);
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("ds");
    let t0 = Instant::now();
    write_dataset(&ds);
    println!(
        "dataset of {CALLS} calls written in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let t0 = Instant::now();
    let s = ReviewServer::start(&["--dataset", ds.to_str().unwrap()]);
    println!("server ready in {:.1} s", t0.elapsed().as_secs_f64());
    let (call_ms, queue_ms) = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..REVIEWERS)
            .map(|r| {
                let s = &s;
                sc.spawn(move || {
                    let (mut calls, mut queues) = (Vec::new(), Vec::new());
                    for k in 0..PAGES_EACH {
                        let id = (r * 7_919 + k * 104_729) % CALLS;
                        let t = Instant::now();
                        let page = s.get(&format!("/calls/L-{id:05}"));
                        calls.push(t.elapsed().as_secs_f64() * 1000.0);
                        assert_eq!(page.status, 200);
                        if k % 10 == 0 {
                            let t = Instant::now();
                            let q = s.get(&format!("/queue?agent=ag-{}", r % 50));
                            queues.push(t.elapsed().as_secs_f64() * 1000.0);
                            assert_eq!(q.status, 200);
                        }
                    }
                    (calls, queues)
                })
            })
            .collect();
        let mut all = (Vec::new(), Vec::new());
        for h in handles {
            let (c, q) = h.join().unwrap();
            all.0.extend(c);
            all.1.extend(q);
        }
        all
    });
    let (mut c, mut q) = (call_ms, queue_ms);
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.child.id())).unwrap();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?")
        .to_string();
    println!(
        "call page: n={} p50 {:.1} ms p95 {:.1} ms; queue (one agent's calls): n={} p50 {:.1} ms p95 {:.1} ms; server {peak}",
        c.len(),
        percentile(&mut c, 0.5),
        percentile(&mut c, 0.95),
        q.len(),
        percentile(&mut q, 0.5),
        percentile(&mut q, 0.95),
    );
}
