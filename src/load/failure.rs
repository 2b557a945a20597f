//! A worker's failure as it travels to the recorder: what kind, at which step
//! of the scenario, and the HTTP status when a REST call answered with an
//! unexpected one. The step says which of the three services failed, so a
//! report can tell a saturated Messenger API from a Participant API that
//! could not sign anybody up.

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

/// A frame the client could not read while doing `step`.
pub(crate) fn unreadable(step: Step, e: ReadError) -> Failure {
    Failure::new(step, ErrorKind::Protocol, e.to_string())
}
