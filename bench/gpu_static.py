#!/usr/bin/env python3
"""Static measures of GPU artifacts, without a GPU.

  bench/gpu_static.py [--build build] [--models llama-gqa,gpt2,qwen2-mqa]
                      [--checkpoint DIR ...]

For each example model compiled for sm_80 and sm_90 (f16): kernels in the
program, the most registers / shared bytes of a kernel and total spill
bytes (ptxas -v, from the manifest), and kernel launches, device
allocations and host<->device copies per decode step, counted by running
llmc-run under the fake driver (build/fake-cuda: no kernel runs) for 2 and
for 10 new tokens (the steady decode steps: the first one allocates the
blocks the others reuse); and with LLMRT_CUDA_GRAPHS=1, the driver calls that
issue a decode step (graph launches, node updates and launches outside
graphs: "graph calls"). A reference for ratios: the launches per decode step of
a hand-fused engine (one GEMM per projection, one fused norm, rope, attention
and activation kernel each: about 9 per layer + 3) are printed beside ours.

"read/weights": the device memory a decode step reads over the weights'
bytes (ideal about 1.0: each weight once, plus the KV cache and the
activations; an untied embedding table contributes only its rows), with
the kernels run by the emulator (--emit=emulated-kernels,
FAKE_CUDA_TRAFFIC=1: each kernel's distinct 32-byte sectors, as DRAM would
serve them were every kernel to start with a cold cache that kept what it
read). --checkpoint adds a row for another model folder (f16, sm_90), such
as the 1.1B benchmark model (scripts/make_checkpoint.py sparse
bench/configs/llama-1b.json DIR --dtype F16; minutes of emulation).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "test", "e2e"))
from read_per_step import bytes_read  # noqa: E402


def fake_counts(run, artifact, fake, tokens, graphs=False):
    """Launches, allocations, copies; with graphs (LLMRT_CUDA_GRAPHS=1) the
    graph launches and node updates too."""
    env = dict(os.environ, LD_LIBRARY_PATH=fake, FAKE_CUDA_SM="90")
    if graphs:
        env["LLMRT_CUDA_GRAPHS"] = "1"
    out = subprocess.run([run, artifact, "--prompt-ids=1,2,3,4",
                          f"--max-new-tokens={tokens}"], env=env,
                         capture_output=True, text=True, check=True)
    m = re.search(r"fake-cuda: (\d+) launches \(\d+ kernels[^)]*\), (\d+) "
                  r"allocations, \d+ frees, (\d+) copies"
                  r"(?:, (\d+) graph launches \(\d+ kernels, (\d+) node "
                  r"updates\))?", out.stderr)
    return [int(x or 0) for x in m.groups()]


def read_per_step(run, artifact, kernels, fake):
    """Device-memory bytes one decode step reads (2 against 1 new tokens:
    the second token's step), with the kernels emulated."""
    env = dict(os.environ, LD_LIBRARY_PATH=fake, FAKE_CUDA_SM="90",
               FAKE_CUDA_KERNELS=kernels, FAKE_CUDA_TRAFFIC="1")
    read = []
    for tokens in (2, 3):
        out = subprocess.run([run, artifact, "--prompt-ids=1,2,3,4",
                              f"--max-new-tokens={tokens}"], env=env,
                             capture_output=True, text=True, check=True)
        read.append(bytes_read(out.stderr, artifact))
    return read[1] - read[0]


def measure(llmc, run, fake, model_dir, name, sm, reference, work):
    artifact = os.path.join(work, f"{name}.{sm}.llmc")
    kernels = os.path.join(work, f"{name}.{sm}.so")
    for out, emit in ((artifact, []), (kernels, ["--emit=emulated-kernels"])):
        subprocess.run([llmc, "compile", model_dir, "--dtype", "f16",
                        f"--target={sm}", "-o", out] + emit, check=True)
    with open(os.path.join(artifact, "manifest.json")) as f:
        program = json.load(f)["programs"][0]
    kernel_list = program["gpu"]["kernels"]
    short = fake_counts(run, artifact, fake, 2)
    long = fake_counts(run, artifact, fake, 10)
    per = [(b - a) / 8 for a, b in zip(short, long)]
    # With graphs: the driver calls that issue a step (plain launches,
    # graph launches, node updates).
    short = fake_counts(run, artifact, fake, 2, graphs=True)
    long = fake_counts(run, artifact, fake, 10, graphs=True)
    calls = sum(long[i] - short[i] for i in (0, 3, 4)) / 8
    read = read_per_step(run, artifact, kernels, fake) / program["weight_bytes"]
    print(f"{name:<11} {sm:<6} {len(kernel_list):>7} "
          f"{max(k['registers'] for k in kernel_list):>8} "
          f"{sum(k['spill_bytes'] for k in kernel_list):>7} "
          f"{max(k['shared_bytes'] + k.get('dynamic_shared_bytes', 0) for k in kernel_list):>6} "
          f"{per[0]:>11.0f} {reference:>9} "
          f"{per[0] / reference:>5.1f} {per[1]:>10.0f} "
          f"{per[2]:>9.0f} {calls:>12.0f} {read:>12.2f}", flush=True)


def layers_of(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    return config.get("num_hidden_layers", config.get("n_layer"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--models", default="llama-gqa,gpt2,qwen2-mqa")
    parser.add_argument("--checkpoint", action="append", default=[],
                        help="another model folder, measured for sm_90")
    args = parser.parse_args()
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    llmc = os.path.join(args.build, "bin", "llmc")
    run = os.path.join(args.build, "bin", "llmc-run")
    fake = os.path.join(args.build, "fake-cuda")
    print(f"{'model':<11} {'target':<6} {'kernels':>7} {'max regs':>8} "
          f"{'spill B':>7} {'smem B':>6} {'launch/step':>11} "
          f"{'fused ref':>9} {'ratio':>5} {'alloc/step':>10} "
          f"{'copy/step':>9} {'graph calls':>12} {'read/weights':>12}")
    with tempfile.TemporaryDirectory() as work:
        for model in args.models.split(","):
            model_dir = os.path.join(src, "examples", model)
            for sm in ["sm_80", "sm_90"]:
                measure(llmc, run, fake, model_dir, model, sm,
                        9 * layers_of(model_dir) + 3, work)
        for model_dir in args.checkpoint:
            measure(llmc, run, fake, model_dir,
                    os.path.basename(os.path.normpath(model_dir)), "sm_90",
                    9 * layers_of(model_dir) + 3, work)


if __name__ == "__main__":
    main()
