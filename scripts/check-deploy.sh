#!/usr/bin/env bash
# Checks deploy/: the Prometheus config, the alert rules and their unit tests (promtool), the Alertmanager example
# (amtool, when installed), and the Grafana dashboard: valid JSON, every panel with a datasource and PromQL targets that
# parse, and every cdc_* metric it (or an alert rule) names exported by the binary (crates/cdc-core/src/metrics.rs).
# Fast (a few seconds), idempotent, writes only to a temporary directory. Exit status non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s.%N)

fail() { echo "check-deploy: FAILED: $*" >&2; exit 1; }
step() { echo "check-deploy: $*"; }

if ! command -v promtool >/dev/null 2>&1; then
  fail "promtool is missing: run scripts/install-deps.sh (it installs Debian's prometheus package, which ships promtool)"
fi
command -v python3 >/dev/null 2>&1 || fail "python3 is missing"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # run <description> <command…>: quiet on success, the tool's output on failure
  local what=$1; shift
  if ! "$@" >"$tmp/out" 2>&1; then
    cat "$tmp/out" >&2
    fail "$what ($*)"
  fi
  step "ok: $what"
}

step "$(promtool --version 2>&1 | head -n1)"
run "Prometheus config"          promtool check config deploy/prometheus/prometheus.yml
run "alert rules"                promtool check rules deploy/prometheus/alerts.yml
run "alert rule unit tests"      promtool test rules deploy/prometheus/alerts_test.yml
if command -v amtool >/dev/null 2>&1; then
  run "Alertmanager config"      amtool check-config deploy/alertmanager/alertmanager.yml
else
  step "skip: Alertmanager config (amtool not installed; Debian package prometheus-alertmanager)"
fi

# Dashboard structure and metric names; writes the dashboard's queries as recording rules for promtool to parse.
python3 - "$tmp/dashboard-queries.rules.json" <<'PY' || fail "Grafana dashboard / metric names (see above)"
import json, os, re, sys

errors = []
METRICS_RS = "crates/cdc-core/src/metrics.rs"
DASHBOARD = "deploy/grafana/cdc-dashboard.json"

names = set(re.findall(r'pub const [A-Z0-9_]+: &str = "([^"]+)";', open(METRICS_RS).read()))
if len(names) < 10:
    sys.exit(f"{METRICS_RS}: found only {len(names)} metric names in `pub const X: &str = \"…\"` lines")
HIST_SUFFIX = re.compile(r"_(bucket|sum|count)$")

def unknown_metrics(text):
    bad = set()
    for ident in re.findall(r"(?<![A-Za-z0-9_:])cdc_[a-z_]+", text):
        if ident not in names and HIST_SUFFIX.sub("", ident) not in names:
            bad.add(ident)
    return sorted(bad)

try:
    dash = json.load(open(DASHBOARD))
except (OSError, ValueError) as e:
    sys.exit(f"{DASHBOARD}: not valid JSON: {e}")

def err(msg):
    errors.append(f"{DASHBOARD}: {msg}")

for key in ("title", "uid", "panels", "templating", "schemaVersion"):
    if key not in dash:
        err(f"no `{key}`")
if not isinstance(dash.get("schemaVersion"), int) or dash.get("schemaVersion", 0) < 36:
    err(f"schemaVersion {dash.get('schemaVersion')!r}: expected a Grafana 10+ dashboard (≥ 36)")
if not any(i.get("name") == "DS_PROMETHEUS" and i.get("pluginId") == "prometheus" for i in dash.get("__inputs", [])):
    err("no DS_PROMETHEUS datasource in __inputs")
variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
if variables.get("DS_PROMETHEUS", {}).get("type") != "datasource":
    err("no `DS_PROMETHEUS` datasource variable")
queries = []  # (where, expr)
pipe = variables.get("pipeline")
if not pipe:
    err("no `pipeline` template variable")
else:
    q = pipe.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    if q != "label_values(cdc_events_captured_total, pipeline)":
        err(f"variable `pipeline` queries {q!r}, expected label_values(cdc_events_captured_total, pipeline)")
    for bad in unknown_metrics(q or ""):
        err(f"variable `pipeline` names {bad}, which metrics.rs does not define")

def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))

ids = set()
count = 0
for p in walk(dash.get("panels", [])):
    title = p.get("title") or "(untitled)"
    where = f"panel {p.get('id')} {title!r}"
    if p.get("id") in ids:
        err(f"{where}: duplicate panel id")
    ids.add(p.get("id"))
    gp = p.get("gridPos", {})
    if not all(isinstance(gp.get(k), int) for k in ("h", "w", "x", "y")) or gp.get("x", 0) + gp.get("w", 0) > 24:
        err(f"{where}: bad gridPos {gp}")
    if p.get("type") == "row":
        continue
    count += 1
    ds = p.get("datasource")
    if not isinstance(ds, dict) or ds.get("type") != "prometheus" or not ds.get("uid"):
        err(f"{where}: no Prometheus datasource")
    elif ds.get("uid") != "${DS_PROMETHEUS}":
        err(f"{where}: datasource uid {ds.get('uid')!r}, expected ${{DS_PROMETHEUS}}")
    targets = p.get("targets") or []
    if not targets:
        err(f"{where}: no targets")
    for t in targets:
        expr = (t.get("expr") or "").strip()
        if not expr:
            err(f"{where}: target {t.get('refId')} has no expr")
            continue
        queries.append((f"{where} {t.get('refId')}", expr))
        for bad in unknown_metrics(expr):
            err(f"{where}: {bad} is not a metric the binary exports (crates/cdc-core/src/metrics.rs)")
if count == 0:
    err("no panels")

# The alert rules and their tests may only name exported metrics too (text scan: expressions, series, annotations).
for path in ("deploy/prometheus/alerts.yml", "deploy/prometheus/alerts_test.yml"):
    for bad in unknown_metrics(open(path).read()):
        errors.append(f"{path}: {bad} is not a metric the binary exports (crates/cdc-core/src/metrics.rs)")

# Grafana's variables replaced by plausible values, so that promtool can parse every query.
subst = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "${pipeline}": ".*", "$pipeline": ".*"}
rules = []
for i, (where, expr) in enumerate(queries):
    e = expr
    for k, v in subst.items():
        e = e.replace(k, v)
    if "$" in e:
        errors.append(f"{DASHBOARD}: {where}: unknown variable in {expr!r}")
    rules.append({"record": f"dashboard_query_{i}", "expr": e})
json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(sys.argv[1], "w"), indent=1)

if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"check-deploy: ok: dashboard: {count} panels, {len(queries)} queries, metric names all in metrics.rs")
PY
run "dashboard queries parse as PromQL" promtool check rules "$tmp/dashboard-queries.rules.json"

# The other YAML files parse (when PyYAML is there), and the files docker-compose.yml mounts exist.
if python3 -c "import yaml" 2>/dev/null; then
  python3 - <<'PY' || fail "YAML in deploy/ (see above)"
import os, re, sys, yaml
ok = True
for path in ("deploy/loki/promtail.yml", "deploy/docker-compose.yml", "deploy/alertmanager/alertmanager.yml"):
    try:
        yaml.safe_load(open(path))
    except Exception as e:
        print(f"{path}: {e}", file=sys.stderr); ok = False
compose = yaml.safe_load(open("deploy/docker-compose.yml"))
for name, svc in compose.get("services", {}).items():
    for vol in svc.get("volumes", []):
        src = vol.split(":")[0]
        if src.startswith("./") and not os.path.exists(os.path.join("deploy", src)):
            print(f"deploy/docker-compose.yml: service {name} mounts {src}, which does not exist", file=sys.stderr)
            ok = False
sys.exit(0 if ok else 1)
PY
  step "ok: promtail, docker-compose and alertmanager YAML parse; compose mounts exist"
else
  step "skip: YAML parse of promtail/docker-compose (python3-yaml not installed)"
fi

echo "check-deploy: all checks passed in $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}s')" "$start" "$(date +%s.%N)")"
