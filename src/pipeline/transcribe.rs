//! Transcribe: runs whisper.cpp (through whisper-rs) on one channel of 16 kHz audio and returns
//! timed segments. Owns the model context (shared, read-only) and the per-worker decoding state.
//! Knows nothing about files, roles or output formats.

use std::path::PathBuf;

use whisper_rs::{
    DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext,
    WhisperContextParameters, WhisperState,
};

#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error(
        "cannot load model {name} from {path}: {detail}\nhint: run `callsift models fetch {name}` to (re)create it"
    )]
    Load {
        name: String,
        path: PathBuf,
        detail: String,
    },
    #[error(
        "model {name} is English-only but language {language:?} was requested\nhint: use --language en, or a multilingual model such as base"
    )]
    EnglishOnly { name: String, language: String },
    #[error("cannot create a decoding state for model {name}: {detail}")]
    State { name: String, detail: String },
    #[error("whisper failed on {seconds:.1} s of audio: {detail}")]
    Run { seconds: f64, detail: String },
    #[error(
        "transcription took longer than the watchdog allows ({seconds} s for this file)\nhint: raise --watchdog-base or --watchdog-factor if the machine is heavily shared"
    )]
    TimedOut { seconds: u64 },
}

thread_local! {
    /// The deadline of the file this thread is transcribing, read by whisper.cpp's abort
    /// callback. A thread-local because whisper-rs 0.16's `set_abort_callback_safe` hands the
    /// callback a pointer to its boxed trait object as if it were the closure itself: only a
    /// closure that captures nothing (zero-sized) is safe to pass. whisper.cpp calls it on the
    /// thread that called `whisper_full` (ggml's worker 0 is that thread).
    static DEADLINE: std::cell::Cell<Option<std::time::Instant>> =
        const { std::cell::Cell::new(None) };
}

fn deadline_passed() -> bool {
    DEADLINE.with(|d| d.get().is_some_and(|t| std::time::Instant::now() >= t))
}

/// Decoding options shared by every worker.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// ISO code such as `en`, or `auto` to detect (multilingual models only).
    pub language: String,
    /// 1 = greedy; >1 = beam search with that width.
    pub beam_size: u32,
    /// Threads used inside whisper.cpp by one worker.
    pub threads: u32,
    /// Encode every window at whisper's full 30 s context instead of one trimmed to the
    /// window's length (slower; see [`audio_ctx`]).
    pub full_context: bool,
}

/// Encoder context (in 20 ms frames) for a window of `samples` 16 kHz samples: the window's
/// length plus 64 frames (1.28 s) of trailing silence, at least 500 frames (10 s), rounded up
/// to a multiple of 16 — whisper.cpp's fast matrix kernels need the attention's inner
/// dimension to be a multiple of 16 — and at most whisper's 1,500. The encoder's cost is about
/// proportional to it, and most windows are shorter than 30 s (the last one of every channel,
/// and every one of a short call). Below 10 s of context tiny.en falls into repetition loops
/// (a short turn said over and over: 79 % WER on short synthesised calls, 21 % at 10 s, 20 % at
/// the full 30 s, which is 3× slower); with less than about a second of silence after the
/// speech it drops a window's last words (benches/RESULTS.md).
pub fn audio_ctx(samples: usize) -> usize {
    const MAX: usize = 1_500;
    const MIN: usize = 500;
    const TRAILING: usize = 64;
    let frames = (samples.div_ceil(320) + TRAILING).max(MIN);
    (frames.div_ceil(16) * 16).min(MAX)
}

/// The most text tokens whisper may decode for a window of `samples` 16 kHz samples: eight a
/// second (fast speech is about five) plus 16, at most 200 (whisper's own limit is 224). A pass
/// that reaches it ends as a completed segment: whisper.cpp then times its words over the
/// whole window, whereas a pass that runs into whisper's own limit (a repetition loop) is
/// timed over wherever its last timestamp fell, which can be shorter than DTW's median filter
/// and aborts the process. What the cut leaves unsaid is requeued like any early stop.
pub fn max_tokens(samples: usize) -> i32 {
    (samples.div_ceil(2_000) + 16).min(200) as i32
}

/// One transcribed stretch of a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    /// Mean probability of the segment's text tokens.
    pub avg_token_prob: f32,
    /// whisper's probability that the window holding this segment has no speech.
    pub no_speech_prob: f32,
    /// When each of whisper's tokens in `text` is spoken (call ms), in text order; empty when
    /// the text is not whisper's as it was (a repetition loop was cut).
    pub times: Vec<crate::conversation::TextTime>,
}

struct RawToken {
    text: String,
    p: f32,
    /// When the token is spoken (window ms): its DTW time, else the middle of whisper's
    /// token timestamps.
    at: i64,
}

/// What a pass over a window left undone.
#[derive(Debug, PartialEq)]
struct Unreached {
    /// The last group's piece is redone whole, so its words are dropped.
    drop_last: bool,
    /// The last group's piece is redone from here (call ms), so its words end here.
    cut_at_ms: Option<i64>,
    /// Speech (source samples) to transcribe again, in order, before anything else.
    requeue: Vec<crate::pipeline::vad::Region>,
}

/// Given the piece and DTW time (window ms) of whisper's last word in `window`, or `None`
/// when it found no words: the speech whisper did not reach. Pieces after the last word's
/// piece are redone; so is the last word's piece when its speech runs on well past that word
/// (whisper stopped early) — whole, unless it is the window's first piece, where only the
/// part after the word is redone (redoing all of it could stop at the same place again).
fn unreached(window: &crate::pipeline::vad::Window, last: Option<(usize, i64)>) -> Unreached {
    let mut out = Unreached {
        drop_last: false,
        cut_at_ms: None,
        requeue: Vec::new(),
    };
    let Some((l, last_at)) = last else {
        return out;
    };
    let stopped_early = window.piece_end_ms(l) - last_at > STOPPED_EARLY_MS;
    let mut from_piece = l + 1;
    if stopped_early && l > 0 {
        out.drop_last = true;
        from_piece = l;
    } else if stopped_early {
        let r = window.piece_region(l);
        let from = window.to_source_sample(last_at + WORD_TAIL_MS);
        if from + MIN_REDO < r.end {
            out.cut_at_ms = Some(window.to_source_ms(last_at + WORD_TAIL_MS));
            out.requeue.push(crate::pipeline::vad::Region {
                start: from.max(r.start),
                end: r.end,
            });
        }
    }
    out.requeue
        .extend((from_piece..window.piece_count()).map(|i| window.piece_region(i)));
    out
}

/// The words of one window that fall in one piece of speech.
struct Group {
    piece: usize,
    /// DTW times (window ms) of the group's first and last words.
    first_at: i64,
    last_at: i64,
    text: String,
    /// Byte offset in `text` and DTW time (window ms) of each token.
    times: Vec<(usize, i64)>,
    probs: Vec<f32>,
    no_speech_prob: f32,
}

/// A piece whose speech runs on this long (ms) after whisper's last word was cut short.
const STOPPED_EARLY_MS: i64 = 1_500;
/// A group whose first word (DTW time) comes this long (ms) after its piece's start starts at
/// that word, EARLY_WORD_MS before it; otherwise at the piece's start.
const LATE_START_MS: i64 = 1_000;
const EARLY_WORD_MS: i64 = 200;
/// Where the rest of a cut-short first piece resumes after its last word's DTW time (ms).
const WORD_TAIL_MS: i64 = 300;
/// Shortest rest of a piece worth another pass (0.5 s of 16 kHz samples).
const MIN_REDO: usize = 8_000;
/// Longest window whisper sees (ms), within its 30 s context.
pub const WINDOW_MS: u32 = 28_000;
/// Silence put between packed speech regions (ms). Enough for whisper to hear a break between
/// utterances; longer only costs encoder time (1 s: about 15% slower end to end and a worse
/// WER on the benchmark set, benches/RESULTS.md).
pub const WINDOW_GAP_MS: u32 = 500;
/// Windows are padded with silence to at least this many samples (0.5 s): whisper.cpp's DTW
/// aborts the process on audio shorter than its median filter.
const MIN_WINDOW: usize = 8_000;

struct RawSegment {
    no_speech_prob: f32,
    tokens: Vec<RawToken>,
}

/// A loaded model, shared by all workers.
pub struct Transcriber {
    ctx: WhisperContext,
    /// Whether tokens carry DTW timestamps.
    dtw: bool,
    name: String,
    options: DecodeOptions,
}

/// One worker's decoding state. Create one per worker thread.
pub struct Worker {
    state: WhisperState,
}

impl Transcriber {
    pub fn load(
        name: &str,
        path: &std::path::Path,
        options: DecodeOptions,
    ) -> Result<Self, TranscribeError> {
        whisper_rs::install_logging_hooks();
        let mut params = WhisperContextParameters::default();
        params.use_gpu(cfg!(feature = "cuda"));
        // DTW token timestamps (from the model's alignment heads) place each word accurately
        // enough to split segments at packed speech regions
        let preset = match name.trim_end_matches("-q8_0") {
            "tiny.en" => Some(DtwModelPreset::TinyEn),
            "tiny" => Some(DtwModelPreset::Tiny),
            "base.en" => Some(DtwModelPreset::BaseEn),
            "base" => Some(DtwModelPreset::Base),
            _ => None,
        };
        let dtw = preset.is_some();
        if let Some(model_preset) = preset {
            params.dtw_parameters(DtwParameters {
                mode: DtwMode::ModelPreset { model_preset },
                ..Default::default()
            });
        }
        let ctx =
            WhisperContext::new_with_params(path, params).map_err(|e| TranscribeError::Load {
                name: name.to_string(),
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        if !ctx.is_multilingual() && options.language != "en" {
            return Err(TranscribeError::EnglishOnly {
                name: name.to_string(),
                language: options.language.clone(),
            });
        }
        Ok(Transcriber {
            dtw,
            ctx,
            name: name.to_string(),
            options,
        })
    }

    pub fn worker(&self) -> Result<Worker, TranscribeError> {
        let state = self
            .ctx
            .create_state()
            .map_err(|e| TranscribeError::State {
                name: self.name.clone(),
                detail: e.to_string(),
            })?;
        Ok(Worker { state })
    }

    /// Transcribe only the speech regions of one channel. Regions are packed into ≤ 28 s
    /// windows with 0.5 s pauses between them (silence costs nothing and nothing is
    /// hallucinated there); whisper's words are then grouped by the packed piece their DTW
    /// times fall in, so every segment lies inside one stretch of real speech and carries call
    /// time.
    ///
    /// whisper decodes each window in one pass (no seeking inside it). When it stops before
    /// the window's speech is done — it ends its text early now and then — the pieces it did
    /// not reach, and a piece it stopped in the middle of, go back to the front of the queue
    /// and open the next window, so no speech is skipped.
    ///
    /// Gives up with [`TranscribeError::TimedOut`] once `deadline` has passed (checked between
    /// windows and inside whisper.cpp's encoder and decoder loops).
    pub fn transcribe_regions(
        &self,
        worker: &mut Worker,
        samples: &[f32],
        regions: &[crate::pipeline::vad::Region],
        deadline: crate::watchdog::Deadline,
    ) -> Result<Vec<Segment>, TranscribeError> {
        DEADLINE.with(|d| d.set(deadline.instant()));
        let result = self.transcribe_until(worker, samples, regions);
        DEADLINE.with(|d| d.set(None));
        match result {
            Err(_) | Ok(_) if deadline.passed() => Err(TranscribeError::TimedOut {
                seconds: deadline.allowed().as_secs(),
            }),
            other => other,
        }
    }

    fn transcribe_until(
        &self,
        worker: &mut Worker,
        samples: &[f32],
        regions: &[crate::pipeline::vad::Region],
    ) -> Result<Vec<Segment>, TranscribeError> {
        let mut out = Vec::new();
        let mut queue = regions.to_vec();
        while let Some((window, rest)) =
            crate::pipeline::vad::pack_next(samples, &queue, WINDOW_MS, WINDOW_GAP_MS)
        {
            if deadline_passed() {
                return Ok(out);
            }
            let tokens: Vec<(RawToken, f32)> = self
                .run(worker, &window.samples)?
                .into_iter()
                .flat_map(|seg| {
                    let nsp = seg.no_speech_prob;
                    seg.tokens.into_iter().map(move |t| (t, nsp))
                })
                .collect();
            // group the tokens by the piece of speech they are spoken in
            let mut groups: Vec<Group> = Vec::new();
            for (tok, no_speech_prob) in tokens {
                let word = tok.text.trim_start();
                let current = groups.last().map(|g| g.piece);
                let piece = if !word.chars().any(char::is_alphanumeric) && current.is_some() {
                    // punctuation belongs to the word before it
                    current.unwrap_or_default()
                } else if let Some((prev, next)) = window.gap_at(tok.at) {
                    // DTW places a word in the inserted pause: a capitalised word opens the
                    // next utterance, anything else finishes the previous one — unless the
                    // previous stretch of speech has no words yet (a one-word "Fine.")
                    let prev_has_words = current.is_some_and(|c| c >= prev);
                    if word.starts_with(char::is_uppercase) && prev_has_words {
                        next
                    } else {
                        prev
                    }
                } else {
                    window.piece_at(tok.at)
                };
                // whisper's words never go back in time
                let piece = piece.max(current.unwrap_or(0));
                match groups.last_mut() {
                    Some(g) if g.piece == piece => {
                        g.last_at = tok.at;
                        g.times.push((g.text.len(), tok.at));
                        g.text.push_str(&tok.text);
                        g.probs.push(tok.p);
                    }
                    _ => groups.push(Group {
                        piece,
                        first_at: tok.at,
                        last_at: tok.at,
                        text: tok.text.clone(),
                        times: vec![(0, tok.at)],
                        probs: vec![tok.p],
                        no_speech_prob,
                    }),
                }
            }
            // what whisper did not reach goes back to the queue
            let next = unreached(&window, groups.last().map(|g| (g.piece, g.last_at)));
            let keep = groups.len() - usize::from(next.drop_last);
            let cut_at = next.cut_at_ms;
            let mut requeue = next.requeue;
            requeue.extend(rest);
            queue = requeue;
            for g in groups.into_iter().take(keep) {
                let text = cut_repeats(g.text.trim());
                if is_non_speech(&text) {
                    continue;
                }
                let times = text_times(&g, &text, |at| window.to_source_ms(at));
                // a piece is one stretch of speech found by voice activity, and holds this
                // group only: it starts where the piece does unless its first word comes well
                // after that (noise before it), and ends with the piece unless cut short
                let (ps, pe) = window.piece_source_ms(g.piece);
                let first = window.to_source_ms(g.first_at);
                let start = if first - ps > LATE_START_MS {
                    (first - EARLY_WORD_MS).clamp(ps, pe)
                } else {
                    ps
                };
                // only a window whose words all lie in its first piece is cut (words never go
                // back in time), so the cut is that one group's
                let end = cut_at.map_or(pe, |cut| cut.clamp(start, pe));
                out.push(Segment {
                    start_ms: start,
                    end_ms: end,
                    text,
                    avg_token_prob: g.probs.iter().sum::<f32>() / g.probs.len().max(1) as f32,
                    no_speech_prob: g.no_speech_prob,
                    times,
                });
            }
        }
        Ok(out)
    }

    /// Run whisper on one window of 16 kHz audio, with per-token times.
    fn run(
        &self,
        worker: &mut Worker,
        samples: &[f32],
    ) -> Result<Vec<RawSegment>, TranscribeError> {
        let seconds = samples.len() as f64 / 16_000.0;
        // whisper.cpp rejects input shorter than ~100 ms; such a channel has no speech to find
        if samples.len() < 1_600 {
            return Ok(Vec::new());
        }
        let padded;
        let samples = if samples.len() < MIN_WINDOW {
            padded = [samples, &[0.0; MIN_WINDOW][..MIN_WINDOW - samples.len()]].concat();
            &padded[..]
        } else {
            samples
        };
        let strategy = if self.options.beam_size > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: self.options.beam_size as i32,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy { best_of: 1 }
        };
        let mut p = FullParams::new(strategy);
        p.set_n_threads(self.options.threads.max(1) as i32);
        let lang = self.options.language.as_str();
        p.set_language(Some(if lang == "auto" { "auto" } else { lang }));
        p.set_translate(false);
        p.set_no_context(true);
        p.set_print_special(false);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_timestamps(false);
        p.set_suppress_blank(true);
        p.set_suppress_nst(true);
        p.set_token_timestamps(true);
        p.set_abort_callback_safe(deadline_passed);
        // one pass over the whole window: whisper.cpp's own seeking inside a window re-runs
        // the encoder on what is left and can hand DTW a stretch too short for its median
        // filter, which aborts the process; transcribe_regions requeues what a pass misses
        p.set_single_segment(true);
        if !self.options.full_context {
            p.set_audio_ctx(audio_ctx(samples.len()) as i32);
        }
        p.set_max_tokens(max_tokens(samples.len()));
        worker
            .state
            .full(p, samples)
            .map_err(|e| TranscribeError::Run {
                seconds,
                detail: e.to_string(),
            })?;
        let eot = self.ctx.token_eot();
        let mut out = Vec::new();
        for seg in worker.state.as_iter() {
            let text = seg
                .to_str_lossy()
                .map(|c| c.trim().to_string())
                .unwrap_or_default();
            if is_non_speech(&text) {
                continue;
            }
            let mut tokens = Vec::new();
            for t in 0..seg.n_tokens() {
                if let Some(tok) = seg.get_token(t)
                    && tok.token_id() < eot
                {
                    let d = tok.token_data();
                    tokens.push(RawToken {
                        text: tok
                            .to_str_lossy()
                            .map(|c| c.into_owned())
                            .unwrap_or_default(),
                        p: tok.token_probability(),
                        at: if self.dtw && d.t_dtw >= 0 {
                            d.t_dtw * 10
                        } else {
                            (d.t0 + d.t1) * 5
                        },
                    });
                }
            }
            let avg = if tokens.is_empty() {
                0.0
            } else {
                tokens.iter().map(|t| t.p).sum::<f32>() / tokens.len() as f32
            };
            let no_speech = seg.no_speech_probability();
            // whisper's own rule: a window that is probably silence and decoded with low
            // confidence is a hallucination, not speech
            if no_speech > 0.6 && avg < 0.5 {
                continue;
            }
            out.push(RawSegment {
                no_speech_prob: no_speech,
                tokens,
            });
        }
        Ok(out)
    }
}

/// The token times of a group as [`TextTime`](crate::conversation::TextTime)s of its segment's
/// `text` (the group's text trimmed), with `to_call_ms` turning window ms into call ms; empty
/// when `text` is not the group's text as whisper wrote it (a loop was cut).
fn text_times(
    g: &Group,
    text: &str,
    to_call_ms: impl Fn(i64) -> i64,
) -> Vec<crate::conversation::TextTime> {
    let lead = g.text.len() - g.text.trim_start().len();
    if text != g.text.trim() {
        return Vec::new();
    }
    g.times
        .iter()
        .map(|&(byte, at)| crate::conversation::TextTime {
            byte: byte.saturating_sub(lead).min(text.len()),
            ms: to_call_ms(at),
        })
        .collect()
}

/// Bracketed annotations whisper emits for non-speech audio, e.g. `[BLANK_AUDIO]`, `(music)`.
fn is_non_speech(text: &str) -> bool {
    let t = text.trim();
    if t.is_empty() {
        return true;
    }
    let bracketed = (t.starts_with('[') && t.ends_with(']'))
        || (t.starts_with('(') && t.ends_with(')'))
        || (t.starts_with('*') && t.ends_with('*'));
    bracketed || !t.chars().any(char::is_alphanumeric)
}

/// `text` with the recogniser's repetition loops cut to one occurrence: a run of words said
/// again and again back to back ("Goodbye. Goodbye. Goodbye. ..." or a closing sentence twice).
/// A phrase of 4+ words repeated at once is a loop (people do not repeat whole sentences back
/// to back); a shorter one only from its third occurrence ("bye bye" and "no, no" are speech),
/// a single word from its fourth ("no, no, no" is speech too).
pub fn cut_repeats(text: &str) -> String {
    // a loop of loops ("bye bye bye bye, bye bye bye bye") needs a second pass
    let mut text = text.to_string();
    loop {
        let cut = cut_repeats_once(&text);
        if cut == text {
            return cut;
        }
        text = cut;
    }
}

fn cut_repeats_once(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let key: Vec<String> = words
        .iter()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect()
        })
        .collect();
    let mut keep = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let shortest = (1..=MAX_LOOP_WORDS.min((words.len() - i) / 2)).find_map(|n| {
            let times = 1
                + (1..)
                    .take_while(|k| {
                        let at = i + k * n;
                        at + n <= words.len() && key[at..at + n] == key[i..i + n]
                    })
                    .count();
            let loop_from = match n {
                1 => 4,
                2 | 3 => 3,
                _ => 2,
            };
            (times >= loop_from && key[i..i + n].iter().any(|k| !k.is_empty()))
                .then_some((n, times))
        });
        match shortest {
            Some((n, times)) => {
                // keep the first occurrence, with the punctuation of the last one
                keep.extend_from_slice(&words[i..i + n - 1]);
                keep.push(words[i + times * n - 1]);
                i += times * n;
                // and drop the loop's unfinished last turn (the decoder stopped mid-way)
                let unfinished = (0..n)
                    .take_while(|&k| i + k < words.len() && key[i + k] == key[i - n + k])
                    .count();
                if unfinished >= 2 {
                    i += unfinished;
                }
            }
            None => {
                keep.push(words[i]);
                i += 1;
            }
        }
    }
    keep.join(" ")
}

/// The longest phrase (in words) whose back-to-back repetition is looked for.
const MAX_LOOP_WORDS: usize = 40;

#[cfg(test)]
mod tests {
    use super::{Group, Unreached, audio_ctx, cut_repeats, is_non_speech, text_times, unreached};
    use crate::pipeline::vad::{Region, pack_next};

    #[test]
    fn repetition_loops_are_cut_and_ordinary_repeats_kept() {
        assert_eq!(
            cut_repeats("Thank you. Goodbye. Goodbye. Goodbye. Goodbye. Goodbye. Goodbye."),
            "Thank you. Goodbye."
        );
        assert_eq!(
            cut_repeats("Have a great day. Have a great day."),
            "Have a great day."
        );
        assert_eq!(
            cut_repeats(
                "Thank you for calling Acme. Thank you for calling Acme. Thank you for calling Acme."
            ),
            "Thank you for calling Acme."
        );
        for speech in [
            "Bye bye.",
            "No, no, no, that is wrong.",
            "Thank you, thank you.",
            "I, I will sort it.",
            "It is very, very late.",
        ] {
            assert_eq!(cut_repeats(speech), speech);
        }
        assert_eq!(cut_repeats("okay okay okay okay fine"), "okay fine");
        // a callsift transcript of a synthesised call (tiny.en, trimmed encoder context): a
        // 13-word sentence said three and a half times
        assert_eq!(
            cut_repeats(
                "Apologies for the inconvenience caused by the outrage the fault was at our exchange. \
                 Apologies for the inconvenience caused by the outrage the fault was at our exchange. \
                 Apologies for the inconvenience caused by the outrage the fault was at our exchange. \
                 Apologies for the inconvenience caused by the outrage"
            ),
            "Apologies for the inconvenience caused by the outrage the fault was at our exchange."
        );
        assert_eq!(
            cut_repeats(
                "15 minutes. That's a huge chunk of your day. I'd be fed up to you. 15 minutes. \
                 That's a huge chunk of your day. I'd be fed up to you."
            ),
            "15 minutes. That's a huge chunk of your day. I'd be fed up to you."
        );
        assert_eq!(cut_repeats(""), "");
    }

    fn r(start_s: f64, end_s: f64) -> Region {
        Region {
            start: (start_s * 16_000.0) as usize,
            end: (end_s * 16_000.0) as usize,
        }
    }

    #[test]
    fn speech_whisper_did_not_reach_is_redone() {
        let samples = vec![0.0; 60 * 16_000];
        // pieces in the window at 0–4 s, 5–9 s (1 s pauses between), 10–13 s
        let regions = [r(1.0, 5.0), r(10.0, 14.0), r(20.0, 23.0)];
        let (w, rest) = pack_next(&samples, &regions, 28_000, 1_000).unwrap();
        assert!(rest.is_empty());
        // no words at all: nothing to redo
        assert_eq!(unreached(&w, None).requeue, vec![]);
        // the last word near the end of the last piece: done
        let done = unreached(&w, Some((2, 12_500)));
        assert_eq!(
            done,
            Unreached {
                drop_last: false,
                cut_at_ms: None,
                requeue: vec![]
            }
        );
        // words stop at the end of the first piece: the other two are redone
        let next = unreached(&w, Some((0, 3_600)));
        assert_eq!(next.requeue, vec![r(10.0, 14.0), r(20.0, 23.0)]);
        assert!(!next.drop_last);
        // words stop early in the second piece: it is redone whole, its words dropped
        let next = unreached(&w, Some((1, 6_000)));
        assert!(next.drop_last);
        assert_eq!(next.requeue, vec![r(10.0, 14.0), r(20.0, 23.0)]);
        // words stop early in the first piece: only the rest of it is redone
        let next = unreached(&w, Some((0, 1_000)));
        assert!(!next.drop_last);
        assert_eq!(next.cut_at_ms, Some(2_300));
        assert_eq!(
            next.requeue[0],
            Region {
                start: 2_300 * 16,
                end: 5 * 16_000
            }
        );
        assert_eq!(next.requeue[1..], [r(10.0, 14.0), r(20.0, 23.0)]);
    }

    #[test]
    fn windows_leave_the_rest_of_a_long_region() {
        let samples = vec![0.0; 90 * 16_000];
        let (w, rest) = pack_next(&samples, &[r(0.0, 40.0), r(50.0, 55.0)], 28_000, 1_000).unwrap();
        assert_eq!(w.piece_count(), 1);
        assert_eq!(w.piece_region(0), r(0.0, 28.0));
        assert_eq!(rest, vec![r(28.0, 40.0), r(50.0, 55.0)]);
        assert!(pack_next(&samples, &[], 28_000, 1_000).is_none());
    }

    #[test]
    fn audio_context_covers_the_window_in_multiples_of_16() {
        // 1 s = 50 frames + 64 trailing: under the 10 s floor, 500 → 512
        assert_eq!(audio_ctx(16_000), 512);
        // 20 s = 1,000 + 64 = 1,064 → 1,072
        assert_eq!(audio_ctx(20 * 16_000), 1_072);
        // 28 s (the longest packed window) = 1,400 + 64 = 1,464 → 1,472
        assert_eq!(audio_ctx(28 * 16_000), 1_472);
        // never beyond whisper's 30 s
        assert_eq!(audio_ctx(30 * 16_000), 1_500);
        for n in (1_600..30 * 16_000).step_by(7_919) {
            let ctx = audio_ctx(n);
            assert!(ctx * 320 >= n, "{n} samples need more than {ctx} frames");
            assert!(ctx.is_multiple_of(16) || ctx == 1_500);
        }
    }

    #[test]
    fn token_times_follow_the_trimmed_text_or_are_dropped_with_a_loop() {
        let group = |tokens: &[(&str, i64)]| {
            let mut g = Group {
                piece: 0,
                first_at: 0,
                last_at: 0,
                text: String::new(),
                times: Vec::new(),
                probs: Vec::new(),
                no_speech_prob: 0.0,
            };
            for &(t, at) in tokens {
                g.times.push((g.text.len(), at));
                g.text.push_str(t);
            }
            g
        };
        let g = group(&[
            (" It", 100),
            (" is", 300),
            (" 45", 700),
            ("39", 900),
            (".", 1_200),
        ]);
        let times = text_times(&g, "It is 4539.", |at| at + 10_000);
        let got: Vec<(usize, i64)> = times.iter().map(|t| (t.byte, t.ms)).collect();
        assert_eq!(
            got,
            [
                (0, 10_100),
                (2, 10_300),
                (5, 10_700),
                (8, 10_900),
                (10, 11_200)
            ]
        );
        // a repetition loop was cut: the times no longer describe the text
        let g = group(&[(" Bye", 100), (" bye", 300), (" bye", 500), (" bye", 700)]);
        assert!(text_times(&g, "bye", |at| at).is_empty());
    }

    #[test]
    fn annotations_are_not_speech() {
        assert!(is_non_speech("[BLANK_AUDIO]"));
        assert!(is_non_speech(" (music) "));
        assert!(is_non_speech("..."));
        assert!(!is_non_speech("Thank you for calling."));
    }
}
