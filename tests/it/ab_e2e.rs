//! Base against candidate in one job, end to end through the binary: `msgperf
//! run` with `targets: {base, candidate}` on two embedded servers, then
//! `msgperf report`, whose report.json holds the paired comparison.
//!
//! (a) candidate capped 10% below the base: the interleaved ratio is
//!     0.90 ± 0.02.
//! (b) the same caps falling 1% per run over the job (the server's test-only
//!     `drift_per_run` knob): interleaved pairs still give 0.90 ± 0.03, while
//!     `compare: sequential` and the stored-baseline method (base runs first,
//!     judged later against the candidate's) measurably do not (≈ 0.9 ×
//!     0.99⁴ = 0.865 with four pairs).
//!
//! Runs are 7 s (the shortest a plateau can be found in: two 3 s windows),
//! with participants added fast enough that the cap holds from the second
//! second on. The tests run by default at 500 vs 450 msg/s ([`LIGHT`]): a
//! debug build's load generator falls behind its schedule (a
//! `generator-bound` run, which no pair counts) at the 3,000 vs 2,700 msg/s
//! of the issue on two cores shared with both servers, and the ratios do not
//! depend on the scale. The `#[ignore]`d `..._at_3000` variants use those
//! caps: `cargo test --release --test it ab_e2e -- --ignored` on a quiet
//! machine. Each test prints its figures (README's "Which comparison").

use serde_json::Value;
use std::path::{Path, PathBuf};

use crate::cli::{msgperf, serial};

/// Four pairs: AB, BA, AB, BA, so a linear drift cancels exactly.
const PAIRS: u32 = 4;

/// The caps of the two sides, and the participant and send intervals that
/// make a run reach the base's cap at about two seconds.
#[derive(Clone, Copy)]
struct Scale {
    base: u32,
    candidate: u32,
    cpi: &'static str,
    smi: &'static str,
}

/// 500 vs 450 msg/s: 50 participants/s sending every 200 ms, 250 msg/s
/// more every second.
const LIGHT: Scale = Scale {
    base: 500,
    candidate: 450,
    cpi: "20ms",
    smi: "200ms",
};

/// The issue's 3,000 vs 2,700 msg/s: 100 participants/s (one chat each at sci
/// 10 ms) sending every 50 ms, 2,000 msg/s more every second.
const ISSUE: Scale = Scale {
    base: 3000,
    candidate: 2700,
    cpi: "10ms",
    smi: "50ms",
};

impl Scale {
    /// The A/B plan in `compare` order, with or without the drift.
    fn matrix(self, compare: &str, drift: bool) -> String {
        let side = |cap: u32| {
            let drift = if drift { ", drift_per_run: 0.01" } else { "" };
            format!("{{ embedded: {{ max_messages_per_second: {cap}{drift} }} }}")
        };
        format!(
            "matrix:\n  sci: [10ms]\n  cpi: [{}]\n  smi: [{}]\nrepetitions: {PAIRS}\n\
             stop:\n  max_duration: 7s\n  drain: 0s\n  on_error: never\n\
             targets:\n  base: {}\n  candidate: {}\ncompare: {compare}\n",
            self.cpi,
            self.smi,
            side(self.base),
            side(self.candidate)
        )
    }
}

/// `msgperf run` of `yaml` into `dir/results`. Its report's gate fails the
/// command (exit 1) for a regressed candidate, which every job here has.
fn run(dir: &Path, yaml: &str) -> PathBuf {
    let matrix = dir.join("matrix.yaml");
    std::fs::write(&matrix, yaml).unwrap();
    let out = dir.join("results");
    let status = msgperf()
        .arg("run")
        .arg("--matrix")
        .arg(&matrix)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "msgperf run: {status}");
    out
}

/// `msgperf report` of `results` (and a baseline): report.json and the exit code.
fn report(results: &Path, out: &Path, baseline: Option<&Path>) -> (Value, i32) {
    let mut cmd = msgperf();
    cmd.arg("report")
        .arg("--results")
        .arg(results)
        .arg("--out")
        .arg(out);
    if let Some(b) = baseline {
        cmd.arg("--baseline").arg(b);
    }
    let output = cmd.output().unwrap();
    let code = output.status.code().unwrap_or(-1);
    let text = std::fs::read_to_string(out.join("report.json")).unwrap_or_else(|e| {
        panic!(
            "no report.json ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (serde_json::from_str(&text).unwrap(), code)
}

/// The overall paired ratio and interval, and how many pairs counted.
struct Paired {
    ratio: f64,
    low: f64,
    high: f64,
    pairs: usize,
}

fn paired(report: &Value) -> Paired {
    let overall = &report["ab"]["paired"]["overall"];
    let excluded = &report["ab"]["paired"]["groups"][0]["excluded"];
    let f = |k: &str| {
        overall[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k} missing: {overall}; excluded pairs: {excluded}"))
    };
    Paired {
        ratio: f("ratio"),
        low: f("ci_low"),
        high: f("ci_high"),
        pairs: overall["pairs"].as_array().map_or(0, Vec::len),
    }
}

fn show(name: &str, p: &Paired) {
    println!(
        "{name}: ratio {:.3} (95% CI {:.3}–{:.3}, {} pairs)",
        p.ratio, p.low, p.high, p.pairs
    );
}

#[test]
fn interleaved_pairs_measure_a_ten_percent_slower_candidate() {
    ten_percent_slower(LIGHT);
}

#[test]
#[ignore = "3,000 msg/s: a release build on a quiet machine"]
fn interleaved_pairs_measure_a_ten_percent_slower_candidate_at_3000() {
    ten_percent_slower(ISSUE);
}

#[test]
fn interleaved_pairs_cancel_drift_that_sequential_and_a_stored_baseline_do_not() {
    drift_cancels(LIGHT);
}

#[test]
#[ignore = "3,000 msg/s: a release build on a quiet machine"]
fn interleaved_pairs_cancel_drift_that_sequential_and_a_stored_baseline_do_not_at_3000() {
    drift_cancels(ISSUE);
}

/// (a): no drift, four interleaved pairs.
fn ten_percent_slower(scale: Scale) {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let results = run(dir.path(), &scale.matrix("interleaved", false));
    // Both sides' files, side and pair in each, never colliding.
    let mut names: Vec<String> = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2 * PAIRS as usize, "{names:?}");
    let id = format!("sci10ms-cpi{}-smi{}-r1", scale.cpi, scale.smi);
    assert_eq!(names[0], format!("{id}.base.json"));
    assert_eq!(names[1], format!("{id}.candidate.json"));
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(results.join(&names[1])).unwrap()).unwrap();
    assert_eq!(
        (file["side"].as_str(), file["pair"].as_u64()),
        (Some("candidate"), Some(1))
    );
    assert_eq!(file["schema"], 1);

    let (report, code) = report(&results, &dir.path().join("report"), None);
    let p = paired(&report);
    show("(a) interleaved", &p);
    assert!(p.pairs >= 3, "too few valid pairs: {}", report["ab"]);
    assert!((p.ratio - 0.90).abs() <= 0.02, "ratio {:.3}", p.ratio);
    assert!(p.low <= p.ratio && p.ratio <= p.high);
    // 10% lower, beyond gate.min_change (5%): regressed, and the gate fails.
    assert_eq!(report["ab"]["paired"]["overall"]["verdict"], "regressed");
    assert_eq!(report["gate_failed"], true);
    assert_eq!(code, 1);
    let headline = report["headline"].as_str().unwrap();
    assert!(
        headline.starts_with("candidate / base: 0.")
            && headline.contains("sustained rate (95% CI")
            && headline.ends_with("): regressed"),
        "{headline}"
    );
    let charts = dir.path().join("report/charts");
    assert!(charts.join("ab-ratios.svg").is_file());
    assert!(charts.join("ab-ratios.png").is_file());
    let md = std::fs::read_to_string(dir.path().join("report/report.md")).unwrap();
    assert!(
        md.contains("### Base against candidate (paired runs)"),
        "{md}"
    );
}

/// (b): the caps fall 1% per run; three orders of the same runs.
fn drift_cancels(scale: Scale) {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // Interleaved: pair r's runs are neighbours in the sequence.
    let inter = dir.path().join("interleaved");
    std::fs::create_dir_all(&inter).unwrap();
    let results = run(&inter, &scale.matrix("interleaved", true));
    let (r, _) = report(&results, &inter.join("report"), None);
    let interleaved = paired(&r);
    show("(b) interleaved, 1%/run drift", &interleaved);

    // Sequential: every base run, then every candidate run.
    let seq = dir.path().join("sequential");
    std::fs::create_dir_all(&seq).unwrap();
    let results = run(&seq, &scale.matrix("sequential", true));
    let (r, _) = report(&results, &seq.join("report"), None);
    let sequential = paired(&r);
    show("(b) sequential, 1%/run drift", &sequential);

    // Stored baseline: the same base-first runs as two single-target jobs,
    // judged the way a nightly baseline is (mean against mean).
    let stored = stored_baseline(&results, &seq);
    println!("(b) stored baseline, 1%/run drift: ratio {stored:.3}");

    assert!(interleaved.pairs >= 3 && sequential.pairs >= 3);
    assert!(
        (interleaved.ratio - 0.90).abs() <= 0.03,
        "interleaved {:.3}",
        interleaved.ratio
    );
    // Four runs of drift between a base run and its candidate: 0.9 × 0.99⁴.
    assert!(
        sequential.ratio < 0.885 && sequential.high < 0.90,
        "sequential {:.3} ({:.3}–{:.3})",
        sequential.ratio,
        sequential.low,
        sequential.high
    );
    assert!(stored < 0.885, "stored baseline {stored:.3}");
    assert!(
        (interleaved.ratio - 0.90).abs() < (sequential.ratio - 0.90).abs()
            && (interleaved.ratio - 0.90).abs() < (stored - 0.90).abs()
    );
}

/// Splits a sequential job's files into a base job and a candidate job as
/// plain single-target runs (no side, no pair), reports the base one, and
/// compares the candidate's report with it as the stored baseline: the
/// ratio of the two sides' mean sustained rates.
fn stored_baseline(results: &Path, dir: &Path) -> f64 {
    let (base, cand) = (dir.join("stored-base"), dir.join("stored-candidate"));
    for entry in std::fs::read_dir(results).unwrap() {
        let path = entry.unwrap().path();
        let mut run: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let to = match run["side"].as_str() {
            Some("base") => &base,
            _ => &cand,
        };
        let obj = run.as_object_mut().unwrap();
        obj.remove("side");
        obj.remove("pair");
        std::fs::create_dir_all(to).unwrap();
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".base", "")
            .replace(".candidate", "");
        std::fs::write(to.join(name), serde_json::to_string(&run).unwrap()).unwrap();
    }
    let (b, _) = report(&base, &dir.join("stored-base-report"), None);
    assert!(b.get("ab").is_none());
    let baseline = dir.join("stored-base-report/report.json");
    let (c, _) = report(&cand, &dir.join("stored-candidate-report"), Some(&baseline));
    let cmp = &c["scenarios"][0]["comparison"];
    let mean = |k: &str| {
        cmp[k]
            .as_f64()
            .unwrap_or_else(|| panic!("{k} missing: {cmp}"))
    };
    mean("current_mean") / mean("baseline_mean")
}
