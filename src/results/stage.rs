//! Where in the scenario a run got to, and where it failed: the services and
//! steps of PROTOCOL.md §3, and why a run that never really started is no
//! measurement.
//!
//! Against the real system the first failure is often not the Messenger API
//! at all (the Participant API's bcrypt-bound sign-up gives `500` under an
//! open creation rate), so every error names its step and service, and the
//! totals count how many participants reached each stage.

use serde::{Deserialize, Serialize};

/// One of the three services a target names.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Organizer sign-in.
    OrganizerApi,
    /// Participant sign-up and chat requests.
    ParticipantApi,
    /// The WebSocket API under test.
    MessengerApi,
}

impl Service {
    /// The name people read, e.g. `Participant API`.
    pub fn label(self) -> &'static str {
        match self {
            Service::OrganizerApi => "Organizer API",
            Service::ParticipantApi => "Participant API",
            Service::MessengerApi => "Messenger API",
        }
    }
}

/// A step of the scenario, in the order a worker takes them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Organizer `POST /auth/sign-in`.
    SignIn,
    /// Participant `POST /auth/sign-up`.
    SignUp,
    /// Participant `POST /chat-requests`.
    ChatRequest,
    /// TCP connect and WebSocket upgrade.
    Handshake,
    /// The authorization frame (refused by closing the connection).
    Authorize,
    /// A participant waiting for its chat (`get_chats`, `new_chat`).
    GetChats,
    /// Writing a frame (`send_message`, `start_chat`, a reply).
    Send,
    /// Reading frames of an established connection.
    Read,
}

impl Step {
    /// The service that answers this step.
    pub fn service(self) -> Service {
        match self {
            Step::SignIn => Service::OrganizerApi,
            Step::SignUp | Step::ChatRequest => Service::ParticipantApi,
            _ => Service::MessengerApi,
        }
    }

    /// The name people read, e.g. `sign-up`.
    pub fn label(self) -> &'static str {
        match self {
            Step::SignIn => "sign-in",
            Step::SignUp => "sign-up",
            Step::ChatRequest => "chat request",
            Step::Handshake => "WebSocket handshake",
            Step::Authorize => "authorization",
            Step::GetChats => "get_chats",
            Step::Send => "send",
            Step::Read => "read",
        }
    }
}

/// Why a run measured nothing (outcome `failed`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum StartFailureCause {
    /// The Organizer API refused the organizer's credentials (HTTP 400/401/403).
    CredentialsRejected,
    /// No organizer of the pool signed in and connected.
    NoOrganizer,
    /// Participants were started but none connected to the Messenger API.
    NoParticipantConnected,
}

impl StartFailureCause {
    /// The exit code of `run` and `action`: 2 for refused credentials (the
    /// configuration is wrong), 1 otherwise (the target did not work).
    pub fn exit_code(self) -> i32 {
        match self {
            StartFailureCause::CredentialsRejected => 2,
            _ => 1,
        }
    }
}

/// The exit code and message of the worst start failure among `failures`.
pub fn worst_start_failure<'a>(
    failures: impl IntoIterator<Item = &'a StartFailure>,
) -> Option<(i32, &'a str)> {
    failures
        .into_iter()
        .map(|f| (f.cause.exit_code(), f.message.as_str()))
        .max_by_key(|(code, _)| *code)
}

/// What kept a `failed` run from loading the API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StartFailure {
    /// Classified cause.
    pub cause: StartFailureCause,
    /// What to fix, for people (never contains credentials).
    pub message: String,
}

/// How many workers reached each stage of the scenario.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StageCounts {
    /// Organizers whose sign-in succeeded.
    #[serde(default)]
    pub organizers_signed_in: u64,
    /// Organizers with an open, authorized WebSocket.
    #[serde(default)]
    pub organizers_connected: u64,
    /// Participant workers started (what `participants` has always counted).
    #[serde(default)]
    pub participants_started: u64,
    /// Participants whose sign-up succeeded.
    #[serde(default)]
    pub signed_up: u64,
    /// Participants whose chat request succeeded.
    #[serde(default)]
    pub chat_requested: u64,
    /// Participants with an authorized WebSocket (one frame answered, or a
    /// chat pushed: the real API does not acknowledge the authorization).
    #[serde(default)]
    pub connected: u64,
    /// Participants that have a chat.
    #[serde(default)]
    pub chatting: u64,
}

impl StageCounts {
    /// The counts of two runners together (the parts of a split run).
    pub fn plus(&self, o: &StageCounts) -> StageCounts {
        StageCounts {
            organizers_signed_in: self.organizers_signed_in + o.organizers_signed_in,
            organizers_connected: self.organizers_connected + o.organizers_connected,
            participants_started: self.participants_started + o.participants_started,
            signed_up: self.signed_up + o.signed_up,
            chat_requested: self.chat_requested + o.chat_requested,
            connected: self.connected + o.connected,
            chatting: self.chatting + o.chatting,
        }
    }
}
