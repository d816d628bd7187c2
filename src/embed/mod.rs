//! Sentence embeddings for the semantic rules layer: all-MiniLM-L6-v2 (BERT, 6 layers, 384
//! dimensions) run on the CPU with candle, mean-pooled over the tokens and normalised, as
//! sentence-transformers computes it. The only module that knows candle and tokenizers.

pub mod voice;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::analyze::semantic::{DIM, Embed};

/// Tokens read of one text (the model was trained on 128; a turn is rarely longer).
const MAX_TOKENS: usize = 128;
/// Texts embedded in one forward pass (sorted by length, so little padding).
const BATCH: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a usable sentence-embedding model: {detail}\nhint: run `callsift models fetch all-minilm-l6-v2 --force` to install it again"
    )]
    Load { path: PathBuf, detail: String },
}

/// The loaded model.
pub struct MiniLm {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    id: String,
}

impl MiniLm {
    /// Load the model from its folder (`model.safetensors`, `tokenizer.json`, `config.json`);
    /// `id` names the weights in calibrated heads.
    pub fn load(dir: &Path, id: &str) -> Result<MiniLm, EmbedError> {
        let read = |f: &str| {
            let path = dir.join(f);
            std::fs::read(&path).map_err(|source| EmbedError::Io { path, source })
        };
        let bad = |f: &str, detail: String| EmbedError::Load {
            path: dir.join(f),
            detail,
        };
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| bad("config.json", e.to_string()))?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| bad("tokenizer.json", e.to_string()))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| bad("tokenizer.json", e.to_string()))?;
        let device = Device::Cpu;
        let weights = read("model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| bad("model.safetensors", e.to_string()))?;
        let model =
            BertModel::load(vb, &config).map_err(|e| bad("model.safetensors", e.to_string()))?;
        if config.hidden_size != DIM {
            return Err(bad(
                "config.json",
                format!("hidden size {}, expected {DIM}", config.hidden_size),
            ));
        }
        Ok(MiniLm {
            model,
            tokenizer,
            device,
            id: id.to_string(),
        })
    }

    fn batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| e.to_string())?;
        let ids: Vec<Tensor> = enc
            .iter()
            .map(|e| Tensor::new(e.get_ids(), &self.device))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let mask: Vec<Tensor> = enc
            .iter()
            .map(|e| Tensor::new(e.get_attention_mask(), &self.device))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let run = || -> candle_core::Result<Vec<Vec<f32>>> {
            let ids = Tensor::stack(&ids, 0)?;
            let mask = Tensor::stack(&mask, 0)?;
            let types = ids.zeros_like()?;
            let out = self.model.forward(&ids, &types, Some(&mask))?;
            // mean over the real tokens, then unit length
            let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let sum = out.broadcast_mul(&m)?.sum(1)?;
            let mean = sum.broadcast_div(&m.sum(1)?)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        };
        run().map_err(|e| e.to_string())
    }
}

impl Embed for MiniLm {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        // by length, so that a batch pads little
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            for (&i, e) in chunk.iter().zip(self.batch(&batch)?) {
                out[i] = e;
            }
        }
        Ok(out)
    }
    fn model_id(&self) -> &str {
        &self.id
    }
}
