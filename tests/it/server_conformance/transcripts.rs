//! The embedded server against the recordings of the real system
//! (`../shared/esme-transcripts/`): every step of every transcript is
//! replayed over real sockets and our answer compared with the recorded one
//! (status, content type, the frames per connection, close frame or 1006,
//! fields and JSON types; error texts and the run-independent values
//! exactly). Steps outside the contract are listed in [`SKIPPED`] with the
//! reason, and each file's count of replayed steps is asserted, so a step
//! that is silently not replayed fails the test.

use std::collections::HashMap;

use msgperf::server::{ESME_ADMIN_EMAIL, ESME_OWNER_EMAIL};
use serde_json::Value;

use crate::server_conformance::replay::{jwt, Got, Replayer, Tokens};
use crate::server_conformance::support::server;

/// Where the transcripts are: `shared/` beside the checkout, locally and in CI.
/// A copy of `../shared/esme-transcripts/` kept in the repository, so the
/// test runs from any clone (check it against the shared one with `diff -r`).
const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/esme-transcripts"
);

/// Steps not replayed: (file, step, why).
pub const SKIPPED: [(&str, &str, &str); 13] = [
    (
        "rest-organizer.json",
        "sign-out (super admin) at the start of a second",
        "sign-out is not part of the contract",
    ),
    (
        "rest-organizer.json",
        "GET /profile with the token issued before sign-out",
        "needs the sign-out",
    ),
    (
        "rest-organizer.json",
        "GET /profile with that token: iat (whole seconds) < timeSignOut (ms)",
        "same-second iat after a sign-out: not modelled",
    ),
    (
        "rest-organizer.json",
        "register a second agency (public POST /agency; not approved)",
        "POST /agency is not part of the contract",
    ),
    (
        "rest-organizer.json",
        "sign-in as the owner of the unapproved agency",
        "needs POST /agency",
    ),
    (
        "rest-participant.json",
        "sign-in (participant; not used by the scenario)",
        "participant sign-in is not part of the contract",
    ),
    (
        "rest-participant.json",
        "sign-in wrong password (participant)",
        "participant sign-in is not part of the contract",
    ),
    (
        "rest-participant.json",
        "40 sign-ups at once (2 CPU cores)",
        "overload: modelled by sign_up_cost, tested in sign_up_cost.rs",
    ),
    (
        "ws-organizer.json",
        "raw frame view: get_chats answer of more than 1 KiB",
        "fragmentation of the real server's writer: not modelled",
    ),
    (
        "ws-participant.json",
        "get_chat_history: shape with messages (FROM THE SOURCE, NOT RECORDED)",
        "not a recording: its message is the shape ws_session.rs expects where the recorded histories are empty",
    ),
    (
        "ws-errors.json",
        "participant drops the TCP connection with RST, no close frame",
        "the real server's log lines after a TCP reset",
    ),
    (
        "ws-errors.json",
        "participant drops the TCP connection with FIN, no close frame",
        "the real server's log lines after a FIN",
    ),
    (
        "ws-errors.json",
        "no Authorization frame at all (authorization wait)",
        "the one-minute wait: ws.rs tests it with a short auth_timeout",
    ),
];

/// The steps of one transcript file.
pub fn load(file: &str) -> Vec<Value> {
    let path = format!("{DIR}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A step's name.
pub fn name(step: &Value) -> &str {
    step["step"].as_str().unwrap()
}

/// Whether a step is in [`SKIPPED`].
pub fn skipped(file: &str, step: &Value) -> bool {
    SKIPPED
        .iter()
        .any(|(f, n, _)| *f == file && *n == name(step))
}

/// A token with its signature changed (one character), as the "bad JWT
/// signature" step sends.
fn bad_signature(token: &str) -> String {
    let mut t = token.to_string();
    let last = t.pop().unwrap();
    t.push(if last == 'A' { 'B' } else { 'A' });
    t
}

/// The tokens of a step whose name says it sends someone else's token.
pub fn with_overrides(step: &str, mut t: Tokens, admin: &str) -> Tokens {
    if step.contains("bad JWT signature") {
        t.org = bad_signature(&t.org);
    } else if step.contains("participant JWT with organizer: prefix") {
        t.org = format!("organizer:{}", jwt(&t.part));
    } else if step.contains("organizer JWT with participant: prefix") {
        t.part = format!("participant:{}", jwt(&t.org));
    } else if step.contains("wrong role (super admin") {
        t.org = admin.to_string();
    }
    t
}

/// Replays a REST-only transcript; returns how many steps it replayed.
async fn replay_rest(file: &str) -> usize {
    let s = server().await;
    let r = Replayer::new(&s);
    let admin = r.api.sign_in(ESME_ADMIN_EMAIL).await.1;
    // Until a step signs in or up, `<jwt>` is a token of these accounts.
    let mut org = r.api.sign_in(ESME_OWNER_EMAIL).await.1;
    let mut part = r.api.participant().await.token;
    let mut replayed = 0;
    for (i, step) in load(file).iter().enumerate() {
        if skipped(file, step) {
            continue;
        }
        let request = &step["request"];
        let url = request["url"].as_str().unwrap();
        let bare = if url.contains(":18100") { &part } else { &org };
        let tokens = Tokens {
            org: org.clone(),
            part: part.clone(),
            bare: bare.clone(),
        };
        let tokens = with_overrides(name(step), tokens, &admin);
        let ours = r.rest(request, &tokens).await;
        if let Err(e) = r.check_rest(&step["response"], &ours) {
            panic!("{file} step {i} \"{}\": {e}", name(step));
        }
        let token = ours.2["token"].as_str().map(str::to_string);
        match (
            url.ends_with("/auth/sign-in"),
            url.ends_with("/auth/sign-up"),
            token,
        ) {
            (true, _, Some(t)) => org = t,
            (_, true, Some(t)) => part = t,
            _ => {}
        }
        replayed += 1;
    }
    replayed
}

#[test]
fn every_skip_names_a_recorded_step() {
    for (file, step, why) in SKIPPED {
        assert!(!why.is_empty());
        assert!(
            load(file).iter().any(|s| name(s) == step),
            "{file}: no step \"{step}\""
        );
    }
}

#[tokio::test]
async fn rest_organizer_transcript() {
    // 26 recorded steps, 5 outside the contract.
    assert_eq!(load("rest-organizer.json").len(), 26);
    assert_eq!(replay_rest("rest-organizer.json").await, 21);
}

#[tokio::test]
async fn rest_participant_transcript() {
    // 24 recorded steps, 3 outside the contract.
    assert_eq!(load("rest-participant.json").len(), 24);
    assert_eq!(replay_rest("rest-participant.json").await, 21);
}

/// Compares what each connection received with what the step recorded.
pub fn check_frames(
    r: &mut Replayer,
    want: &HashMap<String, Vec<Value>>,
    got: &HashMap<String, Vec<Got>>,
) -> Result<(), String> {
    let mut conns: Vec<&String> = want.keys().chain(got.keys()).collect();
    conns.sort();
    conns.dedup();
    for conn in conns {
        let w = want.get(conn).map_or(&[][..], Vec::as_slice);
        let g = got.get(conn).map_or(&[][..], Vec::as_slice);
        check_conn(r, w, g).map_err(|e| format!("connection {conn}: {e}; received {g:?}"))?;
    }
    Ok(())
}

/// What one recorded event is: a frame's type, `closed:<code>`, or `pong`.
fn want_kind(w: &Value) -> String {
    match w["event"].as_str() {
        Some("closed") => format!("closed:{}", w["close_code_seen_by_client"]),
        Some(other) => other.to_string(),
        None => w["json"]["type"]
            .as_str()
            .or(w["type"].as_str())
            .unwrap()
            .to_string(),
    }
}

fn got_kind(g: &Got) -> String {
    match g {
        Got::Frame(json, _) => json["type"].as_str().unwrap_or("?").to_string(),
        Got::Closed(code) => format!("closed:{code}"),
        Got::Pong => "pong".into(),
    }
}

/// One connection: the same events by kind (frames of one step may come in
/// any order: the real server sends each from its own goroutine), each
/// recorded frame matched by shape, `new_chat` ids bound for later steps.
fn check_conn(r: &mut Replayer, want: &[Value], got: &[Got]) -> Result<(), String> {
    let mut wk: Vec<String> = want.iter().map(want_kind).collect();
    let mut gk: Vec<String> = got.iter().map(got_kind).collect();
    wk.sort();
    gk.sort();
    if wk != gk {
        return Err(format!("events {wk:?} recorded, {gk:?} ours"));
    }
    let mut free: Vec<&Got> = got.iter().collect();
    for w in want.iter().filter(|w| w["json"].is_object()) {
        let recorded = &w["json"];
        let same_type = |g: &&&Got| matches!(g, Got::Frame(j, _) if j["type"] == recorded["type"]);
        if recorded["type"] == "new_chat" {
            if let Some(Got::Frame(j, _)) = free.iter().find(same_type).copied() {
                let ours = j["payload"]["id"].as_str().unwrap_or_default().to_string();
                r.ids
                    .bind(recorded["payload"]["id"].as_str().unwrap(), &ours);
            }
        }
        let at = free
            .iter()
            .position(|g| matches!(g, Got::Frame(j, _) if crate::server_conformance::shape::same_shape("frame", recorded, j, &r.ids).is_ok()))
            .ok_or_else(|| {
                match free.iter().find(same_type).copied() {
                    Some(Got::Frame(j, _)) => crate::server_conformance::shape::same_shape("frame", recorded, j, &r.ids).unwrap_err(),
                    _ => format!("no {} frame", recorded["type"]),
                }
            })?;
        free.remove(at);
    }
    if got.iter().any(|g| matches!(g, Got::Frame(_, false))) {
        return Err("a frame without the trailing newline".into());
    }
    Ok(())
}
