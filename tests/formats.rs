//! Every supported container/codec and common sample rate decodes, with channel count and
//! duration matching what sox/ffprobe report for the same file, and the codecs of recording
//! platforms and older call recorders (Opus in Ogg and WebM, GSM 6.10, G.722, G.726, IMA and
//! Microsoft ADPCM) sample for sample like ffmpeg's decode of the same file (and G.726 like the
//! ITU algorithm in sox). Variants are made at test time with sox and ffmpeg from the bundled
//! samples (both are installed by `make setup`; the tests that run them are ignored by a bare
//! `cargo test`). Damaged and cut-off files fail with their reason, naming the file.

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

/// ffmpeg's own decode of `path`: its channels at the file's own sample rate. Opus is decoded
/// with ffmpeg's libopus decoder: its native one resamples SILK (speech) frames with another
/// filter delay, a few samples off libopus's.
fn ffmpeg_decode(path: &Path) -> (Vec<Vec<f32>>, u32) {
    let p = path.to_str().unwrap();
    let probe = tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=channels,sample_rate",
            "-of",
            "csv=p=0",
            p,
        ],
    );
    let (rate, channels) = probe.split_once(',').unwrap();
    let (rate, channels): (u32, usize) = (rate.parse().unwrap(), channels.parse().unwrap());
    let codec = tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-show_entries",
            "stream=codec_name",
            "-of",
            "csv=p=0",
            p,
        ],
    );
    let decoder: &[&str] = if codec == "opus" {
        &["-c:a", "libopus"]
    } else {
        &[]
    };
    let out = Command::new("ffmpeg")
        .args(["-v", "error"])
        .args(decoder)
        .args(["-i", p, "-f", "f32le", "-c:a", "pcm_f32le", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<f32> = out
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let planes = (0..channels)
        .map(|c| samples.iter().skip(c).step_by(channels).copied().collect())
        .collect();
    (planes, rate)
}

/// Signal-to-noise ratio (dB) of `ours` against `reference`, sample for sample over the
/// length they share (no realignment: a shifted decode scores badly).
fn snr_db(ours: &[f32], reference: &[f32]) -> f64 {
    let (mut signal, mut noise) = (0f64, 0f64);
    for (a, b) in ours.iter().zip(reference) {
        signal += (*b as f64).powi(2);
        noise += (*a as f64 - *b as f64).powi(2);
    }
    10.0 * (signal / noise.max(1e-20)).log10()
}

/// RMS of every 10 ms (160 samples at 16 kHz).
fn envelope(x: &[f32]) -> Vec<f64> {
    x.chunks(160)
        .map(|c| (c.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / c.len() as f64).sqrt())
        .collect()
}

/// Pearson correlation over the length two series share.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let (ma, mb) = (
        a.iter().sum::<f64>() / n as f64,
        b.iter().sum::<f64>() / n as f64,
    );
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// `path` decodes (at its own rate, with its channels) like ffmpeg decodes it: the same sample
/// rate and channels, a length within `frame` samples, and at least `min_snr` dB of agreement on
/// every channel. Returns the worst channel's SNR.
fn matches_ffmpeg(path: &Path, frame: usize, min_snr: f64) -> f64 {
    let (planes, rate, codec) =
        decode::decode_native(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (reference, ref_rate) = ffmpeg_decode(path);
    let name = path.file_name().unwrap().to_string_lossy();
    assert_eq!(rate, ref_rate, "{name} ({codec}): sample rate");
    assert_eq!(planes.len(), reference.len(), "{name} ({codec}): channels");
    let mut worst = f64::INFINITY;
    for (c, (ours, theirs)) in planes.iter().zip(&reference).enumerate() {
        assert!(
            ours.len().abs_diff(theirs.len()) <= frame,
            "{name} ({codec}) channel {c}: {} samples, ffmpeg {}",
            ours.len(),
            theirs.len()
        );
        let peak = ours.iter().fold(0f32, |a, &x| a.max(x.abs()));
        assert!(peak > 0.05, "{name} ({codec}) channel {c} is silent");
        let snr = snr_db(ours, theirs);
        eprintln!("{name} ({codec}) channel {c}: SNR {snr:.1} dB against ffmpeg");
        assert!(
            snr >= min_snr,
            "{name} ({codec}) channel {c}: {snr:.1} dB against ffmpeg's decode, want {min_snr}"
        );
        worst = worst.min(snr);
    }
    worst
}

/// `ffmpeg -i SRC ARGS… OUT` (a sample in a codec made from a real call).
fn ffmpeg_encode(src: &Path, args: &[&str], out: &Path) {
    let mut a = vec!["-v", "error", "-y", "-i", src.to_str().unwrap()];
    a.extend_from_slice(args);
    a.push(out.to_str().unwrap());
    tool("ffmpeg", &a);
}

/// A WAV G.726 file's code words (packed most significant bit first, as ffmpeg writes them)
/// as a Sun .au file of G.721/G.723 (packed least significant bit first, as sox reads them).
fn wav_g726_to_au(wav: &Path, au: &Path, bits: u32) {
    let bytes = std::fs::read(wav).unwrap();
    let at = bytes.windows(4).position(|w| w == b"data").unwrap();
    let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    let data = &bytes[at + 8..at + 8 + len];
    let (mut codes, mut acc, mut held) = (Vec::new(), 0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | b as u32;
        held += 8;
        while held >= bits {
            held -= bits;
            codes.push((acc >> held) & ((1 << bits) - 1));
        }
        acc &= (1 << held) - 1;
    }
    let (mut packed, mut acc, mut held) = (Vec::new(), 0u32, 0u32);
    for c in codes {
        acc |= c << held;
        held += bits;
        while held >= 8 {
            packed.push(acc as u8);
            acc >>= 8;
            held -= 8;
        }
    }
    if held > 0 {
        packed.push(acc as u8);
    }
    // .au encodings: 23 G.721 (4 bits), 25 G.723 (3 bits), 26 G.723 (5 bits)
    let encoding: u32 = match bits {
        3 => 25,
        4 => 23,
        _ => 26,
    };
    let mut out = Vec::new();
    out.extend_from_slice(b".snd");
    for v in [28, packed.len() as u32, encoding, 8000, 1, 0] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(&packed);
    std::fs::write(au, out).unwrap();
}

/// sox's decode of `path` (mono) as samples.
fn sox_decode(path: &Path) -> Vec<f32> {
    let out = Command::new("sox")
        .args([path.to_str().unwrap(), "-t", "f32", "-"])
        .output()
        .expect("run sox");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
#[ignore = "needs ffmpeg: run with `make test`"]
fn opus_in_ogg_and_webm_decodes_like_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let stereo = samples().join("call_001.wav");
    // one 20 ms Opus frame at 48 kHz
    let frame = 960;
    for (name, args) in [
        ("stereo.opus", &["-c:a", "libopus", "-b:a", "32k"][..]),
        ("stereo.webm", &["-c:a", "libopus", "-b:a", "32k"][..]),
        // what a WebRTC platform stores: mono, VoIP-tuned, 60 ms frames; an .ogg name
        (
            "voip_mono.ogg",
            &[
                "-ac",
                "1",
                "-c:a",
                "libopus",
                "-application",
                "voip",
                "-frame_duration",
                "60",
                "-b:a",
                "16k",
            ][..],
        ),
        (
            "mono.mka",
            &["-ac", "1", "-c:a", "libopus", "-b:a", "24k"][..],
        ),
    ] {
        let out = dir.path().join(name);
        ffmpeg_encode(&stereo, args, &out);
        // libopus against ffmpeg's own Opus decoder: two implementations of one standard
        matches_ffmpeg(&out, frame, 60.0);
        // and through the whole decode: channels kept, duration as ffprobe says
        let audio = decode::decode_file(&out).unwrap();
        assert_eq!(audio.codec, "opus");
        assert_eq!(audio.source_rate, 48_000);
        let want = if name.starts_with("stereo") { 2 } else { 1 };
        assert_eq!(audio.channel_count(), want, "{name}");
        // libopus decodes straight to 16 kHz there, like its 48 kHz decode resampled (SILK
        // frames come through another resampler, a fraction of a sample apart: compare the
        // loudness of every 10 ms)
        let (full, _, _) = decode::decode_native(&out).unwrap();
        for (c, (at16, at48)) in audio.channels.iter().zip(&full).enumerate() {
            let resampled = decode::resample(at48, 48_000, 16_000).unwrap();
            assert!(
                at16.len().abs_diff(resampled.len()) <= 320,
                "{name} channel {c}"
            );
            let r = correlation(&envelope(at16), &envelope(&resampled));
            eprintln!("{name} channel {c}: 16 kHz decode's loudness, r = {r:.4} against 48 kHz");
            assert!(r >= 0.99, "{name} channel {c}: r = {r:.4}");
        }
        assert!(
            (audio.duration_ms as i64 - 64_802).abs() <= 30,
            "{name}: {}",
            audio.duration_ms
        );
    }
}

#[test]
#[ignore = "needs ffmpeg and sox: run with `make test`"]
fn wav_telephony_codecs_decode_like_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let stereo = samples().join("call_001.wav");
    let mono8k = &["-ac", "1", "-ar", "8000"][..];
    let cases: &[(&str, Vec<&str>, usize, f64)] = &[
        // (file, ffmpeg arguments, samples of one frame or block, least SNR)
        (
            "gsm.wav",
            [mono8k, &["-c:a", "libgsm_ms"]].concat(),
            320,
            90.0,
        ),
        (
            "g722.wav",
            ["-ac", "1", "-ar", "16000", "-c:a", "g722"].to_vec(),
            2,
            60.0,
        ),
        // ffmpeg's G.726 rounds the scale factor mix (MIX) its own way, so its decode drifts
        // from the standard's by about 1/500 of an octave of step size
        (
            "g726_16k.wav",
            [mono8k, &["-c:a", "g726", "-b:a", "16k"]].concat(),
            8,
            25.0,
        ),
        (
            "g726_24k.wav",
            [mono8k, &["-c:a", "g726", "-b:a", "24k"]].concat(),
            8,
            25.0,
        ),
        (
            "g726_32k.wav",
            [mono8k, &["-c:a", "g726", "-b:a", "32k"]].concat(),
            8,
            15.0,
        ),
        // and at 40 kbit/s it leaks the zero predictor by 2^-8 where G.726 says 2^-9: its own
        // 40 kbit/s files are not standard streams (checked against sox's decoder below)
        (
            "g726_40k.wav",
            [mono8k, &["-c:a", "g726", "-b:a", "40k"]].concat(),
            8,
            f64::NEG_INFINITY,
        ),
        (
            "ima_adpcm.wav",
            ["-c:a", "adpcm_ima_wav"].to_vec(),
            2041,
            90.0,
        ),
        ("ms_adpcm.wav", ["-c:a", "adpcm_ms"].to_vec(), 2036, 90.0),
    ];
    for (name, args, frame, min_snr) in cases {
        let out = dir.path().join(name);
        ffmpeg_encode(&stereo, args, &out);
        matches_ffmpeg(&out, *frame, *min_snr);
        let audio = decode::decode_file(&out).unwrap();
        // the ADPCM files keep the call's two channels; the telephony codecs are mono
        let want = if name.contains("adpcm") { 2 } else { 1 };
        assert_eq!(audio.channel_count(), want, "{name}");
        // the call's length, give or take the last block (all these are 8 kHz but G.722)
        let block_ms = *frame as i64 * 1000 / 8000 + 1;
        assert!(
            (audio.duration_ms as i64 - 64_802).abs() <= block_ms,
            "{name}: {} ms",
            audio.duration_ms
        );
    }
    // G.726 against the ITU algorithm as Sun's reference code implements it (sox decodes G.721
    // and G.723 .au files with it): the same code words, repacked, decode to the same samples
    for (name, bits) in [
        ("g726_24k.wav", 3),
        ("g726_32k.wav", 4),
        ("g726_40k.wav", 5),
    ] {
        let wav = dir.path().join(name);
        let au = dir.path().join(format!("{name}.au"));
        wav_g726_to_au(&wav, &au, bits);
        let reference = sox_decode(&au);
        let (ours, _, _) = decode::decode_native(&wav).unwrap();
        // Sun's decoder wraps samples past 16 bits where callsift saturates them: compare the
        // rest (a 40 kbit/s file from ffmpeg is not a standard stream and overflows often)
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (x, y) in ours[0].iter().zip(&reference) {
            if x.abs() < 0.999 && y.abs() < 0.999 {
                a.push(*x);
                b.push(*y);
            }
        }
        assert!(
            a.len() * 10 >= reference.len() * 9,
            "{name}: {} of {}",
            a.len(),
            reference.len()
        );
        let snr = snr_db(&a, &b);
        eprintln!("{name}: SNR {snr:.1} dB against sox (Sun's G.72x reference)");
        assert!(snr >= 90.0, "{name}: {snr:.1} dB against sox's decode");
    }
    // sox writes GSM 6.10 WAV files too (its own libgsm)
    let out = dir.path().join("sox_gsm.wav");
    tool(
        "sox",
        &[
            stereo.to_str().unwrap(),
            "-c",
            "1",
            "-e",
            "gsm-full-rate",
            out.to_str().unwrap(),
        ],
    );
    matches_ffmpeg(&out, 320, 90.0);
}

#[test]
#[ignore = "needs ffmpeg: run with `make test`"]
fn cut_and_damaged_files_in_the_new_codecs_fail_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = samples().join("call_001.wav");
    let mono8k = &["-ac", "1", "-ar", "8000"][..];
    let made: &[(&str, Vec<&str>)] = &[
        ("call.opus", ["-c:a", "libopus"].to_vec()),
        ("call.webm", ["-c:a", "libopus"].to_vec()),
        ("gsm.wav", [mono8k, &["-c:a", "libgsm_ms"]].concat()),
        (
            "g722.wav",
            ["-ac", "1", "-ar", "16000", "-c:a", "g722"].to_vec(),
        ),
        ("g726.wav", [mono8k, &["-c:a", "g726"]].concat()),
        ("ima.wav", ["-c:a", "adpcm_ima_wav"].to_vec()),
        ("ms.wav", ["-c:a", "adpcm_ms"].to_vec()),
    ];
    for (name, args) in made {
        ffmpeg_encode(&src, args, &dir.path().join(name));
    }
    // a WebM written as a stream, as a browser's recorder writes it: no sizes, no index
    let live = Command::new("ffmpeg")
        .args(["-v", "error", "-i", src.to_str().unwrap()])
        .args(["-c:a", "libopus", "-f", "webm", "pipe:1"])
        .output()
        .unwrap();
    assert!(live.status.success());
    std::fs::write(dir.path().join("live.webm"), &live.stdout).unwrap();
    let live_audio = decode::decode_file(&dir.path().join("live.webm")).unwrap();
    assert_eq!(live_audio.channel_count(), 2);

    let fails = |path: &Path| -> DecodeError {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let result = std::panic::catch_unwind(|| decode::decode_file(path))
            .unwrap_or_else(|_| panic!("{name}: decoding panicked"));
        let Err(e) = result else {
            panic!("{name} decoded");
        };
        assert!(e.to_string().contains(&name), "{name}: {e}");
        e
    };
    for name in made.iter().map(|(n, _)| *n).chain(["live.webm"]) {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        // cut in half: an interrupted copy
        let cut = dir.path().join(format!("cut_{name}"));
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = fails(&cut);
        assert!(
            matches!(
                e,
                DecodeError::Truncated { .. } | DecodeError::CutShort { .. }
            ),
            "{name}: {e}"
        );
        assert!(e.to_string().contains("is truncated"), "{name}: {e}");
        // the header and the first bytes of audio only
        let head = dir.path().join(format!("head_{name}"));
        std::fs::write(&head, &bytes[..200]).unwrap();
        fails(&head);
        // damaged where the codec's header is (Opus's identification header, in both
        // containers): an error, whatever the reader makes of it
        if let Some(at) = bytes.windows(8).position(|w| w == b"OpusHead") {
            let mut damaged = bytes.clone();
            for (i, b) in damaged[at - 8..at + 24].iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(37).wrapping_add(200);
            }
            let path = dir.path().join(format!("damaged_{name}"));
            std::fs::write(&path, &damaged).unwrap();
            let e = fails(&path);
            assert!(matches!(e, DecodeError::Damaged { .. }), "{name}: {e}");
        } else {
            // a WAV's audio bytes have no checksum: damaged audio decodes (to noise); it
            // must not panic or hang
            let mut damaged = bytes.clone();
            let n = damaged.len();
            for b in &mut damaged[n / 3..n / 3 + 4096] {
                *b = !*b;
            }
            let path = dir.path().join(format!("damaged_{name}"));
            std::fs::write(&path, &damaged).unwrap();
            let _ = std::panic::catch_unwind(|| decode::decode_file(&path))
                .unwrap_or_else(|_| panic!("{name}: decoding damaged audio panicked"));
        }
    }

    // headers of the telephony codecs that cannot be decoded say why
    let header = |name: &str, fields: &[(usize, u32)], want: &str| {
        let mut bytes = std::fs::read(dir.path().join(name)).unwrap();
        for &(at, value) in fields {
            let width = if at == 28 { 4 } else { 2 };
            bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
        }
        let path = dir.path().join(format!("bad_header_{name}"));
        std::fs::write(&path, &bytes).unwrap();
        let e = fails(&path);
        assert!(
            matches!(e, DecodeError::UnsupportedCodec { .. }),
            "{name}: {e}"
        );
        assert!(e.to_string().contains(want), "{name}: {e}");
    };
    // (the fmt chunk's fields: channels at byte 22, byte rate at 28, block align at 32, bits
    // per sample at 34)
    header("gsm.wav", &[(32, 64)], "65-byte");
    header("g722.wav", &[(22, 2)], "only mono");
    header("g726.wav", &[(28, 7000), (34, 7)], "7-bit");
}
