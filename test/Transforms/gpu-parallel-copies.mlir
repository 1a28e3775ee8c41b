// RUN: llmc-opt %s --split-input-file --llmc-gpu-parallel-copies | FileCheck %s

// The KV-cache update: per sequence b, its new keys (rotated by the
// elementwise generic before the loop) and values copied to the cache at
// its position. One parallel loop over (b, t, h, d): the position loaded in
// it, the rotation computed in it (its buffer gone), the values loaded.
// CHECK-LABEL: func.func @cache_update
// CHECK-NOT: linalg.generic
// CHECK-NOT: scf.for
// CHECK: scf.parallel (%[[B:.*]], %[[T:.*]], %[[H:.*]], %[[D:.*]]) = ({{.*}}) to (%{{.*}}, %{{.*}}, %c2, %c16)
// CHECK: %[[P:.*]] = memref.load %arg3[%[[B]]] : memref<?xi64>
// CHECK: %[[AT:.*]] = arith.index_cast %[[P]]
// CHECK: %[[KEYS:.*]] = memref.subview %arg2[0, %{{.*}}, %[[B]], %[[AT]], 0, 0]
// CHECK: %[[VALUES:.*]] = memref.subview %arg2[1, %{{.*}}, %[[B]], %[[AT]], 0, 0]
// CHECK: %[[K:.*]] = memref.load %arg0[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}]
// CHECK: %[[R:.*]] = arith.negf %[[K]]
// CHECK: memref.store %[[R]], %[[KEYS]][%[[T]], %[[H]], %[[D]]]
// CHECK: %[[V:.*]] = memref.load %{{.*}}[%[[T]], %[[H]], %[[D]]]
// CHECK: memref.store %[[V]], %[[VALUES]][%[[T]], %[[H]], %[[D]]]
// CHECK-NOT: memref.alloc
// CHECK: return
func.func @cache_update(%k: memref<?x?x2x16xf16>, %v: memref<?x?x2x16xf16>, %cache: memref<2x2x?x128x2x16xf16>, %pos: memref<?xi64>, %layer: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %k, %c0 : memref<?x?x2x16xf16>
  %t = memref.dim %k, %c1 : memref<?x?x2x16xf16>
  %vc = memref.alloc(%n, %t) : memref<?x?x2x16xf16>
  memref.copy %v, %vc : memref<?x?x2x16xf16> to memref<?x?x2x16xf16>
  %rk = memref.alloc(%n, %t) : memref<?x?x2x16xf16>
  linalg.generic {
      indexing_maps = [affine_map<(b, t, h, d) -> (b, t, h, d)>,
                       affine_map<(b, t, h, d) -> (b, t, h, d)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%k : memref<?x?x2x16xf16>) outs(%rk : memref<?x?x2x16xf16>) {
  ^bb0(%a: f16, %o: f16):
    %r = arith.negf %a : f16
    linalg.yield %r : f16
  }
  scf.for %b = %c0 to %n step %c1 {
    %p = memref.load %pos[%b] : memref<?xi64>
    %at = arith.index_cast %p : i64 to index
    %src = memref.subview %rk[%b, 0, 0, 0] [1, %t, 2, 16] [1, 1, 1, 1] : memref<?x?x2x16xf16> to memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>
    %dst = memref.subview %cache[0, %layer, %b, %at, 0, 0] [1, 1, 1, %t, 2, 16] [1, 1, 1, 1, 1, 1] : memref<2x2x?x128x2x16xf16> to memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>
    linalg.copy ins(%src : memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>) outs(%dst : memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>)
    %vsrc = memref.subview %vc[%b, 0, 0, 0] [1, %t, 2, 16] [1, 1, 1, 1] : memref<?x?x2x16xf16> to memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>
    %vdst = memref.subview %cache[1, %layer, %b, %at, 0, 0] [1, 1, 1, %t, 2, 16] [1, 1, 1, 1, 1, 1] : memref<2x2x?x128x2x16xf16> to memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>
    linalg.copy ins(%vsrc : memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>) outs(%vdst : memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>)
  }
  memref.dealloc %rk : memref<?x?x2x16xf16>
  memref.dealloc %vc : memref<?x?x2x16xf16>
  return
}

// -----

// Both copies to the same place (not apart): iterations' order and the
// copies' order matter; the loop stays.
// CHECK-LABEL: func.func @overlapping
// CHECK: scf.for
// CHECK-COUNT-2: linalg.copy
// CHECK-NOT: scf.parallel
func.func @overlapping(%k: memref<?x?x2x16xf16>, %v: memref<?x?x2x16xf16>, %cache: memref<2x2x?x128x2x16xf16>, %pos: memref<?xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %k, %c0 : memref<?x?x2x16xf16>
  %t = memref.dim %k, %c1 : memref<?x?x2x16xf16>
  %a = memref.alloc(%n, %t) : memref<?x?x2x16xf16>
  scf.for %b = %c0 to %n step %c1 {
    %p = memref.load %pos[%b] : memref<?xi64>
    %at = arith.index_cast %p : i64 to index
    %src = memref.subview %a[%b, 0, 0, 0] [1, %t, 2, 16] [1, 1, 1, 1] : memref<?x?x2x16xf16> to memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>
    %dst = memref.subview %cache[0, 0, %b, %at, 0, 0] [1, 1, 1, %t, 2, 16] [1, 1, 1, 1, 1, 1] : memref<2x2x?x128x2x16xf16> to memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>
    linalg.copy ins(%src : memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>) outs(%dst : memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>)
    %dst2 = memref.subview %cache[0, 0, %b, %c0, 0, 0] [1, 1, 1, %t, 2, 16] [1, 1, 1, 1, 1, 1] : memref<2x2x?x128x2x16xf16> to memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>
    linalg.copy ins(%src : memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>) outs(%dst2 : memref<?x2x16xf16, strided<[32, 16, 1], offset: ?>>)
  }
  return
}

// -----

// Every iteration writes the same row (no offset at the induction
// variable): the loop stays.
// CHECK-LABEL: func.func @shared_destination
// CHECK: scf.for
// CHECK-NOT: scf.parallel
func.func @shared_destination(%a: memref<?x16xf16>, %out: memref<4x16xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %a, %c0 : memref<?x16xf16>
  scf.for %b = %c0 to %n step %c1 {
    %src = memref.subview %a[%b, 0] [1, 16] [1, 1] : memref<?x16xf16> to memref<16xf16, strided<[1], offset: ?>>
    %dst = memref.subview %out[0, 0] [1, 16] [1, 1] : memref<4x16xf16> to memref<16xf16, strided<[1]>>
    linalg.copy ins(%src : memref<16xf16, strided<[1], offset: ?>>) outs(%dst : memref<16xf16, strided<[1]>>)
  }
  return
}

// -----

// The rotated keys are read after the loop too: the loop becomes parallel,
// but it loads them; the generic and its buffer stay.
// CHECK-LABEL: func.func @producer_read_elsewhere
// CHECK: linalg.generic
// CHECK: scf.parallel
// CHECK: memref.load %{{.*}} : memref<?x16xf16, strided<[16, 1], offset: ?>>
// CHECK: memref.store
// CHECK: memref.load %{{.*}}[%c0, %c0, %c0] : memref<?x?x16xf16>
func.func @producer_read_elsewhere(%k: memref<?x?x16xf16>, %cache: memref<?x128x16xf16>, %pos: memref<?xi64>) -> f16 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %k, %c0 : memref<?x?x16xf16>
  %t = memref.dim %k, %c1 : memref<?x?x16xf16>
  %rk = memref.alloc(%n, %t) : memref<?x?x16xf16>
  linalg.generic {
      indexing_maps = [affine_map<(b, t, d) -> (b, t, d)>,
                       affine_map<(b, t, d) -> (b, t, d)>],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k : memref<?x?x16xf16>) outs(%rk : memref<?x?x16xf16>) {
  ^bb0(%a: f16, %o: f16):
    %r = arith.negf %a : f16
    linalg.yield %r : f16
  }
  scf.for %b = %c0 to %n step %c1 {
    %p = memref.load %pos[%b] : memref<?xi64>
    %at = arith.index_cast %p : i64 to index
    %src = memref.subview %rk[%b, 0, 0] [1, %t, 16] [1, 1, 1] : memref<?x?x16xf16> to memref<?x16xf16, strided<[16, 1], offset: ?>>
    %dst = memref.subview %cache[%b, %at, 0] [1, %t, 16] [1, 1, 1] : memref<?x128x16xf16> to memref<?x16xf16, strided<[16, 1], offset: ?>>
    linalg.copy ins(%src : memref<?x16xf16, strided<[16, 1], offset: ?>>) outs(%dst : memref<?x16xf16, strided<[16, 1], offset: ?>>)
  }
  %first = memref.load %rk[%c0, %c0, %c0] : memref<?x?x16xf16>
  return %first : f16
}
