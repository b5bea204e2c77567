//! Target `router`: a [`sansrpc::Router`] whose methods take typed params
//! (`Params<T>` for the types of [`crate::params`]) answers one batch that
//! calls each method with the input as params, calls an unknown method,
//! and sends a notification to each method.
//!
//! Asserts: the answer is a valid JSON-RPC batch answer with one entry per
//! call and none for the notifications, in request order; each method's
//! entry is the reference's value (`serde_json::from_value::<T>`, with the
//! same documented differences as the `params` target) or `-32602`; the
//! unknown method gets `-32601`; params that are JSON but not an array or
//! an object make every entry `-32600`.
//!
//! In each [`Version`]: `V2` and `Auto` answer that batch alike (a batch is
//! 2.0 under `Auto`); under `V1`, which has no batches, each call and each
//! notification (`"id": null`) goes as a message of its own, and each call
//! gets a strict 1.0 response with the same verdict (1.0 reads
//! `"params": null` as no params).

use std::collections::HashMap;
use std::sync::OnceLock;

use sansrpc::{Context, Json, Params, Router, Version};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::json::{OutMessage, StrictResponse, is_json_text, strict_message, strict_response_v1};
use crate::params::{Expect, NAMED_FIELDS, Named, Pair, reference};

type Ref = fn(Option<&str>) -> Expect<Value>;

fn as_value<T: DeserializeOwned + Serialize>(text: Option<&str>, fields: &[&str]) -> Expect<Value> {
    match reference::<T>(text, fields) {
        Expect::Ok(t) => Expect::Ok(serde_json::to_value(t).unwrap_or(Value::Null)),
        Expect::Err => Expect::Err,
        Expect::Abstain => Expect::Abstain,
    }
}

fn methods() -> Vec<(&'static str, Ref)> {
    vec![
        ("pair", |t| as_value::<(i64, i64)>(t, &[])),
        ("one", |t| as_value::<(String,)>(t, &[])),
        ("opt", |t| as_value::<(Option<u8>, bool)>(t, &[])),
        ("named", |t| as_value::<Named>(t, NAMED_FIELDS)),
        ("tuple_struct", |t| as_value::<Pair>(t, &[])),
        ("vec", |t| as_value::<Vec<i64>>(t, &[])),
        ("option", |t| as_value::<Option<Vec<String>>>(t, &[])),
        ("map", |t| as_value::<HashMap<String, i64>>(t, &[])),
    ]
}

fn router(version: Version) -> &'static Router {
    static ROUTERS: [OnceLock<Router>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = match version {
        Version::V1 => 1,
        Version::Auto => 2,
        _ => 0,
    };
    ROUTERS[slot].get_or_init(|| {
        fn echo<T: Serialize>(t: T) -> Json<Value> {
            Json(serde_json::to_value(t).unwrap_or(Value::Null))
        }
        let mut r = Router::new();
        let ok = "registering a fuzz method";
        r.method("pair", |Params(t): Params<(i64, i64)>| echo(t))
            .expect(ok);
        r.method("one", |Params(t): Params<(String,)>| echo(t)).expect(ok);
        r.method("opt", |Params(t): Params<(Option<u8>, bool)>| echo(t))
            .expect(ok);
        r.method("named", |Params(t): Params<Named>| echo(t)).expect(ok);
        r.method("tuple_struct", |Params(t): Params<Pair>| echo(t))
            .expect(ok);
        r.method("vec", |Params(t): Params<Vec<i64>>| echo(t)).expect(ok);
        r.method("option", |Params(t): Params<Option<Vec<String>>>| echo(t))
            .expect(ok);
        r.method("map", |Params(t): Params<HashMap<String, i64>>| echo(t))
            .expect(ok);
        r.set_version(version);
        r
    })
}

/// Runs the `router` target on one input.
pub fn check(data: &[u8]) {
    let text = match std::str::from_utf8(data) {
        Ok(t) if t.trim().is_empty() => None,
        Ok(t) if is_json_text(t) => Some(t.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))),
        // Not one JSON value: pasting it into a request would change the
        // request's own structure.
        _ => return,
    };
    // The batch around the params adds two levels; past the depth or size
    // limit the whole message is rejected, which is not what this target
    // is about (the `differential` target covers it).
    let limits = router(Version::V2).limits();
    if text.is_some_and(|t| {
        crate::json::scan_depth(t) + 2 > limits.max_depth || t.len() * 20 > limits.max_message_bytes
    }) {
        return;
    }
    let methods = methods();
    let mut entries = Vec::new();
    for (i, (name, _)) in methods.iter().enumerate() {
        let params = text.map(|t| format!(r#","params":{t}"#)).unwrap_or_default();
        entries.push(format!(
            r#"{{"jsonrpc":"2.0","method":"{name}"{params},"id":{i}}}"#
        ));
        entries.push(format!(r#"{{"jsonrpc":"2.0","method":"{name}"{params}}}"#));
    }
    entries.push(format!(
        r#"{{"jsonrpc":"2.0","method":"nope","id":{}}}"#,
        methods.len()
    ));
    let body = format!("[{}]", entries.join(","));

    let answer =
        futures_executor::block_on(router(Version::V2).handle_message(body.as_bytes(), Context::default()))
            .unwrap_or_else(|| panic!("no answer to a batch with calls"));
    let auto =
        futures_executor::block_on(router(Version::Auto).handle_message(body.as_bytes(), Context::default()));
    assert_eq!(
        auto.as_ref(),
        Some(&answer),
        "Auto answers a 2.0 batch differently"
    );
    let Ok(OutMessage::Batch(answers)) = strict_message(&answer) else {
        panic!("not a valid batch answer: {}", String::from_utf8_lossy(&answer));
    };
    check_v1(text, &methods);
    let structured = text.is_none_or(|t| t.starts_with('[') || t.starts_with('{'));
    if !structured {
        // Every entry with such params is an invalid request, answered
        // even without an id (with `id: null`); only `nope` is valid.
        assert_eq!(
            answers.len(),
            entries.len(),
            "invalid entries must all be answered"
        );
        for (i, a) in answers.iter().take(2 * methods.len()).enumerate() {
            let id = if i % 2 == 0 {
                (i / 2).to_string()
            } else {
                "null".into()
            };
            assert_eq!(a.id, id, "answers out of request order");
            assert!(
                matches!(a.outcome, Err((-32600, _, _))),
                "non-structured params: {a:?}"
            );
        }
        let last = answers.last().map(|a| &a.outcome);
        assert!(
            matches!(last, Some(Err((-32601, _, _)))),
            "unknown method: {last:?}"
        );
        return;
    }
    assert_eq!(
        answers.len(),
        methods.len() + 1,
        "one answer per call, none for notifications"
    );
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(a.id, i.to_string(), "answers out of request order");
        let Some((name, reference)) = methods.get(i) else {
            assert!(matches!(a.outcome, Err((-32601, _, _))), "unknown method: {a:?}");
            continue;
        };
        match (reference(text), &a.outcome) {
            (Expect::Abstain, _) => {}
            (Expect::Ok(want), Ok(got)) => {
                let got: Value = serde_json::from_str(got).unwrap_or(Value::Null);
                assert_eq!(got, want, "{name} with params {text:?}");
            }
            (Expect::Err, Err((code, _, _))) => assert_eq!(*code, -32602, "{name}: {a:?}"),
            (want, got) => panic!("{name} with params {text:?}: want {want:?}, got {got:?}"),
        }
    }
}

/// The same calls in JSON-RPC 1.0, one message each, to a `V1` router.
fn check_v1(text: Option<&str>, methods: &[(&'static str, Ref)]) {
    let r = router(Version::V1);
    let send =
        |body: String| futures_executor::block_on(r.handle_message(body.as_bytes(), Context::default()));
    let params = text.map(|t| format!(r#","params":{t}"#)).unwrap_or_default();
    // 1.0 reads `"params": null` as no params.
    let text = text.filter(|t| *t != "null");
    let structured = text.is_none_or(|t| t.starts_with('[') || t.starts_with('{'));
    for (i, (name, reference)) in methods.iter().enumerate() {
        let note = send(format!(r#"{{"method":"{name}"{params},"id":null}}"#));
        if structured {
            assert_eq!(note, None, "a 1.0 notification was answered");
        }
        let answer = send(format!(r#"{{"method":"{name}"{params},"id":{i}}}"#))
            .unwrap_or_else(|| panic!("no answer to a 1.0 call"));
        let a: StrictResponse = strict_response_v1(std::str::from_utf8(&answer).unwrap_or_default())
            .unwrap_or_else(|why| panic!("not a 1.0 response: {why}"));
        assert_eq!(a.id, i.to_string(), "1.0 answer with another id");
        if !structured {
            assert!(
                matches!(a.outcome, Err((-32600, _, _))),
                "non-structured 1.0 params: {a:?}"
            );
            continue;
        }
        match (reference(text), &a.outcome) {
            (Expect::Abstain, _) => {}
            (Expect::Ok(want), Ok(got)) => {
                let got: Value = serde_json::from_str(got).unwrap_or(Value::Null);
                assert_eq!(got, want, "1.0 {name} with params {text:?}");
            }
            (Expect::Err, Err((code, _, _))) => assert_eq!(*code, -32602, "1.0 {name}: {a:?}"),
            (want, got) => panic!("1.0 {name} with params {text:?}: want {want:?}, got {got:?}"),
        }
    }
    let unknown = send(format!(
        r#"{{"method":"nope","params":[],"id":{}}}"#,
        methods.len()
    ))
    .unwrap_or_else(|| panic!("no answer to a 1.0 call of an unknown method"));
    let a = strict_response_v1(std::str::from_utf8(&unknown).unwrap_or_default())
        .unwrap_or_else(|why| panic!("not a 1.0 response: {why}"));
    assert!(
        matches!(a.outcome, Err((-32601, _, _))),
        "1.0 unknown method: {a:?}"
    );
}
