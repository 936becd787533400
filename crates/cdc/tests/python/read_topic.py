#!/usr/bin/env python3
"""Reads a topic from the beginning until at least MIN records arrived (or TIMEOUT seconds passed) and prints
them as JSON lines: {"key": …, "value": …, "headers": {…}} with key and value parsed as JSON (null for none).

usage: read_topic.py BOOTSTRAP TOPIC MIN TIMEOUT
"""

import json
import sys
import time

from confluent_kafka import Consumer


def main():
    bootstrap, topic, wanted, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{topic}-{time.time()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    deadline, got = time.monotonic() + timeout, 0
    while got < wanted and time.monotonic() < deadline:
        msg = consumer.poll(1)
        if msg is None or msg.error():
            continue
        parse = lambda b: None if b is None else json.loads(b)
        headers = {k: (v.decode() if v is not None else None) for k, v in (msg.headers() or [])}
        print(json.dumps({"key": parse(msg.key()), "value": parse(msg.value()), "headers": headers}), flush=True)
        got += 1
    consumer.close()
    sys.exit(0 if got >= wanted else f"{topic}: {got} of {wanted} records within {timeout} s")


if __name__ == "__main__":
    main()
