// 16-bit floats accumulate in f32, as cuBLAS and PyTorch do: projections,
// attention's two contractions, norms' sums and softmax's exponentials run
// in f32 and round to the element type once.
// RUN: llmc-opt %s --convert-llm-to-linalg --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @linear
func.func @linear(%x: tensor<?x?x8xf16>, %w: tensor<16x8xf16>, %bias: tensor<16xf16>) -> tensor<?x?x16xf16> {
  // CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<?x?x16xf32>)
  // CHECK: linalg.generic
  // CHECK-SAME: outs(%[[ZERO]] : tensor<?x?x16xf32>)
  // CHECK: ^bb0(%[[A:.*]]: f16, %[[B:.*]]: f16, %[[ACC:.*]]: f32):
  // CHECK: %[[WA:.*]] = arith.extf %[[A]] {{.*}}: f16 to f32
  // CHECK: %[[WB:.*]] = arith.extf %[[B]] {{.*}}: f16 to f32
  // CHECK: %[[M:.*]] = arith.mulf %[[WA]], %[[WB]] {{.*}}: f32
  // CHECK: arith.addf %[[ACC]], %[[M]] {{.*}}: f32
  // The bias joins the f32 sum, then one rounding.
  // CHECK: linalg.generic
  // CHECK: ^bb0(%[[S:.*]]: f32, %[[BI:.*]]: f16, %{{.*}}: f16):
  // CHECK: %[[WBI:.*]] = arith.extf %[[BI]]
  // CHECK: %[[SUM:.*]] = arith.addf %[[S]], %[[WBI]] {{.*}}: f32
  // CHECK: arith.truncf %[[SUM]] {{.*}}: f32 to f16
  %0 = llm.linear %x, %w, %bias : tensor<?x?x8xf16>, tensor<16x8xf16>, tensor<16xf16> -> tensor<?x?x16xf16>
  return %0 : tensor<?x?x16xf16>
}

// -----

// CHECK-LABEL: func.func @rms_norm
func.func @rms_norm(%x: tensor<?x8xbf16>, %w: tensor<8xbf16>) -> tensor<?x8xbf16> {
  // Squares summed in f32 (a 16-bit sum of squares overflows f16).
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
  // CHECK-SAME: outs(%{{.*}} : tensor<?xf32>)
  // CHECK: %[[V:.*]] = arith.extf %{{.*}} : bf16 to f32
  // CHECK: arith.mulf %[[V]], %[[V]] {{.*}}: f32
  // CHECK: arith.constant 1.250000e-01 : f32
  // CHECK: math.sqrt %{{.*}} : f32
  // CHECK: arith.truncf %{{.*}} : f32 to bf16
  %0 = llm.rms_norm %x, %w {epsilon = 1.0e-05} : tensor<?x8xbf16>, tensor<8xbf16>
  return %0 : tensor<?x8xbf16>
}

// -----

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<?x?x4x8xf16>, %k: tensor<?x16x2x8xf16>, %pos: tensor<?xi64>) -> tensor<?x?x4x8xf16> {
  // Scores and the causal mask in f32.
  // CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<?x2x2x?x?xf32>)
  // CHECK: arith.extf
  // CHECK: linalg.generic
  // CHECK: arith.constant 0xFF800000 : f32
  // Softmax: the maximum, exponentials and their sum in f32; the
  // probabilities rounded to f16 for the values' contraction.
  // CHECK: math.exp %{{.*}} : f32
  // CHECK: arith.truncf %{{.*}} : f32 to f16
  // CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<?x?x2x2x8xf32>)
  // CHECK: arith.truncf %{{.*}} : f32 to f16
  %0 = llm.attention %q, %k, %k, %pos {causal} : tensor<?x?x4x8xf16>, tensor<?x16x2x8xf16>, tensor<?x16x2x8xf16>, tensor<?xi64> -> tensor<?x?x4x8xf16>
  return %0 : tensor<?x?x4x8xf16>
}
