//! Results survive a kill: the journal a run appends while it runs, what
//! `msgperf report` makes of it after a SIGKILL, and result files it cannot
//! read (the real binary throughout).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use msgperf::results::{self, Outcome, StopReason};

fn msgperf() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_msgperf"));
    cmd.env("CI", "true").env_remove("GITHUB_ACTIONS");
    cmd
}

fn report(results_dir: &Path, out: &Path) -> (i32, String, serde_json::Value) {
    let run = msgperf()
        .args(["report", "--results"])
        .arg(results_dir)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    let json = std::fs::read_to_string(out.join("report.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_default();
    (run.status.code().unwrap_or(-1), stderr, json)
}

#[test]
#[cfg(unix)]
fn a_sigkilled_run_is_reported_as_interrupted_from_its_journal() {
    let _serial = crate::common::LOAD.blocking_lock();
    let dir = tempfile::tempdir().unwrap();
    let matrix = dir.path().join("matrix.yaml");
    // Embedded server, one scenario far longer than the kill.
    std::fs::write(
        &matrix,
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nrepetitions: 1\nstop:\n  max_duration: 60s\n  on_error: never\n",
    )
    .unwrap();
    let results_dir = dir.path().join("results");
    let mut child = msgperf()
        .args(["run", "--matrix"])
        .arg(&matrix)
        .arg("--out")
        .arg(&results_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(5));
    // SIGKILL: no handler runs, nothing is flushed but what was synced.
    child.kill().unwrap();
    child.wait().unwrap();
    let id = "sci10ms-cpi20ms-smi100ms-r1";
    let journal = results_dir.join(format!("{id}.journal.jsonl"));
    assert!(journal.is_file(), "the journal is left behind");
    assert!(!results_dir.join(format!("{id}.json")).exists());
    // The library's reading of it: the run as far as it was journaled.
    let run = results::journal::recover(&journal).unwrap();
    assert_eq!(run.outcome, Outcome::Interrupted);
    assert_eq!(run.stop_reason, StopReason::Signal);
    assert!(run.timeline.len() >= 4, "{} s", run.timeline.len());
    assert!(run.totals.messages_sent > 0, "{:?}", run.totals);

    let (code, stderr, json) = report(&results_dir, &dir.path().join("report"));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("{id}.journal.jsonl")) && stderr.contains("interrupted"),
        "the warning names the journal: {stderr}"
    );
    let runs = json["runs"].as_array().expect("runs in report.json");
    assert_eq!(runs.len(), 1, "{json}");
    assert_eq!(runs[0]["verdict"], "interrupted", "{}", runs[0]);
    assert_eq!(runs[0]["outcome"], "interrupted");
    assert!(
        runs[0]["duration_s"].as_f64().unwrap() >= 4.0,
        "{}",
        runs[0]
    );
    // Never a capacity.
    assert!(runs[0]["sustained_rate"].is_null(), "{}", runs[0]);
}

#[test]
fn report_skips_a_half_written_result_file_with_a_warning_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let results_dir = dir.path().join("results");
    std::fs::create_dir_all(&results_dir).unwrap();
    let good = crate::common::builder::build(&crate::common::builder::Spec::new(100.0, 1, 4210.0));
    let path = good.write_to_dir(&results_dir).unwrap();
    // The same kind of file, cut off mid-way (a copy that did not finish).
    let text = std::fs::read(&path).unwrap();
    let half = results_dir.join("sci10ms-cpi20ms-smi1s-r1.json");
    std::fs::write(&half, &text[..text.len() / 2]).unwrap();
    let (code, stderr, json) = report(&results_dir, &dir.path().join("report"));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: skipping") && stderr.contains(&half.display().to_string()),
        "{stderr}"
    );
    let runs = json["runs"].as_array().expect("runs in report.json");
    assert_eq!(runs.len(), 1, "only the readable run: {json}");
    assert_eq!(runs[0]["id"], good.scenario.id.as_str());
    // Nothing readable at all is still an error, after the warnings.
    std::fs::remove_file(&path).unwrap();
    let (code, stderr, _) = report(&results_dir, &dir.path().join("report2"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no result files"), "{stderr}");
}
