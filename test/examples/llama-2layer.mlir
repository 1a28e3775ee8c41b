// The hand-written 2-layer Llama-style example verifies, round-trips, and has
// the structure of a Llama model: 2 + 9 per layer parameters, GQA attention
// over the KV cache, prefill and decode entry points.
// RUN: llmc-opt %llmc_src_root/examples/llama-2layer/model.mlir --verify-roundtrip | FileCheck %s

// CHECK-COUNT-21: llm.param
// CHECK-NOT: llm.param
// CHECK-LABEL: func.func private @forward
// CHECK-SAME: (%{{.*}}: tensor<?x?xi32>, %{{.*}}: tensor<?xi64>, %{{.*}}: !llm.kv_cache<2x?x128x2x16xf32>)
// CHECK: llm.embedding
// CHECK-COUNT-2: llm.attention {{.*}} {causal} : tensor<?x?x4x16xf32>, tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>, tensor<?xi64> -> tensor<?x?x4x16xf32>
// CHECK: llm.rms_norm
// CHECK: llm.linear {{.*}} -> tensor<?x?x256xf32>
// CHECK-LABEL: func.func @prefill
// CHECK: call @forward
// CHECK-LABEL: func.func @decode
// CHECK-SAME: tensor<?x1xi32>
// CHECK-SAME: -> (tensor<?x1x256xf32>, !llm.kv_cache<2x?x128x2x16xf32>)
