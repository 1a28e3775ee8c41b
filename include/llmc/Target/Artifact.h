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
constexpr int64_t kArtifactFormatVersion = 1;

/// The code library inside an artifact.
constexpr llvm::StringLiteral kHostLibraryName = "model.so";

struct ManifestInputs {
  /// The checkpoint folder, absolute.
  std::string checkpointDir;
  const ModelConfig *config = nullptr;
  const llmrt::WeightStore *store = nullptr;
  int64_t maxBatch = 0;
  std::string compilerVersion;
  /// The tokenizer file copied into the artifact, or empty.
  std::string tokenizer;
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
