#!/usr/bin/env bash
# The bench (DESIGN.md §8, issue 11): one throwaway PostgreSQL, workloads W1/W2/W3 drained by pg_recvlogical (TCP and
# Unix socket), Debezium Embedded, `cdc capture` (TCP and Unix socket) and `cdc run` into DuckDB, each on its own
# slot; snapshot vs COPY; commit → DuckDB latency at a fixed rate. Prints a table and writes JSON.
#   scripts/bench.sh                      full size (N=1000000, SNAPSHOT_ROWS=5000000, RATE=5000, DURATION=120)
#   scripts/bench.sh --tiny               what CI runs (N=2000): keeps the bench working; numbers mean little
#   N=100000 CONSUMERS=recv-tcp,cdc-tcp WORKLOADS=W1 scripts/bench.sh
# Knobs (environment or flags, see --help): N, SNAPSHOT_ROWS, RATE, DURATION, CONSUMERS, WORKLOADS, REPEAT,
# BENCH_JSON (--json), BENCH_CDC_SET, DEBEZIUM_PROPS, --keep, CDC_BIN or --cdc-bin (a built cdc: skips the build),
# BENCH_NO_INSTALL=1 (skips install-deps.sh).
# Exit status: 0 when every consumer ran (Debezium may be reported unavailable), 1 when one failed, 2 on setup errors.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)  # the caller's directory stays the current one: --json is relative to it

[ -n "${BENCH_NO_INSTALL:-}" ] || "$ROOT/scripts/install-deps.sh" >/dev/null
build=yes
for arg in "$@"; do
  case "$arg" in --cdc-bin|--cdc-bin=*) build= ;; esac  # a binary given as a flag: no build either
done
if [ -z "${CDC_BIN:-}" ] && [ -n "$build" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/root}/.cache/cdc-pipeline/target}"
  (cd "$ROOT" && cargo build -q --release -p cdc)
  CDC_BIN="$CARGO_TARGET_DIR/release/cdc"
fi
export CDC_BIN
exec python3 "$ROOT/scripts/bench/bench.py" "$@"
