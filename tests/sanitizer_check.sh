#!/bin/sh
# After a SANITIZE=1 test run: print every AddressSanitizer and
# LeakSanitizer report written under DIR (the Makefile points ASAN_OPTIONS
# log_path there, so reports of cairnd nodes running in the background are
# caught too) and fail if there is any. (UBSan reports go to stderr and stop
# the process, which fails the test that ran it.)
set -u
dir=${1:?usage: sanitizer_check.sh DIR}
n=0
for f in "$dir"/*; do
  [ -s "$f" ] || continue
  n=$((n + 1))
  echo "==== sanitizer report $f"
  head -n 60 "$f"
done
if [ "$n" -gt 0 ]; then
  echo "sanitizers: $n report(s) - FAILED"
  exit 1
fi
echo "sanitizers: no AddressSanitizer or LeakSanitizer reports"
