//! `msgperf action` with two targets (base through the target inputs, the
//! candidate through `candidate-*`) against GitHub on wiremock: the sticky
//! comment carries the A/B headline, and the gate's exit code follows the
//! paired verdict.

use msgperf::results::Side;
use msgperf::server::{self, ServerConfig, SEED_PASSWORD};

use crate::action_e2e::{
    action_step, assert_no_secret_in_files, github_expecting_one_new_comment, TOKEN,
};
use crate::common::builder::{build, Spec};
use crate::common::LOAD as SERIAL;

/// The comment the action posted.
async fn posted(api: &wiremock::MockServer) -> String {
    let requests = api.received_requests().await.unwrap();
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .expect("a new comment");
    let body: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    body["body"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_targets_run_in_pairs_and_the_comment_leads_with_the_ab_headline() {
    let _serial = SERIAL.lock().await;
    let api = github_expecting_one_new_comment(8).await;
    let base = server::start(ServerConfig::default()).await.unwrap();
    let cand = server::start(ServerConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("matrix.yaml"),
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nrepetitions: 2\n\
         stop:\n  max_duration: 2s\n  on_error: never\n",
    )
    .unwrap();
    let c = cand.info().clone();
    let event = c.event_id.to_string();
    let candidate = [
        ("CANDIDATE-MESSENGER-WS-URL", c.messenger_ws_url.as_str()),
        ("CANDIDATE-ORGANIZER-API-URL", c.organizer_api_url.as_str()),
        (
            "CANDIDATE-PARTICIPANT-API-URL",
            c.participant_api_url.as_str(),
        ),
        ("CANDIDATE-EVENT-ID", event.as_str()),
    ];
    let step = action_step(d, &api.uri(), base.info(), &candidate).await;
    let (base_stats, cand_stats) = (base.stats(), cand.stats());
    base.shutdown().await;
    cand.shutdown().await;
    assert_eq!(step.code, Some(0), "{}\n{}", step.stdout, step.stderr);
    // Both deployments got load, signed in with the base's credentials.
    for stats in [&base_stats, &cand_stats] {
        assert!(stats["messages_stored"] > 0, "{stats:?}");
    }
    let mut files: Vec<String> = std::fs::read_dir(d.join("results"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "sci10ms-cpi20ms-smi100ms-r1.base.json",
            "sci10ms-cpi20ms-smi100ms-r1.candidate.json",
            "sci10ms-cpi20ms-smi100ms-r2.base.json",
            "sci10ms-cpi20ms-smi100ms-r2.candidate.json"
        ]
    );
    // Pair 1 runs AB, pair 2 BA: the progress groups show the order.
    let order: Vec<&str> = step
        .stderr
        .lines()
        .filter(|l| l.contains("-> ") && l.contains(".json"))
        .collect();
    assert_eq!(order.len(), 4, "{}", step.stderr);
    for (line, side) in order.iter().zip(["base", "candidate", "candidate", "base"]) {
        assert!(line.ends_with(&format!(".{side}.json")), "{line}");
    }
    // 2-second runs are too short for a plateau: no pair counts, and the
    // comment says so in the A/B headline; nothing fails the step.
    let body = posted(&api).await;
    assert!(
        body.contains("**candidate / base: no pair with two valid runs: inconclusive**"),
        "{body}"
    );
    assert!(
        body.contains("### Base against candidate (paired runs)"),
        "{body}"
    );
    assert!(body.contains(&c.messenger_ws_url), "{body}");
    assert!(body.contains("pair 1: base run too-short"), "{body}");
    assert_eq!(step.outputs["regressed"], "false");
    assert!(!body.contains(SEED_PASSWORD) && !body.contains(TOKEN));
    assert_no_secret_in_files(d);
}

/// A/B result files of five pairs, the candidate 10% slower.
fn write_pairs(dir: &std::path::Path) {
    for rep in 1..=5 {
        for (side, cap) in [(Side::Base, 4000.0), (Side::Candidate, 3600.0)] {
            let mut r = build(&Spec::new(100.0, rep, cap));
            r.side = Some(side);
            r.pair = Some(rep);
            r.write_to_dir(dir).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regressed_candidate_fails_the_step_with_the_ratio_in_the_comment() {
    let _serial = SERIAL.lock().await;
    let api = github_expecting_one_new_comment(9).await;
    let base = server::start(ServerConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("matrix.yaml"),
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nrepetitions: 5\n",
    )
    .unwrap();
    write_pairs(&d.join("ab-results"));
    let report = [("MODE", "report"), ("RESULTS", "ab-results")];
    let step = action_step(d, &api.uri(), base.info(), &report).await;
    assert_eq!(step.code, Some(1), "{}\n{}", step.stdout, step.stderr);
    assert_eq!(step.outputs["regressed"], "true");
    let body = posted(&api).await;
    let headline = body
        .lines()
        .find(|l| l.starts_with("**candidate / base: "))
        .unwrap_or_else(|| panic!("{body}"));
    assert!(
        headline.starts_with("**candidate / base: 0.90× sustained rate (95% CI 0.")
            && headline.ends_with(", 5 pairs): regressed**"),
        "{headline}"
    );
    assert!(body.contains("gate: ❌ failed"), "{body}");

    // The same runs with fail-on-regression off: reported, exit 0.
    let api = github_expecting_one_new_comment(10).await;
    let lenient = [
        ("MODE", "report"),
        ("RESULTS", "ab-results"),
        ("FAIL-ON-REGRESSION", "false"),
    ];
    let step = action_step(d, &api.uri(), base.info(), &lenient).await;
    base.shutdown().await;
    assert_eq!(step.code, Some(0), "{}\n{}", step.stdout, step.stderr);
    assert!(posted(&api).await.contains("(not enforced)"));
}
