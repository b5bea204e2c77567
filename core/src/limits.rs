//! The knobs that bound what a peer can make us hold.

use std::time::Duration;

use crate::version::Version;

/// Limits that defend a connection (and a server) against a hostile peer.
///
/// The same value configures every transport. The defaults are chosen so a
/// single connection can hold at most a few megabytes, whatever the peer
/// sends.
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
    /// Largest message (a line, an HTTP body, a Content-Length frame), in
    /// bytes. Default: 1 MiB.
    ///
    /// On overflow: a stream framer answers one `-32600 Invalid Request`
    /// (`id: null`, `data` naming the limit) and skips the message, so the
    /// connection survives; HTTP adapters answer `413`.
    pub max_message_bytes: usize,
    /// Most entries in one batch. Default: 1024.
    ///
    /// On overflow: one `-32600 Invalid Request` object for the whole batch,
    /// and no entry runs.
    pub max_batch_len: usize,
    /// Deepest JSON nesting (arrays and objects) in one message, the
    /// request object and a batch array included. Default: 100 (params
    /// nested 64 deep pass even inside a batch; serde_json's own recursion
    /// limit of 128 is never reached).
    ///
    /// On overflow: `-32600 Invalid Request` with `id: null` before any
    /// parsing, so deep input never recurses.
    pub max_depth: usize,
    /// Most calls awaiting an answer on one connection. Default: 128.
    ///
    /// On overflow: the connection stops yielding new calls (and stream
    /// adapters stop reading) until answers go out; nothing is dropped.
    pub max_in_flight: usize,
    /// Most answer bytes buffered for sending on one connection.
    /// Default: 4 MiB.
    ///
    /// On overflow: the connection stops yielding new calls until the
    /// transport drains the buffer, which pauses reading.
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
