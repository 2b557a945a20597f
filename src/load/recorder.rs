//! The one owner of a run's numbers.
//!
//! Workers never share counters: they send small `Copy` events over one channel
//! and this task alone buckets them by second, fills the histograms, tracks
//! loss and duplicates, applies the error stop rules and publishes a progress
//! snapshot. No lock is taken on the send path.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::{mpsc, watch};

use super::drain::{DrainTracker, DrainView};
use super::split::{OneWay, Part};
use super::stop::{StopReason, StopSignal};
use super::Clock;
use crate::matrix::OnError;
use crate::results::{FirstError, Percentiles, Phase, Second, StageCounts};

pub use super::event::{ErrorEvent, Event, Latency, Progress, Stage};

/// Everything the recorder knows when the run is over.
pub struct Recording {
    pub timeline: Vec<Second>,
    pub first_error: Option<FirstError>,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub participants: u64,
    pub chats: u64,
    pub start_chats_sent: u64,
    pub sent: u64,
    pub delivered: u64,
    /// Sent and never delivered by the end of the recording; how the drain
    /// ended tells whether that is lost or still arriving.
    pub lost: u64,
    pub duplicated: u64,
    pub errors: u64,
    pub message: Percentiles,
    pub handshake: Percentiles,
    pub sign_up: Percentiles,
    pub chat_request: Percentiles,
    pub lateness: Percentiles,
    pub late_ticks: u64,
    /// Generator CPU ns and average percent of one core over the run.
    pub cpu: (u64, f64),
    /// Organizer replies.
    pub replies: super::reply::Replies,
    /// Smallest receive-minus-send time per source part of a split run, ms.
    pub one_way: Vec<Option<f64>>,
    /// How many workers reached each stage.
    pub stages: StageCounts,
    /// Run time of the first and the last participant start, µs.
    pub started_span_us: Option<(u64, u64)>,
    /// Deliveries at or after the stop (part of `delivered`).
    pub delivered_late: u64,
    /// Sent but not yet delivered at the stop: `sent − (delivered − delivered_late)`.
    pub backlog_at_stop: u64,
    /// µs since the start of the last fresh delivery.
    pub last_delivery_us: Option<u64>,
    /// Fresh deliveries that came after a later message of the same participant.
    pub out_of_order: u64,
}

/// The schedules of a run: a tick later than its own period means ticks were
/// skipped (never made up by a burst), which [`Recording::late_ticks`] counts.
#[derive(Debug, Clone, Copy)]
pub struct Periods {
    /// One participant's send interval (smi).
    pub send_message: Duration,
    /// One organizer's `start_chat` interval (sci × pool size).
    pub start_chat: Duration,
    /// The participant spawner's interval (cpi).
    pub create_participant: Duration,
}

/// Per participant: how many messages it sent and which ones arrived.
///
/// Delivered seqs are a bitset whose leading words, once every message in
/// them arrived, are dropped (`base` counts them): in a long run with no loss
/// a participant's ledger stays a word or two instead of a bit per message
/// ever sent (a 30-minute soak at smi 1 s would otherwise keep growing).
#[derive(Default)]
struct Ledger {
    sent: u32,
    seen: std::collections::VecDeque<u64>,
    /// Words dropped from the front of `seen`: every seq below `64·base` arrived.
    base: u32,
    /// One past the highest seq delivered so far.
    next: u32,
}

impl Ledger {
    /// Marks `seq` delivered; false when it had been delivered before.
    fn mark(&mut self, seq: u32) -> bool {
        let (word, bit) = (seq / 64, seq % 64);
        let Some(i) = word.checked_sub(self.base).map(|i| i as usize) else {
            // Every seq of a dropped word had arrived: this is a duplicate.
            return false;
        };
        if self.seen.len() <= i {
            self.seen.resize(i + 1, 0);
        }
        let fresh = self.seen[i] & (1 << bit) == 0;
        self.seen[i] |= 1 << bit;
        while self.seen.front() == Some(&u64::MAX) {
            self.seen.pop_front();
            self.base += 1;
        }
        fresh
    }

    /// Notes a fresh delivery of `seq`; true when a later message of the
    /// same participant had arrived before it.
    fn overtaken(&mut self, seq: u32) -> bool {
        let behind = seq < self.next;
        self.next = self.next.max(seq + 1);
        behind
    }
}

/// Per-second counters before the gauges are integrated.
#[derive(Default, Clone)]
struct Bucket {
    sent: u64,
    delivered: u64,
    participants: u64,
    chats: u64,
    connections: i64,
    errors: u64,
    max_late_us: u64,
    cpu_percent: f64,
    replies: u64,
    signed_up: u64,
    connected: u64,
}

/// The gauges of the timeline, integrated second by second.
#[derive(Default, Clone, Copy)]
struct Running {
    participants: u64,
    chats: u64,
    connections: i64,
    signed_up: u64,
    connected: u64,
}

impl Running {
    /// Second `t`'s row of the timeline; `self` must have integrated every
    /// second before it.
    fn row(&mut self, t: usize, b: &Bucket, stop_us: Option<u64>) -> Second {
        self.participants += b.participants;
        self.chats += b.chats;
        self.signed_up += b.signed_up;
        self.connected += b.connected;
        self.connections += b.connections;
        Second {
            t: t as u32,
            sent: b.sent,
            delivered: b.delivered,
            participants: self.participants,
            active_chats: self.chats,
            open_connections: self.connections.max(0) as u64,
            errors: b.errors,
            max_lateness_ms: b.max_late_us as f64 / 1000.0,
            cpu_percent: b.cpu_percent,
            replies: b.replies,
            signed_up: self.signed_up,
            connected: self.connected,
            // A second is drain when most of it came after the stop.
            phase: match stop_us {
                Some(stop) if t as u64 * 1_000_000 + 500_000 >= stop => Phase::Drain,
                _ => Phase::Run,
            },
        }
    }
}

/// Completed seconds a progress snapshot carries for the journal: more than
/// one, so a snapshot the journal's writer missed loses no row.
const PROGRESS_SECONDS: usize = 5;

/// The recorder's state; [`Recorder::run`] drives it from the event channel.
pub struct Recorder {
    clock: Clock,
    on_error: OnError,
    stop: Arc<StopSignal>,
    periods: Periods,
    buckets: Vec<Bucket>,
    ledgers: Vec<Ledger>,
    first_error: Option<FirstError>,
    errors_by_kind: BTreeMap<String, u64>,
    totals: Progress,
    start_chats_sent: u64,
    duplicated: u64,
    message: Histogram<u64>,
    handshake: Histogram<u64>,
    sign_up: Histogram<u64>,
    chat_request: Histogram<u64>,
    lateness: Histogram<u64>,
    late_ticks: u64,
    open_connections: i64,
    cpu: super::cpu::CpuMeter,
    replies: super::reply::ReplyStats,
    part: Part,
    one_way: OneWay,
    stages: StageCounts,
    started_span_us: Option<(u64, u64)>,
    drain: DrainTracker,
    out_of_order: u64,
    /// The gauges up to the last second published, and that second's row
    /// and the few before it.
    published: Running,
    recent: std::collections::VecDeque<Second>,
}

/// Error budgets are judged only after this many operations, so that one early
/// failure does not count as 100%.
const BUDGET_MIN_OPERATIONS: u64 = 100;

impl Recorder {
    /// A recorder for one run.
    pub fn new(
        clock: Clock,
        on_error: OnError,
        stop: Arc<StopSignal>,
        periods: Periods,
        part: Part,
    ) -> Self {
        let hist =
            || Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static bounds are valid");
        Recorder {
            clock,
            on_error,
            stop,
            periods,
            buckets: Vec::new(),
            ledgers: Vec::new(),
            first_error: None,
            errors_by_kind: BTreeMap::new(),
            totals: Progress::default(),
            start_chats_sent: 0,
            duplicated: 0,
            message: hist(),
            handshake: hist(),
            sign_up: hist(),
            chat_request: hist(),
            lateness: hist(),
            late_ticks: 0,
            open_connections: 0,
            cpu: super::cpu::CpuMeter::start(),
            replies: Default::default(),
            part,
            one_way: OneWay::new(part),
            stages: StageCounts::default(),
            started_span_us: None,
            drain: DrainTracker::default(),
            out_of_order: 0,
            published: Running::default(),
            recent: std::collections::VecDeque::with_capacity(PROGRESS_SECONDS),
        }
    }

    /// Publishes a [`DrainView`] to `view` every [`super::drain::VIEW_EVERY`]
    /// once the run has stopped, for the drain to decide on.
    pub fn publish_drain_to(&mut self, view: watch::Sender<DrainView>) {
        self.drain.publish_to(view);
    }

    /// Consumes events until every sender is gone, publishing progress once a
    /// second, then returns what it recorded.
    pub async fn run(
        mut self,
        mut events: mpsc::UnboundedReceiver<Event>,
        progress: watch::Sender<Progress>,
    ) -> Recording {
        let mut second = tokio::time::interval_at(
            tokio::time::Instant::from_std(self.clock.start) + Duration::from_secs(1),
            Duration::from_secs(1),
        );
        second.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut drain_tick = tokio::time::interval(super::drain::VIEW_EVERY);
        drain_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                biased;
                event = events.recv() => match event {
                    Some(event) => self.record(event),
                    None => break,
                },
                _ = second.tick() => {
                    let elapsed = self.clock.elapsed_us() / 1_000_000;
                    let cpu = self.cpu.sample_percent();
                    let done = elapsed.saturating_sub(1) as usize;
                    self.bucket(done).cpu_percent = cpu;
                    self.complete_seconds(done);
                    self.check_budget();
                    let _ = progress.send(self.snapshot(elapsed));
                }
                // Reached only with no event waiting (biased): the view is current.
                _ = drain_tick.tick() => self.publish_drain_view(),
            }
        }
        self.finish()
    }

    fn bucket(&mut self, index: usize) -> &mut Bucket {
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, Bucket::default());
        }
        &mut self.buckets[index]
    }

    fn at(&mut self, t_us: u64) -> &mut Bucket {
        self.bucket((t_us / 1_000_000) as usize)
    }

    /// µs since the start of the stop, once it fired.
    fn stop_us(&self) -> Option<u64> {
        self.stop.at().map(|at| self.clock.us_at(at))
    }

    /// After the stop: what is outstanding and when the last delivery came.
    fn publish_drain_view(&self) {
        if !self.stop.is_stopped() {
            return;
        }
        // A part of a split run receives other parts' messages and its own go
        // to other parts' organizers: it cannot know what is outstanding.
        let outstanding = (!self.part.is_split()).then(|| {
            self.totals.sent.saturating_sub(self.totals.delivered)
                + self.replies.sent.saturating_sub(self.replies.received)
        });
        let p99_us = if self.message.is_empty() {
            0
        } else {
            self.message.value_at_quantile(0.99)
        };
        self.drain
            .publish(outstanding, p99_us, self.clock.elapsed_us());
    }

    fn ledger(&mut self, participant: u32) -> &mut Ledger {
        let i = participant as usize;
        if self.ledgers.len() <= i {
            self.ledgers.resize_with(i + 1, Ledger::default);
        }
        &mut self.ledgers[i]
    }

    fn late(&mut self, t_us: u64, late_us: u64, period: Duration) {
        let _ = self.lateness.record(late_us.max(1));
        if late_us >= period.as_micros() as u64 {
            self.late_ticks += 1;
        }
        let b = self.at(t_us);
        b.max_late_us = b.max_late_us.max(late_us);
    }

    fn record(&mut self, event: Event) {
        match event {
            Event::ParticipantCreated { t_us } => {
                self.totals.participants += 1;
                self.at(t_us).participants += 1;
                let first = self.started_span_us.map_or(t_us, |(first, _)| first);
                self.started_span_us = Some((first, t_us));
            }
            Event::Stage { t_us, stage } => self.stage(t_us, stage),
            Event::Sent {
                t_us,
                participant,
                seq,
                late_us,
            } => {
                self.totals.sent += 1;
                self.at(t_us).sent += 1;
                self.late(t_us, late_us, self.periods.send_message);
                let ledger = self.ledger(participant);
                ledger.sent = ledger.sent.max(seq + 1);
            }
            Event::StartChatSent { late_us } => {
                self.start_chats_sent += 1;
                self.late(self.clock.elapsed_us(), late_us, self.periods.start_chat);
            }
            Event::SpawnTick { late_us } => self.late(
                self.clock.elapsed_us(),
                late_us,
                self.periods.create_participant,
            ),
            Event::Delivered {
                t_us,
                participant,
                seq,
                sent_us,
            } => {
                self.one_way.record(self.part, participant, sent_us, t_us);
                let ledger = self.ledger(participant);
                if ledger.mark(seq) {
                    if ledger.overtaken(seq) {
                        self.out_of_order += 1;
                    }
                    self.totals.delivered += 1;
                    self.at(t_us).delivered += 1;
                    let latency_us = t_us.saturating_sub(sent_us);
                    let _ = self.message.record(latency_us.max(1));
                    let stop_us = self.stop_us();
                    self.drain.delivered(t_us, stop_us);
                } else {
                    self.duplicated += 1;
                }
            }
            Event::ChatStarted { t_us } => {
                self.totals.chats += 1;
                self.at(t_us).chats += 1;
            }
            Event::ReplySent { t_us } => {
                self.replies.sent += 1;
                self.at(t_us).replies += 1;
            }
            Event::ReplyReceived { latency_us } => {
                self.replies.record_received(latency_us);
                // A reply is a delivery too: the drain is not quiet while they come.
                let now = self.clock.elapsed_us();
                self.drain.delivered(now, None);
            }
            Event::Connection { t_us, delta } => {
                self.open_connections += i64::from(delta);
                self.at(t_us).connections += i64::from(delta);
            }
            Event::Latency { kind, us } => {
                let h = match kind {
                    Latency::Handshake => &mut self.handshake,
                    Latency::SignUp => &mut self.sign_up,
                    Latency::ChatRequest => &mut self.chat_request,
                };
                let _ = h.record(us.max(1));
            }
            Event::Error(e) => self.error(*e),
        }
    }

    fn stage(&mut self, t_us: u64, stage: Stage) {
        let s = &mut self.stages;
        match stage {
            Stage::OrganizerSignedIn => s.organizers_signed_in += 1,
            Stage::OrganizerConnected => s.organizers_connected += 1,
            Stage::SignedUp => s.signed_up += 1,
            Stage::ChatRequested => s.chat_requested += 1,
            Stage::Connected => s.connected += 1,
            Stage::Chatting => s.chatting += 1,
        }
        match stage {
            Stage::SignedUp => self.at(t_us).signed_up += 1,
            Stage::Connected => self.at(t_us).connected += 1,
            _ => {}
        }
    }

    fn error(&mut self, e: ErrorEvent) {
        self.totals.errors += 1;
        self.at(e.t_us).errors += 1;
        *self
            .errors_by_kind
            .entry(e.kind.as_str().to_string())
            .or_default() += 1;
        if self.first_error.is_none() {
            self.first_error = Some(FirstError {
                at_s: e.t_us as f64 / 1e6,
                kind: e.kind,
                message: e.message,
                worker: e.worker,
                active_chats: self.totals.chats,
                participants: self.totals.participants,
                step: Some(e.step),
                service: Some(e.step.service()),
                http_status: e.http_status,
            });
        }
        if self.on_error == OnError::First {
            self.stop.stop(StopReason::FirstError);
        }
    }

    fn check_budget(&mut self) {
        if let OnError::Budget(fraction) = self.on_error {
            let operations = self.totals.sent + self.totals.participants + self.start_chats_sent;
            if operations >= BUDGET_MIN_OPERATIONS
                && self.totals.errors as f64 > fraction * operations as f64
            {
                self.stop.stop(StopReason::ErrorBudget);
            }
        }
    }

    /// Turns the seconds up to `done` into timeline rows for the progress
    /// snapshot (and so the journal). Events of a second that arrive after it
    /// was published are still in the result's timeline, not in the journal.
    fn complete_seconds(&mut self, done: usize) {
        let stop_us = self.stop_us();
        let from = self.recent.back().map_or(0, |s| s.t as usize + 1);
        for t in from..=done.min(self.buckets.len().saturating_sub(1)) {
            let row = self.published.row(t, &self.buckets[t], stop_us);
            if self.recent.len() == PROGRESS_SECONDS {
                self.recent.pop_front();
            }
            self.recent.push_back(row);
        }
    }

    fn snapshot(&self, elapsed_s: u64) -> Progress {
        let last = elapsed_s
            .checked_sub(1)
            .and_then(|i| self.buckets.get(i as usize));
        Progress {
            elapsed_s,
            sent_per_s: last.map_or(0, |b| b.sent),
            delivered_per_s: last.map_or(0, |b| b.delivered),
            replies_per_s: last.map_or(0, |b| b.replies),
            open_connections: self.open_connections.max(0) as u64,
            seconds: self.recent.iter().cloned().collect(),
            ..self.totals.clone()
        }
    }

    fn finish(self) -> Recording {
        let stop_us = self.stop_us();
        let mut running = Running::default();
        let timeline = self
            .buckets
            .iter()
            .enumerate()
            .map(|(t, b)| running.row(t, b, stop_us))
            .collect();
        let sent: u64 = self.ledgers.iter().map(|l| u64::from(l.sent)).sum();
        let lost = sent.saturating_sub(self.totals.delivered);
        let late = self.drain.late();
        let on_time = self.totals.delivered.saturating_sub(late);
        Recording {
            timeline,
            first_error: self.first_error,
            errors_by_kind: self.errors_by_kind,
            participants: self.totals.participants,
            chats: self.totals.chats,
            start_chats_sent: self.start_chats_sent,
            sent: self.totals.sent,
            delivered: self.totals.delivered,
            lost,
            duplicated: self.duplicated,
            errors: self.totals.errors,
            message: percentiles(&self.message),
            handshake: percentiles(&self.handshake),
            sign_up: percentiles(&self.sign_up),
            chat_request: percentiles(&self.chat_request),
            lateness: percentiles(&self.lateness),
            late_ticks: self.late_ticks,
            cpu: self.cpu.total(),
            replies: self.replies.finish(),
            one_way: self.one_way.finish(),
            stages: StageCounts {
                participants_started: self.totals.participants,
                ..self.stages
            },
            started_span_us: self.started_span_us,
            delivered_late: late,
            backlog_at_stop: sent.saturating_sub(on_time),
            last_delivery_us: self.drain.last_delivery_us(),
            out_of_order: self.out_of_order,
        }
    }
}

/// Milliseconds summary of a µs histogram.
pub(crate) fn percentiles(h: &Histogram<u64>) -> Percentiles {
    if h.is_empty() {
        return Percentiles::default();
    }
    let ms = |us: u64| us as f64 / 1000.0;
    Percentiles {
        p50: ms(h.value_at_quantile(0.50)),
        p90: ms(h.value_at_quantile(0.90)),
        p99: ms(h.value_at_quantile(0.99)),
        max: ms(h.max()),
        count: h.len(),
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
