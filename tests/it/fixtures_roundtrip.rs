//! The result file format is a contract: every fixture under tests/fixtures/
//! (result files written by earlier builds) reads into the typed model and
//! writes back with every value it had, unchanged (fields added since then
//! appear with their defaults), and what this build writes reads back and
//! writes again byte for byte. A change of the Rust types that changes the
//! JSON (a renamed enum value, a map key, a number's format) fails here.

use std::path::{Path, PathBuf};

use msgperf::results::RunResult;

fn result_fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for f in entries {
            let f = f.unwrap().path();
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            // Result files only (the transcripts are the server's fixtures).
            if f.extension().is_some_and(|e| e == "json") && text.contains("\"schema\"") {
                files.push(f);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_result_fixture_round_trips_unchanged() {
    let files = result_fixtures();
    assert!(files.len() >= 10, "fixtures found: {files:?}");
    for f in files {
        let original: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let written = RunResult::read(&f)
            .unwrap()
            .write_to_dir(dir.path())
            .unwrap();
        let once = std::fs::read_to_string(&written).unwrap();
        let rewritten: serde_json::Value = serde_json::from_str(&once).unwrap();
        if let Some(diff) = lost(&original, &rewritten, "") {
            panic!("{}: {diff}", f.display());
        }
        let again = RunResult::read(&written).unwrap();
        let dir2 = tempfile::tempdir().unwrap();
        let twice = std::fs::read_to_string(again.write_to_dir(dir2.path()).unwrap()).unwrap();
        assert!(
            once == twice,
            "{}: a second round trip changed the bytes",
            f.display()
        );
    }
}

/// The first value of `old` that `new` lost or changed, by JSON path.
fn lost(old: &serde_json::Value, new: &serde_json::Value, at: &str) -> Option<String> {
    use serde_json::Value;
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => a.iter().find_map(|(k, v)| match b.get(k) {
            Some(w) => lost(v, w, &format!("{at}.{k}")),
            None => Some(format!("{at}.{k} is gone")),
        }),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (v, w))| lost(v, w, &format!("{at}[{i}]"))),
        _ if old == new => None,
        _ => Some(format!("{at} was {old} and became {new}")),
    }
}
