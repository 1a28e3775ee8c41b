// Parameters become read-only buffers; the KV cache becomes one tensor
// (keys at [0], values at [1]) updated row by row at each row's position and
// read as a slice; signatures carrying the cache are converted.
// RUN: llmc-opt %s --convert-llm-to-linalg | FileCheck %s

!cache = !llm.kv_cache<2x?x8x1x4xf32>
llm.param @w : tensor<4x4xf32> from "w"

// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[C:.*]]: tensor<2x2x?x8x1x4xf32>
// CHECK-SAME: -> (tensor<?x8x1x4xf32>, tensor<2x2x?x8x1x4xf32>)
func.func @step(%c: !cache, %k: tensor<?x?x1x4xf32>, %pos: tensor<?xi64>) -> (tensor<?x8x1x4xf32>, !cache) {
  // CHECK: %[[B:.*]] = llm.param_buffer @w : memref<4x4xf32>
  // CHECK: bufferization.to_tensor %[[B]] restrict : memref<4x4xf32>
  %w = llm.get_param @w : tensor<4x4xf32>
  // CHECK: %[[NEW:.*]] = scf.for %[[ROW:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[C]])
  // CHECK:   %[[P:.*]] = tensor.extract %{{.*}}[%[[ROW]]] : tensor<?xi64>
  // CHECK:   %[[START:.*]] = arith.index_cast %[[P]] : i64 to index
  // CHECK:   %[[KROW:.*]] = tensor.extract_slice %{{.*}}[%[[ROW]], 0, 0, 0] [1, %{{.*}}, 1, 4] [1, 1, 1, 1] : tensor<?x?x1x4xf32> to tensor<?x1x4xf32>
  // CHECK:   %[[K:.*]] = tensor.insert_slice %[[KROW]] into %[[ACC]][0, 1, %[[ROW]], %[[START]], 0, 0] [1, 1, 1, %{{.*}}, 1, 4]
  // CHECK:   %[[V:.*]] = tensor.insert_slice %{{.*}} into %[[K]][1, 1, %[[ROW]], %[[START]], 0, 0]
  // CHECK:   scf.yield %[[V]]
  %one = arith.constant 1 : index
  %c1 = llm.kv_cache.update %c[%one], %k, %k, %pos : !cache, tensor<?x?x1x4xf32>, tensor<?xi64>
  // CHECK: tensor.extract_slice %[[NEW]][0, 1, 0, 0, 0, 0] [1, 1, %{{.*}}, 8, 1, 4] [1, 1, 1, 1, 1, 1] : tensor<2x2x?x8x1x4xf32> to tensor<?x8x1x4xf32>
  // CHECK: tensor.extract_slice %[[NEW]][1, 1, 0, 0, 0, 0]
  %keys, %values = llm.kv_cache.read %c1[%one] : !cache -> tensor<?x8x1x4xf32>, tensor<?x8x1x4xf32>
  // CHECK: return %{{.*}}, %[[NEW]] : tensor<?x8x1x4xf32>, tensor<2x2x?x8x1x4xf32>
  return %keys, %c1 : tensor<?x8x1x4xf32>, !cache
}

// CHECK-LABEL: func.func @caller(
// CHECK: call @step(%{{.*}}) : (tensor<2x2x?x8x1x4xf32>, tensor<?x?x1x4xf32>, tensor<?xi64>) -> (tensor<?x8x1x4xf32>, tensor<2x2x?x8x1x4xf32>)
func.func @caller(%c: !cache, %k: tensor<?x?x1x4xf32>, %pos: tensor<?xi64>) -> !cache {
  %r:2 = func.call @step(%c, %k, %pos) : (!cache, tensor<?x?x1x4xf32>, tensor<?xi64>) -> (tensor<?x8x1x4xf32>, !cache)
  return %r#1 : !cache
}
