//! G.726 ADPCM decoding (16, 24, 32 and 40 kbit/s at 8 kHz), as old call recorders store it in
//! WAV files (format tags 0x0045 and 0x0064).
//!
//! No maintained pure-Rust crate decodes it, so this follows ITU-T Recommendation G.726 (12/90),
//! section 4 "Computational details", block by block (the blocks' names are the standard's:
//! RECONST, ADDA, ANTILOG, FMULT, ACCUM, ADDB, FUNCTW, FILTD, LIMB, FILTE, MIX, FUNCTF, FILTA,
//! FILTB, SUBTA–C, FILTC, TRIGB, LIMA, UPA1, UPA2, LIMC, LIMD, UPB, XOR, FLOATA, FLOATB, TONE,
//! TRANS, TRIGA). The reconstructed signal is the output, as a linear-PCM system uses it (the
//! standard's G.711 output conversion and synchronous coding adjustment do not apply).

/// Per rate: the quantised log magnitudes (RECONST), scale factor multipliers W (FUNCTW) and
/// speed control values F (FUNCTF), indexed by the code word's magnitude bits, as the tables of
/// section 4.2 give them for a positive code word (negative ones mirror them).
struct Tables {
    dqln: &'static [i32],
    w: &'static [i32],
    f: &'static [i32],
}

// 16 kbit/s: table 11/G.726 (2-bit code words: sign, one magnitude bit)
const T16: Tables = Tables {
    dqln: &[116, 365],
    w: &[-22, 439],
    f: &[0, 7],
};
// 24 kbit/s: table 9/G.726
const T24: Tables = Tables {
    dqln: &[-2048, 135, 273, 373],
    w: &[-4, 30, 137, 582],
    f: &[0, 1, 2, 7],
};
// 32 kbit/s: table 7/G.726
const T32: Tables = Tables {
    dqln: &[-2048, 4, 135, 213, 273, 323, 373, 425],
    w: &[-12, 18, 41, 64, 112, 198, 355, 1122],
    f: &[0, 0, 0, 1, 1, 1, 3, 7],
};
// 40 kbit/s: table 5/G.726
const T40: Tables = Tables {
    dqln: &[
        -2048, -66, 28, 104, 169, 224, 274, 318, 358, 395, 429, 459, 488, 514, 539, 566,
    ],
    w: &[
        14, 14, 24, 39, 40, 41, 58, 100, 141, 179, 219, 280, 358, 440, 529, 696,
    ],
    f: &[0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6],
};

/// A value in the standard's floating-point format (FLOATA/FLOATB): sign, 4-bit exponent and
/// 6-bit mantissa.
#[derive(Debug, Clone, Copy)]
struct Float {
    negative: bool,
    exp: i32,
    mant: i32,
}

impl Float {
    /// FLOATA/FLOATB: `magnitude` (15 bits) with its sign.
    fn new(negative: bool, magnitude: i32) -> Self {
        let exp = 32 - (magnitude as u32).leading_zeros() as i32;
        let mant = if magnitude == 0 {
            1 << 5
        } else {
            (magnitude << 6) >> exp
        };
        Self {
            negative,
            exp,
            mant,
        }
    }
}

/// FMULT: a predictor coefficient (`an`, 16 bits, two's complement) times a stored value.
fn fmult(an: i32, srn: Float) -> i32 {
    let an = an >> 2;
    let an_mag = if an < 0 { (-an) & 0x1fff } else { an };
    let a = Float::new(an < 0, an_mag);
    let exp = a.exp + srn.exp;
    let mant = (a.mant * srn.mant + 48) >> 4;
    let mag = if exp > 19 {
        (mant << (exp - 19)) & 0x7fff
    } else {
        mant >> (19 - exp)
    };
    if a.negative != srn.negative {
        -mag
    } else {
        mag
    }
}

/// One channel's decoder state (section 4.2, the delay elements).
pub struct Decoder {
    bits: u32,
    tables: &'static Tables,
    /// Second-order pole coefficients A1, A2 and sixth-order zero coefficients B1–B6.
    a: [i32; 2],
    b: [i32; 6],
    /// The last six quantised differences and two reconstructed signals, in floating format.
    dq: [Float; 6],
    sr: [Float; 2],
    /// Signs of the last two partial reconstructed signals (PK1, PK2): true when negative.
    pk: [bool; 2],
    /// Scale factors: unlocked (YU), locked (YL, 19 bits).
    yu: i32,
    yl: i32,
    /// Speed control: short- and long-term averages of F, and the unlimited speed parameter.
    dms: i32,
    dml: i32,
    ap: i32,
    /// Tone detected (TD).
    td: bool,
}

impl Decoder {
    /// A decoder for `bits`-bit code words (2 to 5: 16 to 40 kbit/s); `None` for other sizes.
    pub fn new(bits: u32) -> Option<Self> {
        let tables = match bits {
            2 => &T16,
            3 => &T24,
            4 => &T32,
            5 => &T40,
            _ => return None,
        };
        let zero = Float::new(false, 0);
        Some(Self {
            bits,
            tables,
            a: [0; 2],
            b: [0; 6],
            dq: [zero; 6],
            sr: [zero; 2],
            pk: [false; 2],
            yu: 544,
            yl: 34816,
            dms: 0,
            dml: 0,
            ap: 0,
            td: false,
        })
    }

    /// Decode one code word (`bits` bits, sign first) to a 16-bit linear sample.
    pub fn decode(&mut self, code: u32) -> i16 {
        let sign_bit = 1 << (self.bits - 1);
        let negative = code & sign_bit != 0;
        // the magnitude index: the tables list positive code words; a negative word is the
        // one's complement of the positive one with the same magnitude
        let index = if negative {
            (!code & (sign_bit - 1)) as usize
        } else {
            (code & (sign_bit - 1)) as usize
        };
        let t = self.tables;

        // FMULT, ACCUM: the signal estimate from the zeros and the poles
        // (in the standard's 16-bit two's complement, as every sum below)
        let sezi = (0..6).map(|i| fmult(self.b[i], self.dq[i])).sum::<i32>() as i16 as i32;
        let sei =
            (sezi + fmult(self.a[1], self.sr[1]) + fmult(self.a[0], self.sr[0])) as i16 as i32;
        let sez = sezi >> 1;
        let se = sei >> 1;

        // MIX: the quantiser scale factor
        let al = if self.ap >= 256 { 64 } else { self.ap >> 2 };
        let y = {
            let yl6 = self.yl >> 6;
            let dif = self.yu - yl6;
            let prod = if dif >= 0 {
                (dif * al) >> 6
            } else {
                -((-dif * al) >> 6)
            };
            yl6 + prod
        };

        // RECONST, ADDA, ANTILOG: the quantised difference signal
        let dql = t.dqln[index] + (y >> 2);
        let dq_mag = if dql < 0 {
            0
        } else {
            let dex = (dql >> 7) & 15;
            let dqt = 128 + (dql & 127);
            (dqt << dex) >> 7
        };
        let dq = if negative { -dq_mag } else { dq_mag };

        // ADDB, ADDC: the reconstructed signal (16 bits, two's complement) and the partial one
        let sr = (se + dq) as i16 as i32;
        let dqsez = (dq + sez) as i16 as i32;

        // TRANS: a transition from a tone (partial band signal) is detected, on the locked
        // scale factor before this sample adapts it
        let ylint = self.yl >> 15;
        let ylfrac = (self.yl >> 10) & 0x1f;
        let thr2 = if ylint > 9 {
            31 << 10
        } else {
            (32 + ylfrac) << ylint
        };
        let dqthr = (thr2 + (thr2 >> 1)) >> 1;
        let tr = self.td && dq_mag > dqthr;

        // FUNCTW, FILTD, LIMB, FILTE: scale factor adaptation
        let wi = t.w[index] << 5;
        self.yu = (y + ((wi - y) >> 5)).clamp(544, 5120);
        self.yl += self.yu + ((-self.yl) >> 6);

        // UPA2, UPA1, LIMC, LIMD, UPB, XOR, TRIGB: predictor adaptation
        let pk0 = dqsez < 0;
        if tr {
            self.a = [0; 2];
            self.b = [0; 6];
        } else {
            let mut a2 = self.a[1] - (self.a[1] >> 7);
            let mut a1 = self.a[0] - (self.a[0] >> 8);
            if dqsez != 0 {
                let differ1 = pk0 != self.pk[0];
                let fa1 = if differ1 { self.a[0] } else { -self.a[0] };
                a2 += if fa1 < -8191 {
                    -256
                } else if fa1 > 8191 {
                    255
                } else {
                    fa1 >> 5
                };
                a2 += if pk0 != self.pk[1] { -128 } else { 128 };
                a1 += if differ1 { -192 } else { 192 };
            }
            let a2 = a2.clamp(-12288, 12288);
            let a1_limit = 15360 - a2;
            self.a = [a1.clamp(-a1_limit, a1_limit), a2];
            let leak = if self.bits == 5 { 9 } else { 8 };
            for i in 0..6 {
                self.b[i] -= self.b[i] >> leak;
                if dq_mag != 0 {
                    self.b[i] += if negative == self.dq[i].negative {
                        128
                    } else {
                        -128
                    };
                }
            }
        }

        // FLOATA, FLOATB and the delays
        self.dq.rotate_right(1);
        self.dq[0] = Float::new(negative, dq_mag);
        self.sr[1] = self.sr[0];
        self.sr[0] = Float::new(sr < 0, sr.unsigned_abs() as i32 & 0x7fff);
        self.pk = [pk0, self.pk[0]];

        // TONE: a tone (partial band signal) is detected
        self.td = !tr && self.a[1] < -11776;

        // FUNCTF, FILTA, FILTB, SUBTA–C, FILTC, TRIGB: adaptation speed control
        let fi = t.f[index] << 9;
        self.dms += (fi - self.dms) >> 5;
        self.dml += ((fi << 2) - self.dml) >> 7;
        self.ap = if tr {
            256
        } else if y < 1536 || self.td || ((self.dms << 2) - self.dml).abs() >= (self.dml >> 3) {
            self.ap + ((512 - self.ap) >> 4)
        } else {
            self.ap + ((-self.ap) >> 4)
        };

        // the reconstructed signal is 14-bit linear PCM
        (sr << 2).clamp(i16::MIN as i32, i16::MAX as i32) as i16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_two_to_five_bit_code_words() {
        assert!(Decoder::new(1).is_none());
        assert!(Decoder::new(6).is_none());
        for bits in 2..=5 {
            assert!(Decoder::new(bits).is_some());
        }
    }

    #[test]
    fn any_code_sequence_stays_bounded() {
        // the adaptation is bounded whatever arrives: alternating extreme code words must not
        // overflow or panic (debug builds check the arithmetic)
        for bits in 2..=5u32 {
            let mut d = Decoder::new(bits).unwrap();
            let top = (1u32 << bits) - 1;
            for i in 0..20_000u32 {
                let code = match i % 3 {
                    0 => top >> 1,
                    1 => top,
                    _ => i.wrapping_mul(2_654_435_761) & top,
                };
                d.decode(code);
            }
        }
    }
}
