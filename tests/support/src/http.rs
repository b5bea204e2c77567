//! The HTTP test suite both HTTP adapters must pass, word for word.
//!
//! `sansrpc-actix` and `sansrpc-warp` promise identical behaviour, so they
//! share one suite: this module. Each adapter's `tests/http.rs` only starts
//! a server with the layout below and expands
//! [`http_suite!`](crate::http_suite).
//!
//! Server layout (one port):
//!
//! - `/`: [`main_router`] (the reference methods plus context probes)
//! - `/small`: [`small_router`], whose message limit is [`SMALL_LIMIT`]
//! - `/rpc`: `sansrpc::reference::router()`
//! - `/health`: `GET` → `200 ok`, an ordinary route of the application
//! - `/api`: [`api_router`] with [`api_options`]: CORS for
//!   [`ALLOWED_ORIGIN`] (with credentials), JSONP (`/api/<method>`), gzip
//!   on; message limit [`API_LIMIT`]
//! - `/open`: [`open_router`] with [`open_options`]: CORS for any origin,
//!   compression off unless a handler asks for it
//!
//! Requests go through a raw HTTP/1.1 client over `std::net::TcpStream`, so
//! the tests control every byte, and every socket has a timeout, so no test
//! can hang.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sansrpc::http::{Cors, HeaderName, HttpOptions};
use sansrpc::{Context, Limits, Params, Router};

/// How long any socket operation of a test may take.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The message limit of the `/small` endpoint.
pub const SMALL_LIMIT: usize = 64;

/// The reference methods plus probes of the handler's [`Context`].
pub fn main_router() -> Router {
    let mut router = sansrpc::reference::router();
    router
        .method("whoami", |ctx: Context| ctx.peer_addr().map(|a| a.to_string()))
        .unwrap()
        .method("header", |ctx: Context, Params((name,)): Params<(String,)>| {
            ctx.header(&name).map(str::to_owned)
        })
        .unwrap()
        .method("cookie", |ctx: Context, Params((name,)): Params<(String,)>| {
            ctx.cookie(&name)
        })
        .unwrap()
        .method("login", |ctx: Context| {
            ctx.set_cookie("session=abc; Path=/; HttpOnly");
            ctx.set_cookie("theme=dark");
            ctx.set_response_header("x-sansrpc", "yes");
            true
        })
        .unwrap()
        .method("html", |ctx: Context| {
            ctx.set_response_header("content-type", "text/html");
            "<p>"
        })
        .unwrap();
    router
}

/// The reference methods behind a message limit of [`SMALL_LIMIT`] bytes.
pub fn small_router() -> Router {
    let mut router = sansrpc::reference::router();
    router.set_limits(Limits {
        max_message_bytes: SMALL_LIMIT,
        ..Limits::default()
    });
    router
}

/// The origin `/api`'s CORS policy lets in.
pub const ALLOWED_ORIGIN: &str = "http://allowed.example";

/// The message limit of `/api` (so its query strings and gzip bombs are
/// small).
pub const API_LIMIT: usize = 4096;

/// What `big` answers: longer than the 1 KiB compression threshold.
pub fn big_text() -> String {
    "all work and no play makes a monkey type Shakespeare. ".repeat(40)
}

/// A gate a notification handler waits on, opened by the test.
pub struct Gate {
    released: tokio::sync::Semaphore,
    done: Mutex<bool>,
    done_changed: Condvar,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            released: tokio::sync::Semaphore::new(0),
            done: Mutex::new(false),
            done_changed: Condvar::new(),
        }
    }
}

impl Gate {
    /// The gate named `key` (made on first use, by the test or the handler).
    pub fn named(key: &str) -> Arc<Gate> {
        static GATES: OnceLock<Mutex<BTreeMap<String, Arc<Gate>>>> = OnceLock::new();
        let gates = GATES.get_or_init(Default::default);
        gates.lock().unwrap().entry(key.to_owned()).or_default().clone()
    }

    /// Lets the waiting handler finish.
    pub fn release(&self) {
        self.released.add_permits(1);
    }

    /// Whether the handler has finished.
    pub fn is_done(&self) -> bool {
        *self.done.lock().unwrap()
    }

    /// Waits (at most 10 s) until the handler has finished.
    pub fn wait_done(&self) -> bool {
        let done = self.done.lock().unwrap();
        let (done, _) = self
            .done_changed
            .wait_timeout_while(done, IO_TIMEOUT, |done| !*done)
            .unwrap();
        *done
    }

    async fn wait(&self) {
        let _ = self.released.acquire().await.unwrap();
        *self.done.lock().unwrap() = true;
        self.done_changed.notify_all();
    }
}

/// `subtract` by position or by name, as in the specification.
#[derive(serde::Deserialize)]
struct Subtract {
    minuend: i64,
    subtrahend: i64,
}

fn add_api_methods(router: &mut Router) {
    router
        .method("ping", || "pong")
        .unwrap()
        .method("subtract", |Params(s): Params<Subtract>| s.minuend - s.subtrahend)
        .unwrap()
        .method("echo", |Params(p): Params<BTreeMap<String, String>>| {
            p.get("data")
                .cloned()
                .unwrap_or_else(|| "Hello world!".to_owned())
        })
        .unwrap()
        .method("big", |_: Context| big_text())
        .unwrap()
        .alias("bigdata", "big")
        .unwrap()
        .method("big_opt_in", |ctx: Context| {
            ctx.set_compression(true);
            big_text()
        })
        .unwrap()
        .method("big_opt_out", |ctx: Context| {
            ctx.set_compression(false);
            big_text()
        })
        .unwrap()
        .method("tagged", |ctx: Context| {
            ctx.set_response_header("x-request-id", "r-1");
            true
        })
        .unwrap()
        .method("wait", |Params((key,)): Params<(String,)>| async move {
            Gate::named(&key).wait().await;
        })
        .unwrap();
}

/// `/api`'s methods: `ping`, `subtract`, `echo` (named `data`), `big`
/// (alias `bigdata`),
/// `big_opt_in`/`big_opt_out` (per-call compression), `tagged` (sets
/// `x-request-id`) and `wait` (finishes when the test releases its gate).
pub fn api_router() -> Router {
    let mut router = Router::new();
    add_api_methods(&mut router);
    router.set_limits(Limits {
        max_message_bytes: API_LIMIT,
        ..Limits::default()
    });
    router
}

/// `/api`'s options.
pub fn api_options() -> HttpOptions {
    HttpOptions::new()
        .cors(
            Cors::origins([ALLOWED_ORIGIN])
                .allow_headers([
                    HeaderName::from_static("content-type"),
                    HeaderName::from_static("x-token"),
                ])
                .expose_headers([HeaderName::from_static("x-request-id")])
                .credentials(true)
                .max_age(Duration::from_secs(600)),
        )
        .jsonp(true)
        .compression(true)
}

/// `/open`'s methods: as `/api`'s, with the default limits.
pub fn open_router() -> Router {
    let mut router = Router::new();
    add_api_methods(&mut router);
    router
}

/// `/open`'s options: any origin, compression only where a handler asks.
pub fn open_options() -> HttpOptions {
    HttpOptions::new().cors(Cors::any())
}

// ---------------------------------------------------------------------------
// A raw HTTP/1.1 client.

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    /// Asserts a JSON-RPC answer: `200`, JSON content type, this exact body.
    pub fn assert_json(&self, want: &str) {
        assert_eq!(self.status, 200, "{self:?}");
        assert_eq!(self.header("content-type"), Some("application/json"), "{self:?}");
        assert_eq!(self.text(), want);
    }

    /// Asserts `204` with an empty body.
    pub fn assert_no_content(&self) {
        assert_eq!(self.status, 204, "{self:?}");
        assert!(self.body.is_empty(), "{self:?}");
        assert!(self.header("content-length").is_none_or(|v| v == "0"), "{self:?}");
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
}

/// Sends `raw` as is and reads one response.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = connect(addr);
    // A server may answer (413) and close before taking every byte; the
    // answer is what the test checks, so a failed write is not the failure.
    let _ = stream.write_all(raw);
    read_reply(&mut stream)
}

/// Reads one response: up to its declared length, its last chunk, or EOF.
pub fn read_reply(stream: &mut TcpStream) -> Reply {
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(reply) = parse_reply(&buf, false) {
            return reply;
        }
        assert!(Instant::now() < deadline, "no complete response in time: {buf:?}");
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            // A reset after the server's answer (it closed with our unread
            // bytes in its buffer) still leaves that answer in `buf`.
            Err(e) if !buf.is_empty() && e.kind() != ErrorKind::WouldBlock => break,
            Err(e) => panic!("reading the response: {e}"),
        }
    }
    parse_reply(&buf, true)
        .unwrap_or_else(|| panic!("incomplete response: {:?}", String::from_utf8_lossy(&buf)))
}

fn parse_reply(buf: &[u8], eof: bool) -> Option<Reply> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf).unwrap() {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return None,
    };
    let status = response.code.unwrap();
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|h| (h.name.to_owned(), String::from_utf8(h.value.to_vec()).unwrap()))
        .collect();
    let rest = &buf[head_len..];
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let body = if status == 204 || status == 304 {
        Vec::new()
    } else if let Some(len) = find("content-length") {
        let len: usize = len.parse().unwrap();
        if rest.len() < len {
            return None;
        }
        rest[..len].to_vec()
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        decode_chunked(rest)?
    } else if eof {
        rest.to_vec()
    } else {
        return None;
    };
    Some(Reply {
        status,
        headers,
        body,
    })
}

/// The decoded body once the last chunk arrived; `None` before.
fn decode_chunked(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_field = std::str::from_utf8(&rest[..line_end]).unwrap();
        let size = usize::from_str_radix(size_field.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            return rest.windows(2).any(|w| w == b"\r\n").then_some(body);
        }
        if rest.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// A complete request: `Connection: close`, a `Content-Length`, the given
/// content type (none if `None`) and extra headers.
pub fn request_bytes(
    method: &str,
    path: &str,
    content_type: Option<&str>,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(ct) = content_type {
        raw.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    for (name, value) in extra {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut raw = raw.into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// `POST path` with `Content-Type: application/json`.
pub fn post(addr: SocketAddr, path: &str, body: &str) -> Reply {
    post_with(addr, path, &[], body)
}

/// `POST path` with `Content-Type: application/json` and extra headers.
pub fn post_with(addr: SocketAddr, path: &str, extra: &[(&str, &str)], body: &str) -> Reply {
    exchange(
        addr,
        &request_bytes("POST", path, Some("application/json"), extra, body.as_bytes()),
    )
}

// ---------------------------------------------------------------------------
// The checks.

/// The specification's section 7 examples, from the core (one table for
/// every transport's tests).
pub use sansrpc::reference::SECTION_7;

pub fn section_7_examples_byte_for_byte(addr: SocketAddr) {
    for (name, request, want) in SECTION_7 {
        let reply = post(addr, "/", request);
        match want {
            Some(want) => {
                assert_eq!(reply.status, 200, "{name}: {reply:?}");
                assert_eq!(reply.header("content-type"), Some("application/json"), "{name}");
                assert_eq!(reply.text(), *want, "{name}");
            }
            None => {
                assert_eq!(reply.status, 204, "{name}: {reply:?}");
                assert!(reply.body.is_empty(), "{name}: {reply:?}");
            }
        }
    }
}

pub fn json_rpc_errors_are_200_with_json(addr: SocketAddr) {
    post(addr, "/", r#"{"jsonrpc":"2.0","method":"nope","id":7}"#)
        .assert_json(r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":7}"#);
    post(addr, "/", "{")
        .assert_json(r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":"EOF while parsing an object at line 1 column 1"},"id":null}"#);
    post(addr, "/", r#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":1},"id":1}"#).assert_json(
        r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"missing field `subtrahend`"},"id":1}"#,
    );
}

pub fn notifications_are_204_without_body(addr: SocketAddr) {
    post(addr, "/", r#"{"jsonrpc":"2.0","method":"update","params":[1]}"#).assert_no_content();
    post(
        addr,
        "/",
        r#"[{"jsonrpc":"2.0","method":"update"},{"jsonrpc":"2.0","method":"nope"}]"#,
    )
    .assert_no_content();
    // A batch with one call among notifications answers that call alone.
    post(
        addr,
        "/",
        r#"[{"jsonrpc":"2.0","method":"update"},{"jsonrpc":"2.0","method":"ping","id":1}]"#,
    )
    .assert_json(r#"[{"jsonrpc":"2.0","result":"pong","id":1}]"#);
}

fn assert_405(reply: &Reply) {
    assert_eq!(reply.status, 405, "{reply:?}");
    assert_eq!(reply.header("allow"), Some("POST"), "{reply:?}");
}

pub fn wrong_method_is_405_with_allow_post(addr: SocketAddr) {
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        for path in ["/", "/rpc", "/small"] {
            let body: &[u8] = if method == "GET" {
                b""
            } else {
                br#"{"jsonrpc":"2.0","method":"ping","id":1}"#
            };
            assert_405(&exchange(
                addr,
                &request_bytes(method, path, Some("application/json"), &[], body),
            ));
        }
    }
    // Without any body or content type, as a browser's GET arrives.
    assert_405(&exchange(
        addr,
        b"GET /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    ));
}

pub fn declared_oversize_is_413_before_reading(addr: SocketAddr) {
    // The head declares more than the limit and no body byte follows: an
    // answer proves the server refused without waiting for the body.
    let head = format!(
        "POST /small HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        SMALL_LIMIT + 1
    );
    let reply = exchange(addr, head.as_bytes());
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(
        reply.text(),
        format!("payload too large: the body is over the limit of {SMALL_LIMIT} bytes\n")
    );
    // The same against the default limit (1 MiB), declaring 1 GiB.
    let head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n";
    let reply = exchange(addr, head.as_bytes());
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(
        reply.text(),
        "payload too large: the body is over the limit of 1048576 bytes\n"
    );
}

pub fn body_at_the_limit_is_answered(addr: SocketAddr) {
    let call = r#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
    let padded = format!("{call:<SMALL_LIMIT$}");
    assert_eq!(padded.len(), SMALL_LIMIT);
    post(addr, "/small", &padded).assert_json(r#"{"jsonrpc":"2.0","result":"pong","id":1}"#);
    let over = format!("{padded} ");
    let reply = post(addr, "/small", &over);
    assert_eq!(reply.status, 413);
    assert_eq!(
        reply.text(),
        format!("payload too large: the body is over the limit of {SMALL_LIMIT} bytes\n")
    );
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

const CHUNKED_HEAD: &str = "Host: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";

pub fn chunked_oversize_is_413_while_streaming(addr: SocketAddr) {
    // Two chunks pass the limit and the body never ends: only a server that
    // counts while the body streams can answer.
    let mut raw = format!("POST /small HTTP/1.1\r\n{CHUNKED_HEAD}").into_bytes();
    raw.extend(chunk(&[b' '; SMALL_LIMIT / 2 + 1]));
    raw.extend(chunk(&[b' '; SMALL_LIMIT / 2 + 1]));
    let mut stream = connect(addr);
    stream.write_all(&raw).unwrap();
    let reply = read_reply(&mut stream);
    assert_eq!(reply.status, 413, "{reply:?}");
}

pub fn chunked_body_within_the_limit_is_answered(addr: SocketAddr) {
    let call = br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;
    let mut raw = format!("POST / HTTP/1.1\r\n{CHUNKED_HEAD}").into_bytes();
    for part in call.chunks(7) {
        raw.extend(chunk(part));
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    exchange(addr, &raw).assert_json(r#"{"jsonrpc":"2.0","result":19,"id":1}"#);
}

pub fn non_json_content_type_is_415(addr: SocketAddr) {
    let call = br#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
    let pong = r#"{"jsonrpc":"2.0","result":"pong","id":1}"#;
    for ct in ["text/plain", "application/x-www-form-urlencoded", "text/json-ish"] {
        let reply = exchange(addr, &request_bytes("POST", "/", Some(ct), &[], call));
        assert_eq!(reply.status, 415, "{ct}: {reply:?}");
    }
    for ct in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.api+json",
    ] {
        exchange(addr, &request_bytes("POST", "/", Some(ct), &[], call)).assert_json(pong);
    }
    // A missing content type is accepted.
    exchange(addr, &request_bytes("POST", "/", None, &[], call)).assert_json(pong);
}

pub fn context_carries_peer_address_headers_and_cookies(addr: SocketAddr) {
    let reply = post(addr, "/", r#"{"jsonrpc":"2.0","method":"whoami","id":1}"#);
    let answer: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    let peer: SocketAddr = answer["result"].as_str().unwrap().parse().unwrap();
    assert_eq!(peer.ip(), addr.ip());
    assert_ne!(peer.port(), addr.port(), "the peer is the client, not the server");

    post_with(
        addr,
        "/",
        &[("X-Request-Tag", "tag-42")],
        r#"{"jsonrpc":"2.0","method":"header","params":["x-request-tag"],"id":2}"#,
    )
    .assert_json(r#"{"jsonrpc":"2.0","result":"tag-42","id":2}"#);
    post_with(
        addr,
        "/",
        &[("Cookie", "theme=light; session=xyz")],
        r#"{"jsonrpc":"2.0","method":"cookie","params":["session"],"id":3}"#,
    )
    .assert_json(r#"{"jsonrpc":"2.0","result":"xyz","id":3}"#);
    post(
        addr,
        "/",
        r#"{"jsonrpc":"2.0","method":"cookie","params":["session"],"id":4}"#,
    )
    .assert_json(r#"{"jsonrpc":"2.0","result":null,"id":4}"#);
}

pub fn handlers_set_response_headers_and_cookies(addr: SocketAddr) {
    let reply = post(addr, "/", r#"{"jsonrpc":"2.0","method":"login","id":1}"#);
    reply.assert_json(r#"{"jsonrpc":"2.0","result":true,"id":1}"#);
    assert_eq!(
        reply.all("set-cookie"),
        ["session=abc; Path=/; HttpOnly", "theme=dark"]
    );
    assert_eq!(reply.header("x-sansrpc"), Some("yes"));
    // A notification sends no body, but still the headers its handler set.
    let reply = post(addr, "/", r#"{"jsonrpc":"2.0","method":"login"}"#);
    reply.assert_no_content();
    assert_eq!(reply.all("set-cookie").len(), 2, "{reply:?}");
    // A JSON-RPC answer is JSON, whatever content type a handler asked for.
    let reply = post(addr, "/", r#"{"jsonrpc":"2.0","method":"html","id":2}"#);
    reply.assert_json(r#"{"jsonrpc":"2.0","result":"<p>","id":2}"#);
    assert_eq!(reply.all("content-type"), ["application/json"]);
}

pub fn mounted_beside_other_routes(addr: SocketAddr) {
    let health = exchange(
        addr,
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(health.text(), "ok");
    post(addr, "/rpc", r#"{"jsonrpc":"2.0","method":"ping","id":1}"#)
        .assert_json(r#"{"jsonrpc":"2.0","result":"pong","id":1}"#);
    assert_405(&exchange(
        addr,
        b"GET /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    ));
    let missing = exchange(
        addr,
        b"GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(missing.status, 404, "{missing:?}");
}

pub fn keep_alive_serves_several_requests(addr: SocketAddr) {
    let mut stream = connect(addr);
    for id in 1..=3 {
        let body = format!(r#"{{"jsonrpc":"2.0","method":"sum","params":[{id},{id}],"id":{id}}}"#);
        let raw = format!(
            "POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(raw.as_bytes()).unwrap();
        read_reply(&mut stream).assert_json(&format!(r#"{{"jsonrpc":"2.0","result":{},"id":{id}}}"#, 2 * id));
    }
}

// ---------------------------------------------------------------------------
// CORS, JSONP, compression, background notifications.

/// The CORS headers of a reply (`access-control-*`), sorted by name.
fn cors_headers(reply: &Reply) -> Vec<(String, String)> {
    let mut h: Vec<_> = reply
        .headers
        .iter()
        .filter(|(n, _)| n.to_ascii_lowercase().starts_with("access-control-"))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    h.sort();
    h
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

const PING: &str = r#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
const PONG: &str = r#"{"jsonrpc":"2.0","result":"pong","id":1}"#;

fn preflight(addr: SocketAddr, path: &str, origin: &str) -> Reply {
    exchange(
        addr,
        format!(
            "OPTIONS {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nOrigin: {origin}\r\n\
             Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n"
        )
        .as_bytes(),
    )
}

pub fn cors_preflight_allowed_is_204_with_allow_headers(addr: SocketAddr) {
    let reply = preflight(addr, "/api", ALLOWED_ORIGIN);
    reply.assert_no_content();
    assert_eq!(
        cors_headers(&reply),
        pairs(&[
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-headers", "content-type, x-token"),
            ("access-control-allow-methods", "POST, GET"),
            ("access-control-allow-origin", ALLOWED_ORIGIN),
            ("access-control-max-age", "600"),
        ]),
        "{reply:?}"
    );
    assert_eq!(reply.all("vary"), ["Origin"], "{reply:?}");
    // Any origin, no credentials: `*`, and the answer does not vary.
    let reply = preflight(addr, "/open", "http://anyone.example");
    reply.assert_no_content();
    assert_eq!(
        cors_headers(&reply),
        pairs(&[
            ("access-control-allow-headers", "content-type"),
            ("access-control-allow-methods", "POST"),
            ("access-control-allow-origin", "*"),
        ]),
        "{reply:?}"
    );
    assert!(reply.header("vary").is_none(), "{reply:?}");
}

pub fn cors_preflight_denied_is_403_without_cors_headers(addr: SocketAddr) {
    let reply = preflight(addr, "/api", "http://evil.example");
    assert_eq!(reply.status, 403, "{reply:?}");
    assert_eq!(reply.text(), "forbidden: this origin may not call the endpoint\n");
    assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(cors_headers(&reply), [], "{reply:?}");
    assert_eq!(reply.all("vary"), ["Origin"], "{reply:?}");
    // An OPTIONS that is no preflight says what the endpoint takes.
    let reply = exchange(
        addr,
        b"OPTIONS /api HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    reply.assert_no_content();
    assert_eq!(reply.header("allow"), Some("POST, OPTIONS"), "{reply:?}");
    assert_eq!(cors_headers(&reply), [], "{reply:?}");
    // Without CORS, OPTIONS is a method like any other: 405.
    let reply = preflight(addr, "/", ALLOWED_ORIGIN);
    assert_405(&reply);
    assert_eq!(cors_headers(&reply), [], "{reply:?}");
}

pub fn cors_headers_on_answers(addr: SocketAddr) {
    let reply = post_with(
        addr,
        "/api",
        &[("Origin", ALLOWED_ORIGIN)],
        r#"{"jsonrpc":"2.0","method":"tagged","id":1}"#,
    );
    reply.assert_json(r#"{"jsonrpc":"2.0","result":true,"id":1}"#);
    assert_eq!(
        cors_headers(&reply),
        pairs(&[
            ("access-control-allow-credentials", "true"),
            ("access-control-allow-origin", ALLOWED_ORIGIN),
            ("access-control-expose-headers", "x-request-id"),
        ]),
        "{reply:?}"
    );
    assert_eq!(reply.all("vary"), ["Origin"], "{reply:?}");
    assert_eq!(reply.header("x-request-id"), Some("r-1"));
    // Another origin is answered (a browser will not show it) without any
    // CORS header.
    let reply = post_with(addr, "/api", &[("Origin", "http://evil.example")], PING);
    reply.assert_json(PONG);
    assert_eq!(cors_headers(&reply), [], "{reply:?}");
    assert_eq!(reply.all("vary"), ["Origin"], "{reply:?}");
    // Any origin: `*` and no Vary.
    let reply = post_with(addr, "/open", &[("Origin", "http://anyone.example")], PING);
    reply.assert_json(PONG);
    assert_eq!(
        cors_headers(&reply),
        pairs(&[("access-control-allow-origin", "*")]),
        "{reply:?}"
    );
    assert!(reply.header("vary").is_none(), "{reply:?}");
    // Refusals carry them too, so a page can read the status.
    let reply = exchange(
        addr,
        b"GET /open HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nOrigin: http://anyone.example\r\n\r\n",
    );
    assert_eq!(reply.status, 405, "{reply:?}");
    assert_eq!(reply.header("allow"), Some("POST, OPTIONS"), "{reply:?}");
    assert_eq!(
        cors_headers(&reply),
        pairs(&[("access-control-allow-origin", "*")]),
        "{reply:?}"
    );
}

fn get(addr: SocketAddr, target: &str, extra: &[(&str, &str)]) -> Reply {
    let mut raw = format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in extra {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    exchange(addr, raw.as_bytes())
}

fn assert_javascript(reply: &Reply, want: &str) {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.header("content-type"),
        Some("application/javascript"),
        "{reply:?}"
    );
    assert_eq!(
        reply.header("x-content-type-options"),
        Some("nosniff"),
        "{reply:?}"
    );
    assert_eq!(reply.text(), want);
}

pub fn jsonp_get_calls_the_method(addr: SocketAddr) {
    assert_javascript(
        &get(addr, "/api/echo?data=test_data&jsonp=jsonpCallback_129620", &[]),
        r#"jsonpCallback_129620({"jsonrpc":"2.0","result":"test_data","id":"jsonpCallback_129620"});"#,
    );
    // Percent-encoding and `+` decoded; values are strings.
    assert_javascript(
        &get(addr, "/api/echo?jsonp=$.cb_1&data=a%20b+c%C3%A9%26", &[]),
        r#"$.cb_1({"jsonrpc":"2.0","result":"a b cé&","id":"$.cb_1"});"#,
    );
    // No params at all: the method's defaults.
    assert_javascript(
        &get(addr, "/api/echo?jsonp=cb", &[]),
        r#"cb({"jsonrpc":"2.0","result":"Hello world!","id":"cb"});"#,
    );
    // JSON-RPC errors come back through the callback too.
    assert_javascript(
        &get(addr, "/api/nope?jsonp=cb", &[]),
        r#"cb({"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":"cb"});"#,
    );
    // Other methods on a method's path: 405 naming GET.
    let reply = post(addr, "/api/echo", PING);
    assert_eq!(reply.status, 405, "{reply:?}");
    assert_eq!(reply.header("allow"), Some("GET, OPTIONS"), "{reply:?}");
    // Without JSONP there is no method path.
    assert_eq!(get(addr, "/open/echo?jsonp=cb", &[]).status, 404);
}

pub fn jsonp_params_json(addr: SocketAddr) {
    // params=[42,23] and params={"minuend":42,"subtrahend":23}
    assert_javascript(
        &get(addr, "/api/subtract?jsonp=cb&params=%5B42%2C23%5D", &[]),
        r#"cb({"jsonrpc":"2.0","result":19,"id":"cb"});"#,
    );
    assert_javascript(
        &get(
            addr,
            "/api/subtract?params=%7B%22minuend%22%3A42%2C%22subtrahend%22%3A23%7D&jsonp=cb",
            &[],
        ),
        r#"cb({"jsonrpc":"2.0","result":19,"id":"cb"});"#,
    );
    let bad = |target: &str, want: &str| {
        let reply = get(addr, target, &[]);
        assert_eq!(reply.status, 400, "{target}: {reply:?}");
        assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(reply.text(), want, "{target}");
    };
    bad(
        "/api/subtract?jsonp=cb&params=%5B42%2C",
        "bad request: the params value is not one JSON value\n",
    );
    // One JSON value only: nothing can be smuggled next to it.
    bad(
        "/api/subtract?jsonp=cb&params=1%2C%22id%22%3A5",
        "bad request: the params value is not one JSON value\n",
    );
    bad(
        "/api/subtract?jsonp=cb&params=%5B1%5D&minuend=1",
        "bad request: send either params=<JSON> or name=value pairs, not both\n",
    );
    bad(
        "/api/echo?jsonp=cb&data=1&data=2",
        "bad request: the query string is not UTF-8 name=value pairs with each name once\n",
    );
    bad(
        "/api/echo?jsonp=cb&data=%FF",
        "bad request: the query string is not UTF-8 name=value pairs with each name once\n",
    );
    // A params value that is JSON but not params: JSON-RPC says so.
    assert_javascript(
        &get(addr, "/api/subtract?jsonp=cb&params=5", &[]),
        r#"cb({"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"params\" must be an array or an object"},"id":"cb"});"#,
    );
}

pub fn jsonp_bad_callback_is_400_without_reflecting_it(addr: SocketAddr) {
    let callback_rule = "bad request: the jsonp callback must match ^[A-Za-z_$][A-Za-z0-9_$.]{0,127}$\n";
    let long = "a".repeat(129);
    for callback in ["alert(1)//", "%3Cscript%3E", "1abc", "", "a-b", long.as_str()] {
        let reply = get(addr, &format!("/api/echo?data=x&jsonp={callback}"), &[]);
        assert_eq!(reply.status, 400, "{callback}: {reply:?}");
        assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(reply.text(), callback_rule, "{callback}");
    }
    let reply = get(addr, "/api/echo?data=x", &[]);
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(
        reply.text(),
        "bad request: a JSONP call needs a callback: ?jsonp=<name>\n"
    );
    // The longest valid callback passes.
    let longest = format!("a{}", "b".repeat(127));
    let reply = get(addr, &format!("/api/echo?jsonp={longest}"), &[]);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.text().starts_with(&format!("{longest}(")));
}

pub fn jsonp_query_is_bounded_by_the_message_limit(addr: SocketAddr) {
    let filler = "x".repeat(API_LIMIT);
    let reply = get(addr, &format!("/api/echo?jsonp=cb&data={filler}"), &[]);
    assert_eq!(reply.status, 414, "{reply:?}");
    assert_eq!(reply.text(), "uri too long\n");
    // Just within the limit: answered.
    let target_rest = "jsonp=cb&data=";
    let fits = "x".repeat(API_LIMIT - "echo".len() - target_rest.len());
    let reply = get(addr, &format!("/api/echo?{target_rest}{fits}"), &[]);
    assert_eq!(reply.status, 200, "{reply:?}");
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data).read_to_end(&mut out).unwrap();
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn big_answer() -> String {
    format!(r#"{{"jsonrpc":"2.0","result":"{}","id":1}}"#, big_text())
}

const BIG: &str = r#"{"jsonrpc":"2.0","method":"big","id":1}"#;

pub fn gzip_negotiated(addr: SocketAddr) {
    for accept in [
        "gzip",
        "gzip, deflate, br",
        "br;q=1.0, gzip;q=0.8, *;q=0.1",
        "*",
        "x-gzip",
    ] {
        let reply = post_with(addr, "/api", &[("Accept-Encoding", accept)], BIG);
        assert_eq!(reply.status, 200, "{accept}: {reply:?}");
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.header("content-encoding"), Some("gzip"), "{accept}");
        assert_eq!(reply.all("vary"), ["Origin, Accept-Encoding"], "{accept}");
        assert!(
            reply.body.len() < big_answer().len() / 4,
            "{accept}: {} bytes",
            reply.body.len()
        );
        assert_eq!(
            String::from_utf8(gunzip(&reply.body)).unwrap(),
            big_answer(),
            "{accept}"
        );
    }
    // JSONP answers are compressed alike.
    let reply = get(addr, "/api/big?jsonp=cb", &[("Accept-Encoding", "gzip")]);
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    let js = String::from_utf8(gunzip(&reply.body)).unwrap();
    assert_eq!(
        js,
        format!(r#"cb({{"jsonrpc":"2.0","result":"{}","id":"cb"}});"#, big_text())
    );
    // A handler switches it on where the endpoint has it off.
    let reply = post_with(
        addr,
        "/open",
        &[("Accept-Encoding", "gzip")],
        r#"{"jsonrpc":"2.0","method":"big_opt_in","id":1}"#,
    );
    assert_eq!(reply.header("content-encoding"), Some("gzip"), "{reply:?}");
    assert_eq!(reply.all("vary"), ["Accept-Encoding"]);
    assert_eq!(String::from_utf8(gunzip(&reply.body)).unwrap(), big_answer());
}

pub fn gzip_refused_or_not_applicable(addr: SocketAddr) {
    // Refused by the client (q=0, not named, identity preferred): identity,
    // and the answer says it varies.
    for accept in [
        None,
        Some("gzip;q=0"),
        Some("br, deflate"),
        Some("gzip;q=0.5, identity"),
        Some("*;q=1, gzip;q=0"),
    ] {
        let extra: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept-Encoding", *a)).collect();
        let reply = post_with(addr, "/api", &extra, BIG);
        reply.assert_json(&big_answer());
        assert!(
            reply.header("content-encoding").is_none(),
            "{accept:?}: {reply:?}"
        );
        assert_eq!(reply.all("vary"), ["Origin, Accept-Encoding"], "{accept:?}");
    }
    // Not worth it (below the threshold), refused by the handler, or off
    // for the endpoint: identity, and nothing varies by encoding.
    let reply = post_with(addr, "/api", &[("Accept-Encoding", "gzip")], PING);
    reply.assert_json(PONG);
    assert!(reply.header("content-encoding").is_none());
    assert_eq!(reply.all("vary"), ["Origin"]);
    let reply = post_with(
        addr,
        "/api",
        &[("Accept-Encoding", "gzip")],
        r#"{"jsonrpc":"2.0","method":"big_opt_out","id":1}"#,
    );
    reply.assert_json(&big_answer());
    assert!(reply.header("content-encoding").is_none());
    assert_eq!(reply.all("vary"), ["Origin"]);
    let reply = post_with(addr, "/open", &[("Accept-Encoding", "gzip")], BIG);
    reply.assert_json(&big_answer());
    assert!(reply.header("content-encoding").is_none());
    assert!(reply.header("vary").is_none());
}

pub fn gzip_request_body_is_decoded(addr: SocketAddr) {
    let call = gzip(br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#);
    for encoding in ["gzip", "x-gzip", "GZIP"] {
        exchange(
            addr,
            &request_bytes(
                "POST",
                "/",
                Some("application/json"),
                &[("Content-Encoding", encoding)],
                &call,
            ),
        )
        .assert_json(r#"{"jsonrpc":"2.0","result":19,"id":1}"#);
    }
    // identity is no encoding.
    exchange(
        addr,
        &request_bytes(
            "POST",
            "/",
            Some("application/json"),
            &[("Content-Encoding", "identity")],
            PING.as_bytes(),
        ),
    )
    .assert_json(PONG);
    // Another encoding: 415.
    for encoding in ["br", "deflate", "gzip, gzip"] {
        let reply = exchange(
            addr,
            &request_bytes(
                "POST",
                "/",
                Some("application/json"),
                &[("Content-Encoding", encoding)],
                &call,
            ),
        );
        assert_eq!(reply.status, 415, "{encoding}: {reply:?}");
        assert_eq!(
            reply.text(),
            "unsupported content encoding: send gzip or identity\n"
        );
    }
    // Not gzip at all, or cut short: 400.
    for body in [PING.as_bytes(), &call[..call.len() - 4]] {
        let reply = exchange(
            addr,
            &request_bytes(
                "POST",
                "/",
                Some("application/json"),
                &[("Content-Encoding", "gzip")],
                body,
            ),
        );
        assert_eq!(reply.status, 400, "{reply:?}");
        assert_eq!(reply.text(), "bad request: the body cannot be read\n");
    }
}

pub fn gzip_bomb_is_413_within_the_limit(addr: SocketAddr) {
    // 8 MiB of spaces in about 8 KiB; the body never ends, so only a server
    // that stops at the limit while decoding can answer.
    let bomb = gzip(&vec![b' '; 8 << 20]);
    let first = &bomb[..API_LIMIT / 2];
    let mut raw =
        b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n\
          Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    raw.extend(chunk(first));
    let mut stream = connect(addr);
    stream.write_all(&raw).unwrap();
    let reply = read_reply(&mut stream);
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(
        reply.text(),
        format!("payload too large: the body is over the limit of {API_LIMIT} bytes\n")
    );
    // A gzip body whose decoded size is just the limit is answered.
    let padded = format!("{PING:<API_LIMIT$}");
    exchange(
        addr,
        &request_bytes(
            "POST",
            "/api",
            Some("application/json"),
            &[("Content-Encoding", "gzip")],
            &gzip(padded.as_bytes()),
        ),
    )
    .assert_json(PONG);
    let over = format!("{padded} ");
    let reply = exchange(
        addr,
        &request_bytes(
            "POST",
            "/api",
            Some("application/json"),
            &[("Content-Encoding", "gzip")],
            &gzip(over.as_bytes()),
        ),
    );
    assert_eq!(reply.status, 413, "{reply:?}");
}

static NEXT_GATE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn new_gate() -> (String, Arc<Gate>) {
    let key = format!(
        "gate-{}",
        NEXT_GATE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let gate = Gate::named(&key);
    (key, gate)
}

fn wait_call(key: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","method":"wait","params":["{key}"]}}"#)
}

pub fn notification_is_204_before_its_handler_finishes(addr: SocketAddr) {
    // The handler finishes only when the test releases it, which it does
    // only after it has the 204: a server that waited would never answer
    // (and the read would time out).
    let (key, gate) = new_gate();
    post(addr, "/api", &wait_call(&key)).assert_no_content();
    assert!(!gate.is_done());
    gate.release();
    assert!(gate.wait_done(), "the background handler never finished");

    // An all-notification batch: 204 at once, both run.
    let (k1, g1) = new_gate();
    let (k2, g2) = new_gate();
    post(addr, "/api", &format!("[{},{}]", wait_call(&k1), wait_call(&k2))).assert_no_content();
    g1.release();
    g2.release();
    assert!(g1.wait_done() && g2.wait_done());

    // A batch mixing calls and a notification: answered when the calls are
    // done, not the notification.
    let (k3, g3) = new_gate();
    post(addr, "/api", &format!("[{},{PING}]", wait_call(&k3))).assert_json(&format!("[{PONG}]"));
    assert!(!g3.is_done());
    g3.release();
    assert!(g3.wait_done());
}

/// Expands to one `#[test]` per check, each against `$server()`, a
/// function returning the address of a server with the layout above.
#[macro_export]
macro_rules! http_suite {
    ($server:path) => {
        $crate::http_suite!(@tests $server;
            section_7_examples_byte_for_byte,
            json_rpc_errors_are_200_with_json,
            notifications_are_204_without_body,
            wrong_method_is_405_with_allow_post,
            declared_oversize_is_413_before_reading,
            body_at_the_limit_is_answered,
            chunked_oversize_is_413_while_streaming,
            chunked_body_within_the_limit_is_answered,
            non_json_content_type_is_415,
            context_carries_peer_address_headers_and_cookies,
            handlers_set_response_headers_and_cookies,
            mounted_beside_other_routes,
            keep_alive_serves_several_requests,
            cors_preflight_allowed_is_204_with_allow_headers,
            cors_preflight_denied_is_403_without_cors_headers,
            cors_headers_on_answers,
            jsonp_get_calls_the_method,
            jsonp_params_json,
            jsonp_bad_callback_is_400_without_reflecting_it,
            jsonp_query_is_bounded_by_the_message_limit,
            gzip_negotiated,
            gzip_refused_or_not_applicable,
            gzip_request_body_is_decoded,
            gzip_bomb_is_413_within_the_limit,
            notification_is_204_before_its_handler_finishes,
        );
    };
    (@tests $server:path; $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                $crate::http::$name($server());
            }
        )*
    };
}

// ---------------------------------------------------------------------------
// Interoperability with Python's jsonrpcclient.

/// The repository root, two levels above this crate (`tests/support`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's Python (`SANSRPC_PYTHON`, default `<repo>/.venv/bin/python`),
/// or `None` (after a `skipped:` line) if it is missing — which fails
/// the test when the `CI` environment variable is set.
fn python() -> Option<PathBuf> {
    let root = repo_root();
    let python = std::env::var_os("SANSRPC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    if python.exists() {
        return Some(python);
    }
    let hint = format!(
        "no Python at {} (set SANSRPC_PYTHON, or create the venv: \
         python3 -m venv .venv && .venv/bin/pip install -r interop/requirements.txt)",
        python.display()
    );
    // With `CI` set, a missing peer is a failure, never a silent skip.
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set and there is {hint}: run `bash .ci/setup`"
    );
    println!("skipped: {hint}");
    None
}

/// Runs `interop/<script>` with `args` under the venv's Python; its
/// output once it succeeded (within 120 s), `None` if Python is missing.
fn run_python(script: &str, args: &[&str]) -> Option<String> {
    let python = python()?;
    let mut child = Command::new(&python)
        .arg(repo_root().join("interop").join(script))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{script} did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    let mut err = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    println!("{out}");
    assert!(status.success(), "{script} failed ({status}):\n{out}\n{err}");
    Some(out)
}

/// Runs `interop/http_client.py` against `url` (the reference router).
pub fn run_python_client(url: &str) {
    if let Some(out) = run_python("http_client.py", &[url]) {
        assert!(out.contains("PASS ping"), "{out}");
    }
}

/// Runs `interop/http_gzip_client.py` against `url` (an endpoint with
/// [`api_router`] and [`api_options`]): `requests` decodes the gzip answer
/// of `bigdata`.
pub fn run_python_gzip_client(url: &str) {
    if let Some(out) = run_python("http_gzip_client.py", &[url]) {
        let want = format!("PASS gzip bigdata {} (", big_text().chars().count());
        assert!(out.contains(&want), "want {want:?} in {out}");
    }
}
