//===- CpuPipeline.cpp - From llm to the LLVM dialect for the host --------===//

#include "llmc/Pipelines/Pipelines.h"

#include "llmc/Conversion/Passes.h"
#include "llmc/Dialect/LLM/IR/LLMDialect.h"
#include "llmc/Dialect/LLM/Transforms/Passes.h"
#include "llmc/Transforms/Passes.h"

#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace llmc {

void buildLLMToLinalgPipeline(OpPassManager &pm, bool fusedAttention,
                              int64_t keyBucket) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createConvertLLMToLinalg({fusedAttention, keyBucket}));
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createFuseElementwise());
  pm.addPass(createCanonicalizerPass());
}

/// Bufferization across function boundaries with identity layouts, so the
/// entry points take plain row-major buffers; copies become linalg.copy (and
/// loops), not calls into MLIR's runtime library.
static bufferization::OneShotBufferizationOptions bufferizationOptions() {
  bufferization::OneShotBufferizationOptions options;
  options.bufferizeFunctionBoundaries = true;
  options.setFunctionBoundaryTypeConversion(
      bufferization::LayoutMapOption::IdentityLayoutMap);
  options.memCpyFn = [](OpBuilder &b, Location loc, Value from,
                        Value to) -> LogicalResult {
    b.create<linalg::CopyOp>(loc, from, to);
    return success();
  };
  return options;
}

/// A tile size that keeps a whole dimension in one tile.
static constexpr int64_t kWholeDimension = int64_t(1) << 40;

void buildBufferizationPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createFillPerUse());
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizationOptions()));
  // Loops that yield the cache they were given fold away, so the KV cache
  // result is the argument again and is dropped: updated in place.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(bufferization::createDropEquivalentBufferResultsPass());
  bufferization::BufferDeallocationPipelineOptions deallocation;
  bufferization::buildBufferDeallocationPipeline(pm, deallocation);
}

void buildCpuCodegenPipeline(OpPassManager &pm) {
  buildBufferizationPipeline(pm);
  // Parallel loops run on OpenMP threads (OMP_NUM_THREADS): each loop nest's
  // outer dimension is cut into tiles of 64 iterations (for projections: 64
  // weight rows), the other dimensions stay whole, and a tile is one
  // thread's sequential work in the serial loop order.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createParallelLoopTilingPass(
      {64, kWholeDimension, kWholeDimension, kWholeDimension, kWholeDimension,
       kWholeDimension}));
  pm.addNestedPass<func::FuncOp>(createSequentializeInnerParallel());
  pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertLLMToLLVM());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void buildCpuPipeline(OpPassManager &pm) {
  buildLLMToLinalgPipeline(pm);
  buildCpuCodegenPipeline(pm);
}

void buildParallelPipeline(OpPassManager &pm, const ParallelRank &rank) {
  // Stages first: the tensor-parallel split then only sees this stage.
  pm.addPass(createLLMPipelineParallel({rank.pp, rank.stage}));
  pm.addPass(createLLMTensorParallel({rank.tp, rank.tpRank}));
}

namespace {
struct GpuPipelineOptions : PassPipelineOptions<GpuPipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("sm_80 or sm_90"),
                           llvm::cl::init("sm_80")};
  Option<std::string> toolkit{*this, "toolkit",
                              llvm::cl::desc("The CUDA toolkit (libdevice)"),
                              llvm::cl::init(LLMC_CUDA_TOOLKIT)};
#define LLMC_GPU_OPTION(TYPE, FIELD, NAME, DEFAULT, HELP)                      \
  Option<TYPE> FIELD{*this, NAME, llvm::cl::desc(HELP),                        \
                     llvm::cl::init(DEFAULT)};
#include "llmc/Pipelines/GpuOptions.def"
};
} // namespace

void registerPipelines() {
  PassPipelineRegistration<GpuPipelineOptions>(
      "llmc-gpu-codegen",
      "linalg on tensors to host code in the LLVM dialect and PTX kernels",
      [](OpPassManager &pm, const GpuPipelineOptions &options) {
        GpuTarget target{options.chip, options.toolkit};
#define LLMC_GPU_OPTION(TYPE, FIELD, NAME, DEFAULT, HELP)                      \
  target.FIELD = options.FIELD;
#include "llmc/Pipelines/GpuOptions.def"
        buildGpuCodegenPipeline(pm, target);
      });
  PassPipelineRegistration<>("llmc-llm-to-linalg",
                             "llm to linalg on tensors (llmc --emit=linalg)",
                             [](OpPassManager &pm) {
                               buildLLMToLinalgPipeline(pm);
                             });
  PassPipelineRegistration<>(
      "llmc-cpu-codegen",
      "linalg on tensors to the LLVM dialect for the host",
      buildCpuCodegenPipeline);
  PassPipelineRegistration<>(
      "llmc-cpu-pipeline",
      "llm to the LLVM dialect for the host (llmc compile --target=cpu)",
      buildCpuPipeline);
}

void registerPipelineDialects(DialectRegistry &registry) {
  registry.insert<llm::LLMDialect, arith::ArithDialect,
                  bufferization::BufferizationDialect, cf::ControlFlowDialect,
                  func::FuncDialect, linalg::LinalgDialect,
                  LLVM::LLVMDialect, math::MathDialect, memref::MemRefDialect,
                  mesh::MeshDialect, omp::OpenMPDialect, scf::SCFDialect,
                  tensor::TensorDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  registerMeshBufferizationModels(registry);
  registerLLMBufferizationModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  // The GPU target.
  registry.insert<gpu::GPUDialect, NVVM::NVVMDialect>();
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}

} // namespace llmc
