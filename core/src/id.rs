//! Request ids, kept exactly as the peer sent them.

use std::fmt;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A request id: a JSON string, number or `null` (under JSON-RPC 1.0, any
/// JSON value; see [`Version`](crate::Version)).
///
/// The id is kept as the JSON text the peer sent, so a response echoes it
/// byte for byte: `1` stays `1`, `1.50` stays `1.50`, `"1"` stays `"1"`, and
/// a number too large for any integer type survives unchanged.
///
/// ```
/// use sansrpc::Id;
///
/// assert_eq!(Id::from(7u64).as_json(), "7");
/// assert_eq!(Id::from("abc").as_json(), r#""abc""#);
/// assert_eq!(Id::null().as_json(), "null");
/// assert_eq!(Id::from(7u64).as_u64(), Some(7));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Id {
    /// Always valid UTF-8 JSON text; usually a slice of the frame it was
    /// read from, so reading and echoing an id allocates nothing.
    raw: bytes::Bytes,
}

/// What kind of JSON value an [`Id`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// `null`.
    Null,
    /// A JSON number.
    Number,
    /// A JSON string.
    String,
    /// An object, an array or a boolean: only JSON-RPC 1.0 allows these
    /// (see [`Version`](crate::Version)).
    Other,
}

impl Id {
    /// The `null` id.
    pub fn null() -> Self {
        Self {
            raw: bytes::Bytes::from_static(b"null"),
        }
    }

    /// Reads an id from JSON text, if the text is a valid id (a string, a
    /// number or `null`). Surrounding whitespace is trimmed.
    pub fn from_json(text: &str) -> Option<Self> {
        let text = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        match text.as_bytes().first()? {
            b'"' => {
                // Validate it is one complete string.
                serde_json::from_str::<&RawValue>(text).ok()?;
                serde_json::from_str::<std::borrow::Cow<'_, str>>(text).ok()?;
            }
            b'-' | b'0'..=b'9' => {
                serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
                if !text
                    .bytes()
                    .all(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                {
                    return None;
                }
            }
            b'n' if text == "null" => {}
            _ => return None,
        }
        Some(Self {
            raw: bytes::Bytes::copy_from_slice(text.as_bytes()),
        })
    }

    /// An id from the text of a value the JSON parser already validated:
    /// only its kind needs checking.
    pub(crate) fn from_valid_json(frame: &Frame<'_>, text: &str) -> Option<Self> {
        match text.as_bytes().first()? {
            b'"' | b'-' | b'0'..=b'9' => Some(Self {
                raw: frame.share(text),
            }),
            b'n' => Some(Self::null()),
            _ => None,
        }
    }

    /// A JSON-RPC 1.0 id: any value the JSON parser already validated.
    pub(crate) fn from_any_json(frame: &Frame<'_>, text: &str) -> Self {
        match text.as_bytes().first() {
            Some(b'n') => Self::null(),
            _ => Self {
                raw: frame.share(text),
            },
        }
    }

    /// The id as the JSON text it was sent as.
    pub fn as_json(&self) -> &str {
        // Built only from `&str`s, so this never falls back.
        std::str::from_utf8(&self.raw).unwrap_or("null")
    }

    /// [`as_json`](Self::as_json) as bytes, without the UTF-8 check.
    pub(crate) fn json_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// What kind of JSON value the id is.
    pub fn kind(&self) -> IdKind {
        match self.raw.first() {
            Some(b'"') => IdKind::String,
            Some(b'n') => IdKind::Null,
            Some(b'-' | b'0'..=b'9') => IdKind::Number,
            _ => IdKind::Other,
        }
    }

    /// Whether the id is `null`.
    pub fn is_null(&self) -> bool {
        self.kind() == IdKind::Null
    }

    /// The id as an unsigned integer, if it is a JSON number without
    /// fraction or exponent that fits a `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        if self.kind() != IdKind::Number {
            return None;
        }
        self.as_json().parse().ok()
    }

    /// The id as a signed integer, if it is a JSON integer that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        if self.kind() != IdKind::Number {
            return None;
        }
        self.as_json().parse().ok()
    }

    /// The id's string value, if it is a JSON string.
    pub fn as_string(&self) -> Option<String> {
        if self.kind() != IdKind::String {
            return None;
        }
        serde_json::from_str(self.as_json()).ok()
    }
}

impl From<u64> for Id {
    fn from(v: u64) -> Self {
        Self {
            raw: bytes::Bytes::from(v.to_string()),
        }
    }
}

impl From<i64> for Id {
    fn from(v: i64) -> Self {
        Self {
            raw: bytes::Bytes::from(v.to_string()),
        }
    }
}

impl From<&str> for Id {
    fn from(v: &str) -> Self {
        let mut out = Vec::with_capacity(v.len() + 2);
        crate::error::write_json_string(v, &mut out);
        Self {
            raw: bytes::Bytes::from(String::from_utf8_lossy(&out).into_owned()),
        }
    }
}

impl From<String> for Id {
    fn from(v: String) -> Self {
        Self::from(v.as_str())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.as_json())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_json())
    }
}

impl Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<&RawValue>(self.as_json()) {
            Ok(raw) => raw.serialize(s),
            Err(_) => s.serialize_unit(),
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        Id::from_json(raw.get())
            .ok_or_else(|| serde::de::Error::custom("an id must be a string, a number or null"))
    }
}

/// The message being read, for what its parts keep of it (ids, params):
/// either a frame already held as [`Bytes`], whose parts are slices of it,
/// or borrowed bytes, whose kept parts are copied (only those, never the
/// whole message).
#[derive(Clone, Copy)]
pub(crate) enum Frame<'a> {
    /// A frame held as `Bytes`.
    Shared(&'a Bytes),
    /// Borrowed bytes.
    Borrowed,
}

impl Frame<'_> {
    /// `part` (a piece of the message's text) as `Bytes`.
    pub(crate) fn share(&self, part: &str) -> Bytes {
        match self {
            Self::Shared(frame) => share(frame, part),
            Self::Borrowed => Bytes::copy_from_slice(part.as_bytes()),
        }
    }
}

/// The sub-slice of `frame` that `part` borrows, without copying; falls
/// back to a copy if `part` is not inside `frame` (it always is).
pub(crate) fn share(frame: &Bytes, part: &str) -> Bytes {
    let start = (part.as_ptr() as usize).checked_sub(frame.as_ptr() as usize);
    match start {
        Some(s) if s.checked_add(part.len()).is_some_and(|end| end <= frame.len()) => {
            frame.slice(s..s + part.len())
        }
        _ => Bytes::copy_from_slice(part.as_bytes()),
    }
}
