//! report.html: the file itself (self-contained: no external reference) and
//! what a reader sees in a real browser. The browser check opens it in
//! Debian's headless Chromium through playwright-core
//! (tests/browser/check-report.cjs): every chart drawn as a non-empty SVG with
//! its expected series, report.md's tables, no console error, no network
//! request, and the tables and charts still there with JavaScript off. The
//! screenshot and the page are kept in target/test-artifacts/report-html/.
//!
//! `.ci/run` installs chromium (apt) and playwright-core (npm, into
//! .ci/node). The browser test skips, saying so, only when there is no
//! chromium; a chromium without playwright-core is a failure that says what
//! to install.

use crate::common::fixtures;
use crate::report_cloudwatch::with_metrics;
use msgperf::matrix::Gate;
use msgperf::report::{self, Commit, ReportOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes a report with a baseline and CloudWatch data; returns report.html's path.
fn write_report(dir: &Path) -> PathBuf {
    let results = dir.join("results");
    std::fs::create_dir_all(&results).unwrap();
    for f in std::fs::read_dir(fixtures::dir("current")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, results.join(f.file_name().unwrap())).unwrap();
    }
    with_metrics(7).write_to_dir(&results).unwrap();
    let out = dir.join("report");
    let commit = Commit {
        sha: Some("0123abc".into()),
        git_ref: Some("main".into()),
        run_url: Some("https://github.example/o/r/actions/runs/42".into()),
    };
    let opts = ReportOptions {
        results: vec![results],
        baseline: Some(fixtures::dir("baseline")),
        out,
        gate: Gate::default(),
        history: None,
        baseline_label: Some("main".into()),
    };
    let rep = report::run_for(&opts, &commit).unwrap();
    assert!(rep.html_path.ends_with("report/report.html"));
    rep.html_path
}

#[test]
fn report_html_is_one_self_contained_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = std::fs::read_to_string(write_report(dir.path())).unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    for gone in [
        "<script src",
        "<link",
        "<img",
        "@import",
        "url(",
        "```mermaid",
    ] {
        assert!(!page.contains(gone), "report.html has {gone:?}");
    }
    // Every http(s) reference is a link for the reader, never a resource.
    let refs = page
        .match_indices("http://")
        .chain(page.match_indices("https://"));
    for (i, _) in refs {
        let before = &page[i.saturating_sub(6)..i];
        let ok = before.ends_with("href=\"")
            || before.ends_with('>')
            || before.ends_with("xmlns=\"")
            || page[i..].starts_with("http://www.w3.org/");
        assert!(
            ok,
            "a reference that is not a link: {}",
            &page[i.saturating_sub(40)..i + 40]
        );
    }
    let charts = page.matches("<figure class=\"chart\"").count();
    assert_eq!(
        charts,
        page.matches("<svg").count(),
        "one inline SVG per chart"
    );
    for stem in [
        "rate-sci10ms-cpi20ms-smi100ms",
        "published",
        "latency",
        "cloudwatch-sci10ms-cpi20ms-smi100ms",
    ] {
        assert!(
            page.contains(&format!("data-stem=\"{stem}\"")),
            "chart {stem} missing"
        );
    }
    assert!(page.contains("<table>"), "report.md's tables");
    assert!(page.contains("<details>"), "run details");
    assert!(page.contains("CloudWatch"), "CloudWatch panels");
    assert!(
        page.contains("<td>Baseline</td><td>main ("),
        "baseline compared against"
    );
    assert!(page.contains("vs main"), "the comparison column");
    assert!(page.contains("href=\"https://github.example/o/r/actions/runs/42\""));
}

#[test]
fn report_html_in_headless_chromium() {
    let chromium =
        PathBuf::from(std::env::var("MSGPERF_CHROMIUM").unwrap_or("/usr/bin/chromium".into()));
    if !chromium.exists() {
        eprintln!(
            "SKIPPED report_html_in_headless_chromium: no chromium at {} (`apt-get install chromium`, as .ci/run does; or set MSGPERF_CHROMIUM)",
            chromium.display()
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let node_modules = root.join(".ci/node/node_modules");
    assert!(
        node_modules.join("playwright-core").is_dir(),
        "chromium is installed but playwright-core is not: run `npm install --no-save --prefix .ci/node playwright-core@1.65.1` (as .ci/run does)"
    );
    let keep = root.join("target/test-artifacts/report-html");
    let _ = std::fs::remove_dir_all(&keep);
    std::fs::create_dir_all(&keep).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let html = write_report(dir.path());
    std::fs::copy(&html, keep.join("report.html")).unwrap();
    let shot = keep.join("report.png");
    let out = Command::new("node")
        .arg(root.join("tests/browser/check-report.cjs"))
        .arg(&html)
        .arg(&shot)
        .env("NODE_PATH", &node_modules)
        .env("MSGPERF_CHROMIUM", &chromium)
        .output()
        .expect("node runs (it is on PATH wherever .ci/run ran npm)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser check failed:\n{stdout}\n{stderr}"
    );
    let found: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let charts = found["charts"].as_array().unwrap();
    assert!(charts.len() >= 4, "{found}");
    assert!(charts
        .iter()
        .all(|c| c["missing"].as_array().unwrap().is_empty()));
    assert_eq!(found["requests"].as_array().unwrap().len(), 0);
    assert_eq!(found["consoleErrors"].as_array().unwrap().len(), 0);
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "screenshot {}",
        shot.display()
    );
    println!(
        "report.html in Chromium: {} charts drawn; screenshot {}",
        charts.len(),
        shot.display()
    );
}
