//! One file through the stages, on a worker thread: decode → voice activity → transcribe →
//! analyze. Every file yields exactly one row: a failure (error or panic) becomes an error row
//! with the call's metadata and audio facts and no analysis.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::analyze::semantic::Embed;
use crate::analyze::{self, CallAnalysis};
use crate::conversation::{Role, SegmentRow};
use crate::embed::MiniLm;
use crate::pipeline::decode;
use crate::pipeline::input::{self, CallInput};
use crate::pipeline::plan::{Keyed, partition_of};
use crate::pipeline::transcribe::{TranscribeError, Transcriber, Worker};
use crate::pipeline::vad;
use crate::pipeline::{FileError, FileReport};
use crate::record::Interaction;
use crate::settings::RunSettings;

/// The row of a call before it is processed: its identity, hashes and manifest metadata.
fn base_row(
    call: &CallInput,
    content: &Option<String>,
    settings: &str,
    s: &RunSettings,
) -> Interaction {
    Interaction {
        interaction_id: call.interaction_id.clone(),
        content_sha256: content.clone(),
        settings_sha256: Some(settings.to_string()),
        partition_date: Some(partition_of(call)),
        source_path: call.path.to_string_lossy().into_owned(),
        agent_id: call.agent_id.clone(),
        customer_id: call.customer_id.clone(),
        started_at: call.started_at,
        queue: call.queue.clone(),
        contact_channel: call.contact_channel.clone(),
        model: s.model.name.clone(),
        language: s.language.clone(),
        extra: call.extra.clone(),
        categories: vec![None; s.rules.categories.len()],
        ..Default::default()
    }
}

/// Process one call on this worker thread, using (and creating, or replacing after a panic or
/// a timeout) the thread's whisper state in `slot`. Never panics outward.
pub(crate) fn process_call(
    (call, content, settings): &Keyed,
    s: &RunSettings,
    transcriber: &Transcriber,
    embedder: Option<&MiniLm>,
    slot: &Mutex<Option<Worker>>,
) -> (Interaction, FileReport) {
    let t0 = Instant::now();
    let mut row = base_row(call, content, settings, s);
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<CallAnalysis, FileError> {
        if slot.is_none() {
            *slot = Some(transcriber.worker()?);
        }
        let worker = slot.as_mut().expect("worker state was just created");
        process(call, s, transcriber, embedder, worker, &mut row, t0)
    }));
    match result {
        Ok(Ok(analysis)) => {
            row.ok = true;
            row.apply(analysis);
        }
        Ok(Err(e)) => {
            if matches!(e, FileError::Transcribe(TranscribeError::TimedOut { .. })) {
                // whisper stopped mid-graph: start the next file afresh
                *slot = None;
            }
            row.error = Some(crate::error_chain(&e));
        }
        Err(p) => {
            *slot = None; // the state may be inconsistent; start afresh
            let e = FileError::Panic {
                path: call.path.clone(),
                message: panic_message(p.as_ref()),
            };
            row.error = Some(crate::error_chain(&e));
        }
    }
    drop(slot);
    row.processing_ms = t0.elapsed().as_millis() as i64;
    let report = FileReport {
        interaction_id: row.interaction_id.clone(),
        path: call.path.clone(),
        audio_ms: row.duration_ms.unwrap_or(0).max(0) as u64,
        elapsed: t0.elapsed(),
        error: row.error.clone(),
    };
    (row, report)
}

/// Decode, find speech, transcribe and analyse one file; the audio's facts go into `row` as
/// soon as they are known (a file that fails later keeps them).
fn process(
    call: &CallInput,
    s: &RunSettings,
    transcriber: &Transcriber,
    embedder: Option<&MiniLm>,
    worker: &mut Worker,
    row: &mut Interaction,
    started: Instant,
) -> Result<CallAnalysis, FileError> {
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
        let (act, speech) = vad::activity(samples);
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
                times: seg.times,
                redactions: None,
            });
        }
    }
    let duration = audio.duration_ms as i64;
    let semantic = s
        .semantic
        .as_ref()
        .zip(embedder)
        .map(|(sem, model)| (model as &dyn Embed, &*sem.heads));
    Ok(analyze::analyze_call(
        segments,
        &activity,
        duration,
        &analyze::Settings {
            agent_channel: s.agent_channel.index(),
            metrics: s.metrics,
            redact_pii: s.redact_pii,
            rules: &s.rules,
            semantic,
        },
    )?)
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
