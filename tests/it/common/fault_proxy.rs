//! A TCP proxy on 127.0.0.1 between msgperf and a server, for faults the
//! server itself does not make, and for watching what the client sends.
//!
//! - `go_silent()`: from then on the proxy accepts connections and reads
//!   what clients send, but forwards nothing either way: a server that
//!   accepts TCP and never answers.
//! - With `watch_ws`, it follows the WebSocket frames each client sends after
//!   the HTTP upgrade and records whether a close frame was among them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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
    silent: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<Arc<ConnLog>>>>,
}

impl FaultProxy {
    /// Proxies 127.0.0.1:<any port> to `upstream`.
    pub async fn start(upstream: SocketAddr, watch_ws: bool) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let silent = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<Arc<ConnLog>>>> = Arc::default();
        let (s, c) = (silent.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let log = Arc::new(ConnLog::default());
                c.lock().unwrap().push(log.clone());
                tokio::spawn(serve(client, upstream, s.clone(), log, watch_ws));
            }
        });
        FaultProxy {
            addr,
            silent,
            conns,
        }
    }

    /// From now on nothing is forwarded, and new connections get no answer.
    pub fn go_silent(&self) {
        self.silent.store(true, Ordering::SeqCst);
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

async fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    silent: Arc<AtomicBool>,
    log: Arc<ConnLog>,
    watch_ws: bool,
) {
    if silent.load(Ordering::SeqCst) {
        return swallow(&mut client).await;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let s2 = silent.clone();
    let down = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = sr.read(&mut buf).await {
            if s2.load(Ordering::SeqCst) {
                // Silent: keep the client's socket open, send it nothing.
                std::future::pending::<()>().await;
            }
            if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = cw.shutdown().await;
    });
    let mut frames = watch_ws.then(WsWatch::default);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match cr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(w) = frames.as_mut() {
            w.feed(&buf[..n], &log);
        }
        if !silent.load(Ordering::SeqCst) && sw.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = sw.shutdown().await;
    // The server's side ends when it closes (or, silent, never).
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), down).await;
}

/// Reads and drops what a client sends until it goes away.
async fn swallow(client: &mut TcpStream) {
    let mut buf = vec![0u8; 4096];
    while matches!(client.read(&mut buf).await, Ok(n) if n > 0) {}
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
        while let Some(len) = self.frame_len() {
            if self.buf[0] & 0x0f == 0x8 {
                log.client_close.store(true, Ordering::SeqCst);
            }
            self.buf.drain(..len);
        }
    }

    /// The length of the whole first frame, once all of it is buffered.
    fn frame_len(&self) -> Option<usize> {
        let b = &self.buf;
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
}
