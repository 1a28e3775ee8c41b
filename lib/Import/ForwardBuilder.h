//===- ForwardBuilder.h - Building a model's forward function ---*- C++ -*-===//
//
// What every architecture's importer needs while it writes @forward: reading
// parameters (checked against the checkpoint's headers, declared once,
// converted to the compute type), projections, and the attention block with
// its KV cache. Each architecture file only says how its layers are wired.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_LIB_IMPORT_FORWARDBUILDER_H
#define LLMC_LIB_IMPORT_FORWARDBUILDER_H

#include "llmc/Import/ModelConfig.h"

#include "llmrt/WeightStore.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace llmc {

class ForwardBuilder {
public:
  ForwardBuilder(const ModelConfig &config, const llmrt::WeightStore &store,
                 mlir::ModuleOp module, mlir::func::FuncOp forward,
                 mlir::FloatType computeType);

  const ModelConfig &config;
  mlir::OpBuilder builder;
  mlir::Location loc;
  mlir::FloatType computeType;
  /// @forward's arguments; `cache` follows the latest update.
  mlir::Value ids, positions, cache;

  /// Reads tensor `name` of `shape` as the compute type; declares its
  /// llm.param on first use. A missing or mismatched tensor records an
  /// error (see takeError) and still yields a value of the expected type.
  mlir::Value param(llvm::StringRef name, llvm::ArrayRef<int64_t> shape);

  /// `x`·Wᵀ (+ b) with W = `<prefix>.weight` of `out x in` and, when
  /// `bias`, b = `<prefix>.bias`; `weightInOut` for `in x out` storage.
  mlir::Value linear(mlir::Value x, llvm::StringRef prefix, int64_t in,
                     int64_t out, bool bias, bool weightInOut = false);

  /// Attention of layer `layer` for projected q (`B x S x heads*head_dim`),
  /// k and v (`B x S x kv_heads*head_dim`): heads split, rotary embedding
  /// when `rotary`, keys and values written to and read from the cache,
  /// causal attention, heads merged. Returns `B x S x heads*head_dim`.
  mlir::Value attention(mlir::Value q, mlir::Value k, mlir::Value v,
                        int64_t layer, bool rotary);

  /// The `B x S x <width>` activation type.
  mlir::RankedTensorType activationType(int64_t width) const;

  /// The first error met, then any tensor of the checkpoint that the
  /// architecture does not use (other than known buffers).
  llvm::Error takeError();

private:
  mlir::Value convert(mlir::Value value);
  void fail(const std::string &message);

  const llmrt::WeightStore &store;
  mlir::ModuleOp module;
  /// Where the next llm.param goes: after the previous one.
  mlir::OpBuilder paramBuilder;
  llvm::StringMap<mlir::Type> declared;
  std::optional<std::string> error;
};

/// Writes the body of @forward for the Llama family (Llama, Mistral, Qwen2)
/// and returns the logits.
mlir::Value buildLlamaForward(ForwardBuilder &forward);

/// Writes the body of @forward for GPT-2 and returns the logits; tensor
/// names start with `prefix` ("transformer." or nothing).
mlir::Value buildGPT2Forward(ForwardBuilder &forward, llvm::StringRef prefix);

} // namespace llmc

#endif // LLMC_LIB_IMPORT_FORWARDBUILDER_H
