//! File-system helpers shared by the stages: content hashing.

use std::io::Read;

/// SHA-256 (hex) of everything `r` yields, read in 1 MiB blocks.
pub fn sha256_reader(mut r: impl Read) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}
