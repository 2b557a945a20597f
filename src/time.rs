//! RFC 3339 instants, parsed in one place: result files hold their start
//! and end as RFC 3339 UTC text ([`Timestamp`]), and `--start-at` is one. A
//! neutral module, so `matrix`, `results`, `analysis` and `cloudwatch` share
//! the parser without importing each other.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Parses an RFC 3339 UTC instant such as `2026-11-28T06:00:00Z` (fractions
/// of a second allowed, surrounding blanks ignored).
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, humantime::TimestampError> {
    humantime::parse_rfc3339_weak(text.trim().trim_end_matches('Z'))
}

/// An instant of a result file (`started_at`, `ended_at`): RFC 3339 UTC
/// text, kept as it was read so a file writes back byte for byte (older
/// files have seconds, newer ones milliseconds), and parsed by
/// [`parse_rfc3339`] when a stage needs the instant. A text that does not
/// parse is kept too: each reader says what it does without the instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(String);

impl Timestamp {
    /// The instant with milliseconds, as the load engine writes it.
    pub fn at(t: SystemTime) -> Timestamp {
        Timestamp(humantime::format_rfc3339_millis(t).to_string())
    }

    /// The instant, or `None` when the text is not RFC 3339.
    pub fn instant(&self) -> Option<SystemTime> {
        parse_rfc3339(&self.0).ok()
    }

    /// Seconds since the Unix epoch, or `None` when the text is not RFC 3339
    /// (or before 1970).
    pub fn epoch_s(&self) -> Option<f64> {
        Some(
            self.instant()?
                .duration_since(UNIX_EPOCH)
                .ok()?
                .as_secs_f64(),
        )
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text of an instant, as found in a file (it is parsed only when used).
impl From<&str> for Timestamp {
    fn from(text: &str) -> Timestamp {
        Timestamp(text.to_string())
    }
}

/// The text of an instant, as found in a file (it is parsed only when used).
impl From<String> for Timestamp {
    fn from(text: String) -> Timestamp {
        Timestamp(text)
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn a_timestamp_keeps_its_text_and_parses_with_the_one_parser() {
        let t: Timestamp = serde_json::from_str("\"2026-11-28T01:00:00Z\"").unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-11-28T01:00:00Z\""
        );
        assert_eq!(t.epoch_s(), Some(1_795_827_600.0));
        let again = Timestamp::at(t.instant().unwrap());
        assert_eq!(again.as_str(), "2026-11-28T01:00:00.000Z");
        assert_eq!(Timestamp::from("not a time").instant(), None);
    }
}
