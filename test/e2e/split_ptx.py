#!/usr/bin/env python3
"""Runs ptxas on every kernel `llmc compile --emit=ptx` printed.

  split_ptx.py KERNELS.ptx PTXAS ARCH

Prints one line per kernel: its name, registers and spill bytes, as
`ptxas -v` reports them; exits non-zero when ptxas rejects one.
"""

import re
import subprocess
import sys
import tempfile


def main():
    path, ptxas, arch = sys.argv[1:4]
    with open(path) as f:
        text = f.read()
    kernels = text.split("// kernel ")[1:]
    if not kernels:
        sys.exit(f"{path}: no kernels")
    with tempfile.TemporaryDirectory() as work:
        for kernel in kernels:
            header, ptx = kernel.split("\n", 1)
            name = header.split(":")[0]
            source = f"{work}/{name}.ptx"
            with open(source, "w") as f:
                f.write(ptx)
            run = subprocess.run([ptxas, f"-arch={arch}", "-v", source, "-o",
                                  f"{work}/{name}.cubin"],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"{name}: ptxas failed:\n{run.stderr}")
            registers = re.search(r"Used (\d+) registers", run.stderr)[1]
            spills = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill "
                               r"loads", run.stderr)
            print(f"{name}: {registers} registers, {spills[1]} bytes spill "
                  f"stores, {spills[2]} bytes spill loads")


if __name__ == "__main__":
    main()
