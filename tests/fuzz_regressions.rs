//! Replays every input in `fuzz/regressions/<target>/` (crashes the fuzzers once found, plus
//! hand-made edge cases) through the same entry points the `cargo fuzz` targets use: each
//! must be handled without a panic.

mod common;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = common::root().join("fuzz/regressions").join(target);
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        if e.file_name() == ".gitkeep" {
            continue;
        }
        let data = std::fs::read(e.path()).unwrap();
        let r = std::panic::catch_unwind(|| f(&data));
        assert!(r.is_ok(), "{target}: {} panics", e.path().display());
        n += 1;
    }
    n
}

#[test]
fn decode_regressions() {
    assert!(replay("decode", callsift::fuzzing::decode) > 0);
}

#[test]
fn rules_regressions() {
    assert!(replay("rules", callsift::fuzzing::rules) > 0);
}

#[test]
fn manifest_regressions() {
    assert!(replay("manifest", callsift::fuzzing::manifest) > 0);
}

#[test]
fn surveys_regressions() {
    assert!(replay("surveys", callsift::fuzzing::surveys) > 0);
}
