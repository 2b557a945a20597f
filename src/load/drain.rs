//! The drain after the stop: keep reading while messages are still arriving,
//! so that a message the API delivers late is counted as late, not lost.
//!
//! An API that queues under load (what a saturated API does) still holds
//! thousands of messages when the stop rule fires; a fixed one-second wait
//! used to call every one of them lost. The drain now ends
//! - when nothing is outstanding ([`DrainEnd::AllDelivered`]),
//! - when no delivery came for the quiet period, max([`MIN_QUIET`],
//!   [`QUIET_P99S`] × the current message p99) ([`DrainEnd::Quiet`]): only
//!   then is what is missing lost,
//! - or at the `stop.drain` bound ([`DrainEnd::Bound`]): what is missing then
//!   was still arriving and is not judged.
//!
//! The recorder owns the delivery numbers, so it publishes a [`DrainView`]
//! (only when it has caught up with its event channel, so a view never lags
//! behind deliveries already made) and [`wait`] decides on it.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::Clock;
use crate::results::{DrainEnd, DrainInfo};

/// Shortest quiet period: long enough for a scheduler hiccup or a GC pause of
/// the API not to pass for the end of its deliveries.
pub const MIN_QUIET: Duration = Duration::from_secs(2);

/// The quiet period is at least this many times the message latency p99: an
/// API that takes a second per message is not done after two quiet seconds.
pub const QUIET_P99S: u32 = 3;

/// How often the recorder publishes a [`DrainView`] after the stop.
pub const VIEW_EVERY: Duration = Duration::from_millis(100);

/// What the recorder knows about deliveries, as of `as_of_us`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainView {
    /// Messages and organizer replies sent but not delivered yet; `None` when
    /// this runner cannot know (a part of a split run sends to, and receives
    /// from, the other parts).
    pub outstanding: Option<u64>,
    /// µs since the start of the last delivery (message or reply) recorded.
    pub last_delivery_us: Option<u64>,
    /// The message latency p99 so far, µs.
    pub p99_us: u64,
    /// µs since the start when the recorder published this view.
    pub as_of_us: u64,
}

/// The quiet period for a message latency p99 of `p99_us`.
pub fn quiet_period(p99_us: u64) -> Duration {
    MIN_QUIET.max(Duration::from_micros(p99_us) * QUIET_P99S)
}

/// How the drain stands on `view`, for a stop at `stop_us`: `Some` when it is over.
pub fn judge(view: &DrainView, stop_us: u64) -> Option<DrainEnd> {
    if view.as_of_us < stop_us {
        // Published before the stop: says nothing about the drain.
        return None;
    }
    if view.outstanding == Some(0) {
        return Some(DrainEnd::AllDelivered);
    }
    // Quiet is counted from the stop when the last delivery came before it.
    let since = view.last_delivery_us.unwrap_or(0).max(stop_us);
    let quiet = quiet_period(view.p99_us).as_micros() as u64;
    (view.as_of_us.saturating_sub(since) >= quiet).then_some(DrainEnd::Quiet)
}

/// The recorder's side of the drain: when deliveries came, how many were
/// late, and the view it publishes for [`wait`].
#[derive(Debug, Default)]
pub struct DrainTracker {
    view: Option<watch::Sender<DrainView>>,
    last_delivery_us: Option<u64>,
    late: u64,
}

impl DrainTracker {
    /// Publishes views to `view` from now on.
    pub fn publish_to(&mut self, view: watch::Sender<DrainView>) {
        self.view = Some(view);
    }

    /// A fresh (not duplicate) delivery at `t_us`; late when at or after the
    /// stop at `stop_us`.
    pub fn delivered(&mut self, t_us: u64, stop_us: Option<u64>) {
        self.last_delivery_us = Some(self.last_delivery_us.map_or(t_us, |l| l.max(t_us)));
        if stop_us.is_some_and(|stop| t_us >= stop) {
            self.late += 1;
        }
    }

    /// Deliveries at or after the stop.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// µs since the start of the last fresh delivery.
    pub fn last_delivery_us(&self) -> Option<u64> {
        self.last_delivery_us
    }

    /// Sends the current view (a no-op without a receiver).
    pub fn publish(&self, outstanding: Option<u64>, p99_us: u64, as_of_us: u64) {
        if let Some(tx) = &self.view {
            let _ = tx.send(DrainView {
                outstanding,
                last_delivery_us: self.last_delivery_us,
                p99_us,
                as_of_us,
            });
        }
    }
}

/// How a drain went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drained {
    /// Why it ended.
    pub end: DrainEnd,
    /// From the stop to its end.
    pub took: Duration,
    /// The quiet period in force at its end.
    pub quiet: Duration,
}

impl Drained {
    /// No drain at all (the run was interrupted).
    pub fn skipped() -> Self {
        Drained {
            end: DrainEnd::Skipped,
            took: Duration::ZERO,
            quiet: MIN_QUIET,
        }
    }

    /// Splits the messages still `missing` at its end into (lost, still
    /// arriving): lost only when deliveries had stopped by themselves.
    pub fn judge(&self, missing: u64) -> (u64, u64) {
        if self.end.judges_loss() {
            (missing, 0)
        } else {
            (0, missing)
        }
    }

    /// The result file's record of it, for a run with drain bound `bound`
    /// that stopped at `stop_us` and last had a delivery at `last_delivery_us`.
    pub fn info(&self, bound: Duration, stop_us: u64, last_delivery_us: Option<u64>) -> DrainInfo {
        DrainInfo {
            end: self.end,
            drain_s: (self.took.as_secs_f64() * 1000.0).round() / 1000.0,
            bound_s: bound.as_secs_f64(),
            quiet_s: self.quiet.as_secs_f64(),
            last_delivery_s: last_delivery_us
                .filter(|&t| t >= stop_us)
                .map(|t| (t - stop_us) as f64 / 1e6),
        }
    }
}

/// Keeps the run reading after a stop at `stopped_at` until [`judge`] says
/// the drain is over, `bound` has passed, or `interrupt` fires.
pub async fn wait(
    views: &mut watch::Receiver<DrainView>,
    clock: Clock,
    stopped_at: Instant,
    bound: Duration,
    interrupt: &CancellationToken,
) -> Drained {
    let stop_us = clock.us_at(stopped_at);
    let deadline = tokio::time::Instant::from_std(stopped_at + bound);
    let end = loop {
        let view = *views.borrow_and_update();
        if let Some(end) = judge(&view, stop_us) {
            break end;
        }
        tokio::select! {
            biased;
            _ = interrupt.cancelled() => break DrainEnd::Interrupted,
            _ = tokio::time::sleep_until(deadline) => break DrainEnd::Bound,
            changed = views.changed() => {
                if changed.is_err() {
                    // The recorder is gone: nothing more can be learnt.
                    break DrainEnd::Bound;
                }
            }
        }
    };
    Drained {
        end,
        took: stopped_at.elapsed(),
        quiet: quiet_period(views.borrow().p99_us),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(outstanding: Option<u64>, last: Option<u64>, p99_us: u64, as_of_us: u64) -> DrainView {
        DrainView {
            outstanding,
            last_delivery_us: last,
            p99_us,
            as_of_us,
        }
    }

    #[test]
    fn missing_messages_are_lost_only_after_a_quiet_drain() {
        let d = |end| Drained {
            end,
            took: Duration::ZERO,
            quiet: MIN_QUIET,
        };
        assert_eq!(d(DrainEnd::Quiet).judge(7), (7, 0));
        assert_eq!(d(DrainEnd::AllDelivered).judge(0), (0, 0));
        for end in [DrainEnd::Bound, DrainEnd::Interrupted, DrainEnd::Skipped] {
            assert_eq!(d(end).judge(7), (0, 7), "{end:?}");
        }
    }

    #[test]
    fn quiet_is_two_seconds_or_three_p99s() {
        assert_eq!(quiet_period(0), MIN_QUIET);
        assert_eq!(quiet_period(500_000), MIN_QUIET);
        assert_eq!(quiet_period(1_000_000), Duration::from_secs(3));
    }

    #[test]
    fn nothing_outstanding_ends_the_drain_at_once() {
        let stop = 10_000_000;
        assert_eq!(
            judge(&view(Some(0), Some(stop), 0, stop), stop),
            Some(DrainEnd::AllDelivered)
        );
        // A view from before the stop is not evidence.
        assert_eq!(judge(&view(Some(0), None, 0, stop - 1), stop), None);
    }

    #[test]
    fn quiet_counts_from_the_last_delivery_or_the_stop() {
        let stop = 10_000_000;
        let s = |x: f64| stop + (x * 1e6) as u64;
        // Deliveries keep coming: never quiet.
        assert_eq!(judge(&view(Some(5), Some(s(4.9)), 0, s(5.0)), stop), None);
        // 2 s after the last delivery: quiet.
        assert_eq!(
            judge(&view(Some(5), Some(s(3.0)), 0, s(5.0)), stop),
            Some(DrainEnd::Quiet)
        );
        // Nothing since before the stop: counted from the stop.
        assert_eq!(judge(&view(Some(5), Some(1), 0, s(1.9)), stop), None);
        assert_eq!(
            judge(&view(None, Some(1), 0, s(2.0)), stop),
            Some(DrainEnd::Quiet)
        );
        // A slow API (p99 1 s) gets 3 s.
        assert_eq!(
            judge(&view(Some(5), Some(s(3.0)), 1_000_000, s(5.5)), stop),
            None
        );
    }

    #[tokio::test]
    async fn the_bound_ends_a_drain_that_is_never_quiet() {
        let clock = Clock::new();
        let (tx, mut rx) = watch::channel(DrainView::default());
        let stopped_at = Instant::now();
        let feeding = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let now = clock.elapsed_us();
                let v = view(Some(3), Some(now), 0, now);
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        let d = wait(
            &mut rx,
            clock,
            stopped_at,
            Duration::from_millis(300),
            &CancellationToken::new(),
        )
        .await;
        assert_eq!(d.end, DrainEnd::Bound);
        assert!(d.took >= Duration::from_millis(300), "{d:?}");
        assert_eq!(d.quiet, MIN_QUIET);
        feeding.abort();
    }
}
