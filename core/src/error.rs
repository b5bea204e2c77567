//! Error codes, the JSON-RPC error object, and the two kinds of failure.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

/// A JSON-RPC error code.
///
/// An open newtype rather than a closed enum: applications may use any
/// integer outside the reserved range, and the reserved codes are
/// associated constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(pub i64);

impl ErrorCode {
    /// `-32700`: invalid JSON was received.
    pub const PARSE_ERROR: Self = Self(-32700);
    /// `-32600`: the JSON sent is not a valid request object.
    pub const INVALID_REQUEST: Self = Self(-32600);
    /// `-32601`: the method does not exist or is not available.
    pub const METHOD_NOT_FOUND: Self = Self(-32601);
    /// `-32602`: invalid method parameters.
    pub const INVALID_PARAMS: Self = Self(-32602);
    /// `-32603`: internal JSON-RPC error.
    pub const INTERNAL_ERROR: Self = Self(-32603);
    /// The lowest code of the implementation-defined server-error range.
    pub const SERVER_ERROR_MIN: Self = Self(-32099);
    /// The highest code of the implementation-defined server-error range.
    pub const SERVER_ERROR_MAX: Self = Self(-32000);

    /// The integer value of this code.
    pub const fn code(self) -> i64 {
        self.0
    }

    /// Whether the code lies in the range the specification reserves
    /// (`-32768..=-32000`).
    pub const fn is_reserved(self) -> bool {
        self.0 >= -32768 && self.0 <= -32000
    }

    /// Whether the code is in the implementation-defined server-error range
    /// (`-32099..=-32000`).
    pub const fn is_server_error(self) -> bool {
        self.0 >= Self::SERVER_ERROR_MIN.0 && self.0 <= Self::SERVER_ERROR_MAX.0
    }

    /// The message the specification gives for this code, if it names one.
    pub const fn default_message(self) -> &'static str {
        match self.0 {
            -32700 => "Parse error",
            -32600 => "Invalid Request",
            -32601 => "Method not found",
            -32602 => "Invalid params",
            -32603 => "Internal error",
            -32099..=-32000 => "Server error",
            _ => "Error",
        }
    }
}

impl From<i64> for ErrorCode {
    fn from(code: i64) -> Self {
        Self(code)
    }
}

impl From<ErrorCode> for i64 {
    fn from(code: ErrorCode) -> Self {
        code.0
    }
}

impl PartialEq<i64> for ErrorCode {
    fn eq(&self, other: &i64) -> bool {
        self.0 == *other
    }
}

impl PartialEq<ErrorCode> for i64 {
    fn eq(&self, other: &ErrorCode) -> bool {
        *self == other.0
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A JSON-RPC error object: what a handler returns when a call fails, and
/// what the server sends in the `error` member of a response.
///
/// ```
/// use sansrpc::{Error, ErrorCode};
///
/// let e = Error::new(4001, "insufficient funds").with_data(&serde_json::json!({"balance": 3}));
/// assert_eq!(e.to_json(), r#"{"code":4001,"message":"insufficient funds","data":{"balance":3}}"#);
/// assert_eq!(e.raw_code(), 4001);
/// assert_eq!(e.code(), 4001);
/// assert_eq!(e.code(), ErrorCode(4001));
/// ```
#[derive(Clone, Debug)]
pub struct Error {
    code: ErrorCode,
    message: Cow<'static, str>,
    data: Option<Box<RawValue>>,
}

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.message == other.message
            && self.data.as_ref().map(|d| d.get()) == other.data.as_ref().map(|d| d.get())
    }
}

impl Eq for Error {}

impl Error {
    /// An error with this code and message, and no `data`.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            data: None,
        }
    }

    /// An error with the specification's message for `code`.
    pub fn from_code(code: ErrorCode) -> Self {
        Self::new(code, code.default_message())
    }

    /// `-32700 Parse error`.
    pub fn parse_error() -> Self {
        Self::from_code(ErrorCode::PARSE_ERROR)
    }

    /// `-32600 Invalid Request`.
    pub fn invalid_request() -> Self {
        Self::from_code(ErrorCode::INVALID_REQUEST)
    }

    /// `-32601 Method not found`.
    pub fn method_not_found() -> Self {
        Self::from_code(ErrorCode::METHOD_NOT_FOUND)
    }

    /// `-32602 Invalid params`, with `data` saying why.
    pub fn invalid_params(why: impl fmt::Display) -> Self {
        Self::from_code(ErrorCode::INVALID_PARAMS).with_reason(why)
    }

    /// `-32603 Internal error`.
    pub fn internal_error() -> Self {
        Self::from_code(ErrorCode::INTERNAL_ERROR)
    }

    /// Attaches `data`, serialized as JSON.
    ///
    /// Infallible, for use in closures and `?` chains: should `data`'s
    /// `Serialize` implementation fail (a map with non-string keys, say),
    /// `data` becomes a string saying so. Use
    /// [`try_with_data`](Self::try_with_data) to handle that failure.
    pub fn with_data<T: Serialize + ?Sized>(self, data: &T) -> Self {
        match serde_json::value::to_raw_value(data) {
            Ok(raw) => self.with_raw_data(raw),
            Err(e) => self.with_reason(format_args!("error data could not be serialized: {e}")),
        }
    }

    /// Attaches `data`, serialized as JSON; fails if its `Serialize`
    /// implementation fails.
    pub fn try_with_data<T: Serialize + ?Sized>(mut self, data: &T) -> Result<Self, serde_json::Error> {
        self.data = Some(serde_json::value::to_raw_value(data)?);
        Ok(self)
    }

    /// Attaches `data` that is already JSON text.
    pub fn with_raw_data(mut self, data: Box<RawValue>) -> Self {
        self.data = Some(data);
        self
    }

    /// Attaches a human-readable reason as a JSON string in `data`.
    pub fn with_reason(mut self, why: impl fmt::Display) -> Self {
        // Escaped as it is formatted (the same text as a `String` of it
        // serialized, without that `String`); a string cannot fail to
        // serialize, only a `Display` that fails.
        self.data = serde_json::value::to_raw_value(&Reason(&why)).ok();
        self
    }

    /// The error code (it compares equal to its integer:
    /// `e.code() == -32601`).
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The error code as an integer.
    pub fn raw_code(&self) -> i64 {
        self.code.0
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `data` member as JSON text, if present.
    pub fn data(&self) -> Option<&RawValue> {
        self.data.as_deref()
    }

    /// Writes the error object as compact JSON into `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"code\":");
        // Digits written in place, no `String` of them; writing into a
        // `Vec` cannot fail.
        if serde_json::to_writer(&mut *out, &self.code.0).is_err() {
            out.extend_from_slice(self.code.0.to_string().as_bytes());
        }
        out.extend_from_slice(b",\"message\":");
        write_json_string(&self.message, out);
        if let Some(data) = &self.data {
            out.extend_from_slice(b",\"data\":");
            out.extend_from_slice(data.get().as_bytes());
        }
        out.push(b'}');
    }

    /// The error object as compact JSON text.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)?;
        if let Some(data) = &self.data {
            write!(f, ": {}", data.get())?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    /// A serialization failure inside the server is an internal error.
    fn from(e: serde_json::Error) -> Self {
        Self::internal_error().with_reason(e)
    }
}

impl<'de> serde::Deserialize<'de> for Error {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wire {
            code: i64,
            message: String,
            #[serde(default)]
            data: Option<Box<RawValue>>,
        }
        let w = Wire::deserialize(d)?;
        Ok(Self {
            code: ErrorCode(w.code),
            message: Cow::Owned(w.message),
            data: w.data,
        })
    }
}

/// A `Display` value serialized as the JSON string of its text.
struct Reason<'a, T: ?Sized>(&'a T);

impl<T: fmt::Display + ?Sized> Serialize for Reason<'_, T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

pub(crate) fn write_json_string(s: &str, out: &mut Vec<u8>) {
    // Text with nothing to escape (what serde_json escapes: `"`, `\\` and
    // control characters) is copied as it is, quoted.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // serde_json's string escaping never fails when writing into a Vec.
    if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

/// The remote peer misbehaved.
///
/// Each variant carries, through [`ProtocolError::to_rpc_error`], the
/// JSON-RPC error it maps to when an answer is still possible.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A frame was longer than the configured maximum.
    #[error("frame of {len} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// The size seen so far or declared by the peer.
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A `Content-Length` header block could not be read.
    #[error("malformed frame header: {0}")]
    BadHeader(&'static str),
    /// The stream ended in the middle of a frame.
    #[error("stream ended inside a frame ({0} bytes unread)")]
    TruncatedFrame(usize),
    /// The peer sent a response whose id matches no pending call.
    #[error("response id {0} matches no pending call")]
    UnmatchedResponse(String),
    /// The peer sent something that is neither a valid request nor a
    /// valid response where a response was expected.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
}

impl ProtocolError {
    /// The JSON-RPC error an answer to this failure carries.
    pub fn to_rpc_error(&self) -> Error {
        match self {
            // The size seen depends on how the input was split; the answer
            // must not, so it names only the limit.
            Self::FrameTooLarge { limit, .. } => Error::invalid_request()
                .with_reason(format_args!("message exceeds the limit of {limit} bytes")),
            Self::BadHeader(_) | Self::TruncatedFrame(_) => Error::parse_error().with_reason(self),
            Self::UnmatchedResponse(_) | Self::InvalidResponse(_) => {
                Error::invalid_request().with_reason(self)
            }
        }
    }
}

/// Why the protocol layer refused a message by itself, before any method
/// ran (what [`Hook::rejected`](crate::Hook::rejected) and
/// [`Stats`](crate::Stats) count).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// Not JSON (`-32700 Parse error`), or a frame header that could not
    /// be read.
    ParseError,
    /// JSON that is not a valid request (`-32600 Invalid Request`): a
    /// missing or wrong `jsonrpc`, `method` or `id`, params that are not
    /// an array or object, an empty batch, a batch or nesting over its
    /// limit.
    InvalidRequest,
    /// A message over the size limit.
    Oversize,
}

impl RejectionKind {
    /// The kind of a frame-level failure.
    pub fn of_frame_error(e: &ProtocolError) -> Self {
        match e {
            ProtocolError::FrameTooLarge { .. } => Self::Oversize,
            ProtocolError::BadHeader(_) | ProtocolError::TruncatedFrame(_) => Self::ParseError,
            ProtocolError::UnmatchedResponse(_) | ProtocolError::InvalidResponse(_) => Self::InvalidRequest,
        }
    }

    /// The kind of a message-level error answer (`-32700` or `-32600`).
    pub fn of_error(e: &Error) -> Self {
        if e.code() == ErrorCode::PARSE_ERROR {
            Self::ParseError
        } else {
            Self::InvalidRequest
        }
    }

    /// A short lowercase name: `parse_error`, `invalid_request`, `oversize`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ParseError => "parse_error",
            Self::InvalidRequest => "invalid_request",
            Self::Oversize => "oversize",
        }
    }
}

/// A method could not be registered on a [`Router`](crate::Router).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// Method names beginning with `rpc.` are reserved by the specification.
    #[error("method name {0:?} is reserved: names beginning with \"rpc.\" belong to the specification")]
    ReservedMethodName(String),
    /// A method of this name is already registered.
    #[error("method {0:?} is already registered")]
    DuplicateMethod(String),
    /// An alias names a method that is not registered.
    #[error("alias target {0:?} is not a registered method")]
    UnknownAliasTarget(String),
    /// A method name may not be empty.
    #[error("method name is empty")]
    EmptyMethodName,
}

/// The local code misused a connection's API: what it asked for cannot be
/// done in the connection's present state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// The ticket was already answered, or never issued by this connection.
    #[error("unknown or already answered ticket")]
    UnknownTicket,
    /// The connection is closed; nothing more can be sent.
    #[error("connection is closed")]
    Closed,
    /// Parameters must serialize to a JSON array or object.
    #[error("params must serialize to a JSON array or object, got {0}")]
    InvalidParams(String),
    /// A batch must contain at least one request.
    #[error("a batch must contain at least one request")]
    EmptyBatch,
    /// The number of calls awaiting an answer reached the limit.
    #[error("too many calls in flight (limit {0})")]
    TooManyInFlight(usize),
    /// A connection set to [`Version::V1`](crate::Version::V1) cannot send a
    /// batch: JSON-RPC 1.0 has none.
    #[error("JSON-RPC 1.0 has no batches")]
    BatchInV1,
    /// The outgoing buffer holds [`Limits::max_buffered_out`](crate::Limits)
    /// bytes (its value here): transmit what is queued first.
    #[error("the outgoing buffer is full (limit {0} bytes)")]
    OutputFull(usize),
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Characters on both sides of every escaping rule: control
    /// characters, the two escaped marks, DEL and non-ASCII (not escaped).
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just('\0'),
                Just('\u{1f}'),
                Just(' '),
                Just('"'),
                Just('\\'),
                Just('/'),
                Just('\u{7f}'),
                Just('é'),
                Just('\u{2028}'),
                Just('a'),
            ],
            0..12,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        /// A JSON string is written as serde_json writes it, whether or not
        /// it needs escaping.
        #[test]
        fn json_strings_are_written_as_serde_json_writes_them(s in text()) {
            let mut out = b"x".to_vec();
            write_json_string(&s, &mut out);
            prop_assert_eq!(out, [b"x".as_slice(), serde_json::to_string(&s).unwrap().as_bytes()].concat());
        }

        /// A reason is its text as a JSON string, formatted pieces and all.
        #[test]
        fn a_reason_is_its_text_as_a_json_string(a in text(), n in any::<i64>(), b in text()) {
            let error = Error::parse_error().with_reason(format_args!("{a} at {n}: {b}"));
            let expected = serde_json::to_string(&format!("{a} at {n}: {b}")).unwrap();
            prop_assert_eq!(error.data().map(RawValue::get), Some(expected.as_str()));
        }

        /// The code is written as its digits, whatever its sign and size.
        #[test]
        fn the_code_is_written_as_its_digits(code in prop_oneof![any::<i64>(), Just(i64::MIN), Just(0)]) {
            prop_assert_eq!(
                Error::new(code, "m").to_json(),
                format!(r#"{{"code":{code},"message":"m"}}"#)
            );
        }
    }
}
