//===- GpuKernels.cpp - Tensor-core kernels of a model for NVIDIA GPUs ----===//
//
// Each kernel starts as a gpu.launch over blocks of 32 x 32 outputs whose
// body is one linalg matmul on static tiles; a transform script tiles it to
// 16 x 8 per warp and 16 deep, vectorizes it and folds the f16 -> f32
// extension into the contraction, which convert-vector-to-gpu turns into
// nvgpu.mma.sync. Then the usual path to NVVM and PTX
// (docs/design/gpu-tensor-core-gemm.md).
//
//===----------------------------------------------------------------------===//

#include "llmc/Target/GpuKernels.h"
#include "llmc/Support/Error.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include "llvm/Support/FormatVariadic.h"

#include <map>
#include <mutex>

using namespace mlir;

namespace llmc {

namespace {

/// One GEMM: y[M, N] (f32) = x[M, K] . W^T with W [N, K], or x . W with W
/// [K, N] (GPT-2's Conv1D).
struct GemmShape {
  int64_t n, k;
  bool weightInOut;
  std::string element;
  bool operator<(const GemmShape &o) const {
    return std::tie(n, k, weightInOut, element) <
           std::tie(o.n, o.k, o.weightInOut, o.element);
  }
  std::string name() const {
    return llvm::formatv("gemm_{0}_n{1}_k{2}{3}", element, n, k,
                         weightInOut ? "_kn" : "")
        .str();
  }
};

/// Warps of 16 x 8 outputs: 2 down a block, as many across as its columns
/// hold (32 columns when the projection allows, else 16 or 8).
constexpr int64_t kWarpRows = 16, kWarpCols = 8, kWarpsY = 2;
int64_t blockCols(int64_t n) {
  for (int64_t cols : {32, 16, 8})
    if (n % cols == 0)
      return cols;
  return 0;
}

/// The launch: blocks over 32 x 32 outputs, 8 warps each.
std::string gemmSource(const GemmShape &shape) {
  int64_t kBlockCols = blockCols(shape.n);
  int64_t kWarpsX = kBlockCols / kWarpCols;
  std::string t = shape.element;
  std::string w = shape.weightInOut
                      ? llvm::formatv("{0}x{1}x{2}", shape.k, shape.n, t).str()
                      : llvm::formatv("{0}x{1}x{2}", shape.n, shape.k, t).str();
  std::string wTile =
      shape.weightInOut
          ? llvm::formatv("memref<{0}x{1}x{2}, strided<[{3}, 1], offset: ?>>",
                          shape.k, kBlockCols, t, shape.n)
                .str()
          : llvm::formatv("memref<{0}x{1}x{2}, strided<[{1}, 1], offset: ?>>",
                          kBlockCols, shape.k, t)
                .str();
  std::string wSubview =
      shape.weightInOut
          ? llvm::formatv("%w[0, %n0] [{0}, {1}] [1, 1]", shape.k, kBlockCols)
                .str()
          : llvm::formatv("%w[%n0, 0] [{0}, {1}] [1, 1]", kBlockCols, shape.k)
                .str();
  std::string op =
      shape.weightInOut ? "linalg.matmul" : "linalg.matmul_transpose_b";
  return llvm::formatv(
             R"(
func.func @{0}(%x: memref<?x{2}x{3}>, %w: memref<{4}>, %y: memref<?x{1}xf32>) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = arith.constant {5} : index
  %cols = arith.constant {6} : index
  %gx = arith.constant {7} : index
  %tx = arith.constant {8} : index
  %ty = arith.constant {9} : index
  %m = memref.dim %x, %c0 : memref<?x{2}x{3}>
  %gy = arith.ceildivui %m, %rows : index
  gpu.launch blocks(%bx, %by, %bz) in (%sx = %gx, %sy = %gy, %sz = %c1)
             threads(%ix, %iy, %iz) in (%nx = %tx, %ny = %ty, %nz = %c1) {{
    %m0 = arith.muli %by, %rows : index
    %n0 = arith.muli %bx, %cols : index
    %xs = memref.subview %x[%m0, 0] [{5}, {2}] [1, 1] : memref<?x{2}x{3}> to memref<{5}x{2}x{3}, strided<[{2}, 1], offset: ?>>
    %ws = memref.subview {10} : memref<{4}> to {11}
    %ys = memref.subview %y[%m0, %n0] [{5}, {6}] [1, 1] : memref<?x{1}xf32> to memref<{5}x{6}xf32, strided<[{1}, 1], offset: ?>>
    {12} ins(%xs, %ws : memref<{5}x{2}x{3}, strided<[{2}, 1], offset: ?>>, {11}) outs(%ys : memref<{5}x{6}xf32, strided<[{1}, 1], offset: ?>>)
    gpu.terminator
  }
  return
}
)",
             shape.name(), shape.n, shape.k, t, w, kGemmBlockRows, kBlockCols,
             shape.n / kBlockCols, 32 * kWarpsX, kWarpsY, wSubview, wTile, op)
      .str();
}

/// Warps of 16 x 8 outputs, 16 deep; vectorized; f16 -> f32 folded into
/// the contraction. THREADS_X/Y: the block's threads.
constexpr llvm::StringLiteral kScheduleFormat = R"(
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %mm = transform.structured.match interface{LinalgOp} in %root : (!transform.any_op) -> !transform.any_op
    %warp, %forall = transform.structured.tile_using_forall %mm tile_sizes [16, 8]
      (mapping = [#gpu.warp<y>, #gpu.warp<x>]) : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %deep, %loop = transform.structured.tile_using_for %warp tile_sizes [0, 0, 16] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %launch = transform.structured.match ops{["gpu.launch"]} in %root : (!transform.any_op) -> !transform.any_op
    %threads = transform.gpu.map_nested_forall_to_threads %launch block_dims = [THREADS_X, THREADS_Y, 1] : (!transform.any_op) -> !transform.any_op
    %funcs = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    %vectorized = transform.structured.vectorize_children_and_apply_patterns %funcs : (!transform.any_op) -> !transform.any_op
    %all = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %all { transform.apply_patterns.vector.fold_arith_extension } : !transform.any_op
    transform.yield
  }
}
)";

constexpr llvm::StringLiteral kLowering =
    "transform-interpreter, canonicalize, "
    "convert-vector-to-gpu{{use-nvgpu=true}, canonicalize, "
    "gpu-launch-sink-index-computations, gpu-kernel-outlining, "
    "convert-scf-to-cf, lower-affine, expand-strided-metadata, "
    "nvvm-attach-target{{chip={0} features=+ptx80 O=3}, "
    "gpu.module(lower-affine, convert-nvgpu-to-nvvm, convert-vector-to-llvm, "
    "convert-gpu-to-nvvm, convert-scf-to-cf, convert-arith-to-llvm, "
    "convert-index-to-llvm, canonicalize, reconcile-unrealized-casts), "
    "gpu-module-to-binary{{format=isa}";

DialectRegistry &gpuRegistry() {
  static DialectRegistry registry;
  static std::once_flag once;
  std::call_once(once, [] {
    registerAllDialects(registry);
    registerAllExtensions(registry);
    registerAllToLLVMIRTranslations(registry);
    registerAllPasses();
  });
  return registry;
}

} // namespace

llvm::Expected<std::vector<GpuKernel>>
compileGemmKernels(ModuleOp model, llvm::StringRef chip) {
  if (chip != "sm_80" && chip != "sm_90")
    return makeError("--target: expected sm_80 or sm_90, found '" + chip +
                     "'");
  std::map<GemmShape, std::string> shapes;
  std::string problem;
  model.walk([&](llm::LinearOp linear) {
    auto weight = cast<RankedTensorType>(linear.getWeight().getType());
    Type element = weight.getElementType();
    int64_t k = weight.getDimSize(linear.getInFeaturesDim());
    int64_t n = weight.getDimSize(linear.getOutFeaturesDim());
    // MLIR 19's vector-to-nvgpu conversion takes f16 operands only.
    if (!element.isF16())
      problem = "the GEMM kernels take f16 (bf16 is not supported yet): "
                "compile with --dtype f16";
    else if (blockCols(n) == 0 || k % 16 != 0)
      problem = llvm::formatv("a projection of {0} -> {1} features: the GEMM "
                              "kernels need output features divisible by {2} "
                              "and input features by 16",
                              k, n, kWarpCols);
    if (!problem.empty())
      return WalkResult::interrupt();
    GemmShape shape{n, k, linear.getWeightInOut(), element.isF16() ? "f16"
                                                                   : "bf16"};
    std::string weightText =
        shape.weightInOut ? llvm::formatv("W[{0}, {1}]", k, n).str()
                          : llvm::formatv("W[{0}, {1}]^T", n, k).str();
    shapes[shape] =
        llvm::formatv("y[M, {0}] = x[M, {1}] . {2}; blocks of {3} x {4} "
                      "outputs, {5} x {6} threads",
                      n, k, weightText, kGemmBlockRows, blockCols(n),
                      blockCols(n) / kWarpCols * 32, kWarpsY)
            .str();
    return WalkResult::advance();
  });
  if (!problem.empty())
    return makeError(problem);

  MLIRContext context(gpuRegistry());
  // Collect the first error for the caller rather than printing it.
  std::string diagnostic;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    if (d.getSeverity() == DiagnosticSeverity::Error && diagnostic.empty())
      diagnostic = d.str();
    return success();
  });
  std::vector<GpuKernel> out;
  // One module per kernel: the schedule's block shape is the kernel's.
  for (const auto &[shape, summary] : shapes) {
    std::string schedule = kScheduleFormat.str();
    int64_t threadsX = blockCols(shape.n) / kWarpCols * 32;
    for (auto [token, value] :
         {std::pair<llvm::StringRef, int64_t>{"THREADS_X", threadsX},
          {"THREADS_Y", kWarpsY}})
      schedule.replace(schedule.find(token.str()), token.size(),
                       std::to_string(value));
    OwningOpRef<ModuleOp> kernels =
        parseSourceString<ModuleOp>(gemmSource(shape) + schedule, &context);
    if (!kernels)
      return makeError("GEMM kernels: " + diagnostic);
    // The transform script lives beside the kernel; the interpreter finds
    // it.
    PassManager pm(&context);
    std::string pipelineError;
    llvm::raw_string_ostream pipelineErrors(pipelineError);
    if (failed(parsePassPipeline(llvm::formatv(kLowering.data(), chip).str(),
                                 pm, pipelineErrors)))
      return makeError("GEMM kernels: " + pipelineError);
    if (failed(pm.run(*kernels)))
      return makeError("GEMM kernels: " + diagnostic);
    kernels->walk([&](gpu::BinaryOp binary) {
      for (Attribute object : binary.getObjects()) {
        std::string ptx =
            cast<gpu::ObjectAttr>(object).getObject().getValue().str();
        while (!ptx.empty() && ptx.back() == '\0')
          ptx.pop_back();
        out.push_back({binary.getSymName().str(), summary, ptx});
      }
    });
  }
  return out;
}

} // namespace llmc
