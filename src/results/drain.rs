//! What a result file says about the drain after the stop: how long the load
//! generator kept reading, why it stopped, and which seconds of the timeline
//! belong to it.
//!
//! It exists because "sent but not delivered when the run ended" used to be
//! counted as lost: an API that queues under load (what a saturated API does)
//! then looked like one that loses messages. With the drain recorded, a reader
//! tells *late* (delivered after the stop), *still arriving* (the drain bound
//! ended the wait while deliveries kept coming) and *lost* (deliveries had
//! stopped, and these never came) apart.

use serde::{Deserialize, Serialize};

/// How the drain after the stop ended: a closed set, so reports and tools can
/// branch on it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DrainEnd {
    /// Every message sent (and every organizer reply) was delivered.
    AllDelivered,
    /// No delivery came for the quiet period: what is missing then is lost.
    Quiet,
    /// The `stop.drain` bound was reached while messages were outstanding and
    /// not yet quiet: they are "still arriving", not lost.
    Bound,
    /// A signal ended the drain early: what was outstanding is not judged.
    Interrupted,
    /// No drain: the run itself was interrupted by a signal.
    Skipped,
}

impl DrainEnd {
    /// The snake_case name used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DrainEnd::AllDelivered => "all_delivered",
            DrainEnd::Quiet => "quiet",
            DrainEnd::Bound => "bound",
            DrainEnd::Interrupted => "interrupted",
            DrainEnd::Skipped => "skipped",
        }
    }

    /// True when what was still outstanding at the end counts as lost: only
    /// after deliveries had stopped by themselves.
    pub fn judges_loss(self) -> bool {
        matches!(self, DrainEnd::AllDelivered | DrainEnd::Quiet)
    }
}

/// The drain of one run (absent in files written before it was recorded).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DrainInfo {
    /// Why the drain ended.
    pub end: DrainEnd,
    /// Seconds from the stop to the end of the drain.
    pub drain_s: f64,
    /// The `stop.drain` bound of the run, seconds.
    pub bound_s: f64,
    /// The quiet period in force when the drain ended, seconds: max(2 s,
    /// 3 × the message latency p99 at that moment).
    pub quiet_s: f64,
    /// Seconds from the stop to the last delivery of the drain, a message or
    /// an organizer reply (null when nothing was delivered after the stop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_delivery_s: Option<f64>,
}

/// Which part of the run a timeline second belongs to.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Load was being generated (omitted in files: the default).
    #[default]
    Run,
    /// After the stop: nothing is sent any more, late deliveries are read.
    Drain,
}

impl Phase {
    /// True for [`Phase::Run`] (serde's `skip_serializing_if`).
    pub fn is_run(&self) -> bool {
        *self == Phase::Run
    }
}
