//! Why `msgperf run` stopped before its results were complete: a typed edge
//! error, so the command layer gives it its exit class in one place instead
//! of each call site choosing.

use std::time::Duration;

use crate::matrix::hosts::Why;
use crate::matrix::shard::PartError;
use crate::matrix::{MatrixError, OverrideError};
use crate::results::ResultsError;
use crate::server::ServerError;

/// A run that could not be planned or could not keep its results.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// matrix.yaml is wrong, or a `--scenario` names nothing.
    #[error(transparent)]
    Matrix(#[from] MatrixError),
    /// The target overrides or the `cloudwatch` switch do not fit the plan.
    #[error(transparent)]
    Override(#[from] OverrideError),
    /// `--part` does not fit the shard, or a split shard has no start.
    #[error(transparent)]
    Part(#[from] PartError),
    /// Scenarios are split but every runner would load its own server.
    #[error("scenarios are split over {width} runners, but the matrix has no `target:`: every runner would load its own embedded server and the parts would not add up; set a shared target (matrix.yaml `target:` or the action's messenger-ws-url inputs), or drop `split`")]
    SplitWithoutTarget {
        /// Runners per scenario.
        width: u32,
    },
    /// `compare: sequential` with split scenarios.
    #[error("scenarios are split over {width} runners with `compare: sequential`: a split shard runs each pair in one fixed slot of the common schedule; use `compare: interleaved` (the default), or drop `split`")]
    SplitSequential {
        /// Runners per scenario.
        width: u32,
    },
    /// `--start-at` is further ahead than any plan waits.
    #[error("--start-at is {} in the future (more than {}): pass the instant `msgperf expand` printed for this workflow run", humantime::format_duration(*ahead), humantime::format_duration(*max))]
    StartTooFarAhead {
        /// How far ahead, to the second.
        ahead: Duration,
        /// The most a plan waits.
        max: Duration,
    },
    /// The signal handlers could not be installed.
    #[error("{0}")]
    Signals(std::io::Error),
    /// The embedded server did not start.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// A result file could not be written.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// A target host is neither loopback nor allowed: nothing was sent.
    #[error("refusing to load `{host}` (the host of target.{key}): {why}. msgperf loads only loopback and the hosts it is told to, so that a copied matrix never load-tests a system by accident. If `{host}` is the system you mean to load, add it to `target.allowed_hosts` in the matrix file, or allow it for this run only with `--allow-host {host}` (the action's `allow-host` input)")]
    NotAllowed {
        /// The host as the URL names it.
        host: String,
        /// The target key whose URL names it, e.g. `messenger_ws_url`.
        key: &'static str,
        /// Why it is refused.
        why: Why,
    },
    /// The plan needs more descriptors or local ports than this process has.
    #[error(transparent)]
    Limits(#[from] super::limits::LimitError),
}

impl RunError {
    /// Whether the user's input is what is wrong (exit 2), not the tool (exit 1).
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            RunError::Matrix(_)
                | RunError::Override(_)
                | RunError::Part(_)
                | RunError::SplitWithoutTarget { .. }
                | RunError::SplitSequential { .. }
                | RunError::StartTooFarAhead { .. }
                | RunError::NotAllowed { .. }
                | RunError::Limits(_)
        )
    }
}
