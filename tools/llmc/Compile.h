//===- Compile.h - What `llmc compile` does ---------------------*- C++ -*-===//

#ifndef LLMC_TOOLS_LLMC_COMPILE_H
#define LLMC_TOOLS_LLMC_COMPILE_H

#include "llmc/Import/HFImporter.h"
#include "llmc/Pipelines/Pipelines.h"
#include "llmc/Target/Artifact.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace llmc {

/// The stages `llmc compile --emit` can write.
enum class EmitStage { Artifact, LLM, Linalg, LLVM, PTX, EmulatedKernels };

struct CompileOptions {
  std::string input;
  std::string output;
  EmitStage emit = EmitStage::Artifact;
  ImportOptions import;
  int64_t maxBatch = 1;
  std::string compilerVersion;
  ParallelConfig parallel;
  /// Write each program's weights into the artifact (dense, its own slices)
  /// instead of referencing the checkpoint.
  bool packWeights = false;
  /// The world rank whose program --emit prints.
  int64_t rank = 0;
  /// cpu, sm_80 or sm_90.
  std::string target = "cpu";
  /// The GPU pipeline's options (its chip is `target`, its toolkit the CUDA
  /// toolkit: libdevice for the kernels, ptxas for cubins).
  GpuTarget gpuTarget;

  bool gpu() const { return target != "cpu"; }
};

/// Checks the parallel options; the error names the option.
llvm::Error checkParallelOptions(const CompileOptions &options);

/// Rewrites the whole model into the program of world rank `rank`
/// (llm-pipeline-parallel, llm-tensor-parallel); diagnostics go to the
/// context.
mlir::LogicalResult partitionForRank(mlir::ModuleOp module,
                                     const ParallelConfig &parallel,
                                     int64_t rank);

/// Lowers the llm module `module` to the stage `options.emit` names
/// (linalg or LLVM dialect) in place; diagnostics go to the context.
mlir::LogicalResult lowerToStage(mlir::ModuleOp module, EmitStage emit,
                                 const CompileOptions &options);

/// Writes the stage of `module` (already lowered) to `output`.
llvm::Error writeStage(mlir::ModuleOp module, EmitStage emit,
                       llvm::StringRef output);

/// Compiles the checkpoint folder `options.input` into the artifact
/// directory `options.output`.
llvm::Error compileArtifact(const CompileOptions &options,
                            mlir::MLIRContext &context);

/// The passes of the stage, as a textual pipeline.
std::string describePipeline(EmitStage emit, const CompileOptions &options,
                             mlir::MLIRContext &context);

} // namespace llmc

#endif // LLMC_TOOLS_LLMC_COMPILE_H
