// scf.parallel loops nested in another scf.parallel become scf.for nests,
// so only the outer (tile) loop is shared among threads.
// RUN: llmc-opt %s --llmc-sequentialize-inner-parallel | FileCheck %s

// CHECK-LABEL: func.func @tiled
func.func @tiled(%out: memref<128x4xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  %c128 = arith.constant 128 : index
  // CHECK: scf.parallel (%[[T:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
  scf.parallel (%t) = (%c0) to (%c128) step (%c64) {
    %end = arith.addi %t, %c64 : index
    // CHECK: scf.for %[[I:.*]] = %[[T]] to %{{.*}} step %{{.*}} {
    // CHECK-NEXT: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
    // CHECK-NEXT: memref.store %{{.*}}, %{{.*}}[%[[I]], %[[J]]]
    // CHECK-NOT: scf.parallel
    scf.parallel (%i, %j) = (%t, %c0) to (%end, %c4) step (%c1, %c1) {
      memref.store %x, %out[%i, %j] : memref<128x4xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// CHECK-LABEL: func.func @outer_only
func.func @outer_only(%out: memref<4xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  // CHECK: scf.parallel
  // CHECK-NOT: scf.for
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    memref.store %x, %out[%i] : memref<4xf32>
    scf.reduce
  }
  return
}
