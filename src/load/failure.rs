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

/// Whether a socket error is the generator's own limit rather than the API:
/// no descriptor left (`EMFILE` for the process, `ENFILE` for the system) or
/// no local port left (`EADDRNOTAVAIL`).
pub(crate) fn is_generator_limit(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::EADDRNOTAVAIL)
    )
}

/// The kind of a failed socket call: [`ErrorKind::GeneratorLimit`] when it
/// is the generator's own limit, else `otherwise`.
pub(crate) fn io_error_kind(e: &std::io::Error, otherwise: ErrorKind) -> ErrorKind {
    if is_generator_limit(e) {
        ErrorKind::GeneratorLimit
    } else {
        otherwise
    }
}

/// Whether an error or any of its sources is the generator's own limit
/// (reqwest and hyper wrap the socket's error a few levels down).
pub(crate) fn caused_by_generator_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            // A wrapping io::Error's `source()` skips the error it wraps.
            let inner = io
                .get_ref()
                .map(|i| i as &(dyn std::error::Error + 'static));
            if is_generator_limit(io) || inner.is_some_and(caused_by_generator_limit) {
                return true;
            }
        }
        cause = e.source();
    }
    false
}

/// What a generator-limit failure says besides its cause: whose limit it is
/// and what to do.
pub(crate) const GENERATOR_LIMIT_HINT: &str =
    "the generator's own limit, not the API's: raise `ulimit -n` (or the local port range) or spread the load with `split: K`";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_and_port_exhaustion_are_the_generators_limit() {
        for errno in [libc::EMFILE, libc::ENFILE, libc::EADDRNOTAVAIL] {
            let e = std::io::Error::from_raw_os_error(errno);
            assert!(is_generator_limit(&e), "{e}");
            let wrapped = std::io::Error::other(e);
            assert!(caused_by_generator_limit(&wrapped), "{wrapped}");
        }
        let refused = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert!(!is_generator_limit(&refused));
        assert!(!caused_by_generator_limit(&refused));
    }
}
