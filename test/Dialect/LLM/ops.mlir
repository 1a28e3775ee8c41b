// Every llm op parses, verifies and prints back the same, in the custom and
// the generic form.
// RUN: llmc-opt %s | llmc-opt | FileCheck %s
// RUN: llmc-opt %s --mlir-print-op-generic | llmc-opt | FileCheck %s

!cache = !llm.kv_cache<2x?x128x2x16xf32>

// CHECK: llm.param @w : tensor<64x32xf32> from "model.layers.0.mlp.w.weight"
llm.param @w : tensor<64x32xf32> from "model.layers.0.mlp.w.weight"
// CHECK: llm.param @model.embed_tokens.weight : tensor<256x32xbf16> from "model.embed_tokens.weight"
llm.param @model.embed_tokens.weight : tensor<256x32xbf16> from "model.embed_tokens.weight"
// CHECK: llm.param "private" @b : tensor<64xf32> from "b"
llm.param "private" @b : tensor<64xf32> from "b"

// CHECK-LABEL: func @get_param
func.func @get_param() -> tensor<64x32xf32> {
  // CHECK: llm.get_param @w : tensor<64x32xf32>
  %w = llm.get_param @w : tensor<64x32xf32>
  // CHECK: llm.get_param @model.embed_tokens.weight : tensor<256x32xbf16>
  %e = llm.get_param @model.embed_tokens.weight : tensor<256x32xbf16>
  return %w : tensor<64x32xf32>
}

// CHECK-LABEL: func @embedding
func.func @embedding(%table: tensor<256x32xf32>, %ids: tensor<?x?xi32>,
                     %flat: tensor<7xi64>) -> tensor<?x?x32xf32> {
  // CHECK: llm.embedding %{{.*}}, %{{.*}} : tensor<256x32xf32>, tensor<?x?xi32> -> tensor<?x?x32xf32>
  %0 = llm.embedding %table, %ids : tensor<256x32xf32>, tensor<?x?xi32> -> tensor<?x?x32xf32>
  // CHECK: llm.embedding %{{.*}}, %{{.*}} : tensor<256x32xf32>, tensor<7xi64> -> tensor<7x32xf32>
  %1 = llm.embedding %table, %flat : tensor<256x32xf32>, tensor<7xi64> -> tensor<7x32xf32>
  return %0 : tensor<?x?x32xf32>
}

// CHECK-LABEL: func @linear
func.func @linear(%x: tensor<?x?x32xf32>, %w: tensor<64x32xf32>,
                  %b: tensor<64xf32>, %h: tensor<2x3x32xf16>,
                  %wh: tensor<64x32xf16>) -> tensor<?x?x64xf32> {
  // CHECK: llm.linear %{{.*}}, %{{.*}} : tensor<?x?x32xf32>, tensor<64x32xf32> -> tensor<?x?x64xf32>
  %0 = llm.linear %x, %w : tensor<?x?x32xf32>, tensor<64x32xf32> -> tensor<?x?x64xf32>
  // CHECK: llm.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x32xf32>, tensor<64x32xf32>, tensor<64xf32> -> tensor<?x?x64xf32>
  %1 = llm.linear %x, %w, %b : tensor<?x?x32xf32>, tensor<64x32xf32>, tensor<64xf32> -> tensor<?x?x64xf32>
  // CHECK: llm.linear %{{.*}}, %{{.*}} : tensor<2x3x32xf16>, tensor<64x32xf16> -> tensor<2x3x64xf16>
  %2 = llm.linear %h, %wh : tensor<2x3x32xf16>, tensor<64x32xf16> -> tensor<2x3x64xf16>
  return %1 : tensor<?x?x64xf32>
}

// CHECK-LABEL: func @matmul
func.func @matmul(%a: tensor<?x8x16xf32>, %b: tensor<?x16x32xf32>,
                  %c: tensor<4x5xbf16>, %d: tensor<5x6xbf16>) -> tensor<?x8x32xf32> {
  // CHECK: llm.matmul %{{.*}}, %{{.*}} : tensor<?x8x16xf32>, tensor<?x16x32xf32> -> tensor<?x8x32xf32>
  %0 = llm.matmul %a, %b : tensor<?x8x16xf32>, tensor<?x16x32xf32> -> tensor<?x8x32xf32>
  // CHECK: llm.matmul %{{.*}}, %{{.*}} : tensor<4x5xbf16>, tensor<5x6xbf16> -> tensor<4x6xbf16>
  %1 = llm.matmul %c, %d : tensor<4x5xbf16>, tensor<5x6xbf16> -> tensor<4x6xbf16>
  return %0 : tensor<?x8x32xf32>
}

// CHECK-LABEL: func @norms
func.func @norms(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>,
                 %b: tensor<64xf32>) -> tensor<?x?x64xf32> {
  // CHECK: llm.rms_norm %{{.*}}, %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<?x?x64xf32>, tensor<64xf32>
  %0 = llm.rms_norm %x, %w {epsilon = 1.0e-05} : tensor<?x?x64xf32>, tensor<64xf32>
  // CHECK: llm.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>
  %1 = llm.layer_norm %0, %w, %b {epsilon = 1.0e-05} : tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>
  // CHECK: llm.layer_norm %{{.*}}, %{{.*}} {epsilon = 0.000000e+00 : f64} : tensor<?x?x64xf32>, tensor<64xf32>
  %2 = llm.layer_norm %1, %w {epsilon = 0.0} : tensor<?x?x64xf32>, tensor<64xf32>
  return %2 : tensor<?x?x64xf32>
}

// CHECK-LABEL: func @heads
func.func @heads(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  // CHECK: llm.split_heads %{{.*}} : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %0 = llm.split_heads %x : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  // CHECK: llm.merge_heads %{{.*}} : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
  %1 = llm.merge_heads %0 : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
  return %1 : tensor<?x?x64xf32>
}

// CHECK-LABEL: func @rope
func.func @rope(%q: tensor<?x?x4x16xf32>, %pos: tensor<?xi64>,
                %p32: tensor<2xi32>, %k: tensor<2x1x2x16xf32>) -> tensor<?x?x4x16xf32> {
  // CHECK: llm.rope %{{.*}}, %{{.*}} {theta = 1.000000e+04 : f64} : tensor<?x?x4x16xf32>, tensor<?xi64>
  %0 = llm.rope %q, %pos {theta = 10000.0} : tensor<?x?x4x16xf32>, tensor<?xi64>
  // CHECK: llm.rope %{{.*}}, %{{.*}} {rotary_dim = 8 : i64, theta = 5.000000e+05 : f64} : tensor<?x?x4x16xf32>, tensor<?xi64>
  %1 = llm.rope %0, %pos {theta = 500000.0, rotary_dim = 8} : tensor<?x?x4x16xf32>, tensor<?xi64>
  // CHECK: llm.rope %{{.*}}, %{{.*}} {scaling = #llm.rope_scaling<llama3, factor = 8.000000e+00 : f64, low_freq_factor = 1.000000e+00 : f64, high_freq_factor = 4.000000e+00 : f64, original_max_position_embeddings = 8192>, theta = 5.000000e+05 : f64}
  %2 = llm.rope %1, %pos {theta = 500000.0, scaling = #llm.rope_scaling<llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position_embeddings = 8192>} : tensor<?x?x4x16xf32>, tensor<?xi64>
  // CHECK: llm.rope %{{.*}}, %{{.*}} {scaling = #llm.rope_scaling<linear, factor = 2.000000e+00 : f64>, theta = 1.000000e+04 : f64} : tensor<2x1x2x16xf32>, tensor<2xi32>
  %3 = llm.rope %k, %p32 {theta = 10000.0, scaling = #llm.rope_scaling<linear, factor = 2.0>} : tensor<2x1x2x16xf32>, tensor<2xi32>
  return %2 : tensor<?x?x4x16xf32>
}

// CHECK-LABEL: func @attention
func.func @attention(%q: tensor<?x?x4x16xf32>, %k: tensor<?x128x2x16xf32>,
                     %v: tensor<?x128x2x16xf32>, %pos: tensor<?xi64>,
                     %q1: tensor<1x5x8x32xf16>, %k1: tensor<1x5x1x32xf16>,
                     %v1: tensor<1x5x1x24xf16>) -> tensor<?x?x4x16xf32> {
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {causal} : tensor<?x?x4x16xf32>, tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>, tensor<?xi64> -> tensor<?x?x4x16xf32>
  %0 = llm.attention %q, %k, %v, %pos {causal} : tensor<?x?x4x16xf32>, tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>, tensor<?xi64> -> tensor<?x?x4x16xf32>
  // Multi-query attention, a value head_dim of its own, an explicit scale.
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 1.250000e-01 : f64} : tensor<1x5x8x32xf16>, tensor<1x5x1x32xf16>, tensor<1x5x1x24xf16> -> tensor<1x5x8x24xf16>
  %1 = llm.attention %q1, %k1, %v1 {causal, scale = 0.125} : tensor<1x5x8x32xf16>, tensor<1x5x1x32xf16>, tensor<1x5x1x24xf16> -> tensor<1x5x8x24xf16>
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}} : tensor<1x5x8x32xf16>, tensor<1x5x1x32xf16>, tensor<1x5x1x24xf16> -> tensor<1x5x8x24xf16>
  %2 = llm.attention %q1, %k1, %v1 : tensor<1x5x8x32xf16>, tensor<1x5x1x32xf16>, tensor<1x5x1x24xf16> -> tensor<1x5x8x24xf16>
  return %0 : tensor<?x?x4x16xf32>
}

// CHECK-LABEL: func @kv_cache
// CHECK-SAME: !llm.kv_cache<2x?x128x2x16xf32>
func.func @kv_cache(%c: !cache, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xf32>,
                    %pos: tensor<?xi64>, %layer: index) -> (tensor<?x128x2x16xf32>, !cache) {
  // CHECK: llm.kv_cache.update %{{.*}}[%{{.*}}], %{{.*}}, %{{.*}}, %{{.*}} : !llm.kv_cache<2x?x128x2x16xf32>, tensor<?x?x2x16xf32>, tensor<?xi64>
  %c1 = llm.kv_cache.update %c[%layer], %k, %v, %pos : !cache, tensor<?x?x2x16xf32>, tensor<?xi64>
  // CHECK: llm.kv_cache.read %{{.*}}[%{{.*}}] : !llm.kv_cache<2x?x128x2x16xf32> -> tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>
  %keys, %values = llm.kv_cache.read %c1[%layer] : !cache -> tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>
  return %keys, %c1 : tensor<?x128x2x16xf32>, !cache
}

// CHECK-LABEL: func @kv_cache_static
func.func @kv_cache_static(%c: !llm.kv_cache<1x4x8x1x2xbf16>, %k: tensor<4x1x1x2xbf16>,
                           %pos: tensor<4xi32>) -> !llm.kv_cache<1x4x8x1x2xbf16> {
  // CHECK: llm.kv_cache.update %{{.*}}[%{{.*}}], {{.*}} : !llm.kv_cache<1x4x8x1x2xbf16>, tensor<4x1x1x2xbf16>, tensor<4xi32>
  %zero = arith.constant 0 : index
  %c1 = llm.kv_cache.update %c[%zero], %k, %k, %pos : !llm.kv_cache<1x4x8x1x2xbf16>, tensor<4x1x1x2xbf16>, tensor<4xi32>
  return %c1 : !llm.kv_cache<1x4x8x1x2xbf16>
}

// CHECK-LABEL: func @elementwise
func.func @elementwise(%x: tensor<?x?x128xf32>, %y: tensor<?x?x128xf32>) -> tensor<?x?x128xf32> {
  // CHECK: llm.silu %{{.*}} : tensor<?x?x128xf32>
  %0 = llm.silu %x : tensor<?x?x128xf32>
  // CHECK: llm.gelu tanh %{{.*}} : tensor<?x?x128xf32>
  %1 = llm.gelu tanh %0 : tensor<?x?x128xf32>
  // CHECK: llm.gelu erf %{{.*}} : tensor<?x?x128xf32>
  %2 = llm.gelu erf %1 : tensor<?x?x128xf32>
  // CHECK: llm.add %{{.*}}, %{{.*}} : tensor<?x?x128xf32>
  %3 = llm.add %2, %y : tensor<?x?x128xf32>
  // CHECK: llm.mul %{{.*}}, %{{.*}} : tensor<?x?x128xf32>
  %4 = llm.mul %3, %y : tensor<?x?x128xf32>
  // CHECK: llm.softmax %{{.*}} : tensor<?x?x128xf32>
  %5 = llm.softmax %4 : tensor<?x?x128xf32>
  // CHECK: llm.softmax %{{.*}} {axis = 0 : i64} : tensor<?x?x128xf32>
  %6 = llm.softmax %5 {axis = 0} : tensor<?x?x128xf32>
  return %6 : tensor<?x?x128xf32>
}

// CHECK-LABEL: func @linear_in_out
func.func @linear_in_out(%x: tensor<?x?x64xf32>, %c: tensor<64x192xf32>,
                         %b: tensor<192xf32>) -> tensor<?x?x192xf32> {
  // CHECK: llm.linear %{{.*}}, %{{.*}}, %{{.*}} {weight_in_out} : tensor<?x?x64xf32>, tensor<64x192xf32>, tensor<192xf32> -> tensor<?x?x192xf32>
  %0 = llm.linear %x, %c, %b {weight_in_out} : tensor<?x?x64xf32>, tensor<64x192xf32>, tensor<192xf32> -> tensor<?x?x192xf32>
  return %0 : tensor<?x?x192xf32>
}

// CHECK-LABEL: func @split
func.func @split(%x: tensor<?x?x192xf32>) -> tensor<?x?x64xf32> {
  // CHECK: llm.split %{{.*}} : tensor<?x?x192xf32> -> tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
  %q, %k, %v = llm.split %x : tensor<?x?x192xf32> -> tensor<?x?x64xf32>, tensor<?x?x64xf32>, tensor<?x?x64xf32>
  // CHECK: llm.split %{{.*}} : tensor<?x?x192xf32> -> tensor<?x?x128xf32>, tensor<?x?x64xf32>
  %a, %b = llm.split %x : tensor<?x?x192xf32> -> tensor<?x?x128xf32>, tensor<?x?x64xf32>
  return %q : tensor<?x?x64xf32>
}

// CHECK-LABEL: func @position_ids
func.func @position_ids(%pos: tensor<?xi64>, %ids: tensor<?x?xi32>) -> tensor<?x?xi64> {
  // CHECK: llm.position_ids %{{.*}}, %{{.*}} : tensor<?xi64>, tensor<?x?xi32> -> tensor<?x?xi64>
  %0 = llm.position_ids %pos, %ids : tensor<?xi64>, tensor<?x?xi32> -> tensor<?x?xi64>
  return %0 : tensor<?x?xi64>
}

// CHECK-LABEL: func @sliding_window
func.func @sliding_window(%q: tensor<?x?x4x16xf32>, %k: tensor<?x128x2x16xf32>,
                          %pos: tensor<?xi64>) -> tensor<?x?x4x16xf32> {
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {causal, sliding_window = 64 : i64}
  %0 = llm.attention %q, %k, %k, %pos {causal, sliding_window = 64} : tensor<?x?x4x16xf32>, tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>, tensor<?xi64> -> tensor<?x?x4x16xf32>
  return %0 : tensor<?x?x4x16xf32>
}

// CHECK-LABEL: func @select_tokens
func.func @select_tokens(%h: tensor<?x?x64xf32>, %last: tensor<?xi64>) -> tensor<?x1x64xf32> {
  // CHECK: llm.select_tokens %{{.*}}, %{{.*}} : tensor<?x?x64xf32>, tensor<?xi64> -> tensor<?x1x64xf32>
  %0 = llm.select_tokens %h, %last : tensor<?x?x64xf32>, tensor<?xi64> -> tensor<?x1x64xf32>
  return %0 : tensor<?x1x64xf32>
}

// A rank's box of a stored tensor.
// CHECK: llm.param @w.slice : tensor<32x64xf32> from "model.layers.0.mlp.w.weight" slice [0, 64] of [32, 128]
llm.param @w.slice : tensor<32x64xf32> from "model.layers.0.mlp.w.weight" slice [0, 64] of [32, 128]

// CHECK-LABEL: func @vocab_shard
func.func @vocab_shard(%table: tensor<128x32xf32>, %ids: tensor<?x?xi32>) -> tensor<?x?x32xf32> {
  // CHECK: llm.embedding %{{.*}}, %{{.*}} {vocab_offset = 128 : i64} : tensor<128x32xf32>, tensor<?x?xi32> -> tensor<?x?x32xf32>
  %h = llm.embedding %table, %ids {vocab_offset = 128 : i64} : tensor<128x32xf32>, tensor<?x?xi32> -> tensor<?x?x32xf32>
  return %h : tensor<?x?x32xf32>
}

// CHECK-LABEL: func @collectives
func.func @collectives(%a: memref<?x?x64xf32>, %b: memref<?x?x128xf16>, %c: memref<?x?x256xf16>) {
  // CHECK: llm.all_reduce_buffer %{{.*}} {mesh_axes = array<i64: 2>} : memref<?x?x64xf32>
  llm.all_reduce_buffer %a {mesh_axes = array<i64: 2>} : memref<?x?x64xf32>
  // CHECK: llm.all_gather_buffer %{{.*}}, %{{.*}} {gather_axis = 2 : i64, mesh_axes = array<i64: 2>} : memref<?x?x128xf16>, memref<?x?x256xf16>
  llm.all_gather_buffer %b, %c {gather_axis = 2 : i64, mesh_axes = array<i64: 2>} : memref<?x?x128xf16>, memref<?x?x256xf16>
  // CHECK: llm.send_buffer %{{.*}} {mesh_axes = array<i64: 1>, peer = 1 : i64} : memref<?x?x64xf32>
  llm.send_buffer %a {mesh_axes = array<i64: 1>, peer = 1 : i64} : memref<?x?x64xf32>
  // CHECK: llm.recv_buffer %{{.*}} {mesh_axes = array<i64: 0, 2>, peer = 0 : i64} : memref<?x?x64xf32>
  llm.recv_buffer %a {mesh_axes = array<i64: 0, 2>, peer = 0 : i64} : memref<?x?x64xf32>
  return
}

// CHECK-LABEL: func @fused_attention
func.func @fused_attention(%q: tensor<?x?x4x16xf16>, %k: tensor<?x?x2x16xf16>,
                           %v: tensor<?x?x2x8xf16>, %pos: tensor<?xi64>,
                           %init: tensor<?x?x4x8xf16>,
                           %qb: memref<?x?x4x16xf16>,
                           %kb: memref<?x?x2x16xf16, strided<[4096, 32, 16, 1], offset: ?>>,
                           %ob: memref<?x?x4x16xf16>) -> tensor<?x?x4x8xf16> {
  // CHECK: llm.fused_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} {causal, scale = 2.500000e-01 : f64, sliding_window = 64 : i64} : tensor<?x?x4x16xf16>, tensor<?x?x2x16xf16>, tensor<?x?x2x8xf16>, tensor<?xi64> into tensor<?x?x4x8xf16> -> tensor<?x?x4x8xf16>
  %0 = llm.fused_attention %q, %k, %v, %pos into %init {causal, scale = 0.25, sliding_window = 64} : tensor<?x?x4x16xf16>, tensor<?x?x2x16xf16>, tensor<?x?x2x8xf16>, tensor<?xi64> into tensor<?x?x4x8xf16> -> tensor<?x?x4x8xf16>
  // On buffers: no result.
  // CHECK: llm.fused_attention %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} {scale = 1.250000e-01 : f64} : memref<?x?x4x16xf16>, memref<?x?x2x16xf16, strided<[4096, 32, 16, 1], offset: ?>>, memref<?x?x2x16xf16, strided<[4096, 32, 16, 1], offset: ?>> into memref<?x?x4x16xf16>{{$}}
  llm.fused_attention %qb, %kb, %kb into %ob {scale = 0.125} : memref<?x?x4x16xf16>, memref<?x?x2x16xf16, strided<[4096, 32, 16, 1], offset: ?>>, memref<?x?x2x16xf16, strided<[4096, 32, 16, 1], offset: ?>> into memref<?x?x4x16xf16>
  return %0 : tensor<?x?x4x8xf16>
}
