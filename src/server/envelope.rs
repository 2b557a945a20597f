//! Decoding what a WebSocket client sends, as the real Messenger API (Go,
//! gorilla's `ReadJSON` into `encoding/json` structs) reads it: the
//! authorization frame, the envelope and the payloads, each failure mapped to
//! the answer the real server gives.
//!
//! Text and binary frames are read alike (gorilla does not look at the
//! opcode). The common case (exact keys, right types) is decoded with serde
//! directly; anything else falls back to [`super::gojson`] for Go's rules.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::gojson::{field, GoStruct};
use crate::protocol::{RawEnvelope, SendMessage, ORGANIZER_TOKEN_PREFIX, PARTICIPANT_TOKEN_PREFIX};

/// The token of an authorization frame `{"Authorization": "Bearer <prefix>:<jwt>"}`,
/// with its prefix, or `None` when the real server would close the
/// connection: not a JSON object, the key missing (matched ignoring case) or
/// not a string, not exactly `Bearer <token>`, or not exactly one known
/// `prefix:jwt`.
pub fn auth_token(data: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(data).ok()?;
    let header = match field(value.as_object()?, "Authorization") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return None,
    };
    let mut parts = header.split(' ');
    let (Some("Bearer"), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let mut halves = token.split(':');
    let (Some(prefix), Some(_), None) = (halves.next(), halves.next(), halves.next()) else {
        return None;
    };
    let known = [ORGANIZER_TOKEN_PREFIX, PARTICIPANT_TOKEN_PREFIX]
        .iter()
        .any(|p| p.strip_suffix(':') == Some(prefix));
    known.then(|| token.to_string())
}

/// An envelope's `type` and its payload as JSON text (`None`: no payload).
pub struct Envelope<'a> {
    /// `""` when the frame had no type (answered "invalid message type").
    pub kind: Cow<'a, str>,
    /// The payload as JSON text; `None` when the frame had none.
    pub payload: Option<Cow<'a, str>>,
}

/// Decodes an envelope; `None` is "malformed message" (not JSON, not an
/// object, or a `type` that is not a string).
pub fn envelope(data: &[u8]) -> Option<Envelope<'_>> {
    if let Ok(raw) = serde_json::from_slice::<RawEnvelope>(data) {
        return Some(Envelope {
            kind: raw.kind,
            payload: raw.payload.map(|p| Cow::Borrowed(p.get())),
        });
    }
    let value: Value = serde_json::from_slice(data).ok()?;
    let object = value.as_object()?;
    let kind = match field(object, "type") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return None,
    };
    Some(Envelope {
        kind: Cow::Owned(kind),
        payload: field(object, "payload").map(|p| Cow::Owned(p.to_string())),
    })
}

/// A payload decoded into a Go struct: `null` is the zero struct, anything
/// but an object fails. `None` is "invalid message payload".
fn go_object(payload: Option<&str>) -> Option<Value> {
    match serde_json::from_str(payload?).ok()? {
        Value::Null => Some(Value::Object(Map::new())),
        v @ Value::Object(_) => Some(v),
        _ => None,
    }
}

/// The `chatId` of a `get_chat_history` or `close_chat` payload.
pub fn chat_ref(payload: Option<&str>) -> Option<String> {
    let value = go_object(payload)?;
    GoStruct::parse(&value, "chatDto")
        .ok()?
        .string("chatId")
        .ok()
}

/// A `send_message` payload.
pub fn send_message(payload: Option<&str>) -> Option<SendMessage> {
    if let Ok(p) = serde_json::from_str::<SendMessage>(payload?) {
        return Some(p);
    }
    let value = go_object(payload)?;
    let dto = GoStruct::parse(&value, "sendMessageDto").ok()?;
    Some(SendMessage {
        chat_id: dto.string("chatId").ok()?,
        message: dto.string("message").ok()?,
        lat: dto.float("lat").ok()?,
        lng: dto.float("lng").ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_follows_the_real_checks() {
        let ok = |s: &str| auth_token(s.as_bytes());
        assert_eq!(
            ok(r#"{"Authorization":"Bearer organizer:a.b.c"}"#).as_deref(),
            Some("organizer:a.b.c")
        );
        assert_eq!(
            ok(r#"{"authorization":"Bearer participant:x"}"#).as_deref(),
            Some("participant:x")
        );
        for bad in [
            "Bearer organizer:x",
            "{}",
            "[1]",
            r#"{"Authorization":5}"#,
            r#"{"Authorization":"organizer:x"}"#,
            r#"{"Authorization":"Bearer  organizer:x"}"#,
            r#"{"Authorization":"bearer organizer:x"}"#,
            r#"{"Authorization":"Bearer admin:x"}"#,
            r#"{"Authorization":"Bearer x"}"#,
            r#"{"Authorization":"Bearer organizer:x:y"}"#,
            r#"{"type":"get_chats","payload":""}"#,
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }

    #[test]
    fn envelopes_decode_like_go() {
        let e = envelope(br#"{"type":"get_chats","payload":""}"#).unwrap();
        assert_eq!(
            (&*e.kind, e.payload.as_deref()),
            ("get_chats", Some(r#""""#))
        );
        let e = envelope(br#"{"Type":"send_message","PAYLOAD":{"chatId":"x"}}"#).unwrap();
        assert_eq!(&*e.kind, "send_message");
        assert_eq!(e.payload.as_deref(), Some(r#"{"chatId":"x"}"#));
        let e = envelope(br#"{"payload":""}"#).unwrap();
        assert_eq!(&*e.kind, "");
        for bad in [
            &b"not json"[..],
            b"[1, 2]",
            b"{\"type\": 5}",
            b"\x00\x01\x02",
            b"\"x\"",
        ] {
            assert!(envelope(bad).is_none());
        }
    }

    #[test]
    fn payloads_decode_like_go() {
        assert_eq!(chat_ref(Some(r#"{"chatId":"ab"}"#)).as_deref(), Some("ab"));
        assert_eq!(chat_ref(Some(r#"{"chatid":"ab"}"#)).as_deref(), Some("ab"));
        assert_eq!(chat_ref(Some("null")).as_deref(), Some(""));
        assert_eq!(chat_ref(Some(r#""""#)), None);
        assert_eq!(chat_ref(None), None);
        let m = send_message(Some(r#"{"chatId":"ab","message":"hi","lat":1}"#)).unwrap();
        assert_eq!((m.chat_id.as_str(), m.lat), ("ab", Some(1.0)));
        assert_eq!(
            send_message(Some(r#"{"chatId":"ab"}"#)).unwrap().message,
            ""
        );
        assert!(send_message(Some(r#"{"chatId":5,"message":"x"}"#)).is_none());
        assert!(send_message(Some(r#""""#)).is_none());
        assert!(send_message(None).is_none());
    }
}
