//! Faults of the API under test, injected by `common::fault_proxy` between
//! msgperf and the embedded server, all on 127.0.0.1. Each run goes through
//! `run::run` (what `msgperf run` does) to a result file, and each test
//! checks, from the file read back: the fault classified (error kind, step,
//! service) and timed (`at_s` of the first error), a verdict that is no
//! capacity, and a run that ended within `max_duration + drain + 5 s` (no
//! worker waited past `handshake_timeout`). The API killed mid-run is
//! `cli::a_server_killed_mid_run_is_a_collapse_not_a_plateau_at_zero`; a
//! server that stops answering mid-run is
//! `engine_e2e::a_server_that_stops_answering_mid_run_collapses`.
//!
//! Each run is short (at most 7 s) with 50 participants a second.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use msgperf::analysis::{self, RunAnalysis, Verdict};
use msgperf::results::{self, ErrorKind, FirstError, Outcome, RunResult, Service, Step};
use msgperf::run::{self, RunOptions};

use crate::common::fault_proxy::{proxied, server_frame, Answer, Fault, FaultProxy, Kind};

/// Load tests share two cores: one at a time.
use crate::common::LOAD as SERIAL;

/// What a faulted run left.
struct Faulted {
    result: RunResult,
    analysis: RunAnalysis,
    took: Duration,
}

impl Faulted {
    fn first(&self) -> &FirstError {
        self.result.first_error.as_ref().unwrap_or_else(|| {
            panic!(
                "no first error: {:?} {:?}",
                self.result.outcome, self.result.errors_by_kind
            )
        })
    }

    /// The first error is `kind` at a Messenger/Participant/Organizer API
    /// `step` (one of `steps`), between `from` and `to` seconds.
    fn assert_first(
        &self,
        kind: ErrorKind,
        steps: &[Step],
        service: Service,
        (from, to): (f64, f64),
    ) {
        let e = self.first();
        assert_eq!(e.kind, kind, "{e:?}");
        assert!(e.step.is_some_and(|s| steps.contains(&s)), "{e:?}");
        assert_eq!(e.service, Some(service), "{e:?}");
        assert!(
            (from..=to).contains(&e.at_s),
            "at {} s, not in {from}..{to}: {e:?}",
            e.at_s
        );
    }

    /// The run ended within `max_duration + drain + 5 s`.
    fn assert_bounded(&self, max_s: u64, drain_s: u64) {
        let bound = Duration::from_secs(max_s + drain_s + 5);
        assert!(self.took < bound, "took {:?} (bound {bound:?})", self.took);
    }

    fn assert_verdict(&self, verdict: Verdict) {
        let a = &self.analysis;
        assert_eq!(
            a.verdict, verdict,
            "{:?} {:?} first {:?}",
            a.reasons, self.result.errors_by_kind, self.result.first_error
        );
        assert!(
            a.sustained_rate.is_none() || verdict == Verdict::SetupBound,
            "{a:?}"
        );
    }
}

/// Runs one scenario (sci 10ms, cpi 20ms, `smi`) with `stop` through the
/// proxies, calling `inject` on them `after` the start; returns its result
/// file, read back, and how long `run::run` took.
async fn faulted(
    kinds: (Kind, Kind),
    smi: &str,
    stop: &str,
    after: Duration,
    inject: impl FnOnce(&[FaultProxy; 3]),
) -> Faulted {
    let p = proxied(kinds.0, kinds.1).await;
    let dir = tempfile::tempdir().unwrap();
    let matrix = write_matrix(dir.path(), &p.target, smi, stop, p.server.info());
    let out = dir.path().join("results");
    let opts = RunOptions {
        matrix,
        out: out.clone(),
        ..Default::default()
    };
    // A fault from the start is in place before the run begins.
    let mut inject = Some(inject);
    if after.is_zero() {
        (inject.take().unwrap())(&p.proxies);
    }
    let started = Instant::now();
    let fault = async {
        tokio::time::sleep(after).await;
        if let Some(inject) = inject {
            inject(&p.proxies);
        }
    };
    let (outcome, ()) = tokio::join!(run::run(&opts), fault);
    let took = started.elapsed();
    outcome.expect("the run ends with a result, whatever the API does");
    let mut files = results::read_dir(&out).unwrap();
    assert_eq!(files.len(), 1);
    let result = files.remove(0);
    p.server.shutdown().await;
    let e = result.first_error.as_ref();
    let verdict = analysis::analyze_run(&result).verdict;
    eprintln!(
        "faulted run: {:?} {:?} {:?} at {:?} s, outcome {:?}, verdict {}, took {took:.1?}",
        e.map(|e| e.kind),
        e.and_then(|e| e.step),
        e.and_then(|e| e.service),
        e.map(|e| e.at_s),
        result.outcome,
        verdict.as_str()
    );
    Faulted {
        analysis: analysis::analyze_run(&result),
        result,
        took,
    }
}

fn write_matrix(
    dir: &Path,
    t: &msgperf::matrix::Target,
    smi: &str,
    stop: &str,
    info: &msgperf::server::ServerInfo,
) -> std::path::PathBuf {
    let path = dir.join("matrix.yaml");
    let text = format!(
        "target:\n  messenger_ws_url: {}\n  organizer_api_url: {}\n  participant_api_url: {}\n  \
         event_id: {}\n  organizer_email: \"{}\"\n  organizer_password: \"{}\"\n\
         matrix:\n  sci: [10ms]\n  cpi: [20ms]\n  smi: [{smi}]\nstop:\n{stop}",
        t.messenger_ws_url,
        t.organizer_api_url,
        t.participant_api_url,
        t.event_id,
        t.organizer_email,
        info.organizer_password,
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Every `POST /auth/sign-up` gets `answer` from the proxy.
fn on_sign_up(answer: Answer) -> impl FnOnce(&[FaultProxy; 3]) {
    move |[_, part, _]: &[FaultProxy; 3]| {
        part.set(Fault::Http {
            path: "/auth/sign-up",
            answer,
        })
    }
}

const TCP: (Kind, Kind) = (Kind::Tcp, Kind::Tcp);
const WS: (Kind, Kind) = (Kind::Tcp, Kind::Ws);
const HTTP: (Kind, Kind) = (Kind::Http, Kind::Tcp);
const NOW: Duration = Duration::ZERO;
const MESSENGER_STEPS: [Step; 3] = [Step::Read, Step::GetChats, Step::Authorize];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_reset_mid_run_are_a_collapse() {
    let _serial = SERIAL.lock().await;
    let stop = "  max_duration: 6s\n  on_error: never\n  drain: 1s\n  handshake_timeout: 1s\n";
    let r = faulted(TCP, "100ms", stop, Duration::from_secs(2), |proxies| {
        for p in proxies {
            p.set(Fault::Reset);
        }
    })
    .await;
    let e = r.first();
    assert!(
        matches!(
            e.kind,
            ErrorKind::ConnectionClosed | ErrorKind::ConnectRefused
        ),
        "{e:?}"
    );
    assert!((2.0..=3.0).contains(&e.at_s), "{e:?}");
    r.assert_verdict(Verdict::Collapsed);
    let c = r.analysis.collapse.as_ref().unwrap();
    assert!((2..=3).contains(&c.at_s), "{c:?}");
    r.assert_bounded(6, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_500_on_sign_up_mid_run_is_setup_bound() {
    let _serial = SERIAL.lock().await;
    let stop = "  max_duration: 7s\n  on_error: never\n  drain: 1s\n  handshake_timeout: 2s\n";
    let r = faulted(
        HTTP,
        "100ms",
        stop,
        Duration::from_secs(2),
        on_sign_up(Answer::Status(500)),
    )
    .await;
    r.assert_first(
        ErrorKind::HttpStatus,
        &[Step::SignUp],
        Service::ParticipantApi,
        (2.0, 2.6),
    );
    assert_eq!(r.first().http_status, Some(500));
    assert_eq!(r.result.outcome, Outcome::Completed);
    // The set-up rule fires; on a busy machine the generator's own rules
    // (checked first) may name the run generator-bound: no capacity either.
    let why = analysis::setup_bound(&r.result);
    assert!(
        why.as_ref().is_some_and(|w| w.contains("Participant API")),
        "{why:?}"
    );
    if r.analysis.verdict == Verdict::GeneratorBound {
        eprintln!("generator-bound on this machine: {:?}", r.analysis.reasons);
    } else {
        r.assert_verdict(Verdict::SetupBound);
    }
    r.assert_bounded(7, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_503_on_sign_up_from_the_start_is_a_failed_start() {
    let _serial = SERIAL.lock().await;
    let stop = "  max_duration: 2s\n  on_error: never\n  drain: 1s\n  handshake_timeout: 2s\n";
    let r = faulted(HTTP, "100ms", stop, NOW, on_sign_up(Answer::Status(503))).await;
    r.assert_first(
        ErrorKind::HttpStatus,
        &[Step::SignUp],
        Service::ParticipantApi,
        (0.0, 1.0),
    );
    assert_eq!(r.first().http_status, Some(503));
    assert_eq!(r.result.outcome, Outcome::Failed);
    let cause = r.result.start_failure.as_ref().unwrap().cause;
    assert_eq!(cause, results::StartFailureCause::NoParticipantConnected);
    r.assert_verdict(Verdict::Failed);
    r.assert_bounded(2, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_that_never_answers_times_out_after_handshake_timeout() {
    let _serial = SERIAL.lock().await;
    let stop = "  max_duration: 5s\n  drain: 1s\n  handshake_timeout: 1s\n";
    let r = faulted(HTTP, "100ms", stop, NOW, on_sign_up(Answer::Hang)).await;
    r.assert_first(
        ErrorKind::Timeout,
        &[Step::SignUp],
        Service::ParticipantApi,
        (1.0, 1.6),
    );
    assert_eq!(r.result.outcome, Outcome::Failed);
    r.assert_verdict(Verdict::Failed);
    // Stopped at the first timeout, not at max_duration.
    assert!(r.took < Duration::from_secs(4), "{:?}", r.took);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_accepts_and_never_sends_a_byte_times_out_the_handshake() {
    let _serial = SERIAL.lock().await;
    let stop = "  max_duration: 5s\n  drain: 1s\n  handshake_timeout: 1s\n";
    let r = faulted(WS, "100ms", stop, NOW, |[_, _, ws]| ws.go_silent()).await;
    r.assert_first(
        ErrorKind::HandshakeTimeout,
        &[Step::Handshake],
        Service::MessengerApi,
        (1.0, 1.6),
    );
    assert_eq!(r.result.outcome, Outcome::Failed);
    let cause = r.result.start_failure.as_ref().unwrap().cause;
    assert_eq!(cause, results::StartFailureCause::NoOrganizer);
    r.assert_verdict(Verdict::Failed);
    assert!(r.took < Duration::from_secs(4), "{:?}", r.took);
}

/// With smi 1 s a participant would ask `get_chats` for 10 s and the
/// organizer wait for the end of the run: the wait for the first frame is
/// what ends them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_never_sends_a_frame_after_the_upgrade_times_out_the_authorization() {
    let _serial = SERIAL.lock().await;
    let stop = "  max_duration: 5s\n  drain: 1s\n  handshake_timeout: 1s\n";
    let r = faulted(WS, "1s", stop, NOW, |[_, _, ws]| {
        ws.set(Fault::MuteAfterUpgrade)
    })
    .await;
    r.assert_first(
        ErrorKind::Timeout,
        &[Step::Authorize],
        Service::MessengerApi,
        (1.0, 1.8),
    );
    assert_eq!(r.result.outcome, Outcome::Failed);
    assert_eq!(r.result.totals.stages.organizers_connected, 0);
    r.assert_verdict(Verdict::Failed);
    assert!(r.took < Duration::from_secs(4), "{:?}", r.took);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_frame_then_silence_times_out_the_reads_and_collapses_the_run() {
    let _serial = SERIAL.lock().await;
    let stop = "  max_duration: 6s\n  on_error: never\n  drain: 1s\n  handshake_timeout: 1s\n";
    // smi 1 s: a participant still waiting for its chat asks `get_chats`
    // for 10 s, so it is the silence, not the tries, that ends it.
    let r = faulted(WS, "1s", stop, Duration::from_secs(2), |[_, _, ws]| {
        ws.set(Fault::HalfFrame)
    })
    .await;
    r.assert_first(
        ErrorKind::Timeout,
        &MESSENGER_STEPS,
        Service::MessengerApi,
        (2.9, 4.0),
    );
    r.assert_verdict(Verdict::Collapsed);
    r.assert_bounded(6, 1);
}

/// A run of 6 s stopped by its first error, into which the server's side
/// sends `frame` to one connection at 2 s: a protocol error at 2 s, so the
/// run is saturated and too short to claim anything.
async fn with_frame_injected(frame: Vec<u8>) -> Faulted {
    let stop = "  max_duration: 6s\n  drain: 1s\n  handshake_timeout: 1s\n";
    let frame = Arc::new(frame);
    let r = faulted(WS, "100ms", stop, Duration::from_secs(2), |[_, _, ws]| {
        ws.set(Fault::Inject(frame))
    })
    .await;
    r.assert_first(
        ErrorKind::Protocol,
        &MESSENGER_STEPS,
        Service::MessengerApi,
        (2.0, 2.6),
    );
    assert_eq!(r.result.outcome, Outcome::Saturated);
    assert_eq!(r.result.stop_reason, results::StopReason::FirstError);
    r.assert_verdict(Verdict::TooShort);
    r.assert_bounded(6, 1);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_mb_frame_is_a_protocol_error_refused_from_its_header() {
    let _serial = SERIAL.lock().await;
    let r = with_frame_injected(server_frame(0x1, &vec![b' '; 10 << 20])).await;
    assert!(r.first().message.contains("10485760"), "{:?}", r.first());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_frame_is_a_protocol_error() {
    let _serial = SERIAL.lock().await;
    let r = with_frame_injected(server_frame(0x2, br#"{"type":"info","payload":{}}"#)).await;
    let message = &r.first().message;
    assert!(message.contains("binary frame (28 bytes)"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_close_frame_mid_chat_is_a_collapse() {
    let _serial = SERIAL.lock().await;
    let stop = "  max_duration: 6s\n  on_error: never\n  drain: 1s\n  handshake_timeout: 1s\n";
    let r = faulted(WS, "100ms", stop, Duration::from_secs(2), |[_, _, ws]| {
        ws.set(Fault::Close)
    })
    .await;
    r.assert_first(
        ErrorKind::ConnectionClosed,
        &MESSENGER_STEPS,
        Service::MessengerApi,
        (2.0, 2.6),
    );
    assert!(
        r.first().message.contains("close code 1001"),
        "{:?}",
        r.first()
    );
    r.assert_verdict(Verdict::Collapsed);
    r.assert_bounded(6, 1);
}
