//! The load engine's side of the WebSocket: connecting with small buffers, and
//! building and recognising the frames of the hot path without allocating.
//!
//! Connections are opened on a `TcpSocket` whose kernel buffers we size
//! ourselves, the upgrade of a plain `ws://` connection is our own
//! ([`super::upgrade`]), and tungstenite gets a small read buffer (2 KiB for
//! a participant) and no write buffer:
//! its defaults cost about 130 KiB per connection, which at thousands of
//! participants would make the generator's memory, not the API, the limit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use memchr::memmem;
use tokio::net::{lookup_host, TcpSocket};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::socket::{Interest, Socket};
use crate::results::ErrorKind;

/// The largest frame (and message) the client reads. No frame of the
/// Messenger API comes near it (messages, chats and notices are a few
/// hundred bytes); a bigger one is a protocol error refused from its header,
/// before a byte of it is buffered, so a broken server cannot make each of
/// thousands of connections hold megabytes.
pub const MAX_FRAME: usize = 1 << 20;

/// A client WebSocket as the workers use it.
pub type Ws = WebSocketStream<MaybeTlsStream<Socket>>;

/// Marker that opens the correlation token inside a message's text.
const TOKEN_OPEN: &[u8] = b" [mp:";
/// Marker of the same token inside an organizer's reply: distinct, so that an
/// organizer never counts the echo of its own reply as a participant message.
pub(crate) const REPLY_OPEN: &[u8] = b" [re:";

/// What went wrong while connecting, already classified for the recorder.
#[derive(Debug)]
pub struct ConnectError {
    /// Classification.
    pub kind: ErrorKind,
    /// Human-readable cause.
    pub message: String,
}

/// Socket and WebSocket sizing of one class of connection.
#[derive(Debug, Clone, Copy)]
pub struct SocketSizing {
    /// Kernel receive buffer, bytes (`None` = system default).
    pub recv_buffer: Option<u32>,
    /// Kernel send buffer, bytes (`None` = system default).
    pub send_buffer: Option<u32>,
    /// tungstenite's read buffer, bytes.
    pub read_buffer: usize,
}

impl SocketSizing {
    /// Participants receive little (their own echoes, a few hundred bytes
    /// each, read every `READ_EVERY`): keep them small. A bigger batch of
    /// echoes takes a few reads.
    pub const PARTICIPANT: SocketSizing = SocketSizing {
        recv_buffer: Some(16 * 1024),
        send_buffer: Some(16 * 1024),
        read_buffer: 2 * 1024,
    };
    /// Organizers receive every message of their chats: let the kernel grow them.
    pub const ORGANIZER: SocketSizing = SocketSizing {
        recv_buffer: None,
        send_buffer: None,
        read_buffer: 16 * 1024,
    };
}

/// One TLS client configuration shared by every `wss://` connection of a run.
pub fn tls_connector() -> Connector {
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Connector::Rustls(Arc::new(config))
}

/// Connects to `url` (ws or wss) and completes the upgrade within `timeout`.
pub async fn connect(
    url: &str,
    timeout: Duration,
    sizing: SocketSizing,
    tls: Option<&Connector>,
) -> Result<Ws, ConnectError> {
    match tokio::time::timeout(timeout, connect_inner(url, sizing, tls)).await {
        Ok(result) => result,
        Err(_) => Err(ConnectError {
            kind: ErrorKind::HandshakeTimeout,
            message: format!(
                "WebSocket handshake with {url} did not complete within {}",
                humantime::format_duration(timeout)
            ),
        }),
    }
}

async fn connect_inner(
    url: &str,
    sizing: SocketSizing,
    tls: Option<&Connector>,
) -> Result<Ws, ConnectError> {
    let request = url.into_client_request().map_err(|e| ConnectError {
        kind: ErrorKind::Protocol,
        message: format!("bad WebSocket URL {url}: {e}"),
    })?;
    let uri = request.uri();
    let mut socket = open(url, uri, sizing).await?;
    let config = WebSocketConfig::default()
        .read_buffer_size(sizing.read_buffer)
        .write_buffer_size(0)
        .max_frame_size(Some(MAX_FRAME))
        .max_message_size(Some(MAX_FRAME));
    if uri.scheme_str() == Some("ws") {
        let host = uri.authority().map_or("localhost", |a| a.as_str());
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let tail = super::upgrade::upgrade(&mut socket, url, host, path).await?;
        let plain = MaybeTlsStream::Plain(socket);
        let role = tungstenite::protocol::Role::Client;
        return Ok(WebSocketStream::from_partially_read(plain, tail, role, Some(config)).await);
    }
    let (ws, _response) = tokio_tungstenite::client_async_tls_with_config(
        request,
        socket,
        Some(config),
        tls.cloned(),
    )
    .await
    .map_err(|e| ConnectError {
        kind: handshake_error_kind(&e),
        message: format!("WebSocket upgrade with {url} failed: {e}"),
    })?;
    Ok(ws)
}

/// A connected socket to the host of `uri`, with `sizing`'s kernel buffers.
async fn open(url: &str, uri: &http::Uri, sizing: SocketSizing) -> Result<Socket, ConnectError> {
    let host = uri.host().unwrap_or("localhost");
    let default_port = if uri.scheme_str() == Some("wss") {
        443
    } else {
        80
    };
    let addr = resolve(host, uri.port_u16().unwrap_or(default_port)).await?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(refused(url))?;
    if let Some(size) = sizing.recv_buffer {
        let _ = socket.set_recv_buffer_size(size);
    }
    if let Some(size) = sizing.send_buffer {
        let _ = socket.set_send_buffer_size(size);
    }
    let stream = socket.connect(addr).await.map_err(refused(url))?;
    let _ = stream.set_nodelay(true);
    Socket::new(stream).map_err(refused(url))
}

/// The error kind of a failed tungstenite (`wss://`) handshake.
fn handshake_error_kind(e: &tungstenite::Error) -> ErrorKind {
    match e {
        tungstenite::Error::Http(_) => ErrorKind::HttpStatus,
        tungstenite::Error::Io(io) => super::failure::io_error_kind(io, ErrorKind::ConnectRefused),
        // The server closed the connection before it answered the
        // upgrade (it died, or dropped us): not a protocol it broke.
        tungstenite::Error::Protocol(tungstenite::error::ProtocolError::HandshakeIncomplete)
        | tungstenite::Error::ConnectionClosed
        | tungstenite::Error::AlreadyClosed => ErrorKind::ConnectionClosed,
        _ => ErrorKind::Protocol,
    }
}

async fn resolve(host: &str, port: u16) -> Result<SocketAddr, ConnectError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse() {
        return Ok(SocketAddr::new(ip, port));
    }
    lookup_host((host, port))
        .await
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| ConnectError {
            kind: ErrorKind::ConnectRefused,
            message: format!("cannot resolve host {host}"),
        })
}

fn refused(url: &str) -> impl Fn(std::io::Error) -> ConnectError + '_ {
    move |e| {
        if super::failure::is_generator_limit(&e) {
            let hint = super::failure::GENERATOR_LIMIT_HINT;
            return ConnectError {
                kind: ErrorKind::GeneratorLimit,
                message: format!("no socket for a connection to {url}: {e} ({hint})"),
            };
        }
        ConnectError {
            kind: ErrorKind::ConnectRefused,
            message: format!("TCP connection to {url} failed: {e}"),
        }
    }
}

/// Sets what a plain connection's socket waits for (see [`Socket`]); a TLS
/// connection keeps waiting for both, as its record layer may need reads to
/// make progress on writes.
pub fn set_interest(ws: &mut Ws, interest: Interest) -> std::io::Result<()> {
    match ws.get_mut() {
        MaybeTlsStream::Plain(socket) => socket.set_interest(interest),
        _ => Ok(()),
    }
}

/// Lets the next scheduled drain of a plain connection ask the kernel again.
pub fn rearm(ws: &mut Ws) {
    if let MaybeTlsStream::Plain(socket) = ws.get_mut() {
        socket.rearm();
    }
}

/// The local address of a connection, as the original client printed it.
pub fn local_addr(ws: &Ws) -> String {
    let socket = match ws.get_ref() {
        MaybeTlsStream::Plain(socket) => socket,
        MaybeTlsStream::Rustls(tls) => tls.get_ref().0,
        _ => return "unknown".into(),
    };
    socket
        .local_addr()
        .map_or_else(|_| "unknown".into(), |a| a.to_string())
}

/// Builds a participant's `send_message` frames into one reusable buffer.
///
/// Everything constant for the chat (the envelope, the JSON-escaped chat id and
/// the `connection <addr>: message number ` text of the original client) is
/// written once; each message appends three integers. The buffer's bytes are
/// handed to tungstenite as a frozen slice; once the socket has written them the
/// slice is dropped and `reserve` reclaims the same allocation, so a steady
/// sender does not allocate.
pub struct MessageFrames {
    prefix: Bytes,
    buf: BytesMut,
    run: u64,
    participant: u32,
}

impl MessageFrames {
    /// Frames for messages from `participant` of the run with key `run` (see
    /// [`super::identity::Identity::run_key`]) into `chat_id`, sent over the
    /// connection whose local address is `local`.
    pub fn new(chat_id: &str, local: &str, run: u64, participant: u32) -> Self {
        let mut prefix = Vec::with_capacity(128);
        prefix.extend_from_slice(br#"{"type":"send_message","payload":{"chatId":"#);
        serde_json::to_writer(&mut prefix, chat_id).expect("writing to a Vec cannot fail");
        prefix.extend_from_slice(br#","message":"connection "#);
        // A socket address needs no JSON escaping.
        prefix.extend_from_slice(local.as_bytes());
        prefix.extend_from_slice(b": message number ");
        MessageFrames {
            buf: BytesMut::with_capacity(prefix.len() + 64),
            prefix: prefix.into(),
            run,
            participant,
        }
    }

    /// The frame of message number `seq`, stamped with `sent_us` (µs since the
    /// run started) so the receiving organizer can compute the latency.
    pub fn frame(&mut self, seq: u32, sent_us: u64) -> Message {
        let mut int = itoa::Buffer::new();
        self.buf.reserve(self.prefix.len() + 64);
        self.buf.put_slice(&self.prefix);
        self.buf.put_slice(int.format(seq).as_bytes());
        self.buf.put_slice(TOKEN_OPEN);
        self.buf.put_slice(int.format(self.run).as_bytes());
        self.buf.put_u8(b':');
        self.buf.put_slice(int.format(self.participant).as_bytes());
        self.buf.put_u8(b':');
        self.buf.put_slice(int.format(seq).as_bytes());
        self.buf.put_u8(b':');
        self.buf.put_slice(int.format(sent_us).as_bytes());
        self.buf.put_slice(br#"]"}}"#);
        let bytes = self.buf.split().freeze();
        // SAFETY: every part written above is UTF-8 (ASCII, and JSON text from serde_json).
        Message::Text(unsafe { Utf8Bytes::from_bytes_unchecked(bytes) })
    }
}

/// A participant message recognised in a frame an organizer received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// The run's key: messages of other runs (another shard's participants in
    /// chats of a shared organizer account) carry another.
    pub run: u64,
    /// Participant number.
    pub participant: u32,
    /// Message number within that participant.
    pub seq: u32,
    /// When it was sent, µs since the run started.
    pub sent_us: u64,
}

/// Finds the correlation token in a raw `user_message` frame, without decoding
/// the JSON: the organizer reads every message of its chats, so this is its hot
/// path.
pub fn find_token(frame: &[u8]) -> Option<Token> {
    find_marked(frame, TOKEN_OPEN)
}

/// Finds the token of an organizer's reply (` [re:...]`) in a raw frame: the
/// participant's side of the round trip.
pub fn find_reply(frame: &[u8]) -> Option<Token> {
    find_marked(frame, REPLY_OPEN)
}

fn find_marked(frame: &[u8], marker: &[u8]) -> Option<Token> {
    let start = memmem::find(frame, marker)? + marker.len();
    let mut rest = &frame[start..];
    let run = take_int(&mut rest, b':')?;
    let participant = take_int(&mut rest, b':')?;
    let seq = take_int(&mut rest, b':')?;
    let sent_us = take_int(&mut rest, b']')?;
    Some(Token {
        run,
        participant: u32::try_from(participant).ok()?,
        seq: u32::try_from(seq).ok()?,
        sent_us,
    })
}

fn take_int(rest: &mut &[u8], end: u8) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, &b) in rest.iter().enumerate() {
        match b {
            b'0'..=b'9' => value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?,
            _ if b == end && i > 0 => {
                *rest = &rest[i + 1..];
                return Some(value);
            }
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ClientFrame;

    /// A server that reads the upgrade request and closes without an answer
    /// (it died mid-handshake) closed the connection: no protocol broken.
    #[tokio::test]
    async fn a_connection_closed_during_the_upgrade_is_connection_closed() {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/connect", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = tcp.read(&mut request).await;
        });
        let sizing = SocketSizing::PARTICIPANT;
        let e = connect(&url, Duration::from_secs(5), sizing, None)
            .await
            .err()
            .expect("no upgrade");
        assert_eq!(e.kind, ErrorKind::ConnectionClosed, "{}", e.message);
    }

    #[test]
    fn message_frames_are_valid_protocol_and_carry_the_token() {
        let mut frames =
            MessageFrames::new("65a1b2c3d4e5f60718293a4b", "127.0.0.1:50001", u64::MAX, 42);
        for seq in [0u32, 7, 123_456] {
            let Message::Text(text) = frames.frame(seq, 9_876_543) else {
                panic!("text frame expected")
            };
            let ClientFrame::SendMessage(m) = serde_json::from_str(text.as_str()).unwrap() else {
                panic!("send_message expected: {}", text.as_str())
            };
            assert_eq!(m.chat_id, "65a1b2c3d4e5f60718293a4b");
            assert!(m.message.starts_with(&format!(
                "connection 127.0.0.1:50001: message number {seq} "
            )));
            let token = find_token(text.as_bytes()).unwrap();
            assert_eq!(
                token,
                Token {
                    run: u64::MAX,
                    participant: 42,
                    seq,
                    sent_us: 9_876_543
                }
            );
        }
    }

    #[test]
    fn chat_ids_are_json_escaped() {
        let mut frames = MessageFrames::new("we\"ird", "[::1]:1", 7, 1);
        let Message::Text(text) = frames.frame(1, 1) else {
            panic!()
        };
        let ClientFrame::SendMessage(m) = serde_json::from_str(text.as_str()).unwrap() else {
            panic!()
        };
        assert_eq!(m.chat_id, "we\"ird");
    }

    #[test]
    fn tokens_are_not_found_in_other_text() {
        assert_eq!(
            find_token(br#"{"content":"Problem description: help"}"#),
            None
        );
        assert_eq!(find_token(b" [mp:1:2:3]"), None, "no run key");
        assert_eq!(find_token(b" [mp:9:1:x:3]"), None);
        assert_eq!(find_token(b" [mp:9::2:3]"), None);
        assert_eq!(find_token(b" [mp:9:99999999999:2:3]"), None);
        assert_eq!(find_token(b" [mp:99999999999999999999:1:2:3]"), None);
    }
}
