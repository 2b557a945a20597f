//! The one owner of a run's numbers.
//!
//! Workers never share counters: they send small `Copy` events over one channel
//! and this task alone buckets them by second, fills the histograms, tracks
//! loss and duplicates, applies the error stop rules and publishes a progress
//! snapshot. No lock is taken on the send path.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::counters::{Buckets, Counters, Delivery, Ledgers};
use super::drain::{DrainTracker, DrainView};
use super::histograms::{Histograms, Schedule};
use super::split::{OneWay, Part};
use super::stop::StopSignal;
use super::stop_policy::StopPolicy;
use super::Clock;
use crate::matrix::OnError;
use crate::results::{ErrorKind, FirstError, Generator, Latencies, Second, StageCounts, Totals};

pub use super::event::{ErrorEvent, Event, Latency, Progress, Stage};

/// Everything the recorder knows when the run is over, already in the
/// result's types: [`super::Finished`] only adds the drain's judgement.
pub struct Recording {
    /// One entry per second, gauges integrated.
    pub timeline: Vec<Second>,
    /// The first error, with the load at that moment.
    pub first_error: Option<FirstError>,
    /// Errors by kind.
    pub errors_by_kind: BTreeMap<ErrorKind, u64>,
    /// The run's counts. `messages_lost` is what was never delivered by the
    /// end of the recording and `messages_undelivered_at_drain_end` is 0:
    /// how the drain ended tells which of the two it is.
    pub totals: Totals,
    /// Latency distributions.
    pub latency_ms: Latencies,
    /// The generator's lateness and CPU.
    pub generator: Generator,
    /// Smallest receive-minus-send time per source part of a split run, ms.
    pub one_way: Vec<Option<f64>>,
    /// Run time of the first and the last participant start, µs.
    pub started_span_us: Option<(u64, u64)>,
    /// µs since the start of the last fresh delivery.
    pub last_delivery_us: Option<u64>,
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

/// The recorder's state; [`Recorder::run`] drives it from the event channel.
/// Its parts: [`Counters`] and [`Buckets`] and [`Ledgers`] (the counts),
/// [`Histograms`] (the distributions), [`StopPolicy`] (the error stop rules).
pub struct Recorder {
    clock: Clock,
    periods: Periods,
    policy: StopPolicy,
    counts: Counters,
    buckets: Buckets,
    ledgers: Ledgers,
    histograms: Histograms,
    cpu: super::cpu::CpuMeter,
    replies: super::reply::ReplyStats,
    part: Part,
    one_way: OneWay,
    drain: DrainTracker,
}

impl Recorder {
    /// A recorder for one run.
    pub fn new(
        clock: Clock,
        on_error: OnError,
        stop: Arc<StopSignal>,
        periods: Periods,
        part: Part,
    ) -> Self {
        Recorder {
            clock,
            periods,
            policy: StopPolicy::new(on_error, stop),
            counts: Counters::default(),
            buckets: Buckets::default(),
            ledgers: Ledgers::default(),
            histograms: Histograms::default(),
            cpu: super::cpu::CpuMeter::start(),
            replies: Default::default(),
            part,
            one_way: OneWay::new(part),
            drain: DrainTracker::default(),
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
                    self.buckets.second(done).cpu_percent = cpu;
                    self.buckets.complete(done, self.stop_us());
                    self.check_budget();
                    let _ = progress.send(self.snapshot(elapsed));
                }
                // Reached only with no event waiting (biased): the view is current.
                _ = drain_tick.tick() => self.publish_drain_view(),
            }
        }
        self.finish()
    }

    /// µs since the start of the stop, once it fired.
    fn stop_us(&self) -> Option<u64> {
        self.policy.signal.at().map(|at| self.clock.us_at(at))
    }

    /// After the stop: what is outstanding and when the last delivery came.
    fn publish_drain_view(&self) {
        if !self.policy.signal.is_stopped() {
            return;
        }
        let totals = &self.counts.totals;
        // A part of a split run receives other parts' messages and its own go
        // to other parts' organizers: it cannot know what is outstanding.
        let outstanding = (!self.part.is_split()).then(|| {
            totals.sent.saturating_sub(totals.delivered)
                + self.replies.sent.saturating_sub(self.replies.received)
        });
        let p99_us = self.histograms.message_p99_us();
        self.drain
            .publish(outstanding, p99_us, self.clock.elapsed_us());
    }

    fn late(&mut self, t_us: u64, late_us: u64, schedule: Schedule, period: Duration) {
        self.histograms.late(late_us, schedule, period);
        let b = self.buckets.at(t_us);
        b.max_late_us = b.max_late_us.max(late_us);
    }

    /// One event into the counters, histograms and stop rules it concerns.
    fn record(&mut self, event: Event) {
        match event {
            Event::ParticipantCreated { t_us } => {
                self.counts.participant_started(t_us);
                self.buckets.at(t_us).participants += 1;
            }
            Event::Stage { t_us, stage } => {
                self.counts.stage(stage);
                match stage {
                    Stage::SignedUp => self.buckets.at(t_us).signed_up += 1,
                    Stage::Connected => self.buckets.at(t_us).connected += 1,
                    _ => {}
                }
            }
            Event::Sent {
                t_us,
                participant,
                seq,
                late_us,
            } => {
                self.counts.totals.sent += 1;
                self.buckets.at(t_us).sent += 1;
                self.late(t_us, late_us, Schedule::Send, self.periods.send_message);
                self.ledgers.sent(participant, seq);
            }
            Event::StartChatSent { late_us } => {
                self.counts.start_chats_sent += 1;
                self.late(
                    self.clock.elapsed_us(),
                    late_us,
                    Schedule::Send,
                    self.periods.start_chat,
                );
            }
            Event::SpawnTick { late_us } => self.late(
                self.clock.elapsed_us(),
                late_us,
                Schedule::Creation,
                self.periods.create_participant,
            ),
            Event::Delivered {
                t_us,
                participant,
                seq,
                sent_us,
            } => self.delivered(t_us, participant, seq, sent_us),
            Event::ChatStarted { t_us } => {
                self.counts.totals.chats += 1;
                self.buckets.at(t_us).chats += 1;
            }
            Event::ReplySent { t_us } => {
                self.replies.sent += 1;
                self.buckets.at(t_us).replies += 1;
            }
            Event::ReplyReceived { latency_us } => {
                self.replies.record_received(latency_us);
                // A reply is a delivery too: the drain is not quiet while they come.
                let now = self.clock.elapsed_us();
                self.drain.delivered(now, None);
            }
            Event::Connection { t_us, delta } => {
                self.buckets.open_connections += i64::from(delta);
                self.buckets.at(t_us).connections += i64::from(delta);
            }
            Event::Latency { kind, us } => self.histograms.latency(kind, us),
            Event::Error(e) => self.error(*e),
        }
    }

    fn delivered(&mut self, t_us: u64, participant: u32, seq: u32, sent_us: u64) {
        self.one_way.record(self.part, participant, sent_us, t_us);
        if self.ledgers.delivered(participant, seq) == Delivery::Duplicate {
            return;
        }
        self.counts.totals.delivered += 1;
        self.buckets.at(t_us).delivered += 1;
        let latency_us = t_us.saturating_sub(sent_us);
        let _ = self.histograms.message.record(latency_us.max(1));
        let stop_us = self.stop_us();
        self.drain.delivered(t_us, stop_us);
    }

    fn error(&mut self, e: ErrorEvent) {
        let counts = &mut self.counts;
        counts.totals.errors += 1;
        self.buckets.at(e.t_us).errors += 1;
        *counts.errors_by_kind.entry(e.kind).or_default() += 1;
        if counts.first_error.is_none() {
            counts.first_error = Some(FirstError {
                at_s: e.t_us as f64 / 1e6,
                kind: e.kind,
                message: e.message,
                worker: e.worker,
                active_chats: counts.totals.chats,
                participants: counts.totals.participants,
                step: Some(e.step),
                service: Some(e.step.service()),
                http_status: e.http_status,
            });
        }
        self.policy.on_error();
    }

    fn check_budget(&mut self) {
        let errors = self.counts.totals.errors;
        self.policy.check_budget(errors, self.counts.operations());
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
            open_connections: self.buckets.open_connections.max(0) as u64,
            seconds: self.buckets.recent(),
            ..self.counts.totals.clone()
        }
    }

    fn finish(self) -> Recording {
        let timeline = self.buckets.timeline(self.stop_us());
        let counts = self.counts;
        let t = &counts.totals;
        let sent = self.ledgers.sent_total();
        let late = self.drain.late();
        let on_time = t.delivered.saturating_sub(late);
        let replies = self.replies.finish();
        let totals = Totals {
            participants: t.participants,
            chats: t.chats,
            messages_sent: t.sent,
            messages_delivered: t.delivered,
            messages_lost: sent.saturating_sub(t.delivered),
            messages_duplicated: self.ledgers.duplicated,
            start_chats_sent: counts.start_chats_sent,
            errors: t.errors,
            replies_sent: replies.sent,
            replies_received: replies.received,
            stages: StageCounts {
                participants_started: t.participants,
                ..counts.stages
            },
            backlog_at_stop: sent.saturating_sub(on_time),
            messages_delivered_late: late,
            messages_undelivered_at_drain_end: 0,
            messages_out_of_order: self.ledgers.out_of_order,
        };
        Recording {
            timeline,
            generator: self.histograms.generator(self.cpu.total(), t.sent),
            latency_ms: self.histograms.latencies(replies.round_trip),
            totals,
            first_error: counts.first_error,
            errors_by_kind: counts.errors_by_kind,
            one_way: self.one_way.finish(),
            started_span_us: counts.started_span_us,
            last_delivery_us: self.drain.last_delivery_us(),
        }
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
