//! Micro-benchmarks of the CPU stages around transcription, on the bundled 8 kHz µ-law stereo
//! call (64.8 s). Throughput is reported in audio-seconds per second, i.e. × real time for one
//! core (criterion runs single-threaded).
//!
//! cargo bench --bench stages

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use callsift::{decode, features, vad};

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
    let _ = features::word_count("warm up");
}

criterion_group!(benches, stages);
criterion_main!(benches);
