#!/usr/bin/env python3
"""CPU tokens/s of llmc against PyTorch eager on the same weights, same run.

  python3 bench/cpu_vs_pytorch.py [--threads N] [--prompt 64] [--new 32]

Builds a ~100M-parameter Llama-shaped model with random weights
(transformers, fixed seed), compiles it with build/bin/llmc, runs
build/bin/llmc-run --timings, then times the same prefill and greedy decode
in PyTorch with torch.set_num_threads(N). Prints tokens/s and the ratios
llmc / PyTorch (above 1: llmc is faster). Needs torch and transformers; it is
a benchmark, never part of the tests.
"""

import argparse
import os
import re
import subprocess
import tempfile
import time

import torch
import transformers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_model(folder):
    config = transformers.LlamaConfig(
        vocab_size=32000, hidden_size=768, intermediate_size=2048,
        num_hidden_layers=12, num_attention_heads=12, num_key_value_heads=4,
        max_position_embeddings=512, rms_norm_eps=1e-5, rope_theta=10000.0,
        tie_word_embeddings=False)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval()
    model.save_pretrained(folder, safe_serialization=True)
    return model, sum(p.numel() for p in model.parameters())


@torch.no_grad()
def pytorch_times(model, prompt, new_tokens):
    ids = torch.tensor([prompt])
    model(input_ids=ids)  # warm-up
    start = time.perf_counter()
    out = model(input_ids=ids, use_cache=True)
    prefill = time.perf_counter() - start
    cache, token = out.past_key_values, int(out.logits[0, -1].argmax())
    start = time.perf_counter()
    for step in range(new_tokens - 1):
        out = model(input_ids=torch.tensor([[token]]), past_key_values=cache,
                    use_cache=True)
        cache, token = out.past_key_values, int(out.logits[0, -1].argmax())
    decode = time.perf_counter() - start
    return len(prompt) / prefill, (new_tokens - 1) / decode


def llmc_times(folder, artifact, prompt, new_tokens, threads):
    start = time.perf_counter()
    subprocess.run([os.path.join(ROOT, "build/bin/llmc"), "compile", folder,
                    "-o", artifact, "--max-seq-len", "512"], check=True)
    compile_seconds = time.perf_counter() - start
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    run = [os.path.join(ROOT, "build/bin/llmc-run"), artifact, "--timings",
           "--prompt-ids", ",".join(map(str, prompt)),
           "--max-new-tokens", str(new_tokens)]
    subprocess.run(run, env=env, check=True, capture_output=True)  # warm-up
    result = subprocess.run(run, env=env, check=True, capture_output=True,
                            text=True)
    rates = re.findall(r"\(([0-9.]+) tokens/s\)", result.stderr)
    return float(rates[0]), float(rates[1]), compile_seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--prompt", type=int, default=64)
    parser.add_argument("--new", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    prompt = [(i * 7919) % 32000 for i in range(args.prompt)]
    with tempfile.TemporaryDirectory() as work:
        folder = os.path.join(work, "model")
        model, params = make_model(folder)
        llmc_prefill, llmc_decode, compile_seconds = llmc_times(
            folder, os.path.join(work, "model.llmc"), prompt, args.new,
            args.threads)
        torch_prefill, torch_decode = pytorch_times(model, prompt, args.new)
    print(f"model: Llama-shaped, {params / 1e6:.1f}M parameters, f32, "
          f"{args.threads} threads, prompt {args.prompt}, {args.new} new tokens")
    print(f"llmc compile: {compile_seconds:.2f} s")
    print(f"{'':10}{'llmc tok/s':>12}{'PyTorch tok/s':>15}{'llmc/PyTorch':>14}")
    print(f"{'prefill':10}{llmc_prefill:12.1f}{torch_prefill:15.1f}"
          f"{llmc_prefill / torch_prefill:14.2f}")
    print(f"{'decode':10}{llmc_decode:12.1f}{torch_decode:15.1f}"
          f"{llmc_decode / torch_decode:14.2f}")


if __name__ == "__main__":
    main()
