// RUN: llmc-opt %s --split-input-file --llmc-gpu-fuse-launches | FileCheck %s

// Two independent launches of 256 threads each (blocks 32x8 and 64x4, the
// first with shared memory), an allocation between them: one launch over
// both grids' blocks, 256 threads in x. Its first blocks run the first
// body, the rest the second, each with its ids recovered from the linear
// ones; both shared buffers stay.
// CHECK-LABEL: func.func @independent
// CHECK-SAME: (%[[X:.*]]: memref<?x64xf32>, %[[N:.*]]: index, %[[M:.*]]: index)
// CHECK: %[[A:.*]] = memref.alloc(%[[N]]) : memref<?x64xf32>
// CHECK: %[[B:.*]] = memref.alloc(%[[M]]) : memref<?x64xf32>
// CHECK: %[[XY1:.*]] = arith.muli %[[N]], %c1
// CHECK: %[[FIRST:.*]] = arith.muli %[[XY1]], %c1
// CHECK: %[[XY2:.*]] = arith.muli %[[M]], %c2
// CHECK: %[[SECOND:.*]] = arith.muli %[[XY2]], %c1
// CHECK: %[[ALL:.*]] = arith.addi %[[FIRST]], %[[SECOND]]
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[ALL]], %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c256{{.*}}, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) workgroup(%[[SH:.*]] : memref<8xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[IS1:.*]] = arith.cmpi ult, %[[BX]], %[[FIRST]]
// CHECK: scf.if %[[IS1]] {
// CHECK:   %[[ROW1:.*]] = arith.remui %[[BX]], %[[N]]
// CHECK:   %[[LANE:.*]] = arith.remui %[[TX]], %c32
// CHECK:   %[[WARP:.*]] = arith.divui %[[TX]], %c32
// CHECK:   %[[WARP8:.*]] = arith.remui %[[WARP]], %c8
// CHECK:   memref.load %[[X]][%[[ROW1]], %[[LANE]]]
// CHECK:   memref.store %{{.*}}, %[[SH]][%[[WARP8]]]
// CHECK:   gpu.barrier
// CHECK:   memref.store %{{.*}}, %[[A]][%[[ROW1]], %[[LANE]]]
// CHECK: } else {
// CHECK:   %[[REST:.*]] = arith.subi %[[BX]], %[[FIRST]]
// CHECK:   %[[ROW2:.*]] = arith.remui %[[REST]], %[[M]]
// CHECK:   %[[COL2:.*]] = arith.remui %[[TX]], %c64
// CHECK:   memref.store %{{.*}}, %[[B]][%[[ROW2]], %[[COL2]]]
// CHECK: }
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
func.func @independent(%x: memref<?x64xf32>, %n: index, %m: index) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %a = memref.alloc(%n) : memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c8, %sz = %c1)
             workgroup(%sh : memref<8xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %sh[%ty] : memref<8xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %w = memref.load %sh[%ty] : memref<8xf32, #gpu.address_space<workgroup>>
    memref.store %w, %a[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  %b = memref.alloc(%m) : memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %m, %gy = %c2, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c4, %sz = %c1) {
    %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %b[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  return
}

// -----

// The second reads what the first writes: two launches.
// CHECK-LABEL: func.func @dependent
// CHECK-COUNT-2: gpu.launch blocks
func.func @dependent(%x: memref<?x64xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %a = memref.alloc(%n) : memref<?x64xf32>
  %b = memref.alloc(%n) : memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %a[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  %view = memref.subview %a[0, 0] [%n, 32] [1, 1] : memref<?x64xf32> to memref<?x32xf32, strided<[64, 1]>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %view[%bx, %tx] : memref<?x32xf32, strided<[64, 1]>>
    memref.store %v, %b[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  return
}

// -----

// Function arguments may alias: a launch writing one is not fused with a
// launch reading another. Nor are launches of different thread counts, or
// launches with a host copy between them.
// CHECK-LABEL: func.func @kept_apart
// CHECK-COUNT-4: gpu.launch blocks
func.func @kept_apart(%x: memref<?x64xf32>, %y: memref<?x64xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c128 = arith.constant 128 : index
  %a = memref.alloc(%n) : memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %y[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %a[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  %b = memref.alloc(%n) : memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %b[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  %c = memref.alloc(%n) : memref<?x64xf32>
  gpu.memcpy %c, %x : memref<?x64xf32>, memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1) {
    %v = memref.load %c[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %c[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  return
}

// -----

// The host picks a kernel per projection by the row count: the two
// choices on one condition merge (the allocation between them moves
// above), then the projections' launches are neighbours in each branch.
// CHECK-LABEL: func.func @choices
// CHECK: memref.alloc
// CHECK: memref.alloc
// CHECK: scf.if
// CHECK-COUNT-1: gpu.launch blocks
// CHECK: } else {
// CHECK-COUNT-1: gpu.launch blocks
// CHECK: }
// CHECK-NOT: scf.if
func.func @choices(%x: memref<?x64xf32>, %n: index, %wide: i1) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %a = memref.alloc(%n) : memref<?x64xf32>
  scf.if %wide {
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
      %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
      memref.store %v, %a[%bx, %tx] : memref<?x64xf32>
      gpu.terminator
    }
  } else {
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
      %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
      memref.store %v, %a[%bx, %tx] : memref<?x64xf32>
      gpu.terminator
    }
  }
  %b = memref.alloc(%n) : memref<?x64xf32>
  scf.if %wide {
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
      %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
      memref.store %v, %b[%bx, %tx] : memref<?x64xf32>
      gpu.terminator
    }
  } else {
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
      %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
      memref.store %v, %b[%bx, %tx] : memref<?x64xf32>
      gpu.terminator
    }
  }
  return
}

// -----

// Shared memory over 48 KiB together: two launches.
// CHECK-LABEL: func.func @too_much_shared
// CHECK-COUNT-2: gpu.launch blocks
func.func @too_much_shared(%x: memref<?x64xf32>, %n: index) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %a = memref.alloc(%n) : memref<?x64xf32>
  %b = memref.alloc(%n) : memref<?x64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1)
             workgroup(%sh : memref<8192xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %sh[%tx] : memref<8192xf32, #gpu.address_space<workgroup>>
    memref.store %v, %a[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1)
             workgroup(%sh : memref<8192xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %x[%bx, %tx] : memref<?x64xf32>
    memref.store %v, %sh[%tx] : memref<8192xf32, #gpu.address_space<workgroup>>
    memref.store %v, %b[%bx, %tx] : memref<?x64xf32>
    gpu.terminator
  }
  return
}

// -----

// Keys and values (buffers of this function) written into one cache
// argument at [0, ...] and [1, ...]: the subviews' static ranges are apart
// in the first dimension, one launch. At a dynamic offset there they may
// overlap: two.
// CHECK-LABEL: func.func @cache_halves
// CHECK-COUNT-1: gpu.launch blocks
// CHECK-NOT: gpu.launch
// CHECK-LABEL: func.func @cache_dynamic
// CHECK-COUNT-2: gpu.launch blocks
func.func @cache_halves(%cache: memref<2x?x64xf32>, %n: index, %p: index) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %k = memref.alloc(%n) : memref<?x64xf32>
  %v = memref.alloc(%n) : memref<?x64xf32>
  %keys = memref.subview %cache[0, %p, 0] [1, %n, 64] [1, 1, 1] : memref<2x?x64xf32> to memref<?x64xf32, strided<[64, 1], offset: ?>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %x = memref.load %k[%bx, %tx] : memref<?x64xf32>
    memref.store %x, %keys[%bx, %tx] : memref<?x64xf32, strided<[64, 1], offset: ?>>
    gpu.terminator
  }
  %values = memref.subview %cache[1, %p, 0] [1, %n, 64] [1, 1, 1] : memref<2x?x64xf32> to memref<?x64xf32, strided<[64, 1], offset: ?>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %x = memref.load %v[%bx, %tx] : memref<?x64xf32>
    memref.store %x, %values[%bx, %tx] : memref<?x64xf32, strided<[64, 1], offset: ?>>
    gpu.terminator
  }
  return
}
func.func @cache_dynamic(%cache: memref<2x?x64xf32>, %n: index, %p: index, %q: index) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %k = memref.alloc(%n) : memref<?x64xf32>
  %a = memref.subview %cache[0, %p, 0] [1, %n, 64] [1, 1, 1] : memref<2x?x64xf32> to memref<?x64xf32, strided<[64, 1], offset: ?>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %x = memref.load %k[%bx, %tx] : memref<?x64xf32>
    memref.store %x, %a[%bx, %tx] : memref<?x64xf32, strided<[64, 1], offset: ?>>
    gpu.terminator
  }
  %b = memref.subview %cache[%q, %p, 0] [1, %n, 64] [1, 1, 1] : memref<2x?x64xf32> to memref<?x64xf32, strided<[64, 1], offset: ?>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %x = memref.load %k[%bx, %tx] : memref<?x64xf32>
    memref.store %x, %b[%bx, %tx] : memref<?x64xf32, strided<[64, 1], offset: ?>>
    gpu.terminator
  }
  return
}

// -----

// Arguments of different element types are different buffers (llmc never
// views an allocation with two): the cache update writing the f16 cache
// and the queries' rotation reading the i64 positions run as one launch.
// CHECK-LABEL: func.func @typed_arguments
// CHECK-COUNT-1: gpu.launch blocks
// CHECK-NOT: gpu.launch blocks
func.func @typed_arguments(%pos: memref<?xi64>, %cache: memref<?x64xf16>, %n: index) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %a = memref.alloc(%n) : memref<?x64xi64>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %p = memref.load %pos[%bx] : memref<?xi64>
    memref.store %p, %a[%bx, %tx] : memref<?x64xi64>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %n, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %zero = arith.constant 0.0 : f16
    memref.store %zero, %cache[%bx, %tx] : memref<?x64xf16>
    gpu.terminator
  }
  return
}
