//! Matching compiled categories on normalised text: phrases with wildcards, `NEAR`, negation,
//! roles, windows and counts. Pure; no I/O.

use super::*;
use crate::conversation::Turn;

/// Lower-case, expand contractions, drop punctuation; returns the words.
pub fn normalise(text: &str) -> Vec<String> {
    let t = text.to_lowercase().replace(['’', '‘'], "'");
    let mut out = Vec::new();
    for raw in t.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '*')) {
        let w = raw.trim_matches('\'');
        if w.is_empty() {
            continue;
        }
        let expanded: &[&str] = match w {
            "can't" | "cannot" => &["can", "not"],
            "won't" => &["will", "not"],
            "shan't" => &["shall", "not"],
            "i'm" => &["i", "am"],
            "let's" => &["let", "us"],
            _ => &[],
        };
        if !expanded.is_empty() {
            out.extend(expanded.iter().map(|s| s.to_string()));
            continue;
        }
        let pairs = [
            ("n't", "not"),
            ("'ll", "will"),
            ("'re", "are"),
            ("'ve", "have"),
            ("'d", "would"),
            ("'s", "is"),
        ];
        if let Some((stem, rest)) = pairs
            .iter()
            .find_map(|(suf, full)| w.strip_suffix(suf).map(|s| (s, *full)))
            && !stem.is_empty()
        {
            out.push(stem.replace('\'', ""));
            out.push(rest.to_string());
            continue;
        }
        out.push(w.replace('\'', ""));
    }
    out
}

impl Category {
    /// Output column: `beh_<id>`, `evt_<id>` or `topic_<id>`.
    pub fn column(&self) -> String {
        format!("{}{}", self.kind.column_prefix(), self.id)
    }
    /// Matches of this category's `any` and `near` phrases in one text (overlaps once).
    pub fn count_in(&self, text: &str, names: &[String]) -> usize {
        let words = normalise(text);
        let m = Matcher { names };
        m.count_any(&words, &self.any) + self.near.iter().filter(|n| m.near(&words, n)).count()
    }
    /// Whether the category can be judged on a recording whose roles are unknown (mono).
    pub fn works_without_roles(&self) -> bool {
        self.role == RoleSel::Any
    }
}

impl RuleSet {
    /// Which categories fire on a conversation, with evidence. `duration_ms` bounds windows;
    /// `names` are the customer's name words (lower case) for `{customer_name}`.
    pub fn evaluate(&self, utts: &[Turn], duration_ms: i64, names: &[String]) -> Vec<Hit> {
        let words: Vec<Vec<String>> = utts.iter().map(|u| normalise(&u.text)).collect();
        let m = Matcher { names };
        let mut hits = Vec::new();
        for (ci, c) in self.categories.iter().enumerate() {
            let candidates: Vec<usize> = (0..utts.len())
                .filter(|&i| match (c.role, utts[i].role) {
                    (RoleSel::Any, _) => true,
                    (RoleSel::Agent, r) => r == Role::Agent,
                    (RoleSel::Customer, r) => r == Role::Customer,
                })
                .filter(|&i| in_window(c.window, utts[i].start_ms, duration_ms))
                .filter(|&i| !c.not.iter().any(|p| m.find(&words[i], p).is_some()))
                .collect();
            let mut evidence: Vec<usize> = Vec::new();
            let mut count = 0;
            for &i in &candidates {
                let n = m.count_any(&words[i], &c.any)
                    + c.near.iter().filter(|n| m.near(&words[i], n)).count();
                if n > 0 {
                    count += n;
                    evidence.push(i);
                }
            }
            let needs_count = !(c.any.is_empty() && c.near.is_empty());
            if needs_count && count < c.min_count {
                continue;
            }
            let mut all_ok = true;
            for p in &c.all {
                match candidates.iter().find(|&&i| m.find(&words[i], p).is_some()) {
                    Some(&i) => evidence.push(i),
                    None => all_ok = false,
                }
            }
            if !all_ok {
                continue;
            }
            evidence.sort_unstable();
            evidence.dedup();
            for i in evidence {
                hits.push(Hit {
                    category: ci,
                    role: utts[i].role,
                    start_ms: utts[i].start_ms,
                    end_ms: utts[i].end_ms,
                    evidence: utts[i].text.clone(),
                });
            }
        }
        hits
    }
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

impl Matcher<'_> {
    /// Length in words of a match of `p` starting at `at`.
    fn match_len(&self, words: &[String], p: &Phrase, at: usize) -> Option<usize> {
        let mut k = at;
        for t in &p.0 {
            let w = words.get(k)?;
            match t {
                Tok::Word(x) if x == w => k += 1,
                Tok::Prefix(x) if w.starts_with(x.as_str()) => k += 1,
                Tok::Any => k += 1,
                Tok::CustomerName if self.names.contains(w) => {
                    k += 1;
                    while words.get(k).is_some_and(|w| self.names.contains(w)) {
                        k += 1;
                    }
                }
                _ => return None,
            }
        }
        Some(k - at)
    }

    fn find(&self, words: &[String], p: &Phrase) -> Option<usize> {
        (0..words.len()).find(|&i| self.match_len(words, p, i).is_some())
    }

    /// Matches of any of `phrases`, counting overlapping matches once.
    fn count_any(&self, words: &[String], phrases: &[Phrase]) -> usize {
        let mut spans: Vec<(usize, usize)> = phrases
            .iter()
            .flat_map(|p| {
                (0..words.len())
                    .filter_map(move |i| self.match_len(words, p, i).map(|n| (i, i + n)))
            })
            .collect();
        spans.sort_unstable();
        let (mut count, mut end) = (0, 0);
        for (s, e) in spans {
            if count == 0 || s >= end {
                count += 1;
                end = e;
            } else {
                end = end.max(e);
            }
        }
        count
    }

    fn near(&self, words: &[String], n: &Near) -> bool {
        let pos = |p: &Phrase| -> Vec<(usize, usize)> {
            (0..words.len())
                .filter_map(|i| self.match_len(words, p, i).map(|len| (i, len)))
                .collect()
        };
        let (a, b) = (pos(&n.a), pos(&n.b));
        a.iter().any(|&(i, la)| {
            b.iter().any(|&(j, lb)| {
                let gap = if i < j {
                    j.saturating_sub(i + la)
                } else {
                    i.saturating_sub(j + lb)
                };
                i != j && gap <= n.max_words
            })
        })
    }
}
