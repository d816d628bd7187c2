//! Diarization of a mono recording: who speaks when, then each transcribed word given to the
//! speaker talking at its time. The speech the voice-activity stage found is cut into 1.5 s
//! windows (a shorter stretch is one window of its own), each window gets a CAM++ speaker
//! embedding (`embed::voice`), and the windows are clustered ([`cluster`]: spherical k-means
//! with seeded k-means++ starts; one voice when the two halves are as alike as one voice's
//! windows are, a third voice only when clearly distinct). Transcription runs on the whole
//! channel as before, and [`split_by_speaker`] cuts its segments where the speaker changes, by
//! whisper's word times, at sentence ends nearby. [`der`] scores a diarization against a
//! reference (the benchmark's and tests' measure).

use crate::analyze::metrics::Span;
use crate::conversation::TextTime;
use crate::embed::voice::{Campplus, VoiceError, cosine};
use crate::pipeline::transcribe::Segment;
use crate::pipeline::vad::Region;

const RATE: usize = 16_000;
/// Window length and step (samples).
const WINDOW: usize = RATE * 3 / 2;
const STEP: usize = WINDOW;
/// Speech shorter than this is not embedded (too little voice to tell); its time goes to the
/// nearest window's speaker.
const MIN_CLIP: usize = RATE * 2 / 5;
/// Window lengths are rounded down to this many samples, so that short stretches batch.
const QUANTUM: usize = RATE / 10;
/// Two parts of a call whose windows are this alike on average (cosine similarity) are one voice.
pub const SAME_SPEAKER: f32 = 0.52;
/// A third voice (an IVR, a third party) must be less alike than this to both others.
pub const THIRD_SPEAKER: f32 = 0.3;
/// A cluster holding less than this share of the embedded speech is not a voice of its own (a
/// cough, a burst of line noise, a few words of overlap).
const MIN_SHARE: f64 = 0.05;

/// Who speaks when.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diarization {
    /// Speakers found (0 when there is no speech), numbered by first appearance.
    pub speakers: usize,
    /// Sorted, non-overlapping stretches of one speaker each.
    pub turns: Vec<SpeakerTurn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeakerTurn {
    pub speaker: usize,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Diarization {
    /// The speech spans of speaker `k`.
    pub fn spans_of(&self, k: usize) -> Vec<Span> {
        self.turns
            .iter()
            .filter(|t| t.speaker == k)
            .map(|t| Span {
                start_ms: t.start_ms,
                end_ms: t.end_ms,
            })
            .collect()
    }

    /// The speaker at call time `ms`: the turn holding it, else the nearest.
    pub fn speaker_at(&self, ms: i64) -> Option<usize> {
        self.turns
            .iter()
            .min_by_key(|t| {
                if ms < t.start_ms {
                    t.start_ms - ms
                } else if ms >= t.end_ms {
                    ms - t.end_ms + 1
                } else {
                    0
                }
            })
            .map(|t| t.speaker)
    }

    /// The speaker talking most of `[start, end)`; the nearest when none is.
    pub fn main_speaker(&self, start_ms: i64, end_ms: i64) -> Option<usize> {
        let mut talk = vec![0i64; self.speakers];
        for t in &self.turns {
            talk[t.speaker] += (t.end_ms.min(end_ms) - t.start_ms.max(start_ms)).max(0);
        }
        match talk.iter().enumerate().max_by_key(|(_, v)| **v) {
            Some((k, v)) if *v > 0 => Some(k),
            _ => self.speaker_at((start_ms + end_ms) / 2),
        }
    }
}

/// One embedded stretch: samples `[start, end)`.
#[derive(Debug, Clone, Copy)]
struct Clip {
    start: usize,
    end: usize,
}

fn clips_of(regions: &[Region]) -> Vec<Clip> {
    let mut out = Vec::new();
    for r in regions {
        let len = r.end - r.start;
        if len < MIN_CLIP {
            continue;
        }
        if len <= WINDOW + STEP / 2 {
            let len = len / QUANTUM * QUANTUM;
            let start = r.start + (r.end - r.start - len) / 2;
            out.push(Clip {
                start,
                end: start + len,
            });
            continue;
        }
        let mut s = r.start;
        loop {
            if s + WINDOW >= r.end {
                // the last window ends with the stretch
                out.push(Clip {
                    start: r.end - WINDOW,
                    end: r.end,
                });
                break;
            }
            out.push(Clip {
                start: s,
                end: s + WINDOW,
            });
            s += STEP;
        }
    }
    out
}

/// Who speaks when in one 16 kHz channel, given its speech regions.
pub fn diarize(
    model: &Campplus,
    samples: &[f32],
    speech: &[Region],
) -> Result<Diarization, VoiceError> {
    let clips = clips_of(speech);
    if clips.is_empty() {
        return Ok(Diarization {
            speakers: usize::from(!speech.is_empty()),
            turns: speech
                .iter()
                .map(|r| SpeakerTurn {
                    speaker: 0,
                    start_ms: r.start_ms(),
                    end_ms: r.end_ms(),
                })
                .collect(),
        });
    }
    let audio: Vec<&[f32]> = clips
        .iter()
        .map(|c| &samples[c.start..c.end.min(samples.len())])
        .collect();
    let embeddings = model.embed(&audio)?;
    let weights: Vec<f64> = clips.iter().map(|c| (c.end - c.start) as f64).collect();
    let labels = cluster(&embeddings, &weights);
    Ok(turns_of(speech, &clips, &labels))
}

/// Cluster the windows' embeddings into voices, labelled by first appearance: a two-way split
/// by spherical k-means; the windows are one voice when its halves are as alike as
/// [`SAME_SPEAKER`] (the same voice's windows are about 0.6–0.7 alike, different voices'
/// 0.1–0.5) or one half holds less than [`MIN_SHARE`] of the speech (an outlier, not a voice);
/// three voices when a three-way split's parts each hold [`MIN_SHARE`] and are all less alike
/// than [`THIRD_SPEAKER`].
pub fn cluster(embeddings: &[Vec<f32>], weights: &[f64]) -> Vec<usize> {
    let n = embeddings.len();
    if n < 2 {
        return vec![0; n];
    }
    let two = kmeans(embeddings, 2);
    let total: f64 = weights.iter().sum();
    let share = |labels: &[usize], k: usize| {
        (0..n)
            .filter(|&i| labels[i] == k)
            .map(|i| weights[i])
            .sum::<f64>()
            / total
    };
    if between(embeddings, &two, 0, 1) >= SAME_SPEAKER || (0..2).any(|k| share(&two, k) < MIN_SHARE)
    {
        return vec![0; n];
    }
    let mut labels = two;
    if n >= 3 {
        let three = kmeans(embeddings, 3);
        let distinct =
            (0..3).all(|a| (a + 1..3).all(|b| between(embeddings, &three, a, b) < THIRD_SPEAKER));
        if distinct && (0..3).all(|k| share(&three, k) >= MIN_SHARE) {
            labels = three;
        }
    }
    by_first_appearance(&labels)
}

/// Spherical k-means with k-means++ starts (seeded, so a call always gets the same answer),
/// the best of several by total similarity to the cluster means.
fn kmeans(e: &[Vec<f32>], k: usize) -> Vec<usize> {
    use rand::{Rng, SeedableRng};
    let n = e.len();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(n as u64);
    let mut best: Option<(f32, Vec<usize>)> = None;
    for _ in 0..8 {
        // k-means++: each next start far (in cosine) from the chosen ones
        let mut starts = vec![rng.random_range(0..n)];
        while starts.len() < k.min(n) {
            let far: Vec<f32> = e
                .iter()
                .map(|v| {
                    let near = starts
                        .iter()
                        .map(|&c| cosine(v, &e[c]))
                        .fold(f32::MIN, f32::max);
                    (1.0 - near).max(0.0).powi(2)
                })
                .collect();
            let total: f32 = far.iter().sum();
            let mut pick = rng.random_range(0.0..total.max(1e-6));
            let mut chosen = n - 1;
            for (i, f) in far.iter().enumerate() {
                if pick < *f {
                    chosen = i;
                    break;
                }
                pick -= f;
            }
            starts.push(chosen);
        }
        let labels: Vec<usize> = e
            .iter()
            .map(|v| {
                (0..starts.len())
                    .max_by(|&a, &b| cosine(v, &e[starts[a]]).total_cmp(&cosine(v, &e[starts[b]])))
                    .unwrap_or(0)
            })
            .collect();
        let labels = refine(e, &labels, k);
        // Σ over windows of the similarity to their cluster's mean direction = Σ |cluster sum|
        let fit: f32 = (0..k)
            .map(|c| {
                let m = labels.iter().filter(|&&l| l == c).count() as f32;
                (between(e, &labels, c, c) * m * m).max(0.0).sqrt()
            })
            .sum();
        if best.as_ref().is_none_or(|b| fit > b.0) {
            best = Some((fit, labels));
        }
    }
    best.map(|b| b.1).unwrap_or_else(|| vec![0; n])
}

/// Mean cosine similarity between the members of clusters `a` and `b`.
fn between(e: &[Vec<f32>], labels: &[usize], a: usize, b: usize) -> f32 {
    let sum = |k: usize| -> Vec<f32> {
        let mut s = vec![0f32; e[0].len()];
        for (v, _) in e.iter().zip(labels).filter(|(_, l)| **l == k) {
            for (x, y) in s.iter_mut().zip(v) {
                *x += y;
            }
        }
        s
    };
    let count = |k: usize| labels.iter().filter(|&&l| l == k).count().max(1) as f32;
    cosine(&sum(a), &sum(b)) / (count(a) * count(b))
}

/// Spherical k-means from `labels`: each window moves to the cluster whose mean direction it is
/// closest to, until nothing moves (at most 20 rounds). An emptied cluster keeps its old members.
fn refine(e: &[Vec<f32>], labels: &[usize], k: usize) -> Vec<usize> {
    let mut labels = labels.to_vec();
    for _ in 0..20 {
        let centres: Vec<Vec<f32>> = (0..k)
            .map(|c| {
                let mut s = vec![0f32; e[0].len()];
                for (v, _) in e.iter().zip(&labels).filter(|(_, l)| **l == c) {
                    for (x, y) in s.iter_mut().zip(v) {
                        *x += y;
                    }
                }
                s
            })
            .collect();
        let next: Vec<usize> = e
            .iter()
            .map(|v| {
                (0..k)
                    .max_by(|&a, &b| cosine(v, &centres[a]).total_cmp(&cosine(v, &centres[b])))
                    .unwrap_or(0)
            })
            .collect();
        if next == labels || (0..k).any(|c| !next.contains(&c)) {
            break;
        }
        labels = next;
    }
    labels
}

/// Labels renumbered by first appearance.
fn by_first_appearance(labels: &[usize]) -> Vec<usize> {
    let mut seen: Vec<usize> = Vec::new();
    labels
        .iter()
        .map(|l| match seen.iter().position(|s| s == l) {
            Some(k) => k,
            None => {
                seen.push(*l);
                seen.len() - 1
            }
        })
        .collect()
}

/// Speaker turns from the labelled windows: each window speaks for its time up to the half-way
/// points with the overlapping windows before and after it; speech no window covers (too short
/// to embed) goes to the nearest window's speaker.
fn turns_of(speech: &[Region], clips: &[Clip], labels: &[usize]) -> Diarization {
    let ms = |s: usize| (s * 1000 / RATE) as i64;
    // the stretch each window speaks for
    let mut owned: Vec<(i64, i64, usize)> = Vec::new();
    for (i, c) in clips.iter().enumerate() {
        let mut start = c.start;
        let mut end = c.end;
        if let Some(p) = i.checked_sub(1).map(|p| clips[p])
            && p.end > c.start
        {
            start = (p.end + c.start) / 2;
        }
        if let Some(n) = clips.get(i + 1)
            && n.start < c.end
        {
            end = (c.end + n.start) / 2;
        }
        owned.push((ms(start), ms(end), labels[i]));
    }
    let nearest = |t: i64| -> usize {
        owned
            .iter()
            .min_by_key(|(s, e, _)| if t < *s { s - t } else { (t - e).max(0) })
            .map_or(0, |o| o.2)
    };
    let mut turns: Vec<SpeakerTurn> = Vec::new();
    let mut push = |speaker: usize, start_ms: i64, end_ms: i64| {
        if end_ms <= start_ms {
            return;
        }
        match turns.last_mut() {
            Some(t) if t.speaker == speaker && t.end_ms >= start_ms => {
                t.end_ms = t.end_ms.max(end_ms)
            }
            _ => turns.push(SpeakerTurn {
                speaker,
                start_ms,
                end_ms,
            }),
        }
    };
    for r in speech {
        let (rs, re) = (r.start_ms(), r.end_ms());
        // the windows inside this region, in order, clipped to it
        let inside: Vec<&(i64, i64, usize)> =
            owned.iter().filter(|o| o.0 < re && o.1 > rs).collect();
        if inside.is_empty() {
            push(nearest((rs + re) / 2), rs, re);
            continue;
        }
        let mut at = rs;
        for (k, o) in inside.iter().enumerate() {
            let start = if k == 0 { rs } else { o.0.max(at) };
            let end = if k + 1 == inside.len() {
                re
            } else {
                o.1.min(re)
            };
            push(o.2, start.max(at), end);
            at = end.max(at);
        }
    }
    let speakers = labels.iter().max().map_or(0, |m| m + 1);
    Diarization { speakers, turns }
}

/// Pieces of text around a change of speaker follow the sentences: punctuation stays with the
/// word before it, and a change lands after the nearest sentence end at most two pieces away
/// (a word's time can fall a little into the next speaker's turn: "…calling about | this. May
/// I…" is "…calling about this. | May I…").
fn snap_to_sentences(seg: &Segment, who: &mut [usize]) {
    let piece = |i: usize| -> &str {
        let from = seg.times[i].byte;
        let to = seg.times.get(i + 1).map_or(seg.text.len(), |t| t.byte);
        seg.text.get(from..to).unwrap_or_default()
    };
    for i in 1..who.len() {
        if !piece(i).chars().any(char::is_alphanumeric) {
            who[i] = who[i - 1];
        }
    }
    let ends_sentence = |i: usize| piece(i).trim_end().ends_with(['.', '?', '!']);
    let mut c = 1;
    while c < who.len() {
        if who[c] == who[c - 1] {
            c += 1;
            continue;
        }
        // the change goes after piece j - 1; nearest first, later before earlier
        let target = [c, c + 1, c - 1, c + 2, c.saturating_sub(2)]
            .into_iter()
            .filter(|&j| j >= 1 && j < who.len())
            .find(|&j| ends_sentence(j - 1));
        match target {
            Some(j) if j > c => {
                let to = who[c - 1];
                who[c..j].fill(to);
            }
            Some(j) if j < c => {
                let to = who[c];
                who[j..c].fill(to);
            }
            _ => {}
        }
        c = target.unwrap_or(c).max(c) + 1;
    }
}

/// Cut transcribed segments where the speaker changes, by whisper's word times: each piece of
/// text goes to the speaker talking when it is said; a change lasting a single piece is not
/// believed (a word's time can land in the other speaker's turn by a few tens of ms). A segment
/// without word times goes whole to the speaker talking most of it. Returns each part with its
/// speaker, in order.
pub fn split_by_speaker(segments: Vec<Segment>, d: &Diarization) -> Vec<(usize, Segment)> {
    let mut out = Vec::new();
    for seg in segments {
        let whole = d.main_speaker(seg.start_ms, seg.end_ms).unwrap_or(0);
        if seg.times.len() < 2 {
            out.push((whole, seg));
            continue;
        }
        let mut who: Vec<usize> = seg
            .times
            .iter()
            .map(|t| d.speaker_at(t.ms).unwrap_or(whole))
            .collect();
        // a lone piece between two of another speaker is that speaker's
        for i in 0..who.len() {
            let prev = i.checked_sub(1).map(|p| who[p]);
            let next = who.get(i + 1).copied();
            if let Some(p) = prev
                && prev == next
                && p != who[i]
            {
                who[i] = p;
            }
        }
        snap_to_sentences(&seg, &mut who);
        // the pieces where the speaker changes
        let cuts: Vec<usize> = (1..who.len()).filter(|&i| who[i] != who[i - 1]).collect();
        if cuts.is_empty() {
            out.push((who[0], seg));
            continue;
        }
        let bounds: Vec<usize> = std::iter::once(0)
            .chain(cuts.iter().copied())
            .chain(std::iter::once(who.len()))
            .collect();
        for w in bounds.windows(2) {
            let (a, b) = (w[0], w[1]);
            let from = seg.times[a].byte;
            let to = seg.times.get(b).map_or(seg.text.len(), |t| t.byte);
            let text = seg.text.get(from..to).unwrap_or_default();
            if text.trim().is_empty() {
                continue;
            }
            // the part's text starts at its first word, and its word times point into it
            let lead = text.len() - text.trim_start().len();
            // a part runs from half-way between its first piece and the one before, to
            // half-way between its last piece and the one after
            let start_ms = if a == 0 {
                seg.start_ms
            } else {
                (seg.times[a - 1].ms + seg.times[a].ms) / 2
            };
            let end_ms = match seg.times.get(b) {
                Some(t) => (seg.times[b - 1].ms + t.ms) / 2,
                None => seg.end_ms,
            };
            let times = seg.times[a..b]
                .iter()
                .map(|t| TextTime {
                    byte: (t.byte - from).saturating_sub(lead),
                    ms: t.ms,
                })
                .collect();
            out.push((
                who[a],
                Segment {
                    start_ms,
                    end_ms: end_ms.max(start_ms),
                    text: text[lead..].to_string(),
                    avg_token_prob: seg.avg_token_prob,
                    no_speech_prob: seg.no_speech_prob,
                    times,
                },
            ));
        }
    }
    out
}

/// Diarization error of `hyp` against `reference` (per speaker, their speech spans; several may
/// speak at once): missed speech, false alarm and speaker confusion over the reference's speech
/// time, on 10 ms frames, with the hypothesis speakers mapped to the reference speakers in the
/// way that errs least. Frames within `collar_ms` of a reference boundary are not scored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Der {
    pub missed: f64,
    pub false_alarm: f64,
    pub confusion: f64,
    /// Reference speech scored (seconds).
    pub scored_s: f64,
}

impl Der {
    pub fn total(&self) -> f64 {
        self.missed + self.false_alarm + self.confusion
    }
}

pub fn der(reference: &[Vec<Span>], hyp: &Diarization, collar_ms: i64) -> Der {
    const STEP: i64 = 10;
    let end = reference
        .iter()
        .flatten()
        .map(|s| s.end_ms)
        .chain(hyp.turns.iter().map(|t| t.end_ms))
        .max()
        .unwrap_or(0);
    let frames = (end / STEP + 1) as usize;
    let mut refs = vec![0u8; frames];
    let mut scored = vec![true; frames];
    for (k, spans) in reference.iter().enumerate() {
        for s in spans {
            for f in (s.start_ms / STEP)..(s.end_ms / STEP) {
                refs[f as usize] |= 1 << k;
            }
            for edge in [s.start_ms, s.end_ms] {
                let (a, b) = ((edge - collar_ms).max(0) / STEP, (edge + collar_ms) / STEP);
                for f in a..b.min(frames as i64) {
                    scored[f as usize] = false;
                }
            }
        }
    }
    let mut hyps = vec![usize::MAX; frames];
    for t in &hyp.turns {
        for f in (t.start_ms / STEP)..(t.end_ms / STEP) {
            hyps[f as usize] = t.speaker;
        }
    }
    // every mapping of hypothesis speakers to reference speakers (or to none)
    let n_ref = reference.len();
    let n_hyp = hyp.speakers.max(1);
    let mut best: Option<Der> = None;
    let mut map = vec![0usize; n_hyp];
    loop {
        let mut d = Der {
            missed: 0.0,
            false_alarm: 0.0,
            confusion: 0.0,
            scored_s: 0.0,
        };
        for f in 0..frames {
            if !scored[f] {
                continue;
            }
            let r = refs[f].count_ones() as f64;
            let h = hyps[f];
            d.scored_s += r;
            match (r > 0.0, h != usize::MAX) {
                (true, false) => d.missed += r,
                (false, true) => d.false_alarm += 1.0,
                (true, true) => {
                    // one hypothesis speaker: any other reference speaker is missed
                    d.missed += r - 1.0;
                    let m = map[h];
                    if m >= n_ref || refs[f] & (1 << m) == 0 {
                        d.confusion += 1.0;
                    }
                }
                (false, false) => {}
            }
        }
        if best.is_none_or(|b| d.total() < b.total()) {
            best = Some(d);
        }
        // next mapping (base n_ref + 1: the last value maps to no reference speaker)
        let mut i = 0;
        loop {
            if i == n_hyp {
                let b = best.expect("at least one mapping");
                let s = b.scored_s.max(1.0);
                return Der {
                    missed: b.missed / s,
                    false_alarm: b.false_alarm / s,
                    confusion: b.confusion / s,
                    scored_s: b.scored_s * STEP as f64 / 1000.0,
                };
            }
            map[i] += 1;
            if map[i] <= n_ref {
                break;
            }
            map[i] = 0;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    #[test]
    fn two_voices_make_two_clusters_and_a_stray_window_is_no_voice_of_its_own() {
        let a = [1.0, 0.1, 0.0];
        let b = [0.0, 1.0, 0.2];
        let mut e: Vec<Vec<f32>> = Vec::new();
        for i in 0..20 {
            let jitter = (i as f32 * 0.37).sin() * 0.15;
            let base = if i % 3 == 0 { b } else { a };
            e.push(unit(&[
                base[0] + jitter,
                base[1] - jitter,
                base[2] + jitter.abs(),
            ]));
        }
        // a stray window unlike both (a cough): too small to be a speaker of its own
        e.push(unit(&[0.0, 0.0, 1.0]));
        let w = vec![1.0; e.len()];
        let labels = cluster(&e, &w);
        assert_eq!(labels[0], 1 - labels[1], "{labels:?}");
        for i in 0..20 {
            assert_eq!(labels[i], labels[i % 3], "{labels:?}");
        }
        assert!(labels.iter().all(|&l| l < 2), "{labels:?}");
        // one voice: one cluster
        let same: Vec<Vec<f32>> = (0..10)
            .map(|i| unit(&[1.0, 0.05 * i as f32, 0.0]))
            .collect();
        assert!(cluster(&same, &[1.0; 10]).iter().all(|&l| l == 0));
    }

    fn turn(speaker: usize, start_ms: i64, end_ms: i64) -> SpeakerTurn {
        SpeakerTurn {
            speaker,
            start_ms,
            end_ms,
        }
    }

    #[test]
    fn words_go_to_the_speaker_talking_when_they_are_said() {
        let d = Diarization {
            speakers: 2,
            turns: vec![turn(0, 0, 2_000), turn(1, 2_100, 4_000)],
        };
        let text = " Can I help? Yes my card.";
        let pieces = [
            (0, 200),
            (4, 500),
            (6, 900),
            (11, 1_500),
            (12, 2_300),
            (16, 2_700),
            (19, 3_000),
            (24, 3_900),
        ];
        let seg = Segment {
            start_ms: 0,
            end_ms: 4_000,
            text: text.into(),
            avg_token_prob: 0.9,
            no_speech_prob: 0.0,
            times: pieces
                .iter()
                .map(|&(byte, ms)| TextTime { byte, ms })
                .collect(),
        };
        let parts = split_by_speaker(vec![seg], &d);
        let got: Vec<(usize, &str, i64, i64)> = parts
            .iter()
            .map(|(k, s)| (*k, s.text.as_str(), s.start_ms, s.end_ms))
            .collect();
        assert_eq!(
            got,
            vec![
                (0, "Can I help?", 0, 1_900),
                (1, "Yes my card.", 1_900, 4_000)
            ]
        );
        // the second part's word times point into its own text
        let second = &parts[1].1;
        assert_eq!(
            &second.text[second.times[1].byte..second.times[1].byte + 3],
            " my"
        );
    }

    #[test]
    fn der_counts_missed_false_alarm_and_confusion_under_the_best_mapping() {
        let span = |a, b| Span {
            start_ms: a,
            end_ms: b,
        };
        let reference = vec![vec![span(0, 4_000)], vec![span(5_000, 9_000)]];
        // labels swapped (mapping absorbs it), 1 s of the second speaker given to the first
        let hyp = Diarization {
            speakers: 2,
            turns: vec![
                turn(1, 0, 4_000),
                turn(0, 5_000, 8_000),
                turn(1, 8_000, 9_000),
                turn(0, 9_000, 9_500),
            ],
        };
        let d = der(&reference, &hyp, 0);
        assert!((d.confusion - 1.0 / 8.0).abs() < 1e-9, "{d:?}");
        assert!((d.false_alarm - 0.5 / 8.0).abs() < 1e-9, "{d:?}");
        assert_eq!(d.missed, 0.0);
        assert!((d.scored_s - 8.0).abs() < 1e-9);
        // a collar of 250 ms leaves out the frames around each reference boundary
        assert!(der(&reference, &hyp, 250).scored_s < 8.0);
    }
}
