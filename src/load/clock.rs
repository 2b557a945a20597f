//! The run's time base. Every event time is µs since the clock's monotonic
//! start; the wall-clock instant it maps to is what result files record, and
//! what the parts of a split run share (each part starts its clock at the
//! common `--start-at`, so their seconds line up across runners).

use std::time::{Instant, SystemTime};

/// The run's time base: a monotonic start and the wall-clock instant it maps to.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Monotonic start.
    pub start: Instant,
    /// Wall-clock start.
    pub started_at: SystemTime,
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Self {
        Clock {
            start: Instant::now(),
            started_at: SystemTime::now(),
        }
    }
    /// µs since start.
    pub fn elapsed_us(&self) -> u64 {
        self.us_at(Instant::now())
    }
    /// µs from start to `at`.
    pub fn us_at(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.start).as_micros() as u64
    }

    /// The clock of a run that starts at wall-clock instant `at`: its
    /// monotonic start is that far from now. `None` when `at` is past.
    pub fn at(at: SystemTime) -> Option<Clock> {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let ahead = at.duration_since(wall).ok()?;
        Some(Clock {
            start: now + ahead,
            started_at: at,
        })
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}
