#!/bin/bash
# The FGD paper's full grid (1,020 runs) as a sweep of 8 shards run one after another on this
# machine, merged, and compared byte for byte with one `berth compare` of the same grid.
#   scripts/sweep-fgd-check.sh BERTH TRACES OUT
# BERTH: the berth executable; TRACES: the folder holding openb/ (the trace is not bundled);
# OUT: a new folder for the shards, the merge and the compare run. Prints each step's wall time.
set -euo pipefail
berth=$1
traces=$2
out=$3
here=$(cd "$(dirname "$0")/.." && pwd)
sweep=$here/datasets/sweeps/fgd-grid.yaml
mkdir -p "$out/shards"
start=$(date +%s.%N)
for i in 0 1 2 3 4 5 6 7; do
  JOB_COMPLETION_INDEX=$i BERTH_SHARDS=8 "$berth" sweep run "$sweep" --data "$traces" \
    --out "$out/shards/$i" > "$out/shard-$i.log"
  head -1 "$out/shard-$i.log"
done
shards=$(date +%s.%N)
"$berth" sweep merge "$out/shards" --out "$out/merged" > "$out/merge.log"
tail -1 "$out/merge.log"
merged=$(date +%s.%N)
workloads=()
for w in $(grep -o 'openb/openb_pod_list_[a-z0-9]*\.csv' "$sweep"); do
  workloads+=(--pods "$traces/$w")
done
"$berth" compare --nodes "$traces/openb/openb_node_list_gpu_node.csv" "${workloads[@]}" \
  --policies random,dotprod,clustering,packing,bestfit,fgd --seeds 42-51 --tune 1.3 \
  --out "$out/compare" > /dev/null
done_at=$(date +%s.%N)
for f in alloc_curves.csv frag_curves.csv frag_ratio_curves.csv summary.csv summary.md report.html; do
  cmp "$out/merged/$f" "$out/compare/$f"
done
printf '8 shards: %.1f s; merge: %.1f s; berth compare: %.1f s; outputs identical\n' \
  "$(echo "$shards - $start" | bc)" "$(echo "$merged - $shards" | bc)" \
  "$(echo "$done_at - $merged" | bc)"
