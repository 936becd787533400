#!/usr/bin/env python3
"""An unmodified Confluent Avro consumer rebuilds tables from cdc's Avro topics.

Usage: avro_rows.py BOOTSTRAP REGISTRY_URL TOPIC …

Reads every partition of each topic from the beginning to its end, decodes every key and value with
confluent-kafka's SchemaRegistryClient + AvroDeserializer (no cdc code), applies the Debezium envelopes (c/u/r
set the key's row, d removes it, a truncate, sent to every partition, clears the rows of its partition) and prints one JSON object: per topic the final rows, each value as text
(decimals as written, floats as PostgreSQL prints them, timestamps ISO 8601, UUIDs in canonical form, booleans
true/false), and the
number of messages decoded. Any record that does not decode makes it exit 1.
"""

import datetime
import decimal
import json
import sys
import uuid

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, float):  # as PostgreSQL prints float8: 3, not 3.0
        shortest = repr(value)
        return shortest[:-2] if shortest.endswith(".0") else shortest
    if isinstance(value, (decimal.Decimal, uuid.UUID, int, str)):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return json.dumps(value, sort_keys=True)


def main():
    bootstrap, registry_url, topics = sys.argv[1], sys.argv[2], sys.argv[3:]
    registry = SchemaRegistryClient({"url": registry_url})
    deserialize = AvroDeserializer(registry)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "avro-rows", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    assignment, remaining = [], {}
    for topic in topics:
        metadata = consumer.list_topics(topic, timeout=30).topics[topic]
        if metadata.error is not None:
            sys.exit(f"{topic}: {metadata.error}")
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
            if high > low:
                assignment.append(TopicPartition(topic, partition, low))
                remaining[(topic, partition)] = high
    consumer.assign(assignment)
    rows = {topic: {} for topic in topics}
    decoded = {topic: 0 for topic in topics}
    # To the high watermarks, then on until quiet (tansu's watermarks can trail what it serves).
    while True:
        msg = consumer.poll(30 if remaining else 3)
        if msg is None:
            if remaining:
                sys.exit(f"no message within 30 s; still expecting {remaining}")
            break
        if msg.error():
            sys.exit(f"consumer error: {msg.error()}")
        topic = msg.topic()
        if msg.offset() + 1 >= remaining.get((topic, msg.partition()), 0):
            remaining.pop((topic, msg.partition()), None)
        key = deserialize(msg.key(), SerializationContext(topic, MessageField.KEY))
        value = deserialize(msg.value(), SerializationContext(topic, MessageField.VALUE))
        decoded[topic] += 1
        if value is None or "op" not in value:  # a tombstone, or a transaction marker
            continue
        partition = msg.partition()
        if value["op"] == "t":  # sent to every partition: each clears the rows keyed to it
            rows[topic] = {k: r for k, r in rows[topic].items() if r[0] != partition}
            continue
        row_key = json.dumps({k: text(v) for k, v in key.items()}, sort_keys=True)
        if value["op"] == "d":
            rows[topic].pop(row_key, None)
        else:
            rows[topic][row_key] = (partition, {k: text(v) for k, v in value["after"].items()})
    consumer.close()
    print(json.dumps({"decoded": decoded, "rows": {t: [row for _, row in r.values()] for t, r in rows.items()}}))


if __name__ == "__main__":
    main()
