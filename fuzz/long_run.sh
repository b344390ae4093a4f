#!/usr/bin/env bash
# The documented long fuzz run: every target for RUNS inputs (default 200,000 each,
# 1,200,000 in total), one libFuzzer process per target, one after the other.
# Prints per target the inputs executed and the time taken, then the total.
# Usage: fuzz/long_run.sh [RUNS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200000}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(part10 dicomdir cms manifest zip iso)
.venv/bin/python -c 'import atheris' 2>/dev/null || .venv/bin/pip install -q -e '.[fuzz]'
total=0
status=0
for t in "${targets[@]}"; do
  log=$(mktemp)
  start=$(date +%s)
  .venv/bin/python fuzz/run.py "$t" -runs="$runs" -timeout=20 -rss_limit_mb=3072 \
    -max_len=262144 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  done_runs=$(grep -oE '^Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)
  [ -n "$done_runs" ] || done_runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  done_runs=${done_runs:-0}
  total=$(( total + done_runs ))
  echo "$t: $done_runs inputs in ${secs}s, exit $rc (log: $log)"
  [ $rc -eq 0 ] || { status=1; grep -E 'Error|Traceback|assert|crash' "$log" | head -5; }
done
echo "total: $total inputs"
exit $status
