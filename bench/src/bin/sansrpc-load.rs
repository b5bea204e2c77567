//! A JSON-RPC load generator for loopback HTTP and newline-TCP servers.
//!
//! ```text
//! sansrpc-load --url http://127.0.0.1:5000/ --connections 64 --duration 5s [--pipeline 16]
//! sansrpc-load --url tcp://127.0.0.1:5001 --connections 64 --duration 5s --pipeline 16
//! ```
//!
//! One thread, N keep-alive connections, a fixed request (default: `ping`),
//! bounded in time; prints requests/s and p50/p99 latency (`--json` for a
//! machine-readable line).

use std::time::Duration;

use sansrpc_bench::inputs::PING;
use sansrpc_bench::load::{self, LoadConfig, parse_duration, parse_url};

const USAGE: &str = "usage: sansrpc-load --url http://127.0.0.1:PORT/PATH|tcp://127.0.0.1:PORT \
[--connections 64] [--duration 5s] [--warmup 1s] [--pipeline 1] [--body JSON] [--json]";

fn main() {
    if let Err(e) = run() {
        eprintln!("sansrpc-load: {e}\n{USAGE}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut url = None;
    let mut connections = 64usize;
    let mut duration = Duration::from_secs(5);
    let mut warmup = Duration::from_secs(1);
    let mut pipeline = 1usize;
    let mut body = PING.to_owned();
    let mut json = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--json" {
            json = true;
            continue;
        }
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            return Ok(());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => url = Some(value),
            "--connections" | "-c" => connections = value.parse().map_err(|e| format!("{flag}: {e}"))?,
            "--duration" | "-d" => duration = parse_duration(&value)?,
            "--warmup" => warmup = parse_duration(&value)?,
            "--pipeline" | "-p" => pipeline = value.parse().map_err(|e| format!("{flag}: {e}"))?,
            "--body" => body = value,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    let url = url.ok_or("--url is required")?;
    let (addr, protocol) = parse_url(&url)?;
    if !(1..=20_000).contains(&connections) || !(1..=4096).contains(&pipeline) {
        return Err("connections must be 1..=20000 and pipeline 1..=4096".into());
    }
    let config = LoadConfig {
        addr,
        protocol,
        connections,
        pipeline,
        warmup,
        duration,
        body: body.into_bytes(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = rt.block_on(load::run(&config)).map_err(|e| e.to_string())?;
    if json {
        println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    } else {
        println!(
            "{url}: {} connections, pipeline {}, {:.1}s: {:.0} req/s, p50 {:.0} µs, p99 {:.0} µs, {} errors",
            report.connections,
            report.pipeline,
            report.seconds,
            report.rps,
            report.p50_us,
            report.p99_us,
            report.errors
        );
    }
    Ok(())
}
