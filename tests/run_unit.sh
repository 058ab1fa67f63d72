#!/bin/sh
# Run each cmocka test binary; print one closing line "N passed, N failed".
# Exit non-zero if any test binary failed.
passed=0; failed=0; bad=""
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -E '^\[  (PASSED|FAILED)  \]|^\[  ERROR   \]' | sed "s|^|$(basename "$t"): |"
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
  passed=$((passed + p)); failed=$((failed + f))
  if [ $rc -ne 0 ]; then
    bad="$bad $(basename "$t")"
    [ "$f" -eq 0 ] && failed=$((failed + 1))
    printf '%s\n' "$out" | tail -n 40
  fi
done
echo "unit: $passed passed, $failed failed"
[ -z "$bad" ] || { echo "failing test programs:$bad"; exit 1; }
