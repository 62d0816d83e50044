#!/usr/bin/env bash
# The live view's cost (docs/measurement.md, "The live view's cost"): `streamlab run` W1
# over one generated file, without and with `--serve`, interleaved in one run
# (off, serve, off, serve, ...; REPS of each, per engine). Prints every run's time and
# throughput, then per engine the median throughput of each and their ratio.
#   bash harness/live/cost.sh             # 5M events, 3 repetitions, record and microbatch
#   EVENTS=1000000 REPS=5 ENGINES=baseline bash harness/live/cost.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${STREAMLAB:-target/release/streamlab}
events=${EVENTS:-5000000}
reps=${REPS:-3}
engines=${ENGINES:-record microbatch}
dir=$(mktemp -d "${TMPDIR:-/tmp}/streamlab-live-cost.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$bin" gen --workload clicks --events "$events" --seed 7 --disorder 0.05 --max-delay 3s \
  --late 0.001 --late-by 60s --output "$dir/clicks.jsonl" 2>/dev/null
field() { grep -o "\"$1\": *[0-9.e+-]*" "$2" | sed 's/.*: *//'; }
printf '%-11s %-6s %4s %12s %14s\n' engine serve rep elapsed_ms events/s
for engine in $engines; do
  for rep in $(seq "$reps"); do
    for mode in off on; do
      serve=()
      if [ "$mode" = on ]; then serve=(--serve); fi
      "$bin" run --engine "$engine" --query queries/w1.toml --input "$dir/clicks.jsonl" \
        --output /dev/null --summary "$dir/summary.json" "${serve[@]}" 2>/dev/null
      eps=$(field throughput_eps "$dir/summary.json")
      printf '%-11s %-6s %4s %12.1f %14.0f\n' "$engine" "$mode" "$rep" \
        "$(field elapsed_ms "$dir/summary.json")" "$eps"
      echo "$engine $mode $eps" >> "$dir/eps"
    done
  done
done
echo
for engine in $engines; do
  median() { grep "^$engine $1 " "$dir/eps" | awk '{print $3}' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  off=$(median off)
  on=$(median on)
  awk -v e="$engine" -v off="$off" -v on="$on" 'BEGIN {
    printf "%s: median %.2fM events/s without --serve, %.2fM with; with/without = %.3f\n", e, off/1e6, on/1e6, on/off }'
done
