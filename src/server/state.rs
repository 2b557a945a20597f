//! The staging server's in-memory data (users, tokens, events, queues, chats,
//! messages, open connections) behind one short-held lock, with seeding and
//! reset. Account operations live in `accounts.rs`, chat
//! operations in `chats.rs`.
//!
//! One `std::sync::Mutex` is enough at this scale because nothing does I/O or
//! waits while holding it: delivery to a connection is a non-blocking
//! `try_send` of pre-serialized bytes into that connection's queue.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::frames::Out;
use super::ids::{IdGen, ObjectId};
use super::stats::{bump, Counters};
use crate::protocol::CHAT_ROLES;

/// Seeded organizers that may chat: `organizer1@…` to `organizer256@…`.
pub const SEEDED_ORGANIZERS: i64 = 256;
/// Domain of every seeded account.
pub const SEED_DOMAIN: &str = "msgperf.local";
/// The seeded organizer with role 1: may sign in, may not use the WebSocket.
pub const VIEWER_EMAIL: &str = "viewer@msgperf.local";
/// The real system's seeded agency owner (role 2, agency 1).
pub const ESME_OWNER_EMAIL: &str = "jan@kowalski.com";
/// The real system's seeded super admin (role 0, no agency).
pub const ESME_ADMIN_EMAIL: &str = "super@admin.com";
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

/// One open, authorized WebSocket connection of a user.
pub(crate) struct ConnSlot {
    /// Unique per connection, to unregister the right one.
    pub(crate) id: u64,
    /// The connection's bounded outgoing queue.
    pub(crate) tx: mpsc::Sender<Out>,
    /// Cancelled to close the connection (reset of its participant).
    pub(crate) close: CancellationToken,
}

/// A seeded organizer account, with the fields the real Organizer API returns.
pub(crate) struct Organizer {
    /// `None` for admins (roles 0 and 1), as in the real system.
    pub(crate) agency_id: Option<i64>,
    pub(crate) role: i64,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) email: String,
    /// Epoch ms; the real API sets the last sign-out to the creation time.
    pub(crate) time_created: u64,
}

pub(crate) struct Participant {
    pub(crate) email: String,
    pub(crate) phone_number: String,
    /// Epoch ms.
    pub(crate) time_created: u64,
}

/// A queued request for help.
pub(crate) struct ChatRequest {
    pub(crate) participant: i64,
    pub(crate) event: i64,
    pub(crate) description: Box<str>,
    /// Where the participant was, if the request said; the chat's start position.
    pub(crate) position: (Option<f64>, Option<f64>),
}

/// A chat and its messages.
pub(crate) struct ChatRecord {
    pub(crate) agency: i64,
    pub(crate) event: i64,
    pub(crate) organizer: i64,
    pub(crate) participant: i64,
    pub(crate) time_start: u64,
    /// `latStart`, `lngStart`: the chat request's position.
    pub(crate) position: (Option<f64>, Option<f64>),
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
    pub(crate) organizer_emails: HashMap<String, i64>,
    pub(crate) participants: HashMap<i64, Participant>,
    pub(crate) participant_emails: HashSet<String>,
    /// Event id → agency id.
    pub(crate) events: HashMap<i64, i64>,
    /// Agency id → its chat requests, oldest first.
    pub(crate) queues: HashMap<i64, VecDeque<ChatRequest>>,
    /// (participant, event) pairs with a queued request or a chat not yet closed.
    pub(crate) open_requests: HashSet<(i64, i64)>,
    pub(crate) chats: HashMap<ObjectId, ChatRecord>,
    /// User id → ids of the user's chats, oldest first.
    pub(crate) chats_by_user: HashMap<i64, Vec<ObjectId>>,
    /// User id → the user's open connections.
    pub(crate) conns: HashMap<i64, Vec<ConnSlot>>,
    pub(crate) next_user_id: i64,
}

/// The server's data and counters.
pub(crate) struct Hub {
    inner: Mutex<Inner>,
    pub(crate) stats: Counters,
    pub(crate) ids: IdGen,
    pub(crate) password: String,
}

impl Hub {
    /// A hub seeded with organizers and events; all organizers share `password`.
    pub(crate) fn new(ids: IdGen, password: &str) -> Hub {
        let mut inner = Inner::default();
        let created = super::ids::unix_millis();
        for n in 1..=SEEDED_ORGANIZERS {
            let role = CHAT_ROLES[usize::try_from(n - 1).unwrap_or(0) % CHAT_ROLES.len()];
            let email = format!("organizer{n}@{SEED_DOMAIN}");
            inner.add_organizer(n, role, ("Organizer", &n.to_string()), email, created);
        }
        inner.add_organizer(
            SEEDED_ORGANIZERS + 1,
            1,
            ("Viewer", "Admin"),
            VIEWER_EMAIL.into(),
            created,
        );
        // The real system's seed, so a matrix written for it runs here too:
        // the owner of agency 1 (role 2) and the super admin (role 0).
        inner.add_organizer(
            SEEDED_ORGANIZERS + 2,
            2,
            ("Jan", "Kowalski"),
            ESME_OWNER_EMAIL.into(),
            created,
        );
        inner.add_organizer(
            SEEDED_ORGANIZERS + 3,
            0,
            ("Super", "Admin"),
            ESME_ADMIN_EMAIL.into(),
            created,
        );
        inner.next_user_id = SEEDED_ORGANIZERS + 4;
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
    fn add_organizer(
        &mut self,
        id: i64,
        role: i64,
        (first, last): (&str, &str),
        email: String,
        time_created: u64,
    ) {
        self.organizer_emails.insert(email.to_ascii_lowercase(), id);
        self.organizers.insert(
            id,
            Organizer {
                // Roles 0 and 1 are the system's admins, of no agency.
                agency_id: (role >= 2).then_some(SEED_AGENCY),
                role,
                first_name: first.into(),
                last_name: last.into(),
                email,
                time_created,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_organizers_with_cycling_roles_and_a_viewer() {
        let hub = Hub::new(IdGen::new().unwrap(), "pw");
        let inner = hub.lock();
        assert_eq!(inner.organizers.len(), 259);
        assert_eq!(inner.organizers[&258].agency_id, Some(SEED_AGENCY));
        assert_eq!(inner.organizers[&259].agency_id, None);
        assert_eq!(inner.organizers[&1].role, 2);
        assert_eq!(inner.organizers[&2].role, 3);
        assert_eq!(inner.organizers[&3].role, 4);
        assert_eq!(inner.organizers[&4].role, 2);
        assert_eq!(inner.organizers[&257].role, 1);
        assert_eq!(inner.organizers[&257].email, VIEWER_EMAIL);
        assert_eq!(inner.organizer_emails["organizer256@msgperf.local"], 256);
    }
}
