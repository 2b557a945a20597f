//! An open WebSocket that counts itself: the recorder's `open_connections`
//! gauge goes up when one is made and down when it is dropped, also when its
//! worker task is aborted at the end of a run.

use std::ops::{Deref, DerefMut};

use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::failure::Failure;
use super::recorder::Event;
use super::{Clock, Ctx};
use crate::results::{ErrorKind, Step};

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
    /// Sends `message` as part of `step`, failing when the server has not
    /// taken it within `within` (a server that stopped reading: the socket's
    /// buffer stays full). A send that completes at once, the usual case,
    /// costs no timer.
    pub(crate) async fn send_within(
        &mut self,
        message: Message,
        within: Duration,
        step: Step,
    ) -> Result<(), Failure> {
        let mut send = std::pin::pin!(self.inner.send(message));
        let sent = match (&mut send).now_or_never() {
            Some(sent) => sent,
            None => match tokio::time::timeout(within, send).await {
                Ok(sent) => sent,
                Err(_) => {
                    return Err(Failure::new(
                        step,
                        ErrorKind::Timeout,
                        format!(
                            "the Messenger API did not take a frame within {}: it stopped reading",
                            humantime::format_duration(within)
                        ),
                    ))
                }
            },
        };
        sent.map_err(|e| Failure::closed(step, format!("send failed: {e}")))
    }

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
