//! `Limits::max_connections` on actix-web, set the way the crate docs say
//! (the adapter never owns the listener): `HttpServer::max_connections`
//! with the limit divided by the workers. A worker at its cap stops
//! accepting; a new connection waits in the listen backlog, unanswered,
//! until actix has closed one of the open ones (a connection its client
//! left may hold its slot up to its `keep_alive` time). Over real sockets
//! on 127.0.0.1.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use actix_web::{App, HttpServer};
use sansrpc::Limits;

const WORKERS: usize = 1;

/// actix-web's keep-alive for the test (its default is 5 s).
const KEEP_ALIVE: Duration = Duration::from_secs(1);

fn start(limits: Limits) -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let mut router = sansrpc::reference::router();
            router.set_limits(limits.clone());
            let router = Arc::new(router);
            let server =
                HttpServer::new(move || App::new().service(sansrpc_actix::endpoint("/", router.clone())))
                    .workers(WORKERS)
                    .max_connections(limits.max_connections / WORKERS)
                    .keep_alive(KEEP_ALIVE)
                    .disable_signals()
                    .bind(("127.0.0.1", 0))
                    .expect("bind");
            tx.send(server.addrs()[0]).expect("send the address");
            server.run().await.expect("serve");
        });
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the server starts")
}

/// Sends one `ping` call on `stream`; reads its answer's body within
/// `wait` (`None`: nothing came).
fn ping(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let body = br#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
    let head = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write the head");
    stream.write_all(body).expect("write the body");
    stream.set_read_timeout(Some(wait)).expect("read timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut status = String::new();
    match reader.read_line(&mut status) {
        Ok(0) => return None,
        Ok(_) => {}
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return None,
        Err(e) => panic!("reading a status line: {e}"),
    }
    assert!(status.starts_with("HTTP/1.1 200"), "{status:?}");
    let mut length = 0;
    for _ in 0..100 {
        let mut line = String::new();
        reader.read_line(&mut line).expect("a header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().expect("a length");
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("the body");
    Some(String::from_utf8(body).expect("UTF-8"))
}

#[test]
fn the_cap_holds_and_a_waiting_connection_is_served_once_one_is_closed() {
    let addr = start(Limits {
        max_connections: 2,
        ..Limits::default()
    });
    let pong = r#"{"jsonrpc":"2.0","result":"pong","id":1}"#;
    let connect = || TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    let wait = Duration::from_secs(10);
    let (mut first, mut second) = (connect(), connect());
    assert_eq!(ping(&mut first, wait).as_deref(), Some(pong));
    assert_eq!(ping(&mut second, wait).as_deref(), Some(pong));
    // Both are open (keep-alive, the second used again): the third waits
    // in the backlog.
    let mut third = connect();
    assert_eq!(
        ping(&mut third, KEEP_ALIVE / 2),
        None,
        "a third connection was served with max_connections 2"
    );
    assert_eq!(ping(&mut second, wait).as_deref(), Some(pong));
    drop((first, second));
    // Its request was sent already: the answer comes once actix closed an
    // idle one (at its keep-alive time) and accepted the third.
    let started = std::time::Instant::now();
    third.set_read_timeout(Some(wait)).expect("read timeout");
    let mut reader = BufReader::new(third.try_clone().expect("clone"));
    let mut status = String::new();
    reader
        .read_line(&mut status)
        .expect("the third connection's answer");
    assert!(status.starts_with("HTTP/1.1 200"), "{status:?}");
    assert!(
        started.elapsed() < KEEP_ALIVE * 4,
        "served only after {:?}",
        started.elapsed()
    );
}
