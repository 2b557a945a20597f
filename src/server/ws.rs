//! The Messenger API's WebSocket (`GET /connect`): admission under the
//! capacity knobs, the authorization frame, the envelope dispatch of
//! PROTOCOL.md §2, and one writer task per connection.
//!
//! Each connection has a bounded queue of pre-serialized frames drained by its
//! own writer, so a slow reader only ever loses its own frames; the reader side
//! never blocks on anybody's socket but its own.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::de::IgnoredAny;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::capacity::Admission;
use super::chats::{AttachError, ChatError};
use super::faults::{self, Post};
use super::frames::{chat_error, encode, reply, Envelope, Out};
use super::ids;
use super::rest::api_error;
use super::state::{ConnSlot, Principal, StoredMessage};
use super::stats::{add, bump, OpenConnection};
use super::App;
use crate::protocol::{AuthFrame, ChatRef, Message, RawEnvelope, SendMessage, ServerFrame};

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

/// How a connection ended, and the close frame it gets (if any).
enum End {
    /// The client closed, or the socket failed: nothing to say.
    Gone,
    /// Authorization failed: policy violation.
    Refused(&'static str),
    /// A participant was idle too long.
    Idle,
}

/// `GET /connect`: waits for admission, then upgrades.
pub(crate) async fn connect(State(app): State<Arc<App>>, ws: WebSocketUpgrade) -> Response {
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
    let frame = match end {
        // Cancelled: either the whole server stops, or a reset removed this
        // participant. Both are the server going away, for this client.
        None if app.cancel.is_cancelled() => Some((1001, "server shutting down")),
        None => Some((1001, "state reset")),
        Some(End::Gone) => None,
        Some(End::Refused(reason)) => {
            bump(&app.hub.stats.auth_failures);
            tracing::debug!(conn = id, reason, "WebSocket authorization refused");
            Some((1008, reason))
        }
        Some(End::Idle) => {
            bump(&app.hub.stats.idle_closes);
            Some((1000, "idle timeout"))
        }
    };
    if let Some((code, reason)) = frame {
        // If the queue is full the writer closes the socket once it is drained.
        let _ = tx.try_send(Out::Close(code, reason));
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

    /// Waits for the authorization frame and registers the connection.
    async fn authorize(&mut self) -> Result<Principal, End> {
        let deadline = Instant::now() + self.app.auth_timeout;
        let text = loop {
            let msg = match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Err(End::Refused("authorization timeout")),
                Ok(None | Some(Err(_))) => return Err(End::Gone),
                Ok(Some(Ok(msg))) => msg,
            };
            match msg {
                WsMessage::Text(text) => break text,
                WsMessage::Binary(_) => return Err(End::Refused("malformed authorization")),
                WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
                WsMessage::Close(_) => return Err(End::Gone),
            }
        };
        bump(&self.app.hub.stats.frames_in);
        let Ok(frame) = serde_json::from_str::<AuthFrame>(text.as_str()) else {
            return Err(End::Refused("malformed authorization"));
        };
        let Some(token) = frame.authorization.strip_prefix("Bearer ") else {
            return Err(End::Refused("malformed authorization"));
        };
        let slot = ConnSlot {
            id: self.id,
            tx: self.tx.clone(),
            close: self.close.clone(),
        };
        match self.app.hub.attach(token.trim(), slot) {
            Ok(p) => Ok(p),
            Err(AttachError::UnknownToken) => Err(End::Refused("unauthorized")),
            Err(AttachError::WrongRole) => Err(End::Refused("role may not chat")),
        }
    }

    /// Reads envelopes until the client goes away or, for a participant,
    /// stays silent for the idle timeout.
    async fn serve(&mut self, me: Principal) -> End {
        let idle = match me {
            Principal::Participant { .. } => Some(self.app.idle_timeout),
            Principal::Organizer { .. } => None,
        };
        let mut last = Instant::now();
        // One timer re-armed lazily from `last`, instead of one per frame.
        let sleep = tokio::time::sleep_until(last + idle.unwrap_or_default());
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                biased;
                msg = self.stream.next() => {
                    let msg = match msg {
                        None | Some(Err(_)) => return End::Gone,
                        Some(Ok(msg)) => msg,
                    };
                    if idle.is_some() {
                        last = Instant::now();
                    }
                    match msg {
                        WsMessage::Text(text) => {
                            bump(&self.app.hub.stats.frames_in);
                            self.handle(me, text.as_str()).await;
                        }
                        WsMessage::Binary(_) => {
                            bump(&self.app.hub.stats.frames_in);
                            self.reply(self.app.frames.malformed.clone());
                        }
                        WsMessage::Ping(_) | WsMessage::Pong(_) => {}
                        WsMessage::Close(_) => return End::Gone,
                    }
                }
                () = &mut sleep, if idle.is_some() => {
                    let limit = idle.unwrap_or_default();
                    if last + limit <= Instant::now() {
                        return End::Idle;
                    }
                    sleep.as_mut().reset(last + limit);
                }
            }
        }
    }

    fn reply(&self, frame: Utf8Bytes) {
        reply(&self.tx, &self.app.hub.stats, frame);
    }

    /// Dispatches one text frame by its envelope type.
    async fn handle(&self, me: Principal, text: &str) {
        let frames = &self.app.frames;
        let env: RawEnvelope = match serde_json::from_str(text) {
            Ok(env) => env,
            Err(_) => {
                // JSON that is not an envelope has no valid type; text that is
                // not JSON at all is malformed.
                let is_json = serde_json::from_str::<IgnoredAny>(text).is_ok();
                self.reply(if is_json {
                    frames.invalid_type.clone()
                } else {
                    frames.malformed.clone()
                });
                return;
            }
        };
        let payload = env.payload.map_or("\"\"", |p| p.get());
        let hub = &self.app.hub;
        match &*env.kind {
            "start_chat" => match me {
                Principal::Organizer { id, agency, .. } => {
                    if !hub.start_chat(id, agency) {
                        self.reply(frames.no_new_chats.clone());
                    }
                }
                Principal::Participant { .. } => self.reply(frames.only_organizers_start.clone()),
            },
            "get_chats" => self.reply(encode(&ServerFrame::Chats(hub.chats_of(me.id())))),
            "send_message" => self.send_message(me, payload).await,
            "get_chat_history" => {
                let Ok(r) = serde_json::from_str::<ChatRef>(payload) else {
                    return self.reply(frames.malformed.clone());
                };
                let result = match ids::parse_hex(&r.chat_id) {
                    Some(chat) => hub.history(me.id(), &chat),
                    None => Err(ChatError::NoAccess),
                };
                match result {
                    Ok(h) => self.reply(encode(&ServerFrame::ChatHistory(h))),
                    Err(e) => self.reply(chat_error(&e, &r.chat_id)),
                }
            }
            "close_chat" => {
                let Ok(r) = serde_json::from_str::<ChatRef>(payload) else {
                    return self.reply(frames.malformed.clone());
                };
                if matches!(me, Principal::Participant { .. }) {
                    return self.reply(frames.only_organizers_close.clone());
                }
                let result = match ids::parse_hex(&r.chat_id) {
                    Some(chat) => hub.close_chat(me, &chat),
                    None => Err(ChatError::NoAccess),
                };
                if let Err(e) = result {
                    self.reply(chat_error(&e, &r.chat_id));
                }
            }
            _ => self.reply(frames.invalid_type.clone()),
        }
    }

    /// `send_message`: waits for the rate limit, serializes the `user_message`
    /// once, stores and delivers it.
    async fn send_message(&self, me: Principal, payload: &str) {
        let Ok(p) = serde_json::from_str::<SendMessage>(payload) else {
            return self.reply(self.app.frames.malformed.clone());
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
        let wire = Message {
            id: ids::to_hex(&id),
            chat_id: p.chat_id,
            author_id: me.id(),
            from_organizer: u8::from(from_organizer),
            content: p.message,
            time_sent: ids::rfc3339(now),
            lat: p.lat,
            lng: p.lng,
        };
        let frame = encode(&Envelope {
            kind: "user_message",
            payload: &wire,
        });
        let location =
            (wire.lat.is_some() || wire.lng.is_some()).then(|| Box::new((wire.lat, wire.lng)));
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
