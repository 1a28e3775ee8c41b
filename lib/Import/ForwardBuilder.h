//===- ForwardBuilder.h - Building a model's forward function ---*- C++ -*-===//
//
// What every architecture's importer needs while it writes @forward and the
// one @layer function that every decoder layer calls: reading parameters
// (checked against the checkpoint's headers, declared once, converted to the
// compute type), projections, and the attention block with its KV cache.
// Each architecture file only says how its layers are wired.
//
// @layer(h, positions, cache, layer, weights...) -> (h, cache) is built once
// and called per layer with that layer's weights, so the code (and the time
// to compile it) does not grow with the number of layers.
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
  /// The arguments of the function being built (@forward, or @layer with
  /// `layer` its index); `cache` follows the latest update.
  mlir::Value ids, positions, cache, layer;

  /// A weight of `shape`, as the compute type. In @forward, `name` is the
  /// tensor's name: its llm.param is declared on first use, and a missing or
  /// mismatched tensor records an error (see takeError) while still
  /// yielding a value of the expected type. In @layer, `name` is the part
  /// after the layer's prefix and the weight becomes an argument.
  mlir::Value weight(llvm::StringRef name, llvm::ArrayRef<int64_t> shape);

  /// `x`·Wᵀ (+ b) with W = `<prefix>.weight` of `out x in` and, when
  /// `bias`, b = `<prefix>.bias`; `weightInOut` for `in x out` storage.
  mlir::Value linear(mlir::Value x, llvm::StringRef prefix, int64_t in,
                     int64_t out, bool bias, bool weightInOut = false);

  /// Attention of the current layer for projected q (`B x S x
  /// heads*head_dim`), k and v (`B x S x kv_heads*head_dim`): heads split,
  /// rotary embedding when `rotary`, keys and values written to and read
  /// from the cache, causal attention, heads merged. Returns `B x S x
  /// heads*head_dim`.
  mlir::Value attention(mlir::Value q, mlir::Value k, mlir::Value v,
                        bool rotary);

  /// Builds @layer: `body` maps the hidden state to the layer's output.
  void buildLayerFunction(llvm::function_ref<mlir::Value(mlir::Value)> body);

  /// In @forward: the hidden state after layer `index`, whose weights are
  /// `<prefix><name>` for the names @layer asked for.
  mlir::Value callLayer(mlir::Value h, int64_t index, llvm::StringRef prefix);

  /// Builds @head(hidden) -> logits, the vocabulary projection with weight
  /// `<prefix>.weight`, apart from @forward so that an entry point can apply
  /// it to the tokens it needs only.
  mlir::func::FuncOp buildHeadFunction(llvm::StringRef prefix);

  /// The `B x S x <width>` activation type.
  mlir::RankedTensorType activationType(int64_t width) const;

  /// The first error met, then any tensor of the checkpoint that the
  /// architecture does not use (other than known buffers).
  llvm::Error takeError();

private:
  mlir::Value param(llvm::StringRef name, llvm::ArrayRef<int64_t> shape);
  void fail(const std::string &message);

  const llmrt::WeightStore &store;
  mlir::ModuleOp module;
  /// Declares llm.param ops, before the first function.
  mlir::OpBuilder paramBuilder;
  llvm::StringMap<mlir::Type> declared;
  std::optional<std::string> error;
  /// @layer while it is built, and the weights it takes, in order.
  mlir::func::FuncOp layerFunction;
  bool inLayer = false;
  llvm::SmallVector<std::pair<std::string, llvm::SmallVector<int64_t>>>
      layerWeights;
};

/// How a family's @forward ends: the final normalized hidden state, and the
/// weight (name without ".weight") of the vocabulary projection.
struct ForwardResult {
  mlir::Value hidden;
  std::string head;
};

/// Writes @forward and @layer for the Llama family (Llama, Mistral, Qwen2).
ForwardResult buildLlamaForward(ForwardBuilder &forward);

/// Writes @forward and @layer for GPT-2; tensor names start with `prefix`
/// ("transformer." or nothing).
ForwardResult buildGPT2Forward(ForwardBuilder &forward,
                               llvm::StringRef prefix);

} // namespace llmc

#endif // LLMC_LIB_IMPORT_FORWARDBUILDER_H
