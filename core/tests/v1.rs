//! JSON-RPC 1.0: the 1.0 text's examples byte for byte in all three
//! version modes, the 1.0 rules one by one, clients and peers speaking 1.0,
//! and a property: `Auto` never changes a 2.0 answer.

use bytes::Bytes;
use futures_executor::block_on;
use proptest::prelude::*;
use sansrpc::conn::{
    ClientConnection, ClientEvent, Dispatch, Event, Newline, Peer, PeerEvent, ServerConnection,
};
use sansrpc::wire::{Accept, parse_message};
use sansrpc::{BatchEntry, Context, ErrorCode, Id, IdKind, Limits, RawParams, Router, UsageError, Version};

const MODES: [Version; 3] = [Version::V2, Version::V1, Version::Auto];

fn router(version: Version) -> Router {
    let mut r = sansrpc::reference::router();
    r.method("postMessage", || 1).unwrap();
    r.method("handleMessage", || ()).unwrap();
    r.set_version(version);
    r
}

fn body(router: &Router, input: &str) -> Option<String> {
    block_on(router.handle_message(input.as_bytes(), Context::default()))
        .map(|b| String::from_utf8(b.to_vec()).unwrap())
}

/// Drives a newline-framed server connection with the router, in memory.
fn stream(router: &Router, input: &[u8]) -> String {
    let limits = router.limits().clone();
    let mut conn = ServerConnection::new(Newline::new(limits.max_message_bytes), limits);
    conn.handle_input(input).unwrap();
    conn.handle_eof();
    let ctx = Context::default();
    let mut out = Vec::new();
    while !conn.is_finished() {
        while let Some(event) = conn.poll_event() {
            match router.dispatch(event, &ctx) {
                Dispatch::Call(ticket, fut) => conn.respond(ticket, block_on(fut)).unwrap(),
                Dispatch::Notification(fut) => block_on(fut),
            }
        }
        conn.poll_transmit(&mut out);
    }
    String::from_utf8(out).unwrap()
}

const INVALID_V2_ID_NULL: &str = r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"missing \"jsonrpc\": \"2.0\""},"id":null}"#;

/// `(name, request, [answer under V2, V1, Auto])`: the 1.0 text's examples
/// (the echo example; the chat example's call and notification), an
/// error, and a 2.0 call, each as one whole body. `None`: nothing is sent.
const EXAMPLES: &[(&str, &str, [Option<&str>; 3])] = &[
    (
        "1.0 request and response (the echo example)",
        r#"{ "method": "echo", "params": ["Hello JSON-RPC"], "id": 1}"#,
        [
            Some(
                r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"missing \"jsonrpc\": \"2.0\""},"id":1}"#,
            ),
            Some(r#"{"result":"Hello JSON-RPC","error":null,"id":1}"#),
            Some(r#"{"result":"Hello JSON-RPC","error":null,"id":1}"#),
        ],
    ),
    (
        "1.0 call of the chat example",
        r#"{"method": "postMessage", "params": ["Hello all!"], "id": 99}"#,
        [
            Some(
                r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"missing \"jsonrpc\": \"2.0\""},"id":99}"#,
            ),
            Some(r#"{"result":1,"error":null,"id":99}"#),
            Some(r#"{"result":1,"error":null,"id":99}"#),
        ],
    ),
    (
        "1.0 notification (id null) of the chat example",
        r#"{"method": "handleMessage", "params": ["user1", "we were just talking"], "id": null}"#,
        [Some(INVALID_V2_ID_NULL), None, None],
    ),
    (
        "1.0 error: an unknown method",
        r#"{"method": "nope", "params": [], "id": 2}"#,
        [
            Some(
                r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"missing \"jsonrpc\": \"2.0\""},"id":2}"#,
            ),
            Some(r#"{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":2}"#),
            Some(r#"{"result":null,"error":{"code":-32601,"message":"Method not found"},"id":2}"#),
        ],
    ),
    (
        "1.0 error: the handler's error",
        r#"{"method": "subtract", "params": ["a", 1], "id": "e"}"#,
        [
            Some(
                r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"missing \"jsonrpc\": \"2.0\""},"id":"e"}"#,
            ),
            Some(
                r#"{"result":null,"error":{"code":-32602,"message":"Invalid params","data":"invalid type: string \"a\", expected i64"},"id":"e"}"#,
            ),
            Some(
                r#"{"result":null,"error":{"code":-32602,"message":"Invalid params","data":"invalid type: string \"a\", expected i64"},"id":"e"}"#,
            ),
        ],
    ),
    (
        "a 2.0 call (V1 ignores the jsonrpc member)",
        r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#,
        [
            Some(r#"{"jsonrpc":"2.0","result":19,"id":1}"#),
            Some(r#"{"result":19,"error":null,"id":1}"#),
            Some(r#"{"jsonrpc":"2.0","result":19,"id":1}"#),
        ],
    ),
    (
        "a 2.0 notification",
        r#"{"jsonrpc":"2.0","method":"update","params":[1]}"#,
        [None, None, None],
    ),
    (
        "a batch: 2.0 under Auto, invalid under V1",
        r#"[{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":"s"},{"method":"sum","params":[1],"id":7}]"#,
        [
            Some(
                r#"[{"jsonrpc":"2.0","result":3,"id":"s"},{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"missing \"jsonrpc\": \"2.0\""},"id":7}]"#,
            ),
            Some(
                r#"{"result":null,"error":{"code":-32600,"message":"Invalid Request","data":"JSON-RPC 1.0 has no batches"},"id":null}"#,
            ),
            Some(
                r#"[{"jsonrpc":"2.0","result":3,"id":"s"},{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"missing \"jsonrpc\": \"2.0\""},"id":7}]"#,
            ),
        ],
    ),
    (
        "not JSON: 1.0 form under V1 only",
        r#"{"method": "echo", "params": [1"#,
        [
            Some(
                r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":"EOF while parsing a list at line 1 column 31"},"id":null}"#,
            ),
            Some(
                r#"{"result":null,"error":{"code":-32700,"message":"Parse error","data":"EOF while parsing a list at line 1 column 31"},"id":null}"#,
            ),
            Some(
                r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":"EOF while parsing a list at line 1 column 31"},"id":null}"#,
            ),
        ],
    ),
];

#[test]
fn examples_as_whole_bodies_in_all_three_modes() {
    for (m, version) in MODES.into_iter().enumerate() {
        let r = router(version);
        assert_eq!(r.version(), version);
        for (name, input, want) in EXAMPLES {
            assert_eq!(body(&r, input).as_deref(), want[m], "{name} under {version:?}");
        }
    }
}

#[test]
fn examples_over_newline_framing_in_all_three_modes() {
    for (m, version) in MODES.into_iter().enumerate() {
        let r = router(version);
        let mut input = String::new();
        let mut want = String::new();
        for (_, req, answers) in EXAMPLES {
            input.push_str(req);
            input.push('\n');
            if let Some(a) = answers[m] {
                want.push_str(a);
                want.push('\n');
            }
        }
        assert_eq!(stream(&r, input.as_bytes()), want, "under {version:?}");
    }
}

/// The 1.0 rules the examples do not show, under V1 and Auto alike.
#[test]
fn v1_rules() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        // Any id is echoed, objects, arrays and booleans too.
        (
            "object id",
            r#"{"method":"ping","params":[],"id":{"a":[1, 2]}}"#,
            Some(r#"{"result":"pong","error":null,"id":{"a":[1, 2]}}"#),
        ),
        (
            "array id",
            r#"{"method":"ping","params":[],"id":[1]}"#,
            Some(r#"{"result":"pong","error":null,"id":[1]}"#),
        ),
        (
            "boolean id",
            r#"{"method":"ping","params":[],"id":true}"#,
            Some(r#"{"result":"pong","error":null,"id":true}"#),
        ),
        (
            "number id as sent",
            r#"{"method":"ping","params":[],"id":1.50}"#,
            Some(r#"{"result":"pong","error":null,"id":1.50}"#),
        ),
        // Named params are accepted (a documented choice).
        (
            "named params",
            r#"{"method":"subtract","params":{"minuend":42,"subtrahend":23},"id":3}"#,
            Some(r#"{"result":19,"error":null,"id":3}"#),
        ),
        // No params, or null params: a call without params.
        (
            "missing params",
            r#"{"method":"ping","id":4}"#,
            Some(r#"{"result":"pong","error":null,"id":4}"#),
        ),
        (
            "null params",
            r#"{"method":"ping","params":null,"id":5}"#,
            Some(r#"{"result":"pong","error":null,"id":5}"#),
        ),
        // A notification of an unknown method gets nothing (2.0's id null is a call).
        (
            "unknown notification",
            r#"{"method":"nope","params":[],"id":null}"#,
            None,
        ),
        // No id member: a notification (a documented choice).
        ("missing id", r#"{"method":"ping","params":[]}"#, None),
        // Invalid with a known id: 1.0-shaped error with that id.
        (
            "params a string",
            r#"{"method":"ping","params":"x","id":6}"#,
            Some(
                r#"{"result":null,"error":{"code":-32600,"message":"Invalid Request","data":"\"params\" must be an array"},"id":6}"#,
            ),
        ),
        (
            "method a number",
            r#"{"method":1,"params":[],"id":[7]}"#,
            Some(
                r#"{"result":null,"error":{"code":-32600,"message":"Invalid Request","data":"\"method\" must be a string"},"id":[7]}"#,
            ),
        ),
        // A response sent to a server is an invalid request.
        (
            "a response",
            r#"{"result":1,"error":null,"id":8}"#,
            Some(
                r#"{"result":null,"error":{"code":-32600,"message":"Invalid Request","data":"\"method\" must be a string"},"id":8}"#,
            ),
        ),
        // Invalid without an id: answered with id null.
        (
            "bad notification",
            r#"{"method":"ping","params":7,"id":null}"#,
            Some(
                r#"{"result":null,"error":{"code":-32600,"message":"Invalid Request","data":"\"params\" must be an array"},"id":null}"#,
            ),
        ),
    ];
    for version in [Version::V1, Version::Auto] {
        let r = router(version);
        for (name, input, want) in cases {
            assert_eq!(body(&r, input).as_deref(), *want, "{name} under {version:?}");
        }
    }
}

#[test]
fn v1_is_free_of_batches_and_jsonrpc_members_decide_auto() {
    // Under V1 a duplicate member (valid JSON, not one object shape) is a
    // 1.0 error, with the lone id (of any kind) when there is one.
    let r = router(Version::V1);
    assert_eq!(
        body(&r, r#"{"method":"ping","method":"ping","id":[1]}"#).as_deref(),
        Some(
            r#"{"result":null,"error":{"code":-32600,"message":"Invalid Request","data":"duplicate member \"method\""},"id":[1]}"#
        )
    );
    assert_eq!(
        body(&r, r#"{"method":"ping","method":"ping","id":1,"id":2}"#).as_deref(),
        Some(
            r#"{"result":null,"error":{"code":-32600,"message":"Invalid Request","data":"duplicate member \"method\""},"id":null}"#
        )
    );
    // Under Auto any jsonrpc member means the 2.0 rules, whatever its value.
    let r = router(Version::Auto);
    assert_eq!(
        body(&r, r#"{"jsonrpc":"1.0","method":"ping","id":1}"#).as_deref(),
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"jsonrpc\" must be \"2.0\""},"id":1}"#
        )
    );
    assert_eq!(
        body(&r, r#"{"jsonrpc":null,"method":"ping","id":1}"#).as_deref(),
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"jsonrpc\" must be \"2.0\""},"id":1}"#
        )
    );
    // Inside a batch, an entry without jsonrpc is a 2.0 invalid request.
    assert_eq!(
        body(&r, r#"[{"method":"ping","id":null}]"#).as_deref(),
        Some(
            r#"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"missing \"jsonrpc\": \"2.0\""},"id":null}]"#
        )
    );
}

#[test]
fn parse_message_says_which_version_a_message_is() {
    let frame = Bytes::from_static(br#"{"method":"echo","params":["x"],"id":{"k":1}}"#);
    let limits = |version| Limits {
        version,
        ..Limits::default()
    };
    match parse_message(&frame, &limits(Version::Auto), Accept::Requests) {
        sansrpc::wire::Message::V1(sansrpc::wire::Incoming::Call { id, method, params }) => {
            assert_eq!(id.as_json(), r#"{"k":1}"#);
            assert_eq!(id.kind(), IdKind::Other);
            assert_eq!(method, "echo");
            assert_eq!(params.as_str(), Some(r#"["x"]"#));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_message(&frame, &limits(Version::V2), Accept::Requests),
        sansrpc::wire::Message::Single(sansrpc::wire::Incoming::Invalid { .. })
    ));
}

fn v1_limits() -> Limits {
    Limits {
        version: Version::V1,
        ..Limits::default()
    }
}

#[test]
fn v1_client_writes_1_0_requests_and_reads_1_0_responses() {
    let mut conn = ClientConnection::new(Newline::new(1 << 16), v1_limits());
    let a = conn
        .call(
            "echo",
            RawParams::from_json(r#"["Hello JSON-RPC"]"#).unwrap(),
            None,
        )
        .unwrap();
    let b = conn.call("ping", RawParams::none(), None).unwrap();
    conn.notify("hello", RawParams::from_json(r#"["the client"]"#).unwrap())
        .unwrap();
    let c = conn.call("fails", RawParams::none(), None).unwrap();
    let d = conn.call("fails-too", RawParams::none(), None).unwrap();
    assert_eq!(
        conn.batch([BatchEntry::call("ping", RawParams::none())], None),
        Err(UsageError::BatchInV1)
    );
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        concat!(
            r#"{"method":"echo","params":["Hello JSON-RPC"],"id":1}"#,
            "\n",
            r#"{"method":"ping","params":[],"id":2}"#,
            "\n",
            r#"{"method":"hello","params":["the client"],"id":null}"#,
            "\n",
            r#"{"method":"fails","params":[],"id":3}"#,
            "\n",
            r#"{"method":"fails-too","params":[],"id":4}"#,
            "\n",
        )
    );
    conn.handle_input(
        concat!(
            r#"{"result":"pong","error":null,"id":2}"#,
            "\n",
            r#"{ "result": "Hello JSON-RPC", "error": null, "id": 1}"#,
            "\n",
            r#"{"result":null,"error":"it broke","id":3}"#,
            "\n",
            r#"{"result":null,"error":{"code":7,"message":"seven"},"id":4}"#,
            "\n",
        )
        .as_bytes(),
    )
    .unwrap();
    let mut got = Vec::new();
    while let Some(ClientEvent::Response(r)) = conn.poll_event() {
        got.push(r);
    }
    assert_eq!(got.len(), 4);
    assert_eq!(got[0].id, b);
    assert_eq!(got[0].parse::<String>().unwrap(), "pong");
    assert_eq!(got[1].id, a);
    assert_eq!(got[1].parse::<String>().unwrap(), "Hello JSON-RPC");
    assert_eq!(got[2].id, c);
    let e = got[2].parse::<()>().unwrap_err();
    assert_eq!(e.code(), sansrpc::V1_ERROR_CODE);
    assert_eq!(e.message(), "it broke");
    assert_eq!(e.data().map(|d| d.get()), Some(r#""it broke""#));
    assert_eq!(got[3].id, d);
    let e = got[3].parse::<()>().unwrap_err();
    assert_eq!((e.code(), e.message()), (ErrorCode::from(7), "seven"));
}

#[test]
fn v1_client_rejects_a_response_with_result_and_error() {
    let mut conn = ClientConnection::new(Newline::new(1 << 16), v1_limits());
    let _ = conn.call("ping", RawParams::none(), None).unwrap();
    conn.handle_input(b"{\"result\":1,\"error\":{\"code\":1,\"message\":\"x\"},\"id\":1}\n")
        .unwrap();
    assert!(
        matches!(conn.poll_event(), Some(ClientEvent::Unexpected(_))),
        "an invalid response"
    );
    assert_eq!(conn.in_flight(), 1);
}

#[test]
fn auto_client_sends_2_0_and_reads_both() {
    let limits = Limits {
        version: Version::Auto,
        ..Limits::default()
    };
    let mut conn = ClientConnection::new(Newline::new(1 << 16), limits);
    let a = conn.call("ping", RawParams::none(), None).unwrap();
    let b = conn.call("ping", RawParams::none(), None).unwrap();
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    assert_eq!(
        out,
        b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":2}\n"
    );
    conn.handle_input(
        b"{\"result\":\"one\",\"error\":null,\"id\":1}\n{\"jsonrpc\":\"2.0\",\"result\":\"two\",\"id\":2}\n",
    )
    .unwrap();
    let mut got = Vec::new();
    while let Some(ClientEvent::Response(r)) = conn.poll_event() {
        got.push((r.id.clone(), r.parse::<String>().unwrap()));
    }
    assert_eq!(got, vec![(a, "one".to_owned()), (b, "two".to_owned())]);
}

/// The 1.0 origin's shape: either side calls the other, both in 1.0, and
/// one side answers later.
#[test]
fn v1_peers_call_each_other() {
    let mut server = Peer::new(Newline::new(1 << 16), v1_limits());
    let mut page = Peer::new(Newline::new(1 << 16), v1_limits());
    let mut wire = Vec::new();

    server
        .notify("hi", RawParams::from_json(r#"["the server"]"#).unwrap())
        .unwrap();
    let ask = server
        .call("confirm", RawParams::from_json(r#"["ok?"]"#).unwrap(), None)
        .unwrap();
    server.poll_transmit(&mut wire);
    assert_eq!(
        String::from_utf8(wire.clone()).unwrap(),
        "{\"method\":\"hi\",\"params\":[\"the server\"],\"id\":null}\n{\"method\":\"confirm\",\"params\":[\"ok?\"],\"id\":1}\n"
    );
    page.handle_input(&wire).unwrap();
    wire.clear();
    assert!(matches!(page.poll_event(), Some(PeerEvent::Notification { method, .. }) if method == "hi"));
    let Some(PeerEvent::Call { ticket, method, .. }) = page.poll_event() else {
        panic!("expected the call")
    };
    assert_eq!(method, "confirm");

    // Meanwhile the page calls hello; the server answers it at once.
    let hello = page
        .call("hello", RawParams::from_json(r#"["the client"]"#).unwrap(), None)
        .unwrap();
    page.poll_transmit(&mut wire);
    assert_eq!(
        wire,
        b"{\"method\":\"hello\",\"params\":[\"the client\"],\"id\":1}\n"
    );
    server.handle_input(&wire).unwrap();
    wire.clear();
    let Some(PeerEvent::Call { ticket: t2, .. }) = server.poll_event() else {
        panic!("expected hello")
    };
    server.respond(t2, sansrpc::result(&["hi, the client"])).unwrap();
    server.poll_transmit(&mut wire);
    assert_eq!(
        wire,
        b"{\"result\":[\"hi, the client\"],\"error\":null,\"id\":1}\n"
    );
    page.handle_input(&wire).unwrap();
    wire.clear();
    match page.poll_event() {
        Some(PeerEvent::Response(r)) => {
            assert_eq!(r.id, hello);
            assert_eq!(r.parse::<Vec<String>>().unwrap(), ["hi, the client"]);
        }
        other => panic!("{other:?}"),
    }

    // The page answers the server's call later, with an error.
    page.respond(ticket, Err(sansrpc::Error::new(1, "no"))).unwrap();
    page.poll_transmit(&mut wire);
    assert_eq!(
        wire,
        b"{\"result\":null,\"error\":{\"code\":1,\"message\":\"no\"},\"id\":1}\n"
    );
    server.handle_input(&wire).unwrap();
    match server.poll_event() {
        Some(PeerEvent::Response(r)) => {
            assert_eq!(r.id, ask);
            assert_eq!(r.parse::<()>().unwrap_err().message(), "no");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.batch([BatchEntry::call("x", RawParams::none())], None),
        Err(UsageError::BatchInV1)
    );
}

#[test]
fn server_connection_answers_each_message_in_its_own_version_under_auto() {
    let limits = Limits {
        version: Version::Auto,
        ..Limits::default()
    };
    let mut conn = ServerConnection::new(Newline::new(1 << 16), limits);
    conn.handle_input(
        b"{\"method\":\"a\",\"params\":[],\"id\":1}\n{\"jsonrpc\":\"2.0\",\"method\":\"b\",\"id\":1}\n",
    )
    .unwrap();
    let mut tickets = Vec::new();
    while let Some(event) = conn.poll_event() {
        if let Event::Call { ticket, .. } = event {
            tickets.push(ticket);
        }
    }
    // Answered in the opposite order: each keeps its own version.
    for t in tickets.into_iter().rev() {
        conn.respond(t, sansrpc::result(&0)).unwrap();
    }
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"jsonrpc\":\"2.0\",\"result\":0,\"id\":1}\n{\"result\":0,\"error\":null,\"id\":1}\n"
    );
    assert_eq!(Id::from(1u64).kind(), IdKind::Number);
}

// ---------------------------------------------------------------------------
// Auto never changes a 2.0 answer.

/// Member values, valid and not, for the generated messages.
fn member(name: &'static str) -> impl Strategy<Value = Option<String>> {
    let values: &'static [&'static str] = match name {
        "jsonrpc" => &[r#""2.0""#, r#""1.0""#, "2", "null", r#""2.00""#],
        "method" => &[
            r#""ping""#,
            r#""subtract""#,
            r#""sum""#,
            r#""nope""#,
            r#""rpc.x""#,
            "1",
            "null",
            "[]",
        ],
        "params" => &[
            "[42,23]",
            r#"{"minuend":42,"subtrahend":23}"#,
            "[1,2,4]",
            "[]",
            r#""x""#,
            "null",
            "3",
            "{}",
        ],
        "id" => &["1", r#""a""#, "null", "1.50", "[1]", "{}", "true", "-0"],
        "result" => &["1", "null", r#""r""#],
        _ => &[r#"{"code":1,"message":"m"}"#, "null", r#""e""#],
    };
    proptest::option::weighted(0.7, proptest::sample::select(values).prop_map(str::to_owned))
}

/// A JSON object with a `jsonrpc` member (so 2.0 by the Auto rule) and a
/// random choice of the other members, in random order.
fn two_oh_object(force_jsonrpc: bool) -> impl Strategy<Value = String> {
    (
        member("jsonrpc"),
        member("method"),
        member("params"),
        member("id"),
        member("result"),
        member("error"),
        any::<u64>(),
    )
        .prop_map(move |(j, m, p, i, r, e, seed)| {
            let j = if force_jsonrpc {
                Some(j.unwrap_or_else(|| r#""2.0""#.to_owned()))
            } else {
                j
            };
            let mut members: Vec<String> = [
                ("jsonrpc", j),
                ("method", m),
                ("params", p),
                ("id", i),
                ("result", r),
                ("error", e),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!(r#""{k}":{v}"#)))
            .collect();
            // A cheap shuffle driven by the seed.
            let n = members.len();
            for k in 0..n {
                let j = (seed.rotate_left(k as u32 * 7) as usize) % n;
                members.swap(k, j);
            }
            format!("{{{}}}", members.join(","))
        })
}

/// A 2.0 message: one object with a `jsonrpc` member, a batch of any
/// objects, or text that is not an object at all.
fn two_oh_message() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => two_oh_object(true),
        2 => proptest::collection::vec(two_oh_object(false), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
        1 => proptest::sample::select(&["", "1", "\"x\"", "null", "[", "{\"jsonrpc\":\"2.0\"", "[1,2]", "[[]]"][..])
            .prop_map(str::to_owned),
    ]
}

proptest! {
    #[test]
    fn auto_never_changes_a_2_0_answer(msg in two_oh_message()) {
        let v2 = router(Version::V2);
        let auto = router(Version::Auto);
        prop_assert_eq!(body(&auto, &msg), body(&v2, &msg), "whole body: {}", msg);
        let line = format!("{msg}\n");
        prop_assert_eq!(stream(&auto, line.as_bytes()), stream(&v2, line.as_bytes()), "stream: {}", msg);
        let frame = Bytes::from(msg.clone());
        for accept in [Accept::Requests, Accept::Responses, Accept::Both] {
            let parse = |version| parse_message(&frame, &Limits { version, ..Limits::default() }, accept);
            prop_assert_eq!(parse(Version::Auto), parse(Version::V2), "{:?}: {}", accept, msg);
        }
    }
}
