#!/bin/sh
# Replay every fuzz corpus as a regression test: for each replay binary
# BUILD/fuzz/replay_NAME, run it on tests/fuzz/corpus/NAME/. When one fails,
# replay that corpus file by file to name the inputs that fail.
# Prints one line per target and a closing "fuzz-replay: N passed, N failed"
# (N counts corpus files); exits 1 if anything failed.
set -u
CORPUS=${CAIRN_FUZZ_CORPUS:-tests/fuzz/corpus}
passed=0; failed=0; bad=""
for bin in "$@"; do
  name=${bin##*/replay_}
  dir="$CORPUS/$name"
  n=$(find "$dir" -maxdepth 1 -type f 2>/dev/null | wc -l)
  if [ "$n" -eq 0 ]; then
    echo "fuzz-replay: $name: no corpus in $dir"
    failed=$((failed + 1)); bad="$bad $name"
    continue
  fi
  if out=$("$bin" "$dir" 2>&1); then
    passed=$((passed + n))
    echo "fuzz-replay: $name: $n inputs OK"
    continue
  fi
  echo "fuzz-replay: $name: FAILED; replaying one file at a time"
  printf '%s\n' "$out" | tail -n 20
  for f in "$dir"/*; do
    [ -f "$f" ] || continue
    if "$bin" "$f" >/dev/null 2>&1; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      echo "fuzz-replay: $name: input fails: $f (reproduce: $bin $f)"
    fi
  done
  bad="$bad $name"
done
echo "fuzz-replay: $passed passed, $failed failed"
[ -z "$bad" ] || { echo "failing fuzz targets:$bad"; exit 1; }
