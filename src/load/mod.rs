//! The load engine: runs one [`Scenario`] against a [`Target`] and returns its
//! [`RunResult`].
//!
//! An organizer pool starts chats, a spawner adds a participant every `cpi`,
//! each participant sends a message every `smi`; one recorder owns every
//! number. Schedules are open-model timers that skip a missed tick instead of
//! bursting to catch up: lateness is recorded as the generator's own health.

mod clock;
mod connection;
mod counters;
mod cpu;
mod drain;
mod event;
mod failure;
mod histograms;
pub(crate) mod identity;
mod info;
mod organizer;
mod owed;
mod participant;
pub mod read;
mod recorder;
pub(crate) mod reply;
mod rest;
mod socket;
mod split;
mod stop;
mod stop_policy;
mod ticker;
mod upgrade;
pub(crate) mod wire;

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
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
pub use ticker::Ticker;

use crate::matrix::{Arrival, ReplyPolicy, Scenario, Secret, Target};
use crate::protocol::{AuthFrame, CONNECT};
use crate::results::{
    CreationRate, Outcome, RunResult, SplitInfo, StartFailure, StartFailureCause, Step, Timestamp,
    Worker, SCHEMA_VERSION,
};
use failure::Failure;
use recorder::{ErrorEvent, Event, Latency, Periods, Recorder, Stage};
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
    /// When the workers' close handshakes must be over (set at `done`).
    close_by: OnceLock<tokio::time::Instant>,
    /// Why the run cannot measure anything, once known (e.g. the organizer's
    /// credentials were refused).
    start_failure: OnceLock<StartFailure>,
    /// Organizers of this part still running; when the last one gives up,
    /// nothing can start a chat and the run stops.
    organizers_left: AtomicU32,
}

/// How long all workers together may take to close their WebSockets.
const CLOSE_BOUND: Duration = Duration::from_secs(2);

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

    /// Records a failure, unless the run already stopped: failures caused by
    /// our own teardown are not the API's.
    fn fail(&self, worker: Worker, f: Failure) {
        if self.stop.is_stopped() {
            return;
        }
        self.emit(Event::Error(Box::new(ErrorEvent {
            t_us: self.clock.elapsed_us(),
            kind: f.kind,
            step: f.step,
            http_status: f.http_status,
            worker,
            message: f.message,
        })));
    }

    /// Records that a worker reached `stage`.
    fn stage(&self, stage: Stage) {
        self.emit(Event::Stage {
            t_us: self.clock.elapsed_us(),
            stage,
        });
    }

    /// An organizer gave up before it could start chats; the last one to do
    /// so stops the run, which can then measure nothing.
    fn organizer_gave_up(&self) {
        if self.organizers_left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.stop.stop(StopReason::StartFailed);
        }
    }

    /// The deadline of a worker's close handshake: the common one once the
    /// run is over, else [`CLOSE_BOUND`] from now.
    fn close_deadline(&self) -> tokio::time::Instant {
        self.close_by
            .get()
            .copied()
            .unwrap_or_else(|| tokio::time::Instant::now() + CLOSE_BOUND)
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
    ) -> Result<ConnectionGuard<wire::Ws>, Failure> {
        let t = Instant::now();
        let ws = wire::connect(
            &self.ws_url,
            self.handshake_timeout,
            sizing,
            self.tls.as_ref(),
        )
        .await?;
        self.latency(Latency::Handshake, t);
        let mut ws = ConnectionGuard::new(ws, self);
        let auth = serde_json::to_string(&AuthFrame {
            authorization: format!("Bearer {token}"),
        })
        .expect("protocol frames serialize");
        ws.send_within(Message::text(auth), self.handshake_timeout, Step::Authorize)
            .await?;
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
///
/// Start (wait for the common start, start the recorder and the organizers),
/// wait for a stop rule while participants are spawned, drain, close every
/// worker, then [`recorder::Recording::into_result`].
pub async fn run_scenario(scenario: &Scenario, target: &Target, control: RunControl) -> RunResult {
    let part = control.part;
    // Built before the clock starts: loading the TLS roots takes milliseconds
    // (13-19 ms in a debug build), which made every first tick late.
    let http = rest::client(scenario.stop.handshake_timeout);
    let clock = wait_for_start(&control).await;
    let stop = Arc::new(StopSignal::new());
    let (events, receiver) = mpsc::unbounded_channel();
    let periods = Periods {
        send_message: scenario.smi,
        start_chat: organizer::period(scenario.sci, scenario.organizers),
        create_participant: part.spawn_period(scenario.cpi),
    };
    let mut recorder = Recorder::new(clock, scenario.stop.on_error, stop.clone(), periods, part);
    let (drain_views, mut drain_view) = watch::channel(drain::DrainView::default());
    recorder.publish_drain_to(drain_views);
    let recording = tokio::spawn(recorder.run(receiver, control.progress.clone()));
    let ctx = context(scenario, target, &control, clock, events, &stop, http);
    let mut organizers = start_organizers(&ctx, scenario, target, part);
    let pool_here = organizers.len();
    let mut participants = JoinSet::new();
    let deadline = tokio::time::Instant::from_std(clock.start) + scenario.stop.max_duration;
    tokio::select! {
        _ = spawn_participants(&ctx, scenario, part, &mut participants) => {}
        _ = tokio::time::sleep_until(deadline) => stop.stop(StopReason::MaxDuration),
        _ = control.interrupt.cancelled() => stop.stop(StopReason::Signal),
        _ = stop.stopped() => {}
    }
    let stopped_at = stop.at().unwrap_or_else(Instant::now);
    let ended_at = SystemTime::now();
    let drained = if stop.reason() == Some(StopReason::Signal) {
        drain::Drained::skipped()
    } else {
        let bound = scenario.stop.drain;
        drain::wait(
            &mut drain_view,
            clock,
            stopped_at,
            bound,
            &control.interrupt,
        )
        .await
    };
    close_all(&ctx, &mut participants, &mut organizers).await;
    let start_failure = ctx.start_failure.get().cloned();
    // The last sender goes with the context: the recorder then finishes.
    drop(ctx);
    let rec = recording.await.expect("the recorder does not panic");
    let reason = stop.reason().unwrap_or(StopReason::MaxDuration);
    let finished = Finished {
        scenario,
        target,
        control: &control,
        clock,
        stopped_at,
        ended_at,
        drained,
        reason,
        start_failure: start_failure.or_else(|| no_load(&rec, pool_here, reason)),
    };
    rec.into_result(finished)
}

/// The run's clock: at the common start of split parts (or now when a
/// signal comes while waiting), else now.
async fn wait_for_start(control: &RunControl) -> Clock {
    match control.start {
        Some(clock) => {
            tokio::select! {
                _ = tokio::time::sleep_until(clock.start.into()) => clock,
                // Cancelled while waiting: an interrupted run that starts now.
                _ = control.interrupt.cancelled() => Clock::new(),
            }
        }
        None => Clock::new(),
    }
}

/// What every worker of the run shares.
fn context(
    scenario: &Scenario,
    target: &Target,
    control: &RunControl,
    clock: Clock,
    events: mpsc::UnboundedSender<Event>,
    stop: &Arc<StopSignal>,
    http: reqwest::Client,
) -> Arc<Ctx> {
    let ws_url = connect_url(&target.messenger_ws_url);
    Arc::new(Ctx {
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
        http,
        events,
        stop: stop.clone(),
        done: CancellationToken::new(),
        close_by: OnceLock::new(),
        start_failure: OnceLock::new(),
        organizers_left: AtomicU32::new(0),
    })
}

/// Starts this part's organizers of the pool.
fn start_organizers(
    ctx: &Arc<Ctx>,
    scenario: &Scenario,
    target: &Target,
    part: Part,
) -> JoinSet<()> {
    let mut organizers = JoinSet::new();
    for n in (1..=scenario.organizers).filter(|&n| part.runs_organizer(n)) {
        let email = target.organizer_email.replace("{n}", &n.to_string());
        ctx.organizers_left.fetch_add(1, Ordering::AcqRel);
        organizers.spawn(organizer::run(ctx.clone(), n, scenario.organizers, email));
    }
    organizers
}

/// A run after its stop, drain and close: what its result is made of
/// besides the [`recorder::Recording`].
struct Finished<'a> {
    scenario: &'a Scenario,
    target: &'a Target,
    control: &'a RunControl,
    clock: Clock,
    stopped_at: Instant,
    ended_at: SystemTime,
    drained: drain::Drained,
    reason: StopReason,
    start_failure: Option<StartFailure>,
}

impl recorder::Recording {
    /// The result file of the run: the recording's parts as they are, with
    /// the drain's judgement of what never arrived.
    fn into_result(self, run: Finished) -> RunResult {
        let (scenario, clock, part) = (run.scenario, run.clock, run.control.part);
        let outcome = match run.reason {
            _ if run.start_failure.is_some() => Outcome::Failed,
            StopReason::FirstError | StopReason::ErrorBudget => Outcome::Saturated,
            StopReason::MaxDuration | StopReason::MaxParticipants => Outcome::Completed,
            StopReason::StartFailed => Outcome::Failed,
            StopReason::Signal => Outcome::Interrupted,
            StopReason::Skipped => Outcome::Skipped,
        };
        let ran = run.stopped_at.duration_since(clock.start);
        let creation = creation_rate(scenario, &self, ran);
        let mut totals = self.totals;
        (
            totals.messages_lost,
            totals.messages_undelivered_at_drain_end,
        ) = run.drained.judge(totals.messages_lost);
        let drain = run.drained.info(
            scenario.stop.drain,
            clock.us_at(run.stopped_at),
            self.last_delivery_us,
        );
        let split = part.is_split().then(|| SplitInfo {
            part: part.0.index,
            parts: part.0.count,
            start_at: Timestamp::at(run.control.start.map_or(clock.started_at, |c| c.started_at))
                .to_string(),
            min_one_way_ms: self.one_way,
            ..SplitInfo::default()
        });
        RunResult {
            schema: SCHEMA_VERSION,
            scenario: scenario_info(scenario),
            target: target_info(run.target, run.control.embedded),
            started_at: Timestamp::at(clock.started_at),
            ended_at: Timestamp::at(run.ended_at),
            duration_s: ran.as_secs_f64(),
            outcome,
            stop_reason: run.reason,
            first_error: self.first_error,
            errors_by_kind: self.errors_by_kind,
            totals,
            generator: self.generator,
            latency_ms: self.latency_ms,
            timeline: self.timeline,
            server: None,
            cloudwatch: None,
            skipped_reason: None,
            hooks: Vec::new(),
            split,
            start_failure: run.start_failure,
            creation: Some(creation),
            side: None,
            pair: None,
            drain: Some(drain),
        }
    }
}

/// Ends every worker: each closes its WebSockets with a close frame, all
/// within [`CLOSE_BOUND`]; whatever is still running then is aborted.
async fn close_all(ctx: &Ctx, participants: &mut JoinSet<()>, organizers: &mut JoinSet<()>) {
    let deadline = tokio::time::Instant::now() + CLOSE_BOUND;
    let _ = ctx.close_by.set(deadline);
    ctx.done.cancel();
    let all_closed = async {
        while participants.join_next().await.is_some() {}
        while organizers.join_next().await.is_some() {}
    };
    let _ = tokio::time::timeout_at(deadline, all_closed).await;
    participants.shutdown().await;
    organizers.shutdown().await;
}

/// Why a run that ran its course still loaded nothing: no organizer of this
/// part connected, or participants were started and none connected.
fn no_load(
    rec: &recorder::Recording,
    pool_here: usize,
    reason: StopReason,
) -> Option<StartFailure> {
    if reason == StopReason::Signal {
        return None;
    }
    let s = &rec.totals.stages;
    let first = rec
        .first_error
        .as_ref()
        .map_or_else(String::new, |e| format!(": {}", e.message));
    if pool_here > 0 && s.organizers_connected == 0 {
        let what = if s.organizers_signed_in == 0 {
            "no organizer signed in"
        } else {
            "no organizer's WebSocket was authorized"
        };
        return Some(StartFailure {
            cause: StartFailureCause::NoOrganizer,
            message: format!("{what}{first}"),
        });
    }
    if s.participants_started > 0 && s.connected == 0 {
        return Some(StartFailure {
            cause: StartFailureCause::NoParticipantConnected,
            message: format!(
                "{} participants were started and none connected to the Messenger API{first}",
                s.participants_started
            ),
        });
    }
    None
}

/// The planned and the achieved participant creation rate of a run.
fn creation_rate(scenario: &Scenario, rec: &recorder::Recording, ran: Duration) -> CreationRate {
    let planned = 1.0 / scenario.cpi.as_secs_f64().max(1e-9);
    let started = rec.totals.stages.participants_started;
    // Starts per second over the span they came in: n starts span n-1 gaps.
    let achieved = match rec.started_span_us {
        Some((first, last)) if started > 1 && last > first => {
            (started - 1) as f64 / ((last - first) as f64 / 1e6)
        }
        _ => started as f64 / ran.as_secs_f64().max(1e-9),
    };
    let round = |x: f64| (x * 100.0).round() / 100.0;
    CreationRate {
        arrival: scenario.arrival,
        planned_per_s: round(planned),
        achieved_per_s: round(achieved),
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
    let first = ctx.clock.start + part.spawn_offset(scenario.cpi);
    let mut tick = ticker::Ticker::start(first, part.spawn_period(scenario.cpi));
    let mut k: u32 = 0;
    loop {
        if scenario
            .hold_at
            .is_some_and(|n| u64::from(part.participant_id(k)) >= n)
        {
            // A soak holds its population: creation ends, the run goes on
            // (and the schedule's thread with it, rather than tick unheard).
            drop(tick);
            return std::future::pending().await;
        }
        let scheduled = tick.tick().await;
        let late_us = Instant::now()
            .saturating_duration_since(scheduled)
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
        let id = part.participant_id(k);
        match scenario.arrival {
            Arrival::Rate => {
                set.spawn(participant::run(ctx.clone(), id));
            }
            Arrival::Sequential => {
                // The original client's closed loop: the next participant
                // starts only after this one's sign-up and chat request,
                // plus the cpi wait.
                if let Some(token) = participant::create(ctx, id).await {
                    set.spawn(participant::run_connected(ctx.clone(), id, token));
                }
                tick.reset();
            }
        }
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
            close_by: OnceLock::new(),
            start_failure: OnceLock::new(),
            organizers_left: AtomicU32::new(1),
        })
    }

    #[test]
    fn connect_path_is_added_only_when_missing() {
        assert_eq!(connect_url("ws://h:1"), "ws://h:1/connect");
        assert_eq!(connect_url("wss://h/ws/connect"), "wss://h/ws/connect");
    }
}
