//! Writer for whisper.cpp's ggml model file, converting from a parsed CTranslate2 Whisper model.
//!
//! File layout: i32 magic, 11 i32 hyper-parameters, the mel filterbank (n_mel × n_fft_bins f32),
//! the ordinary vocabulary (length-prefixed byte strings), then tensors, each with i32 n_dims,
//! i32 name length, i32 ggml type, dims in reverse order, name, data.

use std::io::Write;

use super::ModelError;
use super::ct2::{Ct2Model, Variable};

const GGML_MAGIC: i32 = 0x6767_6d6c;
const GGML_TYPE_F32: i32 = 0;
const GGML_TYPE_F16: i32 = 1;
const GGML_TYPE_Q8_0: i32 = 8;
const FTYPE_F16: i32 = 1;
const FTYPE_Q8_0: i32 = 7;
const Q8_0_BLOCK: usize = 32;

/// Storage type for the large weight matrices. Biases, norms, positional embeddings stay f32;
/// convolution weights stay f16 whatever is chosen (as whisper.cpp's own quantizer does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightType {
    F16,
    Q8_0,
}

impl WeightType {
    pub fn parse(s: &str) -> Option<WeightType> {
        match s {
            "f16" => Some(WeightType::F16),
            "q8_0" => Some(WeightType::Q8_0),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            WeightType::F16 => "f16",
            WeightType::Q8_0 => "q8_0",
        }
    }
}

/// Hyper-parameters written into the ggml header, derived from the tensors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HParams {
    pub n_vocab: usize,
    pub n_audio_ctx: usize,
    pub n_audio_state: usize,
    pub n_audio_head: usize,
    pub n_audio_layer: usize,
    pub n_text_ctx: usize,
    pub n_text_state: usize,
    pub n_text_head: usize,
    pub n_text_layer: usize,
    pub n_mels: usize,
}

/// Summary of a conversion, for tests and the `models` command.
#[derive(Debug, Clone)]
pub struct ConversionReport {
    pub hparams: HParams,
    /// (ggml name, shape in PyTorch order, ggml type) per tensor, in write order.
    pub tensors: Vec<(String, Vec<usize>, i32)>,
    pub vocab_tokens: usize,
}

fn head_count(m: &Ct2Model, name: &str) -> Result<usize, ModelError> {
    m.get(name)?
        .scalar_int()
        .map(|v| v as usize)
        .ok_or_else(|| ModelError::Convert(format!("{name} is not an integer scalar")))
}

pub fn hparams(m: &Ct2Model) -> Result<HParams, ModelError> {
    let conv1 = m.get("encoder/conv1/weight")?;
    let enc_pos = m.get("encoder/position_encodings/encodings")?;
    let dec_pos = m.get("decoder/position_encodings/encodings")?;
    let emb = m.get("decoder/embeddings/weight")?;
    if conv1.dims.len() != 3
        || enc_pos.dims.len() != 2
        || dec_pos.dims.len() != 2
        || emb.dims.len() != 2
    {
        return Err(ModelError::Convert(
            "unexpected tensor ranks for a Whisper model".into(),
        ));
    }
    Ok(HParams {
        n_vocab: emb.dims[0],
        n_audio_ctx: enc_pos.dims[0],
        n_audio_state: conv1.dims[0],
        n_audio_head: head_count(m, "encoder/num_heads")?,
        n_audio_layer: m.layer_count("encoder"),
        n_text_ctx: dec_pos.dims[0],
        n_text_state: emb.dims[1],
        n_text_head: head_count(m, "decoder/num_heads")?,
        n_text_layer: m.layer_count("decoder"),
        n_mels: conv1.dims[1],
    })
}

/// Slaney-style mel filterbank as librosa.filters.mel(sr, n_fft, n_mels) computes it
/// (htk=False, norm="slaney"), which is what Whisper was trained with.
pub fn mel_filters(sr: f64, n_fft: usize, n_mels: usize) -> Vec<f32> {
    fn hz_to_mel(f: f64) -> f64 {
        let f_sp = 200.0 / 3.0;
        let min_log_hz = 1000.0;
        let min_log_mel = min_log_hz / f_sp;
        let logstep = 6.4f64.ln() / 27.0;
        if f >= min_log_hz {
            min_log_mel + (f / min_log_hz).ln() / logstep
        } else {
            f / f_sp
        }
    }
    fn mel_to_hz(m: f64) -> f64 {
        let f_sp = 200.0 / 3.0;
        let min_log_hz = 1000.0;
        let min_log_mel = min_log_hz / f_sp;
        let logstep = 6.4f64.ln() / 27.0;
        if m >= min_log_mel {
            min_log_hz * (logstep * (m - min_log_mel)).exp()
        } else {
            f_sp * m
        }
    }
    let n_bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..n_bins).map(|i| i as f64 * sr / n_fft as f64).collect();
    let (mel_min, mel_max) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(mel_min + (mel_max - mel_min) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut out = vec![0f32; n_mels * n_bins];
    for i in 0..n_mels {
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        let (d0, d1) = (mel_f[i + 1] - mel_f[i], mel_f[i + 2] - mel_f[i + 1]);
        for (j, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - mel_f[i]) / d0;
            let upper = (mel_f[i + 2] - f) / d1;
            let w = lower.min(upper).max(0.0);
            out[i * n_bins + j] = (w * enorm) as f32;
        }
    }
    out
}

/// Inverse of GPT-2's byte-level `bytes_to_unicode` table.
fn unicode_to_byte() -> std::collections::HashMap<char, u8> {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.iter()
        .zip(cs.iter())
        .map(|(&b, &c)| (char::from_u32(c).unwrap(), b as u8))
        .collect()
}

/// The ordinary tokens (those before `<|endoftext|>`) of a CTranslate2 `vocabulary.txt`,
/// decoded to raw bytes.
pub fn ordinary_vocab(vocabulary_txt: &str) -> Result<Vec<Vec<u8>>, ModelError> {
    let table = unicode_to_byte();
    let mut out = Vec::new();
    for (i, line) in vocabulary_txt.split('\n').enumerate() {
        if line == "<|endoftext|>" {
            return Ok(out);
        }
        let mut bytes = Vec::with_capacity(line.len());
        for ch in line.chars() {
            let b = table.get(&ch).ok_or_else(|| {
                ModelError::Convert(format!(
                    "vocabulary.txt line {}: character {ch:?} is not in the byte-level table",
                    i + 1
                ))
            })?;
            bytes.push(*b);
        }
        out.push(bytes);
    }
    Err(ModelError::Convert(
        "vocabulary.txt has no <|endoftext|> token".into(),
    ))
}

enum Data {
    F32(Vec<f32>),
    F16(Vec<f32>),
    Q8(Vec<f32>),
}

struct Tensor {
    name: String,
    shape: Vec<usize>,
    data: Data,
}

fn rows(v: &Variable, from: usize, to: usize) -> Result<Vec<f32>, ModelError> {
    let all = v.to_f32().map_err(ModelError::Convert)?;
    let cols = v.dims.get(1).copied().unwrap_or(1);
    Ok(all[from * cols..to * cols].to_vec())
}

fn check_zero(values: &[f32], what: &str) -> Result<(), ModelError> {
    if values.iter().any(|&x| x != 0.0) {
        return Err(ModelError::Convert(format!(
            "{what} is not all zeros; ggml has no place for it"
        )));
    }
    Ok(())
}

/// Gathers the ggml tensors of a CTranslate2 Whisper model, in the order whisper.cpp's own
/// converter writes them (the order fixes the file's checksum).
struct Collector<'m> {
    m: &'m Ct2Model,
    wtype: WeightType,
    out: Vec<Tensor>,
}

impl Collector<'_> {
    fn push(&mut self, name: String, shape: Vec<usize>, data: Data) {
        self.out.push(Tensor { name, shape, data });
    }

    /// A variable's values as f32.
    fn values(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>), ModelError> {
        let v = self.m.get(name)?;
        Ok((v.to_f32().map_err(ModelError::Convert)?, v.dims.clone()))
    }

    /// Storage of a weight: 2-D matrices whose rows split into whole blocks may be quantized.
    fn weight(&self, data: Vec<f32>, shape: &[usize]) -> Data {
        if self.wtype == WeightType::Q8_0 && shape.len() == 2 && shape[1].is_multiple_of(Q8_0_BLOCK)
        {
            Data::Q8(data)
        } else {
            Data::F16(data)
        }
    }

    /// A variable copied as is, in the given storage.
    fn copy(
        &mut self,
        src: &str,
        dst: &str,
        store: fn(Vec<f32>) -> Data,
    ) -> Result<(), ModelError> {
        let (data, dims) = self.values(src)?;
        self.push(dst.into(), dims, store(data));
        Ok(())
    }

    /// A linear layer: weight matrix + bias, or a slice of rows of a fused projection.
    fn linear(
        &mut self,
        src: &str,
        dst: &str,
        range: Option<(usize, usize)>,
        bias_kind: Bias,
    ) -> Result<(), ModelError> {
        let w = self.m.get(&format!("{src}/weight"))?;
        let (from, to) = range.unwrap_or((0, w.dims[0]));
        let data = rows(w, from, to)?;
        let shape = vec![to - from, w.dims[1]];
        let data = self.weight(data, &shape);
        self.push(format!("{dst}.weight"), shape, data);
        let bias = self.values(&format!("{src}/bias"))?.0[from..to].to_vec();
        match bias_kind {
            Bias::Keep => self.push(format!("{dst}.bias"), vec![to - from], Data::F32(bias)),
            Bias::MustBeZero => check_zero(&bias, &format!("{src}/bias rows {from}..{to}"))?,
        }
        Ok(())
    }

    /// A layer norm: gamma and beta.
    fn norm(&mut self, src: &str, dst: &str) -> Result<(), ModelError> {
        self.copy(&format!("{src}/gamma"), &format!("{dst}.weight"), Data::F32)?;
        self.copy(&format!("{src}/beta"), &format!("{dst}.bias"), Data::F32)
    }

    /// Query, key and value from one fused projection of `d` rows each (the key has no bias),
    /// then the output projection.
    fn fused_attention(&mut self, src: &str, dst: &str, d: usize) -> Result<(), ModelError> {
        let qkv = format!("{src}/linear_0");
        self.linear(&qkv, &format!("{dst}.query"), Some((0, d)), Bias::Keep)?;
        self.linear(
            &qkv,
            &format!("{dst}.key"),
            Some((d, 2 * d)),
            Bias::MustBeZero,
        )?;
        self.linear(
            &qkv,
            &format!("{dst}.value"),
            Some((2 * d, 3 * d)),
            Bias::Keep,
        )?;
        self.linear(
            &format!("{src}/linear_1"),
            &format!("{dst}.out"),
            None,
            Bias::Keep,
        )
    }

    /// A block's self-attention with its layer norm.
    fn self_attention(&mut self, s: &str, t: &str, d: usize) -> Result<(), ModelError> {
        self.norm(
            &format!("{s}/self_attention/layer_norm"),
            &format!("{t}.attn_ln"),
        )?;
        self.fused_attention(&format!("{s}/self_attention"), &format!("{t}.attn"), d)
    }

    /// A decoder block's cross-attention: query alone, key and value fused, then output.
    fn cross_attention(&mut self, s: &str, t: &str, d: usize) -> Result<(), ModelError> {
        self.norm(
            &format!("{s}/attention/layer_norm"),
            &format!("{t}.cross_attn_ln"),
        )?;
        let (src, dst) = (format!("{s}/attention"), format!("{t}.cross_attn"));
        self.linear(
            &format!("{src}/linear_0"),
            &format!("{dst}.query"),
            None,
            Bias::Keep,
        )?;
        let kv = format!("{src}/linear_1");
        self.linear(&kv, &format!("{dst}.key"), Some((0, d)), Bias::MustBeZero)?;
        self.linear(&kv, &format!("{dst}.value"), Some((d, 2 * d)), Bias::Keep)?;
        self.linear(
            &format!("{src}/linear_2"),
            &format!("{dst}.out"),
            None,
            Bias::Keep,
        )
    }

    /// A block's feed-forward network with its layer norm.
    fn ffn(&mut self, s: &str, t: &str) -> Result<(), ModelError> {
        self.norm(&format!("{s}/ffn/layer_norm"), &format!("{t}.mlp_ln"))?;
        self.linear(
            &format!("{s}/ffn/linear_0"),
            &format!("{t}.mlp.0"),
            None,
            Bias::Keep,
        )?;
        self.linear(
            &format!("{s}/ffn/linear_1"),
            &format!("{t}.mlp.2"),
            None,
            Bias::Keep,
        )
    }

    fn encoder(&mut self, hp: &HParams) -> Result<(), ModelError> {
        for conv in ["conv1", "conv2"] {
            self.copy(
                &format!("encoder/{conv}/weight"),
                &format!("encoder.{conv}.weight"),
                Data::F16,
            )?;
            // ggml wants the bias as a column
            let (bias, dims) = self.values(&format!("encoder/{conv}/bias"))?;
            self.push(
                format!("encoder.{conv}.bias"),
                vec![dims[0], 1],
                Data::F32(bias),
            );
        }
        self.copy(
            "encoder/position_encodings/encodings",
            "encoder.positional_embedding",
            Data::F32,
        )?;
        for n in 0..hp.n_audio_layer {
            let (s, t) = (format!("encoder/layer_{n}"), format!("encoder.blocks.{n}"));
            self.self_attention(&s, &t, hp.n_audio_state)?;
            self.ffn(&s, &t)?;
        }
        self.norm("encoder/layer_norm", "encoder.ln_post")
    }

    fn decoder(&mut self, hp: &HParams) -> Result<(), ModelError> {
        let (emb, dims) = self.values("decoder/embeddings/weight")?;
        let emb = self.weight(emb, &dims);
        self.push("decoder.token_embedding.weight".into(), dims, emb);
        self.copy(
            "decoder/position_encodings/encodings",
            "decoder.positional_embedding",
            Data::F32,
        )?;
        for n in 0..hp.n_text_layer {
            let (s, t) = (format!("decoder/layer_{n}"), format!("decoder.blocks.{n}"));
            self.self_attention(&s, &t, hp.n_text_state)?;
            self.cross_attention(&s, &t, hp.n_text_state)?;
            self.ffn(&s, &t)?;
        }
        self.norm("decoder/layer_norm", "decoder.ln")
    }
}

fn collect_tensors(
    m: &Ct2Model,
    hp: &HParams,
    wtype: WeightType,
) -> Result<Vec<Tensor>, ModelError> {
    let mut c = Collector {
        m,
        wtype,
        out: Vec::new(),
    };
    c.encoder(hp)?;
    c.decoder(hp)?;
    Ok(c.out)
}

#[derive(Clone, Copy)]
enum Bias {
    Keep,
    MustBeZero,
}

fn i32s(w: &mut impl Write, values: &[i32]) -> std::io::Result<()> {
    for v in values {
        w.write_all(&v.to_le_bytes())?;
    }
    Ok(())
}

/// Quantize a row-major matrix to ggml's Q8_0: per 32 values an f16 scale then 32 int8.
pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / Q8_0_BLOCK * 34);
    for block in values.chunks(Q8_0_BLOCK) {
        let amax = block.iter().fold(0f32, |a, &x| a.max(x.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        for &x in block {
            out.push((x * id).round() as i8 as u8);
        }
    }
    out
}

/// Convert a CTranslate2 Whisper model plus its vocabulary into a ggml file written to `w`.
pub fn write_ggml(
    m: &Ct2Model,
    vocabulary_txt: &str,
    wtype: WeightType,
    w: &mut impl Write,
) -> Result<ConversionReport, ModelError> {
    if m.spec != "WhisperSpec" {
        return Err(ModelError::Convert(format!(
            "model spec is {:?}, not WhisperSpec",
            m.spec
        )));
    }
    let hp = hparams(m)?;
    let vocab = ordinary_vocab(vocabulary_txt)?;
    let tensors = collect_tensors(m, &hp, wtype)?;
    let io = |e: std::io::Error| ModelError::Io {
        path: "<ggml output>".into(),
        source: e,
    };
    let ftype = match wtype {
        WeightType::F16 => FTYPE_F16,
        WeightType::Q8_0 => FTYPE_Q8_0,
    };
    i32s(
        w,
        &[
            GGML_MAGIC,
            hp.n_vocab as i32,
            hp.n_audio_ctx as i32,
            hp.n_audio_state as i32,
            hp.n_audio_head as i32,
            hp.n_audio_layer as i32,
            hp.n_text_ctx as i32,
            hp.n_text_state as i32,
            hp.n_text_head as i32,
            hp.n_text_layer as i32,
            hp.n_mels as i32,
            ftype,
        ],
    )
    .map_err(io)?;
    let n_fft = 400;
    let mel = mel_filters(16000.0, n_fft, hp.n_mels);
    i32s(w, &[hp.n_mels as i32, (n_fft / 2 + 1) as i32]).map_err(io)?;
    for v in &mel {
        w.write_all(&v.to_le_bytes()).map_err(io)?;
    }
    i32s(w, &[vocab.len() as i32]).map_err(io)?;
    for tok in &vocab {
        i32s(w, &[tok.len() as i32]).map_err(io)?;
        w.write_all(tok).map_err(io)?;
    }
    let mut report = Vec::with_capacity(tensors.len());
    for t in &tensors {
        let (ty, bytes): (i32, Vec<u8>) = match &t.data {
            Data::F32(v) => (
                GGML_TYPE_F32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ),
            Data::F16(v) => (
                GGML_TYPE_F16,
                v.iter()
                    .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                    .collect(),
            ),
            Data::Q8(v) => (GGML_TYPE_Q8_0, quantize_q8_0(v)),
        };
        let name = t.name.as_bytes();
        i32s(w, &[t.shape.len() as i32, name.len() as i32, ty]).map_err(io)?;
        let rev: Vec<i32> = t.shape.iter().rev().map(|&d| d as i32).collect();
        i32s(w, &rev).map_err(io)?;
        w.write_all(name).map_err(io)?;
        w.write_all(&bytes).map_err(io)?;
        report.push((t.name.clone(), t.shape.clone(), ty));
    }
    Ok(ConversionReport {
        hparams: hp,
        tensors: report,
        vocab_tokens: vocab.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_filters_are_slaney_normalised_triangles() {
        let m = mel_filters(16000.0, 400, 80);
        assert_eq!(m.len(), 80 * 201);
        // each filter is non-negative, has one peak, and its area (in Hz) is 1 under Slaney norm:
        // height 2/(f_hi - f_lo) times base (f_hi - f_lo) / 2 = 1, sampled on a 40 Hz grid
        for i in 0..80 {
            let row = &m[i * 201..(i + 1) * 201];
            assert!(row.iter().all(|&v| v >= 0.0));
            let area: f32 = row.iter().sum::<f32>() * 40.0;
            assert!(area > 0.3 && area < 1.7, "filter {i} area {area}");
        }
        // first filter peaks at the lowest bins, last one near the top of the band
        let argmax = |i: usize| {
            let row = &m[i * 201..(i + 1) * 201];
            (0..201).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap()
        };
        assert!(argmax(0) <= 2);
        assert!(argmax(79) >= 180);
        assert!((0..79).all(|i| argmax(i) <= argmax(i + 1)));
    }

    #[test]
    fn byte_level_table_round_trips_all_bytes() {
        let t = unicode_to_byte();
        assert_eq!(t.len(), 256);
        assert_eq!(t[&'Ġ'], b' ');
        assert_eq!(t[&'a'], b'a');
        assert_eq!(t[&'Ċ'], b'\n');
    }

    #[test]
    fn vocabulary_stops_at_endoftext_and_keeps_empty_tokens() {
        let v = ordinary_vocab("a\nĠb\n\n<|endoftext|>\n<|startoftranscript|>").unwrap();
        assert_eq!(v, vec![b"a".to_vec(), b" b".to_vec(), Vec::new()]);
        assert!(ordinary_vocab("a\nb").is_err());
    }

    #[test]
    fn q8_0_blocks_round_trip_within_one_step() {
        let x: Vec<f32> = (0..64).map(|i| (i as f32 - 31.5) / 7.0).collect();
        let q = quantize_q8_0(&x);
        assert_eq!(q.len(), 2 * 34);
        for (b, block) in x.chunks(32).enumerate() {
            let raw = &q[b * 34..(b + 1) * 34];
            let d = half::f16::from_le_bytes([raw[0], raw[1]]).to_f32();
            for (i, &v) in block.iter().enumerate() {
                let back = raw[2 + i] as i8 as f32 * d;
                assert!((back - v).abs() <= d * 0.51 + 1e-3, "{back} vs {v}");
            }
        }
    }
}
