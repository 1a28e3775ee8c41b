#!/usr/bin/env bash
# `llmc compile` time and peak RSS for Llama-2-7B-shaped checkpoints (sparse
# files: real headers, no data) with 8, 16, 32 and 80 layers, and the ratio
# of each time to the 8-layer one in the same run. Compilation reads headers
# only and builds one @layer function, so time should barely grow with depth.
# Usage: bench/compile_scaling.sh   (needs build/bin/llmc)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
llmc=$root/build/bin/llmc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%-8s %10s %12s %12s\n' layers "time (s)" "RSS (MiB)" "time/8"
base=""
for layers in 8 16 32 80; do
  sed "s/\"num_hidden_layers\": 32/\"num_hidden_layers\": $layers/" \
    "$root/bench/configs/llama-2-7b.json" > "$work/config-$layers.json"
  python3 "$root/scripts/make_checkpoint.py" sparse "$work/config-$layers.json" \
    "$work/m$layers" --dtype F16 --shards 2
  start=$EPOCHREALTIME
  rss=$( { /usr/bin/time -f "%M" "$llmc" compile "$work/m$layers" -o "$work/m$layers.llmc"; } 2>&1 | tail -n 1)
  seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  [ -n "$base" ] || base=$seconds
  printf '%-8s %10s %12.1f %12.2f\n' "$layers" "$seconds" "$(awk -v m="$rss" 'BEGIN { print m / 1024 }')" \
    "$(awk -v a="$seconds" -v b="$base" 'BEGIN { print a / b }')"
done
