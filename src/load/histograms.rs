//! The recorder's latency and lateness histograms (µs, hdrhistogram) and
//! the late-tick count; summarised into the result's [`Latencies`] and the
//! lateness part of [`Generator`] when the run is over.

use std::time::Duration;

use hdrhistogram::Histogram;

use super::event::Latency;
use crate::results::{Generator, Latencies, Percentiles};

/// Which schedule a tick belongs to: the generator's lateness is reported
/// for sends and for participant creation apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schedule {
    /// A participant's message or an organizer's `start_chat`.
    Send,
    /// The spawner adding a participant.
    Creation,
}

/// The run's distributions, in µs.
pub(crate) struct Histograms {
    /// Participant send → organizer receive (fresh deliveries only).
    pub(crate) message: Histogram<u64>,
    handshake: Histogram<u64>,
    sign_up: Histogram<u64>,
    chat_request: Histogram<u64>,
    /// Lateness of every scheduled send (messages, start_chats).
    lateness: Histogram<u64>,
    /// Lateness of the participant-creation schedule.
    creation: Histogram<u64>,
    /// Ticks later than their own period (skipped, never made up).
    late_ticks: u64,
}

impl Default for Histograms {
    fn default() -> Self {
        let hist =
            || Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static bounds are valid");
        Histograms {
            message: hist(),
            handshake: hist(),
            sign_up: hist(),
            chat_request: hist(),
            lateness: hist(),
            creation: hist(),
            late_ticks: 0,
        }
    }
}

impl Histograms {
    /// A REST call's or handshake's latency.
    pub(crate) fn latency(&mut self, kind: Latency, us: u64) {
        let h = match kind {
            Latency::Handshake => &mut self.handshake,
            Latency::SignUp => &mut self.sign_up,
            Latency::ChatRequest => &mut self.chat_request,
        };
        let _ = h.record(us.max(1));
    }

    /// A tick `late_us` after its schedule, of a `schedule` of `period`.
    pub(crate) fn late(&mut self, late_us: u64, schedule: Schedule, period: Duration) {
        let h = match schedule {
            Schedule::Send => &mut self.lateness,
            Schedule::Creation => &mut self.creation,
        };
        let _ = h.record(late_us.max(1));
        if late_us >= period.as_micros() as u64 {
            self.late_ticks += 1;
        }
    }

    /// The message latency's 99th percentile so far, µs (0 before any).
    pub(crate) fn message_p99_us(&self) -> u64 {
        if self.message.is_empty() {
            0
        } else {
            self.message.value_at_quantile(0.99)
        }
    }

    /// The result's latencies; `round_trip` comes from the replies.
    pub(crate) fn latencies(&self, round_trip: Percentiles) -> Latencies {
        Latencies {
            message: percentiles(&self.message),
            handshake: percentiles(&self.handshake),
            sign_up: percentiles(&self.sign_up),
            chat_request: percentiles(&self.chat_request),
            round_trip,
        }
    }

    /// The generator's health: lateness from here, CPU as measured over the
    /// run (`cpu_ns`, average percent of one core) per message `sent`.
    pub(crate) fn generator(&self, (cpu_ns, cpu_percent): (u64, f64), sent: u64) -> Generator {
        let lateness = percentiles(&self.lateness);
        let creation = percentiles(&self.creation);
        Generator {
            max_send_lateness_ms: lateness.max,
            p99_send_lateness_ms: lateness.p99,
            p99_creation_lateness_ms: creation.p99,
            max_creation_lateness_ms: creation.max,
            late_ticks: self.late_ticks,
            cpu_percent,
            cpu_us_per_message: if sent == 0 {
                0.0
            } else {
                (cpu_ns as f64 / 1000.0 / sent as f64 * 100.0).round() / 100.0
            },
            cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
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
