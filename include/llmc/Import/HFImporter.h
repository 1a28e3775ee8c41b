//===- HFImporter.h - Hugging Face checkpoint folder to llm -----*- C++ -*-===//
//
// Turns a checkpoint folder (config.json + model.safetensors, or a sharded
// model.safetensors.index.json) into an `llm` module with `prefill` and
// `decode` entry points and one `llm.param` per tensor. Reads config.json and
// the safetensors headers only, never weight data.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_IMPORT_HFIMPORTER_H
#define LLMC_IMPORT_HFIMPORTER_H

#include "llmc/Import/ModelConfig.h"

#include "llmrt/WeightStore.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <optional>

namespace llmc {

struct ImportOptions {
  /// KV cache length; default: the model's max_position_embeddings.
  std::optional<int64_t> maxSeqLen;
  /// Compute (activation and KV cache) type; default: the config's dtype,
  /// else float32. Weights stored in another type are converted on read.
  std::optional<FloatDType> dtype;
};

/// Imports a checkpoint from its config and opened weight store (headers
/// only). Errors are one line naming the file, field or tensor and what was
/// expected.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importHuggingFace(llvm::StringRef dir, const ModelConfig &config,
                  const llmrt::WeightStore &store,
                  const ImportOptions &options, mlir::MLIRContext *context);

/// Reads config.json and the safetensors headers of `dir`, then imports.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importHuggingFace(llvm::StringRef dir, const ImportOptions &options,
                  mlir::MLIRContext *context);

/// Opens the weight store of `dir` (headers only) as an llvm::Error.
llvm::Error openWeightStore(llvm::StringRef dir, llmrt::WeightStore &store);

/// The dialects an imported module uses.
void registerImportDialects(mlir::DialectRegistry &registry);

} // namespace llmc

#endif // LLMC_IMPORT_HFIMPORTER_H
