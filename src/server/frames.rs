//! The wire side of delivery: frames serialized once into shared bytes, the
//! per-connection queue item, and the fixed and error frames.
//!
//! Frames are handed to each connection's bounded queue with `try_send`, so a
//! client that does not read loses frames (counted in `frames_dropped`)
//! instead of slowing anybody else down; `Utf8Bytes` clones share one buffer,
//! so a `user_message` for two recipients is serialized once.

use std::collections::HashMap;

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use tokio::sync::mpsc::{self, error::TrySendError};

use super::chats::ChatError;
use super::state::ConnSlot;
use super::stats::{bump, Counters};
use crate::protocol::{
    no_access_message, Notice, ServerFrame, INVALID_MESSAGE_PAYLOAD, INVALID_MESSAGE_TYPE,
    MALFORMED_MESSAGE, NO_NEW_CHATS,
};

/// A frame for one connection's writer.
#[derive(Debug)]
pub(crate) enum Out {
    /// A pre-serialized text frame.
    Text(Utf8Bytes),
    /// Send a close frame with this code and reason, then stop.
    Close(u16, &'static str),
    /// Stop without a close frame: the socket is dropped, the client sees
    /// the TCP connection end (1006), as with every close of the real server.
    Drop,
}

/// An envelope that borrows its payload, so the hot `user_message` path can
/// serialize without cloning the message (same bytes as [`ServerFrame`]).
#[derive(Serialize)]
pub(crate) struct Envelope<'a, T> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) payload: &'a T,
}

/// Serializes a frame for the wire, with the newline Go's `WriteJSON` ends
/// every frame with.
pub(crate) fn encode<T: Serialize>(frame: &T) -> Utf8Bytes {
    match serde_json::to_string(frame) {
        Ok(mut s) => {
            s.push('\n');
            Utf8Bytes::from(s)
        }
        // Unreachable with these types (no maps with non-string keys); say so
        // on the wire rather than panic.
        Err(e) => {
            tracing::error!("cannot serialize a frame: {e}");
            Utf8Bytes::from_static(
                "{\"type\":\"error\",\"payload\":{\"message\":\"internal error\"}}\n",
            )
        }
    }
}

/// An `error` frame with this text.
pub(crate) fn error_frame(message: impl Into<String>) -> Utf8Bytes {
    encode(&ServerFrame::Error(Notice {
        message: message.into(),
    }))
}

/// Queues `frame` on every open connection of `user`.
pub(crate) fn deliver(
    conns: &HashMap<i64, Vec<ConnSlot>>,
    stats: &Counters,
    user: i64,
    frame: &Utf8Bytes,
) {
    let Some(slots) = conns.get(&user) else {
        return;
    };
    for slot in slots {
        match slot.tx.try_send(Out::Text(frame.clone())) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => bump(&stats.frames_dropped),
            // The connection is going away; it unregisters itself.
            Err(TrySendError::Closed(_)) => {}
        }
    }
}

/// Queues `frame` on one connection (a reply to its own request).
pub(crate) fn reply(slot_tx: &mpsc::Sender<Out>, stats: &Counters, frame: Utf8Bytes) {
    if let Err(TrySendError::Full(_)) = slot_tx.try_send(Out::Text(frame)) {
        bump(&stats.frames_dropped);
    }
}

/// The `error` frame for a refused chat operation.
pub(crate) fn chat_error(e: &ChatError, chat_id: &str) -> Utf8Bytes {
    match e {
        ChatError::NoAccess => error_frame(no_access_message(chat_id)),
    }
}

/// `error` text before an idle connection is closed.
pub(crate) const IDLE_TIMEOUT_MESSAGE: &str = "timeout";

/// Frames with fixed content, serialized once per server.
pub(crate) struct FixedFrames {
    pub(crate) malformed: Utf8Bytes,
    pub(crate) invalid_type: Utf8Bytes,
    pub(crate) invalid_payload: Utf8Bytes,
    pub(crate) no_new_chats: Utf8Bytes,
    pub(crate) timeout: Utf8Bytes,
}

impl FixedFrames {
    /// Serializes them.
    pub(crate) fn new() -> Self {
        FixedFrames {
            malformed: error_frame(MALFORMED_MESSAGE),
            invalid_type: error_frame(INVALID_MESSAGE_TYPE),
            invalid_payload: error_frame(INVALID_MESSAGE_PAYLOAD),
            no_new_chats: encode(&ServerFrame::Info(Notice {
                message: NO_NEW_CHATS.into(),
            })),
            timeout: error_frame(IDLE_TIMEOUT_MESSAGE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Message;

    #[test]
    fn borrowed_envelope_matches_server_frame() {
        let m = Message {
            id: "0".repeat(24),
            chat_id: "1".repeat(24),
            author_id: 7,
            from_organizer: 1,
            content: "hi \"there\"".into(),
            time_sent: "2024-01-01T00:00:00.000Z".into(),
            lat: Some(1.5),
            lng: None,
        };
        let ours = encode(&Envelope {
            kind: "user_message",
            payload: &m,
        });
        let theirs = serde_json::to_string(&ServerFrame::UserMessage(m)).unwrap();
        assert_eq!(ours.as_str(), format!("{theirs}\n"));
    }

    #[test]
    fn error_frames_use_the_error_envelope() {
        assert_eq!(
            error_frame("x").as_str(),
            "{\"type\":\"error\",\"payload\":{\"message\":\"x\"}}\n"
        );
    }
}
