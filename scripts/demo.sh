#!/usr/bin/env bash
# The README's first command: the embedded pipeline end to end on this machine.
#
#   PostgreSQL (project-local, .demo/pg) ─ cdc db init ─ cdc ingest --from-dir examples/jsearch
#        └─ cdc run ──▶ DuckDB (.demo/warehouse.duckdb) ─ cdc verify: source vs DuckDB, table by table
#
# A second run reuses the cluster, the slot and the warehouse. Everything this script starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
scripts/install-deps.sh >/dev/null
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/root}/.cache/cdc-pipeline/target}"
echo "== building cdc =="
cargo build -q -p cdc
CDC="$CARGO_TARGET_DIR/debug/cdc"

DEMO="$ROOT/.demo"
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
# A free port when the cluster is created; the same one (from its postgresql.conf) when it is reused.
if [ -f "$DEMO/pg/postgresql.conf" ]; then
  PORT=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$DEMO/pg/postgresql.conf" | tail -1)
else
  PORT=${DEMO_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
fi
AS=()
mkdir -p "$DEMO"
if [ "$(id -u)" -eq 0 ]; then AS=(runuser -u postgres --); fi

if [ ! -f "$DEMO/pg/PG_VERSION" ]; then
  echo "== creating a PostgreSQL cluster in $DEMO/pg (port $PORT) =="
  mkdir -p "$DEMO/pg" "$DEMO/run"
  echo "demo-password" > "$DEMO/pw"
  [ ${#AS[@]} -eq 0 ] || chown -R postgres "$DEMO/pg" "$DEMO/run" "$DEMO/pw"
  "${AS[@]}" "$BIN/initdb" -D "$DEMO/pg" -U postgres --auth=scram-sha-256 --pwfile="$DEMO/pw" >/dev/null
  cat >> "$DEMO/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DEMO/run'
wal_level = logical
CONF
fi
echo "== starting PostgreSQL on 127.0.0.1:$PORT =="
"${AS[@]}" "$BIN/pg_ctl" -D "$DEMO/pg" -l "$DEMO/run/pg.log" -w start >/dev/null
RUN=""
cleanup() {
  [ -n "$RUN" ] && kill -TERM "$RUN" 2>/dev/null && wait "$RUN" 2>/dev/null || true
  "${AS[@]}" "$BIN/pg_ctl" -D "$DEMO/pg" -m fast -w stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

export POSTGRES_HOST=127.0.0.1 POSTGRES_PORT=$PORT POSTGRES_DB=postgres POSTGRES_USER=postgres POSTGRES_PASSWORD=demo-password
export CDC_DUCKDB_PATH="$DEMO/warehouse.duckdb"
psql() { PGPASSWORD=$POSTGRES_PASSWORD command psql -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }
caught_up() {
  [ "$(psql -Atc "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cdc_slot' AND active
                  AND confirmed_flush_lsn >= pg_current_wal_insert_lsn()")" = 1 ]
}

echo "== cdc db init: the seed's tables, sample data, replication role cdc_replicator, publication =="
CDC_REPLICATION_PASSWORD=replicator-pw "$CDC" db init

echo "== cdc ingest --from-dir examples/jsearch: job postings from saved JSearch responses =="
"$CDC" ingest --from-dir examples/jsearch

echo "== cdc run as cdc_replicator over the Unix socket in $DEMO/run: snapshot, then streaming into $CDC_DUCKDB_PATH =="
# A host that is a directory is a Unix socket directory (libpq's rule); the local socket is the faster transport.
POSTGRES_HOST="$DEMO/run" POSTGRES_USER=cdc_replicator POSTGRES_PASSWORD=replicator-pw "$CDC" run 2>"$DEMO/run.log" &
RUN=$!
for _ in $(seq 600); do caught_up && break; kill -0 "$RUN" 2>/dev/null || { cat "$DEMO/run.log"; exit 1; }; sleep 0.1; done

echo "== a stream of changes: inserts, updates and deletes on customers, products and orders =="
for i in $(seq 1 5); do
  psql -c "INSERT INTO customers (first_name, last_name, email) VALUES ('Demo', 'Customer $i', 'demo$i.$RANDOM@example.com');
           UPDATE products SET price = price + 1 WHERE product_id = $i;
           UPDATE orders SET status = 'shipped' WHERE order_id = (SELECT min(order_id) FROM orders WHERE status <> 'shipped');"
  echo "  batch $i: 1 customer inserted, product $i repriced, an order shipped"
done
psql -c "DELETE FROM orders WHERE order_id = (SELECT max(order_id) FROM orders);
         DELETE FROM customers WHERE email LIKE 'demo1.%';"
echo "  deleted the newest order (its items cascade) and a demo customer"
for _ in $(seq 600); do caught_up && break; sleep 0.1; done
kill -TERM "$RUN"; wait "$RUN" || { cat "$DEMO/run.log"; exit 1; }
RUN=""

echo "== source vs DuckDB =="
"$CDC" verify
cat <<EOF2

Query the warehouse:
  duckdb $CDC_DUCKDB_PATH "SELECT * FROM public.customers LIMIT 5"     (DuckDB CLI)
  python3 -c "import duckdb; print(duckdb.connect('$CDC_DUCKDB_PATH').sql('SELECT count(*) FROM public.linkedin_jobs'))"
Run this script again: it resumes from where the slot and the warehouse left off.
EOF2
