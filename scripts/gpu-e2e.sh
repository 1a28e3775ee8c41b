#!/usr/bin/env bash
# GPU end-to-end checks (not in CI: CI machines have no GPU).
#
#   scripts/gpu-e2e.sh prepare DIR   on the build machine: compiles the
#                                    example models for sm_80 and sm_90 (f32,
#                                    f16, bf16) into DIR with llmc-run, its
#                                    shared libraries and the golden files
#   scripts/gpu-e2e.sh run DIR       on the GPU machine (no MLIR needed):
#                                    runs every artifact for the GPU's
#                                    architecture and compares logits and
#                                    greedy tokens with the transformers
#                                    golden files
#
# Tolerances: f32 artifacts within 1e-3 of the golden logits (the GPU's
# libdevice math and summation order differ from PyTorch's CPU kernels); f16
# within 1e-2 (f16 activations, f32 accumulation, as the CPU f16 test),
# greedy tokens identical in both; bf16 within 0.1 on the rows whose inputs
# are still the golden tokens (as the CPU bf16 test). Each artifact runs the
# three golden prompts alone and as one batch; on an sm_90 GPU the sm_80 f16
# artifacts run too (the driver compiles their PTX), and the sm_90 f16
# artifacts with --gpu-wgmma (sm_90a kernels), and with --gpu-wgmma --gpu-tma
# (the tiles copied by TMA; the d64 model below also with
# --gpu-tma-producer). With two GPUs or more and mpirun, llama-gqa's
# tensor-parallel f16 artifact (--tp 2) runs under mpirun -np 2, a GPU per
# rank, its collectives through NCCL, against the same golden files. Two
# random Llamas run f16 on the GPU against the CPU's f16 run of them, made at
# prepare time (the same greedy tokens, logits within 2e-2): d64
# (test/Runtime/Inputs/llama-d64.json: head_dim 64, k up to 256, so its
# projections at 70 and 20 rows split k across blocks) on mma.sync, wgmma and
# TMA tiles, and h128 (llama-gqa8-h128-narrow.json: Llama 2 70B's attention,
# head_dim 128 and 8 query heads per KV head, in a hidden size of 256 so that
# it travels light; prompts of 150 and 40 tokens) with the attention's tile
# pipeline and without (--gpu-attention-stages=1), and both with the
# attention's scores and P V on wgmma (--gpu-attention-wgmma; d64 also with
# the next step's scores issued before the softmax,
# --gpu-attention-overlap). Their prompts give each attention block one or
# two steps of 32 keys (the keys are split until there are 256 blocks); a
# third, wide (llama-mha-h64-wide.json: 8 KV heads of head_dim 64, prompts
# of 520 and 300 tokens), up to 5, so that the 3 stages wrap: on mma.sync
# and with --gpu-attention-overlap. Where a random model's variant or an
# example's wgmma or TMA artifact fails, it runs again with every launch's results
# dumped, on the GPU and under the kernel emulator (the fake driver and the
# same kernels compiled for the CPU, carried along): the first launch whose
# results differ names the kernel to look at.
set -euo pipefail

mode=${1:?usage: gpu-e2e.sh prepare|run DIR}
dir=${2:?usage: gpu-e2e.sh prepare|run DIR}
src=$(cd "$(dirname "$0")/.." && pwd)
models="llama-gqa gpt2 qwen2-mqa"
prompts=("1,17,42,99,7,250,3,64" "200,5" "9,9,9,128,77,31,1,0,255,14,60,2")
# The random models' prompts (token ids below 256).
d64_prompts=(--prompt-ids "$(seq -s, 1 70)" --prompt-ids "$(seq -s, 5 24)"
             --max-new-tokens 10)
h128_prompts=(--prompt-ids "$(seq -s, 3 152)" --prompt-ids "$(seq -s, 60 99)"
              --max-new-tokens 8)
# N ids (i * MUL + ADD) mod 256, comma-separated.
ids() { awk -v n="$1" -v m="$2" -v a="$3" \
  'BEGIN { for (i = 0; i < n; ++i) printf "%s%d", (i ? "," : ""), (i * m + a) % 256 }'; }
wide_prompts=(--prompt-ids "$(ids 520 37 11)" --prompt-ids "$(ids 300 53 7)"
              --max-new-tokens 2)

if [[ $mode == prepare ]]; then
  llmc=${LLMC:-$src/build/bin/llmc}
  run=${LLMC_RUN:-$src/build/bin/llmc-run}
  mkdir -p "$dir/bin" "$dir/lib" "$dir/golden"
  cp "$run" "$src/test/e2e/compare_golden.py" "$src/test/e2e/compare_runs.py" \
    "$src/test/e2e/compare_dumps.py" "$dir/bin/"
  # The GPU machine runs another distribution: llmc-run takes its shared
  # libraries along (all but the C and C++ runtimes, which are newer there).
  ldd "$run" | awk '$3 ~ /^\// {print $3}' |
    grep -vE '/(libc|libm|libstdc\+\+|libgcc_s|ld-linux[^/]*)\.so' |
    xargs -r cp -L -t "$dir/lib/"
  for model in $models; do
    mkdir -p "$dir/golden/$model"
    cp "$src/examples/$model/golden/"prompt*.npy "$dir/golden/$model/"
    for sm in sm_80 sm_90; do
      for dtype in f32 f16 bf16; do
        # The artifact reads the checkpoint where llmc saw it: pack the
        # weights so that the folder travels alone.
        "$llmc" compile "$src/examples/$model" --target=$sm --dtype $dtype \
          --pack-weights -o "$dir/$model.$sm.$dtype.llmc"
      done
    done
    # sm_90's GEMM tiles on wgmma (sm_90a kernels), 64 x 64 blocks, cp.async
    # or TMA, each with its kernels for the emulator (localize, below).
    for variant in wgmma tma; do
      flags=(--gpu-wgmma)
      [[ $variant == tma ]] && flags+=(--gpu-tma)
      "$llmc" compile "$src/examples/$model" --target=sm_90 --dtype f16 \
        "${flags[@]}" --pack-weights -o "$dir/$model.sm_90.f16.$variant.llmc"
      "$llmc" compile "$src/examples/$model" --target=sm_90 --dtype f16 \
        "${flags[@]}" --emit=emulated-kernels \
        -o "$dir/$model.sm_90.f16.$variant.emu.so"
    done
  done
  for sm in sm_80 sm_90; do
    "$llmc" compile "$src/examples/llama-gqa" --target=$sm --dtype f16 --tp 2 \
      --pack-weights -o "$dir/llama-gqa.$sm.f16.tp2.llmc"
    # Attention as separate kernels (scores in memory), the path before
    # llm.fused_attention.
    "$llmc" compile "$src/examples/llama-gqa" --target=$sm --dtype f16 \
      --gpu-fused-attention=false --pack-weights \
      -o "$dir/llama-gqa.$sm.f16.unfused.llmc"
    # Keys read in buckets of 8: the decode graphs' attention nodes are
    # updated as the key count crosses 16, 24, 32 (LLMRT_CUDA_GRAPHS=1).
    "$llmc" compile "$src/examples/llama-gqa" --target=$sm --dtype f16 \
      --gpu-key-bucket=8 --pack-weights \
      -o "$dir/llama-gqa.$sm.f16.bucket8.llmc"
  done
  # random_model NAME CONFIG STD: a random checkpoint of CONFIG, whose CPU
  # f16 run of NAME's prompts is the reference.
  random_model() {
    local name=$1 config=$2 std=$3 prompts
    prompts="${name}_prompts[@]"
    python3 "$src/scripts/make_checkpoint.py" random \
      "$src/test/Runtime/Inputs/$config" "$dir/$name-checkpoint" --std "$std"
    "$llmc" compile "$dir/$name-checkpoint" --dtype f16 \
      -o "$dir/$name.cpu.f16.llmc"
    mkdir -p "$dir/golden/$name"
    "$run" "$dir/$name.cpu.f16.llmc" "${!prompts}" \
      --logits-out "$dir/golden/$name/cpu.npy" > "$dir/golden/$name/cpu.txt"
    rm -rf "$dir/$name.cpu.f16.llmc"
  }
  # variant MODEL NAME FLAGS...: the random model compiled with FLAGS, and
  # its kernels for the kernel emulator, which localize (below) compares a
  # failing GPU run with, launch by launch.
  variant() {
    local model=$1 name=$2
    shift 2
    "$llmc" compile "$dir/$model-checkpoint" --dtype f16 "$@" --pack-weights \
      -o "$dir/$model.$name.llmc"
    "$llmc" compile "$dir/$model-checkpoint" --dtype f16 "$@" \
      --emit=emulated-kernels -o "$dir/$model.$name.emu.so"
  }
  random_model d64 llama-d64.json 0.08
  variant d64 sm_80.f16 --target=sm_80
  variant d64 sm_90.f16 --target=sm_90
  variant d64 sm_90.f16.wgmma --target=sm_90 --gpu-wgmma
  variant d64 sm_90.f16.tma --target=sm_90 --gpu-wgmma --gpu-tma
  variant d64 sm_90.f16.tmadeep --target=sm_90 --gpu-wgmma --gpu-tma \
    --gpu-mma-block-rows=128 --gpu-mma-block-cols=128 \
    --gpu-mma-stage-steps=64 --gpu-mma-stages=4
  # TMA with a producer warp, k whole (stages reused) and deep tiles.
  variant d64 sm_90.f16.producer --target=sm_90 --gpu-wgmma --gpu-tma \
    --gpu-tma-producer --gpu-mma-split-k=false
  variant d64 sm_90.f16.producerdeep --target=sm_90 --gpu-wgmma --gpu-tma \
    --gpu-tma-producer --gpu-mma-block-rows=128 --gpu-mma-block-cols=128 \
    --gpu-mma-stage-steps=64 --gpu-mma-stages=4
  random_model h128 llama-gqa8-h128-narrow.json 0.05
  variant h128 sm_80.f16 --target=sm_80
  variant h128 sm_90.f16 --target=sm_90
  variant h128 sm_90.f16.stage1 --target=sm_90 --gpu-attention-stages=1
  # The prefill attention's scores and P V on wgmma (sm_90a kernels).
  variant d64 sm_90.f16.awgmma --target=sm_90 --gpu-attention-wgmma
  variant h128 sm_90.f16.awgmma --target=sm_90 --gpu-attention-wgmma
  variant d64 sm_90.f16.aover --target=sm_90 --gpu-attention-wgmma \
    --gpu-attention-overlap
  # Several steps of keys per attention block (8 KV heads, prompts of 520
  # and 300 tokens: up to 5 steps of 32 keys, the tile stages wrap), on
  # mma.sync and on wgmma with the overlap.
  random_model wide llama-mha-h64-wide.json 0.05
  variant wide sm_90.f16 --target=sm_90
  variant wide sm_90.f16.aover --target=sm_90 --gpu-attention-wgmma \
    --gpu-attention-overlap
  # The fake CUDA driver that runs those kernels on the CPU.
  mkdir -p "$dir/fake-cuda"
  cp "${FAKE_CUDA:-$src/build/fake-cuda}/libcuda.so.1" "$dir/fake-cuda/"
  rm -rf "$dir/d64-checkpoint" "$dir/h128-checkpoint" "$dir/wide-checkpoint"
  echo "prepared $dir ($(du -sh "$dir" | cut -f1))"
  exit 0
fi

[[ $mode == run ]] || { echo "unknown mode $mode" >&2; exit 2; }
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1)
sm=sm_${cap/./}
[[ $sm == sm_80 || $sm == sm_90 ]] || sm=sm_80
echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1) ($sm)"
# LAUNCH: the launcher of sharded artifacts (mpirun), empty for one GPU.
# RUN_ENV: variables of the runtime for llmc-run (LLMRT_CUDA_GRAPHS=1).
llmc_run() {
  $LAUNCH env LD_LIBRARY_PATH="$dir/lib" "${RUN_ENV[@]}" "$dir/bin/llmc-run" "$@"
}
LAUNCH=
RUN_ENV=()
status=0
# localize ARTIFACT ARGS...: an artifact that failed, run again with every
# launch's results dumped (LLMRT_CUDA_DUMP), on the GPU and under the kernel
# emulator (the fake driver on this machine's CPU, the same artifact's
# kernels compiled for it: ARTIFACT without .llmc, .emu.so; nothing without
# them): the first launch whose results differ (compare_dumps.py), the
# dumps left in out/dump-NAME.
localize() {
  local artifact=$1 name
  shift
  name=$(basename "$artifact" .llmc)
  [[ -f ${artifact%.llmc}.emu.so ]] || return 0
  local out="$dir/out/dump-$name"
  rm -rf "$out"
  mkdir -p "$out/gpu" "$out/emulated"
  LLMRT_CUDA_DUMP="$out/gpu" llmc_run "$artifact" "$@" \
    > "$out/gpu.txt" 2> "$out/gpu.err" || true
  env LD_LIBRARY_PATH="$dir/fake-cuda:$dir/lib" \
    FAKE_CUDA_KERNELS="${artifact%.llmc}.emu.so" \
    LLMRT_CUDA_DUMP="$out/emulated" "$dir/bin/llmc-run" "$artifact" "$@" \
    > "$out/emulated.txt" 2> "$out/emulated.err" || true
  python3 "$dir/bin/compare_dumps.py" "$out/emulated" "$out/gpu" |
    sed 's/^/  launches: /'
}
# check NAME ARTIFACT ATOL: every golden prompt alone, then all three as
# one batch of different lengths, each against transformers.
check() {
  local name=$1 artifact=$2 atol=$3 model=$4 out="$dir/out/${1%% *}" k ok=1
  local compare=(--atol "$atol")
  # bf16 (7-bit mantissa): the logits only, as on the CPU.
  [[ $name == *bf16* ]] && compare+=(--logits-only)
  mkdir -p "$out"
  local batch=()
  for k in 0 1 2; do
    batch+=(--prompt-ids "${prompts[$k]}")
    if ! llmc_run "$artifact" --prompt-ids "${prompts[$k]}" \
           --max-new-tokens 21 --logits-out "$out/p$k.npy" \
           > "$out/p$k.txt" 2> "$out/p$k.err"; then
      echo "FAIL $name prompt$k: $(tail -1 "$out/p$k.err")"
      localize "$artifact" --prompt-ids "${prompts[$k]}" --max-new-tokens 21
      return 1
    fi
    python3 "$dir/bin/compare_golden.py" "$dir/golden/$model/prompt$k" \
      "$out/p$k.npy" "$out/p$k.txt" "${compare[@]}" > "$out/p$k.cmp" 2>&1 ||
      ok=0
  done
  if ! llmc_run "$artifact" "${batch[@]}" --max-new-tokens 21 \
         --logits-out "$out/batch.npy" > "$out/batch.txt" 2> "$out/batch.err"
  then
    echo "FAIL $name batch: $(tail -1 "$out/batch.err")"; return 1
  fi
  for k in 0 1 2; do
    sed -n "$((k + 1))p" "$out/batch.txt" > "$out/b$k.txt"
    python3 "$dir/bin/compare_golden.py" "$dir/golden/$model/prompt$k" \
      "$out/batch.$k.npy" "$out/b$k.txt" "${compare[@]}" > "$out/b$k.cmp" \
      2>&1 || ok=0
  done
  local worst
  worst=$(grep -ho "max abs error [0-9.e+-]*" "$out"/*.cmp |
          awk '{print $4}' | sort -g | tail -1)
  if ((ok)); then
    echo "PASS $name: 3 prompts + batch of 3, max abs error $worst (atol $atol)$([[ $name == *bf16* ]] || echo ', greedy tokens match')"
  else
    echo "FAIL $name (atol $atol): $(grep -hv '^max abs error [^ ]* over\|^greedy tokens match' "$out"/*.cmp | head -1) [max abs error $worst]"
    localize "$artifact" --prompt-ids "${prompts[0]}" --max-new-tokens 21
    return 1
  fi
}
# The models side by side (one process each on the GPU at a time).
check_model() {
  local model=$1 status=0 dtype atol
  for dtype in f32 f16 bf16; do
    atol=1e-3; [[ $dtype == f16 ]] && atol=1e-2; [[ $dtype == bf16 ]] && atol=0.1
    check "$model.$sm.$dtype" "$dir/$model.$sm.$dtype.llmc" $atol $model ||
      status=1
  done
  if [[ $model == llama-gqa ]]; then
    check "$model.$sm.f16 --gpu-fused-attention=false" \
      "$dir/$model.$sm.f16.unfused.llmc" 1e-2 $model || status=1
  fi
  # Each decode step as one CUDA graph; for llama-gqa also with keys in
  # buckets of 8, whose graphs' nodes are updated as the keys grow.
  local RUN_ENV=(LLMRT_CUDA_GRAPHS=1)
  check "$model.$sm.f16.graphs (LLMRT_CUDA_GRAPHS=1)" \
    "$dir/$model.$sm.f16.llmc" 1e-2 $model || status=1
  if [[ $model == llama-gqa ]]; then
    check "$model.$sm.f16.graphs --gpu-key-bucket=8 (LLMRT_CUDA_GRAPHS=1)" \
      "$dir/$model.$sm.f16.bucket8.llmc" 1e-2 $model || status=1
  fi
  RUN_ENV=()
  if [[ $sm == sm_90 ]]; then
    check "$model.sm_90.f16 --gpu-wgmma" "$dir/$model.sm_90.f16.wgmma.llmc" \
      1e-2 $model || status=1
    check "$model.sm_90.f16 --gpu-wgmma --gpu-tma" \
      "$dir/$model.sm_90.f16.tma.llmc" 1e-2 $model || status=1
  fi
  # An artifact for an older GPU: the driver compiles its PTX.
  if [[ $sm != sm_80 ]]; then
    check "$model.sm_80.f16 (PTX JIT on $sm)" "$dir/$model.sm_80.f16.llmc" \
      1e-2 $model || status=1
  fi
  return $status
}
mkdir -p "$dir/out"
pids=()
for model in $models; do
  check_model $model > "$dir/out/$model.log" 2>&1 &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || status=1
done
for model in $models; do cat "$dir/out/$model.log"; done
# check_random MODEL NAME VARIANT: a random model against its CPU f16 run.
check_random() {
  local model=$1 out="$dir/out/$1-${2// /_}" artifact="$dir/$1.$3.llmc"
  local prompts="${1}_prompts[@]"
  mkdir -p "$out"
  if ! llmc_run "$artifact" "${!prompts}" --logits-out "$out/gpu.npy" \
         > "$out/gpu.txt" 2> "$out/gpu.err"; then
    echo "FAIL $model $2: $(tail -1 "$out/gpu.err")"
    localize "$artifact" "${!prompts}"
    return 1
  fi
  if python3 "$dir/bin/compare_runs.py" "$dir/golden/$model/cpu" "$out/gpu" 2 \
       --atol 2e-2 > "$out/cmp" 2>&1; then
    echo "PASS $model $2 against the CPU's f16 run: $(head -1 "$out/cmp")"
  else
    echo "FAIL $model $2 against the CPU's f16 run: $(head -3 "$out/cmp" | tr '\n' ' ')"
    localize "$artifact" "${!prompts}"
    return 1
  fi
}
check_random d64 "$sm.f16" $sm.f16 || status=1
check_random h128 "$sm.f16" $sm.f16 || status=1
if [[ $sm == sm_90 ]]; then
  check_random d64 "sm_90.f16 --gpu-wgmma" sm_90.f16.wgmma || status=1
  check_random d64 "sm_90.f16 --gpu-wgmma --gpu-tma" sm_90.f16.tma || status=1
  check_random d64 "sm_90.f16 --gpu-tma, 128 x 128 x 4 stages of 64" \
    sm_90.f16.tmadeep || status=1
  check_random d64 "sm_90.f16 --gpu-tma-producer --gpu-mma-split-k=false" \
    sm_90.f16.producer || status=1
  check_random d64 "sm_90.f16 --gpu-tma-producer, 128 x 128 x 4 stages of 64" \
    sm_90.f16.producerdeep || status=1
  check_random h128 "sm_90.f16 --gpu-attention-stages=1" sm_90.f16.stage1 ||
    status=1
  check_random d64 "sm_90.f16 --gpu-attention-wgmma" sm_90.f16.awgmma ||
    status=1
  check_random h128 "sm_90.f16 --gpu-attention-wgmma" sm_90.f16.awgmma ||
    status=1
  check_random d64 "sm_90.f16 --gpu-attention-overlap" sm_90.f16.aover ||
    status=1
  check_random wide "sm_90.f16" sm_90.f16 || status=1
  check_random wide "sm_90.f16 --gpu-attention-overlap" sm_90.f16.aover ||
    status=1
fi
gpus=$(nvidia-smi --query-gpu=name --format=csv,noheader | wc -l)
if ((gpus >= 2)) && command -v mpirun > /dev/null; then
  LAUNCH="mpirun --allow-run-as-root --oversubscribe -np 2"
  check "llama-gqa.$sm.f16 --tp 2 (mpirun, NCCL)" \
    "$dir/llama-gqa.$sm.f16.tp2.llmc" 1e-2 llama-gqa || status=1
  # Each rank's decode steps as CUDA graphs, NCCL's calls captured in them.
  RUN_ENV=(LLMRT_CUDA_GRAPHS=1)
  check "llama-gqa.$sm.f16 --tp 2 (mpirun, NCCL) graphs (LLMRT_CUDA_GRAPHS=1)" \
    "$dir/llama-gqa.$sm.f16.tp2.llmc" 1e-2 llama-gqa || status=1
  RUN_ENV=()
  LAUNCH=
else
  echo "SKIP llama-gqa.$sm.f16 --tp 2: needs 2 GPUs and mpirun ($gpus GPU(s)$(command -v mpirun > /dev/null || echo ', no mpirun'))"
fi
exit $status
