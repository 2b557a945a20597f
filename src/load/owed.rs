//! The answer the Messenger API owes a worker. Every frame a worker sends is
//! answered: a participant's `send_message` is echoed to its sender, `get_chats`
//! gets `chats`, an organizer's `start_chat` gets `new_chat` or `info`
//! (PROTOCOL.md §2). So a connection that has sent and heard nothing for
//! `handshake_timeout` has a server that stopped answering, or one stuck
//! half-way through a frame: that worker fails with a timeout instead of
//! waiting for the end of the run.

use std::time::{Duration, Instant};

/// Since when a worker waits for any frame, and how long it may.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Owed {
    since: Option<Instant>,
    within: Duration,
}

impl Owed {
    /// Nothing owed yet; a wait may last `within`.
    pub(crate) fn new(within: Duration) -> Self {
        Owed {
            since: None,
            within,
        }
    }

    /// A frame was sent at `now`: an answer is owed from then, unless one
    /// already was.
    pub(crate) fn sent(&mut self, now: Instant) {
        self.since.get_or_insert(now);
    }

    /// A frame arrived: nothing is owed any more.
    pub(crate) fn received(&mut self) {
        self.since = None;
    }

    /// When the wait runs out, if an answer is owed.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.since.map(|since| since + self.within)
    }

    /// True when an answer has been owed for longer than allowed at `now`.
    pub(crate) fn overdue(&self, now: Instant) -> bool {
        self.deadline().is_some_and(|d| now >= d)
    }

    /// How long a wait may last.
    pub(crate) fn within(&self) -> Duration {
        self.within
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_owed_from_the_first_unanswered_send() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut owed = Owed::new(s);
        assert!(!owed.overdue(t0 + 10 * s), "nothing sent, nothing owed");
        owed.sent(t0);
        owed.sent(t0 + s / 2);
        assert_eq!(owed.deadline(), Some(t0 + s));
        assert!(!owed.overdue(t0 + s / 2));
        assert!(owed.overdue(t0 + s));
        owed.received();
        assert!(!owed.overdue(t0 + 2 * s));
        owed.sent(t0 + 2 * s);
        assert_eq!(owed.deadline(), Some(t0 + 3 * s));
    }
}
