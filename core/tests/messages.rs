//! Message-oriented transports (WebSocket): one message per push, one
//! answer per transmitted message.

use sansrpc::conn::{ClientConnection, Event, Messages, Peer, PeerEvent, ServerConnection};
use sansrpc::{Limits, RawParams};

#[test]
fn server_answers_each_message_separately() {
    let mut conn = ServerConnection::new(Messages::new(100), Limits::default());
    conn.handle_input(br#"{"jsonrpc":"2.0","method":"a","id":1}"#)
        .unwrap();
    conn.handle_input(br#"[{"jsonrpc":"2.0","method":"b","id":2},{"jsonrpc":"2.0","method":"c"}]"#)
        .unwrap();
    conn.handle_input(&[b' '; 101]).unwrap();
    let mut tickets = Vec::new();
    while let Some(e) = conn.poll_event() {
        if let Event::Call { ticket, .. } = e {
            tickets.push(ticket);
        }
    }
    for t in tickets.into_iter().rev() {
        conn.respond(t, sansrpc::result(&0)).unwrap();
    }
    let mut got = Vec::new();
    while let Some(m) = conn.poll_transmit_message() {
        got.push(String::from_utf8(m).unwrap());
    }
    assert_eq!(
        got,
        [
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"message exceeds the limit of 100 bytes"},"id":null}"#,
            r#"[{"jsonrpc":"2.0","result":0,"id":2}]"#,
            r#"{"jsonrpc":"2.0","result":0,"id":1}"#,
        ]
    );
}

#[test]
fn peers_exchange_whole_messages() {
    let mut a = Peer::new(Messages::new(1024), Limits::default());
    let mut b = Peer::new(Messages::new(1024), Limits::default());
    a.call("ping", RawParams::none(), None).unwrap();
    a.notify("hello", RawParams::none()).unwrap();
    while let Some(m) = a.poll_transmit_message() {
        b.handle_input(&m).unwrap();
    }
    let mut seen = Vec::new();
    while let Some(e) = b.poll_event() {
        match e {
            PeerEvent::Call { ticket, method, .. } => {
                seen.push(method);
                b.respond(ticket, sansrpc::result(&"pong")).unwrap();
            }
            PeerEvent::Notification { method, .. } => seen.push(method),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(seen, ["ping", "hello"]);
    let m = b.poll_transmit_message().unwrap();
    assert_eq!(m, br#"{"jsonrpc":"2.0","result":"pong","id":1}"#);
    assert!(b.poll_transmit_message().is_none());
    a.handle_input(&m).unwrap();
    match a.poll_event() {
        Some(PeerEvent::Response(r)) => assert_eq!(r.parse::<String>().unwrap(), "pong"),
        other => panic!("{other:?}"),
    }
    let mut c = ClientConnection::new(Messages::new(1024), Limits::default());
    c.call("x", RawParams::none(), None).unwrap();
    c.notify("y", RawParams::none()).unwrap();
    assert_eq!(
        c.poll_transmit_message().unwrap(),
        br#"{"jsonrpc":"2.0","method":"x","id":1}"#
    );
    assert_eq!(
        c.poll_transmit_message().unwrap(),
        br#"{"jsonrpc":"2.0","method":"y"}"#
    );
}
