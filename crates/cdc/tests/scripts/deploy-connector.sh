#!/usr/bin/env bash
# What the seed's connectors/deploy-connector.sh does, with curl: render the connector JSON with envsubst, then
# create it (POST /connectors) or, when it exists, update it (PUT /connectors/{name}/config).
# usage: CONNECT_URL=http://host:8083 deploy-connector.sh postgres-connector.json
set -euo pipefail
connect_url=${CONNECT_URL:-http://localhost:8083}
rendered=$(envsubst < "$1")
name=$(printf '%s' "$rendered" | python3 -c 'import json, sys; print(json.load(sys.stdin)["name"])')
if [ "$(curl -s -o /dev/null -w '%{http_code}' "$connect_url/connectors/$name")" = 200 ]; then
  config=$(printf '%s' "$rendered" | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["config"]))')
  curl -sS --fail-with-body -X PUT -H 'Content-Type: application/json' --data "$config" \
    "$connect_url/connectors/$name/config"
else
  curl -sS --fail-with-body -X POST -H 'Content-Type: application/json' --data "$rendered" "$connect_url/connectors"
fi
