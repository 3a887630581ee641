#!/usr/bin/env bash
# Kills berth with SIGKILL at random moments while it writes its outputs and checks that every
# output is then either the previous complete set or the new complete set — never a mix, never
# half a file — and that any leftover of the kill is gone after the next run (docs/reliability.md).
# Usage: scripts/check-kill-safety.sh [path/to/berth] [KILLS_PER_COMMAND]
set -euo pipefail
cd "$(dirname "$0")/.."
berth=$(realpath "${1:-.build/release/berth}")
kills=${2:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The wall-clock figures of `simulate`'s summary.json differ between two complete runs; they are
# left out of the checksum (every other byte must match).
volatile='"(wallSeconds|eventsPerSecond|simulatedSecondsPerWallSecond)"'
digest() {  # a folder's or a file's content, as one checksum
  if [ -d "$1" ]; then
    (cd "$1" && find . -type f | sort | while read -r f; do echo "$f"; grep -Ev "$volatile" "$f" || true; done | sha256sum | cut -d' ' -f1)
  else
    grep -Ev "$volatile" "$1" | sha256sum | cut -d' ' -f1
  fi
}
leftovers() { find "$1" -maxdepth 1 -name '.*.berth-*' | wc -l; }

# check NAME OUTPUT CMD_OLD CMD_NEW: the commands write OUTPUT (a file or a folder).
check() {
  local name=$1 out=$2 old=$3 new=$4
  rm -rf "$out"; eval "$new" > /dev/null; local want_new; want_new=$(digest "$out")
  rm -rf "$out"; eval "$old" > /dev/null; local want_old; want_old=$(digest "$out")
  [ "$want_old" != "$want_new" ] || { echo "FAIL: $name: the two runs give the same outputs; the check would prove nothing"; exit 1; }
  local start end
  start=$(date +%s%N); eval "$new" > /dev/null; end=$(date +%s%N)
  local span=$(( (end - start) / 1000000 + 1 ))
  local saw_old=0 saw_new=0 left=0
  for i in $(seq "$kills"); do
    eval "$old" > /dev/null  # the previous complete outputs
    local delay=$(( RANDOM % span ))
    eval "exec $new" > /dev/null 2>&1 &
    local pid=$!
    sleep "$(printf '0.%03d' "$delay")" 2>/dev/null || sleep "$((delay / 1000))"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local got; got=$(digest "$out")
    if [ "$got" = "$want_old" ]; then saw_old=$((saw_old + 1)); elif [ "$got" = "$want_new" ]; then saw_new=$((saw_new + 1)); else
      echo "FAIL: $name: after a kill at ${delay} ms the outputs are neither the old nor the new set"; exit 1
    fi
    left=$((left + $(leftovers "$(dirname "$out")")))
  done
  eval "$old" > /dev/null
  [ "$(leftovers "$(dirname "$out")")" -eq 0 ] || { echo "FAIL: $name: leftovers remain after a complete run"; exit 1; }
  echo "$name: $kills kills over ${span} ms: old set $saw_old, new set $saw_new, never a mix; kills that left a hidden leftover: $left (removed by the next run)"
}

openb=datasets/openb-like
check compare "$work/cmp" \
  "'$berth' compare --nodes $openb/openb_node_list_gpu_node.csv --pods $openb/openb_pod_list_default.csv --policies fgd,bestfit,random --seeds 1-2 --out '$work/cmp'" \
  "'$berth' compare --nodes $openb/openb_node_list_gpu_node.csv --pods $openb/openb_pod_list_default.csv --policies fgd,bestfit,random --seeds 3-4 --out '$work/cmp'"
check generate "$work/gen" \
  "'$berth' generate cluster --nodes 2000 --pods 20000 --seed 1 --out '$work/gen'" \
  "'$berth' generate cluster --nodes 2000 --pods 20000 --seed 2 --out '$work/gen'"
check "schedule --out" "$work/placements.csv" \
  "'$berth' schedule --cluster datasets/sample --seed 1 --out '$work/placements.csv'" \
  "'$berth' schedule --cluster datasets/sample --seed 2 --out '$work/placements.csv'"
scenario=$work/scenario.yaml
python3 scripts/gen-simulation-benchmark.py 300 30 20 1 > "$scenario"
check "simulate --out" "$work/sim" \
  "'$berth' simulate '$scenario' --seed 1 --out '$work/sim'" \
  "'$berth' simulate '$scenario' --seed 2 --out '$work/sim'"
check "sweep run" "$work/shard" \
  "'$berth' sweep run datasets/sweeps/openb-like-grid.yaml --shard 0/2 --out '$work/shard'" \
  "'$berth' sweep run datasets/sweeps/openb-like-grid.yaml --shard 1/2 --out '$work/shard'"
echo "kill safety: 5 passed, 0 failed"
