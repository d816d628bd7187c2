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

use crate::analyze::{self, metrics::ChannelActivity};
use crate::decode::{self, DecodeError};
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
        // hold music is found and cut out here, so it is neither talk nor transcribed
        let (act, speech) = ChannelActivity::measure(samples);
        activity.push(act);
        let padded = vad::pad(&speech, 150, samples.len());
        for seg in transcriber.transcribe_regions(worker, samples, &padded)? {
            segments.push(SegmentRow {
                role,
                channel: ch as i32,
                start_ms: seg.start_ms,
                end_ms: seg.end_ms,
                text: seg.text,
                sentiment: 0.0,
                avg_token_prob: seg.avg_token_prob,
                no_speech_prob: seg.no_speech_prob,
            });
        }
    }
    let duration = audio.duration_ms as i64;
    analyze::analyze_call(
        row,
        segments,
        &activity,
        duration,
        &analyze::Settings {
            agent_channel: s.agent_channel.index(),
            metrics: s.metrics,
            redact_pii: s.redact_pii,
            rules: &s.rules,
        },
    );
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
