#!/bin/sh
# Start (creating it on first use) the local demo chain in ./cairn-demo:
# three brands (coffee, pizza, books), one validator, API on 127.0.0.1:8645.
set -eu
exec "${BUILD:-build}/cairnd" demo --home "${CAIRN_DEMO_HOME:-cairn-demo}" "$@"
