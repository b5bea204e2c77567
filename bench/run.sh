#!/usr/bin/env bash
# Regenerates BENCHMARKS.md at the repository root from one run:
#   1. criterion: the core benchmark (sansrpc vs the serde_json limit vs jsonrpsee);
#   2. the server load matrix (four adapters, bare frameworks, jsonrpsee HTTP,
#      raw tokio line server) at 1, 64 and 256 connections, plus pipelined TCP;
#   3. server RSS with 10,000 idle TCP connections;
# then writes the tables, the machine and the ratios.
#
# Knobs (environment): BENCH_WARMUP_SECS / BENCH_MEASURE_SECS (criterion, per
# line; default 1 / 3), LOAD_SECS (per load cell; default 3), IDLE_CONNECTIONS
# (default 10000). Everything targets 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")"

# 10,000 connections need 10,000 descriptors on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
LOAD_BEFORE=$(cat /proc/loadavg)
export BENCH_WARMUP_SECS=${BENCH_WARMUP_SECS:-1}
export BENCH_MEASURE_SECS=${BENCH_MEASURE_SECS:-3}
LOAD_SECS=${LOAD_SECS:-3}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}

echo "== building (niced)" >&2
nice -n 10 cargo build --release --bins
nice -n 10 cargo bench --bench core --no-run

echo "== core benchmark (criterion)" >&2
rm -rf target/criterion
cargo bench --bench core

echo "== server load matrix" >&2
PIN=()
PINNED=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    # Generator on CPU 1; each server is started on CPU 0.
    PIN=(taskset -c 1)
    PINNED=(--pinned)
fi
"${PIN[@]}" target/release/sansrpc-matrix load --out target/load.json \
    --duration "${LOAD_SECS}s" --warmup 0.5s --idle "$IDLE_CONNECTIONS" ${PINNED:+--pin}

echo "== writing BENCHMARKS.md" >&2
target/release/sansrpc-matrix report --load target/load.json --criterion target/criterion \
    --findings FINDINGS.md --out ../BENCHMARKS.md --load-before "$LOAD_BEFORE" "${PINNED[@]}"
echo "wrote $(cd .. && pwd)/BENCHMARKS.md" >&2
