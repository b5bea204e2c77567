//! Where the JSON-RPC message sits in a Socket.IO event: its first
//! argument. Only the Socket.IO argument list is read here; the message
//! itself goes to the core untouched.

use std::convert::Infallible;
use std::sync::Arc;

use serde_json::value::RawValue;
use socketioxide::adapter::Adapter;
use socketioxide::handler::{FromMessageParts, Value};
use socketioxide::socket::Socket;

/// The first argument of an event (or of an acknowledgement).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Arg {
    /// A JSON value other than a string: these bytes, as sent.
    Json(Vec<u8>),
    /// A JSON string: its content.
    Text(Vec<u8>),
    /// No argument at all (or one that is not text: a binary attachment).
    Missing,
}

/// The message carried by `arg`: a string's content, or the value's own
/// bytes.
pub(crate) fn first_arg_bytes(arg: Option<&RawValue>) -> Arg {
    let Some(arg) = arg else { return Arg::Missing };
    let text = arg.get();
    if text.starts_with('"') {
        match serde_json::from_str::<String>(text) {
            Ok(s) => Arg::Text(s.into_bytes()),
            // serde_json produced this value, so it is a valid string.
            Err(_) => Arg::Missing,
        }
    } else {
        Arg::Json(text.as_bytes().to_vec())
    }
}

/// The first argument of an event packet's data `["event", arg, ...]`.
pub(crate) fn event_arg(data: &str) -> Arg {
    match serde_json::from_str::<Vec<&RawValue>>(data) {
        Ok(args) => first_arg_bytes(args.get(1).copied()),
        Err(_) => Arg::Missing,
    }
}

/// The raw event data, taken before socketioxide deserializes anything.
pub(crate) struct RawEvent(pub(crate) Option<String>);

impl<A: Adapter> FromMessageParts<A> for RawEvent {
    type Error = Infallible;

    fn from_message_parts(_: &Arc<Socket<A>>, v: &mut Value, _: &Option<i64>) -> Result<Self, Infallible> {
        Ok(RawEvent(v.as_str().map(|s| s.as_str().to_owned())))
    }
}
