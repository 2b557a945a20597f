//! The REST calls of the scenario (organizer sign-in, participant sign-up, chat
//! request), classified into the error kinds and steps of the result file.
//!
//! Only the token is read from a success body ([`super::read`]): everything
//! else a deployment sends may change without stopping a run.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde::Serialize;

use super::read;
use crate::protocol::{
    ChatRequestBody, SignInRequest, SignUpRequest, CHAT_REQUESTS, ORGANIZER_SIGN_IN,
    PARTICIPANT_SIGN_UP,
};
use crate::results::{ErrorKind, Step};

/// The password of every participant msgperf signs up (the real API wants at
/// least 8 characters).
const PARTICIPANT_PASSWORD: &str = "msgperf-Load-1";

/// A failed REST call.
#[derive(Debug)]
pub struct RestError {
    /// Classification.
    pub kind: ErrorKind,
    /// The scenario step that made the call.
    pub step: Step,
    /// The status, when the server answered with an unexpected one.
    pub http_status: Option<u16>,
    /// What happened; never contains the request body (it may hold a password).
    pub message: String,
}

impl RestError {
    /// True when the server refused the credentials of a sign-in (400, 401, 403).
    pub fn credentials_rejected(&self) -> bool {
        self.step == Step::SignIn && matches!(self.http_status, Some(400 | 401 | 403))
    }
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
    let call = Call::new(base, ORGANIZER_SIGN_IN, Step::SignIn);
    let bytes = call.send(http, None, &body, StatusCode::OK).await?;
    read::token(&bytes, &call.what()).map_err(|e| call.protocol(e))
}

/// `POST /auth/sign-up`; returns the participant's token.
pub async fn sign_up(http: &Client, base: &str, email: &str) -> Result<String, RestError> {
    let body = SignUpRequest {
        email: email.to_string(),
        password: PARTICIPANT_PASSWORD.into(),
        confirm_password: PARTICIPANT_PASSWORD.into(),
        phone_number: "+15550100000".into(),
    };
    let call = Call::new(base, PARTICIPANT_SIGN_UP, Step::SignUp);
    let bytes = call.send(http, None, &body, StatusCode::CREATED).await?;
    read::token(&bytes, &call.what()).map_err(|e| call.protocol(e))
}

/// `POST /chat-requests` for `event_id`. The body of the answer is not read
/// (the real API sends none).
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
    let call = Call::new(base, CHAT_REQUESTS, Step::ChatRequest);
    call.send(http, Some(token), &body, StatusCode::OK)
        .await
        .map(drop)
}

/// One REST call: where it goes and which step it is, for its errors.
struct Call {
    url: String,
    step: Step,
}

impl Call {
    fn new(base: &str, path: &str, step: Step) -> Self {
        Call {
            url: format!("{}{path}", base.trim_end_matches('/')),
            step,
        }
    }

    fn what(&self) -> String {
        format!("POST {} answered", self.url)
    }

    /// Posts `body`; the answer's bytes when the status is `expect`.
    async fn send<B: Serialize>(
        &self,
        http: &Client,
        token: Option<&str>,
        body: &B,
        expect: StatusCode,
    ) -> Result<bytes::Bytes, RestError> {
        let mut request = http.post(&self.url).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.transport(e))?;
        if status == expect {
            return Ok(bytes);
        }
        let detail = read::error_message(&bytes)
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into());
        Err(RestError {
            kind: ErrorKind::HttpStatus,
            step: self.step,
            http_status: Some(status.as_u16()),
            message: format!(
                "POST {} answered {status} (expected {expect}): {detail}",
                self.url
            ),
        })
    }

    fn protocol(&self, e: read::ReadError) -> RestError {
        RestError {
            kind: ErrorKind::Protocol,
            step: self.step,
            http_status: None,
            message: e.to_string(),
        }
    }

    fn transport(&self, e: reqwest::Error) -> RestError {
        // Anything else on the way (a reset, a connection closed mid-answer)
        // is the connection failing, not a protocol the server broke.
        let limit = super::failure::caused_by_generator_limit(&e);
        let kind = if limit {
            ErrorKind::GeneratorLimit
        } else if e.is_timeout() {
            ErrorKind::Timeout
        } else if e.is_connect() {
            ErrorKind::ConnectRefused
        } else if e.is_decode() || e.is_builder() {
            ErrorKind::Protocol
        } else {
            ErrorKind::ConnectionClosed
        };
        RestError {
            kind,
            step: self.step,
            http_status: None,
            message: if limit {
                let hint = super::failure::GENERATOR_LIMIT_HINT;
                format!("POST {} failed: {e} ({hint})", self.url)
            } else {
                format!("POST {} failed: {e}", self.url)
            },
        }
    }
}
