//! The workflows in a real runner: nektos/act on this host (no Docker),
//! offline, with the stand-ins of tests/act/ for the remote actions, the
//! binary this test run built, one `msgperf serve` as the shared target and
//! GitHub's API on wiremock.
//!
//! - `perf.yml` → `scale-out.yml` on a pull request, 2 shards × split 2: the
//!   chain expand → 4 run jobs → report, checked for one PR comment, no
//!   sign-up collisions, and merged totals equal to the parts' sums;
//! - the action (`uses: ./`) on a pull request and on the nightly schedule:
//!   comment, summary, outputs, artifact and exit status.
//!
//! Under act, a `needs` job that failed does not start an `if: always()`
//! job, so the report-after-a-failed-part path is not tested here. Skipped,
//! with a message, only where act cannot be run (scripts/test.sh installs it).

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::act::{self, Act};
use common::serve::Serve;
use msgperf::results::RunResult;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_msgperf");
const TOKEN: &str = "ghs_act_test_token_4711";
const COMMENTS: &str = "/repos/octo/app/issues/7/comments";
/// Each act test's bound (the issue's: under 3 minutes).
const ACT_TIMEOUT: Duration = Duration::from_secs(170);

/// Two act runs at once would share two cores with four load processes.
use crate::common::LOAD as SERIAL;

/// GitHub's API for octo/app: no baseline artifact yet, PR 7 without a
/// msgperf comment; `posts` new comments expected (checked on drop).
async fn github(posts: u64) -> MockServer {
    let api = MockServer::start().await;
    let auth = format!("Bearer {TOKEN}");
    Mock::given(method("GET"))
        .and(path("/repos/octo/app"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"default_branch": "main"})))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/octo/app/actions/artifacts"))
        .and(query_param("name", "msgperf-results"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"total_count": 0, "artifacts": []})),
        )
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path(COMMENTS))
        .and(header("authorization", auth.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path(COMMENTS))
        .and(header("authorization", auth.as_str()))
        .and(body_string_contains("<!-- msgperf: "))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 11,
            "html_url": "https://github.test/octo/app/pull/7#issuecomment-11",
            "body": "",
        })))
        .expect(posts)
        .mount(&api)
        .await;
    api
}

/// The pull request event from `base` to `head`, unlabelled: perf.yml must
/// find the changed paths itself.
fn pull_request(base: &str, head: &str) -> Value {
    json!({
        "action": "synchronize",
        "number": 7,
        "pull_request": {
            "number": 7,
            "labels": [],
            "head": {"sha": head, "ref": "change"},
            "base": {"sha": base, "ref": "main"},
        },
        "repository": {"full_name": "octo/app", "name": "app", "owner": {"login": "octo"}, "default_branch": "main"},
    })
}

/// `--var` or `--secret` values for act.
type Values = Vec<(&'static str, String)>;

/// The repository variables and secret that point the workflows at `serve`.
fn target(serve: &Serve) -> (Values, Values) {
    let vars = [
        ("MSGPERF_MESSENGER_WS_URL", "messenger_ws_url"),
        ("MSGPERF_ORGANIZER_API_URL", "organizer_api_url"),
        ("MSGPERF_PARTICIPANT_API_URL", "participant_api_url"),
        ("MSGPERF_EVENT_ID", "event_id"),
        ("MSGPERF_ORGANIZER_EMAIL", "organizer_email"),
    ]
    .map(|(var, key)| (var, serve.get(key).to_string()))
    .to_vec();
    let secrets = vec![
        (
            "MSGPERF_ORGANIZER_PASSWORD",
            serve.get("organizer_password").to_string(),
        ),
        ("GITHUB_TOKEN", TOKEN.to_string()),
    ];
    (vars, secrets)
}

fn assert_ok(run: &act::ActRun) {
    assert_eq!(
        run.code,
        Some(0),
        "act failed after {:?}:\n{}",
        run.took,
        run.log
    );
    assert!(run.took < Duration::from_secs(180), "{:?}", run.took);
}

fn json_files(dir: &Path) -> Vec<RunResult> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            out.push(RunResult::read(&p).unwrap());
        }
    }
    out
}

/// Two scenarios of equal length: one per shard.
const SPLIT_MATRIX: &str = "matrix:\n  sci: [5ms]\n  cpi: [25ms]\n  smi: [100ms, 200ms]\norganizers: 2\nstop:\n  max_duration: 9s\n  drain: 2s\n  on_error: never\ncooldown: 0s\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perf_workflow_scales_out_two_shards_of_two_parts_in_act() {
    let Some(exe) = act::act_or_skip("perf_workflow_scales_out_two_shards_of_two_parts_in_act")
    else {
        return;
    };
    let _serial = SERIAL.lock().await;
    // Throttled, so that the runs reach a plateau: a capacity to report.
    let serve = Serve::start_with(BIN, &["--max-messages-per-second", "600"]);
    let api = github(1).await;
    let scratch = tempfile::tempdir().unwrap();
    let run = perf_in_act(&exe, &serve, &api.uri(), scratch.path()).await;
    assert_ok(&run);
    assert!(!run.log.contains("400 Bad Request"), "{}", run.log);
    let password = serve.get("organizer_password").to_string();
    assert!(
        !run.log.contains(&password),
        "the secret is masked in act's log"
    );

    // Four run jobs, each one part of one scenario, none failed.
    let mut parts = Vec::new();
    for key in ["s1-p1", "s1-p2", "s2-p1", "s2-p2"] {
        let files = json_files(&act::artifact(
            scratch.path(),
            &format!("msgperf-job-{key}"),
        ));
        assert_eq!(files.len(), 1, "{key}: {}", run.log);
        parts.extend(files);
    }
    for p in &parts {
        assert!(
            p.first_error.is_none(),
            "{}: {:?}",
            p.scenario.id,
            p.first_error
        );
        assert!(p.errors_by_kind.is_empty(), "{:?}", p.errors_by_kind);
        assert!(p.totals.messages_sent > 20, "{:?}", p.totals);
    }
    check_merged(&merged_report(scratch.path()), &parts);
    // Every participant of the four parts signed up (none refused as taken).
    let stats = serve.stop();
    let participants: u64 = parts.iter().map(|p| p.totals.participants).sum();
    assert!(participants - stats["participants"] <= 4, "{stats:?}");
    assert_eq!(stats["auth_failures"], 0, "{stats:?}");
    // Exactly one PR comment (wiremock checks `expect(1)` on drop).
    drop(api);
}

/// perf.yml on a pull request, 2 shards × split 2 (repository variables),
/// against `serve`.
async fn perf_in_act(exe: &Path, serve: &Serve, api: &str, scratch: &Path) -> act::ActRun {
    let repo = tempfile::tempdir().unwrap();
    let (base, head) = act::repo(repo.path(), SPLIT_MATRIX, &[]);
    let (mut vars, secrets) = target(serve);
    vars.extend([
        ("MSGPERF_SHARDS", "2".to_string()),
        ("MSGPERF_SPLIT", "2".to_string()),
        ("MSGPERF_START_IN", "15s".to_string()),
    ]);
    let act = Act {
        exe,
        repo: repo.path(),
        scratch,
        event: "pull_request",
        payload: pull_request(&base, &head),
        workflow: ".github/workflows/perf.yml",
        api,
        vars,
        secrets,
        timeout: ACT_TIMEOUT,
    };
    let run = act::run(&act, BIN).await;
    println!("act took {:?}", run.took);
    if std::env::var_os("MSGPERF_ACT_LOG").is_some() {
        println!("{}", run.log);
    }
    run
}

/// The merged report: one run per scenario whose totals are its parts' sums,
/// a capacity headline, and both parts merged.
fn check_merged(report: &Value, parts: &[RunResult]) {
    println!("merged report headline: {}", report["headline"]);
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{report}");
    for r in runs {
        let id = r["id"].as_str().unwrap();
        let of = |f: fn(&RunResult) -> u64| -> u64 {
            parts.iter().filter(|p| p.scenario.id == id).map(f).sum()
        };
        let sent = of(|p| p.totals.messages_sent);
        let delivered = of(|p| p.totals.messages_delivered);
        println!(
            "{id}: merged sent {} delivered {} lost {}; parts' sums sent {sent} delivered {delivered}",
            r["messages_sent"], r["messages_delivered"], r["messages_lost"]
        );
        assert_eq!(r["messages_sent"], sent, "{id}");
        assert_eq!(r["messages_delivered"], delivered, "{id}");
        // The throttled server still queues some at the end: what the sums
        // leave is lost, or still arriving when the 2 s drain bound cut it short.
        let lost = r["messages_lost"].as_u64().unwrap();
        let arriving = r["delivery"]["undelivered_at_drain_end"].as_u64().unwrap();
        assert_eq!(lost + arriving, sent - delivered, "{id}: {r}");
        assert!(delivered > 0 && r["first_error"].is_null(), "{id}: {r}");
    }
    let headline = report["headline"].as_str().unwrap();
    assert!(headline.starts_with("Capacity: "), "{headline}");
    let notes = report["split_notes"].to_string();
    assert!(notes.contains("merged from 2 of 2 runners"), "{notes}");
}

/// report.json of the report job's kept artifact.
fn merged_report(scratch: &Path) -> Value {
    let dir = std::fs::read_dir(scratch.join("artifacts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("msgperf-report-")
        })
        .expect("the report job keeps its report");
    let text = std::fs::read_to_string(dir.join("msgperf-report/report.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

const ACTION_MATRIX: &str = "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nstop:\n  max_duration: 3s\n  on_error: never\n";

/// Runs tests/act/workflows/action.yml on `event`.
async fn action_in_act(event: &str, payload: impl Fn(&str, &str) -> Value, posts: u64) -> Outcome {
    let exe = act::find_act().expect("checked by the caller");
    let serve = Serve::start(BIN);
    let api = github(posts).await;
    let repo = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let workflow = act::root().join("tests/act/workflows/action.yml");
    let (base, head) = act::repo(repo.path(), ACTION_MATRIX, &[&workflow]);
    let (vars, secrets) = target(&serve);
    let run = act::run(
        &Act {
            exe: &exe,
            repo: repo.path(),
            scratch: scratch.path(),
            event,
            payload: payload(&base, &head),
            workflow: ".github/workflows/action.yml",
            api: &api.uri(),
            vars,
            secrets,
            timeout: ACT_TIMEOUT,
        },
        BIN,
    )
    .await;
    println!("act ({event}) took {:?}", run.took);
    if std::env::var_os("MSGPERF_ACT_LOG").is_some() {
        println!("{}", run.log);
    }
    let outputs = run
        .printed()
        .iter()
        .filter_map(|l| l.strip_prefix("OUTPUT "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let summary = act::kept_summaries(scratch.path());
    let uploaded = act::artifact(scratch.path(), "msgperf-results");
    let results = if uploaded.exists() {
        json_files(&uploaded).len()
    } else {
        0
    };
    drop(api);
    Outcome {
        run,
        outputs,
        summary,
        uploaded_results: results,
        _scratch: scratch,
    }
}

struct Outcome {
    run: act::ActRun,
    outputs: std::collections::BTreeMap<String, String>,
    summary: String,
    uploaded_results: usize,
    _scratch: tempfile::TempDir,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_on_a_pull_request_and_on_the_schedule_in_act() {
    if act::act_or_skip("the_action_on_a_pull_request_and_on_the_schedule_in_act").is_none() {
        return;
    }
    let _serial = SERIAL.lock().await;
    let pr = action_in_act("pull_request", pull_request, 1).await;
    assert_ok(&pr.run);
    let o = &pr.outputs;
    assert_eq!(o["REPORT_PATH"], "msgperf-report/report.md", "{o:?}");
    assert_eq!(o["RESULTS_DIR"], "msgperf-results");
    assert_eq!(o["REGRESSED"], "false");
    assert_eq!(
        o["COMMENT_URL"],
        "https://github.test/octo/app/pull/7#issuecomment-11"
    );
    assert!(o["PEAK"].parse::<f64>().is_ok_and(|r| r > 0.0), "{o:?}");
    assert!(
        pr.summary.contains("sci10ms-cpi20ms-smi100ms"),
        "{}",
        pr.summary
    );
    assert_eq!(pr.uploaded_results, 0, "only schedule runs upload results");

    let nightly = action_in_act("schedule", |_, _| json!({"schedule": "17 3 * * *"}), 0).await;
    assert_ok(&nightly.run);
    let o = &nightly.outputs;
    assert_eq!(o["COMMENT_URL"], "", "no comment on a schedule: {o:?}");
    assert_eq!(o["REGRESSED"], "false");
    assert!(o["PEAK"].parse::<f64>().is_ok_and(|r| r > 0.0), "{o:?}");
    assert!(nightly.summary.contains("sci10ms-cpi20ms-smi100ms"));
    assert_eq!(nightly.uploaded_results, 1, "the baseline of later PRs");
}

/// The artifact stand-in behaves as the workflows need GitHub's to: stores
/// by name, refuses a second upload of a name, and fetches by `pattern` into
/// one directory with `merge-multiple` (or one directory per artifact).
#[test]
fn the_artifact_stand_in_keeps_names_unique_and_merges_patterns() {
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("store");
    let script = act::root().join("tests/act/artifact.sh");
    let sh = |args: &[(&str, &str)], cmd: &str| {
        std::process::Command::new("bash")
            .arg(&script)
            .arg(cmd)
            .current_dir(work.path())
            .env("MSGPERF_ACT_ARTIFACTS", &store)
            .envs(args.iter().copied())
            .output()
            .unwrap()
    };
    for (job, file) in [("s1-p1", "a.json"), ("s1-p2", "b.json")] {
        let dir = work.path().join(job);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), job).unwrap();
        let name = format!("msgperf-job-{job}");
        let up = sh(&[("NAME", &name), ("PATHS", job)], "upload");
        assert!(
            up.status.success(),
            "{}",
            String::from_utf8_lossy(&up.stdout)
        );
    }
    let again = sh(
        &[("NAME", "msgperf-job-s1-p1"), ("PATHS", "s1-p2")],
        "upload",
    );
    assert!(!again.status.success(), "a second upload of a name fails");
    assert!(String::from_utf8_lossy(&again.stdout).contains("already exists"));
    let none = sh(
        &[
            ("NAME", "x"),
            ("PATHS", "missing"),
            ("IF_NO_FILES", "error"),
        ],
        "upload",
    );
    assert!(!none.status.success());

    let merged = [
        ("PATTERN", "msgperf-job-*"),
        ("DEST", "merged"),
        ("MERGE", "true"),
    ];
    assert!(sh(&merged, "download").status.success());
    let mut files: Vec<String> = std::fs::read_dir(work.path().join("merged"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["a.json", "b.json"]);
    let apart = [("PATTERN", "msgperf-job-*"), ("DEST", "apart")];
    assert!(sh(&apart, "download").status.success());
    assert!(work.path().join("apart/msgperf-job-s1-p2/b.json").exists());
    let missing = sh(&[("NAME", "msgperf-binary"), ("DEST", "bin")], "download");
    assert!(!missing.status.success(), "a missing name fails");
}
