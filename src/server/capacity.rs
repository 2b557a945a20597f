//! The optional capacity knobs of [`Capacity`]: a message-rate limit, a cap on
//! open connections, a handshake delay that grows with the open connections,
//! and a cost of each participant sign-up.
//!
//! They exist so a user can watch saturation happen on one machine: the first
//! three make clients *wait* (latency grows, handshakes time out on the
//! client), the way an overloaded Messenger API behaves. The sign-up cost
//! mirrors the real Participant API, which *fails* under overload: its bcrypt
//! hash runs inside a 3 s database timeout, so a sign-up that waited too long
//! for a core answers `500 database error` (PROTOCOL.md §4).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::stats::{bump, Counters};
use super::Capacity;

/// Default per-connection send queue, in frames.
pub const DEFAULT_SEND_QUEUE: usize = 1024;

/// The Participant API's database timeout around a sign-up's hash and
/// insert: a sign-up that takes longer fails and stores nothing.
pub const SIGN_UP_TIMEOUT: Duration = Duration::from_secs(3);

/// Burst the message-rate limit lets through after an idle spell, as a share
/// of one second: small, so the cap shows within a fraction of a second.
const BURST: Duration = Duration::from_millis(50);

/// Token bucket in its "virtual clock" form (GCRA): `next` is when the next
/// token is free. Waiting callers are served in arrival order of their
/// reservations, so latency grows smoothly under overload.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Nanoseconds between two tokens; atomic so the test drift
    /// ([`RateLimiter::set_rate`]) can change it between runs.
    interval_ns: AtomicU64,
    burst: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// At most `per_second` acquisitions per second (0 is treated as 1).
    pub(crate) fn new(per_second: u32) -> Self {
        let per_second = per_second.max(1);
        let interval = Duration::from_secs(1) / per_second;
        RateLimiter {
            interval_ns: AtomicU64::new(interval.as_nanos() as u64),
            burst: BURST.max(interval),
            next: Mutex::new(None),
        }
    }

    /// Forgets every reservation: the next acquisition is free at once.
    pub(crate) fn forget(&self) {
        *self.next.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Changes the limit to `per_second` (fractions allowed, at least 1).
    pub(crate) fn set_rate(&self, per_second: f64) {
        let nanos = 1e9 / per_second.max(1.0);
        self.interval_ns.store(nanos as u64, Ordering::Relaxed);
    }

    /// Reserves the next slot; returns when to proceed (now or later).
    fn reserve(&self, now: Instant) -> Instant {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let earliest = now.checked_sub(self.burst).unwrap_or(now);
        let slot = match *next {
            Some(n) if n > earliest => n,
            _ => earliest,
        };
        *next = Some(slot + Duration::from_nanos(self.interval_ns.load(Ordering::Relaxed)));
        slot
    }

    /// Waits for a slot; `true` when the caller had to wait.
    pub(crate) async fn acquire(&self) -> bool {
        let now = Instant::now();
        let slot = self.reserve(now);
        if slot > now {
            tokio::time::sleep_until(slot).await;
            true
        } else {
            false
        }
    }
}

/// Admission of WebSocket upgrades: the `max_connections` slots and the
/// handshake delay.
#[derive(Debug)]
pub(crate) struct Gate {
    slots: Option<Arc<Semaphore>>,
    delay_per_connection: Option<Duration>,
}

/// What admission decided.
pub(crate) enum Admission {
    /// Go ahead; hold the permit (if any) for the connection's life.
    Admitted(Option<OwnedSemaphorePermit>),
    /// The server is shutting down.
    ShuttingDown,
}

impl Gate {
    /// The gate for these knobs.
    pub(crate) fn new(capacity: &Capacity) -> Self {
        Gate {
            slots: capacity
                .max_connections
                .map(|n| Arc::new(Semaphore::new(n as usize))),
            delay_per_connection: capacity.handshake_delay_per_connection,
        }
    }

    /// Waits for a free connection slot, then for the handshake delay
    /// (open connections × the per-connection delay).
    pub(crate) async fn admit(&self, stats: &Counters, cancel: &CancellationToken) -> Admission {
        let permit = match &self.slots {
            None => None,
            Some(slots) => {
                let slots = Arc::clone(slots);
                let permit = match slots.clone().try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => {
                        bump(&stats.handshakes_waited);
                        tokio::select! {
                            _ = cancel.cancelled() => return Admission::ShuttingDown,
                            p = slots.acquire_owned() => match p {
                                Ok(p) => p,
                                Err(_) => return Admission::ShuttingDown,
                            },
                        }
                    }
                };
                Some(permit)
            }
        };
        if let Some(per) = self.delay_per_connection {
            let open = stats.connections_open.load(Ordering::Relaxed);
            let delay = per.saturating_mul(u32::try_from(open).unwrap_or(u32::MAX));
            if !delay.is_zero() {
                bump(&stats.handshakes_delayed);
                tokio::select! {
                    _ = cancel.cancelled() => return Admission::ShuttingDown,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
        Admission::Admitted(permit)
    }
}

/// The sign-up "hash" workers: `workers` permits, each held for the cost of
/// one sign-up, so concurrent sign-ups queue for a core as bcrypt's do.
#[derive(Debug)]
pub(crate) struct SignUpPool {
    cost: Duration,
    workers: Arc<Semaphore>,
}

impl SignUpPool {
    /// A pool of `workers` (at least one) spending `cost` per sign-up; `None`
    /// without a cost (sign-ups are free).
    pub(crate) fn new(cost: Option<Duration>, workers: usize) -> Option<Self> {
        let cost = cost.filter(|c| !c.is_zero())?;
        Some(SignUpPool {
            cost,
            workers: Arc::new(Semaphore::new(workers.max(1))),
        })
    }

    /// Waits for a worker and spends the cost on it. The cost is spent even
    /// when the caller's deadline has passed meanwhile: the real hash does not
    /// look at its context either, which is why overload spreads to every
    /// sign-up queued behind.
    pub(crate) async fn spend(&self) {
        // The semaphore is never closed, so acquiring cannot fail.
        let _worker = self.workers.acquire().await;
        tokio::time::sleep(self.cost).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_lets_a_small_burst_through_then_spaces_slots() {
        let l = RateLimiter::new(100); // 10 ms apart, 50 ms burst
        let now = Instant::now();
        let slots: Vec<Instant> = (0..20).map(|_| l.reserve(now)).collect();
        let immediate = slots.iter().filter(|s| **s <= now).count();
        assert!((5..=6).contains(&immediate), "{immediate} immediate");
        let last = *slots.last().unwrap() - now;
        assert!(
            last >= Duration::from_millis(130) && last <= Duration::from_millis(150),
            "{last:?}"
        );
        for w in slots.windows(2) {
            assert_eq!(w[1] - w[0], Duration::from_millis(10));
        }
    }

    #[test]
    fn limiter_does_not_bank_more_than_the_burst() {
        let l = RateLimiter::new(1000);
        let t0 = Instant::now();
        l.reserve(t0);
        // A long idle spell later, only the burst (50 tokens) is immediate.
        let later = t0 + Duration::from_secs(10);
        let immediate = (0..200).filter(|_| l.reserve(later) <= later).count();
        assert!((50..=51).contains(&immediate), "{immediate}");
    }

    #[tokio::test]
    async fn sign_up_pool_queues_for_its_workers() {
        assert!(SignUpPool::new(None, 2).is_none());
        assert!(SignUpPool::new(Some(Duration::ZERO), 2).is_none());
        let pool = Arc::new(SignUpPool::new(Some(Duration::from_millis(100)), 2).unwrap());
        let t = Instant::now();
        let mut done = Vec::new();
        for _ in 0..5 {
            let pool = Arc::clone(&pool);
            done.push(tokio::spawn(async move {
                pool.spend().await;
                t.elapsed()
            }));
        }
        let mut times = Vec::new();
        for d in done {
            times.push(d.await.unwrap());
        }
        times.sort();
        // Two workers: 100, 100, 200, 200, 300 ms.
        assert!(times[1] < Duration::from_millis(190), "{times:?}");
        assert!(times[2] >= Duration::from_millis(200), "{times:?}");
        assert!(times[4] >= Duration::from_millis(300), "{times:?}");
    }

    #[tokio::test]
    async fn gate_without_knobs_admits_at_once() {
        let g = Gate::new(&Capacity::default());
        let stats = Counters::default();
        let cancel = CancellationToken::new();
        let t = Instant::now();
        assert!(matches!(
            g.admit(&stats, &cancel).await,
            Admission::Admitted(None)
        ));
        assert!(t.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn gate_waiting_for_a_slot_ends_on_shutdown() {
        let g = Gate::new(&Capacity {
            max_connections: Some(1),
            ..Capacity::default()
        });
        let stats = Counters::default();
        let cancel = CancellationToken::new();
        let first = g.admit(&stats, &cancel).await;
        assert!(matches!(first, Admission::Admitted(Some(_))));
        let c2 = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            c2.cancel();
        });
        assert!(matches!(
            g.admit(&stats, &cancel).await,
            Admission::ShuttingDown
        ));
        assert_eq!(stats.handshakes_waited.load(Ordering::Relaxed), 1);
    }
}
