//! The client side of the WebSocket upgrade (RFC 6455 §4.1) for plain
//! `ws://` connections: the request written in one call, the answer's head
//! read into a small buffer, and the connection handed to tungstenite with
//! whatever followed the head.
//!
//! tungstenite's own client handshake builds an `http::Request`, reads
//! through two 4 KiB buffers and hands the larger one on as the
//! connection's read buffer for its whole life: at 10,000 participants
//! that alone was 40 MiB, whatever `read_buffer_size` said. This one keeps
//! the configured buffer (2 KiB for a participant) and does less work per
//! connection. `wss://` keeps tungstenite's handshake (inside TLS).

use memchr::memmem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use super::socket::Socket;
use super::wire::ConnectError;
use crate::results::ErrorKind;

/// The most an upgrade answer's head may take; the real API's is ~150 bytes.
const MAX_HEAD: usize = 8 * 1024;

/// Sends the upgrade request for `path` on `host` and reads the answer's head.
/// Returns the bytes that came after it (usually none: the server speaks only
/// after the client's authorization frame).
pub(crate) async fn upgrade(
    socket: &mut Socket,
    url: &str,
    host: &str,
    path: &str,
) -> Result<Vec<u8>, ConnectError> {
    let key = generate_key();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n"
    );
    socket
        .write_all(request.as_bytes())
        .await
        .map_err(|e| io_failed(url, &e))?;
    let mut head = Vec::with_capacity(512);
    let end = loop {
        if let Some(i) = memmem::find(&head, b"\r\n\r\n") {
            break i + 4;
        }
        if head.len() >= MAX_HEAD {
            return Err(failed(
                ErrorKind::Protocol,
                url,
                "the answer's head is over 8 KiB",
            ));
        }
        head.reserve(512);
        let read = socket
            .read_buf(&mut head)
            .await
            .map_err(|e| io_failed(url, &e))?;
        if read == 0 {
            return Err(failed(
                ErrorKind::ConnectionClosed,
                url,
                "the server closed the connection before it answered the upgrade",
            ));
        }
    };
    check_answer(&head[..end], &key).map_err(|(kind, why)| failed(kind, url, &why))?;
    Ok(head.split_off(end))
}

/// Checks an upgrade answer's head: `101`, `Upgrade: websocket`, and the
/// accept key derived from `key`. Another status is `http_status`.
fn check_answer(head: &[u8], key: &str) -> Result<(), (ErrorKind, String)> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) | Err(_) => {
            return Err((
                ErrorKind::Protocol,
                "the answer is not an HTTP response".into(),
            ))
        }
    }
    let code = response.code.unwrap_or_default();
    if code != 101 {
        let reason = response.reason.unwrap_or_default();
        return Err((
            ErrorKind::HttpStatus,
            format!("HTTP error: {code} {reason}"),
        ));
    }
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    if !header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
        return Err((
            ErrorKind::Protocol,
            "101 without `Upgrade: websocket`".into(),
        ));
    }
    if header("sec-websocket-accept").as_deref() != Some(&derive_accept_key(key.as_bytes())) {
        return Err((
            ErrorKind::Protocol,
            "101 with a wrong Sec-WebSocket-Accept".into(),
        ));
    }
    Ok(())
}

fn failed(kind: ErrorKind, url: &str, why: &str) -> ConnectError {
    ConnectError {
        kind,
        message: format!("WebSocket upgrade with {url} failed: {why}"),
    }
}

/// A failed read or write of the upgrade, classified as tungstenite's were.
fn io_failed(url: &str, e: &std::io::Error) -> ConnectError {
    let kind = super::failure::io_error_kind(e, ErrorKind::ConnectRefused);
    failed(kind, url, &format!("IO error: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: &str, accept: &str) -> Vec<u8> {
        format!("HTTP/1.1 {status}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").into_bytes()
    }

    #[test]
    fn answers_are_checked_for_status_upgrade_and_key() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        // RFC 6455's own example.
        let good = answer("101 Switching Protocols", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        assert_eq!(check_answer(&good, key), Ok(()));
        let refused = check_answer(&answer("503 Service Unavailable", ""), key).unwrap_err();
        assert_eq!(
            refused,
            (
                ErrorKind::HttpStatus,
                "HTTP error: 503 Service Unavailable".into()
            )
        );
        let wrong = check_answer(&answer("101 Switching Protocols", "nope"), key).unwrap_err();
        assert_eq!(wrong.0, ErrorKind::Protocol);
        assert_eq!(
            check_answer(b"SSH-2.0-x\r\n\r\n", key).unwrap_err().0,
            ErrorKind::Protocol
        );
    }

    /// The real Messenger API's 101 (gorilla/websocket), from
    /// `../shared/esme-transcripts/ws-organizer.json`.
    #[test]
    fn the_real_apis_answer_is_accepted() {
        let key = "pi9i/9QY+OeACMMAEyneJA==";
        let real = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: QxihP+KdHsuPrqAObLVoMrdDWFI=\r\n\r\n";
        assert_eq!(check_answer(real, key), Ok(()));
    }
}
