#!/bin/sh
# Install the Debian packages Cairn needs to build and test, but only those
# that are missing. Uses apt-get directly as root, or through sudo.
#
#   install-deps.sh           what `make` and `make test` need (CI runs this)
#   install-deps.sh --fuzz    also clang and its libFuzzer/sanitizer runtime,
#                             for `make fuzz` only
#   install-deps.sh --lint    also cppcheck and clang-tidy, for `make lint`
#   install-deps.sh --bench   also PostgreSQL (server, pgbench), for the
#                             baseline of `make bench` only (bench/pg/run.sh
#                             runs its own server in a temporary directory)
set -eu
PKGS="build-essential pkg-config libsodium-dev liblmdb-dev libsecp256k1-dev \
libcmocka-dev libevent-dev libjansson-dev python3 python3-cryptography curl"
for opt in "$@"; do
  case "$opt" in
    --fuzz) PKGS="$PKGS clang libclang-rt-dev" ;;
    --lint) PKGS="$PKGS cppcheck clang-tidy" ;;
    --bench) PKGS="$PKGS postgresql postgresql-contrib" ;;
    *) echo "install-deps: unknown option $opt (use --fuzz, --lint or --bench)" >&2; exit 2 ;;
  esac
done
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install-deps: all build dependencies are present"
  exit 0
fi
echo "install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
