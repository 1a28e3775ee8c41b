#!/usr/bin/env bash
# GPU end-to-end checks (not in CI: CI machines have no GPU).
#
#   scripts/gpu-e2e.sh prepare DIR   on the build machine: compiles the
#                                    example models for sm_80 and sm_90 (f32
#                                    and f16) into DIR with llmc-run and the
#                                    golden files beside them
#   scripts/gpu-e2e.sh run DIR       on the GPU machine (no MLIR needed):
#                                    runs every artifact for the GPU's
#                                    architecture and compares logits and
#                                    greedy tokens with the transformers
#                                    golden files
#
# Tolerances: f32 artifacts within 1e-3 of the golden logits (the GPU's
# libdevice math and summation order differ from PyTorch's CPU kernels);
# f16 within 5e-2 (f16 activations and accumulation; the CPU f16 tests use
# 2e-2 for the same models), greedy tokens identical in both.
set -euo pipefail

mode=${1:?usage: gpu-e2e.sh prepare|run DIR}
dir=${2:?usage: gpu-e2e.sh prepare|run DIR}
src=$(cd "$(dirname "$0")/.." && pwd)
models="llama-gqa gpt2 qwen2-mqa"
prompt0="1,17,42,99,7,250,3,64"

if [[ $mode == prepare ]]; then
  llmc=${LLMC:-$src/build/bin/llmc}
  mkdir -p "$dir/bin" "$dir/golden"
  cp "${LLMC_RUN:-$src/build/bin/llmc-run}" "$dir/bin/"
  cp "$src/test/e2e/compare_golden.py" "$dir/bin/"
  for model in $models; do
    mkdir -p "$dir/golden/$model"
    cp "$src/examples/$model/golden/prompt0."* "$dir/golden/$model/"
    for sm in sm_80 sm_90; do
      for dtype in f32 f16; do
        # The artifact reads the checkpoint where llmc saw it: pack the
        # weights so that the folder travels alone.
        "$llmc" compile "$src/examples/$model" --target=$sm --dtype $dtype \
          --pack-weights -o "$dir/$model.$sm.$dtype.llmc"
      done
    done
  done
  echo "prepared $dir ($(du -sh "$dir" | cut -f1))"
  exit 0
fi

[[ $mode == run ]] || { echo "unknown mode $mode" >&2; exit 2; }
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1)
sm=sm_${cap/./}
[[ $sm == sm_80 || $sm == sm_90 ]] || sm=sm_80
echo "GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader | head -1) ($sm)"
status=0
for model in $models; do
  for dtype in f32 f16; do
    artifact="$dir/$model.$sm.$dtype.llmc"
    atol=1e-3; [[ $dtype == f16 ]] && atol=5e-2
    out="$dir/out.$model.$dtype"
    if "$dir/bin/llmc-run" "$artifact" --prompt-ids "$prompt0" \
         --max-new-tokens 21 --logits-out "$out.npy" > "$out.txt" \
         2> "$out.err" &&
       python3 "$dir/bin/compare_golden.py" "$dir/golden/$model/prompt0" \
         "$out.npy" "$out.txt" --atol "$atol"; then
      echo "PASS $model $dtype (atol $atol)"
    else
      echo "FAIL $model $dtype: $(tail -1 "$out.err")"
      status=1
    fi
  done
done
exit $status
