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
/// use sansrpc::Limits;
/// use sansrpc::conn::{Connection, Newline, ServerConnection};
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
/// assert_eq!(
///     out,
///     br#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"empty batch"},"id":null}"#.iter().chain(b"\n").copied().collect::<Vec<u8>>()
/// );
/// ```
pub trait Connection {
    /// Feeds bytes read from the transport.
    fn handle_input(&mut self, bytes: &[u8]) -> Result<(), UsageError>;
    /// Tells the connection the peer will send nothing more.
    fn handle_eof(&mut self);
    /// Stops input now (graceful shutdown, or a local close): what was
    /// handed out may still finish and be transmitted, then
    /// [`is_finished`](Self::is_finished) turns true.
    fn close_input(&mut self);
    /// Appends every finished outgoing frame to `buf`.
    fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<usize>;
    /// The next finished outgoing frame on its own.
    fn poll_transmit_message(&mut self) -> Option<Vec<u8>>;
    /// Reports that the transport wrote `bytes` of what it was handed: the
    /// bytes it still holds then count against the output bound, the
    /// write-progress deadline and [`is_finished`](Self::is_finished).
    fn handle_transmitted(&mut self, bytes: usize);
    /// Whether the transport should read more input now.
    fn wants_input(&self) -> bool;
    /// Whether nothing is in flight, buffered or pending.
    fn is_idle(&self) -> bool;
    /// Whether the connection is done and the transport may close: the
    /// only exit test a driver needs.
    fn is_finished(&mut self) -> bool;
    /// The remote's work still owed (calls awaiting our answer and
    /// notifications running); `0` for a client.
    fn serving(&self) -> usize;
    /// Unanswered calls on the connection, both ways.
    fn in_flight(&self) -> usize;
    /// When to call [`handle_timeout`](Self::handle_timeout) next: the
    /// earliest of the calls' deadlines, the idle deadline and the
    /// write-progress deadline.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Passes the time in: fails calls whose deadline passed, and closes
    /// the connection when one of its own deadlines passed.
    fn handle_timeout(&mut self, now: Instant);
    /// Whether a deadline closed the connection.
    fn is_timed_out(&self) -> bool;
    /// Tells the connection the remote showed it is alive without sending
    /// a message (a WebSocket pong, any control frame): activity for the
    /// idle deadline.
    fn handle_keepalive(&mut self);
}

macro_rules! common {
    ($($t:ty),*) => {$(
        impl<F: Framer> Connection for $t {
            fn handle_input(&mut self, bytes: &[u8]) -> Result<(), UsageError> {
                Self::handle_input(self, bytes)
            }
            fn handle_eof(&mut self) {
                Self::handle_eof(self)
            }
            fn close_input(&mut self) {
                Self::close_input(self)
            }
            fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
                Self::poll_transmit(self, buf)
            }
            fn poll_transmit_message(&mut self) -> Option<Vec<u8>> {
                Self::poll_transmit_message(self)
            }
            fn handle_transmitted(&mut self, bytes: usize) {
                Self::handle_transmitted(self, bytes)
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
            fn serving(&self) -> usize {
                Self::serving(self)
            }
            fn in_flight(&self) -> usize {
                Self::in_flight(self)
            }
            fn poll_timeout(&self) -> Option<Instant> {
                Self::poll_timeout(self)
            }
            fn handle_timeout(&mut self, now: Instant) {
                Self::handle_timeout(self, now)
            }
            fn is_timed_out(&self) -> bool {
                Self::is_timed_out(self)
            }
            fn handle_keepalive(&mut self) {
                Self::handle_keepalive(self)
            }
        }
    )*};
}

common!(ServerConnection<F>, ClientConnection<F>, Peer<F>);
