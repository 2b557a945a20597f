//! Test knobs that make the embedded server misbehave the way real ones do:
//! silently drop a share of the messages, or process the frames of one
//! connection out of order (the real messenger-api handles each frame in its
//! own goroutine, `../shared/PROTOCOL.md` §4).
//!
//! They exist so the load generator's accounting (loss, duplicates, late
//! deliveries) is tested against a server over real sockets rather than a
//! mock. Both are deterministic: message `n` (counted over the whole server)
//! is dropped when `n % k == k − 1`, and delayed by a hash of `n`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;

use super::frames::{chat_error, reply, Out};
use super::ids::ObjectId;
use super::state::StoredMessage;
use super::stats::bump;
use super::{App, Capacity};

/// What happens to one `send_message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Stored and delivered at once, as normal.
    Now,
    /// Silently forgotten: no store, no delivery, no error.
    Drop,
    /// Stored and delivered after this delay, while later frames go ahead.
    Delay(Duration),
}

/// The fault knobs of one server.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    drop_one_in: Option<u64>,
    reorder_up_to: Option<Duration>,
    next: AtomicU64,
}

impl Faults {
    /// The faults `capacity` asks for (none by default).
    pub(crate) fn new(capacity: &Capacity) -> Self {
        Faults {
            drop_one_in: capacity.drop_one_in.map(|k| u64::from(k.max(1))),
            reorder_up_to: capacity.reorder_up_to.filter(|d| !d.is_zero()),
            next: AtomicU64::new(0),
        }
    }

    fn fate(&self) -> Fate {
        if self.drop_one_in.is_none() && self.reorder_up_to.is_none() {
            return Fate::Now;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        if self.drop_one_in.is_some_and(|k| n % k == k - 1) {
            return Fate::Drop;
        }
        match self.reorder_up_to {
            Some(max) => {
                let max_us = max.as_micros() as u64;
                Fate::Delay(Duration::from_micros(mix(n) % (max_us + 1)))
            }
            None => Fate::Now,
        }
    }
}

/// splitmix64: a well-spread hash of the message number.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One `send_message` ready to be stored and delivered.
pub(crate) struct Post {
    /// Who sent it.
    pub(crate) sender: i64,
    /// Into which chat.
    pub(crate) chat: ObjectId,
    /// The chat id as the client wrote it (for error frames).
    pub(crate) chat_id: String,
    /// What is stored.
    pub(crate) message: StoredMessage,
    /// The serialized `user_message` delivered to both members.
    pub(crate) frame: Utf8Bytes,
}

/// Stores and delivers `post` now, later, or never, as the knobs say; an
/// error frame goes back on `tx` when the chat refuses it.
pub(crate) fn post(app: &Arc<App>, tx: &mpsc::Sender<Out>, post: Post) {
    match app.faults.fate() {
        Fate::Now => deliver(app, tx, post),
        Fate::Drop => bump(&app.hub.stats.messages_discarded),
        Fate::Delay(delay) => {
            bump(&app.hub.stats.messages_delayed);
            let (app, tx) = (Arc::clone(app), tx.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                deliver(&app, &tx, post);
            });
        }
    }
}

fn deliver(app: &App, tx: &mpsc::Sender<Out>, p: Post) {
    if let Err(e) = app.hub.post_message(p.sender, &p.chat, p.message, &p.frame) {
        reply(tx, &app.hub.stats, chat_error(&e, &p.chat_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_in_k_is_dropped_and_delays_stay_under_the_bound() {
        let f = Faults::new(&Capacity {
            drop_one_in: Some(20),
            reorder_up_to: Some(Duration::from_millis(50)),
            ..Capacity::default()
        });
        let fates: Vec<Fate> = (0..2000).map(|_| f.fate()).collect();
        let dropped = fates.iter().filter(|f| **f == Fate::Drop).count();
        assert_eq!(dropped, 100);
        let delays: Vec<Duration> = fates
            .iter()
            .filter_map(|f| match f {
                Fate::Delay(d) => Some(*d),
                _ => None,
            })
            .collect();
        assert_eq!(delays.len(), 1900);
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(50)));
        // Spread out, so consecutive messages swap.
        let short = delays
            .iter()
            .filter(|d| **d < Duration::from_millis(25))
            .count();
        assert!((700..1200).contains(&short), "{short}");
    }

    #[test]
    fn without_knobs_every_message_goes_now() {
        let f = Faults::new(&Capacity::default());
        assert!((0..100).all(|_| f.fate() == Fate::Now));
    }
}
