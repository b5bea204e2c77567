//! # sansrpc-smol
//!
//! JSON-RPC 2.0 on [smol](https://docs.rs/smol): newline-delimited JSON over
//! TCP, or over any [`AsyncRead`] +
//! [`AsyncWrite`] (Unix sockets, pipes, stdio
//! through [`smol::Unblock`]), driven by the sans-IO core [`sansrpc`].
//!
//! - **Server**: [`serve`], [`serve_with_shutdown`], [`serve_connection`],
//!   and [`Server`] for options (limits, and the connection's lifecycle:
//!   concurrent calls, backpressure, draining, graceful shutdown).
//! - **Client**: [`Client`] — `call`, `notify`, `batch`, with a default
//!   timeout per client and per-call overrides.
//! - **Peer mode**: [`PeerConnection`] and [`Server::peer_mode`] — both ends
//!   serve a router and call the other.
//!
//! Tasks are spawned with [`smol::spawn`] (smol's global executor).
//!
//! A server and a client in one program:
//!
//! ```no_run
//! use sansrpc::{Error, Params, Router};
//! use sansrpc_smol::{Client, serve};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     smol::block_on(async {
//!         let mut router = Router::new();
//!         router
//!             .method("ping", || "pong")?
//!             .method("add", |Params((a, b)): Params<(i64, i64)>| async move {
//!                 a.checked_add(b).ok_or_else(|| Error::invalid_params("overflow"))
//!             })?;
//!
//!         let listener = smol::net::TcpListener::bind("127.0.0.1:5000").await?;
//!         smol::spawn(serve(listener, router)).detach();
//!
//!         let client = Client::connect("127.0.0.1:5000").await?;
//!         assert_eq!(client.call::<String>("ping", ()).await?, "pong");
//!         assert_eq!(client.call::<i64>("add", [2, 3]).await?, 5);
//!         Ok(())
//!     })
//! }
//! ```
//!
//! The connection driver is [`sansrpc_io`]'s, written once for every
//! runtime; this crate is the smol glue: the [`Smol`] runtime and TCP.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::future::Future;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::{Duration, Instant};

use futures_lite::io::{AsyncRead, AsyncWrite};
use sansrpc_io::{AsyncTimer, Connect, Listen, Runtime, Task, Watch, Wrap};
use smol::Async;
use smol::net::{AsyncToSocketAddrs, TcpListener, TcpStream};

pub use sansrpc_io::{ClientError, DEFAULT_READ_BUFFER, DEFAULT_TIMEOUT};

mod timer;

/// The smol runtime: tasks go to [`smol::spawn`] (the global executor).
/// Timers sleep on one thread of this crate's own (`sansrpc-smol-timers`,
/// started with the first timer), which wakes each task when its deadline
/// passes, so that async-io's reactor holds no timer of the connections
/// (a reactor holding timers pays for them on every turn); should that
/// thread fail to start, timers are [`smol::Timer`]s.
#[derive(Clone, Copy, Debug, Default)]
pub struct Smol;

#[derive(Debug)]
enum Timer {
    Thread(timer::ThreadTimer),
    Reactor(smol::Timer),
}

impl AsyncTimer for Timer {
    fn reset(mut self: Pin<&mut Self>, at: Instant) {
        match &mut *self {
            Timer::Thread(t) => t.reset(at),
            Timer::Reactor(t) => t.set_at(at),
        }
    }
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        match &mut *self {
            Timer::Thread(t) => t.poll(cx),
            Timer::Reactor(t) => Pin::new(t).poll(cx).map(drop),
        }
    }
}

impl Runtime for Smol {
    fn spawn(task: Task) {
        smol::spawn(task).detach();
    }
    fn timer(at: Instant) -> Pin<Box<dyn AsyncTimer>> {
        Box::pin(match timer::ThreadTimer::at(at) {
            Some(t) => Timer::Thread(t),
            None => Timer::Reactor(smol::Timer::at(at)),
        })
    }
}

/// An accepted TCP stream, read and written as smol's `TcpStream` does
/// (async-io's readiness), except that a read shorter than asked is taken
/// to have emptied the socket's buffer, as tokio does on epoll: the next
/// read waits for readiness first instead of asking the kernel for an
/// `EAGAIN`. async-io re-arms the socket's interest when it is polled for
/// readiness, and that reports input already there.
#[derive(Debug)]
pub struct TcpIo {
    socket: Arc<Async<std::net::TcpStream>>,
    /// The last read emptied the socket's buffer (or found it empty).
    drained: bool,
}

/// Whether a read shorter than asked shows the socket's buffer was emptied
/// (a TCP socket on Linux copies all it holds, up to the length asked).
const SHORT_READ_DRAINS: bool = cfg!(any(target_os = "linux", target_os = "android"));

impl AsyncRead for TcpIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        loop {
            if this.drained {
                ready!(this.socket.poll_readable(cx))?;
                this.drained = false;
            }
            match (&mut this.socket.get_ref()).read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => this.drained = true,
                read => {
                    this.drained = SHORT_READ_DRAINS && matches!(read, Ok(n) if n > 0 && n < buf.len());
                    return Poll::Ready(read);
                }
            }
        }
    }
}

impl AsyncWrite for TcpIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self.socket).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self.socket).poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.socket.get_ref().shutdown(std::net::Shutdown::Write))
    }
}

impl Listen<TcpListener> for Smol {
    type Io = TcpIo;
    async fn accept(listener: &TcpListener) -> io::Result<(TcpIo, SocketAddr)> {
        let (stream, addr) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let socket = stream.into();
        Ok((
            TcpIo {
                socket,
                drained: false,
            },
            addr,
        ))
    }
    /// async-io reports readability only, which queued input always has,
    /// so this probes the socket every second instead (only while
    /// the driver polls it): `SO_ERROR`, then the peer address (gone once
    /// the connection is closed); neither reads, and a FIN fails neither.
    fn watch(io: &TcpIo) -> Option<Watch> {
        let socket = io.socket.clone();
        Some(Box::pin(async move {
            loop {
                smol::Timer::after(RESET_PROBE).await;
                let s = socket.get_ref();
                if let Some(e) = s
                    .take_error()
                    .unwrap_or_else(Some)
                    .or_else(|| s.peer_addr().err())
                {
                    return e;
                }
            }
        }))
    }
}

/// How often an accepted connection whose reading is paused (or whose
/// remote sent EOF) is probed for a reset: a reset connection's handlers
/// are cancelled within this time.
const RESET_PROBE: Duration = Duration::from_secs(1);

impl<A: AsyncToSocketAddrs + Send> Connect<A> for Smol
where
    A::Iter: Send,
{
    type Io = TcpStream;
    async fn connect(addr: A) -> io::Result<(TcpStream, Option<SocketAddr>)> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let peer = stream.peer_addr().ok();
        Ok((stream, peer))
    }
}

impl<IO: AsyncRead + AsyncWrite + Send> Wrap<IO> for Smol {
    type Io = IO;
    fn wrap(io: IO) -> IO {
        io
    }
}

/// A handle to a JSON-RPC connection: call and notify the remote (see
/// [`sansrpc_io::Client`]).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = sansrpc_smol::Client::connect("127.0.0.1:5000").await?;
/// let pong: String = client.call("ping", ()).await?;
/// client.notify("update", [1, 2, 3]).await?;
/// # Ok(()) }
/// ```
pub type Client = sansrpc_io::Client<Smol>;

/// Options for a [`Client`] or [`PeerConnection`] (see
/// [`sansrpc_io::ClientBuilder`]).
pub type ClientBuilder = sansrpc_io::ClientBuilder<Smol>;

/// A connection on which both ends may call (see
/// [`sansrpc_io::PeerConnection`]); dropping it does not end it.
pub type PeerConnection = sansrpc_io::PeerConnection<Smol>;

/// A JSON-RPC server over TCP or any byte stream, newline-framed (see
/// [`sansrpc_io::Server`]).
///
/// ```no_run
/// use sansrpc::Router;
/// use sansrpc_smol::Server;
/// use std::time::Duration;
///
/// fn main() -> std::io::Result<()> {
///     smol::block_on(async {
///         let mut router = Router::new();
///         router.method("ping", || "pong").unwrap();
///         let listener = smol::net::TcpListener::bind("127.0.0.1:5000").await?;
///         // Dropping `stop` (or `stop.close()`) starts the shutdown.
///         let (stop, stopped) = async_channel::bounded::<()>(1);
///         Server::new(router)
///             .shutdown_timeout(Duration::from_secs(10))
///             .serve_with_shutdown(listener, async move {
///                 let _ = stopped.recv().await;
///             })
///             .await
///     })
/// }
/// ```
pub type Server<S = ()> = sansrpc_io::Server<Smol, S>;

sansrpc_io::entry_points! {
    runtime: Smol,
    listener: TcpListener,
    stream: [AsyncRead + AsyncWrite + Unpin + Send],
    /// Serves `router` on `listener` until the task is dropped (see
    /// [`Server`]); [`serve_with_shutdown`] stops on a signal.
    serve;
    /// Serves `router` on one connection over any byte stream; handlers see
    /// `context`. Returns when the peer closed its input and every call was
    /// answered.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use sansrpc::{Context, Transport};
    /// // JSON-RPC over a Unix socket.
    /// let stream = smol::net::unix::UnixStream::connect("/tmp/rpc.sock").await?;
    /// let router = sansrpc::Router::new();
    /// sansrpc_smol::serve_connection(stream, router, Context::builder(Transport::Stream).build()).await
    /// # }
    /// ```
    serve_connection;
}
