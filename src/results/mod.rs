//! The result file of one run: the contract between the load engine and
//! everything after it (analysis, report, CloudWatch, merging of shards).
//!
//! One JSON file per run, `DIR/<scenario-id>.json`, written atomically (temp file
//! in the same directory, fsync, rename) so a cancelled job never leaves half a
//! file. The format is versioned by [`SCHEMA_VERSION`]; readers accept unknown
//! fields so that additive changes keep the version, and reject a newer major
//! schema with a clear error instead of misreading it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod drain;
mod io;
pub mod journal;
mod keys;
mod metrics;
mod side;
mod split;
mod stage;
mod worker;

pub use crate::time::Timestamp;
pub use drain::{DrainEnd, DrainInfo, Phase};
pub use io::{read_dir, result_file_name, scan_dir, ResultsError, Scan};
pub(crate) use keys::order_by_name;
pub use keys::{lenient_keys, ByName};
pub use metrics::{MetricPoint, MetricSeries, RunMetrics};
pub use side::Side;
pub use split::SplitInfo;
pub use stage::{worst_start_failure, Service, StageCounts, StartFailure, StartFailureCause, Step};
pub use worker::Worker;

/// Version of the result file format written by this build.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything recorded about one run of one scenario.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunResult {
    /// Format version, [`SCHEMA_VERSION`].
    pub schema: u32,
    /// What was run.
    pub scenario: ScenarioInfo,
    /// Against what (URLs only; never credentials).
    pub target: TargetInfo,
    /// RFC 3339 UTC, when the first worker started (the CloudWatch window start).
    pub started_at: Timestamp,
    /// RFC 3339 UTC, when the last worker stopped.
    pub ended_at: Timestamp,
    /// Seconds from start to stop (drain excluded).
    pub duration_s: f64,
    /// How the run ended.
    pub outcome: Outcome,
    /// Which stop rule ended the run (`skipped` when it never ran).
    pub stop_reason: StopReason,
    /// The first error of any worker, or null.
    pub first_error: Option<FirstError>,
    /// Error counts by kind, in the order of the kinds' names. A kind this
    /// build does not know (a newer writer's) is left out on reading; its
    /// errors stay counted in `totals.errors`.
    #[serde(default, deserialize_with = "lenient_keys")]
    pub errors_by_kind: BTreeMap<ErrorKind, u64>,
    /// Counts over the whole run.
    pub totals: Totals,
    /// One entry per wall-clock second since `started_at`.
    pub timeline: Vec<Second>,
    /// Latency distributions.
    pub latency_ms: Latencies,
    /// The load generator's own health.
    pub generator: Generator,
    /// Counters of the embedded staging server, when the run used it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<BTreeMap<String, u64>>,
    /// CloudWatch metrics of the staging system over the run's window: filled
    /// in memory by the report pipeline's CloudWatch step (`report::cloudwatch`);
    /// files written by older versions of `msgperf run` carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudwatch: Option<RunMetrics>,
    /// Why the run did not happen, when `outcome` is `skipped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_reason: Option<String>,
    /// The hooks run for this run (`before_all` in the first result), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRecord>,
    /// Set when several runners generated this scenario together (`split: K`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitInfo>,
    /// Why the run measured nothing, when `outcome` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_failure: Option<StartFailure>,
    /// Planned and achieved participant creation rate (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation: Option<CreationRate>,
    /// How the drain after the stop went; null in files written before the
    /// drain was recorded (their drain was a fixed wait).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<DrainInfo>,
    /// The side of an A/B plan this run measured (`targets:`); absent for
    /// a plan with one target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub side: Option<Side>,
    /// The pair of an A/B plan this run belongs to: its repetition, run
    /// back to back with the other side's (`compare: interleaved`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<u32>,
}

/// How fast participants were created: `arrival: sequential` falls behind
/// `cpi` when sign-up is slow, and this says by how much.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct CreationRate {
    /// `rate` (a participant every cpi, whatever the API does) or `sequential`
    /// (sign up and request a chat, then wait cpi).
    pub arrival: crate::matrix::Arrival,
    /// Participants per second the plan asked for (1 / cpi).
    pub planned_per_s: f64,
    /// Participants started per second, from the first to the last start
    /// before the stop.
    pub achieved_per_s: f64,
}

/// One hook as it ran: what, how it ended, and the end of its output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HookRecord {
    /// Where it ran.
    pub phase: crate::matrix::HookPhase,
    /// The command as written in matrix.yaml (secrets masked).
    pub command: String,
    /// True when the command exited 0 and the readiness probe (if any) answered.
    pub ok: bool,
    /// Exit code; null when it was killed or did not start.
    pub exit_status: Option<i32>,
    /// Seconds from start to end, probe included.
    pub duration_s: f64,
    /// Why it failed, for people; null when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last 4 KiB of stdout and stderr together (secrets masked).
    pub output: String,
}

/// The scenario parameters, flattened to numbers for tools and charts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioInfo {
    /// Stable id, e.g. `sci10ms-cpi20ms-smi100ms-r2`.
    pub id: String,
    /// Start chat interval, ms.
    pub sci_ms: f64,
    /// Create participant interval, ms.
    pub cpi_ms: f64,
    /// Send message interval, ms.
    pub smi_ms: f64,
    /// Repetition number, 1-based.
    pub repetition: u32,
    /// Organizer pool size.
    #[serde(default = "one")]
    pub organizers: u32,
    /// Id without the repetition suffix: the group repetitions are pooled by.
    /// Files written before it was recorded get it from the id when read
    /// ([`ScenarioInfo::group_from_id`]); nothing after the reading parses
    /// the id.
    #[serde(default)]
    pub group: String,
}

impl ScenarioInfo {
    /// The group of an id `<group>-r<N>`, for files that lack `group` (the
    /// id itself when it has no repetition suffix). Only reading uses it.
    pub(crate) fn group_from_id(id: &str) -> String {
        match id.rsplit_once("-r") {
            Some((head, rep)) if !rep.is_empty() && rep.bytes().all(|b| b.is_ascii_digit()) => {
                head.to_string()
            }
            _ => id.to_string(),
        }
    }
}

fn one() -> u32 {
    1
}

/// The target's public coordinates.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetInfo {
    /// WebSocket URL of the Messenger API.
    pub messenger_ws_url: String,
    /// Organizer API base URL.
    pub organizer_api_url: String,
    /// Participant API base URL.
    pub participant_api_url: String,
    /// Event the chat requests are for.
    pub event_id: i64,
    /// True when the embedded staging server was the target.
    pub embedded: bool,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// An error stop rule fired: the expected finding of a capacity test.
    Saturated,
    /// A duration or participant limit was reached without the API failing.
    Completed,
    /// Cancelled by a signal; the data up to then is kept.
    Interrupted,
    /// Not run: a `before_*` hook failed (see `skipped_reason`); never the API's failure.
    Skipped,
    /// Started but never loaded the API: organizers could not sign in, or no
    /// participant connected (see `start_failure`). Not a measurement.
    Failed,
}

/// The stop rule that ended a run, by its name in result files.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
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
    /// The run did not happen: a `before_*` hook failed.
    Skipped,
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
            StopReason::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stop reason equals its name in result files (`"max_duration"`).
impl PartialEq<&str> for StopReason {
    fn eq(&self, name: &&str) -> bool {
        self.as_str() == *name
    }
}

impl Outcome {
    /// The name in result files and `MSGPERF_OUTCOME`, e.g. `saturated`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Saturated => "saturated",
            Outcome::Completed => "completed",
            Outcome::Interrupted => "interrupted",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
        }
    }
}

/// What went wrong, as a small closed set so runs can be compared. Ordered
/// by its name ([`ByName`]), so maps keyed by it keep the files' key order.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The WebSocket (TCP + upgrade) did not complete within `handshake_timeout`.
    HandshakeTimeout,
    /// TCP connection refused or reset while connecting.
    ConnectRefused,
    /// A REST call answered with an unexpected status.
    HttpStatus,
    /// A REST call or frame did not finish in time (other than the handshake).
    Timeout,
    /// The server sent something the protocol does not allow, or an `error` frame.
    Protocol,
    /// The server closed an established WebSocket.
    ConnectionClosed,
    /// A participant got no chat after its `get_chats` tries.
    NoChat,
    /// The generator's own limit, not the API's: no descriptor (`EMFILE`,
    /// `ENFILE`) or no local port (`EADDRNOTAVAIL`) for a new connection. A
    /// run with one is `generator-bound`, never a capacity.
    GeneratorLimit,
}

impl ByName for ErrorKind {
    fn name(&self) -> &'static str {
        self.as_str()
    }
}

crate::results::order_by_name!(ErrorKind);

impl ErrorKind {
    /// The snake_case name used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::HandshakeTimeout => "handshake_timeout",
            ErrorKind::ConnectRefused => "connect_refused",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Protocol => "protocol",
            ErrorKind::ConnectionClosed => "connection_closed",
            ErrorKind::NoChat => "no_chat",
            ErrorKind::GeneratorLimit => "generator_limit",
        }
    }
}

/// The first error of the run, with the load at that moment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FirstError {
    /// Seconds since `started_at`.
    pub at_s: f64,
    /// Classified kind.
    pub kind: ErrorKind,
    /// What happened, for people (never contains credentials).
    pub message: String,
    /// Which worker saw it, e.g. `participant 812` or `organizer 1`.
    #[serde(default)]
    pub worker: Worker,
    /// Chats active when it happened.
    pub active_chats: u64,
    /// Participants created when it happened.
    pub participants: u64,
    /// The scenario step that failed (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    /// The service that answers that step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Service>,
    /// The HTTP status, when a REST call answered with an unexpected one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

/// Counts over the whole run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Totals {
    /// Participant workers created: the same as `participants_started`, kept
    /// for readers of schema 1.
    pub participants: u64,
    /// Chats started (new_chat received by an organizer).
    pub chats: u64,
    /// `send_message` frames written by participants.
    pub messages_sent: u64,
    /// Distinct participant messages an organizer received, during the run or
    /// the drain after it (so `messages_delivered_late` is part of it).
    pub messages_delivered: u64,
    /// Sent but never delivered: still missing when the drain ended because
    /// deliveries had stopped (see [`DrainEnd::judges_loss`]). Messages still
    /// outstanding when the drain bound cut the wait short are
    /// `messages_undelivered_at_drain_end` instead.
    pub messages_lost: u64,
    /// Deliveries of a message an organizer had already received.
    #[serde(default)]
    pub messages_duplicated: u64,
    /// `start_chat` frames written by organizers.
    #[serde(default)]
    pub start_chats_sent: u64,
    /// Errors of all kinds.
    pub errors: u64,
    /// Replies written by organizers (`organizer.reply`).
    #[serde(default)]
    pub replies_sent: u64,
    /// Replies their participant received.
    #[serde(default)]
    pub replies_received: u64,
    /// How many organizers and participants reached each stage.
    #[serde(flatten, default)]
    pub stages: StageCounts,
    /// Messages sent but not yet delivered at the instant the stop rule held:
    /// how far behind the API was.
    #[serde(default)]
    pub backlog_at_stop: u64,
    /// Of `messages_delivered`, those that arrived after the stop (during the drain).
    #[serde(default)]
    pub messages_delivered_late: u64,
    /// Still outstanding when the drain ended before deliveries had stopped
    /// (its bound, or a signal): "still arriving", not counted as lost.
    #[serde(default)]
    pub messages_undelivered_at_drain_end: u64,
    /// Distinct deliveries that came after a later message of the same
    /// participant (the API processed them out of order; neither lost nor duplicated).
    #[serde(default)]
    pub messages_out_of_order: u64,
}

/// One wall-clock second of the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Second {
    /// Seconds since `started_at` (bucket `[t, t+1)`).
    pub t: u32,
    /// Messages sent in this second.
    pub sent: u64,
    /// Messages delivered to an organizer in this second.
    pub delivered: u64,
    /// Participants created so far (end of second).
    pub participants: u64,
    /// Chats started and not closed (end of second).
    pub active_chats: u64,
    /// WebSockets open (end of second).
    pub open_connections: u64,
    /// Errors in this second.
    pub errors: u64,
    /// Largest lateness of a scheduled send in this second, ms.
    #[serde(default)]
    pub max_lateness_ms: f64,
    /// Load-generator CPU use in this second, percent of one core.
    #[serde(default)]
    pub cpu_percent: f64,
    /// Organizer replies sent in this second (messages the API handled besides `sent`).
    #[serde(default)]
    pub replies: u64,
    /// Participants signed up so far (end of second).
    #[serde(default)]
    pub signed_up: u64,
    /// Participants connected to the Messenger API so far (end of second).
    #[serde(default)]
    pub connected: u64,
    /// `drain` for the seconds mostly after the stop (omitted for run seconds).
    #[serde(default, skip_serializing_if = "Phase::is_run")]
    pub phase: Phase,
}

/// Latency distributions of the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Latencies {
    /// Participant send → organizer receive.
    pub message: Percentiles,
    /// TCP connect + WebSocket upgrade.
    pub handshake: Percentiles,
    /// `POST /auth/sign-up`.
    pub sign_up: Percentiles,
    /// `POST /chat-requests`.
    pub chat_request: Percentiles,
    /// Participant send → the organizer's reply received by the participant.
    #[serde(default)]
    pub round_trip: Percentiles,
}

/// Summary of one latency distribution, milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
    /// Number of samples.
    pub count: u64,
}

/// The load generator's health: tells a saturated generator from a saturated API.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Generator {
    /// Largest lateness of a scheduled send, ms.
    pub max_send_lateness_ms: f64,
    /// 99th percentile of send lateness, ms.
    #[serde(default)]
    pub p99_send_lateness_ms: f64,
    /// 99th percentile of the participant-creation schedule's lateness, ms
    /// (left out of the file when no participant was created, so files
    /// written before it existed read back byte-identical).
    #[serde(default, skip_serializing_if = "unset")]
    pub p99_creation_lateness_ms: f64,
    /// Largest lateness of a participant creation, ms.
    #[serde(default, skip_serializing_if = "unset")]
    pub max_creation_lateness_ms: f64,
    /// Ticks that fired more than one interval late (skipped, never burst).
    #[serde(default)]
    pub late_ticks: u64,
    /// CPU used by the load generator's threads, percent of one core, averaged.
    pub cpu_percent: f64,
    /// CPU time of the generator per message sent, µs.
    #[serde(default)]
    pub cpu_us_per_message: f64,
    /// Cores available to the generator.
    #[serde(default)]
    pub cores: u32,
}

/// A figure that was never measured (written as absent).
fn unset(x: &f64) -> bool {
    *x == 0.0
}

impl RunResult {
    /// A result of `scenario` against `target` with nothing recorded: no
    /// time, no counts, no timeline, `skipped`. What a skipped run is, and
    /// what a fuller result is built from (`..RunResult::empty(..)`).
    pub fn empty(scenario: ScenarioInfo, target: TargetInfo) -> RunResult {
        RunResult {
            schema: SCHEMA_VERSION,
            scenario,
            target,
            started_at: Timestamp::default(),
            ended_at: Timestamp::default(),
            duration_s: 0.0,
            outcome: Outcome::Skipped,
            stop_reason: StopReason::Skipped,
            first_error: None,
            errors_by_kind: BTreeMap::new(),
            totals: Totals::default(),
            timeline: Vec::new(),
            latency_ms: Latencies::default(),
            generator: Generator::default(),
            server: None,
            cloudwatch: None,
            skipped_reason: None,
            hooks: Vec::new(),
            split: None,
            start_failure: None,
            creation: None,
            drain: None,
            side: None,
            pair: None,
        }
    }

    /// The part number of one part of a split run; 0 for a whole or merged run.
    pub fn part(&self) -> u32 {
        self.split.as_ref().map_or(0, |s| s.part)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small, complete result for tests of later stages.
    pub(crate) fn sample() -> RunResult {
        let scenario = ScenarioInfo {
            id: "sci10ms-cpi20ms-smi100ms-r1".into(),
            sci_ms: 10.0,
            cpi_ms: 20.0,
            smi_ms: 100.0,
            repetition: 1,
            organizers: 1,
            group: "sci10ms-cpi20ms-smi100ms".into(),
        };
        let target = TargetInfo {
            messenger_ws_url: "ws://127.0.0.1:1/connect".into(),
            organizer_api_url: "http://127.0.0.1:2".into(),
            participant_api_url: "http://127.0.0.1:3".into(),
            event_id: 1,
            embedded: true,
        };
        RunResult {
            started_at: "2026-11-28T01:00:00.000Z".into(),
            ended_at: "2026-11-28T01:00:02.000Z".into(),
            duration_s: 2.0,
            outcome: Outcome::Completed,
            stop_reason: StopReason::MaxDuration,
            timeline: vec![Second::default()],
            ..RunResult::empty(scenario, target)
        }
    }

    #[test]
    fn write_then_read_round_trips_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let r = sample();
        let path = r.write_to_dir(dir.path()).unwrap();
        assert_eq!(RunResult::read(&path).unwrap(), r);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
        assert_eq!(read_dir(dir.path()).unwrap(), vec![r]);
    }

    #[test]
    fn a_file_without_group_gets_it_from_the_id_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = sample();
        r.scenario.group.clear();
        let path = r.write_to_dir(dir.path()).unwrap();
        assert_eq!(
            RunResult::read(&path).unwrap().scenario.group,
            "sci10ms-cpi20ms-smi100ms"
        );
        assert_eq!(
            ScenarioInfo::group_from_id("sci1s-cpi1s-smi1s-seq"),
            "sci1s-cpi1s-smi1s-seq"
        );
    }

    #[test]
    fn newer_schema_is_refused_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        std::fs::write(&path, r#"{"schema": 99}"#).unwrap();
        let err = RunResult::read(&path).unwrap_err().to_string();
        assert!(err.contains("upgrade msgperf"), "{err}");
    }
}
