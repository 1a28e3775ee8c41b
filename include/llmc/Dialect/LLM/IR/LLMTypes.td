//===- LLMTypes.td - Types of the llm dialect ----------------*- tablegen -*-===//

#ifndef LLMC_DIALECT_LLM_IR_LLMTYPES_TD
#define LLMC_DIALECT_LLM_IR_LLMTYPES_TD

include "llmc/Dialect/LLM/IR/LLMDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

def LLM_KVCacheType : TypeDef<LLM_Dialect, "KVCache"> {
  let mnemonic = "kv_cache";
  let summary = "the keys and values of every attention layer";
  let description = [{
    The KV cache of a whole model: for each of `layers` attention layers, keys
    and values of shape `batch x max_seq x kv_heads x head_dim`. It is written
    like a shape, in that order:

    ```mlir
    !llm.kv_cache<2x?x128x4x16xf32>  // 2 layers, dynamic batch, 128 positions,
                                      // 4 KV heads of 16, f32
    ```

    Only the batch may be dynamic. The cache is a value: `llm.kv_cache.update`
    returns a new cache, so the entry points take it as an argument and return
    the updated one, and bufferization makes the update in place.
  }];
  let parameters = (ins
    "int64_t":$numLayers,
    "int64_t":$batch,
    "int64_t":$maxSeqLen,
    "int64_t":$numKVHeads,
    "int64_t":$headDim,
    "::mlir::Type":$elementType
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The type of one layer's keys (or values) as a tensor:
    /// batch x max_seq x kv_heads x head_dim.
    ::mlir::RankedTensorType getLayerTensorType() const;
    bool hasDynamicBatch() const {
      return ::mlir::ShapedType::isDynamic(getBatch());
    }
  }];
}

#endif // LLMC_DIALECT_LLM_IR_LLMTYPES_TD
