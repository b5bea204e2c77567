//! The JSON-RPC 2.0 data model: parsing a message into calls,
//! notifications, responses and protocol errors, and writing answers.

use std::fmt;

use bytes::Bytes;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::error::{Error, write_json_string};
use crate::id::{Frame, Id};
use crate::limits::Limits;
use crate::version::{V1_ERROR_CODE, Version};

mod reader;

use reader::Stop;

/// The parameters of a call or notification: the raw JSON text of an array
/// or an object, or nothing when the request had no `params` member.
///
/// The text is shared with the frame it was read from; nothing is copied
/// and no `serde_json::Value` is built until [`RawParams::parse`] is asked for
/// a type.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawParams(Option<Bytes>);

/// The shape of a call's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamsKind {
    /// No `params` member.
    None,
    /// By position: a JSON array.
    Array,
    /// By name: a JSON object.
    Object,
}

impl RawParams {
    /// No parameters.
    pub const fn none() -> Self {
        Self(None)
    }

    /// Params whose bytes are a valid array or object (a slice of a frame).
    pub(crate) fn shared(bytes: Bytes) -> Self {
        Self(Some(bytes))
    }

    /// Parameters from JSON text, which must be an array or an object.
    pub fn from_json(text: impl Into<String>) -> Result<Self, Error> {
        let text: String = text.into();
        let trimmed = text.trim_matches(is_ws);
        match trimmed.as_bytes().first() {
            Some(b'[' | b'{') => {}
            _ => return Err(Error::invalid_params("params must be an array or an object")),
        }
        serde_json::from_str::<IgnoredAny>(trimmed).map_err(Error::invalid_params)?;
        Ok(Self(Some(Bytes::from(trimmed.to_owned()))))
    }

    /// Serializes `value` as parameters; it must serialize to an array or
    /// an object, or to `null` (`()`, `None`), which means no params.
    ///
    /// ```
    /// use sansrpc::RawParams;
    ///
    /// assert_eq!(RawParams::serialize(&(42, 23)).unwrap().as_str(), Some("[42,23]"));
    /// assert!(RawParams::serialize(&()).unwrap().is_none());
    /// assert!(RawParams::serialize(&7).is_err());
    /// ```
    pub fn serialize<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, Error> {
        let text = serde_json::to_string(value)?;
        if text == "null" {
            return Ok(Self::none());
        }
        Self::from_json(text)
    }

    /// [`serialize`](Self::serialize) for a client about to call: a value
    /// that is not an array, an object or `null` is the caller's mistake,
    /// a [`UsageError::InvalidParams`](crate::UsageError::InvalidParams)
    /// saying what it was.
    ///
    /// ```
    /// use sansrpc::RawParams;
    ///
    /// assert_eq!(RawParams::for_call(&(1, 2)).unwrap().as_str(), Some("[1,2]"));
    /// assert_eq!(
    ///     RawParams::for_call(&7).unwrap_err().to_string(),
    ///     "params must serialize to a JSON array or object, got a number (7)"
    /// );
    /// ```
    pub fn for_call<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, crate::UsageError> {
        let text = serde_json::to_string(value)
            .map_err(|e| crate::UsageError::InvalidParams(format!("a value that does not serialize: {e}")))?;
        if text == "null" {
            return Ok(Self::none());
        }
        let kind = match text.as_bytes().first() {
            Some(b'[' | b'{') => {
                return Self::from_json(text).map_err(|e| crate::UsageError::InvalidParams(e.to_string()));
            }
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            _ => "a number",
        };
        // Short values are quoted whole; long strings are not repeated.
        let shown = if text.len() <= 40 {
            format!(" ({text})")
        } else {
            String::new()
        };
        Err(crate::UsageError::InvalidParams(format!("{kind}{shown}")))
    }

    /// The raw JSON text, or `None` when there were no params.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_ref().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The raw JSON bytes, or `None` when there were no params.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        self.0.as_ref()
    }

    /// Whether there were no params.
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }

    /// By position, by name, or absent.
    pub fn kind(&self) -> ParamsKind {
        match self.0.as_ref().and_then(|b| b.first()) {
            None => ParamsKind::None,
            Some(b'[') => ParamsKind::Array,
            Some(_) => ParamsKind::Object,
        }
    }

    /// Deserializes the params into `T`.
    ///
    /// An array fills a tuple, a `Vec` or a struct by position; an object
    /// fills a struct or a map by name. Absent params deserialize from
    /// `null`, `[]` or `{}`, whichever `T` accepts first, so `()`,
    /// `Option<T>` and structs whose fields all have defaults accept a call
    /// without params. A mismatch is `-32602 Invalid params` whose `data`
    /// says why.
    ///
    /// ```
    /// use sansrpc::RawParams;
    ///
    /// let p = RawParams::from_json("[42, 23]").unwrap();
    /// let (a, b): (i64, i64) = p.parse().unwrap();
    /// assert_eq!(a - b, 19);
    /// let err = p.parse::<(String,)>().unwrap_err();
    /// assert_eq!(err.code(), sansrpc::ErrorCode::INVALID_PARAMS);
    /// ```
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        match self.as_str() {
            Some(text) => serde_json::from_str(text).map_err(|e| params_error::<T>(text, &e)),
            None => {
                let first = match serde_json::from_str::<T>("null") {
                    Ok(v) => return Ok(v),
                    Err(e) => e,
                };
                if let Ok(v) = serde_json::from_str::<T>("[]") {
                    return Ok(v);
                }
                if let Ok(v) = serde_json::from_str::<T>("{}") {
                    return Ok(v);
                }
                Err(Error::invalid_params(format_args!(
                    "params are required: {}",
                    ParamsWhy(&first)
                )))
            }
        }
    }
}

/// `-32602` for params that do not fit `T`. Positional params of the
/// wrong count say so ("expected 2 params, got 3") instead of serde's
/// "trailing characters" or "invalid length"; anything else is serde's
/// account without its position (which counts in the params alone).
fn params_error<T: DeserializeOwned>(text: &str, e: &serde_json::Error) -> Error {
    if text.starts_with('[') {
        let got = serde_json::from_str::<Vec<IgnoredAny>>(text).map(|v| v.len());
        if let (Ok(got), Some(expected)) = (got, positional_arity::<T>()) {
            let too_few = e.to_string().starts_with("invalid length ");
            if got > expected || (too_few && got < expected) {
                let s = if expected == 1 { "" } else { "s" };
                return Error::invalid_params(format_args!("expected {expected} param{s}, got {got}"));
            }
        }
    }
    Error::invalid_params(ParamsWhy(e))
}

/// How many positional params `T` takes, when it has a fixed count (a
/// tuple, a tuple struct, a struct): serde names it when `T` is read from
/// an empty array.
fn positional_arity<T: DeserializeOwned>() -> Option<usize> {
    let e = serde_json::from_str::<T>("[]").err()?.to_string();
    let rest = e.strip_prefix("invalid length 0, expected ")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .rfind(|s| !s.is_empty())?
        .parse()
        .ok()
}

/// Why an object did not fit the message shape, in JSON's words: a
/// duplicate member (serde says "field"), without the position.
struct NotAnObject<'a>(&'a serde_json::Error);

impl fmt::Display for NotAnObject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = ParamsWhy(self.0).to_string();
        match why
            .strip_prefix("duplicate field `")
            .and_then(|r| r.strip_suffix('`'))
        {
            Some(name) => write!(f, "duplicate member {name:?}"),
            None => f.write_str(&why),
        }
    }
}

/// serde_json's message without the position suffix when the position is
/// meaningless (it refers to our synthetic input, or a part of the peer's).
struct ParamsWhy<'a>(&'a serde_json::Error);

impl fmt::Display for ParamsWhy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.to_string();
        match s.find(" at line ") {
            Some(i) => f.write_str(s.get(..i).unwrap_or(&s)),
            None => f.write_str(&s),
        }
    }
}

impl fmt::Debug for RawParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => write!(f, "RawParams({s})"),
            None => f.write_str("RawParams(none)"),
        }
    }
}

/// A response as a client receives it.
#[derive(Clone, Debug)]
pub struct Response {
    /// The id of the call this answers (`null` for errors the server could
    /// not tie to a call).
    pub id: Id,
    /// The `result` member's JSON text, or the `error` object.
    pub outcome: Result<Box<RawValue>, Error>,
}

impl PartialEq for Response {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && match (&self.outcome, &other.outcome) {
                (Ok(a), Ok(b)) => a.get() == b.get(),
                (Err(a), Err(b)) => a == b,
                _ => false,
            }
    }
}

impl Response {
    /// Deserializes the result into `T`; an error response is returned as
    /// the error.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        match &self.outcome {
            Ok(raw) => serde_json::from_str(raw.get())
                .map_err(|e| Error::internal_error().with_reason(format_args!("result does not fit: {e}"))),
            Err(e) => Err(e.clone()),
        }
    }
}

/// One entry of an incoming message.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Incoming {
    /// A request with an id: it must be answered.
    Call {
        /// The id, as sent.
        id: Id,
        /// The method name.
        method: String,
        /// The parameters.
        params: RawParams,
    },
    /// A request without an id: it is never answered.
    Notification {
        /// The method name.
        method: String,
        /// The parameters.
        params: RawParams,
    },
    /// An entry that is not a valid request; `error` is what to answer with
    /// `id` (which is `null` when no valid id could be read).
    Invalid {
        /// The id to answer with.
        id: Id,
        /// The error to answer with.
        error: Error,
    },
    /// A response (only when parsing with [`Accept::Responses`] or
    /// [`Accept::Both`]).
    Response(Response),
    /// Something shaped like a response (no `method`, a `result` or an
    /// `error`) that is not a valid one, when parsing with
    /// [`Accept::Both`]: a peer reports it and never answers it (its id is
    /// the remote's own numbering of *its* calls).
    InvalidResponse {
        /// The id it carried (`null` when none could be read).
        id: Id,
        /// What is wrong with it.
        error: Error,
    },
}

/// An incoming message: one entry, a batch, or an error about the whole
/// message that is answered with a single error object.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// A single JSON object.
    Single(Incoming),
    /// A single JSON-RPC 1.0 object (only under [`Version::V1`] and
    /// [`Version::Auto`]): answer it in 1.0 form.
    V1(Incoming),
    /// A non-empty array of entries.
    Batch(Vec<Incoming>),
    /// The message as a whole is rejected (parse error, empty batch, a
    /// batch over the limit, nesting over the limit); answer `error` with
    /// `id: null`.
    Rejected(Error),
}

/// What an endpoint expects to receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accept {
    /// A server: requests only; a response is an invalid request.
    Requests,
    /// A client: responses only; a request is an invalid response.
    Responses,
    /// A peer: both.
    Both,
}

fn some_raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

// Every member is kept raw so that `null` is told apart from absence and
// each check can give its own verdict.
#[derive(Deserialize)]
pub(crate) struct Wire<'a> {
    #[serde(default, borrow, deserialize_with = "some_raw")]
    pub(crate) jsonrpc: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "some_raw")]
    pub(crate) method: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "some_raw")]
    pub(crate) params: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "some_raw")]
    pub(crate) id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "some_raw")]
    pub(crate) result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "some_raw")]
    pub(crate) error: Option<&'a RawValue>,
}

const BOM: &str = "\u{feff}";

/// Parses one message (a frame's whole content).
///
/// Never panics, never recurses deeper than `limits.max_depth`, and never
/// builds a `serde_json::Value`. `limits.version` picks the rules: a single
/// object read by the JSON-RPC 1.0 rules comes back as [`Message::V1`] (see
/// [`Version`]).
///
/// ```
/// use bytes::Bytes;
/// use sansrpc::Limits;
/// use sansrpc::wire::{parse_message, Accept, Incoming, Message};
///
/// let frame = Bytes::from_static(br#"{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":1}"#);
/// match parse_message(&frame, &Limits::default(), Accept::Requests) {
///     Message::Single(Incoming::Call { id, method, params }) => {
///         assert_eq!(id.as_json(), "1");
///         assert_eq!(method, "sum");
///         assert_eq!(params.as_str(), Some("[1,2]"));
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn parse_message(frame: &Bytes, limits: &Limits, accept: Accept) -> Message {
    let shared = Frame::Shared(frame);
    match parse_borrowed(frame, &shared, limits, accept) {
        Parsed::Request(request) => Message::Single(request.into_incoming(&shared)),
        Parsed::Other(message) => message,
    }
}

/// [`parse_message`] without its hand-written reader: every object and
/// batch is read by serde_json alone, the way the reader's fallback reads
/// whatever the reader does not decide. The verdict is the same for any
/// input; this is the reference tests and fuzzers hold
/// [`parse_message`] to, and it is slower.
///
/// ```
/// use bytes::Bytes;
/// use sansrpc::Limits;
/// use sansrpc::wire::{parse_message, parse_message_full, Accept};
///
/// let frame = Bytes::from_static(br#"[{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":1}, 7]"#);
/// let limits = Limits::default();
/// assert_eq!(
///     parse_message(&frame, &limits, Accept::Requests),
///     parse_message_full(&frame, &limits, Accept::Requests),
/// );
/// ```
pub fn parse_message_full(frame: &Bytes, limits: &Limits, accept: Accept) -> Message {
    let shared = Frame::Shared(frame);
    match parse_with(frame, &shared, limits, accept, Path::Serde) {
        Parsed::Request(request) => Message::Single(request.into_incoming(&shared)),
        Parsed::Other(message) => message,
    }
}

/// Which reader a message goes through first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// The hand-written reader, serde_json for what it does not decide.
    Reader,
    /// serde_json alone ([`parse_message_full`]).
    Serde,
}

/// A message read by [`parse_borrowed`].
pub(crate) enum Parsed<'a> {
    /// A single valid 2.0 request, borrowed from the message.
    Request(Request<'a>),
    /// Anything else.
    Other(Message),
}

/// [`parse_message`] over borrowed bytes: a single valid request comes
/// back borrowing from `bytes`; what anything else keeps of the message is
/// taken through `frame` (which holds `bytes`, or copies the parts).
pub(crate) fn parse_borrowed<'a>(
    bytes: &'a [u8],
    frame: &Frame<'_>,
    limits: &Limits,
    accept: Accept,
) -> Parsed<'a> {
    parse_with(bytes, frame, limits, accept, Path::Reader)
}

fn parse_with<'a>(
    bytes: &'a [u8],
    frame: &Frame<'_>,
    limits: &Limits,
    accept: Accept,
    path: Path,
) -> Parsed<'a> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Parsed::Other(Message::Rejected(
                Error::parse_error().with_reason(format_args!("invalid UTF-8 at byte {}", e.valid_up_to())),
            ));
        }
    };
    let text = text.strip_prefix(BOM).unwrap_or(text);
    let first = text.trim_start_matches(is_ws).as_bytes().first().copied();
    // The reader's pass, when it reads the whole message within the depth
    // limit, also stands for the nesting count (the same count over valid
    // JSON); anything else is counted first, as before.
    let mut depth_checked = false;
    let mut batch = None;
    let mut likely_invalid = false;
    if path == Path::Reader {
        match first {
            Some(b'{') => match reader::read_object(text) {
                Ok(read) if read.deepest <= limits.max_depth => {
                    depth_checked = true;
                    // A 2.0 object read whole (and, for a response, only
                    // where it is refused as one): the same rules as the
                    // full parse, from the same members.
                    if let Some(head) = read.head.filter(|head| {
                        (limits.version == Version::V2
                            || (limits.version == Version::Auto && head.jsonrpc.is_some()))
                            && (accept == Accept::Requests || !head.is_response)
                    }) {
                        return match entry_from_head(frame, head, accept, |id, _| {
                            invalid_because_id(id, "expected a request, got a response")
                        }) {
                            Entry::Request(request) => Parsed::Request(request),
                            Entry::Other(incoming) => Parsed::Other(Message::Single(incoming)),
                        };
                    }
                }
                Ok(_) => {}
                Err(stop) => likely_invalid = stop == Stop::Invalid,
            },
            Some(b'[') => {
                let guess = batch_guess(text, limits.max_batch_len);
                match reader::read_batch(text, limits.max_batch_len, guess) {
                    Ok(read) if read.deepest <= limits.max_depth => {
                        depth_checked = true;
                        batch = Some(BatchEntries {
                            entries: read.entries,
                            total: read.total,
                            read: true,
                        });
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if !depth_checked {
        if let Err(depth) = check_depth(text.as_bytes(), limits.max_depth) {
            return Parsed::Other(Message::Rejected(Error::invalid_request().with_reason(
                format_args!("nesting deeper than {depth} levels (limit {})", limits.max_depth),
            )));
        }
    }
    let message = match first {
        Some(b'[') => match batch.map_or_else(|| parse_batch(text, limits.max_batch_len), Ok) {
            Err(e) => Message::Rejected(not_json(&e)),
            Ok(_) if limits.version == Version::V1 => {
                Message::Rejected(Error::invalid_request().with_reason("JSON-RPC 1.0 has no batches"))
            }
            Ok(batch) if batch.total == 0 => Message::Rejected(invalid_because("empty batch")),
            Ok(batch) if batch.total > limits.max_batch_len => {
                Message::Rejected(Error::invalid_request().with_reason(format_args!(
                    "batch of {} entries exceeds the limit of {}",
                    batch.total, limits.max_batch_len
                )))
            }
            Ok(BatchEntries { entries, read, .. }) => Message::Batch(
                entries
                    .into_iter()
                    .map(|(text, head)| {
                        // Each entry is valid JSON already: a request's
                        // members were found by the reader (or are now, for
                        // a batch serde split), and anything unusual takes
                        // the full parse, where a mismatch is an invalid
                        // request.
                        let head = match (read, path) {
                            (true, _) => head,
                            (false, Path::Reader) => {
                                reader::read_object(text).ok().and_then(|read| read.head)
                            }
                            (false, Path::Serde) => None,
                        };
                        if let Some(head) = head.filter(|h| accept == Accept::Requests || !h.is_response) {
                            return entry_from_head(frame, head, accept, |id, _| {
                                invalid_because_id(id, "expected a request, got a response")
                            })
                            .into_incoming(frame);
                        }
                        parse_entry(frame, text, accept).unwrap_or_else(|why| Incoming::Invalid {
                            id: lone_id(frame, text).unwrap_or_else(Id::null),
                            error: Error::invalid_request().with_reason(NotAnObject(&why)),
                        })
                    })
                    .collect(),
            ),
        },
        Some(b'{') => {
            // Not JSON, most likely: serde_json's account of it is what the
            // full parse ends with; when this pass finds it is JSON after
            // all, the full parse decides.
            if likely_invalid {
                if let Err(e) = serde_json::from_str::<IdScan<'_>>(text) {
                    if !is_json_text(text) {
                        return Parsed::Other(Message::Rejected(not_json(&e)));
                    }
                }
            }
            return single_by_serde(frame, text, limits, accept);
        }
        _ => match serde_json::from_str::<IgnoredAny>(text) {
            Ok(_) => Message::Rejected(invalid_because("expected a request object or a batch array")),
            Err(e) => Message::Rejected(not_json(&e)),
        },
    };
    Parsed::Other(message)
}

/// A single object (the text opens with `{`) read by serde_json: one
/// pass; only when it does not fit the request shape is the text checked
/// again, to tell -32700 from -32600.
fn single_by_serde<'a>(frame: &Frame<'_>, text: &'a str, limits: &Limits, accept: Accept) -> Parsed<'a> {
    let message = match parse_single(frame, text, accept, limits.version) {
        Ok(parsed) => return parsed,
        // The scan for a lone id also tells valid JSON from invalid.
        Err(why) => {
            let id = match serde_json::from_str::<IdScan<'_>>(text) {
                Ok(scan) if limits.version == Version::V1 => scan.id_v1(frame),
                Ok(scan) => scan.id(frame),
                Err(e) if !is_json_text(text) => return Parsed::Other(Message::Rejected(not_json(&e))),
                // JSON the scan cannot read (a member name with a lone
                // surrogate escape): no id can be told.
                Err(_) => None,
            };
            let invalid = Incoming::Invalid {
                id: id.unwrap_or_else(Id::null),
                error: Error::invalid_request().with_reason(NotAnObject(&why)),
            };
            if limits.version == Version::V1 {
                Message::V1(invalid)
            } else {
                Message::Single(invalid)
            }
        }
    };
    Parsed::Other(message)
}

/// Whether `text`, which serde_json failed to read as an object of
/// named members, is JSON text all the same: a lone surrogate escape
/// (`"\udc00"`) is valid JSON grammar, which serde_json refuses in a
/// string it decodes (a member name) but accepts in one it skips. Only
/// text with a `\u` escape can be such a case; anything else is not
/// JSON, as the failed read said.
fn is_json_text(text: &str) -> bool {
    text.contains("\\u") && serde_json::from_str::<IgnoredAny>(text).is_ok()
}

/// A batch array: its first entries, and how many it has in all.
struct BatchEntries<'a> {
    /// At most the limit's worth of entries, in order: each one's text and,
    /// when `read`, the members the reader found (`None`: not an object,
    /// or one for the full parse).
    entries: Vec<(&'a str, Option<Head<'a>>)>,
    /// Every entry, kept or not.
    total: usize,
    /// Whether the reader split the batch (else serde_json did, and no
    /// entry's members have been looked for yet).
    read: bool,
}

/// A guess at a batch's entry count (a request of ordinary shape is
/// longer than 48 bytes), so that the vector seldom grows; never more than
/// the limit, and at most a third of the text's size.
fn batch_guess(text: &str, limit: usize) -> usize {
    (text.len() / 48).min(limit)
}

/// Reads a batch array keeping at most `limit` entries: past the limit the
/// rest are only counted (as [`IgnoredAny`], nothing allocated), so a huge
/// batch of tiny entries never builds a vector of its length, while the
/// answer (its count, or serde_json's error for JSON broken further on)
/// stays what reading it whole would give.
fn parse_batch(text: &str, limit: usize) -> Result<BatchEntries<'_>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let guess = batch_guess(text, limit);
    let batch = de.deserialize_seq(BatchVisitor { limit, guess })?;
    de.end()?;
    Ok(batch)
}

struct BatchVisitor {
    limit: usize,
    guess: usize,
}

impl<'de> serde::de::Visitor<'de> for BatchVisitor {
    type Value = BatchEntries<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(self.guess);
        while entries.len() < self.limit {
            match seq.next_element::<&'de RawValue>()? {
                Some(entry) => entries.push((entry.get(), None)),
                None => {
                    let total = entries.len();
                    return Ok(BatchEntries {
                        entries,
                        total,
                        read: false,
                    });
                }
            }
        }
        let mut total = entries.len();
        while seq.next_element::<IgnoredAny>()?.is_some() {
            total += 1;
        }
        Ok(BatchEntries {
            entries,
            total,
            read: false,
        })
    }
}

/// `-32700` with serde_json's account of what is wrong and where (its
/// line and column count in the message as sent).
fn not_json(e: &serde_json::Error) -> Error {
    Error::parse_error().with_reason(e)
}

/// `-32600` saying why.
fn invalid_because(why: &'static str) -> Error {
    Error::invalid_request().with_reason(why)
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Checks nesting depth without recursion; `Err(depth)` when `max` is
/// exceeded. Syntax errors are left for the parser to report.
fn check_depth(bytes: &[u8], max: usize) -> Result<(), usize> {
    // Nesting is at most the number of opening brackets: when those fit
    // (a single call of ordinary shape), no byte-by-byte pass is needed.
    // The count runs in chunks the compiler vectorizes and stops as soon as
    // it exceeds `max` (a large batch), where the exact pass takes over.
    if bytes.len() <= max {
        // Not even that many bytes.
        return Ok(());
    }
    let mut opening = 0usize;
    let fits = bytes.chunks(64).all(|chunk| {
        opening += chunk.iter().filter(|&&b| b == b'[' || b == b'{').count();
        opening <= max
    });
    if fits {
        return Ok(());
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(depth);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Whether `message` opens with `[` after a byte order mark and
/// whitespace, as [`parse_borrowed`] reads it: a batch, or nothing valid.
pub(crate) fn looks_like_batch(message: &[u8]) -> bool {
    let message = message.strip_prefix(BOM.as_bytes()).unwrap_or(message);
    message.get(skip_ws(message, 0)) == Some(&b'[')
}

/// The first index at or after `i` that is not JSON whitespace.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The value of a JSON string token, borrowed when it has no escapes.
pub(crate) fn string_value(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(std::borrow::Cow::Borrowed(inner));
    }
    serde_json::from_str(text).ok()
}

/// The top-level `id` members of an object that did not fit the request
/// shape (a duplicated member): only the error path reads it.
struct IdScan<'a> {
    /// The `id` member, when there was exactly one.
    id: Option<&'a RawValue>,
    /// How many `id` members there were.
    count: usize,
}

impl<'a> IdScan<'a> {
    /// The id to answer with: present once and a valid id, else `None`, so
    /// the error goes out with `id: null` (a second `id` member makes it
    /// ambiguous which call the error belongs to).
    fn id(&self, frame: &Frame<'_>) -> Option<Id> {
        if self.count != 1 {
            return None;
        }
        Id::from_valid_json(frame, self.id?.get())
    }

    /// The same by the 1.0 rules, where any value is an id.
    fn id_v1(&self, frame: &Frame<'_>) -> Option<Id> {
        if self.count != 1 {
            return None;
        }
        Some(Id::from_any_json(frame, self.id?.get()))
    }
}

impl<'de> Deserialize<'de> for IdScan<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = IdScan<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut scan = IdScan { id: None, count: 0 };
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "id" {
                        scan.count += 1;
                        scan.id = Some(map.next_value::<&'de RawValue>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(scan)
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The id of an entry that did not fit the request shape, when it has
/// exactly one valid `id` member.
fn lone_id(frame: &Frame<'_>, text: &str) -> Option<Id> {
    serde_json::from_str::<IdScan<'_>>(text).ok()?.id(frame)
}

/// A single object (the text starts with `{`), read by the rules
/// `version` picks for it. `Err` as for [`parse_entry`].
fn parse_single<'a>(
    frame: &Frame<'_>,
    text: &'a str,
    accept: Accept,
    version: Version,
) -> Result<Parsed<'a>, serde_json::Error> {
    let wire = serde_json::from_str::<Wire<'_>>(text)?;
    if version.object_is_v1(&wire) {
        return Ok(Parsed::Other(Message::V1(parse_entry_v1(frame, &wire, accept))));
    }
    Ok(match entry_from_wire(frame, wire, accept) {
        Entry::Request(request) => Parsed::Request(request),
        Entry::Other(incoming) => Parsed::Other(Message::Single(incoming)),
    })
}

/// One request or response object. `Err` when the text does not fit the
/// object shape at all (a duplicate member, or not JSON: the caller tells
/// those apart).
fn parse_entry(frame: &Frame<'_>, text: &str, accept: Accept) -> Result<Incoming, serde_json::Error> {
    if !text.trim_start_matches(is_ws).starts_with('{') {
        return Ok(Incoming::Invalid {
            id: Id::null(),
            error: invalid_because("a batch entry must be an object"),
        });
    }
    let wire = serde_json::from_str::<Wire<'_>>(text)?;
    Ok(entry_from_wire(frame, wire, accept).into_incoming(frame))
}

/// One object read by the 2.0 rules.
fn entry_from_wire<'a>(frame: &Frame<'_>, wire: Wire<'a>, accept: Accept) -> Entry<'a> {
    entry_from_head(frame, wire.head(), accept, |id, version_ok| {
        parse_response(&wire, id, version_ok)
    })
}

/// What the request rules read of an object: the members' JSON text, and
/// whether it is shaped like a response.
#[derive(Default)]
struct Head<'a> {
    jsonrpc: Option<&'a str>,
    method: Option<&'a str>,
    params: Option<&'a str>,
    id: Option<&'a str>,
    /// No `method`, and a `result` or an `error`.
    is_response: bool,
}

impl<'a> Wire<'a> {
    fn head(&self) -> Head<'a> {
        Head {
            jsonrpc: self.jsonrpc.map(RawValue::get),
            method: self.method.map(RawValue::get),
            params: self.params.map(RawValue::get),
            id: self.id.map(RawValue::get),
            is_response: self.method.is_none() && (self.result.is_some() || self.error.is_some()),
        }
    }
}

/// `-32600` saying why, with `id` (or `null`).
fn invalid_because_id(id: Option<Id>, why: &'static str) -> Incoming {
    Incoming::Invalid {
        id: id.unwrap_or_else(Id::null),
        error: invalid_because(why),
    }
}

/// A valid 2.0 request (a call when it has an id), its parts borrowed
/// from the message's text.
pub(crate) struct Request<'a> {
    /// The id's JSON text, a string, a number or `null`.
    pub(crate) id: Option<&'a str>,
    pub(crate) method: std::borrow::Cow<'a, str>,
    /// The params' JSON text, an array or an object.
    pub(crate) params: Option<&'a str>,
}

impl Request<'_> {
    /// The id (when it is a call), shared from `frame`.
    pub(crate) fn id(&self, frame: &Frame<'_>) -> Option<Id> {
        // The kind was checked when the request was read.
        self.id
            .map(|raw| Id::from_valid_json(frame, raw).unwrap_or_else(Id::null))
    }

    /// The params, shared from `frame`.
    pub(crate) fn params(&self, frame: &Frame<'_>) -> RawParams {
        RawParams(self.params.map(|raw| frame.share(raw)))
    }

    /// The request as an [`Incoming`] entry.
    pub(crate) fn into_incoming(self, frame: &Frame<'_>) -> Incoming {
        let params = self.params(frame);
        let id = self.id(frame);
        let method = self.method.into_owned();
        match id {
            Some(id) => Incoming::Call { id, method, params },
            None => Incoming::Notification { method, params },
        }
    }
}

/// One object read by the 2.0 rules: a valid request, or what else it is.
enum Entry<'a> {
    Request(Request<'a>),
    Other(Incoming),
}

impl Entry<'_> {
    fn into_incoming(self, frame: &Frame<'_>) -> Incoming {
        match self {
            Self::Request(request) => request.into_incoming(frame),
            Self::Other(incoming) => incoming,
        }
    }
}

/// One object read by the 2.0 rules, from its members; `response` reads
/// it as a response (only asked when `accept` allows responses).
fn entry_from_head<'a>(
    frame: &Frame<'_>,
    wire: Head<'a>,
    accept: Accept,
    response: impl FnOnce(Option<Id>, bool) -> Incoming,
) -> Entry<'a> {
    let id_raw = wire.id;
    if id_raw.is_some_and(|raw| !matches!(raw.as_bytes().first(), Some(b'"' | b'-' | b'0'..=b'9' | b'n'))) {
        return Entry::Other(invalid_because_id(
            None,
            "\"id\" must be a string, a number or null",
        ));
    }
    // The id as an `Id`, made only for an answer other than a request.
    let id = || id_raw.and_then(|raw| Id::from_valid_json(frame, raw));
    let invalid = |why: &'static str| Entry::Other(invalid_because_id(id(), why));
    // `"2.0"` as sent is the common spelling; an escaped one is decoded.
    let version_ok = wire
        .jsonrpc
        .is_some_and(|v| v == "\"2.0\"" || string_value(v).is_some_and(|v| v == "2.0"));

    let is_response = wire.is_response;
    if is_response && accept != Accept::Requests {
        return Entry::Other(match response(id(), version_ok) {
            Incoming::Invalid { id, error } if accept == Accept::Both => {
                Incoming::InvalidResponse { id, error }
            }
            other => other,
        });
    }
    if is_response {
        return invalid("expected a request, got a response");
    }
    if accept == Accept::Responses {
        return Entry::Other(Incoming::Invalid {
            id: id().unwrap_or_else(Id::null),
            error: Error::invalid_request().with_reason("expected a response"),
        });
    }
    if !version_ok {
        let why = match wire.jsonrpc {
            None => "missing \"jsonrpc\": \"2.0\"",
            Some(_) => "\"jsonrpc\" must be \"2.0\"",
        };
        return invalid(why);
    }
    let Some(method) = wire.method.and_then(string_value) else {
        let why = match wire.method {
            None => "missing \"method\"",
            Some(_) => "\"method\" must be a string",
        };
        return invalid(why);
    };
    let params = match wire.params {
        None => None,
        Some(raw) if matches!(raw.as_bytes().first(), Some(b'[' | b'{')) => Some(raw),
        Some(_) => return invalid("\"params\" must be an array or an object"),
    };
    Entry::Request(Request {
        id: id_raw,
        method,
        params,
    })
}

fn parse_response(wire: &Wire<'_>, id: Option<Id>, version_ok: bool) -> Incoming {
    let bad = |why: &'static str, id: Option<Id>| Incoming::Invalid {
        id: id.unwrap_or_else(Id::null),
        error: Error::invalid_request().with_reason(why),
    };
    if !version_ok {
        return bad("\"jsonrpc\" must be \"2.0\"", id);
    }
    let Some(id) = id else {
        return bad("a response must have an id", None);
    };
    let outcome = match (wire.result, wire.error) {
        (Some(r), None) => Ok(r.to_owned()),
        // serde would also fill the struct from an array; the spec says object.
        (None, Some(e)) if !e.get().starts_with('{') => return bad("malformed error object", Some(id)),
        (None, Some(e)) => match serde_json::from_str::<Error>(e.get()) {
            Ok(e) => Err(e),
            Err(_) => return bad("malformed error object", Some(id)),
        },
        _ => return bad("a response must have exactly one of result and error", Some(id)),
    };
    Incoming::Response(Response { id, outcome })
}

/// Writes `{"jsonrpc":"2.0","result":<result>,"id":<id>}`.
pub fn write_result(id: &Id, result: &RawValue, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"result\":");
    out.extend_from_slice(result.get().as_bytes());
    out.extend_from_slice(b",\"id\":");
    out.extend_from_slice(id.as_json().as_bytes());
    out.push(b'}');
}

/// Writes `{"jsonrpc":"2.0","error":<error>,"id":<id>}`.
pub fn write_error(id: &Id, error: &Error, out: &mut Vec<u8>) {
    write_error_to(id.as_json(), error, out);
}

/// [`write_error`] for an id given as its JSON text.
pub(crate) fn write_error_to(id: &str, error: &Error, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"error\":");
    error.write_json(out);
    out.extend_from_slice(b",\"id\":");
    out.extend_from_slice(id.as_bytes());
    out.push(b'}');
}

/// Writes a response for `outcome`.
pub fn write_response(id: &Id, outcome: &Outcome, out: &mut Vec<u8>) {
    match outcome {
        Ok(r) => write_result(id, r, out),
        Err(e) => write_error(id, e, out),
    }
}

/// Writes a request (`id: Some`) or a notification (`id: None`).
pub fn write_request(id: Option<&Id>, method: &str, params: &RawParams, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"method\":");
    write_json_string(method, out);
    if let Some(p) = params.as_bytes() {
        out.extend_from_slice(b",\"params\":");
        out.extend_from_slice(p);
    }
    if let Some(id) = id {
        out.extend_from_slice(b",\"id\":");
        out.extend_from_slice(id.as_json().as_bytes());
    }
    out.push(b'}');
}

/// What a call produced: the result's JSON text, or an error object.
pub type Outcome = Result<Box<RawValue>, Error>;

/// Serializes `value` into a successful [`Outcome`]; a value that fails
/// to serialize becomes `-32603 Internal error`.
///
/// ```
/// let outcome = sansrpc::result(&19);
/// assert_eq!(outcome.unwrap().get(), "19");
/// ```
pub fn result<T: serde::Serialize + ?Sized>(value: &T) -> Outcome {
    serde_json::value::to_raw_value(value).map_err(Error::from)
}

/// Reads an [`Outcome`] (a batch answer, a call's answer) as `T`: the
/// typed counterpart of [`result`]. An error answer is returned as the
/// error; a result that does not fit `T` is `-32603` saying why.
///
/// ```
/// use sansrpc::{Error, decode_outcome, result};
///
/// assert_eq!(decode_outcome::<i64>(&result(&19)), Ok(19));
/// let refused: sansrpc::Outcome = Err(Error::new(7, "no"));
/// assert_eq!(decode_outcome::<i64>(&refused).unwrap_err().raw_code(), 7);
/// assert_eq!(decode_outcome::<String>(&result(&19)).unwrap_err().raw_code(), -32603);
/// ```
pub fn decode_outcome<T: DeserializeOwned>(outcome: &Outcome) -> Result<T, Error> {
    match outcome {
        Ok(raw) => serde_json::from_str(raw.get())
            .map_err(|e| Error::internal_error().with_reason(format_args!("result does not fit: {e}"))),
        Err(e) => Err(e.clone()),
    }
}

impl Version {
    /// Whether a single object is read by the 1.0 rules.
    pub(crate) fn object_is_v1(self, wire: &Wire<'_>) -> bool {
        match self {
            Self::V2 => false,
            Self::V1 => true,
            Self::Auto => wire.jsonrpc.is_none(),
        }
    }
}

// JSON-RPC 1.0 entries, read when `Version` says an object follows the 1.0
// rules (written in `v1`).

/// One object read by the 1.0 rules.
pub(crate) fn parse_entry_v1(frame: &Frame<'_>, wire: &Wire<'_>, accept: Accept) -> Incoming {
    // Any JSON value is a 1.0 id; `null` (or no id) makes a notification.
    let id = wire.id.map(|raw| Id::from_any_json(frame, raw.get()));
    let invalid = |id: Option<Id>, why: &'static str| Incoming::Invalid {
        id: id.unwrap_or_else(Id::null),
        error: Error::invalid_request().with_reason(why),
    };
    let is_response = wire.method.is_none() && (wire.result.is_some() || wire.error.is_some());
    if is_response && accept != Accept::Requests {
        return parse_response_v1(wire, id);
    }
    if accept == Accept::Responses {
        return invalid(id, "expected a response");
    }
    let Some(method) = wire.method.map(RawValue::get).and_then(string_value) else {
        return invalid(id, "\"method\" must be a string");
    };
    let params = match wire.params {
        None => RawParams::none(),
        Some(raw) => match raw.get().as_bytes().first() {
            Some(b'[' | b'{') => RawParams::shared(frame.share(raw.get())),
            Some(b'n') => RawParams::none(),
            _ => return invalid(id, "\"params\" must be an array"),
        },
    };
    let method = method.into_owned();
    match id.filter(|id| !id.is_null()) {
        Some(id) => Incoming::Call { id, method, params },
        None => Incoming::Notification { method, params },
    }
}

fn parse_response_v1(wire: &Wire<'_>, id: Option<Id>) -> Incoming {
    let Some(id) = id else {
        return Incoming::Invalid {
            id: Id::null(),
            error: Error::invalid_request().with_reason("a response must have an id"),
        };
    };
    let is_null = |raw: Option<&serde_json::value::RawValue>| raw.is_none_or(|r| r.get() == "null");
    let outcome = if is_null(wire.error) {
        match wire.result {
            Some(r) => Ok(r.to_owned()),
            None => result(&()),
        }
    } else if !is_null(wire.result) {
        return Incoming::Invalid {
            id,
            error: Error::invalid_request().with_reason("one of \"result\" and \"error\" must be null"),
        };
    } else {
        Err(wire
            .error
            .map(error_from_v1)
            .unwrap_or_else(Error::internal_error))
    };
    Incoming::Response(Response { id, outcome })
}

/// A 1.0 error value as an [`Error`] (see [`Version`]'s "Error values").
fn error_from_v1(raw: &serde_json::value::RawValue) -> Error {
    if raw.get().starts_with('{') {
        if let Ok(e) = serde_json::from_str::<Error>(raw.get()) {
            return e;
        }
    }
    let message = match string_value(raw.get()) {
        Some(s) => std::borrow::Cow::Owned(s.into_owned()),
        None => std::borrow::Cow::Borrowed(V1_ERROR_CODE.default_message()),
    };
    Error::new(V1_ERROR_CODE, message).with_raw_data(raw.to_owned())
}

#[cfg(test)]
mod batch_limit_tests {
    use super::*;

    fn kept(batch: &BatchEntries<'_>) -> Vec<String> {
        batch.entries.iter().map(|(e, _)| (*e).to_owned()).collect()
    }

    /// The batch by serde_json, checked to be what the reader splits too.
    fn split(text: &str, limit: usize) -> BatchEntries<'_> {
        let serde = parse_batch(text, limit).unwrap();
        let read = reader::read_batch(text, limit, 0).unwrap();
        let read_kept: Vec<String> = read.entries.iter().map(|(e, _)| (*e).to_owned()).collect();
        assert_eq!((read_kept, read.total), (kept(&serde), serde.total), "{text}");
        serde
    }

    #[test]
    fn a_batch_is_kept_up_to_the_limit_and_the_rest_only_counted() {
        let over = split("[1, {\"a\":[2]}, \"3\", 4, [5], null]", 3);
        assert_eq!(kept(&over), ["1", "{\"a\":[2]}", "\"3\""]);
        assert_eq!(over.total, 6);
        let at = split("[1,2,3]", 3);
        assert_eq!(
            (kept(&at), at.total),
            (vec!["1".into(), "2".into(), "3".into()], 3)
        );
        let empty = split(" [ ] ", 3);
        assert_eq!((empty.entries.len(), empty.total), (0, 0));
        // 524,000 entries (the 1 MiB body of zeros): 1,024 kept.
        let zeros = format!("[{}0]", "0,".repeat(523_999));
        let batch = split(&zeros, 1024);
        assert_eq!((batch.entries.len(), batch.total), (1024, 524_000));
    }

    #[test]
    fn broken_json_past_the_limit_is_the_same_error_as_reading_it_whole() {
        for text in [
            "[1,2,3,4,",
            "[1,2,3,4,]",
            "[1,2,3,4 5]",
            "[1,2,3,4,{\"a\":}]",
            "[1,2,3,4] x",
            "[1,2,",
            "[1,2,3,4,\"\\q\"]",
        ] {
            let whole = serde_json::from_str::<Vec<&RawValue>>(text).map(|v| v.len());
            assert!(reader::read_batch(text, 2, 0).is_err(), "{text}");
            let limited = parse_batch(text, 2).map(|b| b.total);
            assert_eq!(
                limited.map_err(|e| e.to_string()),
                whole.map_err(|e| e.to_string()),
                "{text}"
            );
        }
    }
}

#[cfg(test)]
mod scan_tests {
    use super::*;

    /// Every entry the scan reads must come out exactly as the full parse
    /// reads it; the entries it leaves to the full parse are named.
    #[test]
    fn the_scan_reads_entries_as_the_full_parse_does() {
        let scanned = [
            r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#,
            r#"{ "jsonrpc" : "2.0" , "method" : "a" , "id" : "x\"y" }"#,
            r#"{"id":null,"method":"m","jsonrpc":"2.0","params":{"a":[1,{"b":"]}"}],"c":"\\"}}"#,
            r#"{"jsonrpc":"2.0","method":"n\u00e9","params":[]}"#,
            r#"{"jsonrpc":"1.0","method":"m","id":-1.5e3}"#,
            r#"{"method":"m","id":1}"#,
            r#"{"jsonrpc":"2.0","method":7,"id":true}"#,
            r#"{"jsonrpc":"2.0","result":1,"id":1}"#,
            r#"{"jsonrpc":"2.0","error":{"code":1,"message":"m"},"id":[1]}"#,
            r#"{"jsonrpc":"2.0","method":"m","params":"p","id":1,"x":1,"x":2}"#,
            r#"{"jsonrpc":"2.0","method":"m","params":null,"id":{}}"#,
            r#"{"jsonrpc":"2.0","method":"m","id":1,"extra":[[[]]],"more":{"k":{}}}"#,
            r#"{}"#,
            "{\"jsonrpc\":\"2.0\",\n\t\"method\":\"m\"\r,\"id\":0}",
        ];
        for text in scanned {
            let frame = Bytes::copy_from_slice(text.as_bytes());
            let text = std::str::from_utf8(&frame).unwrap();
            let head = match reader::read_object(text) {
                Ok(reader::ReadObject { head: Some(head), .. }) => head,
                other => panic!("not read: {text}: {:?}", other.err()),
            };
            let frame = Frame::Shared(&frame);
            let fast = entry_from_head(&frame, head, Accept::Requests, |id, _| {
                invalid_because_id(id, "expected a request, got a response")
            })
            .into_incoming(&frame);
            assert_eq!(
                fast,
                parse_entry(&frame, text, Accept::Requests).unwrap(),
                "{text}"
            );
        }
        for text in [
            r#"{"jsonrpc":"2.0","method":"a","method":"b","id":1}"#,
            r#"{"jsonrpc":"2.0","method":"a","id":1,"id":2}"#,
            r#"{"jsonrpc":"2.0","result":1,"result":2,"id":1}"#,
            r#"{"jsonrpc":"2.0","meth\u006fd":"a","id":1}"#,
            r#"[1]"#,
            r#"1"#,
        ] {
            assert!(
                !matches!(
                    reader::read_object(text),
                    Ok(reader::ReadObject { head: Some(_), .. })
                ),
                "{text}"
            );
        }
    }
}
