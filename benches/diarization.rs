//! Diarization error on mono downmixes of stereo calls, whose channels give the truth (one
//! party per channel): `cargo bench --bench diarization -- DIR_OR_FILES… [--collar MS]`.
//! Each stereo file is decoded, each channel's voice activity is the reference, the channels'
//! mean is diarized as a mono call would be, and the diarization error rate (missed speech,
//! false alarm, speaker confusion) is printed per call and pooled, with the diarization's speed.
//! Needs the CAM++ model (`callsift models fetch diarize`).

use std::path::PathBuf;
use std::time::Instant;

use callsift::embed::voice::Campplus;
use callsift::pipeline::{decode, diarize, vad};

fn main() {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut collars = vec![0i64, 250];
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = args.next() {
        if a == "--collar" {
            collars = vec![
                args.next()
                    .and_then(|v| v.parse().ok())
                    .expect("--collar MS"),
            ];
            continue;
        }
        let p = PathBuf::from(a);
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(&p)
                .expect("readable folder")
                .flatten()
                .map(|e| e.path())
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p);
        }
    }
    if files.is_empty() {
        files = (1..=8)
            .filter_map(|i| {
                std::fs::read_dir("samples")
                    .ok()?
                    .flatten()
                    .map(|e| e.path())
                    .find(|p| {
                        p.file_stem()
                            .is_some_and(|s| s == format!("call_{i:03}").as_str())
                            && p.extension().is_some_and(|e| e != "csv")
                    })
            })
            .collect();
    }
    let dirs = callsift::models::search_dirs(None);
    let m = callsift::models::diarizer::resolve(&dirs).expect("the diarization model");
    let model = Campplus::load(&m.path, &m.id).expect("loads");
    let (mut audio_s, mut spent, mut cpu) = (0.0, 0.0, 0.0);
    let mut pooled: Vec<(f64, f64, f64, f64)> = vec![(0.0, 0.0, 0.0, 0.0); collars.len()];
    println!(
        "call\tspeakers\taudio_s\tdiarize_s\t{}",
        collars
            .iter()
            .map(|c| format!("DER@{c}ms\tmiss\tfa\tconf"))
            .collect::<Vec<_>>()
            .join("\t")
    );
    for f in files {
        let audio = match decode::decode_file(&f) {
            Ok(a) if a.channel_count() == 2 => a,
            _ => continue,
        };
        let reference: Vec<Vec<_>> = audio
            .channels
            .iter()
            .map(|c| vad::activity(c).0.speech)
            .collect();
        let mono: Vec<f32> = audio.channels[0]
            .iter()
            .zip(&audio.channels[1])
            .map(|(a, b)| (a + b) / 2.0)
            .collect();
        let t = Instant::now();
        let c0 = cpu_s();
        let (_, speech) = vad::activity(&mono);
        let d = diarize::diarize(&model, &mono, &speech).expect("diarizes");
        let took = t.elapsed().as_secs_f64();
        cpu += cpu_s() - c0;
        let secs = audio.duration_ms as f64 / 1000.0;
        audio_s += secs;
        spent += took;
        let mut cols = Vec::new();
        for (k, &c) in collars.iter().enumerate() {
            let e = diarize::der(&reference, &d, c);
            let p = &mut pooled[k];
            p.0 += e.missed * e.scored_s;
            p.1 += e.false_alarm * e.scored_s;
            p.2 += e.confusion * e.scored_s;
            p.3 += e.scored_s;
            cols.push(format!(
                "{:.1}%\t{:.1}%\t{:.1}%\t{:.1}%",
                100.0 * e.total(),
                100.0 * e.missed,
                100.0 * e.false_alarm,
                100.0 * e.confusion
            ));
        }
        println!(
            "{}\t{}\t{secs:.1}\t{took:.2}\t{}",
            f.file_name().unwrap_or_default().to_string_lossy(),
            d.speakers,
            cols.join("\t")
        );
    }
    for (k, c) in collars.iter().enumerate() {
        let p = pooled[k];
        let s = p.3.max(1e-9);
        println!(
            "pooled, collar {c} ms: DER {:.1}% (missed {:.1}%, false alarm {:.1}%, confusion {:.1}%) over {:.0} s of reference speech",
            100.0 * (p.0 + p.1 + p.2) / s,
            100.0 * p.0 / s,
            100.0 * p.1 / s,
            100.0 * p.2 / s,
            p.3
        );
    }
    println!(
        "speed: {audio_s:.0} s of audio diarized in {spent:.1} s wall ({:.0}× real time, {} thread(s)), {cpu:.1} CPU-s ({:.0}× real time per core)",
        audio_s / spent.max(1e-9),
        rayon_threads(),
        audio_s / cpu.max(1e-9)
    );
}

/// CPU seconds (user + system) this process has used.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // fields 14 and 15 (utime, stime), counted from the state field as 3
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

fn rayon_threads() -> String {
    std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into())
}
