//! The version setting: which JSON-RPC rules a router or connection
//! follows. The 1.0 rules themselves are in `message` (parsing) and `v1`
//! (writing); they ask [`Version`] which rules apply to a message.

use crate::error::ErrorCode;

/// Which JSON-RPC version a router or connection speaks.
///
/// Set it with [`Router::set_version`](crate::Router::set_version) (or the
/// [`Limits::version`](crate::Limits::version) field): every connection an
/// adapter builds from the router's limits, and
/// [`Router::handle_message`](crate::Router::handle_message), then follow it.
/// No adapter looks at versions.
///
/// - [`V2`](Self::V2), the default: JSON-RPC 2.0 only, exactly as without
///   this setting (a message without `"jsonrpc":"2.0"` is an invalid
///   request). It costs one comparison per message.
/// - [`V1`](Self::V1): JSON-RPC 1.0 only.
/// - [`Auto`](Self::Auto): per message. An object with a `jsonrpc` member is
///   read by the 2.0 rules (so `"jsonrpc":"2.0"` is 2.0, and any other value
///   is the 2.0 invalid request it always was); an object without one is
///   1.0; an array is a 2.0 batch (1.0 has none). A 2.0 message gets
///   exactly the answer it gets under `V2`.
///
/// # The 1.0 rules
///
/// From the JSON-RPC 1.0 text (2005):
///
/// - A request is `{"method": "...", "params": [...], "id": ...}`; a
///   notification is a request whose `id` is `null`. The id may be any JSON
///   value and is echoed byte for byte (objects, arrays and booleans too,
///   which 2.0 refuses).
/// - A response always has `result`, `error` and `id`, and one of `result`
///   and `error` is `null`: `{"result":"pong","error":null,"id":1}`.
/// - An error is any non-null value; sansrpc sends its usual
///   `{"code":..,"message":..[,"data":..]}` object.
/// - There are no batches.
///
/// A 1.0 request is answered in 1.0 form; invalid 1.0 input gets a
/// 1.0-shaped error response with its id where one could be read, and
/// otherwise the answer 2.0 gives (an error with `id: null`; in 1.0 form
/// under `V1`, in 2.0 form under `Auto`, where the version of input that
/// is not even a JSON object cannot be known).
///
/// # Choices the 1.0 text leaves open
///
/// - **Params**: 1.0 says an array. An object (named params) is accepted
///   too, under `V1` and `Auto`, and reaches the handler as named params; a
///   missing or `null` `params` is a call without params. Any other value
///   is `-32600 Invalid Request`, as in 2.0. Our own 1.0 requests always
///   carry an array (`[]` when there are none); object params given to a
///   1.0 client are sent as they are.
/// - **Missing id**: a 1.0 request without an `id` member is taken as a
///   notification, like `"id": null` (never answered).
/// - **`jsonrpc` under `V1`**: ignored like any other extra member, so
///   `V1` reads every object by the 1.0 rules. Use `Auto` to serve both.
/// - **Invalid input**: the 1.0 text says invalid requests close the
///   connection; sansrpc answers them as above and keeps the connection,
///   as it does for 2.0.
/// - **A response missing `error` or `result`**: read leniently, as
///   `null`. A response whose `result` and `error` are both non-null is an
///   invalid response.
/// - **Error values**: an error object with an integer `code` and a string
///   `message` reads as that [`Error`](crate::Error); any other non-null value reads as
///   code [`V1_ERROR_CODE`] (`-32000`), with the value itself as `data`
///   and, when it is a string, as the message.
/// - **Batches**: under `V1` an array is `-32600 Invalid Request` (one
///   error, `id: null`); a 1.0 client refuses to send one
///   ([`UsageError::BatchInV1`](crate::UsageError::BatchInV1)).
/// - **Our own requests under `Auto`**: a client or peer set to `Auto`
///   sends 2.0 requests and reads both kinds of response; set `V1` to call
///   a 1.0-only remote.
/// - **Class hinting** (`__jsonclass__`) is not interpreted: such objects
///   reach handlers as plain JSON.
///
/// ```
/// use sansrpc::{Context, Router, Version};
///
/// let mut router = Router::new();
/// router.method("echo", |sansrpc::Params((s,)): sansrpc::Params<(String,)>| s).unwrap();
/// router.set_version(Version::Auto);
/// let answer = |body: &str| {
///     futures_executor::block_on(router.handle_message(body.as_bytes(), Context::default()))
/// };
/// // The 1.0 text's example, answered in 1.0 form…
/// assert_eq!(
///     answer(r#"{"method":"echo","params":["Hello JSON-RPC"],"id":1}"#).unwrap(),
///     r#"{"result":"Hello JSON-RPC","error":null,"id":1}"#
/// );
/// // …and a 2.0 call in 2.0 form, on the same router.
/// assert_eq!(
///     answer(r#"{"jsonrpc":"2.0","method":"echo","params":["hi"],"id":2}"#).unwrap(),
///     r#"{"jsonrpc":"2.0","result":"hi","id":2}"#
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Version {
    /// JSON-RPC 2.0 only (the default).
    #[default]
    V2,
    /// JSON-RPC 1.0 only.
    V1,
    /// 2.0 for messages with a `jsonrpc` member and for arrays, 1.0 for
    /// objects without one; each message is answered in its own version.
    Auto,
}

/// The code a 1.0 error value that is not a `{code, message}` object is
/// read as: `-32000`, the first code of the 2.0 range for
/// implementation-defined server errors.
pub const V1_ERROR_CODE: ErrorCode = ErrorCode::SERVER_ERROR_MAX;

impl Version {
    /// Whether errors about input whose version cannot be known are
    /// written in 1.0 form.
    pub(crate) fn rejects_as_v1(self) -> bool {
        self == Self::V1
    }

    /// Whether our own requests are written in 1.0 form.
    pub(crate) fn sends_v1(self) -> bool {
        self == Self::V1
    }
}
