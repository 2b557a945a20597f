//! An open WebSocket that counts itself: the recorder's `open_connections`
//! gauge goes up when one is made and down when it is dropped, also when its
//! worker task is aborted at the end of a run.

use std::ops::{Deref, DerefMut};

use tokio::sync::mpsc;

use super::recorder::Event;
use super::{Clock, Ctx};

/// An open connection that tells the recorder when it closes (also when its
/// task is aborted).
pub struct ConnectionGuard<T> {
    inner: T,
    events: mpsc::UnboundedSender<Event>,
    clock: Clock,
}

impl<T> ConnectionGuard<T> {
    pub(super) fn new(inner: T, ctx: &Ctx) -> Self {
        ctx.emit(Event::Connection {
            t_us: ctx.clock.elapsed_us(),
            delta: 1,
        });
        ConnectionGuard {
            inner,
            events: ctx.events.clone(),
            clock: ctx.clock,
        }
    }
}

impl<T> Drop for ConnectionGuard<T> {
    fn drop(&mut self) {
        let _ = self.events.send(Event::Connection {
            t_us: self.clock.elapsed_us(),
            delta: -1,
        });
    }
}

impl<T> Deref for ConnectionGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> DerefMut for ConnectionGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}
