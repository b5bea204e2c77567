//! `ServerConnection::poll_refusal` / `Peer::poll_refusal`: the messages a
//! connection answers by itself, kept for hooks only when asked, bounded,
//! nothing lost; and `Router::handle_message` telling its hooks of them.

use futures_executor::block_on;
use sansrpc::conn::{Event, MAX_PENDING_REFUSALS, Newline, Peer, ServerConnection};
use sansrpc::{Context, Limits, RejectionKind, Router, Stats};

fn limits() -> Limits {
    Limits {
        max_message_bytes: 64,
        ..Limits::default()
    }
}

fn kinds(conn: &mut ServerConnection) -> Vec<(RejectionKind, i64)> {
    std::iter::from_fn(|| conn.poll_refusal())
        .map(|r| (r.kind, r.error.raw_code()))
        .collect()
}

#[test]
fn off_by_default_and_the_answers_do_not_change() {
    let input = b"{oops\n{\"jsonrpc\":\"2.0\",\"method\":1,\"id\":1}\n";
    let mut plain = ServerConnection::new(Newline::new(64), limits());
    let mut told = ServerConnection::new(Newline::new(64), limits());
    told.set_report_refusals(true);
    for conn in [&mut plain, &mut told] {
        conn.handle_input(input).unwrap();
        assert!(conn.poll_event().is_none());
    }
    assert!(plain.poll_refusal().is_none());
    let (mut a, mut b) = (Vec::new(), Vec::new());
    plain.poll_transmit(&mut a);
    told.poll_transmit(&mut b);
    assert_eq!(a, b);
    assert_eq!(
        kinds(&mut told),
        [
            (RejectionKind::ParseError, -32700),
            (RejectionKind::InvalidRequest, -32600)
        ]
    );
}

#[test]
fn every_kind_in_order_with_batch_entries_one_by_one() {
    let mut conn = ServerConnection::new(Newline::new(64), limits());
    conn.set_report_refusals(true);
    let long = format!("{}\n", "x".repeat(100));
    conn.handle_input(long.as_bytes()).unwrap();
    conn.handle_input(b"[1,{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1},2]\n[]\n")
        .unwrap();
    let event = conn.poll_event();
    assert!(matches!(event, Some(Event::Call { .. })), "{event:?}");
    assert!(conn.poll_event().is_none());
    assert_eq!(
        kinds(&mut conn),
        [
            (RejectionKind::Oversize, -32600),
            (RejectionKind::InvalidRequest, -32600),
            (RejectionKind::InvalidRequest, -32600),
            (RejectionKind::InvalidRequest, -32600),
        ]
    );
}

#[test]
fn parsing_pauses_while_refusals_wait_and_none_is_lost() {
    let mut conn = ServerConnection::new(Newline::new(64), limits());
    conn.set_report_refusals(true);
    let n = MAX_PENDING_REFUSALS * 3 + 5;
    let mut input = "{oops\n".repeat(n);
    input.push_str("{\"jsonrpc\":\"2.0\",\"method\":\"a\",\"id\":1}\n");
    conn.handle_input(input.as_bytes()).unwrap();
    let mut seen = 0;
    let mut calls = 0;
    loop {
        while let Some(e) = conn.poll_event() {
            assert!(matches!(e, Event::Call { .. }));
            calls += 1;
            std::mem::forget(e); // the ticket is not answered here
        }
        let got = kinds(&mut conn).len();
        assert!(got <= MAX_PENDING_REFUSALS, "{got} kept at once");
        if got == 0 {
            break;
        }
        seen += got;
    }
    assert_eq!((seen, calls), (n, 1));
}

#[test]
fn a_peer_keeps_them_too() {
    let mut peer = Peer::new(Newline::new(64), limits());
    peer.set_report_refusals(true);
    peer.handle_input(b"{oops\n").unwrap();
    assert!(peer.poll_event().is_none());
    let r = peer.poll_refusal().unwrap();
    assert_eq!((r.kind, r.error.raw_code()), (RejectionKind::ParseError, -32700));
    assert!(peer.poll_refusal().is_none());
}

#[test]
fn handle_message_tells_the_hooks() {
    let stats = Stats::new();
    let mut router = Router::new();
    router.method("a", || 1).unwrap();
    router.set_limits(limits());
    router.hook(stats.clone());
    for body in [
        "{oops",
        r#"{"jsonrpc":"2.0","method":"a","params":5,"id":1}"#,
        r#"[1,{"jsonrpc":"2.0","method":"a","id":2}]"#,
        &format!("[{}]", "1,".repeat(40) + "1"),
    ] {
        block_on(router.handle_message(body.as_bytes(), Context::default()));
    }
    let r = stats.snapshot().rejected;
    assert_eq!((r.parse_errors, r.invalid_requests, r.oversize), (1, 2, 1));
    assert_eq!(stats.snapshot().methods["a"].count, 1);
}
