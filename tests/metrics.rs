//! Conversation metrics measured from the bundled recordings (real decoded audio, 8 kHz µ-law
//! and lossy codecs, line noise) against the same metrics computed from each call's scripted
//! timeline (samples/*.timeline.csv, the ground truth the audio was synthesised from).
//! Needs no model: voice activity alone drives these metrics.

mod common;

use callsift::analyze::metrics::{self, ChannelActivity, MetricParams, Metrics, Span};
use callsift::pipeline::decode;
use common::samples;

/// Agent speech, customer speech and hold music of a scripted call.
fn timeline(call: &str) -> (Vec<Span>, Vec<Span>, Vec<Span>) {
    let text = std::fs::read_to_string(samples().join(format!("{call}.timeline.csv"))).unwrap();
    let (mut a, mut c, mut m) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.splitn(4, ',').collect();
        let span = Span {
            start_ms: f[1].parse().unwrap(),
            end_ms: f[2].parse().unwrap(),
        };
        match f[0] {
            "agent" => a.push(span),
            "customer" => c.push(span),
            "music" => m.push(span),
            other => panic!("{call}: unknown timeline role {other}"),
        }
    }
    (a, c, m)
}

fn measured(file: &str) -> (Metrics, i64) {
    let audio = decode::decode_file(&samples().join(file)).unwrap();
    let act: Vec<ChannelActivity> = audio
        .channels
        .iter()
        .map(|ch| callsift::pipeline::vad::activity(ch).0)
        .collect();
    let d = audio.duration_ms as i64;
    (
        metrics::compute(&act[0], act.get(1), d, &MetricParams::default()),
        d,
    )
}

fn expected(call: &str, duration: i64) -> Metrics {
    let (a, c, music) = timeline(call);
    let act = |s: Vec<Span>, music: Vec<Span>| ChannelActivity {
        speech: s,
        words: 0,
        loudness_db: None,
        music,
    };
    metrics::compute(
        &act(a, music),
        Some(&act(c, Vec::new())),
        duration,
        &MetricParams::default(),
    )
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
        ("call_007", "call_007.wav"),
        ("call_008", "call_008.wav"),
    ] {
        let (got, d) = measured(file);
        let want = expected(call, d);
        let ctx = |m: &str| format!("{call} {m}");
        // talk time: the synthesiser's pauses inside an utterance are not speech, so the
        // measured time may be a little shorter than the utterance spans
        let talk = |who: &str, got: Option<i64>, want: Option<i64>| {
            let (g, w) = (got.unwrap(), want.unwrap());
            assert!(
                g <= w + 300 && g * 10 >= w * 8,
                "{call} {who} talk {g} vs {w}"
            );
        };
        talk("agent", got.talk_time_agent_ms, want.talk_time_agent_ms);
        talk(
            "customer",
            got.talk_time_customer_ms,
            want.talk_time_customer_ms,
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
            &ctx("hold music"),
            got.hold_music_ms.unwrap(),
            want.hold_music_ms.unwrap(),
            600,
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
fn hold_music_is_not_speech_and_counts_as_a_hold() {
    // call_008: 14 s of hold music on the agent channel (30.5-44.5 s) between "May I put you
    // on hold" and "Thank you for waiting"
    let (m, _) = measured("call_008.wav");
    let (_, _, music) = timeline("call_008");
    assert_eq!(music.len(), 1);
    close(
        "call_008 music",
        m.hold_music_ms.unwrap(),
        music[0].len(),
        600,
    );
    assert_eq!(m.hold_count, Some(1), "{m:?}");
    let hold = m.holds[0];
    assert!(hold.start_ms <= music[0].start_ms && hold.end_ms >= music[0].end_ms);
    close("call_008 hold start", hold.start_ms, 29_071, 400);
    close("call_008 hold end", hold.end_ms, 45_028, 400);
    // and nothing else in the sample set is music
    for file in [
        "call_001.wav",
        "call_002.mp3",
        "call_003.flac",
        "call_004.wav",
    ] {
        let (m, _) = measured(file);
        assert_eq!(m.hold_music_ms, Some(0), "{file}");
    }
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
