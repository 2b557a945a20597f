//! Organizers that answer: building the reply to a participant message
//! straight from the frame that carried it, and the recorder's reply numbers.
//!
//! Real support answers participants, and every answer is one more message the
//! API stores and fans out, so `organizer.reply` makes the load realistic and
//! gives the participant a round trip to time. The reply carries the original
//! token under its own marker (` [re:run:p:seq:sent_us]`), so the participant can
//! match it and the organizer never mistakes the echo of its own reply for a
//! participant message. Building a reply copies the chat id out of the received
//! frame into one reusable buffer: no allocation per reply.

use bytes::{BufMut, BytesMut};
use hdrhistogram::Histogram;
use memchr::memmem;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::wire::{Token, REPLY_OPEN};
use crate::results::Percentiles;

/// True when `frame` carries an organizer's reply (the organizer's own echo):
/// lets the organizer skip it without decoding the JSON.
pub fn is_reply(frame: &[u8]) -> bool {
    memmem::find(frame, REPLY_OPEN).is_some()
}

/// The `chatId` value of a `user_message` frame, as raw bytes, when it needs no
/// JSON unescaping (chat ids are hex: the server's always do).
pub fn chat_id(frame: &[u8]) -> Option<&[u8]> {
    let key = b"\"chatId\"";
    let mut rest = &frame[memmem::find(frame, key)? + key.len()..];
    rest = rest.trim_ascii_start().strip_prefix(b":")?;
    rest = rest.trim_ascii_start().strip_prefix(b"\"")?;
    let end = memchr::memchr(b'"', rest)?;
    let id = &rest[..end];
    // A backslash or control byte would need escaping rules: refuse rather than guess.
    (!id.is_empty() && id.iter().all(|&b| b >= 0x20 && b != b'\\')).then_some(id)
}

/// Builds an organizer's `send_message` replies into one reusable buffer.
pub struct ReplyFrames {
    buf: BytesMut,
}

impl Default for ReplyFrames {
    fn default() -> Self {
        ReplyFrames {
            buf: BytesMut::with_capacity(256),
        }
    }
}

impl ReplyFrames {
    /// The reply into chat `chat_id` (raw bytes from [`chat_id`]) to the message `token`.
    pub fn frame(&mut self, chat_id: &[u8], token: Token) -> Message {
        let mut int = itoa::Buffer::new();
        self.buf.reserve(chat_id.len() + 128);
        self.buf
            .put_slice(br#"{"type":"send_message","payload":{"chatId":""#);
        self.buf.put_slice(chat_id);
        self.buf.put_slice(br#"","message":"re: message number "#);
        self.buf.put_slice(int.format(token.seq).as_bytes());
        self.buf.put_slice(REPLY_OPEN);
        self.buf.put_slice(int.format(token.run).as_bytes());
        self.buf.put_u8(b':');
        self.buf.put_slice(int.format(token.participant).as_bytes());
        self.buf.put_u8(b':');
        self.buf.put_slice(int.format(token.seq).as_bytes());
        self.buf.put_u8(b':');
        self.buf.put_slice(int.format(token.sent_us).as_bytes());
        self.buf.put_slice(br#"]"}}"#);
        let bytes = self.buf.split().freeze();
        match Utf8Bytes::try_from(bytes) {
            Ok(text) => Message::Text(text),
            // Unreachable: the chat id came out of a text frame and the rest is ASCII.
            Err(_) => Message::Text(Utf8Bytes::from_static("")),
        }
    }
}

/// The recorder's reply numbers.
pub struct ReplyStats {
    /// Replies written by organizers.
    pub sent: u64,
    /// Replies received by their participant.
    pub received: u64,
    round_trip: Histogram<u64>,
}

impl Default for ReplyStats {
    fn default() -> Self {
        ReplyStats {
            sent: 0,
            received: 0,
            round_trip: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("static bounds are valid"),
        }
    }
}

impl ReplyStats {
    /// A participant received a reply `latency_us` after sending the message.
    pub fn record_received(&mut self, latency_us: u64) {
        self.received += 1;
        let _ = self.round_trip.record(latency_us.max(1));
    }

    /// The totals and the round-trip distribution.
    pub fn finish(&self) -> Replies {
        Replies {
            sent: self.sent,
            received: self.received,
            round_trip: super::histograms::percentiles(&self.round_trip),
        }
    }
}

/// Reply numbers of a finished run.
pub struct Replies {
    /// Replies written by organizers.
    pub sent: u64,
    /// Replies received by their participant.
    pub received: u64,
    /// Participant send → reply received, ms.
    pub round_trip: Percentiles,
}

#[cfg(test)]
mod tests {
    use super::super::wire::{find_reply, find_token};
    use super::*;
    use crate::protocol::ClientFrame;

    #[test]
    fn chat_ids_are_found_with_or_without_spaces() {
        let frame = br#"{"type":"user_message","payload":{"id":"x","chatId":"65a1b2c3d4e5f60718293a4b","content":"hi"}}"#;
        assert_eq!(chat_id(frame), Some(&b"65a1b2c3d4e5f60718293a4b"[..]));
        let spaced = br#"{"type": "user_message", "payload": {"chatId" : "ab12", "content": "x"}}"#;
        assert_eq!(chat_id(spaced), Some(&b"ab12"[..]));
        assert_eq!(chat_id(br#"{"chatId":"a\"b"}"#), None);
        assert_eq!(chat_id(br#"{"chatId":""}"#), None);
        assert_eq!(chat_id(br#"{"content":"no chat"}"#), None);
    }

    /// Once the socket has written a reply and dropped it, later replies are
    /// built in the same allocation: the reply path does not allocate.
    #[test]
    fn a_written_reply_leaves_its_buffer_for_the_next() {
        let token = Token {
            run: u64::MAX,
            participant: 1,
            seq: 2,
            sent_us: 3,
        };
        let mut frames = ReplyFrames::default();
        let first = match frames.frame(b"ab12", token) {
            Message::Text(t) => t.as_str().as_ptr(),
            _ => panic!(),
        };
        for seq in 0..100 {
            let Message::Text(t) = frames.frame(b"ab12", Token { seq, ..token }) else {
                panic!()
            };
            // Within the one 256-byte allocation (reserve reclaims it when the
            // space after the last frame runs out).
            let offset = (t.as_str().as_ptr() as usize).wrapping_sub(first as usize);
            assert!(offset < 256, "reallocated at {seq}: offset {offset}");
        }
    }

    #[test]
    fn replies_are_valid_protocol_carry_the_token_and_are_not_participant_messages() {
        let token = Token {
            run: 0xc0ff_ee00_0000_0003,
            participant: 7,
            seq: 42,
            sent_us: 123_456,
        };
        let mut frames = ReplyFrames::default();
        for _ in 0..3 {
            let Message::Text(text) = frames.frame(b"65a1b2c3d4e5f60718293a4b", token) else {
                panic!("text frame expected")
            };
            let ClientFrame::SendMessage(m) = serde_json::from_str(text.as_str()).unwrap() else {
                panic!("send_message expected: {}", text.as_str())
            };
            assert_eq!(m.chat_id, "65a1b2c3d4e5f60718293a4b");
            assert_eq!(find_reply(text.as_bytes()), Some(token));
            assert_eq!(find_token(text.as_bytes()), None, "{}", text.as_str());
        }
    }
}
