//! `Router::handle_message` answers a message refused as a whole (not
//! JSON, not UTF-8, too deep, an empty or oversized batch, a batch in
//! JSON-RPC 1.0, a bare value) without a connection: the same bytes, and
//! the same refusals told to the hooks, as a `ServerConnection<Body>`
//! driving the same router gives, under every `Version` and tight limits;
//! for the fixed texts below and for them with bytes replaced, inserted or
//! cut anywhere.

use std::sync::{Arc, Mutex};

use futures_executor::block_on;
use proptest::prelude::*;
use sansrpc::conn::{Body, Dispatch, ServerConnection};
use sansrpc::{Context, Hook, Limits, Rejection, Router, Version};

/// Texts refused whole, and a few that are not (so that a mutation may go
/// either way).
const TEXTS: &[&[u8]] = &[
    br#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
    br#"{"jsonrpc":"2.0","method":"ping","id":1"#,
    br#"[{"jsonrpc":"2.0","method":"ping","id":1},{"jsonrpc":"2.0","method""#,
    b"{oops",
    b"",
    b"   ",
    b"[]",
    b" [ ] ",
    b"1",
    b"\"a \\\"quoted\\\" string\"",
    b"null",
    b"{\"a\":\"\xff\"}",
    br#"{"a":[[[[[[[[[[1]]]]]]]]]]}"#,
    br#"[1,2,3,4,5]"#,
    br#"[{"jsonrpc":"2.0","method":"ping","id":1}]"#,
    br#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
    br#"{"method":"ping","params":[],"id":1}"#,
    b"{\"a\":\"\\ud800\"} x",
    b"{\"\\ud800\":1,",
    b"\xef\xbb\xbf{\"jsonrpc\":\"2.0\",",
];

/// Records every refusal it is told of, as text.
#[derive(Clone, Default)]
struct Told(Arc<Mutex<Vec<String>>>);

impl Hook for Told {
    fn rejected(&self, r: &Rejection) {
        if let Ok(mut told) = self.0.lock() {
            told.push(format!("{:?} {}", r.kind, r.error.to_json()));
        }
    }
}

fn router(limits: &Limits, hooked: bool) -> (Router, Told) {
    let mut router = Router::new();
    router.method("ping", || "pong").unwrap();
    router.set_limits(limits.clone());
    let told = Told::default();
    if hooked {
        router.hook(told.clone());
    }
    (router, told)
}

fn limits(version: Version, tight: bool) -> Limits {
    let mut limits = Limits {
        version,
        ..Limits::default()
    };
    if tight {
        limits.max_depth = 3;
        limits.max_batch_len = 2;
    }
    limits
}

/// What a connection over the whole message answers, run as an adapter
/// would: every event dispatched and answered, every refusal told.
fn by_connection(router: &Router, limits: &Limits, body: &[u8]) -> Option<Vec<u8>> {
    let mut conn = ServerConnection::new(Body::new(limits.max_message_bytes), limits.clone());
    conn.set_report_refusals(router.has_hooks());
    conn.handle_input(body).ok()?;
    conn.handle_eof();
    let ctx = Context::default();
    while let Some(event) = conn.poll_event() {
        match router.dispatch(event, &ctx) {
            Dispatch::Call(ticket, fut) => conn.respond(ticket, block_on(fut)).unwrap(),
            Dispatch::Notification(fut) => block_on(fut),
        }
    }
    while let Some(r) = conn.poll_refusal() {
        router.rejected(r.kind, &r.error, &ctx);
    }
    let mut out = Vec::new();
    conn.poll_transmit(&mut out)?;
    Some(out)
}

fn check(body: &[u8]) {
    for version in [Version::V2, Version::V1, Version::Auto] {
        for tight in [false, true] {
            let limits = limits(version, tight);
            let (direct, told_direct) = router(&limits, true);
            let (reference, told_reference) = router(&limits, true);
            let answer = block_on(direct.handle_message(body, Context::default())).map(|b| b.to_vec());
            let expected = by_connection(&reference, &limits, body);
            let shown = String::from_utf8_lossy(body);
            assert_eq!(answer, expected, "{shown:?} under {version:?}, tight {tight}");
            assert_eq!(
                *told_direct.0.lock().unwrap(),
                *told_reference.0.lock().unwrap(),
                "{shown:?} under {version:?}, tight {tight}"
            );
            // Without hooks, the same bytes.
            let (plain, _) = router(&limits, false);
            let answer = block_on(plain.handle_message(body, Context::default())).map(|b| b.to_vec());
            assert_eq!(
                answer, expected,
                "{shown:?} under {version:?}, tight {tight}, no hook"
            );
        }
    }
}

#[test]
fn the_fixed_texts_answer_as_the_connection_does() {
    for text in TEXTS {
        check(text);
    }
    // The texts refused whole are told to the hooks, with their error.
    let (router, told) = router(&limits(Version::V2, false), true);
    let answer = block_on(router.handle_message(TEXTS[0], Context::default())).unwrap();
    assert_eq!(
        answer,
        r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error","data":"expected `,` or `}` at line 1 column 40"},"id":null}"#
    );
    assert_eq!(
        *told.0.lock().unwrap(),
        [
            r#"ParseError {"code":-32700,"message":"Parse error","data":"expected `,` or `}` at line 1 column 40"}"#
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any text, with one byte replaced, inserted or cut at any position.
    #[test]
    fn mutated_texts_answer_as_the_connection_does(
        text in 0..TEXTS.len(),
        at in any::<usize>(),
        byte in prop::sample::select(b"{}[]\",:\\ 0a\xff".to_vec()),
        how in 0..3u8,
    ) {
        let mut body = TEXTS[text].to_vec();
        let at = at % (body.len() + 1);
        match how {
            0 if at < body.len() => body[at] = byte,
            1 => body.insert(at, byte),
            _ => body.truncate(at),
        }
        check(&body);
    }
}
