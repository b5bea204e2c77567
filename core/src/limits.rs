//! The knobs that bound what a peer can make us hold.

use std::time::Duration;

use crate::version::Version;

/// Limits that defend a connection (and a server) against a hostile peer.
///
/// The same value configures every transport. Whatever the peer sends,
/// what one stream or WebSocket connection holds for it is bounded by
/// three of them: the input being read (the message in progress, at most
/// `max_message_bytes`, plus one read buffer), the requests handed to
/// handlers and not finished (under `max_in_flight_bytes +
/// max_message_bytes`, and at most `max_in_flight` of them), and the output
/// (reading pauses at `max_buffered_out`; the answers of work already
/// running still join it). At the defaults that is at most about 10 MiB
/// per connection (1 + 5 + 4 MiB; a [`crate::conn::Peer`] may also hold
/// up to 5 MiB of the remote's requests parsed ahead), plus the answers of
/// the work already running and what the handlers allocate themselves:
/// 128 calls of 1 MiB each to slow handlers run 5 at a time, the rest wait
/// unread (in `tests/tests/hostile.rs` the tokio and smol servers grow by
/// 10 to 14 MB under that attack; without `max_in_flight_bytes` all 128
/// ran and the process grew by 137 MB). An HTTP request
/// carries one message, bounded by `max_message_bytes`; the HTTP
/// framework bounds how many run at once.
///
/// ```
/// use sansrpc::Limits;
///
/// let limits = Limits {
///     max_message_bytes: 64 * 1024,
///     ..Limits::default()
/// };
/// assert_eq!(limits.max_batch_len, 1024);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (a line, an HTTP body, a Content-Length frame, a
    /// WebSocket text message), in bytes. Default: 1 MiB.
    ///
    /// On overflow: a stream framer answers one `-32600 Invalid Request`
    /// (`id: null`, `data` naming the limit) and skips the message, so the
    /// connection survives; HTTP adapters answer `413`; a WebSocket message
    /// is answered `-32600` too, unless it is over the limit by more than
    /// 64 KiB: the WebSocket library then refuses it and closes with
    /// `1009`.
    pub max_message_bytes: usize,
    /// Most entries in one batch. Default: 1024.
    ///
    /// On overflow: one `-32600 Invalid Request` object for the whole batch
    /// (its `data` giving the count), and no entry runs; the entries past
    /// the limit are only counted while the batch is read, never kept.
    pub max_batch_len: usize,
    /// Deepest JSON nesting (arrays and objects) in one message, the
    /// request object and a batch array included. Default: 100 (params
    /// nested 64 deep pass even inside a batch; serde_json's own recursion
    /// limit of 128 is never reached).
    ///
    /// On overflow: `-32600 Invalid Request` with `id: null` before any
    /// parsing, so deep input never recurses.
    pub max_depth: usize,
    /// Most calls awaiting an answer on one connection, notifications whose
    /// handlers are still running included (each entry of a batch counts
    /// on its own). Default: 128.
    ///
    /// On overflow: a server or peer connection stops yielding new work
    /// (and stream and WebSocket adapters stop reading) until answers go
    /// out or handlers finish; nothing is dropped. A client's own call
    /// beyond it fails with [`UsageError::TooManyInFlight`](crate::UsageError::TooManyInFlight)
    /// (calls whose callers gave up no longer count).
    pub max_in_flight: usize,
    /// Most bytes of requests handed to handlers and not yet finished on
    /// one connection: each call or notification counts the length of the
    /// message it came from (which it keeps alive; every entry of a batch
    /// counts the whole batch), a call until it is answered, a
    /// notification until its handler is done. Default: 4 MiB.
    ///
    /// On overflow: as for `max_in_flight`, a server or peer connection
    /// stops yielding new work (and reading pauses) until answers go out
    /// or handlers finish; nothing is dropped. One request is always let
    /// through when nothing is held, so any message up to
    /// `max_message_bytes` still runs: the bytes held stay under
    /// `max_in_flight_bytes + max_message_bytes`. A peer also holds, at
    /// most, as many bytes again of the remote's requests parsed ahead.
    pub max_in_flight_bytes: usize,
    /// Most outgoing bytes (answers, and a client's calls and
    /// notifications) buffered for sending on one connection, counting
    /// what the transport took and has not written. Default: 4 MiB.
    ///
    /// On overflow: a server or peer connection stops yielding new work
    /// until the transport drains the buffer, which pauses reading; a
    /// client's `call` and `notify` wait for room (the core's
    /// `ClientConnection` refuses them with
    /// [`UsageError::OutputFull`](crate::UsageError::OutputFull)). The
    /// answers of work already running are still queued, so the buffer
    /// can pass the limit by those. A WebSocket pong the socket has not
    /// taken pauses reading the same way.
    pub max_buffered_out: usize,
    /// Most open connections per server. Default: 1024.
    ///
    /// On overflow: the servers that own their listener (`sansrpc-io`'s
    /// `Server` and `WsServer`, as `sansrpc-tokio` and `sansrpc-smol`
    /// export them) close new connections at once. The HTTP adapters
    /// (`sansrpc-actix`, `sansrpc-warp`, and their WebSocket endpoints)
    /// are mounted in a server the application builds, so this field does
    /// not reach them: the cap is the framework's, set by the user. With
    /// actix-web, `HttpServer::max_connections(max_connections / workers)`
    /// (a per-worker cap: at it a worker stops accepting, and new
    /// connections wait in the listen backlog rather than being closed).
    /// warp 0.4's `serve` has no cap and accepts only a plain listener, so
    /// a warp application caps connections in front of it (a reverse proxy,
    /// a firewall rule). Each adapter's crate docs show how.
    pub max_connections: usize,
    /// Longest a connection may stay idle before the server closes it.
    /// Idle means nothing in flight and nothing to send, and no *complete*
    /// message read: bytes that never finish a message (a slow-drip peer)
    /// do not count as activity. HTTP adapters apply it to reading a body
    /// and answer `408` when it runs out. Default: 5 minutes. `None`
    /// disables it.
    ///
    /// It is also the write-progress deadline, on servers, peers and
    /// clients alike: output waiting that the transport has not taken a
    /// byte of for this long (a peer that sends and never reads) closes
    /// the connection, busy or not.
    pub idle_timeout: Option<Duration>,
    /// Which JSON-RPC version is spoken. Default: [`Version::V2`].
    ///
    /// Not a limit, but a setting every connection needs and adapters
    /// never look at, so it travels with the limits from the router to
    /// each connection; [`Router::set_version`](crate::Router::set_version)
    /// sets it. See [`Version`] for the rules of each mode.
    pub version: Version,
    /// Most notification handlers one HTTP endpoint runs in the background,
    /// after it answered `204` without waiting for them. Default: 1024.
    ///
    /// On overflow: a notification that finds every slot taken runs inside
    /// its own request, and that request is answered when the notification
    /// is done (the caller waits, as a stream peer's reading pauses);
    /// nothing is dropped.
    pub max_background_notifications: usize,
}

impl Limits {
    /// The defaults, usable in `const` context.
    pub const DEFAULT: Self = Self {
        max_message_bytes: 1024 * 1024,
        max_batch_len: 1024,
        max_depth: 100,
        max_in_flight: 128,
        max_in_flight_bytes: 4 * 1024 * 1024,
        max_buffered_out: 4 * 1024 * 1024,
        max_connections: 1024,
        idle_timeout: Some(Duration::from_secs(300)),
        version: Version::V2,
        max_background_notifications: 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
