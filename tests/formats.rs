//! Every supported container/codec and common sample rate decodes, with channel count and
//! duration matching what sox/ffprobe report for the same file. Variants are made at test time
//! with sox from the bundled samples (sox and ffmpeg are installed by `make setup`; the tests
//! that run them are ignored by a bare `cargo test`). Damaged files fail with their reason.

mod common;

use std::path::Path;
use std::process::Command;

use callsift::pipeline::decode::{self, DecodeError};
use common::samples;

fn tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd} ({e}); run `make setup` first"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// (channels, duration in seconds) as an independent tool sees the file.
fn reference(path: &Path) -> (usize, f64) {
    let p = path.to_str().unwrap();
    if p.ends_with(".m4a") {
        let ch = tool(
            "ffprobe",
            &[
                "-v",
                "error",
                "-select_streams",
                "a:0",
                "-show_entries",
                "stream=channels",
                "-of",
                "csv=p=0",
                p,
            ],
        );
        let d = tool(
            "ffprobe",
            &[
                "-v",
                "error",
                "-show_entries",
                "format=duration",
                "-of",
                "csv=p=0",
                p,
            ],
        );
        (ch.parse().unwrap(), d.parse().unwrap())
    } else {
        (
            tool("soxi", &["-c", p]).parse().unwrap(),
            tool("soxi", &["-D", p]).parse().unwrap(),
        )
    }
}

fn check(path: &Path, tolerance_s: f64) {
    let (ch, secs) = reference(path);
    let audio = decode::decode_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(audio.channel_count(), ch, "{}", path.display());
    let ours = audio.duration_ms as f64 / 1000.0;
    assert!(
        (ours - secs).abs() <= tolerance_s,
        "{}: decoded {ours:.3} s, reference {secs:.3} s",
        path.display()
    );
    // resampled to 16 kHz with the same duration
    for c in &audio.channels {
        let resampled = c.len() as f64 / 16_000.0;
        assert!(
            (resampled - ours).abs() < 0.01,
            "{}: 16 kHz length {resampled}",
            path.display()
        );
        assert!(c.iter().all(|x| x.is_finite()));
        let peak = c.iter().fold(0f32, |a, &x| a.max(x.abs()));
        assert!(peak > 0.05, "{}: decoded audio is silent", path.display());
    }
}

#[test]
#[ignore = "needs sox and ffprobe: run with `make test`"]
fn bundled_samples_decode_like_sox_and_ffprobe_say() {
    for (name, tol) in [
        ("call_001.wav", 0.002),
        ("call_002.mp3", 0.06),
        ("call_003.flac", 0.002),
        ("call_004.wav", 0.002),
        ("call_005.ogg", 0.01),
        // AAC priming: symphonia does not trim the MP4 edit list (one 1024-sample frame + padding)
        ("call_006.m4a", 0.1),
    ] {
        check(&samples().join(name), tol);
    }
}

#[test]
#[ignore = "needs sox: run with `make test`"]
fn wav_encodings_and_sample_rates() {
    let dir = tempfile::tempdir().unwrap();
    let src = samples().join("call_003.flac");
    let variants: &[(&str, &[&str])] = &[
        ("pcm_u8.wav", &["-b", "8", "-e", "unsigned-integer"]),
        ("pcm_s16.wav", &["-b", "16", "-e", "signed-integer"]),
        ("pcm_s24.wav", &["-b", "24", "-e", "signed-integer"]),
        ("pcm_s32.wav", &["-b", "32", "-e", "signed-integer"]),
        ("pcm_f32.wav", &["-b", "32", "-e", "floating-point"]),
        ("mulaw.wav", &["-r", "8000", "-e", "u-law", "-b", "8"]),
        ("alaw.wav", &["-r", "8000", "-e", "a-law", "-b", "8"]),
        ("r8000.wav", &["-r", "8000"]),
        ("r11025.wav", &["-r", "11025"]),
        ("r22050.wav", &["-r", "22050"]),
        ("r44100.wav", &["-r", "44100"]),
        ("r48000_mono.wav", &["-r", "48000", "-c", "1"]),
        ("r8000.flac", &["-r", "8000"]),
        ("r44100.mp3", &["-r", "44100"]),
        ("r8000.mp3", &["-r", "8000", "-c", "1"]),
        ("r22050.ogg", &["-r", "22050"]),
    ];
    for (name, opts) in variants {
        let out = dir.path().join(name);
        let mut args = vec![src.to_str().unwrap()];
        args.extend_from_slice(opts);
        args.push(out.to_str().unwrap());
        tool("sox", &args);
        // MP3 at low rates keeps its encoder delay and padding (about 0.16 s at 8 kHz)
        let tol = if name.ends_with(".mp3") { 0.2 } else { 0.01 };
        check(&out, tol);
    }
}

#[test]
fn broken_files_fail_with_precise_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let wav = std::fs::read(samples().join("call_004.wav")).unwrap();
    let truncated = dir.path().join("truncated.wav");
    std::fs::write(&truncated, &wav[..wav.len() / 2]).unwrap();
    let e = decode::decode_file(&truncated).unwrap_err();
    assert!(matches!(e, DecodeError::Truncated { .. }), "{e}");
    assert!(e.to_string().contains("truncated.wav is truncated"), "{e}");

    let garbage = dir.path().join("garbage.mp3");
    let noise: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&garbage, noise).unwrap();
    assert!(decode::decode_file(&garbage).is_err());

    let header_only = dir.path().join("header_only.wav");
    std::fs::write(&header_only, &wav[..44]).unwrap();
    assert!(decode::decode_file(&header_only).is_err());
}

#[test]
#[ignore = "needs sox: run with `make test`"]
fn more_than_two_channels_fail_with_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let four = dir.path().join("four.wav");
    tool(
        "sox",
        &[
            "-M",
            samples().join("call_004.wav").to_str().unwrap(),
            samples().join("call_004.wav").to_str().unwrap(),
            samples().join("call_004.wav").to_str().unwrap(),
            samples().join("call_004.wav").to_str().unwrap(),
            four.to_str().unwrap(),
        ],
    );
    let e = decode::decode_file(&four).unwrap_err();
    assert!(
        matches!(e, DecodeError::TooManyChannels { channels: 4, .. }),
        "{e}"
    );
}
