//! Voice activity: finds the stretches of speech in one channel of 16 kHz audio, and packs them
//! into ≤ 30 s windows (silence squeezed out) with a map from window time back to call time.
//! The detector is energy-based over 20 ms frames of high-passed audio, with a noise floor
//! estimated per channel, so it follows each line's own noise level (8 kHz telephone lines,
//! hum, hiss). Pure computation; no I/O.

use crate::analyze::metrics::{ChannelActivity, Span};

/// Frame length in samples at 16 kHz (20 ms).
pub const FRAME: usize = 320;
const RATE: usize = 16_000;

/// Detector settings.
#[derive(Debug, Clone, Copy)]
pub struct VadParams {
    /// Speech must be this many dB above the channel's noise floor.
    pub margin_db: f32,
    /// ...and never below this absolute level (dBFS), so a silent channel stays silent.
    pub min_level_db: f32,
    /// Speech shorter than this is dropped as a click.
    pub min_speech_ms: u32,
    /// Pauses shorter than this do not split a region.
    pub min_silence_ms: u32,
    /// Padding added at both ends of each region (0: the regions are the speech itself).
    pub pad_ms: u32,
}

impl Default for VadParams {
    fn default() -> Self {
        VadParams {
            margin_db: 12.0,
            min_level_db: -50.0,
            min_speech_ms: 120,
            min_silence_ms: 500,
            pad_ms: 0,
        }
    }
}

/// A stretch of speech, in samples at 16 kHz (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub start: usize,
    pub end: usize,
}

impl Region {
    pub fn start_ms(&self) -> i64 {
        (self.start * 1000 / RATE) as i64
    }
    pub fn end_ms(&self) -> i64 {
        (self.end * 1000 / RATE) as i64
    }
}

/// Per-frame energy in dBFS after a 150 Hz one-pole high-pass (removes hum and DC).
pub fn frame_levels(samples: &[f32]) -> Vec<f32> {
    let alpha = {
        let rc = 1.0 / (2.0 * std::f32::consts::PI * 150.0);
        let dt = 1.0 / RATE as f32;
        rc / (rc + dt)
    };
    let mut prev_x = 0f32;
    let mut prev_y = 0f32;
    samples
        .chunks(FRAME)
        .map(|frame| {
            let mut sum = 0f64;
            for &x in frame {
                let y = alpha * (prev_y + x - prev_x);
                prev_x = x;
                prev_y = y;
                sum += (y as f64) * (y as f64);
            }
            let mean = sum / frame.len().max(1) as f64;
            (10.0 * (mean + 1e-12).log10()) as f32
        })
        .collect()
}

/// The channel's noise floor: the 10th percentile of frame levels.
pub fn noise_floor(levels: &[f32]) -> f32 {
    if levels.is_empty() {
        return -120.0;
    }
    let mut v = levels.to_vec();
    v.sort_by(f32::total_cmp);
    v[v.len() / 10]
}

/// Find speech regions in 16 kHz mono audio.
pub fn detect(samples: &[f32], p: &VadParams) -> Vec<Region> {
    detect_excluding(samples, p, &[])
}

/// Like [`detect`], with the `exclude` stretches (e.g. music) treated as silence.
pub fn detect_excluding(samples: &[f32], p: &VadParams, exclude: &[Region]) -> Vec<Region> {
    let mut levels = frame_levels(samples);
    let threshold = (noise_floor(&levels) + p.margin_db).max(p.min_level_db);
    for r in exclude {
        let end = r.end.div_ceil(FRAME).min(levels.len());
        for l in &mut levels[(r.start / FRAME).min(end)..end] {
            *l = f32::NEG_INFINITY;
        }
    }
    let ms_to_frames = |ms: u32| (ms as usize * RATE / 1000).div_ceil(FRAME);
    let (min_speech, min_silence, pad) = (
        ms_to_frames(p.min_speech_ms),
        ms_to_frames(p.min_silence_ms),
        (p.pad_ms as usize * RATE / 1000),
    );
    // raw runs of loud frames
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, &l) in levels.iter().enumerate() {
        match (l > threshold, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, levels.len()));
    }
    // bridge short pauses, then drop clicks
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for r in runs {
        match merged.last_mut() {
            Some(last) if r.0 - last.1 < min_silence => last.1 = r.1,
            _ => merged.push(r),
        }
    }
    let mut out: Vec<Region> = Vec::new();
    for (s, e) in merged.into_iter().filter(|(s, e)| e - s >= min_speech) {
        let start = (s * FRAME).saturating_sub(pad);
        let end = (e * FRAME + pad).min(samples.len());
        match out.last_mut() {
            Some(last) if start <= last.end => last.end = end,
            _ => out.push(Region { start, end }),
        }
    }
    out
}

/// Regions widened by `pad_ms` on both sides (clipped to `len` samples), merged where they meet.
/// Transcription gets padded regions so word onsets and endings are not clipped.
pub fn pad(regions: &[Region], pad_ms: u32, len: usize) -> Vec<Region> {
    let pad = pad_ms as usize * RATE / 1000;
    let mut out: Vec<Region> = Vec::new();
    for r in regions {
        let (start, end) = (r.start.saturating_sub(pad), (r.end + pad).min(len));
        match out.last_mut() {
            Some(last) if start <= last.end => last.end = end,
            _ => out.push(Region { start, end }),
        }
    }
    out
}

/// Mean level of the samples inside `regions`, in dBFS (RMS; a full-scale square wave is 0).
pub fn level_db(samples: &[f32], regions: &[Region]) -> Option<f32> {
    let (mut sum, mut n) = (0f64, 0usize);
    for r in regions {
        for &x in &samples[r.start.min(samples.len())..r.end.min(samples.len())] {
            sum += (x as f64) * (x as f64);
            n += 1;
        }
    }
    (n > 0).then(|| (10.0 * (sum / n as f64 + 1e-12).log10()) as f32)
}

/// Speech regions packed into one whisper window, with the map back to call time.
#[derive(Debug, Clone)]
pub struct Window {
    pub samples: Vec<f32>,
    /// (offset in window, offset in source, length), in samples, ascending.
    pieces: Vec<(usize, usize, usize)>,
}

impl Window {
    /// Map a time in the window (ms) to call time (ms). Times inside an inserted gap map to the
    /// end of the piece before it.
    pub fn to_source_ms(&self, window_ms: i64) -> i64 {
        let pos = (window_ms.max(0) as usize) * RATE / 1000;
        let mut best = self.pieces.first().map_or(0, |p| p.1);
        for &(w, s, len) in &self.pieces {
            if pos < w {
                break;
            }
            best = if pos < w + len {
                s + (pos - w)
            } else {
                s + len
            };
        }
        (best * 1000 / RATE) as i64
    }
}

impl Window {
    /// Index of the piece holding window time `ms`, or the nearest one when `ms` is in a gap.
    pub fn piece_at(&self, window_ms: i64) -> usize {
        let pos = (window_ms.max(0) as usize * RATE / 1000) as i64;
        let mut best = (0, i64::MAX);
        for (i, &(w, _, len)) in self.pieces.iter().enumerate() {
            let (a, b) = (w as i64, (w + len) as i64);
            let d = if pos < a {
                a - pos
            } else if pos >= b {
                pos - b + 1
            } else {
                0
            };
            if d < best.1 {
                best = (i, d);
            }
        }
        best.0
    }

    /// When window time `ms` falls in an inserted pause: the pieces before and after it.
    pub fn gap_at(&self, window_ms: i64) -> Option<(usize, usize)> {
        let pos = window_ms.max(0) as usize * RATE / 1000;
        self.pieces.windows(2).enumerate().find_map(|(i, w)| {
            let end_prev = w[0].0 + w[0].2;
            (pos >= end_prev && pos < w[1].0).then_some((i, i + 1))
        })
    }

    /// Number of pieces (stretches of source speech) in the window.
    pub fn piece_count(&self) -> usize {
        self.pieces.len()
    }

    /// Source samples of piece `i`.
    pub fn piece_region(&self, i: usize) -> Region {
        let (_, s, len) = self.pieces[i];
        Region {
            start: s,
            end: s + len,
        }
    }

    /// Window time (ms) where piece `i` ends.
    pub fn piece_end_ms(&self, i: usize) -> i64 {
        let (w, _, len) = self.pieces[i];
        ((w + len) * 1000 / RATE) as i64
    }

    /// Source sample at window time `ms` (clamped into the pieces, like [`Self::to_source_ms`]).
    pub fn to_source_sample(&self, window_ms: i64) -> usize {
        self.to_source_ms(window_ms) as usize * RATE / 1000
    }

    /// Call-time span (ms) of piece `i`.
    pub fn piece_source_ms(&self, i: usize) -> (i64, i64) {
        let (_, s, len) = self.pieces[i];
        ((s * 1000 / RATE) as i64, ((s + len) * 1000 / RATE) as i64)
    }
}

/// The first window [`pack`] would make of `regions`, and the regions (or the rest of a split
/// one) left for later windows.
pub fn pack_next(
    samples: &[f32],
    regions: &[Region],
    max_ms: u32,
    gap_ms: u32,
) -> Option<(Window, Vec<Region>)> {
    // a window never holds more than max_ms of speech, so the regions it can reach are few
    let mut reach = 0;
    let mut total = 0;
    let max = max_ms as usize * RATE / 1000;
    while reach < regions.len() && total <= max {
        total += regions[reach].end - regions[reach].start;
        reach += 1;
    }
    let window = pack(samples, &regions[..reach], max_ms, gap_ms)
        .into_iter()
        .next()?;
    let (_, s, len) = *window.pieces.last()?;
    let covered_to = s + len;
    let mut rest = Vec::new();
    for r in regions {
        if r.end <= covered_to {
            continue;
        }
        rest.push(Region {
            start: r.start.max(covered_to),
            end: r.end,
        });
    }
    Some((window, rest))
}

/// Pack regions into windows of at most `max_ms`, separated by `gap_ms` of silence. A region
/// longer than a window is split across windows.
pub fn pack(samples: &[f32], regions: &[Region], max_ms: u32, gap_ms: u32) -> Vec<Window> {
    let max = max_ms as usize * RATE / 1000;
    let gap = gap_ms as usize * RATE / 1000;
    let mut windows: Vec<Window> = Vec::new();
    let mut cur = Window {
        samples: Vec::new(),
        pieces: Vec::new(),
    };
    for r in regions {
        let mut s = r.start;
        while s < r.end {
            let need_gap = if cur.samples.is_empty() { 0 } else { gap };
            let room = max.saturating_sub(cur.samples.len() + need_gap);
            // start a new window rather than leave a sliver of a region at a window's end
            if room < RATE && !cur.samples.is_empty() {
                windows.push(std::mem::replace(
                    &mut cur,
                    Window {
                        samples: Vec::new(),
                        pieces: Vec::new(),
                    },
                ));
                continue;
            }
            let take = (r.end - s).min(room.max(RATE));
            cur.samples.extend(std::iter::repeat_n(0.0, need_gap));
            cur.pieces.push((cur.samples.len(), s, take));
            cur.samples.extend_from_slice(&samples[s..s + take]);
            s += take;
        }
    }
    if !cur.samples.is_empty() {
        windows.push(cur);
    }
    windows
}

/// Music detector settings. Hold music is loud without pause and spectrally steady (held
/// notes, sustained chords), while speech changes its spectrum every few tens of ms and
/// pauses between phrases.
#[derive(Debug, Clone, Copy)]
pub struct MusicParams {
    /// Mean cosine similarity of magnitude spectra 100 ms apart above which a block is steady.
    pub min_similarity: f32,
    /// Share of a block's frames that must be above the speech threshold.
    pub min_active: f32,
    /// Music shorter than this is not reported (a sustained vowel is not music).
    pub min_music_ms: u32,
}

impl Default for MusicParams {
    fn default() -> Self {
        MusicParams {
            min_similarity: 0.75,
            min_active: 0.8,
            min_music_ms: 3_000,
        }
    }
}

/// Block length of the music detector: 25 frames (0.5 s).
const MUSIC_BLOCK: usize = 25;
/// Spectral-similarity lag: 5 frames (100 ms).
const MUSIC_LAG: usize = 5;

/// Stretches of music (hold music, IVR jingles) inside the speech `regions` of one 16 kHz
/// channel, at 0.5 s resolution. Callers remove them from the speech before transcription.
pub fn music(samples: &[f32], regions: &[Region], p: &MusicParams) -> Vec<Region> {
    use realfft::RealFftPlanner;
    const N: usize = 512;
    let block_len = MUSIC_BLOCK * FRAME;
    let min_blocks = (p.min_music_ms as usize * RATE / 1000).div_ceil(block_len);
    let candidates: Vec<&Region> = regions
        .iter()
        .filter(|r| r.end - r.start >= min_blocks * block_len)
        .collect();
    if candidates.is_empty() {
        return Vec::new();
    }
    let levels = frame_levels(samples);
    let threshold = noise_floor(&levels) + VadParams::default().margin_db;
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N);
    let hann: Vec<f32> = (0..N)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / N as f32).cos())
        .collect();
    let (lo, hi) = (150 * N / RATE, 3400 * N / RATE);
    let mut input = fft.make_input_vec();
    let mut spec = fft.make_output_vec();
    // unit-norm magnitude spectrum (150 Hz - 3.4 kHz) of the frame centred on frame `f`
    let mut spectrum = |f: usize| -> Vec<f32> {
        let start = (f * FRAME + FRAME / 2) as isize - (N / 2) as isize;
        for (i, x) in input.iter_mut().enumerate() {
            let j = start + i as isize;
            *x = if j >= 0 && (j as usize) < samples.len() {
                samples[j as usize] * hann[i]
            } else {
                0.0
            };
        }
        fft.process(&mut input, &mut spec)
            .expect("fft buffers have the planned sizes");
        let v: Vec<f32> = spec[lo..hi].iter().map(|c| c.norm()).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
        v.into_iter().map(|x| x / n).collect()
    };
    let mut out: Vec<Region> = Vec::new();
    for r in candidates {
        let (f0, f1) = (r.start / FRAME, (r.end / FRAME).min(levels.len()));
        let spectra: Vec<Vec<f32>> = (f0..f1).map(&mut spectrum).collect();
        let steady: Vec<bool> = (f0..f1)
            .step_by(MUSIC_BLOCK)
            .map(|b| {
                let end = (b + MUSIC_BLOCK).min(f1);
                let active = (b..end).filter(|&f| levels[f] > threshold).count();
                let sims: Vec<f32> = (b.max(f0 + MUSIC_LAG)..end)
                    .filter(|&f| levels[f] > threshold && levels[f - MUSIC_LAG] > threshold)
                    .map(|f| {
                        let (a, c) = (&spectra[f - f0], &spectra[f - f0 - MUSIC_LAG]);
                        a.iter().zip(c).map(|(x, y)| x * y).sum::<f32>()
                    })
                    .collect();
                let sim = sims.iter().sum::<f32>() / sims.len().max(1) as f32;
                active as f32 >= p.min_active * (end - b) as f32
                    && !sims.is_empty()
                    && sim >= p.min_similarity
            })
            .collect();
        // runs of steady blocks, bridging single unsteady blocks inside a run
        let mut i = 0;
        while i < steady.len() {
            if !steady[i] {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < steady.len() && (steady[j] || (j + 1 < steady.len() && steady[j + 1])) {
                j += 1;
            }
            if j - i >= min_blocks {
                // blocks are coarse: extend to the edges of the loud run, by at most a block
                let (mut a, mut e) = (f0 + i * MUSIC_BLOCK, (f0 + j * MUSIC_BLOCK).min(f1));
                let (a_min, e_max) = (
                    a.saturating_sub(MUSIC_BLOCK).max(f0),
                    (e + MUSIC_BLOCK).min(f1),
                );
                while a > a_min && levels[a - 1] > threshold {
                    a -= 1;
                }
                while e < e_max && levels[e] > threshold {
                    e += 1;
                }
                out.push(Region {
                    start: a * FRAME,
                    end: (e * FRAME).min(r.end),
                });
            }
            i = j;
        }
    }
    out
}

/// Voice activity of one 16 kHz channel: speech regions found by the detector, less any music
/// in them (hold music is neither talk nor transcribed). Returns the activity (words are filled
/// in once the channel is transcribed) and the speech regions to transcribe.
pub fn activity(samples: &[f32]) -> (ChannelActivity, Vec<Region>) {
    let sound = detect(samples, &VadParams::default());
    let music = music(samples, &sound, &MusicParams::default());
    let speech = if music.is_empty() {
        sound
    } else {
        detect_excluding(samples, &VadParams::default(), &music)
    };
    let span = |r: &Region| Span {
        start_ms: r.start_ms(),
        end_ms: r.end_ms(),
    };
    let act = ChannelActivity {
        speech: speech.iter().map(span).collect(),
        words: 0,
        loudness_db: level_db(samples, &speech),
        music: music.iter().map(span).collect(),
    };
    (act, speech)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, amp: f32, seed: u32) -> Vec<f32> {
        let mut x = seed.max(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32 - 0.5) * 2.0 * amp
            })
            .collect()
    }

    /// 1 s noise, 1 s "speech" (a loud modulated tone), 2 s noise, 0.5 s speech, 1 s noise
    fn synthetic() -> Vec<f32> {
        let mut v = noise(5 * RATE + RATE / 2, 0.002, 7);
        for (from, to) in [(RATE, 2 * RATE), (4 * RATE, 4 * RATE + RATE / 2)] {
            for (i, x) in v[from..to].iter_mut().enumerate() {
                let t = i as f32 / RATE as f32;
                *x += 0.3
                    * (2.0 * std::f32::consts::PI * 300.0 * t).sin()
                    * (0.6 + 0.4 * (2.0 * std::f32::consts::PI * 4.0 * t).sin());
            }
        }
        v
    }

    #[test]
    fn finds_speech_between_known_silences() {
        let r = detect(&synthetic(), &VadParams::default());
        assert_eq!(r.len(), 2, "{r:?}");
        assert!((r[0].start_ms() - 1000).abs() <= 40, "{r:?}");
        assert!((r[0].end_ms() - 2000).abs() <= 40, "{r:?}");
        assert!((r[1].start_ms() - 4000).abs() <= 40, "{r:?}");
        assert!((r[1].end_ms() - 4500).abs() <= 40, "{r:?}");
        let padded = pad(&r, 150, 5 * RATE + RATE / 2);
        assert_eq!(padded[0].start_ms(), r[0].start_ms() - 150);
        assert_eq!(padded[1].end_ms(), r[1].end_ms() + 150);
    }

    #[test]
    fn silence_and_hum_have_no_speech() {
        assert!(detect(&noise(3 * RATE, 0.002, 3), &VadParams::default()).is_empty());
        let hum: Vec<f32> = (0..3 * RATE)
            .map(|i| 0.05 * (2.0 * std::f32::consts::PI * 50.0 * i as f32 / RATE as f32).sin())
            .collect();
        assert!(detect(&hum, &VadParams::default()).is_empty());
        assert!(detect(&[], &VadParams::default()).is_empty());
    }

    /// Notes of 0.4 s over a sustained chord, like the hold music of the samples.
    fn music_signal(seconds: f32) -> Vec<f32> {
        let notes = [392.0f32, 440.0, 494.0, 523.3, 494.0, 440.0];
        (0..(seconds * RATE as f32) as usize)
            .map(|i| {
                let t = i as f32 / RATE as f32;
                let f = notes[(t / 0.4) as usize % notes.len()];
                let chord: f32 = [261.6f32, 329.6, 392.0]
                    .iter()
                    .map(|c| (2.0 * std::f32::consts::PI * c * t).sin())
                    .sum();
                0.04 * chord + 0.15 * (2.0 * std::f32::consts::PI * f * t).sin()
            })
            .collect()
    }

    #[test]
    fn music_is_found_and_speech_like_sound_is_not() {
        // 1 s line noise, 6 s music, 1 s line noise
        let mut x = noise(RATE, 0.001, 3);
        x.extend(music_signal(6.0));
        x.extend(noise(RATE, 0.001, 4));
        let p = VadParams::default();
        let sound = detect(&x, &p);
        let m = music(&x, &sound, &MusicParams::default());
        assert_eq!(m.len(), 1, "{m:?}");
        assert!((m[0].start_ms() - 1_000).abs() <= 100 && (m[0].end_ms() - 7_000).abs() <= 100);
        // with the music excluded nothing is left to transcribe
        assert!(detect_excluding(&x, &p, &m).is_empty());
        // 2 s of music is too short to be a hold: not reported
        let mut short = noise(RATE, 0.001, 5);
        short.extend(music_signal(2.0));
        short.extend(noise(RATE, 0.001, 6));
        assert!(music(&short, &detect(&short, &p), &MusicParams::default()).is_empty());
        // short tonal bursts (1 s, 0.5 s) are not music either
        let s = synthetic();
        assert!(music(&s, &detect(&s, &p), &MusicParams::default()).is_empty());
    }

    #[test]
    fn packed_windows_map_back_to_call_time() {
        let audio = synthetic();
        let regions = detect(&audio, &VadParams::default());
        let w = pack(&audio, &regions, 28_000, 300);
        assert_eq!(w.len(), 1);
        let win = &w[0];
        // window holds both regions and one gap, much less than the 5.5 s call
        let expect = regions.iter().map(|r| r.end - r.start).sum::<usize>() + RATE * 300 / 1000;
        assert_eq!(win.samples.len(), expect);
        assert_eq!(win.to_source_ms(0), regions[0].start_ms());
        let second = (regions[0].end - regions[0].start + RATE * 300 / 1000) * 1000 / RATE;
        assert!((win.to_source_ms(second as i64 + 100) - (regions[1].start_ms() + 100)).abs() <= 1);
    }

    #[test]
    fn long_regions_are_split_across_windows() {
        let audio = vec![0.1f32; 70 * RATE];
        let regions = [Region {
            start: 0,
            end: audio.len(),
        }];
        let w = pack(&audio, &regions, 28_000, 300);
        assert_eq!(w.len(), 3);
        assert!(w.iter().all(|w| w.samples.len() <= 28 * RATE));
        assert_eq!(w.iter().map(|w| w.samples.len()).sum::<usize>(), 70 * RATE);
        assert_eq!(w[1].to_source_ms(0), 28_000);
    }
}
