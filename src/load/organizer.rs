//! An organizer worker of the pool: sign in, connect, send `start_chat` on its
//! share of the `sci` schedule, and read everything: each participant message
//! it receives counts as delivered, with its end-to-end latency.
//!
//! The original client's organizer never read its socket, so nothing told
//! whether messages arrived; k6's organizer starved under load and so
//! under-reported the API. Here the schedule is checked before the socket on
//! every wake-up, so a flood of incoming frames cannot starve `start_chat`.
//!
//! With `organizer.reply`, it answers the participant messages its policy
//! selects in the same chat (see [`super::reply`]); the echo of its own reply is
//! told apart by its marker and never counted as a delivery.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::participant::error_text;
use super::recorder::Event;
use super::reply::{chat_id, is_reply, ReplyFrames};
use super::wire::{find_token, SocketSizing};
use super::Ctx;
use crate::protocol::RawEnvelope;
use crate::results::ErrorKind;

const START_CHAT: &str = r#"{"type":"start_chat","payload":""}"#;

/// Runs pool member `n` (1-based) of `pool` until the drain after the stop ends.
pub async fn run(ctx: Arc<Ctx>, n: u32, pool: u32, email: String) {
    let who = || format!("organizer {n}");
    let Some(result) = ctx
        .until_stopped(async {
            let token = super::rest::sign_in(
                &ctx.http,
                &ctx.organizer_api_url,
                &email,
                ctx.organizer_password.expose(),
            )
            .await
            .map_err(|e| (e.kind, e.message))?;
            ctx.connect(SocketSizing::ORGANIZER, &token).await
        })
        .await
    else {
        return;
    };
    let mut ws = match result {
        Ok(ws) => ws,
        Err((kind, message)) => return ctx.error(kind, who(), message),
    };

    // Pool members share the sci schedule: member n ticks at (n-1)·sci, then every pool·sci.
    let period = period(ctx.sci, pool);
    let first = tokio::time::Instant::from_std(ctx.clock.start) + ctx.sci * (n - 1);
    let mut tick = tokio::time::interval_at(first.max(tokio::time::Instant::now()), period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut stopping = false;
    let mut ready_at = Instant::now();
    let mut replies = ReplyFrames::default();
    // Pinned once, not re-registered with the shared tokens on every frame.
    let done = ctx.done.cancelled();
    let stopped = ctx.stop.stopped();
    tokio::pin!(done, stopped);
    loop {
        tokio::select! {
            biased;
            _ = &mut done => return,
            _ = &mut stopped, if !stopping => stopping = true,
            scheduled = tick.tick(), if !stopping => {
                let late_us = super::lateness_us(scheduled, ready_at, Instant::now());
                if let Err(e) = ws.send(Message::Text(Utf8Bytes::from_static(START_CHAT))).await {
                    return ctx.error(ErrorKind::ConnectionClosed, who(), format!("send failed: {e}"));
                }
                ready_at = Instant::now();
                ctx.emit(Event::StartChatSent { late_us });
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = on_frame(&ctx, text.as_bytes(), &who, &mut replies) {
                        if let Err(e) = ws.send(reply).await {
                            return ctx.error(ErrorKind::ConnectionClosed, who(), format!("reply failed: {e}"));
                        }
                        ctx.emit(Event::ReplySent { t_us: ctx.clock.elapsed_us() });
                    }
                }
                Some(Ok(Message::Close(_))) | None => {
                    return ctx.error(ErrorKind::ConnectionClosed, who(), "the server closed the WebSocket".into());
                }
                Some(Err(e)) => {
                    return ctx.error(ErrorKind::ConnectionClosed, who(), format!("WebSocket read failed: {e}"));
                }
                Some(Ok(_)) => {}
            }
        }
    }
}

/// Records what `frame` tells; returns the reply to send when it is a
/// participant message the organizer answers.
fn on_frame(
    ctx: &Ctx,
    frame: &[u8],
    who: &dyn Fn() -> String,
    replies: &mut ReplyFrames,
) -> Option<Message> {
    let now = Instant::now();
    if let Some(token) = find_token(frame) {
        // Another run's message, in a chat of an organizer account it shares
        // with us (another shard): neither counted nor answered here.
        if token.run != ctx.run_key {
            return None;
        }
        let t_us = ctx.clock.us_at(now);
        ctx.emit(Event::Delivered {
            t_us,
            participant: token.participant,
            seq: token.seq,
            sent_us: token.sent_us,
        });
        if !ctx.reply.answers(token.seq) {
            return None;
        }
        let Some(chat) = chat_id(frame) else {
            ctx.error(
                ErrorKind::Protocol,
                who(),
                "cannot reply: the message has no plain chatId".into(),
            );
            return None;
        };
        return Some(replies.frame(chat, token));
    }
    // The echo of our own reply: nothing to record, and not worth a JSON decode.
    if is_reply(frame) {
        return None;
    }
    if let Some(message) = error_text(frame) {
        ctx.error(ErrorKind::Protocol, who(), message);
        return None;
    }
    if let Ok(raw) = serde_json::from_slice::<RawEnvelope>(frame) {
        if raw.kind == "new_chat" {
            ctx.emit(Event::ChatStarted {
                t_us: ctx.clock.us_at(now),
            });
        }
    }
    None
}

/// The `start_chat` period of one pool member, for lateness accounting.
pub fn period(sci: Duration, pool: u32) -> Duration {
    sci * pool.max(1)
}
