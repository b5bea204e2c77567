//! The request bodies every line of the core benchmark handles, and the
//! expected answers that check each line does the same work.

/// One benchmark input: a name, the request bytes, and how many calls it
/// carries (for per-call figures).
#[derive(Clone, Debug)]
pub struct Case {
    /// Short name, used as the criterion benchmark id.
    pub name: &'static str,
    /// The raw request, exactly as a transport would deliver it.
    pub request: Vec<u8>,
    /// Calls in the request (100 for the batch, 1 otherwise).
    pub calls: u64,
}

/// `{"jsonrpc":"2.0","method":"ping","id":1}`.
pub const PING: &str = r#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
/// The answer to [`PING`].
pub const PONG: &str = r#"{"jsonrpc":"2.0","result":"pong","id":1}"#;
/// `subtract` with positional params.
pub const SUBTRACT_POSITIONAL: &str = r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;
/// `subtract` with named params.
pub const SUBTRACT_NAMED: &str =
    r#"{"jsonrpc":"2.0","method":"subtract","params":{"subtrahend":23,"minuend":42},"id":3}"#;
/// The specification's parse-error example.
pub const PARSE_ERROR: &str = r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#;

/// Bytes of params in the large call.
pub const LARGE_PARAMS_BYTES: usize = 1024 * 1024;

/// A batch of `n` positional `subtract` calls with ids `1..=n`.
pub fn batch(n: usize) -> String {
    let mut s = String::from("[");
    for i in 1..=n {
        if i > 1 {
            s.push(',');
        }
        s.push_str(&format!(
            r#"{{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":{i}}}"#
        ));
    }
    s.push(']');
    s
}

/// A `sum` call whose params are a JSON array of `1`s, `bytes` long.
pub fn large_sum(bytes: usize) -> String {
    let ones = (bytes.saturating_sub(1) / 2).max(1);
    let mut params = String::with_capacity(bytes + 1);
    params.push('[');
    for i in 0..ones {
        if i > 0 {
            params.push(',');
        }
        params.push('1');
    }
    params.push(']');
    format!(r#"{{"jsonrpc":"2.0","method":"sum","params":{params},"id":7}}"#)
}

/// The cases of the core benchmark, in report order.
pub fn cases() -> Vec<Case> {
    let case = |name, request: String, calls| Case {
        name,
        request: request.into_bytes(),
        calls,
    };
    vec![
        case("ping", PING.to_owned(), 1),
        case("subtract_positional", SUBTRACT_POSITIONAL.to_owned(), 1),
        case("subtract_named", SUBTRACT_NAMED.to_owned(), 1),
        case("batch_100", batch(100), 100),
        case("params_1mib", large_sum(LARGE_PARAMS_BYTES), 1),
        case("parse_error", PARSE_ERROR.to_owned(), 1),
    ]
}
