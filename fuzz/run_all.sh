#!/usr/bin/env bash
# Run every harness for SECONDS each (default 240), one after the other, under the machine's heavy-job
# lock; logs in $OUT (default /tmp/refinery-fuzz), crashing inputs in $OUT/artifacts.
#   fuzz/run_all.sh [SECONDS]
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-240}"
OUT="${OUT:-/tmp/refinery-fuzz}"
mkdir -p "$OUT/artifacts" "$OUT/corpus"
for name in ${NAMES:-reader fields headers}; do
  mkdir -p "$OUT/corpus/$name"
  extra=()
  # Field values are short: without this libFuzzer grows inputs slowly and spends the run under 50 bytes.
  [ "$name" = fields ] && extra=(-len_control=0 -max_len=1024)
  flock /tmp/refinery-heavy.lock .venv/bin/python "fuzz/fuzz_${name}.py" "$OUT/corpus/$name" \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb=3072 -max_len=8192 -timeout=30 \
    -print_final_stats=1 "${extra[@]}" -artifact_prefix="$OUT/artifacts/${name}-" >"$OUT/${name}.log" 2>&1
  echo "$name: exit $? ($(grep -c '^==' "$OUT/${name}.log" || true) crash reports)"
done
