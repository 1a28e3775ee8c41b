// With fused-attention (GPU targets), llm.attention becomes
// llm.fused_attention over the keys a query may see: no scores tensor, the
// scale made explicit, the sliding window kept.
// RUN: llmc-opt %s --convert-llm-to-linalg="fused-attention" | FileCheck %s
// RUN: llmc-opt %s --convert-llm-to-linalg | FileCheck %s --check-prefix=UNFUSED
// With key-bucket, the count of keys read, max(positions) + seq, is rounded
// up to a multiple of the bucket before it is capped at the cache's length.
// RUN: llmc-opt %s --convert-llm-to-linalg="fused-attention key-bucket=64" | FileCheck %s --check-prefix=BUCKET
// RUN: not llmc-opt %s --convert-llm-to-linalg="key-bucket=0" 2>&1 | FileCheck %s --check-prefix=BUCKET0
// BUCKET0: key-bucket: expected 1 or more, found 0

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<?x?x4x8xf16>, %k: tensor<?x16x2x8xf16>, %v: tensor<?x16x2x4xf16>, %pos: tensor<?xi64>) -> tensor<?x?x4x4xf16> {
  // CHECK-NOT: arith.divui
  // CHECK: %[[LEN:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
  // CHECK: %[[K:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [%{{.*}}, %[[LEN]], 2, 8] [1, 1, 1, 1] : tensor<?x16x2x8xf16> to tensor<?x?x2x8xf16>
  // CHECK: %[[V:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [%{{.*}}, %[[LEN]], 2, 4] [1, 1, 1, 1] : tensor<?x16x2x4xf16> to tensor<?x?x2x4xf16>
  // CHECK: %[[INIT:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?x4x4xf16>
  // CHECK-NOT: linalg.generic
  // CHECK: %[[OUT:.*]] = llm.fused_attention %{{.*}}, %[[K]], %[[V]], %{{.*}} into %[[INIT]] {causal, scale = 0.35355339059327373 : f64, sliding_window = 6 : i64} : tensor<?x?x4x8xf16>, tensor<?x?x2x8xf16>, tensor<?x?x2x4xf16>, tensor<?xi64> into tensor<?x?x4x4xf16> -> tensor<?x?x4x4xf16>
  // CHECK: return %[[OUT]]
  // UNFUSED-NOT: llm.fused_attention
  // BUCKET: %[[MAX:.*]] = arith.index_cast %{{.*}} : i64 to index
  // BUCKET: %[[LIMIT:.*]] = arith.addi %[[MAX]], %{{.*}} : index
  // BUCKET-DAG: %[[C63:.*]] = arith.constant 63 : index
  // BUCKET-DAG: %[[C64:.*]] = arith.constant 64 : index
  // BUCKET: %[[UP:.*]] = arith.addi %[[LIMIT]], %[[C63]] : index
  // BUCKET: %[[N:.*]] = arith.divui %[[UP]], %[[C64]] : index
  // BUCKET: %[[ROUNDED:.*]] = arith.muli %[[N]], %[[C64]] : index
  // BUCKET: %[[LEN:.*]] = arith.minsi %[[ROUNDED]], %{{.*}} : index
  // BUCKET: tensor.extract_slice %{{.*}}[0, 0, 0, 0] [%{{.*}}, %[[LEN]], 2, 8]
  %0 = llm.attention %q, %k, %v, %pos {causal, sliding_window = 6} : tensor<?x?x4x8xf16>, tensor<?x16x2x8xf16>, tensor<?x16x2x4xf16>, tensor<?xi64> -> tensor<?x?x4x4xf16>
  return %0 : tensor<?x?x4x4xf16>
}
