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

echo "== cdc db init: the seed's tables, sample data, replication role cdc_replicator, publication =="
CDC_REPLICATION_PASSWORD=replicator-pw "$CDC" db init

echo "== cdc capture as cdc_replicator (snapshot, then streaming) → $DIR/events.jsonl =="
EVENTS="$DIR/events.jsonl"
POSTGRES_USER=cdc_replicator POSTGRES_PASSWORD=replicator-pw CDC_TOPIC_TEMPLATE='{prefix}.{table}' \
  "$CDC" capture --output "$EVENTS" 2>"$DIR/capture.log" &
CAPTURE=$!
# Write once the slot exists, so the changes below stream (rather than land in the snapshot).
for _ in $(seq 100); do
  [ "$(psql -Atc "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc_slot'")" = 1 ] && break
  sleep 0.1
done

echo "== cdc ingest --from-dir examples/jsearch: 58 job postings into linkedin_jobs =="
"$CDC" ingest --from-dir examples/jsearch
psql -c "UPDATE customers SET email = 'ada@new.example' WHERE customer_id = 1;
         DELETE FROM orders WHERE order_id = 5;"

# Wait (up to DEMO_SECONDS) for the streamed changes to reach the file, then stop capture cleanly.
for _ in $(seq $(( ${DEMO_SECONDS:-10} * 10 ))); do
  grep -q '"ada@new.example"' "$EVENTS" 2>/dev/null && grep -q '"op":"d"' "$EVENTS" && break
  sleep 0.1
done
kill -TERM "$CAPTURE"; wait "$CAPTURE" || { cat "$DIR/capture.log"; exit 1; }
CAPTURE=""

echo "== events by topic and op (r = snapshot, c = insert, u = update, d = delete) =="
python3 - "$EVENTS" <<'PY'
import collections, json, sys
counts = collections.Counter()
sample = None
for line in open(sys.argv[1]):
    record = json.loads(line)
    value = record["value"]
    op = value["op"] if value else "tombstone"
    counts[(record["topic"], op)] += 1
    if value and op == "u" and record["topic"] == "cdc.customers":
        sample = record
for (topic, op), n in sorted(counts.items()):
    print(f"  {topic:<28} {op:<10} {n}")
print("== one update, as a Debezium consumer receives it ==")
print(json.dumps(sample, indent=2)[:2000])
PY
echo "== the slot 'cdc_slot' confirmed up to $(psql -Atc "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name='cdc_slot'") =="
