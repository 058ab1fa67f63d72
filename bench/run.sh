#!/bin/sh
# bench/run.sh - run every part of the Cairn benchmark and print one table.
#
#   sh bench/run.sh BUILD_DIR/bench/cairn_bench
#
# The parts, in order, each measured on this machine in this run:
#   1. BUILD_DIR/bench/cairn_bench: the limits, the main single-node run
#      (1,000,000 members, a 1,000,000-transaction chain), the audit of
#      that chain, and growth (one workload on states of 10,000 and of
#      10,000,000 accounts);
#   2. BUILD_DIR/bench/cairn_netbench BUILD_DIR/cairnd: four validators on
#      loopback at full and half load, then one validator at full load
#      (the single node through its HTTP API), given the all-core BIP-340
#      limit that part 1 measured;
#   3. bench/pg/run.sh: the PostgreSQL baseline, given part 1's table for
#      the Cairn / PostgreSQL ratio. It takes the first row matching
#      "Single node .main run.*propose", the main run's (1,000,000 members;
#      PostgreSQL preloads as many).
# Parts 2 and 3 print rows of the same table; they take the places of the
# "Four validators" and "PostgreSQL baseline" rows of part 1 (or go after
# its last row). Progress goes to stderr, the table to stdout, and a copy
# of the table to BUILD_DIR/bench/bench-output.md (paste it into
# BENCHMARKS.md), ending with the wall time of each part and of the run.
# The exit status is non-zero if any part failed; the others still run and
# their rows are still printed.
#
# Parameters are read from the environment by each part: BENCH_AUDIT_TXS,
# BENCH_MEMBERS, BENCH_TXS, BENCH_MEMBERS_SMALL, BENCH_MEMBERS_LARGE,
# BENCH_LIMIT_SECONDS, BENCH_LMDB_BATCH, BENCH_TMPDIR (cairn_bench);
# BENCH_NET_* (cairn_netbench); BENCH_PG_* (bench/pg/run.sh).
# BENCH_SKIP_NET=1 or BENCH_SKIP_PG=1 leave a part out; BENCH_SKIP_NET1=1
# only the one-validator level (BENCH_NET1_TXS: its signed transactions,
# 300,000).
set -u
bin=${1:?usage: run.sh path/to/cairn_bench}
dir=$(dirname "$bin")
build=$(dirname "$dir")
here=$(cd "$(dirname "$0")" && pwd)
out=$dir/bench-output.md
node_part=$dir/bench-node.md
net_part=$dir/bench-net.md
pg_part=$dir/bench-pg.md
netdir=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/cairn-bench-net-XXXXXX")
trap 'rm -rf "$netdir"' EXIT
trap 'exit 130' INT TERM HUP
start=$(date +%s)
rc=0

# The first number in the "measured" cell of the first row whose first
# cell matches $1.
figure() {
  awk -F'|' -v pat="$1" '$2 ~ pat { print $3; exit }' "$node_part" |
    sed -n 's/^ *\([0-9][0-9.]*\).*/\1/p'
}

"$bin" >"$node_part" || rc=1
cp "$node_part" "$out"
node_end=$(date +%s)

: >"$net_part"
if [ "${BENCH_SKIP_NET:-0}" != 1 ]; then
  limit=$(figure 'Limit: BIP-340 verify, all')
  BENCH_NET_SCHNORR_ALL=${limit:-} "$dir/cairn_netbench" "$build/cairnd" \
    "$netdir" >"$net_part" || rc=1
  # The single-node figure through the real binary: one validator driven
  # over HTTP at full load (BENCH_SKIP_NET1=1 leaves it out).
  if [ "${BENCH_SKIP_NET1:-0}" != 1 ]; then
    mkdir -p "$netdir/one"
    BENCH_NET_SCHNORR_ALL=${limit:-} BENCH_NET_NODES=1 \
      BENCH_NET_TXS=${BENCH_NET1_TXS:-300000} "$dir/cairn_netbench" \
      "$build/cairnd" "$netdir/one" >>"$net_part" || rc=1
  fi
fi
net_end=$(date +%s)

: >"$pg_part"
if [ "${BENCH_SKIP_PG:-0}" != 1 ]; then
  sh "$here/pg/run.sh" "$node_part" >"$pg_part" || rc=1
fi
pg_end=$(date +%s)

# Part 1's table with the rows of parts 2 and 3 in their places; the
# parts' other lines (their parameters) after the table.
awk -v net="$net_part" -v pg="$pg_part" '
  function rows(f, want,   line, s) {
    s = ""
    while ((getline line < f) > 0)
      if ((substr(line, 1, 1) == "|") == want) s = s line "\n"
    close(f)
    return s
  }
  NR == FNR { if (substr($0, 1, 1) == "|") last = FNR; next }
  {
    r = ""
    if ($0 ~ /^\| Four validators \|/) { r = rows(net, 1); netdone = 1 }
    if ($0 ~ /^\| PostgreSQL baseline \|/) { r = rows(pg, 1); pgdone = 1 }
    if (r == "") print; else printf "%s", r
    if (FNR == last) {
      if (!netdone) printf "%s", rows(net, 1)
      if (!pgdone) printf "%s", rows(pg, 1)
      printf "\n%s%s", rows(net, 0), rows(pg, 0)
    }
  }
' "$node_part" "$node_part" >"$out"
echo "Load average at the end of the run: $(cat /proc/loadavg)" >>"$out"
echo "Wall time of the run: $(( $(date +%s) - start )) s (cairn_bench $(( node_end - start )) s, network $(( net_end - node_end )) s, PostgreSQL $(( pg_end - net_end )) s)" >>"$out"
cat "$out"
exit "$rc"
