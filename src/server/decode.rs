//! Every decoder of the embedded server over one input, as if a client had
//! sent it as a WebSocket frame or a REST body: the entry point of the fuzz
//! target `server` and of the corpus replay test.

use super::{envelope, gojson, ids, validate};
use crate::protocol::SendMessage;

/// What the server makes of one client input, by each of its decoders.
#[derive(Debug)]
pub struct ClientDecoding {
    /// The token of an authorization frame (`None`: the connection is closed).
    pub auth_token: Option<String>,
    /// The envelope's type (`None`: "malformed message").
    pub kind: Option<String>,
    /// The `chatId` of a `get_chat_history` or `close_chat` payload.
    pub chat_ref: Option<String>,
    /// Whether that chat id is an ObjectId.
    pub chat_ref_is_id: bool,
    /// A `send_message` payload.
    pub send_message: Option<SendMessage>,
    /// The Organizer API's sign-in checks of the body as typed JSON.
    pub sign_in: Result<(), Vec<String>>,
    /// The Participant API's sign-up checks of the body.
    pub sign_up: Result<(), String>,
    /// The Participant API's chat-request checks of the body.
    pub chat_request: Result<(), String>,
}

/// Runs every decoder of the server over `data`. Never panics, whatever the
/// bytes.
///
/// The fuzz target `server` (fuzz/) and the corpus replay test
/// (`tests/it/fuzz_corpus.rs`) call it: keep it public.
pub fn every_decoding(data: &[u8]) -> ClientDecoding {
    let (kind, chat_ref, send_message) = match envelope::envelope(data) {
        Some(env) => {
            let payload = env.payload.as_deref();
            let chat_ref = envelope::chat_ref(payload);
            let send_message = envelope::send_message(payload);
            (Some(env.kind.into_owned()), chat_ref, send_message)
        }
        None => (None, None, None),
    };
    ClientDecoding {
        auth_token: envelope::auth_token(data),
        kind,
        chat_ref_is_id: chat_ref.as_deref().and_then(ids::parse_hex).is_some(),
        chat_ref,
        send_message,
        sign_in: match gojson::parse_node(data) {
            Ok(v) => validate::sign_in(Some(&v)).map(drop),
            Err(message) => Err(vec![message]),
        },
        sign_up: gojson::parse_go(data).and_then(|v| validate::sign_up(&v).map(drop)),
        chat_request: gojson::parse_go(data).and_then(|v| validate::chat_request(&v).map(drop)),
    }
}
