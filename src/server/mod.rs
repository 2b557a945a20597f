//! The embedded staging Messenger API: the three services of
//! `../shared/PROTOCOL.md` (Organizer API, Participant API, Messenger API
//! WebSocket) in memory, on loopback, so `msgperf run` works with no target.
//!
//! It imports only [`crate::protocol`], never the load engine: a server that
//! shared code with its client would agree with it about mistakes.

mod accounts;
mod capacity;
mod chats;
mod decode;
mod envelope;
mod faults;
mod frames;
mod gojson;
mod ids;
mod rest;
mod run;
mod state;
mod stats;
mod validate;
mod ws;

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

pub use capacity::{DEFAULT_SEND_QUEUE, SIGN_UP_TIMEOUT};
pub use decode::{every_decoding, ClientDecoding};
/// The decoding of client frames, as the server reads them (fuzz targets call it).
pub use envelope::{auth_token, chat_ref, envelope, send_message, Envelope};
pub use rest::{INVALID_CREDENTIALS, RESET_PATH, STATS_PATH};
pub use run::{start, start_on_own_runtime, RunningServer};
pub use state::{ESME_ADMIN_EMAIL, ESME_OWNER_EMAIL, SEEDED_ORGANIZERS, SEED_EVENTS, VIEWER_EMAIL};

pub use crate::staging::{Capacity, SERVER_THREAD_NAME};

use run::App;

/// How to start the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address all three services bind (default 127.0.0.1).
    pub listen: IpAddr,
    /// Ports of the Organizer API, Participant API and Messenger API (0 = any free port).
    pub ports: [u16; 3],
    /// Capacity knobs.
    pub capacity: Capacity,
    /// A connection silent this long gets `error` "timeout" and is closed (PROTOCOL.md: 30 minutes).
    pub idle_timeout: Duration,
    /// How long the server waits for the authorization frame (PROTOCOL.md: one minute).
    pub auth_timeout: Duration,
    /// Workers that spend [`Capacity::sign_up_cost`] (default: the machine's cores).
    pub sign_up_workers: usize,
}

impl Default for ServerConfig {
    /// Loopback, any free ports, no capacity limits, the protocol's timeouts.
    fn default() -> Self {
        ServerConfig {
            listen: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ports: [0; 3],
            capacity: Capacity::default(),
            idle_timeout: IDLE_TIMEOUT,
            auth_timeout: AUTH_TIMEOUT,
            sign_up_workers: cores(),
        }
    }
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

/// The machine's cores (1 if unknown): the real hash runs on all of them.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Server-side counters, for the result file and `serve`'s log.
pub type ServerStats = BTreeMap<String, u64>;

/// Idle limit of a connection (PROTOCOL.md §2).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Time allowed for the authorization frame (PROTOCOL.md §2).
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Password of every seeded organizer: a throwaway for a local staging server.
/// At least 16 characters: the real Organizer API refuses shorter ones
/// before it looks at the account.
pub const SEED_PASSWORD: &str = "msgperf-staging-pw";
/// E-mail pattern of the seeded organizers; `{n}` is 1 to [`SEEDED_ORGANIZERS`].
pub const ORGANIZER_EMAIL_PATTERN: &str = "organizer{n}@msgperf.local";

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listener could not be bound.
    #[error(
        "cannot listen for the {service} on {addr}: {source}; choose another port \
         (0 picks a free one) or stop the program that uses it"
    )]
    Bind {
        /// Which of the three services.
        service: &'static str,
        /// The address it tried.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
    /// The server's own tokio runtime could not be built or died while starting.
    #[error(
        "cannot start the server's runtime: {0}; check the process's thread and memory limits"
    )]
    Runtime(#[source] io::Error),
    /// The OS gave no random bytes for ids and tokens.
    #[error("the operating system provides no randomness for ids and tokens")]
    NoRandomness,
}

/// What `msgperf serve` prints: the `target:` keys of matrix.yaml, ready to paste.
pub fn serve_banner(info: &ServerInfo) -> String {
    format!(
        "# msgperf staging Messenger API; paste these lines under `target:` in matrix.yaml\n\
         messenger_ws_url: {}\n\
         organizer_api_url: {}\n\
         participant_api_url: {}\n\
         event_id: {}\n\
         # {{n}} is the organizer pool worker's number, 1 to {SEEDED_ORGANIZERS}\n\
         organizer_email: \"{}\"\n\
         organizer_password: \"{}\"\n",
        info.messenger_ws_url,
        info.organizer_api_url,
        info.participant_api_url,
        info.event_id,
        info.organizer_email,
        info.organizer_password,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Target {
        messenger_ws_url: String,
        organizer_api_url: String,
        participant_api_url: String,
        event_id: i64,
        organizer_email: String,
        organizer_password: String,
    }

    #[test]
    fn banner_is_yaml_with_the_target_keys() {
        let info = ServerInfo {
            messenger_ws_url: "ws://127.0.0.1:3/connect".into(),
            organizer_api_url: "http://127.0.0.1:1".into(),
            participant_api_url: "http://127.0.0.1:2".into(),
            event_id: 1,
            organizer_email: ORGANIZER_EMAIL_PATTERN.into(),
            organizer_password: SEED_PASSWORD.into(),
        };
        let t: Target = serde_saphyr::from_str(&serve_banner(&info)).unwrap();
        assert_eq!(t.messenger_ws_url, info.messenger_ws_url);
        assert_eq!(t.organizer_api_url, info.organizer_api_url);
        assert_eq!(t.participant_api_url, info.participant_api_url);
        assert_eq!(t.event_id, 1);
        assert_eq!(t.organizer_email, "organizer{n}@msgperf.local");
        assert_eq!(t.organizer_password, SEED_PASSWORD);
    }
}
