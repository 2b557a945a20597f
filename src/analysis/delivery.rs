//! A run's delivery accounting at its end: what was queued at the stop, what
//! arrived late, what was still arriving when the drain bound ended the wait,
//! and (in `RunAnalysis::messages_lost`) what never arrived.
//!
//! Kept apart from the rate analysis because none of it enters the plateau,
//! the peak or the verdict: those are measured before the stop.

use crate::results::{DrainInfo, RunResult};
use serde::{Deserialize, Serialize};

/// The end-of-run delivery numbers of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryInfo {
    /// Messages sent but not yet delivered at the stop.
    pub backlog_at_stop: u64,
    /// Messages delivered after the stop (part of the delivered count).
    pub delivered_late: u64,
    /// Messages still outstanding when the drain ended before deliveries had
    /// stopped: "still arriving", not lost.
    pub undelivered_at_drain_end: u64,
    /// How the drain went (absent for files written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<DrainInfo>,
}

impl DeliveryInfo {
    /// The numbers of `run`.
    pub fn of(run: &RunResult) -> Self {
        let t = &run.totals;
        DeliveryInfo {
            backlog_at_stop: t.backlog_at_stop,
            delivered_late: t.messages_delivered_late,
            undelivered_at_drain_end: t.messages_undelivered_at_drain_end,
            drain: run.drain.clone(),
        }
    }
}
