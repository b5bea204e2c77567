//! The JSON-RPC 2.0 specification's section 7 examples, byte for byte, and
//! one test per rule of the protocol.

use futures_executor::block_on;
use sansrpc::conn::{Event, Newline, ServerConnection};
use sansrpc::{Context, Error, ErrorCode, Limits, Params, RegistrationError, Router, UsageError};

fn reference() -> Router {
    sansrpc::reference::router()
}

/// Sends `input` as one HTTP-style body and returns the answer, if any.
fn body(router: &Router, input: &str) -> Option<String> {
    block_on(router.handle_message(input.as_bytes(), Context::default()))
        .map(|b| String::from_utf8(b.to_vec()).expect("answers are UTF-8"))
}

use sansrpc::reference::SECTION_7;

#[test]
fn section_7_examples_as_whole_bodies() {
    let router = reference();
    for (name, input, want) in SECTION_7 {
        assert_eq!(body(&router, input).as_deref(), *want, "{name}");
    }
}

/// Drives a newline-framed server connection with the router, in memory.
fn stream(router: &Router, input: &[u8]) -> Vec<u8> {
    let mut conn = ServerConnection::new(Newline::new(1 << 20), Limits::default());
    conn.handle_input(input).expect("open connection");
    conn.handle_eof();
    let ctx = Context::default();
    let mut out = Vec::new();
    while !conn.is_finished() {
        while let Some(event) = conn.poll_event() {
            match router.dispatch(event, &ctx) {
                sansrpc::conn::Dispatch::Call(ticket, fut) => {
                    conn.respond(ticket, block_on(fut)).expect("own ticket")
                }
                sansrpc::conn::Dispatch::Notification(fut) => block_on(fut),
            }
        }
        conn.poll_transmit(&mut out);
    }
    out
}

#[test]
fn section_7_examples_over_newline_framing() {
    let router = reference();
    let mut input = Vec::new();
    let mut want = Vec::new();
    for (_, req, resp) in SECTION_7 {
        // One message per line: the multi-line batch examples are compacted.
        let line: String = req.lines().map(str::trim).collect();
        input.extend_from_slice(line.as_bytes());
        input.extend_from_slice(b"\r\n");
        if let Some(r) = resp {
            want.extend_from_slice(r.as_bytes());
            want.push(b'\n');
        }
    }
    assert_eq!(
        String::from_utf8(stream(&router, &input)).unwrap(),
        String::from_utf8(want).unwrap()
    );
}

/// `(request, expected answer)` for the protocol rules beyond the examples.
const RULES: &[(&str, &str, Option<&str>)] = &[
    (
        "jsonrpc missing",
        r#"{"method":"ping","id":1}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"missing \"jsonrpc\": \"2.0\""},"id":1}"#,
        ),
    ),
    (
        "jsonrpc wrong value",
        r#"{"jsonrpc":"1.0","method":"ping","id":1}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"jsonrpc\" must be \"2.0\""},"id":1}"#,
        ),
    ),
    (
        "jsonrpc wrong type",
        r#"{"jsonrpc":2.0,"method":"ping","id":1}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"jsonrpc\" must be \"2.0\""},"id":1}"#,
        ),
    ),
    (
        "jsonrpc escaped but equal",
        r#"{"jsonrpc":"2\u002e0","method":"ping","id":1}"#,
        Some(r#"{"jsonrpc":"2.0","result":"pong","id":1}"#),
    ),
    (
        "method missing",
        r#"{"jsonrpc":"2.0","id":7}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"missing \"method\""},"id":7}"#,
        ),
    ),
    (
        "method not a string",
        r#"{"jsonrpc":"2.0","method":["ping"],"id":7}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"method\" must be a string"},"id":7}"#,
        ),
    ),
    (
        "params a scalar",
        r#"{"jsonrpc":"2.0","method":"ping","params":3,"id":"x"}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"params\" must be an array or an object"},"id":"x"}"#,
        ),
    ),
    (
        "params null",
        r#"{"jsonrpc":"2.0","method":"ping","params":null,"id":"x"}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"params\" must be an array or an object"},"id":"x"}"#,
        ),
    ),
    (
        "id an object is invalid and echoed as null",
        r#"{"jsonrpc":"2.0","method":"ping","id":{"a":1}}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"id\" must be a string, a number or null"},"id":null}"#,
        ),
    ),
    (
        "id an array",
        r#"{"jsonrpc":"2.0","method":"ping","id":[1]}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"id\" must be a string, a number or null"},"id":null}"#,
        ),
    ),
    (
        "id a boolean",
        r#"{"jsonrpc":"2.0","method":"ping","id":true}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"\"id\" must be a string, a number or null"},"id":null}"#,
        ),
    ),
    (
        "id null is a call, answered with null",
        r#"{"jsonrpc":"2.0","method":"ping","id":null}"#,
        Some(r#"{"jsonrpc":"2.0","result":"pong","id":null}"#),
    ),
    (
        "id a string stays a string",
        r#"{"jsonrpc":"2.0","method":"ping","id":"1"}"#,
        Some(r#"{"jsonrpc":"2.0","result":"pong","id":"1"}"#),
    ),
    (
        "id fractional is echoed as sent",
        r#"{"jsonrpc":"2.0","method":"ping","id":1.50}"#,
        Some(r#"{"jsonrpc":"2.0","result":"pong","id":1.50}"#),
    ),
    (
        "id beyond 64 bits is echoed as sent",
        r#"{"jsonrpc":"2.0","method":"ping","id":123456789012345678901234567890}"#,
        Some(r#"{"jsonrpc":"2.0","result":"pong","id":123456789012345678901234567890}"#),
    ),
    (
        "id with escapes is echoed as sent",
        r#"{"jsonrpc":"2.0","method":"ping","id":"a\u0062\n"}"#,
        Some(r#"{"jsonrpc":"2.0","result":"pong","id":"a\u0062\n"}"#),
    ),
    (
        "extra members are ignored",
        r#"{"jsonrpc":"2.0","method":"ping","id":1,"extra":{"deep":[1,2]}}"#,
        Some(r#"{"jsonrpc":"2.0","result":"pong","id":1}"#),
    ),
    (
        "a duplicated member is an invalid request, answered with the lone valid id",
        r#"{"jsonrpc":"2.0","method":"ping","method":"ping","id":1}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"duplicate member \"method\""},"id":1}"#,
        ),
    ),
    (
        "the lone id is echoed as sent, wherever it stands",
        r#"{"id":"a\u0062","jsonrpc":"2.0","jsonrpc":"2.0","method":"ping"}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"duplicate member \"jsonrpc\""},"id":"a\u0062"}"#,
        ),
    ),
    (
        "a duplicated id is ambiguous: id null",
        r#"{"jsonrpc":"2.0","method":"ping","id":1,"id":2}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"duplicate member \"id\""},"id":null}"#,
        ),
    ),
    (
        "the same id twice is still two id members: id null",
        r#"{"jsonrpc":"2.0","method":"ping","id":1,"id":1}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"duplicate member \"id\""},"id":null}"#,
        ),
    ),
    (
        "a duplicated member with an id that is not a valid id: id null",
        r#"{"jsonrpc":"2.0","method":"ping","method":"ping","id":{"a":1}}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"duplicate member \"method\""},"id":null}"#,
        ),
    ),
    (
        "an escaped \"id\" key is the id member",
        r#"{"jsonrpc":"2.0","method":"ping","method":"ping","i\u0064":7}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"duplicate member \"method\""},"id":7}"#,
        ),
    ),
    (
        "a nested id does not count",
        r#"{"jsonrpc":"2.0","method":"ping","method":"ping","params":{"id":3}}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"duplicate member \"method\""},"id":null}"#,
        ),
    ),
    (
        "in a batch, each entry with a duplicated member keeps its lone id",
        r#"[{"jsonrpc":"2.0","method":"ping","method":"ping","id":1},{"jsonrpc":"2.0","method":"ping","id":2,"id":3},{"jsonrpc":"2.0","method":"ping","id":4}]"#,
        Some(
            r#"[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"duplicate member \"method\""},"id":1},{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"duplicate member \"id\""},"id":null},{"jsonrpc":"2.0","result":"pong","id":4}]"#,
        ),
    ),
    (
        "a duplicated member in broken JSON is still a parse error",
        r#"{"jsonrpc":"2.0","method":"ping","method":"ping","id":1"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":"EOF while parsing an object at line 1 column 55"},"id":null}"#,
        ),
    ),
    (
        "a scalar message",
        r#"42"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"expected a request object or a batch array"},"id":null}"#,
        ),
    ),
    (
        "invalid params get data saying why",
        r#"{"jsonrpc":"2.0","method":"subtract","params":["a",1],"id":1}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"invalid type: string \"a\", expected i64"},"id":1}"#,
        ),
    ),
    (
        "too many positional params say how many",
        r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23,1],"id":1}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"expected 2 params, got 3"},"id":1}"#,
        ),
    ),
    (
        "too few positional params say how many",
        r#"{"jsonrpc":"2.0","method":"subtract","params":[42],"id":1}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"expected 2 params, got 1"},"id":1}"#,
        ),
    ),
    (
        "missing named params",
        r#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":1},"id":1}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"missing field `subtrahend`"},"id":1}"#,
        ),
    ),
    (
        "notification with bad params is not answered",
        r#"{"jsonrpc":"2.0","method":"subtract","params":["a"]}"#,
        None,
    ),
    (
        "whitespace around the message",
        " \r\n\t{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1} \n",
        Some(r#"{"jsonrpc":"2.0","result":"pong","id":1}"#),
    ),
    (
        "a leading byte-order mark is tolerated",
        "\u{feff}{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}",
        Some(r#"{"jsonrpc":"2.0","result":"pong","id":1}"#),
    ),
    (
        "a response sent to a server is an invalid request",
        r#"{"jsonrpc":"2.0","result":1,"id":5}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"expected a request, got a response"},"id":5}"#,
        ),
    ),
    (
        "a parse error inside a batch fails the whole batch",
        r#"[{"jsonrpc":"2.0","method":"ping","id":1},{"jsonrpc":"2.0",]"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":"key must be a string at line 1 column 60"},"id":null}"#,
        ),
    ),
    (
        "large numbers in params pass through to the handler's type",
        r#"{"jsonrpc":"2.0","method":"sum","params":[9223372036854775807,1],"id":1}"#,
        Some(
            r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"the sum overflows a 64-bit integer"},"id":1}"#,
        ),
    ),
];

#[test]
fn protocol_rules() {
    let router = reference();
    for (name, input, want) in RULES {
        assert_eq!(body(&router, input).as_deref(), *want, "{name}");
    }
}

#[test]
fn invalid_utf8_is_a_parse_error() {
    let router = reference();
    let answer = block_on(router.handle_message(
        b"{\"jsonrpc\":\"2.0\",\"method\":\"p\xffing\",\"id\":1}",
        Context::default(),
    ));
    assert_eq!(
        answer.unwrap(),
        r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":"invalid UTF-8 at byte 28"},"id":null}"#
    );
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    let router = reference();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let answer = body(&router, &deep).unwrap();
    assert_eq!(
        answer,
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"nesting deeper than 101 levels (limit 100)"},"id":null}"#
    );
    let deep_params = format!(
        r#"{{"jsonrpc":"2.0","method":"sum","params":{}1{},"id":1}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert!(body(&router, &deep_params).unwrap().contains("nesting deeper"));
    // Brackets inside strings are not nesting, however many there are.
    let brackets = "[{".repeat(200);
    let in_strings =
        format!(r#"{{"jsonrpc":"2.0","method":"echo","params":["{brackets}"],"id":"{brackets}"}}"#);
    assert_eq!(
        body(&router, &in_strings).unwrap(),
        format!(r#"{{"jsonrpc":"2.0","result":"{brackets}","id":"{brackets}"}}"#)
    );
    // Many brackets, nested exactly to the limit, and one level more.
    let limit = Limits::default().max_depth;
    let at_limit = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":[{}{}],"id":1}}"#,
        "[".repeat(limit - 2),
        "]".repeat(limit - 2)
    );
    assert!(body(&router, &at_limit).unwrap().contains(r#""result":"#));
    let over = format!(
        r#"[{{"jsonrpc":"2.0","method":"echo","params":[{}{}],"id":1}}]"#,
        "[".repeat(limit - 1),
        "]".repeat(limit - 1)
    );
    assert!(
        body(&router, &over)
            .unwrap()
            .contains(&format!("nesting deeper than {} levels", limit + 1))
    );
}

#[test]
fn batch_over_the_limit_is_one_error() {
    let mut router = reference();
    router.set_limits(Limits {
        max_batch_len: 2,
        ..Limits::default()
    });
    let call = r#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
    assert_eq!(
        body(&router, &format!("[{call},{call},{call}]")).unwrap(),
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"batch of 3 entries exceeds the limit of 2"},"id":null}"#
    );
    assert!(
        body(&router, &format!("[{call},{call}]"))
            .unwrap()
            .starts_with('[')
    );
    // A 1 MiB body of 524,000 zeros under the default limits: one error
    // with the whole count (the entries past 1,024 are counted, not kept).
    let zeros = format!("[{}0]", "0,".repeat(523_999));
    assert_eq!(
        body(&reference(), &zeros).unwrap(),
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"batch of 524000 entries exceeds the limit of 1024"},"id":null}"#
    );
}

#[test]
fn message_over_the_limit_is_refused() {
    let mut router = reference();
    router.set_limits(Limits {
        max_message_bytes: 32,
        ..Limits::default()
    });
    assert_eq!(
        body(&router, r#"{"jsonrpc":"2.0","method":"ping","id":1}"#).unwrap(),
        r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"message exceeds the limit of 32 bytes"},"id":null}"#
    );
}

#[test]
fn reserved_and_duplicate_names_are_usage_errors() {
    let mut router = Router::new();
    assert_eq!(
        router.method("rpc.discover", || 1).unwrap_err(),
        RegistrationError::ReservedMethodName("rpc.discover".into())
    );
    assert_eq!(
        router.method("", || 1).unwrap_err(),
        RegistrationError::EmptyMethodName
    );
    router.method("a", || 1).unwrap();
    assert_eq!(
        router.method("a", || 2).unwrap_err(),
        RegistrationError::DuplicateMethod("a".into())
    );
    assert_eq!(
        router.alias("rpc.a", "a").unwrap_err(),
        RegistrationError::ReservedMethodName("rpc.a".into())
    );
    assert_eq!(
        router.alias("b", "zzz").unwrap_err(),
        RegistrationError::UnknownAliasTarget("zzz".into())
    );
    let mut nested = Router::new();
    nested.method("x", || 1).unwrap();
    assert_eq!(
        router.nest("rpc", nested).unwrap_err(),
        RegistrationError::ReservedMethodName("rpc.x".into())
    );
}

#[test]
fn application_error_codes_are_free() {
    let mut router = Router::new();
    router
        .method("fail", || -> Result<(), Error> {
            Err(Error::new(ErrorCode(4001), "insufficient funds")
                .with_data(&serde_json::json!({"balance": 3})))
        })
        .unwrap();
    assert_eq!(
        body(&router, r#"{"jsonrpc":"2.0","method":"fail","id":1}"#).unwrap(),
        r#"{"jsonrpc":"2.0","error":{"code":4001,"message":"insufficient funds","data":{"balance":3}},"id":1}"#
    );
}

#[test]
fn a_panicking_handler_is_an_internal_error_and_the_router_lives_on() {
    let mut router = reference();
    router.method("boom", || -> i32 { panic!("boom") }).unwrap();
    router
        .method("async_boom", || async { panic!("async boom") as i32 })
        .unwrap();
    let internal = |id: u32| {
        format!(
            r#"{{"jsonrpc":"2.0","error":{{"code":-32603,"message":"Internal error","data":"handler panicked"}},"id":{id}}}"#
        )
    };
    assert_eq!(
        body(&router, r#"{"jsonrpc":"2.0","method":"boom","id":1}"#).unwrap(),
        internal(1)
    );
    assert_eq!(
        body(&router, r#"{"jsonrpc":"2.0","method":"async_boom","id":2}"#).unwrap(),
        internal(2)
    );
    assert_eq!(
        body(&router, r#"{"jsonrpc":"2.0","method":"ping","id":3}"#).unwrap(),
        r#"{"jsonrpc":"2.0","result":"pong","id":3}"#
    );
}

#[test]
fn calls_of_one_batch_run_concurrently() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    // Each call waits until all three have started: only concurrent
    // execution lets the batch finish.
    let started = Arc::new(AtomicUsize::new(0));
    let mut router = Router::with_state(started);
    router
        .method(
            "rendezvous",
            |sansrpc::State(started): sansrpc::State<Arc<AtomicUsize>>| async move {
                started.fetch_add(1, Ordering::SeqCst);
                futures_util_poll_until(|| started.load(Ordering::SeqCst) >= 3).await;
                "met"
            },
        )
        .unwrap();
    let call = |id: u32| format!(r#"{{"jsonrpc":"2.0","method":"rendezvous","id":{id}}}"#);
    let answer = block_on(router.handle_message(
        format!("[{},{},{}]", call(1), call(2), call(3)).as_bytes(),
        Context::default(),
    ));
    assert_eq!(
        answer.unwrap(),
        r#"[{"jsonrpc":"2.0","result":"met","id":1},{"jsonrpc":"2.0","result":"met","id":2},{"jsonrpc":"2.0","result":"met","id":3}]"#
    );
}

/// A future that yields until `cond` holds (waking itself each poll).
async fn futures_util_poll_until(cond: impl Fn() -> bool) {
    std::future::poll_fn(|cx| {
        if cond() {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

#[test]
fn extractors_state_context_method_name_and_nesting() {
    #[derive(serde::Deserialize)]
    struct Greet {
        name: String,
        #[serde(default)]
        loud: bool,
    }
    let mut math = Router::with_state(10i64);
    math.method(
        "add",
        |sansrpc::State(base): sansrpc::State<i64>, Params((a,)): Params<(i64,)>| base + a,
    )
    .unwrap();
    let mut router = Router::with_state(10i64);
    router
        .method("greet", |Params(g): Params<Greet>| {
            let s = format!("hello, {}", g.name);
            if g.loud { s.to_uppercase() } else { s }
        })
        .unwrap()
        .method(
            "who",
            |sansrpc::MethodName(m): sansrpc::MethodName, ctx: Context| {
                format!("{m} via {:?}", ctx.transport())
            },
        )
        .unwrap()
        .alias("whom", "who")
        .unwrap()
        .nest("math", math)
        .unwrap();
    assert_eq!(
        body_s(
            &router,
            r#"{"jsonrpc":"2.0","method":"greet","params":{"name":"ada"},"id":1}"#
        ),
        r#"{"jsonrpc":"2.0","result":"hello, ada","id":1}"#
    );
    assert_eq!(
        body_s(
            &router,
            r#"{"jsonrpc":"2.0","method":"greet","params":["ada",true],"id":1}"#
        ),
        r#"{"jsonrpc":"2.0","result":"HELLO, ADA","id":1}"#
    );
    assert_eq!(
        body_s(&router, r#"{"jsonrpc":"2.0","method":"whom","id":1}"#),
        r#"{"jsonrpc":"2.0","result":"whom via InMemory","id":1}"#
    );
    assert_eq!(
        body_s(
            &router,
            r#"{"jsonrpc":"2.0","method":"math.add","params":[5],"id":1}"#
        ),
        r#"{"jsonrpc":"2.0","result":15,"id":1}"#
    );
    assert_eq!(router.method_names(), ["greet", "math.add", "who", "whom"]);
}

fn body_s<S: Clone + Send + Sync + 'static>(router: &Router<S>, input: &str) -> String {
    let b = block_on(router.handle_message(input.as_bytes(), Context::default())).unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}

#[test]
fn hooks_see_every_call_and_can_refuse() {
    use sansrpc::Outcome;
    use sansrpc::{CallInfo, Hook, Stats};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<String>>>);
    impl Hook for Log {
        fn before(&self, call: &CallInfo) -> Result<(), Error> {
            if call.method == "secret" && call.context.header("authorization") != Some("letmein") {
                return Err(Error::new(-32001, "unauthorized"));
            }
            Ok(())
        }
        fn after(&self, call: &CallInfo, _: Duration, outcome: &Outcome) {
            self.0.lock().unwrap().push(format!(
                "{} {} {}",
                call.method,
                call.id.as_ref().map_or("-".into(), |i| i.to_string()),
                outcome.is_ok()
            ));
        }
    }
    let log = Log::default();
    let stats = Stats::default();
    let mut router = reference();
    router.method("secret", || 42).unwrap();
    router.hook(log.clone()).hook(stats.clone());
    body(
        &router,
        r#"[{"jsonrpc":"2.0","method":"ping","id":1},{"jsonrpc":"2.0","method":"update"}]"#,
    );
    assert_eq!(
        body(&router, r#"{"jsonrpc":"2.0","method":"secret","id":2}"#).unwrap(),
        r#"{"jsonrpc":"2.0","error":{"code":-32001,"message":"unauthorized"},"id":2}"#
    );
    let ctx = Context::builder(sansrpc::Transport::Http)
        .header("authorization", "letmein")
        .build();
    let ok = block_on(router.handle_message(br#"{"jsonrpc":"2.0","method":"secret","id":3}"#, ctx)).unwrap();
    assert_eq!(ok, r#"{"jsonrpc":"2.0","result":42,"id":3}"#);
    body(&router, r#"{"jsonrpc":"2.0","method":"nope","id":4}"#);
    let mut seen = log.0.lock().unwrap().clone();
    // The entries of one batch run concurrently: either may finish first.
    seen[..2].sort();
    assert_eq!(
        seen,
        [
            "ping 1 true",
            "update - true",
            "secret 2 false",
            "secret 3 true",
            "nope 4 false"
        ]
    );
    let snap = stats.snapshot();
    assert_eq!(snap.methods["secret"].count, 2);
    assert_eq!(snap.methods["secret"].errors, 1);
    assert!(!snap.methods.contains_key("nope"), "unknown names get no entry");
    assert_eq!((snap.unknown_methods.count, snap.unknown_methods.errors), (1, 1));
}

#[test]
fn server_connection_backpressure_and_order() {
    let limits = Limits {
        max_in_flight: 2,
        ..Limits::default()
    };
    let mut conn = ServerConnection::new(Newline::new(1024), limits);
    for i in 1..=4 {
        conn.handle_input(format!("{{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":{i}}}\n").as_bytes())
            .unwrap();
    }
    let mut tickets = Vec::new();
    while let Some(Event::Call { ticket, .. }) = conn.poll_event() {
        tickets.push(ticket);
    }
    // Two calls in flight: the rest waits in the buffer, and reading pauses.
    assert_eq!(tickets.len(), 2);
    assert!(!conn.wants_input());
    // Answer out of order: answers go out as they come.
    let second = tickets.pop().unwrap();
    conn.respond(second, sansrpc::result(&2)).unwrap();
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    assert_eq!(out, b"{\"jsonrpc\":\"2.0\",\"result\":2,\"id\":2}\n");
    assert!(matches!(conn.poll_event(), Some(Event::Call { .. })));
}

#[test]
fn answering_a_foreign_ticket_is_a_usage_error() {
    let mut a = ServerConnection::new(Newline::new(1024), Limits::default());
    let mut b = ServerConnection::new(Newline::new(1024), Limits::default());
    a.handle_input(b"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1}\n")
        .unwrap();
    let Some(Event::Call { ticket, .. }) = a.poll_event() else {
        panic!("a call")
    };
    assert_eq!(
        b.respond(ticket, sansrpc::result(&1)),
        Err(UsageError::UnknownTicket)
    );
    // Nor can a router answer it on another connection, and `b` sends nothing.
    a.handle_input(b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":2}\n")
        .unwrap();
    let event = a.poll_event().expect("a call");
    let router = reference();
    assert_eq!(
        router.dispatch_on(&mut b, event, &Context::default()).err(),
        Some(UsageError::UnknownTicket)
    );
    assert_eq!(b.poll_transmit(&mut Vec::new()), None);
}

#[test]
fn over_long_line_is_answered_once_and_the_stream_survives() {
    let router = reference();
    let mut input = Vec::new();
    input.extend_from_slice(&vec![b'x'; 3000]);
    input.extend_from_slice(b"\n{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}\n");
    let mut conn = ServerConnection::new(Newline::new(1024), Limits::default());
    let mut out = Vec::new();
    for chunk in input.chunks(100) {
        conn.handle_input(chunk).unwrap();
        while let Some(event) = conn.poll_event() {
            if let sansrpc::conn::Dispatch::Call(t, f) = router.dispatch(event, &Context::default()) {
                conn.respond(t, block_on(f)).unwrap();
            }
        }
        conn.poll_transmit(&mut out);
    }
    assert_eq!(
        String::from_utf8(out).unwrap(),
        concat!(
            r#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"message exceeds the limit of 1024 bytes"},"id":null}"#,
            "\n",
            r#"{"jsonrpc":"2.0","result":"pong","id":1}"#,
            "\n"
        )
    );
}

#[test]
fn handlers_return_any_serializable_value() {
    #[derive(serde::Serialize)]
    struct Point {
        x: i64,
        y: i64,
    }
    let mut router = Router::new();
    router
        .method("origin", || Point { x: 0, y: 0 })
        .unwrap()
        .method("later", || async { Point { x: 1, y: 2 } })
        .unwrap()
        .method("maybe", |Params((ok,)): Params<(bool,)>| {
            if ok {
                Ok(Point { x: 3, y: 4 })
            } else {
                Err(Error::new(9, "no point"))
            }
        })
        .unwrap()
        .method("pair", || (1, "two"))
        .unwrap();
    let cases = [
        (
            r#"{"jsonrpc":"2.0","method":"origin","id":1}"#,
            r#"{"jsonrpc":"2.0","result":{"x":0,"y":0},"id":1}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","method":"later","id":2}"#,
            r#"{"jsonrpc":"2.0","result":{"x":1,"y":2},"id":2}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","method":"maybe","params":[true],"id":3}"#,
            r#"{"jsonrpc":"2.0","result":{"x":3,"y":4},"id":3}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","method":"maybe","params":[false],"id":4}"#,
            r#"{"jsonrpc":"2.0","error":{"code":9,"message":"no point"},"id":4}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","method":"pair","id":5}"#,
            r#"{"jsonrpc":"2.0","result":[1,"two"],"id":5}"#,
        ),
    ];
    for (input, want) in cases {
        assert_eq!(body(&router, input).as_deref(), Some(want), "{input}");
    }
}

#[test]
fn error_data_is_infallible_and_codes_compare_as_integers() {
    let e = Error::new(4001, "insufficient funds").with_data(&serde_json::json!({"balance": 3}));
    assert_eq!(
        e.to_json(),
        r#"{"code":4001,"message":"insufficient funds","data":{"balance":3}}"#
    );
    assert_eq!(e.raw_code(), 4001);
    assert!(e.code() == 4001 && 4001 == e.code());
    // A map with non-string keys cannot be JSON: `data` says so.
    let bad: std::collections::BTreeMap<(i32, i32), i32> = [((1, 2), 3)].into();
    assert_eq!(
        Error::new(1, "x").with_data(&bad).to_json(),
        r#"{"code":1,"message":"x","data":"error data could not be serialized: key must be a string"}"#
    );
    assert!(Error::new(1, "x").try_with_data(&bad).is_err());
}

/// [`stream`] with `Router::dispatch_on`: plain `fn`s answered at once,
/// straight into the connection.
fn stream_on(router: &Router, input: &[u8], limits: Limits) -> Vec<u8> {
    let mut conn = ServerConnection::new(Newline::new(1 << 20), limits);
    conn.handle_input(input).expect("open connection");
    conn.handle_eof();
    let ctx = Context::default();
    let mut out = Vec::new();
    while !conn.is_finished() {
        while let Some(event) = conn.poll_event() {
            match router.dispatch_on(&mut conn, event, &ctx).expect("own event") {
                None => {}
                Some(sansrpc::conn::Dispatch::Call(ticket, fut)) => {
                    conn.respond(ticket, block_on(fut)).expect("own ticket")
                }
                Some(sansrpc::conn::Dispatch::Notification(fut)) => block_on(fut),
            }
        }
        conn.poll_transmit(&mut out);
    }
    out
}

#[test]
fn answering_at_once_writes_the_bytes_dispatch_writes() {
    let mut router = reference();
    router
        .method("boom", || -> i32 { panic!("boom") })
        .unwrap()
        .method("later", |Params((a,)): Params<(i64,)>| async move { a * 2 })
        .unwrap()
        .method("refuse", || -> Result<(), Error> {
            Err(Error::new(7, "no").with_data(&[1, 2]))
        })
        .unwrap()
        // Serializing fails halfway: a map whose keys are not strings.
        .method("unserializable", || {
            std::collections::BTreeMap::from([((1, 2), "a"), ((3, 4), "b")])
        })
        .unwrap();
    let lines = [
        r#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
        r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":"two"}"#,
        r#"{"jsonrpc":"2.0","method":"subtract","params":["x"],"id":3}"#,
        r#"{"jsonrpc":"2.0","method":"nope","id":4.50}"#,
        r#"{"jsonrpc":"2.0","method":"boom","id":5}"#,
        r#"{"jsonrpc":"2.0","method":"later","params":[21],"id":6}"#,
        r#"{"jsonrpc":"2.0","method":"refuse","id":7}"#,
        r#"{"jsonrpc":"2.0","method":"unserializable","id":8}"#,
        r#"{"jsonrpc":"2.0","method":"update","params":[1]}"#,
        r#"{"jsonrpc":"2.0","method":"later","params":[1]}"#,
        r#"[{"jsonrpc":"2.0","method":"later","params":[2],"id":9},{"jsonrpc":"2.0","method":"ping","id":10},{"jsonrpc":"2.0","method":"boom","id":11},1,{"jsonrpc":"2.0","method":"ping"}]"#,
        r#"{"jsonrpc":"2.0","method":"ping","params":"bad","id":12}"#,
    ];
    let mut input = lines.join("\n").into_bytes();
    input.push(b'\n');
    let want = stream(&router, &input);
    assert_eq!(
        String::from_utf8_lossy(&stream_on(&router, &input, Limits::default())),
        String::from_utf8_lossy(&want)
    );
    let text = String::from_utf8(want).unwrap();
    for expected in [
        r#"{"jsonrpc":"2.0","result":"pong","id":1}"#,
        r#"{"jsonrpc":"2.0","result":19,"id":"two"}"#,
        r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":4.50}"#,
        r#"{"jsonrpc":"2.0","result":42,"id":6}"#,
        r#"{"jsonrpc":"2.0","error":{"code":7,"message":"no","data":[1,2]},"id":7}"#,
        r#"{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error","data":"key must be a string"},"id":8}"#,
    ] {
        assert!(text.lines().any(|l| l == expected), "{expected} in {text}");
    }
    // The same by the JSON-RPC 1.0 rules.
    let v1 = Limits {
        version: sansrpc::Version::V1,
        ..Limits::default()
    };
    let input = b"{\"method\":\"ping\",\"params\":[],\"id\":1}\n{\"method\":\"boom\",\"params\":[],\"id\":2}\n{\"method\":\"later\",\"params\":[4],\"id\":3}\n";
    let got = String::from_utf8(stream_on(&router, input, v1)).unwrap();
    assert_eq!(
        got,
        concat!(
            r#"{"result":"pong","error":null,"id":1}"#,
            "\n",
            r#"{"result":null,"error":{"code":-32603,"message":"Internal error","data":"handler panicked"},"id":2}"#,
            "\n",
            r#"{"result":8,"error":null,"id":3}"#,
            "\n"
        )
    );
}

/// A batch's answers keep request order whatever order its calls are
/// answered in, through `respond` and through `dispatch_on` alike, with
/// invalid entries and notifications among them.
#[test]
fn batch_answers_keep_request_order_in_any_answer_order() {
    let router = reference();
    let input = concat!(
        r#"[{"jsonrpc":"2.0","method":"ping","id":0},1,{"jsonrpc":"2.0","method":"ping","id":2},"#,
        r#"{"jsonrpc":"2.0","method":"update"},{"jsonrpc":"2.0","method":"ping","id":4},"#,
        r#"{"jsonrpc":"2.0","method":"ping","id":5}]"#,
        "\n"
    );
    let mut want = None;
    // Each order: which calls are answered through `respond` (with the
    // ids as results), in what order; the rest go through `dispatch_on`
    // as they are polled.
    for order in [
        vec![0, 1, 2, 3],
        vec![3, 2, 1, 0],
        vec![1, 3, 0, 2],
        vec![2],
        vec![0, 3],
        vec![],
    ] {
        let mut conn = ServerConnection::new(Newline::new(1 << 20), Limits::default());
        conn.handle_input(input.as_bytes()).unwrap();
        let mut held = Vec::new();
        let mut call = 0;
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Call { ticket, .. } if order.contains(&call) => {
                    call += 1;
                    held.push((call - 1, ticket));
                }
                event => {
                    if matches!(event, Event::Call { .. }) {
                        call += 1;
                    }
                    assert!(
                        router
                            .dispatch_on(&mut conn, event, &Context::default())
                            .unwrap()
                            .is_none()
                    );
                }
            }
        }
        for i in &order {
            let at = held.iter().position(|(n, _)| n == i).unwrap();
            let (_, ticket) = held.swap_remove(at);
            conn.respond(ticket, sansrpc::result("pong")).unwrap();
        }
        let mut out = Vec::new();
        conn.poll_transmit(&mut out);
        let got = String::from_utf8(out).unwrap();
        match &want {
            None => want = Some(got),
            Some(w) => assert_eq!(&got, w, "order {order:?}"),
        }
    }
    let want = want.unwrap();
    assert!(want.starts_with(
        r#"[{"jsonrpc":"2.0","result":"pong","id":0},{"jsonrpc":"2.0","error":{"code":-32600,"#
    ));
    assert!(want.ends_with(concat!(
        r#"{"jsonrpc":"2.0","result":"pong","id":2},{"jsonrpc":"2.0","result":"pong","id":4},"#,
        r#"{"jsonrpc":"2.0","result":"pong","id":5}]"#,
        "\n"
    )));
    assert_eq!(want.matches("\"id\":").count(), 5);
}

/// A lone surrogate escape is valid JSON grammar (RFC 8259 section 8.2
/// leaves its meaning to the reader): in a member name, where serde_json
/// will not decode it, the message is still JSON, so it is an invalid
/// request (its id cannot be told), never a parse error. Found by the
/// `differential` fuzz target.
#[test]
fn lone_surrogate_in_a_member_name_is_an_invalid_request() {
    let router = reference();
    let invalid = |why: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","error":{{"code":-32600,"message":"Invalid Request","data":"{why}"}},"id":null}}"#
        )
    };
    let lone = invalid("lone leading surrogate in hex escape");
    for (input, want) in [
        (r#"{"jsonrpc":"2.0","m\udc00ethod":"ping","id":1}"#, lone.clone()),
        // The input the fuzzer found, shortened.
        (r#"{"jsinrpc":"2.0","m\uddddthodid":1}"#, lone.clone()),
        (
            r#"{"jsonrpc":"2.0","method":"ping","\ud800":1,"id":1}"#,
            invalid("unexpected end of hex escape"),
        ),
        // A batch entry was read so before.
        (
            r#"[{"jsonrpc":"2.0","m\udc00ethod":"ping","id":1}]"#,
            format!("[{lone}]"),
        ),
        // Not JSON (cut short): still a parse error.
        (
            r#"{"jsonrpc":"2.0","m\udc00ethod":"ping","id":1"#,
            r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":"lone leading surrogate in hex escape at line 1 column 25"},"id":null}"#.to_owned(),
        ),
    ] {
        assert_eq!(body(&router, input).as_deref(), Some(want.as_str()), "{input}");
    }
}
