//! The error stop rules (`stop.on_error`) as the recorder applies them:
//! `first` stops at the first error, a budget once errors exceed a share of
//! the operations (judged once a second, after a minimum count).

use std::sync::Arc;

use super::stop::{StopReason, StopSignal};
use crate::matrix::OnError;

/// Error budgets are judged only after this many operations, so that one early
/// failure does not count as 100%.
const BUDGET_MIN_OPERATIONS: u64 = 100;

/// `on_error` and the signal it fires.
pub(crate) struct StopPolicy {
    on_error: OnError,
    pub(crate) signal: Arc<StopSignal>,
}

impl StopPolicy {
    /// The policy of a run that stops through `signal`.
    pub(crate) fn new(on_error: OnError, signal: Arc<StopSignal>) -> Self {
        StopPolicy { on_error, signal }
    }

    /// An error was recorded.
    pub(crate) fn on_error(&self) {
        if self.on_error == OnError::First {
            self.signal.stop(StopReason::FirstError);
        }
    }

    /// Once a second: `errors` out of `operations` so far.
    pub(crate) fn check_budget(&self, errors: u64, operations: u64) {
        if let OnError::Budget(fraction) = self.on_error {
            if operations >= BUDGET_MIN_OPERATIONS && errors as f64 > fraction * operations as f64 {
                self.signal.stop(StopReason::ErrorBudget);
            }
        }
    }
}
