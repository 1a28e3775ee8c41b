//===- Passes.td - Conversions out of the llm dialect -------*- tablegen -*-===//

#ifndef LLMC_CONVERSION_PASSES_TD
#define LLMC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertLLMToLinalg : Pass<"convert-llm-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower llm ops to linalg, tensor, arith and math";
  let description = [{
    Rewrites every `llm` compute op into destination-style ops on tensors,
    mostly `linalg.generic`, so that the upstream tiling, fusion,
    vectorization and bufferization apply. Parameters stay symbolic:

    ```
    %w = llm.get_param @w : tensor<64x64xf32>
      => %b = llm.param_buffer @w : memref<64x64xf32>
         %w = bufferization.to_tensor %b restrict : memref<64x64xf32>

    %y = llm.linear %x, %w
      => %y = linalg.generic {reduction over in_features} ins(%x, %w)

    !llm.kv_cache<LxBxSxHxDxT>
      => tensor<2xLxBxSxHxDxT>        (keys at [0], values at [1])
    %c1 = llm.kv_cache.update %c0[l], %k, %v, %pos
      => scf.for over rows: tensor.insert_slice at [0|1, l, b, pos[b], 0, 0]
    %k, %v = llm.kv_cache.read %c[l]
      => tensor.extract_slice [0|1, l]

    %o = llm.attention %q, %k, %v, %pos {causal}
      => scores, causal mask, softmax and the weighted sum as linalg.generic
         ops over [batch, kv_heads, group, seq, kv_len]
    ```

    Function signatures, calls and returns carrying `!llm.kv_cache` are
    converted too. With `fused-attention` (GPU targets), attention becomes
    `llm.fused_attention` over the keys a query may see instead: one
    computation with an online softmax, no scores in memory.

    Causal attention over positions reads the keys up to max(positions) +
    seq (capped at the cache's length), computed at run time; with
    `key-bucket` N > 1 that count is rounded up to a multiple of N first.
    Which keys each query sees is still decided by its own position (the
    rest are masked or skipped), so the results are those of the exact
    count; a decode step's kernels then keep their launch parameters for N
    steps, which lets a CUDA graph of the step replay unchanged.
  }];
  let options = [
    Option<"fusedAttention", "fused-attention", "bool", /*default=*/"false",
           "Attention as llm.fused_attention (lowered by the GPU pipeline)">,
    Option<"keyBucket", "key-bucket", "int64_t", /*default=*/"1",
           "Round the keys causal attention reads up to a multiple of this "
           "(1: exactly max(positions) + seq)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def ConvertLLMToLLVM : Pass<"convert-llm-to-llvm", "::mlir::ModuleOp"> {
  let summary = "Lower the remaining llm ops (parameters) and everything "
                "else to the LLVM dialect";
  let description = [{
    The last lowering step of the CPU pipeline: upstream patterns for func,
    arith, math, memref, cf, index and vector, plus llmc's parameter table.
    Parameters become entries of one exported pointer table that the runtime
    fills with the addresses of the mmapped weights before the first call:

    ```
    llm.param @w : tensor<64x64xf32> from "w"          (index i in the table)
    %b = llm.param_buffer @w : memref<64x64xf32>
      => llvm.mlir.global @__llmc_params : !llvm.array<N x ptr>
         %p = llvm.load (getelementptr @__llmc_params[0, i])
         memref descriptor {%p, %p, 0, [64, 64], [64, 1]}
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::cf::ControlFlowDialect"];
}

#endif // LLMC_CONVERSION_PASSES_TD
