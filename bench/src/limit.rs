//! The limit: the least any JSON-RPC server must do with the same bytes —
//! parse them into a `serde_json::Value`, compute the answer, serialize the
//! response. No validation beyond what the parse gives for free.

use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(untagged)]
enum Answer<'a> {
    Text(&'a str),
    Number(i64),
    Null,
}

#[derive(Serialize)]
struct Success<'a> {
    jsonrpc: &'static str,
    result: Answer<'a>,
    id: &'a Value,
}

#[derive(Serialize)]
struct ErrorObject {
    code: i64,
    message: &'static str,
}

#[derive(Serialize)]
struct Failure<'a> {
    jsonrpc: &'static str,
    error: ErrorObject,
    id: &'a Value,
}

const NULL: Value = Value::Null;

fn number(v: Option<&Value>) -> i64 {
    v.and_then(Value::as_i64).unwrap_or(0)
}

fn answer(call: &Value) -> Success<'_> {
    let params = call.get("params");
    let result = match call.get("method").and_then(Value::as_str) {
        Some("ping") => Answer::Text("pong"),
        Some("subtract") => match params {
            Some(Value::Array(a)) => Answer::Number(number(a.first()).wrapping_sub(number(a.get(1)))),
            Some(Value::Object(o)) => {
                Answer::Number(number(o.get("minuend")).wrapping_sub(number(o.get("subtrahend"))))
            }
            _ => Answer::Null,
        },
        Some("sum") => match params {
            Some(Value::Array(a)) => Answer::Number(a.iter().map(|v| number(Some(v))).sum()),
            _ => Answer::Null,
        },
        _ => Answer::Null,
    };
    Success {
        jsonrpc: "2.0",
        result,
        id: call.get("id").unwrap_or(&NULL),
    }
}

/// Handles one request body the minimal way; returns the response bytes.
pub fn handle(request: &[u8]) -> Vec<u8> {
    let written = match serde_json::from_slice::<Value>(request) {
        Ok(Value::Array(calls)) => {
            let answers: Vec<_> = calls.iter().map(answer).collect();
            serde_json::to_vec(&answers)
        }
        Ok(call) => serde_json::to_vec(&answer(&call)),
        Err(_) => serde_json::to_vec(&Failure {
            jsonrpc: "2.0",
            error: ErrorObject {
                code: -32700,
                message: "Parse error",
            },
            id: &NULL,
        }),
    };
    written.unwrap_or_default()
}
