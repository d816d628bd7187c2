//! Pipeline: runs a whole batch. Collects the inputs, loads the model once, processes files in
//! parallel (rayon; one whisper state per worker; a panic in one file becomes that file's error
//! row), and hands every outcome to a single writer thread that owns the Parquet sink.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::analyze::metrics::{self, ChannelActivity};
use crate::analyze::{pii, rules};
use crate::decode::{self, DecodeError};
use crate::features;
use crate::input::{self, CallInput, InputError, InputSet};
use crate::models::{self, ModelError};
use crate::output::{self, OutputError, ParquetSink};
use crate::record::{Interaction, Role, SegmentRow};
use crate::settings::{self, RunSettings, SettingsError};
use crate::transcribe::{DecodeOptions, TranscribeError, Transcriber, Worker};
use crate::vad;

/// Errors that stop a run before or while writing (never a single bad recording).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Transcribe(#[from] TranscribeError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("cannot start {0} worker threads")]
    Pool(usize),
}

/// Why one file failed. Becomes the `error` column of its row.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Transcribe(#[from] TranscribeError),
    #[error(
        "internal error while processing {path}: {message}\nhint: please report this with the file"
    )]
    Panic { path: PathBuf, message: String },
}

/// What happened to one file, for progress reporting.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub interaction_id: String,
    pub path: PathBuf,
    pub audio_ms: u64,
    pub elapsed: Duration,
    pub error: Option<String>,
}

/// Receives progress events. Implemented by the CLI (progress bar or log lines).
pub trait Observer: Sync {
    fn started(&self, total: usize, jobs: usize, threads: usize);
    fn file_done(&self, report: &FileReport);
}

/// The result of a finished run.
#[derive(Debug, Clone)]
pub struct Summary {
    pub total: usize,
    pub ok: usize,
    pub failed: Vec<FileReport>,
    pub audio_ms: u64,
    pub wall: Duration,
    pub outputs: Vec<PathBuf>,
}

fn collect_inputs(s: &RunSettings) -> Result<InputSet, InputError> {
    let mut set = match &s.manifest {
        Some(m) => input::from_manifest(m)?,
        None => InputSet::default(),
    };
    if !s.inputs.is_empty() {
        let extra = set.extra_columns.len();
        // a file listed in the manifest and also found in a folder is processed once, with
        // its manifest metadata
        let canon = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let known: std::collections::HashSet<PathBuf> =
            set.calls.iter().map(|c| canon(&c.path)).collect();
        let more = input::from_paths(&s.inputs)?;
        for mut c in more.calls {
            if !known.contains(&canon(&c.path)) {
                c.extra = vec![None; extra];
                set.calls.push(c);
            }
        }
    }
    if set.calls.is_empty() {
        return Err(InputError::NothingToDo);
    }
    Ok(set)
}

fn run_metadata(s: &RunSettings, sha: &str, jobs: usize, threads: usize) -> Vec<(String, String)> {
    let mut settings = serde_json::to_value(s).unwrap_or_default();
    if let Some(obj) = settings.as_object_mut() {
        obj.insert("jobs".into(), jobs.into());
        obj.insert("threads".into(), threads.into());
    }
    vec![
        ("callsift.version".into(), env!("CARGO_PKG_VERSION").into()),
        (
            "callsift.schema_version".into(),
            output::SCHEMA_VERSION.into(),
        ),
        ("callsift.model".into(), s.model.name.clone()),
        ("callsift.model_sha256".into(), sha.into()),
        ("callsift.settings".into(), settings.to_string()),
        (
            "callsift.created_at".into(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
    ]
}

/// Process one file. Never panics outward: the caller wraps it in `catch_unwind`.
fn process(
    call: &CallInput,
    s: &RunSettings,
    transcriber: &Transcriber,
    worker: &mut Worker,
    row: &mut Interaction,
) -> Result<(), FileError> {
    row.content_sha256 = models::sha256_file(&call.path).ok();
    let audio = decode::decode_file(&call.path)?;
    row.duration_ms = Some(audio.duration_ms as i64);
    row.sample_rate_hz = Some(audio.source_rate as i32);
    row.channels = Some(audio.channel_count() as i32);
    row.codec = Some(audio.codec.clone());
    let roles: Vec<Role> = if audio.channel_count() == 2 {
        let agent = s.agent_channel.index();
        (0..2)
            .map(|i| {
                if i == agent {
                    Role::Agent
                } else {
                    Role::Customer
                }
            })
            .collect()
    } else {
        vec![Role::Unknown]
    };
    let mut segments = Vec::new();
    let mut activity = Vec::new();
    for (ch, (samples, role)) in audio.channels.iter().zip(roles).enumerate() {
        let speech = vad::detect(samples, &vad::VadParams::default());
        activity.push(ChannelActivity::from_regions(samples, &speech));
        let padded = vad::pad(&speech, 150, samples.len());
        for seg in transcriber.transcribe_regions(worker, samples, &padded)? {
            segments.push(SegmentRow {
                role,
                channel: ch as i32,
                start_ms: seg.start_ms,
                end_ms: seg.end_ms,
                text: seg.text,
                avg_token_prob: seg.avg_token_prob,
                no_speech_prob: seg.no_speech_prob,
            });
        }
    }
    let stereo = audio.channel_count() == 2;
    row.agent_words = stereo.then(|| features::words_of(&segments, Role::Agent) as i32);
    row.customer_words = stereo.then(|| features::words_of(&segments, Role::Customer) as i32);
    row.total_words = Some(
        segments
            .iter()
            .map(|s| features::word_count(&s.text))
            .sum::<usize>() as i32,
    );
    if s.redact_pii {
        // redact per channel, in time order, before any text is kept
        segments.sort_by_key(|s| (s.channel, s.start_ms));
        let mut redactions = 0;
        // context from the other channel is taken from the original text, in memory only
        let originals: Vec<(i32, i64, String)> = segments
            .iter()
            .map(|s| (s.channel, s.start_ms, s.text.to_lowercase()))
            .collect();
        for ch in 0..audio.channel_count() as i32 {
            let idx: Vec<usize> = (0..segments.len())
                .filter(|&i| segments[i].channel == ch)
                .collect();
            let starts: Vec<i64> = idx.iter().map(|&i| segments[i].start_ms).collect();
            let other: Vec<(i64, String)> = originals
                .iter()
                .filter(|o| o.0 != ch)
                .map(|o| (o.1, o.2.clone()))
                .collect();
            let mut texts: Vec<String> = idx
                .iter()
                .map(|&i| std::mem::take(&mut segments[i].text))
                .collect();
            redactions += pii::redact_channel(
                &mut texts,
                &pii::OtherSide {
                    seg_start_ms: &starts,
                    segments: &other,
                },
            );
            for (i, t) in idx.into_iter().zip(texts) {
                segments[i].text = t;
            }
        }
        row.pii_redactions = Some(redactions as i32);
    }
    for (ch, a) in activity.iter_mut().enumerate() {
        a.words = segments
            .iter()
            .filter(|s| s.channel == ch as i32)
            .map(|s| features::word_count(&s.text))
            .sum();
    }
    let duration = audio.duration_ms as i64;
    row.metrics = Some(if stereo {
        let agent = s.agent_channel.index();
        metrics::compute(
            &activity[agent],
            Some(&activity[1 - agent]),
            duration,
            &s.metrics,
        )
    } else {
        metrics::compute(&activity[0], None, duration, &s.metrics)
    });
    segments.sort_by_key(|s| (s.start_ms, s.channel));
    // rules match on turns (a speaker's consecutive segments), so a phrase that ASR split
    // across two segments still matches and the evidence is the whole turn
    let turns = features::turns(&segments);
    let utterances: Vec<rules::Utterance> = turns
        .iter()
        .map(|t| rules::Utterance {
            role: t.role,
            start_ms: t.start_ms,
            end_ms: t.end_ms,
            text: &t.text,
        })
        .collect();
    row.hits = s.rules.evaluate(&utterances, duration);
    row.categories = s
        .rules
        .categories
        .iter()
        .enumerate()
        .map(|(i, c)| {
            (stereo || c.works_without_roles()).then(|| row.hits.iter().any(|h| h.category == i))
        })
        .collect();
    row.transcript = Some(features::transcript(&turns));
    row.segment_count = Some(segments.len() as i32);
    row.segments = segments;
    Ok(())
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}

/// Run a batch end to end.
pub fn run(s: &RunSettings, observer: &dyn Observer) -> Result<Summary, PipelineError> {
    let started = Instant::now();
    s.validate()?;
    let set = collect_inputs(s)?;
    let (jobs, threads) = settings::plan_threads(s.jobs, s.threads, s.cores, set.calls.len())?;
    let model_sha = models::sha256_file(&s.model.path)?;
    let transcriber = Transcriber::load(
        &s.model.name,
        &s.model.path,
        DecodeOptions {
            language: s.language.clone(),
            beam_size: s.beam_size,
            threads: threads as u32,
        },
    )?;
    let mut sink = ParquetSink::create(
        &s.out_dir,
        &s.rules,
        &set.extra_columns,
        &run_metadata(s, &model_sha, jobs, threads),
    )?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("callsift-worker-{i}"))
        .build()
        .map_err(|_| PipelineError::Pool(jobs))?;
    // one whisper state per worker thread, created on first use, replaced after a panic
    let workers: Vec<Mutex<Option<Worker>>> = (0..jobs).map(|_| Mutex::new(None)).collect();
    observer.started(set.calls.len(), jobs, threads);

    let (tx, rx) = sync_channel::<(Interaction, FileReport)>(jobs * 2);
    let mut summary = Summary {
        total: set.calls.len(),
        ok: 0,
        failed: Vec::new(),
        audio_ms: 0,
        wall: Duration::ZERO,
        outputs: Vec::new(),
    };
    let calls = &set.calls;
    // set when the writer fails: the run is lost, so workers stop taking new files
    let abort = AtomicBool::new(false);
    let write_result: Result<(), OutputError> = std::thread::scope(|scope| {
        scope.spawn(|| {
            pool.install(|| {
                calls.par_iter().for_each_with(tx, |tx, call| {
                    if abort.load(Ordering::Relaxed) {
                        return;
                    }
                    let t0 = Instant::now();
                    let mut row = Interaction {
                        interaction_id: call.interaction_id.clone(),
                        source_path: call.path.to_string_lossy().into_owned(),
                        agent_id: call.agent_id.clone(),
                        customer_id: call.customer_id.clone(),
                        started_at: call.started_at,
                        queue: call.queue.clone(),
                        channel: call.channel.clone(),
                        model: s.model.name.clone(),
                        language: s.language.clone(),
                        extra: call.extra.clone(),
                        ..Default::default()
                    };
                    let idx = rayon::current_thread_index().unwrap_or(0) % workers.len();
                    let mut slot = workers[idx].lock().unwrap_or_else(|p| p.into_inner());
                    let result = catch_unwind(AssertUnwindSafe(|| -> Result<(), FileError> {
                        if slot.is_none() {
                            *slot = Some(transcriber.worker()?);
                        }
                        let worker = slot.as_mut().expect("worker state was just created");
                        process(call, s, &transcriber, worker, &mut row)
                    }));
                    let error = match result {
                        Ok(Ok(())) => None,
                        Ok(Err(e)) => Some(e),
                        Err(p) => {
                            *slot = None; // the state may be inconsistent; start afresh
                            Some(FileError::Panic {
                                path: call.path.clone(),
                                message: panic_message(p.as_ref()),
                            })
                        }
                    };
                    drop(slot);
                    if let Some(e) = &error {
                        row.ok = false;
                        row.error = Some(crate::error_chain(e));
                        row.segments.clear();
                        row.transcript = None;
                        row.metrics = None;
                        row.hits.clear();
                        row.categories = vec![None; s.rules.categories.len()];
                    } else {
                        row.ok = true;
                    }
                    row.processing_ms = t0.elapsed().as_millis() as i64;
                    let report = FileReport {
                        interaction_id: row.interaction_id.clone(),
                        path: call.path.clone(),
                        audio_ms: row.duration_ms.unwrap_or(0).max(0) as u64,
                        elapsed: t0.elapsed(),
                        error: row.error.clone(),
                    };
                    // the receiver only goes away if writing failed; then the run is over anyway
                    let _ = tx.send((row, report));
                });
            });
        });
        // this thread is the single writer
        for (row, report) in rx {
            if let Err(e) = sink.push(row) {
                abort.store(true, Ordering::Relaxed);
                return Err(e);
            }
            summary.audio_ms += report.audio_ms;
            if report.error.is_some() {
                summary.failed.push(report.clone());
            } else {
                summary.ok += 1;
            }
            observer.file_done(&report);
        }
        Ok(())
    });
    write_result?;
    summary.outputs = sink.finish()?;
    summary.wall = started.elapsed();
    Ok(summary)
}
