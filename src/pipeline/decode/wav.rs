//! WAV files in the telephony codecs of older call recorders that symphonia's RIFF reader does
//! not know: GSM 6.10 (format tag 0x0031, the WAV49 framing), G.722 (0x028F) and G.726 (0x0045,
//! 0x0064). Reads the RIFF chunks up to the audio, then decodes it block by block with the
//! codec's decoder, checking the watchdog and the length limit as it goes.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::watchdog::Deadline;

use super::{DecodeError, Decoded, g726, gsm, over_limits};

const WAVE_FORMAT_GSM610: u16 = 0x0031;
const WAVE_FORMAT_G726_ADPCM: u16 = 0x0064;
const WAVE_FORMAT_G723_ADPCM: u16 = 0x0045;
const WAVE_FORMAT_G722_ADPCM: u16 = 0x028f;

/// The codec of a telephony WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Codec {
    Gsm,
    G722,
    /// G.726 with code words of this many bits (2–5: 16–40 kbit/s).
    G726(u32),
}

impl Codec {
    /// The codec's short name in the interaction row (ffmpeg's names for the same decoders).
    pub(super) fn name(self) -> &'static str {
        match self {
            Codec::Gsm => "gsm_ms",
            Codec::G722 => "adpcm_g722",
            Codec::G726(_) => "adpcm_g726",
        }
    }
}

/// What the header of a telephony WAV file declares.
#[derive(Debug, Clone)]
pub(super) struct Header {
    pub(super) codec: Codec,
    rate: u32,
    block_align: usize,
    /// Bytes of audio in the data chunk; `None` when written as a stream (0 or 0xFFFFFFFF).
    data_len: Option<u64>,
    /// Frames the `fact` chunk declares.
    fact_frames: Option<u64>,
}

/// The RIFF chunks of `source` up to its data chunk, when it is a WAV file in one of these
/// codecs: `source` is left at its first audio byte. `None` (with `source` rewound) for every
/// other file, which symphonia then reads.
pub(super) fn probe<S: Read + Seek + ?Sized>(
    source: &mut S,
    path: &Path,
) -> Result<Option<Header>, DecodeError> {
    let found = walk(source, path);
    if !matches!(found, Ok(Some(_))) {
        // not ours (or unreadable): symphonia gives its own verdict from the start
        source
            .seek(SeekFrom::Start(0))
            .map_err(|e| corrupt(path, e))?;
    }
    found
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Corrupt {
        path: path.to_path_buf(),
        decoded_ms: 0,
        detail: e.to_string(),
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Read exactly `buf.len()` bytes; `false` at the end of the file.
fn read_all<S: Read + ?Sized>(source: &mut S, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match source.read(&mut buf[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn walk<S: Read + Seek + ?Sized>(
    source: &mut S,
    path: &Path,
) -> Result<Option<Header>, DecodeError> {
    let p = || path.to_path_buf();
    let mut riff = [0u8; 12];
    if !read_all(source, &mut riff).unwrap_or(false)
        || &riff[..4] != b"RIFF"
        || &riff[8..12] != b"WAVE"
    {
        return Ok(None);
    }
    let mut format: Option<(Codec, u32, usize)> = None;
    let mut fact_frames = None;
    // a WAV file has a handful of chunks; a crafted one cannot keep this loop going
    for _ in 0..10_000 {
        let mut head = [0u8; 8];
        if !read_all(source, &mut head).map_err(|e| corrupt(path, e))? {
            break;
        }
        let size = u32_at(&head, 4) as u64;
        match &head[..4] {
            b"fmt " => {
                let mut body = vec![0u8; size.min(1024) as usize];
                if size < 16 || !read_all(source, &mut body).map_err(|e| corrupt(path, e))? {
                    return Ok(None);
                }
                let Some(f) = telephony_format(&body, path)? else {
                    return Ok(None);
                };
                format = Some(f);
                skip(source, size - body.len() as u64 + (size & 1), path)?;
            }
            b"fact" if size >= 4 => {
                let mut body = [0u8; 4];
                if !read_all(source, &mut body).map_err(|e| corrupt(path, e))? {
                    break;
                }
                fact_frames = Some(u32_at(&body, 0) as u64);
                skip(source, size - 4 + (size & 1), path)?;
            }
            b"data" => {
                let Some((codec, rate, block_align)) = format else {
                    // audio before its format: not a file of ours to judge
                    return Ok(None);
                };
                let streamed = size == 0 || size == u32::MAX as u64;
                return Ok(Some(Header {
                    codec,
                    rate,
                    block_align,
                    data_len: (!streamed).then_some(size),
                    fact_frames,
                }));
            }
            _ => skip(source, size + (size & 1), path)?,
        }
    }
    match format {
        // the format is ours but no audio follows it
        Some(_) => Err(DecodeError::NoSamples { path: p() }),
        None => Ok(None),
    }
}

fn skip<S: Seek + ?Sized>(source: &mut S, n: u64, path: &Path) -> Result<(), DecodeError> {
    let n = i64::try_from(n).map_err(|e| corrupt(path, e))?;
    source
        .seek(SeekFrom::Current(n))
        .map(drop)
        .map_err(|e| corrupt(path, e))
}

/// The codec, sample rate and block size of a `fmt ` chunk in one of these codecs; `None` for
/// every other format; an error for one of these codecs in a layout callsift cannot decode.
fn telephony_format(fmt: &[u8], path: &Path) -> Result<Option<(Codec, u32, usize)>, DecodeError> {
    let tag = u16_at(fmt, 0);
    let channels = u16_at(fmt, 2);
    let rate = u32_at(fmt, 4);
    let byte_rate = u32_at(fmt, 8);
    let block_align = u16_at(fmt, 12) as usize;
    let bits = u16_at(fmt, 14) as u32;
    let codec = match tag {
        WAVE_FORMAT_GSM610 => Codec::Gsm,
        WAVE_FORMAT_G722_ADPCM => Codec::G722,
        WAVE_FORMAT_G723_ADPCM | WAVE_FORMAT_G726_ADPCM => {
            // the code word size from the header's bits per sample, else from its byte rate
            let bits = if (2..=5).contains(&bits) {
                bits
            } else if rate > 0 && byte_rate.is_multiple_of(1000) {
                (byte_rate as u64 * 8)
                    .div_ceil(rate as u64)
                    .min(u32::MAX as u64) as u32
            } else {
                bits
            };
            Codec::G726(bits)
        }
        _ => return Ok(None),
    };
    let unsupported = |detail: String| DecodeError::UnsupportedCodec {
        path: path.to_path_buf(),
        detail,
    };
    if channels != 1 {
        return Err(unsupported(format!(
            "{} with {channels} channels; only mono is decoded",
            codec.name()
        )));
    }
    if rate == 0 {
        return Err(DecodeError::ZeroRate {
            path: path.to_path_buf(),
        });
    }
    match codec {
        Codec::Gsm if block_align != gsm::WAV49_BLOCK => Err(unsupported(format!(
            "gsm_ms in blocks of {block_align} bytes; only the 65-byte WAV49 blocks are decoded"
        ))),
        Codec::G726(bits) if !(2..=5).contains(&bits) => Err(unsupported(format!(
            "adpcm_g726 with {bits}-bit code words; G.726 has 2 to 5"
        ))),
        // G.722 is defined at 16 kHz; some writers put its 8 kHz RTP clock in the header
        Codec::G722 => Ok(Some((codec, 16_000, block_align.max(1)))),
        _ => Ok(Some((codec, rate, block_align.max(1)))),
    }
}

/// One channel's decoder, for any of the three codecs.
enum Channel {
    Gsm(Box<gsm::Decoder>),
    G722(Box<audio_codec::g722::G722Decoder>),
    G726 {
        decoder: g726::Decoder,
        bits: u32,
        /// Bits read but not yet decoded (code words are packed most significant bit first
        /// and may cross bytes), and how many.
        acc: u32,
        held: u32,
    },
}

impl Channel {
    fn new(codec: Codec) -> Self {
        match codec {
            Codec::Gsm => Channel::Gsm(Box::default()),
            Codec::G722 => Channel::G722(Box::default()),
            Codec::G726(bits) => Channel::G726 {
                decoder: g726::Decoder::new(bits).expect("checked in telephony_format"),
                bits,
                acc: 0,
                held: 0,
            },
        }
    }

    /// Decode `bytes` (whole blocks, except maybe at the end of the file) onto `out`.
    fn decode(&mut self, bytes: &[u8], out: &mut Vec<f32>) {
        const SCALE: f32 = 1.0 / 32768.0;
        match self {
            Channel::Gsm(d) => {
                let mut pcm = [0i16; 2 * gsm::FRAME_SAMPLES];
                for block in bytes.chunks_exact(gsm::WAV49_BLOCK) {
                    d.decode_wav49(block.try_into().expect("exact chunks"), &mut pcm);
                    out.extend(pcm.iter().map(|&s| s as f32 * SCALE));
                }
            }
            Channel::G722(d) => {
                let mut pcm = vec![0i16; 2 * bytes.len()];
                let n = d.decode_frame_into(bytes, &mut pcm).unwrap_or(0);
                out.extend(pcm[..n].iter().map(|&s| s as f32 * SCALE));
            }
            Channel::G726 {
                decoder,
                bits,
                acc,
                held,
            } => {
                let mask = (1u32 << *bits) - 1;
                for &b in bytes {
                    *acc = (*acc << 8) | b as u32;
                    *held += 8;
                    while *held >= *bits {
                        *held -= *bits;
                        let code = (*acc >> *held) & mask;
                        out.push(decoder.decode(code) as f32 * SCALE);
                    }
                    *acc &= (1 << *held) - 1;
                }
            }
        }
    }
}

/// Decode the audio of a file whose header [`probe`] read (`source` at its first audio byte).
/// Returns what was decoded and the frames the header declares.
pub(super) fn read<S: Read + ?Sized>(
    header: &Header,
    source: &mut S,
    path: &Path,
    deadline: Deadline,
) -> Result<(Decoded, Option<u64>), DecodeError> {
    let rate = header.rate;
    let mut channel = Channel::new(header.codec);
    let mut plane: Vec<f32> = Vec::new();
    // about 64 KiB of whole blocks at a time
    let chunk = header.block_align * (65_536 / header.block_align).max(1);
    let mut buf = vec![0u8; chunk];
    let mut left = header.data_len.unwrap_or(u64::MAX);
    let mut blocks = 0usize;
    let mut read_bytes = 0u64;
    while left > 0 {
        let planes = std::slice::from_ref(&plane);
        if let Some(err) = over_limits(path, planes, Some(rate), deadline) {
            return Err(err);
        }
        let want = (chunk as u64).min(left) as usize;
        let mut got = 0;
        while got < want {
            match source.read(&mut buf[got..want]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(DecodeError::Corrupt {
                        path: path.to_path_buf(),
                        decoded_ms: plane.len() as u64 * 1000 / rate as u64,
                        detail: e.to_string(),
                    });
                }
            }
        }
        if got == 0 {
            break;
        }
        channel.decode(&buf[..got], &mut plane);
        blocks += got.div_ceil(header.block_align);
        read_bytes += got as u64;
        left -= got as u64;
        if got < want {
            break;
        }
    }
    let frames_in = |bytes: u64| -> u64 {
        match header.codec {
            Codec::Gsm => bytes / gsm::WAV49_BLOCK as u64 * 2 * gsm::FRAME_SAMPLES as u64,
            Codec::G722 => bytes * 2,
            Codec::G726(bits) => bytes * 8 / bits as u64,
        }
    };
    // the fact chunk counts the frames the encoder was given: the last block's padding is cut
    if let Some(fact) = header.fact_frames
        && fact > 0
        && (fact as usize) < plane.len()
        && header.data_len == Some(read_bytes)
    {
        plane.truncate(fact as usize);
    }
    let declared = match (header.data_len, header.fact_frames) {
        (Some(len), Some(fact)) if fact > 0 => Some(fact.min(frames_in(len))),
        (Some(len), _) => Some(frames_in(len)),
        (None, _) => None,
    };
    let decoded = Decoded {
        planes: vec![plane],
        rate: Some(rate),
        good_packets: blocks,
        bad_packets: 0,
    };
    Ok((decoded, declared))
}

#[cfg(test)]
mod tests {
    use super::super::{DecodeError, decode_bytes, decode_file_until};
    use std::path::Path;

    /// A WAV file: a `fmt ` chunk with `tag`, mono, `rate`, `block_align` and `bits`, a
    /// `fact` chunk, then `data`.
    fn wav(
        tag: u16,
        rate: u32,
        byte_rate: u32,
        block_align: u16,
        bits: u16,
        data: &[u8],
    ) -> Vec<u8> {
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&1u16.to_le_bytes());
        fmt.extend_from_slice(&rate.to_le_bytes());
        fmt.extend_from_slice(&byte_rate.to_le_bytes());
        fmt.extend_from_slice(&block_align.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        fmt.extend_from_slice(&2u16.to_le_bytes());
        fmt.extend_from_slice(&320u16.to_le_bytes());
        let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
        for (id, body) in [(b"fmt ", fmt.as_slice()), (b"LIST", b"INFOjunk".as_slice())] {
            out.extend_from_slice(id);
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(body);
        }
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        let riff = (out.len() - 8) as u32;
        out[4..8].copy_from_slice(&riff.to_le_bytes());
        out
    }

    /// Two seconds of each codec (digital silence is a valid stream in all three).
    fn two_seconds() -> [(&'static str, Vec<u8>); 4] {
        let gsm = vec![0u8; 65 * 50];
        [
            ("gsm_ms", wav(0x0031, 8000, 1625, 65, 0, &gsm)),
            ("adpcm_g722", wav(0x028f, 16000, 8000, 1, 4, &[0u8; 16000])),
            ("adpcm_g726", wav(0x0045, 8000, 4000, 1, 4, &[0u8; 8000])),
            // 40 kbit/s: 5-bit code words across byte boundaries, bits per sample given by
            // the byte rate only
            ("adpcm_g726", wav(0x0064, 8000, 5000, 5, 0, &[0u8; 10000])),
        ]
    }

    #[test]
    fn telephony_wavs_decode_and_cut_ones_are_truncated() {
        for (codec, bytes) in two_seconds() {
            let audio = decode_bytes(bytes.clone(), Path::new("call.wav")).unwrap();
            assert_eq!(audio.codec, codec);
            assert_eq!(audio.duration_ms, 2000, "{codec}");
            assert_eq!(audio.channels.len(), 1);
            assert_eq!(audio.channels[0].len(), 32_000, "{codec}: 2 s at 16 kHz");
            let cut = bytes[..bytes.len() * 2 / 3].to_vec();
            let e = decode_bytes(cut, Path::new("cut.wav")).unwrap_err();
            assert!(matches!(e, DecodeError::Truncated { .. }), "{codec}: {e}");
        }
    }

    #[test]
    fn telephony_wavs_stop_at_the_watchdog() {
        let dir = tempfile::tempdir().unwrap();
        let past = crate::watchdog::Limits {
            base: std::time::Duration::ZERO,
            per_audio: 0.0,
        }
        .deadline(std::time::Instant::now(), None);
        for (codec, bytes) in two_seconds() {
            let p = dir.path().join("call.wav");
            std::fs::write(&p, bytes).unwrap();
            let e = decode_file_until(&p, past).unwrap_err();
            assert!(matches!(e, DecodeError::TimedOut { .. }), "{codec}: {e}");
        }
    }
}
