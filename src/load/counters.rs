//! The recorder's counters: run totals and stage counts, per-second buckets
//! (integrated into the timeline at the end), and per-participant ledgers
//! that make loss, duplicates and reordering exact.

use std::collections::{BTreeMap, VecDeque};

use super::event::{Progress, Stage};
use crate::results::{ErrorKind, FirstError, Phase, Second, StageCounts};

/// Totals of the run so far.
#[derive(Default)]
pub(crate) struct Counters {
    /// What the progress view shows (participants, chats, sent, delivered, errors).
    pub(crate) totals: Progress,
    pub(crate) start_chats_sent: u64,
    pub(crate) stages: StageCounts,
    /// Run time of the first and the last participant start, µs.
    pub(crate) started_span_us: Option<(u64, u64)>,
    pub(crate) errors_by_kind: BTreeMap<ErrorKind, u64>,
    pub(crate) first_error: Option<FirstError>,
}

impl Counters {
    /// A participant started at `t_us`.
    pub(crate) fn participant_started(&mut self, t_us: u64) {
        self.totals.participants += 1;
        let first = self.started_span_us.map_or(t_us, |(first, _)| first);
        self.started_span_us = Some((first, t_us));
    }

    /// A worker reached `stage`.
    pub(crate) fn stage(&mut self, stage: Stage) {
        let s = &mut self.stages;
        match stage {
            Stage::OrganizerSignedIn => s.organizers_signed_in += 1,
            Stage::OrganizerConnected => s.organizers_connected += 1,
            Stage::SignedUp => s.signed_up += 1,
            Stage::ChatRequested => s.chat_requested += 1,
            Stage::Connected => s.connected += 1,
            Stage::Chatting => s.chatting += 1,
        }
    }

    /// Operations so far, the base of an error budget.
    pub(crate) fn operations(&self) -> u64 {
        self.totals.sent + self.totals.participants + self.start_chats_sent
    }
}

/// Per-second counters before the gauges are integrated.
#[derive(Default, Clone)]
pub(crate) struct Bucket {
    pub(crate) sent: u64,
    pub(crate) delivered: u64,
    pub(crate) participants: u64,
    pub(crate) chats: u64,
    pub(crate) connections: i64,
    pub(crate) errors: u64,
    pub(crate) max_late_us: u64,
    pub(crate) cpu_percent: f64,
    pub(crate) replies: u64,
    pub(crate) signed_up: u64,
    pub(crate) connected: u64,
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

/// One bucket per second since the start, and the open connections now.
#[derive(Default)]
pub(crate) struct Buckets {
    buckets: Vec<Bucket>,
    pub(crate) open_connections: i64,
    /// The gauges up to the last second published, and that second's row
    /// and the few before it (the journal's rows).
    published: Running,
    recent: VecDeque<Second>,
}

impl Buckets {
    /// The bucket of second `index`.
    pub(crate) fn second(&mut self, index: usize) -> &mut Bucket {
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, Bucket::default());
        }
        &mut self.buckets[index]
    }

    /// The bucket of the instant `t_us` since the start.
    pub(crate) fn at(&mut self, t_us: u64) -> &mut Bucket {
        self.second((t_us / 1_000_000) as usize)
    }

    /// Second `index`, if it has a bucket.
    pub(crate) fn get(&self, index: usize) -> Option<&Bucket> {
        self.buckets.get(index)
    }

    /// Turns the seconds up to `done` into timeline rows for the progress
    /// snapshot (and so the journal). Events of a second that arrive after it
    /// was published are still in the result's timeline, not in the journal.
    pub(crate) fn complete(&mut self, done: usize, stop_us: Option<u64>) {
        let from = self.recent.back().map_or(0, |s| s.t as usize + 1);
        for t in from..=done.min(self.buckets.len().saturating_sub(1)) {
            let row = self.published.row(t, &self.buckets[t], stop_us);
            if self.recent.len() == PROGRESS_SECONDS {
                self.recent.pop_front();
            }
            self.recent.push_back(row);
        }
    }

    /// The last few published rows, oldest first.
    pub(crate) fn recent(&self) -> Vec<Second> {
        self.recent.iter().cloned().collect()
    }

    /// The timeline: gauges integrated, and the seconds mostly after the
    /// stop (at `stop_us`) marked as drain.
    pub(crate) fn timeline(&self, stop_us: Option<u64>) -> Vec<Second> {
        let mut running = Running::default();
        self.buckets
            .iter()
            .enumerate()
            .map(|(t, b)| running.row(t, b, stop_us))
            .collect()
    }
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
    seen: VecDeque<u64>,
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

/// How a delivery counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// The first delivery of the message.
    Fresh,
    /// It had been delivered before.
    Duplicate,
}

/// The participants' ledgers, indexed by participant id.
#[derive(Default)]
pub(crate) struct Ledgers {
    ledgers: Vec<Ledger>,
    pub(crate) duplicated: u64,
    pub(crate) out_of_order: u64,
}

impl Ledgers {
    fn of(&mut self, participant: u32) -> &mut Ledger {
        let i = participant as usize;
        if self.ledgers.len() <= i {
            self.ledgers.resize_with(i + 1, Ledger::default);
        }
        &mut self.ledgers[i]
    }

    /// Participant `participant` sent message `seq`.
    pub(crate) fn sent(&mut self, participant: u32, seq: u32) {
        let ledger = self.of(participant);
        ledger.sent = ledger.sent.max(seq + 1);
    }

    /// Message `seq` of `participant` was delivered.
    pub(crate) fn delivered(&mut self, participant: u32, seq: u32) -> Delivery {
        let ledger = self.of(participant);
        if !ledger.mark(seq) {
            self.duplicated += 1;
            return Delivery::Duplicate;
        }
        if ledger.overtaken(seq) {
            self.out_of_order += 1;
        }
        Delivery::Fresh
    }

    /// Messages sent by all participants.
    pub(crate) fn sent_total(&self) -> u64 {
        self.ledgers.iter().map(|l| u64::from(l.sent)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_drops_fully_delivered_words_and_still_finds_duplicates() {
        let mut l = Ledger::default();
        // 1,000 messages delivered in order: the words they filled are dropped.
        for seq in 0..1000 {
            assert!(l.mark(seq));
        }
        assert_eq!(l.base, 1000 / 64);
        assert_eq!(l.seen.len(), 1, "only the word still filling stays");
        // A duplicate of a dropped word's seq and of a kept one are both found.
        assert!(!l.mark(3));
        assert!(!l.mark(999));
        // A gap (seq 1000 never arrives) pins its word: later ones still count.
        for seq in 1001..1200 {
            assert!(l.mark(seq));
        }
        assert_eq!(l.base, 1000 / 64, "the word with the gap is kept");
        assert!(l.mark(1000), "the late one is fresh");
        assert_eq!(l.base, 1200 / 64);
    }
}
