//! Target `params`: `RawParams::parse::<T>()` for several `T` — tuples, a
//! struct by position or by name, a tuple struct, `Vec`, `Option`,
//! `HashMap`, `()`, `Value` — against the reference
//! `serde_json::from_value::<T>(Value)`.
//!
//! The input is the params text; empty input means "no params".
//!
//! Asserts: the same `Ok` value or an `Err`, and every `Err` is `-32602`;
//! `RawParams::from_json` accepts exactly the JSON arrays and objects.
//! Legitimate differences, encoded explicitly:
//! - `DIFF: duplicates` — a struct rejects a duplicate field where `Value`
//!   keeps the last one: with a duplicate of a struct's field the core
//!   must fail; with other duplicate members the reference abstains, as
//!   `Value` has dropped the overwritten values the core still reads;
//! - `DIFF: unrepresentable` — text `Value` cannot hold (numbers beyond
//!   `f64`, lone surrogates): the reference abstains;
//! - `DIFF: absent` — no params read as `null`, else `[]`, else `{}`.

use std::collections::HashMap;
use std::fmt::Debug;

use sansrpc::{ErrorCode, RawParams};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::{has_duplicate, is_json_text, object_keys};

/// A struct filled by name (object) or by position (array).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named {
    /// Required.
    pub a: i64,
    /// Optional.
    #[serde(default)]
    pub b: Option<String>,
    /// Defaults to empty.
    #[serde(default)]
    pub c: Vec<bool>,
}

/// The field names of [`Named`].
pub const NAMED_FIELDS: &[&str] = &["a", "b", "c"];

/// A tuple struct, filled by position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair(pub u8, pub String);

/// What the reference expects.
#[derive(Debug, PartialEq)]
pub enum Expect<T> {
    /// This value.
    Ok(T),
    /// A failure.
    Err,
    /// The reference cannot tell.
    Abstain,
}

/// The reference for one type; `fields` are a struct's field names (for
/// `DIFF: duplicates`), empty for other types.
pub fn reference<T: DeserializeOwned>(text: Option<&str>, fields: &[&str]) -> Expect<T> {
    let Some(text) = text else {
        // DIFF: absent
        for v in [
            Value::Null,
            Value::Array(Vec::new()),
            Value::Object(Default::default()),
        ] {
            if let Ok(t) = serde_json::from_value(v) {
                return Expect::Ok(t);
            }
        }
        return Expect::Err;
    };
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) if is_json_text(text) => return Expect::Abstain, // DIFF: unrepresentable
        Err(_) => return Expect::Err,
    };
    let keys = object_keys(text).unwrap_or_default();
    if !fields.is_empty() && has_duplicate(&keys, fields) {
        return Expect::Err; // DIFF: duplicates
    }
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    if unique.len() != keys.len() {
        // DIFF: duplicates — `Value` dropped the overwritten values, which
        // the core still reads (a map keeps the last, but fails on a bad
        // earlier one, e.g. `{"y": -0, "y": 1}` into `HashMap<_, i64>`).
        return Expect::Abstain;
    }
    match serde_json::from_value(v) {
        Ok(t) => Expect::Ok(t),
        Err(_) => Expect::Err,
    }
}

fn compare<T: DeserializeOwned + PartialEq + Debug>(params: &RawParams, fields: &[&str]) {
    let got = params.parse::<T>();
    if let Err(e) = &got {
        assert_eq!(e.code(), ErrorCode::INVALID_PARAMS, "parse failed with {e}");
    }
    match reference::<T>(params.as_str(), fields) {
        Expect::Abstain => {}
        Expect::Ok(want) => match got {
            Ok(v) => assert_eq!(v, want, "{} from {params:?}", std::any::type_name::<T>()),
            Err(e) => panic!(
                "{} from {params:?}: core fails ({e}), reference gives {want:?}",
                std::any::type_name::<T>()
            ),
        },
        Expect::Err => assert!(
            got.is_err(),
            "{} from {params:?}: core gives {got:?}, reference fails",
            std::any::type_name::<T>()
        ),
    }
}

/// Checks every type against one `RawParams`.
pub fn check_params(params: &RawParams) {
    compare::<(i64, i64)>(params, &[]);
    compare::<(String,)>(params, &[]);
    compare::<(Option<u8>, bool)>(params, &[]);
    compare::<Named>(params, NAMED_FIELDS);
    compare::<Pair>(params, &[]);
    compare::<Vec<i64>>(params, &[]);
    compare::<Option<Vec<String>>>(params, &[]);
    compare::<HashMap<String, i64>>(params, &[]);
    compare::<()>(params, &[]);
    compare::<Value>(params, &[]);
}

/// Runs the `params` target on one input.
pub fn check(data: &[u8]) {
    if data.is_empty() {
        check_params(&RawParams::none());
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let accepted = RawParams::from_json(text);
    if let Err(e) = &accepted {
        assert_eq!(e.code(), ErrorCode::INVALID_PARAMS);
    }
    // JSON whitespace only: a peer's params never carry anything else.
    let trimmed = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let structured = matches!(trimmed.as_bytes().first(), Some(b'[' | b'{')) && is_json_text(trimmed);
    let unicode_ws = !structured && {
        let t = text.trim();
        matches!(t.as_bytes().first(), Some(b'[' | b'{')) && is_json_text(t)
    };
    if !(unicode_ws && crate::open_bug("raw-params-unicode-whitespace")) {
        assert_eq!(
            accepted.is_ok(),
            structured,
            "RawParams::from_json({text:?}) accepts non-JSON or rejects JSON"
        );
    }
    if let Ok(p) = accepted {
        check_params(&p);
    }
}
