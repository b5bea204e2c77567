//! Calling the page: a [`Client`] per socket, whose calls are Socket.IO
//! emits with an acknowledgement, the acknowledgement being the answer.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sansrpc::Outcome;
use sansrpc::conn::{ClientConnection, ClientEvent, Messages};
use sansrpc::{Error, Id, Limits, RawParams, UsageError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use socketioxide::SocketIo;
use socketioxide::socket::Sid;

use crate::message::{Arg, first_arg_bytes};

/// The default for [`SocketIoServer::call_timeout`](crate::SocketIoServer::call_timeout):
/// 30 seconds.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call to the page (or a notification) did not produce an answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The page answered with a JSON-RPC error.
    #[error("the remote answered with an error: {0}")]
    Rpc(Error),
    /// The socket is disconnected (or was never found).
    #[error("the socket is disconnected")]
    Closed,
    /// No acknowledgement arrived within the call's timeout.
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
    /// [`Limits::max_in_flight`] calls to this socket already await their
    /// acknowledgement; nothing was sent.
    #[error("too many calls in flight to this socket")]
    TooManyInFlight,
    /// The socket's outgoing buffer is full (the page does not read);
    /// nothing was sent.
    #[error("the socket's outgoing buffer is full")]
    Busy,
    /// The acknowledgement was not a JSON-RPC response to this call (the
    /// core's reason is given).
    #[error("the acknowledgement is not an answer to this call: {0}")]
    BadAnswer(String),
    /// The params could not be serialized, or the result could not be
    /// deserialized into the requested type.
    #[error("{0}")]
    Json(Error),
}

struct Inner {
    io: SocketIo,
    namespace: String,
    sid: Sid,
    event: Arc<str>,
    /// The core's client side: ids, request bytes, response validation and
    /// matching. Each call's answer arrives in its own acknowledgement.
    conn: Mutex<ClientConnection<Messages>>,
}

/// The page (or any Socket.IO client) at the other end of one socket: call
/// its methods and notify it. Handlers get it as
/// `Extension<sansrpc_socketio::Client>`; the `on_connect` hook is handed
/// one.
///
/// A call is an emit of the served event (`message` by default) whose
/// first argument is the JSON-RPC request object, with an acknowledgement:
/// the client answers by calling the acknowledgement with the JSON-RPC
/// response (an object, or the same as a JSON string). A notification is
/// the same emit without an acknowledgement. In socket.io-client:
///
/// ```js
/// socket.on("message", (request, ack) => {
///   if (request.id !== undefined) ack({ jsonrpc: "2.0", result: "hello", id: request.id });
/// });
/// ```
///
/// Cheap to clone; every clone talks to the same socket. The handle does
/// not keep the socket alive: once it is disconnected, calls fail with
/// [`ClientError::Closed`].
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    timeout: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("namespace", &self.inner.namespace)
            .field("sid", &self.inner.sid)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Cancels a call's id in the core when the call ends without its answer,
/// however it ends (the caller may drop the future).
struct PendingGuard<'a> {
    client: &'a Client,
    id: Option<Id>,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.client.lock().cancel(&id);
        }
    }
}

impl Client {
    pub(crate) fn new(
        io: SocketIo,
        namespace: String,
        sid: Sid,
        event: Arc<str>,
        limits: &Limits,
        timeout: Duration,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                io,
                namespace,
                sid,
                event,
                conn: Mutex::new(ClientConnection::new(
                    Messages::new(limits.max_message_bytes),
                    limits.clone(),
                )),
            }),
            timeout,
        }
    }

    fn lock(&self) -> MutexGuard<'_, ClientConnection<Messages>> {
        // A panic while holding the lock leaves the connection usable.
        self.inner.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This handle with another timeout for its calls.
    #[must_use]
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        Self {
            inner: self.inner.clone(),
            timeout,
        }
    }

    /// How long a call waits for its acknowledgement.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The socket's id (the `socket.id` the client sees).
    pub fn socket_id(&self) -> String {
        self.inner.sid.to_string()
    }

    /// The socket's namespace, such as `/`.
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// Whether the socket is still connected.
    pub fn is_connected(&self) -> bool {
        self.socket().is_some_and(|s| s.connected())
    }

    /// Disconnects the socket from its namespace (the client sees
    /// `io server disconnect`).
    pub fn disconnect(&self) {
        if let Some(s) = self.socket() {
            let _ = s.disconnect();
        }
    }

    fn socket(&self) -> Option<socketioxide::extract::SocketRef> {
        self.inner
            .io
            .of(&self.inner.namespace)?
            .get_socket(self.inner.sid)
    }

    /// Calls `method` on the page and deserializes its result.
    ///
    /// `params` is anything that serializes to an array or an object (or
    /// `()` for none).
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<T, ClientError> {
        let params = RawParams::serialize(&params).map_err(ClientError::Json)?;
        let result = self.call_raw(method, params).await?.map_err(ClientError::Rpc)?;
        serde_json::from_str(result.get()).map_err(|e| ClientError::Json(Error::from(e)))
    }

    /// Calls `method` with raw params; the outcome is the page's `result`
    /// or `error`, as sent.
    pub async fn call_raw(&self, method: &str, params: RawParams) -> Result<Outcome, ClientError> {
        let socket = self.socket().ok_or(ClientError::Closed)?;
        let (id, request) = {
            let mut conn = self.lock();
            let id = conn.call(method, params, None).map_err(usage)?;
            let request = conn.poll_transmit_message().unwrap_or_default();
            (id, request)
        };
        let mut guard = PendingGuard {
            client: self,
            id: Some(id.clone()),
        };
        let request = raw(request)?;
        let ack = socket
            .timeout(self.timeout)
            .emit_with_ack::<_, Box<RawValue>>(&*self.inner.event, &request)
            .map_err(send_error)?;
        let answer = match ack.await {
            Ok(v) => v,
            Err(socketioxide::AckError::Timeout) => return Err(ClientError::TimedOut(self.timeout)),
            Err(socketioxide::AckError::Socket(_)) => return Err(ClientError::Closed),
            Err(e) => return Err(ClientError::BadAnswer(e.to_string())),
        };
        let bytes = match first_arg_bytes(Some(&answer)) {
            Arg::Json(b) | Arg::Text(b) => b,
            Arg::Missing => Vec::new(),
        };
        let mut conn = self.lock();
        let _ = conn.handle_input(&bytes);
        let mut outcome = None;
        let mut why = None;
        while let Some(event) = conn.poll_event() {
            match event {
                ClientEvent::Response(r) if r.id == id => outcome = Some(r.outcome),
                ClientEvent::Unexpected(e) => why = Some(e.to_string()),
                other => why = Some(format!("{other:?}")),
            }
        }
        drop(conn);
        match outcome {
            Some(outcome) => {
                guard.id = None;
                Ok(outcome)
            }
            None => Err(ClientError::BadAnswer(
                why.unwrap_or_else(|| "no response for this call".to_owned()),
            )),
        }
    }

    /// Sends a notification: the event without an acknowledgement.
    pub async fn notify(&self, method: &str, params: impl Serialize) -> Result<(), ClientError> {
        let params = RawParams::serialize(&params).map_err(ClientError::Json)?;
        let socket = self.socket().ok_or(ClientError::Closed)?;
        let request = {
            let mut conn = self.lock();
            conn.notify(method, params).map_err(usage)?;
            conn.poll_transmit_message().unwrap_or_default()
        };
        socket
            .emit(&*self.inner.event, &raw(request)?)
            .map_err(send_error)
    }
}

fn raw(bytes: Vec<u8>) -> Result<Box<RawValue>, ClientError> {
    let text =
        String::from_utf8(bytes).map_err(|e| ClientError::Json(Error::internal_error().with_reason(e)))?;
    RawValue::from_string(text).map_err(|e| ClientError::Json(Error::from(e)))
}

fn usage(e: UsageError) -> ClientError {
    match e {
        UsageError::TooManyInFlight(_) => ClientError::TooManyInFlight,
        UsageError::Closed => ClientError::Closed,
        other => ClientError::Json(Error::internal_error().with_reason(other)),
    }
}

fn send_error(e: socketioxide::SendError) -> ClientError {
    match e {
        socketioxide::SendError::Socket(socketioxide::SocketError::InternalChannelFull) => ClientError::Busy,
        socketioxide::SendError::Socket(_) => ClientError::Closed,
        other => ClientError::Json(Error::internal_error().with_reason(other)),
    }
}
