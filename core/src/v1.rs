//! JSON-RPC 1.0 writing: responses, errors and requests in 1.0 form, and
//! [`Version`]'s writers that pick the form (1.0 parsing is in `message`).

use crate::error::{Error, write_json_string};
use crate::id::Id;
use crate::message::{Outcome, RawParams};
use crate::version::Version;

impl Version {
    /// Writes a response to `id` in this version's form (2.0 for `Auto`).
    ///
    /// ```
    /// use sansrpc::{Id, Version};
    ///
    /// let mut out = Vec::new();
    /// Version::V1.write_response(&Id::from(1u64), &sansrpc::result(&"pong"), &mut out);
    /// assert_eq!(out, br#"{"result":"pong","error":null,"id":1}"#);
    /// ```
    pub fn write_response(self, id: &Id, outcome: &Outcome, out: &mut Vec<u8>) {
        if self.sends_v1() {
            write_response_v1(id, outcome, out)
        } else {
            crate::message::write_response(id, outcome, out)
        }
    }

    /// Writes a request (`id: Some`) or a notification (`id: None`) in this
    /// version's form (2.0 for `Auto`).
    ///
    /// ```
    /// use sansrpc::{RawParams, Version};
    ///
    /// let mut out = Vec::new();
    /// Version::V1.write_request(None, "hi", &RawParams::from_json(r#"["the server"]"#).unwrap(), &mut out);
    /// assert_eq!(out, br#"{"method":"hi","params":["the server"],"id":null}"#);
    /// ```
    pub fn write_request(self, id: Option<&Id>, method: &str, params: &RawParams, out: &mut Vec<u8>) {
        if self.sends_v1() {
            write_request_v1(id, method, params, out)
        } else {
            crate::message::write_request(id, method, params, out)
        }
    }
}

/// Writes `{"result":<result>,"error":null,"id":<id>}` or
/// `{"result":null,"error":<error>,"id":<id>}`.
pub(crate) fn write_response_v1(id: &Id, outcome: &Outcome, out: &mut Vec<u8>) {
    match outcome {
        Ok(result) => {
            out.extend_from_slice(b"{\"result\":");
            out.extend_from_slice(result.get().as_bytes());
            out.extend_from_slice(b",\"error\":null,\"id\":");
        }
        Err(error) => {
            out.extend_from_slice(b"{\"result\":null,\"error\":");
            error.write_json(out);
            out.extend_from_slice(b",\"id\":");
        }
    }
    out.extend_from_slice(id.as_json().as_bytes());
    out.push(b'}');
}

/// Writes an error response in 1.0 form.
pub(crate) fn write_error_v1(id: &Id, error: &Error, out: &mut Vec<u8>) {
    write_error_v1_to(id.as_json(), error, out);
}

/// [`write_error_v1`] for an id given as its JSON text.
pub(crate) fn write_error_v1_to(id: &str, error: &Error, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"result\":null,\"error\":");
    error.write_json(out);
    out.extend_from_slice(b",\"id\":");
    out.extend_from_slice(id.as_bytes());
    out.push(b'}');
}

/// Writes `{"method":<method>,"params":<params or []>,"id":<id or null>}`.
pub(crate) fn write_request_v1(id: Option<&Id>, method: &str, params: &RawParams, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"method\":");
    write_json_string(method, out);
    out.extend_from_slice(b",\"params\":");
    match params.as_bytes() {
        Some(p) => out.extend_from_slice(p),
        None => out.extend_from_slice(b"[]"),
    }
    out.extend_from_slice(b",\"id\":");
    match id {
        Some(id) => out.extend_from_slice(id.as_json().as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    out.push(b'}');
}
