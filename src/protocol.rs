//! Wire types of the Messenger API (`../shared/PROTOCOL.md`).
//!
//! These are the full shapes the embedded staging server writes, checked
//! against the recordings of the real system (`../shared/esme-transcripts/`).
//! The load engine shares only the constants (paths, frame types, prefixes):
//! it reads what the server sends with its own minimal types
//! (`load::read`), because a real deployment adds, drops or nulls fields
//! between versions. Field names follow the API's JSON (camelCase, `0|1`
//! booleans); nothing here does I/O.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Path of the organizer sign-in endpoint (Organizer API).
pub const ORGANIZER_SIGN_IN: &str = "/auth/sign-in";
/// Path of the profile endpoint (Organizer API and Participant API).
pub const PROFILE: &str = "/profile";
/// Path of the participant sign-up endpoint (Participant API).
pub const PARTICIPANT_SIGN_UP: &str = "/auth/sign-up";
/// Path of the chat-request endpoint (Participant API).
pub const CHAT_REQUESTS: &str = "/chat-requests";
/// Path of the WebSocket endpoint (Messenger API).
pub const CONNECT: &str = "/connect";

/// Token prefix of an organizer: tokens carry their role.
pub const ORGANIZER_TOKEN_PREFIX: &str = "organizer:";
/// Token prefix of a participant.
pub const PARTICIPANT_TOKEN_PREFIX: &str = "participant:";

/// Organizer roles that may chat (role 1 may sign in but not use the Messenger API).
pub const CHAT_ROLES: [i64; 3] = [2, 3, 4];

/// `info` payload text when `start_chat` finds the agency's queue empty.
pub const NO_NEW_CHATS: &str = "no new chats";
/// `error` payload text for an unknown envelope `type`.
pub const INVALID_MESSAGE_TYPE: &str = "invalid message type";
/// `error` payload text for a frame that is not JSON.
pub const MALFORMED_MESSAGE: &str = "malformed message";
/// `error` payload text for a payload of the wrong shape (e.g. `""` for `send_message`).
pub const INVALID_MESSAGE_PAYLOAD: &str = "invalid message payload";
/// Prefix of the first `user_message` of a chat, carrying the request's description.
pub const PROBLEM_DESCRIPTION_PREFIX: &str = "Problem description: ";

/// The `error` text for a chat the sender is not part of.
pub fn no_access_message(chat_id: &str) -> String {
    format!("you have no access to chat {chat_id}")
}

// ---------------------------------------------------------------- REST

/// `POST /auth/sign-in` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignInRequest {
    /// Organizer e-mail.
    pub email: String,
    /// Organizer password.
    pub password: String,
}

/// An organizer as the Organizer API returns it (sign-in and `GET /profile`
/// send the same shape). There is no display name; `agencyId` is null for
/// admins (roles 0 and 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrganizerUser {
    /// User id.
    pub id: i64,
    /// Sign-in e-mail.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Phone number.
    pub phone_number: String,
    /// RFC 3339, milliseconds.
    pub time_created: String,
    /// RFC 3339, milliseconds: the last sign-out (the creation time before any).
    pub time_sign_out: String,
    /// Role; see [`CHAT_ROLES`].
    pub role: i64,
    /// Agency the organizer works for (chat requests are queued per agency);
    /// null for admins.
    pub agency_id: Option<i64>,
}

/// `POST /auth/sign-in` success body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignInResponse {
    /// The signed-in organizer.
    pub user: OrganizerUser,
    /// `organizer:<jwt>`.
    pub token: String,
}

/// Organizer `GET /profile` body: the same shape as the sign-in user.
pub type OrganizerProfile = OrganizerUser;

/// `POST /auth/sign-up` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignUpRequest {
    /// Unique e-mail.
    pub email: String,
    /// Password.
    pub password: String,
    /// Must equal `password`.
    pub confirm_password: String,
    /// Phone number (the real API accepts a sign-up without one).
    #[serde(default)]
    pub phone_number: String,
}

/// A participant as the Participant API returns it (sign-up, sign-in and
/// `GET /profile` send the same shape; both times are always set).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantUser {
    /// User id.
    pub id: i64,
    /// E-mail.
    pub email: String,
    /// Phone number (empty when sign-up gave none).
    pub phone_number: String,
    /// RFC 3339, nanoseconds.
    pub time_created: String,
    /// RFC 3339: the last sign-out (the creation time before any).
    pub time_sign_out: String,
}

/// `POST /auth/sign-up` success body (status 201).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignUpResponse {
    /// The new participant.
    pub user: ParticipantUser,
    /// `participant:<jwt>`.
    pub token: String,
}

/// Participant `GET /profile` body: the same shape as the sign-up user.
pub type ParticipantProfile = ParticipantUser;

/// `POST /chat-requests` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatRequestBody {
    /// Event the participant needs help at.
    pub event_id: i64,
    /// Becomes the chat's first message, prefixed by [`PROBLEM_DESCRIPTION_PREFIX`].
    #[serde(default)]
    pub description: String,
    /// Optional latitude of the participant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Optional longitude of the participant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lng: Option<f64>,
}

/// Error body of every REST endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// HTTP status code, repeated.
    pub status_code: u16,
    /// Human-readable message: one text, or a list of validation messages
    /// (the Organizer API's invalid bodies).
    pub message: ErrorMessage,
    /// Reason phrase, e.g. "Bad Request".
    pub error: String,
}

/// The `message` of a REST error body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ErrorMessage {
    /// One text, e.g. `invalid email or password`.
    One(String),
    /// Validation messages, e.g. `["email must be an email"]`.
    Many(Vec<String>),
}

impl ErrorMessage {
    /// The message as one line (a list joined by `; `).
    pub fn text(&self) -> String {
        match self {
            ErrorMessage::One(s) => s.clone(),
            ErrorMessage::Many(list) => list.join("; "),
        }
    }
}

impl From<String> for ErrorMessage {
    fn from(s: String) -> Self {
        ErrorMessage::One(s)
    }
}

// ---------------------------------------------------------------- WebSocket

/// The first frame a client sends after the upgrade.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthFrame {
    /// `Bearer organizer:<jwt>` or `Bearer participant:<jwt>`.
    #[serde(rename = "Authorization")]
    pub authorization: String,
}

/// An envelope whose payload is not decoded yet: how a receiver dispatches on
/// `type` without paying for a full decode of frames it does not care about.
#[derive(Debug, Deserialize)]
pub struct RawEnvelope<'a> {
    /// The envelope type, e.g. `send_message`.
    #[serde(rename = "type", borrow)]
    pub kind: std::borrow::Cow<'a, str>,
    /// The payload, still JSON text.
    #[serde(borrow)]
    pub payload: Option<&'a RawValue>,
}

/// Frames a client sends, as `{"type": ..., "payload": ...}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Organizer: pop the oldest chat request of the agency (payload `""`).
    StartChat(String),
    /// Both: list the caller's chats (payload `""`).
    GetChats(String),
    /// Both: send a message into a chat.
    SendMessage(SendMessage),
    /// Both: the messages of a chat.
    GetChatHistory(ChatRef),
    /// Organizer: end a chat.
    CloseChat(ChatRef),
}

/// Frames the server sends.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Informational notice, e.g. [`NO_NEW_CHATS`].
    Info(Notice),
    /// A request failed; the connection stays open.
    Error(Notice),
    /// A chat was started; sent to both sides.
    NewChat(Chat),
    /// Answer to `get_chats`.
    Chats(ChatList),
    /// Answer to `get_chat_history`.
    ChatHistory(ChatHistory),
    /// A message in one of the caller's chats (including the caller's own).
    UserMessage(Message),
    /// A chat was closed; sent to both sides.
    ClosedChat(ChatRef),
}

/// `send_message` payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SendMessage {
    /// Target chat.
    pub chat_id: String,
    /// Text.
    pub message: String,
    /// Optional latitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Optional longitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lng: Option<f64>,
}

/// A payload naming one chat.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChatRef {
    /// Chat id (24 hex digits).
    pub chat_id: String,
}

/// `info` and `error` payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Notice {
    /// Human-readable text.
    pub message: String,
}

/// `chats` payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChatList {
    /// The caller's chats.
    pub chats: Vec<Chat>,
}

/// `chat_history` payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChatHistory {
    /// The chat.
    pub chat_id: String,
    /// Its messages, oldest first.
    pub messages: Vec<Message>,
}

/// A chat between one organizer and one participant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Chat {
    /// 24 hex digits.
    pub id: String,
    /// Agency of the event.
    pub agency_id: i64,
    /// Event of the chat request.
    pub event_id: i64,
    /// Organizer who started the chat.
    pub organizer_id: i64,
    /// Participant who requested it.
    pub participant_id: i64,
    /// 0 open, 1 closed.
    pub ended: u8,
    /// Optional latitude at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat_start: Option<f64>,
    /// Optional longitude at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lng_start: Option<f64>,
    /// RFC 3339.
    pub time_start: String,
    /// RFC 3339; always `0001-01-01T00:00:00Z` (closing sets only `ended`).
    pub time_end: String,
    /// The participant, in frames an organizer receives (`new_chat`, `chats`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<ChatParticipant>,
}

/// The participant of a chat, as organizers see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChatParticipant {
    /// User id.
    pub id: i64,
    /// E-mail.
    pub email: String,
    /// Phone number.
    pub phone_number: String,
}

/// A stored chat message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// 24 hex digits.
    pub id: String,
    /// Chat the message belongs to.
    pub chat_id: String,
    /// User id of the author.
    pub author_id: i64,
    /// 1 when an organizer wrote it.
    pub from_organizer: u8,
    /// Text.
    pub content: String,
    /// RFC 3339.
    pub time_sent: String,
    /// Optional latitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Optional longitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lng: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_match_the_wire_format() {
        let f = ClientFrame::StartChat(String::new());
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"type":"start_chat","payload":""}"#
        );
        let f: ClientFrame = serde_json::from_str(
            r#"{"type":"send_message","payload":{"chatId":"ab","message":"hi","lat":1.5}}"#,
        )
        .unwrap();
        assert_eq!(
            f,
            ClientFrame::SendMessage(SendMessage {
                chat_id: "ab".into(),
                message: "hi".into(),
                lat: Some(1.5),
                lng: None
            })
        );
        let info = ServerFrame::Info(Notice {
            message: NO_NEW_CHATS.into(),
        });
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"type":"info","payload":{"message":"no new chats"}}"#
        );
    }

    #[test]
    fn raw_envelope_borrows_type_and_payload() {
        let raw: RawEnvelope =
            serde_json::from_str(r#"{"type":"get_chats","payload":""}"#).unwrap();
        assert_eq!(raw.kind, "get_chats");
        assert_eq!(raw.payload.unwrap().get(), r#""""#);
        let auth: AuthFrame =
            serde_json::from_str(r#"{"Authorization":"Bearer organizer:x"}"#).unwrap();
        assert_eq!(auth.authorization, "Bearer organizer:x");
    }
}
