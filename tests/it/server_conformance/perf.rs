//! A rough throughput probe, not a conformance check: ignored by default, run
//! by hand with `cargo test --test server_conformance -- --ignored --nocapture`.
//! The server runs on its own one-thread runtime so the client load does not
//! share its scheduler; client and server still share the machine's cores.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use msgperf::protocol::{ClientFrame, SendMessage, ServerFrame};
use msgperf::server::{self, ServerConfig};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::server_conformance::support::{Api, Ws};

const CHATS: usize = 100;
const WINDOW: usize = 16;
const RUN: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "throughput probe; run by hand"]
async fn throughput_probe() {
    let s = server::start_on_own_runtime(ServerConfig::default(), 1).expect("starts");
    let api = Api::new(&s);
    let (_, token) = api.organizer(1).await;
    let mut org = Ws::authorized(&api.ws, &token).await;
    let mut pairs = Vec::new();
    for _ in 0..CHATS {
        let p = api.requesting_participant("load").await;
        let mut ws = Ws::authorized(&api.ws, &p.token).await;
        assert!(ws.answers_get_chats().await);
        org.send(&ClientFrame::StartChat(String::new())).await;
        let chat = match ws.next().await {
            ServerFrame::NewChat(c) => c.id,
            other => panic!("{other:?}"),
        };
        ws.next().await;
        pairs.push((ws, chat));
    }
    let org_received = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&org_received);
    let reader = tokio::spawn(async move {
        while let Some(Ok(_)) = org.inner.next().await {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let before = s.stats();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (mut ws, chat) in pairs {
        tasks.push(tokio::spawn(async move {
            let frame = serde_json::to_string(&ClientFrame::SendMessage(SendMessage {
                chat_id: chat,
                message: "a typical short chat message".into(),
                lat: None,
                lng: None,
            }))
            .unwrap();
            let mut sent = 0u64;
            while t0.elapsed() < RUN {
                for _ in 0..WINDOW {
                    ws.inner.feed(WsMessage::text(frame.clone())).await.unwrap();
                }
                ws.inner.flush().await.unwrap();
                for _ in 0..WINDOW {
                    ws.next().await;
                }
                sent += WINDOW as u64;
            }
            sent
        }));
    }
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(500)).await;
    reader.abort();
    let after = s.stats();
    let delta = |k: &str| after[k] - before[k];
    eprintln!(
        "{CHATS} chats, {secs:.1} s: {:.0} messages/s sent and echoed; organizer got {} \
         ({:.0}/s); frames_out {:.0}/s; dropped {}",
        sent as f64 / secs,
        org_received.load(Ordering::Relaxed),
        org_received.load(Ordering::Relaxed) as f64 / secs,
        delta("frames_out") as f64 / secs,
        delta("frames_dropped"),
    );
    drop(s);
}
