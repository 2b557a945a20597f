//! The broken matrix files of `tests/fixtures/bad-matrix/`, each through the
//! real binary (`msgperf run --matrix FILE`): exit 2 within a second, never a
//! panic, and a message naming the file, the line and the key. Each file
//! says in its first lines what it breaks (`# Breaks:`) and where the error
//! must point (`# expect-line:`, `# expect-key:`); the test reads those.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The promise of the issue: a configuration error is reported this fast.
const WITHIN: Duration = Duration::from_secs(1);
/// Longest a file may run before the test kills it (it then fails).
const KILL_AFTER: Duration = Duration::from_secs(10);

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad-matrix")
}

/// Every fixture file, sorted by name.
fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Where a fixture's error must point, from its header comment.
#[derive(Debug)]
struct Expect {
    breaks: String,
    line: u64,
    key: String,
}

fn header(bytes: &[u8]) -> Expect {
    let text = String::from_utf8_lossy(bytes);
    let field = |name: &str| {
        text.lines()
            .take_while(|l| l.starts_with('#'))
            .find_map(|l| l.strip_prefix(&format!("# {name}:")))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no `# {name}:` line in the header"))
    };
    Expect {
        breaks: field("Breaks"),
        line: field("expect-line")
            .parse()
            .expect("expect-line is a number"),
        key: field("expect-key"),
    }
}

/// What `msgperf run --matrix path` did: exit code, stderr, and how long it took.
struct Outcome {
    code: Option<i32>,
    stderr: String,
    took: Duration,
}

fn run(path: &Path, scratch: &Path) -> Outcome {
    // stderr to a file: an error quoting a long line must not fill a pipe.
    let err_path = scratch.join("stderr.txt");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_msgperf"))
        .env("CI", "true")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("MSGPERF_BAD_MATRIX_UNSET")
        .args(["run", "--matrix"])
        .arg(path)
        .arg("--out")
        .arg(scratch.join("results"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > KILL_AFTER {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned();
    Outcome { code, stderr, took }
}

/// Runs `path` and returns what is wrong with the outcome, if anything. A
/// run over the time limit is tried once more: a compile on the shared
/// machine can stall any process for a moment.
fn check(path: &Path, line: u64, key: &str) -> Option<String> {
    let scratch = tempfile::tempdir().unwrap();
    let mut out = run(path, scratch.path());
    if out.took >= WITHIN {
        let again = run(path, scratch.path());
        out.took = out.took.min(again.took);
    }
    let name = path.file_name().unwrap().to_string_lossy();
    let stderr = &out.stderr;
    let mut wrong = Vec::new();
    if out.code != Some(2) {
        wrong.push(format!("exit code {:?}, not 2", out.code));
    }
    if out.took >= WITHIN {
        wrong.push(format!("took {:?}", out.took));
    }
    if stderr.contains("panicked") {
        wrong.push("panicked".into());
    }
    for piece in [
        name.to_string(),
        format!("line {line},"),
        format!("key `{key}`"),
    ] {
        if !stderr.contains(&piece) {
            wrong.push(format!("no {piece:?}"));
        }
    }
    (!wrong.is_empty()).then(|| {
        let shown: String = stderr.chars().take(1500).collect();
        format!("{name}: {}\n{shown}", wrong.join(", "))
    })
}

#[test]
fn there_are_at_least_30_bad_matrix_files_each_saying_what_it_breaks() {
    let files = fixtures();
    assert!(files.len() >= 30, "only {} files", files.len());
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(bytes.starts_with(b"# Breaks: "), "{}", f.display());
        let e = header(&bytes);
        assert!(!e.breaks.is_empty() && e.line > 0, "{}: {e:?}", f.display());
    }
}

#[test]
fn every_bad_matrix_file_exits_2_within_a_second_naming_file_line_and_key() {
    let _serial = crate::common::LOAD.blocking_lock();
    let failures: Vec<String> = fixtures()
        .iter()
        .filter_map(|f| {
            let e = header(&std::fs::read(f).unwrap());
            check(f, e.line, &e.key)
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_10_mb_matrix_file_exits_2_within_a_second_naming_file_line_and_key() {
    let _serial = crate::common::LOAD.blocking_lock();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ten-megabytes.yaml");
    let mut text = String::from("matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [1s]\nstop:\n");
    let pad = "  # a comment line to make the file ten megabytes long ........\n";
    while text.len() < 10 << 20 {
        text.push_str(pad);
    }
    text.push_str("  max_duration: 30s\n");
    std::fs::write(&path, &text).unwrap();
    // The reading stops at the limit: the error is at the line it falls on.
    let limit = msgperf::matrix::MAX_FILE_BYTES;
    let line = 1 + text[..limit].matches('\n').count() as u64;
    if let Some(wrong) = check(&path, line, "stop") {
        panic!("{wrong}");
    }
}
