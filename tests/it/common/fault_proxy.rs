//! A TCP proxy on 127.0.0.1 between msgperf and a server, for faults the
//! server itself does not make, and for watching what the client sends.
//!
//! A fault is set with [`FaultProxy::set`] (or [`FaultProxy::go_silent`]) and
//! holds from then on, for open connections and new ones:
//! - [`Fault::Silent`]: accept connections and read what clients send, but
//!   forward nothing either way: a server that accepts TCP and never answers.
//! - [`Fault::Reset`]: reset (RST) every open connection and every new one.
//! - [`Fault::Http`] (a [`Kind::Http`] proxy): a request whose request line is
//!   `POST <path>` gets the proxy's own answer (a status, then the
//!   connection closed) or none at all ([`Answer::Hang`]); other requests
//!   pass.
//! - [`Fault::MuteAfterUpgrade`] (a [`Kind::Ws`] proxy): new connections get
//!   the server's `101` answer and then not one frame.
//! - [`Fault::HalfFrame`]: each connection's next server frame is cut after
//!   half its bytes, and nothing more is sent.
//! - [`Fault::Inject`]: one connection (the first to get a server frame)
//!   gets these bytes (a whole frame) before it.
//! - [`Fault::Close`]: every open WebSocket gets a close frame (1001, going
//!   away) and the proxy's end of the TCP connection, as a server that shuts
//!   down mid-chat does.
//!
//! A [`Kind::Ws`] proxy also follows the WebSocket frames each client sends
//! after the HTTP upgrade and records whether a close frame was among them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy knows of the protocol on its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bytes only.
    Tcp,
    /// HTTP/1.1 requests (with a `content-length` body) from the client.
    Http,
    /// A WebSocket: the upgrade, then frames both ways.
    Ws,
}

/// What a REST request that meets [`Fault::Http`] gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// This status with a JSON error body, then the connection is closed.
    Status(u16),
    /// Nothing, ever (the connection stays open).
    Hang,
}

/// A fault of the proxied server (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    None,
    /// Forward nothing; new connections get no answer.
    Silent,
    /// Reset every connection.
    Reset,
    /// Answer `POST <path>` requests ourselves.
    Http {
        /// The request path, e.g. `/auth/sign-up`.
        path: &'static str,
        /// What those requests get.
        answer: Answer,
    },
    /// New WebSockets get the upgrade and then nothing.
    MuteAfterUpgrade,
    /// Each connection's next server frame is cut in half, then nothing.
    HalfFrame,
    /// These bytes go to one connection before its next server frame.
    Inject(Arc<Vec<u8>>),
    /// Every WebSocket gets a close frame, then the connection's end.
    Close,
}

/// What one proxied client connection did.
#[derive(Debug, Default)]
pub struct ConnLog {
    /// The client sent a WebSocket close frame.
    pub client_close: AtomicBool,
    /// The client finished the WebSocket upgrade request.
    pub upgraded: AtomicBool,
}

/// A running proxy.
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    fault: watch::Sender<Fault>,
    conns: Arc<Mutex<Vec<Arc<ConnLog>>>>,
}

/// What every connection of a proxy shares.
struct Shared {
    upstream: SocketAddr,
    kind: Kind,
    /// Set once an [`Fault::Inject`] was delivered.
    injected: AtomicBool,
}

impl FaultProxy {
    /// Proxies 127.0.0.1:<any port> to `upstream`.
    pub async fn start(upstream: SocketAddr, kind: Kind) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (fault, _) = watch::channel(Fault::None);
        let conns: Arc<Mutex<Vec<Arc<ConnLog>>>> = Arc::default();
        let shared = Arc::new(Shared {
            upstream,
            kind,
            injected: AtomicBool::new(false),
        });
        let (faults, c) = (fault.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let log = Arc::new(ConnLog::default());
                c.lock().unwrap().push(log.clone());
                let conn = serve(client, shared.clone(), faults.subscribe(), log);
                tokio::spawn(conn);
            }
        });
        FaultProxy { addr, fault, conns }
    }

    /// From now on nothing is forwarded, and new connections get no answer.
    pub fn go_silent(&self) {
        self.set(Fault::Silent);
    }

    /// Injects `fault` from now on.
    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    /// The connections so far.
    pub fn conns(&self) -> Vec<Arc<ConnLog>> {
        self.conns.lock().unwrap().clone()
    }

    /// `http://127.0.0.1:<port>` (or `ws://` for `scheme = "ws"`).
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }
}

/// A WebSocket close frame from a server: 1001 (going away), no reason.
const CLOSE_GOING_AWAY: [u8; 4] = [0x88, 0x02, 0x03, 0xe9];

async fn serve(
    mut client: TcpStream,
    shared: Arc<Shared>,
    mut faults: watch::Receiver<Fault>,
    log: Arc<ConnLog>,
) {
    let at_accept = faults.borrow_and_update().clone();
    match at_accept {
        Fault::Silent => return swallow(&mut client).await,
        Fault::Reset => return reset(client),
        _ => {}
    }
    let Ok(server) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    let mut conn = Conn {
        client,
        server,
        shared,
        log,
        watch: WsWatch::default(),
        requests: Vec::new(),
        frames: Vec::new(),
        upgrade_passed: false,
        mute_after_upgrade: at_accept == Fault::MuteAfterUpgrade,
        muted: false,
        hung: false,
    };
    let (mut cbuf, mut sbuf) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let (mut server_open, mut faults_open) = (true, true);
    loop {
        let event = tokio::select! {
            n = conn.client.read(&mut cbuf) => match n {
                Ok(0) | Err(_) => Event::ClientEnd,
                Ok(n) => Event::Client(n),
            },
            n = conn.server.read(&mut sbuf), if server_open => match n {
                Ok(0) | Err(_) => Event::ServerEnd,
                Ok(n) => Event::Server(n),
            },
            changed = faults.changed(), if faults_open => match changed {
                Ok(()) => Event::Fault,
                // The proxy is gone: keep forwarding what is in flight.
                Err(_) => Event::ProxyGone,
            },
        };
        let fault = match event {
            Event::Fault => faults.borrow_and_update().clone(),
            _ => faults.borrow().clone(),
        };
        let step = match event {
            Event::Client(n) => conn.on_client_bytes(&cbuf[..n], &fault).await,
            Event::ClientEnd => Step::End,
            Event::Server(n) => conn.on_server_bytes(&sbuf[..n], &fault).await,
            Event::ServerEnd => {
                server_open = false;
                if !conn.muted && !conn.hung && fault != Fault::Silent {
                    let _ = conn.client.shutdown().await;
                }
                Step::Go
            }
            Event::Fault => conn.on_fault(&fault).await,
            Event::ProxyGone => {
                faults_open = false;
                Step::Go
            }
        };
        match step {
            Step::Go => {}
            Step::End => break,
            Step::Reset => return reset(conn.client),
        }
    }
    let _ = conn.server.shutdown().await;
}

/// What happened on a connection.
enum Event {
    Client(usize),
    ClientEnd,
    Server(usize),
    ServerEnd,
    Fault,
    ProxyGone,
}

/// What a connection does after handling an event.
enum Step {
    Go,
    End,
    Reset,
}

/// One proxied connection.
struct Conn {
    client: TcpStream,
    server: TcpStream,
    shared: Arc<Shared>,
    log: Arc<ConnLog>,
    watch: WsWatch,
    /// Client bytes of a request not yet complete (HTTP).
    requests: Vec<u8>,
    /// Server bytes of a frame not yet complete (WebSocket).
    frames: Vec<u8>,
    /// The server's `101` answer went to the client.
    upgrade_passed: bool,
    /// Opened under [`Fault::MuteAfterUpgrade`].
    mute_after_upgrade: bool,
    /// Nothing more goes to the client.
    muted: bool,
    /// A request hangs: nothing more goes anywhere.
    hung: bool,
}

impl Conn {
    async fn on_client_bytes(&mut self, bytes: &[u8], fault: &Fault) -> Step {
        if self.shared.kind == Kind::Ws {
            self.watch.feed(bytes, &self.log);
        }
        if self.hung || *fault == Fault::Silent {
            return Step::Go;
        }
        if self.shared.kind != Kind::Http {
            return self.send_server(bytes).await;
        }
        self.requests.extend_from_slice(bytes);
        while let Some(len) = request_len(&self.requests) {
            let request: Vec<u8> = self.requests.drain(..len).collect();
            match fault {
                Fault::Http { path, answer } if is_post(&request, path) => match answer {
                    Answer::Status(code) => {
                        let _ = self.client.write_all(&http_answer(*code)).await;
                        let _ = self.client.shutdown().await;
                        return Step::End;
                    }
                    Answer::Hang => {
                        self.hung = true;
                        return Step::Go;
                    }
                },
                _ => {
                    if let Step::End = self.send_server(&request).await {
                        return Step::End;
                    }
                }
            }
        }
        Step::Go
    }

    async fn send_server(&mut self, bytes: &[u8]) -> Step {
        match self.server.write_all(bytes).await {
            Ok(()) => Step::Go,
            Err(_) => Step::End,
        }
    }

    async fn send_client(&mut self, bytes: &[u8]) -> Step {
        match self.client.write_all(bytes).await {
            Ok(()) => Step::Go,
            Err(_) => Step::End,
        }
    }

    async fn on_server_bytes(&mut self, bytes: &[u8], fault: &Fault) -> Step {
        if self.muted || self.hung || *fault == Fault::Silent {
            return Step::Go;
        }
        if self.shared.kind != Kind::Ws {
            return self.send_client(bytes).await;
        }
        self.frames.extend_from_slice(bytes);
        if !self.upgrade_passed {
            let Some(end) = self.frames.windows(4).position(|w| w == b"\r\n\r\n") else {
                return Step::Go;
            };
            let head: Vec<u8> = self.frames.drain(..end + 4).collect();
            self.upgrade_passed = true;
            if let Step::End = self.send_client(&head).await {
                return Step::End;
            }
            if self.mute_after_upgrade {
                self.muted = true;
                return Step::Go;
            }
        }
        let Some(first) = frame_len(&self.frames) else {
            return Step::Go;
        };
        match fault {
            Fault::HalfFrame => {
                self.muted = true;
                let half: Vec<u8> = self.frames[..first / 2].to_vec();
                return self.send_client(&half).await;
            }
            Fault::Inject(bytes) if !self.shared.injected.swap(true, Ordering::SeqCst) => {
                if let Step::End = self.send_client(bytes).await {
                    return Step::End;
                }
            }
            _ => {}
        }
        // Every whole frame buffered, in one write (the organizer gets many).
        let mut whole = first;
        while let Some(len) = frame_len(&self.frames[whole..]) {
            whole += len;
        }
        let frames: Vec<u8> = self.frames.drain(..whole).collect();
        self.send_client(&frames).await
    }

    /// A fault set while this connection is open.
    async fn on_fault(&mut self, fault: &Fault) -> Step {
        match fault {
            Fault::Reset => Step::Reset,
            Fault::Close if self.shared.kind == Kind::Ws && self.upgrade_passed && !self.muted => {
                self.muted = true;
                let _ = self.client.write_all(&CLOSE_GOING_AWAY).await;
                let _ = self.client.shutdown().await;
                Step::Go
            }
            _ => Step::Go,
        }
    }
}

/// Ends `client` with a reset (RST) rather than a FIN.
fn reset(client: TcpStream) {
    let _ = client.set_zero_linger();
    drop(client);
}

/// Reads and drops what a client sends until it goes away.
async fn swallow(client: &mut TcpStream) {
    let mut buf = vec![0u8; 4096];
    while matches!(client.read(&mut buf).await, Ok(n) if n > 0) {}
}

/// True when `request`'s request line is `POST <path>` (maybe with a query).
fn is_post(request: &[u8], path: &str) -> bool {
    let line = request.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split(' ');
    parts.next() == Some("POST")
        && parts
            .next()
            .is_some_and(|target| target.split('?').next() == Some(path))
}

/// The length of the first whole request in `buf` (head and
/// `content-length` body), once all of it is there.
fn request_len(buf: &[u8]) -> Option<usize> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let body = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    (buf.len() >= end + body).then_some(end + body)
}

/// A whole HTTP answer with `code` and an error body like the real API's.
fn http_answer(code: u16) -> Vec<u8> {
    let reason = match code {
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let body = format!(
        r#"{{"statusCode":{code},"message":"injected by the fault proxy","error":"{reason}"}}"#
    );
    format!(
        "HTTP/1.1 {code} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A server's (unmasked) WebSocket frame: `opcode` (0x1 text, 0x2 binary)
/// with `payload`, in one final frame.
pub fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => frame.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            frame.push(126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload);
    frame
}

/// Follows the client's side of a WebSocket connection: the HTTP upgrade
/// request, then frames (masked, as a client's are).
#[derive(Default)]
struct WsWatch {
    buf: Vec<u8>,
    upgraded: bool,
}

impl WsWatch {
    fn feed(&mut self, bytes: &[u8], log: &ConnLog) {
        self.buf.extend_from_slice(bytes);
        if !self.upgraded {
            let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            self.buf.drain(..end + 4);
            self.upgraded = true;
            log.upgraded.store(true, Ordering::SeqCst);
        }
        while let Some(len) = frame_len(&self.buf) {
            if self.buf[0] & 0x0f == 0x8 {
                log.client_close.store(true, Ordering::SeqCst);
            }
            self.buf.drain(..len);
        }
    }
}

/// The length of the whole first frame of `b` (masked or not), once all of
/// it is buffered.
fn frame_len(b: &[u8]) -> Option<usize> {
    if b.len() < 2 {
        return None;
    }
    let masked = b[1] & 0x80 != 0;
    let (len, head) = match b[1] & 0x7f {
        126 if b.len() >= 4 => (u64::from(u16::from_be_bytes([b[2], b[3]])), 4),
        127 if b.len() >= 10 => (u64::from_be_bytes(b[2..10].try_into().ok()?), 10),
        126 | 127 => return None,
        n => (u64::from(n), 2),
    };
    let total = head + if masked { 4 } else { 0 } + usize::try_from(len).ok()?;
    (b.len() >= total).then_some(total)
}

/// The embedded server (in this process) behind three fault proxies, one per
/// service: `[organizer, participant, messenger]`.
pub struct Proxied {
    /// The server; shut it down at the end.
    pub server: msgperf::server::RunningServer,
    /// Organizer API, Participant API and Messenger API proxies.
    pub proxies: [FaultProxy; 3],
    /// The target through the proxies.
    pub target: msgperf::matrix::Target,
}

/// Starts the embedded server and its proxies: the REST ones of `rest`
/// kind, the WebSocket one of `ws` kind.
pub async fn proxied(rest: Kind, ws: Kind) -> Proxied {
    use msgperf::server::{self, ServerConfig};
    let server = server::start(ServerConfig::default()).await.unwrap();
    let direct = msgperf::run::target_of(server.info());
    let addr = |url: &str| -> SocketAddr {
        let hostport = url.split("://").nth(1).unwrap().split('/').next().unwrap();
        hostport.parse().unwrap()
    };
    let org = FaultProxy::start(addr(&direct.organizer_api_url), rest).await;
    let part = FaultProxy::start(addr(&direct.participant_api_url), rest).await;
    let messenger = FaultProxy::start(addr(&direct.messenger_ws_url), ws).await;
    let target = msgperf::matrix::Target {
        messenger_ws_url: format!("{}/connect", messenger.url("ws")),
        organizer_api_url: org.url("http"),
        participant_api_url: part.url("http"),
        ..direct
    };
    Proxied {
        server,
        proxies: [org, part, messenger],
        target,
    }
}
