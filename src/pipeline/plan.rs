//! Planning a run: which calls (manifest and folders, this shard), their content and settings
//! hashes, and — given what the dataset holds and other live runs have claimed — which to skip,
//! leave, replace or process.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::fsutil;
use crate::pipeline::input::{self, CallInput, InputError, InputSet};
use crate::settings::RunSettings;
use crate::store::{self, dataset::Claimed};

/// A call to process with its content hash (`None`: unreadable, so it becomes an error row with
/// the reason) and its settings hash.
pub type Keyed = (CallInput, Option<String>, String);

pub(crate) fn collect_inputs(s: &RunSettings) -> Result<InputSet, InputError> {
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

/// This shard's calls with their hashes, computed in parallel on `cpus` threads.
pub(crate) fn key_calls(
    calls: Vec<CallInput>,
    cpus: usize,
    run_hash: &str,
    extra_columns: &[String],
) -> Vec<Keyed> {
    let key = |c: CallInput| {
        let content = input::content_sha256(&c.path).ok();
        let settings = call_settings_hash(run_hash, &c, extra_columns);
        (c, content, settings)
    };
    match rayon::ThreadPoolBuilder::new()
        .num_threads(cpus.max(1))
        .build()
    {
        Ok(pool) => pool.install(|| calls.into_par_iter().map(key).collect()),
        Err(_) => calls.into_iter().map(key).collect(),
    }
}

/// Hash of the run-wide settings that shape a row: code and schema version, model, decoding,
/// windowing, channel layout, metric thresholds, redaction, rules.
pub(crate) fn settings_hash(
    s: &RunSettings,
    model_sha: &str,
    diarizer: Option<&crate::models::diarizer::Diarizer>,
) -> String {
    let v = serde_json::json!({
        "callsift": env!("CARGO_PKG_VERSION"),
        "schema": store::SCHEMA_VERSION,
        "model_sha256": model_sha,
        "language": s.language,
        "beam_size": s.beam_size,
        "audio_context": if s.full_context { "full" } else { "trimmed" },
        "windows_ms": [crate::pipeline::transcribe::WINDOW_MS, crate::pipeline::transcribe::WINDOW_GAP_MS],
        "roles": s.roles,
        "metrics": s.metrics,
        "redact_pii": s.redact_pii,
        "rules_sha256": s.rules_sha256,
        "sentiment_min_change_words": crate::analyze::sentiment::MIN_CHANGE_WORDS,
    });
    let mut v = v;
    if let Some(d) = diarizer {
        v["diarize"] = serde_json::json!({
            "model": d.id,
            "same_speaker": crate::pipeline::diarize::SAME_SPEAKER,
        });
    }
    // only when on, so that turning on a new layer is the only thing that redoes old calls
    if let Some(sem) = &s.semantic {
        v["semantic"] = serde_json::json!({
            "heads_sha256": sem.heads_sha256,
            "model": sem.model_id,
        });
    }
    fsutil::sha256_hex(v.to_string().as_bytes())
}

/// The run-wide hash plus this call's manifest metadata (a corrected manifest row is redone).
/// The file's path is not part of it: moving the recordings does not redo them.
fn call_settings_hash(run_hash: &str, call: &CallInput, extra_columns: &[String]) -> String {
    let v = serde_json::json!({
        "settings": run_hash,
        "agent_id": call.agent_id,
        "customer_id": call.customer_id,
        "started_at": call.started_at,
        "queue": call.queue,
        "channel": call.contact_channel,
        "extra": extra_columns.iter().zip(&call.extra).collect::<Vec<_>>(),
    });
    fsutil::sha256_hex(v.to_string().as_bytes())
}

/// The `date=` partition of a call: its start time's UTC date, else the recording's
/// modification date, else today.
pub(crate) fn partition_of(call: &CallInput) -> String {
    let ms = call.started_at.or_else(|| {
        let m = std::fs::metadata(&call.path).ok()?.modified().ok()?;
        let d = m.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(d.as_millis() as i64)
    });
    store::sink::partition_date(ms.unwrap_or_else(|| chrono::Utc::now().timestamp_millis()))
}

/// What a run does with its calls, given what the dataset holds.
#[derive(Default)]
pub(crate) struct Decision {
    /// Calls to process, with their content and settings hashes.
    pub todo: Vec<Keyed>,
    /// Ids whose earlier rows are removed before they are processed again.
    pub replace: std::collections::HashSet<String>,
    /// How many of those are duplicated in the dataset.
    pub duplicated: usize,
    /// How many calls other live runs have claimed (left to them).
    pub taken: usize,
}

/// Skip a call the dataset holds once, `ok`, with the same content and settings hashes (unless
/// `force`); leave one that another live run has claimed; process the rest, replacing what
/// the dataset holds of them.
pub(crate) fn decide(keyed: Vec<Keyed>, found: &Claimed, force: bool) -> Decision {
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
