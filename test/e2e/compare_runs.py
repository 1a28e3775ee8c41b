#!/usr/bin/env python3
"""Compares a sharded llmc-run with the single-rank run of the same model.

  compare_runs.py REFERENCE RUN PROMPTS [--atol 1e-4]

REFERENCE and RUN are prefixes: PREFIX.txt holds the printed tokens (one
line per prompt) and PREFIX.K.npy the logits of prompt K (PREFIX.npy for a
single prompt), as `llmc-run --logits-out PREFIX.npy` writes them. Checks
identical tokens and logits within atol. Python stdlib only.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from compare_golden import load_npy  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("run")
    parser.add_argument("prompts", type=int)
    parser.add_argument("--atol", type=float, default=1e-4)
    args = parser.parse_args()

    with open(args.reference + ".txt") as f:
        want = f.read().split()
    with open(args.run + ".txt") as f:
        got = f.read().split()
    if want != got:
        sys.exit(f"tokens differ:\n  single rank: {want}\n  sharded:     {got}")
    worst = 0.0
    for k in range(args.prompts):
        suffix = f".{k}.npy" if args.prompts > 1 else ".npy"
        ref_shape, ref = load_npy(args.reference + suffix)
        shape, values = load_npy(args.run + suffix)
        if shape != ref_shape:
            sys.exit(f"prompt {k}: logits {shape}, single rank {ref_shape}")
        worst = max(worst, max(abs(a - b) for a, b in zip(ref, values)))
    print(f"max abs error vs single rank: {worst:.2e}")
    if worst > args.atol:
        sys.exit(f"max abs error {worst:.2e} exceeds {args.atol:.0e}")
    count = sum(len(line.split(",")) for line in want)
    print(f"tokens identical ({count} tokens)")


if __name__ == "__main__":
    main()
