//===- LLMOps.td - Operations of the llm dialect -------------*- tablegen -*-===//

#ifndef LLMC_DIALECT_LLM_IR_LLMOPS_TD
#define LLMC_DIALECT_LLM_IR_LLMOPS_TD

include "llmc/Dialect/LLM/IR/LLMDialect.td"
include "llmc/Dialect/LLM/IR/LLMAttrs.td"
include "llmc/Dialect/LLM/IR/LLMTypes.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def LLM_FloatTensor : RankedTensorOf<[AnyFloat]>;
def LLM_IndexTensor : RankedTensorOf<[AnySignlessInteger]>;
def LLM_PositionsTensor : 1DTensorOf<[AnySignlessInteger]>;

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

def LLM_ParamOp : LLM_Op<"param", [Symbol, HasParent<"::mlir::ModuleOp">]> {
  let summary = "declares a model parameter kept in the weight store";
  let description = [{
    Names one parameter of the model (a weight or bias) with its static tensor
    type and the tensor it refers to in the weight store (`source`, the tensor
    name in the checkpoint). The data itself never enters the IR: compiling a
    70B model reads only the checkpoint's headers.

    A parameter of one rank of a sharded program is a box of the stored
    tensor: `slice` gives the box's first index in each dimension and `of`
    the stored tensor's shape; the type's shape is the box's size.

    `stored` gives the checkpoint's element type where it is not the
    type's (a bf16 checkpoint compiled for f16): the runtime converts the
    tensor once, as it loads the weights, so the program never converts a
    weight and holds one copy of each.

    ```mlir
    llm.param @layers.0.q_proj : tensor<64x64xf32>
        from "model.layers.0.self_attn.q_proj.weight"
    llm.param @layers.0.o_proj : tensor<64x32xf32>
        from "model.layers.0.self_attn.o_proj.weight" slice [0, 32] of [64, 64]
    llm.param @layers.0.k_proj : tensor<16x64xf16>
        from "model.layers.0.self_attn.k_proj.weight" stored bf16
    ```
  }];
  let arguments = (ins
    SymbolNameAttr:$sym_name,
    TypeAttrOf<AnyStaticShapeTensor>:$type,
    StrAttr:$source,
    OptionalAttr<DenseI64ArrayAttr>:$offsets,
    OptionalAttr<DenseI64ArrayAttr>:$source_shape,
    OptionalAttr<TypeAttrOf<AnyFloat>>:$stored_element_type,
    OptionalAttr<StrAttr>:$sym_visibility
  );
  let assemblyFormat = [{
    ($sym_visibility^)? $sym_name `:` $type `from` $source
    (`slice` $offsets^ `of` $source_shape)?
    (`stored` $stored_element_type^)? attr-dict
  }];
  let extraClassDeclaration = [{
    ::mlir::RankedTensorType getTensorType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getType());
    }
    /// The element type of the stored tensor.
    ::mlir::Type getStoredType() {
      if (auto stored = getStoredElementType())
        return *stored;
      return getTensorType().getElementType();
    }
    /// The shape of the stored tensor (the type's shape when not a slice).
    ::llvm::SmallVector<int64_t> getStoredShape() {
      if (auto shape = getSourceShape())
        return ::llvm::SmallVector<int64_t>(*shape);
      return ::llvm::SmallVector<int64_t>(getTensorType().getShape());
    }
  }];
  let hasVerifier = 1;
}

def LLM_GetParamOp : LLM_Op<"get_param",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "reads a parameter declared by `llm.param`";
  let description = [{
    Yields the value of the parameter named by `name` as a tensor. The result
    type must equal the declared type.

    ```mlir
    %w = llm.get_param @layers.0.q_proj : tensor<64x64xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

def LLM_ParamBufferOp : LLM_Op<"param_buffer",
    [Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "the buffer of a parameter, after bufferization";
  let description = [{
    The memory of the parameter named by `name`, read-only, with the shape and
    element type of its `llm.param`. `convert-llm-to-linalg` produces it for
    `llm.get_param`; `convert-llm-to-llvm` reads the address from the
    parameter table the runtime fills.

    ```mlir
    %b = llm.param_buffer @layers.0.q_proj : memref<64x64xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$name);
  let results = (outs StaticShapeMemRefOf<[AnyType]>:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Embedding and projections
//===----------------------------------------------------------------------===//

def LLM_EmbeddingOp : LLM_Op<"embedding", [Pure]> {
  let summary = "looks up rows of an embedding table";
  let description = [{
    `result[i..., :] = table[ids[i...], :]` for a `vocab x hidden` table; the
    result has the shape of `ids` followed by `hidden`. An id outside the
    vocabulary is undefined behaviour at run time (the runtime checks prompts).

    With `vocab_offset`, the table holds rows `vocab_offset ..
    vocab_offset + rows - 1` of a vocabulary split across ranks: ids in that
    range read row `id - vocab_offset`, all others give zeros (summing the
    ranks' results gives the whole lookup).

    ```mlir
    %h = llm.embedding %table, %ids
        : tensor<256x64xf32>, tensor<?x?xi32> -> tensor<?x?x64xf32>
    %p = llm.embedding %half, %ids {vocab_offset = 128 : i64}
        : tensor<128x64xf32>, tensor<?x?xi32> -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins LLM_FloatTensor:$table, LLM_IndexTensor:$ids,
                       OptionalAttr<I64Attr>:$vocab_offset);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = [{
    $table `,` $ids attr-dict `:` type($table) `,` type($ids) `->` type($result)
  }];
  let builders = [OpBuilder<(ins "::mlir::Value":$table, "::mlir::Value":$ids)>];
  let hasVerifier = 1;
}

def LLM_LinearOp : LLM_Op<"linear", [Pure]> {
  let summary = "affine projection x·Wᵀ + b";
  let description = [{
    Multiplies the last dimension of `input` (`... x in`) by the transpose of
    `weight` (`out x in`, the layout of `torch.nn.Linear`) and adds `bias`
    (`out`) when given. The result is `... x out`. With `weight_in_out` the
    weight is stored `in x out` (GPT-2's `Conv1D`) and used untransposed.

    ```mlir
    %y = llm.linear %x, %w, %b
        : tensor<?x?x64xf32>, tensor<128x64xf32>, tensor<128xf32>
        -> tensor<?x?x128xf32>
    %z = llm.linear %x, %c {weight_in_out}
        : tensor<?x?x64xf32>, tensor<64x192xf32> -> tensor<?x?x192xf32>
    ```
  }];
  let arguments = (ins LLM_FloatTensor:$input, LLM_FloatTensor:$weight,
                       Optional<LLM_FloatTensor>:$bias,
                       UnitAttr:$weight_in_out);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,`
    type($weight) (`,` type($bias)^)? `->` type($result)
  }];
  let builders = [OpBuilder<(ins "::mlir::Value":$input, "::mlir::Value":$weight,
                                 CArg<"::mlir::Value", "{}">:$bias,
                                 CArg<"bool", "false">:$weightInOut)>];
  let extraClassDeclaration = [{
    /// The weight's dimension that matches the input (in_features).
    int64_t getInFeaturesDim() { return getWeightInOut() ? 0 : 1; }
    /// The weight's dimension that gives the output (out_features).
    int64_t getOutFeaturesDim() { return getWeightInOut() ? 1 : 0; }
  }];
  let hasVerifier = 1;
}

def LLM_MatmulOp : LLM_Op<"matmul", [Pure]> {
  let summary = "batched matrix product";
  let description = [{
    `result[..., m, n] = sum_k lhs[..., m, k] * rhs[..., k, n]`. Both operands
    have the same rank (at least 2) and the same leading (batch) dimensions.

    ```mlir
    %c = llm.matmul %a, %b
        : tensor<?x8x16xf32>, tensor<?x16x32xf32> -> tensor<?x8x32xf32>
    ```
  }];
  let arguments = (ins LLM_FloatTensor:$lhs, LLM_FloatTensor:$rhs);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
  let builders = [OpBuilder<(ins "::mlir::Value":$lhs, "::mlir::Value":$rhs)>];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalization
//===----------------------------------------------------------------------===//

def LLM_RMSNormOp : LLM_Op<"rms_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "root-mean-square normalization over the last dimension";
  let description = [{
    `result = input / sqrt(mean(input², last dim) + epsilon) * weight`, with a
    `weight` as long as the last dimension (Llama's `LlamaRMSNorm`).

    ```mlir
    %y = llm.rms_norm %x, %w {epsilon = 1.0e-05}
        : tensor<?x?x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins LLM_FloatTensor:$input, LLM_FloatTensor:$weight,
                       F64Attr:$epsilon);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight attr-dict `:` type($input) `,` type($weight)
  }];
  let hasVerifier = 1;
}

def LLM_LayerNormOp : LLM_Op<"layer_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "layer normalization over the last dimension";
  let description = [{
    `result = (input - mean) / sqrt(var + epsilon) * weight + bias` over the
    last dimension, with the biased variance (`torch.nn.LayerNorm`). `bias` is
    optional.

    ```mlir
    %y = llm.layer_norm %x, %w, %b {epsilon = 1.0e-05}
        : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins LLM_FloatTensor:$input, LLM_FloatTensor:$weight,
                       Optional<LLM_FloatTensor>:$bias, F64Attr:$epsilon);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,`
    type($weight) (`,` type($bias)^)?
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Heads, rotary embeddings and attention
//===----------------------------------------------------------------------===//

def LLM_SplitHeadsOp : LLM_Op<"split_heads", [Pure]> {
  let summary = "splits the last dimension into heads x head_dim";
  let description = [{
    Reshapes `... x (heads * head_dim)` to `... x heads x head_dim`; the
    result type says how many heads.

    ```mlir
    %q = llm.split_heads %x : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
    ```
  }];
  let arguments = (ins LLM_FloatTensor:$input);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let builders = [OpBuilder<(ins "::mlir::Value":$input, "int64_t":$numHeads)>];
  let hasVerifier = 1;
}

def LLM_MergeHeadsOp : LLM_Op<"merge_heads", [Pure]> {
  let summary = "merges heads x head_dim into one dimension";
  let description = [{
    Reshapes `... x heads x head_dim` to `... x (heads * head_dim)`, the
    inverse of `llm.split_heads`.

    ```mlir
    %x = llm.merge_heads %o : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins LLM_FloatTensor:$input);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let builders = [OpBuilder<(ins "::mlir::Value":$input)>];
  let hasVerifier = 1;
}

def LLM_SplitOp : LLM_Op<"split", [Pure]> {
  let summary = "splits the last dimension into consecutive parts";
  let description = [{
    Cuts the last dimension of `input` into consecutive parts whose sizes are
    the last dimensions of the results, in order (a fused q/k/v projection
    into q, k and v).

    ```mlir
    %q, %k, %v = llm.split %qkv : tensor<?x?x192xf32>
        -> tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
    ```
  }];
  let arguments = (ins LLM_FloatTensor:$input);
  let results = (outs Variadic<LLM_FloatTensor>:$results);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($results)";
  let hasVerifier = 1;
}

def LLM_PositionIdsOp : LLM_Op<"position_ids", [Pure]> {
  let summary = "the position of every token of a chunk";
  let description = [{
    `result[b, s] = positions[b] + s` for `ids` of shape `batch x seq`: the
    positions to look up in a learned position embedding (GPT-2's `wpe`).
    `ids` gives the shape only.

    ```mlir
    %p = llm.position_ids %positions, %ids
        : tensor<?xi64>, tensor<?x?xi32> -> tensor<?x?xi64>
    ```
  }];
  let arguments = (ins LLM_PositionsTensor:$positions, LLM_IndexTensor:$ids);
  let results = (outs LLM_IndexTensor:$result);
  let assemblyFormat = [{
    $positions `,` $ids attr-dict `:` type($positions) `,` type($ids) `->`
    type($result)
  }];
  let builders = [OpBuilder<(ins "::mlir::Value":$positions, "::mlir::Value":$ids)>];
  let hasVerifier = 1;
}

def LLM_SelectTokensOp : LLM_Op<"select_tokens", [Pure]> {
  let summary = "one token's vector per row";
  let description = [{
    `result[b, 0, :] = input[b, index[b], :]`: the hidden state of one token
    of each row, e.g. the last prompt token of right-padded prompts, so the
    vocabulary projection runs once per row instead of once per token.

    ```mlir
    %last = llm.select_tokens %h, %index
        : tensor<?x?x64xf32>, tensor<?xi64> -> tensor<?x1x64xf32>
    ```
  }];
  let arguments = (ins LLM_FloatTensor:$input, LLM_PositionsTensor:$index);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $index attr-dict `:` type($input) `,` type($index) `->`
    type($result)
  }];
  let builders = [OpBuilder<(ins "::mlir::Value":$input, "::mlir::Value":$index)>];
  let hasVerifier = 1;
}

def LLM_RopeOp : LLM_Op<"rope", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "rotary position embedding";
  let description = [{
    Rotates the first `rotary_dim` features (default: all) of every head of
    `input` (`batch x seq x heads x head_dim`) by angles
    `position * theta^(-2i / rotary_dim)`, pairing feature `i` with feature
    `i + rotary_dim / 2` (the "rotate half" layout of Hugging Face Llama).
    Token `s` of row `b` has position `positions[b] + s`. The optional
    `scaling` rescales the frequencies as the config's `rope_scaling` says.

    ```mlir
    %q2 = llm.rope %q, %pos {theta = 10000.0}
        : tensor<?x?x4x16xf32>, tensor<?xi64>
    ```
  }];
  let arguments = (ins LLM_FloatTensor:$input, LLM_PositionsTensor:$positions,
                       F64Attr:$theta, OptionalAttr<I64Attr>:$rotary_dim,
                       OptionalAttr<LLM_RopeScalingAttr>:$scaling);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $positions attr-dict `:` type($input) `,` type($positions)
  }];
  let extraClassDeclaration = [{
    /// The number of rotated features: `rotary_dim`, or all of head_dim.
    int64_t getEffectiveRotaryDim();
  }];
  let hasVerifier = 1;
}

def LLM_AttentionOp : LLM_Op<"attention", [Pure]> {
  let summary = "scaled dot-product attention with grouped KV heads";
  let description = [{
    `softmax(q·kᵀ · scale + mask) · v` per head, for `query`
    (`batch x seq x heads x head_dim`), `keys` and `values`
    (`batch x kv_len x kv_heads x head_dim`). Query head `h` reads KV head
    `h / (heads / kv_heads)`: multi-head (kv_heads = heads), grouped-query and
    multi-query (kv_heads = 1) attention are one op. `scale` defaults to
    `1 / sqrt(head_dim)`.

    With `causal`, query `s` of row `b` sees key `j` only when
    `j <= positions[b] + s` (positions default to 0), so attention over a
    whole KV cache masks the slots not yet written. Without `causal`, every
    key is seen. With `sliding_window = W` (causal only), query `s` also
    stops seeing keys `W` or more positions behind it (Mistral). The result is
    `batch x seq x heads x head_dim`.

    ```mlir
    %o = llm.attention %q, %k, %v, %pos {causal}
        : tensor<?x?x4x16xf32>, tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>,
          tensor<?xi64> -> tensor<?x?x4x16xf32>
    ```
  }];
  let arguments = (ins LLM_FloatTensor:$query, LLM_FloatTensor:$keys,
                       LLM_FloatTensor:$values,
                       Optional<LLM_PositionsTensor>:$positions,
                       UnitAttr:$causal, OptionalAttr<F64Attr>:$scale,
                       OptionalAttr<I64Attr>:$sliding_window);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $keys `,` $values (`,` $positions^)? attr-dict `:`
    type($query) `,` type($keys) `,` type($values) (`,` type($positions)^)?
    `->` type($result)
  }];
  let builders = [OpBuilder<(ins "::mlir::Value":$query, "::mlir::Value":$keys,
                                 "::mlir::Value":$values,
                                 "::mlir::Value":$positions, "bool":$causal)>];
  let hasVerifier = 1;
}

def LLM_TensorOrMemRef : AnyTypeOf<[AnyRankedTensor, AnyMemRef]>;

def LLM_FusedAttentionOp : LLM_Op<"fused_attention", [
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "attention as one destination-style computation";
  let description = [{
    What `llm.attention` becomes for targets that compute it in one pass over
    the keys (online softmax: no `seq x kv_len` scores in memory; the GPU
    pipeline's `llmc-gpu-fused-attention`): the same result for `query`
    (`batch x seq x heads x head_dim`), `keys` (`batch x kv_len x kv_heads x
    head_dim`, only the keys some query may see) and `values` (`batch x
    kv_len x kv_heads x value_dim`), written into `init`
    (`batch x seq x heads x value_dim`). Query `s` of row `b` sees
    key `j` when `causal` is absent, else when `j <= positions[b] + s` (and,
    with `sliding_window = W`, `j > positions[b] + s - W`). `scale`
    multiplies the scores; sums and the softmax run in f32.

    On tensors it returns the result; on buffers (after bufferization) it
    writes `init` and returns nothing.

    ```mlir
    %o = llm.fused_attention %q, %k, %v, %pos into %init {causal, scale = 0.25}
        : tensor<?x?x4x16xf16>, tensor<?x?x2x16xf16>, tensor<?x?x2x16xf16>,
          tensor<?xi64> into tensor<?x?x4x16xf16> -> tensor<?x?x4x16xf16>
    ```
  }];
  let arguments = (ins LLM_TensorOrMemRef:$query, LLM_TensorOrMemRef:$keys,
                       LLM_TensorOrMemRef:$values,
                       Optional<LLM_TensorOrMemRef>:$positions,
                       LLM_TensorOrMemRef:$init, UnitAttr:$causal,
                       F64Attr:$scale, OptionalAttr<I64Attr>:$sliding_window);
  let results = (outs Variadic<AnyRankedTensor>:$result);
  let assemblyFormat = [{
    $query `,` $keys `,` $values (`,` $positions^)? `into` $init attr-dict `:`
    type($query) `,` type($keys) `,` type($values) (`,` type($positions)^)?
    `into` type($init) (`->` type($result)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getInitMutable();
    }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

def LLM_KVCacheUpdateOp : LLM_Op<"kv_cache.update",
    [Pure, AllTypesMatch<["cache", "result"]>, AllTypesMatch<["keys", "values"]>]> {
  let summary = "writes new keys and values of one layer into the cache";
  let description = [{
    Returns `cache` with the keys and values of layer `layer` (an index, so
    one function can serve every layer) for the current chunk (`batch x seq x kv_heads x head_dim`) written at positions
    `positions[b] .. positions[b] + seq - 1` of each row `b`. Writing past
    `max_seq` is undefined behaviour (the runtime bounds prompts and decode
    steps by the compiled `max_seq`).

    ```mlir
    %c1 = llm.kv_cache.update %c0[%layer], %k, %v, %pos
        : !llm.kv_cache<2x?x128x2x16xf32>, tensor<?x?x2x16xf32>, tensor<?xi64>
    ```
  }];
  let arguments = (ins LLM_KVCacheType:$cache, Index:$layer,
                       LLM_FloatTensor:$keys, LLM_FloatTensor:$values,
                       LLM_PositionsTensor:$positions);
  let results = (outs LLM_KVCacheType:$result);
  let assemblyFormat = [{
    $cache `[` $layer `]` `,` $keys `,` $values `,` $positions attr-dict `:`
    qualified(type($cache)) `,` type($keys) `,` type($positions)
  }];
  let hasVerifier = 1;
}

def LLM_KVCacheReadOp : LLM_Op<"kv_cache.read", [Pure]> {
  let summary = "reads the keys and values of one layer from the cache";
  let description = [{
    Yields the whole `batch x max_seq x kv_heads x head_dim` window of keys
    and values of layer `layer`. Slots not yet written are masked by the
    positions given to a causal `llm.attention`; bufferization turns the read
    into a view, so attention reads the cache in place.

    ```mlir
    %k, %v = llm.kv_cache.read %c1[%layer]
        : !llm.kv_cache<2x?x128x2x16xf32>
        -> tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>
    ```
  }];
  let arguments = (ins LLM_KVCacheType:$cache, Index:$layer);
  let results = (outs LLM_FloatTensor:$keys, LLM_FloatTensor:$values);
  let assemblyFormat = [{
    $cache `[` $layer `]` attr-dict `:` qualified(type($cache)) `->` type($keys) `,`
    type($values)
  }];
  let builders = [OpBuilder<(ins "::mlir::Value":$cache, "::mlir::Value":$layer)>];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise and softmax
//===----------------------------------------------------------------------===//

class LLM_UnaryElementwiseOp<string mnemonic, string formula>
    : LLM_Op<mnemonic, [Pure, Elementwise, SameOperandsAndResultType]> {
  let arguments = (ins LLM_FloatTensor:$input);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let description = [{
    Computes `}] # formula # [{` elementwise.

    ```mlir
    %y = llm.}] # mnemonic # [{ %x : tensor<?x?x256xf32>
    ```
  }];
}

def LLM_SiluOp : LLM_UnaryElementwiseOp<"silu", "x * sigmoid(x)"> {
  let summary = "sigmoid linear unit (swish)";
}

def LLM_GeluOp : LLM_Op<"gelu", [Pure, Elementwise,
                                  SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    Computes `x * Φ(x)` elementwise, with the exact Gaussian CDF (`erf`,
    Hugging Face `gelu`) or its tanh approximation (`tanh`, Hugging Face
    `gelu_new` / `gelu_pytorch_tanh`, used by GPT-2).

    ```mlir
    %y = llm.gelu tanh %x : tensor<?x?x256xf32>
    ```
  }];
  let arguments = (ins LLM_GeluApproximation:$approximation,
                       LLM_FloatTensor:$input);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = "$approximation $input attr-dict `:` type($input)";
}

class LLM_BinaryElementwiseOp<string mnemonic, string formula>
    : LLM_Op<mnemonic, [Pure, Elementwise, Commutative,
                        SameOperandsAndResultType]> {
  let arguments = (ins LLM_FloatTensor:$lhs, LLM_FloatTensor:$rhs);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
  let description = [{
    Computes `}] # formula # [{` elementwise on two tensors of the same type.

    ```mlir
    %y = llm.}] # mnemonic # [{ %a, %b : tensor<?x?x64xf32>
    ```
  }];
}

def LLM_AddOp : LLM_BinaryElementwiseOp<"add", "lhs + rhs"> {
  let summary = "elementwise sum";
}

def LLM_MulOp : LLM_BinaryElementwiseOp<"mul", "lhs * rhs"> {
  let summary = "elementwise product";
}

def LLM_SoftmaxOp : LLM_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "softmax along one dimension";
  let description = [{
    `exp(x - max) / sum(exp(x - max))` along `axis` (negative values count
    from the last dimension; default -1).

    ```mlir
    %p = llm.softmax %logits {axis = -1} : tensor<?x256xf32>
    ```
  }];
  let arguments = (ins LLM_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs LLM_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Collectives on buffers
//===----------------------------------------------------------------------===//

// The ranks of a program form the mesh `dp x pp x tp` (axes 0, 1, 2), as the
// `mesh.mesh` of a sharded module declares it. Sharding passes emit the
// upstream `mesh` collectives on tensors; bufferization turns them into these
// ops, which `convert-llm-to-llvm` lowers to calls into the runtime's
// collectives table (`__llmc_runtime`).

// Moving data between ranks is a side effect of its own: a send, which only
// reads its buffer, must not be dropped, and collectives keep their order.
def LLM_CommunicationResource
    : Resource<"::mlir::llm::CommunicationResource">;

class LLM_BufferCollectiveOp<string mnemonic, list<Trait> traits = []>
    : LLM_Op<mnemonic, !listconcat(traits, [
          MemoryEffects<[MemWrite<LLM_CommunicationResource>]>])>;

def LLM_AllReduceBufferOp : LLM_BufferCollectiveOp<"all_reduce_buffer"> {
  let summary = "sums a contiguous buffer over a mesh group, in place";
  let description = [{
    Every rank of the group of `mesh_axes` (the ranks that differ from this
    one only along those axes) ends with the elementwise sum of all their
    buffers.

    ```mlir
    llm.all_reduce_buffer %b {mesh_axes = array<i64: 2>} : memref<?x?x64xf32>
    ```
  }];
  let arguments = (ins Arg<AnyMemRef, "", [MemRead, MemWrite]>:$buffer,
                       DenseI64ArrayAttr:$mesh_axes);
  let assemblyFormat = "$buffer attr-dict `:` type($buffer)";
  let hasVerifier = 1;
}

def LLM_AllGatherBufferOp : LLM_BufferCollectiveOp<"all_gather_buffer"> {
  let summary = "concatenates the group's buffers along one dimension";
  let description = [{
    `output` is the concatenation of the `input` buffers of the ranks of the
    group of `mesh_axes`, in group order, along `gather_axis`.

    ```mlir
    llm.all_gather_buffer %in, %out {gather_axis = 2 : i64,
        mesh_axes = array<i64: 2>} : memref<?x?x128xf32>, memref<?x?x256xf32>
    ```
  }];
  let arguments = (ins Arg<AnyMemRef, "", [MemRead]>:$input,
                       Arg<AnyMemRef, "", [MemWrite]>:$output,
                       DenseI64ArrayAttr:$mesh_axes, I64Attr:$gather_axis);
  let assemblyFormat = [{
    $input `,` $output attr-dict `:` type($input) `,` type($output)
  }];
  let hasVerifier = 1;
}

def LLM_SendBufferOp : LLM_BufferCollectiveOp<"send_buffer"> {
  let summary = "sends a contiguous buffer to one rank of a mesh group";
  let description = [{
    Sends `buffer` to the rank at index `peer` of the group of `mesh_axes`;
    that rank receives it with `llm.recv_buffer`.

    ```mlir
    llm.send_buffer %h {mesh_axes = array<i64: 1>, peer = 1 : i64}
        : memref<?x?x64xf32>
    ```
  }];
  let arguments = (ins Arg<AnyMemRef, "", [MemRead]>:$buffer,
                       DenseI64ArrayAttr:$mesh_axes, I64Attr:$peer);
  let assemblyFormat = "$buffer attr-dict `:` type($buffer)";
  let hasVerifier = 1;
}

def LLM_RecvBufferOp : LLM_BufferCollectiveOp<"recv_buffer"> {
  let summary = "receives a contiguous buffer from one rank of a mesh group";
  let description = [{
    Fills `buffer` with what the rank at index `peer` of the group of
    `mesh_axes` sent with `llm.send_buffer`.

    ```mlir
    llm.recv_buffer %h {mesh_axes = array<i64: 1>, peer = 0 : i64}
        : memref<?x?x64xf32>
    ```
  }];
  let arguments = (ins Arg<AnyMemRef, "", [MemWrite]>:$buffer,
                       DenseI64ArrayAttr:$mesh_axes, I64Attr:$peer);
  let assemblyFormat = "$buffer attr-dict `:` type($buffer)";
  let hasVerifier = 1;
}

#endif // LLMC_DIALECT_LLM_IR_LLMOPS_TD
