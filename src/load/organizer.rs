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

use futures_util::StreamExt;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::failure::{binary_frame, closed_by_server, read_failed, unreadable, Failure};
use super::owed::Owed;
use super::participant::Guarded;
use super::read::{self, Frame};
use super::recorder::{Event, Stage};
use super::reply::{chat_id, is_reply, ReplyFrames};
use super::wire::{find_token, SocketSizing};
use super::Ctx;
use crate::results::{ErrorKind, StartFailure, StartFailureCause, Step, Worker};

const START_CHAT: &str = r#"{"type":"start_chat","payload":""}"#;

/// Runs pool member `n` (1-based) of `pool` until the drain after the stop
/// ends; always ends with a close handshake.
pub async fn run(ctx: Arc<Ctx>, n: u32, pool: u32, email: String) {
    let who = || Worker::Organizer(n);
    let Some(result) = ctx
        .until_stopped(Box::pin(sign_in_and_connect(&ctx, &email)))
        .await
    else {
        return;
    };
    let mut ws = match result {
        Ok(ws) => ws,
        Err(f) => {
            ctx.fail(who(), f);
            return ctx.organizer_gave_up();
        }
    };
    if let Some(f) = work(&ctx, n, pool, &mut ws).await {
        // Not authorized: this organizer can start no chat. Recorded first:
        // the last organizer giving up stops the run, and a stopped run
        // records nothing more.
        let gave_up = f.step == Step::Authorize;
        ctx.fail(who(), f);
        if gave_up {
            ctx.organizer_gave_up();
        }
    }
    ws.close(ctx.close_deadline()).await;
}

/// Signs in and connects. Refused credentials are a start failure: no
/// retry can fix them, so the run stops and says which e-mail to check.
async fn sign_in_and_connect(ctx: &Ctx, email: &str) -> Result<Guarded, Failure> {
    let password = ctx.organizer_password.expose();
    let token = match super::rest::sign_in(&ctx.http, &ctx.organizer_api_url, email, password).await
    {
        Ok(token) => token,
        Err(e) => {
            if e.credentials_rejected() {
                let _ = ctx.start_failure.set(StartFailure {
                    cause: StartFailureCause::CredentialsRejected,
                    message: format!(
                        "the Organizer API refused the sign-in of {email} (HTTP {}): check the organizer password variable (target.organizer_password) and the e-mail",
                        e.http_status.unwrap_or_default()
                    ),
                });
            }
            return Err(e.into());
        }
    };
    ctx.stage(Stage::OrganizerSignedIn);
    ctx.connect(SocketSizing::ORGANIZER, &token).await
}

/// Sends `start_chat` on the member's share of the schedule and reads every
/// frame until the run is over; the failure that ended it, if any.
async fn work(ctx: &Ctx, n: u32, pool: u32, ws: &mut Guarded) -> Option<Failure> {
    // Pool members share the sci schedule: member n ticks at (n-1)·sci, then every pool·sci.
    let period = period(ctx.sci, pool);
    let first = tokio::time::Instant::from_std(ctx.clock.start) + ctx.sci * (n - 1);
    let mut tick = tokio::time::interval_at(first.max(tokio::time::Instant::now()), period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut stopping = false;
    let mut authorized = false;
    let mut ready_at = Instant::now();
    let mut replies = ReplyFrames::default();
    let mut owed = Owed::new(ctx.handshake_timeout);
    let who = || Worker::Organizer(n);
    // Pinned once, not re-registered with the shared tokens on every frame.
    let done = ctx.done.cancelled();
    let stopped = ctx.stop.stopped();
    tokio::pin!(done, stopped);
    loop {
        tokio::select! {
            biased;
            _ = &mut done => return None,
            _ = &mut stopped, if !stopping => stopping = true,
            scheduled = tick.tick(), if !stopping => {
                let now = Instant::now();
                if owed.overdue(now) {
                    return Some(unanswered(authorized, owed));
                }
                let late_us = super::lateness_us(scheduled, ready_at, now);
                let start = Message::Text(Utf8Bytes::from_static(START_CHAT));
                if let Err(f) = ws.send_within(start, ctx.handshake_timeout, Step::Send).await {
                    return Some(f);
                }
                ready_at = Instant::now();
                owed.sent(ready_at);
                ctx.emit(Event::StartChatSent { late_us });
            }
            frame = ws.next() => {
                if matches!(frame, Some(Ok(_))) {
                    owed.received();
                }
                match frame {
                    Some(Ok(Message::Text(text))) => {
                        if !authorized {
                            authorized = true;
                            ctx.stage(Stage::OrganizerConnected);
                        }
                        if let Some(reply) = on_frame(ctx, text.as_bytes(), &who, &mut replies) {
                            if let Err(f) = ws.send_within(reply, ctx.handshake_timeout, Step::Send).await {
                                return Some(f);
                            }
                            ctx.emit(Event::ReplySent { t_us: ctx.clock.elapsed_us() });
                        }
                    }
                    Some(Ok(Message::Binary(data))) => ctx.fail(who(), binary_frame(Step::Read, data.len())),
                    // The real API refuses a token by dropping the connection,
                    // with no close frame (PROTOCOL.md §2); a close frame is a
                    // server closing (before authorization: this organizer
                    // gives up, see `run`).
                    Some(Ok(Message::Close(None))) | None if !authorized => {
                        return Some(Failure::closed(Step::Authorize, "the Messenger API closed the connection after the authorization frame: it refused the token (is the organizer's role allowed to chat?)"));
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let step = if authorized { Step::Read } else { Step::Authorize };
                        return Some(closed_by_server(step, frame.as_ref()));
                    }
                    None => return Some(closed_by_server(Step::Read, None)),
                    Some(Err(e)) => return Some(read_failed(Step::Read, &e)),
                    Some(Ok(_)) => {}
                }
            }
        }
    }
}

/// The server owed this organizer a frame for too long: before the first
/// one, its authorization was never answered; after, it stopped answering.
fn unanswered(authorized: bool, owed: Owed) -> Failure {
    let within = humantime::format_duration(owed.within());
    if authorized {
        Failure::new(
            Step::Read,
            ErrorKind::Timeout,
            format!("no frame from the Messenger API for {within} after start_chat: it stopped answering"),
        )
    } else {
        Failure::new(
            Step::Authorize,
            ErrorKind::Timeout,
            format!("no frame from the Messenger API within {within} of the authorization and start_chat: it never answered"),
        )
    }
}

/// Records what `frame` tells; returns the reply to send when it is a
/// participant message the organizer answers.
fn on_frame(
    ctx: &Ctx,
    frame: &[u8],
    who: &dyn Fn() -> Worker,
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
            let message = "cannot reply: the message has no plain chatId";
            ctx.fail(
                who(),
                Failure::new(Step::Read, ErrorKind::Protocol, message),
            );
            return None;
        };
        return Some(replies.frame(chat, token));
    }
    // The echo of our own reply: nothing to record, and not worth a JSON decode.
    if is_reply(frame) {
        return None;
    }
    match read::frame(frame) {
        Ok(Frame::NewChat(_)) => ctx.emit(Event::ChatStarted {
            t_us: ctx.clock.us_at(now),
        }),
        Ok(Frame::Error(message)) => ctx.fail(
            who(),
            Failure::new(Step::Read, ErrorKind::Protocol, message),
        ),
        Ok(Frame::Chats(_) | Frame::Other) => {}
        Err(e) => ctx.fail(who(), unreadable(Step::Read, e)),
    }
    None
}

/// The `start_chat` period of one pool member, for lateness accounting.
pub fn period(sci: Duration, pool: u32) -> Duration {
    sci * pool.max(1)
}
