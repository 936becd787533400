"""Confluent's Python Schema Registry client against a registry at the URL given as the only argument.

Runs the calls a producer, a consumer and an operator make, and the errors they rely on. Prints one JSON object
of results on the last line of stdout; exits 1 with one line per mismatch on stderr if anything differs from what
Confluent's registry answers.

Usage: registry_check.py http://127.0.0.1:PORT
"""

import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

URL = sys.argv[1]
SUBJECT = "py.inventory.orders-value"

results = {}
mismatches = []


def fresh_client():
    """A client with empty caches, so that each call reaches the registry."""
    return SchemaRegistryClient({"url": URL, "max.retries": 0})


def expect(name, actual, expected):
    results[name] = actual
    if actual != expected:
        mismatches.append(f"{name}: expected {expected!r}, got {actual!r}")


def expect_error(name, code, call):
    try:
        value = call()
    except SchemaRegistryError as error:
        results[name] = {"http_status": error.http_status_code, "error_code": error.error_code,
                         "message": error.error_message}
        if error.error_code != code:
            mismatches.append(f"{name}: expected error code {code}, got {error.error_code} ({error})")
        return
    mismatches.append(f"{name}: expected error code {code}, but the call returned {value!r}")


def record(*extra_fields):
    fields = [{"name": "id", "type": "long"}, {"name": "amount", "type": "double"}, *extra_fields]
    return Schema(json.dumps({"type": "record", "name": "Order", "namespace": "py.inventory", "fields": fields}),
                  "AVRO")


V1 = record()
V2 = record({"name": "note", "type": ["null", "string"], "default": None})
COMPATIBLE_V3 = record({"name": "note", "type": ["null", "string"], "default": None},
                       {"name": "channel", "type": "string", "default": "web"})
INCOMPATIBLE = record({"name": "note", "type": ["null", "string"], "default": None},
                      {"name": "customer", "type": "string"})

client = fresh_client()

# A producer registers; the same schema again (from another process) gets the same id.
id1 = client.register_schema(SUBJECT, V1)
id2 = client.register_schema(SUBJECT, V2)
expect("distinct_ids", id1 != id2, True)
expect("reregister_same_id", fresh_client().register_schema(SUBJECT, V1), id1)

# A consumer resolves ids.
expect("get_schema", json.loads(fresh_client().get_schema(id1).schema_str), json.loads(V1.schema_str))
latest = fresh_client().get_latest_version(SUBJECT)
expect("latest_version", (latest.version, latest.schema_id, latest.subject), (2, id2, SUBJECT))
first = fresh_client().get_version(SUBJECT, 1)
expect("get_version_1", (first.version, first.schema_id), (1, id1))
found = fresh_client().lookup_schema(SUBJECT, V2)
expect("lookup_schema", (found.version, found.schema_id), (2, id2))
expect("schema_types", fresh_client().get_schema_types(), ["AVRO"])
expect("subjects_of_id", fresh_client().get_subjects_by_schema_id(id2), [SUBJECT])
expect("versions_of_id", [(v.subject, v.version) for v in fresh_client().get_schema_versions(id2)], [(SUBJECT, 2)])

# Compatibility.
expect("compatible", client.test_compatibility(SUBJECT, COMPATIBLE_V3), True)
expect("incompatible", client.test_compatibility(SUBJECT, INCOMPATIBLE), False)
expect("compatible_all_versions", client.test_compatibility_all_versions(SUBJECT, COMPATIBLE_V3), True)
expect("global_compatibility_default", client.get_compatibility(), "BACKWARD")
expect("set_subject_compatibility", client.set_compatibility(SUBJECT, "FULL"), {"compatibility": "FULL"})
expect("get_subject_compatibility", client.get_compatibility(SUBJECT), "FULL")
expect("set_global_compatibility", client.set_compatibility(level="FORWARD"), {"compatibility": "FORWARD"})
expect("get_global_compatibility", client.get_compatibility(), "FORWARD")
client.set_compatibility(level="BACKWARD")
client.set_compatibility(SUBJECT, "BACKWARD")

# Listings.
expect("subjects", client.get_subjects(), [SUBJECT])
expect("versions", client.get_versions(SUBJECT), [1, 2])

# The errors clients branch on.
expect_error("subject_not_found", 40401, lambda: fresh_client().get_versions("no-such-subject"))
expect_error("version_not_found", 40402, lambda: fresh_client().get_version(SUBJECT, 99))
expect_error("schema_not_found", 40403, lambda: fresh_client().get_schema(99999))
expect_error("lookup_not_registered", 40403, lambda: fresh_client().lookup_schema(SUBJECT, COMPATIBLE_V3))
expect_error("invalid_schema", 42201, lambda: client.register_schema(SUBJECT, Schema('{"type": "recor', "AVRO")))
expect_error("incompatible_schema", 409, lambda: client.register_schema(SUBJECT, INCOMPATIBLE))
expect_error("unsupported_schema_type", 42201,
             lambda: client.register_schema("py-json-value", Schema('{"type": "object"}', "JSON")))

# Confluent's serializer registers under {topic}-value and frames the id; the deserializer resolves it.
context = SerializationContext("py.payments", MessageField.VALUE)
framed = AvroSerializer(fresh_client(), V2.schema_str)({"id": 7, "amount": 9.5, "note": "hi"}, context)
framed_id = int.from_bytes(framed[1:5], "big")
expect("serializer_frame", (framed[0], framed_id), (0, id2))
expect("serializer_subject", fresh_client().get_versions("py.payments-value"), [1])
expect("deserializer", AvroDeserializer(fresh_client())(framed, context), {"id": 7, "amount": 9.5, "note": "hi"})

# An operator deletes the subject: soft, then permanently. Ids stay readable for data already written.
expect("soft_delete", client.delete_subject(SUBJECT), [1, 2])
expect("subjects_after_soft_delete", client.get_subjects(), ["py.payments-value"])
expect("subjects_including_deleted", client.get_subjects(deleted=True), [SUBJECT, "py.payments-value"])
expect_error("versions_after_delete", 40401, lambda: fresh_client().get_versions(SUBJECT))
expect("permanent_delete", client.delete_subject(SUBJECT, permanent=True), [1, 2])
expect("schema_after_delete", json.loads(fresh_client().get_schema(id2).schema_str), json.loads(V2.schema_str))

print(json.dumps(results))
if mismatches:
    for line in mismatches:
        print(f"mismatch: {line}", file=sys.stderr)
    sys.exit(1)
