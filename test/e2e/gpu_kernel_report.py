#!/usr/bin/env python3
"""Summarizes what ptxas reported for a GPU artifact's kernels.

  gpu_kernel_report.py ARTIFACT

Prints, per program: its kernel count, the total spill bytes, the most
registers and shared memory of any kernel (static, as ptxas counts it, plus
the dynamic shared memory it launches with); exits non-zero when a kernel
has no ptxas report (ptxas did not run), or when the parameter sizes the
manifest gives a kernel (what the runtime copies into a CUDA graph) are
not those of its .entry in the PTX.
"""

import json
import re
import sys

# A PTX parameter: `.param .u64 name` or `.param .align 8 .b8 name[16]`.
PARAM = re.compile(r"\.param\s+(?:\.align\s+\d+\s+)?\.([a-z])(\d+)\s+"
                   r"[A-Za-z_$][\w$]*(?:\[(\d+)\])?")


def ptx_parameters(ptx):
    """Each .entry's parameter sizes in bytes, by kernel name."""
    sizes = {}
    for m in re.finditer(r"\.entry\s+([\w$]+)\s*\(([^)]*)\)", ptx):
        sizes[m.group(1)] = [int(bits) // 8 * int(count or 1)
                             for _, bits, count in PARAM.findall(m.group(2))]
    return sizes


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
        with open(sys.argv[1] + "/" + gpu["ptx"]) as f:
            entries = ptx_parameters(f.read())
        for k in kernels:
            if k.get("param_bytes") != entries.get(k["name"]):
                sys.exit(f"{program['library']}: kernel {k['name']}: the "
                         f"manifest's param_bytes {k.get('param_bytes')} are "
                         f"not the PTX's {entries.get(k['name'])}")
        print(f"{program['library']}: {len(kernels)} kernels, "
              f"{sum(k['spill_bytes'] for k in kernels)} spill bytes, "
              f"at most {max(k['registers'] for k in kernels)} registers and "
              f"{max(shared(k) for k in kernels)} shared bytes, "
              f"cubin {gpu['cubin']}")


if __name__ == "__main__":
    main()
