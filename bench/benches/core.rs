//! The core benchmark: for each input, sansrpc's router (bytes in →
//! response bytes out), the typed limit, the serde_json `Value` limit, and
//! jsonrpsee's `RpcModule`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sansrpc_bench::{inputs, limit, peer, subject, typed_limit};
use serde_json::Value;

/// The parts of an answer that must agree across the lines.
fn essence(answer: &[u8]) -> Vec<(Value, Value, Value)> {
    let v: Value = serde_json::from_slice(answer).expect("every line answers JSON");
    let entries = match v {
        Value::Array(a) => a,
        one => vec![one],
    };
    entries
        .into_iter()
        .map(|e| {
            let code = e.pointer("/error/code").cloned().unwrap_or(Value::Null);
            (
                e["id"].clone(),
                e.get("result").cloned().unwrap_or(Value::Null),
                code,
            )
        })
        .collect()
}

fn core(c: &mut Criterion) {
    let router = subject::router();
    let module = peer::module().expect("method names are fixed");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");

    for case in inputs::cases() {
        let text = std::str::from_utf8(&case.request).expect("inputs are UTF-8");
        // The lines must do the same job before they are compared.
        let ours = subject::handle(&router, &case.request).expect("every case is answered");
        let mut typed = Vec::new();
        typed_limit::handle(&case.request, &mut typed);
        let floor = limit::handle(&case.request);
        assert_eq!(
            essence(&ours),
            essence(&typed),
            "{}: sansrpc vs typed limit",
            case.name
        );
        let theirs = rt.block_on(peer::handle(&module, text));
        assert_eq!(essence(&ours), essence(&floor), "{}: sansrpc vs limit", case.name);
        assert_eq!(
            essence(&ours),
            essence(theirs.as_bytes()),
            "{}: sansrpc vs jsonrpsee",
            case.name
        );

        let mut g = c.benchmark_group(case.name);
        g.throughput(Throughput::Elements(case.calls));
        if case.request.len() > 64 * 1024 {
            g.sample_size(20);
        }
        g.bench_function("sansrpc", |b| {
            b.iter(|| subject::handle(&router, black_box(&case.request)))
        });
        g.bench_function("typed_limit", |b| {
            let mut out = Vec::new();
            b.iter(|| typed_limit::handle(black_box(&case.request), &mut out))
        });
        g.bench_function("serde_json_limit", |b| {
            b.iter(|| limit::handle(black_box(&case.request)))
        });
        g.bench_function("jsonrpsee", |b| {
            b.iter(|| rt.block_on(peer::handle(&module, black_box(text))))
        });
        g.finish();
    }
}

/// Where `ping`'s time goes inside sansrpc, through the public API only.
fn breakdown(c: &mut Criterion) {
    let router = subject::router();
    let request = inputs::PING.as_bytes();
    let frame = bytes::Bytes::from_static(inputs::PING.as_bytes());
    let shared = sansrpc::Context::default();
    let limits = sansrpc::Limits::default();
    assert_eq!(
        subject::handle_inline(&router, request, &shared),
        subject::handle(&router, request).expect("ping is answered")
    );
    let mut g = c.benchmark_group("ping_breakdown");
    g.bench_function("handle_message_fresh_context", |b| {
        b.iter(|| subject::handle(&router, black_box(request)))
    });
    g.bench_function("handle_message_shared_context", |b| {
        b.iter(|| subject::poll_ready(router.handle_message(black_box(request), shared.clone())))
    });
    g.bench_function("connection_inline_shared_context", |b| {
        b.iter(|| subject::handle_inline(&router, black_box(request), &shared))
    });
    g.bench_function("parse_message_only", |b| {
        b.iter(|| sansrpc::wire::parse_message(black_box(&frame), &limits, sansrpc::wire::Accept::Requests))
    });
    g.bench_function("context_default_only", |b| b.iter(sansrpc::Context::default));
    g.bench_function("server_connection_new_only", |b| {
        b.iter(|| {
            let limits = router.limits().clone();
            sansrpc::conn::ServerConnection::new(sansrpc::conn::Body::new(limits.max_message_bytes), limits)
        })
    });
    g.bench_function("router_call_only", |b| {
        b.iter(|| {
            subject::poll_ready(router.call(
                black_box("ping").to_owned(),
                Some(sansrpc::Id::null()),
                sansrpc::RawParams::none(),
                shared.clone(),
            ))
        })
    });
    g.bench_function("write_response_only", |b| {
        let id = sansrpc::Id::null();
        let outcome = sansrpc::result("pong");
        b.iter(|| {
            let mut out = Vec::new();
            sansrpc::wire::write_response(black_box(&id), &outcome, &mut out);
            out
        })
    });
    g.finish();
}

/// What the `Stats` hook costs per call: the same `ping` through a router
/// without hooks, with a hook that does nothing (the hook machinery) and
/// with `Stats` (its counters, histogram and rate window); the difference
/// of the last two is `Stats` itself.
fn stats_hook(c: &mut Criterion) {
    struct Nothing;
    impl sansrpc::Hook for Nothing {}

    let bare = subject::router();
    let mut noop = subject::router();
    noop.hook(Nothing);
    let stats = sansrpc::Stats::new();
    let mut measured = subject::router();
    measured.hook(stats.clone());
    let request = inputs::PING.as_bytes();
    let shared = sansrpc::Context::default();
    let mut g = c.benchmark_group("stats_hook");
    for (name, router) in [("no_hook", &bare), ("noop_hook", &noop), ("stats", &measured)] {
        g.bench_function(name, |b| {
            b.iter(|| subject::handle_inline(router, black_box(request), &shared))
        });
    }
    g.bench_function("record_only", |b| {
        b.iter(|| {
            stats.record(
                black_box("ping"),
                true,
                black_box(Duration::from_nanos(700)),
                false,
            )
        })
    });
    g.finish();
    assert!(stats.snapshot().methods["ping"].count > 0);
}

fn config() -> Criterion {
    // Short enough that `bench/run.sh` stays within its time budget; the
    // env vars let a quiet machine measure longer.
    let secs = |var: &str, default: f64| {
        std::env::var(var)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(default)
    };
    Criterion::default()
        .warm_up_time(Duration::from_secs_f64(secs("BENCH_WARMUP_SECS", 1.0)))
        .measurement_time(Duration::from_secs_f64(secs("BENCH_MEASURE_SECS", 3.0)))
}

criterion_group! {
    name = benches;
    config = config();
    targets = core, breakdown, stats_hook
}
criterion_main!(benches);
