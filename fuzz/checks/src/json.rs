//! Small, deliberately plain JSON helpers shared by the checks.

use std::fmt;

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// The top-level member names of a JSON object, in order, duplicates kept.
/// `None` when the text is not an object (or not JSON).
pub(crate) fn object_keys(text: &str) -> Option<Vec<String>> {
    struct Keys(Vec<String>);
    impl<'de> Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Keys;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some((k, _)) = map.next_entry::<String, IgnoredAny>()? {
                        keys.push(k);
                    }
                    Ok(Keys(keys))
                }
            }
            d.deserialize_map(V)
        }
    }
    serde_json::from_str::<Keys>(text).ok().map(|k| k.0)
}

/// Whether any of `names` occurs more than once among the object's keys.
pub(crate) fn has_duplicate(keys: &[String], names: &[&str]) -> bool {
    names
        .iter()
        .any(|n| keys.iter().filter(|k| k.as_str() == *n).count() > 1)
}

/// Nesting depth of a value: scalars 0, `[]` and `{}` 1.
pub(crate) fn value_depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(value_depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The deepest bracket nesting in the text, brackets inside strings not
/// counted; works on text that is not valid JSON, as the core's pre-parse
/// depth check does.
pub(crate) fn scan_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                // Skip the string, escapes included.
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Whether the text is exactly one JSON value by serde_json's own
/// scanner, which (unlike `Value`) accepts numbers beyond `f64` and lone
/// surrogate escapes, as RFC 8259's grammar does.
pub(crate) fn is_json_text(text: &str) -> bool {
    serde_json::from_str::<IgnoredAny>(text).is_ok()
}

/// A JSON-RPC id value: string, number or null.
pub(crate) fn is_id(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Null)
}

/// One response object as the server must write it: exactly these members,
/// no duplicates, `"jsonrpc":"2.0"`, an id, and exactly one of `result`
/// and `error`, where `error` is `{code: integer, message: string, data?}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StrictResponse {
    /// The id's JSON text, trimmed.
    pub(crate) id: String,
    /// `Ok(result text)` or `Err((code, message, data text))`.
    pub(crate) outcome: Result<String, (i64, String, Option<String>)>,
}

fn some_raw<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireResponse<'a> {
    #[serde(borrow)]
    jsonrpc: &'a RawValue,
    #[serde(borrow)]
    id: &'a RawValue,
    #[serde(default, borrow, deserialize_with = "some_raw")]
    result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "some_raw")]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireError<'a> {
    code: i64,
    message: String,
    #[serde(default, borrow, deserialize_with = "some_raw")]
    data: Option<&'a RawValue>,
}

/// Validates one response object; `Err` says what is wrong.
pub(crate) fn strict_response(text: &str) -> Result<StrictResponse, String> {
    if !text.trim_start().starts_with('{') {
        return Err(format!("not an object: {text}"));
    }
    let w: WireResponse<'_> = serde_json::from_str(text).map_err(|e| format!("{e}: {text}"))?;
    if w.jsonrpc.get() != "\"2.0\"" {
        return Err(format!("jsonrpc is {}", w.jsonrpc.get()));
    }
    let id = w.id.get().trim();
    if sansrpc::Id::from_json(id).is_none() {
        return Err(format!("bad id {id}"));
    }
    let outcome = match (w.result, w.error) {
        (Some(r), None) => Ok(r.get().to_owned()),
        (None, Some(e)) => {
            if !e.get().starts_with('{') {
                return Err(format!("error is not an object: {}", e.get()));
            }
            let e: WireError<'_> = serde_json::from_str(e.get()).map_err(|x| format!("{x}: {text}"))?;
            Err((e.code, e.message, e.data.map(|d| d.get().to_owned())))
        }
        _ => return Err(format!("not exactly one of result and error: {text}")),
    };
    Ok(StrictResponse {
        id: id.to_owned(),
        outcome,
    })
}

/// One output message: a single response, or a non-empty array of them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OutMessage {
    Single(StrictResponse),
    Batch(Vec<StrictResponse>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireResponseV1<'a> {
    #[serde(borrow)]
    result: &'a RawValue,
    #[serde(borrow)]
    error: &'a RawValue,
    #[serde(borrow)]
    id: &'a RawValue,
}

/// Validates one JSON-RPC 1.0 response object as sansrpc writes it: exactly
/// `result`, `error` and `id`, one of `result`/`error` null, a non-null
/// error a strict error object; the id any JSON value.
pub(crate) fn strict_response_v1(text: &str) -> Result<StrictResponse, String> {
    if !text.trim_start().starts_with('{') {
        return Err(format!("not an object: {text}"));
    }
    let w: WireResponseV1<'_> = serde_json::from_str(text).map_err(|e| format!("1.0: {e}: {text}"))?;
    let outcome = match (w.result.get(), w.error.get()) {
        (r, "null") => Ok(r.to_owned()),
        ("null", e) => {
            if !e.starts_with('{') {
                return Err(format!("error is not an object: {e}"));
            }
            let e: WireError<'_> = serde_json::from_str(e).map_err(|x| format!("{x}: {text}"))?;
            Err((e.code, e.message, e.data.map(|d| d.get().to_owned())))
        }
        _ => return Err(format!("1.0: result and error both non-null: {text}")),
    };
    Ok(StrictResponse {
        id: w.id.get().trim().to_owned(),
        outcome,
    })
}

/// Validates one whole output message that may be a 1.0 response; the
/// flag says whether it is one (a batch is always 2.0).
pub(crate) fn strict_message_any(frame: &[u8]) -> Result<(OutMessage, bool), String> {
    match strict_message(frame) {
        Ok(m) => Ok((m, false)),
        Err(why) => {
            let text = std::str::from_utf8(frame).map_err(|e| format!("output is not UTF-8: {e}"))?;
            if text.trim_start().starts_with('{') && is_json_text(text) {
                strict_response_v1(text)
                    .map(|r| (OutMessage::Single(r), true))
                    .map_err(|v1| format!("{why}; as 1.0: {v1}"))
            } else {
                Err(why)
            }
        }
    }
}

/// Validates one whole output message.
pub(crate) fn strict_message(frame: &[u8]) -> Result<OutMessage, String> {
    let text = std::str::from_utf8(frame).map_err(|e| format!("output is not UTF-8: {e}"))?;
    if !is_json_text(text) {
        return Err(format!("output is not JSON: {text}"));
    }
    if text.trim_start().starts_with('[') {
        let entries: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| format!("{e}: {text}"))?;
        if entries.is_empty() {
            return Err("empty batch answer".into());
        }
        entries
            .iter()
            .map(|e| strict_response(e.get()))
            .collect::<Result<Vec<_>, _>>()
            .map(OutMessage::Batch)
    } else {
        strict_response(text).map(OutMessage::Single)
    }
}
