// The compute ops become linalg.generic ops: projections reduce over
// in_features (the weight indexed [n, k], or [k, n] with weight_in_out),
// norms reduce over the last dimension, attention computes scores over
// [batch, kv_head, group, seq, kv_len] with the causal mask from positions.
// RUN: llmc-opt %s --convert-llm-to-linalg --split-input-file | FileCheck %s

// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d0)>
// CHECK-LABEL: func.func @linear
func.func @linear(%x: tensor<?x?x8xf32>, %w: tensor<16x8xf32>, %c: tensor<8x16xf32>) -> tensor<?x?x16xf32> {
  // Loops (n, b, s, k): a weight row is loaded once and reused for every
  // token; k innermost, contiguous in x and in W [n, k].
  // CHECK: %[[ZERO:.*]] = linalg.fill
  // CHECK: linalg.generic {indexing_maps = [#[[A]], #[[W]], #[[B]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
  // CHECK-SAME: outs(%[[ZERO]] : tensor<?x?x16xf32>)
  // Reassociable, so LLVM vectorizes the reduction.
  // CHECK: arith.mulf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
  // CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
  %0 = llm.linear %x, %w : tensor<?x?x8xf32>, tensor<16x8xf32> -> tensor<?x?x16xf32>
  // Loops (k, b, s, n) for W [k, n]: n innermost, contiguous in W and out.
  // CHECK: linalg.generic {indexing_maps = [#[[B]], #[[W]], #[[A]]], iterator_types = ["reduction", "parallel", "parallel", "parallel"]}
  %1 = llm.linear %x, %c {weight_in_out} : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  %2 = llm.add %0, %1 : tensor<?x?x16xf32>
  return %2 : tensor<?x?x16xf32>
}

// -----

// CHECK-LABEL: func.func @rms_norm
func.func @rms_norm(%x: tensor<?x8xf32>, %w: tensor<8xf32>) -> tensor<?x8xf32> {
  // Sum of squares over the last dim, then, in one elementwise op,
  // x / sqrt(sum / 8 + eps) * w: no pass of its own for the mean.
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
  // CHECK: arith.mulf
  // CHECK: arith.addf
  // CHECK: arith.constant 1.250000e-01 : f32
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
  // CHECK: arith.mulf %{{.*}}, %cst
  // CHECK: arith.addf
  // CHECK: math.sqrt
  // CHECK: arith.divf
  // CHECK: arith.mulf
  // CHECK-NOT: linalg.generic
  %0 = llm.rms_norm %x, %w {epsilon = 1.0e-05} : tensor<?x8xf32>, tensor<8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<?x?x4x8xf32>, %k: tensor<?x16x2x8xf32>, %pos: tensor<?xi64>) -> tensor<?x?x4x8xf32> {
  // Only keys up to max(positions) + seq are read: min(that, 16).
  // CHECK: arith.maxsi
  // CHECK: %[[LIMIT:.*]] = arith.addi
  // CHECK: %[[LEN:.*]] = arith.minsi %[[LIMIT]], %{{.*}} : index
  // CHECK: tensor.extract_slice %{{.*}}[0, 0, 0, 0] [%{{.*}}, %[[LEN]], 2, 8] [1, 1, 1, 1] : tensor<?x16x2x8xf32> to tensor<?x?x2x8xf32>
  // Query heads grouped by KV head: [B, S, 2, 2, 8].
  // CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1], [2, 3], [4]] {{.*}} : tensor<?x?x4x8xf32> into tensor<?x?x2x2x8xf32>
  // Scores over (b, kv_head, group, s, t, d), reducing d.
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]
  // CHECK-SAME: outs(%{{.*}} : tensor<?x2x2x?x?xf32>)
  // The mask: key t hidden when t > positions[b] + s.
  // CHECK: linalg.generic
  // CHECK: arith.mulf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
  // CHECK: linalg.index 3
  // CHECK: linalg.index 4
  // CHECK: arith.cmpi sgt
  // CHECK: arith.select
  // Softmax over t: max, exp, sum, divide.
  // CHECK: arith.maximumf
  // CHECK: math.exp
  // CHECK: arith.addf
  // CHECK: arith.divf
  // The weighted sum of values over loops (b, s, kh, g, t, e), reducing t,
  // and the heads merged back.
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "parallel"]
  // CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2, 3], [4]] : tensor<?x?x2x2x8xf32> into tensor<?x?x4x8xf32>
  %0 = llm.attention %q, %k, %k, %pos {causal} : tensor<?x?x4x8xf32>, tensor<?x16x2x8xf32>, tensor<?x16x2x8xf32>, tensor<?xi64> -> tensor<?x?x4x8xf32>
  return %0 : tensor<?x?x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @rope
func.func @rope(%x: tensor<?x?x2x8xf32>, %pos: tensor<?xi64>) -> tensor<?x?x2x8xf32> {
  // The frequencies 10000^(-2i/8) as a constant table, rotated pairs (d, d+4).
  // CHECK: arith.constant dense<[1.000000e+00, 1.000000e-01, 0.00999999977, 1.000000e-03]> : tensor<4xf32>
  // CHECK: linalg.generic
  // CHECK: math.cos
  // CHECK: math.sin
  // CHECK: arith.subf
  // CHECK: arith.addf
  %0 = llm.rope %x, %pos {theta = 10000.0} : tensor<?x?x2x8xf32>, tensor<?xi64>
  return %0 : tensor<?x?x2x8xf32>
}

// -----

// CHECK-LABEL: func.func @select_tokens
func.func @select_tokens(%h: tensor<?x?x8xf32>, %last: tensor<?xi64>) -> tensor<?x1x8xf32> {
  // One generic over [b, 1, d] reading h[b, last[b], d].
  // CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<?xi64>) outs(%{{.*}} : tensor<?x1x8xf32>)
  // CHECK: %[[ROW:.*]] = linalg.index 0
  // CHECK: %[[COL:.*]] = linalg.index 2
  // CHECK: %[[AT:.*]] = arith.index_cast
  // CHECK: tensor.extract %{{.*}}[%[[ROW]], %[[AT]], %[[COL]]]
  %0 = llm.select_tokens %h, %last : tensor<?x?x8xf32>, tensor<?xi64> -> tensor<?x1x8xf32>
  return %0 : tensor<?x1x8xf32>
}
