//! Replays the corpus that `cargo fuzz` found (`fuzz/corpus/<target>/`)
//! through the same library entry points as the fuzz targets, so a
//! regression shows in `cargo test` without the fuzzer. Each input must
//! come back without a panic; the file that panics is named.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The corpus is kept small in the repository (README: Fuzzing).
const MAX_CORPUS_BYTES: u64 = 5 << 20;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Runs `f` over every input of `target`'s corpus; returns how many `f` accepted.
fn replay(target: &str, f: impl Fn(&[u8]) -> bool) -> usize {
    let mut accepted = 0;
    let mut panics = Vec::new();
    for (path, bytes) in corpus(target) {
        match catch_unwind(AssertUnwindSafe(|| f(&bytes))) {
            Ok(ok) => accepted += usize::from(ok),
            Err(_) => panics.push(path.display().to_string()),
        }
    }
    assert!(panics.is_empty(), "panicked on: {panics:#?}");
    accepted
}

#[test]
fn the_matrix_corpus_gives_plans_or_configuration_errors() {
    let plans = replay("matrix", |data| {
        match msgperf::matrix::parse_bytes("fuzz.yaml", data, &|_| Some("v".into())) {
            Ok(plan) => !plan.scenarios.is_empty(),
            Err(e) => {
                assert_eq!(e.exit_code(), 2);
                assert!(!e.to_string().is_empty());
                false
            }
        }
    });
    assert!(plans > 0, "no input of the corpus is a valid plan");
}

#[test]
fn the_client_corpus_reads_as_events_or_protocol_errors() {
    let frames = replay("client", |data| {
        msgperf::load::read::every_reading(data).frame.is_ok()
    });
    assert!(frames > 0, "no input of the corpus is a frame");
}

#[test]
fn the_server_corpus_decodes_or_is_answered_as_malformed() {
    let envelopes = replay("server", |data| {
        msgperf::server::every_decoding(data).kind.is_some()
    });
    assert!(envelopes > 0, "no input of the corpus is an envelope");
}

#[test]
fn the_report_corpus_renders_or_is_refused() {
    let reports = replay("report", |data| {
        msgperf::report::report_from_bytes(data).is_ok()
    });
    assert!(reports > 0, "no input of the corpus is a result file");
}

#[test]
fn the_kept_corpus_stays_small() {
    let total: u64 = ["matrix", "client", "server", "report"]
        .iter()
        .flat_map(|t| corpus(t))
        .map(|(_, b)| b.len() as u64)
        .sum();
    assert!(total <= MAX_CORPUS_BYTES, "{total} bytes");
}
