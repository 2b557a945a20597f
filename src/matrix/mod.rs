//! The test plan: `matrix.yaml` in, a list of [`Scenario`]s out.
//!
//! Pure: reading the file is the caller's business, this module turns its text
//! (plus an environment lookup for `${VAR}`) into validated plain data, or into a
//! [`MatrixError`] that names the file, line, column and key. The load engine
//! only ever sees [`Scenario`] and [`Target`].

use std::fmt;
use std::time::Duration;

use crate::server::Capacity;

/// A validated test plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The target, or `None` to start the embedded staging server.
    pub target: Option<Target>,
    /// Capacity knobs of the embedded server (ignored with a target).
    pub embedded: Capacity,
    /// The expanded scenarios, in file order (matrix order, then repetition).
    pub scenarios: Vec<Scenario>,
    /// When a baseline comparison fails the command.
    pub gate: Gate,
}

/// Regression gate of the report (`gate:` in matrix.yaml).
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// Smallest relative change of the sustained rate that counts (default 0.05).
    pub min_change: f64,
    /// Significance level of Welch's t-test (default 0.05).
    pub alpha: f64,
    /// Exit 1 when a scenario regressed (default true).
    pub fail_on_regression: bool,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            min_change: 0.05,
            alpha: 0.05,
            fail_on_regression: true,
        }
    }
}

/// One run: a cell of the matrix and a repetition.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Stable id, e.g. `sci10ms-cpi20ms-smi100ms-r2`.
    pub id: String,
    /// The id without the repetition suffix (`sci10ms-cpi20ms-smi100ms`).
    pub group: String,
    /// Start chat interval (of the whole organizer pool).
    pub sci: Duration,
    /// Create participant interval.
    pub cpi: Duration,
    /// Send message interval of each participant.
    pub smi: Duration,
    /// 1-based repetition number.
    pub repetition: u32,
    /// Organizer pool size (>= 1).
    pub organizers: u32,
    /// When the run stops.
    pub stop: StopRules,
}

/// When a run stops.
#[derive(Debug, Clone, PartialEq)]
pub struct StopRules {
    /// Hard limit on the run's length.
    pub max_duration: Duration,
    /// Stop once this many participants were created.
    pub max_participants: Option<u64>,
    /// How errors end the run.
    pub on_error: OnError,
    /// Limit on TCP connect + WebSocket upgrade of one connection.
    pub handshake_timeout: Duration,
    /// How long to keep reading after the stop, so in-flight messages count as
    /// delivered rather than lost.
    pub drain: Duration,
}

/// How errors end a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OnError {
    /// Stop at the first error of any worker (the original test's behaviour).
    First,
    /// Never stop because of errors.
    Never,
    /// Stop when errors exceed this fraction (0..1) of operations.
    Budget(f64),
}

/// The Messenger API under test.
#[derive(Clone, PartialEq)]
pub struct Target {
    /// `ws://` or `wss://` URL of the Messenger API (the `/connect` path is
    /// appended when the URL has no path).
    pub messenger_ws_url: String,
    /// Organizer API base URL.
    pub organizer_api_url: String,
    /// Participant API base URL.
    pub participant_api_url: String,
    /// Event the participants request help for.
    pub event_id: i64,
    /// Organizer e-mail; `{n}` is replaced by the pool worker's number (1-based).
    pub organizer_email: String,
    /// Organizer password.
    pub organizer_password: Secret,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("messenger_ws_url", &self.messenger_ws_url)
            .field("organizer_api_url", &self.organizer_api_url)
            .field("participant_api_url", &self.participant_api_url)
            .field("event_id", &self.event_id)
            .field("organizer_email", &self.organizer_email)
            .field("organizer_password", &self.organizer_password)
            .finish()
    }
}

/// A secret string: never printed, never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
