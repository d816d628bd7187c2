//! Reader for CTranslate2 `model.bin` files (the format faster-whisper ships on PyPI).
//!
//! Layout (little-endian): u32 binary version, string spec name, u32 spec revision, u32 variable
//! count, then per variable: string name, u8 rank, u32 dims[rank], u8 dtype, u32 byte count, raw
//! row-major data; then u32 alias count and (alias, target) string pairs. A string is a u16 length
//! that includes a trailing NUL, then the bytes.

use std::collections::BTreeMap;

use super::ModelError;

/// Element type of a CTranslate2 variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    BF16,
}

impl DType {
    fn from_code(code: u8) -> Option<DType> {
        Some(match code {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::BF16,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 | DType::I16 => 2,
            DType::I8 => 1,
        }
    }
}

/// One named tensor (or scalar) of a CTranslate2 model.
#[derive(Debug, Clone)]
pub struct Variable {
    pub dims: Vec<usize>,
    pub dtype: DType,
    pub data: Vec<u8>,
}

impl Variable {
    pub fn elements(&self) -> usize {
        self.dims.iter().product()
    }

    /// The values as f32, whatever the stored float type.
    pub fn to_f32(&self) -> Result<Vec<f32>, String> {
        Ok(match self.dtype {
            DType::F32 => self
                .data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            DType::F16 => self
                .data
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            DType::BF16 => self
                .data
                .chunks_exact(2)
                .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => return Err(format!("{other:?} is not a float type")),
        })
    }

    /// A scalar integer value (used for `num_heads`).
    pub fn scalar_int(&self) -> Option<i64> {
        match self.dtype {
            DType::I8 => self.data.first().map(|&b| b as i8 as i64),
            DType::I16 => Some(i16::from_le_bytes(self.data.get(..2)?.try_into().ok()?) as i64),
            DType::I32 => Some(i32::from_le_bytes(self.data.get(..4)?.try_into().ok()?) as i64),
            _ => None,
        }
    }
}

/// A parsed CTranslate2 model: its spec name and variables by name (aliases resolved).
#[derive(Debug)]
pub struct Ct2Model {
    pub spec: String,
    pub binary_version: u32,
    pub variables: BTreeMap<String, Variable>,
    pub aliases: BTreeMap<String, String>,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], ModelError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(ModelError::Ct2Format {
                offset: self.pos,
                reason: format!("file ends while reading {what} ({n} bytes wanted)"),
            }),
        }
    }
    fn u8(&mut self, what: &str) -> Result<u8, ModelError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, ModelError> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().unwrap()))
    }
    fn u32(&mut self, what: &str) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn string(&mut self, what: &str) -> Result<String, ModelError> {
        let len = self.u16(what)? as usize;
        let bytes = self.take(len, what)?;
        let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
        String::from_utf8(bytes.to_vec()).map_err(|_| ModelError::Ct2Format {
            offset: self.pos,
            reason: format!("{what} is not valid UTF-8"),
        })
    }
}

/// Parse a whole CTranslate2 model file held in memory.
pub fn parse(buf: &[u8]) -> Result<Ct2Model, ModelError> {
    let mut c = Cursor { buf, pos: 0 };
    let binary_version = c.u32("binary version")?;
    if !(5..=6).contains(&binary_version) {
        return Err(ModelError::Ct2Format {
            offset: 0,
            reason: format!(
                "unsupported CTranslate2 binary version {binary_version} (expected 5 or 6)"
            ),
        });
    }
    let spec = c.string("spec name")?;
    let _revision = c.u32("spec revision")?;
    let count = c.u32("variable count")? as usize;
    let mut variables = BTreeMap::new();
    for i in 0..count {
        let what = format!("variable {i} of {count}");
        let name = c.string(&what)?;
        let rank = c.u8(&what)? as usize;
        let mut dims = Vec::with_capacity(rank);
        for _ in 0..rank {
            dims.push(c.u32(&what)? as usize);
        }
        let code = c.u8(&what)?;
        let dtype = DType::from_code(code).ok_or_else(|| ModelError::Ct2Format {
            offset: c.pos,
            reason: format!("variable {name} has unknown dtype code {code}"),
        })?;
        let nbytes = c.u32(&what)? as usize;
        let elements: usize = dims.iter().product();
        if elements * dtype.size() != nbytes {
            return Err(ModelError::Ct2Format {
                offset: c.pos,
                reason: format!(
                    "variable {name} has dims {dims:?} of {dtype:?} but {nbytes} bytes of data"
                ),
            });
        }
        let data = c.take(nbytes, &name)?.to_vec();
        variables.insert(name, Variable { dims, dtype, data });
    }
    let mut aliases = BTreeMap::new();
    if c.pos < buf.len() {
        let n = c.u32("alias count")?;
        for _ in 0..n {
            let alias = c.string("alias")?;
            let target = c.string("alias target")?;
            aliases.insert(alias, target);
        }
    }
    Ok(Ct2Model {
        spec,
        binary_version,
        variables,
        aliases,
    })
}

impl Ct2Model {
    pub fn get(&self, name: &str) -> Result<&Variable, ModelError> {
        let name = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.variables
            .get(name)
            .ok_or_else(|| ModelError::MissingTensor(name.to_string()))
    }

    /// Number of `prefix/layer_N/` blocks (not matching `prefix/layer_norm`).
    pub fn layer_count(&self, prefix: &str) -> usize {
        let head = format!("{prefix}/layer_");
        let mut max = None;
        for name in self.variables.keys() {
            if let Some(rest) = name.strip_prefix(&head)
                && let Some((idx, _)) = rest.split_once('/')
                && let Ok(n) = idx.parse::<usize>()
            {
                max = Some(max.map_or(n, |m: usize| m.max(n)));
            }
        }
        max.map_or(0, |m| m + 1)
    }
}
