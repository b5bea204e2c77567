//! Every server adapter writes the wire log with no code of its own: the
//! core's framers do it. One process-wide subscriber, the four reference
//! servers in turn, raw sockets as clients (so only the servers log), and
//! the whole log compared byte for byte.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sansrpc::Limits;
use sansrpc_tests::{Adapter, start};

fn tcp_ping(addr: std::net::SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n")
        .unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line
}

fn http_ping(addr: std::net::SocketAddr) -> String {
    let body = b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}";
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn all_four_server_adapters_log_each_message() {
    let capture = support::Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("sansrpc::wire=debug"))
        .with_writer(capture.clone())
        .without_time()
        .with_level(false)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let mut want = String::new();
    for adapter in Adapter::ALL {
        let server = start(adapter, sansrpc::reference::router(), Limits::default()).unwrap();
        let answer = if adapter.is_http() {
            http_ping(server.addr())
        } else {
            tcp_ping(server.addr())
        };
        assert!(
            answer.contains("{\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}"),
            "{answer}"
        );
        drop(server);
        want.push_str("sansrpc::wire: <-- {\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n");
        want.push_str("sansrpc::wire: --> {\"jsonrpc\":\"2.0\",\"result\":\"pong\",\"id\":1}\n");
        assert_eq!(capture.text(), want, "after {adapter}");
    }
}
