#!/usr/bin/env python3
"""The device memory one decode step reads, over the weights' bytes.

  read_per_step.py ARTIFACT SHORT.err LONG.err [--within LOW HIGH]

SHORT.err and LONG.err are the fake driver's exit lines (FAKE_CUDA_TRAFFIC=1,
kernels emulated) of two runs of ARTIFACT that differ by one decode step
(--max-new-tokens N and N + 1); ARTIFACT's manifest gives the weights'
bytes. Prints the step's bytes and the ratio; with --within, exits 1 when
the ratio is outside [LOW, HIGH]. Python stdlib only.
"""

import argparse
import json
import os
import re
import sys


def bytes_read(text, where):
    """The bytes read in all, from the fake driver's exit lines `text`
    (`where` names them in the error)."""
    m = re.search(r"fake-cuda: device memory, all kernels: (\d+) bytes read",
                  text)
    if not m:
        sys.exit(f"{where}: no 'device memory, all kernels' line "
                 "(FAKE_CUDA_TRAFFIC=1 with FAKE_CUDA_KERNELS)")
    return int(m.group(1))


def read_bytes(path):
    with open(path) as f:
        return bytes_read(f.read(), path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("artifact")
    parser.add_argument("short")
    parser.add_argument("long")
    parser.add_argument("--within", type=float, nargs=2)
    args = parser.parse_args()
    with open(os.path.join(args.artifact, "manifest.json")) as f:
        weights = sum(p["weight_bytes"] for p in json.load(f)["programs"])
    step = read_bytes(args.long) - read_bytes(args.short)
    ratio = step / weights
    print(f"a decode step reads {step} bytes: {ratio:.3f} x the weights' "
          f"{weights}")
    if args.within and not args.within[0] <= ratio <= args.within[1]:
        print(f"outside [{args.within[0]}, {args.within[1]}]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
