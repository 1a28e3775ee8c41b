//===- Passes.td - Passes on the llm dialect -----------------*- tablegen -*-===//
//
// Parallelization: each pass turns the module of the whole model into the
// program of one rank of the mesh `dp x pp x tp` (axes 0, 1, 2; tp varies
// fastest), with the collectives as explicit upstream `mesh` ops.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECT_LLM_TRANSFORMS_PASSES_TD
#define LLMC_DIALECT_LLM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def LLMTensorParallel : Pass<"llm-tensor-parallel", "::mlir::ModuleOp"> {
  let summary = "Megatron tensor parallelism: one rank's share of every layer";
  let description = [{
    Rewrites the model into the program of rank `rank` of `tp` ranks along
    mesh axis 2 of `@world` (declared if missing):

    - Inside `@layer`, a projection whose input every rank holds whole is
      column-parallel: the rank keeps the output features (and bias) of its
      heads (q, k, v: `num_heads / tp` heads each; KV heads replicated when
      `tp` is a multiple of `num_kv_heads`) or its `1/tp` of the MLP width
      (gate, up). GPT-2's fused q/k/v projection becomes three projections.
    - A projection whose input is split this way (o_proj, down_proj) is
      row-parallel: the rank keeps the matching input features, the bias
      stays on rank 0, and one `mesh.all_reduce` sums the partial outputs.
      That is exactly two all-reduces per layer.
    - The KV cache holds the rank's KV heads only.
    - The token embedding and `@head` are vocab-parallel when `tp` divides the
      vocabulary: each rank looks up its rows (`vocab_offset`, then one
      all-reduce) and projects onto its vocabulary slice (then one
      `mesh.all_gather` of the logits). Otherwise both stay replicated.

    Weights become `llm.param` slices of the stored tensors (`slice ... of`),
    so a rank reads only its own share. A width that cannot be split (heads
    not divisible by `tp`, KV heads neither dividing nor divided by `tp`, an
    MLP width not divisible by `tp`) is one error naming it.

    ```
    %q = llm.linear %x, %wq : [?,?,64] x [64,64]        (tp = 2, rank 1)
      => %q = llm.linear %x, %wq : [?,?,64] x [32,64]
         llm.param @...q_proj : tensor<32x64xf32> from "..." slice [32, 0] of [64, 64]
    %o = llm.linear %a, %wo
      => %p = llm.linear %a, %wo : [?,?,32] x [64,32]
         %o = mesh.all_reduce %p on @world mesh_axes = [2]
    ```
  }];
  let options = [
    Option<"tpSize", "tp", "int64_t", "1", "ranks along the tensor-parallel axis">,
    Option<"tpRank", "rank", "int64_t", "0",
           "this program's index along the tensor-parallel axis">,
  ];
  let dependentDialects = ["::mlir::mesh::MeshDialect",
                           "::mlir::tensor::TensorDialect"];
}

def LLMPipelineParallel : Pass<"llm-pipeline-parallel", "::mlir::ModuleOp"> {
  let summary = "Pipeline parallelism: one stage's layers";
  let description = [{
    Rewrites the model into the program of stage `stage` of `pp` along mesh
    axis 1 of `@world`. Layers go to stages in order, balanced by cost (the
    parameter elements of each layer; the embedding counts for the first
    stage, the final norm and `@head` for the last) so that the most loaded
    stage is as light as possible. Each entry point of a stage keeps its
    layers (cache indices renumbered from 0, the cache holding only them);
    a stage after the first starts by `mesh.recv` of the hidden states from
    the stage before, a stage before the last ends by `mesh.send` to the
    next and returns only the cache. The assignment is recorded on the
    module as `llm.pipeline = {stage, stages, first_layer, num_layers}`.

    ```
    func @decode(%ids, %pos, %cache) -> (logits, cache)   (pp = 2, stage 0)
      => func @decode(%ids, %pos, %cache) -> cache
           ... layers 0 .. k-1 ...
           mesh.send %h on @world mesh_axes = [1] destination = [1]
    ```
  }];
  let options = [
    Option<"numStages", "pp", "int64_t", "1", "number of pipeline stages">,
    Option<"stageIndex", "stage", "int64_t", "0", "this program's stage">,
  ];
  let dependentDialects = ["::mlir::mesh::MeshDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // LLMC_DIALECT_LLM_TRANSFORMS_PASSES_TD
