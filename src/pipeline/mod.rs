//! Pipeline: runs a whole batch. Collects the inputs, loads the model once, processes files in
//! parallel (rayon; one whisper state per worker; a panic in one file becomes that file's error
//! row), and hands every outcome to a single writer thread that owns the Parquet sink.

// the stages, in the order a call goes through them
pub mod decode;
pub mod diarize;
pub mod input;
pub mod plan;
pub mod transcribe;
pub mod vad;
pub mod worker;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::embed::MiniLm;
use crate::embed::voice::Campplus;
use crate::models::{self, ModelError};
use crate::pipeline::decode::DecodeError;
use crate::pipeline::input::{CallInput, InputError};
use crate::pipeline::plan::Decision;
use crate::pipeline::transcribe::{DecodeOptions, TranscribeError, Transcriber, Worker};
use crate::record::Interaction;
use crate::settings::{RunSettings, SettingsError};
use crate::store::sink::{CommitPolicy, ParquetSink};
use crate::store::{self, StoreError};

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
    Output(#[from] StoreError),
    #[error(transparent)]
    Embed(#[from] crate::embed::EmbedError),
    #[error(transparent)]
    Voice(#[from] crate::embed::voice::VoiceError),
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
    #[error(transparent)]
    Source(#[from] input::SourceError),
    #[error(transparent)]
    Analyze(#[from] crate::analyze::AnalyzeError),
    #[error(transparent)]
    Diarize(#[from] crate::embed::voice::VoiceError),
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
    /// The roles were found without confidence (`role_confidence` below
    /// `analyze::roles::CONFIDENT`).
    pub uncertain_roles: bool,
}

/// Receives progress events. Implemented by the CLI (progress bar or log lines).
pub trait Observer: Sync {
    fn started(&self, total: usize, jobs: usize, threads: usize);
    fn file_done(&self, report: &FileReport);
}

/// The result of a finished run.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Run id (names this run's part files and its manifest under `_callsift/runs/`).
    pub run_id: String,
    /// Inputs given, before sharding.
    pub inputs: usize,
    /// Inputs in this shard.
    pub in_shard: usize,
    /// Inputs skipped because the dataset already holds an up-to-date row for them.
    pub skipped: usize,
    /// Inputs left to another run that is processing them right now (a concurrent run over the
    /// same dataset).
    pub taken_by_other_runs: usize,
    /// Inputs whose earlier rows were replaced (changed content or settings, earlier failure,
    /// duplicates, or `--force`).
    pub replaced: usize,
    /// Inputs found in more than one row (a dataset written by concurrent runs before they
    /// cooperated), redone so that one row is left.
    pub duplicates_repaired: usize,
    /// Inputs processed by this run.
    pub total: usize,
    pub ok: usize,
    /// Calls whose roles were found without confidence (the `uncertain_roles` QA flag).
    pub uncertain_roles: usize,
    pub failed: Vec<FileReport>,
    pub audio_ms: u64,
    pub wall: Duration,
    pub outputs: Vec<PathBuf>,
}

/// Run a batch end to end: the inputs of this shard that the dataset does not yet hold with
/// the same content and settings are processed and committed in small batches.
pub fn run(s: &RunSettings, observer: &dyn Observer) -> Result<Summary, PipelineError> {
    let started = Instant::now();
    s.validate()?;
    let set = plan::collect_inputs(s)?;
    let inputs = set.calls.len();
    let shard_calls: Vec<CallInput> = set
        .calls
        .iter()
        .filter(|c| s.shard.takes(&c.interaction_id))
        .cloned()
        .collect();
    let in_shard = shard_calls.len();
    // a damaged model would abort the process inside whisper.cpp: refuse it before any work
    models::validate::validate(&s.model.path)?;
    let model_sha = models::sha256_file(&s.model.path)?;
    let diarizer = s
        .diarize
        .as_ref()
        .map(|d| models::diarizer::resolve(&d.dirs))
        .transpose()?;
    let run_hash = plan::settings_hash(s, &model_sha, diarizer.as_ref());
    let mut sink = ParquetSink::open(
        &s.out_dir,
        store::dataset::RunKey::new(s.shard.index, s.shard.count),
        &s.rules,
        &set.extra_columns,
        &[],
        CommitPolicy {
            rows: s.commit_every.max(1),
            ..Default::default()
        },
    )?;
    let keyed = plan::key_calls(shard_calls, s.cpus.cpus, &run_hash, &set.extra_columns);
    let decision = claim_and_clear(&mut sink, keyed, s, &run_hash, &model_sha, inputs, in_shard)?;
    let mut summary = Summary {
        run_id: sink.run_key().run_id.clone(),
        inputs,
        in_shard,
        skipped: in_shard - decision.todo.len() - decision.taken,
        taken_by_other_runs: decision.taken,
        replaced: decision.replace.len(),
        duplicates_repaired: decision.duplicated,
        total: decision.todo.len(),
        ok: 0,
        uncertain_roles: 0,
        failed: Vec::new(),
        audio_ms: 0,
        wall: Duration::ZERO,
        outputs: Vec::new(),
    };
    // nothing new: no model load, no transcription
    if !decision.todo.is_empty() {
        process_all(
            &decision.todo,
            s,
            &model_sha,
            diarizer.as_ref(),
            &mut sink,
            &mut summary,
            observer,
        )?;
    }
    note_failures(&mut sink, &summary)?;
    summary.outputs = sink.finish()?;
    summary.wall = started.elapsed();
    Ok(summary)
}

/// Under the dataset's write lock, decide what this run does (see [`plan::decide`]) and claim
/// it; note the decision in the run manifest; remove the earlier rows of what is redone
/// (journaled: a crash here is finished by the next run).
fn claim_and_clear(
    sink: &mut ParquetSink,
    keyed: Vec<plan::Keyed>,
    s: &RunSettings,
    run_hash: &str,
    model_sha: &str,
    inputs: usize,
    in_shard: usize,
) -> Result<Decision, PipelineError> {
    let ids: std::collections::HashSet<String> = keyed
        .iter()
        .map(|(c, ..)| c.interaction_id.clone())
        .collect();
    let (claimed, mut d) = sink.claim(&ids, |found| {
        let d = plan::decide(keyed, found, s.force);
        let todo = d
            .todo
            .iter()
            .map(|(c, ..)| c.interaction_id.clone())
            .collect();
        (todo, d)
    })?;
    d.taken = claimed.taken.len();
    sink.note(
        "inputs",
        serde_json::json!({
            "given": inputs,
            "in_shard": in_shard,
            "skipped_unchanged": in_shard - d.todo.len() - d.taken,
            "claimed_by_other_runs": d.taken,
            "replaced": d.replace.len(),
            "duplicates_repaired": d.duplicated,
            "to_process": d.todo.len(),
        }),
    )?;
    sink.note(
        "shard",
        serde_json::json!({"index": s.shard.index, "count": s.shard.count, "origin": s.shard.origin}),
    )?;
    sink.note("settings_sha256", run_hash.into())?;
    sink.note("model", s.model.name.clone().into())?;
    sink.note("model_sha256", model_sha.into())?;
    sink.note("force", s.force.into())?;
    let old: Vec<&store::dataset::Stored> = d
        .replace
        .iter()
        .filter_map(|id| claimed.stored.get(id))
        .collect();
    sink.remove(&d.replace, &old)?;
    Ok(d)
}

/// Load the model once and process `todo` on a pool of workers (one whisper state each); this
/// thread is the single writer, committing rows as they come.
fn process_all(
    todo: &[plan::Keyed],
    s: &RunSettings,
    model_sha: &str,
    diarizer: Option<&models::diarizer::Diarizer>,
    sink: &mut ParquetSink,
    summary: &mut Summary,
    observer: &dyn Observer,
) -> Result<(), PipelineError> {
    let plan = s.plan(todo.len())?;
    sink.note("plan", serde_json::to_value(&plan).unwrap_or_default())?;
    let (jobs, threads) = (plan.jobs, plan.threads);
    sink.set_file_metadata(&run_metadata(s, model_sha, jobs, threads));
    let transcriber = Transcriber::load(
        &s.model.name,
        &s.model.path,
        DecodeOptions {
            language: s.language.clone(),
            beam_size: s.beam_size,
            threads: threads as u32,
            full_context: s.full_context,
        },
    )?;
    let embedder = match &s.semantic {
        Some(sem) => Some(MiniLm::load(&sem.model_dir, &sem.model_id)?),
        None => None,
    };
    let voice = match diarizer {
        Some(d) => Some(Campplus::load(&d.path, &d.id)?),
        None => None,
    };
    let models = worker::Models {
        transcriber: &transcriber,
        embedder: embedder.as_ref(),
        voice: voice.as_ref(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("callsift-worker-{i}"))
        .build()
        .map_err(|_| PipelineError::Pool(jobs))?;
    // one whisper state per worker thread, created on first use, replaced after a panic
    let workers: Vec<Mutex<Option<Worker>>> = (0..jobs).map(|_| Mutex::new(None)).collect();
    observer.started(todo.len(), jobs, threads);
    let (tx, rx) = sync_channel::<(Interaction, FileReport)>(jobs * 2);
    // set when the writer fails: the run is lost, so workers stop taking new files
    let abort = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            pool.install(|| {
                todo.par_iter().for_each_with(tx, |tx, call| {
                    if abort.load(Ordering::Relaxed) {
                        return;
                    }
                    let idx = rayon::current_thread_index().unwrap_or(0) % workers.len();
                    let done = worker::process_call(call, s, &models, &workers[idx]);
                    // the receiver only goes away if writing failed; then the run is over
                    let _ = tx.send(done);
                });
            });
        });
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
            summary.uncertain_roles += usize::from(report.uncertain_roles);
            observer.file_done(&report);
        }
        Ok(())
    })?;
    Ok(())
}

/// The failed files in the run manifest (first line of each error).
fn note_failures(sink: &mut ParquetSink, summary: &Summary) -> Result<(), StoreError> {
    if summary.total == 0 {
        return Ok(());
    }
    sink.note(
        "failed",
        summary
            .failed
            .iter()
            .map(|f| {
                serde_json::json!({
                    "interaction_id": f.interaction_id,
                    "path": f.path,
                    "error": f.error.as_deref().map(|e| e.lines().next().unwrap_or(e)),
                })
            })
            .collect::<Vec<_>>()
            .into(),
    )
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
            store::SCHEMA_VERSION.into(),
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
