#!/usr/bin/env bash
# The README's first command: a throwaway PostgreSQL on loopback, a small table, and `cdc capture` streaming its
# changes to this terminal. Everything is removed at the end. Set KEEP=1 to leave the cluster running.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh >/dev/null
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cdc-pipeline/target}"
cargo build -q -p cdc
CDC="$CARGO_TARGET_DIR/debug/cdc"

BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DIR=$(mktemp -d /tmp/cdc-demo-XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
AS=()
if [ "$(id -u)" -eq 0 ]; then chown postgres "$DIR"; AS=(runuser -u postgres --); fi
echo "demo-password" > "$DIR/pw"
"${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --auth=scram-sha-256 --pwfile="$DIR/pw" >/dev/null
cat >> "$DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
wal_level = logical
CONF
"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start >/dev/null
cleanup() {
  [ -n "${CAPTURE:-}" ] && kill "$CAPTURE" 2>/dev/null || true
  if [ -z "${KEEP:-}" ]; then "${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null || true; rm -rf "$DIR"; fi
}
trap cleanup EXIT

export POSTGRES_HOST=127.0.0.1 POSTGRES_PORT=$PORT POSTGRES_DB=postgres POSTGRES_USER=postgres POSTGRES_PASSWORD=demo-password
psql() { PGPASSWORD=$POSTGRES_PASSWORD command psql -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }
psql -c "CREATE TABLE customers (customer_id serial PRIMARY KEY, name text NOT NULL, email text, balance numeric(10,2));
         ALTER TABLE customers REPLICA IDENTITY FULL;
         INSERT INTO customers (name, email, balance) VALUES ('Ada', 'ada@example.com', 10.50), ('Linus', 'linus@example.com', 0);"

echo "== cdc capture (snapshot, then streaming) on 127.0.0.1:$PORT =="
"$CDC" capture --output - &
CAPTURE=$!
# Write once the slot exists, so the changes below stream (rather than land in the snapshot).
for _ in $(seq 100); do
  [ "$(psql -Atc "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc_slot'")" = 1 ] && break
  sleep 0.1
done
psql -c "INSERT INTO customers (name, email, balance) VALUES ('Grace', 'grace@example.com', 99.99);
         UPDATE customers SET balance = balance + 1 WHERE name = 'Ada';
         DELETE FROM customers WHERE name = 'Linus';"
sleep "${DEMO_SECONDS:-3}"
kill -TERM "$CAPTURE"; wait "$CAPTURE" || true
CAPTURE=""
echo "== done: the slot 'cdc_slot' confirmed up to $(psql -Atc "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name='cdc_slot'") =="
