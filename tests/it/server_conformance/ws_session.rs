//! The WebSocket transcripts replayed as the one session they were recorded
//! in: `ws-organizer.json` and `ws-participant.json` are its two sides,
//! interleaved in [`SCHEDULE`] in the order they ran (reconstructed from what
//! each step needs and from the ids' and messages' timestamps), and
//! `ws-errors.json` continues it on the same connections and chats.

use std::collections::{HashMap, HashSet};

use msgperf::server::{ESME_ADMIN_EMAIL, ESME_OWNER_EMAIL};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::server_conformance::replay::{raw_refusal, Got, Replayer, Tokens};
use crate::server_conformance::support::{server, Ws};
use crate::server_conformance::transcripts::{check_frames, load, name, skipped, with_overrides};

const ORG: &str = "ws-organizer.json";
const PART: &str = "ws-participant.json";
const ERR: &str = "ws-errors.json";

/// A step of the session, or what happened between recorded steps.
enum Item {
    /// A recorded step: file and index.
    Step(&'static str, usize),
    /// A participant's chat request (event 1, a description), unrecorded.
    Request(&'static str),
    /// A connection opened and authorized, unrecorded.
    Connect(&'static str),
    /// A connection closed by the client, unrecorded: `organizer#2` receives
    /// nothing from `ws-organizer.json` step 17 on.
    Close(&'static str),
}

use Item::{Close, Connect, Request, Step};

/// The order of the session. Between steps 16 and 17 of `ws-organizer.json`
/// six participants `ord0`..`ord5` requested chats and connected (step 17
/// shows their frames), and the organizer's second connection was gone.
#[rustfmt::skip]
const SCHEDULE: &[Item] = &[
    Step(PART, 0), Step(PART, 1), Step(PART, 2),
    Step(ORG, 0), Step(ORG, 1), Step(ORG, 2), Step(ORG, 3),
    Step(PART, 3), Step(ORG, 4), Step(PART, 4), Step(ORG, 5), Step(ORG, 6), Step(ORG, 7),
    Step(PART, 5), Step(PART, 6), Step(PART, 7), Step(ORG, 8), Step(ORG, 9), Step(ORG, 10),
    Step(PART, 8), Step(PART, 9), Step(PART, 10), Step(PART, 11), Step(PART, 12), Step(PART, 13),
    Step(ORG, 11), Step(ORG, 12), Step(ORG, 13), Step(PART, 14), Step(ORG, 14), Step(ORG, 15),
    Step(PART, 15), Step(PART, 16), Step(ORG, 16),
    Request("ord0"), Request("ord1"), Request("ord2"), Request("ord3"), Request("ord4"), Request("ord5"),
    Connect("ord0"), Connect("ord1"), Connect("ord2"), Connect("ord3"), Connect("ord4"), Connect("ord5"),
    Close("organizer#2"),
    Step(ORG, 17), Step(PART, 17),
];

/// The connection each recorded upgrade opens.
const UPGRADES: [(&str, &str); 4] = [
    ("GET /connect upgrade (organizer)", "organizer"),
    (
        "GET /connect upgrade (second connection, same organizer)",
        "organizer#2",
    ),
    ("GET /connect upgrade (participant1)", "participant1"),
    ("GET /connect upgrade (participant2)", "participant2"),
];

/// The participant whose token each recorded chat request sends.
const REQUESTERS: [(&str, &str); 3] = [
    (
        "POST /chat-requests (REST, participant1, with lat/lng)",
        "participant1",
    ),
    (
        "POST /chat-requests (REST, participant2, empty description)",
        "participant2",
    ),
    (
        "POST /chat-requests again after close_chat (lock released)",
        "participant1",
    ),
];

/// The participants of the session and their recorded e-mails (the two
/// `participant-close` ones are not in the recording).
const PARTICIPANTS: [(&str, &str); 10] = [
    ("participant1", "tx-ws-p1-1796152508@example.com"),
    ("participant2", "tx-ws-p2-1796152508@example.com"),
    ("ord0", "tx-ws-ord0-1796152508@example.com"),
    ("ord1", "tx-ws-ord1-1796152508@example.com"),
    ("ord2", "tx-ws-ord2-1796152508@example.com"),
    ("ord3", "tx-ws-ord3-1796152508@example.com"),
    ("ord4", "tx-ws-ord4-1796152508@example.com"),
    ("ord5", "tx-ws-ord5-1796152508@example.com"),
    ("participant-close", "tx-ws-close1@example.com"),
    ("participant-close2", "tx-ws-close2@example.com"),
];

struct Session {
    r: Replayer,
    /// Connection (or account) name to token; every other name is the organizer.
    tokens: HashMap<&'static str, String>,
    organizer: String,
    admin: String,
    files: HashMap<&'static str, Vec<Value>>,
    replayed: HashMap<&'static str, usize>,
    done: HashSet<(&'static str, usize)>,
}

impl Session {
    fn token(&self, conn: &str) -> String {
        self.tokens
            .get(conn)
            .cloned()
            .unwrap_or_else(|| self.organizer.clone())
    }

    /// What `<jwt>` means on a connection: its account, the first
    /// participant's when a participant token is needed on another one.
    fn tokens_for(&self, conn: &str, step: &str) -> Tokens {
        let part = self
            .tokens
            .get(conn)
            .unwrap_or(&self.tokens["participant1"]);
        let t = Tokens {
            org: self.organizer.clone(),
            part: part.clone(),
            bare: self.organizer.clone(),
        };
        with_overrides(step, t, &self.admin)
    }

    async fn item(&mut self, item: &Item) {
        match item {
            Step(file, i) => self.step(file, *i).await,
            Request(conn) => {
                let resp = self.r.api.request(Some(&self.token(conn)), 1, "x").await;
                assert_eq!(resp.status(), 200, "chat request of {conn}");
            }
            Connect(conn) => self.r.open_authorized(conn, &self.token(conn)).await,
            Close(conn) => {
                let mut ws = self.r.conns.remove(*conn).expect("open");
                ws.inner.close(None).await.unwrap();
            }
        }
    }

    async fn step(&mut self, file: &'static str, i: usize) {
        assert!(
            self.done.insert((file, i)),
            "{file} step {i} scheduled twice"
        );
        let step = self.files[file][i].clone();
        let label = format!("{file} step {i} \"{}\"", name(&step));
        let request = &step["request"];
        if request["method"].is_string() {
            self.http_step(&step, &label).await;
        } else if request["raw_upgrade_response_head"].is_string() {
            self.raw_step(&step, &label).await;
        } else {
            self.frame_step(&step, &label).await;
        }
        *self.replayed.entry(file).or_default() += 1;
    }

    /// An upgrade (`101`, the connection kept) or a REST call.
    async fn http_step(&mut self, step: &Value, label: &str) {
        if step["request"]["headers"]["Upgrade"] == "websocket" {
            let conn = UPGRADES
                .iter()
                .find(|(n, _)| *n == name(step))
                .expect(label)
                .1;
            assert_eq!(step["response"]["status"], 101, "{label}");
            return self.r.open(conn).await;
        }
        let account = REQUESTERS
            .iter()
            .find(|(n, _)| *n == name(step))
            .map_or("", |a| a.1);
        let tokens = self.tokens_for(account, name(step));
        let ours = self.r.rest(&step["request"], &tokens).await;
        if let Err(e) = self.r.check_rest(&step["response"], &ours) {
            panic!("{label}: {e}");
        }
    }

    /// The raw TCP view of a refusal: `101`, then not one byte, then a FIN.
    async fn raw_step(&mut self, step: &Value, label: &str) {
        let (request, response) = (&step["request"], &step["response"]);
        let recorded_status = request["raw_upgrade_response_head"]
            .as_str()
            .unwrap()
            .lines()
            .next();
        let (status, after, ended) =
            raw_refusal(&self.r.api.ws, request["sent"].as_str().unwrap()).await;
        assert_eq!(Some(status.as_str()), recorded_status, "{label}");
        assert_eq!(response["bytes_received_after_upgrade"], "", "{label}");
        assert!(after.is_empty(), "{label}: received {after:?}");
        assert_eq!(response["ended_by"], "EOF (TCP FIN)", "{label}");
        assert!(ended.is_ok(), "{label}: not a FIN: {ended:?}");
    }

    /// Frames sent on a connection (opened first if the step needs a fresh
    /// one), and what every connection receives compared.
    async fn frame_step(&mut self, step: &Value, label: &str) {
        let request = &step["request"];
        let sends: Vec<Value> = match request.as_array() {
            Some(list) => list.clone(),
            None => vec![request.clone()],
        };
        let conn = sends[0]["conn"].as_str().unwrap().to_string();
        self.prepare(&conn, name(step), request.is_array()).await;
        let tokens = self.tokens_for(&conn, name(step));
        for send in &sends {
            let data = send["data"]
                .as_str()
                .or(send["data_utf8"].as_str())
                .unwrap_or("");
            for n in 0..send["repeat"].as_u64().unwrap_or(1) {
                let text = self.r.fill(&data.replace("<i>", &n.to_string()), &tokens);
                self.r.send(&conn, send, &text).await;
            }
        }
        let mut want = wanted(step, &conn);
        let counts = want.iter().map(|(c, w)| (c.clone(), w.len())).collect();
        let got = self.r.receive(&counts).await;
        self.fill_history_gap(&mut want, &got);
        if let Err(e) = check_frames(&mut self.r, &want, &got) {
            panic!("{label}: {e}");
        }
    }

    /// Opens what a step sends on: a fresh connection for refusals and the
    /// pipelined frames, the special authorizations the step names, or, for
    /// a connection the recording opened off the record, an authorized one.
    async fn prepare(&mut self, conn: &str, step: &str, pipelined: bool) {
        let auth = format!("Bearer {}", self.organizer);
        if step.contains("lower-case key") {
            self.r.open(conn).await;
            let text = json!({ "authorization": auth }).to_string();
            self.r.send(conn, &json!({"opcode": "text"}), &text).await;
        } else if step.contains("Authorization as a binary frame") {
            self.r.open(conn).await;
            let text = json!({ "Authorization": auth }).to_string();
            self.r.send(conn, &json!({"opcode": "binary"}), &text).await;
        } else if step.contains("only as an HTTP header") {
            let mut req = self.r.api.ws.as_str().into_client_request().unwrap();
            req.headers_mut()
                .insert("Authorization", auth.parse().unwrap());
            let (inner, _) = tokio_tungstenite::connect_async(req).await.unwrap();
            self.r.conns.insert(conn.to_string(), Ws { inner });
        } else if conn == "unauthorized" || pipelined {
            self.r.open(conn).await;
        } else if !self.r.conns.contains_key(conn) {
            self.r.open_authorized(conn, &self.token(conn)).await;
        }
    }
}

impl Session {
    /// The recording's stand-in database answered every `get_chat_history`
    /// with `"messages": []` (README of the transcripts). Where ours has
    /// messages, each must have the shape upstream gives (the unrecorded last
    /// step of `ws-participant.json`), with `lat`/`lng` only when set.
    fn fill_history_gap(
        &self,
        want: &mut HashMap<String, Vec<Value>>,
        got: &HashMap<String, Vec<Got>>,
    ) {
        let example = &self.files[PART][18]["response"]["json"]["payload"]["messages"][0];
        for (conn, frames) in want.iter_mut() {
            let ours = got.get(conn).into_iter().flatten().find_map(|g| match g {
                Got::Frame(j, _) if j["type"] == "chat_history" => Some(j),
                _ => None,
            });
            for f in frames
                .iter_mut()
                .filter(|f| f["json"]["type"] == "chat_history")
            {
                let (Some(ours), Some([])) = (
                    ours,
                    f["json"]["payload"]["messages"]
                        .as_array()
                        .map(Vec::as_slice),
                ) else {
                    continue;
                };
                let messages: Vec<Value> = ours["payload"]["messages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        let mut e = example.clone();
                        for key in ["lat", "lng"] {
                            if let Some(v) = m.get(key) {
                                e[key] = v.clone();
                            }
                        }
                        for key in ["content", "fromOrganizer"] {
                            e[key] = m[key].clone();
                        }
                        e
                    })
                    .collect();
                f["json"]["payload"]["messages"] = Value::Array(messages);
            }
        }
    }
}

/// The events a step recorded, per connection.
fn wanted(step: &Value, conn: &str) -> HashMap<String, Vec<Value>> {
    let resp = &step["response"];
    let mut want: HashMap<String, Vec<Value>> = HashMap::new();
    if let Some(types) = resp["frame_types_per_connection"].as_object() {
        for (c, list) in types {
            let list = list.as_array().unwrap();
            want.entry(c.clone())
                .or_default()
                .extend(list.iter().map(|t| json!({"type": t})));
        }
    } else if let Some(delivered) = resp["delivered"].as_object() {
        for (c, n) in delivered {
            let frames = (0..n.as_u64().unwrap()).map(|_| json!({"type": "user_message"}));
            want.entry(c.clone()).or_default().extend(frames);
        }
    } else {
        for f in resp["frames"].as_array().into_iter().flatten() {
            let c = f["conn"].as_str().unwrap().to_string();
            want.entry(c).or_default().push(f.clone());
        }
    }
    if resp.get("pong_after_ms").is_some() {
        want.entry(conn.to_string())
            .or_default()
            .push(json!({"event": "pong"}));
    }
    want
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_session_transcripts() {
    let s = server().await;
    let r = Replayer::new(&s);
    let organizer = r.api.sign_in(ESME_OWNER_EMAIL).await.1;
    let admin = r.api.sign_in(ESME_ADMIN_EMAIL).await.1;
    let mut tokens = HashMap::new();
    for (conn, email) in PARTICIPANTS {
        tokens.insert(conn, r.api.sign_up_as(email, "+48100200300").await);
    }
    let files = [ORG, PART, ERR].map(|f| (f, load(f))).into_iter().collect();
    let mut session = Session {
        r,
        tokens,
        organizer,
        admin,
        files,
        replayed: HashMap::new(),
        done: HashSet::new(),
    };
    for item in SCHEDULE {
        session.item(item).await;
    }
    for i in 0..session.files[ERR].len() {
        if !skipped(ERR, &session.files[ERR][i]) {
            session.step(ERR, i).await;
        }
    }
    // Every step not skipped was replayed, exactly once.
    for (file, steps) in [(ORG, 19), (PART, 19), (ERR, 45)] {
        let total = session.files[file].len();
        assert_eq!(total, steps, "{file} changed");
        let kept = session.files[file]
            .iter()
            .filter(|s| !skipped(file, s))
            .count();
        assert_eq!(session.replayed[file], kept, "{file}");
    }
    assert_eq!(session.replayed[ORG], 18);
    assert_eq!(session.replayed[PART], 18);
    assert_eq!(session.replayed[ERR], 42);
}
