#!/bin/sh
# `make testnet`: a local network of four validators on loopback, one per
# demo brand (coffee, pizza, books) plus a partner, each its own cairnd
# process with its own data directory and log.
#
#   sh scripts/testnet.sh [start]   create ./cairn-testnet on first use
#                                   and start every node in the background
#   sh scripts/testnet.sh stop      stop them (SIGTERM, then wait)
#   sh scripts/testnet.sh status    height of every node
#
# Environment: CAIRN_TESTNET_DIR (default cairn-testnet), CAIRN_TESTNET_N
# (validators, default 4), CAIRN_TESTNET_PORT (base port, default 26650:
# node I serves the API on PORT+I and talks to peers on PORT+10+I),
# BUILD (default build), CAIRN_PASSPHRASE (key files; default "demo").
set -eu
cd "$(dirname "$0")/.."
DIR=${CAIRN_TESTNET_DIR:-cairn-testnet}
N=${CAIRN_TESTNET_N:-4}
PORT=${CAIRN_TESTNET_PORT:-26650}
BUILD=${BUILD:-build}
CMD=${1:-start}

nodes() { i=0; while [ "$i" -lt "$N" ]; do echo "$i"; i=$((i + 1)); done; }

case "$CMD" in
start)
  make -s -j"$(nproc 2>/dev/null || echo 2)" BUILD="$BUILD" all
  if [ ! -f "$DIR/genesis.json" ]; then
    "$BUILD/cairnd" testnet --dir "$DIR" --validators "$N" --base-port "$PORT"
  fi
  for i in $(nodes); do
    pidf="$DIR/node$i/cairnd.pid"
    if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
      echo "node$i already running (pid $(cat "$pidf"))"
      continue
    fi
    "$BUILD/cairnd" run --home "$DIR/node$i" >>"$DIR/node$i/cairnd.log" 2>&1 &
    echo $! >"$pidf"
    echo "node$i started: API http://127.0.0.1:$((PORT + i))  log $DIR/node$i/cairnd.log"
  done
  cat <<MSG

Use the wallet against any node (key files in $DIR/keys, passphrase
\$CAIRN_PASSPHRASE or "demo"):
  $BUILD/cairn --node http://127.0.0.1:$PORT status
  $BUILD/cairn --node http://127.0.0.1:$PORT validators
  $BUILD/cairn --node http://127.0.0.1:$((PORT + 1)) issue --key $DIR/keys/coffee.key \\
      --brand coffee --to \$($BUILD/cairn address --key $DIR/keys/alice.key | awk '{print \$NF}') --amount 100
Stop the network with: make testnet-stop
MSG
  ;;
stop)
  for i in $(nodes); do
    pidf="$DIR/node$i/cairnd.pid"
    [ -f "$pidf" ] || continue
    pid=$(cat "$pidf")
    if kill "$pid" 2>/dev/null; then
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      echo "node$i stopped"
    fi
    rm -f "$pidf"
  done
  ;;
status)
  for i in $(nodes); do
    printf 'node%s: ' "$i"
    "$BUILD/cairn" --node "http://127.0.0.1:$((PORT + i))" status 2>&1 | head -n 3 | tr '\n' ' '
    echo
  done
  ;;
*)
  echo "usage: sh scripts/testnet.sh [start|stop|status]" >&2
  exit 2
  ;;
esac
