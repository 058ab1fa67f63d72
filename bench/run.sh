#!/bin/sh
# bench/run.sh - run the Cairn benchmark and keep its table.
#
#   sh bench/run.sh BUILD_DIR/bench/cairn_bench
#
# Prints progress on stderr and the table on stdout, and keeps a copy of
# the table in BUILD_DIR/bench/bench-output.md (paste it into
# BENCHMARKS.md). Parameters are read from the environment by the program:
# BENCH_TXS, BENCH_AUDIT_TXS, BENCH_MEMBERS, BENCH_MEMBERS_LARGE,
# BENCH_LIMIT_SECONDS, BENCH_LMDB_BATCH, BENCH_TMPDIR.
set -u
bin=${1:?usage: run.sh path/to/cairn_bench}
out=$(dirname "$bin")/bench-output.md
rcfile=$(dirname "$bin")/bench-rc
start=$(date +%s)
{ "$bin"; echo $? > "$rcfile"; } | tee "$out"
rc=$(cat "$rcfile")
echo "Wall time of the run: $(( $(date +%s) - start )) s" | tee -a "$out"
exit "$rc"
