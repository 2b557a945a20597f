//! Hooks, cooldown and skipped runs through `run::run`, against the embedded
//! server on 127.0.0.1, each test bounded to a few seconds.

use std::path::Path;

use msgperf::results::{self, Outcome, RunResult};
use msgperf::run::{self, RunOptions, RunOutcome};

/// Load tests share two cores: one at a time, so none measures another's load.
use crate::common::LOAD as SERIAL;

async fn run_matrix(dir: &Path, yaml: &str) -> RunOutcome {
    let matrix = dir.join("matrix.yaml");
    std::fs::write(&matrix, yaml).unwrap();
    run::run(&RunOptions {
        matrix,
        out: dir.join("results"),
        scenarios: vec![],
        ..Default::default()
    })
    .await
    .unwrap()
}

fn log(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("hooks.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn phases(r: &RunResult) -> Vec<&str> {
    r.hooks.iter().map(|h| h.phase.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_run_in_order_and_a_failing_before_each_skips_exactly_that_run() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("hooks.log");
    let log_path = log_path.display();
    let yaml = format!(
        r#"matrix: {{ sci: [10ms], cpi: [20ms], smi: [100ms] }}
repetitions: 3
stop: {{ max_duration: 1s, drain: 0s }}
cooldown: 1s
hooks:
  before_all: echo "before_all $MSGPERF_SCENARIO_COUNT $MSGPERF_EMBEDDED" >> {log_path}
  before_each:
    run: |
      echo "before_each $MSGPERF_SCENARIO_ID $MSGPERF_REPETITION $MSGPERF_SMI_MS pw=${{MSGPERF_ORGANIZER_PASSWORD:-unset}}" >> {log_path}
      if command -v curl >/dev/null; then curl -fsS -X POST "$MSGPERF_ORGANIZER_API_URL/__msgperf/reset"; fi
      echo "reset done"
      [ "$MSGPERF_REPETITION" != 2 ]
    timeout: 10s
    wait_for: ${{MSGPERF_ORGANIZER_API_URL}}/__msgperf/stats
  after_each: echo "after_each $MSGPERF_SCENARIO_ID $MSGPERF_OUTCOME" >> {log_path}
  after_all: echo "after_all" >> {log_path}
"#
    );
    let outcome = run_matrix(dir.path(), &yaml).await;
    assert_eq!((outcome.interrupted, &outcome.aborted), (None, &None));
    let id = |r: u32| format!("sci10ms-cpi20ms-smi100ms-r{r}");
    assert_eq!(
        log(dir.path()),
        vec![
            "before_all 3 true".to_string(),
            format!("before_each {} 1 100 pw=unset", id(1)),
            format!("after_each {} completed", id(1)),
            format!("before_each {} 2 100 pw=unset", id(2)),
            format!("after_each {} skipped", id(2)),
            format!("before_each {} 3 100 pw=unset", id(3)),
            format!("after_each {} completed", id(3)),
            "after_all".to_string(),
        ]
    );
    // What the files say is what was returned, after_all included.
    let files = results::read_dir(&dir.path().join("results")).unwrap();
    assert_eq!(files, outcome.results);
    let [r1, r2, r3] = &files[..] else {
        panic!("{} results", files.len())
    };
    for r in [r1, r3] {
        assert_eq!(r.outcome, Outcome::Completed, "{:?}", r.first_error);
        assert!(r.totals.messages_delivered > 0);
        assert_eq!(r.skipped_reason, None);
        assert!(r.hooks.iter().all(|h| h.ok), "{:?}", r.hooks);
    }
    assert_eq!(phases(r1), ["before_all", "before_each", "after_each"]);
    assert_eq!(phases(r3), ["before_each", "after_each", "after_all"]);
    assert!(r1.hooks[1].output.contains("reset done"));
    assert_eq!(r2.outcome, Outcome::Skipped);
    assert_eq!(
        r2.skipped_reason.as_deref(),
        Some("before_each hook failed: exited with status 1")
    );
    assert_eq!((r2.totals.messages_sent, r2.timeline.len()), (0, 0));
    assert_eq!(phases(r2), ["before_each", "after_each"]);
    assert_eq!(r2.hooks[0].exit_status, Some(1));
    // Two cooldowns (before r2's and r3's before_each) separate r1 from r3.
    let t = |s: &msgperf::results::Timestamp| s.instant().unwrap();
    let gap = t(&r3.started_at).duration_since(t(&r1.ended_at)).unwrap();
    assert!(gap.as_secs_f64() >= 2.0, "{gap:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_stops_the_matrix_and_after_all_still_runs() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("hooks.log");
    let yaml = format!(
        "matrix: {{ sci: [10ms], cpi: [20ms], smi: [100ms, 1s] }}\nstop: {{ max_duration: 1s, drain: 0s }}\n\
         on_hook_failure: abort\nhooks:\n  before_each: {{ run: 'echo nope; exit 7' }}\n  after_all: echo after_all >> {}\n",
        log_path.display()
    );
    let outcome = run_matrix(dir.path(), &yaml).await;
    let reason = outcome.aborted.expect("aborted");
    assert!(reason.contains("exited with status 7"), "{reason}");
    assert_eq!(outcome.results.len(), 1, "the second scenario never ran");
    let r = &outcome.results[0];
    assert_eq!(r.outcome, Outcome::Skipped);
    assert_eq!(phases(r), ["before_each", "after_all"]);
    assert_eq!(r.hooks[0].output.trim(), "nope");
    assert_eq!(log(dir.path()), ["after_all"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_before_all_skips_every_run_without_load() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = "matrix: { sci: [10ms], cpi: [20ms], smi: [100ms] }\nrepetitions: 2\n\
                stop: { max_duration: 5s }\nhooks:\n  before_all: { run: 'sleep 5', timeout: 300ms }\n  before_each: 'exit 1'\n";
    let started = std::time::Instant::now();
    let outcome = run_matrix(dir.path(), yaml).await;
    assert!(started.elapsed().as_secs_f64() < 3.0);
    assert_eq!(outcome.aborted, None);
    assert_eq!(outcome.results.len(), 2);
    for r in &outcome.results {
        assert_eq!(r.outcome, Outcome::Skipped);
        let why = r.skipped_reason.as_deref().unwrap();
        assert!(
            why.starts_with("before_all hook failed: timed out after 300ms"),
            "{why}"
        );
    }
    // before_all is recorded once, in the first result; before_each never ran.
    assert_eq!(phases(&outcome.results[0]), ["before_all"]);
    assert!(outcome.results[1].hooks.is_empty());
}

/// An A/B plan on two embedded servers: every `*_each` hook names its side
/// and sees that side's URLs, `before_all` sees both, cooldown comes between
/// every run, and a failing `before_each` skips exactly that side's run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ab_hooks_get_the_side_and_its_target_in_pair_order() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("hooks.log");
    let log_path = log_path.display();
    let yaml = format!(
        r#"matrix: {{ sci: [10ms], cpi: [20ms], smi: [100ms] }}
repetitions: 2
stop: {{ max_duration: 1s, drain: 0s }}
cooldown: 1s
targets:
  base: embedded
  candidate: embedded
hooks:
  before_all: echo "before_all $MSGPERF_ORGANIZER_API_URL $MSGPERF_CANDIDATE_ORGANIZER_API_URL" >> {log_path}
  before_each: |
    echo "before_each $MSGPERF_REPETITION $MSGPERF_SIDE $MSGPERF_ORGANIZER_API_URL" >> {log_path}
    [ "$MSGPERF_SIDE-$MSGPERF_REPETITION" != candidate-2 ]
  after_each: echo "after_each $MSGPERF_SIDE $MSGPERF_OUTCOME" >> {log_path}
"#
    );
    let started = std::time::Instant::now();
    let outcome = run_matrix(dir.path(), &yaml).await;
    let lines = log(dir.path());
    let all: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(all.len(), 3, "{lines:?}");
    let (base_url, cand_url) = (all[1], all[2]);
    assert_ne!(base_url, cand_url, "two servers");
    let each: Vec<String> = lines[1..].to_vec();
    assert_eq!(
        each,
        [
            format!("before_each 1 base {base_url}"),
            "after_each base completed".to_string(),
            format!("before_each 1 candidate {cand_url}"),
            "after_each candidate completed".to_string(),
            format!("before_each 2 candidate {cand_url}"),
            "after_each candidate skipped".to_string(),
            format!("before_each 2 base {base_url}"),
            "after_each base completed".to_string(),
        ]
    );
    let sides: Vec<(Option<&str>, Option<u32>, Outcome)> = outcome
        .results
        .iter()
        .map(|r| (r.side.map(|s| s.as_str()), r.pair, r.outcome))
        .collect();
    assert_eq!(
        sides,
        [
            (Some("base"), Some(1), Outcome::Completed),
            (Some("candidate"), Some(1), Outcome::Completed),
            (Some("candidate"), Some(2), Outcome::Skipped),
            (Some("base"), Some(2), Outcome::Completed),
        ]
    );
    // Cooldown before every run but the first: three seconds at least.
    assert!(started.elapsed() >= std::time::Duration::from_secs(3 + 3));
    assert_eq!(
        results::read_dir(&dir.path().join("results"))
            .unwrap()
            .len(),
        4
    );
}
