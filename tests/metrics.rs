//! Conversation metrics measured from the bundled recordings (real decoded audio, 8 kHz µ-law
//! and lossy codecs, line noise) against the same metrics computed from each call's scripted
//! timeline (samples/*.timeline.csv, the ground truth the audio was synthesised from).
//! Needs no model: voice activity alone drives these metrics.

use std::path::{Path, PathBuf};

use callsift::analyze::metrics::{self, ChannelActivity, MetricParams, Metrics, Span};
use callsift::{decode, vad};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn timeline(call: &str) -> (Vec<Span>, Vec<Span>) {
    let text = std::fs::read_to_string(samples().join(format!("{call}.timeline.csv"))).unwrap();
    let (mut a, mut c) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.splitn(4, ',').collect();
        let span = Span {
            start_ms: f[1].parse().unwrap(),
            end_ms: f[2].parse().unwrap(),
        };
        if f[0] == "agent" {
            a.push(span)
        } else {
            c.push(span)
        }
    }
    (a, c)
}

fn measured(file: &str) -> (Metrics, i64) {
    let audio = decode::decode_file(&samples().join(file)).unwrap();
    let act: Vec<ChannelActivity> = audio
        .channels
        .iter()
        .map(|ch| ChannelActivity::from_regions(ch, &vad::detect(ch, &vad::VadParams::default())))
        .collect();
    let d = audio.duration_ms as i64;
    (
        metrics::compute(&act[0], act.get(1), d, &MetricParams::default()),
        d,
    )
}

fn expected(call: &str, duration: i64) -> Metrics {
    let (a, c) = timeline(call);
    let act = |s: Vec<Span>| ChannelActivity {
        speech: s,
        words: 0,
        loudness_db: None,
    };
    metrics::compute(&act(a), Some(&act(c)), duration, &MetricParams::default())
}

fn close(what: &str, got: i64, want: i64, tol: i64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: measured {got}, timeline {want} (±{tol})"
    );
}

#[test]
fn stereo_calls_match_their_timelines() {
    for (call, file) in [
        ("call_001", "call_001.wav"),
        ("call_002", "call_002.mp3"),
        ("call_003", "call_003.flac"),
        ("call_005", "call_005.ogg"),
        ("call_006", "call_006.m4a"),
    ] {
        let (got, d) = measured(file);
        let want = expected(call, d);
        let ctx = |m: &str| format!("{call} {m}");
        // talk time: the synthesiser's pauses inside an utterance are not speech, so the
        // measured time may be a little shorter than the utterance spans
        let (ga, wa) = (
            got.talk_time_agent_ms.unwrap(),
            want.talk_time_agent_ms.unwrap(),
        );
        assert!(
            ga <= wa + 300 && ga * 10 >= wa * 8,
            "{call} agent talk {ga} vs {wa}"
        );
        let (gc, wc) = (
            got.talk_time_customer_ms.unwrap(),
            want.talk_time_customer_ms.unwrap(),
        );
        assert!(
            gc <= wc + 300 && gc * 10 >= wc * 8,
            "{call} customer talk {gc} vs {wc}"
        );
        assert_eq!(
            got.non_talk_instances.len(),
            want.non_talk_instances.len(),
            "{call}: {got:?}"
        );
        for (g, w) in got.non_talk_instances.iter().zip(&want.non_talk_instances) {
            close(&ctx("non-talk start"), g.start_ms, w.start_ms, 300);
            close(&ctx("non-talk end"), g.end_ms, w.end_ms, 300);
        }
        assert_eq!(got.hold_count, want.hold_count, "{call}");
        close(
            &ctx("hold time"),
            got.hold_time_ms.unwrap(),
            want.hold_time_ms.unwrap(),
            400,
        );
        close(
            &ctx("overtalk"),
            got.overtalk_ms.unwrap(),
            want.overtalk_ms.unwrap(),
            250,
        );
        assert_eq!(
            got.interruptions_customer, want.interruptions_customer,
            "{call}"
        );
        assert_eq!(got.interruptions_agent, want.interruptions_agent, "{call}");
        close(
            &ctx("response latency"),
            got.agent_response_latency_ms.unwrap(),
            want.agent_response_latency_ms.unwrap(),
            150,
        );
        let (la, lc) = (
            got.loudness_agent_db.unwrap(),
            got.loudness_customer_db.unwrap(),
        );
        assert!(
            (-30.0..-10.0).contains(&la) && (-30.0..-10.0).contains(&lc),
            "{call}: {la} {lc}"
        );
    }
}

#[test]
fn scripted_events_are_found() {
    // call_001: 8 s hold after "May I place you on hold"
    let (m, _) = measured("call_001.wav");
    assert_eq!(m.hold_count, Some(1));
    close(
        "call_001 hold",
        m.hold_time_ms.unwrap(),
        38_579 - 29_254,
        400,
    );
    // call_002: the customer cuts in 0.8 s before the agent finishes
    let (m, _) = measured("call_002.mp3");
    assert_eq!(m.interruptions_customer, Some(1));
    close("call_002 overtalk", m.overtalk_ms.unwrap(), 800, 200);
    // call_003: 4 s of dead air while the agent "runs a test"
    let (m, _) = measured("call_003.flac");
    assert_eq!(m.non_talk_instances.len(), 1);
    close("call_003 dead air", m.non_talk_time_ms, 4_000, 300);
}

#[test]
fn mono_call_has_no_person_specific_metrics() {
    let (m, _) = measured("call_004.wav");
    assert!(m.talk_time_ms > 15_000);
    assert_eq!(m.talk_time_agent_ms, None);
    assert_eq!(m.interruptions_customer, None);
    assert_eq!(m.hold_count, None);
    assert_eq!(m.loudness_agent_db, None);
}
