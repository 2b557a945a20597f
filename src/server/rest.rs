//! The REST side of the staging server (PROTOCOL.md §1): the Organizer API and
//! the Participant API as two axum routers on their own ports, the Messenger
//! API router with the WebSocket route, and the loopback-only test hooks
//! `POST /__msgperf/reset` and `GET /__msgperf/stats`.
//!
//! Bodies are parsed by hand from bytes (not axum's `Json` extractor) so that
//! every bad body gets the real API's `400` with its own text: the Organizer
//! API is NestJS (Node's JSON errors, class-validator lists, `403` for any bad
//! token), the Participant API is Go (Go's JSON errors, `401`), the Messenger
//! API answers HTTP errors with Go's plain-text `http.Error`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use tokio::time::Instant;

use super::accounts::{RequestError, SignIn, EMAIL_EXISTS};
use super::capacity::SIGN_UP_TIMEOUT;
use super::state::Principal;
use super::stats::bump;
use super::{gojson, validate, ws, App};
use crate::protocol::{
    ApiError, ErrorMessage, SignInResponse, SignUpResponse, CHAT_REQUESTS, CONNECT,
    ORGANIZER_SIGN_IN, PARTICIPANT_SIGN_UP, PROFILE,
};

/// Path of the loopback-only reset hook on the Organizer API.
pub const RESET_PATH: &str = "/__msgperf/reset";
/// Path of the stats hook on the Organizer API.
pub const STATS_PATH: &str = "/__msgperf/stats";
/// The sign-in error text of the real API.
pub const INVALID_CREDENTIALS: &str = "invalid email or password";

/// Content type of the Organizer API's JSON (Express adds the charset).
const ORGANIZER_JSON: &str = "application/json; charset=utf-8";
/// Content type of the Participant API's JSON.
const PARTICIPANT_JSON: &str = "application/json";
/// Content type of Go's `http.Error` texts (the Messenger API's HTTP errors).
const GO_TEXT: &str = "text/plain; charset=utf-8";
/// The Participant API's 500 when a sign-up outlived its database timeout.
pub(crate) const DATABASE_ERROR: &str = "database error";

/// A JSON body with this status and content type.
fn json_response(
    status: StatusCode,
    content_type: &'static str,
    body: &impl Serialize,
) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

/// An error body `{"statusCode", "message", "error"}` with that status.
fn error_body(status: StatusCode, message: ErrorMessage) -> ApiError {
    ApiError {
        status_code: status.as_u16(),
        message,
        error: status.canonical_reason().unwrap_or("Error").to_string(),
    }
}

/// A Participant API error (also used by the Messenger API's JSON answers).
pub(crate) fn api_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = error_body(status, ErrorMessage::One(message.into()));
    json_response(status, PARTICIPANT_JSON, &body)
}

/// An Organizer API error.
fn organizer_error(status: StatusCode, message: ErrorMessage) -> Response {
    json_response(status, ORGANIZER_JSON, &error_body(status, message))
}

/// The Organizer API's answer to a missing, unknown or foreign token.
fn forbidden() -> Response {
    organizer_error(
        StatusCode::FORBIDDEN,
        ErrorMessage::One("Forbidden resource".into()),
    )
}

/// A Go `http.Error`: the status text and a newline, as plain text.
fn go_text(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, GO_TEXT)], text).into_response()
}

fn no_token_made() -> Response {
    api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "cannot create a token: the system has no randomness",
    )
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The participant behind a request's token, or the Participant API's 401
/// message.
fn participant_auth(app: &App, headers: &HeaderMap) -> Result<i64, &'static str> {
    let token = bearer(headers).ok_or("invalid authorization header")?;
    match app.hub.principal(token) {
        Some(Principal::Participant { id }) => Ok(id),
        _ => Err("invalid token"),
    }
}

/// Whether Express's JSON body parser reads this request's body.
fn typed_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .is_some_and(|t| t == "application/json" || t.ends_with("+json"))
}

async fn not_found(uri: Uri) -> Response {
    api_error(StatusCode::NOT_FOUND, format!("Cannot find {}", uri.path()))
}

async fn method_not_allowed() -> Response {
    api_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}

async fn go_not_found() -> Response {
    go_text(StatusCode::NOT_FOUND, "404 page not found\n")
}

async fn go_method_not_allowed() -> Response {
    go_text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n")
}

/// Gorilla's answer to a `GET /connect` that is not a WebSocket upgrade
/// (it names the version it speaks).
pub(crate) fn not_an_upgrade() -> Response {
    let mut resp = go_text(StatusCode::BAD_REQUEST, "Bad Request\n");
    resp.headers_mut().insert(
        header::SEC_WEBSOCKET_VERSION,
        header::HeaderValue::from_static("13"),
    );
    resp
}

/// Routes of the Organizer API (served with the peer address as connect info).
pub(crate) fn organizer_router(app: Arc<App>) -> Router {
    Router::new()
        .route(ORGANIZER_SIGN_IN, post(sign_in))
        .route(PROFILE, get(organizer_profile))
        .route(RESET_PATH, post(reset))
        .route(STATS_PATH, get(stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

/// Routes of the Participant API.
pub(crate) fn participant_router(app: Arc<App>) -> Router {
    Router::new()
        .route(PARTICIPANT_SIGN_UP, post(sign_up))
        .route(CHAT_REQUESTS, post(chat_request))
        .route(PROFILE, get(participant_profile))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

/// Routes of the Messenger API.
pub(crate) fn messenger_router(app: Arc<App>) -> Router {
    Router::new()
        .route(CONNECT, get(ws::connect))
        .fallback(go_not_found)
        .method_not_allowed_fallback(go_method_not_allowed)
        .with_state(app)
}

async fn sign_in(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    // Express parses only bodies typed JSON; the DTO sees anything else as {}.
    let parsed = if typed_json(&headers) && !body.is_empty() {
        match gojson::parse_node(&body) {
            Ok(v) => Some(v),
            Err(message) => {
                return organizer_error(StatusCode::BAD_REQUEST, ErrorMessage::One(message))
            }
        }
    } else {
        None
    };
    let creds = match validate::sign_in(parsed.as_ref()) {
        Ok(creds) => creds,
        Err(list) => return organizer_error(StatusCode::BAD_REQUEST, ErrorMessage::Many(list)),
    };
    match app.hub.sign_in(&creds.email, &creds.password) {
        SignIn::BadCredentials => organizer_error(
            StatusCode::BAD_REQUEST,
            ErrorMessage::One(INVALID_CREDENTIALS.into()),
        ),
        SignIn::NoToken => no_token_made(),
        SignIn::Ok(user, token) => json_response(
            StatusCode::OK,
            ORGANIZER_JSON,
            &SignInResponse { user, token },
        ),
    }
}

async fn organizer_profile(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match bearer(&headers).and_then(|t| app.hub.organizer_profile(t)) {
        Some(profile) => json_response(StatusCode::OK, ORGANIZER_JSON, &profile),
        None => forbidden(),
    }
}

async fn sign_up(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let req = match gojson::parse_go(&body).and_then(|v| validate::sign_up(&v)) {
        Ok(req) => req,
        Err(message) => return api_error(StatusCode::BAD_REQUEST, message),
    };
    // The real API opens its 3 s database context before the e-mail check
    // and hashes inside it.
    let deadline = Instant::now() + SIGN_UP_TIMEOUT;
    if app.hub.email_taken(&req.email) {
        return api_error(StatusCode::BAD_REQUEST, EMAIL_EXISTS);
    }
    if let Some(pool) = &app.sign_up {
        pool.spend().await;
        if Instant::now() > deadline {
            bump(&app.hub.stats.sign_ups_timed_out);
            return api_error(StatusCode::INTERNAL_SERVER_ERROR, DATABASE_ERROR);
        }
    }
    match app.hub.sign_up(req) {
        Err(message) => api_error(StatusCode::BAD_REQUEST, message),
        Ok(None) => no_token_made(),
        Ok(Some((user, token))) => json_response(
            StatusCode::CREATED,
            PARTICIPANT_JSON,
            &SignUpResponse { user, token },
        ),
    }
}

async fn participant_profile(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(message) = participant_auth(&app, &headers) {
        return api_error(StatusCode::UNAUTHORIZED, message);
    }
    match bearer(&headers).and_then(|t| app.hub.participant_profile(t)) {
        Some(profile) => json_response(StatusCode::OK, PARTICIPANT_JSON, &profile),
        None => api_error(StatusCode::UNAUTHORIZED, "invalid token"),
    }
}

async fn chat_request(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let id = match participant_auth(&app, &headers) {
        Ok(id) => id,
        Err(message) => return api_error(StatusCode::UNAUTHORIZED, message),
    };
    let req = match gojson::parse_go(&body).and_then(|v| validate::chat_request(&v)) {
        Ok(req) => req,
        Err(message) => return api_error(StatusCode::BAD_REQUEST, message),
    };
    let event = req.event_id;
    match app.hub.request_chat(id, req) {
        // An empty body, typed JSON all the same.
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, PARTICIPANT_JSON)]).into_response(),
        Err(RequestError::UnknownEvent) => api_error(
            StatusCode::NOT_FOUND,
            format!("event with id {event} not found"),
        ),
        Err(RequestError::AlreadyOpen) => {
            api_error(StatusCode::BAD_REQUEST, "chat request already exists")
        }
    }
}

/// Whether a peer may call the reset hook: only this machine.
pub(crate) fn reset_allowed(peer: IpAddr) -> bool {
    peer.to_canonical().is_loopback()
}

async fn reset(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    if !reset_allowed(peer.ip()) {
        return api_error(
            StatusCode::FORBIDDEN,
            "reset is only accepted from a loopback address",
        );
    }
    app.hub.reset();
    tracing::info!("state reset by {peer}");
    StatusCode::OK.into_response()
}

async fn stats(State(app): State<Arc<App>>) -> Response {
    Json(app.hub.stats.snapshot()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_only_from_loopback() {
        assert!(reset_allowed("127.0.0.1".parse().unwrap()));
        assert!(reset_allowed("127.3.2.1".parse().unwrap()));
        assert!(reset_allowed("::1".parse().unwrap()));
        assert!(reset_allowed("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!reset_allowed("10.0.0.1".parse().unwrap()));
        assert!(!reset_allowed("192.168.1.2".parse().unwrap()));
        assert!(!reset_allowed("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!reset_allowed("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn bearer_header_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            "Bearer organizer:abc".parse().unwrap(),
        );
        assert_eq!(bearer(&h), Some("organizer:abc"));
        h.insert(header::AUTHORIZATION, "bearer  x ".parse().unwrap());
        assert_eq!(bearer(&h), Some("x"));
        h.insert(header::AUTHORIZATION, "Basic x".parse().unwrap());
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
