// RUN: llmc-opt %s --llmc-reductions-innermost --split-input-file | FileCheck %s

// A projection with an `in x out` weight, loops (k, s, n) as the CPU lowering
// orders them: k moves last, the maps follow their loops.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @in_out_projection
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-NEXT: ^bb0(%[[A:.*]]: f16, %[[B:.*]]: f16, %[[C:.*]]: f16):
// CHECK-NEXT: arith.mulf %[[A]], %[[B]]
func.func @in_out_projection(%x: memref<?x64xf16>, %w: memref<64x192xf16>,
                             %y: memref<?x192xf16>) {
  linalg.generic {
      indexing_maps = [affine_map<(k, s, n) -> (s, k)>,
                       affine_map<(k, s, n) -> (k, n)>,
                       affine_map<(k, s, n) -> (s, n)>],
      iterator_types = ["reduction", "parallel", "parallel"]}
      ins(%x, %w : memref<?x64xf16>, memref<64x192xf16>)
      outs(%y : memref<?x192xf16>) {
  ^bb0(%a: f16, %b: f16, %c: f16):
    %m = arith.mulf %a, %b : f16
    %s = arith.addf %c, %m : f16
    linalg.yield %s : f16
  }
  return
}

// -----

// A reduction between parallel loops (attention's probabilities times V):
// the parallel loops keep their order, the reduction goes last; linalg.index
// follows its loop.
// CHECK-DAG: #[[T:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[D:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func @reduction_in_the_middle
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: affine.apply #[[T]]
// CHECK: affine.apply #[[D]]
func.func @reduction_in_the_middle(%p: memref<4x?xf32>, %v: memref<?x16xf32>,
                                   %o: memref<4x16xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(h, t, d) -> (h, t)>,
                       affine_map<(h, t, d) -> (t, d)>,
                       affine_map<(h, t, d) -> (h, d)>],
      iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%p, %v : memref<4x?xf32>, memref<?x16xf32>)
      outs(%o : memref<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %t = linalg.index 1 : index
    %d = linalg.index 2 : index
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Already in order: untouched.
// CHECK-LABEL: func @in_order
// CHECK: iterator_types = ["parallel", "reduction"]
func.func @in_order(%x: memref<8x16xf32>, %y: memref<8xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>,
                       affine_map<(i, j) -> (i)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x16xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%a: f32, %c: f32):
    %s = arith.addf %c, %a : f32
    linalg.yield %s : f32
  }
  return
}
