//! One file through the stages, on a worker thread: decode → voice activity → transcribe →
//! analyze. Every file yields exactly one row: a failure (error or panic) becomes an error row
//! with the call's metadata and audio facts and no analysis.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::analyze::metrics::{ChannelActivity, Span};
use crate::analyze::roles::{self, Cast};
use crate::analyze::semantic::Embed;
use crate::analyze::{self, CallAnalysis};
use crate::conversation::{Role, SegmentRow};
use crate::embed::MiniLm;
use crate::embed::voice::Campplus;
use crate::pipeline::decode;
use crate::pipeline::diarize;
use crate::pipeline::input::{self, CallInput};
use crate::pipeline::plan::{Keyed, partition_of};
use crate::pipeline::transcribe::{Segment, TranscribeError, Transcriber, Worker};
use crate::pipeline::vad;
use crate::pipeline::{FileError, FileReport};
use crate::record::Interaction;
use crate::settings::{Roles, RunSettings};

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

/// The models a run loads once and every worker shares.
pub(crate) struct Models<'a> {
    pub transcriber: &'a Transcriber,
    /// The sentence-embedding model of the semantic rules layer, when it is on.
    pub embedder: Option<&'a MiniLm>,
    /// The speaker-embedding model that diarizes mono calls, unless `--diarize off`.
    pub voice: Option<&'a Campplus>,
}

/// Process one call on this worker thread, using (and creating, or replacing after a panic or
/// a timeout) the thread's whisper state in `slot`. Never panics outward.
pub(crate) fn process_call(
    (call, content, settings): &Keyed,
    s: &RunSettings,
    models: &Models,
    slot: &Mutex<Option<Worker>>,
) -> (Interaction, FileReport) {
    let t0 = Instant::now();
    let mut row = base_row(call, content, settings, s);
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<CallAnalysis, FileError> {
        if slot.is_none() {
            *slot = Some(models.transcriber.worker()?);
        }
        let worker = slot.as_mut().expect("worker state was just created");
        process(call, s, models, worker, &mut row, t0)
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
        uncertain_roles: row
            .role_confidence
            .is_some_and(|c| c < crate::analyze::roles::CONFIDENT),
    };
    (row, report)
}

/// Decode, find speech, transcribe and analyse one file; the audio's facts go into `row` as
/// soon as they are known (a file that fails later keeps them).
fn process(
    call: &CallInput,
    s: &RunSettings,
    models: &Models,
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
    let mut transcribed = Vec::new();
    let mut activity = Vec::new();
    let mut speech = Vec::new();
    for samples in &audio.channels {
        // hold music is found and cut out here, so it is neither talk nor transcribed
        let (act, regions) = vad::activity(samples);
        let padded = vad::pad(&regions, 150, samples.len());
        transcribed.push(
            models
                .transcriber
                .transcribe_regions(worker, samples, &padded, deadline)?,
        );
        activity.push(act);
        speech.push(regions);
    }
    let duration = audio.duration_ms as i64;
    let heard = match (audio.channel_count(), models.voice) {
        (2, _) => stereo(transcribed, activity, s, duration),
        (_, Some(model)) => {
            let d = diarize::diarize(model, &audio.channels[0], &speech[0])?;
            let segments = transcribed.pop().unwrap_or_default();
            let music = std::mem::take(&mut activity[0].music);
            mono_diarized(segments, &d, &audio.channels[0], music, s, duration)
        }
        _ => Heard {
            segments: transcribed
                .into_iter()
                .flatten()
                .map(|seg| segment_row(seg, 0, 0, Role::Unknown))
                .collect(),
            activity,
            sides: None,
            cast: None,
        },
    };
    let semantic = s
        .semantic
        .as_ref()
        .zip(models.embedder)
        .map(|(sem, model)| (model as &dyn Embed, &*sem.heads));
    Ok(analyze::analyze_call(
        heard.segments,
        &heard.activity,
        duration,
        &analyze::Settings {
            sides: heard.sides,
            metrics: s.metrics,
            redact_pii: s.redact_pii,
            rules: &s.rules,
            semantic,
            cast: heard.cast,
        },
    )?)
}

/// What was heard in a call, with who said it: segments and voice activity per speaker, the
/// agent's and the customer's speaker, and how that was found.
struct Heard {
    segments: Vec<SegmentRow>,
    activity: Vec<ChannelActivity>,
    sides: Option<(usize, usize)>,
    cast: Option<Cast>,
}

fn segment_row(seg: Segment, channel: usize, speaker: usize, role: Role) -> SegmentRow {
    SegmentRow {
        role,
        channel: channel as i32,
        speaker: speaker as i32,
        start_ms: seg.start_ms,
        end_ms: seg.end_ms,
        text: seg.text,
        sentiment: 0.0,
        avg_token_prob: seg.avg_token_prob,
        no_speech_prob: seg.no_speech_prob,
        times: seg.times,
        redactions: None,
    }
}

/// A stereo call: one party per channel; which is the agent's is `--roles`, or with `auto` the
/// configured side unless what is said shows with confidence that they are swapped.
fn stereo(
    transcribed: Vec<Vec<Segment>>,
    activity: Vec<ChannelActivity>,
    s: &RunSettings,
    duration: i64,
) -> Heard {
    let mut segments: Vec<SegmentRow> = transcribed
        .into_iter()
        .enumerate()
        .flat_map(|(ch, segs)| {
            segs.into_iter()
                .map(move |seg| segment_row(seg, ch, ch, Role::Unknown))
        })
        .collect();
    let d = roles::decide(&segments, 2, &|r| r.speaker as usize, &s.rules, duration);
    let assumed = s.roles.assumed_agent();
    let swap =
        s.roles == Roles::Auto && d.agent == Some(1 - assumed) && d.confidence >= roles::CONFIDENT;
    let agent = if swap { 1 - assumed } else { assumed };
    let confidence = if d.agent == Some(agent) {
        d.confidence
    } else {
        1.0 - d.confidence
    };
    for r in &mut segments {
        r.role = if r.speaker as usize == agent {
            Role::Agent
        } else {
            Role::Customer
        };
    }
    let speakers = activity.iter().filter(|a| !a.speech.is_empty()).count() as i32;
    Heard {
        segments,
        activity,
        sides: Some((agent, 1 - agent)),
        cast: Some(Cast {
            source: if swap { "channel_swapped" } else { "channel" },
            confidence,
            speakers,
        }),
    }
}

/// A mono call, diarized: its segments cut where the speaker changes, each speaker's voice
/// activity, and the agent and customer found among the speakers from what they say. The
/// line's music goes to the agent's side (hold music). One voice keeps role `unknown`.
fn mono_diarized(
    segments: Vec<Segment>,
    d: &diarize::Diarization,
    samples: &[f32],
    music: Vec<Span>,
    s: &RunSettings,
    duration: i64,
) -> Heard {
    let mut rows: Vec<SegmentRow> = diarize::split_by_speaker(segments, d)
        .into_iter()
        .map(|(k, seg)| segment_row(seg, 0, k, Role::Unknown))
        .collect();
    let speakers = d.speakers.max(1);
    let decision = roles::decide(&rows, speakers, &|r| r.speaker as usize, &s.rules, duration);
    let mut activity: Vec<ChannelActivity> = (0..speakers)
        .map(|k| {
            let speech = d.spans_of(k);
            let regions: Vec<vad::Region> = speech
                .iter()
                .map(|sp| vad::Region {
                    start: (sp.start_ms * 16) as usize,
                    end: ((sp.end_ms * 16) as usize).min(samples.len()),
                })
                .collect();
            ChannelActivity {
                loudness_db: vad::level_db(samples, &regions),
                speech,
                words: 0,
                music: Vec::new(),
            }
        })
        .collect();
    let sides = match (speakers, decision.agent, decision.customer) {
        (2.., Some(a), Some(c)) => Some((a, c)),
        _ => None,
    };
    for r in &mut rows {
        r.role = if sides.is_some() {
            decision.role_of(r.speaker as usize)
        } else {
            Role::Unknown
        };
    }
    let music_side = sides.map_or(0, |(a, _)| a);
    activity[music_side].music = music;
    Heard {
        segments: rows,
        activity,
        sides,
        cast: Some(Cast {
            source: "diarization",
            confidence: decision.confidence,
            speakers: d.speakers as i32,
        }),
    }
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
