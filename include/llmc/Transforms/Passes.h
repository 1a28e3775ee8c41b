//===- Passes.h - llmc's code generation transforms -------------*- C++ -*-===//

#ifndef LLMC_TRANSFORMS_PASSES_H
#define LLMC_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace llmc {

#define GEN_PASS_DECL
#include "llmc/Transforms/Passes.h.inc"

/// Replaces `loop` (without reductions) by a nest of scf.for loops.
void sequentializeParallelLoop(mlir::scf::ParallelOp loop);

/// The shared memory a kernel may declare statically (more is dynamic
/// shared memory, which a kernel opts into).
constexpr int64_t kStaticSharedBytes = 48 * 1024;
/// The most shared memory a block may opt into on `chip`: 163 KiB on
/// sm_80, 227 KiB on sm_90.
constexpr int64_t maxSharedBytes(llvm::StringRef chip) {
  return (chip.starts_with("sm_80") ? 163 : 227) * 1024;
}

/// Why tensor-core block tiles of `blockRows` x `blockCols` with `stages`
/// (0: automatic) cp.async stages of `stageSteps` steps of k, on wgmma or
/// not, filled by TMA or not (by a producer warp or not), cannot be built
/// on a GPU that gives a block `sharedLimit` bytes of shared memory
/// (maxSharedBytes) (empty where they can), the options named with `prefix`
/// ("" as llmc-gpu-warp-reductions spells them, "--gpu-" as llmc does).
std::string mmaTileOptionsError(int64_t blockRows, int64_t blockCols,
                                int64_t stageSteps, int64_t stages, bool wgmma,
                                bool tma, bool tmaProducer,
                                int64_t sharedLimit,
                                llvm::StringRef prefix);

#define GEN_PASS_REGISTRATION
#include "llmc/Transforms/Passes.h.inc"

} // namespace llmc

#endif // LLMC_TRANSFORMS_PASSES_H
