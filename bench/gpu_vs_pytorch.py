#!/usr/bin/env python3
"""GPU tokens/s of llmc against PyTorch on a ~1B Llama-shaped model.

  python3 bench/gpu_vs_pytorch.py prepare DIR [--variant NAME=FLAGS ...]
                                                 (build machine, no GPU)
  python3 bench/gpu_vs_pytorch.py run DIR [--baseline BDIR]   (GPU machine)
        [--variants NAME,NAME] [--repeats N] [--env NAME=VAR=VALUE ...]
        [--pytorch-compiled]

prepare: writes the checkpoint of bench/configs/llama-1b.json with real
safetensors headers and no data (a sparse file) at CHECKPOINT, compiles it
for sm_80 and sm_90 with --dtype f16 into DIR (llmc reads headers only;
LLMC names another compiler binary, e.g. an earlier commit's, for a baseline).
Each --variant also compiles the model with FLAGS added (e.g.
rows128="--gpu-mma-block-rows=128") into DIR/variants/NAME.
`scripts/gpu-e2e.sh prepare DIR` puts llmc-run and its shared libraries in
the same DIR.

run: writes the same checkpoint at the same path with random weights (normal,
std 0.02; norm weights 1), then in one invocation measures
  - the GPU's ceilings: device-to-device copy bandwidth (bytes read + written)
    and an 8192^3 f16 matrix product through PyTorch;
  - llmc: prefill of PROMPT tokens and NEW greedy decode steps at batch 1
    (--batch B: B different prompts of PROMPT tokens together, decode
    steps of B rows; llmc-run --warmup --timings; the median of 3 runs
    (--repeats), interleaved with the baseline's), its per-kernel profile
    (LLMRT_CUDA_PROFILE), its steps' GPU and host-issue times alone
    (LLMRT_CUDA_PROFILE=steps), and the logits of the prompt (--logits-out);
  - PyTorch eager (transformers, f16, KV cache) on the same weights: the same
    prefill and greedy decode, timed with synchronization; with
    --pytorch-compiled also transformers' fast path (generate() with a
    static cache, the forward compiled by torch.compile with CUDA graphs),
    which is printed as a second reference where this PyTorch runs it;
  - with --baseline, the artifacts another compiler made (prepare BDIR with
    LLMC set), and every variant in DIR/variants (--variants: only those),
    run the same way: each one's time against this build's in the same
    call (each run's times printed as it ends, so that a call cut short
    keeps them); each --env NAME runs this build's artifact with the
    runtime's variable VAR set (e.g. graphs=LLMRT_CUDA_GRAPHS=1; several
    --env of one NAME set several) the same way, and prints its steps' GPU
    and host-issue times too;
and prints tokens/s, llmc/PyTorch ratios, the decode step's weight bytes over
its time as a fraction of the copy bandwidth, prefill TFLOP/s as a fraction of
the matrix-product rate, the greedy tokens that agree and the logits'
difference. Needs torch and transformers on the GPU machine only.
"""

import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "bench/configs/llama-1b.json")
CHECKPOINT = "/tmp/llmc-gpu-bench/llama-1b"
REPEATS = 3
# The artifacts' largest batch (--batch).
MAX_BATCH = 16


def make_sparse_checkpoint():
    shutil.rmtree(CHECKPOINT, ignore_errors=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts/make_checkpoint.py"),
                    "sparse", CONFIG, CHECKPOINT, "--dtype", "F16"], check=True)


def prepare(out, variants=()):
    make_sparse_checkpoint()
    llmc = os.environ.get("LLMC", os.path.join(ROOT, "build/bin/llmc"))
    shutil.rmtree(os.path.join(out, "variants"), ignore_errors=True)
    builds = [(out, [])]
    for variant in variants:
        name, _, flags = variant.partition("=")
        if not name or not flags:
            sys.exit(f"--variant: expected NAME=FLAGS, found '{variant}'")
        builds.append((os.path.join(out, "variants", name), flags.split()))
    for where, flags in builds:
        os.makedirs(where, exist_ok=True)
        for sm in ("sm_80", "sm_90"):
            # A variant's flags may be for one target only (--gpu-wgmma:
            # sm_90): llmc says so and the other target goes without it.
            done = subprocess.run(
                [llmc, "compile", CHECKPOINT, "--target=" + sm, "--dtype",
                 "f16", "--max-seq-len", "1024", "--max-batch",
                 str(MAX_BATCH), *flags, "-o",
                 os.path.join(where, f"llama-1b.{sm}.llmc")],
                stderr=subprocess.PIPE, text=True)
            if done.returncode and flags and "needs --target=" in done.stderr:
                print(f"{where}: no {sm} artifact: {done.stderr.strip()}")
                continue
            if done.returncode:
                sys.exit(done.stderr.strip())
        if flags:
            with open(os.path.join(where, "flags"), "w") as f:
                f.write(" ".join(flags) + "\n")


def fill_random_weights(torch):
    """Random data in place of the sparse checkpoint's holes."""
    path = os.path.join(CHECKPOINT, "model.safetensors")
    with open(path, "r+b") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        header.pop("__metadata__", None)
        generator = torch.Generator(device="cuda").manual_seed(0)
        for name, tensor in sorted(header.items()):
            begin, end = tensor["data_offsets"]
            count = (end - begin) // 2
            if name.endswith("norm.weight"):
                values = torch.ones(count, dtype=torch.float16)
            else:
                values = (torch.randn(count, generator=generator, device="cuda",
                                      dtype=torch.float32) * 0.02).half().cpu()
            f.seek(8 + length + begin)
            f.write(values.numpy().tobytes())


def ceilings(torch):
    """Copy bandwidth (GB/s, read + written) and f16 matmul TFLOP/s."""
    def timed(fn, reps):
        fn()
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(True), torch.cuda.Event(True)
        times = []
        for _ in range(reps):
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        return sorted(times)[len(times) // 2]
    src = torch.randn(1 << 29, device="cuda", dtype=torch.float32)  # 2 GiB
    dst = torch.empty_like(src)
    copy = timed(lambda: dst.copy_(src), 10)
    bandwidth = 2 * src.numel() * 4 / copy / 1e9
    del src, dst
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
    matmul = timed(lambda: a @ b, 10)
    return bandwidth, 2 * 8192 ** 3 / matmul / 1e12


def load_model(torch):
    import transformers
    try:
        model = transformers.LlamaForCausalLM.from_pretrained(
            CHECKPOINT, dtype=torch.float16)
    except TypeError:  # transformers 4
        model = transformers.LlamaForCausalLM.from_pretrained(
            CHECKPOINT, torch_dtype=torch.float16)
    return model.cuda().eval()


def pytorch_run(torch, prompts, new_tokens):
    model = load_model(torch)
    ids = torch.tensor(prompts, device="cuda")

    @torch.no_grad()
    def generate():
        start, mid, end = (torch.cuda.Event(True) for _ in range(3))
        start.record()
        out = model(input_ids=ids, use_cache=True)
        mid.record()
        cache = out.past_key_values
        logits = out.logits[0].float().cpu()
        # The greedy tokens of each prompt.
        tokens = [[int(t)] for t in out.logits[:, -1].argmax(-1)]
        mid.synchronize()
        decode_start = torch.cuda.Event(True)
        decode_start.record()
        for _ in range(new_tokens - 1):
            last = torch.tensor([[row[-1]] for row in tokens], device="cuda")
            out = model(input_ids=last, past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            for row, t in zip(tokens, out.logits[:, -1].argmax(-1)):
                row.append(int(t))
        end.record()
        end.synchronize()
        return (start.elapsed_time(mid) / 1e3,
                decode_start.elapsed_time(end) / 1e3, tokens, logits)

    generate()  # warm-up
    return generate()


def pytorch_compiled_run(torch, prompts, new_tokens, repeats):
    """transformers' documented fast path: generate() with a static KV
    cache and the forward compiled by torch.compile (mode reduce-overhead:
    CUDA graphs). Prefill is the time to generate one token; decode the
    time to generate NEW tokens minus that, over NEW - 1 steps; medians of
    `repeats` after two warm-ups (which compile). None, with one line
    printed, where this PyTorch or transformers cannot."""
    try:
        model = load_model(torch)
        model.forward = torch.compile(model.forward, mode="reduce-overhead",
                                      fullgraph=True)
        ids = torch.tensor(prompts, device="cuda")

        @torch.no_grad()
        def generate(count):
            start, end = torch.cuda.Event(True), torch.cuda.Event(True)
            torch.cuda.synchronize()
            start.record()
            out = model.generate(ids, attention_mask=torch.ones_like(ids),
                                 max_new_tokens=count, min_new_tokens=count,
                                 do_sample=False, pad_token_id=0,
                                 cache_implementation="static")
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3, out

        for count in (new_tokens, new_tokens, 1, 1):
            generate(count)
        one = sorted(generate(1)[0] for _ in range(repeats))[repeats // 2]
        full = sorted((generate(new_tokens) for _ in range(repeats)),
                      key=lambda timed: timed[0])[repeats // 2]
        tokens = full[1][:, ids.shape[1]:].tolist()
        return one, full[0] - one, tokens
    except Exception as error:  # noqa: BLE001 - any failure: one line
        first = str(error).strip().splitlines()[:1]
        print(f"PyTorch compiled (torch.compile, static cache): failed: "
              f"{type(error).__name__}: {first[0] if first else ''}",
              flush=True)
        return None


def llmc_run(out, artifact, prompts, new_tokens, extra_env=None, extra=()):
    """Prefill and decode seconds, each prompt's greedy tokens, stderr."""
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(out, "lib"))
    env.update(extra_env or {})
    ids = []
    for prompt in prompts:
        ids += ["--prompt-ids", ",".join(map(str, prompt))]
    result = subprocess.run(
        [os.path.join(out, "bin/llmc-run"), artifact, "--warmup", "--timings",
         *ids, "--max-new-tokens", str(new_tokens), *extra],
        env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"llmc-run failed: {result.stderr.strip()}")
    times = re.findall(r"in ([0-9.]+) ms", result.stderr)
    tokens = [[int(t) for t in line.split(",")]
              for line in result.stdout.splitlines() if line.strip()]
    return float(times[0]) / 1e3, float(times[1]) / 1e3, tokens, result.stderr


def load_npy_rows(path, rows):
    import numpy
    return numpy.load(path)[:rows]


def run(out, prompt_len, new_tokens, baseline=None, batch=1, only=None,
        repeats=REPEATS, envs=(), compiled=False):
    import torch
    config = json.load(open(CONFIG))
    make_sparse_checkpoint()
    fill_random_weights(torch)
    bandwidth, peak = ceilings(torch)
    name = torch.cuda.get_device_name()
    major, minor = torch.cuda.get_device_capability()
    artifact = os.path.join(out, f"llama-1b.sm_{major}{minor}.llmc")
    if not 1 <= batch <= MAX_BATCH:
        sys.exit(f"--batch: expected 1 to {MAX_BATCH}, found {batch}")
    prompts = [[(i * 7919 + r * 104729) % config["vocab_size"]
                for i in range(prompt_len)] for r in range(batch)]

    manifest = json.load(open(os.path.join(artifact, "manifest.json")))
    weight_bytes = sum(f["bytes"] for f in manifest["weights"]["files"])
    params = weight_bytes // 2

    t_prefill, t_decode, t_tokens, t_logits = pytorch_run(torch, prompts,
                                                          new_tokens)
    print(f"PyTorch: prefill {t_prefill * 1e3:.2f} ms, decode "
          f"{t_decode * 1e3 / (new_tokens - 1):.2f} ms/step; copy "
          f"{bandwidth:.0f} GB/s, f16 matmul {peak:.0f} TFLOP/s", flush=True)
    fast = compiled and pytorch_compiled_run(torch, prompts, new_tokens,
                                             repeats)
    if fast:
        print(f"PyTorch compiled: prefill {fast[0] * 1e3:.2f} ms, decode "
              f"{fast[1] * 1e3 / (new_tokens - 1):.2f} ms/step", flush=True)
    logits_path = os.path.join(out, "llmc-logits.npy")
    # Others to compare: the baseline's artifact, then each variant's.
    others = []
    if baseline:
        others.append((f"baseline {baseline}",
                       os.path.join(baseline, os.path.basename(artifact)),
                       None))
    settings = {}  # NAME -> its variables, in the order given
    for env in envs:
        name, _, setting = env.partition("=")
        var, _, value = setting.partition("=")
        if not name or not var:
            sys.exit(f"--env: expected NAME=VAR=VALUE, found '{env}'")
        settings.setdefault(name, {})[var] = value
    for name, variables in settings.items():
        shown = " ".join(f"{var}={value}" for var, value in variables.items())
        others.append((f"runtime {name} ({shown})", artifact, variables))
    variants = os.path.join(out, "variants")
    names = sorted(os.listdir(variants)) if os.path.isdir(variants) else []
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        sys.exit(f"--variants: no variant {', '.join(unknown)} in {variants} "
                 f"(prepared: {', '.join(names) or 'none'})")
    for name in names:
        if only is not None and name not in only:
            continue
        with open(os.path.join(variants, name, "flags")) as f:
            flags = f.read().strip()
        path = os.path.join(variants, name, os.path.basename(artifact))
        if not os.path.isdir(path):  # a variant for another GPU only
            print(f"variant {name} ({flags}): no artifact for this GPU")
            continue
        others.append((f"variant {name} ({flags})", path, None))
    # Timed runs interleaved with the others', medians: one process's time
    # moves by 10-20% from run to run on these machines.
    runs, other_runs = [], [[] for _ in others]

    def progress(label, timed):
        print(f"  run {len(timed)}: {label}: prefill {timed[-1][0] * 1e3:.2f} "
              f"ms, decode {timed[-1][1] * 1e3 / (new_tokens - 1):.3f} ms/step",
              flush=True)

    for _ in range(repeats):
        try:
            runs.append(llmc_run(out, artifact, prompts, new_tokens))
        except RuntimeError as error:
            sys.exit(str(error))
        progress("this build", runs)
        for (label, path, env), timed in zip(others, other_runs):
            try:
                timed.append(llmc_run(out, path, prompts, new_tokens, env))
                progress(label, timed)
            except RuntimeError as error:
                timed.append(None)
                print(f"{label}: {error}", flush=True)

    def median(timed, i):
        return sorted(run[i] for run in timed)[len(timed) // 2]

    prefill, decode, tokens = median(runs, 0), median(runs, 1), runs[0][2]
    try:
        *_, profile = llmc_run(out, artifact, prompts, 8,
                               {"LLMRT_CUDA_PROFILE": "1"})
        *_, steps_profile = llmc_run(out, artifact, prompts, new_tokens,
                                     {"LLMRT_CUDA_PROFILE": "steps"})
        llmc_run(out, artifact, prompts, 2,
                 extra=("--logits-out", logits_path))
    except RuntimeError as error:
        sys.exit(str(error))
    import numpy
    # The first prompt's logits (a batch writes one file per prompt).
    if batch > 1:
        logits_path = logits_path[:-len(".npy")] + ".0.npy"
    ours = numpy.load(logits_path)[:prompt_len]
    theirs = t_logits.numpy()
    diff = float(numpy.abs(ours - theirs).max())
    scale = float(numpy.abs(theirs).max())
    # Greedy tokens that agree with PyTorch's: each prompt's up to the first
    # difference.
    agree, total = 0, 0
    for ours_row, theirs_row in zip(tokens, t_tokens):
        same = 0
        while same < min(len(ours_row), len(theirs_row)) and \
                ours_row[same] == theirs_row[same]:
            same += 1
        agree += same
        total += len(ours_row)

    steps = new_tokens - 1
    print(profile.strip())
    print("without an event per launch:")
    print("\n".join(line for line in steps_profile.splitlines()
                    if line.startswith("llmrt steps")))
    for label, path, env in others:
        if not env:
            continue
        try:
            *_, env_steps = llmc_run(out, path, prompts, new_tokens,
                                     dict(env, LLMRT_CUDA_PROFILE="steps"))
        except RuntimeError as error:
            print(f"{label}: {error}")
            continue
        print(f"{label}:")
        print("\n".join(line for line in env_steps.splitlines()
                        if line.startswith("llmrt")))
    print(f"\nGPU: {name} (sm_{major}{minor}); copy {bandwidth:.0f} GB/s, "
          f"f16 matmul {peak:.0f} TFLOP/s (PyTorch, this run)")
    print(f"model: Llama-shaped, {params / 1e9:.2f}B parameters, f16, "
          f"{weight_bytes / 1e9:.2f} GB of weights; prompt {prompt_len}, "
          f"{new_tokens} new tokens, batch {batch}")
    print(f"{'':10}{'llmc tok/s':>12}{'PyTorch tok/s':>15}{'llmc/PyTorch':>14}")
    rows = [("prefill", batch * prompt_len / prefill,
             batch * prompt_len / t_prefill),
            ("decode", batch * steps / decode, batch * steps / t_decode)]
    for label, a, b in rows:
        print(f"{label:10}{a:12.1f}{b:15.1f}{a / b:14.3f}")
    if fast:
        print(f"{'':10}{'llmc tok/s':>12}{'compiled tok/s':>15}"
              f"{'llmc/compiled':>14}")
        for (label, a, _), b in zip(rows, (batch * prompt_len / fast[0],
                                           batch * steps / fast[1])):
            print(f"{label:10}{a:12.1f}{b:15.1f}{a / b:14.3f}")
    for label, seconds in (("llmc", decode / steps), ("PyTorch", t_decode / steps)):
        achieved = weight_bytes / seconds / 1e9
        print(f"{label} decode: {seconds * 1e3:.2f} ms/step, weights read at "
              f"{achieved:.0f} GB/s = {achieved / bandwidth:.1%} of copy "
              f"bandwidth (if read once per step)")
    for label, seconds in (("llmc", prefill), ("PyTorch", t_prefill)):
        rate = 2 * params * batch * prompt_len / seconds / 1e12
        print(f"{label} prefill: {rate:.2f} TFLOP/s = {rate / peak:.2%} of "
              f"the f16 matmul rate")
    for (label, _, _), timed in zip(others, other_runs):
        timed = [t for t in timed if t]
        if not timed:
            continue
        o_prefill, o_decode = median(timed, 0), median(timed, 1)
        print(f"{label}: prefill {o_prefill * 1e3:.2f} ms, decode "
              f"{o_decode * 1e3 / steps:.3f} ms/step; this build over it: "
              f"prefill {o_prefill / prefill:.3f}x, decode "
              f"{o_decode / decode:.3f}x faster (medians of {len(timed)}); "
              f"tokens equal: {timed[0][2] == tokens}")
    if fast:
        print(f"PyTorch compiled's greedy tokens equal eager's: "
              f"{fast[2] == t_tokens}")
    print(f"greedy tokens: {agree} of {total} agree with PyTorch (each "
          f"prompt's up to its first difference); the first prompt's logits "
          f"max abs difference {diff:.3g} (largest logit {scale:.3g})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["prepare", "run"])
    parser.add_argument("dir")
    parser.add_argument("--prompt", type=int, default=128)
    parser.add_argument("--new", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1,
                        help=f"run: prompts at once (1 to {MAX_BATCH})")
    parser.add_argument("--baseline", help="DIR of a baseline's artifacts")
    parser.add_argument("--variants",
                        help="run: only these variants (NAME,NAME)")
    parser.add_argument("--repeats", type=int, default=REPEATS,
                        help=f"run: timed runs of each artifact, interleaved "
                             f"(the median; default {REPEATS})")
    parser.add_argument("--env", action="append", default=[],
                        help="run: NAME=VAR=VALUE, this build's artifact "
                             "with the runtime variable VAR set too (repeat "
                             "a NAME for more variables)")
    parser.add_argument("--pytorch-compiled", action="store_true",
                        help="run: also time transformers' generate() with a "
                             "static cache and torch.compile (CUDA graphs; "
                             "minutes of compiling)")
    parser.add_argument("--variant", action="append", default=[],
                        help="prepare: NAME=FLAGS, the model compiled with "
                             "FLAGS too (into DIR/variants/NAME)")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    if args.mode == "prepare":
        prepare(os.path.abspath(args.dir), args.variant)
    else:
        if args.repeats < 1:
            sys.exit(f"--repeats: expected 1 or more, found {args.repeats}")
        run(os.path.abspath(args.dir), args.prompt, args.new,
            args.baseline and os.path.abspath(args.baseline), args.batch,
            args.variants.split(",") if args.variants else None, args.repeats,
            args.env, args.pytorch_compiled)


if __name__ == "__main__":
    main()
