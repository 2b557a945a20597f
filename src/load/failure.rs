//! A worker's failure as it travels to the recorder: what kind, at which step
//! of the scenario, and the HTTP status when a REST call answered with an
//! unexpected one. The step says which of the three services failed, so a
//! report can tell a saturated Messenger API from a Participant API that
//! could not sign anybody up.

use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Error as WsError;

use super::read::ReadError;
use super::rest::RestError;
use super::wire::ConnectError;
use crate::results::{ErrorKind, Step};

/// A failed step of a worker.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Classification.
    pub kind: ErrorKind,
    /// The step that failed.
    pub step: Step,
    /// The status of a REST answer, when that was the failure.
    pub http_status: Option<u16>,
    /// What happened, for people (never a credential).
    pub message: String,
}

impl Failure {
    /// A failure without an HTTP status.
    pub(crate) fn new(step: Step, kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            step,
            http_status: None,
            message: message.into(),
        }
    }

    /// The connection is gone while doing `step`.
    pub(crate) fn closed(step: Step, message: impl Into<String>) -> Self {
        Failure::new(step, ErrorKind::ConnectionClosed, message)
    }
}

impl From<RestError> for Failure {
    fn from(e: RestError) -> Self {
        Failure {
            kind: e.kind,
            step: e.step,
            http_status: e.http_status,
            message: e.message,
        }
    }
}

impl From<ConnectError> for Failure {
    fn from(e: ConnectError) -> Self {
        Failure::new(Step::Handshake, e.kind, e.message)
    }
}

/// A failed WebSocket read while doing `step`: a frame the protocol does not
/// allow (over [`super::wire::MAX_FRAME`], bad UTF-8 in a text frame, a
/// broken frame header) is the server's protocol error; anything else,
/// a reset without a close frame included, is the connection going away.
pub(crate) fn read_failed(step: Step, e: &WsError) -> Failure {
    match e {
        // A reset (the server died) is the connection going away.
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            Failure::closed(step, format!("WebSocket read failed: {e}"))
        }
        WsError::Capacity(_) | WsError::Protocol(_) | WsError::Utf8(_) => Failure::new(
            step,
            ErrorKind::Protocol,
            format!("the Messenger API sent a frame the protocol does not allow: {e}"),
        ),
        _ => Failure::closed(step, format!("WebSocket read failed: {e}")),
    }
}

/// The server closed the WebSocket (a close frame, or the stream ended).
pub(crate) fn closed_by_server(step: Step, frame: Option<&CloseFrame>) -> Failure {
    let message = match frame {
        Some(f) if f.reason.is_empty() => {
            format!("the server closed the WebSocket (close code {})", f.code)
        }
        Some(f) => format!(
            "the server closed the WebSocket (close code {}: {})",
            f.code, f.reason
        ),
        None => "the server closed the WebSocket".to_string(),
    };
    Failure::closed(step, message)
}

/// A binary frame: the Messenger API sends text frames only. Recorded, not
/// fatal: the connection still works.
pub(crate) fn binary_frame(step: Step, len: usize) -> Failure {
    Failure::new(
        step,
        ErrorKind::Protocol,
        format!("the Messenger API sent a binary frame ({len} bytes); its frames are text"),
    )
}

/// A frame the client could not read while doing `step`.
pub(crate) fn unreadable(step: Step, e: ReadError) -> Failure {
    Failure::new(step, ErrorKind::Protocol, e.to_string())
}
