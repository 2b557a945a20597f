//! The load engine: runs one [`Scenario`] against a [`Target`] and returns its
//! [`RunResult`].
//!
//! An organizer pool starts chats, a spawner adds a participant every `cpi`,
//! each participant sends a message every `smi`; one recorder owns every
//! number. Schedules are open-model timers that skip a missed tick instead of
//! bursting to catch up: lateness is recorded as the generator's own health.

mod clock;
mod connection;
mod cpu;
mod event;
pub mod identity;
mod info;
mod organizer;
mod participant;
mod recorder;
pub mod reply;
mod rest;
mod split;
mod stop;
pub mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures_util::SinkExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;
use tokio_util::sync::CancellationToken;

pub use clock::Clock;
pub use connection::ConnectionGuard;
pub use cpu::SERVER_THREAD_NAME;
pub use identity::{Identity, PlanId};
pub use info::{scenario_info, skipped_result, target_info};
pub use recorder::Progress;
pub use split::Part;
pub use stop::StopReason;

use crate::matrix::{ReplyPolicy, Scenario, Secret, Target};
use crate::protocol::{AuthFrame, CONNECT};
use crate::results::{
    ErrorKind, Generator, Latencies, Outcome, RunResult, SplitInfo, Totals, SCHEMA_VERSION,
};
use recorder::{ErrorEvent, Event, Latency, Periods, Recorder};
use stop::StopSignal;

/// How the caller steers a run.
#[derive(Debug, Clone)]
pub struct RunControl {
    /// Cancelled on SIGINT/SIGTERM: the run stops at once, skips the drain and
    /// returns an `interrupted` result.
    pub interrupt: CancellationToken,
    /// Receives a progress snapshot every second.
    pub progress: watch::Sender<Progress>,
    /// Marks the target as the embedded server in the result.
    pub embedded: bool,
    /// This runner's share of a split scenario ([`Part::WHOLE`] otherwise).
    pub part: Part,
    /// When to start: the run waits for `start.start` and reports
    /// `start.started_at` as its start (the common instant of split parts).
    /// `None` starts now.
    pub start: Option<Clock>,
    /// Who this run is on the target: its e-mails and token key, unique
    /// across every runner of the plan.
    pub identity: Identity,
}

/// What every worker of a run shares.
pub(crate) struct Ctx {
    clock: Clock,
    ws_url: String,
    organizer_api_url: String,
    participant_api_url: String,
    organizer_password: Secret,
    event_id: i64,
    sci: Duration,
    smi: Duration,
    reply: ReplyPolicy,
    handshake_timeout: Duration,
    identity: Identity,
    /// `identity.run_key()`, read on every message.
    run_key: u64,
    http: reqwest::Client,
    tls: Option<Connector>,
    events: mpsc::UnboundedSender<Event>,
    stop: Arc<StopSignal>,
    /// Cancelled when the drain after the stop is over.
    done: CancellationToken,
}

impl Ctx {
    fn emit(&self, event: Event) {
        // The recorder outlives every worker; a failed send means the run is torn down.
        let _ = self.events.send(event);
    }

    fn latency(&self, kind: Latency, since: Instant) {
        self.emit(Event::Latency {
            kind,
            us: since.elapsed().as_micros() as u64,
        });
    }

    /// Records an error, unless the run already stopped: failures caused by our
    /// own teardown are not the API's.
    fn error(&self, kind: ErrorKind, worker: String, message: String) {
        if self.stop.is_stopped() {
            return;
        }
        self.emit(Event::Error(Box::new(ErrorEvent {
            t_us: self.clock.elapsed_us(),
            kind,
            worker,
            message,
        })));
    }

    /// Runs `work` unless the run stops first.
    async fn until_stopped<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            _ = self.stop.stopped() => None,
            value = work => Some(value),
        }
    }

    /// Connects, records the handshake, and sends the authorization frame.
    async fn connect(
        &self,
        sizing: wire::SocketSizing,
        token: &str,
    ) -> Result<ConnectionGuard<wire::Ws>, (ErrorKind, String)> {
        let t = Instant::now();
        let ws = wire::connect(
            &self.ws_url,
            self.handshake_timeout,
            sizing,
            self.tls.as_ref(),
        )
        .await
        .map_err(|e| (e.kind, e.message))?;
        self.latency(Latency::Handshake, t);
        let mut ws = ConnectionGuard::new(ws, self);
        let auth = serde_json::to_string(&AuthFrame {
            authorization: format!("Bearer {token}"),
        })
        .expect("protocol frames serialize");
        ws.send(Message::text(auth)).await.map_err(|e| {
            (
                ErrorKind::ConnectionClosed,
                format!("authorization failed: {e}"),
            )
        })?;
        Ok(ws)
    }
}

/// The WebSocket URL to dial: the target's URL, with `/connect` when it has no path.
pub fn connect_url(messenger_ws_url: &str) -> String {
    let after_scheme = messenger_ws_url
        .split_once("://")
        .map_or("", |(_, rest)| rest);
    if after_scheme.contains('/') {
        messenger_ws_url.to_string()
    } else {
        format!("{messenger_ws_url}{CONNECT}")
    }
}

/// Runs one scenario against `target` and returns its result. Never fails:
/// whatever goes wrong is an error recorded in the result.
pub async fn run_scenario(scenario: &Scenario, target: &Target, control: RunControl) -> RunResult {
    let part = control.part;
    let clock = match control.start {
        Some(clock) => {
            tokio::select! {
                _ = tokio::time::sleep_until(clock.start.into()) => clock,
                // Cancelled while waiting: an interrupted run that starts now.
                _ = control.interrupt.cancelled() => Clock::new(),
            }
        }
        None => Clock::new(),
    };
    let stop = Arc::new(StopSignal::new());
    let (events, receiver) = mpsc::unbounded_channel();
    let periods = Periods {
        send_message: scenario.smi,
        start_chat: organizer::period(scenario.sci, scenario.organizers),
        create_participant: part.spawn_period(scenario.cpi),
    };
    let recorder = Recorder::new(clock, scenario.stop.on_error, stop.clone(), periods, part);
    let recording = tokio::spawn(recorder.run(receiver, control.progress.clone()));
    let ws_url = connect_url(&target.messenger_ws_url);
    let ctx = Arc::new(Ctx {
        clock,
        tls: ws_url.starts_with("wss://").then(wire::tls_connector),
        ws_url,
        organizer_api_url: target.organizer_api_url.clone(),
        participant_api_url: target.participant_api_url.clone(),
        organizer_password: target.organizer_password.clone(),
        event_id: target.event_id,
        sci: scenario.sci,
        smi: scenario.smi,
        reply: scenario.reply,
        handshake_timeout: scenario.stop.handshake_timeout,
        identity: control.identity,
        run_key: control.identity.run_key(),
        http: rest::client(scenario.stop.handshake_timeout),
        events,
        stop: stop.clone(),
        done: CancellationToken::new(),
    });

    let mut organizers = JoinSet::new();
    for n in (1..=scenario.organizers).filter(|&n| part.runs_organizer(n)) {
        let email = target.organizer_email.replace("{n}", &n.to_string());
        organizers.spawn(organizer::run(ctx.clone(), n, scenario.organizers, email));
    }
    let mut participants = JoinSet::new();
    let deadline = tokio::time::Instant::from_std(clock.start) + scenario.stop.max_duration;
    tokio::select! {
        _ = spawn_participants(&ctx, scenario, part, &mut participants) => {}
        _ = tokio::time::sleep_until(deadline) => stop.stop(StopReason::MaxDuration),
        _ = control.interrupt.cancelled() => stop.stop(StopReason::Signal),
        _ = stop.stopped() => {}
    }
    let stopped_at = Instant::now();
    let ended_at = SystemTime::now();
    if stop.reason() != Some(StopReason::Signal) {
        tokio::select! {
            _ = tokio::time::sleep(scenario.stop.drain) => {}
            _ = control.interrupt.cancelled() => {}
        }
    }
    ctx.done.cancel();
    participants.shutdown().await;
    organizers.shutdown().await;
    // The last sender goes with the context: the recorder then finishes.
    drop(ctx);
    let rec = recording.await.expect("the recorder does not panic");

    let reason = stop.reason().unwrap_or(StopReason::MaxDuration);
    let outcome = match reason {
        StopReason::FirstError | StopReason::ErrorBudget => Outcome::Saturated,
        StopReason::MaxDuration | StopReason::MaxParticipants => Outcome::Completed,
        StopReason::Signal => Outcome::Interrupted,
    };
    let (cpu_ns, cpu_percent) = rec.cpu;
    RunResult {
        schema: SCHEMA_VERSION,
        scenario: scenario_info(scenario),
        target: target_info(target, control.embedded),
        started_at: rfc3339(clock.started_at),
        ended_at: rfc3339(ended_at),
        duration_s: stopped_at.duration_since(clock.start).as_secs_f64(),
        outcome,
        stop_reason: reason.as_str().to_string(),
        first_error: rec.first_error,
        errors_by_kind: rec.errors_by_kind,
        totals: Totals {
            participants: rec.participants,
            chats: rec.chats,
            messages_sent: rec.sent,
            messages_delivered: rec.delivered,
            messages_lost: rec.lost,
            messages_duplicated: rec.duplicated,
            start_chats_sent: rec.start_chats_sent,
            errors: rec.errors,
            replies_sent: rec.replies.sent,
            replies_received: rec.replies.received,
        },
        timeline: rec.timeline,
        latency_ms: Latencies {
            message: rec.message,
            handshake: rec.handshake,
            sign_up: rec.sign_up,
            chat_request: rec.chat_request,
            round_trip: rec.replies.round_trip,
        },
        generator: Generator {
            max_send_lateness_ms: rec.lateness.max,
            p99_send_lateness_ms: rec.lateness.p99,
            late_ticks: rec.late_ticks,
            cpu_percent,
            cpu_us_per_message: if rec.sent == 0 {
                0.0
            } else {
                (cpu_ns as f64 / 1000.0 / rec.sent as f64 * 100.0).round() / 100.0
            },
            cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        },
        server: None,
        cloudwatch: None,
        skipped_reason: None,
        hooks: Vec::new(),
        split: part.is_split().then(|| SplitInfo {
            part: part.0.index,
            parts: part.0.count,
            start_at: control
                .start
                .map_or_else(|| rfc3339(clock.started_at), |c| rfc3339(c.started_at)),
            min_one_way_ms: rec.one_way,
            ..SplitInfo::default()
        }),
    }
}

/// Adds this part's participants every `cpi` (`K·cpi` for part of `K`) until
/// the run stops or the participant limit (of all parts) is reached.
async fn spawn_participants(
    ctx: &Arc<Ctx>,
    scenario: &Scenario,
    part: Part,
    set: &mut JoinSet<()>,
) {
    let first = tokio::time::Instant::from_std(ctx.clock.start) + part.spawn_offset(scenario.cpi);
    let mut tick = tokio::time::interval_at(first, part.spawn_period(scenario.cpi));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut k: u32 = 0;
    loop {
        let scheduled = tick.tick().await;
        let late_us = Instant::now()
            .saturating_duration_since(scheduled.into_std())
            .as_micros() as u64;
        ctx.emit(Event::SpawnTick { late_us });
        if scenario
            .stop
            .max_participants
            .is_some_and(|max| u64::from(part.participant_id(k)) >= max)
        {
            ctx.stop.stop(StopReason::MaxParticipants);
            return;
        }
        ctx.emit(Event::ParticipantCreated {
            t_us: ctx.clock.elapsed_us(),
        });
        set.spawn(participant::run(ctx.clone(), part.participant_id(k)));
        k += 1;
        // Reap finished workers so the set does not grow with the run.
        while set.try_join_next().is_some() {}
    }
}

/// How late a tick fired because the generator was slow, in µs.
///
/// Time spent blocked in the previous send (the API not reading: TCP
/// backpressure) is the API's doing, not the generator's, so lateness counts
/// from the later of the scheduled instant and the end of that send. What
/// remains is the runtime waking the worker late: the generator's own health.
fn lateness_us(scheduled: tokio::time::Instant, ready_at: Instant, now: Instant) -> u64 {
    let from = scheduled.into_std().max(ready_at);
    now.saturating_duration_since(from).as_micros() as u64
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A context pointing nowhere, for tests of worker state.
    pub(crate) fn ctx() -> Arc<Ctx> {
        let (events, _) = mpsc::unbounded_channel();
        let ms = Duration::from_millis(1);
        Arc::new(Ctx {
            clock: Clock::new(),
            ws_url: String::new(),
            organizer_api_url: String::new(),
            participant_api_url: String::new(),
            organizer_password: Secret::new(""),
            event_id: 1,
            sci: ms,
            smi: ms,
            reply: ReplyPolicy::None,
            handshake_timeout: ms,
            identity: Identity::standalone(),
            run_key: 0,
            http: reqwest::Client::new(),
            tls: None,
            events,
            stop: Arc::default(),
            done: CancellationToken::new(),
        })
    }

    #[test]
    fn connect_path_is_added_only_when_missing() {
        assert_eq!(connect_url("ws://h:1"), "ws://h:1/connect");
        assert_eq!(connect_url("wss://h/ws/connect"), "wss://h/ws/connect");
    }
}
