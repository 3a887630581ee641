#!/usr/bin/env bash
# Measures the regression gate (docs/suites.md): how often `berth bench compare` of two runs of
# one build fails (false alarms) and how often it catches a build with a deliberate slowdown
# (`swift build -c release --build-path .build-slow -Xswiftc -DBERTH_DELIBERATE_SLOWDOWN …`).
# Usage: scripts/measure-gate.sh BASE_BERTH SLOW_BERTH [TRIES] [time|instructions]
# `instructions` also counts instructions per pod under callgrind (`bench run --instructions`),
# which the comparison then gates on.
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(realpath "$1") slow=$(realpath "$2") tries=${3:-20} mode=${4:-time}
extra=()
[ "$mode" = instructions ] && extra=(--instructions)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
suites=(datasets/suites/scheduling-basic.yaml datasets/suites/taints.yaml)
run() { "$1" bench run "${suites[@]}" --label performance --workload 5000Nodes --seed 1 --rounds 10 "${extra[@]}" --out "$2" > /dev/null 2>&1 || true; }
alarms=0 caught=0
for i in $(seq "$tries"); do
  run "$base" "$work/a.json"; run "$base" "$work/b.json"
  "$base" bench compare "$work/a.json" "$work/b.json" > "$work/same-$i.txt" 2>&1 || { alarms=$((alarms + 1)); grep -E 'regressed|missing' "$work/same-$i.txt" | sed 's/^/  false alarm: /'; }
  run "$base" "$work/c.json"; run "$slow" "$work/d.json"
  if "$base" bench compare "$work/c.json" "$work/d.json" > "$work/slow-$i.txt" 2>&1; then
    echo "  missed slowdown in try $i:"; grep -E 'throughputAverage|instructionsPerPod' "$work/slow-$i.txt" | sed 's/^/    /'
  else
    caught=$((caught + 1))
  fi
  echo "try $i: false alarms $alarms, slowdowns caught $caught"
done
grep -E 'throughputAverage|instructionsPerPod' "$work/slow-$tries.txt" | sed 's/^/last slowdown comparison: /'
echo "identical builds: $alarms false alarm(s) in $tries; deliberate slowdown: caught in $caught of $tries"
