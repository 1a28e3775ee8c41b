#!/usr/bin/env python3
"""Where one decode step's time goes, kernel by kernel, through Nsight Compute.

  python3 bench/gpu_kernel_times.py DIR [ARTIFACT]    (GPU machine, ncu)

Runs llmc-run from DIR (`scripts/gpu-e2e.sh prepare DIR`) on ARTIFACT
(default: DIR/llama-1b.sm_XY.llmc for this GPU, with the checkpoint that
`bench/gpu_vs_pytorch.py run` filled) for a 4-token prompt and one decode
step under `ncu --clock-control none` (the clocks as they are: METHOD.md),
collecting each kernel's duration and DRAM bytes read. ncu runs kernels one
at a time with cold caches, so the sum is the step's kernel time without
overlap; compare it with `LLMRT_CUDA_PROFILE=steps` (the step on the GPU as
it runs) to see what is left between kernels. Prints the decode step's
kernels by total time: launches, microseconds each, megabytes read each and
the rate, then the sum and the bytes read over the weight bytes.
"""

import argparse
import collections
import csv
import io
import json
import os
import subprocess
import sys

UNITS = {"ns": 1e-3, "nsecond": 1e-3, "us": 1.0, "usecond": 1.0,
         "ms": 1e3, "msecond": 1e3, "B": 1.0, "byte": 1.0, "KB": 1e3,
         "Kbyte": 1e3, "MB": 1e6, "Mbyte": 1e6, "GB": 1e9, "Gbyte": 1e9}


def profile(run_dir, artifact):
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(run_dir, "lib"))
    command = [os.path.join(run_dir, "bin/llmc-run"), artifact,
               "--prompt-ids=1,2,3,4", "--max-new-tokens=2"]
    result = subprocess.run(
        ["ncu", "--clock-control", "none", "--csv", "--metrics",
         "gpu__time_duration.sum,dram__bytes_read.sum", *command],
        env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"ncu failed: {result.stderr.strip()[-400:]}")
    return parse(result.stdout)


def parse(text):
    """ncu --csv's rows (one per kernel and metric) as one dict per launch,
    in launch order: its name and each metric in us or bytes."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('"ID"'))
    rows = list(csv.reader(io.StringIO("\n".join(lines[start:]))))
    header = rows[0]
    column = {name: header.index(name) for name in
              ("ID", "Kernel Name", "Metric Name", "Metric Unit",
               "Metric Value")}
    kernels = {}
    for row in rows[1:]:
        if len(row) < len(header) or not row[column["ID"]].isdigit():
            continue
        entry = kernels.setdefault(int(row[column["ID"]]),
                                   {"name": row[column["Kernel Name"]]})
        value = float(row[column["Metric Value"]].replace(",", ""))
        entry[row[column["Metric Name"]]] = value * UNITS[
            row[column["Metric Unit"]]]
    return [kernels[i] for i in sorted(kernels)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("artifact", nargs="?")
    args = parser.parse_args()
    artifact = args.artifact
    if not artifact:
        cap = subprocess.run(["nvidia-smi", "--query-gpu=compute_cap",
                              "--format=csv,noheader"], capture_output=True,
                             text=True, check=True).stdout.split()[0]
        artifact = os.path.join(args.dir,
                                f"llama-1b.sm_{cap.replace('.', '')}.llmc")
    both = profile(args.dir, artifact)
    # The last launches are the decode step's: as many as the runtime's
    # profile counts for it.
    env = dict(os.environ, LLMRT_CUDA_PROFILE="1",
               LD_LIBRARY_PATH=os.path.join(args.dir, "lib"))
    counted = subprocess.run(
        [os.path.join(args.dir, "bin/llmc-run"), artifact,
         "--prompt-ids=1,2,3,4", "--max-new-tokens=2"], env=env,
        capture_output=True, text=True, check=True).stderr
    launches = next(int(float(line.split(",")[2].split()[0]))
                    for line in counted.splitlines()
                    if line.startswith("llmrt profile: decode"))
    step = both[-launches:]
    totals = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for kernel in step:
        total = totals[kernel["name"]]
        total[0] += 1
        total[1] += kernel["gpu__time_duration.sum"]
        total[2] += kernel["dram__bytes_read.sum"]
    time = sum(t[1] for t in totals.values())
    read = sum(t[2] for t in totals.values())
    manifest = json.load(open(os.path.join(artifact, "manifest.json")))
    weights = sum(f["bytes"] for f in manifest["weights"]["files"])
    print(f"decode step: {len(step)} launches, {time:.1f} us in kernels "
          f"(one at a time, cold caches), {read / 1e6:.1f} MB read from "
          f"DRAM = {read / weights:.2f} x the weights")
    print(f"{'kernel':24}{'launches':>9}{'us each':>10}{'MB each':>10}"
          f"{'GB/s':>8}")
    for name, (count, micros, bytes_read) in sorted(
            totals.items(), key=lambda item: -item[1][1]):
        rate = bytes_read / micros / 1e3 if micros else 0.0
        print(f"{name:24}{count:9}{micros / count:10.2f}"
              f"{bytes_read / count / 1e6:10.3f}{rate:8.0f}")


if __name__ == "__main__":
    main()
