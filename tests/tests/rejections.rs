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

/// The messages sent, in order, and the answers each gets (HTTP: the body).
fn messages() -> Vec<(String, &'static str)> {
    vec![
        ("{oops".to_string(), "-32700"),
        (
            r#"{"jsonrpc":"2.0","method":"ping","params":5,"id":1}"#.to_string(),
            "-32600",
        ),
        (
            r#"[{"jsonrpc":"2.0","method":1,"id":2},{"jsonrpc":"2.0","method":"ping","id":3},7]"#.to_string(),
            r#""result":"pong","id":3"#,
        ),
        (
            format!(
                r#"{{"jsonrpc":"2.0","method":"ping","params":["{}"],"id":4}}"#,
                "x".repeat(MAX)
            ),
            "-32600",
        ),
        (
            r#"{"jsonrpc":"2.0","method":"ping","id":5}"#.to_string(),
            r#""result":"pong","id":5"#,
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
            if adapter.is_http() && *want == "-32600" && got.starts_with("HTTP/1.1 413") {
                continue; // the oversize body: 413, no JSON-RPC answer
            }
            assert!(got.contains(want), "{adapter}: {got:?} lacks {want}");
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
