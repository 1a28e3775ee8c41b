//===- GpuPipeline.cpp - From linalg to PTX kernels and their host code ---===//

#include "llmc/Pipelines/Pipelines.h"

#include "llmc/Conversion/Passes.h"
#include "llmc/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace llmc {

void buildGpuKernelsPipeline(OpPassManager &pm, const GpuTarget &gpu) {
  buildBufferizationPipeline(pm);
  // The KV-cache update: one kernel (the keys' rotation in it), not a
  // kernel per sequence.
  pm.addNestedPass<func::FuncOp>(createGpuParallelCopies());
  // Every linalg op becomes a loop nest; its parallel loops one kernel, in
  // which a warp runs each output's reduction (or, where the reduction is
  // not a plain sum or maximum over the last loop, a thread).
  pm.addNestedPass<func::FuncOp>(createReductionsInnermost());
  GpuWarpReductionsOptions reductions;
  reductions.tensorCores = true;
  reductions.asyncCopies = gpu.asyncCopies;
  reductions.loadMatrices = gpu.loadMatrices;
  reductions.mmaBlockRows = gpu.mmaBlockRows;
  reductions.mmaStageSteps = gpu.mmaStageSteps;
  reductions.fuseSiblings = gpu.fuseSiblings;
  reductions.fuseNorms = gpu.fuseNorms;
  reductions.wgmma = gpu.wgmma;
  reductions.mmaBlockCols = gpu.mmaBlockCols;
  reductions.mmaStages = gpu.mmaStages;
  reductions.wgmmaInFlight = gpu.wgmmaInFlight;
  reductions.mmaSplitK = gpu.mmaSplitK;
  reductions.tma = gpu.tma;
  reductions.tmaProducer = gpu.tmaProducer;
  // Its wait replaces the one llmc-gpu-dependent-launches would add.
  reductions.prefetchWeights =
      gpu.prefetchWeights && gpu.dependentLaunches && gpu.chip >= "sm_90";
  pm.addPass(createGpuWarpReductions(reductions));
  // Attention: partial results per split of the keys, then combined.
  pm.addPass(createGpuFusedAttention({/*loadMatrices=*/gpu.loadMatrices,
                                      /*combineInBlocks=*/gpu.combineInBlocks,
                                      /*fuseCacheUpdate=*/gpu.fuseCacheUpdate,
                                      /*stages=*/gpu.attentionStages,
                                      /*wgmma=*/gpu.attentionWgmma,
                                      /*overlap=*/gpu.attentionOverlap}));
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createGpuMapParallelLoops());
  pm.addNestedPass<func::FuncOp>(createParallelLoopToGpuPass());
  pm.addPass(createGpuPrepareLaunches());
  pm.addPass(createCanonicalizerPass());
  // Independent neighbours (q, k and v in a decode step) as one launch;
  // CSE first makes the host's equal conditions one value.
  if (gpu.fuseLaunches) {
    pm.addNestedPass<func::FuncOp>(createCSEPass());
    pm.addNestedPass<func::FuncOp>(createGpuFuseLaunches());
  }
  pm.addNestedPass<func::FuncOp>(createGpuLauchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createGpuMergeKernelModules());
  if (gpu.dependentLaunches && gpu.chip >= "sm_90")
    pm.addPass(createGpuDependentLaunches());
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());

  // The kernels: NVVM, then PTX through LLVM's NVPTX backend, with
  // libdevice for their math functions.
  GpuNVVMAttachTargetOptions target;
  target.chip = gpu.kernelChip();
  // PTX 8.0 has wgmma and TMA; the tensor-map proxy fence needs 8.3.
  target.features = gpu.tma ? "+ptx83" : "+ptx80";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  // libdevice has f32 and f64 math only: bf16 and f16 math runs in f32.
  kernels.addPass(math::createMathLegalizeToF32());
  // Tensor-core fragments: nvgpu.mma.sync and the vectors that hold them.
  kernels.addPass(createConvertNVGPUToNVVMPass());
  kernels.addPass(createConvertVectorToLLVMPass());
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  kernels.addPass(createGpuExternDynamicShared());
  // NVVM ops that LLVM has no intrinsic for (wgmma's): inline PTX.
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createArithToLLVMConversionPass());
  kernels.addPass(createConvertIndexToLLVMPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
}

void buildGpuCodegenPipeline(OpPassManager &pm, const GpuTarget &gpu) {
  buildGpuKernelsPipeline(pm, gpu);
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = gpu.toolkit;
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));

  // The host code.
  pm.addPass(createConvertLLMToLLVM());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

} // namespace llmc
