//! The full-call player's audio: the recording decoded to 16 kHz, the payment and identity
//! spans replaced by the redaction tone (`sample::audio_redaction`, the same spans the clips
//! mute) unless the original audio is allowed, as a 16-bit WAV; served in byte ranges so a
//! browser can seek in a long call. The last few calls rendered are kept in memory.

use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::downstream::sample::audio_redaction;
use crate::store::recordings::Recordings;

use super::data::Call;

/// Calls whose rendered audio is kept (each about 2 MB a minute of stereo).
const CACHED: usize = 8;

/// Why a call's audio cannot be played.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{0}")]
    NotFound(String),
    #[error(
        "the dataset lacks some of this call's segments, which the player needs to mute payment and identity data\nhint: run the call again, or start the server with --keep-original-audio where the site may keep such audio"
    )]
    Unmutable,
    #[error("cannot decode {path}: {detail}")]
    Decode { path: String, detail: String },
    #[error("cannot encode the audio: {0}")]
    Encode(String),
}

/// Rendered audio of recent calls.
pub struct Player {
    recordings: Recordings,
    keep_original: bool,
    cache: Mutex<Vec<(String, Arc<Vec<u8>>)>>,
}

impl Player {
    pub fn new(dataset: &Path, keep_original: bool) -> Player {
        Player {
            recordings: Recordings::open(dataset, None),
            keep_original,
            cache: Mutex::new(Vec::new()),
        }
    }

    /// The WAV file of a call, muted unless the original audio is kept (decoded once, then
    /// from memory while it is among the last [`CACHED`] calls played).
    pub fn wav(&self, call: &Call) -> Result<Arc<Vec<u8>>, AudioError> {
        if let Some(hit) = self.cached(&call.id) {
            return Ok(hit);
        }
        let mute = if self.keep_original {
            Vec::new()
        } else if call.segments_complete() {
            audio_redaction::mute_spans(&call.segments)
        } else {
            return Err(AudioError::Unmutable);
        };
        let path = self
            .recordings
            .locate(
                &call.source_path,
                call.run_id.as_deref(),
                call.content_sha256.as_deref(),
            )
            .map_err(|e| AudioError::NotFound(e.to_string()))?;
        let audio =
            crate::pipeline::decode::decode_file(&path).map_err(|e| AudioError::Decode {
                path: path.display().to_string(),
                detail: e.to_string(),
            })?;
        let bytes = Arc::new(encode(audio.channels, &mute)?);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|(id, _)| id != &call.id);
        cache.push((call.id.clone(), bytes.clone()));
        if cache.len() > CACHED {
            cache.remove(0);
        }
        Ok(bytes)
    }

    fn cached(&self, id: &str) -> Option<Arc<Vec<u8>>> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.iter().find(|(k, _)| k == id).map(|(_, v)| v.clone())
    }
}

/// 16 kHz channels as a 16-bit PCM WAV file, the `mute` spans replaced by the tone.
pub fn encode(
    mut channels: Vec<Vec<f32>>,
    mute: &[audio_redaction::MuteSpan],
) -> Result<Vec<u8>, AudioError> {
    for ch in channels.iter_mut() {
        audio_redaction::apply(ch, 0, mute);
    }
    let spec = hound::WavSpec {
        channels: channels.len().max(1) as u16,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let len = channels.first().map_or(0, Vec::len);
    let mut out = Cursor::new(Vec::with_capacity(44 + len * 2 * channels.len()));
    let enc = |e: hound::Error| AudioError::Encode(e.to_string());
    let mut w = hound::WavWriter::new(&mut out, spec).map_err(enc)?;
    for i in 0..len {
        for ch in &channels {
            let v = (ch[i].clamp(-1.0, 1.0) * 32767.0).round() as i16;
            w.write_sample(v).map_err(enc)?;
        }
    }
    w.finalize().map_err(enc)?;
    Ok(out.into_inner())
}

/// A `Range` the body cannot satisfy (answered 416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsatisfiable;

/// The byte range a `Range` header asks of a body of `len` bytes: `Ok(None)` for the whole
/// body (no header, or one that is not a single `bytes=` range), `Ok(Some((first, last)))`
/// inclusive, or [`Unsatisfiable`].
pub fn byte_range(header: Option<&str>, len: u64) -> Result<Option<(u64, u64)>, Unsatisfiable> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        // several ranges: answered with the whole body
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(Unsatisfiable)?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| Unsatisfiable)?;
        if n == 0 || len == 0 {
            return Err(Unsatisfiable);
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let first: u64 = a.parse().map_err(|_| Unsatisfiable)?;
        let last = match b {
            "" => len.saturating_sub(1),
            b => b
                .parse::<u64>()
                .map_err(|_| Unsatisfiable)?
                .min(len.saturating_sub(1)),
        };
        if first >= len || last < first {
            return Err(Unsatisfiable);
        }
        (first, last)
    };
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_browsers_send_them() {
        assert_eq!(byte_range(None, 100), Ok(None));
        assert_eq!(byte_range(Some("bytes=0-"), 100), Ok(Some((0, 99))));
        assert_eq!(byte_range(Some("bytes=10-19"), 100), Ok(Some((10, 19))));
        assert_eq!(byte_range(Some("bytes=90-200"), 100), Ok(Some((90, 99))));
        assert_eq!(byte_range(Some("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(byte_range(Some("bytes=100-"), 100), Err(Unsatisfiable));
        assert_eq!(byte_range(Some("bytes=20-10"), 100), Err(Unsatisfiable));
        assert_eq!(byte_range(Some("bytes=x-"), 100), Err(Unsatisfiable));
        assert_eq!(byte_range(Some("bytes=0-1,5-6"), 100), Ok(None));
        assert_eq!(byte_range(Some("items=0-1"), 100), Ok(None));
    }

    #[test]
    fn encoded_audio_is_muted_in_the_spans() {
        let ch = vec![0.5f32; 16_000];
        let wav = encode(
            vec![ch.clone(), ch],
            &[audio_redaction::MuteSpan {
                start_ms: 500,
                end_ms: 1_000,
            }],
        )
        .unwrap();
        let mut r = hound::WavReader::new(Cursor::new(wav)).unwrap();
        assert_eq!(r.spec().channels, 2);
        let s: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
        assert_eq!(s.len(), 32_000);
        assert_eq!(s[0], 16384);
        // the second half is the low tone on both channels
        assert!(s[16_000..].iter().all(|v| v.abs() < 2000));
    }
}
