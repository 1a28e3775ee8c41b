//===- KernelEmulator.h - GPU kernels run on the CPU, for tests -*- C++ -*-===//
//
// Runs the kernels `llmc --emit=emulated-kernels` compiled for the host
// (llmc/Target/EmulatedKernels.h) the way a GPU would: a launch's blocks one
// after the other, every thread of a block a fiber with its own stack, so
// that barriers, warp shuffles and warp-wide tensor-core products (all calls
// `llmc_emu_*` into this file) wait for the threads they need. Blocks share
// one copy of the kernels' shared memory; cp.async copies at once. x86-64
// only (the fibers switch stacks in assembly).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_UNITTESTS_RUNTIME_CUDA_KERNELEMULATOR_H
#define LLMC_UNITTESTS_RUNTIME_CUDA_KERNELEMULATOR_H

#include <string>

namespace fakecuda {

/// A kernel's emulator entry: K__llmc_emu(void **params).
using EmulatedKernel = void (*)(void **params);

struct Dim3 {
  unsigned x, y, z;
};

/// Runs `kernel` on a grid of `grid` blocks of `block` threads; false with
/// `error` set when its threads cannot go on (one waits at a barrier the
/// others never reach).
bool runEmulatedKernel(EmulatedKernel kernel, Dim3 grid, Dim3 block,
                       void **params, std::string &error);

} // namespace fakecuda

#endif // LLMC_UNITTESTS_RUNTIME_CUDA_KERNELEMULATOR_H
