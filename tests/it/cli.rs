//! The real binary: exit codes, error messages, signals and secrets.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use msgperf::results::{self, ErrorKind, Outcome, Service, StartFailureCause, Step};
use msgperf::server::{self, ServerConfig};

pub(crate) fn msgperf() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_msgperf"));
    cmd.env("CI", "true").env_remove("GITHUB_ACTIONS");
    cmd
}

/// `run --matrix M --out RESULTS --report-dir DIR/report`.
/// `run --matrix M --out R --report-dir D/report`: how the tests invoke `msgperf run`.
pub(crate) fn run_args(matrix: &Path, results: &Path, dir: &Path) -> Vec<std::ffi::OsString> {
    vec![
        "run".into(),
        "--matrix".into(),
        matrix.into(),
        "--out".into(),
        results.into(),
        "--report-dir".into(),
        dir.join("report").into(),
    ]
}

/// Load tests share two cores: one at a time, so none measures another's load.
pub(crate) fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    crate::common::LOAD.blocking_lock()
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `msgperf run`, sends SIGINT after `after`, and checks that it exits
/// with 130 within two seconds of the signal.
#[cfg(unix)]
fn run_then_sigint(matrix: &Path, results_dir: &Path, after: Duration) {
    let mut child = msgperf()
        .args(["run", "--matrix"])
        .arg(matrix)
        .arg("--out")
        .arg(results_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        signalled.elapsed() < Duration::from_secs(2),
        "{:?}",
        signalled.elapsed()
    );
    assert_eq!(status.code(), Some(130));
}

#[test]
fn a_bad_matrix_exits_2_naming_file_line_and_key() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let matrix = write(
        dir.path(),
        "bad.yaml",
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [1s]\nstop:\n  max_duraton: 3s\n",
    );
    let out = msgperf()
        .args(["run", "--matrix"])
        .arg(&matrix)
        .arg("--out")
        .arg(dir.path().join("results"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.yaml"), "{stderr}");
    assert!(stderr.contains("max_duraton"), "{stderr}");
    assert!(stderr.contains("max_duration"), "hint expected: {stderr}");
    assert!(stderr.contains('6'), "line number expected: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_missing_matrix_file_is_a_configuration_error() {
    let _serial = serial();
    let out = msgperf()
        .args(["run", "--matrix", "/nonexistent/m.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/m.yaml"));
}

#[test]
#[cfg(unix)]
fn sigint_writes_an_interrupted_result_within_two_seconds_and_exits_130() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let matrix = write(
        dir.path(),
        "matrix.yaml",
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms, 1s]\nstop:\n  max_duration: 60s\n  drain: 10s\n",
    );
    let results_dir = dir.path().join("results");
    run_then_sigint(&matrix, &results_dir, Duration::from_secs(3));
    let results = results::read_dir(&results_dir).unwrap();
    assert_eq!(results.len(), 1, "the second scenario never started");
    assert_eq!(results[0].outcome, Outcome::Interrupted);
    assert!(results[0].totals.messages_sent > 0);
}

#[test]
#[cfg(unix)]
fn sigint_during_a_hook_kills_it_runs_after_all_and_exits_130() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("after_all.ran");
    let matrix = write(
        dir.path(),
        "matrix.yaml",
        &format!(
            "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nhooks:\n  before_each: sleep 60\n  after_all: touch {}\n",
            marker.display()
        ),
    );
    let results_dir = dir.path().join("results");
    run_then_sigint(&matrix, &results_dir, Duration::from_millis(1500));
    assert!(marker.exists(), "after_all did not run");
    // No run happened, so no result file pretends one did.
    assert!(results::read_dir(&results_dir).map_or(true, |r| r.is_empty()));
}

/// A matrix file whose `target:` is the embedded server `info`, with the
/// password taken from `${MSGPERF_TEST_PASSWORD}`, and runs of `secs` seconds.
fn targeted_matrix(dir: &Path, info: &server::ServerInfo, secs: u32) -> std::path::PathBuf {
    write(
        dir,
        "matrix.yaml",
        &format!(
            "target:\n  messenger_ws_url: {}\n  organizer_api_url: {}\n  participant_api_url: {}\n  \
             event_id: {}\n  organizer_email: {}\n  organizer_password: ${{MSGPERF_TEST_PASSWORD}}\n\
             matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nstop:\n  max_duration: {secs}s\n  on_error: never\n",
            info.messenger_ws_url,
            info.organizer_api_url,
            info.participant_api_url,
            info.event_id,
            info.organizer_email
        ),
    )
}

#[test]
fn a_wrong_password_is_a_failed_start_exit_2_naming_the_email_never_the_password() {
    let _serial = serial();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(server::start(ServerConfig::default()))
        .unwrap();
    let info = server.info().clone();
    let dir = tempfile::tempdir().unwrap();
    let matrix = targeted_matrix(dir.path(), &info, 5);
    let secret = "Wr0ng-S3cret-Pa55-long-enough";
    let results_dir = dir.path().join("results");
    let started = Instant::now();
    let out = msgperf()
        .args(run_args(&matrix, &results_dir, dir.path()))
        .env("MSGPERF_TEST_PASSWORD", secret)
        .env("MSGPERF_LOG", "debug")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    let email = info.organizer_email.replace("{n}", "1");
    assert!(stderr.contains(&email), "{stderr}");
    assert!(
        stderr.contains("check the organizer password variable"),
        "{stderr}"
    );
    // Refused credentials end the run at once, not after max_duration.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let results = results::read_dir(&results_dir).unwrap();
    let r = &results[0];
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.stop_reason, "start_failed");
    let failure = r.start_failure.as_ref().unwrap();
    assert_eq!(failure.cause, StartFailureCause::CredentialsRejected);
    assert_eq!(r.totals.stages.organizers_signed_in, 0);
    let first = r.first_error.as_ref().unwrap();
    assert_eq!(
        (first.kind, first.step, first.http_status),
        (ErrorKind::HttpStatus, Some(Step::SignIn), Some(400))
    );
    assert_eq!(first.service, Some(Service::OrganizerApi));
    let report = std::fs::read_to_string(dir.path().join("report/report.md")).unwrap();
    assert!(report.contains("The test could not start"), "{report}");
    let file = std::fs::read_to_string(results_dir.join(r.file_name())).unwrap();
    for text in [&*stdout, &*stderr, &*file, &*report] {
        assert!(!text.contains(secret), "secret leaked: {text}");
    }
    runtime.block_on(server.shutdown());
}

#[test]
fn a_target_that_is_down_from_the_start_is_a_failed_start_exit_1() {
    let _serial = serial();
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let matrix = write(
        dir.path(),
        "matrix.yaml",
        &format!(
            "target:\n  messenger_ws_url: ws://127.0.0.1:{port}\n  organizer_api_url: http://127.0.0.1:{port}\n  \
             participant_api_url: http://127.0.0.1:{port}\n  event_id: 1\n  organizer_email: o{{n}}@x.test\n  \
             organizer_password: pw-pw-pw-pw-pw-pw\nmatrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\n\
             stop:\n  max_duration: 5s\n  on_error: never\n"
        ),
    );
    let results_dir = dir.path().join("results");
    let out = msgperf()
        .args(run_args(&matrix, &results_dir, dir.path()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the test could not start"), "{stderr}");
    let r = &results::read_dir(&results_dir).unwrap()[0];
    assert_eq!(r.outcome, Outcome::Failed, "{:?}", r.first_error);
    assert_eq!(
        r.start_failure.as_ref().unwrap().cause,
        StartFailureCause::NoOrganizer
    );
    assert_eq!(
        r.first_error.as_ref().unwrap().kind,
        ErrorKind::ConnectRefused
    );
    let json = std::fs::read_to_string(dir.path().join("report/report.json")).unwrap();
    assert!(json.contains("\"verdict\": \"failed\""), "{json}");
    assert!(!json.contains("\"verdict\": \"valid\""), "{json}");
}

#[test]
fn a_server_killed_mid_run_is_a_collapse_not_a_plateau_at_zero() {
    let _serial = serial();
    let serve = crate::common::serve::Serve::start(env!("CARGO_BIN_EXE_msgperf"));
    let target = serve.target_yaml("MSGPERF_TEST_PASSWORD");
    let dir = tempfile::tempdir().unwrap();
    let matrix = write(
        dir.path(),
        "matrix.yaml",
        &format!(
            "{target}matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\n\
             stop:\n  max_duration: 12s\n  on_error: never\n  drain: 1s\n"
        ),
    );
    let run = msgperf()
        .args(run_args(&matrix, &dir.path().join("results"), dir.path()))
        .env("MSGPERF_TEST_PASSWORD", serve.get("organizer_password"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(5));
    // Dropping the server kills it (SIGKILL): the API dies mid-run.
    drop(serve);
    let out = run.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    // No worker waits past its timeouts: max_duration + drain + 5 s.
    assert!(
        started.elapsed() < Duration::from_secs(12 + 1 + 5),
        "{:?}",
        started.elapsed()
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report/report.json")).unwrap(),
    )
    .unwrap();
    let run = &json["runs"][0];
    let results = results::read_dir(&dir.path().join("results")).unwrap();
    let seconds: Vec<(u32, u64, u64)> = results[0]
        .timeline
        .iter()
        .map(|s| (s.t, s.sent, s.delivered))
        .collect();
    let why = format!("{seconds:?} {:?}", results[0].first_error);
    // The fault, classified and timed: the Messenger API's connections
    // closed (or a REST call refused) when the server died, about 5 s in.
    let first = results[0].first_error.as_ref().expect("a first error");
    assert!(
        matches!(
            first.kind,
            ErrorKind::ConnectionClosed | ErrorKind::ConnectRefused
        ),
        "{first:?}"
    );
    assert!(first.step.is_some() && first.service.is_some(), "{first:?}");
    assert!((4.0..=7.0).contains(&first.at_s), "{first:?}");
    assert_eq!(run["verdict"], "collapsed", "{run:#} {why}");
    assert!(run["sustained_rate"].is_null(), "{run:#}");
    let c = &run["collapse"];
    let at = c["at_s"].as_u64().unwrap();
    assert!((4..=7).contains(&at), "{c} {why}");
    assert!(c["peak_before"].as_f64().unwrap() > 100.0, "{c}");
    assert!(c["active_chats"].as_u64().unwrap() > 50, "{c}");
    let md = std::fs::read_to_string(dir.path().join("report/report.md")).unwrap();
    assert!(!md.contains("Capacity: 0"), "{md}");
}

#[test]
fn report_exits_1_on_a_regression_unless_the_matrix_gate_says_otherwise() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let report = |matrix: Option<&Path>| {
        let mut cmd = msgperf();
        cmd.arg("report")
            .arg("--results")
            .arg(fixtures.join("current"))
            .arg("--baseline")
            .arg(fixtures.join("baseline"))
            .arg("--baseline-label")
            .arg("main")
            .arg("--out")
            .arg(dir.path().join("report"))
            .current_dir(dir.path());
        if let Some(m) = matrix {
            cmd.arg("--matrix").arg(m);
        }
        cmd.output().unwrap()
    };
    let out = report(None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("regressed"), "{stdout}");
    assert!(stdout.contains("vs main"), "{stdout}");
    assert!(dir.path().join("report/report.md").is_file());
    assert!(dir.path().join("report/charts").is_dir());

    let soft = write(
        dir.path(),
        "soft.yaml",
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [1s]\ngate:\n  fail_on_regression: false\n",
    );
    assert_eq!(report(Some(&soft)).status.code(), Some(0));
    let missing = dir.path().join("missing.yaml");
    assert_eq!(report(Some(&missing)).status.code(), Some(2));
}

#[test]
fn scale_out_options_are_checked_before_any_load() {
    let dir = tempfile::tempdir().unwrap();
    let matrix = write(
        dir.path(),
        "matrix.yaml",
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\n",
    );
    let split = write(
        dir.path(),
        "split.yaml",
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nsplit: 2\n",
    );
    let targeted = write(
        dir.path(),
        "targeted.yaml",
        "target:\n  messenger_ws_url: ws://127.0.0.1:9\n  organizer_api_url: http://127.0.0.1:9\n  participant_api_url: http://127.0.0.1:9\n  event_id: 1\n  organizer_email: o{n}@x\n  organizer_password: pw\nmatrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nsplit: 2\n",
    );
    let cases: [(&Path, &[&str], &str); 9] = [
        (&matrix, &["run", "--shard", "3/2"], "--shard \"3/2\""),
        (
            &matrix,
            &["run", "--part", "2/2"],
            "--part 2/2 does not fit",
        ),
        (&matrix, &["run", "--start-at", "tomorrow"], "RFC 3339"),
        (
            &split,
            &["run", "--part", "1/2", "--start-at", "2030-01-01T00:00:00Z"],
            "no `target:`",
        ),
        (
            &targeted,
            &["run", "--part", "1/2", "--start-at", "2099-01-01T00:00:00Z"],
            "in the future",
        ),
        (&matrix, &["expand", "--shards", "0"], "--shards 0"),
        (&matrix, &["expand", "--split", "x"], "--split \"x\""),
        (
            &matrix,
            &["run", "--plan-id", "12345"],
            "--plan-id \"12345\"",
        ),
        (
            &matrix,
            &["expand", "--plan-id", "nothex00"],
            "8 hex digits",
        ),
    ];
    for (m, args, expected) in cases {
        let out = msgperf()
            .current_dir(dir.path())
            .args(args)
            .arg("--matrix")
            .arg(m)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(
            !dir.path().join("results").exists(),
            "{args:?} ran something"
        );
    }
}

/// `expand` only plans: a target whose secrets are not in this job's
/// environment still expands (the run jobs resolve them), and every job of
/// the plan gets the same plan id.
#[test]
fn expand_plans_without_the_targets_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let matrix = write(
        dir.path(),
        "matrix.yaml",
        "target:\n  messenger_ws_url: ${NO_SUCH_WS_URL}\n  organizer_api_url: http://127.0.0.1:9\n  participant_api_url: http://127.0.0.1:9\n  event_id: ${NO_SUCH_EVENT}\n  organizer_email: o{n}@x\n  organizer_password: ${NO_SUCH_PASSWORD}\nmatrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms, 1s]\nsplit: 2\n",
    );
    let out = msgperf()
        .args(["expand", "--shards", "2", "--format", "github", "--matrix"])
        .arg(&matrix)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("warning"), "the plan has a target: {err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let jobs = v["include"].as_array().unwrap();
    assert_eq!(jobs.len(), 4);
    let id = jobs[0]["plan_id"].as_str().unwrap();
    assert_eq!(id.len(), 8);
    assert!(jobs.iter().all(|j| j["plan_id"] == id));
    let keys: std::collections::HashSet<&str> =
        jobs.iter().map(|j| j["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 4, "artifact keys are unique: {keys:?}");
    // `run` still needs them: it resolves the target.
    let out = msgperf()
        .args(["run", "--part", "1/2", "--start-at", "2030-01-01T00:00:00Z"])
        .arg("--matrix")
        .arg(&matrix)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("NO_SUCH_WS_URL"), "{err}");
}
