//! Expectations and the checks that hold a server's answer against them.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

/// JSON-RPC 2.0 error code: invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC 2.0 error code: the JSON sent is not a valid Request object.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC 2.0 error code: the method does not exist or is not available.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC 2.0 error code: invalid method parameter(s).
pub const INVALID_PARAMS: i64 = -32602;
/// JSON-RPC 2.0 error code: internal JSON-RPC error.
pub const INTERNAL_ERROR: i64 = -32603;

/// HTTP status line and headers of an answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpMeta {
    /// The status code.
    pub status: u16,
    /// The headers in the order received (names as sent).
    pub headers: Vec<(String, String)>,
}

impl HttpMeta {
    /// The first header of this name (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How an exchange ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The answer is complete (HTTP: a whole response; stream: the probe was
    /// answered and every expected message arrived).
    Complete,
    /// The peer closed the connection first.
    Closed,
    /// The per-case timeout ran out first.
    TimedOut(Duration),
    /// An I/O or protocol error (connection refused, malformed HTTP, ...).
    Error(String),
}

/// Everything that came back for one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// The messages received, in order. HTTP: the body, if not empty (a body
    /// of only whitespace counts as empty). Stream: every line except the
    /// probe's answer and blank lines.
    pub messages: Vec<Vec<u8>>,
    /// Status and headers, on HTTP.
    pub http: Option<HttpMeta>,
    /// On a stream: whether the follow-up probe call was answered, which
    /// proves the server read past the case and chose to send nothing more.
    pub probe_answered: bool,
    /// How the exchange ended.
    pub end: End,
}

impl Observed {
    /// An HTTP answer with this status, headers and body.
    pub fn http(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Observed {
        let messages = if body.iter().all(u8::is_ascii_whitespace) {
            Vec::new()
        } else {
            vec![body.to_vec()]
        };
        Observed {
            messages,
            http: Some(HttpMeta {
                status,
                headers: headers
                    .iter()
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                    .collect(),
            }),
            probe_answered: false,
            end: End::Complete,
        }
    }

    /// A stream answer: these lines, then the probe's answer.
    pub fn stream(lines: &[&[u8]]) -> Observed {
        Observed {
            messages: lines.iter().map(|l| l.to_vec()).collect(),
            http: None,
            probe_answered: true,
            end: End::Complete,
        }
    }

    /// Nothing at all, because of `end`.
    pub fn failed(end: End) -> Observed {
        Observed {
            messages: Vec::new(),
            http: None,
            probe_answered: false,
            end,
        }
    }

    /// A few words on what came back, for side-by-side tables: the error
    /// code or `result` of each message (`id null` when the id was null,
    /// `[...]` for a batch), `nothing`, an HTTP status other than 200, and
    /// how the exchange ended when it did not complete.
    ///
    /// ```
    /// use sansrpc_conformance::Observed;
    /// let obs = Observed::stream(&[br#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"x"},"id":null}"#]);
    /// assert_eq!(obs.brief(), "-32600 id null");
    /// assert_eq!(Observed::http(204, &[], b"").brief(), "HTTP 204 nothing");
    /// let batch = Observed::http(200, &[], br#"[{"jsonrpc":"2.0","result":7,"id":1},{"jsonrpc":"2.0","error":{"code":-32601,"message":"x"},"id":2}]"#);
    /// assert_eq!(batch.brief(), "[result,-32601]");
    /// ```
    pub fn brief(&self) -> String {
        let mut parts: Vec<String> = self.messages.iter().map(|m| brief_message(m)).collect();
        if parts.is_empty() {
            parts.push("nothing".to_owned());
        }
        let mut s = parts.join(" + ");
        if let Some(http) = &self.http {
            if http.status != 200 {
                s = format!("HTTP {} {s}", http.status);
            }
        }
        match &self.end {
            End::Complete => {}
            End::Closed => s.push_str(", closed"),
            End::TimedOut(_) => s.push_str(", timed out"),
            End::Error(_) => s.push_str(", error"),
        }
        s
    }

    /// A one-line account of what came back, for reports.
    pub fn summary(&self, max: usize) -> String {
        let mut parts = Vec::new();
        if let Some(http) = &self.http {
            let mut s = format!("HTTP {}", http.status);
            if let Some(ct) = http.header("content-type") {
                s.push_str(&format!(", Content-Type: {ct}"));
            }
            if let Some(allow) = http.header("allow") {
                s.push_str(&format!(", Allow: {allow}"));
            }
            parts.push(s);
            match self.messages.first() {
                Some(body) => parts.push(format!("body: {}", printable(body, max))),
                None => parts.push("empty body".to_owned()),
            }
        } else {
            match self.messages.len() {
                0 => parts.push("no message".to_owned()),
                1 => parts.push(format!("line: {}", printable(&self.messages[0], max))),
                n => {
                    for (i, m) in self.messages.iter().enumerate() {
                        parts.push(format!("line {}/{n}: {}", i + 1, printable(m, max)));
                    }
                }
            }
            if !self.probe_answered {
                parts.push("probe not answered".to_owned());
            }
        }
        match &self.end {
            End::Complete => {}
            End::Closed => parts.push("then the connection closed".to_owned()),
            End::TimedOut(d) => parts.push(format!("timed out after {} ms", d.as_millis())),
            End::Error(e) => parts.push(format!("error: {e}")),
        }
        parts.join("; ")
    }
}

/// What a request's `id` must come back as.
#[derive(Clone, Debug, PartialEq)]
pub enum IdMatch {
    /// This value (numbers compare by value: `1.5` matches `1.5e0`).
    Is(Value),
    /// `null` or this value: for invalid requests whose id the server could
    /// detect; the spec says `null` "if there was an error in detecting the
    /// id", and servers differ on whether a readable id counts.
    NullOr(Value),
}

/// What a response must carry besides its id.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A `result` equal to this value.
    Result(Value),
    /// Any `result`.
    AnyResult,
    /// An `error` whose code is one of these (any code if empty).
    Error(Vec<i64>),
}

/// One expected response object.
#[derive(Clone, Debug, PartialEq)]
pub struct Resp {
    /// Its id.
    pub id: IdMatch,
    /// Its result or error.
    pub outcome: Outcome,
}

impl Resp {
    /// A response with `result` equal to `value` for request `id`.
    pub fn result(id: Value, value: Value) -> Resp {
        Resp {
            id: IdMatch::Is(id),
            outcome: Outcome::Result(value),
        }
    }

    /// An error response with one of `codes` (any if empty) for request `id`.
    pub fn error(id: Value, codes: &[i64]) -> Resp {
        Resp {
            id: IdMatch::Is(id),
            outcome: Outcome::Error(codes.to_vec()),
        }
    }

    /// An error response with one of `codes` and id `null` or `id`.
    pub fn error_null_or(id: Value, codes: &[i64]) -> Resp {
        Resp {
            id: IdMatch::NullOr(id),
            outcome: Outcome::Error(codes.to_vec()),
        }
    }

    /// `-32700 Parse error` with id `null`.
    pub fn parse_error() -> Resp {
        Resp::error(Value::Null, &[PARSE_ERROR])
    }

    /// `-32600 Invalid Request` with id `null`.
    pub fn invalid_request() -> Resp {
        Resp::error(Value::Null, &[INVALID_REQUEST])
    }

    /// Checks one response object (already parsed) against this expectation.
    pub fn check(&self, v: &Value) -> Result<(), String> {
        let obj = validate_response(v)?;
        // The outcome first: "error -32601, expected -32700" says more than
        // the id that follows from it.
        match (&self.outcome, obj.get("result"), obj.get("error")) {
            (Outcome::Result(want), Some(got), _) if !json_eq(got, want) => {
                return Err(format!("result is {got}, expected {want}"));
            }
            (Outcome::Result(_) | Outcome::AnyResult, Some(_), _) => {}
            (Outcome::Result(_) | Outcome::AnyResult, None, Some(e)) => {
                return Err(format!("an error ({e}), expected a result"));
            }
            (Outcome::Error(codes), _, Some(e)) => {
                let code = e["code"].as_i64().unwrap_or_default();
                if !codes.is_empty() && !codes.contains(&code) {
                    return Err(format!("error code {code}, expected {}", codes_text(codes)));
                }
            }
            (Outcome::Error(_), Some(r), _) => {
                return Err(format!("a result ({r}), expected an error"));
            }
            _ => return Err("neither result nor error".to_owned()),
        }
        let id = &obj["id"];
        let id_ok = match &self.id {
            IdMatch::Is(want) => json_eq(id, want),
            IdMatch::NullOr(want) => id.is_null() || json_eq(id, want),
        };
        if id_ok {
            Ok(())
        } else {
            Err(format!("id is {id}, expected {}", self.id_text()))
        }
    }

    fn id_text(&self) -> String {
        match &self.id {
            IdMatch::Is(v) => v.to_string(),
            IdMatch::NullOr(v) => format!("null (or {v})"),
        }
    }
}

impl fmt::Display for Resp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Result(v) => write!(f, "result {v}"),
            Outcome::AnyResult => write!(f, "any result"),
            Outcome::Error(codes) if codes.is_empty() => write!(f, "an error"),
            Outcome::Error(codes) => write!(f, "error {}", codes_text(codes)),
        }?;
        write!(f, " with id {}", self.id_text())
    }
}

fn codes_text(codes: &[i64]) -> String {
    let names: Vec<String> = codes.iter().map(|c| code_name(*c)).collect();
    names.join(" or ")
}

fn code_name(code: i64) -> String {
    let name = match code {
        PARSE_ERROR => "Parse error",
        INVALID_REQUEST => "Invalid Request",
        METHOD_NOT_FOUND => "Method not found",
        INVALID_PARAMS => "Invalid params",
        INTERNAL_ERROR => "Internal error",
        _ => return code.to_string(),
    };
    format!("{code} ({name})")
}

/// A hand-written check for what the structured expectations cannot say
/// (HTTP status codes and headers, a stream surviving bad input).
pub type CheckFn = fn(&Observed) -> Result<(), String>;

/// What must come back for a case.
#[derive(Clone, Debug)]
pub enum Expect {
    /// No message at all. HTTP: an empty body with status 200 or 204.
    /// Stream: the probe sent after the case is answered and nothing else is.
    Nothing,
    /// Exactly one message: this single response object.
    Response(Resp),
    /// Exactly one message: a non-empty array holding exactly these
    /// responses, in any order (the spec lets a batch answer come in any order).
    Batch(Vec<Resp>),
    /// One message per response, in any order (streams: several lines).
    Each(Vec<Resp>),
    /// Any one of these.
    AnyOf(Vec<Expect>),
    /// A hand-written check, with a description of what it wants.
    Custom {
        /// What it wants, for reports.
        describe: &'static str,
        /// The check.
        check: CheckFn,
    },
}

impl Expect {
    /// The fewest messages this expectation can be met with; a stream
    /// transport reads at least this many before it stops.
    pub fn min_messages(&self) -> usize {
        match self {
            Expect::Nothing | Expect::Custom { .. } => 0,
            Expect::Response(_) | Expect::Batch(_) => 1,
            Expect::Each(r) => r.len(),
            Expect::AnyOf(alts) => alts.iter().map(Expect::min_messages).min().unwrap_or(0),
        }
    }

    /// Checks what came back. `Err` says why it falls short.
    pub fn check(&self, obs: &Observed) -> Result<(), String> {
        match self {
            Expect::Nothing => check_nothing(obs),
            Expect::Response(resp) => {
                let v = single_message(obs)?;
                if v.is_array() {
                    return Err("got an array, expected a single response object".to_owned());
                }
                resp.check(&v)
            }
            Expect::Batch(resps) => {
                let v = single_message(obs)?;
                let Value::Array(items) = v else {
                    return Err("got a single object, expected a batch array".to_owned());
                };
                if items.is_empty() {
                    return Err("got an empty array, which the spec forbids (section 6)".to_owned());
                }
                match_all(resps, &items, "array entries")
            }
            Expect::Each(resps) => {
                if obs.messages.len() != resps.len() {
                    return Err(format!(
                        "{} message(s){}, expected {}",
                        obs.messages.len(),
                        end_note(obs),
                        resps.len()
                    ));
                }
                let items = obs
                    .messages
                    .iter()
                    .map(|m| parse(m))
                    .collect::<Result<Vec<_>, _>>()?;
                match_all(resps, &items, "messages")
            }
            Expect::AnyOf(alts) => {
                let mut why = Vec::new();
                for alt in alts {
                    match alt.check(obs) {
                        Ok(()) => return Ok(()),
                        Err(e) => why.push(e),
                    }
                }
                why.dedup();
                Err(why.join("; and not that either: "))
            }
            Expect::Custom { check, .. } => check(obs),
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Nothing => f.write_str("nothing (no response)"),
            Expect::Response(r) => write!(f, "{r}"),
            Expect::Batch(rs) => {
                f.write_str("an array of [")?;
                for (i, r) in rs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{r}")?;
                }
                f.write_str("] in any order")
            }
            Expect::Each(rs) => {
                write!(f, "{} separate messages: ", rs.len())?;
                for (i, r) in rs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{r}")?;
                }
                f.write_str(" (any order)")
            }
            Expect::AnyOf(alts) => {
                for (i, a) in alts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{a}")?;
                }
                Ok(())
            }
            Expect::Custom { describe, .. } => f.write_str(describe),
        }
    }
}

fn end_note(obs: &Observed) -> &'static str {
    match obs.end {
        End::Complete => "",
        End::Closed => " before the connection closed",
        End::TimedOut(_) => " before the timeout",
        End::Error(_) => " before an error",
    }
}

fn check_nothing(obs: &Observed) -> Result<(), String> {
    if let End::Error(e) = &obs.end {
        return Err(e.clone());
    }
    if let Some(http) = &obs.http {
        if !obs.messages.is_empty() {
            return Err("a body, expected an empty one".to_owned());
        }
        if !(http.status == 200 || http.status == 204) {
            return Err(format!("status {}, expected 200 or 204", http.status));
        }
        return Ok(());
    }
    if !obs.messages.is_empty() {
        return Err(format!("{} message(s), expected none", obs.messages.len()));
    }
    if !obs.probe_answered {
        return Err(match obs.end {
            End::TimedOut(_) => "the probe sent after the case was not answered in time".to_owned(),
            _ => "the connection closed before the probe sent after the case was answered".to_owned(),
        });
    }
    Ok(())
}

/// The one message of an observation, parsed.
fn single_message(obs: &Observed) -> Result<Value, String> {
    match obs.messages.as_slice() {
        [one] => parse(one),
        [] => Err(match &obs.end {
            End::TimedOut(d) => format!("no response within {} ms", d.as_millis()),
            End::Error(e) => format!("no response: {e}"),
            End::Closed => "no response before the connection closed".to_owned(),
            End::Complete => "no response".to_owned(),
        }),
        many => Err(format!("{} messages, expected one", many.len())),
    }
}

/// Parses a message as JSON.
pub fn parse(message: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(message).map_err(|e| format!("the answer is not valid JSON ({e})"))
}

fn brief_message(message: &[u8]) -> String {
    match parse(message) {
        Err(_) => "not JSON".to_owned(),
        Ok(Value::Array(items)) => {
            let inner: Vec<String> = items.iter().map(brief_value).collect();
            format!("[{}]", inner.join(","))
        }
        Ok(v) => brief_value(&v),
    }
}

fn brief_value(v: &Value) -> String {
    let id = match v.get("id") {
        Some(Value::Null) => " id null",
        None => " no id",
        Some(_) => "",
    };
    if let Some(code) = v.get("error").and_then(|e| e.get("code")) {
        format!("{code}{id}")
    } else if v.get("result").is_some() {
        format!("result{id}")
    } else if v.get("method").is_some() {
        "a request".to_owned()
    } else {
        "other".to_owned()
    }
}

/// Checks what the spec requires of every response object (section 5 and
/// 5.1): an object with `"jsonrpc": "2.0"`, an `id`, exactly one of `result`
/// and `error`, and an error object with an integer `code` and a string
/// `message`.
pub fn validate_response(v: &Value) -> Result<&Map<String, Value>, String> {
    let Some(obj) = v.as_object() else {
        return Err(format!("{} is not a response object", kind_of(v)));
    };
    match obj.get("jsonrpc") {
        Some(Value::String(s)) if s == "2.0" => {}
        Some(other) => return Err(format!("\"jsonrpc\" is {other}, must be \"2.0\"")),
        None => return Err("no \"jsonrpc\" member".to_owned()),
    }
    if !obj.contains_key("id") {
        return Err("no \"id\" member".to_owned());
    }
    match (obj.get("result"), obj.get("error")) {
        (Some(_), Some(_)) => Err("both \"result\" and \"error\"".to_owned()),
        (None, None) => Err("neither \"result\" nor \"error\"".to_owned()),
        (Some(_), None) => Ok(obj),
        (None, Some(e)) => {
            let Some(e) = e.as_object() else {
                return Err(format!("\"error\" is {}, must be an object", kind_of(e)));
            };
            match e.get("code") {
                Some(c) if c.is_i64() || c.is_u64() => {}
                Some(c) => return Err(format!("error \"code\" is {c}, must be an integer")),
                None => return Err("error object has no \"code\"".to_owned()),
            }
            match e.get("message") {
                Some(Value::String(_)) => Ok(obj),
                Some(m) => Err(format!("error \"message\" is {m}, must be a string")),
                None => Err("error object has no \"message\"".to_owned()),
            }
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// JSON equality with numbers compared by value (`1.5` = `15e-1`, `100` =
/// `1e2`), so an echo that re-serializes a number the same way is accepted.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else if x.is_f64() || y.is_f64() {
                x.as_f64() == y.as_f64()
            } else {
                false
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Matches every expected response to a distinct item, in any order, with
/// nothing left over.
fn match_all(want: &[Resp], items: &[Value], what: &str) -> Result<(), String> {
    for (i, item) in items.iter().enumerate() {
        validate_response(item).map_err(|e| format!("entry {}: {e}", i + 1))?;
    }
    if items.len() != want.len() {
        return Err(format!("{} {what}, expected {}", items.len(), want.len()));
    }
    let mut used = vec![false; items.len()];
    if assign(want, items, &mut used) {
        return Ok(());
    }
    // Name the first expected response nothing could stand for.
    for w in want {
        if !items.iter().any(|item| w.check(item).is_ok()) {
            return Err(format!("nothing matches {w}"));
        }
    }
    Err(format!(
        "the {what} do not pair up one-to-one with the expected responses"
    ))
}

fn assign(want: &[Resp], items: &[Value], used: &mut [bool]) -> bool {
    let Some((first, rest)) = want.split_first() else {
        return true;
    };
    for i in 0..items.len() {
        if !used[i] && first.check(&items[i]).is_ok() {
            used[i] = true;
            if assign(rest, items, used) {
                return true;
            }
            used[i] = false;
        }
    }
    false
}

/// Renders bytes for a person: UTF-8 text kept, control characters and
/// invalid bytes escaped, cut to about `max` characters.
pub(crate) fn printable(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    let mut chunks = bytes.utf8_chunks();
    let mut shown = 0usize;
    let mut cut = false;
    'outer: for chunk in &mut chunks {
        for c in chunk.valid().chars() {
            if shown >= max {
                cut = true;
                break 'outer;
            }
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{feff}' => out.push_str("\\u{feff}"),
                c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => out.push(c),
            }
            shown += 1;
        }
        for b in chunk.invalid() {
            if shown >= max {
                cut = true;
                break 'outer;
            }
            out.push_str(&format!("\\x{b:02x}"));
            shown += 1;
        }
    }
    if cut {
        out.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn http_json(body: &str) -> Observed {
        Observed::http(200, &[("Content-Type", "application/json")], body.as_bytes())
    }

    #[test]
    fn single_error_response() {
        let e = Expect::Response(Resp::error(json!(1), &[METHOD_NOT_FOUND]));
        let ok = r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":1}"#;
        assert_eq!(e.check(&http_json(ok)), Ok(()));
        // Wrong code, wrong id, missing jsonrpc, both members, float code.
        for bad in [
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"x"},"id":1}"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"x"},"id":2}"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"x"},"id":"1"}"#,
            r#"{"error":{"code":-32601,"message":"x"},"id":1}"#,
            r#"{"jsonrpc":"2.0","result":null,"error":{"code":-32601,"message":"x"},"id":1}"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32601.0,"message":"x"},"id":1}"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32601},"id":1}"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"x"}}"#,
            r#"[{"jsonrpc":"2.0","error":{"code":-32601,"message":"x"},"id":1}]"#,
            r#"{"jsonrpc":"2.0","error":"#,
        ] {
            assert!(e.check(&http_json(bad)).is_err(), "{bad} passed");
        }
        assert!(e.check(&Observed::http(204, &[], b"")).is_err());
        assert!(
            e.check(&Observed::failed(End::TimedOut(Duration::from_millis(5))))
                .is_err()
        );
    }

    #[test]
    fn ids_compare_by_value() {
        let e = Expect::Response(Resp::error(json!(1.5), &[]));
        let r = |id: &str| {
            http_json(&format!(
                r#"{{"jsonrpc":"2.0","error":{{"code":1,"message":"m"}},"id":{id}}}"#
            ))
        };
        assert!(e.check(&r("1.5")).is_ok());
        assert!(e.check(&r("15e-1")).is_ok());
        assert!(e.check(&r("1")).is_err());
        assert!(e.check(&r("\"1.5\"")).is_err());
        let big = Expect::Response(Resp::error(json!(9007199254740993u64), &[]));
        assert!(big.check(&r("9007199254740993")).is_ok());
        assert!(big.check(&r("9007199254740992")).is_err());
        let null_or = Expect::Response(Resp::error_null_or(json!(7), &[INVALID_REQUEST]));
        let inv = |id: &str| {
            http_json(&format!(
                r#"{{"jsonrpc":"2.0","error":{{"code":-32600,"message":"m"}},"id":{id}}}"#
            ))
        };
        assert!(null_or.check(&inv("null")).is_ok());
        assert!(null_or.check(&inv("7")).is_ok());
        assert!(null_or.check(&inv("8")).is_err());
    }

    #[test]
    fn results() {
        let e = Expect::Response(Resp::result(json!(1), json!(["hello", 5])));
        assert!(
            e.check(&http_json(r#"{"jsonrpc":"2.0","result":["hello",5],"id":1}"#))
                .is_ok()
        );
        assert!(
            e.check(&http_json(r#"{"jsonrpc":"2.0","result":["hello",5.0],"id":1}"#))
                .is_ok()
        );
        assert!(
            e.check(&http_json(r#"{"jsonrpc":"2.0","result":["hello"],"id":1}"#))
                .is_err()
        );
        assert!(
            e.check(&http_json(
                r#"{"jsonrpc":"2.0","error":{"code":1,"message":"m"},"id":1}"#
            ))
            .is_err()
        );
    }

    #[test]
    fn nothing_over_http_and_streams() {
        let e = Expect::Nothing;
        assert!(e.check(&Observed::http(204, &[], b"")).is_ok());
        assert!(e.check(&Observed::http(200, &[], b"")).is_ok());
        assert!(e.check(&Observed::http(200, &[], b" \r\n")).is_ok());
        assert!(e.check(&Observed::http(500, &[], b"")).is_err());
        assert!(e.check(&Observed::http(200, &[], b"[]")).is_err());
        assert!(e.check(&Observed::stream(&[])).is_ok());
        assert!(e.check(&Observed::stream(&[b"{}"])).is_err());
        let mut closed = Observed::stream(&[]);
        closed.probe_answered = false;
        closed.end = End::Closed;
        assert!(e.check(&closed).is_err());
        assert!(e.check(&Observed::failed(End::Error("refused".into()))).is_err());
    }

    #[test]
    fn batches_match_in_any_order() {
        let e = Expect::Batch(vec![
            Resp::result(json!("1"), json!(7)),
            Resp::invalid_request(),
            Resp::error(json!("5"), &[METHOD_NOT_FOUND]),
        ]);
        let ok = r#"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null},
            {"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"5"},
            {"jsonrpc":"2.0","result":7,"id":"1"}]"#;
        assert_eq!(e.check(&http_json(ok)), Ok(()));
        let missing = r#"[{"jsonrpc":"2.0","result":7,"id":"1"},
            {"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"5"}]"#;
        assert!(e.check(&http_json(missing)).is_err());
        let extra = r#"[{"jsonrpc":"2.0","result":7,"id":"1"},{"jsonrpc":"2.0","result":7,"id":"1"},
            {"jsonrpc":"2.0","error":{"code":-32600,"message":"x"},"id":null},
            {"jsonrpc":"2.0","error":{"code":-32601,"message":"x"},"id":"5"}]"#;
        assert!(e.check(&http_json(extra)).is_err());
        assert!(e.check(&http_json("[]")).is_err());
        assert!(
            e.check(&http_json(r#"{"jsonrpc":"2.0","result":7,"id":"1"}"#))
                .is_err()
        );
    }

    #[test]
    fn batch_pairing_backtracks() {
        // The first expectation could take either item; only one pairing works.
        let e = Expect::Batch(vec![
            Resp::error_null_or(json!(1), &[INVALID_REQUEST]),
            Resp::invalid_request(),
        ]);
        let body = r#"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"x"},"id":null},
            {"jsonrpc":"2.0","error":{"code":-32600,"message":"x"},"id":1}]"#;
        assert_eq!(e.check(&http_json(body)), Ok(()));
    }

    #[test]
    fn each_and_any_of() {
        let e = Expect::Each(vec![Resp::error(json!(1), &[]), Resp::error(json!(2), &[])]);
        let one = br#"{"jsonrpc":"2.0","error":{"code":1,"message":"m"},"id":1}"#;
        let two = br#"{"jsonrpc":"2.0","error":{"code":1,"message":"m"},"id":2}"#;
        assert!(e.check(&Observed::stream(&[two, one])).is_ok());
        assert!(e.check(&Observed::stream(&[one])).is_err());
        assert_eq!(e.min_messages(), 2);

        let any = Expect::AnyOf(vec![Expect::Nothing, Expect::Response(Resp::parse_error())]);
        assert_eq!(any.min_messages(), 0);
        assert!(any.check(&Observed::stream(&[])).is_ok());
        let pe = br#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"m"},"id":null}"#;
        assert!(any.check(&Observed::stream(&[pe])).is_ok());
        assert!(any.check(&Observed::stream(&[one])).is_err());
        assert!(any.to_string().contains(" | "));
    }
}
