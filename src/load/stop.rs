//! Why and when a run stops: one signal that every worker watches, carrying the
//! first reason that fired (a later reason never overwrites it).

use std::sync::OnceLock;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

/// The stop rule that ended a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `stop.max_duration` elapsed.
    MaxDuration,
    /// `stop.max_participants` were created.
    MaxParticipants,
    /// `on_error: first` and an error happened.
    FirstError,
    /// Errors exceeded the `on_error` budget.
    ErrorBudget,
    /// SIGINT or SIGTERM.
    Signal,
    /// Every organizer gave up before starting a chat (e.g. its sign-in was
    /// refused): nothing can load the API.
    StartFailed,
}

impl StopReason {
    /// The name written to result files.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::MaxDuration => "max_duration",
            StopReason::MaxParticipants => "max_participants",
            StopReason::FirstError => "first_error",
            StopReason::ErrorBudget => "error_budget",
            StopReason::Signal => "signal",
            StopReason::StartFailed => "start_failed",
        }
    }
}

/// A cancellation token plus the reason of the first cancellation.
#[derive(Debug, Default)]
pub struct StopSignal {
    token: CancellationToken,
    reason: OnceLock<StopReason>,
    /// When the first reason fired: the instant late deliveries count from.
    at: OnceLock<Instant>,
}

impl StopSignal {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fires with `reason` unless it already fired.
    pub fn stop(&self, reason: StopReason) {
        // The instant first, so whoever sees the reason (or the token) sees it too.
        self.at.get_or_init(Instant::now);
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    /// When the signal fired.
    pub fn at(&self) -> Option<Instant> {
        self.at.get().copied()
    }

    /// True once fired.
    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The first reason, once fired.
    pub fn reason(&self) -> Option<StopReason> {
        self.reason.get().copied()
    }

    /// Completes when the signal fires.
    pub async fn stopped(&self) {
        self.token.cancelled().await
    }
}
