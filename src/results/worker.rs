//! Which worker saw an error (`first_error.worker`): written as text
//! (`organizer 1`, `participant 812`, `part 2: participant 7` in a merged
//! split run), read back into the same enum. Text this build does not
//! recognise (a hand-edited or a future file) is kept as it was, so a file
//! round-trips unchanged.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A load-generator worker, as named in result files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Worker {
    /// Not recorded (older files, or a failure outside any worker): `""`.
    #[default]
    Unknown,
    /// Organizer `n` of the pool (1-based): `organizer 1`.
    Organizer(u32),
    /// Participant `n`: `participant 812`.
    Participant(u32),
    /// A worker of part `part` of a split run, after merging: `part 2: participant 7`.
    Part(u32, Box<Worker>),
    /// Text that is none of the above, kept verbatim.
    Other(String),
}

impl Worker {
    /// The same worker, named as one of part `part`'s when split parts are merged.
    pub fn in_part(self, part: u32) -> Worker {
        Worker::Part(part, Box::new(self))
    }

    fn parse(text: &str) -> Worker {
        // Only the digits this build writes (no sign, no leading zero), so
        // what is read writes back the same.
        let number = |rest: &str| rest.parse::<u32>().ok().filter(|n| n.to_string() == rest);
        if text.is_empty() {
            return Worker::Unknown;
        }
        if let Some(n) = text.strip_prefix("organizer ").and_then(number) {
            return Worker::Organizer(n);
        }
        if let Some(n) = text.strip_prefix("participant ").and_then(number) {
            return Worker::Participant(n);
        }
        if let Some((part, inner)) = text.strip_prefix("part ").and_then(|r| r.split_once(": ")) {
            if let Some(part) = number(part) {
                return Worker::Part(part, Box::new(Worker::parse(inner)));
            }
        }
        Worker::Other(text.to_string())
    }
}

impl fmt::Display for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Worker::Unknown => Ok(()),
            Worker::Organizer(n) => write!(f, "organizer {n}"),
            Worker::Participant(n) => write!(f, "participant {n}"),
            Worker::Part(part, w) => write!(f, "part {part}: {w}"),
            Worker::Other(text) => f.write_str(text),
        }
    }
}

impl Serialize for Worker {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Worker {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Worker, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(Worker::parse(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::Worker;

    #[test]
    fn names_read_back_into_the_same_worker_and_unknown_text_is_kept() {
        for text in [
            "",
            "organizer 1",
            "participant 812",
            "part 2: participant 7",
            "part 1: part 3: organizer 2",
            "participant x",
            "someone",
        ] {
            let w: Worker = serde_json::from_str(&format!("{text:?}")).unwrap();
            assert_eq!(serde_json::to_string(&w).unwrap(), format!("{text:?}"));
        }
        let w: Worker = serde_json::from_str("\"part 2: participant 7\"").unwrap();
        assert_eq!(w, Worker::Participant(7).in_part(2));
        let w: Worker = serde_json::from_str("\"participant x\"").unwrap();
        assert_eq!(w, Worker::Other("participant x".into()));
    }
}
