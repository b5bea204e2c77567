//! `Stats`: bounded under hostile names, the figures it reports, the ready
//! JSON-RPC method, the Prometheus text; and hooks (sync and async) around
//! calls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_executor::block_on;
use sansrpc::Outcome;
use sansrpc::{AsyncHook, CallInfo, Context, Error, Hook, Params, Router, Stats, Transport};

fn call(router: &Router, body: &str) -> Option<String> {
    call_with(router, body, Context::default())
}

fn call_with(router: &Router, body: &str, ctx: Context) -> Option<String> {
    block_on(router.handle_message(body.as_bytes(), ctx)).map(|b| String::from_utf8(b.to_vec()).unwrap())
}

fn router_with(stats: &Stats) -> Router {
    let mut router = Router::new();
    router
        .method("add", |Params((a, b)): Params<(i64, i64)>| a + b)
        .unwrap()
        .method("fail", || Err::<(), _>(Error::new(7, "no")))
        .unwrap()
        .alias("plus", "add")
        .unwrap()
        .method("stats", stats.handler())
        .unwrap();
    router.hook(stats.clone());
    router
}

#[test]
fn flood_of_unknown_names_stays_in_one_bucket() {
    let stats = Stats::new();
    let router = router_with(&stats);
    for i in 0..10_000 {
        let body = format!(r#"{{"jsonrpc":"2.0","method":"junk-{i}","id":{i}}}"#);
        let answer = call(&router, &body).unwrap();
        assert_eq!(
            answer,
            format!(r#"{{"jsonrpc":"2.0","error":{{"code":-32601,"message":"Method not found"}},"id":{i}}}"#)
        );
    }
    // Notifications of unknown names too.
    for i in 0..100 {
        assert_eq!(
            call(&router, &format!(r#"{{"jsonrpc":"2.0","method":"n{i}"}}"#)),
            None
        );
    }
    call(
        &router,
        r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#,
    );
    let snap = stats.snapshot();
    assert_eq!(
        snap.methods.keys().collect::<Vec<_>>(),
        ["add"],
        "only registered names get an entry"
    );
    assert_eq!(snap.unknown_methods.count, 10_100);
    assert_eq!(snap.unknown_methods.errors, 10_100);
    assert_eq!(snap.methods["add"].count, 1);
    // The text exposition is as bounded as the map.
    let text = stats.prometheus();
    assert!(text.len() < 4096, "{} bytes", text.len());
    assert!(
        text.contains("\nsansrpc_unknown_method_calls_total 10100\n"),
        "{text}"
    );
}

#[test]
fn counts_errors_and_aliases_by_the_name_called() {
    let stats = Stats::new();
    let router = router_with(&stats);
    call(
        &router,
        r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#,
    );
    call(
        &router,
        r#"{"jsonrpc":"2.0","method":"plus","params":[1,2],"id":2}"#,
    );
    // Bad params: the handler did not run, the call failed.
    call(
        &router,
        r#"{"jsonrpc":"2.0","method":"add","params":["x"],"id":3}"#,
    );
    call(
        &router,
        r#"[{"jsonrpc":"2.0","method":"fail","id":4},{"jsonrpc":"2.0","method":"fail"}]"#,
    );
    let snap = stats.snapshot();
    let add = snap.methods["add"];
    assert_eq!((add.count, add.errors), (2, 1));
    assert_eq!((snap.methods["plus"].count, snap.methods["plus"].errors), (1, 0));
    assert_eq!((snap.methods["fail"].count, snap.methods["fail"].errors), (2, 2));
    assert!(add.min <= add.mean && add.mean <= add.max, "{add:?}");
    assert!(
        add.min <= add.p50 && add.p50 <= add.p99 && add.p99 <= add.max,
        "{add:?}"
    );
    assert!(add.per_second > 0.0);
    assert_eq!(add.total.as_nanos() / 2, add.mean.as_nanos());
}

#[test]
fn figures_from_known_durations() {
    let stats = Stats::new();
    for ms in 1..=200u64 {
        stats.record("slow", true, Duration::from_millis(ms), ms % 10 == 0);
    }
    stats.record("never-registered", false, Duration::from_millis(3), false);
    let s = stats.method("slow").unwrap();
    assert_eq!((s.count, s.errors), (200, 20));
    assert_eq!(
        (s.min, s.max),
        (Duration::from_millis(1), Duration::from_millis(200))
    );
    assert_eq!(s.mean, Duration::from_micros(100_500));
    assert_eq!(s.total, Duration::from_millis(20_100));
    let within = |d: Duration, ms: f64| (d.as_secs_f64() * 1e3 - ms).abs() <= ms / 16.0;
    assert!(within(s.p50, 100.0), "p50 {:?}", s.p50);
    assert!(within(s.p99, 198.0), "p99 {:?}", s.p99);
    assert_eq!(stats.method("never-registered"), None);
    assert_eq!(stats.snapshot().unknown_methods.count, 1);
}

#[test]
fn the_ready_method_answers_the_snapshot_as_json() {
    let stats = Stats::new();
    let router = router_with(&stats);
    call(
        &router,
        r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#,
    );
    call(&router, r#"{"jsonrpc":"2.0","method":"nope","id":2}"#);
    let answer = call(&router, r#"{"jsonrpc":"2.0","method":"stats","id":3}"#).unwrap();
    let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let result = &v["result"];
    let add = &result["methods"]["add"];
    assert_eq!(add["count"], 1);
    assert_eq!(add["errors"], 0);
    for key in ["total", "min", "mean", "max", "p50", "p99", "per_second"] {
        assert!(add[key].as_f64().is_some_and(|x| x >= 0.0), "{key} in {answer}");
    }
    // Durations are seconds: a call of `add` takes far less than one.
    assert!(add["max"].as_f64().unwrap() < 1.0, "{answer}");
    assert_eq!(result["unknown_methods"]["count"], 1);
    assert_eq!(
        result["rejected"],
        serde_json::json!({"parse_errors": 0, "invalid_requests": 0, "oversize": 0})
    );
    // The `stats` call itself is counted once it finished.
    assert_eq!(stats.snapshot().methods["stats"].count, 1);
    // Registered under any name.
    let mut other = Router::new();
    other.method("server.metrics", stats.handler()).unwrap();
    let answer = call(&other, r#"{"jsonrpc":"2.0","method":"server.metrics","id":1}"#).unwrap();
    assert!(
        answer.starts_with(r#"{"jsonrpc":"2.0","result":{"methods":{"add":{"count":1,"errors":0,"total":"#),
        "{answer}"
    );
}

#[test]
fn prometheus_text_exposition() {
    let stats = Stats::new();
    stats.record("get \"x\"", true, Duration::from_micros(250), false);
    stats.record("get \"x\"", true, Duration::from_micros(750), true);
    stats.record("zzz", false, Duration::from_micros(1), false);
    let text = stats.prometheus();
    // Every line but the rate's (it depends on the clock) byte for byte.
    let rate_prefix = "sansrpc_calls_per_second{method=\"get \\\"x\\\"\"} ";
    let mut lines: Vec<&str> = text.lines().collect();
    let rate = lines
        .iter()
        .position(|l| l.starts_with(rate_prefix))
        .expect("rate line");
    let rate_value: f64 = lines
        .remove(rate)
        .trim_start_matches(rate_prefix)
        .parse()
        .unwrap();
    assert!(rate_value > 0.0 && rate_value <= 2.0, "{rate_value}");
    let m = "{method=\"get \\\"x\\\"\"";
    let want = [
        "# HELP sansrpc_calls_total Calls and notifications handled.".to_owned(),
        "# TYPE sansrpc_calls_total counter".to_owned(),
        format!("sansrpc_calls_total{m}}} 2"),
        "# HELP sansrpc_errors_total Calls and notifications that ended in an error.".to_owned(),
        "# TYPE sansrpc_errors_total counter".to_owned(),
        format!("sansrpc_errors_total{m}}} 1"),
        "# HELP sansrpc_call_duration_seconds_min The shortest call.".to_owned(),
        "# TYPE sansrpc_call_duration_seconds_min gauge".to_owned(),
        format!("sansrpc_call_duration_seconds_min{m}}} 0.00025"),
        "# HELP sansrpc_call_duration_seconds_mean The mean call duration.".to_owned(),
        "# TYPE sansrpc_call_duration_seconds_mean gauge".to_owned(),
        format!("sansrpc_call_duration_seconds_mean{m}}} 0.0005"),
        "# HELP sansrpc_call_duration_seconds_max The longest call.".to_owned(),
        "# TYPE sansrpc_call_duration_seconds_max gauge".to_owned(),
        format!("sansrpc_call_duration_seconds_max{m}}} 0.00075"),
        "# HELP sansrpc_calls_per_second Calls per second over the last minute.".to_owned(),
        "# TYPE sansrpc_calls_per_second gauge".to_owned(),
        "# HELP sansrpc_call_duration_seconds Call duration (p50 and p99 within 1/16).".to_owned(),
        "# TYPE sansrpc_call_duration_seconds summary".to_owned(),
        // 250 µs lies in the bucket [245760, 262144) ns: its midpoint.
        format!("sansrpc_call_duration_seconds{m},quantile=\"0.5\"}} 0.000253952"),
        // The top bucket's midpoint lies above the maximum: clamped to it.
        format!("sansrpc_call_duration_seconds{m},quantile=\"0.99\"}} 0.00075"),
        format!("sansrpc_call_duration_seconds_sum{m}}} 0.001"),
        format!("sansrpc_call_duration_seconds_count{m}}} 2"),
        "# HELP sansrpc_unknown_method_calls_total Calls of names no method is registered under.".to_owned(),
        "# TYPE sansrpc_unknown_method_calls_total counter".to_owned(),
        "sansrpc_unknown_method_calls_total 1".to_owned(),
        "# HELP sansrpc_rejected_total Messages refused before any method ran.".to_owned(),
        "# TYPE sansrpc_rejected_total counter".to_owned(),
        "sansrpc_rejected_total{reason=\"parse_error\"} 0".to_owned(),
        "sansrpc_rejected_total{reason=\"invalid_request\"} 0".to_owned(),
        "sansrpc_rejected_total{reason=\"oversize\"} 0".to_owned(),
    ];
    assert_eq!(lines, want);
    assert!(text.ends_with("oversize\"} 0\n"));
}

#[test]
fn rejections_reported_to_the_router_reach_the_hooks() {
    let stats = Stats::new();
    let router = router_with(&stats);
    let ctx = Context::default();
    router.rejected(sansrpc::RejectionKind::Oversize, &Error::invalid_request(), &ctx);
    router.rejected(sansrpc::RejectionKind::ParseError, &Error::parse_error(), &ctx);
    router.rejected(sansrpc::RejectionKind::ParseError, &Error::parse_error(), &ctx);
    let r = stats.snapshot().rejected;
    assert_eq!((r.parse_errors, r.invalid_requests, r.oversize), (2, 0, 1));
}

/// Records what it saw, in order, and what its `before` handed to `after`.
#[derive(Clone, Default)]
struct Trace(Arc<Mutex<Vec<String>>>);

struct Sync1(Trace);

impl Hook for Sync1 {
    fn before(&self, call: &CallInfo) -> Result<(), Error> {
        self.0
            .0
            .lock()
            .unwrap()
            .push(format!("sync before {}", call.method));
        Ok(())
    }
    fn after(&self, call: &CallInfo, _: Duration, outcome: &Outcome) {
        self.0
            .0
            .lock()
            .unwrap()
            .push(format!("sync after {} ok={}", call.method, outcome.is_ok()));
    }
}

struct Auth(Trace);

impl AsyncHook for Auth {
    type Data = String;

    async fn before(&self, call: &CallInfo) -> Result<String, Error> {
        // A check that awaits: here, a future that is pending once.
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
        .await;
        self.0
            .0
            .lock()
            .unwrap()
            .push(format!("async before {}", call.method));
        match call.context.header("authorization") {
            Some(token) => Ok(token.trim_start_matches("Bearer ").to_owned()),
            None => Err(Error::new(-32001, "unauthorized")),
        }
    }

    fn after(&self, call: &CallInfo, _: Duration, outcome: &Outcome, user: Option<String>) {
        self.0.0.lock().unwrap().push(format!(
            "async after {} ok={} user={user:?} registered={}",
            call.method,
            outcome.is_ok(),
            call.registered
        ));
    }
}

#[test]
fn async_hooks_await_refuse_and_pass_data_to_after() {
    let trace = Trace::default();
    let stats = Stats::new();
    let mut router = Router::new();
    router.method("ping", || "pong").unwrap();
    router
        .hook(Sync1(trace.clone()))
        .async_hook(Auth(trace.clone()))
        .hook(stats.clone());
    let authed = Context::builder(Transport::Http)
        .header("authorization", "Bearer ada")
        .build();
    assert_eq!(
        call_with(
            &router,
            r#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
            authed.clone()
        )
        .unwrap(),
        r#"{"jsonrpc":"2.0","result":"pong","id":1}"#
    );
    assert_eq!(
        call(&router, r#"{"jsonrpc":"2.0","method":"ping","id":2}"#).unwrap(),
        r#"{"jsonrpc":"2.0","error":{"code":-32001,"message":"unauthorized"},"id":2}"#
    );
    assert_eq!(
        call_with(&router, r#"{"jsonrpc":"2.0","method":"nope","id":3}"#, authed).unwrap(),
        r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method not found"},"id":3}"#
    );
    assert_eq!(
        *trace.0.lock().unwrap(),
        [
            "sync before ping",
            "async before ping",
            "sync after ping ok=true",
            "async after ping ok=true user=Some(\"ada\") registered=true",
            "sync before ping",
            "async before ping",
            "sync after ping ok=false",
            // Its own `before` refused: nothing to hand over.
            "async after ping ok=false user=None registered=true",
            "sync before nope",
            "async before nope",
            "sync after nope ok=false",
            "async after nope ok=false user=Some(\"ada\") registered=false",
        ]
    );
    // The refused call is counted as a failed call of its method.
    let ping = stats.snapshot().methods["ping"];
    assert_eq!((ping.count, ping.errors), (2, 1));
}
