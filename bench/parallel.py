#!/usr/bin/env python3
"""Sharded runs on the CPU under mpirun: communication, weight memory and the
pipeline bubble, as ratios against their analytic values in the same run.

  bench/parallel.py [--model examples/llama-gqa] [--batch 4] [--steps 8]

For each layout (tp 2, tp 4, pp 2, tp2 x pp2, dp 2), every rank reports
(llmc-run --rank-stats) its weight bytes and the bytes its collectives sent
per decode step. The Megatron analytic optimum per decode step of a rank
(ring algorithms, element size e, its replica's rows b, hidden h, vocab v):
  tensor parallel, per layer: 2 all-reduces of b*h:  2 * 2 (tp-1)/tp * b*h*e
  token embedding (vocab-parallel):                  2 (tp-1)/tp * b*h*e
  logits all-gather (vocab-parallel head):           (tp-1) * b*(v/tp)*e
  pipeline, stages before the last:                  b*h*e to the next
Weights: each rank's bytes against total / (tp * pp) (norms and the
replicated parts make the ratio a little above 1). Bubble: (pp-1)/(M+pp-1)
for M microbatches, from the manifest's GPipe schedule.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLMC = os.path.join(ROOT, "build", "bin", "llmc")
RUN = os.path.join(ROOT, "build", "bin", "llmc-run")
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to",
          "none"]


def run(args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, text=True,
                          **kwargs)


def rank_stats(artifact, world, prompts, steps):
    cmd = [RUN, artifact, "--max-new-tokens", str(steps + 1), "--rank-stats"]
    for prompt in prompts:
        cmd += ["--prompt-ids", prompt]
    if world > 1:
        cmd = MPIRUN + ["-np", str(world)] + cmd
    env = dict(os.environ, OMP_NUM_THREADS="1")
    err = run(cmd, env=env).stderr
    stats = {}
    for match in re.finditer(r"rank (\d+): weights (\d+) bytes; decode sent "
                             r"([\d.]+) bytes per step", err):
        stats[int(match[1])] = (int(match[2]), float(match[3]))
    return stats


def analytic(manifest, rank, batch):
    par, model = manifest["parallel"], manifest["model"]
    dp, pp, tp = par["dp"], par["pp"], par["tp"]
    d, s = rank // (pp * tp), (rank // tp) % pp
    rows = batch // dp + (1 if d < batch % dp else 0)
    e = {"float32": 4, "float16": 2, "bfloat16": 2}[model["dtype"]]
    h, v = model["hidden_size"], model["vocab_size"]
    program = manifest["programs"][s * tp + rank % tp]
    ring = 2 * (tp - 1) / tp
    total = program["num_layers"] * 2 * ring * rows * h * e
    vocab_split = v % tp == 0 and tp > 1
    if s == 0 and vocab_split:
        total += ring * rows * h * e
    if s == pp - 1 and vocab_split:
        total += (tp - 1) * rows * (v // tp) * e
    if s < pp - 1:
        total += rows * h * e
    return total


def speed(work):
    """Decode tokens/s, same machine, same invocation: one process with 2
    OpenMP threads against 2 ranks of 1 thread (tp 2, pp 2)."""
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": 768, "intermediate_size": 2048,
        "num_attention_heads": 12, "num_key_value_heads": 12,
        "num_hidden_layers": 12, "vocab_size": 32000,
        "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "torch_dtype": "float32",
        "tie_word_embeddings": False}
    path = os.path.join(work, "speed.json")
    with open(path, "w") as f:
        json.dump(config, f)
    model = os.path.join(work, "speed")
    run([sys.executable, os.path.join(ROOT, "scripts", "make_checkpoint.py"),
         "sparse", path, model, "--dtype", "F32"])
    prompt = ",".join(str(i + 1) for i in range(16))
    rates = {}
    for name, flags, world, threads in [("1 rank x 2 threads", [], 1, "2"),
                                        ("tp 2 x 1 thread", ["--tp", "2"], 2,
                                         "1"),
                                        ("pp 2 x 1 thread", ["--pp", "2"], 2,
                                         "1")]:
        artifact = os.path.join(work, "speed-" + str(len(rates)) + ".llmc")
        run([LLMC, "compile", model, "-o", artifact] + flags)
        cmd = [RUN, artifact, "--prompt-ids", prompt, "--max-new-tokens",
               "33", "--timings"]
        if world > 1:
            cmd = MPIRUN + ["-np", str(world)] + cmd
        best = 0.0
        for _ in range(3):
            err = run(cmd, env=dict(os.environ, OMP_NUM_THREADS=threads)).stderr
            best = max(best, float(re.search(r"decode: .*\(([\d.]+) tokens/s",
                                             err)[1]))
        rates[name] = best
    base = rates["1 rank x 2 threads"]
    print("decode, 125M-parameter Llama shape (f32, batch 1, best of 3):")
    for name, rate in rates.items():
        print(f"  {name:20} {rate:8.1f} tokens/s  {rate / base:5.2f}x")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=os.path.join(ROOT, "examples",
                                                       "llama-gqa"))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--speed", action="store_true",
                        help="also time decode on a 125M-parameter "
                             "Llama-shaped model (zero weights): one rank "
                             "on all cores against tp 2 and pp 2")
    args = parser.parse_args()
    prompts = [",".join(str((7 * i + 3 * k) % 200 + 1) for k in range(5))
               for i in range(args.batch)]
    layouts = [("tp2", ["--tp", "2"]), ("tp4", ["--tp", "4"]),
               ("pp2", ["--pp", "2", "--microbatches", "2"]),
               ("tp2xpp2", ["--tp", "2", "--pp", "2"]),
               ("dp2", ["--dp", "2"])]
    with tempfile.TemporaryDirectory() as work:
        single = os.path.join(work, "single.llmc")
        run([LLMC, "compile", args.model, "-o", single])
        total = rank_stats(single, 1, prompts, args.steps)[0][0]
        print(f"model {args.model}: {total} weight bytes, batch "
              f"{args.batch}, {args.steps} decode steps")
        print(f"{'layout':9} {'rank':>4} {'sent/step':>10} {'optimum':>10} "
              f"{'ratio':>6} {'weights':>9} {'total/tp/pp':>11} {'ratio':>6}")
        for name, flags in layouts:
            artifact = os.path.join(work, name + ".llmc")
            run([LLMC, "compile", args.model, "-o", artifact] + flags)
            with open(os.path.join(artifact, "manifest.json")) as f:
                manifest = json.load(f)
            par = manifest["parallel"]
            world = par["world"]
            stats = rank_stats(artifact, world, prompts, args.steps)
            if len(stats) != world:
                sys.exit(f"{name}: {len(stats)} of {world} ranks reported")
            share = total / (par["tp"] * par["pp"])
            for rank in sorted(stats):
                weights, sent = stats[rank]
                optimum = analytic(manifest, rank, args.batch)
                ratio = (f"{sent / optimum:6.2f}" if optimum else
                         f"{'-' if sent == 0 else 'inf':>6}")
                print(f"{name:9} {rank:4} {sent:10.0f} {optimum:10.0f} "
                      f"{ratio} {weights:9} {share:11.0f} "
                      f"{weights / share:6.2f}")
        # Measured: prefill of a batch through 2 stages, one microbatch (the
        # stages take turns) against 4 (they overlap), in the same run.
        deep = os.path.join(work, "deep")
        run([sys.executable, os.path.join(ROOT, "test", "e2e",
                                          "deepen_checkpoint.py"),
             args.model, "4", deep])
        batch = [",".join(str((11 * i + k) % 250 + 1) for k in range(48))
                 for i in range(8)]
        times = {}
        for m in (1, 4):
            artifact = os.path.join(work, f"deep-pp2-m{m}.llmc")
            run([LLMC, "compile", deep, "-o", artifact, "--pp", "2",
                 "--microbatches", str(m)])
            cmd = MPIRUN + ["-np", "2", RUN, artifact, "--max-new-tokens", "1",
                            "--timings"]
            for prompt in batch:
                cmd += ["--prompt-ids", prompt]
            best = None
            for _ in range(3):
                err = run(cmd, env=dict(os.environ,
                                        OMP_NUM_THREADS="1")).stderr
                ms = float(re.search(r"prefill: .* in ([\d.]+) ms", err)[1])
                best = ms if best is None else min(best, ms)
            times[m] = best
        print(f"pp=2 prefill of 8 x 48 tokens (4-layer model, best of 3): "
              f"M=1 {times[1]:.1f} ms, M=4 {times[4]:.1f} ms, "
              f"M=4 / M=1 = {times[4] / times[1]:.2f} "
              f"(GPipe ideal (M+pp-1)/(M*pp) = {5 / 8:.3f})")
        print("pipeline bubble (GPipe, pp stages, M microbatches): "
              "(pp-1)/(M+pp-1)")
        if args.speed:
            speed(work)
        for pp in (2, 4):
            fractions = []
            for m in (1, 4, 8, 16):
                fractions.append(f"M={m}: {(pp - 1) / (m + pp - 1):.3f}")
            print(f"  pp={pp}: " + ", ".join(fractions))


if __name__ == "__main__":
    main()
