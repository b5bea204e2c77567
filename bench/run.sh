#!/usr/bin/env bash
# Regenerates BENCHMARKS.md at the repository root from one run:
#   1. criterion: the core benchmark (sansrpc vs the typed limit vs the serde_json
#      `Value` limit vs jsonrpsee), and the same lines in callgrind instructions;
#   2. the server load matrix (four adapters, bare frameworks, jsonrpsee HTTP,
#      raw tokio and smol line servers) at 1, 64 and 256 connections, plus
#      pipelined TCP, and the typed-limit servers (each bare server or line
#      echo running the typed limit: the ceiling of any JSON-RPC server on it)
#      at 64 connections; each cell also reads the server's CPU time
#      (/proc/<pid>/task/*/schedstat) around its measured window;
#   3. server RSS with 10,000 idle TCP connections;
#   4. where valgrind is installed, each goal's servers' CPU per request under
#      callgrind (instructions in a fixed window of load at 64 connections ÷
#      the requests answered in it), one server at a time;
# then writes the tables, the machine, the ratios and the issue's targets, and
# appends the hand-written sections verbatim: FINDINGS.md (the profiles) and
# NOTES.md (before/after measurements of single changes). Edit those two
# files, never BENCHMARKS.md itself: it is regenerated from scratch.
#
# Knobs (environment): BENCH_WARMUP_SECS / BENCH_MEASURE_SECS (criterion, per
# line; default 1 / 3), LOAD_SECS (per load cell and round; default 2), LOAD_ROUNDS (default 2; each cell keeps its best round), IDLE_CONNECTIONS
# (default 10000), CPU_SECS (the callgrind window per server; default 3; 0
# skips step 4), BENCH_SERVERS (a comma-separated list of server names for
# steps 2 and 4; default all), BENCH_OUT (where the document is written;
# default ../BENCHMARKS.md: a partial run belongs in a scratch file),
# BENCH_CORE (0 skips step 1, for a partial run of the servers only).
# Everything targets 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "$0")"

# 10,000 connections need 10,000 descriptors on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
LOAD_BEFORE=$(cat /proc/loadavg)
export BENCH_WARMUP_SECS=${BENCH_WARMUP_SECS:-1}
export BENCH_MEASURE_SECS=${BENCH_MEASURE_SECS:-3}
LOAD_SECS=${LOAD_SECS:-2}
LOAD_ROUNDS=${LOAD_ROUNDS:-2}
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
CPU_SECS=${CPU_SECS:-3}
OUT=${BENCH_OUT:-../BENCHMARKS.md}
SERVERS=()
[ -n "${BENCH_SERVERS:-}" ] && SERVERS=(--servers "$BENCH_SERVERS")

echo "== building (niced)" >&2
# Adapters are features: one whose crate does not build right now is left
# out (and reported as not measured) rather than failing the whole run.
if [ -n "${BENCH_FEATURES:-}" ]; then
    FEATURES=$BENCH_FEATURES
elif nice -n 10 cargo build --release --bins; then
    FEATURES=default
else
    ok=()
    for f in tokio-adapter smol-adapter actix-adapter warp-adapter; do
        if nice -n 10 cargo build --release --lib --no-default-features --features "$f"; then
            ok+=("$f")
        else
            echo "warning: $f does not build; its server is left out of this run" >&2
        fi
    done
    FEATURES=$(IFS=,; echo "${ok[*]:-}")
fi
CARGO_FLAGS=(--release --no-default-features --features "$FEATURES")
[ "$FEATURES" = default ] && CARGO_FLAGS=(--release)
nice -n 10 cargo build "${CARGO_FLAGS[@]}" --bins
[ "${BENCH_CORE:-1}" = 0 ] || nice -n 10 cargo bench "${CARGO_FLAGS[@]:1}" --bench core --no-run

CRITERION=target/criterion
: > target/instructions.tsv
if [ "${BENCH_CORE:-1}" = 0 ]; then
    echo "== BENCH_CORE=0: the core benchmark is left out" >&2
    CRITERION=target/no-criterion
else
    echo "== core benchmark (criterion)" >&2
    rm -rf target/criterion
    cargo bench "${CARGO_FLAGS[@]:1}" --bench core

    echo "== core instruction counts (callgrind)" >&2
    # Instructions per request do not depend on how busy the machine is: two runs
    # of N1 and N2 iterations, the difference divided by N2 - N1.
    if command -v valgrind >/dev/null; then
        ir() {
            valgrind --tool=callgrind --callgrind-out-file=/dev/null \
                target/release/sansrpc-core-profile "$1" "$2" "$3" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
        }
        for case in ping subtract_positional subtract_named batch_100 params_1mib parse_error; do
            case $case in
                params_1mib) n1=1 n2=3 ;;
                batch_100) n1=5 n2=55 ;;
                *) n1=10 n2=1010 ;;
            esac
            for line in sansrpc sansrpc_stream typed_limit serde_json_limit jsonrpsee; do
                a=$(ir $line $case $n1)
                b=$(ir $line $case $n2)
                echo -e "$case\t$line\t$(( (b - a) / (n2 - n1) ))" >> target/instructions.tsv
            done
        done
    fi
fi

echo "== server load matrix" >&2
PIN=()
PINNED=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    # Generator on CPU 1; each server is started on CPU 0.
    PIN=(taskset -c 1)
    PINNED=(--pinned)
fi
"${PIN[@]}" target/release/sansrpc-matrix load --out target/load.json \
    --duration "${LOAD_SECS}s" --warmup 0.5s --rounds "$LOAD_ROUNDS" --idle "$IDLE_CONNECTIONS" ${PINNED:+--pin} "${SERVERS[@]}"

echo "== server CPU per request (callgrind)" >&2
rm -f target/cpu.json
if [ "$CPU_SECS" = 0 ]; then
    echo "CPU_SECS=0: the server CPU table is left out" >&2
elif command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
    # Each server under callgrind on CPU 0, the generator on CPU 1; a server
    # that fails is killed and listed as not measured.
    "${PIN[@]}" target/release/sansrpc-matrix cpu --out target/cpu.json --duration "${CPU_SECS}s" \
        --warmup 1s --dir target/callgrind ${PINNED:+--pin} "${SERVERS[@]}"
else
    echo "valgrind or callgrind_control not found: the server CPU table is left out" >&2
fi

echo "== writing $OUT" >&2
# The hand-written sections, kept verbatim after the generated tables.
{ cat FINDINGS.md; echo; cat NOTES.md; } > target/appendix.md
target/release/sansrpc-matrix report --load target/load.json --criterion "$CRITERION" \
    --findings target/appendix.md --instructions target/instructions.tsv --cpu target/cpu.json \
    --out "$OUT" --load-before "$LOAD_BEFORE" "${PINNED[@]}"
echo "wrote $OUT" >&2
