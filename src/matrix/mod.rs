//! The test plan: `matrix.yaml` in, a list of [`Scenario`]s out.
//!
//! Pure: [`parse`] turns the file's text (plus an environment lookup for
//! `${VAR}`) into validated plain data, or into a [`MatrixError`] that names the
//! file, line, column and key; [`load_file`] is the thin reading wrapper. The
//! load engine only ever sees [`Scenario`] and [`Target`].
//!
//! Inside: `raw` is the serde shape of the file, `decode` runs serde-saphyr and
//! words its errors, `validate` applies defaults, interpolation and cross-key
//! checks, `expand` turns the matrix into scenarios (GitHub Actions semantics),
//! `select` picks scenarios for `run --scenario`, `shard` plans the
//! scale-out over several runners.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::staging::Capacity;

mod ab;
pub(crate) mod cloudwatch;
mod decode;
mod error;
pub(crate) mod expand;
mod file;
mod hooks;
pub mod hosts;
mod interpolate;
mod overrides;
mod raw;
mod select;
pub(crate) mod shard;
mod validate;

#[cfg(test)]
mod ab_tests;
#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod hooks_tests;
#[cfg(test)]
mod tests;

pub use ab::{AbPlan, Compare, SideTarget};
pub use cloudwatch::{CloudWatchConfig, MetricSource, MetricSpec, PublishConfig};
pub use error::{Diagnostic, MatrixError};
pub use expand::{duration_label, expand, Include, Match, MatrixSpec};
pub use file::MAX_BYTES as MAX_FILE_BYTES;
pub use hooks::{Hook, HookPhase, Hooks, OnHookFailure, ReplyPolicy, DEFAULT_HOOK_TIMEOUT};
pub use hosts::HostPattern;
pub use interpolate::{interpolate, InterpolationError};
pub use overrides::{
    apply_overrides, CloudWatchChoice, OverrideError, PlanOverrides, TargetOverrides,
};
pub use select::select;
pub use shard::Slice;

/// Parses and validates the text of a matrix file into a [`Plan`].
///
/// `source_name` is only used in error messages (say `matrix.yaml`); `env`
/// resolves `${VAR}` references in the `target:` block (pass
/// `&|name| std::env::var(name).ok()` for the process environment). No I/O.
pub fn parse(
    source_name: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, MatrixError> {
    let src = error::Source {
        name: source_name,
        text,
    };
    let raw: raw::RawFile = decode::decode(src)?;
    validate::build(src, raw, Some(env))
}

/// Like [`parse`] for planning only (`msgperf expand`, the gate of a report):
/// the `target:` block's `${VAR}`s are not resolved, so no secret is needed,
/// and its values are kept as written. Everything else is checked as usual.
/// Never run the plan it returns: its target is not usable.
pub fn parse_plan_only(source_name: &str, text: &str) -> Result<Plan, MatrixError> {
    let src = error::Source {
        name: source_name,
        text,
    };
    let raw: raw::RawFile = decode::decode(src)?;
    validate::build(src, raw, None)
}

/// Like [`parse`] for the raw bytes of a file: bytes that are not UTF-8, or
/// more than [`MAX_FILE_BYTES`] of them, are a [`MatrixError::Syntax`] naming
/// the line, column and key where they are.
///
/// The fuzz target `matrix` (fuzz/) and the corpus replay test
/// (`tests/it/fuzz_corpus.rs`) call it: keep it public.
pub fn parse_bytes(
    source_name: &str,
    bytes: &[u8],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, MatrixError> {
    parse(source_name, file::text(source_name, bytes)?, env)
}

/// Reads `path` and [`parse_plan_only`]s it.
pub fn load_plan_only(path: &Path) -> Result<Plan, MatrixError> {
    let name = path.display().to_string();
    let bytes = file::read(path)?;
    parse_plan_only(&name, file::text(&name, &bytes)?)
}

/// Reads `path` and [`parse`]s it with the process environment.
pub fn load_file(path: &Path) -> Result<Plan, MatrixError> {
    parse_bytes(&path.display().to_string(), &file::read(path)?, &|name| {
        std::env::var(name).ok()
    })
}

/// A validated test plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The target, or `None` to start the embedded staging server.
    pub target: Option<Target>,
    /// `target.allowed_hosts`: the hosts besides loopback the target may be
    /// ([`hosts`] has the rule).
    pub allowed_hosts: Vec<HostPattern>,
    /// Capacity knobs of the embedded server (ignored with a target). With
    /// `targets:`, `target` and `embedded` are the base side.
    pub embedded: Capacity,
    /// `targets:`'s candidate side and `compare:`; `None` for one target.
    pub ab: Option<AbPlan>,
    /// The expanded scenarios, in file order (matrix order, then repetition).
    pub scenarios: Vec<Scenario>,
    /// When a baseline comparison fails the command.
    pub gate: Gate,
    /// CloudWatch metrics to fetch for each run (`cloudwatch:`), if any.
    pub cloudwatch: Option<CloudWatchConfig>,
    /// Shell commands run around the runs.
    pub hooks: Hooks,
    /// What a failing `before_*` hook does.
    pub on_hook_failure: OnHookFailure,
    /// Pause between two runs (not after the last).
    pub cooldown: Duration,
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
    /// Runners that generate this scenario together, each 1/`split` of the
    /// participants and organizers (1 = one runner).
    pub split: u32,
    /// When the run stops.
    pub stop: StopRules,
    /// Whether organizers answer participant messages.
    pub reply: ReplyPolicy,
    /// How participants are created: open rate or one after another.
    pub arrival: Arrival,
    /// Creation pauses once this many participants (of all parts) were
    /// created and the run goes on until a stop rule: a soak's steady
    /// population (`benches/soak`). `None` (every matrix scenario): creation
    /// goes on until a stop rule.
    pub hold_at: Option<u64>,
}

/// How participants are created (`arrival:` at the top level or per include).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// A participant starts every `cpi`, whatever the API does (the open
    /// model: a capacity test's default).
    #[default]
    Rate,
    /// The original client's closed loop: sign up and request a chat for
    /// participant n, wait `cpi`, then start n+1. The real creation interval
    /// is cpi plus both calls.
    Sequential,
}

impl Arrival {
    /// `rate` or `sequential`.
    pub fn as_str(self) -> &'static str {
        match self {
            Arrival::Rate => "rate",
            Arrival::Sequential => "sequential",
        }
    }
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
    /// The longest the drain after the stop keeps reading, so in-flight
    /// messages count as delivered late rather than lost (it ends earlier when
    /// everything arrived or deliveries went quiet).
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
