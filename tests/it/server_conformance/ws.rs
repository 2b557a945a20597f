//! PROTOCOL.md §2: authorization, every envelope row, errors, fan-out, idle
//! close and reset, over real WebSockets on loopback.

use std::time::Duration;

use msgperf::protocol::{
    no_access_message, Chat, ChatRef, ClientFrame, Message, Notice, SendMessage, ServerFrame,
    INVALID_MESSAGE_PAYLOAD, INVALID_MESSAGE_TYPE, MALFORMED_MESSAGE,
};

use futures_util::SinkExt;
use msgperf::server::{ServerConfig, VIEWER_EMAIL};
use reqwest::StatusCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::server_conformance::support::{server, server_with, Api, Ws};

fn error(text: &str) -> ServerFrame {
    ServerFrame::Error(Notice {
        message: text.into(),
    })
}

fn send(chat: &str, text: &str) -> ClientFrame {
    ClientFrame::SendMessage(SendMessage {
        chat_id: chat.into(),
        message: text.into(),
        lat: None,
        lng: None,
    })
}

fn chat_ref(chat: &str) -> ChatRef {
    ChatRef {
        chat_id: chat.into(),
    }
}

fn expect_new_chat(f: ServerFrame) -> Chat {
    match f {
        ServerFrame::NewChat(c) => c,
        other => panic!("expected new_chat, got {other:?}"),
    }
}

fn expect_message(f: ServerFrame) -> Message {
    match f {
        ServerFrame::UserMessage(m) => m,
        other => panic!("expected user_message, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_authorization_closes_the_connection() {
    let s = server().await;
    let api = Api::new(&s);
    let (_, viewer) = api.sign_in(VIEWER_EMAIL).await;
    let frames = [
        "not json".to_string(),
        "{}".to_string(),
        r#"{"Authorization":"organizer:abc"}"#.to_string(),
        r#"{"Authorization":"Bearer participant:unknown.token.x"}"#.to_string(),
        format!(r#"{{"Authorization":"Bearer {viewer}"}}"#),
    ];
    for frame in &frames {
        let mut ws = Ws::connect(&api.ws).await;
        ws.text(frame).await;
        // No error frame, no close frame: TCP just ends (the client sees 1006).
        assert_eq!(ws.closed().await, None, "{frame}");
    }
    assert_eq!(s.stats()["auth_failures"], frames.len() as u64);
}

#[tokio::test]
async fn a_missing_authorization_frame_times_out() {
    let s = server_with(ServerConfig {
        auth_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    })
    .await;
    let api = Api::new(&s);
    let mut ws = Ws::connect(&api.ws).await;
    let t = std::time::Instant::now();
    assert_eq!(ws.closed().await, None);
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn the_whole_chat_lifecycle() {
    let s = server().await;
    let api = Api::new(&s);
    let (org_id, org_token) = api.organizer(1).await;
    let mut org = Ws::authorized(&api.ws, &org_token).await;
    org.expect_no_new_chats().await;

    let p = api.requesting_participant("my phone is lost").await;
    let mut part = Ws::authorized(&api.ws, &p.token).await;
    assert!(part.answers_get_chats().await);
    org.send(&ClientFrame::StartChat(String::new())).await;

    // new_chat to both sides, then the description authored by the participant.
    let chat = expect_new_chat(org.next().await);
    assert_eq!(expect_new_chat(part.next().await), chat);
    assert_eq!(chat.id.len(), 24);
    assert!(chat.id.bytes().all(|c| c.is_ascii_hexdigit()));
    assert_eq!((chat.agency_id, chat.event_id), (1, 1));
    assert_eq!((chat.organizer_id, chat.participant_id), (org_id, p.id));
    assert_eq!(chat.ended, 0);
    assert!(humantime::parse_rfc3339(&chat.time_start).is_ok());
    let first = expect_message(org.next().await);
    assert_eq!(expect_message(part.next().await), first);
    assert_eq!(first.content, "Problem description: my phone is lost");
    assert_eq!((first.author_id, first.from_organizer), (p.id, 0));
    assert_eq!(first.chat_id, chat.id);

    // new_chat carries the participant to both sides.
    let who = chat.participant.clone().expect("the participant object");
    assert_eq!(
        (who.id, who.phone_number.as_str()),
        (p.id, "+49 30 1234567")
    );

    // get_chats, both sides: only the organizer's chats carry the participant.
    let plain = Chat {
        participant: None,
        ..chat.clone()
    };
    for (ws, expected) in [(&mut org, &chat), (&mut part, &plain)] {
        ws.send(&ClientFrame::GetChats(String::new())).await;
        match ws.next().await {
            ServerFrame::Chats(list) => assert_eq!(&list.chats, &vec![expected.clone()]),
            other => panic!("{other:?}"),
        }
    }

    // send_message from each side reaches both.
    part.send(&ClientFrame::SendMessage(SendMessage {
        chat_id: chat.id.clone(),
        message: "hello".into(),
        lat: Some(52.5),
        lng: Some(13.4),
    }))
    .await;
    let m1 = expect_message(part.next().await);
    assert_eq!(expect_message(org.next().await), m1);
    assert_eq!((m1.content.as_str(), m1.from_organizer), ("hello", 0));
    assert_eq!((m1.lat, m1.lng), (Some(52.5), Some(13.4)));
    assert_ne!(m1.id, first.id);
    assert!(humantime::parse_rfc3339(&m1.time_sent).is_ok());
    org.send(&send(&chat.id, "how can I help?")).await;
    let m2 = expect_message(org.next().await);
    assert_eq!(expect_message(part.next().await), m2);
    assert_eq!((m2.author_id, m2.from_organizer), (org_id, 1));
    // An organizer's position is not kept.
    org.send(&ClientFrame::SendMessage(SendMessage {
        chat_id: chat.id.clone(),
        message: "here".into(),
        lat: Some(1.5),
        lng: Some(2.5),
    }))
    .await;
    let m3 = expect_message(org.next().await);
    assert_eq!(expect_message(part.next().await), m3);
    assert_eq!((m3.lat, m3.lng), (None, None));

    // Someone else's chat.
    let other = api.participant().await;
    let mut stranger = Ws::authorized(&api.ws, &other.token).await;
    stranger.send(&send(&chat.id, "let me in")).await;
    assert_eq!(stranger.next().await, error(&no_access_message(&chat.id)));
    stranger
        .send(&ClientFrame::GetChatHistory(chat_ref(&chat.id)))
        .await;
    assert_eq!(stranger.next().await, error(&no_access_message(&chat.id)));
    stranger.send(&send("not-an-id", "x")).await;
    assert_eq!(
        stranger.next().await,
        error(&no_access_message("not-an-id"))
    );

    // History, oldest first.
    part.send(&ClientFrame::GetChatHistory(chat_ref(&chat.id)))
        .await;
    match part.next().await {
        ServerFrame::ChatHistory(h) => {
            assert_eq!(h.chat_id, chat.id);
            assert_eq!(h.messages, vec![first, m1, m2, m3]);
        }
        other => panic!("{other:?}"),
    }

    // Participants may neither start nor close chats: unknown types to them.
    part.send(&ClientFrame::StartChat(String::new())).await;
    assert_eq!(part.next().await, error(INVALID_MESSAGE_TYPE));
    part.send(&ClientFrame::CloseChat(chat_ref(&chat.id))).await;
    assert_eq!(part.next().await, error(INVALID_MESSAGE_TYPE));

    // While the chat is open, no second request for the event.
    let again = api.request(Some(&p.token), 1, "again").await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);

    org.send(&ClientFrame::CloseChat(chat_ref(&chat.id))).await;
    let closed = ServerFrame::ClosedChat(chat_ref(&chat.id));
    assert_eq!(org.next().await, closed);
    assert_eq!(part.next().await, closed);
    // A closed chat is gone from get_chats and refuses messages and closing.
    part.send(&ClientFrame::GetChats(String::new())).await;
    match part.next().await {
        ServerFrame::Chats(list) => assert!(list.chats.is_empty(), "{list:?}"),
        other => panic!("{other:?}"),
    }
    part.send(&send(&chat.id, "still there?")).await;
    assert_eq!(part.next().await, error(&no_access_message(&chat.id)));
    org.send(&ClientFrame::CloseChat(chat_ref(&chat.id))).await;
    assert_eq!(org.next().await, error(&no_access_message(&chat.id)));

    // Closed: the participant may ask for help again.
    let again = api.request(Some(&p.token), 1, "again").await;
    assert_eq!(again.status(), StatusCode::OK);
    let stats = s.stats();
    assert_eq!(stats["chats_started"], 1);
    assert_eq!(stats["chats_closed"], 1);
    assert_eq!(stats["messages_stored"], 4);
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_connection_stays_usable() {
    let s = server().await;
    let api = Api::new(&s);
    let p = api.participant().await;
    let mut ws = Ws::authorized(&api.ws, &p.token).await;
    ws.text("this is not json").await;
    assert_eq!(ws.next().await, error(MALFORMED_MESSAGE));
    ws.text(r#"{"type":"dance","payload":""}"#).await;
    assert_eq!(ws.next().await, error(INVALID_MESSAGE_TYPE));
    ws.text(r#"{"payload":""}"#).await;
    assert_eq!(ws.next().await, error(INVALID_MESSAGE_TYPE));
    ws.text("[1, 2]").await;
    assert_eq!(ws.next().await, error(MALFORMED_MESSAGE));
    ws.text(r#"{"type":"send_message","payload":""}"#).await;
    assert_eq!(ws.next().await, error(INVALID_MESSAGE_PAYLOAD));
    ws.text(r#"{"type":"send_message"}"#).await;
    assert_eq!(ws.next().await, error(INVALID_MESSAGE_PAYLOAD));
    // Go's zero values: no chat id is a chat the sender has no access to.
    ws.text(r#"{"type":"send_message","payload":{"nope":1}}"#)
        .await;
    assert_eq!(ws.next().await, error(&no_access_message("")));
    // Binary frames are read like text.
    ws.inner
        .send(WsMessage::binary(
            r#"{"type":"get_chats","payload":""}"#.as_bytes().to_vec(),
        ))
        .await
        .unwrap();
    assert!(matches!(ws.next().await, ServerFrame::Chats(_)));
    assert!(ws.answers_get_chats().await);
}

#[tokio::test]
async fn every_connection_of_a_user_gets_the_frames() {
    let s = server().await;
    let api = Api::new(&s);
    let (_, token) = api.organizer(3).await;
    let mut a = Ws::authorized(&api.ws, &token).await;
    let mut b = Ws::authorized(&api.ws, &token).await;
    assert!(b.answers_get_chats().await);
    api.requesting_participant("help").await;
    a.send(&ClientFrame::StartChat(String::new())).await;
    let chat = expect_new_chat(a.next().await);
    assert_eq!(expect_new_chat(b.next().await), chat);
    assert_eq!(expect_message(b.next().await).chat_id, chat.id);
}

#[tokio::test]
async fn idle_connections_get_a_timeout_error_and_are_closed() {
    let s = server_with(ServerConfig {
        idle_timeout: Duration::from_millis(400),
        ..ServerConfig::default()
    })
    .await;
    let api = Api::new(&s);
    let p = api.participant().await;
    let (_, org_token) = api.organizer(1).await;
    let mut org = Ws::authorized(&api.ws, &org_token).await;
    let mut busy = Ws::authorized(&api.ws, &api.participant().await.token).await;
    let mut idle = Ws::authorized(&api.ws, &p.token).await;
    // Frames keep a connection alive past the timeout.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(busy.answers_get_chats().await);
    }
    // Either role: an error frame, then TCP ends without a close frame.
    for ws in [&mut idle, &mut org] {
        assert_eq!(ws.next().await, error("timeout"));
        assert_eq!(ws.closed().await, None);
    }
    assert!(busy.answers_get_chats().await);
    assert_eq!(s.stats()["idle_closes"], 2);
}

#[tokio::test]
async fn reset_empties_queues_and_chats_and_closes_participants() {
    let s = server().await;
    let api = Api::new(&s);
    let (_, token) = api.organizer(1).await;
    let mut org = Ws::authorized(&api.ws, &token).await;
    let p = api.requesting_participant("one").await;
    api.requesting_participant("two").await;
    let mut part = Ws::authorized(&api.ws, &p.token).await;
    org.send(&ClientFrame::StartChat(String::new())).await;
    let chat = expect_new_chat(org.next().await);
    expect_message(org.next().await);

    expect_new_chat(part.next().await);
    expect_message(part.next().await);
    s.reset();
    assert_eq!(part.closed().await, Some(1001));
    org.expect_no_new_chats().await;
    org.expect_no_chats().await;
    org.send(&send(&chat.id, "anyone?")).await;
    assert_eq!(org.next().await, error(&no_access_message(&chat.id)));
    // Organizers keep their tokens; participant tokens are gone.
    let mut again = Ws::authorized(&api.ws, &token).await;
    assert!(again.answers_get_chats().await);
    let mut gone = Ws::authorized(&api.ws, &p.token).await;
    assert_eq!(gone.closed().await, None);
}

/// What a `before_each` hook does: `curl -X POST $MSGPERF_ORGANIZER_API_URL/__msgperf/reset`.
#[tokio::test]
async fn reset_over_http_empties_queues_and_chats() {
    let s = server().await;
    let api = Api::new(&s);
    let (_, token) = api.organizer(1).await;
    let mut org = Ws::authorized(&api.ws, &token).await;
    api.requesting_participant("one").await;
    api.requesting_participant("two").await;
    org.send(&ClientFrame::StartChat(String::new())).await;
    expect_new_chat(org.next().await);
    expect_message(org.next().await);
    let resp = api
        .http
        .post(format!("{}{}", api.org, msgperf::server::RESET_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // "two" was still queued: gone.
    org.expect_no_new_chats().await;
    org.expect_no_chats().await;
}

#[tokio::test]
async fn shutdown_closes_connections_and_listeners() {
    let s = server().await;
    let api = Api::new(&s);
    let p = api.participant().await;
    let mut ws = Ws::authorized(&api.ws, &p.token).await;
    assert!(ws.answers_get_chats().await);
    let url = api.ws.clone();
    s.shutdown().await;
    assert_eq!(ws.closed().await, Some(1001));
    assert!(tokio_tungstenite::connect_async(url.as_str())
        .await
        .is_err());
}
