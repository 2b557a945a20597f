//! The staging server's in-memory data (users, tokens, events, queues, chats,
//! messages, open connections) behind one short-held lock, and the operations
//! the REST endpoints need. Chat operations live in `chats.rs`.
//!
//! One `std::sync::Mutex` is enough at this scale because nothing does I/O or
//! waits while holding it: delivery to a connection is a non-blocking
//! `try_send` of pre-serialized bytes into that connection's queue.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ids::{self, IdGen, ObjectId};
use super::stats::{bump, Counters};
use crate::protocol::{
    ChatRequestBody, OrganizerProfile, OrganizerUser, ParticipantProfile, ParticipantUser,
    SignUpRequest, CHAT_ROLES, ORGANIZER_TOKEN_PREFIX, PARTICIPANT_TOKEN_PREFIX,
};

/// Seeded organizers that may chat: `organizer1@…` to `organizer256@…`.
pub const SEEDED_ORGANIZERS: i64 = 256;
/// Domain of every seeded account.
pub const SEED_DOMAIN: &str = "msgperf.local";
/// The seeded organizer with role 1: may sign in, may not use the WebSocket.
pub const VIEWER_EMAIL: &str = "viewer@msgperf.local";
/// Agency of every seeded organizer and event.
pub const SEED_AGENCY: i64 = 1;
/// Events that accept chat requests (both of agency 1).
pub const SEED_EVENTS: [i64; 2] = [1, 2];

/// Who a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Principal {
    /// A signed-in organizer.
    Organizer { id: i64, agency: i64, role: i64 },
    /// A signed-up participant.
    Participant { id: i64 },
}

impl Principal {
    /// The user id (organizers and participants share one id space).
    pub(crate) fn id(self) -> i64 {
        match self {
            Principal::Organizer { id, .. } | Principal::Participant { id } => id,
        }
    }
}

/// A frame for one connection's writer.
#[derive(Debug)]
pub(crate) enum Out {
    /// A pre-serialized text frame.
    Text(Utf8Bytes),
    /// Send a close frame with this code and reason, then stop.
    Close(u16, &'static str),
}

/// One open, authorized WebSocket connection of a user.
pub(crate) struct ConnSlot {
    /// Unique per connection, to unregister the right one.
    pub(crate) id: u64,
    /// The connection's bounded outgoing queue.
    pub(crate) tx: mpsc::Sender<Out>,
    /// Cancelled to close the connection (reset of its participant).
    pub(crate) close: CancellationToken,
}

pub(crate) struct Organizer {
    pub(crate) agency_id: i64,
    pub(crate) role: i64,
    pub(crate) display_name: String,
    pub(crate) email: String,
}

struct Participant {
    email: String,
    phone_number: String,
}

/// A queued request for help.
pub(crate) struct ChatRequest {
    pub(crate) participant: i64,
    pub(crate) event: i64,
    pub(crate) description: Box<str>,
}

/// A chat and its messages.
pub(crate) struct ChatRecord {
    pub(crate) agency: i64,
    pub(crate) event: i64,
    pub(crate) organizer: i64,
    pub(crate) participant: i64,
    pub(crate) time_start: u64,
    /// `Some` once closed.
    pub(crate) time_end: Option<u64>,
    pub(crate) messages: Vec<StoredMessage>,
}

/// A stored message, kept compact: the chat is implied by where it is stored,
/// times are epoch milliseconds and the rarely-sent location is boxed.
pub(crate) struct StoredMessage {
    pub(crate) id: ObjectId,
    pub(crate) author: i64,
    pub(crate) from_organizer: bool,
    pub(crate) time_sent: u64,
    pub(crate) content: Box<str>,
    pub(crate) location: Option<Box<(Option<f64>, Option<f64>)>>,
}

/// Everything behind the lock.
#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) tokens: HashMap<Box<str>, Principal>,
    pub(crate) organizers: HashMap<i64, Organizer>,
    organizer_emails: HashMap<String, i64>,
    participants: HashMap<i64, Participant>,
    participant_emails: HashSet<String>,
    /// Event id → agency id.
    events: HashMap<i64, i64>,
    /// Agency id → its chat requests, oldest first.
    pub(crate) queues: HashMap<i64, VecDeque<ChatRequest>>,
    /// (participant, event) pairs with a queued request or a chat not yet closed.
    pub(crate) open_requests: HashSet<(i64, i64)>,
    pub(crate) chats: HashMap<ObjectId, ChatRecord>,
    /// User id → ids of the user's chats, oldest first.
    pub(crate) chats_by_user: HashMap<i64, Vec<ObjectId>>,
    /// User id → the user's open connections.
    pub(crate) conns: HashMap<i64, Vec<ConnSlot>>,
    next_user_id: i64,
}

/// The server's data and counters.
pub(crate) struct Hub {
    inner: Mutex<Inner>,
    pub(crate) stats: Counters,
    pub(crate) ids: IdGen,
    password: String,
}

/// Why sign-up refused a body (all are 400).
pub(crate) type SignUpError = &'static str;

/// Why a chat request was refused.
#[derive(Debug, PartialEq)]
pub(crate) enum RequestError {
    /// The event does not exist (404).
    UnknownEvent,
    /// The participant already has an open request for the event (400).
    AlreadyOpen,
}

impl Hub {
    /// A hub seeded with organizers and events; all organizers share `password`.
    pub(crate) fn new(ids: IdGen, password: &str) -> Hub {
        let mut inner = Inner::default();
        for n in 1..=SEEDED_ORGANIZERS {
            let role = CHAT_ROLES[usize::try_from(n - 1).unwrap_or(0) % CHAT_ROLES.len()];
            let email = format!("organizer{n}@{SEED_DOMAIN}");
            inner.add_organizer(n, role, format!("Organizer {n}"), email);
        }
        inner.add_organizer(
            SEEDED_ORGANIZERS + 1,
            1,
            "Viewer".into(),
            VIEWER_EMAIL.into(),
        );
        inner.next_user_id = SEEDED_ORGANIZERS + 2;
        for e in SEED_EVENTS {
            inner.events.insert(e, SEED_AGENCY);
        }
        Hub {
            inner: Mutex::new(inner),
            stats: Counters::default(),
            ids,
            password: password.to_string(),
        }
    }

    /// The state, even if a panicking thread poisoned the lock (the data is
    /// still consistent: no operation panics half-way on purpose).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Who holds this token.
    pub(crate) fn principal(&self, token: &str) -> Option<Principal> {
        self.lock().tokens.get(token).copied()
    }

    /// Organizer sign-in; `None` for unknown e-mail or wrong password.
    /// `Some(Err(()))` when no token could be made (no OS randomness).
    pub(crate) fn sign_in(
        &self,
        email: &str,
        password: &str,
    ) -> Option<Result<(OrganizerUser, String), ()>> {
        let mut inner = self.lock();
        let id = *inner.organizer_emails.get(&email.to_ascii_lowercase())?;
        if password != self.password {
            return None;
        }
        let o = inner.organizers.get(&id)?;
        let user = OrganizerUser {
            id,
            agency_id: o.agency_id,
            role: o.role,
            display_name: o.display_name.clone(),
            email: o.email.clone(),
        };
        let principal = Principal::Organizer {
            id,
            agency: o.agency_id,
            role: o.role,
        };
        let Some(token) = ids::new_token(ORGANIZER_TOKEN_PREFIX, "organizer", id) else {
            return Some(Err(()));
        };
        inner
            .tokens
            .insert(token.clone().into_boxed_str(), principal);
        bump(&self.stats.sign_ins);
        Some(Ok((user, token)))
    }

    /// The organizer profile behind an organizer token.
    pub(crate) fn organizer_profile(&self, token: &str) -> Option<OrganizerProfile> {
        let inner = self.lock();
        let Some(Principal::Organizer { id, .. }) = inner.tokens.get(token).copied() else {
            return None;
        };
        let o = inner.organizers.get(&id)?;
        Some(OrganizerProfile {
            id,
            agency_id: o.agency_id,
            role: o.role,
            display_name: o.display_name.clone(),
        })
    }

    /// Participant sign-up. `Ok(None)` when no token could be made.
    pub(crate) fn sign_up(
        &self,
        req: SignUpRequest,
    ) -> Result<Option<(ParticipantUser, String)>, SignUpError> {
        if !valid_email(&req.email) {
            return Err("email must be an email");
        }
        if req.password.is_empty() {
            return Err("password should not be empty");
        }
        if req.password != req.confirm_password {
            return Err("password and confirmPassword do not match");
        }
        if req.phone_number.trim().is_empty() {
            return Err("phoneNumber should not be empty");
        }
        let key = req.email.to_ascii_lowercase();
        let mut inner = self.lock();
        if inner.participant_emails.contains(&key) {
            return Err("email already in use");
        }
        let id = inner.next_user_id;
        let Some(token) = ids::new_token(PARTICIPANT_TOKEN_PREFIX, "participant", id) else {
            return Ok(None);
        };
        inner.next_user_id += 1;
        let now = ids::unix_millis();
        inner.participant_emails.insert(key);
        inner.participants.insert(
            id,
            Participant {
                email: req.email.clone(),
                phone_number: req.phone_number.clone(),
            },
        );
        inner.tokens.insert(
            token.clone().into_boxed_str(),
            Principal::Participant { id },
        );
        drop(inner);
        bump(&self.stats.participants);
        let user = ParticipantUser {
            id,
            email: req.email,
            phone_number: req.phone_number,
            time_created: ids::rfc3339(now),
            time_sign_out: None,
        };
        Ok(Some((user, token)))
    }

    /// The participant profile behind a participant token.
    pub(crate) fn participant_profile(&self, token: &str) -> Option<ParticipantProfile> {
        let inner = self.lock();
        let Some(Principal::Participant { id }) = inner.tokens.get(token).copied() else {
            return None;
        };
        let p = inner.participants.get(&id)?;
        Some(ParticipantProfile {
            id,
            email: p.email.clone(),
            phone_number: p.phone_number.clone(),
        })
    }

    /// Queues a chat request of `participant` for the event's agency.
    pub(crate) fn request_chat(
        &self,
        participant: i64,
        body: ChatRequestBody,
    ) -> Result<(), RequestError> {
        let mut inner = self.lock();
        let agency = *inner
            .events
            .get(&body.event_id)
            .ok_or(RequestError::UnknownEvent)?;
        if !inner.open_requests.insert((participant, body.event_id)) {
            return Err(RequestError::AlreadyOpen);
        }
        inner
            .queues
            .entry(agency)
            .or_default()
            .push_back(ChatRequest {
                participant,
                event: body.event_id,
                description: body.description.into_boxed_str(),
            });
        drop(inner);
        bump(&self.stats.chat_requests);
        Ok(())
    }

    /// Forgets participants (and their tokens and connections), chat requests,
    /// chats and messages; organizers and their tokens stay.
    pub(crate) fn reset(&self) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        inner
            .tokens
            .retain(|_, p| matches!(p, Principal::Organizer { .. }));
        inner.participants.clear();
        inner.participant_emails.clear();
        inner.queues.clear();
        inner.open_requests.clear();
        inner.chats.clear();
        inner.chats_by_user.clear();
        let organizers = &inner.organizers;
        inner.conns.retain(|user, slots| {
            if organizers.contains_key(user) {
                return true;
            }
            for s in slots.iter() {
                s.close.cancel();
            }
            false
        });
        bump(&self.stats.resets);
    }
}

impl Inner {
    fn add_organizer(&mut self, id: i64, role: i64, display_name: String, email: String) {
        self.organizer_emails.insert(email.to_ascii_lowercase(), id);
        self.organizers.insert(
            id,
            Organizer {
                agency_id: SEED_AGENCY,
                role,
                display_name,
                email,
            },
        );
    }
}

/// A syntactic e-mail check in the spirit of class-validator's `IsEmail`:
/// `local@domain.tld`, no spaces, sane labels.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || email.len() > 254 {
        return false;
    }
    let local_ok = local.split('.').all(|part| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c))
    });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()));
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_syntax() {
        for ok in ["a@b.co", "p.1+x@msgperf.local", "A_B@sub.example.org"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "@b.co",
            "a@",
            "a@b",
            "a b@c.de",
            "a@b..de",
            "a..b@c.de",
            "a@-b.de",
            "a@b.c1",
            "a@b@c.de",
            ".a@b.de",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn seeds_organizers_with_cycling_roles_and_a_viewer() {
        let hub = Hub::new(IdGen::new().unwrap(), "pw");
        let inner = hub.lock();
        assert_eq!(inner.organizers.len(), 257);
        assert_eq!(inner.organizers[&1].role, 2);
        assert_eq!(inner.organizers[&2].role, 3);
        assert_eq!(inner.organizers[&3].role, 4);
        assert_eq!(inner.organizers[&4].role, 2);
        assert_eq!(inner.organizers[&257].role, 1);
        assert_eq!(inner.organizers[&257].email, VIEWER_EMAIL);
        assert_eq!(inner.organizer_emails["organizer256@msgperf.local"], 256);
    }
}
