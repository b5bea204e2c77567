//! The HTTP test suite both HTTP adapters must pass, word for word.
//!
//! `sansrpc-actix` and `sansrpc-warp` promise identical behaviour, so they
//! share one suite: this file, which the warp crate includes by path. Each
//! adapter's test file only starts a server with the layout below and
//! expands [`http_suite!`].
//!
//! Server layout (one port):
//!
//! - `/`: [`main_router`] (the reference methods plus context probes)
//! - `/small`: [`small_router`], whose message limit is [`SMALL_LIMIT`]
//! - `/rpc`: `sansrpc::reference::router()`
//! - `/health`: `GET` → `200 ok`, an ordinary route of the application
//!
//! Requests go through a raw HTTP/1.1 client over `std::net::TcpStream`, so
//! the tests control every byte, and every socket has a timeout, so no test
//! can hang.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sansrpc::{Context, Limits, Params, Router};

/// How long any socket operation of a test may take.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The message limit of the `/small` endpoint.
pub(crate) const SMALL_LIMIT: usize = 64;

/// The reference methods plus probes of the handler's [`Context`].
pub(crate) fn main_router() -> Router {
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
pub(crate) fn small_router() -> Router {
    let mut router = sansrpc::reference::router();
    router.set_limits(Limits {
        max_message_bytes: SMALL_LIMIT,
        ..Limits::default()
    });
    router
}

// ---------------------------------------------------------------------------
// A raw HTTP/1.1 client.

/// A parsed HTTP response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    /// Every value of header `name` (case-insensitive), in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text.
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    /// Asserts a JSON-RPC answer: `200`, JSON content type, this exact body.
    pub(crate) fn assert_json(&self, want: &str) {
        assert_eq!(self.status, 200, "{self:?}");
        assert_eq!(self.header("content-type"), Some("application/json"), "{self:?}");
        assert_eq!(self.text(), want);
    }

    /// Asserts `204` with an empty body.
    pub(crate) fn assert_no_content(&self) {
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
pub(crate) fn exchange(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = connect(addr);
    // A server may answer (413) and close before taking every byte; the
    // answer is what the test checks, so a failed write is not the failure.
    let _ = stream.write_all(raw);
    read_reply(&mut stream)
}

/// Reads one response: up to its declared length, its last chunk, or EOF.
pub(crate) fn read_reply(stream: &mut TcpStream) -> Reply {
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
pub(crate) fn request_bytes(
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
pub(crate) fn post(addr: SocketAddr, path: &str, body: &str) -> Reply {
    post_with(addr, path, &[], body)
}

/// `POST path` with `Content-Type: application/json` and extra headers.
pub(crate) fn post_with(addr: SocketAddr, path: &str, extra: &[(&str, &str)], body: &str) -> Reply {
    exchange(
        addr,
        &request_bytes("POST", path, Some("application/json"), extra, body.as_bytes()),
    )
}

// ---------------------------------------------------------------------------
// The checks.

/// The specification's section 7 examples, from the core (one table for
/// every transport's tests).
pub(crate) use sansrpc::reference::SECTION_7;

pub(crate) fn section_7_examples_byte_for_byte(addr: SocketAddr) {
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

pub(crate) fn json_rpc_errors_are_200_with_json(addr: SocketAddr) {
    post(addr, "/", r#"{"jsonrpc":"2.0","method":"nope","id":7}"#)
        .assert_json(r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":7}"#);
    post(addr, "/", "{")
        .assert_json(r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}"#);
    post(addr, "/", r#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":1},"id":1}"#).assert_json(
        r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"missing field `subtrahend`"},"id":1}"#,
    );
}

pub(crate) fn notifications_are_204_without_body(addr: SocketAddr) {
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

pub(crate) fn wrong_method_is_405_with_allow_post(addr: SocketAddr) {
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

pub(crate) fn declared_oversize_is_413_before_reading(addr: SocketAddr) {
    // The head declares more than the limit and no body byte follows: an
    // answer proves the server refused without waiting for the body.
    let head = format!(
        "POST /small HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        SMALL_LIMIT + 1
    );
    let reply = exchange(addr, head.as_bytes());
    assert_eq!(reply.status, 413, "{reply:?}");
    // The same against the default limit (1 MiB), declaring 1 GiB.
    let head = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n";
    let reply = exchange(addr, head.as_bytes());
    assert_eq!(reply.status, 413, "{reply:?}");
}

pub(crate) fn body_at_the_limit_is_answered(addr: SocketAddr) {
    let call = r#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
    let padded = format!("{call:<SMALL_LIMIT$}");
    assert_eq!(padded.len(), SMALL_LIMIT);
    post(addr, "/small", &padded).assert_json(r#"{"jsonrpc":"2.0","result":"pong","id":1}"#);
    let over = format!("{padded} ");
    assert_eq!(post(addr, "/small", &over).status, 413);
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

const CHUNKED_HEAD: &str = "Host: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";

pub(crate) fn chunked_oversize_is_413_while_streaming(addr: SocketAddr) {
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

pub(crate) fn chunked_body_within_the_limit_is_answered(addr: SocketAddr) {
    let call = br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;
    let mut raw = format!("POST / HTTP/1.1\r\n{CHUNKED_HEAD}").into_bytes();
    for part in call.chunks(7) {
        raw.extend(chunk(part));
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    exchange(addr, &raw).assert_json(r#"{"jsonrpc":"2.0","result":19,"id":1}"#);
}

pub(crate) fn non_json_content_type_is_415(addr: SocketAddr) {
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

pub(crate) fn context_carries_peer_address_headers_and_cookies(addr: SocketAddr) {
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

pub(crate) fn handlers_set_response_headers_and_cookies(addr: SocketAddr) {
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

pub(crate) fn mounted_beside_other_routes(addr: SocketAddr) {
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

pub(crate) fn keep_alive_serves_several_requests(addr: SocketAddr) {
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

/// Expands to one `#[test]` per check, each against `$server()`, a
/// function returning the address of a server with the layout above.
#[allow(unused_macros)] // `tests/interop.rs` uses the client, not the suite
macro_rules! http_suite {
    ($server:path) => {
        http_suite!(@tests $server;
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
        );
    };
    (@tests $server:path; $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                support::$name($server());
            }
        )*
    };
}

// ---------------------------------------------------------------------------
// Interoperability with Python's jsonrpcclient.

/// The repository root, two levels above the crate.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `interop/http_client.py` against `url` with the venv's Python
/// (`SANSRPC_PYTHON`, default `<repo>/.venv/bin/python`); prints a
/// `skipped:` line and returns if that Python is missing.
pub(crate) fn run_python_client(url: &str) {
    let root = repo_root();
    let python = std::env::var_os("SANSRPC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    if !python.exists() {
        // With `CI` set, a missing peer is a failure, never a silent skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set and there is no Python at {}: run `bash .ci/setup`",
            python.display()
        );
        println!(
            "skipped: no Python at {} (set SANSRPC_PYTHON, or create the venv: \
             python3 -m venv .venv && .venv/bin/pip install -r interop/requirements.txt)",
            python.display()
        );
        return;
    }
    let mut child = Command::new(&python)
        .arg(root.join("interop/http_client.py"))
        .arg(url)
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
            panic!("the Python client did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    let mut err = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    println!("{out}");
    assert!(
        status.success(),
        "the Python client failed ({status}):\n{out}\n{err}"
    );
    assert!(out.contains("PASS ping"), "{out}");
}
