//! RFC 3339 instants, parsed in one place: result files hold their start
//! and end as RFC 3339 UTC text, and `--start-at` is one. A neutral module,
//! so `matrix`, `analysis` and `cloudwatch` share the parser without
//! importing each other.

use std::time::SystemTime;

/// Parses an RFC 3339 UTC instant such as `2026-11-28T06:00:00Z` (fractions
/// of a second allowed, surrounding blanks ignored).
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, humantime::TimestampError> {
    humantime::parse_rfc3339_weak(text.trim().trim_end_matches('Z'))
}
