//! The serving side: [`Server`] and the `serve*` functions.

use futures_util::FutureExt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use sansrpc::{
    ConnectionState, Context, Dispatch, Id, Newline, Outcome, RawParams, Router, ServerConnection, Ticket,
    Transport,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

use crate::client::{ClientBuilder, PeerSide};
use crate::driver::{Msg, Options, Side, accept_loop, drive};

/// The default for [`Server::read_buffer`]: 32 KiB.
pub const DEFAULT_READ_BUFFER: usize = 32 * 1024;

/// Runs a connection's calls on the runtime and sends their answers back to
/// the connection task.
pub(crate) struct Dispatcher<S> {
    router: Arc<Router<S>>,
    context: Context,
    tx: mpsc::UnboundedSender<Msg>,
    tasks: TaskTracker,
}

impl<S: Clone + Send + Sync + 'static> Dispatcher<S> {
    pub(crate) fn new(
        router: Arc<Router<S>>,
        context: Context,
        tx: mpsc::UnboundedSender<Msg>,
        tasks: TaskTracker,
    ) -> Self {
        Self {
            router,
            context,
            tx,
            tasks,
        }
    }

    /// Runs a dispatched call or notification. A call whose future is
    /// ready at once (every plain `fn` handler) is answered inline and
    /// returned, saving a task and a channel hop; the rest run as tasks
    /// and answer over the channel.
    pub(crate) fn run(&self, dispatch: Dispatch) -> Option<(Ticket, Outcome)> {
        match dispatch {
            Dispatch::Call(ticket, mut fut) => {
                if let Some(outcome) = (&mut fut).now_or_never() {
                    return Some((ticket, outcome));
                }
                let tx = self.tx.clone();
                self.tasks.spawn(async move {
                    let outcome = fut.await;
                    // The connection may be gone (aborted); then no one
                    // wants the answer.
                    let _ = tx.send(Msg::Answer(ticket, outcome));
                });
            }
            Dispatch::Notification(mut fut) => {
                if (&mut fut).now_or_never().is_none() {
                    self.tasks.spawn(fut);
                }
            }
        }
        None
    }

    pub(crate) fn call(
        &self,
        ticket: Ticket,
        method: String,
        id: Id,
        params: RawParams,
    ) -> Option<(Ticket, Outcome)> {
        let fut = self.router.call(method, Some(id), params, self.context.clone());
        self.run(Dispatch::Call(ticket, fut))
    }

    pub(crate) fn notification(&self, method: String, params: RawParams) {
        let fut = self.router.call(method, None, params, self.context.clone());
        let _ = self.run(Dispatch::Notification(Box::pin(async move {
            let _ = fut.await;
        })));
    }
}

struct ServerSide<S> {
    conn: ServerConnection,
    dispatcher: Dispatcher<S>,
}

impl<S: Clone + Send + Sync + 'static> Side for ServerSide<S> {
    type M = ServerConnection;
    fn machine(&mut self) -> &mut ServerConnection {
        &mut self.conn
    }
    fn step(&mut self) -> bool {
        let mut took = false;
        while let Some(event) = self.conn.poll_event() {
            took = true;
            let dispatch = self.dispatcher.router.dispatch(event, &self.dispatcher.context);
            if let Some((ticket, outcome)) = self.dispatcher.run(dispatch) {
                if let Err(e) = self.conn.respond(ticket, outcome) {
                    tracing::error!("answering a call: {e}");
                }
            }
        }
        took
    }
    fn on_msg(&mut self, msg: Msg) -> bool {
        if let Msg::Answer(ticket, outcome) = msg {
            if let Err(e) = self.conn.respond(ticket, outcome) {
                tracing::error!("answering a call: {e}");
            }
        }
        false
    }
}

/// A JSON-RPC server over TCP or any byte stream, newline-framed.
///
/// Limits come from [`Router::limits`]: the largest line, calls in flight
/// per connection (reading pauses beyond it), buffered answer bytes,
/// connections at once (beyond it a new connection is closed at once), and
/// the idle timeout (a connection with nothing in flight and nothing read
/// for that long is closed).
///
/// Calls of one connection run concurrently as tasks on the runtime; each
/// answer is written as soon as it is ready. When the peer ends its
/// input, calls in flight still finish and their answers are written
/// before the connection closes.
///
/// ```no_run
/// use sansrpc::Router;
/// use sansrpc_tokio::Server;
/// use std::time::Duration;
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     let mut router = Router::new();
///     router.method("ping", || "pong").unwrap();
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
///     Server::new(router)
///         .shutdown_timeout(Duration::from_secs(10))
///         .serve_with_shutdown(listener, async {
///             let _ = tokio::signal::ctrl_c().await;
///         })
///         .await
/// }
/// ```
#[derive(Debug)]
#[must_use]
pub struct Server<S = ()> {
    router: Arc<Router<S>>,
    read_buffer: usize,
    shutdown_timeout: Option<Duration>,
    peer: Option<ClientBuilder>,
}

impl<S> Clone for Server<S> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
            read_buffer: self.read_buffer,
            shutdown_timeout: self.shutdown_timeout,
            peer: self.peer.clone(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Server<S> {
    /// A server for `router` (a [`Router`] or an `Arc` of one).
    pub fn new(router: impl Into<Arc<Router<S>>>) -> Self {
        Self {
            router: router.into(),
            read_buffer: DEFAULT_READ_BUFFER,
            shutdown_timeout: None,
            peer: None,
        }
    }

    /// Bytes read from a socket at a time (at least 1). Default:
    /// [`DEFAULT_READ_BUFFER`].
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
    /// runs the core's [`Peer`](sansrpc::Peer), and handlers find a
    /// [`Client`](crate::Client) for calling the client back in the
    /// connection's state (`ConnectionState::get::<Client>()`) and, on
    /// accepted TCP connections, as a context extension
    /// ([`Extension<Client>`](sansrpc::Extension)). `callbacks` sets the
    /// timeout of those calls.
    pub fn peer_mode(mut self, callbacks: ClientBuilder) -> Self {
        self.peer = Some(callbacks);
        self
    }

    /// The router served.
    pub fn router(&self) -> &Arc<Router<S>> {
        &self.router
    }

    /// Serves connections from `listener` until the task is dropped.
    pub async fn serve(self, listener: TcpListener) -> io::Result<()> {
        self.serve_with_shutdown(listener, std::future::pending()).await
    }

    /// Serves connections from `listener` until `signal` completes; then
    /// stops accepting, lets every call in flight finish and its answer be
    /// written, closes the connections, and returns.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let opts = Options::new(self.read_buffer, self.router.limits().idle_timeout);
        let (shutdown, abort) = (opts.shutdown.clone(), opts.abort.clone());
        accept_loop(
            listener,
            self.router.limits().max_connections,
            signal,
            &shutdown,
            &abort,
            self.shutdown_timeout,
            |stream, addr, conn_tasks| {
                let server = self.clone();
                let opts = opts.clone();
                async move {
                    let context = Context::builder(Transport::Tcp).peer_addr(addr);
                    if let Err(e) = server.run(stream, context, &opts, conn_tasks).await {
                        tracing::debug!(%addr, "connection failed: {e}");
                    }
                }
            },
        )
        .await
    }

    /// Serves one connection over any byte stream (a TCP stream, a Unix
    /// socket, stdio) until the peer has closed its input and every call
    /// was answered, or the idle timeout passes. Handlers see `context`.
    ///
    /// Returns the I/O error that broke the connection, if one did.
    pub async fn serve_connection<IO>(&self, io: IO, context: Context) -> io::Result<()>
    where
        IO: AsyncRead + AsyncWrite + Send,
    {
        let opts = Options::new(self.read_buffer, self.router.limits().idle_timeout);
        self.run_with(io, context, &opts, TaskTracker::new()).await
    }

    async fn run<IO>(
        &self,
        io: IO,
        context: sansrpc::ContextBuilder,
        opts: &Options,
        tasks: TaskTracker,
    ) -> io::Result<()>
    where
        IO: AsyncRead + AsyncWrite + Send,
    {
        let state = ConnectionState::default();
        let context = match &self.peer {
            Some(builder) => {
                // The handle must exist before the context is built, to be
                // an extension; `run_with` puts the same sender behind it.
                let (tx, rx) = mpsc::unbounded_channel();
                let client = builder.handle(tx.clone());
                let context = context.connection(state).extension(client).build();
                return self.run_peer(io, context, opts, tasks, builder, (tx, rx)).await;
            }
            None => context.connection(state).build(),
        };
        self.run_with(io, context, opts, tasks).await
    }

    async fn run_with<IO>(
        &self,
        io: IO,
        context: Context,
        opts: &Options,
        tasks: TaskTracker,
    ) -> io::Result<()>
    where
        IO: AsyncRead + AsyncWrite + Send,
    {
        match &self.peer {
            Some(builder) => {
                let channel = mpsc::unbounded_channel();
                self.run_peer(io, context, opts, tasks, builder, channel).await
            }
            None => {
                let (tx, mut rx) = mpsc::unbounded_channel();
                let limits = self.router.limits().clone();
                let mut side = ServerSide {
                    conn: ServerConnection::new(Newline::new(limits.max_message_bytes), limits),
                    dispatcher: Dispatcher::new(self.router.clone(), context, tx, tasks),
                };
                drive(io, &mut side, &mut rx, opts).await
            }
        }
    }

    async fn run_peer<IO>(
        &self,
        io: IO,
        context: Context,
        opts: &Options,
        tasks: TaskTracker,
        builder: &ClientBuilder,
        (tx, mut rx): (mpsc::UnboundedSender<Msg>, mpsc::UnboundedReceiver<Msg>),
    ) -> io::Result<()>
    where
        IO: AsyncRead + AsyncWrite + Send,
    {
        context.connection().insert(builder.handle(tx.clone()));
        let limits = self.router.limits().clone();
        let mut side = PeerSide::new(limits, Dispatcher::new(self.router.clone(), context, tx, tasks));
        drive(io, &mut side, &mut rx, opts).await
    }
}

/// Serves `router` on `listener` (newline-delimited JSON over TCP) until the
/// task is dropped. See [`Server`] for options.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// sansrpc_tokio::serve(listener, sansrpc::Router::new()).await
/// # }
/// ```
pub async fn serve<S: Clone + Send + Sync + 'static>(
    listener: TcpListener,
    router: impl Into<Arc<Router<S>>>,
) -> io::Result<()> {
    Server::new(router).serve(listener).await
}

/// Serves `router` on `listener` until `signal` completes, then shuts down
/// gracefully: no new connections, calls in flight finish and are
/// answered, then it returns.
pub async fn serve_with_shutdown<S: Clone + Send + Sync + 'static>(
    listener: TcpListener,
    router: impl Into<Arc<Router<S>>>,
    signal: impl Future<Output = ()>,
) -> io::Result<()> {
    Server::new(router).serve_with_shutdown(listener, signal).await
}

/// Serves `router` on one connection over any byte stream (a Unix socket,
/// stdio, an accepted TCP stream); handlers see `context`. Returns when the
/// peer closed its input and every call was answered.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use sansrpc::{Context, Transport};
/// // JSON-RPC on this process's stdin and stdout.
/// let stdio = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
/// let router = sansrpc::Router::new();
/// sansrpc_tokio::serve_connection(stdio, router, Context::builder(Transport::Stream).build()).await
/// # }
/// ```
pub async fn serve_connection<S, IO>(
    io: IO,
    router: impl Into<Arc<Router<S>>>,
    context: Context,
) -> io::Result<()>
where
    S: Clone + Send + Sync + 'static,
    IO: AsyncRead + AsyncWrite + Send,
{
    Server::new(router).serve_connection(io, context).await
}
