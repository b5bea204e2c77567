//! The typed limit: the least a JSON-RPC server must do with the same bytes
//! when it parses into types instead of a `serde_json::Value`. A borrowing
//! parse of the envelope (`Cow<str>` method, `&RawValue` params and id),
//! the params parsed into the method's own type, and
//! `serde_json::to_writer` of the response into a buffer the caller
//! reuses. It answers what sansrpc answers for every benchmark input (the
//! benchmark checks that before timing), with no validation beyond what
//! the typed parse gives for free.

use std::borrow::Cow;

use sansrpc::reference::Subtract;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Answer {
    Text(&'static str),
    Number(i64),
}

#[derive(Serialize)]
struct ErrorObject {
    code: i64,
    message: &'static str,
}

#[derive(Serialize)]
struct Success<'a> {
    jsonrpc: &'static str,
    result: Answer,
    id: &'a RawValue,
}

#[derive(Serialize)]
struct Failure<'a> {
    jsonrpc: &'static str,
    error: ErrorObject,
    id: Option<&'a RawValue>,
}

const PARSE_ERROR: ErrorObject = ErrorObject {
    code: -32700,
    message: "Parse error",
};
const INVALID_REQUEST: ErrorObject = ErrorObject {
    code: -32600,
    message: "Invalid Request",
};
const METHOD_NOT_FOUND: ErrorObject = ErrorObject {
    code: -32601,
    message: "Method not found",
};
const INVALID_PARAMS: ErrorObject = ErrorObject {
    code: -32602,
    message: "Invalid params",
};

fn params<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> Result<T, ErrorObject> {
    raw.and_then(|p| serde_json::from_str(p.get()).ok())
        .ok_or(INVALID_PARAMS)
}

fn run(call: &Envelope<'_>) -> Result<Answer, ErrorObject> {
    match &*call.method {
        "ping" => Ok(Answer::Text("pong")),
        "subtract" => {
            let s: Subtract = params(call.params)?;
            s.minuend
                .checked_sub(s.subtrahend)
                .map(Answer::Number)
                .ok_or(INVALID_PARAMS)
        }
        "sum" => {
            let v: Vec<i64> = params(call.params)?;
            v.into_iter()
                .try_fold(0i64, i64::checked_add)
                .map(Answer::Number)
                .ok_or(INVALID_PARAMS)
        }
        _ => Err(METHOD_NOT_FOUND),
    }
}

/// Writes the answer to one parsed call (every benchmark input's calls have
/// an id).
fn answer(call: &Envelope<'_>, out: &mut Vec<u8>) -> serde_json::Result<()> {
    let id = call.id;
    match (call.jsonrpc == "2.0", id) {
        (true, Some(id)) => match run(call) {
            Ok(result) => serde_json::to_writer(
                &mut *out,
                &Success {
                    jsonrpc: "2.0",
                    result,
                    id,
                },
            ),
            Err(error) => failure(error, Some(id), out),
        },
        _ => failure(INVALID_REQUEST, id, out),
    }
}

fn failure(error: ErrorObject, id: Option<&RawValue>, out: &mut Vec<u8>) -> serde_json::Result<()> {
    serde_json::to_writer(
        &mut *out,
        &Failure {
            jsonrpc: "2.0",
            error,
            id,
        },
    )
}

/// Handles one request body: clears `out` and writes the response into it
/// (its allocation is reused from call to call).
pub fn handle(request: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let written = match request.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => match serde_json::from_slice::<Vec<Envelope<'_>>>(request) {
            Ok(calls) => {
                out.push(b'[');
                let mut r = Ok(());
                for (i, call) in calls.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    r = r.and(answer(call, out));
                }
                out.push(b']');
                r
            }
            Err(_) => failure(PARSE_ERROR, None, out),
        },
        _ => match serde_json::from_slice::<Envelope<'_>>(request) {
            Ok(call) => answer(&call, out),
            Err(_) => failure(PARSE_ERROR, None, out),
        },
    };
    if written.is_err() {
        out.clear();
    }
}
