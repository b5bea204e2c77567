//! Starts one benchmark server on a loopback port and prints
//! `listening <addr>`; it exits by itself after `--lifetime`.
//!
//! `sansrpc-bench-server KIND [--addr 127.0.0.1:0] [--max-connections N] [--lifetime 900s]`

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use sansrpc_bench::load::parse_duration;
use sansrpc_bench::servers::{self, Kind};

fn usage() -> String {
    let kinds: Vec<_> = Kind::ALL.iter().chain(&Kind::EXTRA).map(|k| k.name()).collect();
    format!(
        "usage: sansrpc-bench-server KIND [--addr 127.0.0.1:0] [--max-connections N] [--lifetime 900s]\nkinds: {}",
        kinds.join(", ")
    )
}

fn main() {
    if let Err(e) = run() {
        eprintln!("sansrpc-bench-server: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let kind_name = args.next().ok_or_else(usage)?;
    let kind = Kind::from_name(&kind_name).ok_or_else(usage)?;
    let mut addr: SocketAddr = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    let mut max_connections = 20_000;
    let mut lifetime = Duration::from_secs(900);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))?;
        match flag.as_str() {
            "--addr" => addr = value.parse().map_err(|e| format!("--addr: {e}"))?,
            "--max-connections" => {
                max_connections = value.parse().map_err(|e| format!("--max-connections: {e}"))?
            }
            "--lifetime" => lifetime = parse_duration(&value)?,
            _ => return Err(usage()),
        }
    }
    let listener = servers::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // The harness reads this line to learn the port.
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening {local}").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    drop(out);
    // A forgotten server must not outlive the benchmark.
    std::thread::spawn(move || {
        std::thread::sleep(lifetime);
        std::process::exit(0);
    });
    servers::serve(kind, listener, max_connections).map_err(|e| format!("{}: {e}", kind.name()))
}
