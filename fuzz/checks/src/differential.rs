//! Target `differential`: the core's verdict on a message against a small,
//! obviously-correct reference validator written over `serde_json::Value`.
//!
//! The reference follows the JSON-RPC 2.0 specification directly. Where
//! the core legitimately differs, the reference encodes the core's
//! documented choice explicitly (each rule is marked `DIFF:` below):
//!
//! 1. `DIFF: BOM` — a leading UTF-8 byte order mark is tolerated.
//! 2. `DIFF: depth` — nesting deeper than `Limits::max_depth` is `-32600`
//!    for the whole message, checked *before* parsing (so deep garbage is
//!    `-32600`, not `-32700`).
//! 3. `DIFF: batch` — a batch over `Limits::max_batch_len` is one `-32600`.
//! 4. `DIFF: duplicates` — `Value` keeps the last of duplicate members; the
//!    core rejects an entry with a duplicate `jsonrpc`/`method`/`params`/
//!    `id`/`result`/`error` member as `-32600`, with the entry's id when it
//!    has exactly one valid `id` member, else with `id: null` (and an
//!    error object with a duplicate `code`/`message`/`data` as malformed).
//!    Duplicates of other members are ignored by both.
//! 5. `DIFF: unrepresentable` — `Value` cannot hold numbers beyond `f64`
//!    (`1e400`) or lone surrogate escapes (`"\ud800"`), which RFC 8259's
//!    grammar allows and the core accepts. For such input the reference
//!    abstains, and only checks that the core did not call it a parse error.
//! 6. `DIFF: data null` — an error object's `"data": null` reads as absent.
//!
//! Compared for `Accept::Requests`, `Accept::Responses` and `Accept::Both`,
//! with the default and tight limits.

use bytes::Bytes;
use sansrpc::wire::{Accept, Incoming, Message, parse_message};
use sansrpc::{ErrorCode, Limits};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::json::{has_duplicate, is_id, is_json_text, object_keys, scan_depth, value_depth};

const BOM: &str = "\u{feff}";
const KNOWN: [&str; 6] = ["jsonrpc", "method", "params", "id", "result", "error"];
const INVALID: i64 = -32600;
const PARSE: i64 = -32700;

/// An entry's verdict, in `Value` terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A call.
    Call {
        /// The id.
        id: Value,
        /// The method.
        method: String,
        /// The params, if present.
        params: Option<Value>,
    },
    /// A notification.
    Notification {
        /// The method.
        method: String,
        /// The params, if present.
        params: Option<Value>,
    },
    /// Answered with an error by the receiver itself.
    Invalid {
        /// The id the answer carries.
        id: Value,
        /// The error code.
        code: i64,
    },
    /// A response.
    Response {
        /// The id.
        id: Value,
        /// The result, or `(code, message, data)`.
        outcome: Result<Value, (i64, String, Option<Value>)>,
    },
}

/// A whole message's verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Answered with one error, `id: null`.
    Rejected(i64),
    /// One entry.
    Single(Entry),
    /// A batch.
    Batch(Vec<Entry>),
    /// The reference cannot represent the input (`DIFF: unrepresentable`).
    Abstain,
}

/// The reference verdict on `bytes`.
pub fn reference(bytes: &[u8], limits: &Limits, accept: Accept) -> Verdict {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Verdict::Rejected(PARSE);
    };
    let text = text.strip_prefix(BOM).unwrap_or(text); // DIFF: BOM
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) if scan_depth(text) > limits.max_depth => return Verdict::Rejected(INVALID), // DIFF: depth
        Err(_) if is_json_text(text) => return Verdict::Abstain, // DIFF: unrepresentable
        Err(_) => return Verdict::Rejected(PARSE),
    };
    assert_eq!(
        value_depth(&value),
        scan_depth(text),
        "the two depth measures disagree"
    );
    if value_depth(&value) > limits.max_depth {
        return Verdict::Rejected(INVALID); // DIFF: depth
    }
    match value {
        Value::Array(items) if items.is_empty() => Verdict::Rejected(INVALID),
        Value::Array(items) if items.len() > limits.max_batch_len => Verdict::Rejected(INVALID), // DIFF: batch
        Value::Array(items) => {
            // Only to see each entry's own member list for DIFF: duplicates.
            let raws: Vec<&RawValue> = serde_json::from_str(text).unwrap_or_default();
            assert_eq!(raws.len(), items.len());
            Verdict::Batch(
                items
                    .into_iter()
                    .zip(raws)
                    .map(|(v, raw)| entry(v, raw.get(), accept))
                    .collect(),
            )
        }
        v @ Value::Object(_) => Verdict::Single(entry(v, text, accept)),
        _ => Verdict::Rejected(INVALID),
    }
}

fn entry(v: Value, raw: &str, accept: Accept) -> Entry {
    let null = || Entry::Invalid {
        id: Value::Null,
        code: INVALID,
    };
    let Value::Object(obj) = v else {
        return null();
    };
    let keys = object_keys(raw).unwrap_or_default();
    if has_duplicate(&keys, &KNOWN) {
        // DIFF: duplicates. A lone valid id still comes back.
        let lone = keys.iter().filter(|k| k.as_str() == "id").count() == 1;
        return match obj.get("id") {
            Some(id) if lone && is_id(id) => Entry::Invalid {
                id: id.clone(),
                code: INVALID,
            },
            _ => null(),
        };
    }
    let id = match obj.get("id") {
        None => None,
        Some(id) if is_id(id) => Some(id.clone()),
        Some(_) => return null(),
    };
    let version_ok = obj.get("jsonrpc") == Some(&Value::String("2.0".into()));
    let is_response =
        !obj.contains_key("method") && (obj.contains_key("result") || obj.contains_key("error"));
    if is_response && accept != Accept::Requests {
        return response(&obj, raw, id, version_ok);
    }
    let answer_id = id.clone().unwrap_or(Value::Null);
    let invalid = Entry::Invalid {
        id: answer_id,
        code: INVALID,
    };
    if accept == Accept::Responses || !version_ok {
        return invalid;
    }
    let Some(Value::String(method)) = obj.get("method") else {
        return invalid;
    };
    let params = match obj.get("params") {
        None => None,
        Some(p @ (Value::Array(_) | Value::Object(_))) => Some(p.clone()),
        Some(_) => return invalid,
    };
    match id {
        Some(id) => Entry::Call {
            id,
            method: method.clone(),
            params,
        },
        None => Entry::Notification {
            method: method.clone(),
            params,
        },
    }
}

fn response(obj: &Map<String, Value>, raw: &str, id: Option<Value>, version_ok: bool) -> Entry {
    let invalid = |id: Option<Value>| Entry::Invalid {
        id: id.unwrap_or(Value::Null),
        code: INVALID,
    };
    if !version_ok {
        return invalid(id);
    }
    let Some(id) = id else {
        return invalid(None);
    };
    let outcome = match (obj.get("result"), obj.get("error")) {
        (Some(r), None) => Ok(r.clone()),
        (None, Some(Value::Object(e))) => {
            // The error object's own raw text, for DIFF: duplicates.
            let dup = error_member_raw(raw)
                .as_deref()
                .and_then(object_keys)
                .is_some_and(|k| has_duplicate(&k, &["code", "message", "data"]));
            match (e.get("code").and_then(Value::as_i64), e.get("message")) {
                (Some(code), Some(Value::String(message))) if !dup => {
                    let data = e.get("data").filter(|d| !d.is_null()).cloned(); // DIFF: data null
                    Err((code, message.clone(), data))
                }
                _ => return invalid(Some(id)),
            }
        }
        _ => return invalid(Some(id)),
    };
    Entry::Response { id, outcome }
}

/// The raw text of the `error` member of an object.
fn error_member_raw(raw: &str) -> Option<String> {
    let map: std::collections::HashMap<String, &RawValue> = serde_json::from_str(raw).ok()?;
    map.get("error").map(|r| r.get().to_owned())
}

fn to_value(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

/// The core's verdict, in the reference's terms; `None` when the core
/// holds something `Value` cannot represent.
fn core_entry(e: &Incoming) -> Option<Entry> {
    let params = |p: &sansrpc::RawParams| match p.as_str() {
        None => Some(None),
        Some(t) => to_value(t).map(Some),
    };
    Some(match e {
        Incoming::Call {
            id,
            method,
            params: p,
        } => Entry::Call {
            id: to_value(id.as_json())?,
            method: method.clone(),
            params: params(p)?,
        },
        Incoming::Notification { method, params: p } => Entry::Notification {
            method: method.clone(),
            params: params(p)?,
        },
        // A peer reports an invalid response rather than answering it;
        // as a parse verdict it is an invalid entry with that id.
        Incoming::Invalid { id, error } | Incoming::InvalidResponse { id, error } => Entry::Invalid {
            id: to_value(id.as_json())?,
            code: error.code().code(),
        },
        Incoming::Response(r) => Entry::Response {
            id: to_value(r.id.as_json())?,
            outcome: match &r.outcome {
                Ok(raw) => Ok(to_value(raw.get())?),
                Err(e) => Err((
                    e.code().code(),
                    e.message().to_owned(),
                    match e.data() {
                        None => None,
                        Some(d) => Some(to_value(d.get())?),
                    },
                )),
            },
        },
        other => panic!("unknown entry kind {other:?}"),
    })
}

fn core_verdict(m: &Message) -> Verdict {
    let conv = |e: &Incoming| {
        core_entry(e)
            .unwrap_or_else(|| panic!("reference parsed it but the core holds an unreadable value: {e:?}"))
    };
    match m {
        Message::Rejected(e) => Verdict::Rejected(e.code().code()),
        Message::Single(e) => Verdict::Single(conv(e)),
        Message::Batch(v) => Verdict::Batch(v.iter().map(conv).collect()),
        other => panic!("unknown message kind {other:?}"),
    }
}

/// Whether the input has an `"error": [` member: the core reads an error
/// given as an array (`[code, message]`) as if it were an object.
fn error_array_bug(data: &[u8]) -> bool {
    let compact: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    compact.windows(9).any(|w| w == b"\"error\":[")
}

/// Runs the `differential` target on one input.
pub fn check(data: &[u8]) {
    let frame = Bytes::copy_from_slice(data);
    for limits in crate::parse::limit_sets() {
        for accept in [Accept::Requests, Accept::Responses, Accept::Both] {
            let core = parse_message(&frame, &limits, accept);
            match reference(data, &limits, accept) {
                Verdict::Abstain => {
                    if let Message::Rejected(e) = &core {
                        assert_ne!(
                            e.code(),
                            ErrorCode::PARSE_ERROR,
                            "valid JSON text called a parse error"
                        );
                    }
                }
                want => {
                    let got = core_verdict(&core);
                    if got != want && error_array_bug(data) && crate::open_bug("error-object-as-array") {
                        continue;
                    }
                    assert_eq!(
                        got,
                        want,
                        "core and reference disagree ({accept:?}, max_depth {}, max_batch_len {}) on {:?}",
                        limits.max_depth,
                        limits.max_batch_len,
                        String::from_utf8_lossy(data)
                    );
                }
            }
        }
    }
}
