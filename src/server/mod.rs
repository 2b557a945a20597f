//! The embedded staging Messenger API: the three services of
//! `../shared/PROTOCOL.md` (Organizer API, Participant API, Messenger API
//! WebSocket) in memory, on loopback, so `msgperf run` works with no target.
//!
//! It imports only [`crate::protocol`], never the load engine: a server that
//! shared code with its client would agree with it about mistakes.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

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
}

/// How to start the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address all three services bind (default 127.0.0.1).
    pub listen: IpAddr,
    /// Ports of the Organizer API, Participant API and Messenger API (0 = any free port).
    pub ports: [u16; 3],
    /// Capacity knobs.
    pub capacity: Capacity,
}

/// Where a running server listens and how to sign in to it.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// `ws://HOST:PORT/connect`.
    pub messenger_ws_url: String,
    /// `http://HOST:PORT`.
    pub organizer_api_url: String,
    /// `http://HOST:PORT`.
    pub participant_api_url: String,
    /// An event that accepts chat requests.
    pub event_id: i64,
    /// Organizer e-mail pattern with `{n}` for the pool worker (1-based).
    pub organizer_email: String,
    /// Password of every seeded organizer.
    pub organizer_password: String,
}

/// Server-side counters, for the result file and `serve`'s log.
pub type ServerStats = BTreeMap<String, u64>;
