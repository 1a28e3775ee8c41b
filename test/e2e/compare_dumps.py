#!/usr/bin/env python3
"""Compares two launch dumps of one artifact, launch by launch.

  compare_dumps.py REFERENCE RUN [--rtol 0.05] [--show 5]

REFERENCE and RUN are folders that `LLMRT_CUDA_DUMP=DIR llmc-run ...` filled
(index.tsv and a file per changed range): typically the kernel emulator's
run (fake driver, FAKE_CUDA_KERNELS) and a GPU's run of the same artifact
and inputs. Every launch's changed buffers are compared as the artifact's
compute type and as f32 (split-k partial totals, logits); a launch is
"beyond" when, in the interpretation that fits best, the largest difference
exceeds rtol times the largest magnitude of the reference's range (or a
value is NaN in one run only), or when it changed other buffers than the
reference's launch. Errors grow from launch to launch; the first launch
beyond is the kernel to look at. Prints a line per launch beyond (up to
--show), then a summary; exits 1 when a launch is beyond or the two runs
launched different kernels. Python stdlib only.
"""

import argparse
import array
import math
import os
import struct
import sys


def read_index(folder):
    """The compute type and, per launch, (kernel, {buffer: (offset, file)})."""
    compute = "f32"
    launches = []
    with open(os.path.join(folder, "index.tsv")) as f:
        for line in f:
            if line.startswith("# llmrt launch dump: compute "):
                compute = line.split()[-1].lower()
            if line.startswith("#") or not line.strip():
                continue
            launch, kernel, _grid, _block, buffer, offset, _size, name = (
                line.rstrip("\n").split("\t"))
            launch = int(launch)
            if launch == len(launches):
                launches.append((kernel, {}))
            if buffer != "-":
                launches[launch][1][buffer] = (int(offset), name)
    return compute, launches


def values(data, dtype):
    """The bytes `data` as floats of `dtype` (f32, f16 or bf16)."""
    if dtype == "f16":
        return [v[0] for v in struct.iter_unpack("<e", data[: len(data) // 2 * 2])]
    if dtype == "bf16":
        halves = array.array("H", data[: len(data) // 2 * 2])
        widened = array.array("I", (h << 16 for h in halves))
        return array.array("f", widened.tobytes()).tolist()
    return array.array("f", data[: len(data) // 4 * 4]).tolist()


def difference(want, got, dtype, rtol):
    """(largest difference / largest magnitude, NaNs in one run only, the
    elements that differ by more than rtol of the largest magnitude, all)."""
    a, b = values(want, dtype), values(got, dtype)
    largest = err = 0.0
    lone_nans = 0
    diffs = []
    for x, y in zip(a, b):
        x_nan, y_nan = math.isnan(x), math.isnan(y)
        if x_nan or y_nan:
            lone_nans += x_nan != y_nan
            continue
        if math.isinf(x) or math.isinf(y):
            diffs.append(0.0 if x == y else math.inf)
            continue
        largest = max(largest, abs(x))
        diffs.append(abs(x - y))
    scale = max(largest, 1e-6)
    err = max(diffs, default=0.0)
    apart = sum(d > rtol * scale for d in diffs)
    return err / scale, lone_nans, apart, len(a)


def load_range(folder, offset, name, start, end):
    with open(os.path.join(folder, name), "rb") as f:
        data = f.read()
    return data[start - offset : end - offset]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("run")
    parser.add_argument("--rtol", type=float, default=0.05)
    parser.add_argument("--show", type=int, default=5)
    args = parser.parse_args()

    compute, want = read_index(args.reference)
    _, got = read_index(args.run)
    identical = close = 0
    beyond = []
    for i, ((kernel, wbufs), (other, gbufs)) in enumerate(zip(want, got)):
        if kernel != other:
            print(f"launch {i}: the reference launched {kernel}, the run {other}")
            return 1
        if set(wbufs) != set(gbufs):
            beyond.append(f"launch {i} {kernel}: changed buffers "
                          f"{sorted(gbufs)}, the reference {sorted(wbufs)}")
            continue
        worst, where, same = 0.0, "", True
        for buffer, (woff, wname) in sorted(wbufs.items()):
            goff, gname = gbufs[buffer]
            wsize = os.path.getsize(os.path.join(args.reference, wname))
            gsize = os.path.getsize(os.path.join(args.run, gname))
            start, end = max(woff, goff), min(woff + wsize, goff + gsize)
            a = load_range(args.reference, woff, wname, start, end)
            b = load_range(args.run, goff, gname, start, end)
            if a == b and (woff, wsize) == (goff, gsize):
                continue
            same = False
            (rel, nans, apart, count), dtype = min(
                (difference(a, b, dtype, args.rtol), dtype)
                for dtype in dict.fromkeys([compute, "f32"]))
            rel = math.inf if nans else rel
            if rel >= worst:
                worst = rel
                where = (f"{buffer} bytes {start}-{end} as {dtype}: largest "
                         f"difference {rel:.3g} of the largest magnitude, "
                         f"{apart} of {count} elements beyond"
                         + (f", {nans} NaNs in one run only" if nans else ""))
        if same:
            identical += 1
        elif worst <= args.rtol:
            close += 1
        else:
            beyond.append(f"launch {i} {kernel}: {where}")
    for line in beyond[: args.show]:
        print(line)
    compared = min(len(want), len(got))
    print(f"{compared} launches compared: {identical} identical, {close} within "
          f"rtol {args.rtol:g}, {len(beyond)} beyond"
          + (f" (first: launch {beyond[0].split()[1]})" if beyond else ""))
    if len(want) != len(got):
        print(f"the reference made {len(want)} launches, the run {len(got)}")
        return 1
    return 1 if beyond else 0


if __name__ == "__main__":
    sys.exit(main())
