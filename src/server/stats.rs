//! The staging server's counters: plain atomics, so the hot paths only pay a
//! relaxed increment and a snapshot never takes the state lock.
//!
//! All counters are cumulative since the server started (a [`reset`] does not
//! clear them, so a caller diffs two snapshots), except `connections_open`,
//! which is the current number of open WebSocket connections.
//!
//! [`reset`]: super::RunningServer::reset

use std::sync::atomic::{AtomicU64, Ordering};

use super::ServerStats;

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Counters of one server; see the module docs.
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $($(#[$doc])* pub(crate) $name: AtomicU64,)*
        }

        impl Counters {
            /// A copy of every counter, by name.
            pub(crate) fn snapshot(&self) -> ServerStats {
                let mut out = ServerStats::new();
                $(out.insert(stringify!($name).to_string(), self.$name.load(Ordering::Relaxed));)*
                out
            }
        }
    };
}

counters! {
    /// WebSocket connections open now (a gauge: see
    /// [`crate::staging::SERVER_GAUGES`]).
    connections_open,
    /// WebSocket connections accepted (upgraded) in total.
    connections_total,
    /// Connections closed because the authorization frame was missing, late,
    /// malformed, named an unknown token, or a role that may not chat.
    auth_failures,
    /// Connections closed for being idle.
    idle_closes,
    /// Text or binary frames received from clients after the upgrade.
    frames_in,
    /// Frames written to clients.
    frames_out,
    /// Frames dropped because a client's send queue was full (a slow reader).
    frames_dropped,
    /// Messages stored, including each chat's problem description.
    messages_stored,
    /// `send_message` frames that had to wait for the message-rate limit.
    messages_throttled,
    /// Chats started.
    chats_started,
    /// Chats closed.
    chats_closed,
    /// Chat requests accepted.
    chat_requests,
    /// Participants signed up.
    participants,
    /// Sign-ups that outlived the database timeout under `sign_up_cost`
    /// (answered `500 database error`, nothing stored).
    sign_ups_timed_out,
    /// Organizer sign-ins.
    sign_ins,
    /// Upgrades delayed by `handshake_delay_per_connection`.
    handshakes_delayed,
    /// Upgrades that waited for a slot under `max_connections`.
    handshakes_waited,
    /// Calls of reset.
    resets,
    /// `send_message` frames forgotten by the `drop_one_in` test knob.
    messages_discarded,
    /// `send_message` frames processed late by the `reorder_up_to` test knob.
    messages_delayed,
}

/// Adds one to a counter.
pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n` to a counter.
pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// Keeps `connections_open` right however a connection ends.
pub(crate) struct OpenConnection<'a>(&'a Counters);

impl<'a> OpenConnection<'a> {
    /// Counts a newly upgraded connection.
    pub(crate) fn new(c: &'a Counters) -> Self {
        bump(&c.connections_open);
        bump(&c.connections_total);
        OpenConnection(c)
    }
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_every_counter_and_tracks_open_connections() {
        let c = Counters::default();
        {
            let _a = OpenConnection::new(&c);
            let _b = OpenConnection::new(&c);
            bump(&c.frames_dropped);
            let s = c.snapshot();
            assert_eq!(s["connections_open"], 2);
            assert_eq!(s["frames_dropped"], 1);
        }
        let s = c.snapshot();
        assert_eq!(s["connections_open"], 0);
        assert_eq!(s["connections_total"], 2);
        for key in [
            "frames_in",
            "frames_out",
            "messages_stored",
            "chats_started",
            "chat_requests",
            "participants",
            "handshakes_delayed",
        ] {
            assert!(s.contains_key(key), "{key}");
        }
    }
}
