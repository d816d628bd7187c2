//! Audio redaction of QA clips on the payment call `samples/call_007.wav`: the segments are the
//! call's scripted timeline as the text redaction leaves it (the real `pii::redact_channel`,
//! with the other channel as context), and the flagged moments are forced onto the card
//! number and the security code. The clips must hold the redaction tone, and nothing else, over
//! every spoken payment detail on both channels, and the original audio elsewhere: with timed
//! redactions (what `run` stores) only the details are muted, and in a dataset written before
//! they were stored (schema version 4) the whole payment stretch is. Needs no model but for the
//! last test, which runs the real pipeline on the call.

mod common;

use std::path::{Path, PathBuf};

use callsift::analyze::pii;
use callsift::conversation::{Redaction, Role, SegmentRow};
use callsift::downstream::sample::audio_redaction::{MARGIN_MS, TONE_AMPLITUDE, WORD_MARGIN_MS};
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
                speaker: ch,
                start_ms: s.1,
                end_ms: s.2,
                text,
                sentiment: 0.0,
                avg_token_prob: 0.8,
                no_speech_prob: 0.01,
                times: Vec::new(),
                redactions: None,
            });
        }
    }
    out
}

/// Where the digits of a scripted answer are said (call ms): from its first number word, at
/// its share of the utterance's characters, to the utterance's end.
fn digits_of(start_ms: i64, end_ms: i64, text: &str) -> (i64, i64) {
    let first = ["oh ", "one ", "four "]
        .iter()
        .filter_map(|w| text.to_lowercase().find(w))
        .min()
        .unwrap();
    let share = first as f64 / text.len() as f64;
    (
        start_ms + (share * (end_ms - start_ms) as f64) as i64,
        end_ms,
    )
}

/// The spoken card number, expiry date and CVV of the timeline (call ms).
fn payment_details() -> Vec<(i64, i64)> {
    timeline()
        .iter()
        .filter(|s| s.0 == Role::Customer && s.1 >= 15_000 && s.2 <= 32_000)
        .map(|s| digits_of(s.1, s.2, &s.3))
        .collect()
}

/// The segments with their redactions timed as `run` stores them (each over its digits).
fn timed_segments() -> Vec<SegmentRow> {
    let details = payment_details();
    let mut segments = redacted_segments();
    for s in &mut segments {
        let detail = details
            .iter()
            .find(|d| d.0 >= s.start_ms && d.1 <= s.end_ms);
        s.redactions = Some(detail.map_or(Vec::new(), |&(start_ms, end_ms)| {
            vec![Redaction {
                kind: "CARD_NUMBER".into(),
                start_ms,
                end_ms,
            }]
        }));
    }
    segments
}

/// A features folder with call_007 and two flagged moments: the card number and the CVV.
fn write_features(dir: &Path) -> Vec<(i64, i64)> {
    write_features_with(dir, redacted_segments())
}

fn write_features_with(dir: &Path, segments: Vec<SegmentRow>) -> Vec<(i64, i64)> {
    let (rules, esc) = builtin_rules();
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

/// Rewrite the segments of `features` as callsift wrote them before schema version 5: without
/// the `redactions` column.
fn as_version_4(features: &Path) {
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;
    for part in callsift::store::read::table_files(&features.join("segments")).unwrap() {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&part).unwrap()).unwrap();
        let meta: Vec<KeyValue> = reader
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .unwrap()
            .iter()
            .map(|k| match k.key.as_str() {
                "callsift.schema_version" => KeyValue::new(k.key.clone(), "4".to_string()),
                _ => k.clone(),
            })
            .collect();
        let batches: Vec<_> = reader
            .build()
            .unwrap()
            .map(|b| {
                let mut b = b.unwrap();
                b.remove_column(b.schema().index_of("redactions").unwrap());
                b
            })
            .collect();
        let props = WriterProperties::builder()
            .set_key_value_metadata(Some(meta))
            .build();
        let mut w = ArrowWriter::try_new(
            std::fs::File::create(&part).unwrap(),
            batches[0].schema(),
            Some(props),
        )
        .unwrap();
        batches.iter().for_each(|b| w.write(b).unwrap());
        w.close().unwrap();
    }
}

/// For each clip of `out` (from `original` call audio): the milliseconds muted must be the
/// clip's overlap with `muted` (call ms), the tone and nothing else must lie over every span of
/// `secret` in it, and the recording, sample for sample, everywhere outside `muted`. Returns
/// (clip start ms, clip channels) of each.
fn check_clips(
    out: &Path,
    original: &[Vec<f32>],
    secret: &[(i64, i64)],
    muted: &[(i64, i64)],
) -> Vec<(i64, Vec<Vec<f32>>)> {
    let mut checked = Vec::new();
    for (path, start, clip_muted) in clips(out) {
        let clip = read_clip(&path);
        let clip_from = (start - 3_000).max(0);
        let clip_to = clip_from + clip[0].len() as i64 / RATE;
        let overlap: i64 = muted
            .iter()
            .map(|&(a, b)| (clip_to.min(b) - clip_from.max(a)).max(0))
            .sum();
        assert_eq!(clip_muted, Some(overlap), "{}", path.display());
        let at = |ms: i64| ((ms - clip_from) * RATE).clamp(0, clip[0].len() as i64) as usize;
        for (ch, samples) in clip.iter().enumerate() {
            // inside every secret utterance: the tone, and nothing else
            for &(a, b) in secret {
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
            // outside the muted spans: the recording, sample for sample
            let src = &original[ch][(clip_from * RATE) as usize..];
            let mut compared = 0;
            for (k, v) in samples.iter().enumerate() {
                let t = clip_from + k as i64 / RATE;
                if muted.iter().all(|&(a, b)| t < a - 1 || t > b + 1) {
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
        checked.push((clip_from, clip));
    }
    checked
}

#[test]
fn timed_redactions_mute_the_details_and_keep_the_questions_between() {
    let dir = tempfile::tempdir().unwrap();
    let features = dir.path().join("features");
    let moments = write_features_with(&features, timed_segments());
    let out = dir.path().join("qa");
    let run = sample(&features, &out, &[]);
    assert!(String::from_utf8_lossy(&run.stdout).contains("2 clips"));
    let original = callsift::pipeline::decode::decode_file(&samples().join("call_007.wav"))
        .unwrap()
        .channels;
    let details = payment_details();
    assert_eq!(details.len(), 3);
    let muted: Vec<(i64, i64)> = details
        .iter()
        .map(|&(a, b)| (a - WORD_MARGIN_MS, b + WORD_MARGIN_MS))
        .collect();
    let checked = check_clips(&out, &original, &details, &muted);
    assert_eq!(checked.len(), moments.len());
    // the agent's questions between the details are kept, and they are speech: "And the expiry
    // date?" in the card number's clip, "And the three digit security code on the back?" in
    // the CVV's
    for (clip_from, clip) in checked {
        let at = |ms: i64| ((ms - clip_from) * RATE).clamp(0, clip[0].len() as i64) as usize;
        let question = if clip_from < 20_000 {
            (21_615, 24_000)
        } else {
            (27_500, 29_810)
        };
        let kept = &clip[0][at(question.0)..at(question.1)];
        assert!(kept.len() > 16_000 && rms(kept) > 0.01, "{}", rms(kept));
    }
}

#[test]
fn in_an_older_dataset_clips_over_the_payment_mute_the_whole_stretch() {
    let dir = tempfile::tempdir().unwrap();
    let features = dir.path().join("features");
    let moments = write_features(&features);
    as_version_4(&features);
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
    let checked = check_clips(&out, &original, &secret, &[(mute_from, mute_to)]);
    assert_eq!(checked.len(), moments.len());
    for (clip_from, clip) in checked {
        let at = |ms: i64| ((ms - clip_from) * RATE).clamp(0, clip[0].len() as i64) as usize;
        // and what is kept is speech: the agent asking for the card (before the stretch) or
        // confirming the payment (after it)
        let kept = if clip_from < 20_000 {
            &clip[0][at(12_000)..at(mute_from)]
        } else {
            &clip[0][at(mute_to + 400)..]
        };
        assert!(rms(kept) > 0.01, "{}", rms(kept));
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
    // the run stores when each payment detail was said, from the word times of its redacted
    // text: inside its answer, and the CVV's over the whole scripted utterance with the margin
    let stored = callsift::store::read::read_segments(&features).unwrap();
    let redactions: Vec<&Redaction> = stored
        .iter()
        .filter_map(|s| s.redactions.as_ref().map(|r| (s, r)))
        .flat_map(|(s, r)| {
            r.iter().inspect(move |r| {
                assert!(s.start_ms <= r.start_ms && r.start_ms < r.end_ms && r.end_ms <= s.end_ms)
            })
        })
        .collect();
    let kinds: Vec<&str> = redactions.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["CARD_NUMBER", "EXPIRY", "CVV"], "{redactions:?}");
    let cvv = redactions[2];
    assert!(
        cvv.start_ms - WORD_MARGIN_MS <= 30_410 && cvv.end_ms + WORD_MARGIN_MS >= 31_117,
        "{cvv:?}"
    );
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
