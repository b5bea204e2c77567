//! The methods the JSON-RPC 2.0 specification's examples call, as one
//! router: what every adapter's `<crate>_reference` example serves and what the
//! conformance suite's `spec-examples` profile expects.
//!
//! Enabled by the `reference` feature.

use serde::Deserialize;

use crate::error::{Error, RegistrationError};
use crate::handler::Params;
use crate::router::Router;

/// `subtract`'s parameters: `[minuend, subtrahend]` by position or
/// `{"minuend": .., "subtrahend": ..}` by name.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Subtract {
    /// The number subtracted from.
    pub minuend: i64,
    /// The number subtracted.
    pub subtrahend: i64,
}

fn subtract(Params(p): Params<Subtract>) -> Result<i64, Error> {
    p.minuend
        .checked_sub(p.subtrahend)
        .ok_or_else(|| Error::invalid_params("the difference overflows a 64-bit integer"))
}

fn sum(Params(v): Params<Vec<i64>>) -> Result<i64, Error> {
    v.into_iter()
        .try_fold(0i64, i64::checked_add)
        .ok_or_else(|| Error::invalid_params("the sum overflows a 64-bit integer"))
}

/// A router with the specification's example methods:
///
/// - `subtract`: `[42, 23]` or `{"minuend": 42, "subtrahend": 23}` → `19`
/// - `sum`: `[1, 2, 4]` → `7`
/// - `update`, `notify_hello`: accept anything, return `null` (the
///   examples send them as notifications)
/// - `get_data`: → `["hello", 5]`
/// - `ping`: → `"pong"`
/// - `echo`: `[value]` → `value` (the JSON-RPC 1.0 text's example)
///
/// ```
/// let router = sansrpc::reference::router();
/// let answer = futures_executor::block_on(router.handle_message(
///     br#"{"jsonrpc":"2.0","method":"subtract","params":{"subtrahend":23,"minuend":42},"id":3}"#,
///     sansrpc::Context::default(),
/// ));
/// assert_eq!(answer.unwrap(), r#"{"jsonrpc":"2.0","result":19,"id":3}"#);
/// ```
pub fn router() -> Router {
    let mut r = Router::new();
    // The names are fixed and valid, so registration cannot fail.
    let _ = register(&mut r);
    r
}

fn register(r: &mut Router) -> Result<(), RegistrationError> {
    r.method("subtract", subtract)?
        .method("sum", sum)?
        .method("update", || ())?
        .method("notify_hello", || ())?
        .method("get_data", || crate::handler::Json(("hello", 5)))?
        .method("ping", || "pong")?
        .method(
            "echo",
            |Params((v,)): Params<(Box<serde_json::value::RawValue>,)>| crate::handler::Json(v),
        )?;
    Ok(())
}

/// The specification's section 7 examples as test vectors: `(name,
/// request, answer)`, where the answer is the spec's, compacted, byte for
/// byte, plus the `data` member sansrpc adds to say why a request was
/// refused; `None` means nothing is sent. Multi-line requests are pretty
/// printed as in the spec; join their lines to send them over newline
/// framing. (The invalid-JSON batch is written on one line already: its
/// `data` gives the position of the error, which must not depend on how
/// the request is framed.)
///
/// ```
/// let (_, request, answer) = sansrpc::reference::SECTION_7[0];
/// let got = futures_executor::block_on(
///     sansrpc::reference::router().handle_message(request.as_bytes(), sansrpc::Context::default()),
/// );
/// assert_eq!(got.as_deref(), answer.map(str::as_bytes));
/// ```
pub const SECTION_7: &[(&str, &str, Option<&str>)] = &[
    (
        "positional params",
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
        Some(r#"{"jsonrpc":"2.0","result":19,"id":1}"#),
    ),
    (
        "positional params, reversed",
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#,
        Some(r#"{"jsonrpc":"2.0","result":-19,"id":2}"#),
    ),
    (
        "named params",
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
        Some(r#"{"jsonrpc":"2.0","result":19,"id":3}"#),
    ),
    (
        "named params, reordered",
        r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
        Some(r#"{"jsonrpc":"2.0","result":19,"id":4}"#),
    ),
    (
        "notification",
        r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#,
        None,
    ),
    (
        "notification, unknown method",
        r#"{"jsonrpc": "2.0", "method": "foobar"}"#,
        None,
    ),
    (
        "non-existent method",
        r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
        Some(r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"1"}"#),
    ),
    (
        "invalid JSON",
        r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
        Some(concat!(
            r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","#,
            r#""data":"expected `,` or `}` at line 1 column 40"},"id":null}"#
        )),
    ),
    (
        "invalid request object",
        r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
        Some(concat!(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","#,
            r#""data":"\"method\" must be a string"},"id":null}"#
        )),
    ),
    (
        "batch, invalid JSON",
        r#"[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]"#,
        Some(concat!(
            r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","#,
            r#""data":"expected `:` at line 1 column 95"},"id":null}"#
        )),
    ),
    (
        "empty array",
        r#"[]"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"empty batch"},"id":null}"#,
        ),
    ),
    (
        "invalid batch, not empty",
        r#"[1]"#,
        Some(concat!(
            r#"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","#,
            r#""data":"a batch entry must be an object"},"id":null}]"#
        )),
    ),
    (
        "invalid batch",
        r#"[1,2,3]"#,
        Some(concat!(
            r#"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","#,
            r#""data":"a batch entry must be an object"},"id":null},"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","#,
            r#""data":"a batch entry must be an object"},"id":null},"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","#,
            r#""data":"a batch entry must be an object"},"id":null}]"#
        )),
    ),
    (
        "batch",
        r#"[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]"#,
        Some(concat!(
            r#"[{"jsonrpc":"2.0","result":7,"id":"1"},"#,
            r#"{"jsonrpc":"2.0","result":19,"id":"2"},"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","#,
            r#""data":"missing \"jsonrpc\": \"2.0\""},"id":null},"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"5"},"#,
            r#"{"jsonrpc":"2.0","result":["hello",5],"id":"9"}]"#
        )),
    ),
    (
        "batch, all notifications",
        r#"[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]"#,
        None,
    ),
];
