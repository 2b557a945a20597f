//! The embedded staging Messenger API: the three services of
//! `../shared/PROTOCOL.md` (Organizer API, Participant API, Messenger API
//! WebSocket) in memory, on loopback, so `msgperf run` works with no target.
//!
//! It imports only [`crate::protocol`], never the load engine: a server that
//! shared code with its client would agree with it about mistakes.

mod capacity;
mod chats;
mod ids;
mod rest;
mod state;
mod stats;
mod ws;

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use serde::Deserialize;
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use capacity::DEFAULT_SEND_QUEUE;
pub use rest::{INVALID_CREDENTIALS, RESET_PATH, STATS_PATH};
pub use state::{SEEDED_ORGANIZERS, SEED_EVENTS, VIEWER_EMAIL};
pub use ws::{ONLY_ORGANIZERS_CLOSE, ONLY_ORGANIZERS_START};

use capacity::{Gate, RateLimiter};
use state::Hub;

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
    /// A participant connection silent this long is closed (PROTOCOL.md: 30 minutes).
    pub idle_timeout: Duration,
    /// How long the server waits for the authorization frame (PROTOCOL.md: one minute).
    pub auth_timeout: Duration,
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

/// Server-side counters, for the result file and `serve`'s log.
pub type ServerStats = BTreeMap<String, u64>;

/// Idle limit of a participant connection (PROTOCOL.md §2).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Time allowed for the authorization frame (PROTOCOL.md §2).
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(60);
/// Password of every seeded organizer: a throwaway for a local staging server.
pub const SEED_PASSWORD: &str = "msgperf-staging";
/// E-mail pattern of the seeded organizers; `{n}` is 1 to [`SEEDED_ORGANIZERS`].
pub const ORGANIZER_EMAIL_PATTERN: &str = "organizer{n}@msgperf.local";
/// Name of the threads of [`start_on_own_runtime`], so the load generator can
/// tell the server's CPU time from its own.
pub const SERVER_THREAD_NAME: &str = "msgperf-server";
/// Pending TCP connections per listener: participants arrive in bursts.
const LISTEN_BACKLOG: u32 = 4096;
/// How long shutdown waits for listeners and connections before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

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

/// State shared by every handler and connection of one server.
pub(crate) struct App {
    pub(crate) hub: Hub,
    pub(crate) gate: Gate,
    pub(crate) limiter: Option<RateLimiter>,
    pub(crate) send_queue: usize,
    pub(crate) idle_timeout: Duration,
    pub(crate) auth_timeout: Duration,
    pub(crate) frames: ws::FixedFrames,
    /// Cancelled by shutdown: listeners stop, connections close.
    pub(crate) cancel: CancellationToken,
    /// Tracks open WebSocket connections so shutdown can wait for them.
    pub(crate) tracker: TaskTracker,
    pub(crate) next_conn: AtomicU64,
}

/// A started server. Dropping it stops the listeners (and, for
/// [`start_on_own_runtime`], its runtime); [`RunningServer::shutdown`] also
/// waits for connections to close.
pub struct RunningServer {
    info: ServerInfo,
    app: Arc<App>,
    tasks: Vec<JoinHandle<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// Where the server listens and how to sign in.
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// A snapshot of the counters (atomics only; cheap).
    pub fn stats(&self) -> ServerStats {
        self.app.hub.stats.snapshot()
    }

    /// Forgets participants, chat requests, chats and messages (organizers
    /// stay), and closes participant connections: a clean slate between
    /// repetitions. Counters are cumulative and are not cleared.
    pub fn reset(&self) {
        self.app.hub.reset();
    }

    /// Stops the listeners, closes every connection with a close frame, and
    /// waits (a few seconds at most) for both. Await it on a tokio runtime.
    pub async fn shutdown(mut self) {
        self.app.cancel.cancel();
        for task in self.tasks.drain(..) {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
        self.app.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.app.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections were still closing at shutdown");
        }
        tracing::info!("staging server stopped");
        // Drop stops the own runtime, if any.
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.app.cancel.cancel();
        if let Some(runtime) = self.runtime.take() {
            // Unlike dropping it, this is allowed inside another runtime.
            runtime.shutdown_background();
        }
    }
}

/// Starts the three services on the current tokio runtime and returns once
/// all three listen.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let ids = ids::IdGen::new().ok_or(ServerError::NoRandomness)?;
    let capacity = &config.capacity;
    let app = Arc::new(App {
        hub: Hub::new(ids, SEED_PASSWORD),
        gate: Gate::new(capacity),
        limiter: capacity.max_messages_per_second.map(RateLimiter::new),
        send_queue: capacity.send_queue.unwrap_or(DEFAULT_SEND_QUEUE),
        idle_timeout: config.idle_timeout,
        auth_timeout: config.auth_timeout,
        frames: ws::FixedFrames::new(),
        cancel: CancellationToken::new(),
        tracker: TaskTracker::new(),
        next_conn: AtomicU64::new(1),
    });
    let names = ["Organizer API", "Participant API", "Messenger API"];
    let mut listeners = Vec::with_capacity(3);
    let mut addrs = Vec::with_capacity(3);
    for (service, port) in names.into_iter().zip(config.ports) {
        let listener = bind(service, SocketAddr::new(config.listen, port))?;
        let local = listener.local_addr().map_err(|source| ServerError::Bind {
            service,
            addr: SocketAddr::new(config.listen, port),
            source,
        })?;
        addrs.push(reachable(local));
        listeners.push(listener.tap_io(|tcp| {
            // Small frames must not wait for Nagle's algorithm.
            let _ = tcp.set_nodelay(true);
        }));
    }
    let mut listeners = listeners.into_iter();
    let mut tasks = Vec::with_capacity(3);
    let stop = |app: &Arc<App>| {
        let cancel = app.cancel.clone();
        async move { cancel.cancelled().await }
    };
    if let (Some(org), Some(part), Some(msg)) =
        (listeners.next(), listeners.next(), listeners.next())
    {
        let router = rest::organizer_router(Arc::clone(&app))
            .into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(org, router).with_graceful_shutdown(stop(&app));
        tasks.push(tokio::spawn(async move { log_end(names[0], serve.await) }));
        let serve = axum::serve(part, rest::participant_router(Arc::clone(&app)))
            .with_graceful_shutdown(stop(&app));
        tasks.push(tokio::spawn(async move { log_end(names[1], serve.await) }));
        let serve = axum::serve(msg, rest::messenger_router(Arc::clone(&app)))
            .with_graceful_shutdown(stop(&app));
        tasks.push(tokio::spawn(async move { log_end(names[2], serve.await) }));
    }
    let info = ServerInfo {
        messenger_ws_url: format!("ws://{}{}", addrs[2], crate::protocol::CONNECT),
        organizer_api_url: format!("http://{}", addrs[0]),
        participant_api_url: format!("http://{}", addrs[1]),
        event_id: SEED_EVENTS[0],
        organizer_email: ORGANIZER_EMAIL_PATTERN.to_string(),
        organizer_password: SEED_PASSWORD.to_string(),
    };
    tracing::info!(
        organizer_api = %info.organizer_api_url,
        participant_api = %info.participant_api_url,
        messenger = %info.messenger_ws_url,
        "staging server listening"
    );
    Ok(RunningServer {
        info,
        app,
        tasks,
        runtime: None,
    })
}

/// Starts the server on its own multi-thread runtime of `worker_threads`
/// threads named [`SERVER_THREAD_NAME`], and returns once it listens. Blocks
/// the calling thread briefly; callable from inside another runtime.
pub fn start_on_own_runtime(
    config: ServerConfig,
    worker_threads: usize,
) -> Result<RunningServer, ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads.max(1))
        .thread_name(SERVER_THREAD_NAME)
        .enable_all()
        .build()
        .map_err(ServerError::Runtime)?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(start(config).await);
    });
    let started = rx
        .recv()
        .map_err(|_| ServerError::Runtime(io::Error::other("the runtime stopped while starting")));
    match started {
        Ok(Ok(mut server)) => {
            server.runtime = Some(runtime);
            Ok(server)
        }
        Ok(Err(e)) | Err(e) => {
            runtime.shutdown_background();
            Err(e)
        }
    }
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

fn bind(service: &'static str, addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let err = |source| ServerError::Bind {
        service,
        addr,
        source,
    };
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(err)?;
    socket.set_reuseaddr(true).map_err(err)?;
    socket.bind(addr).map_err(err)?;
    socket.listen(LISTEN_BACKLOG).map_err(err)
}

/// The address a local client dials: loopback when bound to "any".
fn reachable(local: SocketAddr) -> SocketAddr {
    match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), local.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), local.port())
        }
        _ => local,
    }
}

fn log_end(service: &str, result: io::Result<()>) {
    if let Err(e) = result {
        tracing::error!("{service} stopped: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
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

    #[test]
    fn unspecified_binds_advertise_loopback() {
        let a: SocketAddr = "0.0.0.0:80".parse().unwrap();
        assert_eq!(reachable(a).to_string(), "127.0.0.1:80");
        let a: SocketAddr = "[::]:80".parse().unwrap();
        assert_eq!(reachable(a).to_string(), "[::1]:80");
        let a: SocketAddr = "127.0.0.2:80".parse().unwrap();
        assert_eq!(reachable(a), a);
    }

    #[test]
    fn bind_error_names_the_address_and_what_to_do() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = bind("Organizer API", addr).unwrap_err().to_string();
        assert!(err.contains(&addr.to_string()), "{err}");
        assert!(err.contains("Organizer API"), "{err}");
        assert!(err.contains("choose another port"), "{err}");
    }
}
