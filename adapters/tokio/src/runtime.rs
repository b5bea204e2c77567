//! tokio as a [`sansrpc_io::Runtime`]: spawning, one resettable timer per
//! connection, TCP (an accepted stream watched for a reset), and tokio's
//! byte streams through the `compat` shim.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use sansrpc_io::{AsyncTimer, Connect, Listen, Runtime, Task, Watch, Wrap};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

/// The tokio runtime: tasks go to [`tokio::spawn`] (so a runtime must be
/// current), timers are [`tokio::time::Sleep`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

#[derive(Debug)]
struct Timer(Pin<Box<tokio::time::Sleep>>);

impl AsyncTimer for Timer {
    fn reset(mut self: Pin<&mut Self>, at: Instant) {
        self.0.as_mut().reset(at.into());
    }
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl Runtime for Tokio {
    fn spawn(task: Task) {
        drop(tokio::spawn(task));
    }
    fn timer(at: Instant) -> Pin<Box<dyn AsyncTimer>> {
        Box::pin(Timer(Box::pin(tokio::time::sleep_until(at.into()))))
    }
}

/// An accepted TCP stream, shared with its [`Watch`]: read and written
/// through tokio's readiness and `try_*` calls, as `TcpStream` itself does.
#[derive(Debug)]
pub struct TcpIo(Arc<TcpStream>);

/// Runs `op` (a `try_*` call: it fails with `WouldBlock` at once, without
/// a system call, while tokio holds no readiness for it), and polls for
/// readiness with `ready` only when it would block, so that an operation
/// on a ready socket checks the readiness once, not twice; a pending
/// `ready` leaves the task's waker with the socket.
fn retry<T>(
    cx: &mut Context<'_>,
    ready: impl Fn(&mut Context<'_>) -> Poll<io::Result<()>>,
    mut op: impl FnMut() -> io::Result<T>,
) -> Poll<io::Result<T>> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            done => return Poll::Ready(done),
        }
        ready!(ready(cx))?;
    }
}

/// Whether the I/O driver is edge-triggered (epoll), so that a read
/// shorter than asked shows the socket's buffer was emptied, as tokio's
/// own `TcpStream` takes it.
const SHORT_READ_DRAINS: bool = cfg!(any(target_os = "linux", target_os = "android"));

impl AsyncRead for TcpIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let s = &self.0;
        let dst = buf.initialize_unfilled();
        let len = dst.len();
        let n = ready!(retry(
            cx,
            |cx| s.poll_read_ready(cx),
            || {
                let mut got = 0;
                // A short read clears the readiness it was made under (the
                // WouldBlock below does, in `try_io`), so the next read
                // waits for the next event instead of asking the kernel
                // for an EAGAIN; data that came in meanwhile brought an
                // event of its own, which that does not clear.
                let read = s.try_io(Interest::READABLE, || {
                    // What `try_read` does inside its own `try_io`.
                    got = std::io::Read::read(&mut &*socket2::SockRef::from(&**s), &mut *dst)?;
                    match got {
                        n if SHORT_READ_DRAINS && n > 0 && n < len => Err(io::ErrorKind::WouldBlock.into()),
                        n => Ok(n),
                    }
                });
                match read {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => Ok(got),
                    read => read,
                }
            }
        ))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for TcpIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let s = &self.0;
        retry(cx, |cx| s.poll_write_ready(cx), || s.try_write(buf))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(socket2::SockRef::from(&*self.0).shutdown(std::net::Shutdown::Write))
    }
}

impl Listen<TcpListener> for Tokio {
    type Io = TcpIo;
    async fn accept(listener: &TcpListener) -> io::Result<(TcpIo, SocketAddr)> {
        let (stream, addr) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        Ok((TcpIo(Arc::new(stream)), addr))
    }
    /// Waits for the socket's error readiness (`EPOLLERR`: a reset sets
    /// it, a FIN does not), which reads nothing.
    fn watch(io: &TcpIo) -> Option<Watch> {
        let stream = io.0.clone();
        Some(Box::pin(async move {
            let failed = stream.ready(Interest::ERROR).await.err();
            failed
                .or_else(|| stream.take_error().ok().flatten())
                .unwrap_or_else(|| io::ErrorKind::ConnectionReset.into())
        }))
    }
}

impl<A: ToSocketAddrs + Send> Connect<A> for Tokio {
    type Io = TcpStream;
    async fn connect(addr: A) -> io::Result<(TcpStream, Option<SocketAddr>)> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let peer = stream.peer_addr().ok();
        Ok((stream, peer))
    }
}

impl<IO: AsyncRead + AsyncWrite + Send> Wrap<IO> for Tokio {
    type Io = Compat<IO>;
    fn wrap(io: IO) -> Compat<IO> {
        io.compat()
    }
}
