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
}

struct RawToken {
    text: String,
    p: f32,
    /// Token start/end in ms (only meaningful with token timestamps on).
    t0: i64,
    t1: i64,
    /// Best estimate of when the token is spoken: its DTW time, else the middle of t0..t1.
    at: i64,
}

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
    /// windows with 1 s pauses between them (silence costs nothing and nothing is
    /// hallucinated there); each whisper segment is then split at the packed pieces by its
    /// token timestamps, so every segment lies inside one stretch of real speech and carries
    /// call time.
    pub fn transcribe_regions(
        &self,
        worker: &mut Worker,
        samples: &[f32],
        regions: &[crate::vad::Region],
    ) -> Result<Vec<Segment>, TranscribeError> {
        let mut out = Vec::new();
        for window in crate::vad::pack(samples, regions, 28_000, 1_000) {
            for seg in self.run(worker, &window.samples)? {
                // group the segment's tokens by the piece their midpoint falls in
                let mut groups: Vec<(usize, i64, i64, String, Vec<f32>)> = Vec::new();
                for tok in &seg.tokens {
                    let word = tok.text.trim_start();
                    let current = groups.last().map(|g| g.0);
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
                    match groups.last_mut() {
                        Some(g) if g.0 == piece => {
                            g.2 = tok.t1;
                            g.3.push_str(&tok.text);
                            g.4.push(tok.p);
                        }
                        _ => groups.push((piece, tok.t0, tok.t1, tok.text.clone(), vec![tok.p])),
                    }
                }
                for (piece, t0, t1, text, probs) in groups {
                    let text = text.trim().to_string();
                    if is_non_speech(&text) {
                        continue;
                    }
                    let (ps, pe) = window.piece_source_ms(piece);
                    let start = window.to_source_ms(t0).clamp(ps, pe);
                    let end = window.to_source_ms(t1).clamp(start, pe);
                    out.push(Segment {
                        start_ms: start,
                        end_ms: end,
                        text,
                        avg_token_prob: probs.iter().sum::<f32>() / probs.len().max(1) as f32,
                        no_speech_prob: seg.no_speech_prob,
                    });
                }
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
                        t0: d.t0 * 10,
                        t1: d.t1 * 10,
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

#[cfg(test)]
mod tests {
    use super::is_non_speech;

    #[test]
    fn annotations_are_not_speech() {
        assert!(is_non_speech("[BLANK_AUDIO]"));
        assert!(is_non_speech(" (music) "));
        assert!(is_non_speech("..."));
        assert!(!is_non_speech("Thank you for calling."));
    }
}
