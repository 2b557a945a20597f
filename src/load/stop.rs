//! Why and when a run stops: one signal that every worker watches, carrying the
//! first reason that fired (a later reason never overwrites it).

use std::sync::OnceLock;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

pub use crate::results::StopReason;

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
