//! The two ways `sansrpc-warp` hands a request's head to the core — the
//! whole header map, for a router whose handlers may read headers, and a
//! view of the few headers the core decides on, for one whose handlers do
//! not — answer every request alike, byte for byte (over a real socket, so
//! that a header may come more than once).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use sansrpc::http::{Cors, HttpOptions};
use sansrpc::{Context, Router};
use warp::Filter;

/// `{"jsonrpc":"2.0","method":"ping","id":1}`, gzipped.
const PING_GZ: [u8; 56] = [
    31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 171, 86, 202, 42, 206, 207, 43, 42, 72, 86, 178, 82, 50, 210, 51, 80,
    210, 81, 202, 77, 45, 201, 200, 79, 1, 114, 11, 50, 243, 210, 129, 252, 76, 32, 219, 176, 22, 0, 93, 20,
    201, 208, 40, 0, 0, 0,
];

const PING: &[u8] = br#"{"jsonrpc":"2.0","method":"ping","id":1}"#;

fn router(reads_headers: bool) -> Router {
    let mut router = sansrpc::reference::router();
    if reads_headers {
        router
            .method("agent", |ctx: Context| {
                ctx.header("user-agent").map(str::to_owned)
            })
            .unwrap();
    }
    assert_eq!(router.reads_request_headers(), reads_headers);
    router
}

fn options() -> HttpOptions {
    HttpOptions::new()
        .cors(Cors::origins(["http://allowed.example"]))
        .jsonp(true)
        .compression(true)
        .compression_threshold(0)
}

/// `/map`: a router that reads headers; `/view`: the same without.
fn server() -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let map = warp::path("map").and(sansrpc_warp::filter_with(router(true), options()));
            let view = warp::path("view").and(sansrpc_warp::filter_with(router(false), options()));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            warp::serve(map.or(view)).incoming(listener).run().await;
        });
    });
    rx.recv_timeout(Duration::from_secs(30)).unwrap()
}

/// The whole answer to one request on its own connection, without its
/// `date` line.
fn exchange(addr: SocketAddr, method: &str, path: &str, headers: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n").into_bytes();
    for header in headers {
        request.extend_from_slice(header);
        request.extend_from_slice(b"\r\n");
    }
    if !headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with(b"content-length:"))
    {
        request.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(&request).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    answer
        .split_inclusive(|b| *b == b'\n')
        .filter(|line| !line.to_ascii_lowercase().starts_with(b"date:"))
        .flatten()
        .copied()
        .collect()
}

/// Name, method, path below the endpoint, headers, body, status.
type Case<'a> = (&'a str, &'a str, &'a str, Vec<&'a [u8]>, &'a [u8], &'a str);

#[test]
fn a_header_view_and_the_whole_map_answer_alike() {
    let addr = server();
    let json: &[u8] = b"Content-Type: application/json";
    let preflight: &[&[u8]] = &[
        b"Origin: http://allowed.example",
        b"Access-Control-Request-Method: POST",
    ];
    let denied: &[&[u8]] = &[
        b"Origin: http://evil.example",
        b"Access-Control-Request-Method: POST",
    ];
    let cases: Vec<Case<'_>> = vec![
        ("plain ping", "POST", "", vec![json], PING, "200"),
        ("no content type", "POST", "", vec![], PING, "200"),
        (
            "notification",
            "POST",
            "",
            vec![json],
            br#"{"jsonrpc":"2.0","method":"ping"}"#,
            "204",
        ),
        (
            "not json",
            "POST",
            "",
            vec![b"Content-Type: text/plain"],
            PING,
            "415",
        ),
        (
            "json, any case",
            "POST",
            "",
            vec![b"Content-Type: Application/JSON; charset=utf-8"],
            PING,
            "200",
        ),
        (
            "a byte past ASCII",
            "POST",
            "",
            vec![b"Content-Type: application/json\xe9"],
            PING,
            "415",
        ),
        (
            "two content types",
            "POST",
            "",
            vec![b"Content-Type: text/plain", json],
            PING,
            "415",
        ),
        (
            "declared over the limit",
            "POST",
            "",
            vec![b"Content-Length: 2000000"],
            b"",
            "413",
        ),
        (
            "gzip body",
            "POST",
            "",
            vec![b"Content-Encoding: gzip"],
            &PING_GZ,
            "200",
        ),
        (
            "gzip, then identity",
            "POST",
            "",
            vec![b"Content-Encoding: gzip", b"Content-Encoding: identity"],
            &PING_GZ,
            "200",
        ),
        (
            "gzip twice, one line",
            "POST",
            "",
            vec![b"Content-Encoding: gzip, gzip"],
            &PING_GZ,
            "415",
        ),
        (
            "gzip twice, two lines",
            "POST",
            "",
            vec![b"Content-Encoding: gzip", b"Content-Encoding: gzip"],
            &PING_GZ,
            "415",
        ),
        (
            "identity, then br",
            "POST",
            "",
            vec![b"Content-Encoding: identity", b"Content-Encoding: br"],
            PING,
            "415",
        ),
        (
            "gzip answer",
            "POST",
            "",
            vec![b"Accept-Encoding: gzip, deflate"],
            PING,
            "200",
        ),
        (
            "allowed origin",
            "POST",
            "",
            vec![b"Origin: http://allowed.example"],
            PING,
            "200",
        ),
        (
            "other origin",
            "POST",
            "",
            vec![b"Origin: http://evil.example"],
            PING,
            "200",
        ),
        ("preflight", "OPTIONS", "", preflight.to_vec(), b"", "204"),
        (
            "preflight, other origin",
            "OPTIONS",
            "",
            denied.to_vec(),
            b"",
            "403",
        ),
        ("options", "OPTIONS", "", vec![], b"", "204"),
        ("get", "GET", "", vec![], b"", "405"),
        (
            "jsonp",
            "GET",
            "/ping?jsonp=cb",
            vec![b"Accept-Encoding: gzip"],
            b"",
            "200",
        ),
        ("jsonp, bad callback", "GET", "/ping?jsonp=1x", vec![], b"", "400"),
    ];
    for (name, method, below, headers, body, status) in cases {
        let map = exchange(addr, method, &format!("/map{below}"), &headers, body);
        let view = exchange(addr, method, &format!("/view{below}"), &headers, body);
        let head = String::from_utf8_lossy(&map);
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{name}: {head}");
        assert_eq!(String::from_utf8_lossy(&view), head, "{name}");
        assert_eq!(view, map, "{name}");
    }
}
