//! `Limits::max_in_flight_bytes`: what the server and peer connections
//! charge each request they hand out, when they release it, and that they
//! pause handing out work at the limit.

use sansrpc::Limits;
use sansrpc::conn::{Event, Newline, Peer, PeerEvent, ServerConnection};

/// A call of `method` with id `id`, padded with spaces to `len` bytes
/// (the newline not counted).
fn call(method: &str, id: u32, len: usize) -> Vec<u8> {
    let mut m = format!(r#"{{"jsonrpc":"2.0","method":"{method}","id":{id}"#).into_bytes();
    m.resize(len - 1, b' ');
    m.extend_from_slice(b"}\n");
    m
}

/// A notification of `method` padded to `len` bytes.
fn note(method: &str, len: usize) -> Vec<u8> {
    let mut m = format!(r#"{{"jsonrpc":"2.0","method":"{method}""#).into_bytes();
    m.resize(len - 1, b' ');
    m.extend_from_slice(b"}\n");
    m
}

fn limits(bytes: usize) -> Limits {
    Limits {
        max_in_flight_bytes: bytes,
        ..Limits::default()
    }
}

fn server(bytes: usize) -> ServerConnection {
    ServerConnection::new(Newline::new(1024), limits(bytes))
}

fn take_call(conn: &mut ServerConnection) -> sansrpc::conn::Ticket {
    match conn.poll_event() {
        Some(Event::Call { ticket, .. }) => ticket,
        other => panic!("a call, not {other:?}"),
    }
}

#[test]
fn calls_are_charged_their_message_until_answered() {
    let mut conn = server(100);
    for id in 1..=3 {
        conn.handle_input(&call("a", id, 60)).unwrap();
    }
    let one = take_call(&mut conn);
    assert_eq!(conn.serving_bytes(), 60);
    // 60 < 100: one more goes out, and then the total is over the limit.
    let two = take_call(&mut conn);
    assert_eq!(conn.serving_bytes(), 120);
    assert!(conn.poll_event().is_none(), "paused at 120 of 100 bytes");
    assert!(!conn.wants_input());
    conn.respond(one, sansrpc::result(&1)).unwrap();
    assert_eq!(conn.serving_bytes(), 60);
    let three = take_call(&mut conn);
    assert_eq!(conn.serving_bytes(), 120);
    conn.respond(three, sansrpc::result(&3)).unwrap();
    conn.respond(two, sansrpc::result(&2)).unwrap();
    assert_eq!(conn.serving_bytes(), 0);
    assert!(conn.poll_event().is_none());
    assert!(conn.wants_input());
}

#[test]
fn one_message_over_the_limit_still_runs_alone() {
    let mut conn = server(10);
    conn.handle_input(&call("a", 1, 200)).unwrap();
    conn.handle_input(&call("a", 2, 50)).unwrap();
    let one = take_call(&mut conn);
    assert_eq!(conn.serving_bytes(), 200);
    assert!(conn.poll_event().is_none());
    conn.respond(one, sansrpc::result(&1)).unwrap();
    let two = take_call(&mut conn);
    assert_eq!(conn.serving_bytes(), 50);
    conn.respond(two, sansrpc::result(&2)).unwrap();
    assert_eq!(conn.serving_bytes(), 0);
}

#[test]
fn a_notification_done_at_once_is_released_by_the_next_poll() {
    let mut conn = server(100);
    conn.handle_input(&note("n", 80)).unwrap();
    conn.handle_input(&call("a", 1, 70)).unwrap();
    assert!(matches!(conn.poll_event(), Some(Event::Notification { .. })));
    assert_eq!(conn.serving_bytes(), 80, "charged while it runs");
    // Not reported as started: it ran at once, and the next poll releases it.
    let one = take_call(&mut conn);
    assert_eq!(conn.serving_bytes(), 70);
    conn.respond(one, sansrpc::result(&1)).unwrap();
    assert_eq!(conn.serving_bytes(), 0);
}

#[test]
fn background_notifications_hold_until_finished_never_under_counted() {
    let mut conn = server(1000);
    conn.handle_input(&note("big", 500)).unwrap();
    conn.handle_input(&note("small", 40)).unwrap();
    assert!(matches!(conn.poll_event(), Some(Event::Notification { .. })));
    conn.notification_started();
    assert!(matches!(conn.poll_event(), Some(Event::Notification { .. })));
    conn.notification_started();
    assert!(conn.poll_event().is_none());
    assert_eq!(conn.serving_bytes(), 540);
    // Which one finished is not said: the smallest charge goes, so what is
    // counted never drops below what still runs.
    conn.notification_finished();
    assert_eq!(conn.serving_bytes(), 500);
    conn.notification_finished();
    assert_eq!(conn.serving_bytes(), 0);
    // Finishing more than started releases nothing more.
    conn.notification_finished();
    assert_eq!(conn.serving_bytes(), 0);
    assert_eq!(conn.serving(), 0);
}

#[test]
fn every_entry_of_a_batch_counts_the_whole_batch() {
    let batch = br#"[{"jsonrpc":"2.0","method":"a","id":1},{"jsonrpc":"2.0","method":"a","id":2},{"jsonrpc":"2.0","method":"n"}]"#;
    let len = batch.len();
    let mut conn = server(2 * len);
    conn.handle_input(batch).unwrap();
    conn.handle_input(b"\n").unwrap();
    let one = take_call(&mut conn);
    assert_eq!(conn.serving_bytes(), len);
    let two = take_call(&mut conn);
    assert_eq!(conn.serving_bytes(), 2 * len);
    assert!(conn.poll_event().is_none(), "the notification waits");
    conn.respond(one, sansrpc::result(&1)).unwrap();
    assert!(matches!(conn.poll_event(), Some(Event::Notification { .. })));
    assert_eq!(conn.serving_bytes(), 2 * len);
    assert!(conn.poll_event().is_none());
    assert_eq!(conn.serving_bytes(), len);
    conn.respond(two, sansrpc::result(&2)).unwrap();
    assert_eq!(conn.serving_bytes(), 0);
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    assert_eq!(
        out,
        b"[{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1},{\"jsonrpc\":\"2.0\",\"result\":2,\"id\":2}]\n"
    );
}

#[test]
fn a_peer_charges_the_remote_requests_and_bounds_those_parsed_ahead() {
    let mut peer = Peer::new(Newline::new(1024), limits(100));
    for id in 1..=5 {
        peer.handle_input(&call("a", id, 60)).unwrap();
    }
    let mut tickets = Vec::new();
    for _ in 0..2 {
        match peer.poll_event() {
            Some(PeerEvent::Call { ticket, .. }) => tickets.push(ticket),
            other => panic!("a call, not {other:?}"),
        }
    }
    assert_eq!(peer.serving_bytes(), 120);
    assert!(peer.poll_event().is_none());
    // Requests parsed ahead are bounded by the same limit: reading pauses.
    assert!(!peer.wants_input());
    for t in tickets.drain(..) {
        peer.respond(t, sansrpc::result(&0)).unwrap();
    }
    assert_eq!(peer.serving_bytes(), 0);
    let mut n = 0;
    while let Some(event) = peer.poll_event() {
        let PeerEvent::Call { ticket, .. } = event else {
            panic!("a call, not {event:?}")
        };
        peer.respond(ticket, sansrpc::result(&0)).unwrap();
        n += 1;
    }
    assert_eq!(n, 3);
    assert_eq!(peer.serving_bytes(), 0);
}
