//! Hooks and `Stats` hear of the messages the protocol layer answers by
//! itself (parse errors, invalid requests and batch entries, oversize
//! messages), on every adapter's real server — not only through
//! `Router::handle_message`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sansrpc::{Limits, Router, Stats};
use sansrpc_tests::{Adapter, start};

const MAX: usize = 256;

fn router(stats: &Stats) -> Router {
    let mut router = Router::new();
    router.method("ping", || "pong").unwrap();
    router.hook(stats.clone());
    router
}

/// The messages sent, in order, and the answer each gets, byte for byte
/// (over TCP a line; over HTTP the body; `None`: the transport's own
/// answer, checked apart).
fn messages() -> Vec<(String, Option<&'static str>)> {
    vec![
        (
            "{oops".to_string(),
            Some(
                r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":"key must be a string at line 1 column 2"},"id":null}"#,
            ),
        ),
        (
            r#"{"jsonrpc":"2.0","method":"ping","params":5,"id":1}"#.to_string(),
            Some(
                r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"params\" must be an array or an object"},"id":1}"#,
            ),
        ),
        (
            r#"[{"jsonrpc":"2.0","method":1,"id":2},{"jsonrpc":"2.0","method":"ping","id":3},7]"#.to_string(),
            Some(
                r#"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"method\" must be a string"},"id":2},{"jsonrpc":"2.0","result":"pong","id":3},{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"a batch entry must be an object"},"id":null}]"#,
            ),
        ),
        (
            format!(
                r#"{{"jsonrpc":"2.0","method":"ping","params":["{}"],"id":4}}"#,
                "x".repeat(MAX)
            ),
            None,
        ),
        (
            r#"{"jsonrpc":"2.0","method":"ping","id":5}"#.to_string(),
            Some(r#"{"jsonrpc":"2.0","result":"pong","id":5}"#),
        ),
    ]
}

fn over_tcp(addr: std::net::SocketAddr) -> Vec<String> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut answers = Vec::new();
    for (m, _) in messages() {
        s.write_all(m.as_bytes()).unwrap();
        s.write_all(b"\n").unwrap();
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        answers.push(line);
    }
    answers
}

fn over_http(addr: std::net::SocketAddr) -> Vec<String> {
    let mut answers = Vec::new();
    for (m, _) in messages() {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{m}",
            m.len()
        )
        .unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        answers.push(text);
    }
    answers
}

#[test]
fn every_adapter_tells_its_hooks_of_what_it_refused() {
    for adapter in Adapter::ALL {
        let stats = Stats::new();
        let limits = Limits {
            max_message_bytes: MAX,
            ..Limits::default()
        };
        let server = start(adapter, router(&stats), limits).unwrap();
        let answers = if adapter.is_http() {
            over_http(server.addr())
        } else {
            over_tcp(server.addr())
        };
        for ((_, want), got) in messages().iter().zip(&answers) {
            let (head, body) = if adapter.is_http() {
                got.split_once("\r\n\r\n").unwrap_or((got, ""))
            } else {
                ("", got.strip_suffix('\n').unwrap_or(got))
            };
            match (want, adapter.is_http()) {
                (Some(want), _) => assert_eq!(body, *want, "{adapter}: {got:?}"),
                (None, false) => assert_eq!(
                    body,
                    r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"message exceeds the limit of 256 bytes"},"id":null}"#,
                    "{adapter}"
                ),
                (None, true) => {
                    assert!(head.starts_with("HTTP/1.1 413"), "{adapter}: {got:?}");
                    assert_eq!(
                        body, "payload too large: the body is over the limit of 256 bytes\n",
                        "{adapter}"
                    );
                }
            }
        }
        let r = stats.snapshot().rejected;
        assert_eq!(
            (r.parse_errors, r.invalid_requests, r.oversize),
            (1, 3, 1),
            "{adapter}: {answers:?}"
        );
        assert_eq!(stats.snapshot().methods["ping"].count, 2, "{adapter}");
    }
}
