//! Two endpoints driven against each other in memory, without sockets, in
//! the manner of quinn-proto's `Pair`: whatever one side transmits is fed to
//! the other side's `handle_input`, whole or in random-sized chunks.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use sansrpc::conn::{
    ClientConnection, ClientEvent, ContentLength, Event, Framer, Newline, Peer, PeerEvent, ServerConnection,
};
use sansrpc::result;
use sansrpc::{BatchEntry, Error, ErrorCode, Id, Limits, ProtocolError, RawParams, Response, UsageError};

/// What the harness needs of an endpoint.
trait Endpoint {
    fn transmit(&mut self, buf: &mut Vec<u8>) -> Option<usize>;
    fn input(&mut self, bytes: &[u8]);
    fn eof(&mut self);
}

impl<F: Framer> Endpoint for ClientConnection<F> {
    fn transmit(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        self.poll_transmit(buf)
    }
    fn input(&mut self, bytes: &[u8]) {
        self.handle_input(bytes).unwrap();
    }
    fn eof(&mut self) {
        self.handle_eof();
    }
}

impl<F: Framer> Endpoint for ServerConnection<F> {
    fn transmit(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        self.poll_transmit(buf)
    }
    fn input(&mut self, bytes: &[u8]) {
        self.handle_input(bytes).unwrap();
    }
    fn eof(&mut self) {
        self.handle_eof();
    }
}

impl<F: Framer> Endpoint for Peer<F> {
    fn transmit(&mut self, buf: &mut Vec<u8>) -> Option<usize> {
        self.poll_transmit(buf)
    }
    fn input(&mut self, bytes: &[u8]) {
        self.handle_input(bytes).unwrap();
    }
    fn eof(&mut self) {
        self.handle_eof();
    }
}

/// A small deterministic generator for chunk sizes (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

struct Pair<A, B> {
    a: A,
    b: B,
    /// When set, every delivery is cut into chunks of 1..=16 bytes.
    chunks: Option<Rng>,
    /// Every byte A sent B, and B sent A, for wire assertions.
    a_sent: Vec<u8>,
    b_sent: Vec<u8>,
}

impl<A: Endpoint, B: Endpoint> Pair<A, B> {
    fn new(a: A, b: B) -> Self {
        Self {
            a,
            b,
            chunks: None,
            a_sent: Vec::new(),
            b_sent: Vec::new(),
        }
    }

    fn chunked(mut self, seed: u64) -> Self {
        self.chunks = Some(Rng(seed | 1));
        self
    }

    fn deliver(chunks: &mut Option<Rng>, bytes: &[u8], to: &mut dyn Endpoint) {
        match chunks {
            None => to.input(bytes),
            Some(rng) => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let n = (1 + (rng.next() % 16) as usize).min(rest.len());
                    let (now, later) = rest.split_at(n);
                    to.input(now);
                    rest = later;
                }
            }
        }
    }

    /// Moves what A transmits into B; returns the bytes moved.
    fn a_to_b(&mut self) -> Vec<u8> {
        let mut buf = Vec::new();
        self.a.transmit(&mut buf);
        Self::deliver(&mut self.chunks, &buf, &mut self.b);
        self.a_sent.extend_from_slice(&buf);
        buf
    }

    /// Moves what B transmits into A; returns the bytes moved.
    fn b_to_a(&mut self) -> Vec<u8> {
        let mut buf = Vec::new();
        self.b.transmit(&mut buf);
        Self::deliver(&mut self.chunks, &buf, &mut self.a);
        self.b_sent.extend_from_slice(&buf);
        buf
    }

    /// Moves bytes both ways once.
    fn drive(&mut self) {
        self.a_to_b();
        self.b_to_a();
    }
}

fn limits() -> Limits {
    Limits::default()
}

fn client() -> ClientConnection {
    ClientConnection::new(Newline::new(limits().max_message_bytes), limits())
}

fn server() -> ServerConnection {
    ServerConnection::new(Newline::new(limits().max_message_bytes), limits())
}

fn peer() -> Peer {
    Peer::new(Newline::new(limits().max_message_bytes), limits())
}

fn params(json: &str) -> RawParams {
    RawParams::from_json(json).unwrap()
}

fn ok(json: &str) -> Response {
    ok_id(Id::from(0u64), json)
}

fn ok_id(id: Id, json: &str) -> Response {
    Response {
        id,
        outcome: Ok(serde_json::value::RawValue::from_string(json.to_owned()).unwrap()),
    }
}

fn client_events<F: Framer>(c: &mut ClientConnection<F>) -> Vec<ClientEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn peer_events<F: Framer>(p: &mut Peer<F>) -> Vec<PeerEvent> {
    std::iter::from_fn(|| p.poll_event()).collect()
}

/// Every call the server has, with its method and params.
fn server_calls<F: Framer>(s: &mut ServerConnection<F>) -> Vec<(sansrpc::conn::Ticket, String, RawParams)> {
    let mut calls = Vec::new();
    while let Some(e) = s.poll_event() {
        match e {
            Event::Call {
                ticket,
                method,
                params,
                ..
            } => calls.push((ticket, method, params)),
            Event::Notification { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    calls
}

/// A server answering `subtract` and `sum` on its own, in the order the
/// calls are given.
fn compute(method: &str, params: &RawParams) -> sansrpc::Outcome {
    match method {
        "subtract" => {
            let (a, b): (i64, i64) = params.parse()?;
            result(&(a - b))
        }
        "sum" => {
            let v: Vec<i64> = params.parse()?;
            result(&v.iter().sum::<i64>())
        }
        _ => Err(Error::method_not_found()),
    }
}

fn response_of(e: &ClientEvent) -> (&Id, Result<&str, &Error>) {
    match e {
        ClientEvent::Response(r) => (&r.id, r.outcome.as_ref().map(|v| v.get())),
        other => panic!("not a response: {other:?}"),
    }
}

#[test]
fn call_and_response_bytes_exact() {
    for chunk_seed in [None, Some(7), Some(12345)] {
        let mut pair = Pair::new(client(), server());
        if let Some(seed) = chunk_seed {
            pair = pair.chunked(seed);
        }
        let id = pair.a.call("subtract", params("[42,23]"), None).unwrap();
        assert_eq!(id, Id::from(1u64));
        assert_eq!(pair.a.in_flight(), 1);
        assert_eq!(
            pair.a_to_b(),
            b"{\"jsonrpc\":\"2.0\",\"method\":\"subtract\",\"params\":[42,23],\"id\":1}\n"
        );
        let mut calls = server_calls(&mut pair.b);
        assert_eq!(calls.len(), 1);
        let (ticket, method, p) = calls.remove(0);
        pair.b.respond(ticket, compute(&method, &p)).unwrap();
        assert_eq!(pair.b_to_a(), b"{\"jsonrpc\":\"2.0\",\"result\":19,\"id\":1}\n");
        let events = client_events(&mut pair.a);
        assert_eq!(events, vec![ClientEvent::Response(ok_id(id, "19"))]);
        assert_eq!(pair.a.in_flight(), 0);
        assert!(pair.a.is_idle());
    }
}

#[test]
fn named_params_and_no_params_on_the_wire() {
    let mut pair = Pair::new(client(), server());
    pair.a
        .call("subtract", params(r#"{"subtrahend": 23, "minuend": 42}"#), None)
        .unwrap();
    pair.a.call("ping", RawParams::none(), None).unwrap();
    assert_eq!(
        pair.a_to_b(),
        concat!(
            r#"{"jsonrpc":"2.0","method":"subtract","params":{"subtrahend": 23, "minuend": 42},"id":1}"#,
            "\n",
            r#"{"jsonrpc":"2.0","method":"ping","id":2}"#,
            "\n"
        )
        .as_bytes()
    );
}

#[test]
fn notification_gets_nothing() {
    let mut pair = Pair::new(client(), server());
    pair.a.notify("update", params("[1,2,3,4,5]")).unwrap();
    assert_eq!(pair.a.in_flight(), 0);
    assert_eq!(
        pair.a_to_b(),
        b"{\"jsonrpc\":\"2.0\",\"method\":\"update\",\"params\":[1,2,3,4,5]}\n"
    );
    match pair.b.poll_event() {
        Some(Event::Notification { method, params }) => {
            assert_eq!(method, "update");
            assert_eq!(params.as_str(), Some("[1,2,3,4,5]"));
        }
        other => panic!("{other:?}"),
    }
    assert!(pair.b.poll_event().is_none());
    assert!(pair.b_to_a().is_empty());
    assert!(client_events(&mut pair.a).is_empty());
}

#[test]
fn batch_answered_out_of_order_by_the_server() {
    let mut pair = Pair::new(client(), server()).chunked(99);
    let ids = pair
        .a
        .batch(
            [
                BatchEntry::call("sum", params("[1,2,4]")),
                BatchEntry::notification("notify_hello", params("[7]")),
                BatchEntry::call("subtract", params("[42,23]")),
                BatchEntry::call("get_data", RawParams::none()),
            ],
            None,
        )
        .unwrap();
    assert_eq!(
        ids,
        vec![
            Some(Id::from(1u64)),
            None,
            Some(Id::from(2u64)),
            Some(Id::from(3u64))
        ]
    );
    assert_eq!(pair.a.in_flight(), 3);
    assert_eq!(
        pair.a_to_b(),
        concat!(
            r#"[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":1},"#,
            r#"{"jsonrpc":"2.0","method":"notify_hello","params":[7]},"#,
            r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":2},"#,
            r#"{"jsonrpc":"2.0","method":"get_data","id":3}]"#,
            "\n"
        )
        .as_bytes()
    );
    let calls = server_calls(&mut pair.b);
    assert_eq!(calls.len(), 3);
    // The server's handlers finish last-first.
    for (ticket, method, p) in calls.into_iter().rev() {
        pair.b.respond(ticket, compute(&method, &p)).unwrap();
    }
    pair.b_to_a();
    let events = client_events(&mut pair.a);
    assert_eq!(events.len(), 3);
    assert_eq!(response_of(&events[0]), (&Id::from(1u64), Ok("7")));
    assert_eq!(response_of(&events[1]), (&Id::from(2u64), Ok("19")));
    let (id, outcome) = response_of(&events[2]);
    assert_eq!(id, &Id::from(3u64));
    assert_eq!(outcome.unwrap_err().code(), ErrorCode::METHOD_NOT_FOUND);
    assert_eq!(pair.a.in_flight(), 0);
}

#[test]
fn batch_response_array_in_any_order() {
    let mut c = client();
    let ids = c
        .batch(
            (0..4).map(|i| BatchEntry::call(format!("m{i}"), RawParams::none())),
            None,
        )
        .unwrap();
    assert_eq!(ids.len(), 4);
    c.handle_input(
        concat!(
            r#"[{"jsonrpc":"2.0","result":"c","id":3},{"jsonrpc":"2.0","result":"a","id":1},"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":4},"#,
            r#"{"jsonrpc":"2.0","result":"b","id":2}]"#,
            "\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let events = client_events(&mut c);
    let got: Vec<_> = events.iter().map(response_of).collect();
    assert_eq!(got[0], (&Id::from(3u64), Ok(r#""c""#)));
    assert_eq!(got[1], (&Id::from(1u64), Ok(r#""a""#)));
    assert_eq!(got[2].0, &Id::from(4u64));
    assert_eq!(got[2].1.unwrap_err(), &Error::method_not_found());
    assert_eq!(got[3], (&Id::from(2u64), Ok(r#""b""#)));
    assert_eq!(c.in_flight(), 0);
}

#[test]
fn responses_to_separate_calls_in_any_order() {
    let mut pair = Pair::new(client(), server());
    let a = pair.a.call("subtract", params("[10,1]"), None).unwrap();
    let b = pair.a.call("subtract", params("[10,2]"), None).unwrap();
    let c = pair.a.call("subtract", params("[10,3]"), None).unwrap();
    pair.a_to_b();
    let mut calls = server_calls(&mut pair.b);
    // Answer 3, then 1, then 2, each in its own delivery.
    let order = [2usize, 0, 0];
    let mut events = Vec::new();
    for i in order {
        let (ticket, method, p) = calls.remove(i);
        pair.b.respond(ticket, compute(&method, &p)).unwrap();
        pair.b_to_a();
        events.extend(client_events(&mut pair.a));
    }
    assert_eq!(
        events,
        vec![
            ClientEvent::Response(ok_id(c, "7")),
            ClientEvent::Response(ok_id(a, "9")),
            ClientEvent::Response(ok_id(b, "8")),
        ]
    );
}

#[test]
fn unmatched_response_is_reported() {
    let mut c = client();
    let id = c.call("x", RawParams::none(), None).unwrap();
    c.handle_input(
        b"{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":99}\n{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":\"1\"}\n",
    )
    .unwrap();
    assert_eq!(
        client_events(&mut c),
        vec![
            ClientEvent::Unexpected(ProtocolError::UnmatchedResponse("99".into())),
            ClientEvent::Unexpected(ProtocolError::UnmatchedResponse("\"1\"".into())),
        ]
    );
    // The pending call is untouched and still matches.
    assert_eq!(c.in_flight(), 1);
    c.handle_input(b"{\"jsonrpc\":\"2.0\",\"result\":2,\"id\":1}\n")
        .unwrap();
    assert_eq!(client_events(&mut c), vec![ClientEvent::Response(ok_id(id, "2"))]);
}

#[test]
fn duplicate_response_is_reported() {
    let mut c = client();
    let id = c.call("x", RawParams::none(), None).unwrap();
    let line = b"{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1}\n";
    c.handle_input(line).unwrap();
    c.handle_input(line).unwrap();
    c.handle_input(b"[{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":1}]\n")
        .unwrap();
    assert_eq!(
        client_events(&mut c),
        vec![
            ClientEvent::Response(ok_id(id, "1")),
            ClientEvent::Unexpected(ProtocolError::UnmatchedResponse("1".into())),
            ClientEvent::Unexpected(ProtocolError::UnmatchedResponse("1".into())),
        ]
    );
}

#[test]
fn timeout_then_late_response() {
    let t0 = Instant::now();
    let mut pair = Pair::new(client(), server());
    let slow = pair
        .a
        .call("subtract", params("[1,1]"), Some(t0 + Duration::from_secs(5)))
        .unwrap();
    let patient = pair.a.call("subtract", params("[2,1]"), None).unwrap();
    let quick = pair
        .a
        .call("subtract", params("[3,1]"), Some(t0 + Duration::from_secs(1)))
        .unwrap();
    assert_eq!(pair.a.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    pair.a_to_b();
    let calls = server_calls(&mut pair.b);

    pair.a.handle_timeout(t0 + Duration::from_millis(999));
    assert!(client_events(&mut pair.a).is_empty());
    pair.a.handle_timeout(t0 + Duration::from_secs(1));
    assert_eq!(
        client_events(&mut pair.a),
        vec![ClientEvent::TimedOut { id: quick }]
    );
    assert_eq!(pair.a.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    pair.a.handle_timeout(t0 + Duration::from_secs(60));
    assert_eq!(
        client_events(&mut pair.a),
        vec![ClientEvent::TimedOut { id: slow }]
    );
    assert_eq!(pair.a.poll_timeout(), None);
    assert_eq!(pair.a.in_flight(), 1);

    // The server answers everything, late.
    for (ticket, method, p) in calls {
        pair.b.respond(ticket, compute(&method, &p)).unwrap();
    }
    pair.b_to_a();
    assert_eq!(
        client_events(&mut pair.a),
        vec![
            ClientEvent::Unexpected(ProtocolError::UnmatchedResponse("1".into())),
            ClientEvent::Response(ok_id(patient, "1")),
            ClientEvent::Unexpected(ProtocolError::UnmatchedResponse("3".into())),
        ]
    );
}

#[test]
fn eof_fails_pending_calls() {
    let mut pair = Pair::new(client(), server());
    let answered = pair.a.call("subtract", params("[5,3]"), None).unwrap();
    let lost1 = pair.a.call("subtract", params("[1,1]"), None).unwrap();
    let lost2 = pair
        .a
        .call("subtract", params("[1,1]"), Some(Instant::now()))
        .unwrap();
    pair.a_to_b();
    let mut calls = server_calls(&mut pair.b);
    let (ticket, method, p) = calls.remove(0);
    pair.b.respond(ticket, compute(&method, &p)).unwrap();
    // The answer is in the same read as the EOF: it still counts.
    pair.b_to_a();
    pair.a.handle_eof();
    assert!(!pair.a.wants_input());
    assert!(!pair.a.is_finished());
    assert_eq!(
        client_events(&mut pair.a),
        vec![
            ClientEvent::Response(ok_id(answered, "2")),
            ClientEvent::Closed { id: lost1 },
            ClientEvent::Closed { id: lost2 },
        ]
    );
    assert_eq!(pair.a.in_flight(), 0);
    assert_eq!(pair.a.poll_timeout(), None);
    assert!(pair.a.is_finished());
    assert_eq!(pair.a.call("x", RawParams::none(), None), Err(UsageError::Closed));
    assert_eq!(pair.a.notify("x", RawParams::none()), Err(UsageError::Closed));
    assert_eq!(pair.a.handle_input(b"{}"), Err(UsageError::Closed));
}

#[test]
fn eof_with_nothing_pending_finishes() {
    let mut c = client();
    assert!(!c.is_finished());
    c.handle_eof();
    assert!(c.is_finished());
    assert!(client_events(&mut c).is_empty());
}

#[test]
fn server_rejecting_a_whole_batch_fails_each_call() {
    // A server that takes at most two entries per batch answers a bigger
    // batch with one `-32600` object whose id is null.
    let small = Limits {
        max_batch_len: 2,
        ..Limits::default()
    };
    let mut pair = Pair::new(client(), ServerConnection::new(Newline::new(1 << 20), small));
    let single = pair.a.call("subtract", params("[2,1]"), None).unwrap();
    pair.a_to_b();
    let ids: Vec<Id> = pair
        .a
        .batch((0..3).map(|_| BatchEntry::call("sum", params("[1]"))), None)
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    pair.a_to_b();
    let calls = server_calls(&mut pair.b);
    assert_eq!(calls.len(), 1);
    for (ticket, method, p) in calls {
        pair.b.respond(ticket, compute(&method, &p)).unwrap();
    }
    // The rejection is written at once, before the older single call's
    // answer: it must still go to the batch, not to the single call.
    let wire = String::from_utf8(pair.b_to_a()).unwrap();
    let lines: Vec<&str> = wire.lines().collect();
    assert_eq!(lines.len(), 2, "{wire}");
    assert!(
        lines[0].starts_with(r#"{"jsonrpc":"2.0","error":{"code":-32600,"#),
        "{wire}"
    );
    assert!(lines[0].ends_with(r#","id":null}"#), "{wire}");
    assert_eq!(lines[1], r#"{"jsonrpc":"2.0","result":1,"id":1}"#);
    let events = client_events(&mut pair.a);
    let got: Vec<_> = events.iter().map(response_of).collect();
    assert_eq!(got.len(), 4);
    for ((id, outcome), want) in got.iter().zip(&ids) {
        assert_eq!(*id, want);
        assert_eq!(outcome.unwrap_err().code(), ErrorCode::INVALID_REQUEST);
    }
    assert_eq!(got[3], (&single, Ok("1")));
    assert_eq!(pair.a.in_flight(), 0);
}

#[test]
fn whole_batch_rejection_fails_every_call_of_the_batch() {
    let mut c = client();
    let ids: Vec<Id> = c
        .batch(
            [
                BatchEntry::call("a", RawParams::none()),
                BatchEntry::notification("n", RawParams::none()),
                BatchEntry::call("b", RawParams::none()),
            ],
            None,
        )
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    c.handle_input(
        b"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"Invalid Request\"},\"id\":null}\n",
    )
    .unwrap();
    let events = client_events(&mut c);
    assert_eq!(
        events,
        ids.iter()
            .map(|id| ClientEvent::Response(Response {
                id: id.clone(),
                outcome: Err(Error::invalid_request()),
            }))
            .collect::<Vec<_>>()
    );
    assert_eq!(c.in_flight(), 0);
}

#[test]
fn invalid_responses_are_reported() {
    let mut c = client();
    c.call("x", RawParams::none(), None).unwrap();
    c.handle_input(
        concat!(
            "this is not json\n",
            "[]\n",
            r#"{"jsonrpc":"2.0","method":"hello","id":1}"#,
            "\n",
            r#"{"jsonrpc":"2.0","id":1}"#,
            "\n",
            r#"{"jsonrpc":"1.0","result":1,"id":1}"#,
            "\n",
            r#"[1,{"jsonrpc":"2.0","result":5,"id":1}]"#,
            "\n",
        )
        .as_bytes(),
    )
    .unwrap();
    let events = client_events(&mut c);
    assert_eq!(events.len(), 7, "{events:?}");
    for e in events.iter().take(6) {
        assert!(
            matches!(e, ClientEvent::Unexpected(ProtocolError::InvalidResponse(_))),
            "{e:?}"
        );
    }
    // The valid entry of the last array still answers the call.
    assert_eq!(events[6], ClientEvent::Response(ok_id(Id::from(1u64), "5")));
}

#[test]
fn oversized_response_line_is_reported_and_skipped() {
    let small = Limits {
        max_message_bytes: 64,
        ..Limits::default()
    };
    let mut c = ClientConnection::new(Newline::new(64), small);
    let id = c.call("x", RawParams::none(), None).unwrap();
    let mut input = format!(
        "{{\"jsonrpc\":\"2.0\",\"result\":\"{}\",\"id\":1}}\n",
        "x".repeat(100)
    );
    input.push_str("{\"jsonrpc\":\"2.0\",\"result\":0,\"id\":1}\n");
    c.handle_input(input.as_bytes()).unwrap();
    let events = client_events(&mut c);
    assert!(matches!(
        events[0],
        ClientEvent::Unexpected(ProtocolError::FrameTooLarge { limit: 64, .. })
    ));
    assert_eq!(events[1], ClientEvent::Response(ok_id(id, "0")));
}

#[test]
fn in_flight_limit() {
    let two = Limits {
        max_in_flight: 2,
        ..Limits::default()
    };
    let mut c = ClientConnection::new(Newline::new(1024), two);
    c.call("a", RawParams::none(), None).unwrap();
    c.call("b", RawParams::none(), None).unwrap();
    assert_eq!(
        c.call("c", RawParams::none(), None),
        Err(UsageError::TooManyInFlight(2))
    );
    assert_eq!(
        c.batch([BatchEntry::call("c", RawParams::none())], None),
        Err(UsageError::TooManyInFlight(2))
    );
    // Notifications are never in flight.
    c.notify("n", RawParams::none()).unwrap();
    c.batch([BatchEntry::notification("n", RawParams::none())], None)
        .unwrap();
    assert_eq!(c.batch([], None), Err(UsageError::EmptyBatch));
    c.handle_input(b"{\"jsonrpc\":\"2.0\",\"result\":0,\"id\":1}\n")
        .unwrap();
    assert_eq!(client_events(&mut c).len(), 1);
    c.call("c", RawParams::none(), None).unwrap();
    let mut out = Vec::new();
    c.poll_transmit(&mut out);
    // Refused calls used no id.
    assert!(out.ends_with(b"{\"jsonrpc\":\"2.0\",\"method\":\"c\",\"id\":3}\n"));
}

#[test]
fn content_length_client_and_server() {
    let mut pair = Pair::new(
        ClientConnection::new(ContentLength::new(1024), limits()),
        ServerConnection::new(ContentLength::new(1024), limits()),
    )
    .chunked(3);
    let id = pair.a.call("sum", params("[1,2]"), None).unwrap();
    let wire = pair.a_to_b();
    let body = br#"{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":1}"#;
    assert_eq!(
        wire,
        [format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(), body].concat()
    );
    for (ticket, method, p) in server_calls(&mut pair.b) {
        pair.b.respond(ticket, compute(&method, &p)).unwrap();
    }
    pair.b_to_a();
    assert_eq!(
        client_events(&mut pair.a),
        vec![ClientEvent::Response(ok_id(id, "3"))]
    );
}

#[test]
fn client_against_server_eof_finishes_both() {
    let mut pair = Pair::new(client(), server()).chunked(5);
    let id = pair.a.call("subtract", params("[9,4]"), None).unwrap();
    pair.a_to_b();
    pair.b.eof();
    for (ticket, method, p) in server_calls(&mut pair.b) {
        pair.b.respond(ticket, compute(&method, &p)).unwrap();
    }
    pair.b_to_a();
    assert!(pair.b.is_finished());
    pair.a.eof();
    assert_eq!(
        client_events(&mut pair.a),
        vec![ClientEvent::Response(ok_id(id, "5"))]
    );
    assert!(pair.a.is_finished());
}

// ---------------------------------------------------------------- peers

/// Answers every call a peer has with `compute`; returns the other events.
fn serve<F: Framer>(p: &mut Peer<F>) -> Vec<PeerEvent> {
    let mut rest = Vec::new();
    while let Some(e) = p.poll_event() {
        match e {
            PeerEvent::Call {
                ticket,
                method,
                params,
                ..
            } => {
                let outcome = compute(&method, &params);
                p.respond(ticket, outcome).unwrap();
            }
            other => rest.push(other),
        }
    }
    rest
}

#[test]
fn peers_call_each_other_at_once() {
    for seed in [None, Some(1), Some(42)] {
        let mut pair = Pair::new(peer(), peer());
        if let Some(seed) = seed {
            pair = pair.chunked(seed);
        }
        let a_id = pair.a.call("subtract", params("[42,23]"), None).unwrap();
        let b_id = pair.b.call("subtract", params("[23,42]"), None).unwrap();
        // Both ids are 1: each side allocates its own.
        assert_eq!(a_id, b_id);
        pair.a.notify("sum", params("[1]")).unwrap();
        pair.drive();
        // Each side sees the other's call (and A's notification reaches B).
        let a_rest = serve(&mut pair.a);
        let b_rest = serve(&mut pair.b);
        assert!(a_rest.is_empty(), "{a_rest:?}");
        assert_eq!(
            b_rest,
            vec![PeerEvent::Notification {
                method: "sum".into(),
                params: params("[1]")
            }]
        );
        assert_eq!((pair.a.serving(), pair.a.pending_calls()), (0, 1));
        pair.drive();
        assert_eq!(
            peer_events(&mut pair.a),
            vec![PeerEvent::Response(ok_id(a_id, "19"))]
        );
        assert_eq!(
            peer_events(&mut pair.b),
            vec![PeerEvent::Response(ok_id(b_id, "-19"))]
        );
        assert!(pair.a.is_idle() && pair.b.is_idle());
        assert_eq!(
            pair.b_sent,
            concat!(
                r#"{"jsonrpc":"2.0","method":"subtract","params":[23,42],"id":1}"#,
                "\n",
                r#"{"jsonrpc":"2.0","result":19,"id":1}"#,
                "\n"
            )
            .as_bytes()
        );
    }
}

#[test]
fn peer_batch_mixing_a_response_and_a_request() {
    let mut a = peer();
    let id = a.call("ping", RawParams::none(), None).unwrap();
    let mut out = Vec::new();
    a.poll_transmit(&mut out);
    // The remote answers our call and calls us, in one array.
    a.handle_input(
        concat!(
            r#"[{"jsonrpc":"2.0","method":"subtract","params":[5,2],"id":"r1"},"#,
            r#"{"jsonrpc":"2.0","result":"pong","id":1},"#,
            r#"{"jsonrpc":"2.0","method":"note"}]"#,
            "\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let events = serve(&mut a);
    assert_eq!(
        events,
        // Answers to our calls come first: the remote's requests wait behind
        // the in-flight limit, responses never do.
        vec![
            PeerEvent::Response(ok_id(id, r#""pong""#)),
            PeerEvent::Notification {
                method: "note".into(),
                params: RawParams::none()
            },
        ]
    );
    out.clear();
    a.poll_transmit(&mut out);
    // Only the request is answered, in an array as it came in one.
    assert_eq!(out, b"[{\"jsonrpc\":\"2.0\",\"result\":3,\"id\":\"r1\"}]\n");
    assert_eq!((a.serving(), a.pending_calls()), (0, 0));
}

#[test]
fn peer_batches_both_ways() {
    let mut pair = Pair::new(peer(), peer()).chunked(77);
    let a_ids = pair
        .a
        .batch(
            [
                BatchEntry::call("sum", params("[1,2,3]")),
                BatchEntry::call("nope", RawParams::none()),
            ],
            None,
        )
        .unwrap();
    let b_id = pair.b.call("sum", params("[10]"), None).unwrap();
    pair.drive();
    assert!(serve(&mut pair.a).is_empty());
    assert!(serve(&mut pair.b).is_empty());
    pair.drive();
    let a_events = peer_events(&mut pair.a);
    assert_eq!(a_events.len(), 2);
    assert_eq!(
        a_events[0],
        PeerEvent::Response(ok_id(a_ids[0].clone().unwrap(), "6"))
    );
    match &a_events[1] {
        PeerEvent::Response(Response { id, outcome: Err(e) }) => {
            assert_eq!(Some(id), a_ids[1].as_ref());
            assert_eq!(e.code(), ErrorCode::METHOD_NOT_FOUND);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        peer_events(&mut pair.b),
        vec![PeerEvent::Response(ok_id(b_id, "10"))]
    );
}

#[test]
fn peer_answers_garbage_like_a_server_and_reports_stray_responses() {
    let mut a = peer();
    a.handle_input(b"not json\n{\"jsonrpc\":\"2.0\",\"result\":1,\"id\":8}\n")
        .unwrap();
    assert_eq!(
        peer_events(&mut a),
        vec![PeerEvent::Unexpected(ProtocolError::UnmatchedResponse(
            "8".into()
        ))]
    );
    let mut out = Vec::new();
    a.poll_transmit(&mut out);
    assert_eq!(
        out,
        b"{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32700,\"message\":\"Parse error\",\"data\":\"expected ident at line 1 column 2\"},\"id\":null}\n"
    );
}

#[test]
fn peer_eof_fails_our_calls_but_lets_theirs_finish() {
    let mut pair = Pair::new(peer(), peer());
    let t0 = Instant::now();
    let a_id = pair
        .a
        .call("sum", params("[1]"), Some(t0 + Duration::from_secs(1)))
        .unwrap();
    pair.b.call("sum", params("[2]"), None).unwrap();
    pair.drive();
    // A holds B's call; B closes its side.
    let ticket = match pair.a.poll_event() {
        Some(PeerEvent::Call { ticket, .. }) => ticket,
        other => panic!("{other:?}"),
    };
    pair.a.eof();
    assert_eq!(pair.a.poll_event(), Some(PeerEvent::Closed { id: a_id }));
    assert_eq!(pair.a.poll_timeout(), None);
    assert!(!pair.a.is_finished());
    assert_eq!(pair.a.call("x", RawParams::none(), None), Err(UsageError::Closed));
    pair.a.respond(ticket, result(&2)).unwrap();
    assert!(!pair.a.is_finished());
    pair.a_to_b();
    assert!(pair.a.is_finished());
    assert!(matches!(
        serve(&mut pair.b).as_slice(),
        [PeerEvent::Response(Response { outcome: Ok(_), .. })]
    ));
}

#[test]
fn peer_timeout_then_late_response() {
    let mut pair = Pair::new(peer(), peer());
    let t0 = Instant::now();
    let id = pair.a.call("sum", params("[1]"), Some(t0)).unwrap();
    pair.a_to_b();
    assert_eq!(pair.a.poll_timeout(), Some(t0));
    pair.a.handle_timeout(t0);
    assert_eq!(peer_events(&mut pair.a), vec![PeerEvent::TimedOut { id }]);
    serve(&mut pair.b);
    pair.b_to_a();
    assert_eq!(
        peer_events(&mut pair.a),
        vec![PeerEvent::Unexpected(ProtocolError::UnmatchedResponse(
            "1".into()
        ))]
    );
}

#[test]
fn peer_backpressure_follows_the_server_rules() {
    let one = Limits {
        max_in_flight: 1,
        ..Limits::default()
    };
    let mut a = Peer::new(Newline::new(1024), one);
    a.handle_input(
        concat!(
            r#"{"jsonrpc":"2.0","method":"x","id":1}"#,
            "\n",
            r#"{"jsonrpc":"2.0","method":"y","id":2}"#,
            "\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let first = match a.poll_event() {
        Some(PeerEvent::Call { ticket, .. }) => ticket,
        other => panic!("{other:?}"),
    };
    assert!(a.poll_event().is_none());
    assert!(!a.wants_input());
    assert_eq!(a.serving(), 1);
    a.respond(first, result(&1)).unwrap();
    assert!(matches!(a.poll_event(), Some(PeerEvent::Call { method, .. }) if method == "y"));
    // Our own calls count against the limit separately.
    a.call("z", RawParams::none(), None).unwrap();
    assert_eq!(
        a.call("z", RawParams::none(), None),
        Err(UsageError::TooManyInFlight(1))
    );
}

// ---------------------------------------------------------------- properties

/// The client's events for `n` calls answered in `order`, with the server's
/// output fed whole or in the given chunks.
fn run_split(n: usize, order: &[usize], batch: bool, cuts: &[usize]) -> Vec<ClientEvent> {
    let mut c = client();
    let mut s = server();
    let mut wire = Vec::new();
    if batch {
        c.batch(
            (0..n).map(|i| BatchEntry::call("sum", params(&format!("[{i}]")))),
            None,
        )
        .unwrap();
    } else {
        for i in 0..n {
            c.call("sum", params(&format!("[{i}]")), None).unwrap();
        }
    }
    c.poll_transmit(&mut wire);
    s.handle_input(&wire).unwrap();
    let mut calls: Vec<_> = server_calls(&mut s).into_iter().map(Some).collect();
    for &i in order {
        if let Some((ticket, method, p)) = calls.get_mut(i % n).and_then(Option::take) {
            s.respond(ticket, compute(&method, &p)).unwrap();
        }
    }
    let mut out = Vec::new();
    s.poll_transmit(&mut out);
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (out.len() + 1)).collect();
    cuts.sort_unstable();
    let mut events = Vec::new();
    let mut at = 0;
    for cut in cuts.into_iter().chain([out.len()]) {
        c.handle_input(&out[at..cut]).unwrap();
        events.extend(client_events(&mut c));
        at = cut;
    }
    c.handle_eof();
    events.extend(client_events(&mut c));
    events
}

proptest! {
    #[test]
    fn any_chunking_of_the_server_output_gives_the_same_events(
        n in 1usize..8,
        order in proptest::collection::vec(any::<usize>(), 0..12),
        batch in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..16),
    ) {
        let whole = run_split(n, &order, batch, &[]);
        let split = run_split(n, &order, batch, &cuts);
        prop_assert_eq!(&whole, &split);
        // Every call ends exactly once: answered, or closed at EOF.
        prop_assert_eq!(whole.len(), n);
    }
}

#[test]
fn ok_helper_is_used() {
    // Keeps the helper honest: ids compare, payloads compare.
    assert_ne!(ok("1"), ok("2"));
}

#[test]
fn unframeable_input_fails_pending_calls() {
    let mut c = ClientConnection::new(ContentLength::new(1024), limits());
    let id = c.call("x", RawParams::none(), None).unwrap();
    c.handle_input(b"Content-Length: nope\r\n\r\n").unwrap();
    let events = client_events(&mut c);
    assert!(matches!(
        events.as_slice(),
        [ClientEvent::Unexpected(ProtocolError::BadHeader(_)), ClientEvent::Closed { id: closed }] if *closed == id
    ));
    assert!(!c.wants_input());
    // The request itself still waits to be written.
    assert!(!c.is_finished());
    c.poll_transmit(&mut Vec::new());
    assert!(c.is_finished());
}

/// Two peers calling each other `n` times each, with every delivery cut by
/// `seed` (or whole); returns what each side saw besides the calls it served.
fn peer_exchange(n: usize, seed: Option<u64>) -> (Vec<PeerEvent>, Vec<PeerEvent>) {
    let mut pair = Pair::new(peer(), peer());
    if let Some(seed) = seed {
        pair = pair.chunked(seed);
    }
    for i in 0..n {
        pair.a.call("sum", params(&format!("[{i},1]")), None).unwrap();
        pair.b
            .batch(
                [
                    BatchEntry::call("subtract", params(&format!("[{i},1]"))),
                    BatchEntry::notification("sum", params("[0]")),
                ],
                None,
            )
            .unwrap();
    }
    let (mut a_seen, mut b_seen) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        pair.drive();
        a_seen.extend(serve(&mut pair.a));
        b_seen.extend(serve(&mut pair.b));
    }
    (a_seen, b_seen)
}

proptest! {
    #[test]
    fn peers_see_the_same_events_whatever_the_chunking(n in 1usize..6, seed in any::<u64>()) {
        let whole = peer_exchange(n, None);
        let split = peer_exchange(n, Some(seed));
        prop_assert_eq!(whole.0.len(), 2 * n);
        prop_assert_eq!(whole.1.len(), n);
        prop_assert_eq!(&whole, &split);
    }
}

#[test]
fn peer_answers_to_our_calls_are_not_stuck_behind_the_in_flight_limit() {
    let two = Limits {
        max_in_flight: 2,
        ..Limits::default()
    };
    let mut a = Peer::new(Newline::new(1024), two);
    let ours = a.call("fetch", RawParams::none(), None).unwrap();
    // The remote calls us twice (both handlers will await our own call),
    // calls us a third time, then answers our call.
    let call = |id: &str| format!("{{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":\"{id}\"}}\n");
    let input = format!(
        "{}{}{}{{\"jsonrpc\":\"2.0\",\"result\":42,\"id\":1}}\n",
        call("r1"),
        call("r2"),
        call("r3")
    );
    a.handle_input(input.as_bytes()).unwrap();
    let mut tickets = Vec::new();
    for want in ["\"r1\"", "\"r2\""] {
        match a.poll_event() {
            Some(PeerEvent::Call { ticket, id, .. }) => {
                assert_eq!(id.as_json(), want);
                tickets.push(ticket);
            }
            other => panic!("{other:?}"),
        }
    }
    // Both handlers are in flight, at the limit: `r3` is held, yet the
    // answer to our call still arrives, so the handlers can finish.
    match a.poll_event() {
        Some(PeerEvent::Response(r)) => assert_eq!(r.id, ours),
        other => panic!("{other:?}"),
    }
    assert!(a.poll_event().is_none());
    assert_eq!(a.in_flight(), 2);
    a.respond(tickets.remove(0), result(&"done")).unwrap();
    assert!(matches!(a.poll_event(), Some(PeerEvent::Call { id, .. }) if id.as_json() == "\"r3\""));
}
