//! Chat operations of the Messenger API (`start_chat`, `get_chats`,
//! `send_message`, `get_chat_history`, `close_chat`) on the shared state, and
//! the registration of connections they deliver to.
//!
//! Each operation takes the state lock once, changes what it must and queues
//! its frames (see `frames.rs`) before letting go, so every connection sees
//! the frames of one chat in the order the state changed.

use axum::extract::ws::Utf8Bytes;

use super::frames::{deliver, encode, Envelope};
use super::ids::{self, ObjectId};
use super::state::{ChatRecord, ConnSlot, Hub, Principal, StoredMessage};
use super::stats::{add, bump};
use crate::protocol::{
    Chat, ChatHistory, ChatList, ChatRef, Message, ServerFrame, CHAT_ROLES,
    PROBLEM_DESCRIPTION_PREFIX,
};

/// `timeEnd` of every chat, open or closed, as the real API sends it.
pub(crate) const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

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
            // The real API never sets it: closing a chat only sets `ended`.
            time_end: ZERO_TIME.into(),
            participant: None,
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
