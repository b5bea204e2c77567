//! tokio as a [`sansrpc_io::Runtime`]: spawning, one resettable timer per
//! connection, TCP, and tokio's byte streams through the `compat` shim.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use sansrpc_io::{AsyncTimer, Connect, Listen, Runtime, Task, Wrap};
use tokio::io::{AsyncRead, AsyncWrite};
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

impl Listen<TcpListener> for Tokio {
    type Io = TcpStream;
    async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, addr) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        Ok((stream, addr))
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
