//! Fuzzing entry points: each takes arbitrary bytes and drives one reader of untrusted input
//! the way a run does. Shared by the `cargo fuzz` targets in `fuzz/` and by the regression
//! test that replays every input in `fuzz/regressions/`. They must return (an `Err` is fine),
//! never panic, hang or abort.

use std::collections::HashMap;
use std::path::Path;

const EXTENSIONS: [&str; 6] = ["wav", "mp3", "flac", "ogg", "m4a", "bin"];

/// Arbitrary bytes as a recording; the first byte picks the file extension (format hint).
pub fn decode(data: &[u8]) {
    let (ext, body) = match data.split_first() {
        Some((b, rest)) => (EXTENSIONS[*b as usize % EXTENSIONS.len()], rest),
        None => ("wav", data),
    };
    let name = format!("fuzz.{ext}");
    if let Ok(audio) = crate::pipeline::decode::decode_bytes(body.to_vec(), Path::new(&name)) {
        assert!(audio.channel_count() >= 1);
    }
}

/// Arbitrary text as a rules file; a file that parses is also run over a short dialogue.
pub fn rules(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(set) = crate::analyze::rules::RuleSet::parse(text, "fuzz.toml") {
        use crate::conversation::Role;
        let lines = [
            (
                Role::Agent,
                0,
                "thank you for calling, my name is Sam, how can I help".into(),
            ),
            (
                Role::Customer,
                4_000,
                "I was charged twice and I want a refund, this is Mrs Patel".into(),
            ),
            (
                Role::Agent,
                9_000,
                "I am sorry Mrs Patel, may I place you on hold".into(),
            ),
        ];
        let utts = crate::analyze::rules::fixtures::fixture_turns(&lines);
        let _ = set.evaluate(&utts, 60_000, &["patel".to_string()]);
    }
}

fn with_file<T>(name: &str, data: &[u8], f: impl FnOnce(&Path) -> T) -> Option<T> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join(name);
    std::fs::write(&path, data).ok()?;
    Some(f(&path))
}

/// Arbitrary bytes as a manifest CSV.
pub fn manifest(data: &[u8]) {
    with_file("manifest.csv", data, |p| {
        let _ = crate::pipeline::input::from_manifest(p);
    });
}

/// Arbitrary bytes as a survey CSV, validated against a few known interaction ids.
pub fn surveys(data: &[u8]) {
    with_file("surveys.csv", data, |p| {
        if let Ok((header, rows)) = crate::downstream::tables::rows_of(p) {
            let ids: HashMap<String, usize> = ["C-1", "C-2", "C-3"]
                .iter()
                .enumerate()
                .map(|(i, id)| (id.to_string(), i))
                .collect();
            let _ = crate::downstream::score::surveys::parse("surveys.csv", &header, &rows, &ids);
        }
    });
}
