// llm-pipeline-parallel on a 2-layer model: each stage keeps one layer
// (cache index from 0), the hidden states cross the boundary once.
// RUN: llmc-opt %S/Inputs/llama-tiny.mlir --llm-pipeline-parallel="pp=2 stage=0" | FileCheck %s --check-prefix=FIRST
// RUN: llmc-opt %S/Inputs/llama-tiny.mlir --llm-pipeline-parallel="pp=2 stage=1" | FileCheck %s --check-prefix=LAST
// RUN: not llmc-opt %S/Inputs/llama-tiny.mlir --llm-pipeline-parallel="pp=3 stage=0" --mlir-print-op-on-diagnostic=false 2>&1 | FileCheck %s --check-prefix=PP3

// The first stage: layer 0, no final norm and no head; decode returns only
// the KV cache of its one layer.
// FIRST: module attributes {llm.model_type = "llama", llm.pipeline = {first_layer = 0 : i64, num_layers = 1 : i64, stage = 0 : i64, stages = 2 : i64}}
// FIRST: mesh.mesh @world(shape = 1x2x1)
// FIRST: llm.param @model.embed_tokens.weight
// FIRST-NOT: model.layers.1.
// FIRST-NOT: model.norm.weight
// FIRST-NOT: lm_head
// FIRST-NOT: @head
// FIRST-LABEL: func.func private @forward(
// FIRST: llm.embedding
// FIRST: %[[C0:.*]] = arith.constant 0 : index
// FIRST: %[[H:.*]]:2 = call @layer(%{{.*}}, %{{.*}}, %{{.*}}, %[[C0]],
// FIRST-NEXT: %[[SENT:.*]] = mesh.send %[[H]]#0 on @world mesh_axes = [1] destination = [1]
// FIRST-NEXT: return %[[SENT]], %[[H]]#1
// FIRST-LABEL: func.func @decode(
// FIRST-SAME: -> !llm.kv_cache<1x?x16x2x2xf32>

// The last stage: layer 1 as cache layer 0, fed by the first stage.
// LAST: llm.pipeline = {first_layer = 1 : i64, num_layers = 1 : i64, stage = 1 : i64, stages = 2 : i64}
// LAST-NOT: model.layers.0.
// LAST-NOT: embed_tokens
// LAST-LABEL: func.func private @forward(
// LAST-NOT: llm.embedding
// LAST: %[[EMPTY:.*]] = tensor.empty({{.*}}) : tensor<?x?x8xf32>
// LAST-NEXT: %[[RECV:.*]] = mesh.recv %[[EMPTY]] on @world mesh_axes = [1] source = [0]
// LAST: call @layer(%[[RECV]],
// LAST: llm.rms_norm
// LAST-LABEL: func.func @decode(
// LAST-SAME: -> (tensor<?x1x30xf32>, !llm.kv_cache<1x?x16x2x2xf32>)
// LAST: call @head

// PP3: error: llm-pipeline-parallel: pp=3 needs at least one layer per stage; the model has 2 layers
