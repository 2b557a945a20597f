//! The nightly through `msgperf action` (the real binary, `mode: report` on
//! fixture result files, so no load runs) against a stateful GitHub stand-in
//! ([`FakeGitHub`]): the test plays the workflow's upload step with the
//! `upload-artifact` output, night after night.
//!
//! - Four nights: good, regressed, regressed again, recovered. Exactly one
//!   issue is opened, then updated with the trend, then closed; the baseline
//!   artifact stays the good night's until the recovered night replaces it.
//! - `nightly` input: `workflow_dispatch` is a nightly only with `true`.
//! - `accept-baseline: true` makes a regressed night the baseline.
//!
//! Run with `--nocapture` to see each night's job summary and the issue.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::fake_github::FakeGitHub;
use crate::common::fixtures;

const TOKEN: &str = "ghs_nightly_token_0123456789";
const GOOD: &str = "baseline";
const SLOW: &str = "current";

/// What one night's step left behind.
struct Night {
    code: Option<i32>,
    stdout: String,
    outputs: BTreeMap<String, String>,
    summary: String,
    results: PathBuf,
}

/// One `msgperf action` step (`mode: report`) in `dir` on `event`, with the
/// fixture results `set`, as run `run_id` of commit `sha`.
fn night(
    dir: &Path,
    api: &str,
    event: &str,
    set: &str,
    run_id: u64,
    extra: &[(&str, &str)],
) -> Night {
    let results = dir.join(format!("results-{run_id}"));
    std::fs::create_dir_all(&results).unwrap();
    for f in std::fs::read_dir(fixtures::dir(set)).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, results.join(f.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        dir.join("matrix.yaml"),
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\n",
    )
    .unwrap();
    std::fs::write(dir.join("event.json"), "{}").unwrap();
    for f in ["output", "summary.md"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_msgperf"))
        .arg("action")
        .current_dir(dir)
        .env_remove("GITHUB_TOKEN")
        .env("GITHUB_ACTIONS", "true")
        .env("INPUT_MODE", "report")
        .env("INPUT_MATRIX", "matrix.yaml")
        .env("INPUT_RESULTS", &results)
        .env("INPUT_RESULTS-DIR", &results)
        .env("INPUT_REPORT-DIR", dir.join(format!("report-{run_id}")))
        .env("INPUT_GITHUB-TOKEN", TOKEN)
        .env("INPUT_COMMENT", "never")
        .env("INPUT_BASELINE", "artifact:msgperf-results")
        .env("GITHUB_EVENT_NAME", event)
        .env("GITHUB_EVENT_PATH", dir.join("event.json"))
        .env("GITHUB_REPOSITORY", "octo/app")
        .env("GITHUB_API_URL", api)
        .env("GITHUB_SERVER_URL", "https://github.test")
        .env("GITHUB_RUN_ID", run_id.to_string())
        .env("GITHUB_SHA", sha(run_id))
        .env("GITHUB_WORKFLOW", "nightly")
        .env("GITHUB_JOB", "report")
        .env("GITHUB_OUTPUT", dir.join("output"))
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .env("RUNNER_TEMP", dir)
        .envs(extra.iter().map(|(k, v)| (format!("INPUT_{k}"), *v)))
        .output()
        .unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !stdout.contains(TOKEN)
            || stdout
                .lines()
                .all(|l| !l.contains(TOKEN) || l.starts_with("::add-mask::"))
    );
    Night {
        code: out.status.code(),
        stdout,
        outputs: outputs(&read("output")),
        summary: read("summary.md"),
        results,
    }
}

/// A GitHub stand-in on its own runtime (kept alive by the caller), its URL,
/// and a scratch directory.
fn stand_in() -> (
    tokio::runtime::Runtime,
    FakeGitHub,
    String,
    tempfile::TempDir,
) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let gh = rt.block_on(FakeGitHub::start(TOKEN));
    let api = gh.server.uri();
    (rt, gh, api, tempfile::tempdir().unwrap())
}

fn sha(run_id: u64) -> String {
    format!("{run_id:0>7}aa{run_id}bbbbccccddddeeeeffff0000111122")
}

/// `$GITHUB_OUTPUT`'s `name<<DELIM` blocks.
fn outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delim) = line.split_once("<<").expect("name<<DELIMITER");
        let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delim).collect();
        out.insert(name.to_string(), value.join("\n"));
    }
    out
}

/// The workflow's upload step: stores the results under `upload-artifact`.
fn upload(gh: &FakeGitHub, n: &Night, run_id: u64, date: &str) -> String {
    let name = n.outputs["upload-artifact"].clone();
    if !name.is_empty() {
        gh.upload(&name, &n.results, run_id, &sha(run_id), date);
    }
    name
}

fn show(title: &str, n: &Night) {
    println!(
        "===== {title}: exit {:?}, outputs status={} upload-artifact={}\n{}",
        n.code,
        n.outputs["status"],
        n.outputs["upload-artifact"],
        n.summary.lines().take(6).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn four_nights_good_regressed_regressed_recovered() {
    let (_rt, gh, api, dir) = stand_in();
    let d = dir.path();

    let n1 = night(d, &api, "schedule", GOOD, 101, &[]);
    show("night 1 (good)", &n1);
    assert_eq!(n1.code, Some(0), "{}", n1.stdout);
    assert_eq!(n1.outputs["status"], "valid");
    assert_eq!(n1.outputs["nightly"], "true");
    assert_eq!(
        upload(&gh, &n1, 101, "2026-11-28T03:17:00Z"),
        "msgperf-results"
    );
    assert!(gh.state.lock().unwrap().issues.is_empty());

    let n2 = night(d, &api, "schedule", SLOW, 102, &[]);
    show("night 2 (regressed)", &n2);
    assert_eq!(
        n2.code,
        Some(1),
        "the gate fails a regressed night: {}",
        n2.stdout
    );
    assert_eq!(n2.outputs["status"], "regressed");
    let against = "**Compared against:** `msgperf-results` of run [101](https://github.test/octo/app/actions/runs/101), commit `0000101`, 2026-11-28T03:17:00Z";
    assert!(n2.summary.contains(against), "{}", n2.summary);
    assert_eq!(
        upload(&gh, &n2, 102, "2026-11-29T03:17:00Z"),
        "msgperf-results-regressed"
    );

    let n3 = night(d, &api, "schedule", SLOW, 103, &[]);
    show("night 3 (regressed again)", &n3);
    assert_eq!(n3.outputs["status"], "regressed");
    assert!(
        n3.summary.contains(against),
        "the baseline stays the good night: {}",
        n3.summary
    );
    assert_eq!(
        upload(&gh, &n3, 103, "2026-11-30T03:17:00Z"),
        "msgperf-results-regressed"
    );
    {
        let s = gh.state.lock().unwrap();
        assert_eq!(s.issues.len(), 1, "exactly one issue");
        let i = &s.issues[0];
        assert_eq!(
            (i.state.as_str(), i.edits),
            ("open", 1),
            "opened, then updated once"
        );
        assert_eq!(i.labels, ["msgperf-regression"]);
        assert!(
            i.body.contains("2 nights since the last good night"),
            "{}",
            i.body
        );
        let rows = msgperf::action::previous_rows(&i.body);
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(
            rows[0].contains("[102](https://github.test/octo/app/actions/runs/102)")
                && rows[0].contains("regressed")
        );
        assert!(rows[1].contains("[103](") && rows[1].contains("`0000103`"));
        assert!(i.body.contains("of run [101]("), "{}", i.body);
        let good: Vec<_> = s
            .artifacts
            .iter()
            .filter(|a| a.name == "msgperf-results")
            .map(|a| a.run_id)
            .collect();
        assert_eq!(good, [101], "the baseline artifact stays the good night's");
        println!(
            "===== the tracking issue after night 3:\n{}",
            i.body.lines().take(14).collect::<Vec<_>>().join("\n")
        );
    }

    let n4 = night(d, &api, "schedule", GOOD, 104, &[]);
    show("night 4 (recovered)", &n4);
    assert_eq!(n4.code, Some(0), "{}", n4.stdout);
    assert_eq!(n4.outputs["status"], "valid");
    assert_eq!(
        upload(&gh, &n4, 104, "2026-12-01T03:17:00Z"),
        "msgperf-results"
    );
    let s = gh.state.lock().unwrap();
    assert_eq!(s.issues.len(), 1);
    assert_eq!(s.issues[0].state, "closed");
    assert_eq!(s.issues[0].comments.len(), 1);
    assert!(
        s.issues[0].comments[0].starts_with(
            "Recovered: tonight is no longer regressed against `msgperf-results` of run [101]"
        ),
        "{}",
        s.issues[0].comments[0]
    );
    println!("===== the closing comment:\n{}", s.issues[0].comments[0]);
    assert!(
        s.unexpected.is_empty(),
        "unexpected requests: {:?}",
        s.unexpected
    );
}

#[test]
fn workflow_dispatch_is_a_nightly_only_with_nightly_true() {
    let (_rt, gh, api, dir) = stand_in();
    let d = dir.path();
    gh.upload(
        "msgperf-results",
        &fixtures::dir(GOOD),
        90,
        &sha(90),
        "2026-11-27T03:17:00Z",
    );

    let by_hand = night(d, &api, "workflow_dispatch", SLOW, 91, &[]);
    assert_eq!(by_hand.outputs["nightly"], "false");
    assert_eq!(by_hand.outputs["upload-artifact"], "");
    assert_eq!(by_hand.outputs["status"], "regressed");
    assert!(
        gh.state.lock().unwrap().issues.is_empty(),
        "auto: no issue on workflow_dispatch"
    );

    let forced = night(
        d,
        &api,
        "workflow_dispatch",
        SLOW,
        92,
        &[("NIGHTLY", "true")],
    );
    assert_eq!(forced.outputs["nightly"], "true");
    assert_eq!(
        forced.outputs["upload-artifact"],
        "msgperf-results-regressed"
    );
    assert_eq!(
        gh.state.lock().unwrap().issues.len(),
        1,
        "nightly: true opens the issue"
    );

    let off = night(d, &api, "schedule", SLOW, 93, &[("NIGHTLY", "false")]);
    assert_eq!(
        (
            off.outputs["nightly"].as_str(),
            off.outputs["upload-artifact"].as_str()
        ),
        ("false", "")
    );
    assert_eq!(
        gh.state.lock().unwrap().issues[0].edits,
        0,
        "nightly: false leaves the issue alone"
    );

    let accepted = night(
        d,
        &api,
        "workflow_dispatch",
        SLOW,
        94,
        &[("NIGHTLY", "true"), ("ACCEPT-BASELINE", "true")],
    );
    assert_eq!(
        accepted.outputs["upload-artifact"], "msgperf-results",
        "accepted as the baseline"
    );
    let s = gh.state.lock().unwrap();
    assert_eq!(s.issues[0].state, "closed");
    assert!(
        s.issues[0].comments[0].starts_with("Accepted as the new baseline by hand"),
        "{:?}",
        s.issues[0].comments
    );
    assert!(
        s.unexpected.is_empty(),
        "unexpected requests: {:?}",
        s.unexpected
    );

    let bad = night(d, &api, "schedule", SLOW, 95, &[("NIGHTLY", "sometimes")]);
    assert!(
        bad.stdout.contains(
            "input `nightly` is \"sometimes\": auto (nightly on schedule events), true or false"
        ),
        "{}",
        bad.stdout
    );
}

#[test]
fn a_forbidden_baseline_artifact_names_actions_read() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let api = rt.block_on(async {
        let api = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/repos/octo/app"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"default_branch": "main"})),
            )
            .mount(&api)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/octo/app/actions/artifacts"))
            .respond_with(ResponseTemplate::new(403).set_body_json(
                serde_json::json!({"message": "Resource not accessible by integration"}),
            ))
            .expect(1)
            .mount(&api)
            .await;
        api
    });
    let dir = tempfile::tempdir().unwrap();
    let n = night(dir.path(), &api.uri(), "workflow_dispatch", GOOD, 200, &[]);
    let warning = n
        .stdout
        .lines()
        .find(|l| l.starts_with("::warning") && l.contains("cannot fetch baseline artifact"))
        .unwrap_or_else(|| panic!("{}", n.stdout));
    assert!(warning.contains("grant `actions: read`"), "{warning}");
    assert!(
        !warning.contains("pull-requests") && !warning.contains("issues: write"),
        "{warning}"
    );
    assert_eq!(n.code, Some(0), "a missing baseline is a warning");
}

#[test]
fn a_night_without_a_baseline_leaves_the_issue_open() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let gh = rt.block_on(FakeGitHub::start(TOKEN));
    let api = gh.server.uri();
    let dir = tempfile::tempdir().unwrap();
    let good = fixtures::dir(GOOD).display().to_string();
    let slow = night(
        dir.path(),
        &api,
        "schedule",
        SLOW,
        301,
        &[("BASELINE", &good)],
    );
    assert_eq!(slow.outputs["status"], "regressed");
    assert!(
        slow.summary
            .contains(&format!("**Compared against:** `{good}`")),
        "{}",
        slow.summary
    );
    // The baseline artifact expired: nothing to compare with tonight.
    let blind = night(dir.path(), &api, "schedule", GOOD, 302, &[]);
    assert_eq!(blind.outputs["upload-artifact"], "msgperf-results");
    let s = gh.state.lock().unwrap();
    assert_eq!((s.issues.len(), s.issues[0].state.as_str()), (1, "open"));
    assert!(
        s.issues[0].comments.is_empty(),
        "{:?}",
        s.issues[0].comments
    );
    assert!(
        s.unexpected.is_empty(),
        "unexpected requests: {:?}",
        s.unexpected
    );
}
