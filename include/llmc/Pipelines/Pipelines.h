//===- Pipelines.h - llmc's named pass pipelines ----------------*- C++ -*-===//
//
// The pass pipelines, defined once and used by both `llmc compile` and
// `llmc-opt --llmc-cpu-pipeline` (and its two halves), so a stage printed by
// one can be replayed with the other.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_PIPELINES_PIPELINES_H
#define LLMC_PIPELINES_PIPELINES_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"

#include <string>

namespace llmc {

/// One rank of the mesh dp x pp x tp: its pipeline stage and its index
/// along the tensor-parallel axis (data-parallel replicas share a program).
struct ParallelRank {
  int64_t pp = 1, stage = 0;
  int64_t tp = 1, tpRank = 0;
};

/// The whole model -> the program of one rank: llm-pipeline-parallel, then
/// llm-tensor-parallel.
void buildParallelPipeline(mlir::OpPassManager &pm, const ParallelRank &rank);

/// llm -> linalg/tensor/arith/math on tensors (`--emit=linalg`):
/// convert-llm-to-linalg, elementwise ops to linalg, canonicalize, cse,
/// elementwise fusion without recomputation (llmc-fuse-elementwise).
/// `fusedAttention` and `keyBucket`: convert-llm-to-linalg's options.
void buildLLMToLinalgPipeline(mlir::OpPassManager &pm,
                              bool fusedAttention = false,
                              int64_t keyBucket = 1);

/// linalg on tensors -> memrefs: one-shot bufferization across functions
/// (identity layouts at function boundaries, copies as linalg.copy, the KV
/// cache updated in place, logits returned), then buffer deallocation.
void buildBufferizationPipeline(mlir::OpPassManager &pm);

/// A GPU to compile for.
struct GpuTarget {
  /// sm_80 or sm_90.
  std::string chip;
  /// The CUDA toolkit (libdevice, for the kernels' math functions).
  std::string toolkit;
  /// How the kernels are made (GpuOptions.def says what each does).
#define LLMC_GPU_OPTION(TYPE, FIELD, NAME, DEFAULT, HELP) TYPE FIELD = DEFAULT;
#include "llmc/Pipelines/GpuOptions.def"

  /// What the kernels are compiled for: `chip`, or sm_90a where they use
  /// its architecture-specific instructions (wgmma).
  std::string kernelChip() const {
    return wgmma || attentionWgmma ? chip + "a" : chip;
  }
};

/// linalg on tensors -> LLVM dialect host code with PTX kernels
/// (`llmc compile --target=sm_80|sm_90`): bufferization, parallel loops
/// tiled into blocks of threads and outlined into one kernel module, host
/// accesses to device memory as copies, NVVM, PTX in a gpu.binary (named
/// kernels in the module's `llmc.gpu_kernels`), host code calling the
/// runtime's GPU table (llmrt/GpuABI.h).
void buildGpuCodegenPipeline(mlir::OpPassManager &pm, const GpuTarget &gpu);

/// The first part of buildGpuCodegenPipeline: the kernels in NVVM inside
/// their gpu.module (before PTX), the host code still on memrefs. What the
/// kernel emulator compiles for the CPU (`llmc --emit=emulated-kernels`).
void buildGpuKernelsPipeline(mlir::OpPassManager &pm, const GpuTarget &gpu);

/// linalg on tensors -> LLVM dialect for the host (`--emit=llvm` then
/// translates): one-shot bufferization across functions (KV cache updated in
/// place, logits returned), buffer deallocation, parallel loops tiled for
/// OpenMP threads, convert-llm-to-llvm.
void buildCpuCodegenPipeline(mlir::OpPassManager &pm);

/// Both, in order: what `llmc compile --target=cpu` runs.
void buildCpuPipeline(mlir::OpPassManager &pm);

/// Registers --llmc-llm-to-linalg, --llmc-cpu-codegen and
/// --llmc-cpu-pipeline for llmc-opt.
void registerPipelines();

/// The dialects, interfaces and translations the pipelines need.
void registerPipelineDialects(mlir::DialectRegistry &registry);

} // namespace llmc

#endif // LLMC_PIPELINES_PIPELINES_H
