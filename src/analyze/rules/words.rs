//! Words as the rules see them: normalised (case, apostrophes, contractions), with the stem
//! and the sound each is matched by, and the [`Layer`] a match was found at. Pure; no I/O.

use std::sync::LazyLock;

use rphonetic::DoubleMetaphone;
use rust_stemmers::{Algorithm, Stemmer};

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));
static METAPHONE: LazyLock<DoubleMetaphone> = LazyLock::new(|| DoubleMetaphone::new(Some(6)));

/// Words a speaker fills pauses with; a phrase may skip them between its words.
const FILLERS: &[&str] = &[
    "um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "hmm", "mm",
];

/// Which matching layer found a phrase, from the most to the least certain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// Every word spelled as in the rule (after normalisation: case, contractions).
    Exact,
    /// At least one word matched by its stem ("cancelling" for "cancel").
    Stem,
    /// At least one word matched by sound or as two words the recogniser split.
    Sound,
    /// No phrase: the category's classifier read the turn's meaning (`analyze::semantic`).
    Semantic,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Exact => "exact",
            Layer::Stem => "stem",
            Layer::Sound => "sound",
            Layer::Semantic => "semantic",
        }
    }
    /// The confidence a phrase hit of this layer carries (see docs/rules.md); a semantic hit
    /// carries its classifier's probability instead.
    pub fn confidence(self) -> f32 {
        match self {
            Layer::Exact => 1.0,
            Layer::Stem => 0.9,
            Layer::Sound => 0.6,
            Layer::Semantic => 0.5,
        }
    }
}

/// A normalised word with the keys it is matched by.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    pub(super) stem: String,
    /// Double Metaphone primary code, for words long enough to have a distinctive sound (at
    /// least five letters and a four-letter code: shorter codes join unrelated words, "fault"
    /// and "flight").
    pub(super) sound: Option<String>,
    pub(super) filler: bool,
}

impl Word {
    pub fn new(text: String) -> Word {
        let stem = STEMMER.stem(&text).into_owned();
        let sound = (text.chars().count() >= 5 && text.chars().all(|c| c.is_ascii_alphabetic()))
            .then(|| METAPHONE.double_metaphone(&text).primary())
            .filter(|p| p.len() >= 4);
        let filler = FILLERS.contains(&text.as_str());
        Word {
            text,
            stem,
            sound,
            filler,
        }
    }

    /// How `self` (a rule's word) matches `w` (a transcript word), if at all.
    pub(super) fn layer_against(&self, w: &Word) -> Option<Layer> {
        if self.text == w.text {
            Some(Layer::Exact)
        } else if self.stem == w.stem {
            Some(Layer::Stem)
        } else {
            match (&self.sound, &w.sound) {
                (Some(a), Some(b)) if a == b && self.text[..1] == w.text[..1] => Some(Layer::Sound),
                _ => None,
            }
        }
    }
}

/// A text's words, normalised, with their stems and sounds.
pub fn words(text: &str) -> Vec<Word> {
    normalise(text).into_iter().map(Word::new).collect()
}

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
