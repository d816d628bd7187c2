//! Decode: turns a recording (WAV PCM/µ-law/A-law/IMA and Microsoft ADPCM/GSM 6.10/G.722/G.726,
//! MP3, FLAC, Ogg Vorbis, Ogg and WebM Opus, M4A/AAC, any rate, mono or stereo) into per-channel
//! 16 kHz f32 samples, with the facts about the source that end up in the interaction row. Owns
//! symphonia, the codec decoders and resampling; knows nothing of speakers.
//!
//! symphonia reads the containers (RIFF, Ogg, Matroska/WebM, MP4, MP3, FLAC) and decodes most
//! codecs; Opus goes through libopus (`symphonia-adapter-libopus`, registered beside symphonia's
//! own decoders), which decodes it straight to 16 kHz for the pipeline; the WAV telephony codecs symphonia does not know are read by `wav`, with
//! `gsm` (GSM 06.10), `audio_codec`'s G.722 and `g726` (G.726).

mod container;
mod g726;
mod gsm;
mod wav;

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::units::Duration;

use rubato::audioadapter_buffers;

use crate::watchdog::Deadline;

/// Sample rate Whisper works at.
pub const TARGET_RATE: u32 = 16_000;

/// Opus's own sample rate (what its timestamps count).
const OPUS_RATE: u32 = 48_000;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("cannot open {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is empty (0 bytes)")]
    Empty { path: PathBuf },
    #[error(
        "{path} is not a recognised audio file ({detail})\nhint: supported: WAV (PCM, µ-law, A-law, IMA/Microsoft ADPCM, GSM 6.10, G.722, G.726), MP3, FLAC, Ogg Vorbis, Ogg/WebM Opus, M4A/AAC"
    )]
    Unrecognised { path: PathBuf, detail: String },
    #[error(
        "{path} is a damaged {container} file ({detail})\nhint: the file is corrupt; export it from the recorder again"
    )]
    Damaged {
        path: PathBuf,
        container: &'static str,
        detail: String,
    },
    #[error(
        "{path} is truncated: it ends in the middle of {unit}\nhint: the file was cut short (an interrupted copy, upload or recording); copy it from the recorder again"
    )]
    CutShort { path: PathBuf, unit: &'static str },
    #[error("{path} has no audio track")]
    NoAudioTrack { path: PathBuf },
    #[error("{path}: codec is not supported ({detail})")]
    UnsupportedCodec { path: PathBuf, detail: String },
    #[error(
        "{path} has {channels} channels; callsift expects 1 (mixed) or 2 (agent/customer)\nhint: split the recording into one file per call, or down-mix it first"
    )]
    TooManyChannels { path: PathBuf, channels: usize },
    #[error("{path}: sample rate is unknown")]
    UnknownRate { path: PathBuf },
    #[error(
        "{path}: the header declares a sample rate of 0 Hz\nhint: the file's header is damaged; re-export the recording"
    )]
    ZeroRate { path: PathBuf },
    #[error(
        "{path} runs longer than {hours} hours; callsift stops reading there\nhint: split the recording into calls, or check that the path names one call"
    )]
    TooLong { path: PathBuf, hours: u64 },
    #[error(
        "{path}: decoding took longer than the watchdog allows ({seconds} s) after {decoded_ms} ms of audio\nhint: the file is probably crafted or damaged; raise --watchdog-base if it is a real recording"
    )]
    TimedOut {
        path: PathBuf,
        seconds: u64,
        decoded_ms: u64,
    },
    #[error("{path} contains no audio samples")]
    NoSamples { path: PathBuf },
    #[error(
        "{path} is truncated: its header declares {declared} frames but only {decoded} could be read"
    )]
    Truncated {
        path: PathBuf,
        declared: u64,
        decoded: u64,
    },
    #[error("{path}: decoding failed after {decoded_ms} ms of audio ({detail})")]
    Corrupt {
        path: PathBuf,
        decoded_ms: u64,
        detail: String,
    },
    #[error("{path}: cannot resample from {rate} Hz ({detail})")]
    Resample {
        path: PathBuf,
        rate: u32,
        detail: String,
    },
}

/// A decoded recording: one 16 kHz sample vector per source channel.
#[derive(Debug, Clone)]
pub struct Audio {
    pub channels: Vec<Vec<f32>>,
    pub source_rate: u32,
    /// Duration of the source in milliseconds (from the decoded frame count).
    pub duration_ms: u64,
    /// Short codec name as the decoder reports it, e.g. `pcm_mulaw`, `mp3`, `aac`, `opus`,
    /// `gsm_ms`, `adpcm_g722`, `adpcm_g726`.
    pub codec: String,
}

impl Audio {
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }
}

/// Longest recording decoded (hours): far beyond any call, short of exhausting memory.
pub const MAX_HOURS: u64 = 12;

/// Decode the whole file and resample each channel to 16 kHz.
pub fn decode_file(path: &Path) -> Result<Audio, DecodeError> {
    decode_file_until(path, Deadline::none())
}

/// [`decode_file`], giving up with [`DecodeError::TimedOut`] once `deadline` has passed.
pub fn decode_file_until(path: &Path, deadline: Deadline) -> Result<Audio, DecodeError> {
    let native = decode_native_until(path, deadline, TARGET_RATE)?;
    finish(path, native)
}

/// Decode a recording held in memory; `name` is used for the format hint (its extension) and
/// in error messages. What the `decode` fuzz target drives.
pub fn decode_bytes(bytes: Vec<u8>, name: &Path) -> Result<Audio, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty {
            path: name.to_path_buf(),
        });
    }
    let native = decode_source(
        Box::new(std::io::Cursor::new(bytes)),
        name,
        Deadline::none(),
        TARGET_RATE,
    )?;
    finish(name, native)
}

/// A decoded recording at the rate its decoder gave.
struct Native {
    planes: Vec<Vec<f32>>,
    /// The planes' sample rate.
    rate: u32,
    /// The source's sample rate (Opus's 48 kHz where libopus decoded straight to 16 kHz).
    source_rate: u32,
    codec: String,
}

fn finish(path: &Path, native: Native) -> Result<Audio, DecodeError> {
    let Native {
        planes,
        rate,
        source_rate,
        codec,
    } = native;
    let frames = planes[0].len() as u64;
    let duration_ms = frames * 1000 / rate as u64;
    let channels = planes
        .into_iter()
        .map(|p| resample(&p, rate, TARGET_RATE))
        .collect::<Result<Vec<_>, String>>()
        .map_err(|detail| DecodeError::Resample {
            path: path.to_path_buf(),
            rate,
            detail,
        })?;
    Ok(Audio {
        channels,
        source_rate,
        duration_ms,
        codec,
    })
}

/// Decode to per-channel samples at the native rate (48 kHz for Opus). Returns (planes, rate,
/// codec name).
pub fn decode_native(path: &Path) -> Result<(Vec<Vec<f32>>, u32, String), DecodeError> {
    let n = decode_native_until(path, Deadline::none(), OPUS_RATE)?;
    Ok((n.planes, n.rate, n.codec))
}

/// Decode `path`; Opus at `opus_rate` (8, 12, 16, 24 or 48 kHz, all of which libopus decodes
/// at), every other codec at its own rate.
fn decode_native_until(
    path: &Path,
    deadline: Deadline,
    opus_rate: u32,
) -> Result<Native, DecodeError> {
    let p = || path.to_path_buf();
    let mut file = File::open(path).map_err(|source| DecodeError::Open { path: p(), source })?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len == 0 {
        return Err(DecodeError::Empty { path: p() });
    }
    if let Some(bytes) =
        streamed_wav(&mut file, len).map_err(|source| DecodeError::Open { path: p(), source })?
    {
        let source = Box::new(std::io::Cursor::new(bytes));
        return decode_source(source, path, deadline, opus_rate);
    }
    decode_source(Box::new(file), path, deadline, opus_rate)
}

/// A WAV written as a stream (by a recorder that could not seek back) declares its RIFF and
/// data sizes as 0 or 0xFFFFFFFF. Such a file is read whole and its sizes set from its length,
/// so its audio is decoded like any other; `None` for every other file (only its first 64 KiB
/// are looked at, and it is rewound).
fn streamed_wav(file: &mut File, len: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(1 << 16);
    (&mut *file).take(1 << 16).read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(0))?;
    let Some(data_at) = streamed_data_chunk(&head) else {
        return Ok(None);
    };
    let mut bytes = Vec::with_capacity(len as usize);
    (&mut *file).take(len).read_to_end(&mut bytes)?;
    file.seek(SeekFrom::Start(0))?;
    let data = (bytes.len() - data_at - 8).min(u32::MAX as usize - 64) as u32;
    bytes[data_at + 4..data_at + 8].copy_from_slice(&data.to_le_bytes());
    let riff = (bytes.len() - 8).min(u32::MAX as usize) as u32;
    bytes[4..8].copy_from_slice(&riff.to_le_bytes());
    Ok(Some(bytes))
}

/// Offset of the `data` chunk of a RIFF/WAVE file (given its first bytes) when that chunk
/// declares a streamed size (0 or 0xFFFFFFFF) and audio follows it.
fn streamed_data_chunk(head: &[u8]) -> Option<usize> {
    if head.len() < 44 || &head[..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let mut at = 12;
    while at + 8 <= head.len() {
        let size = u32_at(at + 4);
        if &head[at..at + 4] == b"data" {
            let streamed = (size == 0 || size == u32::MAX) && head.len() > at + 8;
            return streamed.then_some(at);
        }
        at = at.checked_add(8 + size as usize + (size as usize & 1))?;
    }
    None
}

/// A recording opened for decoding: its container reader, the audio track's decoder and
/// what its header declares.
struct Opened {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    declared_frames: Option<u64>,
    rate: Option<u32>,
    /// The source's own rate, where the decoder was asked for another (Opus).
    source_rate: Option<u32>,
    codec: String,
}

/// symphonia's decoders and libopus's: the one registry every file's decoder comes from.
fn codecs() -> &'static CodecRegistry {
    static CODECS: LazyLock<CodecRegistry> = LazyLock::new(|| {
        let mut registry = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut registry);
        registry.register_audio_decoder::<symphonia_adapter_libopus::OpusDecoder>();
        registry
    });
    &CODECS
}

/// Probe the container, pick the audio track and make its decoder; refuse what callsift
/// cannot use (no audio, more than two channels, a sample rate of zero).
fn open(
    source: Box<dyn symphonia::core::io::MediaSource>,
    path: &Path,
    opus_rate: u32,
) -> Result<Opened, DecodeError> {
    let p = || path.to_path_buf();
    let mss = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let format = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| DecodeError::Unrecognised {
            path: p(),
            detail: e.to_string(),
        })?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| DecodeError::NoAudioTrack { path: p() })?;
    let track_id = track.id;
    let mut declared_frames = track.num_frames;
    let mut params = track
        .codec_params
        .as_ref()
        .and_then(|c| c.audio())
        .ok_or_else(|| DecodeError::NoAudioTrack { path: p() })?
        .clone();
    let mut source_rate = None;
    if params.codec == CODEC_ID_OPUS {
        // Opus runs at 48 kHz (a Matroska/WebM track often declares the rate its source had
        // instead, 8 or 44.1 kHz, which is not Opus's), and libopus decodes straight to 8, 12,
        // 16 or 24 kHz as well, band-limited in its own filter banks: the pipeline asks for
        // 16 kHz, a third of the samples to hold and nothing to resample
        params.sample_rate = Some(opus_rate);
        source_rate = Some(OPUS_RATE);
        declared_frames = declared_frames.map(|n| n * opus_rate as u64 / OPUS_RATE as u64);
    }
    let codecs = codecs();
    let codec = codecs
        .get_audio_decoder(params.codec)
        .map(|r| r.codec.info.short_name.to_string())
        .unwrap_or_else(|| format!("{:?}", params.codec));
    if let Some(ch) = &params.channels
        && ch.count() > 2
    {
        return Err(DecodeError::TooManyChannels {
            path: p(),
            channels: ch.count(),
        });
    }
    if params.sample_rate == Some(0) {
        return Err(DecodeError::ZeroRate { path: p() });
    }
    let decoder = codecs
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| DecodeError::UnsupportedCodec {
            path: p(),
            detail: e.to_string(),
        })?;

    Ok(Opened {
        format,
        decoder,
        track_id,
        declared_frames,
        rate: params.sample_rate,
        source_rate,
        codec,
    })
}

/// The samples of every packet, per channel, with the packets that decoded and failed.
struct Decoded {
    planes: Vec<Vec<f32>>,
    rate: Option<u32>,
    good_packets: usize,
    bad_packets: usize,
}

/// Decode every packet of the audio track, checking the limits and the deadline as it goes.
fn read_packets(o: &mut Opened, path: &Path, deadline: Deadline) -> Result<Decoded, DecodeError> {
    let p = || path.to_path_buf();
    let mut d = Decoded {
        planes: Vec::new(),
        rate: o.rate,
        good_packets: 0,
        bad_packets: 0,
    };
    let mut scratch: Vec<f32> = Vec::new();
    loop {
        if let Some(err) = over_limits(path, &d.planes, d.rate, deadline) {
            return Err(err);
        }
        let mut packet = match o.format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) => {
                let decoded_ms = d
                    .planes
                    .first()
                    .zip(d.rate)
                    .map(|(pl, r)| pl.len() as u64 * 1000 / r as u64)
                    .unwrap_or(0);
                return Err(DecodeError::Corrupt {
                    path: p(),
                    decoded_ms,
                    detail: e.to_string(),
                });
            }
        };
        if packet.track_id != o.track_id {
            continue;
        }
        if let (Some(from), Some(to)) = (o.source_rate, o.rate)
            && from != to
        {
            // the container's trims count the source's samples; the decoder's are fewer
            let scale = |d: Duration| Duration::from(d.get() * to as u64 / from as u64);
            packet.trim_start = scale(packet.trim_start);
            packet.trim_end = scale(packet.trim_end);
        }
        match o.decoder.decode(&packet) {
            Ok(buf) => {
                d.good_packets += 1;
                let n = buf.num_planes();
                if n > 2 {
                    return Err(DecodeError::TooManyChannels {
                        path: p(),
                        channels: n,
                    });
                }
                if d.planes.is_empty() {
                    d.planes = vec![Vec::new(); n];
                }
                if d.rate.is_none() {
                    d.rate = Some(buf.spec().rate());
                }
                if d.rate == Some(0) {
                    return Err(DecodeError::ZeroRate { path: p() });
                }
                buf.copy_to_vec_interleaved(&mut scratch);
                for (i, s) in scratch.iter().enumerate() {
                    d.planes[i % n].push(*s);
                }
            }
            Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                d.bad_packets += 1;
            }
            Err(e) => {
                return Err(DecodeError::Corrupt {
                    path: p(),
                    decoded_ms: 0,
                    detail: e.to_string(),
                });
            }
        }
    }
    Ok(d)
}

/// What was decoded, if it is a whole recording: some samples, few bad packets, no shortfall
/// against the length the header declares. Returns the channels and the sample rate.
fn whole(
    d: Decoded,
    declared_frames: Option<u64>,
    codec: &str,
    path: &Path,
) -> Result<(Vec<Vec<f32>>, u32), DecodeError> {
    let p = || path.to_path_buf();
    let Decoded {
        planes,
        rate,
        good_packets,
        bad_packets,
    } = d;
    let rate = rate.ok_or_else(|| DecodeError::UnknownRate { path: p() })?;
    if planes.is_empty() || planes[0].is_empty() {
        if bad_packets > 0 {
            return Err(DecodeError::Corrupt {
                path: p(),
                decoded_ms: 0,
                detail: format!("all {bad_packets} packets failed to decode"),
            });
        }
        return Err(DecodeError::NoSamples { path: p() });
    }
    // a handful of bad packets in a long lossy stream is tolerable; many is a corrupt file
    if bad_packets > 0 && bad_packets * 20 > good_packets {
        return Err(DecodeError::Corrupt {
            path: p(),
            decoded_ms: planes[0].len() as u64 * 1000 / rate as u64,
            detail: format!(
                "{bad_packets} of {} packets failed to decode",
                bad_packets + good_packets
            ),
        });
    }
    let decoded = planes[0].len() as u64;
    if let Some(declared) = declared_frames {
        // PCM and FLAC headers are exact, and so are the sizes of the telephony codecs' fixed
        // blocks; lossy headers estimate (an MP3 Xing count can be off by a granule or two), so
        // only a shortfall beyond 250 ms means truncation there
        let exact = codec.starts_with("pcm")
            || ["flac", "gsm_ms", "adpcm_g722", "adpcm_g726"].contains(&codec);
        let slack = if exact {
            rate as u64 / 100
        } else {
            rate as u64 / 4
        };
        if declared > decoded + slack {
            return Err(DecodeError::Truncated {
                path: p(),
                declared,
                decoded,
            });
        }
    }
    Ok((planes, rate))
}

fn decode_source(
    mut source: Box<dyn symphonia::core::io::MediaSource>,
    path: &Path,
    deadline: Deadline,
    opus_rate: u32,
) -> Result<Native, DecodeError> {
    if let Some(header) = wav::probe(&mut *source, path)? {
        let (decoded, declared) = wav::read(&header, &mut *source, path, deadline)?;
        let codec = header.codec.name();
        let (planes, rate) = whole(decoded, declared, codec, path)?;
        return Ok(Native {
            planes,
            rate,
            source_rate: rate,
            codec: codec.to_string(),
        });
    }
    let container = sniff(&mut *source, path)?;
    if let Some(c) = container
        && let Some(len) = source.byte_len()
    {
        let walked = container::walk(&mut *source, len, c, deadline);
        source
            .seek(SeekFrom::Start(0))
            .map_err(|e| unreadable(path, e))?;
        match walked.map_err(|e| unreadable(path, e))? {
            container::Walk::Whole => {}
            container::Walk::Cut => {
                return Err(DecodeError::CutShort {
                    path: path.to_path_buf(),
                    unit: c.unit(),
                });
            }
            container::Walk::TimedOut => {
                return Err(DecodeError::TimedOut {
                    path: path.to_path_buf(),
                    seconds: deadline.allowed().as_secs(),
                    decoded_ms: 0,
                });
            }
        }
    }
    let mut opened = open(source, path, opus_rate).map_err(|e| match (e, container) {
        // a recognised container that its reader cannot open is damaged, not unknown
        (DecodeError::Unrecognised { path, detail }, Some(c)) => DecodeError::Damaged {
            path,
            container: c.name(),
            detail,
        },
        (e, _) => e,
    })?;
    let decoded = read_packets(&mut opened, path, deadline)?;
    let (planes, rate) = whole(decoded, opened.declared_frames, &opened.codec, path)?;
    Ok(Native {
        planes,
        rate,
        source_rate: opened.source_rate.unwrap_or(rate),
        codec: opened.codec,
    })
}

/// The Ogg or Matroska container of `source`, from its first bytes (it is rewound).
fn sniff(
    source: &mut dyn symphonia::core::io::MediaSource,
    path: &Path,
) -> Result<Option<container::Container>, DecodeError> {
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match source.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(unreadable(path, e)),
        }
    }
    source
        .seek(SeekFrom::Start(0))
        .map_err(|e| unreadable(path, e))?;
    Ok(container::Container::sniff(&head[..got]))
}

/// A read that failed part-way through a file.
fn unreadable(path: &Path, e: std::io::Error) -> DecodeError {
    DecodeError::Corrupt {
        path: path.to_path_buf(),
        decoded_ms: 0,
        detail: e.to_string(),
    }
}

/// Why decoding must stop now, if it must: the watchdog's deadline passed, or the stream runs
/// on past [`MAX_HOURS`] (a header-less or endless stream).
fn over_limits(
    path: &Path,
    planes: &[Vec<f32>],
    rate: Option<u32>,
    deadline: Deadline,
) -> Option<DecodeError> {
    let frames = planes.first().map_or(0, Vec::len) as u64;
    let decoded_ms = rate
        .filter(|&r| r > 0)
        .map_or(0, |r| frames * 1000 / r as u64);
    if deadline.passed() {
        return Some(DecodeError::TimedOut {
            path: path.to_path_buf(),
            seconds: deadline.allowed().as_secs(),
            decoded_ms,
        });
    }
    (decoded_ms > MAX_HOURS * 3_600_000).then(|| DecodeError::TooLong {
        path: path.to_path_buf(),
        hours: MAX_HOURS,
    })
}

/// Resample one channel with rubato's FFT resampler (fixed ratio, anti-aliased).
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, String> {
    if from == to {
        return Ok(input.to_vec());
    }
    let mut r = Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Input)
        .map_err(|e| e.to_string())?;
    let adapter = InterleavedSlice::new(input, 1, input.len()).map_err(|e| e.to_string())?;
    let out = r
        .process_all(&adapter, input.len(), None)
        .map_err(|e| e.to_string())?;
    Ok(out.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mono 8 kHz 16-bit WAV of a 440 Hz tone, `ms` long.
    fn tone_wav(path: &Path, ms: u32) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..8 * ms {
            let v = (i as f32 * 440.0 * std::f32::consts::TAU / 8000.0).sin();
            w.write_sample((v * 8000.0) as i16).unwrap();
        }
        w.finalize().unwrap();
        std::fs::read(path).unwrap()
    }

    #[test]
    fn a_streamed_wav_header_is_read_to_the_end_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("streamed.wav");
        let mut bytes = tone_wav(&p, 2000);
        assert_eq!(streamed_data_chunk(&bytes), None, "an ordinary header");
        let at = bytes.windows(4).position(|w| w == b"data").unwrap();
        for size in [0u32, u32::MAX] {
            bytes[at + 4..at + 8].copy_from_slice(&size.to_le_bytes());
            bytes[4..8].copy_from_slice(&size.to_le_bytes());
            std::fs::write(&p, &bytes).unwrap();
            let audio = decode_file(&p).unwrap();
            assert_eq!(audio.duration_ms, 2000, "data size {size:#x}");
        }
    }

    #[test]
    fn a_sample_rate_of_zero_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("zero-rate.wav");
        let mut bytes = tone_wav(&p, 500);
        // fmt chunk: sample rate at byte 24, byte rate at 28
        bytes[24..32].copy_from_slice(&[0; 8]);
        std::fs::write(&p, &bytes).unwrap();
        let e = std::panic::catch_unwind(|| decode_file(&p))
            .expect("no panic")
            .unwrap_err()
            .to_string();
        assert!(e.contains("zero-rate.wav"), "{e}");
    }

    #[test]
    fn decoding_stops_at_the_watchdog() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tone.wav");
        tone_wav(&p, 1000);
        let past = crate::watchdog::Limits {
            base: std::time::Duration::ZERO,
            per_audio: 0.0,
        }
        .deadline(std::time::Instant::now(), None);
        let e = decode_file_until(&p, past).unwrap_err().to_string();
        assert!(e.contains("watchdog"), "{e}");
    }

    #[test]
    fn resampling_keeps_duration_and_a_tone() {
        let from = 8000;
        let tone: Vec<f32> = (0..8000)
            .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / from as f32).sin() * 0.5)
            .collect();
        let out = resample(&tone, from, 16000).unwrap();
        assert!((out.len() as i64 - 16000).abs() <= 2, "{}", out.len());
        // RMS of a 0.5 sine is 0.354; the middle of the output keeps it
        let mid = &out[4000..12000];
        let rms = (mid.iter().map(|x| x * x).sum::<f32>() / mid.len() as f32).sqrt();
        assert!((rms - 0.354).abs() < 0.02, "rms {rms}");
    }

    #[test]
    fn empty_and_missing_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.wav");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(
            decode_file(&empty),
            Err(DecodeError::Empty { .. })
        ));
        let text = dir.path().join("notes.wav");
        std::fs::write(&text, b"this is not audio, just some text in a .wav file\n").unwrap();
        assert!(matches!(
            decode_file(&text),
            Err(DecodeError::Unrecognised { .. })
        ));
        assert!(matches!(
            decode_file(&dir.path().join("missing.wav")),
            Err(DecodeError::Open { .. })
        ));
    }
}
