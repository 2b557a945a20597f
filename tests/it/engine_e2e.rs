//! End to end through the library: matrix file → embedded server → load
//! engine → result files, all on 127.0.0.1 and bounded to a few seconds each.

use std::path::Path;
use std::time::{Duration, Instant};

use msgperf::load::{self, Progress, RunControl};
use msgperf::matrix;
use msgperf::results::{self, ErrorKind, Outcome, RunResult};
use msgperf::run::{self, RunOptions};
use msgperf::server::{self, ServerConfig};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Load tests share two cores: one at a time, so none measures another's load.
use crate::common::LOAD as SERIAL;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn run_matrix(yaml: &str) -> (tempfile::TempDir, Vec<RunResult>) {
    let dir = tempfile::tempdir().unwrap();
    let matrix = write(dir.path(), "matrix.yaml", yaml);
    let out = dir.path().join("results");
    let outcome = run::run(&RunOptions {
        matrix,
        out: out.clone(),
        scenarios: vec![],
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(outcome.interrupted, None);
    // What was written is what was returned.
    assert_eq!(
        results::read_dir(&out).unwrap().len(),
        outcome.results.len()
    );
    (dir, outcome.results)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_shape_runs_and_delivers_what_it_sends() {
    let _serial = SERIAL.lock().await;
    let (_dir, results) = run_matrix(
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms, 1s, 10s]\nrepetitions: 1\n\
         stop:\n  max_duration: 3s\n  drain: 1s\n",
    )
    .await;
    assert_eq!(results.len(), 3);
    for r in &results {
        let id = &r.scenario.id;
        assert_eq!(r.outcome, Outcome::Completed, "{id}: {:?}", r.first_error);
        assert_eq!(r.stop_reason, "max_duration");
        assert!(r.totals.participants >= 100, "{id}: {:?}", r.totals);
        assert!(r.totals.chats >= 90, "{id}: {:?}", r.totals);
        assert!(r.totals.messages_sent > 0, "{id}");
        assert_eq!(
            r.totals.messages_delivered, r.totals.messages_sent,
            "{id}: {:?}",
            r.totals
        );
        assert_eq!((r.totals.messages_lost, r.totals.errors), (0, 0), "{id}");
        // A 3 s run with a 1 s drain spans 3 or 4 one-second buckets.
        assert!(
            (3..=5).contains(&r.timeline.len()),
            "{id}: {}",
            r.timeline.len()
        );
        let sent: u64 = r.timeline.iter().map(|s| s.sent).sum();
        assert_eq!(sent, r.totals.messages_sent);
        assert_eq!(r.latency_ms.message.count, r.totals.messages_delivered);
        // Participants created in the last moments may still be signing up at
        // the stop (more so on a busy machine); every other one connected.
        let handshakes = r.latency_ms.handshake.count;
        assert!(
            handshakes >= r.totals.participants * 3 / 4,
            "{id}: {handshakes}"
        );
        assert!(
            handshakes <= r.totals.participants + 1,
            "{id}: {handshakes}"
        );
        assert!(r.target.embedded);
        assert!(r.server.as_ref().is_some_and(|s| !s.is_empty()));
    }
    // smi 100ms sends far more than smi 10s.
    assert!(results[0].totals.messages_sent > 5 * results[2].totals.messages_sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_handshake_saturates_the_run_with_the_load_at_that_moment() {
    let _serial = SERIAL.lock().await;
    let (_dir, results) = run_matrix(
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nrepetitions: 1\n\
         stop:\n  max_duration: 20s\n  handshake_timeout: 300ms\n  on_error: first\n\
         embedded:\n  handshake_delay_per_connection: 10ms\n",
    )
    .await;
    let r = &results[0];
    assert_eq!(r.outcome, Outcome::Saturated);
    assert_eq!(r.stop_reason, "first_error");
    let first = r.first_error.as_ref().expect("a first error");
    assert_eq!(first.kind, ErrorKind::HandshakeTimeout, "{first:?}");
    // Delay grows 10 ms per open connection: ~30 connections reach 300 ms.
    assert!((10..200).contains(&first.participants), "{first:?}");
    assert!(first.active_chats > 5, "{first:?}");
    assert!(first.at_s < 10.0, "{first:?}");
    assert!(r.duration_s < 12.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_ends_the_run_at_once_with_an_interrupted_result() {
    let _serial = SERIAL.lock().await;
    let server = server::start(ServerConfig::default()).await.unwrap();
    let target = run::target_of(server.info());
    let plan = matrix::parse(
        "inline.yaml",
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [50ms]\nstop:\n  max_duration: 60s\n  drain: 10s\n",
        &|_| None,
    )
    .unwrap();
    let interrupt = CancellationToken::new();
    let (progress, mut updates) = watch::channel(Progress::default());
    let control = RunControl {
        interrupt: interrupt.clone(),
        progress,
        embedded: true,
        part: load::Part::WHOLE,
        start: None,
        identity: load::Identity::standalone(),
    };
    let cancel = async {
        // Wait for real traffic, then interrupt.
        while updates.changed().await.is_ok() {
            if updates.borrow().sent > 100 {
                break;
            }
        }
        interrupt.cancel();
        Instant::now()
    };
    let (result, cancelled_at) = tokio::join!(
        load::run_scenario(&plan.scenarios[0], &target, control),
        cancel
    );
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(2),
        "took {:?}",
        cancelled_at.elapsed()
    );
    assert_eq!(result.outcome, Outcome::Interrupted);
    assert_eq!(result.stop_reason, "signal");
    let drain = result.drain.as_ref().map(|d| d.end);
    assert_eq!(drain, Some(results::DrainEnd::Skipped));
    assert!(result.totals.messages_sent > 100);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_replies_every_delivered_message_gets_exactly_one_reply() {
    let _serial = SERIAL.lock().await;
    let (_dir, results) = run_matrix(
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [200ms]\nrepetitions: 1\n\
         stop:\n  max_duration: 3s\n  drain: 1s\norganizer:\n  reply: every\n",
    )
    .await;
    let r = &results[0];
    let t = &r.totals;
    assert_eq!(r.outcome, Outcome::Completed, "{:?}", r.first_error);
    assert_eq!((t.messages_lost, t.errors), (0, 0), "{t:?}");
    assert!(t.messages_delivered > 200, "{t:?}");
    assert_eq!(t.replies_sent, t.messages_delivered, "{t:?}");
    assert_eq!(t.replies_received, t.replies_sent, "{t:?}");
    let (rt, one_way) = (&r.latency_ms.round_trip, &r.latency_ms.message);
    assert_eq!(rt.count, t.replies_received);
    // Per message, the reply comes after the delivery, so every quantile of
    // the round trip is at least that of the one-way latency (the histograms
    // keep 3 significant digits).
    for (a, b) in [
        (rt.p50, one_way.p50),
        (rt.p99, one_way.p99),
        (rt.max, one_way.max),
    ] {
        assert!(a >= b * 0.999, "round trip {rt:?} vs one way {one_way:?}");
    }
    let replies: u64 = r.timeline.iter().map(|s| s.replies).sum();
    assert_eq!(replies, t.replies_sent);
    // The embedded server stored the replies too: twice the participant messages.
    let stored = r.server.as_ref().unwrap()["messages_stored"];
    assert!(stored >= t.messages_sent + t.replies_sent, "{stored} {t:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_share_answers_that_share_of_each_participants_messages() {
    let _serial = SERIAL.lock().await;
    let (_dir, results) = run_matrix(
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nrepetitions: 1\n\
         stop:\n  max_duration: 3s\n  drain: 1s\norganizer:\n  reply: \"10%\"\n",
    )
    .await;
    let t = &results[0].totals;
    assert_eq!((t.messages_lost, t.errors), (0, 0), "{t:?}");
    // Message seq 9, 19, ... of each participant: floor(sent/10) per participant.
    let tenth = t.messages_delivered / 10;
    assert!(t.replies_sent <= tenth, "{t:?}");
    assert!(t.replies_sent + t.participants >= tenth, "{t:?}");
    assert!(t.replies_sent > 0, "{t:?}");
    assert_eq!(t.replies_received, t.replies_sent, "{t:?}");
}

use crate::common::fault_proxy::{self, FaultProxy, Kind};

/// The embedded server behind three fault proxies (one per service); the
/// target points at the proxies.
async fn proxied(watch_ws: bool) -> (server::RunningServer, [FaultProxy; 3], matrix::Target) {
    let ws = if watch_ws { Kind::Ws } else { Kind::Tcp };
    let p = fault_proxy::proxied(Kind::Tcp, ws).await;
    (p.server, p.proxies, p.target)
}

fn control() -> RunControl {
    RunControl {
        interrupt: CancellationToken::new(),
        progress: watch::channel(Progress::default()).0,
        embedded: false,
        part: load::Part::WHOLE,
        start: None,
        identity: load::Identity::standalone(),
    }
}

fn scenario(yaml_stop: &str) -> matrix::Scenario {
    let text = format!("matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\nstop:\n{yaml_stop}");
    matrix::parse("inline.yaml", &text, &|_| None)
        .unwrap()
        .scenarios
        .remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_are_counted_by_stage_and_every_websocket_ends_with_a_close_frame() {
    let _serial = SERIAL.lock().await;
    let (server, [_org, _part, ws], target) = proxied(true).await;
    let s = scenario("  max_duration: 3s\n  on_error: never\n  drain: 1s\n");
    let r = load::run_scenario(&s, &target, control()).await;
    assert_eq!(r.outcome, Outcome::Completed, "{:?}", r.first_error);
    let st = &r.totals.stages;
    assert_eq!(st.participants_started, r.totals.participants);
    assert_eq!(
        (st.organizers_signed_in, st.organizers_connected),
        (1, 1),
        "{st:?}"
    );
    assert!(st.participants_started >= 100, "{st:?}");
    // Each stage is reached by at most as many as the one before.
    let chain = [
        st.participants_started,
        st.signed_up,
        st.chat_requested,
        st.connected,
        st.chatting,
    ];
    assert!(chain.windows(2).all(|w| w[0] >= w[1]), "{st:?}");
    assert!(st.chatting * 10 >= st.participants_started * 8, "{st:?}");
    let last = r.timeline.last().unwrap();
    assert_eq!(
        (last.signed_up, last.connected),
        (st.signed_up, st.connected)
    );
    // Every WebSocket of the run (organizer and participants) was closed by
    // the client with a close frame, not dropped.
    let conns: Vec<_> = ws
        .conns()
        .into_iter()
        .filter(|c| c.upgraded.load(std::sync::atomic::Ordering::SeqCst))
        .collect();
    // Every connected participant and the organizer upgraded; a participant
    // may also have upgraded just before the stop without an answer yet.
    let upgraded = conns.len() as u64;
    assert!(
        (st.connected + 1..=st.participants_started + 1).contains(&upgraded),
        "{upgraded} upgraded: {st:?}"
    );
    let closed = conns
        .iter()
        .filter(|c| c.client_close.load(std::sync::atomic::Ordering::SeqCst))
        .count();
    assert_eq!(
        closed,
        conns.len(),
        "{closed} of {} connections got a close frame: {:?} {st:?}",
        conns.len(),
        r.errors_by_kind
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_mid_run_collapses() {
    let _serial = SERIAL.lock().await;
    let (server, proxies, target) = proxied(false).await;
    let s =
        scenario("  max_duration: 10s\n  on_error: never\n  drain: 1s\n  handshake_timeout: 1s\n");
    let silence = async {
        tokio::time::sleep(Duration::from_secs(4)).await;
        for p in &proxies {
            p.go_silent();
        }
    };
    let started = Instant::now();
    let (r, ()) = tokio::join!(load::run_scenario(&s, &target, control()), silence);
    // No worker hangs past its timeouts: the run ends on time.
    assert!(
        started.elapsed() < Duration::from_secs(10 + 1 + 5),
        "{:?}",
        started.elapsed()
    );
    let a = msgperf::analysis::analyze_run(&r);
    assert_eq!(
        a.verdict,
        msgperf::analysis::Verdict::Collapsed,
        "{:?} {:?}",
        a.reasons,
        r.errors_by_kind
    );
    let c = a.collapse.unwrap();
    assert!((3..=6).contains(&c.at_s), "{c:?}");
    assert!(c.peak_before > 100.0 && c.active_chats > 50, "{c:?}");
    assert_eq!(a.sustained_rate, None);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_arrival_creates_participants_one_after_another() {
    let _serial = SERIAL.lock().await;
    // Each sign-up costs 100 ms on the server: one after another, a
    // participant every 20 ms + 100 ms + the chat request, about 8 per second.
    let (_dir, results) = run_matrix(
        "matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [100ms]\narrival: sequential\n\
         stop:\n  max_duration: 4s\n  on_error: never\n  drain: 2s\n\
         embedded:\n  sign_up_cost: 100ms\n",
    )
    .await;
    let r = &results[0];
    assert_eq!(r.scenario.id, "sci10ms-cpi20ms-smi100ms-seq-r1");
    let c = r.creation.as_ref().expect("creation rate recorded");
    assert_eq!(c.arrival, matrix::Arrival::Sequential);
    assert_eq!(c.planned_per_s, 50.0);
    assert!((4.0..=10.0).contains(&c.achieved_per_s), "{c:?}");
    let st = &r.totals.stages;
    // Never more than one sign-up in flight: none fails, none times out.
    assert_eq!(
        r.errors_by_kind
            .get(&msgperf::results::ErrorKind::HttpStatus),
        None,
        "{:?}",
        r.errors_by_kind
    );
    assert!(st.signed_up + 1 >= st.participants_started, "{st:?}");
    assert!((15..=40).contains(&st.participants_started), "{st:?}");
    assert!(st.chatting + 2 >= st.signed_up, "{st:?}");
    // The latency of each sign-up is the cost, not a queue behind others.
    assert!(
        r.latency_ms.sign_up.p99 < 200.0,
        "{:?}",
        r.latency_ms.sign_up
    );
}
