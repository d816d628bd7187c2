//! Audio redaction of QA clips on the payment call `samples/call_007.wav`: the segments are the
//! call's scripted timeline as the text redaction leaves it (the real `pii::redact_channel`,
//! with the other channel as context), and the flagged moments are forced onto the card
//! number and the security code. The clips must hold the redaction tone, and nothing else, over
//! every spoken payment detail on both channels, and the original audio elsewhere. Needs no
//! model (the model-backed run is in tests/model_end_to_end.rs).

mod common;

use std::path::{Path, PathBuf};

use callsift::analyze::pii;
use callsift::conversation::{Role, SegmentRow};
use callsift::downstream::sample::audio_redaction::{MARGIN_MS, TONE_AMPLITUDE};
use callsift::record::Interaction;
use common::{builtin_rules, escalation, ok_call, samples};

/// (role, start_ms, end_ms, text) of the scripted timeline.
fn timeline() -> Vec<(Role, i64, i64, String)> {
    let mut rd = csv::Reader::from_path(samples().join("call_007.timeline.csv")).unwrap();
    rd.records()
        .map(|r| {
            let r = r.unwrap();
            let role = if &r[0] == "agent" {
                Role::Agent
            } else {
                Role::Customer
            };
            (
                role,
                r[1].parse().unwrap(),
                r[2].parse().unwrap(),
                r[3].into(),
            )
        })
        .collect()
}

/// The timeline as segments (agent on the left channel), redacted per channel as `run` does.
fn redacted_segments() -> Vec<SegmentRow> {
    let t = timeline();
    let mut out = Vec::new();
    for ch in 0..2 {
        let role = if ch == 0 { Role::Agent } else { Role::Customer };
        let mine: Vec<&(Role, i64, i64, String)> = t.iter().filter(|s| s.0 == role).collect();
        let other: Vec<(i64, String)> = t
            .iter()
            .filter(|s| s.0 != role)
            .map(|s| (s.1, s.3.to_lowercase()))
            .collect();
        let starts: Vec<i64> = mine.iter().map(|s| s.1).collect();
        let mut texts: Vec<String> = mine.iter().map(|s| s.3.clone()).collect();
        pii::redact_channel(
            &mut texts,
            &pii::OtherSide {
                seg_start_ms: &starts,
                segments: &other,
            },
            &pii::Policy::default(),
        );
        for (s, text) in mine.iter().zip(texts) {
            out.push(SegmentRow {
                role,
                channel: ch,
                start_ms: s.1,
                end_ms: s.2,
                text,
                sentiment: 0.0,
                avg_token_prob: 0.8,
                no_speech_prob: 0.01,
            });
        }
    }
    out
}

/// A features folder with call_007 and two flagged moments: the card number and the CVV.
fn write_features(dir: &Path) -> Vec<(i64, i64)> {
    let (rules, esc) = builtin_rules();
    let segments = redacted_segments();
    // the text redaction left a placeholder in each payment answer (which label it chose
    // does not matter here)
    let answers: Vec<&str> = segments
        .iter()
        .filter(|s| s.role == Role::Customer && (15_000..31_000).contains(&s.start_ms))
        .map(|s| s.text.as_str())
        .collect();
    assert!(
        answers.len() == 3 && answers.iter().all(|t| t.contains("[") && t.contains("]")),
        "the text redaction changed: {answers:?}"
    );
    let moments = vec![(15_581, 21_015), (30_410, 31_117)];
    let hits = moments
        .iter()
        .map(|&(start_ms, end_ms)| escalation(esc, start_ms, end_ms, "[CARD_NUMBER]"))
        .collect();
    let call = Interaction {
        channels: Some(2),
        agent_id: Some("ag-paul".into()),
        started_at: Some(1_794_787_200_000),
        segment_count: Some(segments.len() as i32),
        segments,
        ..ok_call(&rules, "C-1007".into(), "call_007.wav", hits)
    };
    common::write_features(dir, &rules, [call]);
    moments
}

fn sample(features: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    common::run_ok(
        common::callsift()
            .args([
                "sample",
                "--per-agent",
                "1",
                "--targeted-share",
                "1",
                "--flags",
                "escalation_request",
                "--seed",
                "1",
                "--features",
            ])
            .arg(features)
            .arg("--out")
            .arg(out)
            .args(extra),
    )
}

/// (clip path, start_ms of the moment, clip_muted_ms) per row of qa_sample.csv.
fn clips(out: &Path) -> Vec<(PathBuf, i64, Option<i64>)> {
    let mut rd = csv::Reader::from_path(out.join("qa_sample.csv")).unwrap();
    let h = rd.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    rd.records()
        .map(|r| r.unwrap())
        .filter(|r| !r[col("clip")].is_empty())
        .map(|r| {
            (
                out.join(&r[col("clip")]),
                r[col("start_ms")].parse().unwrap(),
                r[col("clip_muted_ms")].parse().ok(),
            )
        })
        .collect()
}

/// Channels of a 16-bit clip as f32.
fn read_clip(path: &Path) -> Vec<Vec<f32>> {
    let mut r = hound::WavReader::open(path).unwrap();
    let n = r.spec().channels as usize;
    let mut out = vec![Vec::new(); n];
    for (i, v) in r.samples::<i16>().enumerate() {
        out[i % n].push(v.unwrap() as f32 / 32767.0);
    }
    out
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// RMS of what is left of `x` after the best-fitting 1 kHz sinusoid is taken out.
fn residual_after_tone(x: &[f32], first_sample: usize) -> f32 {
    // 1 kHz at 16 kHz: one period every 16 samples
    let w = |i: usize| std::f32::consts::TAU * ((first_sample + i) % 16) as f32 / 16.0;
    let (mut ss, mut sc, mut cc, mut xs, mut xc) = (0f32, 0f32, 0f32, 0f32, 0f32);
    for (i, v) in x.iter().enumerate() {
        let (s, c) = (w(i).sin(), w(i).cos());
        ss += s * s;
        sc += s * c;
        cc += c * c;
        xs += v * s;
        xc += v * c;
    }
    let det = ss * cc - sc * sc;
    let (a, b) = ((xs * cc - xc * sc) / det, (xc * ss - xs * sc) / det);
    let left: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, v)| v - a * w(i).sin() - b * w(i).cos())
        .collect();
    rms(&left)
}

const RATE: i64 = 16;

#[test]
fn clips_over_the_payment_carry_the_tone_there_and_the_call_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let features = dir.path().join("features");
    let moments = write_features(&features);
    let out = dir.path().join("qa");
    let run = sample(&features, &out, &[]);
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(said.contains("2 clips"), "{said}");
    let original = callsift::pipeline::decode::decode_file(&samples().join("call_007.wav"))
        .unwrap()
        .channels;
    // what must never be heard: the card number, expiry and CVV answers (scripted times)
    let secret: Vec<(i64, i64)> = timeline()
        .iter()
        .filter(|s| s.0 == Role::Customer && s.1 >= 15_000 && s.2 <= 32_000)
        .map(|s| (s.1, s.2))
        .collect();
    assert_eq!(secret.len(), 3);
    // the payment stretch: from the end of the cue to the end of the CVV, with the margin
    let (mute_from, mute_to) = (14_981 - MARGIN_MS, 31_117 + MARGIN_MS);
    let found = clips(&out);
    assert_eq!(found.len(), moments.len(), "{found:?}");
    for (path, start, muted) in found {
        let clip = read_clip(&path);
        let clip_from = (start - 3_000).max(0);
        let clip_to = clip_from + clip[0].len() as i64 / RATE;
        assert_eq!(
            muted,
            Some(clip_to.min(mute_to) - clip_from.max(mute_from)),
            "{}",
            path.display()
        );
        let at = |ms: i64| ((ms - clip_from) * RATE).clamp(0, clip[0].len() as i64) as usize;
        for (ch, samples) in clip.iter().enumerate() {
            // inside every secret utterance: the tone, and nothing else
            for &(a, b) in &secret {
                let (i, j) = (at(a), at(b));
                if i == j {
                    continue;
                }
                let x = &samples[i..j];
                let level = rms(x);
                assert!(
                    (level - TONE_AMPLITUDE / 2f32.sqrt()).abs() < 0.002,
                    "{} ch {ch} {a}-{b}: level {level}",
                    path.display()
                );
                let rest = residual_after_tone(x, (clip_from * RATE) as usize + i);
                assert!(
                    rest < 0.001,
                    "{} ch {ch} {a}-{b}: {rest} besides the tone",
                    path.display()
                );
            }
            // outside the stretch: the recording, sample for sample
            let src = &original[ch][(clip_from * RATE) as usize..];
            let mut compared = 0;
            for (k, v) in samples.iter().enumerate() {
                let t = clip_from + k as i64 / RATE;
                if t < mute_from - 1 || t > mute_to + 1 {
                    let want = (src[k].clamp(-1.0, 1.0) * 32767.0).round() / 32767.0;
                    assert!(
                        (v - want).abs() < 1e-4,
                        "{} ch {ch} at {t} ms",
                        path.display()
                    );
                    compared += 1;
                }
            }
            assert!(compared > 16_000, "{} ch {ch}", path.display());
        }
        // and what is kept is speech: the agent asking for the card (before the stretch) or
        // confirming the payment (after it)
        let kept = if start < 20_000 {
            &clip[0][at(12_000)..at(mute_from)]
        } else {
            &clip[0][at(mute_to + 400)..]
        };
        assert!(rms(kept) > 0.01, "{}: {}", path.display(), rms(kept));
    }

    // --keep-original-audio: the recording as it is, with a warning
    let kept = dir.path().join("qa_original");
    let run = sample(&features, &kept, &["--keep-original-audio"]);
    let warned = String::from_utf8_lossy(&run.stderr);
    assert!(
        warned.contains("warning: --keep-original-audio"),
        "{warned}"
    );
    for (path, start, muted) in clips(&kept) {
        assert_eq!(muted, None);
        let clip = read_clip(&path);
        let from = ((start - 3_000) * RATE) as usize;
        for (k, v) in clip[1].iter().enumerate() {
            let want = (original[1][from + k].clamp(-1.0, 1.0) * 32767.0).round() / 32767.0;
            assert!((v - want).abs() < 1e-4, "{} at {k}", path.display());
        }
    }
}

#[test]
fn without_segments_no_clip_is_cut_unless_the_original_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let features = dir.path().join("features");
    write_features(&features);
    std::fs::remove_dir_all(features.join("segments")).unwrap();
    let out = dir.path().join("qa");
    let run = sample(&features, &out, &[]);
    let warned = String::from_utf8_lossy(&run.stderr);
    assert!(
        warned.contains("warning: no clips for C-1007") && warned.contains("segments"),
        "{warned}"
    );
    assert!(clips(&out).is_empty());
    assert_eq!(std::fs::read_dir(out.join("clips")).unwrap().count(), 0);
    let kept = dir.path().join("qa_original");
    sample(&features, &kept, &["--keep-original-audio"]);
    assert_eq!(clips(&kept).len(), 2);
}

#[test]
#[ignore = "model-backed (slow): run with `make test`"]
fn model_clip_of_the_payment_confirmation_has_no_security_code() {
    // the real pipeline on the payment call: its resolution check ("the payment has gone
    // through") starts 0.5 s after the customer says the CVV, so its clip holds the CVV
    let dir = tempfile::tempdir().unwrap();
    let features = dir.path().join("out");
    common::run_with_model(&features, &[samples().join("call_007.wav")]);
    let out = dir.path().join("qa");
    let run = common::callsift()
        .args([
            "sample",
            "--per-agent",
            "1",
            "--period",
            "all",
            "--targeted-share",
            "1",
            "--flags",
            "resolution_check,greeting",
            "--seed",
            "1",
            "--features",
        ])
        .arg(&features)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success());
    let original = callsift::pipeline::decode::decode_file(&samples().join("call_007.wav"))
        .unwrap()
        .channels;
    let found = clips(&out);
    assert_eq!(found.len(), 2, "{found:?}");
    let (cvv_from, cvv_to) = (30_410, 31_117);
    for (path, start, muted) in found {
        let clip = read_clip(&path);
        let clip_from = (start - 3_000).max(0);
        let at = |ms: i64| ((ms - clip_from) * RATE).clamp(0, clip[0].len() as i64) as usize;
        let same_from = |ms: i64, ch: usize| {
            clip[ch][at(ms)..].iter().enumerate().all(|(k, v)| {
                let src = original[ch][(clip_from * RATE) as usize + at(ms) + k];
                (v - (src.clamp(-1.0, 1.0) * 32767.0).round() / 32767.0).abs() < 1e-4
            })
        };
        if start < 20_000 {
            // the greeting: nothing to mute, the recording as it is
            assert_eq!(muted, Some(0));
            assert!(same_from(clip_from, 0) && same_from(clip_from, 1));
            continue;
        }
        assert!(muted.unwrap() >= cvv_to - clip_from, "{muted:?}");
        for (ch, samples) in clip.iter().enumerate() {
            let x = &samples[at(cvv_from)..at(cvv_to)];
            let rest = residual_after_tone(x, (clip_from * RATE) as usize + at(cvv_from));
            assert!(
                rest < 0.001,
                "ch {ch}: {rest} besides the tone over the CVV"
            );
            // the confirmation after it is kept
            assert!(same_from(32_000, ch), "ch {ch}");
        }
        assert!(rms(&clip[0][at(32_000)..]) > 0.01);
    }
}
