//! Matching compiled categories on normalised text: phrases with wildcards, gaps, synonym sets,
//! `NEAR`, negation, roles, windows and counts. A phrase word matches a transcript word by
//! spelling (`exact`), by its stem (`stem`: "switching" for "switch", "charged" for "charges")
//! or by its sound (`sound`: the same Double Metaphone code, or two words the recogniser split,
//! "super visor" for "supervisor"); every hit says which [`Layer`] matched. Fillers ("um",
//! "uh") and a word the speaker repeats may stand between a phrase's words. Pure; no I/O.

use super::words::{Layer, Word, words};
use super::*;
use crate::conversation::Turn;

impl Category {
    /// Output column: `beh_<id>`, `evt_<id>` or `topic_<id>`.
    pub fn column(&self) -> String {
        format!("{}{}", self.kind.column_prefix(), self.id)
    }
    /// Matches of this category's `any` and `near` phrases in one text (overlaps once).
    pub fn count_in(&self, text: &str, names: &[String]) -> usize {
        let m = Matcher { names };
        m.spans(&words(text), self).len()
    }
    /// Whether the category can be judged on a recording whose roles are unknown (mono).
    pub fn works_without_roles(&self) -> bool {
        self.role == RoleSel::Any
    }
}

/// A phrase may run on from one turn into the same speaker's next when it starts at most this
/// long after the first ends ("I was on hold" / "for an hour and a half").
pub const BRIDGE_MS: i64 = 10_000;

/// A match in one segment: word positions and the layer that found it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    start: usize,
    end: usize,
    layer: Layer,
}

impl RuleSet {
    /// Which categories fire on a conversation, with evidence. `duration_ms` bounds windows;
    /// `names` are the customer's name words (lower case) for `{customer_name}`.
    pub fn evaluate(&self, utts: &[Turn], duration_ms: i64, names: &[String]) -> Vec<Hit> {
        let words: Vec<Vec<Word>> = utts.iter().map(|u| self::words(&u.text)).collect();
        let m = Matcher { names };
        let mut hits = Vec::new();
        for (ci, c) in self.categories.iter().enumerate() {
            let candidates = m.candidates(c, utts, &words, duration_ms);
            let mut evidence: Vec<(usize, Span)> = Vec::new();
            let mut count = 0;
            for (k, &i) in candidates.iter().enumerate() {
                let spans = m.spans(&words[i], c);
                count += spans.len();
                if let Some(best) = spans.iter().min_by_key(|s| s.layer) {
                    evidence.push((i, *best));
                }
                let next = candidates[k + 1..]
                    .iter()
                    .find(|&&j| utts[j].role == utts[i].role)
                    .filter(|&&j| utts[j].start_ms - utts[i].end_ms <= BRIDGE_MS);
                if let Some(&j) = next {
                    for (a, b) in m.bridging(&words[i], &words[j], c) {
                        count += 1;
                        evidence.push((i, a));
                        evidence.push((j, b));
                    }
                }
            }
            let needs_count = !(c.any.is_empty() && c.near.is_empty());
            if needs_count && count < c.min_count {
                continue;
            }
            let mut all_ok = true;
            for p in &c.all {
                match candidates
                    .iter()
                    .find_map(|&i| m.first(&words[i], p, Layer::Sound).map(|s| (i, s)))
                {
                    Some(found) => evidence.push(found),
                    None => all_ok = false,
                }
            }
            if !all_ok {
                continue;
            }
            evidence.sort_by_key(|(i, s)| (*i, s.layer));
            evidence.dedup_by_key(|(i, _)| *i);
            for (i, s) in evidence {
                hits.push(Hit {
                    category: ci,
                    role: utts[i].role,
                    start_ms: utts[i].start_ms,
                    end_ms: utts[i].end_ms,
                    evidence: utts[i].text.clone(),
                    matched: join(&words[i][s.start..s.end]),
                    layer: s.layer,
                    confidence: s.layer.confidence(),
                });
            }
        }
        hits
    }
}

fn join(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn in_window(w: Option<Window>, start: i64, duration: i64) -> bool {
    match w {
        None => true,
        Some(Window::FirstMs(ms)) => start < ms,
        Some(Window::LastMs(ms)) => start >= duration - ms,
        Some(Window::FirstFrac(f)) => (start as f64) < f * duration as f64,
        Some(Window::LastFrac(f)) => (start as f64) >= (1.0 - f) * duration as f64,
    }
}

/// Phrase matching against one call's customer names.
struct Matcher<'a> {
    names: &'a [String],
}

impl RuleSet {
    /// The turns category `ci` may fire on: its role, its window, none of its `not` phrases.
    pub fn candidates(
        &self,
        ci: usize,
        utts: &[Turn],
        duration_ms: i64,
        names: &[String],
    ) -> Vec<usize> {
        let words: Vec<Vec<Word>> = utts.iter().map(|u| self::words(&u.text)).collect();
        Matcher { names }.candidates(&self.categories[ci], utts, &words, duration_ms)
    }
}

impl Category {
    /// Whether any of its phrases names the customer (`{customer_name}`).
    pub fn uses_customer_name(&self) -> bool {
        let named = |p: &Phrase| p.0.iter().any(|t| matches!(t, Tok::CustomerName));
        self.any.iter().chain(&self.all).any(named)
            || self.near.iter().any(|n| named(&n.a) || named(&n.b))
    }
}

impl Matcher<'_> {
    fn candidates(
        &self,
        c: &Category,
        utts: &[Turn],
        words: &[Vec<Word>],
        duration_ms: i64,
    ) -> Vec<usize> {
        (0..utts.len())
            .filter(|&i| match (c.role, utts[i].role) {
                (RoleSel::Any, _) => true,
                (RoleSel::Agent, r) => r == Role::Agent,
                (RoleSel::Customer, r) => r == Role::Customer,
            })
            .filter(|&i| in_window(c.window, utts[i].start_ms, duration_ms))
            .filter(|&i| {
                !c.not
                    .iter()
                    .any(|p| self.first(&words[i], p, Layer::Exact).is_some())
            })
            .collect()
    }

    /// Every way `toks` matches `words` from `at`: (end, least certain layer used), using
    /// layers up to `max`. `inner`: a word of the phrase has been matched already, so fillers
    /// and a repeated word may be skipped before the next one.
    #[allow(clippy::too_many_arguments)]
    fn ends(
        &self,
        words: &[Word],
        toks: &[Tok],
        at: usize,
        inner: bool,
        layer: Layer,
        max: Layer,
        out: &mut Vec<(usize, Layer)>,
    ) {
        let Some((t, rest)) = toks.split_first() else {
            out.push((at, layer));
            return;
        };
        let mut starts = vec![at];
        if inner {
            let mut k = at;
            while k < words.len() && (words[k].filler || (k > 0 && words[k] == words[k - 1])) {
                k += 1;
                starts.push(k);
            }
        }
        for s in starts {
            let mut next = |end: usize, l: Layer| {
                self.ends(words, rest, end, true, layer.max(l), max, out);
            };
            match t {
                Tok::Word(w) => {
                    if let Some(l) = words.get(s).and_then(|x| w.layer_against(x))
                        && l <= max
                    {
                        next(s + 1, l);
                    }
                    if max >= Layer::Sound
                        && let [a, b, ..] = &words[s.min(words.len())..]
                        && w.text.len() == a.text.len() + b.text.len()
                        && w.text.starts_with(&a.text)
                        && w.text.ends_with(&b.text)
                    {
                        next(s + 2, Layer::Sound);
                    }
                }
                Tok::Prefix(p) => {
                    if words.get(s).is_some_and(|w| w.text.starts_with(p.as_str())) {
                        next(s + 1, Layer::Exact);
                    }
                }
                Tok::Any => {
                    if s < words.len() {
                        next(s + 1, Layer::Exact);
                    }
                }
                Tok::Gap(n) => {
                    for k in 0..=*n {
                        if s + k <= words.len() {
                            next(s + k, Layer::Exact);
                        }
                    }
                }
                Tok::Alt(options) => {
                    for p in options {
                        let mut found = Vec::new();
                        self.ends(words, &p.0, s, inner, Layer::Exact, max, &mut found);
                        for (e, l) in found {
                            next(e, l);
                        }
                    }
                }
                Tok::CustomerName => {
                    let mut k = s;
                    while words.get(k).is_some_and(|w| self.names.contains(&w.text)) {
                        k += 1;
                    }
                    if k > s {
                        next(k, Layer::Exact);
                    }
                }
            }
        }
    }

    /// The best match of `p` starting at `at`: the most certain layer, then the longest.
    fn match_at(&self, words: &[Word], p: &Phrase, at: usize, max: Layer) -> Option<Span> {
        let mut out = Vec::new();
        self.ends(words, &p.0, at, false, Layer::Exact, max, &mut out);
        out.into_iter()
            .filter(|&(e, _)| e > at)
            .min_by_key(|&(e, l)| (l, std::cmp::Reverse(e)))
            .map(|(end, layer)| Span {
                start: at,
                end,
                layer,
            })
    }

    fn all_matches(&self, words: &[Word], p: &Phrase, max: Layer) -> Vec<Span> {
        (0..words.len())
            .filter_map(|i| self.match_at(words, p, i, max))
            .collect()
    }

    fn first(&self, words: &[Word], p: &Phrase, max: Layer) -> Option<Span> {
        (0..words.len()).find_map(|i| self.match_at(words, p, i, max))
    }

    /// Matches of a category's `any` and `near` phrases, overlapping matches merged into one
    /// (carrying the most certain layer among them).
    fn spans(&self, words: &[Word], c: &Category) -> Vec<Span> {
        let mut spans: Vec<Span> = c
            .any
            .iter()
            .flat_map(|p| self.all_matches(words, p, Layer::Sound))
            .collect();
        spans.extend(c.near.iter().filter_map(|n| self.near(words, n)));
        spans.sort_by_key(|s| (s.start, s.end));
        let mut merged: Vec<Span> = Vec::new();
        for s in spans {
            match merged.last_mut() {
                Some(m) if s.start < m.end => {
                    m.end = m.end.max(s.end);
                    m.layer = m.layer.min(s.layer);
                }
                _ => merged.push(s),
            }
        }
        merged
    }

    /// Matches of a category that run from the end of `first` into `second` (one speaker's
    /// consecutive turns), as the part in each.
    fn bridging(&self, first: &[Word], second: &[Word], c: &Category) -> Vec<(Span, Span)> {
        let joined: Vec<Word> = first.iter().chain(second).cloned().collect();
        let n = first.len();
        self.spans(&joined, c)
            .into_iter()
            .filter(|s| s.start < n && s.end > n)
            .map(|s| {
                let a = Span { end: n, ..s };
                let b = Span {
                    start: 0,
                    end: s.end - n,
                    layer: s.layer,
                };
                (a, b)
            })
            .collect()
    }

    /// The most certain pair of `a` and `b` matches at most `max_words` apart, as one span.
    fn near(&self, words: &[Word], n: &Near) -> Option<Span> {
        let a = self.all_matches(words, &n.a, Layer::Sound);
        let b = self.all_matches(words, &n.b, Layer::Sound);
        a.iter()
            .flat_map(|x| b.iter().map(move |y| (x, y)))
            .filter(|(x, y)| {
                let gap = if x.start < y.start {
                    y.start.saturating_sub(x.end)
                } else {
                    x.start.saturating_sub(y.end)
                };
                x.start != y.start && gap <= n.max_words
            })
            .map(|(x, y)| Span {
                start: x.start.min(y.start),
                end: x.end.max(y.end),
                layer: x.layer.max(y.layer),
            })
            .min_by_key(|s| s.layer)
    }
}
