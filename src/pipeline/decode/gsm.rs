//! GSM 06.10 full-rate speech decoding (RPE-LTP, 13 kbit/s), as old call recorders store it in
//! WAV files (format tag 0x0031, "WAV49": 65-byte blocks holding two 33½-byte frames).
//!
//! No maintained Rust crate decodes it, so this follows the standard itself: ETSI EN 300 961
//! (GSM 06.10), clause 5.3 "Decoder" and the procedures of clause 5.2 it reuses, in the
//! standard's 16-bit fixed-point arithmetic (saturating additions, rounded multiplications), so
//! the output is bit-exact with the reference decoder. Names follow the standard's
//! (`LARc`, `Nc`, `bc`, `Mc`, `xmaxc`, `xMc`, `drp`, `v`, `msr`).

/// Samples of one frame (20 ms at 8 kHz).
pub const FRAME_SAMPLES: usize = 160;
/// Bytes of one WAV49 block: two frames, 2 × 260 bits.
pub const WAV49_BLOCK: usize = 65;

/// Table 5.1 (decoding of the log area ratios): MIC, B and 1/A per coefficient.
const MIC: [i32; 8] = [-32, -32, -16, -16, -8, -8, -4, -4];
const B: [i32; 8] = [0, 0, 2048, -2560, 94, -1792, -341, -1144];
const INVA: [i32; 8] = [13107, 13107, 13107, 13107, 19223, 17476, 31454, 29708];
/// Table 5.3b: the quantised LTP gains.
const QLB: [i32; 4] = [3277, 11469, 21299, 32767];
/// Table 5.5: the normalised inverse mantissas of the APCM quantiser.
const FAC: [i32; 8] = [18431, 20479, 22527, 24575, 26623, 28671, 30719, 32767];

/// Saturation to the 16-bit range of the standard's `add`/`sub`.
fn sat(x: i32) -> i32 {
    x.clamp(i16::MIN as i32, i16::MAX as i32)
}

fn add(a: i32, b: i32) -> i32 {
    sat(a + b)
}

fn sub(a: i32, b: i32) -> i32 {
    sat(a - b)
}

/// `mult_r`: rounded Q15 multiplication, −1 × −1 saturating to the largest value.
fn mult_r(a: i32, b: i32) -> i32 {
    if a == i16::MIN as i32 && b == i16::MIN as i32 {
        i16::MAX as i32
    } else {
        (a * b + 16384) >> 15
    }
}

/// Arithmetic shift right by `n` (left for negative `n`), as the standard's `>>` on words.
fn asr(a: i32, n: i32) -> i32 {
    if n >= 16 {
        -((a < 0) as i32)
    } else if n <= -16 {
        0
    } else if n < 0 {
        sat(a << -n)
    } else {
        a >> n
    }
}

/// Arithmetic shift left by `n` (right for negative `n`), as the standard's `<<` on words.
fn asl(a: i32, n: i32) -> i32 {
    if n >= 16 {
        0
    } else if n <= -16 {
        -((a < 0) as i32)
    } else if n < 0 {
        asr(a, -n)
    } else {
        sat(a << n)
    }
}

/// The parameters of one frame (clause 1.7, table 1.1).
#[derive(Debug, Default, Clone, Copy)]
struct Frame {
    larc: [i32; 8],
    nc: [i32; 4],
    bc: [i32; 4],
    mc: [i32; 4],
    xmaxc: [i32; 4],
    xmc: [[i32; 13]; 4],
}

/// Reads the fields of a WAV49 block least significant bit first, as the format packs them.
struct Bits<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn take(&mut self, n: usize) -> i32 {
        let mut v = 0;
        for i in 0..n {
            let bit = (self.bytes[(self.at + i) / 8] >> ((self.at + i) % 8)) & 1;
            v |= (bit as i32) << i;
        }
        self.at += n;
        v
    }

    fn frame(&mut self) -> Frame {
        let mut f = Frame::default();
        for (i, bits) in [6, 6, 5, 5, 4, 4, 3, 3].into_iter().enumerate() {
            f.larc[i] = self.take(bits);
        }
        for j in 0..4 {
            f.nc[j] = self.take(7);
            f.bc[j] = self.take(2);
            f.mc[j] = self.take(2);
            f.xmaxc[j] = self.take(6);
            for x in &mut f.xmc[j] {
                *x = self.take(3);
            }
        }
        f
    }
}

/// The decoder's state between frames (clause 5.3).
#[derive(Debug, Clone)]
pub struct Decoder {
    /// Reconstructed long-term residual: 120 past samples, then the current sub-segment's 40.
    drp: [i32; 160],
    /// The previous LTP lag, used when a received lag is out of range (clause 5.3.2).
    nrp: i32,
    /// Decoded log area ratios of the previous frame (interpolation, clause 5.2.9.1).
    larpp_prev: [i32; 8],
    /// Short-term synthesis filter state.
    v: [i32; 9],
    /// De-emphasis filter state.
    msr: i32,
}

impl Default for Decoder {
    fn default() -> Self {
        Self {
            drp: [0; 160],
            nrp: 40,
            larpp_prev: [0; 8],
            v: [0; 9],
            msr: 0,
        }
    }
}

impl Decoder {
    /// Decode one 65-byte WAV49 block into its 320 samples (16-bit, low 3 bits zero).
    pub fn decode_wav49(&mut self, block: &[u8; WAV49_BLOCK], out: &mut [i16; 2 * FRAME_SAMPLES]) {
        let mut bits = Bits {
            bytes: block,
            at: 0,
        };
        let (first, second) = out.split_at_mut(FRAME_SAMPLES);
        let f = bits.frame();
        self.decode_frame(&f, first);
        let f = bits.frame();
        self.decode_frame(&f, second);
    }

    fn decode_frame(&mut self, f: &Frame, out: &mut [i16]) {
        let mut wt = [0i32; FRAME_SAMPLES];
        for j in 0..4 {
            let erp = rpe_decoding(f.xmaxc[j], f.mc[j], &f.xmc[j]);
            self.long_term_synthesis(f.nc[j], f.bc[j], &erp);
            wt[j * 40..(j + 1) * 40].copy_from_slice(&self.drp[120..160]);
            self.drp.copy_within(40..160, 0);
        }
        let mut sr = [0i32; FRAME_SAMPLES];
        self.short_term_synthesis(&f.larc, &wt, &mut sr);
        // clause 5.3.5–5.3.7: de-emphasis, upscaling, truncation to 13 bits
        for (o, &s) in out.iter_mut().zip(&sr) {
            self.msr = add(s, mult_r(self.msr, 28180));
            *o = (add(self.msr, self.msr) & !7) as i16;
        }
    }

    /// Clause 5.3.2: the long-term synthesis filter writes the current 40 samples of `drp`.
    fn long_term_synthesis(&mut self, ncr: i32, bcr: i32, erp: &[i32; 40]) {
        let nr = if (40..=120).contains(&ncr) {
            ncr
        } else {
            self.nrp
        };
        self.nrp = nr;
        let brp = QLB[bcr as usize];
        for (k, &e) in erp.iter().enumerate() {
            let at = 120 + k;
            let drpp = mult_r(brp, self.drp[at - nr as usize]);
            self.drp[at] = add(e, drpp);
        }
    }

    /// Clauses 5.2.8–5.2.10 and 5.3.4: decode the log area ratios, interpolate them with the
    /// previous frame's over four stretches, turn them into reflection coefficients, and filter.
    fn short_term_synthesis(&mut self, larc: &[i32; 8], wt: &[i32; 160], sr: &mut [i32; 160]) {
        let mut larpp = [0i32; 8];
        for i in 0..8 {
            let mut t = add(larc[i], MIC[i]) << 10;
            t = sub(t, B[i] << 1);
            t = mult_r(INVA[i], t);
            larpp[i] = add(t, t);
        }
        let prev = self.larpp_prev;
        let stretches: [(usize, usize, Interpolate); 4] = [
            (0, 13, |p, c| add(add(p >> 2, c >> 2), p >> 1)),
            (13, 27, |p, c| add(p >> 1, c >> 1)),
            (27, 40, |p, c| add(add(p >> 2, c >> 2), c >> 1)),
            (40, 160, |_, c| c),
        ];
        for (from, to, interpolate) in stretches {
            let mut rrp = [0i32; 8];
            for i in 0..8 {
                rrp[i] = reflection(interpolate(prev[i], larpp[i]));
            }
            for k in from..to {
                let mut sri = wt[k];
                for i in (0..8).rev() {
                    sri = sub(sri, mult_r(rrp[i], self.v[i]));
                    self.v[i + 1] = add(self.v[i], mult_r(rrp[i], sri));
                }
                self.v[0] = sri;
                sr[k] = sri;
            }
        }
        self.larpp_prev = larpp;
    }
}

/// How a stretch of a frame weighs the previous frame's log area ratio and this frame's.
type Interpolate = fn(i32, i32) -> i32;

/// Clause 5.2.9.2: an interpolated log area ratio to its reflection coefficient.
fn reflection(larp: i32) -> i32 {
    let mag = if larp == i16::MIN as i32 {
        i16::MAX as i32
    } else {
        larp.abs()
    };
    let r = if mag < 11059 {
        mag << 1
    } else if mag < 20070 {
        mag + 11059
    } else {
        add(mag >> 2, 26112)
    };
    if larp < 0 { -r } else { r }
}

/// Clause 5.3.1 with 5.2.15–5.2.17: the RPE sequence of one sub-segment from its block maximum,
/// grid position and 13 pulses.
fn rpe_decoding(xmaxc: i32, mc: i32, xmc: &[i32; 13]) -> [i32; 40] {
    // exponent and mantissa of the block maximum (clause 5.2.15)
    let mut exp = if xmaxc > 15 { (xmaxc >> 3) - 1 } else { 0 };
    let mut mant = xmaxc - (exp << 3);
    if mant == 0 {
        exp = -4;
        mant = 7;
    } else {
        while mant <= 7 {
            mant = (mant << 1) | 1;
            exp -= 1;
        }
        mant -= 8;
    }
    // APCM inverse quantisation (clause 5.2.16)
    let temp1 = FAC[mant as usize];
    let temp2 = sub(6, exp);
    let temp3 = asl(1, sub(temp2, 1));
    let mut erp = [0i32; 40];
    for (i, &x) in xmc.iter().enumerate() {
        let t = ((x << 1) - 7) << 12;
        let t = add(mult_r(temp1, t), temp3);
        // RPE grid positioning (clause 5.2.17)
        erp[mc as usize + 3 * i] = asr(t, temp2);
    }
    erp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_decodes_to_silence_and_stays_bounded() {
        // a block of zero bits is a valid (if odd) pair of frames: it must decode to finite,
        // 13-bit samples; and all-ones too
        for byte in [0u8, 0xff] {
            let mut d = Decoder::default();
            let mut out = [0i16; 320];
            for _ in 0..50 {
                d.decode_wav49(&[byte; WAV49_BLOCK], &mut out);
                assert!(out.iter().all(|s| s & 7 == 0));
            }
        }
    }

    #[test]
    fn bits_are_read_least_significant_first() {
        let mut block = [0u8; WAV49_BLOCK];
        block[0] = 0b1000_0001;
        let mut b = Bits {
            bytes: &block,
            at: 0,
        };
        assert_eq!(b.take(6), 1);
        assert_eq!(b.take(2), 0b10);
    }
}
