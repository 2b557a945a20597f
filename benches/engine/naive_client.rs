//! The comparison client of the engine benchmark: the same scenario written the
//! way most load clients are (tokio-tungstenite defaults, a `format!` and a
//! serde encode per message, every received frame decoded).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use msgperf::matrix::Target;
use msgperf::protocol::*;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use super::{process_cpu, process_cpu_us, rss_kib, Sample};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(target: &Target, token: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(target.messenger_ws_url.as_str())
        .await
        .expect("connect");
    let auth = serde_json::to_string(&AuthFrame {
        authorization: format!("Bearer {token}"),
    })
    .unwrap();
    ws.send(Message::text(auth)).await.unwrap();
    ws
}

async fn organizer(target: Target, http: reqwest::Client, delivered: Arc<AtomicU64>) {
    let reply: SignInResponse = http
        .post(format!("{}{ORGANIZER_SIGN_IN}", target.organizer_api_url))
        .json(&SignInRequest {
            email: target.organizer_email.replace("{n}", "1"),
            password: target.organizer_password.expose().to_string(),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ws = connect(&target, &reply.token).await;
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let frame = serde_json::to_string(&ClientFrame::StartChat(String::new())).unwrap();
                if ws.send(Message::text(frame)).await.is_err() { return; }
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Ok(ServerFrame::UserMessage(m)) = serde_json::from_str(text.as_str()) {
                        if m.content.starts_with("connection ") {
                            delivered.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            }
        }
    }
}

/// Signs up, requests a chat, connects and waits for the chat.
async fn join(
    target: &Target,
    http: &reqwest::Client,
    id: u64,
    smi: Duration,
) -> Option<(Ws, String, String)> {
    let email = format!("naive-{}-{id}@bench.test", std::process::id());
    let reply: SignUpResponse = http
        .post(format!(
            "{}{PARTICIPANT_SIGN_UP}",
            target.participant_api_url
        ))
        .json(&SignUpRequest {
            email,
            // The Participant API wants at least 8 characters.
            password: "naive-pw".into(),
            confirm_password: "naive-pw".into(),
            phone_number: "+1555".into(),
        })
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    http.post(format!("{}{CHAT_REQUESTS}", target.participant_api_url))
        .bearer_auth(&reply.token)
        .json(&ChatRequestBody {
            event_id: target.event_id,
            description: "naive".into(),
            lat: None,
            lng: None,
        })
        .send()
        .await
        .ok()?;
    let mut ws = connect(target, &reply.token).await;
    let local = match ws.get_ref() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp.local_addr().ok()?.to_string(),
        _ => String::new(),
    };
    let get_chats = serde_json::to_string(&ClientFrame::GetChats(String::new())).unwrap();
    ws.send(Message::text(get_chats.clone())).await.ok()?;
    let chat_id = loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => match serde_json::from_str(text.as_str()) {
                Ok(ServerFrame::NewChat(chat)) => break chat.id,
                Ok(ServerFrame::Chats(list)) if !list.chats.is_empty() => {
                    break list.chats[0].id.clone()
                }
                Ok(ServerFrame::Chats(_)) => {
                    tokio::time::sleep(smi).await;
                    ws.send(Message::text(get_chats.clone())).await.ok()?;
                }
                _ => {}
            },
            Some(Ok(_)) => {}
            _ => return None,
        }
    };
    Some((ws, chat_id, local))
}

fn send_message_frame(chat_id: &str, local: &str, n: u64) -> Message {
    Message::text(
        serde_json::to_string(&ClientFrame::SendMessage(SendMessage {
            chat_id: chat_id.to_string(),
            message: format!("connection {local}: message number {n}"),
            lat: None,
            lng: None,
        }))
        .unwrap(),
    )
}

async fn participant(
    target: Target,
    http: reqwest::Client,
    id: u64,
    smi: Duration,
    sent: Arc<AtomicU64>,
) {
    let Some((mut ws, chat_id, local)) = join(&target, &http, id, smi).await else {
        return;
    };
    let mut tick = tokio::time::interval(smi);
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if ws.send(send_message_frame(&chat_id, &local, n)).await.is_err() { return; }
                sent.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => { let _ = serde_json::from_str::<ServerFrame>(text.as_str()); }
                Some(Ok(_)) => {}
                _ => return,
            }
        }
    }
}

/// Runs the naive client for `duration` and measures it like the engine.
pub async fn run(target: &Target, cpi: Duration, smi: Duration, duration: Duration) -> Sample {
    let rss0 = rss_kib();
    let (user0, sys0) = process_cpu();
    let http = reqwest::Client::new();
    let (sent, delivered) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = JoinSet::new();
    tasks.spawn(organizer(target.clone(), http.clone(), delivered.clone()));
    let start = Instant::now();
    let mut tick = tokio::time::interval(cpi);
    let mut participants = 0u64;
    let mut peak = rss0;
    while start.elapsed() < duration {
        tick.tick().await;
        tasks.spawn(participant(
            target.clone(),
            http.clone(),
            participants,
            smi,
            sent.clone(),
        ));
        participants += 1;
        if participants.is_multiple_of(100) {
            peak = peak.max(rss_kib());
        }
    }
    peak = peak.max(rss_kib());
    tasks.shutdown().await;
    let (user, sys) = process_cpu();
    let messages = sent.load(Ordering::Relaxed);
    let mut s = Sample::default();
    s.set("user_us", (user - user0) as f64);
    s.set("sys_us", (sys - sys0) as f64);
    s.set("messages", messages as f64);
    s.set("delivered", delivered.load(Ordering::Relaxed) as f64);
    s.set("participants", participants as f64);
    s.set(
        "kib_per_participant",
        (peak - rss0) as f64 / participants.max(1) as f64,
    );
    s
}

/// The floor: CPU µs of one bare tokio-tungstenite `send_message` (frame built
/// with `format!` and serde, written to an established connection in a tight
/// loop, nothing read), over `connections` connections: 50 for the floor
/// itself, 1,500 (the engine's socket count) to see what the socket count
/// alone costs.
pub async fn floor(target: &Target, connections: u64, per_connection: u64) -> f64 {
    let http = reqwest::Client::new();
    // An organizer starts the chats while the connections join, then leaves.
    let organizer = tokio::spawn(organizer(target.clone(), http.clone(), Arc::default()));
    // Joined 64 at a time: one by one, 1,500 connections would take minutes.
    let mut joined: Vec<_> = futures_util::stream::iter(0..connections)
        .map(|id| join(target, &http, 1_000_000 + id, Duration::from_millis(20)))
        .buffer_unordered(64)
        .filter_map(std::future::ready)
        .collect()
        .await;
    organizer.abort();
    let cpu0 = process_cpu_us();
    let mut sent = 0u64;
    for n in 0..per_connection {
        for (ws, chat_id, local) in joined.iter_mut() {
            if ws.send(send_message_frame(chat_id, local, n)).await.is_ok() {
                sent += 1;
            }
        }
    }
    (process_cpu_us() - cpu0) as f64 / sent.max(1) as f64
}
