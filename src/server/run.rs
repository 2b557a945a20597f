//! Starting and stopping the staging server: binding the three listeners,
//! serving them with axum, the optional own runtime with named threads, and a
//! shutdown that closes every connection.
//!
//! Kept apart from the protocol code so the lifecycle (which is what callers
//! get wrong: runtimes inside runtimes, dropping a runtime in async context)
//! is in one place.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::capacity::{Gate, RateLimiter, SignUpPool};
use super::frames::FixedFrames;
use super::state::{Hub, SEED_EVENTS};
use super::{
    ids, rest, ServerConfig, ServerError, ServerInfo, ServerStats, DEFAULT_SEND_QUEUE,
    ORGANIZER_EMAIL_PATTERN, SEED_PASSWORD, SERVER_THREAD_NAME,
};

/// Pending TCP connections per listener: participants arrive in bursts.
const LISTEN_BACKLOG: u32 = 4096;
/// How long shutdown waits for listeners and connections before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// State shared by every handler and connection of one server.
pub(crate) struct App {
    pub(crate) hub: Hub,
    pub(crate) gate: Gate,
    pub(crate) limiter: Option<RateLimiter>,
    /// The sign-up cost's workers, if the knob is set.
    pub(crate) sign_up: Option<SignUpPool>,
    pub(crate) send_queue: usize,
    pub(crate) faults: super::faults::Faults,
    pub(crate) idle_timeout: Duration,
    pub(crate) auth_timeout: Duration,
    pub(crate) frames: FixedFrames,
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
    /// The knobs it started with (the test drift is computed from them).
    capacity: super::Capacity,
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
        // Reservations of the previous run's queued messages (their
        // connections are closed) must not delay the next run's.
        if let Some(limiter) = &self.app.limiter {
            limiter.forget();
        }
    }

    /// Applies the capacity's test drift (`drift_per_run`) for the run with
    /// index `k` of the job's sequence: the message cap becomes
    /// `max_messages_per_second × (1 − drift)^k`. Does nothing without a
    /// drift or a cap.
    #[doc(hidden)]
    pub fn drift_to_run(&self, k: u32) {
        let (Some(limiter), Some(cap), Some(drift)) = (
            &self.app.limiter,
            self.capacity.max_messages_per_second,
            self.capacity.drift_per_run,
        ) else {
            return;
        };
        let factor = (1.0 - drift).max(0.0).powi(k.min(i32::MAX as u32) as i32);
        limiter.set_rate(f64::from(cap) * factor);
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
    let knobs = capacity.clone();
    let app = Arc::new(App {
        hub: Hub::new(ids, SEED_PASSWORD),
        gate: Gate::new(capacity),
        limiter: capacity.max_messages_per_second.map(RateLimiter::new),
        sign_up: SignUpPool::new(capacity.sign_up_cost, config.sign_up_workers),
        send_queue: capacity.send_queue.unwrap_or(DEFAULT_SEND_QUEUE),
        faults: super::faults::Faults::new(capacity),
        idle_timeout: config.idle_timeout,
        auth_timeout: config.auth_timeout,
        frames: FixedFrames::new(),
        cancel: CancellationToken::new(),
        tracker: TaskTracker::new(),
        next_conn: AtomicU64::new(1),
    });
    let [org_port, part_port, msg_port] = config.ports;
    let (org, org_addr) = listen("Organizer API", SocketAddr::new(config.listen, org_port))?;
    let (part, part_addr) = listen("Participant API", SocketAddr::new(config.listen, part_port))?;
    let (msg, msg_addr) = listen("Messenger API", SocketAddr::new(config.listen, msg_port))?;
    let stop = |app: &Arc<App>| {
        let cancel = app.cancel.clone();
        async move { cancel.cancelled().await }
    };
    let router = rest::organizer_router(Arc::clone(&app))
        .into_make_service_with_connect_info::<SocketAddr>();
    let org = axum::serve(org, router).with_graceful_shutdown(stop(&app));
    let part = axum::serve(part, rest::participant_router(Arc::clone(&app)))
        .with_graceful_shutdown(stop(&app));
    let msg = axum::serve(msg, rest::messenger_router(Arc::clone(&app)))
        .with_graceful_shutdown(stop(&app));
    let tasks = vec![
        tokio::spawn(async move { log_end("Organizer API", org.await) }),
        tokio::spawn(async move { log_end("Participant API", part.await) }),
        tokio::spawn(async move { log_end("Messenger API", msg.await) }),
    ];
    let info = ServerInfo {
        messenger_ws_url: format!("ws://{msg_addr}{}", crate::protocol::CONNECT),
        organizer_api_url: format!("http://{org_addr}"),
        participant_api_url: format!("http://{part_addr}"),
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
        capacity: knobs,
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

/// A service's listener: TCP with TCP_NODELAY set on each accepted socket.
type Listener = TapIo<TcpListener, fn(&mut TcpStream)>;

/// A listener for one service with TCP_NODELAY on every accepted socket,
/// and the address a local client dials to reach it.
fn listen(service: &'static str, addr: SocketAddr) -> Result<(Listener, SocketAddr), ServerError> {
    let listener = bind(service, addr)?;
    let local = listener.local_addr().map_err(|source| ServerError::Bind {
        service,
        addr,
        source,
    })?;
    Ok((
        listener.tap_io(nodelay as fn(&mut TcpStream)),
        reachable(local),
    ))
}

/// Small frames must not wait for Nagle's algorithm.
fn nodelay(tcp: &mut TcpStream) {
    let _ = tcp.set_nodelay(true);
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
