#!/usr/bin/env bash
# Checks the FGD paper's headline result on the real openb trace (read from ../shared, never
# copied into the repository): on openb_pod_list_default with seeds 42-51, FGD allocates the most
# GPUs and Random the fewest at 130 % arrived, and a second run of the same grid writes
# byte-identical CSVs. Usage: scripts/check-openb-experiment.sh [path/to/berth]
set -euo pipefail
cd "$(dirname "$0")/.."
berth=${1:-.build/release/berth}
openb=../shared/datasets/openb
if [ ! -f "$openb/openb_pod_list_default.csv" ]; then
  echo "openb trace not found at $openb; skipping"
  exit 0
fi
a=$(mktemp -d) b=$(mktemp -d)
trap 'rm -rf "$a" "$b"' EXIT
for out in "$a" "$b"; do
  "$berth" compare --nodes "$openb/openb_node_list_gpu_node.csv" --pods "$openb/openb_pod_list_default.csv" \
    --policies paper --seeds 42-51 --out "$out" > "$out.log"
done
for f in alloc_curves.csv frag_curves.csv frag_ratio_curves.csv summary.csv; do
  cmp "$a/$f" "$b/$f" || { echo "FAIL: $f differs between two runs with the same seeds"; exit 1; }
done
# summary.csv: workload,sc_policy,seeds,alloc_at_100_mean,alloc_at_100_std,alloc_at_130_mean,...
best=$(tail -n +2 "$a/summary.csv" | sort -t, -k6,6 -g | tail -1 | cut -d, -f2)
worst=$(tail -n +2 "$a/summary.csv" | sort -t, -k6,6 -g | head -1 | cut -d, -f2)
cat "$a.log"
if [ "$best" != fgd ] || [ "$worst" != random ]; then
  echo "FAIL: expected fgd highest and random lowest at 130 % arrived, found $best highest and $worst lowest"
  exit 1
fi
echo "openb default: fgd highest, random lowest, CSVs byte-identical across runs: 1 passed, 0 failed"
