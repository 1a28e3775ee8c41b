#!/usr/bin/env bash
# Time and peak RSS of `llmc import` on Llama-2-7B- and 70B-shaped checkpoints
# made as sparse files (real headers, holes for data), against the tiny
# example in the same run. Import must read headers only, so time and memory
# should follow the number of tensors, not the weight bytes.
# Usage: bench/import_scaling.sh [runs]   (needs build/bin/llmc)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
llmc=$root/build/bin/llmc
runs=${1:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 "$root/scripts/make_checkpoint.py" sparse "$root/bench/configs/llama-2-7b.json" "$work/7b" --dtype F16 --shards 2
python3 "$root/scripts/make_checkpoint.py" sparse "$root/bench/configs/llama-2-70b.json" "$work/70b" --dtype F16 --shards 15

# Median wall seconds and median peak RSS (MiB) of `llmc import DIR` over $runs runs.
measure() {
  local dir=$1 times=() rss=() start m
  for _ in $(seq "$runs"); do
    start=$EPOCHREALTIME
    m=$( { /usr/bin/time -f "%M" "$llmc" import "$dir" -o /dev/null; } 2>&1 >/dev/null | tail -n 1)
    times+=("$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }')")
    rss+=("$m")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
  printf '%s\n' "${rss[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p" | awk '{printf "%.1f\n", $1 / 1024}'
}

printf '%-12s %14s %10s %10s %12s %10s\n' model "weight bytes" tensors "time (s)" "RSS (MiB)" "time/tiny"
tiny=""
for name in tiny 7b 70b; do
  dir=$work/$name
  [ "$name" = tiny ] && dir=$root/examples/llama-gqa
  bytes=$(du -b --apparent-size -c "$dir"/*.safetensors | tail -n 1 | cut -f1)
  tensors=$("$llmc" explain "$dir" | sed -n 's/^parameters: \([0-9]*\) tensors.*/\1/p')
  mapfile -t result < <(measure "$dir")
  [ -n "$tiny" ] || tiny=${result[0]}
  ratio=$(awk -v a="${result[0]}" -v b="$tiny" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  printf '%-12s %14s %10s %10s %12s %10s\n' "$name" "$bytes" "$tensors" "${result[0]}" "${result[1]}" "$ratio"
done
