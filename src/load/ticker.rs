//! The participant creation schedule, kept by an OS thread of its own.
//!
//! tokio's timer has a resolution of 1 ms, and its deadlines wait for the
//! next `epoll_wait` timeout in whole milliseconds. An idle `tokio::time::interval`
//! pinned to one core of the bench VM fires 1.5 ms late at the median and
//! 2.0 ms at p99, whatever its period; at a 2 ms `cpi` that skipped 2–6% of
//! the creations for the timer's sake, not the generator's, and the
//! run reported them as late ticks. A thread that sleeps to each instant
//! (a high-resolution futex timeout) and wakes the spawner through a channel
//! fires about 0.1 ms late (p99 0.2 ms) on the same core.
//!
//! Missed instants are skipped, never made up by a burst, as
//! `MissedTickBehavior::Skip` does: a tick the spawner has not taken when the
//! next one is due stays the only one queued.

use std::sync::mpsc::{self as std_mpsc, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

/// Name of the schedule's thread; not the embedded server's, so its CPU
/// counts as the generator's in `load::cpu`.
const THREAD_NAME: &str = "msgperf-load-ticker";

/// A schedule of instants `period` apart from `first`, like a tokio interval
/// with `MissedTickBehavior::Skip`, kept precisely by its own thread. The
/// thread ends when the ticker is dropped.
pub struct Ticker(Source);

/// Who keeps the schedule.
enum Source {
    /// The schedule's own thread.
    Thread {
        /// Due instants, tagged with the generation (resets so far) they belong to.
        ticks: mpsc::Receiver<(u64, Instant)>,
        /// Tells the thread to restart its schedule; dropped, it ends the thread.
        resets: std_mpsc::Sender<()>,
        /// Resets asked for so far: ticks of an older schedule are stale.
        generation: u64,
    },
    /// tokio's timer, when the OS refused a thread: coarser, but the run goes on.
    Tokio(tokio::time::Interval),
}

impl Ticker {
    /// Starts the schedule's thread, or falls back to a tokio interval (with a
    /// warning) if the OS refuses one.
    pub fn start(first: Instant, period: Duration) -> Ticker {
        let (tick_tx, ticks) = mpsc::channel(1);
        let (resets, reset_rx) = std_mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || keep(first, period, &tick_tx, &reset_rx));
        match thread {
            Ok(_) => Ticker(Source::Thread {
                ticks,
                resets,
                generation: 0,
            }),
            Err(e) => {
                tracing::warn!(
                    "no thread for the creation schedule ({e}); tokio's 1 ms timer keeps it"
                );
                Ticker::on_tokio(first, period)
            }
        }
    }

    /// The same schedule on a tokio interval (what [`Ticker::start`] falls
    /// back to), for comparing the two timers.
    pub fn on_tokio(first: Instant, period: Duration) -> Ticker {
        let mut interval = tokio::time::interval_at(first.into(), period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        Ticker(Source::Tokio(interval))
    }

    /// Waits for the next instant of the schedule and returns it (the instant
    /// it was due, not when it came).
    pub async fn tick(&mut self) -> Instant {
        let (ticks, current) = match &mut self.0 {
            Source::Tokio(interval) => return interval.tick().await.into_std(),
            Source::Thread {
                ticks, generation, ..
            } => (ticks, *generation),
        };
        loop {
            match ticks.recv().await {
                Some((generation, due)) if generation == current => return due,
                Some(_) => continue,
                // The thread only ends when this ticker is dropped.
                None => return std::future::pending().await,
            }
        }
    }

    /// Restarts the schedule: the next instant is one period from now, as
    /// `tokio::time::Interval::reset` does.
    pub fn reset(&mut self) {
        match &mut self.0 {
            Source::Tokio(interval) => interval.reset(),
            Source::Thread {
                resets, generation, ..
            } => {
                *generation += 1;
                let _ = resets.send(());
            }
        }
    }
}

/// The thread's loop: sleeps to each instant, offers it, and moves on.
fn keep(
    first: Instant,
    period: Duration,
    ticks: &mpsc::Sender<(u64, Instant)>,
    resets: &std_mpsc::Receiver<()>,
) {
    let mut due = first;
    let mut generation = 0;
    loop {
        match resets.recv_timeout(due.saturating_duration_since(Instant::now())) {
            Ok(()) => {
                generation += 1;
                due = Instant::now() + period;
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        match ticks.try_send((generation, due)) {
            // Full: the spawner is still busy with the last tick; this one is
            // skipped, as a tokio interval skips a missed tick.
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
        due = next_due(due, period, Instant::now());
    }
}

/// The first instant of the schedule after `due` that is not yet past at
/// `now`, or the one right after `due` if that is still ahead.
fn next_due(due: Instant, period: Duration, now: Instant) -> Instant {
    let next = due + period;
    if next > now || period.is_zero() {
        return next;
    }
    let behind = now.duration_since(due).as_nanos() / period.as_nanos();
    due + period * u32::try_from(behind + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_due_skips_past_instants_but_keeps_the_grid() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // On time: one period on.
        assert_eq!(next_due(t0, ms(2), t0 + ms(1)), t0 + ms(2));
        // 5 ms late on a 2 ms grid: 2 and 4 are past, 6 is next.
        assert_eq!(next_due(t0, ms(2), t0 + ms(5)), t0 + ms(6));
        // Exactly on an instant: that one is past too.
        assert_eq!(next_due(t0, ms(2), t0 + ms(4)), t0 + ms(6));
    }

    #[tokio::test]
    async fn ticks_come_on_the_schedule_and_a_reset_restarts_it() {
        ticks_and_reset(Ticker::start).await;
        ticks_and_reset(Ticker::on_tokio).await;
    }

    async fn ticks_and_reset(start: fn(Instant, Duration) -> Ticker) {
        let period = Duration::from_millis(5);
        let first = Instant::now() + period;
        let mut ticker = start(first, period);
        let a = ticker.tick().await;
        let b = ticker.tick().await;
        assert_eq!(a, first);
        assert_eq!(b, first + period);
        assert!(Instant::now() >= b);
        let reset_at = Instant::now();
        ticker.reset();
        let c = ticker.tick().await;
        assert!(c >= reset_at + period, "a reset restarts from now");
        assert!(c <= Instant::now());
    }

    #[tokio::test]
    async fn a_busy_spawner_gets_one_missed_tick_not_a_burst() {
        busy_spawner(Ticker::start).await;
        busy_spawner(Ticker::on_tokio).await;
    }

    async fn busy_spawner(start: fn(Instant, Duration) -> Ticker) {
        let period = Duration::from_millis(2);
        let first = Instant::now();
        let mut ticker = start(first, period);
        assert_eq!(ticker.tick().await, first);
        // Busy for ten periods without taking a tick.
        std::thread::sleep(period * 10);
        let late = ticker.tick().await;
        let next = ticker.tick().await;
        assert!(late > first, "one queued tick from the busy time");
        assert!(
            next.duration_since(late) >= period * 2,
            "the missed instants were skipped, not queued: {:?}",
            next.duration_since(late)
        );
    }

    #[test]
    fn the_thread_ends_when_the_ticker_is_dropped() {
        let (tick_tx, _ticks) = mpsc::channel(1);
        let (resets, reset_rx) = std_mpsc::channel::<()>();
        let (done_tx, done) = std_mpsc::channel();
        std::thread::spawn(move || {
            keep(
                Instant::now() + Duration::from_secs(3600),
                Duration::from_secs(3600),
                &tick_tx,
                &reset_rx,
            );
            let _ = done_tx.send(());
        });
        // Dropping the ticker drops this sender: the thread's hour-long wait ends.
        drop(resets);
        assert!(done.recv_timeout(Duration::from_secs(5)).is_ok());
    }
}
