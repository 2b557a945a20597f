//! Scale-out end to end without a workflow runner: `msgperf expand` plans
//! 2 shards × split 2, and its four jobs run as four `msgperf run` processes
//! at once against one `msgperf serve`, as four GitHub runners would against
//! one staging target. Every shard's first slot starts at the same instant,
//! so this is where participant identities once collided (`400 email already
//! in use`). Then `msgperf report` merges the parts: totals add up, to the
//! parts and to the server's own counters.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::serve::Serve;
use msgperf::report::read_results;
use msgperf::results::{Outcome, RunResult};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_msgperf");

/// Two scenarios of equal length (one per shard), each split over two parts.
fn matrix(serve: &Serve) -> String {
    serve.target_yaml("SCALE_TEST_PASSWORD")
        + "matrix:\n  sci: [5ms]\n  cpi: [25ms]\n  smi: [100ms, 200ms]\norganizers: 2\nsplit: 2\nstop:\n  max_duration: 4s\n  drain: 1s\ncooldown: 0s\n"
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `msgperf expand --format github` for `shards` × `split`: the matrix entries.
fn expand(matrix: &Path) -> Vec<Value> {
    let o = Command::new(BIN)
        .env_remove("SCALE_TEST_PASSWORD")
        .args([
            "expand",
            "--shards",
            "2",
            "--split",
            "2",
            "--start-in",
            "6s",
        ])
        .args(["--format", "github", "--matrix"])
        .arg(matrix)
        .output()
        .unwrap();
    ok(&o, "expand (without the password: it plans only)");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["include"].as_array().unwrap().clone()
}

/// One job of the matrix as its own process, like a runner's `mode: run`,
/// in workflow run attempt `attempt`.
fn run_job(job: &Value, matrix: &Path, out: &Path, password: &str, attempt: &str) -> Output {
    let arg = |k: &str| job[k].as_str().unwrap().to_string();
    Command::new(BIN)
        .env("CI", "true")
        .env_remove("GITHUB_ACTIONS")
        .env("SCALE_TEST_PASSWORD", password)
        .env("GITHUB_RUN_ATTEMPT", attempt)
        .args(["run", "--shard", &arg("shard"), "--part", &arg("part")])
        .args(["--split", &arg("split"), "--start-at", &arg("start_at")])
        .args(["--plan-id", &arg("plan_id"), "--matrix"])
        .arg(matrix)
        .arg("--out")
        .arg(out)
        .arg("--report-dir")
        .arg(out.join("report"))
        .output()
        .unwrap()
}

#[test]
fn two_shards_of_two_parts_share_one_server_without_collisions() {
    let serve = Serve::start(BIN);
    let password = serve.get("organizer_password").to_string();
    let dir = tempfile::tempdir().unwrap();
    let matrix_path = dir.path().join("matrix.yaml");
    std::fs::write(&matrix_path, matrix(&serve)).unwrap();
    let jobs = expand(&matrix_path);
    assert_eq!(jobs.len(), 4, "{jobs:?}");
    let plan_id = jobs[0]["plan_id"].as_str().unwrap();
    assert!(jobs.iter().all(|j| j["plan_id"] == plan_id));

    let dirs: Vec<PathBuf> = jobs
        .iter()
        .map(|j| {
            dir.path()
                .join(format!("msgperf-job-{}", j["key"].as_str().unwrap()))
        })
        .collect();
    run_all(&jobs, &dirs, &matrix_path, &password);
    let parts = read_parts(&dirs);
    let merged = read_results(&dirs).unwrap();
    assert_eq!(
        merged.len(),
        2,
        "two scenarios, each merged from its two parts"
    );
    for m in &merged {
        check_merged(m, &parts);
    }
    // "Re-run failed jobs" keeps expand's plan id: the job's second attempt
    // (starting at once, its start instant past) signs up new participants.
    let rerun_dir = dir.path().join("rerun");
    let o = run_job(&jobs[0], &matrix_path, &rerun_dir, &password, "2");
    ok(&o, "the re-run job");
    let rerun: Vec<RunResult> = read_dir_json(&rerun_dir);
    assert_eq!(rerun.len(), 1);
    assert!(rerun[0].first_error.is_none(), "{:?}", rerun[0].first_error);
    assert!(rerun[0].totals.messages_sent > 20, "{:?}", rerun[0].totals);

    // The server saw exactly the load of the five runs (it also stores each
    // chat's problem description as a message), and every sign-up succeeded.
    let all = parts.iter().chain(&rerun);
    let sent: u64 = all.clone().map(|p| p.totals.messages_sent).sum();
    let participants: u64 = all.map(|p| p.totals.participants).sum();
    let stats = serve.stop();
    assert_eq!(stats["messages_stored"] - stats["chats_started"], sent);
    assert!(participants - stats["participants"] <= 5, "{stats:?}");

    // A run job that failed uploads nothing, and the report job still runs
    // (`if: !cancelled()`; act cannot show this path): the report covers the
    // parts that exist, says which is missing, and comments once.
    std::fs::remove_dir_all(&dirs[3]).unwrap();
    report_job_after_a_failed_part(dir.path(), &matrix_path);
}

/// The four jobs at once, each into its directory; none fails or sees a 400.
fn run_all(jobs: &[Value], dirs: &[PathBuf], matrix: &Path, password: &str) {
    let begun = Instant::now();
    let outputs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .zip(dirs)
            .map(|(j, d)| s.spawn(|| run_job(j, matrix, d, password, "1")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (o, j) in outputs.iter().zip(jobs) {
        ok(o, j["name"].as_str().unwrap());
        let text = String::from_utf8_lossy(&o.stdout) + String::from_utf8_lossy(&o.stderr);
        // An HTTP 400 (`POST ... answered 400`, `(HTTP 400)`), not any 400:
        // the drain column can say "(400 still arriving)".
        let http_400 = text.contains("answered 400") || text.contains("HTTP 400");
        assert!(!http_400, "{}: {text}", j["name"]);
    }
    assert!(begun.elapsed() < Duration::from_secs(60));
}

/// The result files in `dir`.
fn read_dir_json(dir: &Path) -> Vec<RunResult> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| RunResult::read(&p).unwrap())
        .collect()
}

/// Every job's part file, each a whole clean run.
fn read_parts(dirs: &[PathBuf]) -> Vec<RunResult> {
    let parts: Vec<RunResult> = dirs.iter().flat_map(|d| read_dir_json(d)).collect();
    assert_eq!(parts.len(), 4, "one part file per job");
    for p in &parts {
        let who = format!(
            "{} part {:?}",
            p.scenario.id,
            p.split.as_ref().map(|s| s.part)
        );
        assert_eq!(p.outcome, Outcome::Completed, "{who}: {:?}", p.first_error);
        assert!(p.first_error.is_none(), "{who}: {:?}", p.first_error);
        assert_eq!(p.totals.errors, 0, "{who}");
        assert!(p.totals.messages_sent > 20, "{who}: {:?}", p.totals);
        assert!(
            p.duration_s > 3.0,
            "{who} ran its whole 4 s: {}",
            p.duration_s
        );
    }
    parts
}

/// A merged run: both parts, totals their sums, nearly nothing lost, and no
/// message of the other shard counted.
fn check_merged(m: &RunResult, parts: &[RunResult]) {
    let id = m.scenario.id.as_str();
    let sum = |f: fn(&RunResult) -> u64| -> u64 {
        parts.iter().filter(|p| p.scenario.id == id).map(f).sum()
    };
    assert_eq!(m.split.as_ref().unwrap().merged_parts, [1, 2], "{id}");
    assert_eq!(m.totals.messages_sent, sum(|p| p.totals.messages_sent));
    assert_eq!(m.totals.participants, sum(|p| p.totals.participants));
    assert_eq!(
        m.totals.messages_delivered,
        sum(|p| p.totals.messages_delivered)
    );
    assert!(
        m.totals.messages_delivered * 100 >= m.totals.messages_sent * 95,
        "{id}: an unloaded server delivers nearly all: {:?}",
        m.totals
    );
    assert!(
        m.totals.messages_lost * 20 <= m.totals.messages_sent,
        "{id}"
    );
    // The other shard's messages reach our organizer accounts too: its run
    // key keeps them out of this run's counts.
    assert_eq!(m.totals.messages_duplicated, 0, "{id}: {:?}", m.totals);
    assert!(
        m.totals.messages_delivered <= m.totals.messages_sent,
        "{id}"
    );
}

/// The workflow's report job (`mode: report`) over the jobs' artifacts in
/// `dir`, without the target's password: it only reads the plan's gate.
fn report_job_after_a_failed_part(dir: &Path, matrix: &Path) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt.block_on(github_expecting_one_comment());
    std::fs::write(
        dir.join("event.json"),
        r#"{"number":7,"pull_request":{"number":7}}"#,
    )
    .unwrap();
    let o = Command::new(BIN)
        .arg("action")
        .current_dir(dir)
        .env_remove("SCALE_TEST_PASSWORD")
        .env_remove("GITHUB_TOKEN")
        .env("INPUT_MODE", "report")
        .env("INPUT_MATRIX", matrix)
        .env("INPUT_RESULTS", "msgperf-job-*")
        .env("INPUT_REPORT-DIR", "merged")
        .env("INPUT_GITHUB-TOKEN", "ghs_scale_test_token")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", dir.join("event.json"))
        .env("GITHUB_REPOSITORY", "octo/app")
        .env("GITHUB_API_URL", api.uri())
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .env("RUNNER_TEMP", dir)
        .output()
        .unwrap();
    ok(&o, "the report job");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("merged/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["runs"].as_array().unwrap().len(), 2, "{report}");
    let notes = report["split_notes"].to_string();
    assert!(notes.contains("part(s) 2 of 2 missing"), "{notes}");
    assert!(std::fs::read_to_string(dir.join("summary.md"))
        .unwrap()
        .contains("missing"));
    drop(api);
}

/// GitHub's API for PR 7 of octo/app, without a msgperf comment yet: one
/// new comment expected (checked when dropped).
async fn github_expecting_one_comment() -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let comments = "/repos/octo/app/issues/7/comments";
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(comments))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path(comments))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"id": 3, "html_url": "https://github.test/c/3"})),
        )
        .expect(1)
        .mount(&api)
        .await;
    api
}
