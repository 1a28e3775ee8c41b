// With fused-attention (GPU targets), llm.attention becomes
// llm.fused_attention over the keys a query may see: no scores tensor, the
// scale made explicit, the sliding window kept.
// RUN: llmc-opt %s --convert-llm-to-linalg="fused-attention" | FileCheck %s
// RUN: llmc-opt %s --convert-llm-to-linalg | FileCheck %s --check-prefix=UNFUSED

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<?x?x4x8xf16>, %k: tensor<?x16x2x8xf16>, %v: tensor<?x16x2x4xf16>, %pos: tensor<?xi64>) -> tensor<?x?x4x4xf16> {
  // CHECK: %[[LEN:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
  // CHECK: %[[K:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [%{{.*}}, %[[LEN]], 2, 8] [1, 1, 1, 1] : tensor<?x16x2x8xf16> to tensor<?x?x2x8xf16>
  // CHECK: %[[V:.*]] = tensor.extract_slice %{{.*}}[0, 0, 0, 0] [%{{.*}}, %[[LEN]], 2, 4] [1, 1, 1, 1] : tensor<?x16x2x4xf16> to tensor<?x?x2x4xf16>
  // CHECK: %[[INIT:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?x4x4xf16>
  // CHECK-NOT: linalg.generic
  // CHECK: %[[OUT:.*]] = llm.fused_attention %{{.*}}, %[[K]], %[[V]], %{{.*}} into %[[INIT]] {causal, scale = 0.35355339059327373 : f64, sliding_window = 6 : i64} : tensor<?x?x4x8xf16>, tensor<?x?x2x8xf16>, tensor<?x?x2x4xf16>, tensor<?xi64> into tensor<?x?x4x4xf16> -> tensor<?x?x4x4xf16>
  // CHECK: return %[[OUT]]
  // UNFUSED-NOT: llm.fused_attention
  %0 = llm.attention %q, %k, %v, %pos {causal, sliding_window = 6} : tensor<?x?x4x8xf16>, tensor<?x16x2x8xf16>, tensor<?x16x2x4xf16>, tensor<?xi64> -> tensor<?x?x4x4xf16>
  return %0 : tensor<?x?x4x4xf16>
}
