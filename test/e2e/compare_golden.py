#!/usr/bin/env python3
"""Compares llmc-run's output with the transformers golden files.

  compare_golden.py GOLDEN_PREFIX LOGITS.npy TOKENS.txt [--atol 1e-4]

GOLDEN_PREFIX is examples/<model>/golden/prompt<k>; LOGITS.npy is what
`llmc-run --logits-out` wrote for that prompt (every prompt position, then
every decode step) and TOKENS.txt its printed token ids. Checks that the
logits match prefill.npy + decode.npy within atol and that the greedy tokens
equal tokens.npy. Python stdlib only (CI has no numpy).
"""

import argparse
import ast
import struct
import sys
from array import array


def load_npy(path):
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            sys.exit(f"{path}: not a .npy file")
        major = f.read(2)[0]
        (length,) = struct.unpack("<H" if major == 1 else "<I",
                                  f.read(2 if major == 1 else 4))
        header = ast.literal_eval(f.read(length).decode("latin1"))
        codes = {"<f4": "f", "<i8": "q"}
        if header["descr"] not in codes or header["fortran_order"]:
            sys.exit(f"{path}: unsupported array {header}")
        values = array(codes[header["descr"]])
        values.frombytes(f.read())
        return list(header["shape"]), values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("golden")
    parser.add_argument("logits")
    parser.add_argument("tokens")
    parser.add_argument("--atol", type=float, default=1e-4)
    parser.add_argument("--logits-only", action="store_true",
                        help="low precision: greedy tokens may part from "
                        "transformers' at a near tie; compare the logits of "
                        "the rows whose inputs still equal the golden tokens")
    args = parser.parse_args()

    pre_shape, prefill = load_npy(args.golden + ".prefill.npy")
    dec_shape, decode = load_npy(args.golden + ".decode.npy")
    _, golden_tokens = load_npy(args.golden + ".tokens.npy")
    shape, logits = load_npy(args.logits)
    expected_rows = pre_shape[0] + dec_shape[0]
    if shape != [expected_rows, pre_shape[1]]:
        sys.exit(f"logits shape {shape}, expected [{expected_rows}, {pre_shape[1]}]")
    reference = prefill + decode
    tokens = [int(t) for t in open(args.tokens).read().split(",")]
    expected = list(golden_tokens)
    decode_rows = dec_shape[0]
    if args.logits_only:
        # Decode row j ran on generated tokens 0..j: it is comparable while
        # they equal the golden ones.
        same = 0
        while same < len(expected) and same < len(tokens) and \
                tokens[same] == expected[same]:
            same += 1
        decode_rows = min(decode_rows, same)
        print(f"greedy tokens: the first {same} of {len(expected)} match "
              f"transformers")
    compared = (pre_shape[0] + decode_rows) * pre_shape[1]
    errors = [abs(a - b) for a, b in zip(logits[:compared], reference)]
    worst = max(errors)
    row = errors.index(worst) // pre_shape[1]
    print(f"max abs error {worst:.3g} over {len(errors)} logits "
          f"({pre_shape[0]} prefill + {decode_rows} decode rows; worst row {row})")

    if args.logits_only:
        expected = []
    elif tokens[:len(expected)] != expected:
        sys.exit(f"greedy tokens {tokens[:len(expected)]} differ from "
                 f"transformers {expected}")
    if expected:
        print(f"greedy tokens match transformers ({len(expected)} tokens)")
    if not worst <= args.atol:
        sys.exit(f"max abs error {worst:.3g} exceeds {args.atol}")


if __name__ == "__main__":
    main()
