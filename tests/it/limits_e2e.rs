//! The generator's own limits, through the real binary started with a soft
//! open-file limit of 256 (set in the child before it runs msgperf): the
//! raise to the hard limit and its log line, the refusal of a plan that
//! cannot fit, and a run that hits the limit anyway (the check bypassed)
//! classified `generator_limit` and `generator-bound`, never the API's.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::serve::Serve;

const SOFT: u64 = 256;

/// `msgperf` with RLIMIT_NOFILE set to `soft`/`hard` in the child.
fn msgperf_limited(soft: u64, hard: u64) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_msgperf"));
    cmd.env("CI", "true").env_remove("GITHUB_ACTIONS");
    cmd.env_remove("MSGPERF_UNCHECKED_LIMITS");
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(move || {
            let r = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// This process's hard limit: what a child may keep.
fn hard_limit() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    r.rlim_max
}

/// A plan of about 600 participants (cpi 5 ms for 3 s): far more than 256
/// descriptors, with the embedded server in the process or with `target`.
fn plan(dir: &Path, target: &str) -> PathBuf {
    let path = dir.join("matrix.yaml");
    std::fs::write(
        &path,
        format!("{target}matrix:\n  sci: [5ms]\n  cpi: [5ms]\n  smi: [1s]\nrepetitions: 1\nstop:\n  max_duration: 3s\n  on_error: never\n  drain: 1s\n"),
    )
    .unwrap();
    path
}

fn run(cmd: &mut Command, matrix: &Path, dir: &Path) -> (Output, String) {
    let out = cmd
        .args(crate::cli::run_args(matrix, &dir.join("results"), dir))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

#[test]
fn a_low_soft_limit_is_raised_to_the_hard_one_and_logged() {
    let _serial = crate::common::LOAD.blocking_lock();
    let hard = hard_limit().min(8192);
    assert!(
        hard > 2048,
        "this test needs a hard limit above 2048, have {hard}"
    );
    let dir = tempfile::tempdir().unwrap();
    let matrix = plan(dir.path(), "");
    let (out, stderr) = run(
        msgperf_limited(SOFT, hard).env("MSGPERF_LOG", "info"),
        &matrix,
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "open files (RLIMIT_NOFILE): soft {SOFT} raised to {hard}, hard {hard}"
        )),
        "{stderr}"
    );
    let runs = msgperf::results::read_dir(&dir.path().join("results")).unwrap();
    // Each connected participant holds two sockets here (the embedded
    // server's end too): over 150 of them cannot fit in 256 descriptors.
    assert!(
        runs[0].totals.stages.connected > 150,
        "{:?}",
        runs[0].totals
    );
    assert!(
        !runs[0]
            .errors_by_kind
            .contains_key(&msgperf::results::ErrorKind::GeneratorLimit),
        "{:?}",
        runs[0].errors_by_kind
    );
}

#[test]
fn a_plan_beyond_the_hard_limit_is_refused_with_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let matrix = plan(dir.path(), "");
    let (out, stderr) = run(&mut msgperf_limited(SOFT, SOFT), &matrix, dir.path());
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for part in [
        "scenario `sci5ms-cpi5ms-smi1s-r1` needs about",
        "601 participant and 1 organizer WebSockets",
        "sockets of the embedded server in this process",
        "may open 256 (RLIMIT_NOFILE soft 256, hard 256)",
        "ulimit -n",
        "split: K",
        "MSGPERF_UNCHECKED_LIMITS",
    ] {
        assert!(stderr.contains(part), "{part:?} in {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.path().join("results").exists(), "nothing ran");
}

#[test]
fn a_run_out_of_descriptors_is_generator_limit_and_generator_bound() {
    let _serial = crate::common::LOAD.blocking_lock();
    // The API in its own process: only the generator is short of descriptors.
    let server = Serve::start(env!("CARGO_BIN_EXE_msgperf"));
    let dir = tempfile::tempdir().unwrap();
    let matrix = plan(dir.path(), &server.target_yaml("MSGPERF_TEST_PASSWORD"));
    let (out, stderr) = run(
        msgperf_limited(SOFT, SOFT)
            .env("MSGPERF_UNCHECKED_LIMITS", "1")
            .env("MSGPERF_TEST_PASSWORD", server.get("organizer_password")),
        &matrix,
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let runs = msgperf::results::read_dir(&dir.path().join("results")).unwrap();
    let r = &runs[0];
    let limited = r
        .errors_by_kind
        .get(&msgperf::results::ErrorKind::GeneratorLimit)
        .copied()
        .unwrap_or(0);
    assert!(limited > 0, "{:?}", r.errors_by_kind);
    assert!(
        !r.errors_by_kind
            .contains_key(&msgperf::results::ErrorKind::ConnectRefused),
        "the generator's limit is never the API's refusal: {:?}",
        r.errors_by_kind
    );
    assert!(r.totals.stages.connected > 0, "some participants got in");
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["runs"][0]["verdict"], "generator-bound", "{report}");
    assert!(report["runs"][0]["sustained_rate"].is_null());
    let md = std::fs::read_to_string(dir.path().join("report/report.md")).unwrap();
    let headline = md
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    assert!(
        headline.contains("generator-bound")
            && headline.contains("The generator hit its own limit first"),
        "{headline}"
    );
    println!("errors: {:?}\nheadline: {headline}", r.errors_by_kind);
}
