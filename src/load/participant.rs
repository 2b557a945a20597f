//! A participant worker: sign up, request a chat, connect, wait for the chat,
//! then send one message every `smi` until the run stops, reading everything.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::recorder::{Event, Latency};
use super::wire::{self, MessageFrames, SocketSizing, Ws};
use super::Ctx;
use crate::protocol::{ClientFrame, RawEnvelope, ServerFrame};
use crate::results::ErrorKind;

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

/// Runs participant `id` until the run stops or it fails.
pub async fn run(ctx: Arc<Ctx>, id: u32) {
    let who = || format!("participant {id}");
    // Boxed: the REST and handshake futures are ~20 KiB, which an inline state
    // would keep reserved in every participant for the whole run.
    let Some(result) = ctx.until_stopped(Box::pin(setup(&ctx, id))).await else {
        return;
    };
    let (mut ws, chat_id) = match result {
        Ok(ready) => ready,
        Err((kind, message)) => return ctx.error(kind, who(), message),
    };
    let local = wire::local_addr(&ws);
    let mut frames = MessageFrames::new(&chat_id, &local, ctx.run_key, id);
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
    // our own waiting to every round trip. It also keeps reading through the
    // drain after the stop, so replies to the last messages still count.
    let replies = ctx.reply.is_on();
    let mut stopping = false;
    let read_every = read_every(ctx.smi);
    loop {
        let scheduled = tokio::select! {
            biased;
            _ = &mut done => return,
            _ = &mut stopped, if !stopping => {
                if !replies {
                    return;
                }
                stopping = true;
                continue;
            }
            scheduled = tick.tick(), if !stopping => scheduled,
            frame = ws.next(), if replies => {
                if let Err((kind, message)) = on_read(frame, &ctx, id, &who) {
                    return ctx.error(kind, who(), message);
                }
                continue;
            }
        };
        // Read what arrived (the server's echoes of our own messages, errors)
        // in one go, at most every READ_EVERY: waking for every echo would
        // double the generator's wake-ups per message, and each read costs
        // two syscalls (the data, then the empty read that re-arms epoll).
        if seq.is_multiple_of(read_every) {
            if let Err((kind, message)) = drain(&mut ws, &ctx, id, &who) {
                return ctx.error(kind, who(), message);
            }
        }
        let now = Instant::now();
        let late_us = super::lateness_us(scheduled, ready_at, now);
        let t_us = ctx.clock.us_at(now);
        if let Err(e) = ws.send(frames.frame(seq, t_us)).await {
            return ctx.error(
                ErrorKind::ConnectionClosed,
                who(),
                format!("send failed: {e}"),
            );
        }
        ready_at = Instant::now();
        ctx.emit(Event::Sent {
            t_us,
            participant: id,
            seq,
            late_us,
        });
        seq += 1;
    }
}

/// Consumes every frame already received without waiting for more.
fn drain(ws: &mut Guarded, ctx: &Ctx, id: u32, who: &dyn Fn() -> String) -> Result<(), Failure> {
    while let Some(frame) = ws.next().now_or_never() {
        on_read(frame, ctx, id, who)?;
    }
    Ok(())
}

/// Handles one read: times replies to our own messages, records `error`
/// frames, and fails when the connection is gone.
fn on_read(
    frame: Option<Result<Message, WsError>>,
    ctx: &Ctx,
    id: u32,
    who: &dyn Fn() -> String,
) -> Result<(), Failure> {
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
                ctx.error(ErrorKind::Protocol, who(), message);
            }
            Ok(())
        }
        Some(Ok(Message::Close(_))) | None => Err((
            ErrorKind::ConnectionClosed,
            "the server closed the WebSocket".into(),
        )),
        Some(Err(e)) => Err((
            ErrorKind::ConnectionClosed,
            format!("WebSocket read failed: {e}"),
        )),
        Some(Ok(_)) => Ok(()),
    }
}

type Failure = (ErrorKind, String);

/// Sign-up, chat request, connect, authorize, find the chat.
async fn setup(ctx: &Ctx, id: u32) -> Result<(Guarded, String), Failure> {
    let email = ctx.identity.email(id);
    let t = Instant::now();
    let token = super::rest::sign_up(&ctx.http, &ctx.participant_api_url, &email)
        .await
        .map_err(|e| (e.kind, e.message))?;
    ctx.latency(Latency::SignUp, t);

    let t = Instant::now();
    let description = ctx.identity.description(id);
    super::rest::request_chat(
        &ctx.http,
        &ctx.participant_api_url,
        &token,
        ctx.event_id,
        description,
    )
    .await
    .map_err(|e| (e.kind, e.message))?;
    ctx.latency(Latency::ChatRequest, t);

    let mut ws = ctx.connect(SocketSizing::PARTICIPANT, &token).await?;
    let chat_id = find_chat(ctx, &mut ws).await?;
    Ok((ws, chat_id))
}

/// A connection that reports its own closing to the recorder.
pub type Guarded = super::ConnectionGuard<Ws>;

/// Asks `get_chats` now and every `smi` (at most [`GET_CHATS_TRIES`] times)
/// until a chat exists; a `new_chat` pushed by the server counts too.
async fn find_chat(ctx: &Ctx, ws: &mut Guarded) -> Result<String, Failure> {
    let get_chats = serde_json::to_string(&ClientFrame::GetChats(String::new()))
        .expect("protocol frames serialize");
    let mut tick = tokio::time::interval(ctx.smi);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut tries = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if tries == GET_CHATS_TRIES {
                    return Err((ErrorKind::NoChat, format!("no chat after {tries} get_chats tries, {} apart", humantime::format_duration(ctx.smi))));
                }
                tries += 1;
                ws.send(Message::text(get_chats.clone())).await
                    .map_err(|e| (ErrorKind::ConnectionClosed, format!("send failed: {e}")))?;
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerFrame>(text.as_str()) {
                    Ok(ServerFrame::NewChat(chat)) => return Ok(chat.id),
                    Ok(ServerFrame::Chats(list)) => {
                        if let Some(chat) = list.chats.into_iter().rev().find(|c| c.ended == 0) {
                            return Ok(chat.id);
                        }
                    }
                    Ok(ServerFrame::Error(notice)) => return Err((ErrorKind::Protocol, notice.message)),
                    Ok(_) => {}
                    Err(e) => return Err((ErrorKind::Protocol, format!("unexpected frame while waiting for a chat: {e}"))),
                },
                Some(Ok(Message::Close(_))) | None => {
                    return Err((ErrorKind::ConnectionClosed, "the server closed the WebSocket before a chat started".into()));
                }
                Some(Err(e)) => return Err((ErrorKind::ConnectionClosed, format!("WebSocket read failed: {e}"))),
                Some(Ok(_)) => {}
            }
        }
    }
}

/// The message of an `error` frame, or `None` for any other frame. The cheap
/// substring test keeps the participant's own echoes off the JSON decoder.
pub fn error_text(frame: &[u8]) -> Option<String> {
    memchr::memmem::find(frame, b"\"error\"")?;
    let raw: RawEnvelope = serde_json::from_slice(frame).ok()?;
    if raw.kind != "error" {
        return None;
    }
    let payload = raw.payload.map(|p| p.get()).unwrap_or("{}");
    Some(
        serde_json::from_str::<crate::protocol::Notice>(payload)
            .map(|n| n.message)
            .unwrap_or_else(|_| payload.to_string()),
    )
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
