# lit configuration of the llmc regression tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "LLMC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.llmc_obj_root, "test")

config.substitutions.append(("%llmc_src_root", config.llmc_src_root))
config.substitutions.append(("%llmc_obj_root", config.llmc_obj_root))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# libFuzzer targets run for a bounded time (LLMC_FUZZ_SECONDS, default 30).
if config.llmc_has_fuzzers:
    config.available_features.add("fuzzers")
config.substitutions.append(
    ("%fuzz_seconds", os.environ.get("LLMC_FUZZ_SECONDS", "30")))

tool_dirs = [config.llmc_tools_dir, config.llvm_tools_dir]
tools = ["llmc", "llmc-opt", "llmc-run", "safetensors-header-fuzzer",
         "model-config-fuzzer"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Sharded artifacts run under OpenMPI's mpirun (as root in CI), one OpenMP
# thread per rank so that oversubscribed ranks do not fight over the cores.
import shutil
if shutil.which("mpirun"):
    config.available_features.add("mpi")
    config.substitutions.append(
        ("%mpirun", "env OMP_NUM_THREADS=1 mpirun --allow-run-as-root "
                    "--oversubscribe --bind-to none"))

# ptxas checks PTX where the CUDA toolkit is installed.
for ptxas in [shutil.which("ptxas"), "/usr/local/cuda/bin/ptxas"]:
    if ptxas and os.path.exists(ptxas):
        config.available_features.add("ptxas")
        config.substitutions.append(("ptxas", ptxas))
        break

# A usable NVIDIA GPU (the machines lent for GPU runs; never CI).
import subprocess
try:
    if subprocess.run(["nvidia-smi", "-L"], capture_output=True,
                      timeout=20).returncode == 0:
        config.available_features.add("cuda-gpu")
except (OSError, subprocess.TimeoutExpired):
    pass

# The CUDA backend's host side under a driver that runs no kernels
# (unittests/Runtime/cuda/FakeCudaDriver.cpp): %fake_cuda prefixes llmc-run.
fake_cuda = os.path.join(config.llmc_obj_root, "fake-cuda")
if os.path.exists(os.path.join(fake_cuda, "libcuda.so.1")):
    config.available_features.add("fake-cuda")
    config.substitutions.append(
        ("%fake_cuda", "env LD_LIBRARY_PATH=" + fake_cuda))
