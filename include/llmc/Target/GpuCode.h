//===- GpuCode.h - The kernels of a GPU program -----------------*- C++ -*-===//
//
// After the GPU pipeline a program is host code (LLVM dialect) plus one
// gpu.binary holding the PTX of all its kernels. The PTX is taken out and
// stored beside the host library; ptxas, when the CUDA toolkit is there,
// turns it into a cubin and reports each kernel's registers, spills and
// shared memory, which the manifest records.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGET_GPUCODE_H
#define LLMC_TARGET_GPUCODE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>
#include <vector>

namespace llmc {

struct GpuCode {
  /// The PTX of every kernel.
  std::string ptx;
  /// Kernel names in the order the host code numbers them.
  std::vector<std::string> kernels;
  /// The dynamic shared memory each kernel launches with (bytes).
  std::vector<int64_t> dynamicSharedBytes;
  /// The bytes of each kernel's parameters, in order.
  std::vector<std::vector<int32_t>> parameterBytes;
  /// The kernels wait for the kernel before them themselves
  /// (llmc-gpu-dependent-launches): the runtime may launch them early.
  bool dependentLaunch = false;
};

/// Removes the gpu.binary from `module` (the GPU pipeline's output) and
/// returns its PTX and the kernel names.
llvm::Expected<GpuCode> takeGpuCode(mlir::ModuleOp module);

/// What ptxas reports for one kernel.
struct KernelResources {
  std::string name;
  int64_t registers = 0;
  int64_t spillBytes = 0;
  int64_t stackBytes = 0;
  int64_t sharedBytes = 0;
};

/// ptxas from `cudaPath`/bin or PATH; none without the toolkit.
std::optional<std::string> findPtxas(llvm::StringRef cudaPath);

/// Assembles the PTX file `ptxPath` for `chip` into `cubinPath` with
/// `ptxas -v`; the error carries ptxas's first error line.
llvm::Expected<std::vector<KernelResources>>
assemblePtx(llvm::StringRef ptxas, llvm::StringRef ptxPath,
            llvm::StringRef cubinPath, llvm::StringRef chip);

/// Parses `ptxas -v` output.
std::vector<KernelResources> parsePtxasReport(llvm::StringRef report);

/// The manifest's `gpu` entry of a program: its PTX and cubin files and
/// the kernels in launch-index order, with their resources when known.
llvm::json::Object describeGpuCode(const GpuCode &code, llvm::StringRef ptx,
                                   llvm::StringRef cubin,
                                   const std::vector<KernelResources> &resources);

} // namespace llmc

#endif // LLMC_TARGET_GPUCODE_H
