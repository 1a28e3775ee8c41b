// llm-tensor-parallel on a 2-layer model with 4 query heads and 2 KV heads
// of 2 features, an MLP of 16 and a vocabulary of 30.
// RUN: llmc-opt %S/Inputs/llama-tiny.mlir --llm-tensor-parallel="tp=2 rank=1" | FileCheck %s --check-prefix=TP2
// RUN: llmc-opt %S/Inputs/llama-tiny.mlir --llm-tensor-parallel="tp=4 rank=3" | FileCheck %s --check-prefix=TP4
// RUN: not llmc-opt %S/Inputs/llama-tiny.mlir --llm-tensor-parallel="tp=3 rank=0" --mlir-print-op-on-diagnostic=false 2>&1 | FileCheck %s --check-prefix=TP3
// RUN: not llmc-opt %S/Inputs/llama-tiny.mlir --llm-tensor-parallel="tp=2 rank=2" --mlir-print-op-on-diagnostic=false 2>&1 | FileCheck %s --check-prefix=RANK
// RUN: llmc-opt %S/Inputs/llama-tiny.mlir --llm-tensor-parallel="tp=1 rank=0" | FileCheck %s --check-prefix=TP1

// Rank 1 of 2: query heads 2-3 (q_proj rows 4-7), KV head 1 (rows 2-3),
// MLP features 8-15; o_proj and down_proj take the matching input columns
// and are followed by the layer's only two all-reduces. The vocabulary
// splits in two: rows 15-29 of the embedding and of the head.
// TP2: mesh.mesh @world(shape = 1x1x2)
// TP2: llm.param @model.embed_tokens.weight.slice_15_0 : tensor<15x8xf32> from "model.embed_tokens.weight" slice [15, 0] of [30, 8]
// TP2: llm.param @model.layers.0.self_attn.q_proj.weight.slice_4_0 : tensor<4x8xf32> {{.*}} slice [4, 0] of [8, 8]
// TP2: llm.param @model.layers.0.self_attn.k_proj.weight.slice_2_0 : tensor<2x8xf32> {{.*}} slice [2, 0] of [4, 8]
// TP2: llm.param @model.layers.0.self_attn.o_proj.weight.slice_0_4 : tensor<8x4xf32> {{.*}} slice [0, 4] of [8, 8]
// TP2: llm.param @model.layers.0.mlp.gate_proj.weight.slice_8_0 : tensor<8x8xf32> {{.*}} slice [8, 0] of [16, 8]
// TP2: llm.param @model.layers.0.mlp.down_proj.weight.slice_0_8 : tensor<8x8xf32> {{.*}} slice [0, 8] of [8, 16]
// TP2: llm.param @lm_head.weight.slice_15_0 : tensor<15x8xf32>
// TP2-LABEL: func.func private @layer(
// TP2-SAME: !llm.kv_cache<2x?x16x1x2xf32>
// TP2: llm.split_heads {{.*}} -> tensor<?x?x2x2xf32>
// TP2: llm.attention {{.*}} -> tensor<?x?x2x2xf32>
// TP2: llm.merge_heads {{.*}} -> tensor<?x?x4xf32>
// TP2: %[[O:.*]] = llm.linear {{.*}} : tensor<?x?x4xf32>, tensor<8x4xf32> -> tensor<?x?x8xf32>
// TP2-NEXT: %[[R:.*]] = mesh.all_reduce %[[O]] on @world mesh_axes = [2]
// TP2-NEXT: llm.add %arg0, %[[R]]
// TP2: llm.mul
// TP2-NEXT: %[[D:.*]] = llm.linear {{.*}} : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
// TP2-NEXT: mesh.all_reduce %[[D]] on @world mesh_axes = [2]
// TP2-NOT: mesh.
// TP2-LABEL: func.func private @head(
// TP2: llm.linear {{.*}} -> tensor<?x?x15xf32>
// TP2-NEXT: mesh.all_gather {{.*}} gather_axis = 2 : tensor<?x?x15xf32> -> tensor<?x?x30xf32>
// TP2-LABEL: func.func private @forward(
// TP2: llm.embedding {{.*}} {vocab_offset = 15 : i64} : tensor<15x8xf32>
// TP2-NEXT: mesh.all_reduce
// TP2: call @layer({{.*}}) : ({{.*}}!llm.kv_cache<2x?x16x1x2xf32>{{.*}}tensor<4x8xf32>
// TP2-LABEL: func.func @decode(
// TP2-SAME: !llm.kv_cache<2x?x16x1x2xf32>

// Rank 3 of 4: one query head (3), KV head 1 shared with rank 2; the
// vocabulary (30) does not split in 4, so the embedding and the head stay
// whole and the logits need no gather.
// TP4: llm.param @model.embed_tokens.weight : tensor<30x8xf32>
// TP4: llm.param @model.layers.0.self_attn.q_proj.weight.slice_6_0 : tensor<2x8xf32>
// TP4: llm.param @model.layers.0.self_attn.k_proj.weight.slice_2_0 : tensor<2x8xf32>
// TP4: llm.param @lm_head.weight : tensor<30x8xf32>
// TP4-LABEL: func.func private @layer(
// TP4: llm.attention {{.*}} : tensor<?x?x1x2xf32>, tensor<?x16x1x2xf32>
// TP4-LABEL: func.func private @head(
// TP4-NOT: mesh.
// TP4: return
// TP4-LABEL: func.func private @forward(
// TP4-NOT: vocab_offset
// TP4: call @layer

// TP3: error: llm-tensor-parallel: tp=3 neither divides nor is a multiple of the 2 heads of the KV cache
// RANK: error: llm-tensor-parallel: expects 0 <= rank < tp, found rank 2 of 2

// One rank: unchanged.
// TP1-NOT: mesh.
// TP1: llm.param @model.embed_tokens.weight : tensor<30x8xf32>
