//! Identifiers and timestamps the staging server hands out: 24-hex chat and
//! message ids, JWT-shaped bearer tokens, RFC 3339 times.
//!
//! The real API is a MongoDB-backed service, so ids look like ObjectIds
//! (4 bytes of seconds, 5 random bytes fixed per process, a 3-byte counter) and
//! tokens look like JWTs. Tokens are opaque here: the server looks them up in a
//! map, so their only job is to be unguessable, which the 32 random bytes of the
//! "signature" part ensure.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A 12-byte ObjectId-like identifier, shown as 24 lowercase hex digits.
pub(crate) type ObjectId = [u8; 12];

/// Makes unique [`ObjectId`]s for one server.
pub(crate) struct IdGen {
    random: [u8; 5],
    counter: AtomicU32,
}

impl IdGen {
    /// A generator with fresh random bytes, or `None` when the OS has no randomness.
    pub(crate) fn new() -> Option<IdGen> {
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed).ok()?;
        let mut random = [0u8; 5];
        random.copy_from_slice(&seed[..5]);
        // Start the counter at a random point, as ObjectId generators do.
        let start = u32::from_be_bytes([0, seed[5], seed[6], seed[7]]);
        Some(IdGen {
            random,
            counter: AtomicU32::new(start),
        })
    }

    /// The next id; unique as long as fewer than 2^24 ids are made per second.
    pub(crate) fn next(&self) -> ObjectId {
        let secs = u32::try_from(unix_millis() / 1000).unwrap_or(u32::MAX);
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut id = [0u8; 12];
        id[..4].copy_from_slice(&secs.to_be_bytes());
        id[4..9].copy_from_slice(&self.random);
        id[9..].copy_from_slice(&n.to_be_bytes()[1..]);
        id
    }
}

/// 24 lowercase hex digits.
pub(crate) fn to_hex(id: &ObjectId) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(24);
    for b in id {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Parses 24 hex digits (either case); anything else is `None`, which callers
/// treat as a chat the client has no access to.
pub(crate) fn parse_hex(s: &str) -> Option<ObjectId> {
    let bytes = s.as_bytes();
    if bytes.len() != 24 {
        return None;
    }
    let mut id = [0u8; 12];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        id[i] = u8::try_from(hi * 16 + lo).ok()?;
    }
    Some(id)
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// RFC 3339 UTC with milliseconds, e.g. `2024-05-01T12:00:00.123Z`.
pub(crate) fn rfc3339(millis: u64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(millis);
    humantime::format_rfc3339_millis(t).to_string()
}

/// A new bearer token `<prefix><jwt>` for user `id`, or `None` when the OS has
/// no randomness. The payload names the user for someone reading logs; the
/// server never decodes it.
pub(crate) fn new_token(prefix: &str, role: &str, id: i64) -> Option<String> {
    let mut sig = [0u8; 32];
    getrandom::fill(&mut sig).ok()?;
    let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = format!(
        r#"{{"sub":{id},"role":"{role}","iat":{}}}"#,
        unix_millis() / 1000
    );
    Some(format!(
        "{prefix}{header}.{}.{}",
        base64url(payload.as_bytes()),
        base64url(&sig)
    ))
}

/// Unpadded base64url, as JWTs use.
fn base64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = (n >> (18 - 6 * i)) & 63;
            out.push(char::from(ALPHABET[idx as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_24_hex_unique_and_parse_back() {
        let g = IdGen::new().unwrap();
        let a = g.next();
        let b = g.next();
        assert_ne!(a, b);
        let hex = to_hex(&a);
        assert_eq!(hex.len(), 24);
        assert!(hex.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(parse_hex(&hex), Some(a));
        assert_eq!(parse_hex(&hex.to_uppercase()), Some(a));
        assert_eq!(parse_hex("xyz"), None);
        assert_eq!(parse_hex(&"g".repeat(24)), None);
        assert_eq!(parse_hex("é".repeat(12).as_str()), None);
    }

    #[test]
    fn tokens_look_like_jwts_and_differ() {
        let t = new_token("organizer:", "organizer", 7).unwrap();
        let jwt = t.strip_prefix("organizer:").unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        for p in &parts {
            assert!(!p.is_empty());
            assert!(p
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        }
        assert_eq!(parts[0], "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9");
        assert_ne!(t, new_token("organizer:", "organizer", 7).unwrap());
    }

    #[test]
    fn base64url_matches_known_vectors() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn times_are_rfc3339_utc_millis() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
