//! `msgperf action` end to end, as the runner would start it: the real binary
//! with `INPUT_*` and `GITHUB_*` variables, a pull_request event file, runner
//! files in a temp directory, GitHub's API on wiremock and the embedded
//! staging server as the target (given through the target-override inputs).

use std::collections::BTreeMap;
use std::path::Path;

use msgperf::server::{self, ServerConfig, SEED_PASSWORD};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const TOKEN: &str = "ghs_e2e_secret_token_0123";
const COMMENTS: &str = "/repos/octo/app/issues/7/comments";

/// Load runs share two cores: one at a time.
use crate::common::LOAD as SERIAL;

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    outputs: BTreeMap<String, String>,
    summary: String,
    dir: tempfile::TempDir,
}

/// An embedded server for the action to test, and a directory holding a
/// matrix.yaml of 2-second runs of the given `smi` list.
async fn server_and_matrix(smi: &str) -> (server::RunningServer, tempfile::TempDir) {
    let srv = server::start(ServerConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("matrix.yaml"),
        format!("matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [{smi}]\nstop:\n  max_duration: 2s\n  on_error: never\n"),
    )
    .unwrap();
    (srv, dir)
}

async fn run_action(api: &str) -> Run {
    let (srv, dir) = server_and_matrix("100ms").await;
    let step = action_step(dir.path(), api, srv.info(), &[]).await;
    srv.shutdown().await;
    Run {
        code: step.code,
        stdout: step.stdout,
        stderr: step.stderr,
        outputs: step.outputs,
        summary: step.summary,
        dir,
    }
}

/// One `msgperf action` step in `d` (holding matrix.yaml) on a pull_request
/// event, with the embedded server `info` as the target and `extra` inputs.
pub(crate) async fn action_step(
    d: &Path,
    api: &str,
    info: &server::ServerInfo,
    extra: &[(&str, &str)],
) -> Step {
    std::fs::write(
        d.join("event.json"),
        r#"{"action":"synchronize","number":7,"pull_request":{"number":7}}"#,
    )
    .unwrap();
    let _ = std::fs::remove_file(d.join("output"));
    let _ = std::fs::remove_file(d.join("summary.md"));
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_msgperf"))
        .arg("action")
        .current_dir(d)
        .env_remove("GITHUB_TOKEN")
        .env("CI", "true")
        .env("GITHUB_ACTIONS", "true")
        .env("INPUT_MATRIX", "matrix.yaml")
        .env("INPUT_RESULTS-DIR", "results")
        .env("INPUT_REPORT-DIR", "report")
        .env("INPUT_GITHUB-TOKEN", TOKEN)
        .env("INPUT_COMMENT", "on-pr")
        .env("INPUT_MESSENGER-WS-URL", &info.messenger_ws_url)
        .env("INPUT_ORGANIZER-API-URL", &info.organizer_api_url)
        .env("INPUT_PARTICIPANT-API-URL", &info.participant_api_url)
        .env("INPUT_EVENT-ID", info.event_id.to_string())
        .env("INPUT_ORGANIZER-EMAIL", &info.organizer_email)
        .env("INPUT_ORGANIZER-PASSWORD", SEED_PASSWORD)
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", d.join("event.json"))
        .env("GITHUB_REPOSITORY", "octo/app")
        .env("GITHUB_API_URL", api)
        .env("GITHUB_SERVER_URL", "https://github.test")
        .env("GITHUB_RUN_ID", "123")
        .env("GITHUB_WORKFLOW", "perf")
        .env("GITHUB_JOB", "run")
        .env("GITHUB_OUTPUT", d.join("output"))
        .env("GITHUB_STEP_SUMMARY", d.join("summary.md"))
        .env("RUNNER_TEMP", d)
        .envs(extra.iter().map(|(k, v)| (format!("INPUT_{k}"), *v)))
        .output()
        .await
        .unwrap();
    let read = |name: &str| std::fs::read_to_string(d.join(name)).unwrap_or_default();
    Step {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        outputs: parse_outputs(&read("output")),
        summary: read("summary.md"),
    }
}

/// What one action step left behind.
pub(crate) struct Step {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) outputs: BTreeMap<String, String>,
    pub(crate) summary: String,
}

/// Parses `$GITHUB_OUTPUT`, insisting on the `name<<DELIM ... DELIM` form.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delim) = line.split_once("<<").expect("name<<DELIMITER");
        assert!(
            delim.starts_with("ghadelimiter_") && delim.len() > 20,
            "{delim}"
        );
        let mut value = Vec::new();
        for l in lines.by_ref() {
            if l == delim {
                break;
            }
            value.push(l);
        }
        out.insert(name.to_string(), value.join("\n"));
    }
    out
}

/// The secrets appear in `::add-mask::` lines only, which come first, and in no file.
fn assert_secrets_hidden(run: &Run) {
    for secret in [SEED_PASSWORD, TOKEN] {
        let mask = format!("::add-mask::{secret}");
        assert!(
            run.stdout.contains(&mask),
            "{secret} not masked: {}",
            run.stdout
        );
        let unmasked = run
            .stdout
            .lines()
            .filter(|l| l.contains(secret) && *l != mask);
        assert_eq!(unmasked.count(), 0, "{}", run.stdout);
        assert!(!run.stderr.contains(secret), "{}", run.stderr);
    }
    let first_other = run
        .stdout
        .lines()
        .position(|l| !l.starts_with("::add-mask::"))
        .unwrap_or(0);
    assert!(
        first_other >= 2,
        "masks must come before anything else: {}",
        run.stdout
    );
    assert_no_secret_in_files(run.dir.path());
}

pub(crate) fn assert_no_secret_in_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            assert_no_secret_in_files(&p);
        } else if let Ok(text) = std::fs::read(&p) {
            let text = String::from_utf8_lossy(&text);
            for secret in [SEED_PASSWORD, TOKEN] {
                assert!(!text.contains(secret), "{secret} in {}", p.display());
            }
        }
    }
}

/// GitHub's API for PR 7 without a msgperf comment yet: exactly one listing
/// and one new comment (`id`), both with the token, or the test fails.
pub(crate) async fn github_expecting_one_new_comment(id: u64) -> MockServer {
    let api = MockServer::start().await;
    let auth = format!("Bearer {TOKEN}");
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .and(header("authorization", auth.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .and(header("authorization", auth.as_str()))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": id, "html_url": format!("https://github.test/octo/app/pull/7#issuecomment-{id}")
        })))
        .expect(1)
        .mount(&api)
        .await;
    api
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_on_a_pull_request_comments_and_writes_outputs_and_summary() {
    let _serial = SERIAL.lock().await;
    let api = github_expecting_one_new_comment(5).await;
    let run = run_action(&api.uri()).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("::group::[1/1] sci10ms-cpi20ms-smi100ms-r1"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("::endgroup::"), "{}", run.stderr);

    let keys: Vec<&str> = run.outputs.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "comment-url",
            "nightly",
            "peak-rate",
            "regressed",
            "report-path",
            "results-dir",
            "status",
            "sustained-rate",
            "upload-artifact"
        ]
    );
    // A 2-second smoke run is too short for a plateau: `too-short`, the
    // minimum stated, the peak still shown, and a status to branch on.
    assert_eq!(run.outputs["status"], "no-valid-run");
    assert_eq!(run.outputs["sustained-rate"], "");
    assert_eq!(
        (
            run.outputs["nightly"].as_str(),
            run.outputs["upload-artifact"].as_str()
        ),
        ("false", "")
    );
    assert!(run.summary.contains("too-short"), "{}", run.summary);
    assert!(
        run.summary
            .contains("the plateau analysis needs at least 6 s"),
        "{}",
        run.summary
    );
    assert!(run
        .summary
        .contains("[run's artifacts](https://github.test/octo/app/actions/runs/123#artifacts)"));
    assert!(
        std::fs::read_to_string(run.dir.path().join("report/report.html"))
            .unwrap()
            .contains("<figure class=\"chart\"")
    );
    assert_eq!(
        run.outputs["comment-url"],
        "https://github.test/octo/app/pull/7#issuecomment-5"
    );
    assert_eq!(run.outputs["regressed"], "false");
    assert_eq!(run.outputs["results-dir"], "results");
    assert!(run.outputs["report-path"].ends_with("report.md"));
    assert!(run.outputs["peak-rate"].parse::<f64>().unwrap() > 0.0);

    let marker = "<!-- msgperf: perf/run/matrix.yaml -->";
    assert!(run.summary.starts_with(marker), "{}", run.summary);
    assert!(run
        .summary
        .contains("https://github.test/octo/app/actions/runs/123"));
    let requests = api.received_requests().await.unwrap();
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    let body = body["body"].as_str().unwrap();
    assert!(
        body.starts_with(marker) && body.contains("actions/runs/123"),
        "{body}"
    );
    assert!(!body.contains(SEED_PASSWORD) && !body.contains(TOKEN));
    assert_secrets_hidden(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_token_falls_back_to_the_summary_and_exits_0() {
    let _serial = SERIAL.lock().await;
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({ "message": "Resource not accessible by integration" })),
        )
        .expect(1)
        .mount(&api)
        .await;
    crate::github_wiremock::no_posts(&api).await;
    let run = run_action(&api.uri()).await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("::warning title=PR comment::"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("job summary only"), "{}", run.stdout);
    assert!(run
        .summary
        .contains("<!-- msgperf: perf/run/matrix.yaml -->"));
    assert_eq!(run.outputs["comment-url"], "");
    assert_secrets_hidden(&run);
}

/// The scaled-out workflow's shape: two `mode: run` jobs (shards 1/2 and 2/2)
/// each write their own results and never touch GitHub; one `mode: report`
/// job over both artifact directories (a glob) comments exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_jobs_then_one_report_job_comment_once() {
    let _serial = SERIAL.lock().await;
    let api = github_expecting_one_new_comment(6).await;
    let (srv, dir) = server_and_matrix("100ms, 1s").await;
    let info = srv.info().clone();
    let d = dir.path();
    let mut ran = Vec::new();
    for shard in ["1/2", "2/2"] {
        let results = format!("job-{}", &shard[..1]);
        let step = action_step(
            d,
            &api.uri(),
            &info,
            &[("MODE", "run"), ("SHARD", shard), ("RESULTS-DIR", &results)],
        )
        .await;
        assert_eq!(step.code, Some(0), "{}\n{}", step.stdout, step.stderr);
        assert_eq!(step.outputs["results-dir"], results);
        assert!(
            step.summary.is_empty(),
            "run jobs leave the summary to the report job"
        );
        let files: Vec<String> = std::fs::read_dir(d.join(&results))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        ran.extend(files);
    }
    ran.sort();
    assert_eq!(
        ran,
        [
            "sci10ms-cpi20ms-smi100ms-r1.json",
            "sci10ms-cpi20ms-smi1s-r1.json"
        ]
    );
    let step = action_step(
        d,
        &api.uri(),
        &info,
        &[("MODE", "report"), ("RESULTS", "job-*")],
    )
    .await;
    srv.shutdown().await;
    assert_eq!(step.code, Some(0), "{}\n{}", step.stdout, step.stderr);
    assert_eq!(
        step.outputs["comment-url"],
        "https://github.test/octo/app/pull/7#issuecomment-6"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("report/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["runs"].as_array().unwrap().len(), 2);
    assert!(step.summary.contains("smi"), "{}", step.summary);
}

/// A wrong organizer password on a pull request: exit 2, an `::error::`
/// saying what to fix, and the sticky comment says the test could not start
/// while keeping the last good report's figures, marked stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_keeps_the_last_good_comment_marked_stale_and_exits_2() {
    let _serial = SERIAL.lock().await;
    let api = MockServer::start().await;
    let marker = "<!-- msgperf: perf/run/matrix.yaml -->";
    let good = format!("{marker}\n## msgperf capacity report\n\n**Capacity: 3,000 msg/s sustained at smi 100 ms**\n\n---\nupdated by msgperf\n");
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 41, "body": "unrelated", "html_url": "https://github.test/c/41"},
            {"id": 42, "body": good, "html_url": "https://github.test/c/42"}
        ])))
        .mount(&api)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/octo/app/issues/comments/42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 42, "html_url": "https://github.test/c/42"
        })))
        .expect(1)
        .mount(&api)
        .await;
    crate::github_wiremock::no_posts(&api).await;
    let (srv, dir) = server_and_matrix("100ms").await;
    let wrong = "a-wrong-password-0000";
    let step = action_step(
        dir.path(),
        &api.uri(),
        srv.info(),
        &[("ORGANIZER-PASSWORD", wrong)],
    )
    .await;
    srv.shutdown().await;
    assert_eq!(step.code, Some(2), "{}\n{}", step.stdout, step.stderr);
    assert!(
        step.stdout
            .contains("::error title=msgperf%3A the test could not start::")
            || step
                .stdout
                .contains("::error title=msgperf: the test could not start::"),
        "{}",
        step.stdout
    );
    assert!(
        step.stdout
            .contains("check the organizer password variable"),
        "{}",
        step.stdout
    );
    let requests = api.received_requests().await.unwrap();
    let patch = requests
        .iter()
        .find(|r| r.method.as_str() == "PATCH")
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&patch.body).unwrap();
    let body = body["body"].as_str().unwrap();
    assert!(body.starts_with(marker), "{body}");
    assert!(
        body.contains("the test could not start") && body.contains("organizer1@msgperf.local"),
        "{body}"
    );
    assert!(
        body.contains("stale") && body.contains("Capacity: 3,000 msg/s sustained"),
        "{body}"
    );
    assert!(
        !body.contains(wrong)
            && !step
                .stdout
                .lines()
                .any(|l| l.contains(wrong) && !l.starts_with("::add-mask::"))
    );
    assert!(step.summary.contains("could not start"), "{}", step.summary);
}
