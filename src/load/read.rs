//! What the load engine reads from the server: only the fields it uses.
//!
//! A real deployment adds, drops or nulls fields between versions (the real
//! sign-in has `firstName`, `timeSignOut`, a nullable `agencyId`; `new_chat`
//! carries a `participant` object), and the first version of msgperf stopped
//! at its first request because it decoded the server's full shapes. So the
//! client has its own minimal read types: the token of sign-in and sign-up,
//! the chat id of `new_chat` and `chats`, and the message of `error`.
//! Everything else is ignored, whatever its type or presence. A missing
//! field the client needs is a [`ReadError`] that names where it was
//! expected and which field, so the user sees `POST …/auth/sign-in answered
//! without \`token\``, not a serde path.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde_json::value::RawValue;

/// A body or frame without a field the client needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// The endpoint or frame type, e.g. `POST /auth/sign-in` or `new_chat frame`.
    pub what: String,
    /// The field that is missing or not the expected type, e.g. `payload.id`.
    pub field: &'static str,
    /// What was wrong with it.
    pub problem: &'static str,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: `{}` {}", self.what, self.field, self.problem)
    }
}

impl std::error::Error for ReadError {}

fn missing(what: &str, field: &'static str) -> ReadError {
    ReadError {
        what: what.to_string(),
        field,
        problem: "is missing, null or not a string",
    }
}

/// Any JSON value the client does not look at.
type Unused = serde::de::IgnoredAny;

/// A field the client needs, read as a string when it is one.
#[derive(Deserialize)]
#[serde(untagged)]
enum Text<'a> {
    Str(#[serde(borrow)] Cow<'a, str>),
    Other(Unused),
}

impl Text<'_> {
    fn into_string(self) -> Option<String> {
        match self {
            Text::Str(s) if !s.is_empty() => Some(s.into_owned()),
            _ => None,
        }
    }
}

/// The token of a sign-in or sign-up body (`{"user": ..., "token": "..."}`).
/// `what` names the endpoint for the error.
pub fn token(body: &[u8], what: &str) -> Result<String, ReadError> {
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow, default)]
        token: Option<Text<'a>>,
    }
    serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| b.token)
        .and_then(Text::into_string)
        .ok_or_else(|| missing(what, "token"))
}

/// The `message` of a REST error body: a text, or a list of texts joined by
/// `; ` (the Organizer API's validation errors). `None` when there is none.
pub fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Message {
        One(String),
        Many(Vec<String>),
        Other(Unused),
    }
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        message: Option<Message>,
    }
    match serde_json::from_slice::<Body>(body).ok()?.message? {
        Message::One(s) => Some(s),
        Message::Many(list) => Some(list.join("; ")),
        Message::Other(_) => None,
    }
}

/// What a server frame means to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// `new_chat`: the chat's id.
    NewChat(String),
    /// `chats`: the id of the newest open chat, if any.
    Chats(Option<String>),
    /// `error`: its message (the whole payload when it has none).
    Error(String),
    /// Any other type (`info`, `user_message`, `closed_chat`, future ones).
    Other,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Text<'a>>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ChatRead<'a> {
    #[serde(borrow, default)]
    id: Option<Text<'a>>,
    /// `0` open, `1` closed; absent or of another type counts as open.
    #[serde(default)]
    ended: Option<Ended>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Ended {
    Int(i64),
    Bool(bool),
    Other(Unused),
}

impl Ended {
    fn is_closed(&self) -> bool {
        matches!(self, Ended::Int(1) | Ended::Bool(true))
    }
}

/// Decodes the parts of a server frame the client uses. A frame that is not
/// an envelope, or a `new_chat`/`chats` without the chat id, is an error
/// naming the frame type and field.
pub fn frame(text: &[u8]) -> Result<Frame, ReadError> {
    let env: Envelope = serde_json::from_slice(text).map_err(|_| ReadError {
        what: "a WebSocket frame".into(),
        field: "type",
        problem: "is missing: the frame is not a JSON envelope",
    })?;
    let kind = env
        .kind
        .and_then(Text::into_string)
        .ok_or_else(|| missing("a WebSocket frame", "type"))?;
    let payload = env.payload.map_or("null", RawValue::get);
    match kind.as_str() {
        "new_chat" => {
            let chat: Option<ChatRead> = serde_json::from_str(payload).ok();
            chat.and_then(|c| c.id)
                .and_then(Text::into_string)
                .map(Frame::NewChat)
                .ok_or_else(|| missing("new_chat frame", "payload.id"))
        }
        "chats" => {
            #[derive(Deserialize)]
            struct List<'a> {
                #[serde(borrow, default)]
                chats: Option<Vec<ChatRead<'a>>>,
            }
            let list: List = serde_json::from_str(payload)
                .map_err(|_| missing("chats frame", "payload.chats"))?;
            let chats = list
                .chats
                .ok_or_else(|| missing("chats frame", "payload.chats"))?;
            // Newest first (PROTOCOL.md §2); a participant has at most one open chat.
            let mut open = None;
            for c in chats {
                if c.ended.as_ref().is_some_and(Ended::is_closed) {
                    continue;
                }
                let id = c.id.and_then(Text::into_string);
                open = Some(id.ok_or_else(|| missing("chats frame", "payload.chats[].id"))?);
                break;
            }
            Ok(Frame::Chats(open))
        }
        "error" => {
            #[derive(Deserialize)]
            struct Notice {
                #[serde(default)]
                message: Option<String>,
            }
            let message = serde_json::from_str::<Notice>(payload)
                .ok()
                .and_then(|n| n.message)
                .unwrap_or_else(|| payload.to_string());
            Ok(Frame::Error(message))
        }
        _ => Ok(Frame::Other),
    }
}

/// Everything the client makes of one server frame or REST body, by each of
/// its readers: the JSON ones above and the hot path's byte scanners.
#[derive(Debug)]
pub struct Readings {
    /// [`frame`]: what an organizer or participant makes of a WebSocket frame.
    pub frame: Result<Frame, ReadError>,
    /// [`token`]: the token of a sign-in or sign-up body.
    pub token: Result<String, ReadError>,
    /// [`error_message`]: the message of a REST error body.
    pub error_message: Option<String>,
    /// A participant's message token (`[mp:…]`), as an organizer finds it.
    pub message_token: Option<super::wire::Token>,
    /// An organizer's reply token (`[re:…]`), as a participant finds it.
    pub reply_token: Option<super::wire::Token>,
    /// The participant's `error` frame test.
    pub error_text: Option<String>,
    /// The reply an answering organizer would send to the message, if any.
    pub reply: Option<String>,
}

/// Runs every reader of the client over `data`, as if the server had sent it
/// as a frame or a body. Never panics, whatever the bytes.
///
/// The fuzz target `client` (fuzz/) and the corpus replay test
/// (`tests/it/fuzz_corpus.rs`) call it: keep it public.
pub fn every_reading(data: &[u8]) -> Readings {
    use super::reply::{chat_id, is_reply, ReplyFrames};
    use tokio_tungstenite::tungstenite::Message;
    let message_token = super::wire::find_token(data);
    // Organizers read text frames only: the reply is built from UTF-8 bytes.
    let reply = match (message_token, std::str::from_utf8(data), chat_id(data)) {
        (Some(token), Ok(_), Some(chat)) if !is_reply(data) => {
            match ReplyFrames::default().frame(chat, token) {
                Message::Text(text) => Some(text.as_str().to_string()),
                _ => None,
            }
        }
        _ => None,
    };
    Readings {
        frame: frame(data),
        token: token(data, "POST /auth/sign-in"),
        error_message: error_message(data),
        message_token,
        reply_token: super::wire::find_reply(data),
        error_text: super::participant::error_text(data),
        reply,
    }
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
