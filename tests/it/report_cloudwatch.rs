//! `msgperf report` with CloudWatch data in the result files: the CloudWatch
//! table and its notes in report.md, the `cloudwatch` field of report.json,
//! and the overlay chart (parsed back). Set `MSGPERF_KEEP_CHARTS=DIR` to keep
//! the files for a look.

use crate::common;

use common::builder::{build, Spec};
use msgperf::matrix::Gate;
use msgperf::report::{self, Report, ReportOptions};
use msgperf::results::{MetricPoint, MetricSeries, RunMetrics, RunResult};

pub(crate) fn with_metrics(rep: u32) -> RunResult {
    let mut run = build(&Spec::new(100.0, rep, 400.0));
    let secs = run.timeline.len() as f64;
    let points = |f: &dyn Fn(f64) -> f64| -> Vec<MetricPoint> {
        (-1..=(secs / 60.0).ceil() as i64)
            .map(|i| MetricPoint {
                t_s: i as f64 * 60.0,
                value: f(i as f64),
            })
            .collect()
    };
    let cpu = |i: f64| (20.0 + 15.0 * i).min(95.0);
    run.cloudwatch = Some(RunMetrics {
        window_start: "2026-11-28T00:59:00Z".into(),
        window_end: "2026-11-28T01:10:00Z".into(),
        period_s: 60,
        metrics: vec![
            MetricSeries {
                label: "messenger-cpu".into(),
                stat: "Average".into(),
                points: points(&cpu),
                average: Some(61.25),
                maximum: Some(95.0),
                at_plateau_start: Some(50.0),
                at_first_error: Some(95.0),
                note: None,
            },
            MetricSeries {
                label: "messenger-cpu".into(),
                stat: "Maximum".into(),
                points: points(&|i| (cpu(i) + 4.0).min(100.0)),
                average: Some(65.0),
                maximum: Some(99.0),
                at_plateau_start: Some(54.0),
                at_first_error: None,
                note: None,
            },
            MetricSeries {
                label: "db-connections".into(),
                stat: "Maximum".into(),
                points: vec![MetricPoint {
                    t_s: -30.0,
                    value: 80.0,
                }],
                average: Some(80.0),
                maximum: Some(80.0),
                at_plateau_start: None,
                at_first_error: None,
                note: Some("one datapoint over the run (period 300 s)".into()),
            },
        ],
        warnings: vec!["CloudWatch: access denied for GetMetricData (AccessDenied)".into()],
    });
    run
}

#[test]
fn cloudwatch_table_json_and_chart() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    for rep in 1..=2 {
        with_metrics(rep).write_to_dir(&results).unwrap();
    }
    let out = match std::env::var_os("MSGPERF_KEEP_CHARTS") {
        Some(keep) => std::path::PathBuf::from(keep),
        None => dir.path().join("report"),
    };
    report::run(&ReportOptions {
        results: vec![results],
        baseline: None,
        out: out.clone(),
        gate: Gate::default(),
        history: None,
        baseline_label: None,
    })
    .unwrap();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("**CloudWatch** (period 60 s"), "{md}");
    assert!(
        md.contains("| r1 | messenger-cpu | Average | 61.25 | 95.00 | 50.00 | 95.00 |"),
        "{md}"
    );
    assert!(
        md.contains("| r2 | db-connections | Maximum | 80.00 | 80.00 | – | – |"),
        "{md}"
    );
    assert!(
        md.contains("db-connections: one datapoint over the run"),
        "{md}"
    );
    assert!(md.contains("⚠️ r1: CloudWatch: access denied"), "{md}");

    let json: Report =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json.cloudwatch.len(), 2);
    assert_eq!(json.cloudwatch[0].run, "sci10ms-cpi20ms-smi100ms-r1");
    assert_eq!(json.cloudwatch[0].metrics.metrics[0].maximum, Some(95.0));

    let chart = out.join("charts/cloudwatch-sci10ms-cpi20ms-smi100ms");
    assert!(json
        .charts
        .iter()
        .any(|c| c == "charts/cloudwatch-sci10ms-cpi20ms-smi100ms.svg"));
    let svg = std::fs::read_to_string(chart.with_extension("svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let text: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    let text = text.join(" ");
    for word in [
        "messenger-cpu",
        "Average (right axis)",
        "Maximum (right axis)",
        "sent/s (left axis)",
        "1 point in the window, not drawn",
    ] {
        assert!(text.contains(word), "{word} missing from the chart: {text}");
    }
    let png = std::fs::read(chart.with_extension("png")).unwrap();
    let dec = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    assert_eq!((dec.info().width, dec.info().height), (1100, 40 + 2 * 300));
}
