#!/usr/bin/env bash
# Puts the official prebuilt libduckdb.so (from the npm package DuckDB publishes) into .duckdb/lib of this
# checkout, where .cargo/config.toml points DUCKDB_LIB_DIR. Building DuckDB from source takes over half an hour
# on two cores; this takes seconds. The tarball is cached under ~/.cache so later clones do not download again.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=1.5.6
NPM_PACKAGE="@duckdb/node-bindings-linux-x64@${VERSION}-r.1"
LIB_DIR=.duckdb/lib
CACHE="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/cdc-pipeline/duckdb-${VERSION}"

if [ -f "$LIB_DIR/libduckdb.so" ] && [ -f "$LIB_DIR/VERSION" ] && [ "$(cat "$LIB_DIR/VERSION")" = "$VERSION" ]; then
  exit 0
fi
if [ ! -f "$CACHE/libduckdb.so" ]; then
  if ! command -v npm >/dev/null; then
    echo "install-duckdb: npm is missing; installing Debian's npm to fetch $NPM_PACKAGE"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "$NPM_PACKAGE" >/dev/null && tar xzf ./*.tgz package/libduckdb.so)
  mkdir -p "$CACHE"
  mv "$work/package/libduckdb.so" "$CACHE/libduckdb.so"
  rm -rf "$work"
fi
mkdir -p "$LIB_DIR"
cp "$CACHE/libduckdb.so" "$LIB_DIR/libduckdb.so"
echo "$VERSION" > "$LIB_DIR/VERSION"
echo "install-duckdb: libduckdb $VERSION in $LIB_DIR"
