#!/usr/bin/env python3
"""Checks where a GPU artifact's kernels wait for the kernel before them.

  ptx_waits.py MODEL.ptx

With programmatic dependent launch every kernel runs `griddepcontrol.wait`
before it reads or writes global memory: those made with
--gpu-prefetch-weights prefetch their weights first, which is the only
global memory instruction allowed above the wait. Prints how many kernels
there are, how many prefetch and how many signal their successors; exits
non-zero naming the first kernel that lacks a wait or touches global memory
before it (in the order of the PTX text).
"""

import re
import sys

ACCESS = re.compile(r"\b(ld|st|atom|red)\.global\b|\bcp\.async\b")


def main():
    kernels = []
    with open(sys.argv[1]) as f:
        for line in f:
            entry = re.match(r"\.visible \.entry (\w+)\(", line)
            if entry:
                kernels.append({"name": entry.group(1), "waited": False,
                                "prefetches": 0, "signals": 0,
                                "early": None})
                continue
            if not kernels:
                continue
            kernel = kernels[-1]
            if "griddepcontrol.wait" in line:
                kernel["waited"] = True
            elif "griddepcontrol.launch_dependents" in line:
                kernel["signals"] += 1
            elif "prefetch.global.L2" in line:
                kernel["prefetches"] += 1
            elif ACCESS.search(line) and not kernel["waited"]:
                kernel["early"] = kernel["early"] or line.strip()
    for kernel in kernels:
        if not kernel["waited"]:
            sys.exit(f"{kernel['name']}: no griddepcontrol.wait")
        if kernel["early"]:
            sys.exit(f"{kernel['name']}: '{kernel['early']}' before "
                     "griddepcontrol.wait")
    print(f"{len(kernels)} kernels wait before they access global memory; "
          f"{sum(1 for k in kernels if k['prefetches'])} prefetch weights, "
          f"{sum(1 for k in kernels if k['signals'])} let the next launch")


if __name__ == "__main__":
    main()
