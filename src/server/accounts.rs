//! Account operations of the REST APIs on the shared state: organizer
//! sign-in, participant sign-up, profiles, chat requests, and the sign-up
//! validation rules.
//!
//! Bodies are validated (`validate.rs`) before the lock is taken; the lock is
//! held only for the map look-ups and inserts.

use super::ids;
use super::state::{ChatRequest, Hub, Organizer, Participant, Principal};
use super::stats::bump;
use super::validate;
use crate::protocol::{
    OrganizerProfile, OrganizerUser, ParticipantProfile, ParticipantUser, ORGANIZER_TOKEN_PREFIX,
    PARTICIPANT_TOKEN_PREFIX,
};

/// Why sign-up refused a body (all are 400).
pub(crate) type SignUpError = &'static str;

/// The Participant API's answer to a second sign-up with one e-mail.
pub(crate) const EMAIL_EXISTS: &str = "email already exists";

/// What organizer sign-in decided.
pub(crate) enum SignIn {
    /// Signed in: the user and a new token.
    Ok(OrganizerUser, String),
    /// Unknown e-mail or wrong password (400, one message for both).
    BadCredentials,
    /// No token could be made: the OS gave no randomness (500).
    NoToken,
}

/// Why a chat request was refused.
#[derive(Debug, PartialEq)]
pub(crate) enum RequestError {
    /// The event does not exist (404).
    UnknownEvent,
    /// The participant already has an open request for the event (400).
    AlreadyOpen,
}

impl Hub {
    /// Who holds this token.
    pub(crate) fn principal(&self, token: &str) -> Option<Principal> {
        self.lock().tokens.get(token).copied()
    }

    /// Organizer sign-in: a new token on every call (an organizer may be
    /// signed in more than once).
    pub(crate) fn sign_in(&self, email: &str, password: &str) -> SignIn {
        let mut inner = self.lock();
        let Some(&id) = inner.organizer_emails.get(&email.to_ascii_lowercase()) else {
            return SignIn::BadCredentials;
        };
        let Some(o) = inner
            .organizers
            .get(&id)
            .filter(|_| password == self.password)
        else {
            return SignIn::BadCredentials;
        };
        let user = organizer_user(id, o);
        let principal = Principal::Organizer {
            id,
            agency: o.agency_id.unwrap_or(0),
            role: o.role,
        };
        let Some(token) = ids::new_token(ORGANIZER_TOKEN_PREFIX, "organizer", id) else {
            return SignIn::NoToken;
        };
        inner
            .tokens
            .insert(token.clone().into_boxed_str(), principal);
        bump(&self.stats.sign_ins);
        SignIn::Ok(user, token)
    }

    /// The organizer profile behind an organizer token.
    pub(crate) fn organizer_profile(&self, token: &str) -> Option<OrganizerProfile> {
        let inner = self.lock();
        let Some(Principal::Organizer { id, .. }) = inner.tokens.get(token).copied() else {
            return None;
        };
        inner.organizers.get(&id).map(|o| organizer_user(id, o))
    }

    /// Whether a participant already signed up with this e-mail (any case).
    pub(crate) fn email_taken(&self, email: &str) -> bool {
        self.lock()
            .participant_emails
            .contains(&email.to_ascii_lowercase())
    }

    /// Stores a validated sign-up. `Ok(None)` when no token could be made.
    /// The e-mail is checked again: a concurrent sign-up may have taken it
    /// since [`Hub::email_taken`].
    pub(crate) fn sign_up(
        &self,
        req: validate::SignUp,
    ) -> Result<Option<(ParticipantUser, String)>, SignUpError> {
        let key = req.email.to_ascii_lowercase();
        let mut inner = self.lock();
        if inner.participant_emails.contains(&key) {
            return Err(EMAIL_EXISTS);
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
                time_created: now,
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
            time_sign_out: ids::rfc3339(now),
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
        let created = ids::rfc3339(p.time_created);
        Some(ParticipantProfile {
            id,
            email: p.email.clone(),
            phone_number: p.phone_number.clone(),
            time_sign_out: created.clone(),
            time_created: created,
        })
    }

    /// Queues a chat request of `participant` for the event's agency.
    pub(crate) fn request_chat(
        &self,
        participant: i64,
        body: validate::ChatRequest,
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
                position: (body.lat, body.lng),
            });
        drop(inner);
        bump(&self.stats.chat_requests);
        Ok(())
    }
}

/// An organizer as sign-in and `GET /profile` return it.
fn organizer_user(id: i64, o: &Organizer) -> OrganizerUser {
    let created = ids::rfc3339(o.time_created);
    OrganizerUser {
        id,
        email: o.email.clone(),
        first_name: o.first_name.clone(),
        last_name: o.last_name.clone(),
        phone_number: "+48123456789".into(),
        time_sign_out: created.clone(),
        time_created: created,
        role: o.role,
        agency_id: o.agency_id,
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
}
