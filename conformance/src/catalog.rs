//! The case catalog, keyed to the sections of the JSON-RPC 2.0 specification
//! (<https://www.jsonrpc.org/specification>).
//!
//! Conventions: `conformance.unknown` (and the spec's own `foobar`) are
//! method names no server is expected to have; every id sent is distinct
//! within a case. Bytes are written on one line unless a case is HTTP-only,
//! so every other case also works over newline-delimited streams.

use serde_json::{Value, json};

use crate::case::{Applies, Case, HttpRequest, Level, Needs, Payload};
use crate::expect::{
    End, Expect, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, Observed, PARSE_ERROR, Resp,
};

/// The size of the oversized-body and oversized-line cases: larger than the
/// default limit of every server we know of (aiohttp 1 MiB, most others 1–10 MiB).
pub const OVERSIZED_BYTES: usize = 16 * 1024 * 1024;

/// The sections, in the order reports list them.
pub const SECTIONS: &[(&str, &str)] = &[
    ("2", "Conventions: the JSON text"),
    ("3", "Compatibility"),
    ("4", "Request object"),
    ("4.1", "Notification"),
    ("4.2", "Parameter structures"),
    ("5", "Response object"),
    ("5.1", "Error object"),
    ("6", "Batch"),
    ("7", "Examples"),
    ("8", "Extensions"),
    ("http", "HTTP transport conventions"),
    ("tcp", "Newline-delimited stream conventions"),
    ("ws", "WebSocket conventions"),
    ("v1", "JSON-RPC 1.0 (the v1 profile)"),
];

impl Case {
    fn new(
        id: &'static str,
        level: Level,
        title: &'static str,
        bytes: impl Into<Vec<u8>>,
        expect: Expect,
    ) -> Case {
        Case {
            id,
            level,
            needs: Needs::Nothing,
            applies: Applies::Any,
            title,
            payload: Payload::Bytes(bytes.into()),
            http: HttpRequest::default(),
            expect,
        }
    }

    fn examples(mut self) -> Case {
        self.needs = Needs::SpecExamples;
        self
    }

    fn http_only(mut self) -> Case {
        self.applies = Applies::Http;
        self
    }

    fn stream_only(mut self) -> Case {
        self.applies = Applies::Stream;
        self
    }

    fn ws_only(mut self) -> Case {
        self.applies = Applies::WebSocket;
        self
    }

    fn with_http(mut self, method: &'static str, content_type: Option<&'static str>) -> Case {
        self.http = HttpRequest { method, content_type };
        self
    }
}

use Level::{Info, Must, Should};

fn resp(r: Resp) -> Expect {
    Expect::Response(r)
}

/// `-32601` for this id.
fn mnf(id: Value) -> Expect {
    resp(Resp::error(id, &[METHOD_NOT_FOUND]))
}

fn parse_error() -> Expect {
    resp(Resp::parse_error())
}

fn invalid_request() -> Expect {
    resp(Resp::invalid_request())
}

/// `-32600` with id `null`, or the id the server could still read.
fn invalid_request_or_id(id: Value) -> Expect {
    resp(Resp::error_null_or(id, &[INVALID_REQUEST]))
}

/// Any well-formed error response, id `null` or `id`.
fn any_error(id: Value) -> Expect {
    resp(Resp::error_null_or(id, &[]))
}

fn nested(depth: usize) -> String {
    let mut s = String::with_capacity(depth * 2 + 80);
    s.push_str(r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1,"params":"#);
    s.extend(std::iter::repeat_n('[', depth));
    s.extend(std::iter::repeat_n(']', depth));
    s.push('}');
    s
}

fn large_batch(n: usize) -> (String, Vec<Resp>) {
    let calls: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"jsonrpc":"2.0","method":"conformance.unknown","id":{i}}}"#))
        .collect();
    let resps = (0..n)
        .map(|i| Resp::error(json!(i), &[METHOD_NOT_FOUND]))
        .collect();
    (format!("[{}]", calls.join(",")), resps)
}

fn http_status(obs: &Observed) -> Result<u16, String> {
    match (&obs.http, &obs.end) {
        (Some(h), _) => Ok(h.status),
        (None, End::TimedOut(d)) => Err(format!("no HTTP response within {} ms", d.as_millis())),
        (None, End::Error(e)) => Err(format!("no HTTP response: {e}")),
        (None, _) => Err("no HTTP response".to_owned()),
    }
}

fn status_204_empty(obs: &Observed) -> Result<(), String> {
    let status = http_status(obs)?;
    if !obs.messages.is_empty() {
        return Err("a body, expected none".to_owned());
    }
    if status != 204 {
        return Err(format!("status {status}, expected 204 No Content"));
    }
    Ok(())
}

fn json_content_type(obs: &Observed) -> Result<(), String> {
    http_status(obs)?;
    mnf(json!(1)).check(obs)?;
    let ct = obs.http.as_ref().and_then(|h| h.header("content-type"));
    match ct {
        Some(ct) if media_type(ct) == "application/json" => Ok(()),
        Some(ct) => Err(format!("Content-Type {ct}, expected application/json")),
        None => Err("no Content-Type, expected application/json".to_owned()),
    }
}

fn media_type(ct: &str) -> String {
    ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

fn status_200(obs: &Observed) -> Result<(), String> {
    match http_status(obs)? {
        200 => Ok(()),
        s => Err(format!("status {s}, expected 200")),
    }
}

fn mnf_status_200(obs: &Observed) -> Result<(), String> {
    status_200(obs)?;
    mnf(json!(1)).check(obs)
}

fn parse_error_status_200(obs: &Observed) -> Result<(), String> {
    status_200(obs)?;
    parse_error().check(obs)
}

fn client_error(obs: &Observed) -> Result<(), String> {
    match http_status(obs)? {
        400..=499 => Ok(()),
        s => Err(format!("status {s}, expected a 4xx rejection")),
    }
}

fn status_405_allow_post(obs: &Observed) -> Result<(), String> {
    let status = http_status(obs)?;
    if status != 405 {
        return Err(format!("status {status}, expected 405 Method Not Allowed"));
    }
    let allow = obs.http.as_ref().and_then(|h| h.header("allow"));
    match allow {
        Some(a) if a.split(',').any(|m| m.trim().eq_ignore_ascii_case("POST")) => Ok(()),
        Some(a) => Err(format!("Allow: {a}, expected it to list POST")),
        None => Err("405 without an Allow header (RFC 9110 requires one)".to_owned()),
    }
}

fn status_415(obs: &Observed) -> Result<(), String> {
    match http_status(obs)? {
        415 => Ok(()),
        s => Err(format!("status {s}, expected 415")),
    }
}

fn status_413(obs: &Observed) -> Result<(), String> {
    match http_status(obs)? {
        413 => Ok(()),
        s => Err(format!("status {s}, expected 413")),
    }
}

fn parse_error_then_probe(obs: &Observed) -> Result<(), String> {
    resp(Resp::parse_error()).check(&Observed {
        probe_answered: true,
        end: End::Complete,
        ..obs.clone()
    })?;
    if obs.probe_answered {
        Ok(())
    } else {
        Err("the probe call sent on the next line was not answered".to_owned())
    }
}

/// A close (and nothing else), or one error answer.
fn closed_or_error(obs: &Observed) -> Result<(), String> {
    if obs.end == End::Closed && obs.messages.is_empty() {
        return Ok(());
    }
    match obs.messages.as_slice() {
        [m] => {
            let v = crate::expect::parse(m)?;
            Resp::error_null_or(json!(1), &[]).check(&v)
        }
        [] => Err("neither a close nor an answer".to_owned()),
        more => Err(format!("{} messages, expected a close or one error", more.len())),
    }
}

/// At most one error then the probe answered, or a close with nothing
/// before it.
fn error_then_probe_or_closed(obs: &Observed) -> Result<(), String> {
    if obs.end == End::Closed && obs.messages.is_empty() {
        return Ok(());
    }
    error_then_probe(obs)
}

fn error_then_probe(obs: &Observed) -> Result<(), String> {
    if obs.messages.len() > 1 {
        return Err(format!("{} messages, expected at most one", obs.messages.len()));
    }
    if let Some(m) = obs.messages.first() {
        let v = crate::expect::parse(m)?;
        Resp::error_null_or(json!(1), &[]).check(&v)?;
    }
    if obs.probe_answered {
        Ok(())
    } else {
        Err("the probe call sent on the next line was not answered".to_owned())
    }
}

/// Every case, in catalog order.
pub fn catalog() -> Vec<Case> {
    let (big_batch, big_batch_resps) = large_batch(1000);
    vec![
        // ---- 2: the JSON text -------------------------------------------------
        Case::new(
            "2/whitespace-around",
            Must,
            "insignificant whitespace before and after the message is valid JSON",
            " \t {\"jsonrpc\":\"2.0\",\"method\":\"conformance.unknown\",\"id\":1} \t ",
            mnf(json!(1)),
        ),
        Case::new(
            "2/whitespace-between-tokens",
            Must,
            "whitespace between every token is valid JSON",
            r#"{ "jsonrpc" : "2.0" , "method" : "conformance.unknown" , "params" : [ 1 , 2 ] , "id" : 2 }"#,
            mnf(json!(2)),
        ),
        Case::new(
            "2/whitespace-newlines",
            Must,
            "a pretty-printed message (LF and CRLF line breaks) is valid JSON",
            "{\n  \"jsonrpc\": \"2.0\",\r\n  \"method\": \"conformance.unknown\",\n  \"id\": 3\n}\n",
            mnf(json!(3)),
        )
        .http_only(),
        Case::new(
            "2/byte-order-mark",
            Info,
            "a UTF-8 byte-order mark: RFC 8259 lets a parser ignore it or reject it",
            b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"method\":\"conformance.unknown\",\"id\":4}".to_vec(),
            Expect::AnyOf(vec![mnf(json!(4)), parse_error()]),
        ),
        Case::new(
            "2/invalid-utf8-in-string",
            Should,
            "invalid UTF-8 inside a string is not a JSON text (RFC 8259 §8.1): parse error",
            b"{\"jsonrpc\":\"2.0\",\"method\":\"conformance.unknown\",\"params\":[\"\xFF\xFE\"],\"id\":5}".to_vec(),
            resp(Resp::error_null_or(json!(5), &[PARSE_ERROR])),
        ),
        Case::new(
            "2/invalid-utf8-in-method",
            Should,
            "invalid UTF-8 in the method name is not a JSON text: parse error",
            b"{\"jsonrpc\":\"2.0\",\"method\":\"conformance.\xC3\x28\",\"id\":6}".to_vec(),
            resp(Resp::error_null_or(json!(6), &[PARSE_ERROR])),
        ),
        Case::new(
            "2/lone-surrogate-escape",
            Info,
            "an escaped lone surrogate (\\ud800) is grammatical JSON but not Unicode",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","params":["\ud800"],"id":7}"#,
            Expect::AnyOf(vec![
                mnf(json!(7)),
                resp(Resp::error_null_or(json!(7), &[PARSE_ERROR, INVALID_REQUEST])),
            ]),
        ),
        Case::new(
            "2/deep-nesting-moderate",
            Should,
            "params nested 64 deep is ordinary JSON and gets the ordinary answer",
            nested(64),
            mnf(json!(1)),
        ),
        Case::new(
            "2/deep-nesting-extreme",
            Info,
            "params nested 100000 deep: any error answer (or an HTTP 4xx), never a crash or silence",
            nested(100_000),
            Expect::AnyOf(vec![
                any_error(json!(1)),
                Expect::Custom {
                    describe: "an HTTP 4xx",
                    check: client_error,
                },
            ]),
        ),
        Case::new(
            "2/large-integer-param",
            Info,
            "an integer beyond 64 bits in params: accepted or a parse error, never a crash",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","params":[123456789012345678901234567890],"id":8}"#,
            Expect::AnyOf(vec![mnf(json!(8)), any_error(json!(8))]),
        ),
        Case::new(
            "2/number-out-of-range",
            Info,
            "1e400 overflows a double: accepted or a parse error, never a crash",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","params":[1e400],"id":9}"#,
            Expect::AnyOf(vec![mnf(json!(9)), any_error(json!(9))]),
        ),
        Case::new(
            "2/nan-literal",
            Should,
            "NaN is not JSON: parse error",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","params":[NaN],"id":10}"#,
            parse_error(),
        ),
        Case::new(
            "2/single-quotes",
            Should,
            "single-quoted strings are not JSON: parse error",
            "{'jsonrpc':'2.0','method':'conformance.unknown','id':11}",
            parse_error(),
        ),
        Case::new(
            "2/trailing-comma",
            Should,
            "a trailing comma is not JSON: parse error",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":12,}"#,
            parse_error(),
        ),
        Case::new(
            "2/trailing-garbage",
            Should,
            "text after the JSON value makes the whole message invalid: parse error",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":13} xyz"#,
            parse_error(),
        ),
        Case::new(
            "2/two-values-in-one-body",
            Info,
            "two JSON values in one HTTP body: a parse error, or (leniently) both answered",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":14}{"jsonrpc":"2.0","method":"conformance.unknown","id":15}"#,
            Expect::AnyOf(vec![parse_error(), any_error(json!(14))]),
        )
        .http_only(),
        Case::new(
            "2/duplicate-member-method",
            Info,
            "a duplicated \"method\" member (RFC 8259: names SHOULD be unique; behavior unpredictable)",
            r#"{"jsonrpc":"2.0","method":"conformance.first","method":"conformance.second","id":16}"#,
            Expect::AnyOf(vec![
                mnf(json!(16)),
                resp(Resp::error_null_or(json!(16), &[INVALID_REQUEST, PARSE_ERROR])),
            ]),
        ),
        Case::new(
            "2/duplicate-member-id",
            Info,
            "a duplicated \"id\" member: which id comes back (first, last, or a rejection)",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":17,"id":18}"#,
            Expect::AnyOf(vec![
                mnf(json!(17)),
                mnf(json!(18)),
                resp(Resp::error(Value::Null, &[INVALID_REQUEST, PARSE_ERROR])),
            ]),
        ),
        Case::new(
            "2/escaped-method-name",
            Must,
            "a method name written with \\u escapes is the same string",
            r#"{"jsonrpc":"2.0","method":"conformance\u002eunknown","id":19}"#,
            mnf(json!(19)),
        ),
        // ---- 3: compatibility -----------------------------------------------
        Case::new(
            "3/jsonrpc-missing",
            Info,
            "no \"jsonrpc\" member (a 1.0-style request): rejected as invalid, or handled as 1.0",
            r#"{"method":"conformance.unknown","params":[],"id":1}"#,
            Expect::AnyOf(vec![invalid_request_or_id(json!(1)), mnf(json!(1))]),
        ),
        // ---- 4: request object ----------------------------------------------
        Case::new(
            "4/params-omitted",
            Must,
            "params MAY be omitted: the call is valid",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1}"#,
            mnf(json!(1)),
        ),
        Case::new(
            "4/id-string",
            Must,
            "a string id is echoed as the same string",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":"abc-123"}"#,
            mnf(json!("abc-123")),
        ),
        Case::new(
            "4/id-string-empty",
            Must,
            "the empty string is a string id",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":""}"#,
            mnf(json!("")),
        ),
        Case::new(
            "4/id-string-unicode",
            Must,
            "a string id with escapes, quotes and non-ASCII text is echoed as the same string",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":"\u00e9 \"q\" \\ 中 \ud83d\ude00"}"#,
            mnf(json!("é \"q\" \\ 中 😀")),
        ),
        Case::new(
            "4/id-string-digits",
            Must,
            "the string id \"1\" comes back as a string, not the number 1",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":"1"}"#,
            mnf(json!("1")),
        ),
        Case::new(
            "4/id-integer",
            Must,
            "an integer id is echoed",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":42}"#,
            mnf(json!(42)),
        ),
        Case::new(
            "4/id-zero",
            Must,
            "0 is an id like any other (a falsy-value check must not drop it)",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":0}"#,
            mnf(json!(0)),
        ),
        Case::new(
            "4/id-negative",
            Must,
            "a negative integer id is echoed",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":-7}"#,
            mnf(json!(-7)),
        ),
        Case::new(
            "4/id-fractional",
            Must,
            "a fractional id (clients SHOULD NOT send one) is a Number and MUST be echoed",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1.5}"#,
            mnf(json!(1.5)),
        ),
        Case::new(
            "4/id-exponent",
            Info,
            "an id written with an exponent (1e2) comes back as the same number",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1e2}"#,
            mnf(json!(100)),
        ),
        Case::new(
            "4/id-large-integer",
            Info,
            "2^53+1 as id comes back exactly (a server that parses ids as doubles loses it)",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":9007199254740993}"#,
            mnf(json!(9_007_199_254_740_993_u64)),
        ),
        Case::new(
            "4/id-u64-max",
            Info,
            "an id of 2^64-1 comes back exactly",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":18446744073709551615}"#,
            Expect::AnyOf(vec![mnf(json!(u64::MAX)), invalid_request()]),
        ),
        Case::new(
            "4/id-null",
            Must,
            "\"id\": null is a call, not a notification (4.1: a notification has no id member): it is answered, with id null",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":null}"#,
            mnf(Value::Null),
        ),
        Case::new(
            "4/id-object",
            Should,
            "an object id is not a String, Number or Null: Invalid Request, id null",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":{"a":1}}"#,
            invalid_request(),
        ),
        Case::new(
            "4/id-array",
            Should,
            "an array id is not a String, Number or Null: Invalid Request, id null",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":[1]}"#,
            invalid_request(),
        ),
        Case::new(
            "4/id-boolean",
            Should,
            "a boolean id is not a String, Number or Null: Invalid Request, id null",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":true}"#,
            invalid_request(),
        ),
        Case::new(
            "4/jsonrpc-wrong-value",
            Should,
            "\"jsonrpc\" MUST be exactly \"2.0\": \"2.1\" is an Invalid Request",
            r#"{"jsonrpc":"2.1","method":"conformance.unknown","id":1}"#,
            invalid_request_or_id(json!(1)),
        ),
        Case::new(
            "4/jsonrpc-1.0",
            Should,
            "\"jsonrpc\": \"1.0\" is not \"2.0\": an Invalid Request",
            r#"{"jsonrpc":"1.0","method":"conformance.unknown","id":1}"#,
            invalid_request_or_id(json!(1)),
        ),
        Case::new(
            "4/jsonrpc-number",
            Should,
            "\"jsonrpc\": 2.0 (a number, not a string) is an Invalid Request",
            r#"{"jsonrpc":2.0,"method":"conformance.unknown","id":1}"#,
            invalid_request_or_id(json!(1)),
        ),
        Case::new(
            "4/jsonrpc-null",
            Should,
            "\"jsonrpc\": null is an Invalid Request",
            r#"{"jsonrpc":null,"method":"conformance.unknown","id":1}"#,
            invalid_request_or_id(json!(1)),
        ),
        Case::new(
            "4/method-missing",
            Must,
            "no \"method\" member: Invalid Request",
            r#"{"jsonrpc":"2.0","params":[1],"id":1}"#,
            invalid_request_or_id(json!(1)),
        ),
        Case::new(
            "4/method-number",
            Must,
            "\"method\" MUST be a String: a number is an Invalid Request",
            r#"{"jsonrpc":"2.0","method":1,"id":1}"#,
            invalid_request_or_id(json!(1)),
        ),
        Case::new(
            "4/method-null",
            Must,
            "\"method\": null is an Invalid Request",
            r#"{"jsonrpc":"2.0","method":null,"id":1}"#,
            invalid_request_or_id(json!(1)),
        ),
        Case::new(
            "4/method-object",
            Must,
            "\"method\" as an object is an Invalid Request",
            r#"{"jsonrpc":"2.0","method":{"name":"conformance.unknown"},"id":1}"#,
            invalid_request_or_id(json!(1)),
        ),
        Case::new(
            "4/method-empty-string",
            Info,
            "the empty method name: Method not found, or rejected as invalid",
            r#"{"jsonrpc":"2.0","method":"","id":1}"#,
            Expect::AnyOf(vec![mnf(json!(1)), invalid_request_or_id(json!(1))]),
        ),
        Case::new(
            "4/method-case-sensitive",
            Should,
            "method names are case-sensitive: SUBTRACT is not subtract",
            r#"{"jsonrpc":"2.0","method":"SUBTRACT","params":[42,23],"id":1}"#,
            mnf(json!(1)),
        )
        .examples(),
        Case::new(
            "4/extra-member",
            Info,
            "an unknown extra member: ignored, or the request rejected as invalid",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1,"extra":true}"#,
            Expect::AnyOf(vec![mnf(json!(1)), invalid_request_or_id(json!(1))]),
        ),
        Case::new(
            "4/request-empty-object",
            Must,
            "{} is not a valid Request object: Invalid Request, id null",
            "{}",
            invalid_request(),
        ),
        Case::new(
            "4/request-number",
            Must,
            "a bare number is valid JSON but not a Request object: Invalid Request, id null",
            "1",
            invalid_request(),
        ),
        Case::new(
            "4/request-string",
            Must,
            "a bare string is not a Request object: Invalid Request, id null",
            r#""conformance.unknown""#,
            invalid_request(),
        ),
        Case::new(
            "4/request-null",
            Must,
            "null is not a Request object: Invalid Request, id null",
            "null",
            invalid_request(),
        ),
        // ---- 4.1: notifications ---------------------------------------------
        Case::new(
            "4.1/notification-unknown-method",
            Must,
            "the server MUST NOT reply to a notification, even for an unknown method",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown"}"#,
            Expect::Nothing,
        ),
        Case::new(
            "4.1/notification-positional-params",
            Must,
            "no reply to a notification with positional params",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","params":[1,2,3]}"#,
            Expect::Nothing,
        ),
        Case::new(
            "4.1/notification-named-params",
            Must,
            "no reply to a notification with named params",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","params":{"a":1}}"#,
            Expect::Nothing,
        ),
        Case::new(
            "4.1/notification-known-method",
            Must,
            "no reply to a notification of an existing method (update)",
            r#"{"jsonrpc":"2.0","method":"update","params":[1,2,3,4,5]}"#,
            Expect::Nothing,
        )
        .examples(),
        Case::new(
            "4.1/notification-invalid-params",
            Must,
            "no reply to a notification whose params are wrong: errors of notifications are not reported",
            r#"{"jsonrpc":"2.0","method":"subtract","params":{"wrong":1}}"#,
            Expect::Nothing,
        )
        .examples(),
        // ---- 4.2: parameter structures --------------------------------------
        Case::new(
            "4.2/params-number",
            Should,
            "params MUST be an Array or Object: a number is an Invalid Request (or Invalid params)",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","params":5,"id":1}"#,
            resp(Resp::error_null_or(json!(1), &[INVALID_REQUEST, INVALID_PARAMS])),
        ),
        Case::new(
            "4.2/params-string",
            Should,
            "params as a string is an Invalid Request (or Invalid params)",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","params":"bar","id":1}"#,
            resp(Resp::error_null_or(json!(1), &[INVALID_REQUEST, INVALID_PARAMS])),
        ),
        Case::new(
            "4.2/params-null",
            Info,
            "params: null: treated as omitted, or rejected",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","params":null,"id":1}"#,
            Expect::AnyOf(vec![
                mnf(json!(1)),
                resp(Resp::error_null_or(json!(1), &[INVALID_REQUEST, INVALID_PARAMS])),
            ]),
        ),
        Case::new(
            "4.2/positional-too-few",
            Should,
            "subtract with one positional param: Invalid params",
            r#"{"jsonrpc":"2.0","method":"subtract","params":[42],"id":1}"#,
            resp(Resp::error(json!(1), &[INVALID_PARAMS])),
        )
        .examples(),
        Case::new(
            "4.2/positional-too-many",
            Should,
            "subtract with three positional params: Invalid params",
            r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23,1],"id":2}"#,
            resp(Resp::error(json!(2), &[INVALID_PARAMS])),
        )
        .examples(),
        Case::new(
            "4.2/named-wrong-case",
            Should,
            "by-name params MUST match the expected names exactly, including case: Invalid params",
            r#"{"jsonrpc":"2.0","method":"subtract","params":{"Minuend":42,"Subtrahend":23},"id":3}"#,
            resp(Resp::error(json!(3), &[INVALID_PARAMS])),
        )
        .examples(),
        Case::new(
            "4.2/named-missing",
            Should,
            "subtract without subtrahend: Invalid params",
            r#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":42},"id":4}"#,
            resp(Resp::error(json!(4), &[INVALID_PARAMS])),
        )
        .examples(),
        Case::new(
            "4.2/params-wrong-type",
            Info,
            "subtract of two strings: Invalid params, or an error from the method",
            r#"{"jsonrpc":"2.0","method":"subtract","params":["a","b"],"id":5}"#,
            resp(Resp::error(json!(5), &[])),
        )
        .examples(),
        // ---- 5: response object ---------------------------------------------
        Case::new(
            "5/success-response-members",
            Must,
            "a success response has jsonrpc \"2.0\", result, the request's id, and no error",
            r#"{"jsonrpc":"2.0","method":"get_data","id":"five"}"#,
            resp(Resp::result(json!("five"), json!(["hello", 5]))),
        )
        .examples(),
        Case::new(
            "5/error-response-members",
            Must,
            "an error response has jsonrpc \"2.0\", an error object, the request's id, and no result",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","params":{"x":[1,{"y":null}]},"id":"five"}"#,
            mnf(json!("five")),
        ),
        Case::new(
            "5/result-null",
            Must,
            "a method returning nothing still answers a call, with \"result\": null",
            r#"{"jsonrpc":"2.0","method":"update","params":[1],"id":6}"#,
            resp(Resp::result(json!(6), Value::Null)),
        )
        .examples(),
        Case::new(
            "5/invalid-request-keeps-id",
            Should,
            "an invalid request whose one \"id\" member is valid (here: \"method\" twice) is answered with that id, so the client can match the error to its call (5: id null only when the id could not be detected)",
            r#"{"jsonrpc":"2.0","method":"conformance.first","method":"conformance.second","id":20}"#,
            Expect::AnyOf(vec![
                resp(Resp::error(json!(20), &[INVALID_REQUEST])),
                mnf(json!(20)),
            ]),
        ),
        // ---- 5.1: error object ----------------------------------------------
        Case::new(
            "5.1/method-not-found",
            Must,
            "an unknown method gets -32601 with an integer code and a string message",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","params":[1,2],"id":1}"#,
            mnf(json!(1)),
        ),
        Case::new(
            "5.1/parse-error-truncated",
            Must,
            "truncated JSON is a parse error, id null",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":"#,
            parse_error(),
        ),
        Case::new(
            "5.1/parse-error-not-json",
            Must,
            "text that is not JSON at all is a parse error, id null",
            "this is not json",
            parse_error(),
        ),
        Case::new(
            "5.1/invalid-params-code",
            Should,
            "wrong params for an existing method give -32602",
            r#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":42,"subtrahend":23,"extra":1},"id":2}"#,
            Expect::AnyOf(vec![
                resp(Resp::error(json!(2), &[INVALID_PARAMS])),
                resp(Resp::result(json!(2), json!(19))),
            ]),
        )
        .examples(),
        // ---- 6: batch -------------------------------------------------------
        Case::new(
            "6/empty-array",
            Must,
            "an empty array is not a batch: one Invalid Request response object (not an array)",
            "[]",
            invalid_request(),
        ),
        Case::new(
            "6/single-call",
            Should,
            "a batch of one call is answered with an array of one response",
            r#"[{"jsonrpc":"2.0","method":"conformance.unknown","id":1}]"#,
            Expect::Batch(vec![Resp::error(json!(1), &[METHOD_NOT_FOUND])]),
        ),
        Case::new(
            "6/invalid-entries",
            Must,
            "a batch of invalid objects: one Invalid Request (id null) per entry",
            r#"[{"foo":"boo"},{"jsonrpc":"2.0"},{"jsonrpc":"2.0","method":5}]"#,
            Expect::Batch(vec![
                Resp::invalid_request(),
                Resp::invalid_request(),
                Resp::invalid_request(),
            ]),
        ),
        Case::new(
            "6/only-notifications",
            Must,
            "a batch of only notifications: nothing at all (never an empty array)",
            r#"[{"jsonrpc":"2.0","method":"conformance.unknown"},{"jsonrpc":"2.0","method":"conformance.other","params":[1]}]"#,
            Expect::Nothing,
        ),
        Case::new(
            "6/mixed",
            Must,
            "calls, a notification and an invalid entry: one response per call and per invalid entry, none for the notification",
            r#"[{"jsonrpc":"2.0","method":"conformance.unknown","id":1},{"jsonrpc":"2.0","method":"conformance.unknown"},{"foo":"boo"},{"jsonrpc":"2.0","method":"conformance.unknown","id":"two"}]"#,
            Expect::Batch(vec![
                Resp::error(json!(1), &[METHOD_NOT_FOUND]),
                Resp::invalid_request(),
                Resp::error(json!("two"), &[METHOD_NOT_FOUND]),
            ]),
        ),
        Case::new(
            "6/parse-error-inside",
            Must,
            "a batch that is not valid JSON: one Parse error response object",
            r#"[{"jsonrpc":"2.0","method":"conformance.unknown","id":1},{"jsonrpc":"2.0","method":]"#,
            parse_error(),
        ),
        Case::new(
            "6/nested-batch",
            Should,
            "an array inside a batch is not a Request object: Invalid Request for that entry",
            r#"[[{"jsonrpc":"2.0","method":"conformance.unknown","id":1}]]"#,
            Expect::Batch(vec![Resp::invalid_request()]),
        ),
        Case::new(
            "6/duplicate-ids",
            Should,
            "two calls with the same id are both answered",
            r#"[{"jsonrpc":"2.0","method":"conformance.a","id":1},{"jsonrpc":"2.0","method":"conformance.b","id":1}]"#,
            Expect::Batch(vec![
                Resp::error(json!(1), &[METHOD_NOT_FOUND]),
                Resp::error(json!(1), &[METHOD_NOT_FOUND]),
            ]),
        ),
        Case::new(
            "6/large-batch",
            Info,
            "a batch of 1000 calls: every one answered, or one error for a batch limit",
            big_batch,
            Expect::AnyOf(vec![Expect::Batch(big_batch_resps), any_error(Value::Null)]),
        ),
        Case::new(
            "6/notification-errors-hidden",
            Must,
            "in a batch, a failing notification yields no entry; the call beside it is answered",
            r#"[{"jsonrpc":"2.0","method":"subtract","params":["x"]},{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":1}]"#,
            Expect::Batch(vec![Resp::result(json!(1), json!(3))]),
        )
        .examples(),
        // ---- 7: the spec's examples, byte for byte (on one line) ------------
        Case::new(
            "7/positional-parameters-1",
            Must,
            "subtract [42, 23] -> 19",
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
            resp(Resp::result(json!(1), json!(19))),
        )
        .examples(),
        Case::new(
            "7/positional-parameters-2",
            Must,
            "subtract [23, 42] -> -19",
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#,
            resp(Resp::result(json!(2), json!(-19))),
        )
        .examples(),
        Case::new(
            "7/named-parameters-1",
            Must,
            "subtract {subtrahend: 23, minuend: 42} -> 19",
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
            resp(Resp::result(json!(3), json!(19))),
        )
        .examples(),
        Case::new(
            "7/named-parameters-2",
            Must,
            "subtract {minuend: 42, subtrahend: 23} -> 19",
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
            resp(Resp::result(json!(4), json!(19))),
        )
        .examples(),
        Case::new(
            "7/notification-update",
            Must,
            "the notification update [1,2,3,4,5] gets no reply",
            r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#,
            Expect::Nothing,
        )
        .examples(),
        Case::new(
            "7/notification-foobar",
            Must,
            "the notification foobar (no such method) gets no reply",
            r#"{"jsonrpc": "2.0", "method": "foobar"}"#,
            Expect::Nothing,
        ),
        Case::new(
            "7/non-existent-method",
            Must,
            "foobar with id \"1\" -> -32601 with id \"1\"",
            r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
            mnf(json!("1")),
        ),
        Case::new(
            "7/invalid-json",
            Must,
            "invalid JSON -> -32700 with id null",
            r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
            parse_error(),
        ),
        Case::new(
            "7/invalid-request-object",
            Must,
            "method 1, params \"bar\" -> -32600 with id null",
            r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
            invalid_request(),
        ),
        Case::new(
            "7/batch-invalid-json",
            Must,
            "a batch cut off mid-object -> one -32700 with id null",
            r#"[ {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"}, {"jsonrpc": "2.0", "method" ]"#,
            parse_error(),
        ),
        Case::new(
            "7/empty-array",
            Must,
            "[] -> one -32600 with id null",
            "[]",
            invalid_request(),
        ),
        Case::new(
            "7/invalid-batch-not-empty",
            Must,
            "[1] -> [-32600 with id null]",
            "[1]",
            Expect::Batch(vec![Resp::invalid_request()]),
        ),
        Case::new(
            "7/invalid-batch",
            Must,
            "[1,2,3] -> three -32600 with id null",
            "[1,2,3]",
            Expect::Batch(vec![
                Resp::invalid_request(),
                Resp::invalid_request(),
                Resp::invalid_request(),
            ]),
        ),
        Case::new(
            "7/batch",
            Must,
            "the spec's mixed batch: sum, a notification, subtract, an invalid object, an unknown method, get_data",
            r#"[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"}, {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}, {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"}, {"foo": "boo"}, {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"}, {"jsonrpc": "2.0", "method": "get_data", "id": "9"}]"#,
            Expect::Batch(vec![
                Resp::result(json!("1"), json!(7)),
                Resp::result(json!("2"), json!(19)),
                Resp::invalid_request(),
                Resp::error(json!("5"), &[METHOD_NOT_FOUND]),
                Resp::result(json!("9"), json!(["hello", 5])),
            ]),
        )
        .examples(),
        Case::new(
            "7/batch-all-notifications",
            Must,
            "a batch of two notifications -> nothing",
            r#"[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]}, {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]"#,
            Expect::Nothing,
        )
        .examples(),
        // ---- 8: extensions --------------------------------------------------
        Case::new(
            "8/rpc-prefix-unknown",
            Info,
            "an unknown method in the reserved rpc. namespace: Method not found",
            r#"{"jsonrpc":"2.0","method":"rpc.conformance.unknown","id":1}"#,
            Expect::AnyOf(vec![mnf(json!(1)), any_error(json!(1))]),
        ),
        // ---- http: transport conventions -------------------------------------
        Case::new(
            "http/notification-204",
            Should,
            "a notification is answered 204 No Content (an empty 200 passes 4.1 but warns here)",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown"}"#,
            Expect::Custom {
                describe: "HTTP 204 with no body",
                check: status_204_empty,
            },
        )
        .http_only(),
        Case::new(
            "http/batch-notifications-204",
            Should,
            "an all-notification batch is answered 204 No Content",
            r#"[{"jsonrpc":"2.0","method":"conformance.unknown"},{"jsonrpc":"2.0","method":"conformance.other"}]"#,
            Expect::Custom {
                describe: "HTTP 204 with no body",
                check: status_204_empty,
            },
        )
        .http_only(),
        Case::new(
            "http/response-content-type",
            Should,
            "a response body is labelled Content-Type: application/json",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1}"#,
            Expect::Custom {
                describe: "the -32601 error labelled Content-Type: application/json",
                check: json_content_type,
            },
        )
        .http_only(),
        Case::new(
            "http/error-status-200",
            Info,
            "a JSON-RPC error (Method not found) still travels as HTTP 200",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1}"#,
            Expect::Custom {
                describe: "HTTP 200 carrying the -32601 error",
                check: mnf_status_200,
            },
        )
        .http_only(),
        Case::new(
            "http/parse-error-status-200",
            Info,
            "a parse error still travels as HTTP 200 with a JSON-RPC body",
            r#"{"jsonrpc":"2.0","#,
            Expect::Custom {
                describe: "HTTP 200 carrying the -32700 error",
                check: parse_error_status_200,
            },
        )
        .http_only(),
        Case::new(
            "http/get-rejected",
            Should,
            "GET is not a JSON-RPC call: a 4xx, not a 2xx or a 5xx",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1}"#,
            Expect::Custom {
                describe: "an HTTP 4xx",
                check: client_error,
            },
        )
        .http_only()
        .with_http("GET", None),
        Case::new(
            "http/get-405-allow",
            Info,
            "GET gets 405 Method Not Allowed with Allow: POST",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1}"#,
            Expect::Custom {
                describe: "HTTP 405 with Allow: POST",
                check: status_405_allow_post,
            },
        )
        .http_only()
        .with_http("GET", None),
        Case::new(
            "http/put-rejected",
            Should,
            "PUT with a JSON-RPC body: a 4xx",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1}"#,
            Expect::Custom {
                describe: "an HTTP 4xx",
                check: client_error,
            },
        )
        .http_only()
        .with_http("PUT", Some("application/json")),
        Case::new(
            "http/content-type-charset",
            Should,
            "Content-Type: application/json; charset=utf-8 is JSON",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1}"#,
            mnf(json!(1)),
        )
        .http_only()
        .with_http("POST", Some("application/json; charset=utf-8")),
        Case::new(
            "http/content-type-text-plain",
            Info,
            "Content-Type: text/plain: rejected with 415, or served anyway",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1}"#,
            Expect::AnyOf(vec![
                Expect::Custom {
                    describe: "HTTP 415",
                    check: status_415,
                },
                mnf(json!(1)),
            ]),
        )
        .http_only()
        .with_http("POST", Some("text/plain")),
        Case::new(
            "http/content-type-missing",
            Info,
            "no Content-Type: rejected with 415, or served anyway",
            r#"{"jsonrpc":"2.0","method":"conformance.unknown","id":1}"#,
            Expect::AnyOf(vec![
                Expect::Custom {
                    describe: "HTTP 415",
                    check: status_415,
                },
                mnf(json!(1)),
            ]),
        )
        .http_only()
        .with_http("POST", None),
        Case::new(
            "http/empty-body",
            Info,
            "an empty POST body: a parse error, or a 4xx",
            "",
            Expect::AnyOf(vec![
                parse_error(),
                Expect::Custom {
                    describe: "an HTTP 4xx",
                    check: client_error,
                },
            ]),
        )
        .http_only(),
        Case {
            payload: Payload::Oversized(OVERSIZED_BYTES),
            ..Case::new(
                "http/oversized-body",
                Info,
                "a 16 MiB body: 413 Payload Too Large (or served), never a dropped connection",
                "",
                Expect::AnyOf(vec![
                    Expect::Custom {
                        describe: "HTTP 413",
                        check: status_413,
                    },
                    mnf(json!(1)),
                    any_error(json!(1)),
                ]),
            )
            .http_only()
        },
        // ---- tcp: newline-delimited stream conventions ------------------------
        Case::new(
            "tcp/two-messages-one-write",
            Must,
            "two lines in one write are two messages, each answered",
            "{\"jsonrpc\":\"2.0\",\"method\":\"conformance.unknown\",\"id\":1}\n{\"jsonrpc\":\"2.0\",\"method\":\"conformance.unknown\",\"id\":2}",
            Expect::Each(vec![
                Resp::error(json!(1), &[METHOD_NOT_FOUND]),
                Resp::error(json!(2), &[METHOD_NOT_FOUND]),
            ]),
        )
        .stream_only(),
        Case::new(
            "tcp/crlf-line-ending",
            Info,
            "a line ended by CRLF is the same message",
            "{\"jsonrpc\":\"2.0\",\"method\":\"conformance.unknown\",\"id\":1}\r",
            mnf(json!(1)),
        )
        .stream_only(),
        Case::new(
            "tcp/blank-line",
            Info,
            "a line of only whitespace: ignored, or a parse error; the stream goes on",
            " \t ",
            Expect::AnyOf(vec![Expect::Nothing, parse_error()]),
        )
        .stream_only(),
        Case::new(
            "tcp/survives-parse-error",
            Should,
            "after a parse error the connection stays usable: the next line is answered",
            r#"{"jsonrpc":"2.0","method""#,
            Expect::Custom {
                describe: "a -32700 with id null, then the probe on the next line answered",
                check: parse_error_then_probe,
            },
        )
        .stream_only(),
        Case {
            payload: Payload::Oversized(OVERSIZED_BYTES),
            ..Case::new(
                "tcp/oversized-line",
                Info,
                "a 16 MiB line: answered or refused with an error, and the next line is still answered",
                "",
                Expect::Custom {
                    describe: "at most one error (or the answer), then the probe on the next line answered",
                    check: error_then_probe,
                },
            )
            .stream_only()
        },
        // ---- ws: one message per WebSocket text frame --------------------------
        // The ws:// transport sends a case's bytes as one text frame, or as a
        // binary frame when they are not UTF-8 (which a text frame cannot
        // carry), then a probe call in its own text frame.
        Case::new(
            "ws/binary-frame",
            Should,
            "a binary frame (here: bytes that are not UTF-8): refused with a close (1003), or an error answer",
            b"\xFF\xFE{\"jsonrpc\":\"2.0\",\"method\":\"conformance.unknown\",\"id\":1}".to_vec(),
            Expect::Custom {
                describe: "a close frame with nothing before it, or one error response",
                check: closed_or_error,
            },
        )
        .ws_only(),
        Case::new(
            "ws/survives-parse-error",
            Should,
            "after a parse error the connection stays usable: the next frame is answered",
            r#"{"jsonrpc":"2.0","method""#,
            Expect::Custom {
                describe: "a -32700 with id null, then the probe in the next frame answered",
                check: parse_error_then_probe,
            },
        )
        .ws_only(),
        Case {
            payload: Payload::Oversized(OVERSIZED_BYTES),
            ..Case::new(
                "ws/oversized-message",
                Info,
                "a 16 MiB text frame: an error (and the next frame answered), or a clean close (1009)",
                "",
                Expect::Custom {
                    describe: "at most one error then the probe answered, or a close with nothing before it",
                    check: error_then_probe_or_closed,
                },
            )
            .ws_only()
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let cases = catalog();
        let mut seen = HashSet::new();
        for c in &cases {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            let (section, name) = c.id.split_once('/').expect("id has a section");
            assert!(
                SECTIONS.iter().any(|(s, _)| *s == section),
                "{}: unknown section {section}",
                c.id
            );
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b)),
                "{}: name must be kebab-case",
                c.id
            );
            assert_eq!(c.section(), section);
            assert!(!c.title.is_empty(), "{}: no title", c.id);
        }
    }

    #[test]
    fn every_case_sends_bytes() {
        for c in catalog() {
            if c.id == "http/empty-body" {
                assert!(c.payload.is_empty());
                continue;
            }
            assert!(!c.payload.is_empty(), "{}: no bytes", c.id);
        }
    }

    #[test]
    fn stream_cases_fit_on_one_line() {
        // Only HTTP-only cases and those that deliberately send several
        // lines may contain a newline; on a stream a newline ends a message.
        for c in catalog() {
            if c.applies == Applies::Http || c.id == "tcp/two-messages-one-write" {
                continue;
            }
            assert!(
                !c.payload.bytes().contains(&b'\n'),
                "{}: newline in payload",
                c.id
            );
        }
    }

    #[test]
    fn every_section_has_cases_and_levels_are_covered() {
        let mut cases = catalog();
        cases.extend(crate::catalog_v1::catalog_v1());
        for (s, _) in SECTIONS {
            assert!(cases.iter().any(|c| c.section() == *s), "section {s} is empty");
        }
        for level in [Level::Must, Level::Should, Level::Info] {
            assert!(cases.iter().any(|c| c.level == level));
        }
    }

    #[test]
    fn oversized_payload_has_the_declared_size_and_is_json() {
        let p = Payload::Oversized(OVERSIZED_BYTES);
        let bytes = p.bytes();
        assert_eq!(bytes.len(), OVERSIZED_BYTES);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["method"], "conformance.unknown");
    }

    #[test]
    fn well_formed_answers_pass_their_cases() {
        // A canned correct answer per kind passes; it guards against
        // expectations that nothing could meet.
        let find = |id: &str| catalog().into_iter().find(|c| c.id == id).unwrap();
        let ok = |id: &str, body: &str| {
            let obs = Observed::http(200, &[("content-type", "application/json")], body.as_bytes());
            find(id).expect.check(&obs)
        };
        assert_eq!(
            ok(
                "7/invalid-json",
                r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#
            ),
            Ok(())
        );
        assert!(
            ok(
                "7/invalid-json",
                r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"x"},"id":null}"#
            )
            .is_err()
        );
        assert_eq!(ok("4.1/notification-unknown-method", ""), Ok(()));
        assert!(
            ok(
                "4.1/notification-unknown-method",
                r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"x"},"id":null}"#
            )
            .is_err()
        );
        assert_eq!(
            ok(
                "4/id-fractional",
                r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"x"},"id":1.5}"#
            ),
            Ok(())
        );
        assert_eq!(
            ok(
                "7/batch",
                r#"[{"jsonrpc":"2.0","result":7,"id":"1"},{"jsonrpc":"2.0","result":19,"id":"2"},
              {"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null},
              {"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"5"},
              {"jsonrpc":"2.0","result":["hello",5],"id":"9"}]"#
            ),
            Ok(())
        );
        assert!(ok("6/only-notifications", "[]").is_err());
        assert!(ok("4/id-null", "").is_err());
        // HTTP-convention checks.
        let status = |id: &str, status: u16, headers: &[(&str, &str)]| {
            find(id).expect.check(&Observed::http(status, headers, b""))
        };
        assert_eq!(status("http/notification-204", 204, &[]), Ok(()));
        assert!(status("http/notification-204", 200, &[]).is_err());
        assert_eq!(
            status("http/get-405-allow", 405, &[("Allow", "GET, POST")]),
            Ok(())
        );
        assert!(status("http/get-405-allow", 405, &[]).is_err());
        assert!(status("http/get-rejected", 200, &[]).is_err());
        assert_eq!(status("http/oversized-body", 413, &[]), Ok(()));
        assert!(
            find("http/oversized-body")
                .expect
                .check(&Observed::failed(End::Error("connection reset".into())))
                .is_err()
        );
    }

    #[test]
    fn no_case_accepts_silence_or_garbage() {
        // Every check must be able to fail: a dead server, a non-JSON body
        // and a reply that echoes nothing must not pass.
        let stray: &[u8] = br#"{"jsonrpc":"2.0","result":"stray","id":"not-sent"}"#;
        for c in catalog() {
            for end in [
                End::TimedOut(std::time::Duration::from_millis(1)),
                End::Error("connection refused".into()),
            ] {
                assert!(
                    c.expect.check(&Observed::failed(end)).is_err(),
                    "{} accepts a dead server",
                    c.id
                );
            }
            for body in [&b"garbage"[..], stray] {
                let http = Observed::http(200, &[("content-type", "application/json")], body);
                assert!(c.expect.check(&http).is_err(), "{} accepts {:?}", c.id, body);
                let stream = Observed::stream(&[body]);
                assert!(
                    c.expect.check(&stream).is_err(),
                    "{} accepts {:?} on a stream",
                    c.id,
                    body
                );
            }
        }
    }

    #[test]
    fn stream_checks_use_the_probe() {
        let find = |id: &str| catalog().into_iter().find(|c| c.id == id).unwrap();
        let pe: &[u8] = br#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#;
        let c = find("tcp/survives-parse-error");
        assert_eq!(c.expect.check(&Observed::stream(&[pe])), Ok(()));
        let mut dead = Observed::stream(&[pe]);
        dead.probe_answered = false;
        dead.end = End::Closed;
        assert!(c.expect.check(&dead).is_err());
        let blank = find("tcp/blank-line");
        assert_eq!(blank.expect.check(&Observed::stream(&[])), Ok(()));
        assert_eq!(blank.expect.check(&Observed::stream(&[pe])), Ok(()));
    }
}
