//! A participant worker: sign up, request a chat, connect, wait for the chat,
//! then send one message every `smi` until the run stops, reading everything.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::failure::{binary_frame, closed_by_server, read_failed, unreadable, Failure};
use super::owed::Owed;
use super::read::{self, Frame};
use super::recorder::{Event, Latency, Stage};
use super::socket::Interest;
use super::wire::{self, MessageFrames, SocketSizing, Ws};
use super::Ctx;
use crate::protocol::ClientFrame;
use crate::results::{ErrorKind, Step, Worker};

/// How often a participant reads what the server sent it (at every tick
/// when `smi` is longer): an `error` frame is noticed that late at most.
pub const READ_EVERY: Duration = Duration::from_millis(250);

/// Most echoes left unread between two reads: 16 frames of a few hundred
/// bytes stay far below the participant's 16 KiB socket buffer, so the
/// server never has to wait for us.
pub const MAX_UNREAD: u32 = 16;

/// Read at every `n`-th tick: `READ_EVERY / smi`, at least 1, at most [`MAX_UNREAD`].
pub fn read_every(smi: Duration) -> u32 {
    let n = READ_EVERY.as_nanos() / smi.as_nanos().max(1);
    n.clamp(1, u128::from(MAX_UNREAD)) as u32
}

/// `get_chats` tries before a participant gives up on getting a chat.
pub const GET_CHATS_TRIES: u32 = 10;

/// Runs participant `id` (`arrival: rate`): creates it, then chats until
/// the run stops or it fails.
pub async fn run(ctx: Arc<Ctx>, id: u32) {
    if let Some(token) = create(&ctx, id).await {
        run_connected(ctx, id, token).await;
    }
}

/// Signs participant `id` up and requests its chat; its token, or `None`
/// when a step failed (recorded) or the run stopped first.
pub async fn create(ctx: &Ctx, id: u32) -> Option<String> {
    // Boxed: the REST futures are ~20 KiB, which an inline state would keep
    // reserved in every participant for the whole run.
    match ctx
        .until_stopped(Box::pin(sign_up_and_request(ctx, id)))
        .await?
    {
        Ok(token) => Some(token),
        Err(f) => {
            ctx.fail(who(id), f);
            None
        }
    }
}

/// The WebSocket part of participant `id`: connect, find the chat, then send
/// a message every `smi` until the run stops or it fails; always ends with
/// a close handshake.
pub async fn run_connected(ctx: Arc<Ctx>, id: u32, token: String) {
    let connect = Box::pin(ctx.connect(SocketSizing::PARTICIPANT, &token));
    let mut ws = match ctx.until_stopped(connect).await {
        None => return,
        Some(Err(f)) => return ctx.fail(who(id), f),
        Some(Ok(ws)) => ws,
    };
    drop(token);
    let failure = match ctx
        .until_stopped(Box::pin(find_chat(&ctx, id, &mut ws)))
        .await
    {
        None => None,
        Some(Err(f)) => Some(f),
        Some(Ok(chat_id)) => {
            ctx.stage(Stage::Chatting);
            chat(&ctx, id, &mut ws, &chat_id).await
        }
    };
    if let Some(f) = failure {
        ctx.fail(who(id), f);
    }
    // The close handshake waits for the server's answer.
    if wire::set_interest(&mut ws, Interest::ReadsAndWrites).is_ok() {
        ws.close(ctx.close_deadline()).await;
    }
}

/// Re-registers the participant's socket for `interest`.
fn listen(ws: &mut Guarded, interest: Interest) -> Result<(), Failure> {
    wire::set_interest(ws, interest).map_err(|e| {
        Failure::new(
            Step::Send,
            super::failure::io_error_kind(&e, ErrorKind::ConnectionClosed),
            format!("cannot re-register the socket with epoll: {e}"),
        )
    })
}

fn who(id: u32) -> Worker {
    Worker::Participant(id)
}

/// Sends a message every `smi` into `chat_id` until the run stops, then
/// keeps reading until the drain is over; the failure that ended it, if any.
/// Staying connected through the drain matters: the API may still be working
/// through this participant's last messages, and a socket closed under it
/// would lose them.
async fn chat(ctx: &Ctx, id: u32, ws: &mut Guarded, chat_id: &str) -> Option<Failure> {
    let local = wire::local_addr(ws);
    let mut frames = MessageFrames::new(chat_id, &local, ctx.run_key, id);
    let mut tick = tokio::time::interval(ctx.smi);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut seq: u32 = 0;
    let mut ready_at = Instant::now();
    // Pinned once: a fresh `stopped()` per tick would register and unregister
    // a waiter on the shared token each time.
    let stopped = ctx.stop.stopped();
    let done = ctx.done.cancelled();
    tokio::pin!(stopped, done);
    // With organizer replies on, the participant reads continuously: reading
    // once per tick would add up to one smi (10 s in the published matrix) of
    // our own waiting to every round trip. After the stop every participant
    // reads continuously (nothing is sent any more), so replies to the last
    // messages still count and the socket never holds unread data.
    let replies = ctx.reply.is_on();
    let mut stopping = false;
    let read_every = read_every(ctx.smi);
    let mut owed = Owed::new(ctx.handshake_timeout);
    // Reading only on its schedule, the participant stops listening for
    // reads: the server's echoes then wake nobody (see `socket`).
    if !replies {
        if let Err(f) = listen(ws, Interest::Writes) {
            return Some(f);
        }
    }
    loop {
        let scheduled = tokio::select! {
            biased;
            _ = &mut done => return None,
            _ = &mut stopped, if !stopping => {
                stopping = true;
                if let Err(f) = listen(ws, Interest::ReadsAndWrites) {
                    return Some(f);
                }
                continue;
            }
            scheduled = tick.tick(), if !stopping => scheduled,
            frame = ws.next(), if replies || stopping => {
                if let Err(f) = on_read(frame, ctx, id, &mut owed) {
                    return Some(f);
                }
                continue;
            }
        };
        // Read what arrived (the server's echoes of our own messages, errors)
        // in one go, at most every READ_EVERY: waking for every echo would
        // double the generator's wake-ups per message. Without read interest
        // (`socket`) a drain costs one `recv` when it all fits the buffer.
        let read = seq.is_multiple_of(read_every);
        if read {
            wire::rearm(ws);
            if let Err(f) = drain(ws, ctx, id, &mut owed) {
                return Some(f);
            }
        }
        let now = Instant::now();
        // Only right after a read does silence mean anything: echoes may sit
        // unread between two reads.
        if read && owed.overdue(now) {
            return Some(no_echo(&owed));
        }
        let late_us = super::lateness_us(scheduled, ready_at, now);
        let t_us = ctx.clock.us_at(now);
        let frame = frames.frame(seq, t_us);
        if let Err(f) = ws
            .send_within(frame, ctx.handshake_timeout, Step::Send)
            .await
        {
            return Some(f);
        }
        ready_at = Instant::now();
        owed.sent(ready_at);
        ctx.emit(Event::Sent {
            t_us,
            participant: id,
            seq,
            late_us,
        });
        seq += 1;
    }
}

/// The server echoes every message to its sender: none for the wait `owed`
/// allows means it stopped answering (or is stuck half-way through a frame).
fn no_echo(owed: &Owed) -> Failure {
    Failure::new(
        Step::Read,
        ErrorKind::Timeout,
        format!(
            "no frame from the Messenger API for {} while sending (it echoes every message to its sender): it stopped answering",
            humantime::format_duration(owed.within())
        ),
    )
}

/// Consumes every frame already received without waiting for more.
fn drain(ws: &mut Guarded, ctx: &Ctx, id: u32, owed: &mut Owed) -> Result<(), Failure> {
    while let Some(frame) = ws.next().now_or_never() {
        on_read(frame, ctx, id, owed)?;
    }
    Ok(())
}

/// Handles one read: times replies to our own messages, records `error`
/// and binary frames, and fails when the connection is gone.
fn on_read(
    frame: Option<Result<Message, WsError>>,
    ctx: &Ctx,
    id: u32,
    owed: &mut Owed,
) -> Result<(), Failure> {
    if matches!(frame, Some(Ok(_))) {
        owed.received();
    }
    match frame {
        Some(Ok(Message::Text(text))) => {
            let bytes = text.as_bytes();
            if let Some(token) = wire::find_reply(bytes) {
                if token.run == ctx.run_key && token.participant == id {
                    let now_us = ctx.clock.elapsed_us();
                    ctx.emit(Event::ReplyReceived {
                        latency_us: now_us.saturating_sub(token.sent_us),
                    });
                }
            } else if let Some(message) = error_text(bytes) {
                ctx.fail(
                    who(id),
                    Failure::new(Step::Read, ErrorKind::Protocol, message),
                );
            }
            Ok(())
        }
        Some(Ok(Message::Binary(data))) => {
            ctx.fail(who(id), binary_frame(Step::Read, data.len()));
            Ok(())
        }
        Some(Ok(Message::Close(frame))) => Err(closed_by_server(Step::Read, frame.as_ref())),
        None => Err(closed_by_server(Step::Read, None)),
        Some(Err(e)) => Err(read_failed(Step::Read, &e)),
        Some(Ok(_)) => Ok(()),
    }
}

/// Sign-up and chat request: the Participant API's part of a participant.
async fn sign_up_and_request(ctx: &Ctx, id: u32) -> Result<String, Failure> {
    let email = ctx.identity.email(id);
    let t = Instant::now();
    let token = super::rest::sign_up(&ctx.http, &ctx.participant_api_url, &email).await?;
    ctx.latency(Latency::SignUp, t);
    ctx.stage(Stage::SignedUp);

    let t = Instant::now();
    let description = ctx.identity.description(id);
    super::rest::request_chat(
        &ctx.http,
        &ctx.participant_api_url,
        &token,
        ctx.event_id,
        description,
    )
    .await?;
    ctx.latency(Latency::ChatRequest, t);
    ctx.stage(Stage::ChatRequested);
    Ok(token)
}

/// A connection that reports its own closing to the recorder.
pub type Guarded = super::ConnectionGuard<Ws>;

/// Asks `get_chats` now and every `smi` (at most [`GET_CHATS_TRIES`] times)
/// until a chat exists; a `new_chat` pushed by the server counts too. The
/// first frame that comes back shows the authorization was accepted (the
/// real API never acknowledges it; it refuses by closing the connection).
/// No frame within `handshake_timeout` of a `get_chats` is a timeout.
async fn find_chat(ctx: &Ctx, id: u32, ws: &mut Guarded) -> Result<String, Failure> {
    let get_chats = serde_json::to_string(&ClientFrame::GetChats(String::new()))
        .expect("protocol frames serialize");
    let mut tick = tokio::time::interval(ctx.smi);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut tries = 0;
    let mut authorized = false;
    let mut owed = Owed::new(ctx.handshake_timeout);
    loop {
        let step = if authorized {
            Step::GetChats
        } else {
            Step::Authorize
        };
        // Far ahead when nothing is owed: the branch never fires then.
        let deadline = owed
            .deadline()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
        let frame = tokio::select! {
            _ = tick.tick() => {
                if tries == GET_CHATS_TRIES {
                    return Err(Failure::new(Step::GetChats, ErrorKind::NoChat, format!("no chat after {tries} get_chats tries, {} apart", humantime::format_duration(ctx.smi))));
                }
                tries += 1;
                ws.send_within(Message::text(get_chats.clone()), ctx.handshake_timeout, step).await?;
                owed.sent(Instant::now());
                continue;
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                return Err(Failure::new(step, ErrorKind::Timeout, format!("no frame from the Messenger API within {} of get_chats: it never answered", humantime::format_duration(owed.within()))));
            }
            frame = ws.next() => frame,
        };
        if matches!(frame, Some(Ok(_))) {
            owed.received();
        }
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            // The real API refuses a token by dropping the connection, with no
            // close frame (PROTOCOL.md §2); a close frame is a server closing.
            Some(Ok(Message::Close(None))) | None if !authorized => {
                return Err(Failure::closed(Step::Authorize, "the Messenger API closed the connection after the authorization frame: it refused the token"));
            }
            Some(Ok(Message::Close(frame))) => return Err(closed_by_server(step, frame.as_ref())),
            None => return Err(closed_by_server(step, None)),
            Some(Err(e)) => return Err(read_failed(step, &e)),
            Some(Ok(Message::Binary(data))) => {
                ctx.fail(who(id), binary_frame(step, data.len()));
                continue;
            }
            Some(Ok(_)) => continue,
        };
        if !authorized {
            authorized = true;
            ctx.stage(Stage::Connected);
        }
        match read::frame(text.as_bytes()).map_err(|e| unreadable(Step::GetChats, e))? {
            Frame::NewChat(id) | Frame::Chats(Some(id)) => return Ok(id),
            Frame::Error(message) => {
                return Err(Failure::new(Step::GetChats, ErrorKind::Protocol, message))
            }
            Frame::Chats(None) | Frame::Other => {}
        }
    }
}

/// The message of an `error` frame, or `None` for any other frame. The cheap
/// substring test keeps the participant's own echoes off the JSON decoder.
pub fn error_text(frame: &[u8]) -> Option<String> {
    memchr::memmem::find(frame, b"\"error\"")?;
    match read::frame(frame) {
        Ok(Frame::Error(message)) => Some(message),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_spaced_by_time_and_capped_by_unread_frames() {
        let ms = Duration::from_millis;
        assert_eq!(read_every(ms(50)), 5);
        assert_eq!(read_every(ms(100)), 2);
        assert_eq!(read_every(ms(1000)), 1);
        assert_eq!(read_every(ms(1)), MAX_UNREAD);
        assert_eq!(read_every(Duration::ZERO), MAX_UNREAD);
    }

    #[test]
    fn error_frames_are_told_from_echoes() {
        let echo = br#"{"type":"user_message","payload":{"content":"connection 1: message number 3 [mp:1:3:9]"}}"#;
        assert_eq!(error_text(echo), None);
        let err = br#"{"type": "error", "payload": {"message": "you have no access to chat ab"}}"#;
        assert_eq!(
            error_text(err).as_deref(),
            Some("you have no access to chat ab")
        );
        let quoted = br#"{"type":"user_message","payload":{"content":"the \"error\" word"}}"#;
        assert_eq!(error_text(quoted), None);
    }

    /// Every participant's state lives for the whole run: keep it small (the
    /// brief's budget is ~10 KiB per participant, sockets and buffers included).
    #[test]
    fn a_running_participant_stays_small() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let _guard = rt.enter();
        let ctx = super::super::tests::ctx();
        let size = std::mem::size_of_val(&run(ctx, 1));
        assert!(size < 4096, "participant future is {size} bytes");
    }
}
