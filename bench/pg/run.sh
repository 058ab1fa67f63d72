#!/bin/sh
# bench/pg/run.sh - the PostgreSQL baseline of `make bench` (issue 4).
#
#   sh bench/pg/run.sh [CAIRN_BENCH_OUTPUT]
#
# Runs the loyalty workload on PostgreSQL and prints rows of the bench table
# on stdout (progress on stderr). With the output of the Cairn bench of the
# same run (bench/run.sh passes BUILD/bench/bench-output.md), each row also
# gives Cairn's single-node figure divided by PostgreSQL's.
#
# What it does: initdb into a fresh temporary directory (as the postgres
# user when run as root: the server refuses to run as root), start a server
# listening only on 127.0.0.1 on a free port with fsync=on and
# synchronous_commit=on, load bench/pg/schema.sql (a balances table with
# BENCH_PG_MEMBERS members x 3 brands, a hash-chained ledger table and its
# one-row chain head, and one function per transaction type), then run
# pgbench with the earn/redeem/coupon core of the Cairn single-node mix (50%
# earn = ISSUE, 40% redeem = REDEEM, 10% coupon_issue = COUPON_ISSUE;
# bench/pg/*.sql) for
# BENCH_PG_SECONDS at each client count of BENCH_PG_CLIENTS, with one
# pgbench thread per client up to the number of online CPUs. The chain is
# checked after the runs (bench/pg/verify.sql). The server is stopped and
# the directory deleted on every exit path.
#
# Environment: BENCH_PG_MEMBERS (1000000), BENCH_PG_SECONDS (20),
# BENCH_PG_CLIENTS ("2 8"), BENCH_TMPDIR (/tmp), PG_BIN (the directory of
# initdb, pg_ctl and pgbench; found under /usr/lib/postgresql when unset;
# installed with `sh scripts/install-deps.sh --bench` when missing).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cairn_out=${1:-}
members=${BENCH_PG_MEMBERS:-1000000}
secs=${BENCH_PG_SECONDS:-20}
clients=${BENCH_PG_CLIENTS:-2 8}
tmpbase=${BENCH_TMPDIR:-/tmp}
cpus=$(nproc 2>/dev/null || echo 1)

say() { echo "bench/pg: $*" >&2; }

find_pg_bin() {
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/pgbench" ]; then
    echo "$PG_BIN"
    return
  fi
  # The newest installed major version.
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5 -n -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pgbench" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return
    fi
  done
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Print a row that says why there is no figure, and stop.
no_figure() {
  echo "| PostgreSQL baseline | not measured: $1 | - | - |"
  exit 1
}

# The "measured" cell of the first table row whose first cell matches $1,
# from the Cairn bench output; its first number.
cairn_figure() {
  [ -n "$cairn_out" ] && [ -f "$cairn_out" ] || return 0
  awk -F'|' -v pat="$1" '$2 ~ pat { print $3; exit }' "$cairn_out" |
    sed -n 's/^ *\([0-9][0-9.]*\).*/\1/p'
}

pg_bin=$(find_pg_bin)
if [ -z "$pg_bin" ]; then
  say "PostgreSQL is not installed; installing it (scripts/install-deps.sh --bench)"
  sh "$root/scripts/install-deps.sh" --bench >&2 || true
  pg_bin=$(find_pg_bin)
fi
[ -n "$pg_bin" ] || no_figure "PostgreSQL could not be installed"
pg_version=$("$pg_bin/pgbench" --version | sed -n 's/.* \([0-9][0-9.]*\).*/\1/p')

# The server runs as the invoking user, or as postgres when that is root.
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || no_figure "no postgres user to run the server as"
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

tmp=$(mktemp -d "$tmpbase/cairn-bench-pg-XXXXXX")
data="$tmp/data"
started=0
cleanup() {
  if [ "$started" -eq 1 ]; then
    as_pg "$pg_bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
if [ "$(id -u)" -eq 0 ]; then chown postgres "$tmp"; fi
chmod 0700 "$tmp"

say "PostgreSQL $pg_version in $tmp"
as_pg "$pg_bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale \
  >"$tmp/initdb.log" 2>&1 || no_figure "initdb failed: $(tail -n 3 "$tmp/initdb.log" | tr '\n' ' ')"
port=$(free_port)
# Durability exactly as shipped (fsync and synchronous_commit on, full page
# writes); memory and checkpoint spacing sized so the 3,000,000-row balance
# table stays cached and no checkpoint falls inside a timed run.
cat >>"$data/postgresql.conf" <<CONF

# ---- cairn bench (bench/pg/run.sh) ----
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$tmp'
fsync = on
synchronous_commit = on
full_page_writes = on
shared_buffers = 1GB
max_wal_size = 16GB
checkpoint_timeout = 1h
max_connections = 50
CONF
as_pg "$pg_bin/pg_ctl" -D "$data" -l "$tmp/server.log" -w -t 60 start \
  >/dev/null 2>&1 || no_figure "the server did not start: $(tail -n 3 "$tmp/server.log" | tr '\n' ' ')"
started=1

psql() {
  "$pg_bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -X -q \
    -v ON_ERROR_STOP=1 "$@"
}

say "loading $members members x 3 brands..."
t0=$(date +%s)
psql -v members="$members" -f "$here/schema.sql" >&2 ||
  no_figure "loading the schema failed"
say "  loaded in $(( $(date +%s) - t0 )) s"

# The disk's own limit for a WAL flush, measured where the WAL lives.
if [ -x "$pg_bin/pg_test_fsync" ]; then
  wal_fsyncs=$("$pg_bin/pg_test_fsync" -s 2 -f "$tmp/fsync-test" 2>/dev/null |
    awk '/one 8kB write/ { one = 1 } one && $1 == "fdatasync" { printf "%.0f", $2; exit }')
  if [ -n "$wal_fsyncs" ]; then
    say "WAL fdatasync limit: $wal_fsyncs/s"
    echo "| Limit: fdatasync of one 8 kB WAL write (pg_test_fsync) | $wal_fsyncs syncs/s | disk fsync latency | - |"
  fi
fi

echo "PostgreSQL parameters: PostgreSQL $pg_version, $members members x 3 brands, $secs s per client count ($clients clients), fsync=on, synchronous_commit=on, shared_buffers=1GB, data in $tmpbase (BENCH_PG_MEMBERS, BENCH_PG_SECONDS, BENCH_PG_CLIENTS)"

cairn=$(cairn_figure 'Single node .main run.*propose')
[ -n "$cairn" ] || cairn=$(cairn_figure 'Single node .*propose')
fsyncs=$(cairn_figure 'LMDB durable commits')

for c in $clients; do
  j=$c
  [ "$j" -le "$cpus" ] || j=$cpus
  say "pgbench: $c clients, $j threads, $secs s..."
  log="$tmp/pgbench-$c.log"
  if ! "$pg_bin/pgbench" -n -h 127.0.0.1 -p "$port" -U postgres \
      -c "$c" -j "$j" -T "$secs" -M prepared -D members="$members" \
      -f "$here/earn.sql@50" -f "$here/redeem.sql@40" \
      -f "$here/coupon.sql@10" postgres >"$log" 2>&1; then
    cat "$log" >&2
    echo "| PostgreSQL baseline, $c clients | not measured: pgbench failed | - | - |"
    continue
  fi
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' "$log")
  done_tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$log")
  say "  $tps tx/s, $done_tx tx, ${failed:-0} failed, latency average $lat ms"
  cmp=""
  if [ -n "$cairn" ] && [ -n "$tps" ]; then
    cmp=$(awk -v a="$cairn" -v b="$tps" 'BEGIN {
      if (b > 0) printf "; Cairn single node / PostgreSQL = %.1fx (%.0f / %.0f tx/s)", a / b, a, b }')
  fi
  bound="one fsynced commit at a time: the chain head stays locked until the commit is on disk"
  if [ -n "${wal_fsyncs:-}" ]; then
    share=$(awk -v a="$tps" -v b="$wal_fsyncs" \
      'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }')
    bound="$bound: $share% of the fdatasync limit"
  elif [ -n "$fsyncs" ]; then
    bound="$bound (LMDB fsynced commits: $fsyncs/s)"
  fi
  printf '| PostgreSQL %s baseline, %s clients (pgbench -j %s, fsync on, %s members, %s s) | %.0f tx/s (%s tx, %s failed; latency avg %s ms) | %s%s | Cairn >= 10x PostgreSQL |\n' \
    "$pg_version" "$c" "$j" "$members" "$secs" "$tps" "$done_tx" \
    "${failed:-0}" "$lat" "$bound" "$cmp"
done

check=$(psql -At -f "$here/verify.sql") || no_figure "the chain check failed to run"
rows=${check%%|*}
broken=${check##*|}
say "chain check: $rows ledger rows, $broken broken links"
if [ "$broken" != "0" ]; then
  echo "| PostgreSQL chain check | FAILED: $broken broken links in $rows rows | - | 0 |"
  exit 1
fi
