#!/usr/bin/env bash
# Builds berth-fuzz with libFuzzer and runs every fuzz target (or those named) for a fixed time
# each, starting from the committed seed corpus in Fuzz/corpus/<target>/. Findings (crash-*,
# oom-*, timeout-*) land in .build-fuzz/artifacts/<target>/ and fail the run.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]     (default 30 s, every target)
#        FUZZ_RUNS=10000000 scripts/fuzz.sh 0 quantity        (a fixed number of executions)
# See docs/reliability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
all=(kubernetes-yaml cluster-csv openb-csv quantity label-selector scheduler-config suite placements bench-report duration cron-schedule scenario hpa-explain vpa-recommend load-series instance-catalogue sweep compare-runs autoscale-runs sweep-manifest)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

swift build -c release --build-path .build-fuzz --product berth-fuzz \
  -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING -Xswiftc -parse-as-library \
  -Xcc -fsanitize=fuzzer-no-link -Xswiftc -use-ld=lld
bin=.build-fuzz/release/berth-fuzz

failed=0
for t in "${targets[@]}"; do
  work=$(mktemp -d)  # the corpus grows here, not in the repository
  cp -r "Fuzz/corpus/$t/." "$work/"
  artifacts=.build-fuzz/artifacts/$t/
  mkdir -p "$artifacts"
  limit=(-max_total_time="$seconds")
  [ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
  echo "fuzz $t: ${FUZZ_RUNS:+$FUZZ_RUNS runs}${FUZZ_RUNS:-$seconds s}"
  # Swift's backtracer would catch a trap before libFuzzer could save the input: turn it off.
  if SWIFT_BACKTRACE=enable=no BERTH_FUZZ_TARGET=$t "$bin" "$work" "${limit[@]}" \
      -max_len=16384 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
      -artifact_prefix="$artifacts" -print_final_stats=1 > "$work.log" 2>&1; then
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$work.log" | sed "s/^/  $t /"
  else
    echo "FAIL: fuzz target $t found a crash, hang or unbounded allocation:"
    grep -vE "^(#|INFO|0x)" "$work.log" | tail -30
    ls "$artifacts"
    failed=1
  fi
  rm -rf "$work" "$work.log"
done
[ $failed -eq 0 ] && echo "fuzz: ${#targets[@]} passed, 0 failed" || { echo "fuzz: findings above"; exit 1; }
