//! The `v1` profile: cases from the JSON-RPC 1.0 text (2005) — its echo
//! example and its rules — for servers that speak 1.0.
//!
//! The 1.0 rules checked: a request is `{"method", "params", "id"}` with
//! `params` an array; a notification is a request whose `id` is `null` and
//! is never answered; a response has all three members `result`, `error`
//! and `id`, with `error` null on success, `result` null on failure and a
//! non-null `error` of any shape on failure; the id may be of any type and
//! is echoed. What the old text leaves open (named params, a missing
//! `params`, batches, invalid input, class hinting) is `INFO`: any sane
//! answer passes, and the report records which one came.
//!
//! The cases need one method, `echo` (`[value]` → `value`, the 1.0 text's
//! example), which every sansrpc `reference` router serves. They are kept
//! out of [`crate::catalog`], so the 2.0 profiles and their reports are
//! exactly what they were.

use serde_json::{Value, json};

use crate::case::{Applies, Case, HttpRequest, Level, Needs, Payload};
use crate::expect::{End, Expect, Observed};

fn case(id: &'static str, level: Level, title: &'static str, bytes: &str, expect: Expect) -> Case {
    Case {
        id,
        level,
        needs: Needs::V1,
        applies: Applies::Any,
        title,
        payload: Payload::Bytes(bytes.as_bytes().to_vec()),
        http: HttpRequest::default(),
        expect,
    }
}

fn custom(describe: &'static str, check: crate::expect::CheckFn) -> Expect {
    Expect::Custom { describe, check }
}

/// The one message that came back, parsed.
fn one(obs: &Observed) -> Result<Value, String> {
    match obs.messages.as_slice() {
        [m] => serde_json::from_slice(m).map_err(|e| format!("not JSON: {e}")),
        [] => Err(match &obs.end {
            End::TimedOut(d) => format!("no response within {} ms", d.as_millis()),
            End::Error(e) => format!("no response: {e}"),
            End::Closed => "no response before the connection closed".to_owned(),
            End::Complete => "no response".to_owned(),
        }),
        many => Err(format!("{} messages, expected one", many.len())),
    }
}

/// A 1.0 response object: all of `result`, `error` and `id`, one of
/// `result` and `error` null. Returns `(result, error, id)`.
fn v1_response(v: &Value) -> Result<(&Value, &Value, &Value), String> {
    let Value::Object(o) = v else {
        return Err("not a JSON object".to_owned());
    };
    let member = |name: &str| {
        o.get(name)
            .ok_or_else(|| format!("no \"{name}\" member: a 1.0 response has result, error and id"))
    };
    let (result, error, id) = (member("result")?, member("error")?, member("id")?);
    if !result.is_null() && !error.is_null() {
        return Err("both result and error are non-null: one of them must be null".to_owned());
    }
    Ok((result, error, id))
}

fn result_is(obs: &Observed, id: &Value, want: &Value) -> Result<(), String> {
    let v = one(obs)?;
    let (result, error, got_id) = v1_response(&v)?;
    if !error.is_null() {
        return Err(format!("an error ({error}), expected the result {want}"));
    }
    if got_id != id {
        return Err(format!("id {got_id}, expected {id}"));
    }
    if result != want {
        return Err(format!("result {result}, expected {want}"));
    }
    Ok(())
}

fn error_for(obs: &Observed, id: &Value) -> Result<(), String> {
    let v = one(obs)?;
    let (_, error, got_id) = v1_response(&v)?;
    if error.is_null() {
        return Err("error is null, expected an error".to_owned());
    }
    if got_id != id {
        return Err(format!("id {got_id}, expected {id}"));
    }
    Ok(())
}

/// The answer to a request that is not valid 1.0: an error response (with
/// `id` or null), nothing, or the connection closed (what the 1.0 text
/// asks for).
fn rejected(obs: &Observed, id: &Value) -> Result<(), String> {
    if obs.messages.is_empty() {
        return match &obs.end {
            End::Error(e) => Err(e.clone()),
            _ => Ok(()),
        };
    }
    let v = one(obs)?;
    let (_, error, got_id) = v1_response(&v).or_else(|why| {
        // A 2.0-shaped error still tells the client what went wrong.
        match (v.get("error"), v.get("id")) {
            (Some(e), Some(i)) => Ok((&Value::Null, e, i)),
            _ => Err(why),
        }
    })?;
    if error.is_null() {
        return Err("error is null, expected an error".to_owned());
    }
    if !(got_id.is_null() || got_id == id) {
        return Err(format!("id {got_id}, expected {id} or null"));
    }
    Ok(())
}

/// Any valid 1.0 response for `id`, a result or an error.
fn any_answer(obs: &Observed, id: &Value) -> Result<(), String> {
    let v = one(obs)?;
    let (_, _, got_id) = v1_response(&v)?;
    if got_id != id {
        return Err(format!("id {got_id}, expected {id}"));
    }
    Ok(())
}

/// The `v1` profile's cases, in report order.
pub fn catalog_v1() -> Vec<Case> {
    vec![
        case(
            "v1/echo-example",
            Level::Must,
            "the 1.0 text's example: echo answers {\"result\":\"Hello JSON-RPC\",\"error\":null,\"id\":1}",
            r#"{"method": "echo", "params": ["Hello JSON-RPC"], "id": 1}"#,
            custom("result \"Hello JSON-RPC\", error null, id 1", |obs| {
                result_is(obs, &json!(1), &json!("Hello JSON-RPC"))
            }),
        ),
        case(
            "v1/response-no-jsonrpc-member",
            Level::Should,
            "a 1.0 request gets a 1.0 response, without a 2.0 \"jsonrpc\" member",
            r#"{"method":"echo","params":["v1"],"id":2}"#,
            custom("a response with no \"jsonrpc\" member", |obs| {
                result_is(obs, &json!(2), &json!("v1"))?;
                match one(obs)?.get("jsonrpc") {
                    Some(v) => Err(format!("a \"jsonrpc\": {v} member in a 1.0 response")),
                    None => Ok(()),
                }
            }),
        ),
        case(
            "v1/error-unknown-method",
            Level::Must,
            "an unknown method is an error response: error non-null, result null, the request's id",
            r#"{"method":"conformance.unknown","params":[],"id":3}"#,
            custom("error non-null, result null, id 3", |obs| {
                error_for(obs, &json!(3))
            }),
        ),
        case(
            "v1/notification-unknown-method",
            Level::Must,
            "a notification (\"id\": null) is never answered, even for an unknown method",
            r#"{"method":"conformance.unknown","params":["x"],"id":null}"#,
            Expect::Nothing,
        ),
        case(
            "v1/notification-known-method",
            Level::Must,
            "a notification of a known method is run and not answered",
            r#"{"method":"echo","params":["nobody hears this"],"id":null}"#,
            Expect::Nothing,
        ),
        case(
            "v1/id-string",
            Level::Must,
            "a string id is echoed",
            r#"{"method":"echo","params":[7],"id":"abc"}"#,
            custom("result 7, id \"abc\"", |obs| {
                result_is(obs, &json!("abc"), &json!(7))
            }),
        ),
        case(
            "v1/id-fraction",
            Level::Must,
            "a fractional id is echoed",
            r#"{"method":"echo","params":[8],"id":1.5}"#,
            custom("result 8, id 1.5", |obs| result_is(obs, &json!(1.5), &json!(8))),
        ),
        case(
            "v1/id-object",
            Level::Should,
            "the 1.0 id \"can be of any type\": an object id is echoed (2.0 refuses it)",
            r#"{"method":"echo","params":[9],"id":{"n":9}}"#,
            custom("result 9, id {\"n\":9}", |obs| {
                result_is(obs, &json!({"n": 9}), &json!(9))
            }),
        ),
        case(
            "v1/id-array",
            Level::Should,
            "an array id is echoed",
            r#"{"method":"echo","params":[10],"id":[10]}"#,
            custom("result 10, id [10]", |obs| {
                result_is(obs, &json!([10]), &json!(10))
            }),
        ),
        case(
            "v1/id-boolean",
            Level::Info,
            "a boolean id is echoed",
            r#"{"method":"echo","params":[11],"id":true}"#,
            custom("result 11, id true", |obs| {
                result_is(obs, &json!(true), &json!(11))
            }),
        ),
        case(
            "v1/params-structured-value",
            Level::Must,
            "params are an array of any values: an object inside comes back whole",
            r#"{"method":"echo","params":[{"a":[1,{"b":null}]}],"id":12}"#,
            custom("result {\"a\":[1,{\"b\":null}]}, id 12", |obs| {
                result_is(obs, &json!(12), &json!({"a": [1, {"b": null}]}))
            }),
        ),
        case(
            "v1/params-object",
            Level::Info,
            "named params (an object) are not 1.0: a result or an error, both fine",
            r#"{"method":"echo","params":{"value":13},"id":13}"#,
            custom("a 1.0 response for id 13", |obs| any_answer(obs, &json!(13))),
        ),
        case(
            "v1/params-missing",
            Level::Info,
            "a request without params: a result or an error, both fine",
            r#"{"method":"echo","id":14}"#,
            custom("a 1.0 response for id 14", |obs| any_answer(obs, &json!(14))),
        ),
        case(
            "v1/method-not-a-string",
            Level::Info,
            "a method that is not a string: an error (id 15 or null), nothing, or a close",
            r#"{"method":15,"params":[],"id":15}"#,
            custom("an error for id 15 or null, or nothing", |obs| {
                rejected(obs, &json!(15))
            }),
        ),
        case(
            "v1/invalid-json",
            Level::Info,
            "invalid JSON: the 1.0 text says close; an error with id null is fine too",
            r#"{"method": "echo", "params": [1"#,
            custom("an error with id null, nothing, or a close", |obs| {
                rejected(obs, &Value::Null)
            }),
        ),
        case(
            "v1/array-is-not-a-request",
            Level::Info,
            "1.0 has no batches: an array gets an error, nothing, or a close (or a 2.0 server's batch answer)",
            r#"[{"method":"echo","params":[16],"id":16}]"#,
            custom("an error, an array, nothing, or a close", |obs| {
                match obs.messages.as_slice() {
                    [m] if m.trim_ascii_start().starts_with(b"[") => Ok(()),
                    _ => rejected(obs, &Value::Null),
                }
            }),
        ),
        case(
            "v1/class-hint",
            Level::Info,
            "class hinting (__jsonclass__) is optional: any answer, never a crash",
            r#"{"method":"echo","params":[{"__jsonclass__":["Date",[0]]}],"id":17}"#,
            custom("a 1.0 response for id 17", |obs| any_answer(obs, &json!(17))),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_in_the_v1_section() {
        let mut seen = HashSet::new();
        for c in catalog_v1() {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert_eq!(c.section(), "v1");
            assert_eq!(c.needs, Needs::V1);
        }
    }

    fn obs(body: &str) -> Observed {
        Observed {
            messages: if body.is_empty() {
                vec![]
            } else {
                vec![body.as_bytes().to_vec()]
            },
            http: None,
            probe_answered: true,
            end: End::Complete,
        }
    }

    #[test]
    fn the_echo_check_wants_a_1_0_response() {
        let c = &catalog_v1()[0];
        assert!(
            c.expect
                .check(&obs(r#"{"result":"Hello JSON-RPC","error":null,"id":1}"#))
                .is_ok()
        );
        // 2.0 shape: no error member.
        assert!(
            c.expect
                .check(&obs(r#"{"jsonrpc":"2.0","result":"Hello JSON-RPC","id":1}"#))
                .is_err()
        );
        assert!(
            c.expect
                .check(&obs(r#"{"result":"Hello JSON-RPC","error":null,"id":2}"#))
                .is_err()
        );
        assert!(
            c.expect
                .check(&obs(r#"{"result":"x","error":{"code":1},"id":1}"#))
                .is_err()
        );
        assert!(c.expect.check(&obs("")).is_err());
    }

    #[test]
    fn the_error_check_wants_result_null() {
        let c = catalog_v1()
            .into_iter()
            .find(|c| c.id == "v1/error-unknown-method")
            .unwrap();
        assert!(
            c.expect
                .check(&obs(r#"{"result":null,"error":"no such method","id":3}"#))
                .is_ok()
        );
        assert!(
            c.expect
                .check(&obs(r#"{"result":null,"error":null,"id":3}"#))
                .is_err()
        );
        assert!(
            c.expect
                .check(&obs(r#"{"error":{"code":-32601,"message":"x"},"id":3}"#))
                .is_err()
        );
    }
}
