//! Runs one line of the core benchmark on one input `N` times, for
//! profilers (`perf`, `valgrind --tool=callgrind`): instruction counts do not
//! depend on how busy the machine is.
//!
//! `sansrpc-core-profile LINE CASE N` with LINE one of `sansrpc`
//! (`Router::handle_message`), `sansrpc_stream` (one long-lived
//! `ServerConnection` over newline framing, as the TCP adapters drive it),
//! `sansrpc_pipelined` (the same connection fed 16 requests per read, as a
//! client pipelining 16 deep delivers them; N counts reads, so divide by
//! 16 N),
//! `sansrpc_stats` (the router with `sansrpc::Stats` as its hook),
//! `sansrpc_http` (one request through `sansrpc::http::Endpoint` as actix
//! drives it: `begin_view` on borrowed request headers, the body pushed,
//! `run`, the `Reply`), `sansrpc_http_map` (the same through `begin` with an
//! owned `HeaderMap`, cloned per request, as warp drives it),
//! `typed_limit`, `serde_json_limit`, `jsonrpsee`, and CASE a core benchmark input
//! (`ping`, `subtract_positional`, ...).

use std::hint::black_box;

use sansrpc_bench::{http_subject, inputs, limit, peer, subject, typed_limit};

/// Requests per read in the `sansrpc_pipelined` line (the load matrix's
/// pipelining depth).
const PIPELINE: usize = 16;

fn main() {
    if let Err(e) = run() {
        eprintln!(
            "sansrpc-core-profile: {e}\nusage: sansrpc-core-profile sansrpc|sansrpc_stats|sansrpc_stream|sansrpc_pipelined|sansrpc_http|sansrpc_http_map|typed_limit|serde_json_limit|jsonrpsee CASE N"
        );
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [line, case, n] = args.as_slice() else {
        return Err("three arguments are required".into());
    };
    let n: u64 = n.parse().map_err(|e| format!("N: {e}"))?;
    let case = inputs::cases()
        .into_iter()
        .find(|c| c.name == case)
        .ok_or_else(|| format!("unknown case {case}"))?;
    let text = std::str::from_utf8(&case.request).map_err(|e| e.to_string())?;
    match line.as_str() {
        "sansrpc" => {
            let router = subject::router();
            for _ in 0..n {
                black_box(subject::handle(&router, black_box(&case.request)));
            }
        }
        // The same router with `sansrpc::Stats` as its hook: the difference
        // to `sansrpc` is what Stats costs per call.
        "sansrpc_stats" => {
            let mut router = subject::router();
            let stats = sansrpc::Stats::new();
            router.hook(stats.clone());
            for _ in 0..n {
                black_box(subject::handle(&router, black_box(&case.request)));
            }
            black_box(stats.snapshot());
        }
        "sansrpc_stream" => {
            let router = subject::router();
            let mut stream = subject::Stream::new(&router);
            let mut out = Vec::new();
            for _ in 0..n {
                stream.handle(&router, black_box(&case.request), &mut out);
                black_box(&out);
            }
        }
        "sansrpc_pipelined" => {
            let router = subject::router();
            let mut stream = subject::Stream::new(&router);
            let mut lines = Vec::new();
            for _ in 0..PIPELINE {
                lines.extend_from_slice(&case.request);
                lines.push(b'\n');
            }
            let mut out = Vec::new();
            for _ in 0..n {
                stream.handle_read(&router, black_box(&lines), &mut out);
                black_box(&out);
            }
        }
        "sansrpc_http" | "sansrpc_http_map" => {
            let endpoint = sansrpc::http::Endpoint::from(subject::router());
            let headers = http_subject::request_headers(case.request.len());
            let body = bytes::Bytes::from(case.request.clone());
            let owned = line == "sansrpc_http_map";
            for _ in 0..n {
                let reply = if owned {
                    http_subject::handle_map(&endpoint, headers.clone(), body.clone())
                } else {
                    http_subject::handle_view(&endpoint, &headers, body.clone())
                };
                black_box(reply);
            }
        }
        "typed_limit" => {
            let mut out = Vec::new();
            for _ in 0..n {
                typed_limit::handle(black_box(&case.request), &mut out);
                black_box(&out);
            }
        }
        "serde_json_limit" => {
            for _ in 0..n {
                black_box(limit::handle(black_box(&case.request)));
            }
        }
        "jsonrpsee" => {
            let module = peer::module().map_err(|e| e.to_string())?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(|e| e.to_string())?;
            for _ in 0..n {
                black_box(rt.block_on(peer::handle(&module, black_box(text))));
            }
        }
        other => return Err(format!("unknown line {other}")),
    }
    Ok(())
}
