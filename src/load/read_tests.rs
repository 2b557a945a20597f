//! The client's reads against what the real system sent
//! (`tests/fixtures/esme-transcripts/`, a copy of `../shared/esme-transcripts/`),
//! and against the same documents with fields added, removed and nulled.

use serde_json::{json, Map, Value};

use super::*;

fn transcript(name: &str) -> Vec<Value> {
    let path = format!(
        "{}/tests/fixtures/esme-transcripts/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Every successful sign-in and sign-up body of the REST transcripts.
fn token_bodies() -> Vec<Value> {
    let mut out = Vec::new();
    for file in ["rest-organizer.json", "rest-participant.json"] {
        for step in transcript(file) {
            let url = step["request"]["url"].as_str().unwrap_or_default();
            let status = step["response"]["status"].as_u64().unwrap_or(0);
            if (url.ends_with("/auth/sign-in") || url.ends_with("/auth/sign-up"))
                && (status == 200 || status == 201)
            {
                out.push(step["response"]["body"].clone());
            }
        }
    }
    out
}

/// Every frame any connection received in the WebSocket transcripts (the
/// recorded ones: the last step of ws-participant.json is from the source).
fn frames() -> Vec<Value> {
    let mut out = Vec::new();
    for file in ["ws-organizer.json", "ws-participant.json", "ws-errors.json"] {
        for step in transcript(file) {
            let Some(frames) = step["response"]["frames"].as_array() else {
                continue;
            };
            for f in frames {
                if let Some(data) = f["data"].as_str() {
                    out.push(serde_json::from_str(data).expect("recorded frames are JSON"));
                }
            }
        }
    }
    out
}

fn decode(v: &Value) -> Result<Frame, ReadError> {
    frame(v.to_string().as_bytes())
}

/// The fields of `v` the client needs, by frame type (`None` for a sign-in body).
fn needed(v: &Value) -> &'static [&'static str] {
    match v["type"].as_str() {
        Some("new_chat") => &["type", "payload", "id"],
        Some("chats") => &["type", "payload", "chats", "id", "ended"],
        Some("error") => &["type", "payload", "message"],
        Some(_) => &["type"],
        None => &["token"],
    }
}

/// Applies `f` to every object inside `v`, at any depth, innermost first (so
/// what `f` adds is not visited again).
fn each_object(v: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                each_object(child, f);
            }
            f(map);
        }
        Value::Array(list) => list.iter_mut().for_each(|c| each_object(c, f)),
        _ => {}
    }
}

/// The three variants of a document a newer or older deployment may send.
fn variants(v: &Value) -> Vec<(&'static str, Value)> {
    let keep = needed(v);
    let mut extra = v.clone();
    each_object(&mut extra, &mut |m| {
        m.insert("addedInV2".into(), json!({"nested": [1, null, "x"]}));
    });
    let mut removed = v.clone();
    each_object(&mut removed, &mut |m| {
        m.retain(|k, _| keep.contains(&k.as_str()))
    });
    let mut nulled = v.clone();
    each_object(&mut nulled, &mut |m| {
        for (k, val) in m.iter_mut() {
            if !keep.contains(&k.as_str()) {
                *val = Value::Null;
            }
        }
    });
    vec![("extra", extra), ("removed", removed), ("nulled", nulled)]
}

#[test]
fn every_recorded_sign_in_and_sign_up_body_gives_its_token() {
    let bodies = token_bodies();
    assert!(bodies.len() >= 5, "only {} bodies found", bodies.len());
    for body in bodies {
        let want = body["token"].as_str().unwrap().to_string();
        for (how, doc) in std::iter::once(("as recorded", body.clone())).chain(variants(&body)) {
            let got = token(doc.to_string().as_bytes(), "POST /auth/sign-in");
            assert_eq!(got.as_deref(), Ok(want.as_str()), "{how}: {doc}");
        }
    }
}

#[test]
fn every_recorded_frame_decodes_with_or_without_unused_fields() {
    let frames = frames();
    assert!(frames.len() > 40, "only {} frames found", frames.len());
    let (mut chats, mut new_chats) = (0, 0);
    for f in &frames {
        let want = decode(f).unwrap_or_else(|e| panic!("{e}: {f}"));
        match &want {
            Frame::NewChat(id) => {
                new_chats += 1;
                assert_eq!(Some(id.as_str()), f["payload"]["id"].as_str());
            }
            Frame::Chats(_) => chats += 1,
            Frame::Error(m) => assert_eq!(Some(m.as_str()), f["payload"]["message"].as_str()),
            Frame::Other => {}
        }
        for (how, doc) in variants(f) {
            assert_eq!(decode(&doc), Ok(want.clone()), "{how}: {doc}");
        }
    }
    assert!(
        chats > 3 && new_chats > 3,
        "chats {chats}, new_chat {new_chats}"
    );
}

#[test]
fn a_participants_chats_answer_gives_its_open_chat() {
    let open = json!({"type": "chats", "payload": {"chats": [
        {"id": "b", "ended": 1}, {"id": "a", "ended": 0}]}});
    assert_eq!(decode(&open), Ok(Frame::Chats(Some("a".into()))));
    let none = json!({"type": "chats", "payload": {"chats": []}});
    assert_eq!(decode(&none), Ok(Frame::Chats(None)));
    let boolean = json!({"type": "chats", "payload": {"chats": [{"id": "c", "ended": true}]}});
    assert_eq!(decode(&boolean), Ok(Frame::Chats(None)));
}

#[test]
fn a_missing_needed_field_names_the_endpoint_or_frame_and_the_field() {
    let e = token(br#"{"user": {"id": 1}}"#, "POST http://h/auth/sign-in").unwrap_err();
    assert_eq!(e.field, "token");
    assert!(
        e.to_string()
            .starts_with("POST http://h/auth/sign-in: `token`"),
        "{e}"
    );
    assert_eq!(
        token(br#"{"token": null}"#, "x").unwrap_err().field,
        "token"
    );
    assert_eq!(token(br#"{"token": 5}"#, "x").unwrap_err().field, "token");
    assert_eq!(token(b"not json", "x").unwrap_err().field, "token");

    let e = decode(&json!({"type": "new_chat", "payload": {"agencyId": 1}})).unwrap_err();
    assert_eq!((e.what.as_str(), e.field), ("new_chat frame", "payload.id"));
    let e = decode(&json!({"type": "new_chat"})).unwrap_err();
    assert_eq!(e.field, "payload.id");
    let e = decode(&json!({"type": "chats", "payload": {}})).unwrap_err();
    assert_eq!((e.what.as_str(), e.field), ("chats frame", "payload.chats"));
    let e = decode(&json!({"type": "chats", "payload": {"chats": [{"ended": 0}]}})).unwrap_err();
    assert_eq!(e.field, "payload.chats[].id");
    let e = decode(&json!({"payload": ""})).unwrap_err();
    assert_eq!(e.field, "type");
    assert_eq!(frame(b"[1, 2]").unwrap_err().field, "type");
}

#[test]
fn error_bodies_give_their_message_as_text_or_list() {
    let one = br#"{"statusCode":400,"message":"invalid email or password","error":"Bad Request"}"#;
    assert_eq!(
        error_message(one).as_deref(),
        Some("invalid email or password")
    );
    let many = br#"{"statusCode":400,"message":["a","b"],"error":"Bad Request"}"#;
    assert_eq!(error_message(many).as_deref(), Some("a; b"));
    assert_eq!(error_message(br#"{"message": 5}"#), None);
    assert_eq!(error_message(b"<html>"), None);
}
