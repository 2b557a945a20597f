//! The REST calls of the scenario (organizer sign-in, participant sign-up, chat
//! request), classified into the error kinds of the result file.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::protocol::{
    ChatRequestBody, SignInRequest, SignInResponse, SignUpRequest, SignUpResponse, CHAT_REQUESTS,
    ORGANIZER_SIGN_IN, PARTICIPANT_SIGN_UP,
};
use crate::results::ErrorKind;

/// A failed REST call.
#[derive(Debug)]
pub struct RestError {
    /// Classification.
    pub kind: ErrorKind,
    /// What happened; never contains the request body (it may hold a password).
    pub message: String,
}

/// One HTTP client (connection pool, TLS config) for every REST call of a run.
pub fn client(timeout: Duration) -> Client {
    Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .build()
        .expect("a client with only timeouts and pool settings always builds")
}

/// `POST /auth/sign-in`; returns the organizer's token.
pub async fn sign_in(
    http: &Client,
    base: &str,
    email: &str,
    password: &str,
) -> Result<String, RestError> {
    let body = SignInRequest {
        email: email.to_string(),
        password: password.to_string(),
    };
    let reply: SignInResponse = call(http, base, ORGANIZER_SIGN_IN, None, &body, StatusCode::OK)
        .await?
        .ok_or_else(|| empty_body(base, ORGANIZER_SIGN_IN))?;
    Ok(reply.token)
}

/// `POST /auth/sign-up`; returns the participant's token.
pub async fn sign_up(http: &Client, base: &str, email: &str) -> Result<String, RestError> {
    let password = "msgperf-Load-1";
    let body = SignUpRequest {
        email: email.to_string(),
        password: password.into(),
        confirm_password: password.into(),
        phone_number: "+15550100000".into(),
    };
    let reply: SignUpResponse = call(
        http,
        base,
        PARTICIPANT_SIGN_UP,
        None,
        &body,
        StatusCode::CREATED,
    )
    .await?
    .ok_or_else(|| empty_body(base, PARTICIPANT_SIGN_UP))?;
    Ok(reply.token)
}

/// `POST /chat-requests` for `event_id`.
pub async fn request_chat(
    http: &Client,
    base: &str,
    token: &str,
    event_id: i64,
    description: String,
) -> Result<(), RestError> {
    let body = ChatRequestBody {
        event_id,
        description,
        lat: None,
        lng: None,
    };
    call::<_, serde::de::IgnoredAny>(
        http,
        base,
        CHAT_REQUESTS,
        Some(token),
        &body,
        StatusCode::OK,
    )
    .await
    .map(drop)
}

async fn call<B: Serialize, R: DeserializeOwned>(
    http: &Client,
    base: &str,
    path: &str,
    token: Option<&str>,
    body: &B,
    expect: StatusCode,
) -> Result<Option<R>, RestError> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut request = http.post(&url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| transport(&url, e))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| transport(&url, e))?;
    if status != expect {
        let detail = serde_json::from_slice::<crate::protocol::ApiError>(&bytes)
            .map(|e| e.message.text())
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into());
        return Err(RestError {
            kind: ErrorKind::HttpStatus,
            message: format!("POST {url} answered {status} (expected {expect}): {detail}"),
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| RestError {
            kind: ErrorKind::Protocol,
            message: format!("POST {url} answered {status} with an unexpected body: {e}"),
        })
}

fn transport(url: &str, e: reqwest::Error) -> RestError {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::ConnectRefused
    } else {
        ErrorKind::Protocol
    };
    RestError {
        kind,
        message: format!("POST {url} failed: {e}"),
    }
}

fn empty_body(base: &str, path: &str) -> RestError {
    RestError {
        kind: ErrorKind::Protocol,
        message: format!("POST {base}{path} answered with an empty body; a token was expected"),
    }
}
