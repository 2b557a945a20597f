//! The Messenger API's WebSocket (`GET /connect`): admission under the
//! capacity knobs, the authorization frame, the envelope dispatch of
//! PROTOCOL.md §2, and one writer task per connection.
//!
//! Each connection has a bounded queue of pre-serialized frames drained by its
//! own writer, so a slow reader only ever loses its own frames; the reader side
//! never blocks on anybody's socket but its own.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::capacity::Admission;
use super::chats::{AttachError, ChatError};
use super::faults::{self, Post};
use super::frames::{chat_error, encode, reply, Envelope, Out};
use super::rest::{api_error, not_an_upgrade};
use super::state::{ConnSlot, Principal, StoredMessage};
use super::stats::{add, bump, OpenConnection};
use super::App;
use super::{envelope, ids};
use crate::protocol::{Message, ServerFrame};

/// Socket read buffer per connection: frames are small, connections many.
const READ_BUFFER: usize = 4 * 1024;
/// Bytes buffered before tungstenite writes to the socket (flushed per batch anyway).
const WRITE_BUFFER: usize = 8 * 1024;
/// Largest frame a client may send.
const MAX_MESSAGE: usize = 1024 * 1024;
/// Frames a writer sends before it flushes.
const WRITE_BATCH: u64 = 64;
/// How long a closing connection's writer may take to send its close frame.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// How a connection ended.
enum End {
    /// The client closed, or the socket failed: nothing to say.
    Gone,
    /// Authorization failed: the real server closes TCP, no frame at all.
    Refused(&'static str),
    /// Idle too long: an `error` "timeout", then TCP closes.
    Idle,
}

/// `GET /connect`: waits for admission, then upgrades.
pub(crate) async fn connect(
    State(app): State<Arc<App>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(ws) = ws else {
        return not_an_upgrade();
    };
    let permit = match app.gate.admit(&app.hub.stats, &app.cancel).await {
        Admission::Admitted(permit) => permit,
        Admission::ShuttingDown => {
            return api_error(StatusCode::SERVICE_UNAVAILABLE, "server is shutting down")
        }
    };
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            // Held for the connection's life: the max_connections slot.
            let _permit = permit;
            serve_connection(app, socket).await;
        })
}

/// Runs one upgraded connection to its end.
async fn serve_connection(app: Arc<App>, socket: WebSocket) {
    let _open = OpenConnection::new(&app.hub.stats);
    let _tracked = app.tracker.token();
    let id = app.next_conn.fetch_add(1, Ordering::Relaxed);
    let (sink, stream) = socket.split();
    let (tx, rx) = mpsc::channel(app.send_queue.max(1));
    let mut writer = tokio::spawn(write_frames(sink, rx, Arc::clone(&app)));
    let close = app.cancel.child_token();
    let mut conn = Conn {
        app: &app,
        id,
        tx: tx.clone(),
        stream,
        close: close.clone(),
        user: None,
    };
    let end = tokio::select! {
        biased;
        () = close.cancelled() => None,
        end = conn.run() => Some(end),
    };
    if let Some(user) = conn.user {
        app.hub.unregister(user, id);
    }
    drop(conn);
    let last = match end {
        // Cancelled: either the whole server stops, or a reset removed this
        // participant. Both are the server going away, for this client: the
        // test hooks say so with a close frame (the real server has neither).
        None if app.cancel.is_cancelled() => Some(Out::Close(1001, "server shutting down")),
        None => Some(Out::Close(1001, "state reset")),
        Some(End::Gone) => None,
        Some(End::Refused(reason)) => {
            bump(&app.hub.stats.auth_failures);
            tracing::debug!(conn = id, reason, "WebSocket authorization refused");
            Some(Out::Drop)
        }
        Some(End::Idle) => {
            bump(&app.hub.stats.idle_closes);
            let _ = tx.try_send(Out::Text(app.frames.timeout.clone()));
            Some(Out::Drop)
        }
    };
    if let Some(out) = last {
        // If the queue is full the writer closes the socket once it is drained.
        let _ = tx.try_send(out);
    }
    drop(tx);
    if tokio::time::timeout(CLOSE_GRACE, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}

/// Drains a connection's queue into its socket, flushing once per batch.
async fn write_frames(
    mut sink: SplitSink<WebSocket, WsMessage>,
    mut rx: mpsc::Receiver<Out>,
    app: Arc<App>,
) {
    let frames_out = &app.hub.stats.frames_out;
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        let mut sent = 0u64;
        while let Some(out) = next.take() {
            match out {
                Out::Text(text) => {
                    if sink.feed(WsMessage::Text(text)).await.is_err() {
                        add(frames_out, sent);
                        return;
                    }
                    sent += 1;
                }
                Out::Close(code, reason) => {
                    let frame = CloseFrame {
                        code,
                        reason: Utf8Bytes::from_static(reason),
                    };
                    let _ = sink.send(WsMessage::Close(Some(frame))).await;
                    add(frames_out, sent);
                    return;
                }
                Out::Drop => {
                    // Dropping both halves closes the TCP connection.
                    let _ = sink.flush().await;
                    add(frames_out, sent);
                    return;
                }
            }
            if sent < WRITE_BATCH {
                next = rx.try_recv().ok();
            }
        }
        let flushed = sink.flush().await;
        add(frames_out, sent);
        if flushed.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}

/// The reading side of one connection.
struct Conn<'a> {
    app: &'a Arc<App>,
    id: u64,
    tx: mpsc::Sender<Out>,
    stream: SplitStream<WebSocket>,
    close: CancellationToken,
    /// Set once authorized and registered for delivery.
    user: Option<i64>,
}

impl Conn<'_> {
    async fn run(&mut self) -> End {
        let principal = match self.authorize().await {
            Ok(p) => p,
            Err(end) => return end,
        };
        self.user = Some(principal.id());
        tracing::debug!(
            conn = self.id,
            user = principal.id(),
            "WebSocket authorized"
        );
        self.serve(principal).await
    }

    /// Waits for the authorization frame (text or binary) and registers the
    /// connection.
    async fn authorize(&mut self) -> Result<Principal, End> {
        let deadline = Instant::now() + self.app.auth_timeout;
        let data = loop {
            let msg = match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Err(End::Refused("authorization timeout")),
                Ok(None | Some(Err(_))) => return Err(End::Gone),
                Ok(Some(Ok(msg))) => msg,
            };
            match msg {
                WsMessage::Text(text) => break Bytes::from(text),
                WsMessage::Binary(data) => break data,
                WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
                WsMessage::Close(_) => return Err(End::Gone),
            }
        };
        bump(&self.app.hub.stats.frames_in);
        let Some(token) = envelope::auth_token(&data) else {
            return Err(End::Refused("malformed authorization"));
        };
        let slot = ConnSlot {
            id: self.id,
            tx: self.tx.clone(),
            close: self.close.clone(),
        };
        match self.app.hub.attach(&token, slot) {
            Ok(p) => Ok(p),
            Err(AttachError::UnknownToken) => Err(End::Refused("unauthorized")),
            Err(AttachError::WrongRole) => Err(End::Refused("role may not chat")),
        }
    }

    /// Reads envelopes until the client goes away or stays silent for the
    /// idle timeout.
    async fn serve(&mut self, me: Principal) -> End {
        let idle = self.app.idle_timeout;
        let mut last = Instant::now();
        // One timer re-armed lazily from `last`, instead of one per frame.
        let sleep = tokio::time::sleep_until(last + idle);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                biased;
                msg = self.stream.next() => {
                    let msg = match msg {
                        None | Some(Err(_)) => return End::Gone,
                        Some(Ok(msg)) => msg,
                    };
                    last = Instant::now();
                    match msg {
                        // Gorilla reads binary frames like text.
                        WsMessage::Text(text) => self.frame(me, text.as_bytes()).await,
                        WsMessage::Binary(data) => self.frame(me, &data).await,
                        WsMessage::Ping(_) | WsMessage::Pong(_) => {}
                        WsMessage::Close(_) => return End::Gone,
                    }
                }
                () = &mut sleep => {
                    if last + idle <= Instant::now() {
                        return End::Idle;
                    }
                    sleep.as_mut().reset(last + idle);
                }
            }
        }
    }

    fn reply(&self, frame: Utf8Bytes) {
        reply(&self.tx, &self.app.hub.stats, frame);
    }

    /// Counts and dispatches one data frame.
    async fn frame(&self, me: Principal, data: &[u8]) {
        bump(&self.app.hub.stats.frames_in);
        match envelope::envelope(data) {
            Some(env) => self.handle(me, &env.kind, env.payload.as_deref()).await,
            None => self.reply(self.app.frames.malformed.clone()),
        }
    }

    /// Dispatches one envelope by its type; what a role may not send is an
    /// unknown type to it, as in the real server.
    async fn handle(&self, me: Principal, kind: &str, payload: Option<&str>) {
        let frames = &self.app.frames;
        let hub = &self.app.hub;
        let organizer = match me {
            Principal::Organizer { id, agency, .. } => Some((id, agency)),
            Principal::Participant { .. } => None,
        };
        match (kind, organizer) {
            // Its payload is not read at all.
            ("start_chat", Some((id, agency))) => {
                if !hub.start_chat(id, agency) {
                    self.reply(frames.no_new_chats.clone());
                }
            }
            ("get_chats", _) => self.reply(encode(&ServerFrame::Chats(hub.chats_of(me)))),
            ("send_message", _) => self.send_message(me, payload).await,
            ("get_chat_history", _) => {
                let Some(chat_id) = envelope::chat_ref(payload) else {
                    return self.reply(frames.invalid_payload.clone());
                };
                let result = match ids::parse_hex(&chat_id) {
                    Some(chat) => hub.history(me.id(), &chat),
                    None => Err(ChatError::NoAccess),
                };
                match result {
                    Ok(h) => self.reply(encode(&ServerFrame::ChatHistory(h))),
                    Err(e) => self.reply(chat_error(&e, &chat_id)),
                }
            }
            ("close_chat", Some(_)) => {
                let Some(chat_id) = envelope::chat_ref(payload) else {
                    return self.reply(frames.invalid_payload.clone());
                };
                let result = match ids::parse_hex(&chat_id) {
                    Some(chat) => hub.close_chat(me, &chat),
                    None => Err(ChatError::NoAccess),
                };
                if let Err(e) = result {
                    self.reply(chat_error(&e, &chat_id));
                }
            }
            _ => self.reply(frames.invalid_type.clone()),
        }
    }

    /// `send_message`: waits for the rate limit, serializes the `user_message`
    /// once, stores and delivers it.
    async fn send_message(&self, me: Principal, payload: Option<&str>) {
        let Some(p) = envelope::send_message(payload) else {
            return self.reply(self.app.frames.invalid_payload.clone());
        };
        if let Some(limiter) = &self.app.limiter {
            if limiter.acquire().await {
                bump(&self.app.hub.stats.messages_throttled);
            }
        }
        let Some(chat) = ids::parse_hex(&p.chat_id) else {
            return self.reply(chat_error(&ChatError::NoAccess, &p.chat_id));
        };
        let id = self.app.hub.ids.next();
        let now = ids::unix_millis();
        let from_organizer = matches!(me, Principal::Organizer { .. });
        // The real server keeps a position for participants' messages only.
        let (lat, lng) = if from_organizer {
            (None, None)
        } else {
            (p.lat, p.lng)
        };
        let wire = Message {
            id: ids::to_hex(&id),
            chat_id: p.chat_id,
            author_id: me.id(),
            from_organizer: u8::from(from_organizer),
            content: p.message,
            time_sent: ids::rfc3339(now),
            lat,
            lng,
        };
        let frame = encode(&Envelope {
            kind: "user_message",
            payload: &wire,
        });
        let location = (lat.is_some() || lng.is_some()).then(|| Box::new((lat, lng)));
        let stored = StoredMessage {
            id,
            author: me.id(),
            from_organizer,
            time_sent: now,
            content: wire.content.into_boxed_str(),
            location,
        };
        let post = Post {
            sender: me.id(),
            chat,
            chat_id: wire.chat_id,
            message: stored,
            frame,
        };
        faults::post(self.app, &self.tx, post);
    }
}
