#!/usr/bin/env bash
# Streaming-capture throughput, side by side on one backlog: pg_recvlogical (the walsender's limit) and
# `cdc capture` (JSON lines to /dev/null), each on its own slot created before the workload.
#   N=200000 scripts/bench-capture.sh        (single-row INSERT transactions, DESIGN.md §8 workload W1)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200000}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/root}/.cache/cdc-pipeline/target}"
cargo build -q --release -p cdc
CDC="$CARGO_TARGET_DIR/release/cdc"
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DIR=$(mktemp -d /tmp/cdc-bench-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
AS=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$DIR"; AS=(runuser -u postgres --); fi
"${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust >/dev/null
cat >> "$DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
wal_level = logical
max_wal_size = 4GB
synchronous_commit = off
CONF
"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start >/dev/null
trap '"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null; rm -rf "$DIR"' EXIT
psql() { command psql -qAt -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }
psql -c "CREATE TABLE bench (id bigserial PRIMARY KEY, name text, amount numeric(12,2), qty int,
           created_at timestamptz DEFAULT now(), tags jsonb, note text);
         CREATE PUBLICATION dbz_publication FOR TABLE bench;"
psql -c "SELECT pg_create_logical_replication_slot('recv', 'pgoutput')" >/dev/null
psql -c "SELECT pg_create_logical_replication_slot('cdc_slot', 'pgoutput')" >/dev/null
echo "INSERT INTO bench (name, amount, qty, tags, note) VALUES ('name ' || random(), 12.34, 7, '{\"a\": [1, 2]}', repeat('x', 60));" > "$DIR/insert.sql"
"$BIN/pgbench" -n -h 127.0.0.1 -p "$PORT" -U postgres -c 4 -j 2 -t $((N / 4)) -f "$DIR/insert.sql" postgres >/dev/null
END=$(psql -c "SELECT pg_current_wal_insert_lsn()")
psql -c "SELECT pg_switch_wal()" >/dev/null
echo "backlog: $N single-row transactions, $(psql -c "SELECT pg_size_pretty(pg_wal_lsn_diff('$END', '0/0'))") of WAL"

t0=$(date +%s.%N)
"$BIN/pg_recvlogical" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres --slot recv --start -E "$END" \
  -o proto_version=1 -o publication_names=dbz_publication -f /dev/null
t1=$(date +%s.%N)
echo "pg_recvlogical (TCP): $(python3 -c "print(f'{$N / ($t1 - $t0):,.0f} events/s')")"

export POSTGRES_HOST=127.0.0.1 POSTGRES_PORT=$PORT POSTGRES_DB=postgres POSTGRES_USER=postgres CDC_LOG=warn
printf '[source]\ntables = ["bench"]\nsnapshot_mode = "never"\n[pipeline]\nbatch_size = 5000\n' > "$DIR/cdc.toml"
t0=$(date +%s.%N)
"$CDC" --config "$DIR/cdc.toml" capture --output /dev/null &
CAP=$!
until [ "$(psql -c "SELECT confirmed_flush_lsn >= '$END' FROM pg_replication_slots WHERE slot_name = 'cdc_slot'")" = t ]; do
  kill -0 $CAP 2>/dev/null || { echo "cdc capture exited early" >&2; exit 1; }
  sleep 0.05
done
t1=$(date +%s.%N)
# CPU seconds (utime + stime, in clock ticks) and peak RSS of the capture process.
read -r utime stime < <(awk '{print $14, $15}' "/proc/$CAP/stat")
rss=$(awk '/VmHWM/ {print $2}' "/proc/$CAP/status")
kill -TERM $CAP; wait $CAP || true
ticks=$(getconf CLK_TCK)
python3 - <<PY
n, secs = $N, $t1 - $t0
cpu = ($utime + $stime) / $ticks
print(f"cdc capture (TCP, JSON lines to /dev/null): {n / secs:,.0f} events/s, "
      f"{cpu / n * 1e6:.1f} µs CPU per event, peak RSS {$rss / 1024:.0f} MiB")
PY
