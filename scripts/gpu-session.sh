#!/usr/bin/env bash
# One lent GPU's worth of measurements, most wanted first, in one call.
#
#   scripts/gpu-session.sh prepare     here (no GPU): the 1.1B benchmark's
#                                      artifacts and variants and
#                                      gpu-e2e.sh's, packed into .gpu.tgz
#                                      (a call carries 64 MiB at most)
#   scripts/gpu-session.sh run         on the GPU machine, from the
#                                      repository root (carry .gpu.tgz):
#                                      unpacks it and runs the steps below
#                                      in order while time is left
#
# A session is lent 15 minutes of device time, a start included, and one
# command may run 10: `run` keeps to LLMC_GPU_BUDGET seconds (default 480),
# giving each step what is left (`timeout`), so that whatever ran comes
# back. Everything it prints also goes to $OUT/session.log (or
# ./session.log without $OUT). The steps:
#
#   1. correctness (3 minutes at most): scripts/gpu-e2e.sh run (the
#      examples against the golden logits; mma.sync, wgmma, TMA and the
#      attention's tile pipeline on the d64 model against the CPU's run)
#   2. prefill, 1016 tokens (the artifacts hold 1024 positions): the
#      build's default (mma.sync 64 x 64 tiles) against the sm_90 tile
#      variants (wgmma, TMA, warp-specialized TMA; 128 x 128 and 128 x 256
#      blocks) and against the attention without its tile pipeline
#      (astage1), with its S and P V on wgmma (awgmma) and with the next
#      step's S issued before the softmax (aover): which tiles and
#      which attention become sm_90's defaults
#   3. decode at batch 1, prompt 128, 64 tokens: the build against CUDA
#      graphs (LLMRT_CUDA_GRAPHS=1) and the prefetching projections
#      (--gpu-prefetch-weights): whether graphs become the default
#   4. prefill of 512 and batched decode (16 rows), the tile variants
#      again, if time is left
#
# Each step prints its own table (bench/gpu_vs_pytorch.py); copy the
# figures into bench/gpu-notes.md with the card's name.
set -uo pipefail

mode=${1:?usage: gpu-session.sh prepare|run}
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"

# NAME=FLAGS of each variant step 2 or 4 compares.
variants=(
  "wgmma128=--gpu-wgmma --gpu-mma-block-rows=128 --gpu-mma-block-cols=128"
  "tma256=--gpu-wgmma --gpu-tma --gpu-mma-block-rows=128 --gpu-mma-block-cols=256 --gpu-mma-stage-steps=64 --gpu-mma-stages=4"
  "prod=--gpu-wgmma --gpu-tma --gpu-tma-producer"
  "prod256=--gpu-wgmma --gpu-tma --gpu-tma-producer --gpu-mma-block-rows=128 --gpu-mma-block-cols=256 --gpu-mma-stage-steps=64 --gpu-mma-stages=4"
  "astage1=--gpu-attention-stages=1"
  "awgmma=--gpu-attention-wgmma"
  "aover=--gpu-attention-wgmma --gpu-attention-overlap"
  "prefetch=--gpu-prefetch-weights"
)
tiles=wgmma128,tma256,prod,prod256

if [[ $mode == prepare ]]; then
  set -e
  rm -rf .gpu .gpu.tgz
  args=()
  for v in "${variants[@]}"; do args+=(--variant "$v"); done
  python3 bench/gpu_vs_pytorch.py prepare .gpu "${args[@]}"
  bash scripts/gpu-e2e.sh prepare .gpu
  tar czf .gpu.tgz .gpu
  echo "gpu-session: .gpu.tgz, $(du -m .gpu.tgz | cut -f1) MiB; on the GPU:" \
    "run 'bash scripts/gpu-session.sh run' with carry ['.gpu.tgz']"
  exit 0
fi
[[ $mode == run ]] || { echo "gpu-session: unknown mode '$mode' (prepare or run)" >&2; exit 2; }

log=${OUT:-.}/session.log
exec > >(tee -a "$log") 2>&1
budget=${LLMC_GPU_BUDGET:-480}
start=$SECONDS
export PYTHONUNBUFFERED=1

# step NAME MIN_SECONDS MAX_SECONDS COMMAND...: runs COMMAND for at most
# the time left or MAX_SECONDS (if at least MIN_SECONDS are left), and
# says how long it took and how it ended.
step() {
  local name=$1 least=$2 most=$3
  shift 3
  local left=$((budget - (SECONDS - start)))
  if ((left < least)); then
    echo "== $name: skipped ($left s left, needs $least)"
    return
  fi
  echo "== $name ($left s left)"
  local began=$SECONDS
  timeout --kill-after=5 "$((left < most ? left : most))" "$@"
  local rc=$?
  echo "== $name: exit $rc after $((SECONDS - began)) s$( ((rc == 124)) && echo ' (out of time)')"
}

[[ -f .gpu.tgz ]] || { echo "gpu-session: no .gpu.tgz (run 'prepare' here first, then carry it)"; exit 2; }
tar xzf .gpu.tgz
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
step "1 correctness" 60 180 bash scripts/gpu-e2e.sh run .gpu
step "2 prefill 1016" 90 600 python3 bench/gpu_vs_pytorch.py run .gpu --prompt 1016 --new 8 --repeats 2 --variants "$tiles,astage1,awgmma,aover"
step "3 decode" 90 600 python3 bench/gpu_vs_pytorch.py run .gpu --prompt 128 --new 64 --variants prefetch --env graphs=LLMRT_CUDA_GRAPHS=1
step "4a prefill 512" 60 600 python3 bench/gpu_vs_pytorch.py run .gpu --prompt 512 --new 16 --repeats 2 --variants "$tiles"
step "4b batch 16" 60 600 python3 bench/gpu_vs_pytorch.py run .gpu --prompt 32 --new 32 --batch 16 --repeats 2 --variants "$tiles"
echo "gpu-session: $((SECONDS - start)) s of $budget"
