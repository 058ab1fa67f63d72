#!/bin/sh
# Run the libFuzzer targets (built by `make fuzz` into FUZZ_BUILD).
#
#   run.sh FUZZ_BUILD SECONDS RUNS NAME...   fuzz each NAME in turn, one job
#                                            at a time, for SECONDS (and at
#                                            most RUNS executions; 0 = no cap);
#                                            NAME:S gives that target S seconds
#   run.sh --merge FUZZ_BUILD NAME...        add the inputs of the working
#                                            corpus that bring new coverage
#                                            to tests/fuzz/corpus/NAME/
#
# Each run reads the seed corpus tests/fuzz/corpus/NAME/ and writes new
# inputs to FUZZ_BUILD/corpus/NAME/ (not in git), crashes to
# FUZZ_BUILD/crashes/NAME-*, the log to FUZZ_BUILD/logs/NAME.log. The JSON
# parsers get tests/fuzz/json.dict. A table of executions, rates, coverage
# and crashes per target goes to FUZZ_BUILD/fuzz-report.md (the numbers
# FUZZING.md records). Exits 1 if any target crashed.
set -u
SEEDS=tests/fuzz/corpus

dict_for() {
  case "$1" in
    config|genesis_json|keyfile|nodekey|rpc_submit|u64) echo "-dict=tests/fuzz/json.dict" ;;
    *) echo "" ;;
  esac
}

if [ "${1:-}" = "--merge" ]; then
  shift
  fb=$1; shift
  for name in "$@"; do
    work="$fb/corpus/$name"
    [ -d "$work" ] || { echo "merge $name: no working corpus in $work"; continue; }
    mkdir -p "$SEEDS/$name"
    before=$(find "$SEEDS/$name" -type f | wc -l)
    "$fb/fuzz/fuzz_$name" -merge=1 "$SEEDS/$name" "$work" >"$fb/logs/merge-$name.log" 2>&1
    after=$(find "$SEEDS/$name" -type f | wc -l)
    echo "merge $name: $before -> $after files"
  done
  du -sh "$SEEDS"
  exit 0
fi

fb=$1; secs=$2; runs=$3; shift 3
mkdir -p "$fb/logs" "$fb/crashes"
report="$fb/fuzz-report.md"
{
  echo "Fuzz run $(date -u +%Y-%m-%dT%H:%MZ), ${secs}s per target unless given$( [ "$runs" -gt 0 ] && echo ", at most $runs executions" ), $(clang --version | head -n 1)"
  echo
  echo "| target | executions | exec/s | seconds | coverage (edges) | features | corpus files | crashes | peak RSS MB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$report"
total_crashes=0
for spec in "$@"; do
  name=${spec%%:*}
  t=$secs
  [ "$spec" != "$name" ] && t=${spec#*:}
  bin="$fb/fuzz/fuzz_$name"
  work="$fb/corpus/$name"
  log="$fb/logs/$name.log"
  mkdir -p "$work"
  set -- -max_total_time="$t" -print_final_stats=1 -timeout=10 \
         -rss_limit_mb=2048 -artifact_prefix="$fb/crashes/$name-"
  [ "$runs" -gt 0 ] && set -- "$@" -runs="$runs"
  d=$(dict_for "$name")
  [ -n "$d" ] && set -- "$@" "$d"
  before=$(find "$fb/crashes" -name "$name-*" -type f | wc -l)
  start=$(date +%s)
  "$bin" "$@" "$work" "$SEEDS/$name" >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  files=$(find "$work" "$SEEDS/$name" -type f | wc -l)
  crashes=$(( $(find "$fb/crashes" -name "$name-*" -type f | wc -l) - before ))
  [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes=1
  total_crashes=$((total_crashes + crashes))
  echo "| $name | ${execs:-?} | ${rate:-?} | $took | ${cov:-?} | ${ft:-?} | $files | $crashes | ${rss:-?} |" >>"$report"
  echo "fuzz $name: ${execs:-?} executions in ${took}s (${rate:-?}/s), cov ${cov:-?}, crashes $crashes"
  if [ "$rc" -ne 0 ]; then
    grep -E 'ERROR|runtime error|fuzz property failed|Test unit written' "$log" | head -n 5
  fi
done
echo
cat "$report"
[ "$total_crashes" -eq 0 ] || { echo "fuzz: $total_crashes crash(es); see $fb/crashes/"; exit 1; }
