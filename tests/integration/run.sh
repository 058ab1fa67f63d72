#!/bin/sh
# Run every integration test (tests/integration/test_*.py) against the real
# binaries in $BUILD; print one closing line "N passed, N failed".
set -u
BUILD=${BUILD:-build}
export CAIRN_BUILD="$(cd "$BUILD" && pwd)"
exec python3 "$(dirname "$0")/runner.py" "$@"
