//! The replay engine of `transcripts.rs`: sends a recorded request to the
//! embedded server over real sockets (the recorded placeholders, hosts and
//! chat ids replaced by ours) and checks the answer against the recorded one
//! with [`same_shape`].

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use msgperf::server::{RunningServer, SEED_PASSWORD};
use serde_json::Value;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::server_conformance::shape::{same_shape, IdMap};
use crate::server_conformance::support::{Api, Ws, WAIT};

/// The replacement of `<wrong-password>`: long enough that the real API
/// checked it against the account (it answered "invalid email or password").
const WRONG_PASSWORD: &str = "not-the-password-at-all";
/// Response headers compared when recorded (the others are dates, CORS,
/// caching and Express's: not part of the contract).
const COMPARED_HEADERS: [&str; 2] = ["content-type", "sec-websocket-version"];
/// How long a step waits for frames nobody expects (the real system sent none).
const SETTLE: Duration = Duration::from_millis(60);

/// The tokens a step's `<jwt>` placeholders stand for.
#[derive(Clone, Debug)]
pub struct Tokens {
    /// What `organizer:<jwt>` becomes.
    pub org: String,
    /// What `participant:<jwt>` becomes.
    pub part: String,
    /// What a bare `<jwt>` (and `admin:<jwt>`) is the JWT of.
    pub bare: String,
}

/// A token without its `role:` prefix.
pub fn jwt(token: &str) -> &str {
    token.split_once(':').map_or(token, |(_, j)| j)
}

/// Our answer to a REST step: status, [`COMPARED_HEADERS`], body (JSON, or
/// the text).
pub type Ours = (u16, Vec<Option<String>>, Value);

/// What one connection received in a step.
#[derive(Debug)]
pub enum Got {
    /// A text frame, parsed, and whether it ended with the newline.
    Frame(Value, bool),
    /// The connection ended: the close frame's code, 1006 without one.
    Closed(u16),
    /// A pong.
    Pong,
}

/// One transcript replay against one server.
pub struct Replayer {
    /// REST and WebSocket addresses of the server.
    pub api: Api,
    /// Recorded chat ids bound to ours.
    pub ids: IdMap,
    /// Open connections by their recorded name (`organizer`, `participant1`, ...).
    pub conns: HashMap<String, Ws>,
    messenger_http: String,
}

impl Replayer {
    /// A replayer for this server.
    pub fn new(server: &RunningServer) -> Replayer {
        let api = Api::new(server);
        let messenger_http = api
            .ws
            .replace("ws://", "http://")
            .trim_end_matches("/connect")
            .to_string();
        Replayer {
            api,
            ids: IdMap::default(),
            conns: HashMap::new(),
            messenger_http,
        }
    }

    /// Recorded text with the placeholders, hosts and chat ids replaced.
    pub fn fill(&self, text: &str, tokens: &Tokens) -> String {
        let text = text
            .replace("http://127.0.0.1:18000", &self.api.org)
            .replace("http://127.0.0.1:18100", &self.api.part)
            .replace("http://127.0.0.1:18300", &self.messenger_http)
            .replace("<wrong-password>", WRONG_PASSWORD)
            .replace("<password>", SEED_PASSWORD)
            .replace("<'x' * 2001>", &"x".repeat(2001))
            .replace("organizer:<jwt>", &tokens.org)
            .replace("participant:<jwt>", &tokens.part)
            .replace("<jwt>", jwt(&tokens.bare));
        self.ids.apply(&text)
    }

    /// Replays a REST step; returns our status, [`COMPARED_HEADERS`] and body.
    pub async fn rest(&self, request: &Value, tokens: &Tokens) -> Ours {
        let method: reqwest::Method = request["method"].as_str().unwrap().parse().unwrap();
        let url = self.fill(request["url"].as_str().unwrap(), tokens);
        let mut req = self.api.http.request(method, url);
        for (name, value) in request["headers"].as_object().into_iter().flatten() {
            req = req.header(name.as_str(), self.fill(value.as_str().unwrap(), tokens));
        }
        let body = match (&request["body"], &request["body_raw"]) {
            (Value::Null, Value::String(raw)) => Some(raw.clone()),
            (Value::Null, _) => None,
            (json, _) => Some(json.to_string()),
        };
        if let Some(body) = body {
            // `.body` sets no Content-Type: the recorded headers say which.
            req = req.body(self.fill(&body, tokens));
        }
        let resp = tokio::time::timeout(WAIT, req.send())
            .await
            .expect("an answer in time")
            .expect("an HTTP answer");
        let status = resp.status().as_u16();
        let headers = COMPARED_HEADERS
            .iter()
            .map(|h| {
                resp.headers()
                    .get(*h)
                    .map(|v| v.to_str().unwrap().to_string())
            })
            .collect();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, body)
    }

    /// Compares our REST answer with the recorded response.
    pub fn check_rest(&self, recorded: &Value, ours: &Ours) -> Result<(), String> {
        let (status, headers, body) = ours;
        if recorded["status"] != *status {
            return Err(format!(
                "status {} recorded, {status} ours ({body})",
                recorded["status"]
            ));
        }
        for (name, ours) in COMPARED_HEADERS.iter().zip(headers) {
            let theirs = recorded["headers"][*name].as_str();
            if theirs.is_some() && theirs != ours.as_deref() {
                return Err(format!("{name} {theirs:?} recorded, {ours:?} ours"));
            }
        }
        let rb = &recorded["body"];
        let exact = rb.is_string() || rb.get("statusCode").is_some();
        if exact && rb != body {
            return Err(format!("body {rb} recorded, {body} ours"));
        }
        same_shape("body", rb, body, &self.ids)
    }

    /// Opens a connection (upgrade only) under this name.
    pub async fn open(&mut self, conn: &str) {
        let ws = Ws::connect(&self.api.ws).await;
        self.conns.insert(conn.to_string(), ws);
    }

    /// Opens and authorizes a connection, expecting no answer.
    pub async fn open_authorized(&mut self, conn: &str, token: &str) {
        let ws = Ws::authorized(&self.api.ws, token).await;
        self.conns.insert(conn.to_string(), ws);
    }

    /// Sends one recorded client frame (text, binary, ping or close) on `conn`.
    pub async fn send(&mut self, conn: &str, request: &Value, text: &str) {
        let ws = self
            .conns
            .get_mut(conn)
            .unwrap_or_else(|| panic!("no connection {conn}"));
        let msg = match request["opcode"].as_str() {
            Some("text") => WsMessage::text(text.to_string()),
            Some("binary") => WsMessage::binary(text.as_bytes().to_vec()),
            Some("ping") => WsMessage::Ping(text.as_bytes().to_vec().into()),
            Some("close") => WsMessage::Close(Some(CloseFrame {
                code: CloseCode::from(u16::try_from(request["code"].as_u64().unwrap()).unwrap()),
                reason: request["reason"].as_str().unwrap_or("").to_string().into(),
            })),
            other => panic!("opcode {other:?}"),
        };
        ws.inner.send(msg).await.unwrap();
    }

    /// Reads what each connection receives: on the connections in `expect`
    /// until each has that many events (or [`WAIT`]), then whatever else
    /// arrives on any open connection within [`SETTLE`].
    pub async fn receive(&mut self, expect: &HashMap<String, usize>) -> HashMap<String, Vec<Got>> {
        let mut got: HashMap<String, Vec<Got>> = HashMap::new();
        for (conn, n) in expect {
            let Some(ws) = self.conns.get_mut(conn) else {
                continue;
            };
            let list = got.entry(conn.clone()).or_default();
            while list.len() < *n && !matches!(list.last(), Some(Got::Closed(_))) {
                match read(ws, WAIT).await {
                    Some(g) => list.push(g),
                    None => break,
                }
            }
        }
        tokio::time::sleep(SETTLE).await;
        for (conn, ws) in &mut self.conns {
            let list = got.entry(conn.clone()).or_default();
            while !matches!(list.last(), Some(Got::Closed(_))) {
                match read(ws, Duration::from_millis(5)).await {
                    Some(g) => list.push(g),
                    None => break,
                }
            }
        }
        got.retain(|_, list| !list.is_empty());
        let closed: Vec<String> = got
            .iter()
            .filter(|(_, l)| matches!(l.last(), Some(Got::Closed(_))))
            .map(|(c, _)| c.clone())
            .collect();
        for conn in closed {
            self.conns.remove(&conn);
        }
        got
    }
}

/// The next event of a connection within `limit`; `None` on timeout.
async fn read(ws: &mut Ws, limit: Duration) -> Option<Got> {
    loop {
        let msg = tokio::time::timeout(limit, ws.inner.next()).await.ok()?;
        return Some(match msg {
            Some(Ok(WsMessage::Text(t))) => {
                let text = t.as_str();
                let json = serde_json::from_str(text).expect("our frames are JSON");
                Got::Frame(json, text.ends_with('\n'))
            }
            Some(Ok(WsMessage::Close(frame))) => {
                Got::Closed(frame.map_or(1005, |f| u16::from(f.code)))
            }
            Some(Ok(WsMessage::Pong(_))) => Got::Pong,
            Some(Ok(WsMessage::Ping(_))) => continue,
            Some(Ok(other)) => panic!("unexpected {other:?}"),
            None | Some(Err(_)) => Got::Closed(1006),
        });
    }
}

/// How a refused connection looks on the wire: the upgrade answer's first
/// line, the bytes after it and whether TCP ended with a FIN (`Ok`) or a
/// reset. Replays `ws-errors.json`'s raw view over a plain TCP socket.
pub async fn raw_refusal(ws_url: &str, frame: &str) -> (String, Vec<u8>, std::io::Result<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = ws_url
        .trim_start_matches("ws://")
        .trim_end_matches("/connect");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let upgrade = format!(
        "GET /connect HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(upgrade.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(
            tcp.read(&mut byte).await.unwrap(),
            1,
            "the upgrade answer ended early"
        );
        head.push(byte[0]);
    }
    // One masked text frame (RFC 6455 §5.2); the mask is arbitrary.
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let payload = frame.as_bytes();
    let mut out = vec![
        0x81,
        0x80 | u8::try_from(payload.len()).expect("a short frame"),
    ];
    out.extend(mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    tcp.write_all(&out).await.unwrap();
    let mut after = Vec::new();
    let ended = tokio::time::timeout(WAIT, tcp.read_to_end(&mut after))
        .await
        .expect("the server ends the connection")
        .map(drop);
    let status = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    (status, after, ended)
}
