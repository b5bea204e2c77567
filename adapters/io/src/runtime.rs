//! What the driver needs from an async runtime, and nothing more: spawning
//! a task and a timer that can be moved (quinn's `Runtime`/`AsyncTimer`).
//! `sansrpc-tokio` and `sansrpc-smol` implement these for their runtime.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};

/// A future the driver hands to [`Runtime::spawn`].
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// An async runtime: a type (usually a unit struct, `Clone` and `Debug` so
/// the handles generic over it derive theirs) whose associated functions
/// spawn tasks and make timers.
pub trait Runtime: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Runs `task` in the background, detached.
    fn spawn(task: Task);
    /// A timer that fires at `at`.
    fn timer(at: Instant) -> Pin<Box<dyn AsyncTimer>>;
}

/// A timer that can be moved without being rebuilt: one per connection,
/// reset when its deadline moves (registering a new timer each turn costs
/// more than the turn).
pub trait AsyncTimer: Send + std::fmt::Debug {
    /// Moves the deadline to `at`.
    fn reset(self: Pin<&mut Self>, at: Instant);
    /// Ready once the deadline passed.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

/// Sleeps until `at` on runtime `R`.
pub(crate) async fn sleep_until<R: Runtime>(at: Instant) {
    let mut timer = R::timer(at);
    std::future::poll_fn(|cx| timer.as_mut().poll(cx)).await
}

/// A watch on an accepted connection (see [`Listen::watch`]): ready with
/// the error once its socket is reset or broken.
pub type Watch = Pin<Box<dyn Future<Output = io::Error> + Send>>;

/// How a runtime accepts connections from a listener of type `L` (a TCP
/// listener of that runtime).
pub trait Listen<L>: Runtime {
    /// An accepted connection (made a `futures-io` stream by [`Wrap`]).
    type Io: Send + 'static;
    /// Waits for the next connection; sets `TCP_NODELAY` where that applies.
    fn accept(listener: &L) -> impl Future<Output = io::Result<(Self::Io, SocketAddr)>> + Send;
    /// A watch that sees `io` reset or broken without reading its input
    /// (Linux hands out queued input before the reset). The driver polls
    /// it while reading is paused or after the remote's EOF, and ends the
    /// connection (cancelling its handlers) when it is ready; a half-close
    /// must not make it ready. `None` (the default): a reset is seen only
    /// by a read or a write.
    fn watch(_io: &Self::Io) -> Option<Watch> {
        None
    }
}

/// How a runtime connects to an address of type `A`.
pub trait Connect<A>: Runtime {
    /// A connected stream (made a `futures-io` stream by [`Wrap`]).
    type Io: Send + 'static;
    /// Connects (with `TCP_NODELAY`); returns the stream and the remote
    /// address when it has one.
    fn connect(addr: A) -> impl Future<Output = io::Result<(Self::Io, Option<SocketAddr>)>> + Send;
}

/// How a runtime's byte stream type `IO` becomes a `futures-io` one (the
/// identity for runtimes built on `futures-io`, a compat wrapper for tokio).
pub trait Wrap<IO>: Runtime {
    /// The `futures-io` stream.
    type Io: AsyncRead + AsyncWrite + Send;
    /// Wraps `io`.
    fn wrap(io: IO) -> Self::Io;
}
