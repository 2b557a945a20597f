//! An open WebSocket that counts itself: the recorder's `open_connections`
//! gauge goes up when one is made and down when it is dropped, also when its
//! worker task is aborted at the end of a run.

use std::ops::{Deref, DerefMut};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

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

impl ConnectionGuard<super::wire::Ws> {
    /// Closes the WebSocket as a well-behaved client does: a close frame
    /// (1000), then reading until the server answers it or goes away, all by
    /// `deadline`. The TCP connection is then dropped with nothing unread, so
    /// it ends with a FIN: a socket dropped with unread data ends with a reset,
    /// which the real Messenger API answers by logging "malformed message"
    /// about 1,000 times (PROTOCOL.md §4).
    pub(crate) async fn close(&mut self, deadline: Instant) {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let sent = tokio::time::timeout_at(deadline, self.inner.send(Message::Close(Some(frame))));
        if !matches!(sent.await, Ok(Ok(()))) {
            return;
        }
        while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, self.inner.next()).await {}
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
