//! The capacity knobs and the slow-reader guarantee, each with an effect a
//! client can measure: dropped frames, delayed or queued handshakes, a capped
//! message rate. Plus the own-runtime variant's named threads.

use std::time::{Duration, Instant};

use futures_util::SinkExt;
use msgperf::protocol::{ClientFrame, SendMessage, ServerFrame};
use msgperf::server::{self, Capacity, ServerConfig};

use crate::server_conformance::support::{server, server_capped, Api, Participant, Ws};

/// An organizer connection and a participant connection sharing a new chat.
async fn chat_pair(api: &Api, organizer: u32) -> (Ws, Ws, Participant, String) {
    let (_, token) = api.organizer(organizer).await;
    let mut org = Ws::authorized(&api.ws, &token).await;
    let p = api.requesting_participant("help").await;
    let mut part = Ws::authorized(&api.ws, &p.token).await;
    assert!(part.answers_get_chats().await);
    org.send(&ClientFrame::StartChat(String::new())).await;
    let chat = match org.next().await {
        ServerFrame::NewChat(c) => c.id,
        other => panic!("{other:?}"),
    };
    assert!(matches!(org.next().await, ServerFrame::UserMessage(_)));
    for _ in 0..2 {
        part.next().await;
    }
    (org, part, p, chat)
}

fn message(chat: &str, text: String) -> ClientFrame {
    ClientFrame::SendMessage(SendMessage {
        chat_id: chat.into(),
        message: text,
        lat: None,
        lng: None,
    })
}

/// Receives `n` user_messages; returns when the last arrived.
async fn receive_messages(ws: &mut Ws, n: usize) -> Instant {
    for i in 0..n {
        match ws.next().await {
            ServerFrame::UserMessage(_) => {}
            other => panic!("frame {i}: {other:?}"),
        }
    }
    Instant::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_loses_frames_and_stalls_nobody() {
    let s = server_capped(Capacity {
        send_queue: Some(4),
        ..Capacity::default()
    })
    .await;
    let api = Api::new(&s);
    // `stuck` does not read while 400 × 64 KiB go into its chat: more than
    // its queue plus both loopback socket buffers can hold.
    let (mut org, mut stuck, _, chat) = chat_pair(&api, 1).await;
    let (mut org2, mut other, _, chat2) = chat_pair(&api, 2).await;
    const N: usize = 400;
    let big = "x".repeat(64 * 1024);
    let sender = tokio::spawn(async move {
        for _ in 0..N {
            let frame = serde_json::to_string(&message(&chat, big.clone())).unwrap();
            org.inner
                .feed(tokio_tungstenite::tungstenite::Message::text(frame))
                .await
                .unwrap();
        }
        org.inner.flush().await.unwrap();
        org
    });
    // Meanwhile another chat gets its messages promptly.
    for i in 0..20 {
        let t = Instant::now();
        org2.send(&message(&chat2, format!("ping {i}"))).await;
        receive_messages(&mut other, 1).await;
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
    let _org = tokio::time::timeout(Duration::from_secs(60), sender)
        .await
        .expect("the organizer could send everything")
        .unwrap();
    // Wait until the server has taken all N (stored them).
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.stats()["messages_stored"] < (N + 2 + 20) as u64 {
        assert!(Instant::now() < deadline, "{:?}", s.stats());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(s.stats()["frames_dropped"] > 0, "{:?}", s.stats());
    // Now it reads: what was not dropped arrives, the rest is gone.
    let mut received = 0;
    while let Some(frame) = stuck.next_within(Duration::from_secs(1)).await {
        assert!(matches!(frame, ServerFrame::UserMessage(_)));
        received += 1;
    }
    assert!(received < N, "received {received} of {N}");
    assert!(other.answers_get_chats().await);
}

#[tokio::test]
async fn handshake_delay_grows_with_open_connections() {
    let per = Duration::from_millis(150);
    let s = server_capped(Capacity {
        handshake_delay_per_connection: Some(per),
        ..Capacity::default()
    })
    .await;
    let api = Api::new(&s);
    let (_, token) = api.organizer(1).await;
    let t = Instant::now();
    let mut open = vec![Ws::authorized(&api.ws, &token).await];
    assert!(t.elapsed() < per, "first handshake {:?}", t.elapsed());
    for _ in 0..2 {
        open.push(Ws::authorized(&api.ws, &token).await);
    }
    assert!(open[2].answers_get_chats().await);
    let t = Instant::now();
    let mut fourth = Ws::connect(&api.ws).await;
    let took = t.elapsed();
    assert!(took >= per * 3 - Duration::from_millis(20), "{took:?}");
    assert!(took < per * 3 + Duration::from_secs(2), "{took:?}");
    fourth.text("{}").await;
    assert!(s.stats()["handshakes_delayed"] >= 3);
}

#[tokio::test]
async fn max_connections_makes_further_upgrades_wait() {
    let s = server_capped(Capacity {
        max_connections: Some(2),
        ..Capacity::default()
    })
    .await;
    let api = Api::new(&s);
    let (_, token) = api.organizer(1).await;
    let mut a = Ws::authorized(&api.ws, &token).await;
    let mut b = Ws::authorized(&api.ws, &token).await;
    assert!(a.answers_get_chats().await && b.answers_get_chats().await);
    let url = api.ws.clone();
    let waiting = tokio::spawn(async move {
        let t = Instant::now();
        let ws = Ws::authorized(&url, &token).await;
        (t.elapsed(), ws)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "the third upgrade did not wait");
    assert_eq!(s.stats()["handshakes_waited"], 1);
    b.inner.close(None).await.unwrap();
    let (waited, mut c) = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the upgrade proceeds once a slot is free")
        .unwrap();
    assert!(waited >= Duration::from_millis(450), "{waited:?}");
    assert!(c.answers_get_chats().await);
}

#[tokio::test]
async fn max_messages_per_second_caps_the_rate() {
    const N: usize = 150;
    async fn time_to_deliver(capacity: Capacity) -> (Duration, u64) {
        let s = server_capped(capacity).await;
        let api = Api::new(&s);
        let (_org, mut part, _, chat) = chat_pair(&api, 1).await;
        let t = Instant::now();
        for i in 0..N {
            part.send(&message(&chat, format!("m{i}"))).await;
        }
        let done = receive_messages(&mut part, N).await;
        (done - t, s.stats()["messages_throttled"])
    }
    let (capped, throttled) = time_to_deliver(Capacity {
        max_messages_per_second: Some(100),
        ..Capacity::default()
    })
    .await;
    // 150 messages at 100/s with a 50 ms burst: at least ~1.45 s.
    assert!(capped >= Duration::from_millis(1300), "{capped:?}");
    assert!(throttled > 100, "{throttled}");
    let (free, throttled) = time_to_deliver(Capacity::default()).await;
    assert!(free < Duration::from_millis(1000), "{free:?}");
    assert_eq!(throttled, 0);
}

#[test]
fn own_runtime_threads_are_named_and_stop_on_drop() {
    let s = server::start_on_own_runtime(ServerConfig::default(), 2).expect("starts");
    // A new thread names itself when it starts running: poll briefly.
    let named = || {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|n| n.trim() == server::SERVER_THREAD_NAME)
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while named() < 2 {
        assert!(Instant::now() < deadline, "{} named threads", named());
        std::thread::sleep(Duration::from_millis(10));
    }
    let addr = s
        .info()
        .organizer_api_url
        .trim_start_matches("http://")
        .to_string();
    assert!(std::net::TcpStream::connect(&addr).is_ok());
    drop(s);
    std::thread::sleep(Duration::from_millis(200));
    assert!(std::net::TcpStream::connect(&addr).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_runtime_starts_from_inside_another_runtime() {
    let s = server::start_on_own_runtime(ServerConfig::default(), 1).expect("starts");
    let api = Api::new(&s);
    let p = api.participant().await;
    let mut ws = Ws::authorized(&api.ws, &p.token).await;
    assert!(ws.answers_get_chats().await);
    s.shutdown().await;
    assert!(ws.closed().await.is_some());
    let _unused = server().await;
}
