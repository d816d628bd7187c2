//! Micro-benchmarks of the CPU stages around transcription, on the bundled 8 kHz µ-law stereo
//! call (64.8 s). Throughput is reported in audio-seconds per second, i.e. × real time for one
//! core (criterion runs single-threaded).
//!
//! cargo bench --bench stages

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use callsift::analyze::{self, metrics::ChannelActivity, rules::RuleSet};
use callsift::conversation;
use callsift::conversation::{Role, SegmentRow};
use callsift::pipeline::{decode, vad};

fn sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/call_001.wav")
}

fn stages(c: &mut Criterion) {
    let path = sample();
    let audio = decode::decode_file(&path).unwrap();
    let secs = audio.duration_ms / 1000;
    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Elements(secs));
    g.sample_size(20);
    g.bench_function("decode_resample_8k_mulaw_stereo", |b| {
        b.iter(|| decode::decode_file(black_box(&path)).unwrap())
    });
    g.bench_function("vad_both_channels", |b| {
        b.iter(|| {
            for ch in &audio.channels {
                black_box(vad::detect(ch, &vad::VadParams::default()));
            }
        })
    });
    let regions = vad::detect(&audio.channels[0], &vad::VadParams::default());
    g.bench_function("pack_speech_windows", |b| {
        b.iter(|| black_box(vad::pack(&audio.channels[0], &regions, 28_000, 1_000)))
    });
    g.finish();
    let _ = conversation::word_count("warm up");
}

/// call_008's scripted lines as the segments ASR would give (role, times, text).
fn scripted_segments() -> Vec<SegmentRow> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("samples/call_008.timeline.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.splitn(4, ',').collect::<Vec<_>>())
        .filter(|f| f[0] != "music")
        .map(|f| SegmentRow {
            role: if f[0] == "agent" {
                Role::Agent
            } else {
                Role::Customer
            },
            channel: (f[0] != "agent") as i32,
            speaker: (f[0] != "agent") as i32,
            start_ms: f[1].parse().unwrap(),
            end_ms: f[2].parse().unwrap(),
            text: f[3].trim_matches('"').to_string(),
            sentiment: 0.0,
            avg_token_prob: 0.9,
            no_speech_prob: 0.0,
            times: Vec::new(),
            redactions: None,
        })
        .collect()
}

/// Everything the pipeline does besides decoding and transcription, for one 69.5 s stereo
/// call with hold music: voice activity + music per channel, then PII redaction, sentiment,
/// metrics, names and the built-in rules.
fn analytics(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/call_008.wav");
    let audio = decode::decode_file(&path).unwrap();
    let segments = scripted_segments();
    let rules = RuleSet::builtin();
    let settings = analyze::Settings {
        sides: Some((0, 1)),
        metrics: Default::default(),
        redact_pii: true,
        rules: &rules,
        semantic: None,
        cast: None,
    };
    let mut g = c.benchmark_group("analytics");
    g.throughput(Throughput::Elements(audio.duration_ms / 1000));
    g.sample_size(20);
    g.bench_function("voice_activity_and_music_both_channels", |b| {
        b.iter(|| {
            for ch in &audio.channels {
                black_box(callsift::pipeline::vad::activity(ch));
            }
        })
    });
    let activity: Vec<ChannelActivity> = audio
        .channels
        .iter()
        .map(|ch| callsift::pipeline::vad::activity(ch).0)
        .collect();
    g.bench_function("text_analytics_pii_sentiment_metrics_rules", |b| {
        b.iter(|| {
            black_box(analyze::analyze_call(
                segments.clone(),
                &activity,
                audio.duration_ms as i64,
                &settings,
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, stages, analytics);
criterion_main!(benches);
