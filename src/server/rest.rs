//! The REST side of the staging server (PROTOCOL.md §1): the Organizer API and
//! the Participant API as two axum routers on their own ports, the Messenger
//! API router with the WebSocket route, and the loopback-only test hooks
//! `POST /__msgperf/reset` and `GET /__msgperf/stats`.
//!
//! Bodies are parsed by hand from bytes (not axum's `Json` extractor) so that
//! every bad body gets the API's `400` JSON error instead of axum's `415`/`422`
//! plain text.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use super::accounts::{RequestError, SignIn};
use super::state::Principal;
use super::{ws, App};
use crate::protocol::{
    ApiError, ChatRequestBody, ErrorMessage, SignInRequest, SignInResponse, SignUpRequest,
    SignUpResponse, CHAT_REQUESTS, CONNECT, ORGANIZER_SIGN_IN, PARTICIPANT_SIGN_UP, PROFILE,
};

/// Path of the loopback-only reset hook on the Organizer API.
pub const RESET_PATH: &str = "/__msgperf/reset";
/// Path of the stats hook on the Organizer API.
pub const STATS_PATH: &str = "/__msgperf/stats";
/// The sign-in error text of the real API.
pub const INVALID_CREDENTIALS: &str = "invalid email or password";

/// A JSON error body `{"statusCode", "message", "error"}` with that status.
pub(crate) fn api_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = ApiError {
        status_code: status.as_u16(),
        message: ErrorMessage::One(message.into()),
        error: status.canonical_reason().unwrap_or("Error").to_string(),
    };
    (status, Json(body)).into_response()
}

fn unauthorized() -> Response {
    api_error(StatusCode::UNAUTHORIZED, "Unauthorized")
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

/// Parses a JSON body, or says why it is not the expected one.
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid request body: {e}"))
}

async fn not_found(uri: Uri) -> Response {
    api_error(StatusCode::NOT_FOUND, format!("Cannot find {}", uri.path()))
}

async fn method_not_allowed() -> Response {
    api_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
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
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

async fn sign_in(State(app): State<Arc<App>>, body: Bytes) -> Response {
    // A body without email or password is as wrong as a bad password.
    let Ok(req) = serde_json::from_slice::<SignInRequest>(&body) else {
        return api_error(StatusCode::BAD_REQUEST, INVALID_CREDENTIALS);
    };
    match app.hub.sign_in(&req.email, &req.password) {
        SignIn::BadCredentials => api_error(StatusCode::BAD_REQUEST, INVALID_CREDENTIALS),
        SignIn::NoToken => no_token_made(),
        SignIn::Ok(user, token) => Json(SignInResponse { user, token }).into_response(),
    }
}

async fn organizer_profile(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match bearer(&headers).and_then(|t| app.hub.organizer_profile(t)) {
        Some(profile) => Json(profile).into_response(),
        None => unauthorized(),
    }
}

async fn sign_up(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let req: SignUpRequest = match parse_body(&body) {
        Ok(req) => req,
        Err(message) => return api_error(StatusCode::BAD_REQUEST, message),
    };
    match app.hub.sign_up(req) {
        Err(message) => api_error(StatusCode::BAD_REQUEST, message),
        Ok(None) => no_token_made(),
        Ok(Some((user, token))) => {
            (StatusCode::CREATED, Json(SignUpResponse { user, token })).into_response()
        }
    }
}

async fn participant_profile(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match bearer(&headers).and_then(|t| app.hub.participant_profile(t)) {
        Some(profile) => Json(profile).into_response(),
        None => unauthorized(),
    }
}

async fn chat_request(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(Principal::Participant { id }) = bearer(&headers).and_then(|t| app.hub.principal(t))
    else {
        return unauthorized();
    };
    let req: ChatRequestBody = match parse_body(&body) {
        Ok(req) => req,
        Err(message) => return api_error(StatusCode::BAD_REQUEST, message),
    };
    let event = req.event_id;
    match app.hub.request_chat(id, req) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(RequestError::UnknownEvent) => {
            api_error(StatusCode::NOT_FOUND, format!("event {event} not found"))
        }
        Err(RequestError::AlreadyOpen) => api_error(
            StatusCode::BAD_REQUEST,
            format!("you already have an open chat request for event {event}"),
        ),
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
