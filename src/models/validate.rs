//! Checks a ggml Whisper model file before whisper.cpp sees it. whisper.cpp trusts the file:
//! a truncated or crafted one makes it throw a C++ exception or fail an assertion, which ends
//! the whole process. Here the header, the vocabulary and every tensor's header are read and
//! each tensor's size is checked against the hyper-parameters and the file's length, without
//! reading the weights.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::ModelError;

const GGML_MAGIC: u32 = 0x6767_6d6c;

/// What a valid model file holds, for messages and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelShape {
    pub n_vocab: u32,
    pub n_audio_ctx: u32,
    pub n_audio_state: u32,
    pub n_audio_layer: u32,
    pub n_text_ctx: u32,
    pub n_text_state: u32,
    pub n_text_layer: u32,
    pub n_mels: u32,
    pub tensors: usize,
}

/// (bytes per block, elements per block) of the ggml tensor types whisper models use.
fn type_size(ty: u32) -> Option<(u64, u64)> {
    Some(match ty {
        0 => (4, 1),   // f32
        1 => (2, 1),   // f16
        2 => (18, 32), // q4_0
        3 => (20, 32), // q4_1
        6 => (22, 32), // q5_0
        7 => (24, 32), // q5_1
        8 => (34, 32), // q8_0
        _ => return None,
    })
}

struct Reader<'a> {
    r: BufReader<File>,
    pos: u64,
    len: u64,
    path: &'a Path,
}

impl Reader<'_> {
    fn bad(&self, reason: impl Into<String>) -> ModelError {
        ModelError::Invalid {
            path: self.path.to_path_buf(),
            offset: self.pos,
            reason: reason.into(),
        }
    }

    fn u32(&mut self, what: &str) -> Result<u32, ModelError> {
        let mut b = [0u8; 4];
        self.r
            .read_exact(&mut b)
            .map_err(|_| self.bad(format!("file ends inside the {what}")))?;
        self.pos += 4;
        Ok(u32::from_le_bytes(b))
    }

    /// Step over `n` bytes that must lie inside the file.
    fn skip(&mut self, n: u64, what: &str) -> Result<(), ModelError> {
        if self.pos.checked_add(n).is_none_or(|end| end > self.len) {
            return Err(self.bad(format!(
                "{what} needs {n} bytes but the file has {} left",
                self.len - self.pos
            )));
        }
        self.r
            .seek(SeekFrom::Current(n as i64))
            .map_err(|_| self.bad(format!("cannot seek over the {what}")))?;
        self.pos += n;
        Ok(())
    }
}

/// Check the model file at `path`; see the module documentation.
pub fn validate(path: &Path) -> Result<ModelShape, ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut r = Reader {
        r: BufReader::new(file),
        pos: 0,
        len,
        path,
    };
    if r.u32("magic")? != GGML_MAGIC {
        return Err(r.bad("not a ggml model (wrong magic number)"));
    }
    let mut hp = [0u32; 11];
    for v in hp.iter_mut() {
        *v = r.u32("hyper-parameters")?;
    }
    let h = check_hparams(&r, hp)?;
    let (mel_n, mel_bins) = (r.u32("mel filters")?, r.u32("mel filters")?);
    if mel_n != h.n_mels || mel_bins != 201 {
        return Err(r.bad(format!(
            "mel filterbank is {mel_n} x {mel_bins}, expected {} x 201",
            h.n_mels
        )));
    }
    r.skip(u64::from(mel_n) * u64::from(mel_bins) * 4, "mel filterbank")?;
    let tokens = r.u32("vocabulary")?;
    if tokens > h.n_vocab {
        return Err(r.bad(format!(
            "vocabulary has {tokens} tokens, more than n_vocab {}",
            h.n_vocab
        )));
    }
    for _ in 0..tokens {
        let l = r.u32("vocabulary")?;
        if l > 256 {
            return Err(r.bad(format!("a vocabulary token is {l} bytes long")));
        }
        r.skip(u64::from(l), "vocabulary token")?;
    }
    let mut tensors = 0usize;
    while r.pos < r.len {
        tensor(
            &mut r,
            [
                h.n_audio_ctx,
                h.n_audio_state,
                h.n_text_ctx,
                h.n_text_state,
                h.n_vocab,
                h.n_mels,
            ],
        )?;
        tensors += 1;
    }
    // whisper.cpp's layout: 7 + 15 per layer in the encoder, 4 + 24 per layer in the decoder
    let expected = 7 + 15 * h.n_audio_layer as usize + 4 + 24 * h.n_text_layer as usize;
    if tensors != expected {
        return Err(r.bad(format!(
            "the file holds {tensors} tensors, the hyper-parameters ask for {expected}"
        )));
    }
    Ok(ModelShape { tensors, ..h })
}

/// The header's hyper-parameters, checked to be within what Whisper models have (tiny to
/// large), so no crafted value makes whisper.cpp allocate without bound; the tensor count is
/// filled in later.
fn check_hparams(r: &Reader, hp: [u32; 11]) -> Result<ModelShape, ModelError> {
    let [
        n_vocab,
        n_audio_ctx,
        n_audio_state,
        n_audio_head,
        n_audio_layer,
        n_text_ctx,
        n_text_state,
        n_text_head,
        n_text_layer,
        n_mels,
        ftype,
    ] = hp;
    let checks: [(&str, u32, bool); 11] = [
        ("n_vocab", n_vocab, (51_864..=51_866).contains(&n_vocab)),
        ("n_audio_ctx", n_audio_ctx, n_audio_ctx == 1_500),
        (
            "n_audio_state",
            n_audio_state,
            [384, 512, 768, 1024, 1280].contains(&n_audio_state),
        ),
        (
            "n_audio_head",
            n_audio_head,
            (1..=32).contains(&n_audio_head) && n_audio_state.is_multiple_of(n_audio_head.max(1)),
        ),
        (
            "n_audio_layer",
            n_audio_layer,
            (1..=32).contains(&n_audio_layer),
        ),
        ("n_text_ctx", n_text_ctx, n_text_ctx == 448),
        ("n_text_state", n_text_state, n_text_state == n_audio_state),
        (
            "n_text_head",
            n_text_head,
            (1..=32).contains(&n_text_head) && n_text_state.is_multiple_of(n_text_head.max(1)),
        ),
        (
            "n_text_layer",
            n_text_layer,
            (1..=32).contains(&n_text_layer),
        ),
        ("n_mels", n_mels, n_mels == 80 || n_mels == 128),
        ("ftype", ftype % 1000, ftype % 1000 <= 9),
    ];
    match checks.iter().find(|(_, _, ok)| !ok) {
        Some((name, value, _)) => Err(r.bad(format!(
            "hyper-parameter {name} = {value} is not one of a Whisper model"
        ))),
        None => Ok(ModelShape {
            n_vocab,
            n_audio_ctx,
            n_audio_state,
            n_audio_layer,
            n_text_ctx,
            n_text_state,
            n_text_layer,
            n_mels,
            tensors: 0,
        }),
    }
}

/// Read one tensor's header and step over its data, checking its dimensions and size.
fn tensor(r: &mut Reader, limits: [u32; 6]) -> Result<(), ModelError> {
    let n_dims = r.u32("tensor header")?;
    let name_len = r.u32("tensor header")?;
    let ty = r.u32("tensor header")?;
    if !(1..=4).contains(&n_dims) || !(1..=128).contains(&name_len) {
        return Err(r.bad(format!(
            "tensor header is malformed ({n_dims} dimensions, name of {name_len} bytes)"
        )));
    }
    let Some((block_bytes, block)) = type_size(ty) else {
        return Err(r.bad(format!(
            "tensor type {ty} is not one whisper.cpp models use"
        )));
    };
    let largest = *limits.iter().max().unwrap_or(&0) as u64 * 4;
    let mut elements = 1u64;
    for _ in 0..n_dims {
        let d = u64::from(r.u32("tensor dimensions")?);
        if d == 0 || d > largest {
            return Err(r.bad(format!("a tensor dimension is {d}")));
        }
        elements *= d;
    }
    let mut name = vec![0u8; name_len as usize];
    r.r.read_exact(&mut name)
        .map_err(|_| r.bad("file ends inside a tensor name"))?;
    r.pos += u64::from(name_len);
    let name = String::from_utf8_lossy(&name).into_owned();
    if !elements.is_multiple_of(block) {
        return Err(r.bad(format!(
            "tensor {name} has {elements} elements, not a whole number of blocks of its type"
        )));
    }
    r.skip(elements / block * block_bytes, &format!("tensor {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_not_models_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.bin");
        std::fs::write(&p, b"not a model at all").unwrap();
        let e = validate(&p).unwrap_err().to_string();
        assert!(e.contains("wrong magic"), "{e}");
        let mut head = GGML_MAGIC.to_le_bytes().to_vec();
        for v in [51_864u32, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1] {
            head.extend(v.to_le_bytes());
        }
        std::fs::write(&p, &head).unwrap();
        let e = validate(&p).unwrap_err().to_string();
        assert!(e.contains("ends inside the mel filters"), "{e}");
        head[4 * 3..4 * 4].copy_from_slice(&(1u32 << 30).to_le_bytes());
        std::fs::write(&p, &head).unwrap();
        let e = validate(&p).unwrap_err().to_string();
        assert!(e.contains("n_audio_state"), "{e}");
    }
}
