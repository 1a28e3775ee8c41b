// RUN: llmc-opt %s --llmc-fill-per-use | FileCheck %s

// Two sums start from one (CSE'd) zero fill: each gets a fill, and an empty
// tensor, of its own, placed before it, so bufferization fills each
// accumulator in place instead of copying one filled buffer.
// CHECK-LABEL: func.func @shared_zero
// CHECK: %[[E0:.*]] = tensor.empty
// CHECK: %[[Z0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E0]]
// CHECK: %[[A:.*]] = linalg.generic {{.*}} outs(%[[Z0]] : tensor<4xf32>)
// CHECK: %[[E1:.*]] = tensor.empty
// CHECK: %[[Z1:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[E1]]
// CHECK: %[[B:.*]] = linalg.generic {{.*}} outs(%[[Z1]] : tensor<4xf32>)
func.func @shared_zero(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %z = linalg.fill ins(%c0 : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %a = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %b = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%y : tensor<4x8xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %s = arith.addf %acc, %v : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %a, %b : tensor<4xf32>, tensor<4xf32>
}
