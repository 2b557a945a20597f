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
use super::state::{ChatRecord, ConnSlot, Hub, Inner, Principal, StoredMessage};
use super::stats::{add, bump};
use crate::protocol::{
    Chat, ChatHistory, ChatList, ChatParticipant, ChatRef, Message, ServerFrame, CHAT_ROLES,
    PROBLEM_DESCRIPTION_PREFIX,
};

/// The participant object of a chat; `None` if the participant is gone (a
/// reset), as the real API leaves it out when its look-up fails.
fn participant_object(inner: &Inner, id: i64) -> Option<ChatParticipant> {
    inner.participants.get(&id).map(|p| ChatParticipant {
        id,
        email: p.email.clone(),
        phone_number: p.phone_number.clone(),
    })
}

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

/// Why a chat operation was refused; it becomes the `error` frame
/// "you have no access to chat <id>".
#[derive(Debug, PartialEq)]
pub(crate) enum ChatError {
    /// No such chat, the caller is not in it, or it is closed: the real API
    /// gives one answer for all three.
    NoAccess,
}

impl ChatRecord {
    /// The wire form; `participant` is the object organizers (and, in
    /// `new_chat`, both sides) see.
    fn to_wire(&self, id: &ObjectId, participant: Option<ChatParticipant>) -> Chat {
        Chat {
            id: ids::to_hex(id),
            agency_id: self.agency,
            event_id: self.event,
            organizer_id: self.organizer,
            participant_id: self.participant,
            ended: u8::from(self.time_end.is_some()),
            lat_start: self.position.0,
            lng_start: self.position.1,
            time_start: ids::rfc3339(self.time_start),
            // The real API never sets it: closing a chat only sets `ended`.
            time_end: ZERO_TIME.into(),
            participant,
        }
    }

    fn is_open(&self) -> bool {
        self.time_end.is_none()
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
    /// the chat, sends `new_chat` (with the participant object) to both sides
    /// and, when the request had a description, the participant's
    /// "Problem description: ..." message. `false` when the queue was empty.
    pub(crate) fn start_chat(&self, organizer: i64, agency: i64) -> bool {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let Some(request) = inner.queues.get_mut(&agency).and_then(|q| q.pop_front()) else {
            return false;
        };
        let chat_id = self.ids.next();
        let now = ids::unix_millis();
        let mut chat = ChatRecord {
            agency,
            event: request.event,
            organizer,
            participant: request.participant,
            time_start: now,
            position: request.position,
            time_end: None,
            messages: Vec::new(),
        };
        let who = participant_object(inner, request.participant);
        let new_chat = encode(&ServerFrame::NewChat(chat.to_wire(&chat_id, who)));
        let first = (!request.description.is_empty()).then(|| StoredMessage {
            id: self.ids.next(),
            author: request.participant,
            from_organizer: false,
            time_sent: now,
            content: format!("{PROBLEM_DESCRIPTION_PREFIX}{}", request.description).into(),
            location: None,
        });
        let first_frame = first.as_ref().map(|m| {
            encode(&Envelope {
                kind: "user_message",
                payload: &m.to_wire(&ids::to_hex(&chat_id)),
            })
        });
        chat.messages.extend(first);
        inner.chats.insert(chat_id, chat);
        for user in [organizer, request.participant] {
            inner.chats_by_user.entry(user).or_default().push(chat_id);
        }
        for frame in std::iter::once(&new_chat).chain(first_frame.as_ref()) {
            deliver(&inner.conns, &self.stats, organizer, frame);
            deliver(&inner.conns, &self.stats, request.participant, frame);
        }
        drop(guard);
        bump(&self.stats.chats_started);
        if first_frame.is_some() {
            bump(&self.stats.messages_stored);
        }
        true
    }

    /// `get_chats`: the caller's open chats, newest first (chats started in
    /// the same millisecond in the order they started); an organizer's carry
    /// the participant object.
    pub(crate) fn chats_of(&self, me: Principal) -> ChatList {
        let inner = self.lock();
        let organizer = matches!(me, Principal::Organizer { .. });
        let mut open: Vec<(&ObjectId, &ChatRecord)> = inner
            .chats_by_user
            .get(&me.id())
            .into_iter()
            .flatten()
            .filter_map(|id| inner.chats.get(id).map(|c| (id, c)))
            .filter(|(_, c)| c.is_open())
            .collect();
        // Stable: equal start times keep their start order.
        open.sort_by_key(|(_, c)| std::cmp::Reverse(c.time_start));
        let chats = open
            .into_iter()
            .map(|(id, c)| {
                let who = organizer
                    .then(|| participant_object(&inner, c.participant))
                    .flatten();
                c.to_wire(id, who)
            })
            .collect();
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
            .filter(|c| c.has_member(sender) && c.is_open())
            .ok_or(ChatError::NoAccess)?;
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
            .filter(|c| c.organizer == organizer.id() && c.is_open())
            .ok_or(ChatError::NoAccess)?;
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
