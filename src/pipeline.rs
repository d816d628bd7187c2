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
use crate::settings::{RunSettings, SettingsError};
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
    #[error(transparent)]
    Source(#[from] input::SourceError),
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hash of the run-wide settings that shape a row: code and schema version, model, decoding,
/// windowing, channel layout, metric thresholds, redaction, rules.
fn settings_hash(s: &RunSettings, model_sha: &str) -> String {
    use sha2::Digest;
    let v = serde_json::json!({
        "callsift": env!("CARGO_PKG_VERSION"),
        "schema": output::SCHEMA_VERSION,
        "model_sha256": model_sha,
        "language": s.language,
        "beam_size": s.beam_size,
        "audio_context": if s.full_context { "full" } else { "trimmed" },
        "windows_ms": [crate::transcribe::WINDOW_MS, crate::transcribe::WINDOW_GAP_MS],
        "agent_channel": s.agent_channel,
        "metrics": s.metrics,
        "redact_pii": s.redact_pii,
        "rules_sha256": s.rules_sha256,
    });
    hex(&sha2::Sha256::digest(v.to_string().as_bytes()))
}

/// The run-wide hash plus this call's manifest metadata (a corrected manifest row is redone).
/// The file's path is not part of it: moving the recordings does not redo them.
fn call_settings_hash(run_hash: &str, call: &CallInput, extra_columns: &[String]) -> String {
    use sha2::Digest;
    let v = serde_json::json!({
        "settings": run_hash,
        "agent_id": call.agent_id,
        "customer_id": call.customer_id,
        "started_at": call.started_at,
        "queue": call.queue,
        "channel": call.channel,
        "extra": extra_columns.iter().zip(&call.extra).collect::<Vec<_>>(),
    });
    hex(&sha2::Sha256::digest(v.to_string().as_bytes()))
}

/// The `date=` partition of a call: its start time's UTC date, else the recording's
/// modification date, else today.
fn partition_of(call: &CallInput) -> String {
    let ms = call.started_at.or_else(|| {
        let m = std::fs::metadata(&call.path).ok()?.modified().ok()?;
        let d = m.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(d.as_millis() as i64)
    });
    output::partition_date(ms.unwrap_or_else(|| chrono::Utc::now().timestamp_millis()))
}

/// Process one file. Never panics outward: the caller wraps it in `catch_unwind`.
fn process(
    call: &CallInput,
    s: &RunSettings,
    transcriber: &Transcriber,
    worker: &mut Worker,
    row: &mut Interaction,
    started: Instant,
) -> Result<(), FileError> {
    // a FIFO, device or socket is never opened (it could block or stream without end)
    input::regular_file_len(&call.path)?;
    let audio = decode::decode_file_until(&call.path, s.watchdog.deadline(started, None))?;
    let deadline = s
        .watchdog
        .deadline(started, Some(Duration::from_millis(audio.duration_ms)));
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
        for seg in transcriber.transcribe_regions(worker, samples, &padded, deadline)? {
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

/// What a run does with its calls, given what the dataset holds.
#[derive(Default)]
struct Decision {
    /// Calls to process, with their content and settings hashes.
    todo: Vec<(CallInput, Option<String>, String)>,
    /// Ids whose earlier rows are removed before they are processed again.
    replace: std::collections::HashSet<String>,
    /// How many of those are duplicated in the dataset.
    duplicated: usize,
}

/// Skip a call the dataset holds once, `ok`, with the same content and settings hashes (unless
/// `force`); leave one that another live run has claimed; process the rest, replacing what
/// the dataset holds of them.
fn decide(
    keyed: Vec<(CallInput, Option<String>, String)>,
    found: &output::dataset::Claimed,
    force: bool,
) -> Decision {
    let mut d = Decision::default();
    for (c, content, settings) in keyed {
        if found.taken.contains_key(&c.interaction_id) {
            continue;
        }
        match found.stored.get(&c.interaction_id) {
            Some(st)
                if !force
                    && !st.duplicated()
                    && st.ok
                    && content.is_some()
                    && st.content_sha256 == content
                    && st.settings_sha256.as_deref() == Some(settings.as_str()) => {}
            Some(st) => {
                d.duplicated += usize::from(st.duplicated());
                d.replace.insert(c.interaction_id.clone());
                d.todo.push((c, content, settings));
            }
            None => d.todo.push((c, content, settings)),
        }
    }
    d
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

/// Run a batch end to end: the inputs of this shard that the dataset does not yet hold with
/// the same content and settings are processed and committed in small batches.
pub fn run(s: &RunSettings, observer: &dyn Observer) -> Result<Summary, PipelineError> {
    let started = Instant::now();
    s.validate()?;
    let set = collect_inputs(s)?;
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
    let run_hash = settings_hash(s, &model_sha);
    let mut sink = ParquetSink::open(
        &s.out_dir,
        output::dataset::RunKey::new(s.shard.index, s.shard.count),
        &s.rules,
        &set.extra_columns,
        &[],
        output::CommitPolicy {
            rows: s.commit_every.max(1),
            ..Default::default()
        },
    )?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(s.cpus.cpus.max(1))
        .build()
        .map_err(|_| PipelineError::Pool(s.cpus.cpus))?;
    // content hashes (in parallel) decide what is new or changed; an unreadable file gets no
    // hash and is processed, so it becomes an error row with the reason
    let keyed: Vec<(CallInput, Option<String>, String)> = pool.install(|| {
        shard_calls
            .into_par_iter()
            .map(|c| {
                let content = input::content_sha256(&c.path).ok();
                let settings = call_settings_hash(&run_hash, &c, &set.extra_columns);
                (c, content, settings)
            })
            .collect()
    });
    drop(pool);
    let ids: std::collections::HashSet<String> = keyed
        .iter()
        .map(|(c, ..)| c.interaction_id.clone())
        .collect();
    let (claimed, decision) = sink.claim(&ids, |found| {
        let d = decide(keyed, found, s.force);
        (
            d.todo
                .iter()
                .map(|(c, ..)| c.interaction_id.clone())
                .collect(),
            d,
        )
    })?;
    let Decision {
        todo,
        replace,
        duplicated,
    } = decision;
    let stored = claimed.stored;
    let taken = claimed.taken.len();
    let skipped = in_shard - todo.len() - taken;
    let replaced = replace.len();
    sink.note(
        "inputs",
        serde_json::json!({
            "given": inputs,
            "in_shard": in_shard,
            "skipped_unchanged": skipped,
            "claimed_by_other_runs": taken,
            "replaced": replaced,
            "duplicates_repaired": duplicated,
            "to_process": todo.len(),
        }),
    )?;
    sink.note(
        "shard",
        serde_json::json!({"index": s.shard.index, "count": s.shard.count, "origin": s.shard.origin}),
    )?;
    sink.note("settings_sha256", run_hash.clone().into())?;
    sink.note("model", s.model.name.clone().into())?;
    sink.note("model_sha256", model_sha.clone().into())?;
    sink.note("force", s.force.into())?;
    // earlier rows of what is redone go first (journaled: a crash here is finished next run)
    let old: Vec<&output::dataset::Stored> =
        replace.iter().filter_map(|id| stored.get(id)).collect();
    sink.remove(&replace, &old)?;

    let mut summary = Summary {
        run_id: sink.run_key().run_id.clone(),
        inputs,
        in_shard,
        skipped,
        taken_by_other_runs: taken,
        replaced,
        duplicates_repaired: duplicated,
        total: todo.len(),
        ok: 0,
        failed: Vec::new(),
        audio_ms: 0,
        wall: Duration::ZERO,
        outputs: Vec::new(),
    };
    if todo.is_empty() {
        // nothing new: no model load, no transcription
        summary.outputs = sink.finish()?;
        summary.wall = started.elapsed();
        return Ok(summary);
    }
    let plan = s.plan(todo.len())?;
    sink.note("plan", serde_json::to_value(&plan).unwrap_or_default())?;
    let (jobs, threads) = (plan.jobs, plan.threads);
    sink.set_file_metadata(&run_metadata(s, &model_sha, jobs, threads));
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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("callsift-worker-{i}"))
        .build()
        .map_err(|_| PipelineError::Pool(jobs))?;
    // one whisper state per worker thread, created on first use, replaced after a panic
    let workers: Vec<Mutex<Option<Worker>>> = (0..jobs).map(|_| Mutex::new(None)).collect();
    observer.started(todo.len(), jobs, threads);

    let (tx, rx) = sync_channel::<(Interaction, FileReport)>(jobs * 2);
    let calls = &todo;
    // set when the writer fails: the run is lost, so workers stop taking new files
    let abort = AtomicBool::new(false);
    let write_result: Result<(), OutputError> = std::thread::scope(|scope| {
        scope.spawn(|| {
            pool.install(|| {
                calls
                    .par_iter()
                    .for_each_with(tx, |tx, (call, content, settings)| {
                        if abort.load(Ordering::Relaxed) {
                            return;
                        }
                        let t0 = Instant::now();
                        let mut row = Interaction {
                            interaction_id: call.interaction_id.clone(),
                            content_sha256: content.clone(),
                            settings_sha256: Some(settings.clone()),
                            partition_date: Some(partition_of(call)),
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
                            process(call, s, &transcriber, worker, &mut row, t0)
                        }));
                        let error = match result {
                            Ok(Ok(())) => None,
                            Ok(Err(e)) => {
                                if matches!(
                                    e,
                                    FileError::Transcribe(TranscribeError::TimedOut { .. })
                                ) {
                                    // whisper stopped mid-graph: start the next file afresh
                                    *slot = None;
                                }
                                Some(e)
                            }
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
    )?;
    summary.outputs = sink.finish()?;
    summary.wall = started.elapsed();
    Ok(summary)
}
