//! The TCP stream under every WebSocket of the load engine, with one thing
//! tokio's own `TcpStream` cannot do: stop listening for reads.
//!
//! A chatting participant reads its socket only on its own schedule
//! (`participant::READ_EVERY`), yet a tokio `TcpStream` is registered with
//! epoll for reads as well as writes, so every echo the server sends it
//! wakes the generator's thread (and on a VM each wake-up costs an
//! interrupt). In [`Interest::Writes`] the socket is registered for writes
//! only: arriving data wakes nobody, and reads are tried without waiting,
//! which is all a scheduled drain (`now_or_never`) does. A read that came
//! back short means the socket is empty, so the next read of the same drain
//! reports "nothing" without a second `recv` that would only say `EAGAIN`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What a socket's owner waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Reads and writes: any read may wait (set-up, organizers, the drain).
    ReadsAndWrites,
    /// Writes only: reads never wait and arriving data wakes nobody.
    Writes,
}

/// A connected, non-blocking TCP socket whose read interest can be dropped.
pub struct Socket {
    /// `None` while a re-registration is under way, and for good once
    /// one failed and the old registration could not be restored.
    fd: Option<AsyncFd<std::net::TcpStream>>,
    interest: Interest,
    /// In [`Interest::Writes`]: the last read came back short (or empty),
    /// so the socket holds nothing more until [`Socket::rearm`].
    emptied: bool,
}

impl Socket {
    /// Takes over a connected tokio stream, registered for reads and writes.
    pub fn new(stream: tokio::net::TcpStream) -> io::Result<Socket> {
        let tcp = stream.into_std()?;
        let fd = register(tcp, Interest::ReadsAndWrites).map_err(|(_, e)| e)?;
        Ok(Socket {
            fd: Some(fd),
            interest: Interest::ReadsAndWrites,
            emptied: false,
        })
    }

    /// The registered socket; an error once a re-registration failed.
    fn fd(&self) -> io::Result<&AsyncFd<std::net::TcpStream>> {
        self.fd
            .as_ref()
            .ok_or_else(|| io::Error::other("the socket lost its epoll registration"))
    }

    /// The local address, as the original client printed it.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.fd()?.get_ref().local_addr()
    }

    /// Re-registers the socket for `interest` (two `epoll_ctl` calls; none
    /// when it already has it). When that fails it tries to keep the old
    /// registration; failing that too, every later call returns an error.
    pub fn set_interest(&mut self, interest: Interest) -> io::Result<()> {
        if interest == self.interest {
            return Ok(());
        }
        let Some(fd) = self.fd.take() else {
            return Err(io::Error::other("the socket lost its epoll registration"));
        };
        match register(fd.into_inner(), interest) {
            Ok(fd) => {
                self.fd = Some(fd);
                self.interest = interest;
                self.emptied = false;
                Ok(())
            }
            Err((tcp, e)) => {
                self.fd = register(tcp, self.interest).ok();
                Err(e)
            }
        }
    }

    /// Starts a new drain in [`Interest::Writes`]: the next read asks the
    /// kernel again.
    pub fn rearm(&mut self) {
        self.emptied = false;
    }

    /// One read without waiting, for [`Interest::Writes`]: `Pending` (with
    /// no waker registered) when there is nothing to read.
    fn read_now(&mut self, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.emptied {
            return Poll::Pending;
        }
        let want = buf.remaining();
        let result = match self.fd() {
            Ok(fd) => fd.get_ref().read(buf.initialize_unfilled()),
            Err(e) => Err(e),
        };
        match result {
            Ok(n) => {
                self.emptied = n < want;
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.emptied = true;
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

/// Registers `tcp` with the runtime's reactor for `interest`.
fn register(
    tcp: std::net::TcpStream,
    interest: Interest,
) -> Result<AsyncFd<std::net::TcpStream>, (std::net::TcpStream, io::Error)> {
    let interest = match interest {
        Interest::ReadsAndWrites => tokio::io::Interest::READABLE | tokio::io::Interest::WRITABLE,
        Interest::Writes => tokio::io::Interest::WRITABLE,
    };
    // SAFETY: the `TcpStream` owns its descriptor, which stays open and the
    // same for as long as the `AsyncFd` holds the stream.
    unsafe { AsyncFd::register_with_interest(tcp, interest) }.map_err(|e| e.into_parts())
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.interest == Interest::Writes {
            return this.read_now(buf);
        }
        loop {
            let mut guard = ready!(this.fd()?.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            let want = unfilled.len();
            match guard.try_io(|fd| fd.get_ref().read(unfilled)) {
                Ok(Ok(n)) => {
                    // A short read emptied the socket: wait for epoll's next
                    // edge instead of a `recv` that would only say EAGAIN
                    // (what tokio's own TcpStream does).
                    if n > 0 && n < want {
                        guard.clear_ready();
                    }
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            let mut guard = ready!(this.fd()?.poll_write_ready(cx))?;
            match guard.try_io(|fd| fd.get_ref().write(data)) {
                Ok(Ok(n)) => {
                    // A short write filled the send buffer (as tokio does).
                    if n > 0 && n < data.len() {
                        guard.clear_ready();
                    }
                    return Poll::Ready(Ok(n));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Writes go straight to the kernel (TCP_NODELAY): nothing is held here.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = self.fd()?.get_ref().shutdown(std::net::Shutdown::Write);
        Poll::Ready(match result {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn pair() -> (Socket, tokio::net::TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) =
            tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        (Socket::new(client.unwrap()).unwrap(), server.unwrap().0)
    }

    #[tokio::test]
    async fn writes_only_reads_without_waiting_and_once_per_drain() {
        let (mut socket, mut server) = pair().await;
        socket.set_interest(Interest::Writes).unwrap();
        let mut buf = [0u8; 64];
        // Nothing sent yet: a read does not wait.
        assert!(socket.read(&mut buf).now_or_never().is_none());
        server.write_all(b"hello").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // Emptied by the first read: the same drain reads no more.
        assert!(socket.read(&mut buf).now_or_never().is_none());
        socket.rearm();
        let n = socket.read(&mut buf).now_or_never().unwrap().unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert!(socket.read(&mut buf).now_or_never().is_none());
        // Writes still go out, and back in the default interest reads wait.
        socket.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");
        socket.set_interest(Interest::ReadsAndWrites).unwrap();
        let reader = tokio::spawn(async move {
            let n = socket.read(&mut buf).await.unwrap();
            buf[..n].to_vec()
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        server.write_all(b"later").await.unwrap();
        assert_eq!(reader.await.unwrap(), b"later");
    }
}
