#!/usr/bin/env bash
# The README's test command: installs dependencies, then builds and runs every test of the workspace.
# Full-size acceptance runs: CDC_TEST_FULL=1 scripts/test.sh (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

# Builds outlive the clone: CI clones afresh, and the same machine then reuses its compiled dependencies.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/root}/.cache/cdc-pipeline/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

cargo build --workspace --all-targets --locked
# Two test threads: each PostgreSQL-backed test starts its own cluster, and the machine has two cores.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked -- --test-threads="${CDC_TEST_THREADS:-2}" 2>&1 | tee "$log"

# deploy/: Prometheus config, alert rules and their promtool unit tests, the dashboard against the metrics contract.
echo "== scripts/check-deploy.sh =="
scripts/check-deploy.sh

# The README's first command, end to end: it fails unless every table matches between PostgreSQL and DuckDB.
echo "== scripts/demo.sh =="
scripts/demo.sh
echo "demo: ok"

# The bench at a tiny size, so that it keeps working (it judges no number; see README "Benchmarks"). It reuses the
# debug build above instead of building a release cdc; CDC_BIN, when set, names the binary to run instead.
echo "== scripts/bench.sh --tiny =="
mkdir -p "$CARGO_TARGET_DIR/tmp"
BENCH_NO_INSTALL=1 CDC_BIN="${CDC_BIN:-$CARGO_TARGET_DIR/debug/cdc}" \
  scripts/bench.sh --tiny --json "$CARGO_TARGET_DIR/tmp/bench-tiny.json"
echo "bench: ok"

# One closing line for the whole run (cargo prints one per test binary); the deploy check, the demo and the tiny
# bench count as one test each.
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p + 3, f }' "$log"
