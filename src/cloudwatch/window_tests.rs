//! Unit tests of the window arithmetic, batching and series summaries.

use super::*;
use crate::matrix::{MetricSpec, PublishConfig};
use std::collections::BTreeMap;

fn cfg(metrics: Vec<MetricSpec>) -> CloudWatchConfig {
    CloudWatchConfig {
        region: None,
        endpoint_url: None,
        period: Duration::from_secs(60),
        wait_for_data: Duration::ZERO,
        required: false,
        metrics,
        publish: Some(PublishConfig {
            namespace: "N".into(),
            branch: None,
        }),
    }
}

fn metric(label: &str, id: &str, stats: &[&str]) -> MetricSpec {
    MetricSpec {
        label: label.into(),
        id: id.into(),
        source: MetricSource::Metric {
            namespace: "AWS/EC2".into(),
            metric: "CPUUtilization".into(),
            dimensions: BTreeMap::from([("InstanceId".into(), "i-1".into())]),
            stats: stats.iter().map(|s| s.to_string()).collect(),
        },
    }
}

#[test]
fn window_is_one_period_wider_and_aligned() {
    // Run 12:00:30 .. 12:01:10 with 60 s: 11:59:00 .. 12:03:00.
    let t0 = 1_700_000_000_f64 - 1_700_000_000_f64 % 3600.0; // a whole hour
    let w = Window::new(t0 + 30.0, t0 + 70.0, Duration::from_secs(60));
    assert_eq!(w.start, t0 as i64 - 60);
    assert_eq!(w.end, t0 as i64 + 180);
    assert_eq!(w.last_run_bucket(), t0 as i64 + 60);
    // Already aligned edges still get a whole extra period.
    let w = Window::new(t0, t0 + 60.0, Duration::from_secs(60));
    assert_eq!((w.start, w.end), (t0 as i64 - 60, t0 as i64 + 120));
    // 5-minute period.
    let w = Window::new(t0 + 30.0, t0 + 70.0, Duration::from_secs(300));
    assert_eq!((w.start, w.end), (t0 as i64 - 300, t0 as i64 + 600));
}

#[test]
fn window_of_rfc3339_times() {
    let w = Window::of_run(
        &"2026-11-28T01:00:30.500Z".into(),
        &"2026-11-28T01:01:10Z".into(),
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(rfc3339(w.start), "2026-11-28T00:59:00Z");
    assert_eq!(rfc3339(w.end), "2026-11-28T01:03:00Z");
    assert!(
        (w.run_start - Timestamp::from("2026-11-28T01:00:30Z").epoch_s().unwrap() - 0.5).abs()
            < 1e-6
    );
    assert!(Window::of_run(&"yesterday".into(), &"now".into(), Duration::from_secs(60)).is_none());
}

#[test]
fn one_query_per_stat_and_expression_with_stable_ids() {
    let mut metrics = vec![metric("cpu", "m1", &["Average", "Maximum", "p99.9"])];
    metrics.push(MetricSpec {
        label: "net".into(),
        id: "m2".into(),
        source: MetricSource::Expression("SUM(METRICS('m1'))/60".into()),
    });
    let q = queries(&cfg(metrics));
    let ids: Vec<&str> = q.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["m1_average", "m1_maximum", "m1_p99_9", "m2"]);
    assert_eq!(q[2].stat, "p99.9");
    assert_eq!(q[3].stat, "");
}

#[test]
fn batches_hold_at_most_500_queries() {
    let metrics: Vec<MetricSpec> = (1..=251)
        .map(|i| metric(&format!("c{i}"), &format!("m{i}"), &["Average", "Maximum"]))
        .collect();
    let q = queries(&cfg(metrics));
    assert_eq!(q.len(), 502);
    let b = batches(&q);
    assert_eq!(b.iter().map(|b| b.len()).collect::<Vec<_>>(), [500, 2]);
    assert_eq!(batches(&q[..500]).len(), 1);
}

fn q() -> Query {
    Query {
        id: "m1_average".into(),
        label: "cpu".into(),
        stat: "Average".into(),
        kind: QueryKind::Expression(String::new()),
    }
}

#[test]
fn series_summarizes_over_the_run_only() {
    // Run 0..130 s after t0 (aligned); window t0-60 .. t0+240.
    let t0 = 1_800_000_000_i64; // a multiple of 60 and 300
    let w = Window::new(t0 as f64, t0 as f64 + 130.0, Duration::from_secs(60));
    let raw = [
        (t0 + 180, 99.0), // after the run: excluded from the summary
        (t0 - 60, 1.0),   // before the run: excluded
        (t0, 10.0),
        (t0 + 60, 20.0),
        (t0 + 120, 30.0),
        (t0 + 60, 20.0), // duplicate from an overlapping page
    ];
    let marks = Marks {
        plateau_start_s: Some(61.0),
        first_error_s: Some(125.5),
    };
    let s = series(&q(), &raw, &w, marks);
    assert_eq!(s.points.len(), 5);
    assert_eq!(s.points[0].t_s, -60.0);
    assert_eq!(s.average, Some(20.0));
    assert_eq!(s.maximum, Some(30.0));
    assert_eq!(s.at_plateau_start, Some(20.0));
    assert_eq!(s.at_first_error, Some(30.0));
    assert_eq!(s.note, None);
}

#[test]
fn one_point_or_none_gets_a_note() {
    let t0 = 1_800_000_000_i64; // a multiple of 300
    let w = Window::new(t0 as f64 + 10.0, t0 as f64 + 70.0, Duration::from_secs(60));
    // Basic monitoring: one 5-minute point.
    let s = series(&q(), &[(t0, 5.0)], &w, Marks::default());
    assert_eq!((s.average, s.maximum), (Some(5.0), Some(5.0)));
    assert!(
        s.note.as_deref().unwrap().contains("one datapoint"),
        "{s:?}"
    );
    let s = series(&q(), &[], &w, Marks::default());
    assert_eq!(
        (s.average, s.maximum, s.at_plateau_start),
        (None, None, None)
    );
    assert!(s.note.as_deref().unwrap().contains("no datapoint"), "{s:?}");
}

#[test]
fn value_at_picks_the_period_holding_the_instant() {
    let p = |t_s, value| crate::results::MetricPoint { t_s, value };
    let points = [p(-30.0, 1.0), p(30.0, 2.0), p(150.0, 4.0)];
    assert_eq!(value_at(&points, 60.0, 0.0), Some(1.0));
    assert_eq!(value_at(&points, 60.0, 30.0), Some(2.0));
    assert_eq!(value_at(&points, 60.0, 100.0), None); // gap: no point
    assert_eq!(value_at(&points, 60.0, 209.9), Some(4.0));
}

#[test]
fn coverage_needs_a_point_in_the_last_run_period_for_every_query() {
    let t0 = 1_800_000_000_i64; // a multiple of 60 and 300
    let w = Window::new(t0 as f64, t0 as f64 + 90.0, Duration::from_secs(60));
    let qs = vec![q()];
    let partial = vec![("m1_average".to_string(), vec![(t0, 1.0)])];
    assert!(!covered(&partial, &qs, &w));
    let full = vec![("m1_average".to_string(), vec![(t0, 1.0), (t0 + 60, 2.0)])];
    assert!(covered(&full, &qs, &w));
    assert!(!covered(&[], &qs, &w));
}

#[test]
fn pages_merge_by_id() {
    let mut all = Vec::new();
    merge_page(
        &mut all,
        Page {
            results: vec![("a".into(), vec![(0, 1.0)])],
            ..Page::default()
        },
    );
    merge_page(
        &mut all,
        Page {
            results: vec![("a".into(), vec![(60, 2.0)]), ("b".into(), vec![])],
            ..Page::default()
        },
    );
    assert_eq!(
        all,
        vec![
            ("a".into(), vec![(0, 1.0), (60, 2.0)]),
            ("b".into(), vec![])
        ]
    );
}
