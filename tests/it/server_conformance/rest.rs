//! PROTOCOL.md §1: every REST row, with real HTTP on loopback.

use msgperf::protocol::{
    OrganizerProfile, ParticipantProfile, SignInResponse, CHAT_REQUESTS, ORGANIZER_SIGN_IN, PROFILE,
};
use msgperf::server::{self, RESET_PATH, STATS_PATH, VIEWER_EMAIL};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::server_conformance::support::{server, sign_up, Api};

async fn body_json(resp: reqwest::Response) -> Value {
    resp.json().await.expect("a JSON body")
}

#[tokio::test]
async fn sign_in_and_organizer_profile() {
    let s = server().await;
    let api = Api::new(&s);
    let resp = api
        .http
        .post(format!("{}{ORGANIZER_SIGN_IN}", api.org))
        .json(&json!({"email": "organizer2@msgperf.local", "password": server::SEED_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: SignInResponse = resp.json().await.unwrap();
    assert_eq!(body.user.email, "organizer2@msgperf.local");
    assert_eq!((body.user.agency_id, body.user.role), (Some(1), 3));
    let jwt = body.token.strip_prefix("organizer:").expect("role prefix");
    assert_eq!(jwt.split('.').filter(|p| !p.is_empty()).count(), 3);

    let resp = api
        .http
        .get(format!("{}{PROFILE}", api.org))
        .bearer_auth(&body.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let profile: OrganizerProfile = resp.json().await.unwrap();
    assert_eq!(profile.id, body.user.id);
    assert_eq!((profile.agency_id, profile.role), (Some(1), 3));
    assert_eq!(profile, body.user);

    // Each API serves its own profile: an organizer token means nothing there.
    let resp = api
        .http
        .get(format!("{}{PROFILE}", api.part))
        .bearer_auth(&body.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // The viewer may sign in (role 1).
    let (_, viewer) = api.sign_in(VIEWER_EMAIL).await;
    let resp = api
        .http
        .get(format!("{}{PROFILE}", api.org))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(body_json(resp).await["role"], 1);
}

#[tokio::test]
async fn sign_in_with_bad_credentials_is_the_exact_400() {
    let s = server().await;
    let api = Api::new(&s);
    let expected =
        json!({"statusCode": 400, "message": "invalid email or password", "error": "Bad Request"});
    for body in [
        json!({"email": "organizer1@msgperf.local", "password": "wrong-but-long-enough"}),
        json!({"email": "nobody@msgperf.local", "password": server::SEED_PASSWORD}),
    ] {
        let resp = api
            .http
            .post(format!("{}{ORGANIZER_SIGN_IN}", api.org))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body_json(resp).await, expected, "{body}");
    }
}

#[tokio::test]
async fn profiles_need_a_valid_bearer() {
    let s = server().await;
    let api = Api::new(&s);
    // The Organizer API forbids (403), the Participant API refuses (401).
    let forbidden =
        json!({"statusCode": 403, "message": "Forbidden resource", "error": "Forbidden"});
    for (base, status) in [(&api.org, 403), (&api.part, 401)] {
        for token in [None, Some("organizer:nope"), Some("participant:x.y.z")] {
            let mut req = api.http.get(format!("{base}{PROFILE}"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), status);
            let body = body_json(resp).await;
            assert_eq!(body["statusCode"], status);
            if status == 403 {
                assert_eq!(body, forbidden);
            } else {
                let expected = if token.is_some() {
                    "invalid token"
                } else {
                    "invalid authorization header"
                };
                assert_eq!(body["message"], expected);
            }
        }
    }
}

#[tokio::test]
async fn sign_up_201_shape_and_participant_profile() {
    let s = server().await;
    let api = Api::new(&s);
    let email = api.email();
    let resp = api.sign_up_raw(&sign_up(&email)).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body = body_json(resp).await;
    let user = &body["user"];
    assert!(user["id"].is_i64());
    assert_eq!(user["email"], email.as_str());
    assert_eq!(user["phoneNumber"], "+49 30 1234567");
    let created = user["timeCreated"].as_str().expect("timeCreated");
    assert!(humantime::parse_rfc3339(created).is_ok(), "{created}");
    assert_eq!(user["timeSignOut"], created);
    let token = body["token"].as_str().unwrap();
    let jwt = token.strip_prefix("participant:").expect("role prefix");
    assert_eq!(jwt.split('.').count(), 3);

    let resp = api
        .http
        .get(format!("{}{PROFILE}", api.part))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let profile: ParticipantProfile = resp.json().await.unwrap();
    assert_eq!(profile.id, user["id"].as_i64().unwrap());
    assert_eq!(profile.email, email);
    assert_eq!(profile.phone_number, "+49 30 1234567");

    // Taken e-mail, in any case.
    let resp = api.sign_up_raw(&sign_up(&email.to_uppercase())).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(resp).await["message"], "email already exists");
}

#[tokio::test]
async fn sign_up_rejects_invalid_bodies() {
    let s = server().await;
    let api = Api::new(&s);
    let ok = sign_up(&api.email());
    let with = |key: &str, value: Value| {
        let mut b = ok.clone();
        b[key] = value;
        b
    };
    for bad in [
        with("email", json!("not-an-email")),
        with("email", json!("a@b")),
        with("password", json!("")),
        with("confirmPassword", json!("other")),
        with("email", json!(42)),
        json!([]),
    ] {
        let resp = api.sign_up_raw(&bad).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body_json(resp).await["error"], "Bad Request", "{bad}");
    }
    let resp = api
        .http
        .post(format!("{}/auth/sign-up", api.part))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // The valid body still works afterwards, and a phone number is optional.
    assert_eq!(api.sign_up_raw(&ok).await.status(), StatusCode::CREATED);
    let mut no_phone = sign_up(&api.email());
    no_phone.as_object_mut().unwrap().remove("phoneNumber");
    let resp = api.sign_up_raw(&no_phone).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(body_json(resp).await["user"]["phoneNumber"], "");
}

#[tokio::test]
async fn chat_requests_rows() {
    let s = server().await;
    let api = Api::new(&s);
    let p = api.participant().await;
    let resp = api.request(Some(&p.token), 1, "lost my bag").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.bytes().await.unwrap().is_empty(), "empty body");

    let resp = api.request(Some(&p.token), 1, "again").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(resp).await["statusCode"], 400);

    // One open request per event: event 2 is another event.
    let resp = api.request(Some(&p.token), 2, "other event").await;
    assert_eq!(resp.status(), StatusCode::OK);

    let resp = api.request(Some(&p.token), 999, "x").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(body_json(resp).await["statusCode"], 404);

    let resp = api.request(None, 1, "x").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(body_json(resp).await["statusCode"], 401);

    let (_, org) = api.organizer(1).await;
    assert_eq!(
        api.request(Some(&org), 1, "x").await.status(),
        StatusCode::UNAUTHORIZED
    );

    let resp = api
        .http
        .post(format!("{}{CHAT_REQUESTS}", api.part))
        .bearer_auth(&api.participant().await.token)
        .body(r#"{"eventId":"one"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(s.stats()["chat_requests"], 2);
}

#[tokio::test]
async fn unknown_paths_are_json_404s_and_hooks_work() {
    let s = server().await;
    let api = Api::new(&s);
    let resp = api
        .http
        .get(format!("{}/nope", api.org))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(body_json(resp).await["statusCode"], 404);

    let p = api.requesting_participant("x").await;
    let resp = api
        .http
        .post(format!("{}{RESET_PATH}", api.org))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // The participant is gone, so is its token.
    let resp = api
        .http
        .get(format!("{}{PROFILE}", api.part))
        .bearer_auth(&p.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let stats = body_json(
        api.http
            .get(format!("{}{STATS_PATH}", api.org))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(stats["participants"], 1);
    assert_eq!(stats["chat_requests"], 1);
    assert_eq!(stats["resets"], 1);
    assert_eq!(stats["connections_open"], 0);
}
