//! What the stages know of the embedded staging server without importing it:
//! its capacity knobs (matrix.yaml's `embedded:` block, read by `matrix`,
//! used by `server`) and the name of its threads (set by `server`, left out
//! of the generator's CPU time by `load`). `matrix` and `load` come before
//! `server` in the data flow and must not depend on the axum server.

use std::time::Duration;

use serde::Deserialize;

/// Name of the threads of the server's runtime, so the load generator can
/// tell the server's CPU time from its own.
pub const SERVER_THREAD_NAME: &str = "msgperf-server";

/// The server's statistics that are gauges (a current value, such as the
/// connections open now); every other statistic is a counter since start,
/// so a run's share of it is the difference of two snapshots.
pub const SERVER_GAUGES: &[&str] = &["connections_open"];

/// Optional capacity limits, so a user can watch saturation and a handshake
/// timeout happen locally. All off by default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Messages (`send_message` frames) processed per second at most; the rest wait.
    #[serde(default)]
    pub max_messages_per_second: Option<u32>,
    /// WebSocket connections open at once at most; further upgrades wait.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// Added delay of each WebSocket handshake per connection already open
    /// (e.g. `1ms` with 500 open connections delays the next handshake by 500 ms).
    #[serde(default, with = "humantime_serde")]
    pub handshake_delay_per_connection: Option<Duration>,
    /// Frames queued per connection before the server drops what a slow reader
    /// does not take (default 1024).
    #[serde(default)]
    pub send_queue: Option<usize>,
    /// Time each participant sign-up spends on one of the server's sign-up workers
    /// (the real API's bcrypt, about `250ms`). A sign-up that, waiting for a
    /// worker included, takes longer than 3 s answers `500 database error`
    /// and stores nothing, as the real Participant API does.
    #[serde(default, with = "humantime_serde")]
    pub sign_up_cost: Option<Duration>,
    /// Test knob: silently forget one `send_message` in this many (20 = 5%):
    /// no store, no delivery, no error, the way a lossy API behaves.
    #[doc(hidden)]
    #[serde(default)]
    pub drop_one_in: Option<u32>,
    /// Test knob: process each `send_message` after a delay of up to this
    /// (spread over the messages), so the frames of one connection are
    /// handled out of order, as the real messenger-api does (PROTOCOL.md §4).
    #[doc(hidden)]
    #[serde(default, with = "humantime_serde")]
    pub reorder_up_to: Option<Duration>,
    /// Test knob: a drifting staging system. Before the run with index k
    /// (0-based) of the job's sequence (both sides of an A/B plan counted),
    /// `max_messages_per_second` becomes its value × (1 − drift)^k: `0.01`
    /// makes the cap fall 1% per run. Only the drift-cancelling test of
    /// `compare: interleaved` (tests/it/ab_e2e.rs) uses it.
    #[doc(hidden)]
    #[serde(default)]
    pub drift_per_run: Option<f64>,
}
