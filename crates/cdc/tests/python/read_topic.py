#!/usr/bin/env python3
"""Reads a topic from the beginning until at least MIN records arrived (or TIMEOUT seconds passed) and prints
them as JSON lines: {"key": …, "value": …, "headers": {…}} with key and value parsed as JSON (null for none).
MIN 0: everything up to the end of every partition at the time of reading (for a topic nobody writes to now).

usage: read_topic.py BOOTSTRAP TOPIC MIN TIMEOUT
"""

import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition


def main():
    bootstrap, topic, wanted, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    to_end = wanted == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{topic}-{time.time()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "enable.partition.eof": to_end})
    deadline, got = time.monotonic() + timeout, 0
    # Partitions assigned directly (no group rebalance to wait for), once the topic exists. All topics are
    # listed: asking tansu for one topic's metadata would create it.
    while True:
        metadata = consumer.list_topics(timeout=10).topics.get(topic)
        if metadata is not None and metadata.partitions:
            break
        if time.monotonic() > deadline:
            sys.exit(f"{topic}: no such topic within {timeout} s")
        time.sleep(0.2)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions])
    open_partitions = set(metadata.partitions)
    while (got < wanted or (to_end and open_partitions)) and time.monotonic() < deadline:
        msg = consumer.poll(1)
        if msg is not None and msg.error() and msg.error().code() == KafkaError._PARTITION_EOF:
            open_partitions.discard(msg.partition())
            continue
        if msg is None or msg.error():
            continue
        parse = lambda b: None if b is None else json.loads(b)
        headers = {k: (v.decode() if v is not None else None) for k, v in (msg.headers() or [])}
        print(json.dumps({"key": parse(msg.key()), "value": parse(msg.value()), "headers": headers}), flush=True)
        got += 1
    consumer.close()
    if to_end and open_partitions:
        sys.exit(f"{topic}: partitions {sorted(open_partitions)} not read to their end within {timeout} s")
    sys.exit(0 if got >= wanted else f"{topic}: {got} of {wanted} records within {timeout} s")


if __name__ == "__main__":
    main()
