//! Speaker embeddings for diarization: CAM++ (3D-Speaker's `speech_campplus_sv_zh_en_16k-common_
//! advanced`, 192 dimensions) on 80 log-mel Kaldi filterbank features, run on the CPU with
//! candle. Batch norms are folded into the convolutions they follow at load time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{D, DType, Device, Tensor};
use realfft::{RealFftPlanner, RealToComplex};

/// Dimensions of one speaker embedding.
pub const VOICE_DIM: usize = 192;
/// Mel bands of the features.
const MELS: usize = 80;
/// Samples per frame (25 ms) and per shift (10 ms) at 16 kHz.
const FRAME: usize = 400;
const SHIFT: usize = 160;
const FFT: usize = 512;
const BN_EPS: f64 = 1e-5;

#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error(
        "{path} is not a usable speaker-embedding model: {detail}\nhint: run `callsift models fetch diarize --force` to install it again, or run with --diarize off"
    )]
    Load { path: PathBuf, detail: String },
    #[error("the speaker-embedding model failed: {0}")]
    Run(String),
}

/// Batch norm in inference: `x · scale + shift` per channel.
struct Affine {
    scale: Tensor,
    shift: Tensor,
}

impl Affine {
    /// Apply over dimension 1 of a `(B, C, …)` tensor.
    fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut shape = vec![1, self.scale.dim(0)?];
        shape.extend(std::iter::repeat_n(1, x.rank() - 2));
        x.broadcast_mul(&self.scale.reshape(shape.as_slice())?)?
            .broadcast_add(&self.shift.reshape(shape.as_slice())?)
    }
}

/// A convolution with an optional bias (a folded batch norm's shift).
struct Conv {
    w: Tensor,
    b: Option<Tensor>,
}

impl Conv {
    fn bias(&self, y: Tensor) -> candle_core::Result<Tensor> {
        match &self.b {
            None => Ok(y),
            Some(b) => {
                let mut shape = vec![1, b.dim(0)?];
                shape.extend(std::iter::repeat_n(1, y.rank() - 2));
                y.broadcast_add(&b.reshape(shape.as_slice())?)
            }
        }
    }
    /// A 1×1 convolution of `(B, C, T)`: a matrix product.
    fn pointwise(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let w = self.w.squeeze(2)?;
        self.bias(w.broadcast_matmul(x)?)
    }
    fn conv1d(
        &self,
        x: &Tensor,
        pad: usize,
        stride: usize,
        dil: usize,
    ) -> candle_core::Result<Tensor> {
        self.bias(x.conv1d(&self.w, pad, stride, dil, 1)?)
    }
    /// 3×3 (or 1×1) 2-D convolution with stride `(fstride, 1)` over `(B, C, F, T)`. candle's
    /// stride is the same on both axes, so a frequency stride of 2 is two convolutions strided
    /// 2 × 2 — one over the even frames, one over the odd — interleaved in time.
    fn conv2d(&self, x: &Tensor, pad: usize, fstride: usize) -> candle_core::Result<Tensor> {
        if fstride == 1 {
            return self.bias(x.conv2d(&self.w, pad, 1, 1, 1)?);
        }
        let t = x.dim(3)?;
        let even = x.conv2d(&self.w, pad, 2, 1, 1)?;
        let odd = x.narrow(3, 1, t - 1)?.conv2d(&self.w, pad, 2, 1, 1)?;
        let (b, c, f, te) = even.dims4()?;
        let odd = if odd.dim(3)? < te {
            Tensor::cat(&[&odd, &odd.narrow(3, 0, 1)?.zeros_like()?], 3)?
        } else {
            odd
        };
        let y = Tensor::stack(&[&even, &odd], 4)?
            .reshape((b, c, f, te * 2))?
            .narrow(3, 0, t)?;
        self.bias(y)
    }
}

struct ResBlock {
    conv1: Conv,
    conv2: Conv,
    shortcut: Option<Conv>,
    stride: usize,
}

struct DenseLayer {
    bn1: Affine,
    linear1: Conv,
    local: Conv,
    ctx1: Conv,
    ctx2: Conv,
    dilation: usize,
}

struct Block {
    layers: Vec<DenseLayer>,
    transit_bn: Affine,
    transit: Conv,
}

/// The loaded CAM++ model.
pub struct Campplus {
    head_conv1: Conv,
    head: Vec<ResBlock>,
    head_conv2: Conv,
    tdnn: Conv,
    blocks: Vec<Block>,
    out_bn: Affine,
    dense: Conv,
    fft: Arc<dyn RealToComplex<f32>>,
    mel: Vec<Vec<(usize, f32)>>,
    window: Vec<f32>,
    id: String,
}

struct Weights<'a> {
    map: HashMap<String, Tensor>,
    path: &'a Path,
}

impl Weights<'_> {
    fn get(&self, name: &str) -> Result<Tensor, VoiceError> {
        self.map.get(name).cloned().ok_or_else(|| VoiceError::Load {
            path: self.path.to_path_buf(),
            detail: format!("tensor {name} is missing"),
        })
    }
    fn bad(&self, e: candle_core::Error) -> VoiceError {
        VoiceError::Load {
            path: self.path.to_path_buf(),
            detail: e.to_string(),
        }
    }
    fn affine(&self, p: &str, affine: bool) -> Result<Affine, VoiceError> {
        let mean = self.get(&format!("{p}.running_mean"))?;
        let var = self.get(&format!("{p}.running_var"))?;
        let go = || -> candle_core::Result<Affine> {
            let inv = (var + BN_EPS)?.sqrt()?.recip()?;
            let (scale, shift) = if affine {
                let w = self.map[&format!("{p}.weight")].clone();
                let b = self.map[&format!("{p}.bias")].clone();
                let scale = (w * &inv)?;
                let shift = (b - (&mean * &scale)?)?;
                (scale, shift)
            } else {
                let shift = (&mean * &inv)?.neg()?;
                (inv, shift)
            };
            Ok(Affine { scale, shift })
        };
        if affine {
            self.get(&format!("{p}.weight"))?;
            self.get(&format!("{p}.bias"))?;
        }
        go().map_err(|e| self.bad(e))
    }
    /// A convolution without bias followed by a batch norm, folded into one.
    fn folded(&self, conv: &str, bn: &str, affine: bool) -> Result<Conv, VoiceError> {
        let w = self.get(&format!("{conv}.weight"))?;
        let a = self.affine(bn, affine)?;
        let go = || -> candle_core::Result<Conv> {
            let mut shape = vec![a.scale.dim(0)?];
            shape.extend(std::iter::repeat_n(1, w.rank() - 1));
            let w = w.broadcast_mul(&a.scale.reshape(shape.as_slice())?)?;
            Ok(Conv {
                w,
                b: Some(a.shift),
            })
        };
        go().map_err(|e| self.bad(e))
    }
    fn conv(&self, p: &str, bias: bool) -> Result<Conv, VoiceError> {
        Ok(Conv {
            w: self.get(&format!("{p}.weight"))?,
            b: if bias {
                Some(self.get(&format!("{p}.bias"))?)
            } else {
                None
            },
        })
    }
}

impl Campplus {
    /// Load the model from its safetensors file; `id` names the weights.
    pub fn load(path: &Path, id: &str) -> Result<Campplus, VoiceError> {
        let map =
            candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| VoiceError::Load {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        let w = Weights { map, path };
        let mut head = Vec::new();
        for (layer, stride) in [("layer1", 2), ("layer2", 2)] {
            for i in 0..2 {
                let p = format!("head.{layer}.{i}");
                head.push(ResBlock {
                    conv1: w.folded(&format!("{p}.conv1"), &format!("{p}.bn1"), true)?,
                    conv2: w.folded(&format!("{p}.conv2"), &format!("{p}.bn2"), true)?,
                    shortcut: if i == 0 {
                        Some(w.folded(
                            &format!("{p}.shortcut.0"),
                            &format!("{p}.shortcut.1"),
                            true,
                        )?)
                    } else {
                        None
                    },
                    stride: if i == 0 { stride } else { 1 },
                });
            }
        }
        let mut blocks = Vec::new();
        for (b, (n, dilation)) in [(12, 1), (24, 2), (16, 2)].into_iter().enumerate() {
            let p = format!("xvector.block{}", b + 1);
            let mut layers = Vec::new();
            for l in 1..=n {
                let q = format!("{p}.tdnnd{l}");
                layers.push(DenseLayer {
                    bn1: w.affine(&format!("{q}.nonlinear1.batchnorm"), true)?,
                    linear1: w.folded(
                        &format!("{q}.linear1"),
                        &format!("{q}.nonlinear2.batchnorm"),
                        true,
                    )?,
                    local: w.conv(&format!("{q}.cam_layer.linear_local"), false)?,
                    ctx1: w.conv(&format!("{q}.cam_layer.linear1"), true)?,
                    ctx2: w.conv(&format!("{q}.cam_layer.linear2"), true)?,
                    dilation,
                });
            }
            let t = format!("xvector.transit{}", b + 1);
            blocks.push(Block {
                layers,
                transit_bn: w.affine(&format!("{t}.nonlinear.batchnorm"), true)?,
                transit: w.conv(&format!("{t}.linear"), false)?,
            });
        }
        let dense = w.folded(
            "xvector.dense.linear",
            "xvector.dense.nonlinear.batchnorm",
            false,
        )?;
        if dense.w.dim(0).map_err(|e| w.bad(e))? != VOICE_DIM {
            return Err(VoiceError::Load {
                path: path.to_path_buf(),
                detail: format!("the embedding is not {VOICE_DIM}-dimensional"),
            });
        }
        Ok(Campplus {
            head_conv1: w.folded("head.conv1", "head.bn1", true)?,
            head,
            head_conv2: w.folded("head.conv2", "head.bn2", true)?,
            tdnn: w.folded(
                "xvector.tdnn.linear",
                "xvector.tdnn.nonlinear.batchnorm",
                true,
            )?,
            blocks,
            out_bn: w.affine("xvector.out_nonlinear.batchnorm", true)?,
            dense,
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(FFT),
            mel: mel_banks(),
            window: povey_window(),
            id: id.to_string(),
        })
    }

    /// Names the weights (name and the start of their checksum).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// One unit-length embedding per clip (16 kHz samples, at least 0.1 s each). Clips of the
    /// same length are run as one batch.
    pub fn embed(&self, clips: &[&[f32]]) -> Result<Vec<Vec<f32>>, VoiceError> {
        let mut out = vec![Vec::new(); clips.len()];
        let mut by_len: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for (i, c) in clips.iter().enumerate() {
            by_len.entry(c.len()).or_default().push(i);
        }
        for (_, idx) in by_len {
            for chunk in idx.chunks(32) {
                let feats: Vec<Vec<f32>> = chunk.iter().map(|&i| self.fbank(clips[i])).collect();
                let frames = feats[0].len() / MELS;
                if frames < 10 {
                    return Err(VoiceError::Run(format!(
                        "a clip of {} samples is too short to embed",
                        clips[chunk[0]].len()
                    )));
                }
                let flat: Vec<f32> = feats.concat();
                let run = || -> candle_core::Result<Vec<Vec<f32>>> {
                    // (B, T, F) → (B, F, T)
                    let x = Tensor::from_vec(flat, (chunk.len(), frames, MELS), &Device::Cpu)?
                        .transpose(1, 2)?
                        .contiguous()?;
                    let e = self.forward(&x)?;
                    let norm = e.sqr()?.sum_keepdim(1)?.sqrt()?;
                    e.broadcast_div(&norm)?.to_vec2::<f32>()
                };
                let embs = run().map_err(|e| VoiceError::Run(e.to_string()))?;
                for (&i, e) in chunk.iter().zip(embs) {
                    out[i] = e;
                }
            }
        }
        Ok(out)
    }

    /// `(B, 80, T)` features → `(B, 192)` embeddings.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        // FCM head: 2-D convolutions over (frequency, time), frequency strided 80 → 10
        let mut h = self.head_conv1.conv2d(&x.unsqueeze(1)?, 1, 1)?.relu()?;
        for r in &self.head {
            let y = r.conv1.conv2d(&h, 1, r.stride)?.relu()?;
            let y = r.conv2.conv2d(&y, 1, 1)?;
            let s = match &r.shortcut {
                Some(c) => c.conv2d(&h, 0, r.stride)?,
                None => h.clone(),
            };
            h = (y + s)?.relu()?;
        }
        let h = self.head_conv2.conv2d(&h, 1, 2)?.relu()?;
        let (b, c, f, t) = h.dims4()?;
        let mut x = h.reshape((b, c * f, t))?;
        // D-TDNN with context-aware masking
        x = self.tdnn.conv1d(&x, 2, 2, 1)?.relu()?;
        for block in &self.blocks {
            for l in &block.layers {
                let y = l.bn1.apply(&x)?.relu()?;
                let y = l.linear1.pointwise(&y)?.relu()?;
                let local = l.local.conv1d(&y, l.dilation, 1, l.dilation)?;
                let ctx = (y
                    .mean_keepdim(D::Minus1)?
                    .broadcast_add(&seg_pool(&y, 100)?))?;
                let ctx = l.ctx1.pointwise(&ctx)?.relu()?;
                let mask = candle_nn_sigmoid(&l.ctx2.pointwise(&ctx)?)?;
                x = Tensor::cat(&[&x, &local.broadcast_mul(&mask)?], 1)?;
            }
            x = block
                .transit
                .pointwise(&block.transit_bn.apply(&x)?.relu()?)?;
        }
        let x = self.out_bn.apply(&x)?.relu()?;
        // statistics pooling: mean and (unbiased) standard deviation over time
        let t = x.dim(2)?;
        let mean = x.mean_keepdim(2)?;
        let var = (x.broadcast_sub(&mean)?.sqr()?.sum_keepdim(2)? / (t.max(2) - 1) as f64)?;
        let stats = Tensor::cat(&[&mean, &var.sqrt()?], 1)?;
        self.dense.pointwise(&stats)?.squeeze(2)
    }

    /// Kaldi-style log-mel filterbank (25 ms Povey windows every 10 ms, DC removed,
    /// pre-emphasis 0.97, 512-point power spectrum, 80 bands 20 Hz – 8 kHz), each band's mean
    /// over the clip removed; `frames × 80`, row-major.
    fn fbank(&self, samples: &[f32]) -> Vec<f32> {
        let n = if samples.len() < FRAME {
            0
        } else {
            1 + (samples.len() - FRAME) / SHIFT
        };
        let mut out = Vec::with_capacity(n * MELS);
        let mut buf = vec![0f32; FFT];
        let mut spec = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        for f in 0..n {
            let frame = &samples[f * SHIFT..f * SHIFT + FRAME];
            let mean = frame.iter().sum::<f32>() / FRAME as f32;
            buf.fill(0.0);
            for (b, s) in buf.iter_mut().zip(frame) {
                *b = s - mean;
            }
            for i in (1..FRAME).rev() {
                buf[i] -= 0.97 * buf[i - 1];
            }
            buf[0] -= 0.97 * buf[0];
            for (b, w) in buf.iter_mut().zip(&self.window) {
                *b *= w;
            }
            let _ = self
                .fft
                .process_with_scratch(&mut buf, &mut spec, &mut scratch);
            for bank in &self.mel {
                let e: f32 = bank.iter().map(|&(k, w)| w * spec[k].norm_sqr()).sum();
                out.push(e.max(f32::EPSILON).ln());
            }
        }
        for m in 0..MELS {
            let mean = (0..n).map(|f| out[f * MELS + m]).sum::<f32>() / n.max(1) as f32;
            for f in 0..n {
                out[f * MELS + m] -= mean;
            }
        }
        out
    }
}

fn candle_nn_sigmoid(x: &Tensor) -> candle_core::Result<Tensor> {
    // 1 / (1 + e^-x)
    (x.neg()?.exp()? + 1.0)?.recip()
}

/// Average over consecutive stretches of `len` frames (the last one shorter), spread back over
/// their frames: `(B, C, T)` → `(B, C, T)`.
fn seg_pool(x: &Tensor, len: usize) -> candle_core::Result<Tensor> {
    let t = x.dim(2)?;
    if t <= len {
        return x.mean_keepdim(2)?.broadcast_as(x.shape());
    }
    let mut parts = Vec::new();
    let mut start = 0;
    while start < t {
        let n = len.min(t - start);
        let m = x.narrow(2, start, n)?.mean_keepdim(2)?;
        let (b, c, _) = m.dims3()?;
        parts.push(m.broadcast_as((b, c, n))?.contiguous()?);
        start += n;
    }
    Tensor::cat(&parts, 2)
}

fn povey_window() -> Vec<f32> {
    (0..FRAME)
        .map(|i| {
            let a = 2.0 * std::f64::consts::PI * i as f64 / (FRAME - 1) as f64;
            (0.5 - 0.5 * a.cos()).powf(0.85) as f32
        })
        .collect()
}

/// Kaldi's triangular mel banks over the FFT bins below Nyquist: per band, (bin, weight).
fn mel_banks() -> Vec<Vec<(usize, f32)>> {
    let mel = |f: f64| 1127.0 * (1.0 + f / 700.0).ln();
    let (lo, hi) = (mel(20.0), mel(8_000.0));
    let delta = (hi - lo) / (MELS + 1) as f64;
    (0..MELS)
        .map(|m| {
            let left = lo + m as f64 * delta;
            let (center, right) = (left + delta, left + 2.0 * delta);
            (0..FFT / 2)
                .filter_map(|k| {
                    let f = mel(k as f64 * 16_000.0 / FFT as f64);
                    let w = ((f - left) / (center - left)).min((right - f) / (right - center));
                    (w > 0.0).then_some((k, w as f32))
                })
                .collect()
        })
        .collect()
}

/// Cosine similarity of two unit-length embeddings.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Convert the PyTorch checkpoint (a zip of pickled tensors) to safetensors (the batch norms'
/// step counters left out), and check that the result loads as the model.
pub fn convert(checkpoint: &[u8]) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let pt = dir.path().join("campplus.pt");
    std::fs::write(&pt, checkpoint).map_err(|e| format!("cannot write {}: {e}", pt.display()))?;
    let tensors = candle_core::pickle::read_all(&pt)
        .map_err(|e| format!("the CAM++ checkpoint cannot be read: {e}"))?;
    let map: HashMap<String, Tensor> = tensors
        .into_iter()
        .filter(|(k, _)| !k.ends_with("num_batches_tracked"))
        .map(|(k, t)| Ok((k, t.to_dtype(DType::F32)?)))
        .collect::<candle_core::Result<_>>()
        .map_err(|e| e.to_string())?;
    let out = dir.path().join("campplus.safetensors");
    candle_core::safetensors::save(&map, &out).map_err(|e| e.to_string())?;
    Campplus::load(&out, "converted").map_err(|e| e.to_string())?;
    std::fs::read(&out).map_err(|e| format!("cannot read {}: {e}", out.display()))
}
