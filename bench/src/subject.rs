//! The subject: sansrpc's router, bytes in → response bytes out.

use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

use bytes::Bytes;
use sansrpc::{Context, Limits, Router};

/// Largest message the benchmark routers accept: the 1 MiB-params case
/// plus its envelope does not fit the 1 MiB default.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// `sansrpc::reference::router()` with room for the large case.
pub fn router() -> Router {
    let mut r = sansrpc::reference::router();
    r.set_limits(Limits {
        max_message_bytes: MAX_MESSAGE_BYTES,
        ..Limits::default()
    });
    r
}

/// Polls `fut` with a no-op waker until it is ready: the cheapest possible
/// executor, for futures that never wait on I/O.
pub fn poll_ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// Answers one request body the way an HTTP adapter does: a fresh
/// [`Context`] per request, then `Router::handle_message`.
pub fn handle(router: &Router, request: &[u8]) -> Option<Bytes> {
    poll_ready(router.handle_message(request, Context::default()))
}

/// The same answer as [`handle`], without `handle_message`'s batch
/// machinery: a `ServerConnection` over a `Body` framer, each call's future
/// polled inline, a shared [`Context`]. Used by the breakdown benchmark to
/// show what `handle_message` itself costs.
pub fn handle_inline(router: &Router, request: &[u8], context: &Context) -> Vec<u8> {
    let limits = router.limits().clone();
    let mut conn =
        sansrpc::conn::ServerConnection::new(sansrpc::conn::Body::new(limits.max_message_bytes), limits);
    let mut out = Vec::new();
    if conn.handle_input(request).is_err() {
        return out;
    }
    conn.handle_eof();
    while let Some(event) = conn.poll_event() {
        match router.dispatch(event, context) {
            sansrpc::conn::Dispatch::Call(ticket, call) => {
                let _ = conn.respond(ticket, poll_ready(call));
            }
            sansrpc::conn::Dispatch::Notification(run) => poll_ready(run),
        }
    }
    conn.poll_transmit(&mut out);
    out
}

/// One long-lived server connection over newline framing, as the TCP
/// adapters drive it: bytes in, each event run with
/// [`Router::dispatch_on`] (a plain `fn` handler answered at once, straight
/// into the connection), the answer bytes out into a buffer the caller
/// reuses.
pub struct Stream {
    conn: sansrpc::conn::ServerConnection<sansrpc::conn::Newline>,
    context: Context,
}

impl Stream {
    /// A connection with `router`'s limits and a TCP [`Context`].
    pub fn new(router: &Router) -> Self {
        let limits = router.limits().clone();
        Self {
            conn: sansrpc::conn::ServerConnection::new(
                sansrpc::conn::Newline::new(limits.max_message_bytes),
                limits,
            ),
            context: Context::builder(sansrpc::Transport::Tcp).build(),
        }
    }

    /// Feeds one line (`request` and its `\n`) and writes what is answered
    /// into `out` (cleared first).
    pub fn handle(&mut self, router: &Router, request: &[u8], out: &mut Vec<u8>) {
        out.clear();
        if self.conn.handle_input(request).is_err() || self.conn.handle_input(b"\n").is_err() {
            return;
        }
        self.run_events(router);
        self.conn.poll_transmit(out);
        self.conn.handle_transmitted(out.len());
    }

    /// Feeds `lines` (several requests, each ending in `\n`) in one piece,
    /// as the driver (`sansrpc-io`) hands the connection what one read of
    /// a pipelining client brought, runs every event, then writes every
    /// answer into `out` (cleared first) at once, as the driver's
    /// `poll_write` takes them.
    pub fn handle_read(&mut self, router: &Router, lines: &[u8], out: &mut Vec<u8>) {
        out.clear();
        if self.conn.handle_input(lines).is_err() {
            return;
        }
        self.run_events(router);
        while self.conn.poll_refusal().is_some() {}
        self.conn.poll_transmit(out);
        self.conn.handle_transmitted(out.len());
    }

    /// Runs every event the connection has, each with
    /// [`Router::dispatch_on`]; an answer that is not ready at once is
    /// polled to its end here.
    fn run_events(&mut self, router: &Router) {
        while let Some(event) = self.conn.poll_event() {
            match router.dispatch_on(&mut self.conn, event, &self.context) {
                Ok(None) | Err(_) => {}
                Ok(Some(sansrpc::conn::Dispatch::Call(ticket, call))) => {
                    let _ = self.conn.respond(ticket, poll_ready(call));
                }
                Ok(Some(sansrpc::conn::Dispatch::Notification(run))) => poll_ready(run),
            }
        }
    }
}
