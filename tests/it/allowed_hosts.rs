//! `target.allowed_hosts`, `--allow-host` and the action's `allow-host`,
//! through the real binary. No test sends a byte to a host other than
//! 127.0.0.1: a refused target is refused before anything, and an allowed
//! one is stopped by a failing `before_all` hook (`on_hook_failure: abort`),
//! which runs after the check and before any traffic. So "the hook ran"
//! means "the host was allowed".

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A matrix file in `dir` whose target URLs are `ws`, `org` and `part`,
/// with `extra` lines in its `target:` block, and a `before_all` hook that
/// leaves `hook.ran` and fails, aborting the matrix.
fn matrix(dir: &Path, ws: &str, org: &str, part: &str, extra: &str) -> PathBuf {
    let path = dir.join("matrix.yaml");
    let text = format!(
        "target:\n  messenger_ws_url: {ws}\n  organizer_api_url: {org}\n  participant_api_url: {part}\n  \
         event_id: 1\n  organizer_email: o{{n}}@x.test\n  organizer_password: pw-pw-pw-pw-pw-pw\n{extra}\
         matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\n\
         hooks:\n  before_all: touch {} && false\non_hook_failure: abort\n",
        dir.join("hook.ran").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn run(matrix: &Path, args: &[&str]) -> Output {
    let dir = matrix.parent().unwrap();
    Command::new(env!("CARGO_BIN_EXE_msgperf"))
        .args(crate::cli::run_args(matrix, &dir.join("results"), dir))
        .args(args)
        .env("CI", "true")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("MSGPERF_ALLOW_HOST")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Refused: exit 2, the host and the keys that would allow it named, and
/// nothing run (not even the hook).
fn assert_refused(out: &Output, dir: &Path, host: &str, key: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("refusing to load `{host}`")), "{err}");
    assert!(err.contains(&format!("target.{key}")), "{err}");
    assert!(err.contains("target.allowed_hosts"), "{err}");
    assert!(err.contains(&format!("--allow-host {host}")), "{err}");
    assert!(!dir.join("hook.ran").exists(), "the hook ran: {err}");
    assert!(!dir.join("results").exists(), "{err}");
}

/// Allowed: the check passed, the hook ran and aborted the matrix (exit 1).
fn assert_allowed(out: &Output, dir: &Path) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("matrix aborted"), "{err}");
    assert!(dir.join("hook.ran").exists(), "{err}");
    std::fs::remove_file(dir.join("hook.ran")).unwrap();
}

#[test]
fn a_target_host_that_is_not_loopback_nor_allowed_is_refused_before_anything() {
    let dir = tempfile::tempdir().unwrap();
    let m = matrix(
        dir.path(),
        "ws://127.0.0.1:9",
        "http://127.0.0.1:9",
        "https://192.0.2.10:8100",
        "",
    );
    let started = Instant::now();
    let out = run(&m, &[]);
    assert_refused(&out, dir.path(), "192.0.2.10", "participant_api_url");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn allowed_hosts_and_allow_host_match_cidrs_v4_and_v6() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ws, org, part) = (
        "ws://192.0.2.10:8300",
        "http://[2001:db8::7]:8000",
        "http://127.0.0.1:9",
    );
    // The file allows the IPv4 block only: the IPv6 host is named.
    let m = matrix(d, ws, org, part, "  allowed_hosts: [192.0.2.0/24]\n");
    assert_refused(&run(&m, &[]), d, "2001:db8::7", "organizer_api_url");
    // --allow-host adds the IPv6 block for this run.
    assert_allowed(&run(&m, &["--allow-host", "2001:db8::/32"]), d);
    // A block that does not hold the address allows nothing.
    assert_refused(
        &run(&m, &["--allow-host", "2001:db9::/32"]),
        d,
        "2001:db8::7",
        "organizer_api_url",
    );
    // Without the file's list, both come from the flag (repeated).
    let m = matrix(d, ws, org, part, "");
    assert_refused(
        &run(&m, &["--allow-host", "2001:db8::7"]),
        d,
        "192.0.2.10",
        "messenger_ws_url",
    );
    let both = ["--allow-host", "192.0.2.10", "--allow-host", "2001:db8::7"];
    assert_allowed(&run(&m, &both), d);
}

#[test]
fn a_name_is_allowed_by_name_or_when_all_its_addresses_are_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `localhost` resolves to loopback only (127.0.0.1, and ::1 where the
    // system has it): allowed without being listed.
    let m = matrix(
        d,
        "ws://localhost:9",
        "http://localhost:9",
        "http://127.0.0.1:9",
        "",
    );
    assert_allowed(&run(&m, &[]), d);
    // A name listed by name is allowed without being resolved (this one
    // would not resolve: no query is made for it).
    let m = matrix(
        d,
        "wss://staging.msgperf.invalid",
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        "  allowed_hosts:\n    - STAGING.msgperf.invalid\n",
    );
    assert_allowed(&run(&m, &[]), d);
}

#[test]
fn a_bad_allowed_hosts_entry_is_a_configuration_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let m = matrix(
        dir.path(),
        "ws://127.0.0.1:9",
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        "  allowed_hosts:\n    - 10.0.0.0/8\n    - https://staging.example.com\n",
    );
    let out = run(&m, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("matrix.yaml, line 10"), "{err}");
    assert!(err.contains("target.allowed_hosts[1]"), "{err}");
    assert!(err.contains("CIDR"), "{err}");
    let bad_flag = run(&m, &["--allow-host", "10.0.0.0/40"]);
    assert_eq!(bad_flag.status.code(), Some(2), "{}", stderr(&bad_flag));
    assert!(
        stderr(&bad_flag).contains("--allow-host"),
        "{}",
        stderr(&bad_flag)
    );
}

/// `msgperf action` with the target given by inputs, as a workflow gives it.
fn action(dir: &Path, allow: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_msgperf"));
    cmd.arg("action")
        .current_dir(dir)
        .env_remove("GITHUB_TOKEN")
        .env_remove("MSGPERF_ALLOW_HOST")
        .env("CI", "true")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "workflow_dispatch")
        .env("INPUT_MODE", "run")
        .env("INPUT_MATRIX", "matrix.yaml")
        .env("INPUT_RESULTS-DIR", "results")
        .env("INPUT_MESSENGER-WS-URL", "ws://198.51.100.20:8300")
        .env(
            "INPUT_ORGANIZER-API-URL",
            "https://organizer.staging.invalid",
        )
        .env("INPUT_PARTICIPANT-API-URL", "http://198.51.100.21:8100")
        .env("INPUT_ORGANIZER-EMAIL", "o{n}@x.test")
        .env("INPUT_ORGANIZER-PASSWORD", "pw-pw-pw-pw-pw-pw");
    if let Some(allow) = allow {
        cmd.env("INPUT_ALLOW-HOST", allow);
    }
    cmd.output().unwrap()
}

#[test]
fn the_action_input_allow_host_adds_hosts_for_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A matrix without `target:`: the inputs give it, so only `allow-host`
    // can allow its hosts.
    std::fs::write(
        d.join("matrix.yaml"),
        format!(
            "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\n\
             hooks:\n  before_all: touch {} && false\non_hook_failure: abort\n",
            d.join("hook.ran").display()
        ),
    )
    .unwrap();
    // Hosts are checked in the order ws, organizer, participant; a name
    // that is not listed would be resolved, so every name here is listed
    // before its turn (no test makes a DNS query).
    let out = action(d, None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{}", stderr(&out));
    assert!(
        stdout.contains("::error title=msgperf configuration::refusing to load `198.51.100.20`"),
        "{stdout}"
    );
    assert!(!d.join("hook.ran").exists());
    // One host still missing: it is the one named.
    let out = action(d, Some("198.51.100.20, organizer.staging.invalid"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stdout.contains("refusing to load `198.51.100.21`"),
        "{stdout}"
    );
    assert!(!d.join("hook.ran").exists());
    // The name by name, the addresses by their block, one a line.
    let out = action(d, Some("organizer.staging.invalid\n198.51.100.0/24\n"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(d.join("hook.ran").exists(), "{}", stderr(&out));
    let bad = action(d, Some("https://x"));
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("input `allow-host`"),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );
}
