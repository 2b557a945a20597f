//! Delivery accounting at the end of a run, against the embedded server over
//! real sockets: a backlog at the stop is delivered late (not lost), a lossy
//! server shows its loss, a reordering one neither loss nor duplicates, and a
//! drain bound that is too short leaves messages "still arriving", not lost.

use msgperf::analysis::{self, usable_seconds};
use msgperf::matrix::Gate;
use msgperf::report::{charts, markdown, model};
use msgperf::results::{DrainEnd, Phase, RunResult};
use msgperf::run::{self, RunOptions};

/// Load tests share two cores: one at a time, so none measures another's load.
use crate::common::LOAD as SERIAL;

/// Runs the single scenario of `yaml` (matrix keys after `matrix:`) and returns its result.
async fn run_one(yaml: &str) -> RunResult {
    let dir = tempfile::tempdir().unwrap();
    let matrix = dir.path().join("matrix.yaml");
    std::fs::write(&matrix, yaml).unwrap();
    let outcome = run::run(&RunOptions {
        matrix,
        out: dir.path().join("results"),
        scenarios: vec![],
        ..Default::default()
    })
    .await
    .unwrap();
    let mut results = outcome.results;
    assert_eq!(results.len(), 1);
    results.remove(0)
}

fn plan(smi: &str, drain: &str, embedded: &str) -> String {
    format!(
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [{smi}]\nrepetitions: 1\n\
         stop:\n  max_duration: 3s\n  drain: {drain}\n  on_error: never\n\
         embedded:\n{embedded}"
    )
}

/// The report of `r` alone.
fn report_of(r: &RunResult) -> model::Report {
    let runs = [r.clone()];
    model::build(
        &runs,
        analysis::analyze(&runs),
        None,
        &Gate::default(),
        "2026-12-01T00:00:00Z",
        vec![],
    )
}

/// report.md of `r` alone.
fn report_md(r: &RunResult) -> String {
    msgperf::report::text(|out| markdown::render(out, &report_of(r)))
}

/// The sent count of every second that began after the stop, checking that
/// those are drain seconds and that drain seconds come last.
fn after_stop(r: &RunResult) -> Vec<u64> {
    let first = r.timeline.iter().position(|s| s.phase == Phase::Drain);
    let Some(first) = first else {
        return Vec::new();
    };
    assert!(
        r.timeline[first..].iter().all(|s| s.phase == Phase::Drain),
        "drain seconds are the last ones"
    );
    let after: Vec<_> = r
        .timeline
        .iter()
        .filter(|s| f64::from(s.t) >= r.duration_s)
        .collect();
    assert!(after.iter().all(|s| s.phase == Phase::Drain), "{after:?}");
    after.iter().map(|s| s.sent).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_at_the_stop_is_delivered_late_not_lost() {
    let _serial = SERIAL.lock().await;
    // 150 participants offer up to 3,000 msg/s; the server takes 400.
    let r = run_one(&plan("50ms", "30s", "  max_messages_per_second: 400\n")).await;
    let (t, d) = (&r.totals, r.drain.as_ref().expect("a drain record"));
    assert_eq!(d.end, DrainEnd::AllDelivered, "{d:?} {t:?}");
    assert_eq!(
        (t.messages_lost, t.messages_undelivered_at_drain_end),
        (0, 0),
        "{t:?}"
    );
    assert_eq!(t.messages_delivered, t.messages_sent, "{t:?}");
    // Well behind at the stop, and every queued message came after it.
    assert!(t.backlog_at_stop > 300, "{t:?}");
    assert_eq!(t.messages_delivered_late, t.backlog_at_stop, "{t:?}");
    assert!(d.drain_s > 0.5 && d.drain_s < d.bound_s, "{d:?}");
    let last = d.last_delivery_s.expect("deliveries after the stop");
    assert!(last <= d.drain_s + 0.01, "{d:?}");
    // Late latencies are in the histogram.
    assert_eq!(r.latency_ms.message.count, t.messages_delivered);
    // The drain is in the timeline, sends nothing, and is not analysed.
    let drain = after_stop(&r);
    assert!(!drain.is_empty(), "{:?}", r.timeline);
    assert!(drain.iter().all(|&sent| sent == 0), "{drain:?}");
    let usable = usable_seconds(&r);
    assert!(usable.iter().all(|s| s.phase == Phase::Run));
    assert!(f64::from(usable.last().unwrap().t) + 1.0 <= r.duration_s);
    let throttled = r.server.as_ref().unwrap()["messages_throttled"];
    assert!(throttled > 0, "the server queued");
    let md = report_md(&r);
    let said = format!(
        "messages queued at stop; all delivered within {:.1} s of drain",
        last
    );
    assert!(md.contains("### Delivery after the stop"), "{md}");
    assert!(md.contains(&said), "{said} not in {md}");
    // The rate chart draws the drain seconds, shaded from the stop on.
    let report = report_of(&r);
    let chart = charts::timeline_chart(&report, &report.scenarios[0], std::slice::from_ref(&r));
    let panel = &chart.runs[0];
    assert_eq!(panel.drain_from_s, Some(r.duration_s));
    assert_eq!(panel.sent.len(), r.timeline.len());
    let file = chart.render("rate").unwrap();
    let svg = file.svg.to_ascii_lowercase();
    // Legend box and shaded panel area in the drain colour.
    assert!(svg.matches("#f59e0b").count() >= 2, "the drain is shaded");
    assert!(svg.contains("drain"), "the legend names the drain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_drops_five_percent_shows_five_percent_loss() {
    let _serial = SERIAL.lock().await;
    let r = run_one(&plan("50ms", "30s", "  drop_one_in: 20\n")).await;
    let (t, d) = (&r.totals, r.drain.as_ref().unwrap());
    assert_eq!(d.end, DrainEnd::Quiet, "{d:?} {t:?}");
    assert!(t.messages_sent > 1000, "{t:?}");
    let loss = t.messages_lost as f64 / t.messages_sent as f64;
    assert!((loss - 0.05).abs() <= 0.005, "loss {loss} {t:?}");
    assert_eq!(
        t.messages_lost,
        r.server.as_ref().unwrap()["messages_discarded"]
    );
    assert_eq!(t.messages_undelivered_at_drain_end, 0, "{t:?}");
    assert_eq!(t.messages_duplicated, 0, "{t:?}");
    // The drain waited the quiet period, not the bound.
    assert!(
        d.drain_s >= d.quiet_s && d.drain_s < d.quiet_s + 2.0,
        "{d:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reordering_server_loses_and_duplicates_nothing() {
    let _serial = SERIAL.lock().await;
    // Each message waits 0 to 80 ms; one participant sends every 20 ms.
    let r = run_one(&plan("20ms", "30s", "  reorder_up_to: 80ms\n")).await;
    let (t, d) = (&r.totals, r.drain.as_ref().unwrap());
    assert!(t.messages_sent > 1000, "{t:?}");
    assert!(
        t.messages_out_of_order > t.messages_sent / 20,
        "the server really reordered: {t:?}"
    );
    assert_eq!(d.end, DrainEnd::AllDelivered, "{d:?} {t:?}");
    assert_eq!(
        (
            t.messages_lost,
            t.messages_duplicated,
            t.messages_undelivered_at_drain_end
        ),
        (0, 0, 0),
        "{t:?}"
    );
    assert_eq!(t.messages_delivered, t.messages_sent, "{t:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_bound_too_short_leaves_messages_still_arriving_not_lost() {
    let _serial = SERIAL.lock().await;
    let r = run_one(&plan("50ms", "500ms", "  max_messages_per_second: 300\n")).await;
    let (t, d) = (&r.totals, r.drain.as_ref().unwrap());
    assert_eq!(d.end, DrainEnd::Bound, "{d:?} {t:?}");
    assert!((0.5..1.5).contains(&d.drain_s), "{d:?}");
    assert_eq!(t.messages_lost, 0, "{t:?}");
    assert!(t.messages_undelivered_at_drain_end > 100, "{t:?}");
    assert_eq!(
        t.messages_delivered + t.messages_undelivered_at_drain_end,
        t.messages_sent,
        "{t:?}"
    );
    assert!(t.messages_delivered_late > 0, "{t:?}");
    assert!(t.backlog_at_stop >= t.messages_undelivered_at_drain_end + t.messages_delivered_late);
    let md = report_md(&r);
    assert!(
        md.contains("not delivered by the end of the 500 ms drain (still arriving)"),
        "{md}"
    );
    assert!(!md.contains("never arrived (lost"), "{md}");
}
