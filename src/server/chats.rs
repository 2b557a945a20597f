//! Chat operations of the Messenger API (`start_chat`, `get_chats`,
//! `send_message`, `get_chat_history`, `close_chat`) and delivery of their
//! frames to every open connection of the users concerned.
//!
//! Frames are serialized once and the bytes shared between recipients; they
//! are handed to each connection's bounded queue with `try_send`, so a client
//! that does not read loses frames (counted) instead of slowing anyone down.

use std::collections::HashMap;

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use tokio::sync::mpsc::error::TrySendError;

use super::ids::{self, ObjectId};
use super::state::{ChatRecord, ConnSlot, Hub, Out, Principal, StoredMessage};
use super::stats::{add, bump, Counters};
use crate::protocol::{
    Chat, ChatHistory, ChatList, ChatRef, Message, Notice, ServerFrame, CHAT_ROLES,
    PROBLEM_DESCRIPTION_PREFIX,
};

/// Why a connection's authorization frame was refused.
#[derive(Debug, PartialEq)]
pub(crate) enum AttachError {
    /// No user holds this token.
    UnknownToken,
    /// An organizer whose role may not chat.
    WrongRole,
}

/// Why a chat operation was refused; each becomes an `error` frame.
#[derive(Debug, PartialEq)]
pub(crate) enum ChatError {
    /// No such chat, or the caller is not in it.
    NoAccess,
    /// `send_message` into a chat that was closed.
    Closed,
    /// `close_chat` of a chat that was already closed.
    AlreadyClosed,
}

/// An envelope that borrows its payload, so the hot `user_message` path can
/// serialize without cloning the message (same bytes as [`ServerFrame`]).
#[derive(Serialize)]
pub(crate) struct Envelope<'a, T> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) payload: &'a T,
}

/// Serializes a frame for the wire.
pub(crate) fn encode<T: Serialize>(frame: &T) -> Utf8Bytes {
    match serde_json::to_string(frame) {
        Ok(s) => Utf8Bytes::from(s),
        // Unreachable with these types (no maps with non-string keys); say so
        // on the wire rather than panic.
        Err(e) => {
            tracing::error!("cannot serialize a frame: {e}");
            Utf8Bytes::from_static(r#"{"type":"error","payload":{"message":"internal error"}}"#)
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
fn deliver(conns: &HashMap<i64, Vec<ConnSlot>>, stats: &Counters, user: i64, frame: &Utf8Bytes) {
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
pub(crate) fn reply(slot_tx: &tokio::sync::mpsc::Sender<Out>, stats: &Counters, frame: Utf8Bytes) {
    if let Err(TrySendError::Full(_)) = slot_tx.try_send(Out::Text(frame)) {
        bump(&stats.frames_dropped);
    }
}

impl ChatRecord {
    fn to_wire(&self, id: &ObjectId) -> Chat {
        Chat {
            id: ids::to_hex(id),
            agency_id: self.agency,
            event_id: self.event,
            organizer_id: self.organizer,
            participant_id: self.participant,
            ended: u8::from(self.time_end.is_some()),
            lat_start: None,
            lng_start: None,
            time_start: ids::rfc3339(self.time_start),
            // The contract has no null here: an open chat reports its start.
            time_end: ids::rfc3339(self.time_end.unwrap_or(self.time_start)),
        }
    }

    fn has_member(&self, user: i64) -> bool {
        self.organizer == user || self.participant == user
    }
}

impl StoredMessage {
    /// The wire form of a message of chat `chat_id`.
    pub(crate) fn to_wire(&self, chat_id: &str) -> Message {
        let (lat, lng) = self.location.as_deref().copied().unwrap_or((None, None));
        Message {
            id: ids::to_hex(&self.id),
            chat_id: chat_id.to_string(),
            author_id: self.author,
            from_organizer: u8::from(self.from_organizer),
            content: self.content.to_string(),
            time_sent: ids::rfc3339(self.time_sent),
            lat,
            lng,
        }
    }
}

impl Hub {
    /// Authorizes a connection by its token and, if the user may chat,
    /// registers it for delivery (atomically, so a concurrent reset cannot
    /// leave a connection registered for a forgotten participant).
    pub(crate) fn attach(&self, token: &str, slot: ConnSlot) -> Result<Principal, AttachError> {
        let mut inner = self.lock();
        let principal = *inner.tokens.get(token).ok_or(AttachError::UnknownToken)?;
        if let Principal::Organizer { role, .. } = principal {
            if !CHAT_ROLES.contains(&role) {
                return Err(AttachError::WrongRole);
            }
        }
        inner.conns.entry(principal.id()).or_default().push(slot);
        Ok(principal)
    }

    /// Forgets a connection (it closed).
    pub(crate) fn unregister(&self, user: i64, conn: u64) {
        let mut inner = self.lock();
        if let Some(slots) = inner.conns.get_mut(&user) {
            slots.retain(|s| s.id != conn);
            if slots.is_empty() {
                inner.conns.remove(&user);
            }
        }
    }

    /// `start_chat` of an organizer: pops the agency's oldest request, creates
    /// the chat, sends `new_chat` and the problem description to both sides.
    /// `false` when the queue was empty.
    pub(crate) fn start_chat(&self, organizer: i64, agency: i64) -> bool {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let Some(request) = inner.queues.get_mut(&agency).and_then(|q| q.pop_front()) else {
            return false;
        };
        let chat_id = self.ids.next();
        let now = ids::unix_millis();
        let description = StoredMessage {
            id: self.ids.next(),
            author: request.participant,
            from_organizer: false,
            time_sent: now,
            content: format!("{PROBLEM_DESCRIPTION_PREFIX}{}", request.description).into(),
            location: None,
        };
        let chat = ChatRecord {
            agency,
            event: request.event,
            organizer,
            participant: request.participant,
            time_start: now,
            time_end: None,
            messages: Vec::new(),
        };
        let new_chat = encode(&ServerFrame::NewChat(chat.to_wire(&chat_id)));
        let hex = ids::to_hex(&chat_id);
        let first = encode(&Envelope {
            kind: "user_message",
            payload: &description.to_wire(&hex),
        });
        let mut chat = chat;
        chat.messages.push(description);
        inner.chats.insert(chat_id, chat);
        for user in [organizer, request.participant] {
            inner.chats_by_user.entry(user).or_default().push(chat_id);
        }
        for user in [organizer, request.participant] {
            deliver(&inner.conns, &self.stats, user, &new_chat);
        }
        for user in [organizer, request.participant] {
            deliver(&inner.conns, &self.stats, user, &first);
        }
        drop(guard);
        bump(&self.stats.chats_started);
        bump(&self.stats.messages_stored);
        true
    }

    /// `get_chats`: the caller's chats, oldest first.
    pub(crate) fn chats_of(&self, user: i64) -> ChatList {
        let inner = self.lock();
        let chats = inner
            .chats_by_user
            .get(&user)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| inner.chats.get(id).map(|c| c.to_wire(id)))
                    .collect()
            })
            .unwrap_or_default();
        ChatList { chats }
    }

    /// `send_message`: stores `message` in `chat` and delivers the already
    /// serialized `frame` to the chat's organizer and participant.
    pub(crate) fn post_message(
        &self,
        sender: i64,
        chat: &ObjectId,
        message: StoredMessage,
        frame: &Utf8Bytes,
    ) -> Result<(), ChatError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let record = inner
            .chats
            .get_mut(chat)
            .filter(|c| c.has_member(sender))
            .ok_or(ChatError::NoAccess)?;
        if record.time_end.is_some() {
            return Err(ChatError::Closed);
        }
        record.messages.push(message);
        let (organizer, participant) = (record.organizer, record.participant);
        deliver(&inner.conns, &self.stats, organizer, frame);
        deliver(&inner.conns, &self.stats, participant, frame);
        drop(guard);
        add(&self.stats.messages_stored, 1);
        Ok(())
    }

    /// `get_chat_history` of a chat the caller is in.
    pub(crate) fn history(&self, user: i64, chat: &ObjectId) -> Result<ChatHistory, ChatError> {
        let inner = self.lock();
        let record = inner
            .chats
            .get(chat)
            .filter(|c| c.has_member(user))
            .ok_or(ChatError::NoAccess)?;
        let chat_id = ids::to_hex(chat);
        let messages = record
            .messages
            .iter()
            .map(|m| m.to_wire(&chat_id))
            .collect();
        Ok(ChatHistory { chat_id, messages })
    }

    /// `close_chat` by the chat's organizer: sends `closed_chat` to both sides
    /// and lets the participant request help for the event again.
    pub(crate) fn close_chat(
        &self,
        organizer: Principal,
        chat: &ObjectId,
    ) -> Result<(), ChatError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let record = inner
            .chats
            .get_mut(chat)
            .filter(|c| c.organizer == organizer.id())
            .ok_or(ChatError::NoAccess)?;
        if record.time_end.is_some() {
            return Err(ChatError::AlreadyClosed);
        }
        record.time_end = Some(ids::unix_millis());
        let (participant, event) = (record.participant, record.event);
        inner.open_requests.remove(&(participant, event));
        let frame = encode(&ServerFrame::ClosedChat(ChatRef {
            chat_id: ids::to_hex(chat),
        }));
        deliver(&inner.conns, &self.stats, organizer.id(), &frame);
        deliver(&inner.conns, &self.stats, participant, &frame);
        drop(guard);
        bump(&self.stats.chats_closed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(ours.as_str(), theirs);
    }

    #[test]
    fn error_frames_use_the_error_envelope() {
        assert_eq!(
            error_frame("x").as_str(),
            r#"{"type":"error","payload":{"message":"x"}}"#
        );
    }
}
