//===- GpuKernels.h - Tensor-core kernels of a model for NVIDIA GPUs -*- C++ -*-===//
//
// The first kernels of the GPU target: one tensor-core GEMM per distinct
// projection shape of the model (x . W^T and GPT-2's x . W), mma.sync
// m16n8k16 with f16 inputs and f32 accumulation, as PTX from LLVM's
// NVPTX backend. Rows (batch x sequence) are dynamic and come in blocks of
// 32, so the caller pads them.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGET_GPUKERNELS_H
#define LLMC_TARGET_GPUKERNELS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace llmc {

/// A kernel's parameters are its memrefs x [M, K], W, y [M, N] (f32), each
/// as MLIR's expanded descriptor (allocated and aligned pointers, offset,
/// sizes, strides). Its summary gives its blocks: 32 rows x C columns of
/// the output (C = 32, 16 or 8, the largest dividing N) on (C / 8 * 32) x 2
/// threads, so the grid is (N / C, M / 32).
struct GpuKernel {
  /// The kernel's entry name in `ptx`.
  std::string name;
  /// What it computes and how it is launched, for listings:
  /// "y[M, N] = x[M, K] . W[N, K]^T; blocks of 32 x C outputs, T x 2 threads".
  std::string summary;
  std::string ptx;
};

/// Rows of a block of the GEMM kernels; callers pad M to a multiple.
constexpr int64_t kGemmBlockRows = 32;

/// Compiles the GEMMs of `model`'s llm.linear ops for `chip` (sm_80 or
/// sm_90). The compute type must be f16, and every projection's
/// output features a multiple of 8 and input features of 16; the error says
/// which is not.
llvm::Expected<std::vector<GpuKernel>> compileGemmKernels(mlir::ModuleOp model,
                                                          llvm::StringRef chip);

} // namespace llmc

#endif // LLMC_TARGET_GPUKERNELS_H
