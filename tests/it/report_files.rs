//! `msgperf report` end to end on the fixture directories: the files it
//! writes, the gate's exit code, the history file, merging of several result
//! directories, baselines from report.json — and the charts, parsed back.

use crate::common;

use common::fixtures;
use msgperf::matrix::Gate;
use msgperf::report::{self, Report, ReportError, ReportOptions};
use std::path::{Path, PathBuf};

fn opts(out: &Path, results: Vec<PathBuf>, baseline: Option<PathBuf>) -> ReportOptions {
    ReportOptions {
        results,
        baseline,
        out: out.to_path_buf(),
        gate: Gate::default(),
        history: None,
        baseline_label: Some("main".into()),
    }
}

/// Decodes a PNG and checks it has `min` size, is not blank and contains `colour`.
fn check_png(path: &Path, min: (u32, u32), colour: [u8; 3]) {
    let file = std::fs::File::open(path).unwrap();
    let mut dec = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut buf = vec![0; dec.output_buffer_size().unwrap()];
    let info = dec.next_frame(&mut buf).unwrap();
    assert!(
        info.width >= min.0 && info.height >= min.1,
        "{path:?}: {info:?}"
    );
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let px = &buf[..info.buffer_size()];
    let non_white = px.chunks(3).filter(|p| p != &[255, 255, 255]).count();
    let share = non_white as f64 / (px.len() / 3) as f64;
    assert!(
        share > 0.02,
        "{path:?} is nearly blank ({share:.3} non-white)"
    );
    let hits = px.chunks(3).filter(|p| *p == colour).count();
    assert!(
        hits > 50,
        "{path:?}: series colour {colour:?} drawn on only {hits} pixels"
    );
}

/// Parses an SVG and returns (width, height, number of elements stroked or filled with `colour`, text).
fn check_svg(path: &Path, colour: &str) -> (f64, f64, usize, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let dim = |a: &str| root.attribute(a).unwrap().parse::<f64>().unwrap();
    let colour = colour.to_ascii_lowercase();
    let painted = doc
        .descendants()
        .filter(|n| {
            ["stroke", "fill"].iter().any(|a| {
                n.attribute(*a)
                    .is_some_and(|v| v.to_ascii_lowercase() == colour)
            })
        })
        .count();
    let words: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    (dim("width"), dim("height"), painted, words.join(" "))
}

#[test]
fn report_command_writes_everything_and_fails_on_regression() {
    let out = tempfile::tempdir().unwrap();
    let mut o = opts(
        out.path(),
        vec![fixtures::dir("current")],
        Some(fixtures::dir("baseline")),
    );
    let history = out.path().join("hist/history.jsonl");
    o.history = Some(history.clone());
    let outcome = report::run(&o).unwrap();
    assert!(outcome.regressed);
    assert_eq!(outcome.exit_code, 1);
    assert!(outcome.summary_table.contains("regressed"));
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert_eq!(md, outcome.markdown);
    assert!(md.contains("```mermaid"));
    let json = std::fs::read_to_string(&outcome.json_path).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert!(back == outcome.report, "report.json does not round-trip");
    assert_eq!(back.charts.len(), 2 * (3 + 2));
    for c in &back.charts {
        assert!(out.path().join(c).is_file(), "{c}");
    }
    // A second report appends a second history line.
    report::run(&o).unwrap();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&history)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["regressed"], true);
    assert_eq!(lines[0]["scenarios"].as_array().unwrap().len(), 3);

    // Not enforced: exit 0 though regressed.
    o.gate.fail_on_regression = false;
    o.history = None;
    let soft = report::run(&o).unwrap();
    assert!(soft.regressed);
    assert_eq!(soft.exit_code, 0);
}

#[test]
fn charts_are_valid_svg_and_png_with_their_series() {
    let out = tempfile::tempdir().unwrap();
    let o = opts(out.path(), vec![fixtures::dir("current")], None);
    report::run(&o).unwrap();
    let charts = out.path().join("charts");
    let sent = "#0072B2"; // PALETTE[0]: sent/s
    let chats = "#E69F00"; // PALETTE[4]: active chats
    let rate = charts.join("rate-sci10ms-cpi20ms-smi100ms");
    let (w, h, n, text) = check_svg(&rate.with_extension("svg"), sent);
    assert_eq!((w, h), (1100.0, 40.0 + 26.0 + 3.0 * 330.0));
    assert!(n >= 3, "sent/s lines in the SVG: {n}");
    assert!(check_svg(&rate.with_extension("svg"), chats).2 >= 3);
    for word in [
        "sent/s",
        "delivered/s",
        "active chats",
        "plateau",
        "first error",
    ] {
        assert!(
            text.contains(word),
            "{word} missing from the timeline legend"
        );
    }
    check_png(&rate.with_extension("png"), (1100, 1056), [0, 114, 178]);
    check_png(&rate.with_extension("png"), (1100, 1056), [230, 159, 0]);

    let (_, _, n, text) = check_svg(&charts.join("published.svg"), sent);
    assert!(n >= 3, "smi 100 ms points: {n}");
    assert!(text.contains("active chats at the first error"));
    check_png(&charts.join("published.png"), (1000, 650), [0, 114, 178]);

    let (_, _, n, text) = check_svg(&charts.join("latency.svg"), "#009E73");
    assert!(n >= 3, "p50 markers: {n}");
    assert!(text.contains("p99") && text.contains("smi 100 ms"));
    check_png(&charts.join("latency.png"), (1200, 200), [213, 94, 0]);
}

#[test]
fn several_result_directories_merge_and_conflicts_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let runs = fixtures::current();
    for (i, r) in runs.iter().enumerate() {
        r.write_to_dir(if i % 2 == 0 { &a } else { &b }).unwrap();
    }
    // The same run in both directories (an artifact downloaded twice) is fine.
    runs[1].write_to_dir(&a).unwrap();
    let merged = report::read_results(&[a.clone(), b.clone()]).unwrap();
    assert_eq!(merged.len(), runs.len());
    // A different run under the same id is a conflict.
    let mut other = runs[1].clone();
    other.totals.messages_sent += 1;
    other.write_to_dir(&a).unwrap();
    let err = report::read_results(&[a, b]).unwrap_err();
    assert!(matches!(err, ReportError::Conflict { .. }));
    assert!(err.to_string().contains("distinct repetitions"), "{err}");
    let none = report::read_results(&[tmp.path().to_path_buf()]).unwrap_err();
    assert!(none.to_string().contains("msgperf run"), "{none}");
}

#[test]
fn previous_report_json_is_a_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    report::run(&opts(&first, vec![fixtures::dir("current")], None)).unwrap();
    // As a directory holding report.json, and as the file itself.
    for base in [first.clone(), first.join("report.json")] {
        let out = tmp.path().join("second");
        let o = opts(&out, vec![fixtures::dir("current")], Some(base));
        let outcome = report::run(&o).unwrap();
        assert!(!outcome.regressed);
        assert_eq!(outcome.exit_code, 0);
        assert!(
            outcome
                .report
                .headline
                .contains("0.0% vs main (not significant)"),
            "{}",
            outcome.report.headline
        );
    }
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, "{\"hello\": 1}").unwrap();
    let o = opts(
        &tmp.path().join("x"),
        vec![fixtures::dir("current")],
        Some(bad),
    );
    let err = report::run(&o).unwrap_err().to_string();
    assert!(err.contains("not a msgperf report.json"), "{err}");
}
