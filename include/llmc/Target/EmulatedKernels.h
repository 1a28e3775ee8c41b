//===- EmulatedKernels.h - GPU kernels compiled for the CPU -----*- C++ -*-===//
//
// Tests on machines without a GPU run a GPU artifact's kernels on the CPU:
// the kernel module (NVVM, as it goes to PTX) is translated to LLVM IR and
// compiled for the host into a shared library that the fake CUDA driver
// (unittests/Runtime/cuda) loads and runs, every thread of a block a fiber.
// What only the GPU provides becomes a call into that emulator:
//
//   - each NVVM intrinsic `llvm.nvvm.NAME(args...)` a call
//     `llmc_emu_NAME(ptr args, ptr result)` (dots become underscores), the
//     arguments stored in a struct of their types in order, the result read
//     back from the second pointer: one C calling convention for every
//     intrinsic, whatever its vector or struct types;
//   - libdevice functions (`__nv_expf`) the C library's (`expf`);
//   - `griddepcontrol.wait` (the wait of a dependent launch) nothing: the
//     emulator runs one kernel after the other;
//   - each kernel `K` gets an entry `K__llmc_emu(void **params)` that
//     calls it with cuLaunchKernel's parameter array, and a constant
//     `int32_t K__llmc_emu_params[]`: the number of its parameters, then
//     each one's bytes (what a driver copies when it captures a launch
//     into a graph).
//
// Anything else (other inline PTX, an unknown libdevice function) is an
// error naming it.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGET_EMULATEDKERNELS_H
#define LLMC_TARGET_EMULATEDKERNELS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

namespace llmc {

/// The suffix of a kernel's emulator entry point.
inline constexpr const char *kEmulatedKernelSuffix = "__llmc_emu";
/// The suffix of its parameter sizes.
inline constexpr const char *kEmulatedParamsSuffix = "__llmc_emu_params";

/// Compiles the kernels of `module` (after buildGpuKernelsPipeline: one
/// gpu.module in NVVM) for the host, as the shared library `path`.
llvm::Error emitEmulatedKernels(mlir::ModuleOp module, llvm::StringRef path);

} // namespace llmc

#endif // LLMC_TARGET_EMULATEDKERNELS_H
