//! The serving side: [`Server`] and the accept loop every server shares
//! (newline streams and WebSocket alike).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use async_channel::{Receiver, Sender};
use futures_util::future::{Either, select};
use sansrpc::conn::Newline;
use sansrpc::{Context, ContextBuilder, Router, Transport};

use crate::client::{ClientBuilder, DEFAULT_READ_BUFFER};
use crate::driver::{ByteStream, Close, Signals, drive};
use crate::runtime::{Listen, Runtime, Wrap, sleep_until};
use crate::side::{Command, PeerSide, ServerSide};

/// Accepts from `listener` until `signal`, closes connections over
/// `max_connections` at once, runs each accepted one with `serve` on its
/// own task, then shuts down gracefully: fires the connections' shutdown
/// signal, waits for them, and aborts them if they take longer than
/// `shutdown_timeout`.
pub(crate) async fn accept_loop<R, L, F, Fut>(
    listener: L,
    max_connections: usize,
    signal: impl Future<Output = ()>,
    shutdown_timeout: Option<Duration>,
    mut serve: F,
) -> io::Result<()>
where
    R: Listen<L>,
    F: FnMut(R::Io, SocketAddr, Signals) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    // Dropping a sender fires its signal; each connection task holds an
    // `alive` sender, so they count the open connections (less this loop's
    // own) and `all_done` closes once they are all gone.
    let (shutdown, shutdown_rx) = async_channel::bounded::<()>(1);
    let (abort, abort_rx) = async_channel::bounded::<()>(1);
    let (alive, all_done) = async_channel::bounded::<()>(1);
    let mut signal = pin!(signal);
    loop {
        let (stream, addr) = match select(signal.as_mut(), pin!(R::accept(&listener))).await {
            Either::Left(_) => break,
            Either::Right((Ok(accepted), _)) => accepted,
            Either::Right((Err(e), _)) => {
                tracing::warn!("accept failed: {e}");
                // Out of descriptors and the like: give it a moment rather
                // than spinning.
                sleep_until::<R>(std::time::Instant::now() + Duration::from_millis(50)).await;
                continue;
            }
        };
        if alive.sender_count() > max_connections {
            tracing::debug!(%addr, "connection limit reached: closing the new connection");
            continue;
        }
        let signals = Signals {
            shutdown: Some(Box::pin(shutdown_rx.clone())),
            abort: Some(Box::pin(abort_rx.clone())),
            draining: false,
            watch: R::watch(&stream),
            polled_with: Default::default(),
        };
        let conn = serve(stream, addr, signals);
        let alive = alive.clone();
        R::spawn(Box::pin(async move {
            conn.await;
            drop(alive);
        }));
    }
    drop((listener, shutdown, alive));
    let wait = pin!(async { while all_done.recv().await.is_ok() {} });
    match shutdown_timeout {
        Some(limit) => {
            let timer = pin!(sleep_until::<R>(std::time::Instant::now() + limit));
            if let Either::Right(_) = select(wait, timer).await {
                tracing::warn!("shutdown timeout: closing the remaining connections");
            }
        }
        None => wait.await,
    }
    drop(abort);
    Ok(())
}

/// A JSON-RPC server on runtime `R` over TCP or any byte stream,
/// newline-framed (`sansrpc_tokio::Server` and `sansrpc_smol::Server` are
/// this type).
///
/// Limits come from [`Router::limits`]: the largest line, calls and
/// background notifications in flight per connection (reading pauses
/// beyond it), buffered answer bytes, connections at once (beyond it a new
/// connection is closed at once), and the idle timeout (a connection with
/// nothing in flight and nothing read for that long is closed, as is one
/// whose answers the peer does not read for that long).
///
/// Calls of one connection run concurrently as tasks on the runtime; each
/// answer is written as soon as it is ready. When the peer ends its input,
/// calls in flight still finish and their answers are written before the
/// connection closes. When a connection ends, its unfinished handlers are
/// dropped (cancelled).
#[must_use]
#[derive(Clone)]
pub struct Server<R, S = ()> {
    router: Arc<Router<S>>,
    read_buffer: usize,
    shutdown_timeout: Option<Duration>,
    peer: Option<ClientBuilder<R>>,
}

impl<R: Runtime, S> std::fmt::Debug for Server<R, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("read_buffer", &self.read_buffer)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime, S: Clone + Send + Sync + 'static> Server<R, S> {
    /// A server for `router` (a [`Router`] or an `Arc` of one).
    pub fn new(router: impl Into<Arc<Router<S>>>) -> Self {
        Self {
            router: router.into(),
            read_buffer: DEFAULT_READ_BUFFER,
            shutdown_timeout: None,
            peer: None,
        }
    }

    /// Bytes read from a socket at a time (at least 1). Default: 32 KiB.
    pub fn read_buffer(mut self, bytes: usize) -> Self {
        self.read_buffer = bytes.max(1);
        self
    }

    /// How long a graceful shutdown waits for calls in flight before it
    /// closes the remaining connections anyway. Default: no limit.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Peer mode: the server may also call its clients. Each connection
    /// runs the core's [`Peer`](sansrpc::conn::Peer), and handlers find a
    /// [`Client`](crate::Client) for calling the client back in the
    /// connection's state (`ConnectionState::get::<Client>()`) and, on
    /// accepted TCP connections, as a context extension
    /// ([`Extension<Client>`](sansrpc::Extension)). `callbacks` sets the
    /// timeout of those calls.
    pub fn peer_mode(mut self, callbacks: ClientBuilder<R>) -> Self {
        self.peer = Some(callbacks);
        self
    }

    /// The router served.
    pub fn router(&self) -> &Arc<Router<S>> {
        &self.router
    }

    /// Serves connections from `listener` until the task is dropped.
    pub async fn serve<L>(self, listener: L) -> io::Result<()>
    where
        R: Listen<L> + Wrap<<R as Listen<L>>::Io, Io: 'static>,
    {
        self.serve_with_shutdown(listener, std::future::pending()).await
    }

    /// Serves connections from `listener` until `signal` completes; then
    /// stops accepting, lets every call in flight finish and its answer be
    /// written, closes the connections, and returns.
    pub async fn serve_with_shutdown<L>(self, listener: L, signal: impl Future<Output = ()>) -> io::Result<()>
    where
        R: Listen<L> + Wrap<<R as Listen<L>>::Io, Io: 'static>,
    {
        let max = self.router.limits().max_connections;
        accept_loop::<R, _, _, _>(
            listener,
            max,
            signal,
            self.shutdown_timeout,
            |stream, addr, mut signals| {
                let server = self.clone();
                async move {
                    let context = Context::builder(Transport::Tcp).peer_addr(addr);
                    if let Err(e) = server.run(R::wrap(stream), context, &mut signals).await {
                        tracing::debug!(%addr, "connection failed: {e}");
                    }
                }
            },
        )
        .await
    }

    /// Serves one connection over any byte stream (a TCP stream, a Unix
    /// socket, stdio) until the peer has closed its input and every call
    /// was answered, or a deadline passes. Handlers see `context`.
    ///
    /// Returns the I/O error that broke the connection, if one did.
    pub async fn serve_connection<IO>(&self, io: IO, context: Context) -> io::Result<()>
    where
        R: Wrap<IO>,
    {
        let mut signals = Signals::default();
        self.run_built(R::wrap(io), context, &mut signals).await
    }

    /// Serves an accepted connection. The context is built before the
    /// connection's future starts, and a peer's future is boxed, so that
    /// the future of a plain server connection (held by each one while it
    /// is idle) carries neither.
    fn run<'a, IO>(
        &'a self,
        io: IO,
        context: ContextBuilder,
        signals: &'a mut Signals,
    ) -> impl Future<Output = io::Result<()>> + Send + 'a
    where
        IO: futures_io::AsyncRead + futures_io::AsyncWrite + Send + 'a,
    {
        match &self.peer {
            // The handle is an extension too, so it must exist before the
            // context is built: the same channel goes behind it.
            Some(builder) => {
                let (tx, commands) = async_channel::unbounded();
                let context = context.extension(builder.handle(tx.clone())).build();
                let peer = self.run_peer(io, context, builder, (tx, commands), signals);
                Either::Left(Box::pin(peer))
            }
            None => Either::Right(self.run_built(io, context.build(), signals)),
        }
    }

    async fn run_built<IO>(&self, io: IO, context: Context, signals: &mut Signals) -> io::Result<()>
    where
        IO: futures_io::AsyncRead + futures_io::AsyncWrite + Send,
    {
        if let Some(builder) = &self.peer {
            return Box::pin(self.run_peer(io, context, builder, async_channel::unbounded(), signals)).await;
        }
        let mut side = ServerSide::new(self.router.clone(), context, R::spawn);
        let mut transport = ByteStream::new(io, self.read_buffer);
        let end = drive::<R, _, _>(&mut transport, &mut side, None, signals).await;
        transport.close_after::<R>(end, false).await
    }

    async fn run_peer<IO>(
        &self,
        io: IO,
        context: Context,
        builder: &ClientBuilder<R>,
        (tx, commands): (Sender<Command>, Receiver<Command>),
        signals: &mut Signals,
    ) -> io::Result<()>
    where
        IO: futures_io::AsyncRead + futures_io::AsyncWrite + Send,
    {
        context.connection().insert(builder.handle(tx));
        let mut side = PeerSide::new(self.router.clone(), context, Newline::new, R::spawn);
        let mut transport = ByteStream::new(io, self.read_buffer);
        let end = drive::<R, _, _>(&mut transport, &mut side, Some(commands), signals).await;
        transport.close_after::<R>(end, false).await
    }
}
