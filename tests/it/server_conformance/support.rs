//! Clients for the conformance tests: a small REST client over reqwest and a
//! WebSocket client over tokio-tungstenite, both written from PROTOCOL.md and
//! the shared wire types, never from the server's internals.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use msgperf::protocol::{
    ChatRequestBody, ClientFrame, Notice, ServerFrame, SignInRequest, SignInResponse,
    SignUpResponse, CHAT_REQUESTS, NO_NEW_CHATS, ORGANIZER_SIGN_IN, PARTICIPANT_SIGN_UP,
};
use msgperf::server::{self, Capacity, RunningServer, ServerConfig};
use reqwest::StatusCode;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Upper bound of any single wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// A server with default settings on loopback, any free ports.
pub async fn server() -> RunningServer {
    server_with(ServerConfig::default()).await
}

/// A server with these capacity knobs.
pub async fn server_capped(capacity: Capacity) -> RunningServer {
    server_with(ServerConfig {
        capacity,
        ..ServerConfig::default()
    })
    .await
}

/// A server with this configuration.
pub async fn server_with(config: ServerConfig) -> RunningServer {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    server::start(config).await.expect("server starts")
}

/// REST calls against one server.
pub struct Api {
    pub http: reqwest::Client,
    pub org: String,
    pub part: String,
    pub ws: String,
}

static UNIQUE: AtomicU64 = AtomicU64::new(1);

/// A participant: its user id and token.
pub struct Participant {
    pub id: i64,
    pub token: String,
}

impl Api {
    pub fn new(s: &RunningServer) -> Api {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let info = s.info();
        Api {
            http: reqwest::Client::new(),
            org: info.organizer_api_url.clone(),
            part: info.participant_api_url.clone(),
            ws: info.messenger_ws_url.clone(),
        }
    }

    /// Signs in organizer `n` (1-based); returns (user id, token).
    pub async fn organizer(&self, n: u32) -> (i64, String) {
        self.sign_in(&format!("organizer{n}@msgperf.local")).await
    }

    /// Signs in any seeded e-mail with the staging password.
    pub async fn sign_in(&self, email: &str) -> (i64, String) {
        let resp = self
            .http
            .post(format!("{}{ORGANIZER_SIGN_IN}", self.org))
            .json(&SignInRequest {
                email: email.into(),
                password: server::SEED_PASSWORD.into(),
            })
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body: SignInResponse = resp.json().await.unwrap();
        (body.user.id, body.token)
    }

    /// A fresh unique e-mail.
    pub fn email(&self) -> String {
        format!("p{}@example.com", UNIQUE.fetch_add(1, Ordering::Relaxed))
    }

    /// Signs up a new participant.
    pub async fn participant(&self) -> Participant {
        let email = self.email();
        let resp = self.sign_up_raw(&sign_up(&email)).await;
        assert_eq!(resp.status(), StatusCode::CREATED);
        let body: SignUpResponse = resp.json().await.unwrap();
        Participant {
            id: body.user.id,
            token: body.token,
        }
    }

    /// Signs up a participant with this e-mail and phone number; its token.
    pub async fn sign_up_as(&self, email: &str, phone: &str) -> String {
        let mut body = sign_up(email);
        body["phoneNumber"] = phone.into();
        let resp = self.sign_up_raw(&body).await;
        assert_eq!(resp.status(), StatusCode::CREATED, "sign-up of {email}");
        let body: SignUpResponse = resp.json().await.unwrap();
        body.token
    }

    pub async fn sign_up_raw(&self, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}{PARTICIPANT_SIGN_UP}", self.part))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `POST /chat-requests`; returns the response.
    pub async fn request(&self, token: Option<&str>, event: i64, desc: &str) -> reqwest::Response {
        let mut req = self
            .http
            .post(format!("{}{CHAT_REQUESTS}", self.part))
            .json(&ChatRequestBody {
                event_id: event,
                description: desc.into(),
                lat: None,
                lng: None,
            });
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// A participant with a queued request for event 1.
    pub async fn requesting_participant(&self, desc: &str) -> Participant {
        let p = self.participant().await;
        assert_eq!(
            self.request(Some(&p.token), 1, desc).await.status(),
            StatusCode::OK
        );
        p
    }
}

/// A valid sign-up body for `email`.
pub fn sign_up(email: &str) -> serde_json::Value {
    serde_json::json!({
        "email": email,
        "password": "secret-pw",
        "confirmPassword": "secret-pw",
        "phoneNumber": "+49 30 1234567",
    })
}

/// A WebSocket client.
pub struct Ws {
    pub inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    /// Upgrades (no authorization yet).
    pub async fn connect(url: &str) -> Ws {
        let (inner, resp) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::connect_async_with_config(url, None, true),
        )
        .await
        .expect("upgrade in time")
        .expect("upgrade");
        assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
        Ws { inner }
    }

    /// Upgrades and sends the authorization frame.
    pub async fn authorized(url: &str, token: &str) -> Ws {
        let mut ws = Ws::connect(url).await;
        ws.text(&format!(r#"{{"Authorization":"Bearer {token}"}}"#))
            .await;
        ws
    }

    pub async fn text(&mut self, text: &str) {
        self.inner
            .send(WsMessage::text(text.to_string()))
            .await
            .unwrap();
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        self.text(&serde_json::to_string(frame).unwrap()).await;
    }

    /// The next server frame, decoded; panics on close or timeout.
    pub async fn next(&mut self) -> ServerFrame {
        self.next_within(WAIT).await.expect("a frame in time")
    }

    /// The next server frame within `limit`, or `None` on timeout.
    pub async fn next_within(&mut self, limit: Duration) -> Option<ServerFrame> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.inner.next())
                .await
                .ok()?;
            match msg {
                Some(Ok(WsMessage::Text(t))) => {
                    return Some(serde_json::from_str(t.as_str()).expect("a server frame"))
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                other => panic!("expected a frame, got {other:?}"),
            }
        }
    }

    /// Waits until the server closes the connection; returns the close code.
    /// Panics on any other frame or after [`WAIT`].
    pub async fn closed(&mut self) -> Option<u16> {
        match tokio::time::timeout(WAIT, self.inner.next()).await {
            Err(_) => panic!("the server did not close the connection"),
            Ok(Some(Ok(WsMessage::Close(frame)))) => frame.map(|f| u16::from(f.code)),
            Ok(None | Some(Err(_))) => None,
            Ok(Some(Ok(other))) => panic!("expected a close, got {other:?}"),
        }
    }

    /// Whether the server answers within a short time (it is still open).
    /// `start_chat` answered with the "no new chats" notice.
    pub async fn expect_no_new_chats(&mut self) {
        self.send(&ClientFrame::StartChat(String::new())).await;
        assert_eq!(
            self.next().await,
            ServerFrame::Info(Notice {
                message: NO_NEW_CHATS.into()
            })
        );
    }

    /// `get_chats` answered with an empty list.
    pub async fn expect_no_chats(&mut self) {
        self.send(&ClientFrame::GetChats(String::new())).await;
        match self.next().await {
            ServerFrame::Chats(list) => assert!(list.chats.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    pub async fn answers_get_chats(&mut self) -> bool {
        self.send(&ClientFrame::GetChats(String::new())).await;
        matches!(
            self.next_within(Duration::from_secs(5)).await,
            Some(ServerFrame::Chats(_))
        )
    }
}
