#!/usr/bin/env bash
# Runs every fuzz target for a short, bounded time on nightly.
#
#   fuzz/smoke.sh            # 20 s per target
#   FUZZ_SECONDS=180 fuzz/smoke.sh [target...]   # longer runs, some targets
#
# Without a nightly toolchain it prints "fuzz smoke: SKIPPED (no nightly
# toolchain)" and exits 0. New inputs go to fuzz/work/<target> (ignored by
# git); the checked-in fuzz/corpus/<target> is only read. A crash leaves its
# input in fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
seconds="${FUZZ_SECONDS:-20}"
if [ "${CI:-}" = "true" ]; then
    seconds="${FUZZ_SECONDS:-60}"
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(framers parse_message parse_reader differential server client params router)
fi

if ! command -v rustup >/dev/null 2>&1 || ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz smoke: SKIPPED (no nightly toolchain)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz smoke: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# Known, reported core bugs (fuzz/regressions/OPEN_BUGS) must not hide new
# ones; the stable replay test keeps them failing until they are fixed.
export SANSRPC_FUZZ_TOLERATE_OPEN_BUGS=1

# In CI (CI=true) the smoke is reproducible: a fixed seed and a fixed number
# of runs (time stays a cap), so a green main stays green and any crash the
# smoke finds can be replayed exactly. Locally it explores freely.
extra=()
if [ "${CI:-}" = "true" ]; then
    extra=(-seed="${FUZZ_SEED:-1}" -runs="${FUZZ_RUNS:-30000}")
fi

cargo +nightly fuzz build -O
mkdir -p work logs
failed=()
for t in "${targets[@]}"; do
    mkdir -p "work/$t"
    log="logs/$t.log"
    if nice -n 10 cargo +nightly fuzz run -O "$t" "work/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}" >"$log" 2>&1; then
        last="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
        runs="$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)"
        echo "fuzz smoke: $t ok (${seconds}s, ${runs:-?} execs) ${last}"
    else
        echo "fuzz smoke: $t FAILED (see fuzz/$log)"
        grep -E 'panicked at|Test unit written|SUMMARY' "$log" | head -n 5 || true
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke: FAILED: ${failed[*]}"
    exit 1
fi
echo "fuzz smoke: passed (${#targets[@]} targets, ${seconds}s each)"
