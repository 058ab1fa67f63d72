#!/bin/sh
# Install the Debian packages Cairn needs to build and test, but only those
# that are missing. Uses apt-get directly as root, or through sudo.
set -eu
PKGS="build-essential pkg-config libsodium-dev liblmdb-dev libsecp256k1-dev \
libcmocka-dev libevent-dev libjansson-dev python3 curl"
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
