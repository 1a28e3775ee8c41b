//===- Artifact.h - The compiled model as a directory -----------*- C++ -*-===//
//
// An artifact is a directory: manifest.json (format version, model, target,
// entry points, the parameter table with each tensor's name, dtype and shape,
// and the checkpoint files with sizes and header checksums) and the code.
// It is written to a temporary directory and renamed into place, so a failed
// compile leaves nothing, and the same inputs give the same bytes.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGET_ARTIFACT_H
#define LLMC_TARGET_ARTIFACT_H

#include "llmc/Import/ModelConfig.h"

#include "llmrt/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/FunctionExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace llmc {

/// The version of the artifact layout; the runtime refuses any other.
constexpr int64_t kArtifactFormatVersion = 2;

/// The code library inside an artifact.
constexpr llvm::StringLiteral kHostLibraryName = "model.so";

/// How the ranks split the model: world = dp x pp x tp, tp fastest.
struct ParallelConfig {
  int64_t dp = 1, pp = 1, tp = 1;
  /// Microbatches per data-parallel replica's batch, through the pipeline.
  int64_t microbatches = 1;
  int64_t world() const { return dp * pp * tp; }
};

/// The host library of the program of pipeline stage `stage` and tensor
/// rank `tpRank`.
std::string programLibraryName(const ParallelConfig &parallel, int64_t stage,
                               int64_t tpRank);

/// The manifest entry of one rank's program: its library, layers, KV heads,
/// whether it returns logits, and its parameter slices of the checkpoint;
/// with `packedWeights` (a folder of the artifact), its parameters are the
/// tensors of that folder's model.safetensors, named by their symbols.
llvm::json::Object describeProgram(mlir::ModuleOp program, int64_t stage,
                                   int64_t tpRank, llvm::StringRef library,
                                   llvm::StringRef packedWeights = "");

/// Writes the parameters of `program` (its boxes of the checkpoint's
/// tensors, read from `store`) densely into the safetensors file `path`,
/// each named by its symbol: the rank's own copy (`--pack-weights`).
llvm::Error writePackedWeights(mlir::ModuleOp program,
                               llmrt::WeightStore &store,
                               llvm::StringRef path);

/// The pipeline schedules: GPipe for inference (each stage runs the forward
/// of every microbatch in order) and 1F1B for training, per stage, with the
/// bubble fraction (pp - 1) / (microbatches + pp - 1).
llvm::json::Object describeSchedule(const ParallelConfig &parallel);

struct ManifestInputs {
  /// The checkpoint folder, absolute.
  std::string checkpointDir;
  const ModelConfig *config = nullptr;
  const llmrt::WeightStore *store = nullptr;
  int64_t maxBatch = 0;
  std::string compilerVersion;
  /// The tokenizer file copied into the artifact, or empty.
  std::string tokenizer;
  ParallelConfig parallel;
  /// describeProgram of each (stage, tp rank), stage-major.
  llvm::json::Array programs;
};

/// The manifest for the `llm`-level module `module` (before lowering: its
/// llm.param ops give the parameter table's order, its KV cache type the
/// compute type and max_seq_len).
llvm::json::Value buildManifest(mlir::ModuleOp module,
                                const ManifestInputs &inputs);

/// Creates `outDir` atomically: `writeFiles` fills a fresh temporary
/// directory next to it, which is then renamed to `outDir` (replacing an
/// older artifact). On any error nothing is left behind.
llvm::Error
writeArtifactDirectory(llvm::StringRef outDir,
                       llvm::function_ref<llvm::Error(llvm::StringRef)> writeFiles);

/// Writes `value` as pretty-printed JSON to `path`.
llvm::Error writeJsonFile(llvm::StringRef path, const llvm::json::Value &value);

} // namespace llmc

#endif // LLMC_TARGET_ARTIFACT_H
