#!/usr/bin/env python3
"""Summarizes what ptxas reported for a GPU artifact's kernels.

  gpu_kernel_report.py ARTIFACT

Prints, per program: its kernel count, the total spill bytes, the most
registers and shared memory of any kernel (static, as ptxas counts it, plus
the dynamic shared memory it launches with); exits non-zero when a kernel
has no ptxas report (ptxas did not run).
"""

import json
import sys


def shared(kernel):
    return kernel["shared_bytes"] + kernel.get("dynamic_shared_bytes", 0)


def main():
    with open(sys.argv[1] + "/manifest.json") as f:
        manifest = json.load(f)
    print(f"target {manifest['target']}")
    for program in manifest["programs"]:
        gpu = program["gpu"]
        kernels = gpu["kernels"]
        missing = [k["name"] for k in kernels if "registers" not in k]
        if missing:
            sys.exit(f"{program['library']}: no ptxas report for {missing[0]}")
        print(f"{program['library']}: {len(kernels)} kernels, "
              f"{sum(k['spill_bytes'] for k in kernels)} spill bytes, "
              f"at most {max(k['registers'] for k in kernels)} registers and "
              f"{max(shared(k) for k in kernels)} shared bytes, "
              f"cubin {gpu['cubin']}")


if __name__ == "__main__":
    main()
