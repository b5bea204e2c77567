//! The core benchmark: for each input, sansrpc's router (bytes in →
//! response bytes out), the serde_json limit, and jsonrpsee's `RpcModule`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sansrpc_bench::{inputs, limit, peer, subject};
use serde_json::Value;

/// The parts of an answer that must agree across the three lines.
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
        // The three lines must do the same job before they are compared.
        let ours = subject::handle(&router, &case.request).expect("every case is answered");
        let floor = limit::handle(&case.request);
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
        g.bench_function("serde_json_limit", |b| {
            b.iter(|| limit::handle(black_box(&case.request)))
        });
        g.bench_function("jsonrpsee", |b| {
            b.iter(|| rt.block_on(peer::handle(&module, black_box(text))))
        });
        g.finish();
    }
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
    targets = core
}
criterion_main!(benches);
