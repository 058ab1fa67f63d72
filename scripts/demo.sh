#!/bin/sh
# The README's first command: install missing Debian packages, build, and
# start (creating it on first use) a local demo chain in ./cairn-demo with
# three brands (coffee, pizza, books), one validator and the HTTP API on
# 127.0.0.1:8645. Extra arguments go to `cairnd demo`.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
make -j"$(nproc 2>/dev/null || echo 2)" all
exec "${BUILD:-build}/cairnd" demo --home "${CAIRN_DEMO_HOME:-cairn-demo}" "$@"
