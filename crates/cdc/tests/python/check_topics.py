#!/usr/bin/env python3
"""An unmodified external client (confluent-kafka) reads cdc's topics and checks the Debezium contract.

Usage: check_topics.py BOOTSTRAP [--transactions TOPIC] TOPIC=KEYCOL[,KEYCOL…] …

Reads every partition of each topic from the beginning to its current end and checks that
  - each value is a Debezium envelope (`{schema, payload}` or bare): before/after/source/op/ts_ms, op in
    c/u/d/r/t, before/after present as the op requires, source naming postgresql, the schema and the table;
  - each key is exactly the primary-key columns of the row (after for c/u/r, before for d);
  - a tombstone (null value) follows a delete of the same key;
  - source.lsn never decreases for a key (per-key order survives partitioning);
  - with --transactions: every transaction has one BEGIN and one END on that topic, and END's event_count and
    per-table counts equal the data messages carrying that transaction id (a truncate, sent to every
    partition, counts once).
Prints one JSON summary line on stdout; exits 1 listing the first violations on stderr.
"""

import json
import sys

from confluent_kafka import Consumer, TopicPartition

ENVELOPE_FIELDS = {"before", "after", "source", "op", "ts_ms"}
SOURCE_FIELDS = {"version", "connector", "name", "ts_ms", "snapshot", "db", "schema", "table", "txId", "lsn"}


def main():
    bootstrap, specs = sys.argv[1], sys.argv[2:]
    transactions_topic = None
    if specs[:1] == ["--transactions"]:
        transactions_topic, specs = specs[1], specs[2:]
    keys = {topic: cols.split(",") for topic, cols in (s.split("=", 1) for s in specs)}
    if transactions_topic:
        keys[transactions_topic] = ["id"]
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "external-check",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    assignment, ends = [], {}
    for topic in keys:
        metadata = consumer.list_topics(topic, timeout=30).topics[topic]
        if metadata.error is not None:
            fail([f"{topic}: {metadata.error}"])
        for partition in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
            if high > low:
                assignment.append(TopicPartition(topic, partition, low))
                ends[(topic, partition)] = high
    consumer.assign(assignment)

    errors, summary = [], {"messages": 0, "tombstones": 0, "ops": {}, "partitions": len(ends)}
    last_lsn, last_delete = {}, {}
    markers, in_transaction, truncates_seen = {}, {}, set()
    # Read to the high watermarks, then on until the topics are quiet: some brokers (tansu) report a high
    # watermark that trails the records they serve.
    remaining = dict(ends)
    while True:
        msg = consumer.poll(30 if remaining else 3)
        if msg is None:
            if remaining:
                fail([f"no message within 30 s; still expecting {remaining}"])
            break
        if msg.error():
            fail([f"consumer error: {msg.error()}"])
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        where = f"{topic}[{partition}]@{offset}"
        if offset + 1 >= remaining.get((topic, partition), 0):
            remaining.pop((topic, partition), None)
        key = json.loads(msg.key()) if msg.key() is not None else None
        if msg.value() is None:
            summary["tombstones"] += 1
            if key is None or last_delete.get((topic, json.dumps(key, sort_keys=True))) is not True:
                errors.append(f"{where}: tombstone not preceded by a delete of key {key}")
            continue
        value = json.loads(msg.value())
        payload = value["payload"] if isinstance(value, dict) and "payload" in value and "schema" in value else value
        if topic == transactions_topic:
            markers.setdefault(payload["id"], []).append(payload)
            continue
        summary["messages"] += 1
        block = payload.get("transaction")
        if block is not None:
            source = payload["source"]
            if payload.get("op") == "t":
                copy = (topic, source["lsn"])
                if copy in truncates_seen:
                    block = None
                truncates_seen.add(copy)
            if block is not None:
                table = f'{source["schema"]}.{source["table"]}'
                counts = in_transaction.setdefault(block["id"], {})
                counts[table] = counts.get(table, 0) + 1
        errors.extend(f"{where}: {e}" for e in check_envelope(payload, key, keys[topic]))
        op = payload.get("op")
        summary["ops"][op] = summary["ops"].get(op, 0) + 1
        if key is not None:
            k = (topic, json.dumps(key, sort_keys=True))
            lsn = payload["source"]["lsn"]
            if lsn < last_lsn.get(k, -1):
                errors.append(f"{where}: source.lsn {lsn} after {last_lsn[k]} for key {key}")
            last_lsn[k] = lsn
            last_delete[k] = op == "d"
        if len(errors) > 20:
            break
    consumer.close()
    if transactions_topic:
        errors.extend(check_transactions(markers, in_transaction))
        summary["transactions"] = len(markers)
    if errors:
        fail(errors)
    print(json.dumps(summary, sort_keys=True))


def check_envelope(payload, key, key_columns):
    if not isinstance(payload, dict) or not ENVELOPE_FIELDS <= payload.keys():
        return [f"value lacks envelope fields: {sorted(ENVELOPE_FIELDS - set(payload or {}))}"]
    op, before, after, source = payload["op"], payload["before"], payload["after"], payload["source"]
    problems = []
    if op not in ("c", "u", "d", "r", "t"):
        problems.append(f"unknown op {op!r}")
    if not SOURCE_FIELDS <= source.keys():
        problems.append(f"source lacks {sorted(SOURCE_FIELDS - source.keys())}")
    if source.get("connector") != "postgresql":
        problems.append(f"source.connector is {source.get('connector')!r}")
    if op in ("c", "r") and (before is not None or not isinstance(after, dict)):
        problems.append(f"op {op} wants before=null and an after row")
    if op == "u" and not isinstance(after, dict):
        problems.append("op u wants an after row")
    if op == "d" and (after is not None or not isinstance(before, dict)):
        problems.append("op d wants a before row and after=null")
    if op == "t":
        return problems
    row = before if op == "d" else after
    expected = {c: row.get(c) for c in key_columns} if isinstance(row, dict) else None
    if key != expected:
        problems.append(f"key {key} is not the primary key {expected}")
    return problems


def check_transactions(markers, in_transaction):
    problems = []
    for tx_id, seen in markers.items():
        statuses = [m["status"] for m in seen]
        if statuses != ["BEGIN", "END"]:
            problems.append(f"transaction {tx_id}: markers {statuses}, want BEGIN then END")
            continue
        end, counted = seen[1], in_transaction.get(tx_id, {})
        if end["event_count"] != sum(counted.values()):
            problems.append(f"transaction {tx_id}: END counts {end['event_count']}, topics hold {sum(counted.values())}")
        per_table = {c["data_collection"]: c["event_count"] for c in end["data_collections"]}
        if per_table != counted:
            problems.append(f"transaction {tx_id}: END per table {per_table}, topics hold {counted}")
    for tx_id in in_transaction.keys() - markers.keys():
        problems.append(f"transaction {tx_id}: data messages but no BEGIN/END")
    return problems


def fail(errors):
    for e in errors[:20]:
        print(e, file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
