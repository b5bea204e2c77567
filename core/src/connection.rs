//! The verbs the three state machines share, so one I/O loop can drive any
//! of them.

use std::time::Instant;

use crate::client::ClientConnection;
use crate::error::UsageError;
use crate::framing::Framer;
use crate::peer::Peer;
use crate::server::ServerConnection;

/// What an adapter's I/O loop needs from a state machine:
/// [`ServerConnection`], [`ClientConnection`] and [`Peer`] all implement it
/// with their inherent methods of the same names.
///
/// ```
/// use sansrpc::{Connection, Limits, Newline, ServerConnection};
///
/// /// Feeds bytes to any connection and collects what it answers.
/// fn feed(conn: &mut impl Connection, bytes: &[u8], out: &mut Vec<u8>) {
///     if conn.wants_input() {
///         conn.handle_input(bytes).unwrap();
///     }
///     conn.poll_transmit(out);
/// }
///
/// let mut conn = ServerConnection::new(Newline::new(1024), Limits::default());
/// let mut out = Vec::new();
/// feed(&mut conn, b"[]\n", &mut out);
/// // Events are polled before answers exist: the empty batch is answered then.
/// assert!(conn.poll_event().is_none());
/// conn.poll_transmit(&mut out);
/// assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"Invalid Request\"},\"id\":null}\n");
/// ```
pub trait Connection {
    /// Feeds bytes read from the transport.
    fn handle_input(&mut self, bytes: &[u8]) -> Result<(), UsageError>;
    /// Tells the connection the peer will send nothing more.
    fn handle_eof(&mut self);
    /// Appends every finished outgoing frame to `buf`.
    fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<usize>;
    /// The next finished outgoing frame on its own.
    fn poll_transmit_message(&mut self) -> Option<Vec<u8>>;
    /// Whether the transport should read more input now.
    fn wants_input(&self) -> bool;
    /// Whether nothing is in flight, buffered or pending.
    fn is_idle(&self) -> bool;
    /// Whether the connection is done and the transport may close.
    fn is_finished(&mut self) -> bool;
    /// The remote's calls still awaiting our answer (what a graceful close
    /// waits for); `0` for a client.
    fn serving(&self) -> usize;
    /// When to call [`handle_timeout`](Self::handle_timeout) next; `None`
    /// for a server, which keeps no deadlines.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Fails the calls whose deadline is at or before `now`.
    fn handle_timeout(&mut self, now: Instant);
}

macro_rules! common {
    () => {
        fn handle_input(&mut self, bytes: &[u8]) -> Result<(), UsageError> {
            Self::handle_input(self, bytes)
        }
        fn handle_eof(&mut self) {
            Self::handle_eof(self)
        }
        fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
            Self::poll_transmit(self, buf)
        }
        fn poll_transmit_message(&mut self) -> Option<Vec<u8>> {
            Self::poll_transmit_message(self)
        }
        fn wants_input(&self) -> bool {
            Self::wants_input(self)
        }
        fn is_idle(&self) -> bool {
            Self::is_idle(self)
        }
        fn is_finished(&mut self) -> bool {
            Self::is_finished(self)
        }
    };
}

impl<F: Framer> Connection for ServerConnection<F> {
    common!();
    fn serving(&self) -> usize {
        self.in_flight()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
    fn handle_timeout(&mut self, _now: Instant) {}
}

impl<F: Framer> Connection for ClientConnection<F> {
    common!();
    fn serving(&self) -> usize {
        0
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Self::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Self::handle_timeout(self, now)
    }
}

impl<F: Framer> Connection for Peer<F> {
    common!();
    fn serving(&self) -> usize {
        self.in_flight()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Self::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: Instant) {
        Self::handle_timeout(self, now)
    }
}
