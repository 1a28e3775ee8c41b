// RUN: llmc-opt %s --llmc-gpu-warp-reductions --canonicalize --split-input-file | FileCheck %s
// RUN: llmc-opt %s --llmc-gpu-warp-reductions --llmc-gpu-map-parallel-loops --split-input-file | FileCheck %s --check-prefix=MAP
// RUN: llmc-opt %s --llmc-gpu-warp-reductions=tensor-cores --canonicalize --split-input-file | FileCheck %s --check-prefix=TC
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores fuse-norms=false" --canonicalize --split-input-file | FileCheck %s --check-prefix=NONORM
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores async-copies=false" --canonicalize --split-input-file | FileCheck %s --check-prefix=TCREG
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores ldmatrix=false mma-block-rows=128" --canonicalize --split-input-file | FileCheck %s --check-prefix=TC128
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores mma-stage-steps=64" --canonicalize --split-input-file | FileCheck %s --check-prefix=TC64
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores wgmma" --canonicalize --cse --split-input-file | FileCheck %s --check-prefix=WG
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores wgmma wgmma-in-flight=false" --canonicalize --cse --split-input-file | FileCheck %s --check-prefix=WGWAIT
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores wgmma mma-block-rows=128" --canonicalize --split-input-file | FileCheck %s --check-prefix=WG128
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores wgmma mma-block-rows=128 mma-block-cols=128" --canonicalize --split-input-file | FileCheck %s --check-prefix=WGC
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores wgmma mma-block-rows=128 mma-block-cols=256 mma-stages=3" --canonicalize --split-input-file | FileCheck %s --check-prefix=WGC
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores mma-split-k" --canonicalize --cse --split-input-file | FileCheck %s --check-prefix=SPLIT
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores wgmma tma" --canonicalize --cse --split-input-file | FileCheck %s --check-prefix=TMA
// RUN: not llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores tma" --split-input-file 2>&1 | FileCheck %s --check-prefix=TMANEEDS
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores wgmma tma tma-producer" --canonicalize --cse --split-input-file | FileCheck %s --check-prefix=PROD
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores wgmma tma tma-producer" --llmc-gpu-map-parallel-loops --split-input-file | FileCheck %s --check-prefix=PRODMAP
// RUN: not llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores wgmma tma-producer" --split-input-file 2>&1 | FileCheck %s --check-prefix=PRODNEEDS
// RUN: not llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores mma-block-cols=128" --split-input-file 2>&1 | FileCheck %s --check-prefix=BLOCKCOLS
// RUN: not llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores mma-block-rows=32" --split-input-file 2>&1 | FileCheck %s --check-prefix=BLOCKROWS
// BLOCKROWS: error: mma-block-rows: expected 64 or 128, found 32
// RUN: not llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores mma-block-rows=128 mma-stage-steps=64" --split-input-file 2>&1 | FileCheck %s --check-prefix=TILEFIT
// TILEFIT: error: mma-stage-steps=64 with mma-block-rows=128: two stages need more than 48 KiB of shared memory
// BLOCKCOLS: error: mma-block-cols=128 needs wgmma
// TMANEEDS: error: tma needs wgmma
// PRODNEEDS: error: tma-producer needs tma

// A projection's dot products, 1024 outputs (enough to fill a GPU with
// warps): one warp per output; lane l sums elements l, l + 32, ...; a
// butterfly of shuffles; lane 0 adds the total to y.
// CHECK-LABEL: func.func @projection
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[K:.*]] = arith.constant 64 : index
// CHECK: scf.parallel (%[[S:.*]], %[[N:.*]], %[[LANE:.*]]) = (%[[C0]], %[[C0]], %[[C0]]) to (%{{.*}}, %{{.*}}, %[[C32]])
// CHECK: %[[PART:.*]] = scf.for %[[KI:.*]] = %[[LANE]] to %[[K]] step %[[C32]] iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32)
// CHECK: memref.load %arg0[%{{.*}}, %{{.*}}] : memref<?x64xf16>
// CHECK: memref.load %arg1[%{{.*}}, %{{.*}}] : memref<1024x64xf16>
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC]], %{{.*}} : f32
// CHECK: scf.yield %[[SUM]]
// CHECK: %[[S16:.*]], %{{.*}} = gpu.shuffle xor %[[PART]], %{{.*}}, %{{.*}} : f32
// CHECK: arith.addf %[[PART]], %[[S16]]
// CHECK-COUNT-4: gpu.shuffle xor
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[LANE]], %[[C0]]
// CHECK: scf.if %[[FIRST]]
// CHECK: %[[OLD:.*]] = memref.load %arg2
// CHECK: %[[NEW:.*]] = arith.addf %[[OLD]], %{{.*}} : f32
// CHECK: memref.store %[[NEW]], %arg2
// CHECK-NOT: linalg.generic
// The lane loop on thread x, 8 outputs (warps) per block on thread y.
// MAP-LABEL: func.func @projection
// MAP: scf.parallel {{.*}} step (%{{.*}}, %{{.*}}, %{{.*}})
// MAP: mapping = [#gpu.loop_dim_map<processor = thread_z{{.*}}>, #gpu.loop_dim_map<processor = thread_y{{.*}}>, #gpu.loop_dim_map<processor = thread_x{{.*}}>]
func.func @projection(%x: memref<?x64xf16>, %w: memref<1024x64xf16>, %y: memref<?x1024xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x64xf16>, memref<1024x64xf16>)
      outs(%y : memref<?x1024xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A maximum of f16 values (softmax): -inf to start, the shuffles in f32;
// linalg.index of the reduction loop becomes the lane's element.
// CHECK-LABEL: func.func @row_max
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFC00 : f16
// CHECK: scf.for %[[T:.*]] = %{{.*}} iter_args(%{{.*}} = %[[NEGINF]]) -> (f16)
// CHECK: arith.index_cast %[[T]]
// CHECK: arith.maximumf
// CHECK: %[[WIDE:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK: gpu.shuffle xor %[[WIDE]]
// CHECK: arith.maximumf %[[WIDE]]
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: arith.maximumf
func.func @row_max(%x: memref<?x?xf16>, %m: memref<?xf16>) {
  linalg.generic {
      indexing_maps = [affine_map<(s, t) -> (s, t)>,
                       affine_map<(s, t) -> (s)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x?xf16>) outs(%m : memref<?xf16>) {
  ^bb0(%a: f16, %c: f16):
    %t = linalg.index 1 : index
    %i = arith.index_cast %t : index to i32
    %f = arith.sitofp %i : i32 to f16
    %v = arith.addf %a, %f : f16
    %r = arith.maximumf %c, %v : f16
    linalg.yield %r : f16
  }
  return
}

// -----

// Left to one thread per output: a product, two reductions, a reduction
// that is not the last loop, an f64 sum.
// CHECK-LABEL: func.func @not_rewritten
// CHECK-COUNT-4: linalg.generic
// CHECK-NOT: gpu.shuffle
func.func @not_rewritten(%x: memref<8x16xf32>, %y: memref<8xf32>, %z: memref<f32>,
                         %w: memref<16xf32>, %d: memref<8x16xf64>, %e: memref<8xf64>) {
  linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x16xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%a: f32, %c: f32):
    %r = arith.mulf %c, %a : f32
    linalg.yield %r : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>],
      iterator_types = ["reduction", "reduction"]}
      ins(%x : memref<8x16xf32>) outs(%z : memref<f32>) {
  ^bb0(%a: f32, %c: f32):
    %r = arith.addf %c, %a : f32
    linalg.yield %r : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>],
      iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<8x16xf32>) outs(%w : memref<16xf32>) {
  ^bb0(%a: f32, %c: f32):
    %r = arith.addf %c, %a : f32
    linalg.yield %r : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%d : memref<8x16xf64>) outs(%e : memref<8xf64>) {
  ^bb0(%a: f64, %c: f64):
    %r = arith.addf %c, %a : f64
    linalg.yield %r : f64
  }
  return
}

// -----

// A projection into a fresh zero-filled buffer, then its bias and rounding
// to f16: the sum starts from the fill's 0 (no load), lane 0 runs the
// epilogue's body on the total and stores f16; the f32 buffer, its fill and
// the epilogue's kernel are gone.
// CHECK-LABEL: func.func @fused_epilogue
// CHECK-NOT: linalg.fill
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: scf.if
// CHECK-NOT: memref.load %{{.*}} : memref<?x1024xf32>
// CHECK: %[[T:.*]] = arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: %[[B:.*]] = memref.load %arg2[
// CHECK: %[[WB:.*]] = arith.extf %[[B]]
// CHECK: %[[S:.*]] = arith.addf %[[T]], %[[WB]]
// CHECK: %[[H:.*]] = arith.truncf %[[S]] : f32 to f16
// CHECK: memref.store %[[H]], %[[OUT:.*]][
// CHECK-NOT: linalg.generic
// CHECK: return %[[OUT]]
func.func @fused_epilogue(%x: memref<?x64xf16>, %w: memref<1024x64xf16>, %bias: memref<1024xf16>) -> memref<?x1024xf16> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = memref.dim %x, %c0 : memref<?x64xf16>
  %acc = memref.alloc(%rows) : memref<?x1024xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<?x1024xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x64xf16>, memref<1024x64xf16>)
      outs(%acc : memref<?x1024xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  %out = memref.alloc(%rows) : memref<?x1024xf16>
  linalg.generic {
      indexing_maps = [affine_map<(s, n) -> (s, n)>,
                       affine_map<(s, n) -> (n)>,
                       affine_map<(s, n) -> (s, n)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%acc, %bias : memref<?x1024xf32>, memref<1024xf16>)
      outs(%out : memref<?x1024xf16>) {
  ^bb0(%t: f32, %b: f16, %o: f16):
    %wb = arith.extf %b : f16 to f32
    %s = arith.addf %t, %wb : f32
    %h = arith.truncf %s : f32 to f16
    linalg.yield %h : f16
  }
  memref.dealloc %acc : memref<?x1024xf32>
  return %out : memref<?x1024xf16>
}

// -----

// An epilogue that writes into a buffer the reduction reads (an in-place
// residual): other warps may still read it, so it stays a kernel of its own.
// CHECK-LABEL: func.func @epilogue_into_an_input
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %[[ACC:.*]][
// CHECK: linalg.generic
func.func @epilogue_into_an_input(%w: memref<64x64xf32>) -> memref<4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %x = memref.alloc() : memref<4x64xf32>
  linalg.fill ins(%zero : f32) outs(%x : memref<4x64xf32>)
  %acc = memref.alloc() : memref<4x64xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<4x64xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<4x64xf32>, memref<64x64xf32>)
      outs(%acc : memref<4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(s, n) -> (s, n)>,
                       affine_map<(s, n) -> (s, n)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%acc : memref<4x64xf32>) outs(%x : memref<4x64xf32>) {
  ^bb0(%t: f32, %o: f32):
    %s = arith.addf %t, %o : f32
    linalg.yield %s : f32
  }
  memref.dealloc %acc : memref<4x64xf32>
  return %x : memref<4x64xf32>
}

// -----

// With tensor-cores: an f16 projection into f32 (weight [n, k], loops
// (n, b, s, k)) checks its row count on the host: 8 rows or more run on
// tensor cores, warps of 16 rows x 16 columns, two m16n8k16 mma.sync per 16
// steps of k on fragments in the PTX ISA layout (A: rows lane/4 and +8);
// fewer rows take the warp reduction. Both run the rounding epilogue.
// TC-LABEL: func.func @tensor_cores
// TC: %[[ROWS:.*]] = arith.muli
// TC: %[[MANY:.*]] = arith.cmpi uge, %[[ROWS]], %c8
// TC: scf.if %[[MANY]] {
// TC: scf.parallel (%{{.*}}, %{{.*}}, %[[LANE:.*]]) = (%c0, %c0, %c0) to (%{{.*}}, %c2, %c32)
// TC: %[[GROUP:.*]] = arith.divui %[[LANE]], %c4
// TC: scf.for %{{.*}} = %c0 to %c64 step %c16 iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<2x2xf32>, vector<2x2xf32>)
// TC: vector.insert %{{.*}} [3] : vector<2xf16> into vector<4x2xf16>
// TC: nvgpu.mma.sync(%{{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// TC: nvgpu.mma.sync
// TC: arith.cmpi ult
// TC: vector.extract
// TC: arith.truncf %{{.*}} : f32 to f16
// TC: } else {
// TC: gpu.shuffle xor
// TC: arith.truncf %{{.*}} : f32 to f16
// TC-NOT: linalg.generic
// TC: return
func.func @tensor_cores(%x: memref<?x?x64xf16>, %w: memref<32x64xf16>) -> memref<?x?x32xf16> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %b = memref.dim %x, %c0 : memref<?x?x64xf16>
  %s = memref.dim %x, %c1 : memref<?x?x64xf16>
  %acc = memref.alloc(%b, %s) : memref<?x?x32xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<?x?x32xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(n, b, s, k) -> (b, s, k)>,
                       affine_map<(n, b, s, k) -> (n, k)>,
                       affine_map<(n, b, s, k) -> (b, s, n)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x?x64xf16>, memref<32x64xf16>)
      outs(%acc : memref<?x?x32xf32>) {
  ^bb0(%a: f16, %c: f16, %o: f32):
    %ea = arith.extf %a : f16 to f32
    %ec = arith.extf %c : f16 to f32
    %m = arith.mulf %ea, %ec : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  }
  %out = memref.alloc(%b, %s) : memref<?x?x32xf16>
  linalg.generic {
      indexing_maps = [affine_map<(b, s, n) -> (b, s, n)>,
                       affine_map<(b, s, n) -> (b, s, n)>],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%acc : memref<?x?x32xf32>) outs(%out : memref<?x?x32xf16>) {
  ^bb0(%t: f32, %o: f16):
    %h = arith.truncf %t : f32 to f16
    linalg.yield %h : f16
  }
  memref.dealloc %acc : memref<?x?x32xf32>
  return %out : memref<?x?x32xf16>
}

// -----

// A norm: the sum of squares, then an elementwise op over the same loops
// reading the sum broadcast along the row and x as the sum does. One kernel:
// after the butterfly every lane has the sum and scales the elements it
// summed; the sum's buffer is never written. Its rows are all dynamic (a
// decode step has one): 8 warps per row, warp w's lanes from 32 * w,
// stepping 256; their totals meet in shared memory after a barrier, each
// lane adding the 8 of its row's warps.
// CHECK-LABEL: func.func @norm
// CHECK: scf.parallel (%[[ROW:.*]], %[[W:.*]], %[[LANE:.*]]) = (%c0, %c0, %c0) to (%{{.*}}, %c8, %c32)
// CHECK: %[[W32:.*]] = arith.muli %[[W]], %c32
// CHECK: %[[START:.*]] = arith.addi %[[W32]], %[[LANE]]
// CHECK: %[[PART:.*]] = scf.for %{{.*}} = %[[START]] to %c64 step %c256
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[LANE]], %c0
// CHECK: %[[SHARED:.*]] = memref.alloca() : memref<32xf32, #gpu.address_space<workgroup>>
// CHECK: %[[SLOT:.*]] = arith.divui %{{.*}}, %c32
// CHECK: %[[BASE:.*]] = arith.subi %[[SLOT]], %[[W]]
// CHECK: scf.if %[[FIRST]]
// CHECK-NEXT: memref.store %{{.*}}, %[[SHARED]][%[[SLOT]]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[SHARED]][%[[BASE]]]
// CHECK-COUNT-7: memref.load %[[SHARED]]
// CHECK-NOT: scf.if
// CHECK: scf.for %[[K:.*]] = %[[START]] to %c64 step %c256
// CHECK: memref.load %arg0[%[[ROW]], %[[K]]]
// CHECK: math.sqrt
// CHECK: memref.store %{{.*}}, %[[OUT:.*]][%[[ROW]], %[[K]]]
// CHECK-NOT: linalg.generic
// CHECK: return %[[OUT]]
// The lanes on thread x, the row's warps on thread y, the rows on blocks.
// MAP-LABEL: func.func @norm
// MAP: scf.parallel {{.*}} to (%{{.*}}, %c8, %c32) step
// MAP: mapping = [#gpu.loop_dim_map<processor = thread_z{{.*}}>, #gpu.loop_dim_map<processor = thread_y{{.*}}>, #gpu.loop_dim_map<processor = thread_x{{.*}}>]
// MAP: mapping = [#gpu.loop_dim_map<processor = block_x{{.*}}>
func.func @norm(%x: memref<?x64xf32>) -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %rows = memref.dim %x, %c0 : memref<?x64xf32>
  %sum = memref.alloc(%rows) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<?xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(s, k) -> (s, k)>, affine_map<(s, k) -> (s)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf32>) outs(%sum : memref<?xf32>) {
  ^bb0(%a: f32, %c: f32):
    %q = arith.mulf %a, %a : f32
    %r = arith.addf %q, %c : f32
    linalg.yield %r : f32
  }
  %out = memref.alloc(%rows) : memref<?x64xf32>
  linalg.generic {
      indexing_maps = [affine_map<(s, k) -> (s, k)>, affine_map<(s, k) -> (s)>,
                       affine_map<(s, k) -> (s, k)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : memref<?x64xf32>, memref<?xf32>) outs(%out : memref<?x64xf32>) {
  ^bb0(%a: f32, %t: f32, %o: f32):
    %m = arith.addf %t, %eps : f32
    %r = math.sqrt %m : f32
    %n = arith.divf %a, %r : f32
    linalg.yield %n : f32
  }
  memref.dealloc %sum : memref<?xf32>
  return %out : memref<?x64xf32>
}

// -----

// Attention's scores: the keys do not depend on the query head within a
// group (g, 8 of them), so a warp computes 4 heads' scores, loading each key
// element once. (Not for weights, static shapes: see @projection.)
// Both have a dynamic inner extent: they are read through one-dimensional
// views at offsets computed in the kernel (row * extent + column).
// CHECK-LABEL: func.func @shared_keys
// CHECK: scf.parallel (%[[T:.*]], %[[G:.*]], %[[LANE:.*]]) = (%c0, %c0, %c0) to (%{{.*}}, %c2, %c32)
// CHECK-DAG: %[[KEYS:.*]] = memref.collapse_shape %arg1 {{\[}}[0, 1]] : memref<?x?xf32> into memref<?xf32>
// CHECK-DAG: %[[KD:.*]] = memref.dim %arg1, %c1
// CHECK-DAG: %[[QUERIES:.*]] = memref.collapse_shape %arg0 {{\[}}[0, 1]] : memref<8x?xf32> into memref<?xf32>
// CHECK: scf.for %[[D:.*]] = %[[LANE]] to %{{.*}} step %c32 iter_args(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) -> (f32, f32, f32, f32)
// CHECK: memref.load %[[QUERIES]]
// CHECK: %[[ROW:.*]] = arith.muli %[[T]], %[[KD]]
// CHECK: %[[AT:.*]] = arith.addi %[[ROW]], %[[D]]
// CHECK: memref.load %[[KEYS]][%[[AT]]] : memref<?xf32>
// CHECK-COUNT-3: memref.load %[[QUERIES]]
// CHECK-NOT: memref.load %[[KEYS]]
// CHECK: scf.yield
func.func @shared_keys(%q: memref<8x?xf32>, %k: memref<?x?xf32>, %s: memref<?x8xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(t, g, d) -> (g, d)>,
                       affine_map<(t, g, d) -> (t, d)>,
                       affine_map<(t, g, d) -> (t, g)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<8x?xf32>, memref<?x?xf32>)
      outs(%s : memref<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// With tensor-cores, n a multiple of 64 and k of 32, both operands
// row-major: blocks of 8 warps for 64 x 64 outputs; tiles of 32 steps of k
// copied straight into a 4-stage ring in shared memory (cp.async, 16 bytes;
// rows padded to 40): 3 tiles ahead, then per tile a wait for all but the
// 2 latest groups, a barrier, the copies of the tile 3 ahead (past the
// last tile, copies that read nothing and write zeros) and the
// warp's 8 mma.sync (2 x 2 per 16 steps, after the 3 ldmatrix of their
// fragments: 2 for A, 1 for both B). Blocks of 128 rows: 3 stages, 2 x 4
// mma.sync per 16 steps; without ldmatrix, 32-bit loads of halves.
// Stages of 64 steps: 2 (36 KiB), 16 mma.sync per warp and stage.
// TC64-LABEL: func.func @block_tensor_cores
// TC64: memref.alloca() : memref<2x64x72xf16, #gpu.address_space<workgroup>>
// TC64: scf.for
// TC64: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// TC64-COUNT-16: nvgpu.mma.sync
// TC64: scf.yield
// TC128-LABEL: func.func @block_tensor_cores
// TC128: memref.alloca() : memref<3x128x40xf16, #gpu.address_space<workgroup>>
// TC128: memref.alloca() : memref<3x64x40xf16, #gpu.address_space<workgroup>>
// TC128: scf.for
// TC128-NOT: nvgpu.ldmatrix
// TC128: memref.load
// TC128-COUNT-8: nvgpu.mma.sync
// TC128-NOT: nvgpu.ldmatrix
// TC128: memref.load
// TC128-COUNT-8: nvgpu.mma.sync
// TC128: scf.yield
// TC-LABEL: func.func @block_tensor_cores
// TC: scf.if
// TC: scf.parallel (%{{.*}}, %{{.*}}, %[[WARP:.*]], %[[LANE:.*]]) = (%c0, %c0, %c0, %c0) to (%{{.*}}, %c2, %c8, %c32)
// TC: %[[X:.*]] = memref.alloca() : memref<4x64x40xf16, #gpu.address_space<workgroup>>
// TC: %[[W:.*]] = memref.alloca() : memref<4x64x40xf16, #gpu.address_space<workgroup>>
// TC: nvgpu.device_async_copy %arg0[%{{.*}}, %{{.*}}], %[[X]][%c0, %{{.*}}, %{{.*}}], 8 {bypassL1}
// TC: nvgpu.device_async_copy %arg1[%{{.*}}, %{{.*}}], %[[W]][%c0, %{{.*}}, %{{.*}}], 8 {bypassL1}
// TC-COUNT-2: nvgpu.device_async_create_group
// TC: %[[THIRD:.*]] = nvgpu.device_async_create_group
// TC: scf.for %[[TILE:.*]] = %c0 to %c4 step %c1 iter_args({{.*}}, %[[TOKEN:.*]] = %[[THIRD]])
// TC: nvgpu.device_async_wait %[[TOKEN]] {numGroups = 2 : i32}
// TC-NEXT: gpu.barrier
// TC: %[[AHEAD:.*]] = arith.addi %[[TILE]], %c3
// TC: %[[RING:.*]] = arith.remui %[[AHEAD]], %c4
// TC: arith.minui %[[AHEAD]], %c3
// TC: %[[INSIDE:.*]] = arith.cmpi ule, %[[AHEAD]], %c3
// TC: %[[READ:.*]] = arith.select %[[INSIDE]], %c8, %c0
// TC: nvgpu.device_async_copy %arg0[%{{.*}}, %{{.*}}], %[[X]][%[[RING]], %{{.*}}, %{{.*}}], 8, %[[READ]] {bypassL1}
// TC: nvgpu.device_async_create_group
// TC-COUNT-3: nvgpu.ldmatrix
// TC-COUNT-4: nvgpu.mma.sync
// TC-COUNT-3: nvgpu.ldmatrix
// TC-COUNT-4: nvgpu.mma.sync
// TC: scf.yield
// TC: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// TC: arith.cmpi ult
// TC: arith.truncf %{{.*}} : f32 to f16
// TC: } else {
// TC: gpu.shuffle xor
// Without asynchronous copies: tiles of 64 steps through registers (rows
// padded to 72), the next tile's loads before the current tile's 16
// mma.sync per warp, a barrier on each side of them.
// With wgmma: the block's two warpgroups multiply from shared memory, the
// tiles stored as 8 x 8 core matrices ([stage, row / 8, k / 8, row % 8,
// k % 8]: a chunk of 8 steps is a core matrix's row); the descriptors
// hold the start address / 16, LBO 128 (the next core matrix along k)
// and SBO 512 (the next 8 rows: 32 steps of 16 bytes) / 16: 0x2000080000.
// Warpgroup g takes columns 32 g (m64n32k16), its W descriptor 2048 bytes
// on. Per tile: the copies' wait, the proxy fence, the barrier, then two
// wgmma (16 steps each, the descriptors 256 bytes = 16 units on) in a
// group waited for. Its thread's 16 accumulators go to rows 16 (warp % 4)
// + lane / 4 (+ 8).
// WG-LABEL: func.func @block_tensor_cores
// WG: scf.parallel (%{{.*}}, %{{.*}}, %[[WARP:.*]], %[[LANE:.*]]) = (%c0, %c0, %c0, %c0) to (%{{.*}}, %c2, %c8, %c32)
// WG: %[[X:.*]] = memref.alloca() : memref<4x8x4x8x8xf16, #gpu.address_space<workgroup>>
// WG: %[[W:.*]] = memref.alloca() : memref<4x8x4x8x8xf16, #gpu.address_space<workgroup>>
// WG: %[[GROUP:.*]] = arith.divui %[[WARP]], %c4
// WG: %[[XP:.*]] = memref.extract_aligned_pointer_as_index %[[X]]
// WG: %[[XI:.*]] = arith.index_castui %[[XP]] : index to i64
// WG: %[[XS:.*]] = arith.shrui %[[XI]], %c4_i64
// WG: %[[XA:.*]] = arith.andi %[[XS]], %c16383_i64
// WG: %[[XD:.*]] = arith.ori %[[XA]], %c137439477760_i64
// WG: %[[WP:.*]] = memref.extract_aligned_pointer_as_index %[[W]]
// WG: %[[WOFF:.*]] = arith.muli %[[GROUP]], %c2048
// WG: arith.addi %[[WP]], %[[WOFF]]
// WG: %[[WD:.*]] = arith.ori %{{.*}}, %c137439477760_i64
// A tile's wgmma group stays in flight across the next barrier, so the
// copies run 2 tiles ahead of the 4 stages (the stage of tile i - 1 is
// still read during tile i).
// WG: nvgpu.device_async_copy %arg0[%{{.*}}, %{{.*}}], %[[X]][%c0, %{{.*}}, %{{.*}}, %{{.*}}, %c0], 8 {bypassL1}
// WG: nvgpu.device_async_create_group
// WG: nvgpu.device_async_copy %arg0[%{{.*}}, %{{.*}}], %[[X]][%c1, %{{.*}}, %{{.*}}, %{{.*}}, %c0], 8 {bypassL1}
// WG: nvgpu.device_async_create_group
// WG-NOT: nvgpu.device_async_copy
// WG: scf.for %[[TILE:.*]] = %c0 to %c4 step %c1 iter_args(%[[ACC:.*]] = %{{.*}}, %{{.*}} = %{{.*}}) -> (!llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)>, !nvgpu.device.async.token)
// WG: nvgpu.device_async_wait %{{.*}} {numGroups = 1 : i32}
// WG-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// WG-NEXT: gpu.barrier
// WG-NEXT: %[[AHEAD:.*]] = arith.addi %[[TILE]], %c2
// WG: arith.remui %[[AHEAD]], %c4
// WG: nvgpu.device_async_create_group
// WG: nvvm.wgmma.fence.aligned
// WG: %[[STAGE:.*]] = arith.muli %{{.*}}, %c256
// WG: %[[S64:.*]] = arith.index_castui %[[STAGE]] : index to i64
// WG: %[[A0:.*]] = arith.addi %[[XD]], %[[S64]]
// WG: %[[B0:.*]] = arith.addi %[[WD]], %[[S64]]
// WG: %[[D0:.*]] = nvvm.wgmma.mma_async %[[A0]], %[[B0]], %[[ACC]], <m = 64, n = 32, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// WG: %[[NEXT:.*]] = arith.addi %[[STAGE]], %c16
// WG: %[[N64:.*]] = arith.index_castui %[[NEXT]] : index to i64
// WG: %[[A1:.*]] = arith.addi %[[XD]], %[[N64]]
// WG: %[[B1:.*]] = arith.addi %[[WD]], %[[N64]]
// WG: nvvm.wgmma.mma_async %[[A1]], %[[B1]], %[[D0]], <m = 64, n = 32, k = 16>
// WG-NEXT: nvvm.wgmma.commit.group.sync.aligned
// WG-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// WG: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// WG-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// WG-COUNT-16: llvm.extractvalue
// WG-NOT: nvgpu.mma.sync
// WG: return
// 128-row blocks: warpgroup g takes rows 64 g and all 64 columns
// (m64n64k16, 32 accumulators per thread), still 4 stages (the tiles are
// not padded: 12 KiB a stage).
// Without a group in flight: copies 3 tiles ahead, each group waited for
// at once.
// WGWAIT-LABEL: func.func @block_tensor_cores
// WGWAIT-COUNT-3: nvgpu.device_async_create_group
// WGWAIT: scf.for %[[TILE:.*]] = %c0 to %c4 step %c1
// WGWAIT: nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// WGWAIT: gpu.barrier
// WGWAIT-NEXT: arith.addi %[[TILE]], %c3
// WGWAIT: nvvm.wgmma.commit.group.sync.aligned
// WGWAIT-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// WGWAIT: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// WGWAIT-NOT: nvvm.wgmma.wait.group
// WGWAIT: return

// WG128-LABEL: func.func @block_tensor_cores
// WG128: memref.alloca() : memref<4x16x4x8x8xf16, #gpu.address_space<workgroup>>
// WG128: memref.alloca() : memref<4x8x4x8x8xf16, #gpu.address_space<workgroup>>
// WG128: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>
// WG128: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>
// WG128-COUNT-32: llvm.extractvalue
// 128 x 128 blocks: one block across the 128 columns (its loop folded), each
// warpgroup's 64 rows x 128 columns (m64n128k16, 64 accumulators), 3
// stages of 16 KiB. Blocks of 256 columns are 128 wide where 256 does
// not divide n (here 128): the same kernel.
// WGC-LABEL: func.func @block_tensor_cores
// WGC: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0) to (%{{.*}}, %c8, %c32)
// WGC: memref.alloca() : memref<3x16x4x8x8xf16, #gpu.address_space<workgroup>>
// WGC: memref.alloca() : memref<3x16x4x8x8xf16, #gpu.address_space<workgroup>>
// WGC: scf.for
// WGC: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// WGC: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>
// WGC: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 128, k = 16>
// WGC-COUNT-64: llvm.extractvalue
// With TMA (wgmma tma): the host makes a tensor map of x (its rows by
// 128 steps, rows 256 bytes apart, boxes of 64 rows x 32 steps swizzled
// in 64-byte spans) and of w (128 x 128); the kernel takes one buffer,
// aligns it to 1024 bytes (x's 4 stages of 4 KiB, w's, then 4
// mbarriers), thread 0 initializes the mbarriers (one arrival a phase)
// and acquires the maps (copied from the host) through the tensor-map
// proxy, then issues tiles 0 and 1 (2 ahead: a wgmma group in flight): the
// stage's 8192 bytes expected, x's box at (k 0, the block's first row)
// and w's at (k 0, its first column). Each tile waits for its stage's
// phase (tile / 4 % 2), the barrier, then thread 0 issues the tile 2
// ahead if there is one. The descriptors: LBO 16, SBO 512, 64-byte
// swizzle (bits 62-63: 2): 0x8000002000010000; 16 steps of k move them 32
// bytes (2 units) along the swizzled rows.
// TMA-LABEL: func.func @block_tensor_cores
// TMA: %[[XBASE:.*]] = memref.extract_aligned_pointer_as_index %arg0
// TMA: %[[XMAP:.*]] = func.call @__llmc_gpu_tensor_map(%{{.*}}, %{{.*}}, %c128_i64, %c256_i64, %c64_i32, %c32_i32, %c64_i32, %c0_i32)
// TMA: %[[WMAP:.*]] = func.call @__llmc_gpu_tensor_map(%{{.*}}, %c128_i64, %c128_i64, %c256_i64, %c64_i32, %c32_i32, %c64_i32, %c0_i32)
// TMA: scf.parallel
// TMA: %[[BUF:.*]] = memref.alloca() : memref<16912xf16, #gpu.address_space<workgroup>>
// TMA: %[[START:.*]] = memref.extract_aligned_pointer_as_index %[[BUF]]
// TMA: %[[UP:.*]] = arith.addi %[[START]], %c1023
// TMA: %[[XT:.*]] = arith.andi %[[UP]], %c-1024
// TMA: %[[WT:.*]] = arith.addi %[[XT]], %c16384
// TMA: %[[BARS:.*]] = arith.addi %[[XT]], %c32768
// TMA: arith.ori %{{.*}}, %c-9223371899415756800_i64
// TMA: %[[LEADER:.*]] = arith.cmpi eq, %{{.*}}, %c0
// TMA: scf.if %[[LEADER]] {
// TMA-COUNT-4: nvvm.mbarrier.init.shared %{{.*}}, %c1_i32
// TMA: nvvm.fence.mbarrier.init
// TMA-NEXT: llvm.inline_asm has_side_effects "fence.proxy.tensormap::generic.acquire.sys [$0], 128;", "l" %[[XMAP]]
// TMA-NEXT: llvm.inline_asm has_side_effects "fence.proxy.tensormap::generic.acquire.sys [$0], 128;", "l" %[[WMAP]]
// TMA: gpu.barrier
// TMA: %[[XP:.*]] = llvm.inttoptr %[[XMAP]] : i64 to !llvm.ptr
// TMA: %[[WP:.*]] = llvm.inttoptr %[[WMAP]] : i64 to !llvm.ptr
// TMA: scf.if %[[LEADER]] {
// TMA: nvvm.mbarrier.arrive.expect_tx.shared %[[B0:.*]], %c8192_i32
// TMA: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[XP]], %[[B0]], box[%c0_i32, %{{.*}}]
// TMA: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[WP]], %[[B0]], box[%c0_i32, %{{.*}}]
// TMA: nvvm.mbarrier.arrive.expect_tx.shared %[[B1:.*]], %c8192_i32
// TMA: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[XP]], %[[B1]], box[%c32_i32, %{{.*}}]
// TMA: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %[[WP]], %[[B1]], box[%c32_i32, %{{.*}}]
// TMA-NOT: nvvm.cp.async.bulk.tensor
// TMA: scf.for %[[TILE:.*]] = %c0 to %c4 step %c1
// TMA: %[[USE:.*]] = arith.divui %[[TILE]], %c4
// TMA: %[[PARITY:.*]] = arith.remui %[[USE]], %c2
// TMA: %[[P32:.*]] = arith.index_castui %[[PARITY]] : index to i32
// TMA: nvvm.mbarrier.try_wait.parity.shared %{{.*}}, %[[P32]], %c10000000_i32
// TMA-NEXT: gpu.barrier
// TMA-NEXT: %[[AHEAD:.*]] = arith.addi %[[TILE]], %c2
// TMA-NEXT: %[[INSIDE:.*]] = arith.cmpi ult, %[[AHEAD]], %c4
// TMA-NEXT: %[[ISSUE:.*]] = arith.andi %[[LEADER]], %[[INSIDE]]
// TMA-NEXT: scf.if %[[ISSUE]] {
// TMA: nvvm.mbarrier.arrive.expect_tx.shared
// TMA-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global
// TMA: nvvm.wgmma.fence.aligned
// TMA: nvvm.wgmma.mma_async
// TMA: arith.addi %{{.*}}, %c2 : index
// TMA: nvvm.wgmma.mma_async
// TMA-NEXT: nvvm.wgmma.commit.group.sync.aligned
// TMA-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// TMA-NOT: nvgpu.device_async_copy
// TMA: nvvm.wgmma.wait.group.sync.aligned 0
// TMA: func.func private @__llmc_gpu_tensor_map(i64, i64, i64, i64, i32, i32, i32, i32) -> i64
// With a producer warp (tma-producer): 9 warps, the loop marked to take
// 288 threads a block; after the 4 full mbarriers 4 empty ones (8
// bytes each: the buffer is 32 bytes longer). Lane 0 of warp 8 initializes
// them (full: one arrival a phase, empty: one from each of the 8 consumer
// warps) and acquires the maps; one block barrier. The consumers (warps 0
// to 7) wait for their tile's phase of its full mbarrier, multiply with a
// group in flight, and each warp's lane 0 releases the stage of the tile
// before (from tile 1 on) on its empty mbarrier; no barrier in the loop.
// Only they store. The producer warp's lanes wait for the phase of the
// stage's use before on its empty mbarrier (parity (tile / 4 + 1) % 2: the
// first use waits for nothing), then its lane 0 issues the tile.
// PROD-LABEL: func.func @block_tensor_cores
// PROD: scf.parallel (%{{.*}}, %{{.*}}, %[[WARP:.*]], %[[LANE:.*]]) = {{.*}} to ({{.*}}, %c2, %c9, %c32)
// PROD: memref.alloca() : memref<16928xf16, #gpu.address_space<workgroup>>
// PROD: %[[FULL:.*]] = arith.addi %{{.*}}, %c32768 : index
// PROD: %[[EMPTY:.*]] = arith.addi %{{.*}}, %c32800 : index
// PROD: %[[CONSUMER:.*]] = arith.cmpi ult, %[[WARP]], %c8 : index
// PROD: %[[LANE0:.*]] = arith.cmpi eq, %[[LANE]], %c0 : index
// PROD: %[[PRODUCER:.*]] = arith.cmpi uge, %[[WARP]], %c8 : index
// PROD: %[[INIT:.*]] = arith.andi %[[PRODUCER]], %[[LANE0]] : i1
// PROD: scf.if %[[INIT]] {
// PROD-COUNT-4: nvvm.mbarrier.init.shared %{{.*}}, %c8_i32
// PROD: nvvm.fence.mbarrier.init
// PROD: fence.proxy.tensormap::generic.acquire.sys
// PROD: fence.proxy.tensormap::generic.acquire.sys
// PROD: gpu.barrier
// PROD-NOT: gpu.barrier
// PROD: scf.if %[[CONSUMER]] {
// PROD: scf.for %[[TILE:.*]] = %c0 to %c4 step %c1
// PROD: nvvm.mbarrier.try_wait.parity.shared
// PROD: nvvm.wgmma.mma_async
// PROD: nvvm.wgmma.wait.group.sync.aligned 1
// PROD-NEXT: %[[LATER:.*]] = arith.cmpi uge, %[[TILE]], %c1 : index
// PROD-NEXT: %[[RELEASE:.*]] = arith.andi %[[LANE0]], %[[LATER]] : i1
// PROD-NEXT: scf.if %[[RELEASE]] {
// PROD-NEXT: %[[DONE:.*]] = arith.subi %[[TILE]], %c1 : index
// PROD-NEXT: %[[STAGE:.*]] = arith.remui %[[DONE]], %c4 : index
// PROD-NEXT: %[[AT:.*]] = arith.muli %[[STAGE]], %c8 : index
// PROD-NEXT: arith.addi %[[EMPTY]], %[[AT]] : index
// PROD: nvvm.mbarrier.arrive.shared
// PROD: nvvm.wgmma.wait.group.sync.aligned 0
// PROD: memref.store
// PROD: } else {
// PROD-NEXT: scf.for %[[PTILE:.*]] = %c0 to %c4 step %c1 {
// PROD: arith.addi %[[EMPTY]]
// PROD: %[[USE:.*]] = arith.divui %[[PTILE]], %c4 : index
// PROD-NEXT: %[[BEFORE:.*]] = arith.addi %[[USE]], %c1 : index
// PROD-NEXT: %[[PARITY:.*]] = arith.remui %[[BEFORE]], %c2 : index
// PROD-NEXT: %[[P32:.*]] = arith.index_castui %[[PARITY]] : index to i32
// PROD-NEXT: nvvm.mbarrier.try_wait.parity.shared %{{.*}}, %[[P32]]
// PROD-NEXT: scf.if %[[LANE0]] {
// PROD: nvvm.mbarrier.arrive.expect_tx.shared %{{.*}}, %c8192_i32
// PROD-COUNT-2: nvvm.cp.async.bulk.tensor.shared.cluster.global
// PROD-NOT: gpu.barrier
// PROD: } {llmc.block_threads = 288 : i64}
// Mapped: blocks of 32 x 9 threads (the default budget is 256).
// PRODMAP-LABEL: func.func @block_tensor_cores
// PRODMAP: %[[WARPS:.*]] = arith.muli %{{.*}}, %c9{{(_[0-9]+)?}} : index
// PRODMAP: %[[LANES:.*]] = arith.muli %{{.*}}, %c32{{(_[0-9]+)?}} : index
// PRODMAP: scf.parallel {{.*}} to (%{{.*}}, %c9, %c32) step (%{{.*}}, %[[WARPS]], %[[LANES]])
// PRODMAP-NEXT: scf.parallel {{.*}} to (%{{.*}}, %[[WARPS]], %[[LANES]])
// Split k (mma-split-k): the host reads the GPU's multiprocessors from the
// global the runtime sets (132 until then; clamped to 1-512, the counters'
// slots) and takes splits enough for two blocks on each where the tiles
// are fewer than the multiprocessors, each of 2 stages of k or more (here
// at most 2 of the 4), and a workspace of their partial totals; the splits
// are the grid's outer dimension, each running its stages of k (the
// copies past its last read nothing). With 2 splits or more, every
// thread stores its 16 partial totals, thread 0 fences and counts the
// block's arrival at its tile's counter (the last one resets it), and
// the last block to arrive adds the splits' totals in their order before
// the epilogue; with one, the epilogue as unsplit.
// SPLIT: memref.global "private" @__llmc_split_k_counters : memref<512xi32> = dense<0>
// SPLIT: memref.global "public" @__llmc_gpu_multiprocessors : memref<i64> = dense<132>
// SPLIT-LABEL: func.func @block_tensor_cores
// SPLIT: %[[ROWBLOCKS:.*]] = arith.divui %{{.*}}, %c64
// SPLIT: %[[TILES:.*]] = arith.muli %[[ROWBLOCKS]], %c2
// SPLIT: %[[SMGLOBAL:.*]] = memref.get_global @__llmc_gpu_multiprocessors : memref<i64>
// SPLIT: %[[SM64:.*]] = memref.load %[[SMGLOBAL]][] : memref<i64>
// SPLIT: %[[SMINDEX:.*]] = arith.index_cast %[[SM64]] : i64 to index
// SPLIT: %[[SMLOW:.*]] = arith.minsi %[[SMINDEX]], %c512 : index
// SPLIT: %[[SMS:.*]] = arith.maxsi %[[SMLOW]], %c1 : index
// SPLIT: %[[TARGET:.*]] = arith.muli %[[SMS]], %c2 : index
// SPLIT: %[[WANTED:.*]] = arith.minui %{{.*}}, %c2
// SPLIT: %[[FEW:.*]] = arith.cmpi ult, %[[TILES]], %[[SMS]]
// SPLIT: arith.select %[[FEW]], %[[WANTED]], %c1
// SPLIT: %[[STAGES:.*]] = arith.divui
// SPLIT: %[[SPLITS:.*]] = arith.divui
// SPLIT: %[[APART:.*]] = arith.cmpi ugt, %[[SPLITS]], %c1
// SPLIT: %[[WS:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// SPLIT: scf.parallel (%[[SPLIT:.*]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0, %c0, %c0) to (%[[SPLITS]], %[[ROWBLOCKS]], %c2, %c8, %c32)
// SPLIT: %[[FIRST:.*]] = arith.muli %[[SPLIT]], %[[STAGES]]
// SPLIT: %[[LEFT:.*]] = arith.subi %c4, %[[FIRST]]
// SPLIT: %[[COUNT:.*]] = arith.minui %[[STAGES]], %[[LEFT]]
// SPLIT: nvgpu.device_async_copy {{.*}}, 8, %{{.*}} {bypassL1}
// SPLIT: scf.for %{{.*}} = %c0 to %[[COUNT]] step %c1
// SPLIT: scf.if %[[APART]] {
// SPLIT-COUNT-16: memref.store %{{.*}}, %[[WS]]
// SPLIT: gpu.barrier
// SPLIT: memref.get_global @__llmc_split_k_counters
// SPLIT-NEXT: llvm.call_intrinsic "llvm.nvvm.membar.gl"
// SPLIT-NEXT: memref.atomic_rmw addi %c1_i32
// SPLIT: gpu.barrier
// SPLIT: scf.if
// SPLIT-NEXT: llvm.call_intrinsic "llvm.nvvm.membar.gl"
// SPLIT-NEXT: scf.for %{{.*}} = %c0 to %[[SPLITS]] step %c1
// SPLIT: memref.load %[[WS]]
// SPLIT: arith.truncf
// SPLIT: } else {
// SPLIT: arith.truncf
// SPLIT: memref.dealloc %[[WS]]
// TCREG-LABEL: func.func @block_tensor_cores
// TCREG: %[[X:.*]] = memref.alloca() : memref<1x64x72xf16, #gpu.address_space<workgroup>>
// TCREG-NOT: nvgpu.device_async_copy
// TCREG: scf.for %{{.*}} = %c0 to %c128 step %c64 iter_args(
// TCREG-COUNT-16: memref.store %{{.*}}, %[[X]]
// TCREG: gpu.barrier
// TCREG: arith.minui %{{.*}}, %c64
// TCREG: memref.load %arg1
// TCREG-COUNT-16: nvgpu.mma.sync
// TCREG: gpu.barrier
// TCREG: scf.yield
func.func @block_tensor_cores(%x: memref<?x128xf16>, %w: memref<128x128xf16>) -> memref<?x128xf16> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %s = memref.dim %x, %c0 : memref<?x128xf16>
  %acc = memref.alloc(%s) : memref<?x128xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<?x128xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(n, s, k) -> (s, k)>,
                       affine_map<(n, s, k) -> (n, k)>,
                       affine_map<(n, s, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x128xf16>, memref<128x128xf16>)
      outs(%acc : memref<?x128xf32>) {
  ^bb0(%a: f16, %c: f16, %o: f32):
    %ea = arith.extf %a : f16 to f32
    %ec = arith.extf %c : f16 to f32
    %m = arith.mulf %ea, %ec : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  }
  %out = memref.alloc(%s) : memref<?x128xf16>
  linalg.generic {
      indexing_maps = [affine_map<(s, n) -> (s, n)>,
                       affine_map<(s, n) -> (s, n)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%acc : memref<?x128xf32>) outs(%out : memref<?x128xf16>) {
  ^bb0(%t: f32, %o: f16):
    %h = arith.truncf %t : f32 to f16
    linalg.yield %h : f16
  }
  memref.dealloc %acc : memref<?x128xf32>
  return %out : memref<?x128xf16>
}

// -----

// Attention's values with tensor cores: out[b, s, h, d] = sum_t p[b, h, s,
// t] v[b, t, d]. Batch b (both use it), rows (h, s) (p only), n = d (v
// only), a dynamic k = t: the block tiles, one grid dimension per batch
// loop; past t, p's elements are 0 and v's those of the last key. 16 rows
// or more take them.
// TC-LABEL: func.func @batched_values
// TC: %[[MANY:.*]] = arith.cmpi uge, %{{.*}}, %c16
// TC: scf.if %[[MANY]]
// (The single tile of columns, d = 64, folds away.)
// TC: scf.parallel (%[[B:.*]], %{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0, %c0) to (%{{.*}}, %{{.*}}, %c8, %c32)
// TC: %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %[[T:.*]] : index
// TC-NEXT: arith.minui
// TC: %[[P:.*]] = memref.load
// TC: arith.select %[[IN]], %[[P]], %cst
// TC: scf.for %{{.*}} = %c0 to %[[T]] step %c64
// TC-COUNT-16: nvgpu.mma.sync
// TC: scf.yield
// TC: } else {
func.func @batched_values(%p: memref<?x2x?x?xf16>, %v: memref<?x?x64xf16>, %out: memref<?x?x2x64xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(b, s, h, d, t) -> (b, h, s, t)>,
                       affine_map<(b, s, h, d, t) -> (b, t, d)>,
                       affine_map<(b, s, h, d, t) -> (b, s, h, d)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : memref<?x2x?x?xf16>, memref<?x?x64xf16>)
      outs(%out : memref<?x?x2x64xf32>) {
  ^bb0(%a: f16, %c: f16, %o: f32):
    %ea = arith.extf %a : f16 to f32
    %ec = arith.extf %c : f16 to f32
    %m = arith.mulf %ea, %ec : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Values read along d, the innermost parallel loop (f32: no tensor cores):
// from 32768 outputs a thread each, consecutive threads on consecutive d,
// the sum over t a loop in each; fewer keep a warp per output.
// CHECK-LABEL: func.func @thread_values
// CHECK: %[[MANY:.*]] = arith.cmpi uge, %{{.*}}, %c32768
// CHECK: scf.if %[[MANY]]
// CHECK: scf.parallel (%[[S:.*]], %[[D:.*]]) = (%c0, %c0) to (%{{.*}}, %c64)
// CHECK: scf.for %[[T:.*]] = %c0 to %{{.*}} step %c1 iter_args(%{{.*}} = %cst) -> (f32)
// CHECK: memref.load %arg1[%[[T]], %[[D]]]
// CHECK: memref.store %{{.*}}, %arg2[%[[S]], %[[D]]]
// CHECK: } else {
// CHECK: gpu.shuffle xor
// The scores beside them (keys read along d, the reduction) keep a warp.
// CHECK-LABEL: func.func @warp_scores
// CHECK-NOT: %c32768
// CHECK: gpu.shuffle xor
func.func @thread_values(%p: memref<?x?xf32>, %v: memref<?x64xf32>, %out: memref<?x64xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(s, d, t) -> (s, t)>,
                       affine_map<(s, d, t) -> (t, d)>,
                       affine_map<(s, d, t) -> (s, d)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%p, %v : memref<?x?xf32>, memref<?x64xf32>)
      outs(%out : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  }
  return
}
func.func @warp_scores(%q: memref<?x64xf32>, %k: memref<?x64xf32>, %out: memref<?x?xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(s, t, d) -> (s, d)>,
                       affine_map<(s, t, d) -> (t, d)>,
                       affine_map<(s, t, d) -> (s, t)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<?x64xf32>, memref<?x64xf32>)
      outs(%out : memref<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// 2048 outputs of 2048-long f16 dot products (a decode step's q
// projection): 2 warps per output, each 4 vector steps of 8 per lane
// (lanes from 8 (32 w + lane), 512 apart), 4 outputs per block.
// CHECK-LABEL: func.func @two_warps
// CHECK: scf.parallel (%[[S:.*]], %[[N:.*]], %[[W:.*]], %[[LANE:.*]]) = (%c0, %c0, %c0, %c0) to (%{{.*}}, %c2048, %c2, %c32)
// CHECK: scf.for %{{.*}} = %{{.*}} to %c2048 step %c2048 iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (f32, f32, f32, f32)
// CHECK: memref.alloca() : memref<32xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// MAP-LABEL: func.func @two_warps
// MAP: mapping = [#gpu.loop_dim_map<processor = thread_z{{.*}}>, #gpu.loop_dim_map<processor = thread_y{{.*}}>, #gpu.loop_dim_map<processor = thread_x{{.*}}>]
func.func @two_warps(%x: memref<?x2048xf16>, %w: memref<2048x2048xf16>, %y: memref<?x2048xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x2048xf16>, memref<2048x2048xf16>)
      outs(%y : memref<?x2048xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The 1.1B model's down projection at decode (2048 outputs of 5632-long
// dot products): 2 warps per output, 11 vector steps of 8 per lane; a
// loop of 4 steps per iteration (its loads in flight together) up to
// element 4096 (past the lane's start), then the 3 steps that remain
// (elements 4096, 4608 and 5120 on), into the first 3 partials.
// CHECK-LABEL: func.func @down_projection
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0, %c0) to (%{{.*}}, %c2048, %c2, %c32)
// CHECK: %[[P:.*]]:4 = scf.for %{{.*}} = %[[START:.*]] to %c4096 step %c2048 iter_args({{.*}}) -> (f32, f32, f32, f32)
// CHECK: scf.yield
// CHECK-NOT: scf.for
// CHECK: arith.addi %[[START]], %c4096
// CHECK: arith.addi %[[START]], %c4608
// CHECK: arith.addi %[[START]], %c5120
// CHECK: arith.addi %[[START]], %c5127
// CHECK-NOT: arith.addi %[[START]]
// CHECK: arith.addf %[[P]]#0
// CHECK: arith.addf %[[P]]#1
// CHECK: arith.addf %[[P]]#2
// CHECK: memref.alloca() : memref<32xf32, #gpu.address_space<workgroup>>
func.func @down_projection(%x: memref<?x5632xf16>, %w: memref<2048x5632xf16>, %y: memref<?x2048xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x5632xf16>, memref<2048x5632xf16>)
      outs(%y : memref<?x2048xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Few outputs (256: a decode step's k projection) whose lanes' 16-byte
// steps do not divide among 8 warps (1536 = 32 lanes x 8 elements x 6
// steps): 2 warps per output, 3 vector steps each, 4 outputs a block; 8
// warps would read 2 bytes a lane and step.
// CHECK-LABEL: func.func @kv_projection
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0, %c0) to (%{{.*}}, %c256, %c2, %c32)
// CHECK: scf.for %{{.*}} = %{{.*}} to %c1536 step %c1536 iter_args({{.*}}) -> (f32, f32, f32)
// CHECK: memref.alloca() : memref<32xf32, #gpu.address_space<workgroup>>
func.func @kv_projection(%x: memref<?x1536xf16>, %w: memref<256x1536xf16>, %y: memref<?x256xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x1536xf16>, memref<256x1536xf16>)
      outs(%y : memref<?x256xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A weight [k, n] (GPT-2's Conv1D): a chunk's 8 steps of k are not
// consecutive in w, so its tiles go through registers, no cp.async.
// TC-LABEL: func.func @weight_k_n
// TC: memref.alloca() : memref<1x64x72xf16, #gpu.address_space<workgroup>>
// TC-NOT: nvgpu.device_async_copy
// TC: nvgpu.mma.sync
// TC: } else {
func.func @weight_k_n(%x: memref<?x128xf16>, %w: memref<128x128xf16>, %y: memref<?x128xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (k, n)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x128xf16>, memref<128x128xf16>)
      outs(%y : memref<?x128xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// SwiGLU: the up projection's consumer reads the gate projection's output
// too: both reductions run in the same warps, each lane's step loads x once
// and both weights, two butterflies, and lane 0 runs the consumer on the
// two totals; the gate's buffer is neither filled nor written. With tensor
// cores (8 rows or more) the two are block-tile kernels of their own, the
// gate's written and the consumer reading it.
// CHECK-LABEL: func.func @swiglu
// CHECK-NOT: linalg.fill
// CHECK: scf.parallel
// CHECK: scf.for
// CHECK-COUNT-1: memref.load %arg0
// CHECK-NOT: memref.load %arg0
// CHECK: memref.load %arg2
// CHECK: memref.load %arg1
// CHECK: scf.yield
// CHECK-COUNT-10: gpu.shuffle xor
// CHECK: scf.if
// CHECK: math.exp
// CHECK: arith.mulf
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK-NEXT: memref.store %{{.*}}, %[[OUT:.*]][
// CHECK-NOT: linalg.generic
// CHECK: return %[[OUT]]
// TC-LABEL: func.func @swiglu
// TC: %[[GATE:.*]] = memref.alloc(%{{.*}}) : memref<?x128xf32>
// TC-NOT: linalg.fill
// TC: scf.if
// TC: scf.parallel
// TC-COUNT-8: nvgpu.mma.sync
// TC: memref.store %{{.*}}, %[[GATE]][
// TC: scf.parallel
// TC-COUNT-8: nvgpu.mma.sync
// TC: memref.load %[[GATE]][
// TC: math.exp
// TC: } else {
// TC: scf.parallel
// TC-COUNT-10: gpu.shuffle xor
// TC-NOT: memref.load %[[GATE]][
// TC: math.exp
// TC: return
func.func @swiglu(%x: memref<?x64xf16>, %wg: memref<128x64xf16>, %wu: memref<128x64xf16>) -> memref<?x128xf16> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = memref.dim %x, %c0 : memref<?x64xf16>
  %gate = memref.alloc(%rows) : memref<?x128xf32>
  linalg.fill ins(%zero : f32) outs(%gate : memref<?x128xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wg : memref<?x64xf16>, memref<128x64xf16>)
      outs(%gate : memref<?x128xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  %out = memref.alloc(%rows) : memref<?x128xf16>
  %up = memref.alloc(%rows) : memref<?x128xf32>
  linalg.fill ins(%zero : f32) outs(%up : memref<?x128xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wu : memref<?x64xf16>, memref<128x64xf16>)
      outs(%up : memref<?x128xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(s, n) -> (s, n)>,
                       affine_map<(s, n) -> (s, n)>,
                       affine_map<(s, n) -> (s, n)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%gate, %up : memref<?x128xf32>, memref<?x128xf32>)
      outs(%out : memref<?x128xf16>) {
  ^bb0(%g: f32, %u: f32, %o: f16):
    %one = arith.constant 1.0 : f32
    %ng = arith.negf %g : f32
    %e = math.exp %ng : f32
    %d = arith.addf %one, %e : f32
    %sg = arith.divf %g, %d : f32
    %h = arith.mulf %sg, %u : f32
    %t = arith.truncf %h : f32 to f16
    linalg.yield %t : f16
  }
  memref.dealloc %gate : memref<?x128xf32>
  memref.dealloc %up : memref<?x128xf32>
  return %out : memref<?x128xf16>
}

// -----

// RMSNorm read only by two projections (as their x): the norm's kernel
// runs only where they run on tensor cores (8 rows or more, their
// condition); with fewer rows (decode) their warps sum the row's squares
// themselves (x alone; 8 warps an output here, each a slice, a butterfly,
// their totals meeting in shared memory), then scale x's elements as they
// load them (x, g: the norm's own body), never reading the norm's buffer.
// TC-LABEL: func.func @norm_prologue
// TC: %[[N:.*]] = memref.alloc(%{{.*}}) : memref<?x64xf16>
// TC: %[[MANY:.*]] = arith.cmpi uge, %{{.*}}, %c8
// TC-NEXT: scf.if %[[MANY]] {
// TC: gpu.shuffle xor
// TC: math.rsqrt
// TC: memref.store %{{.*}}, %[[N]][
// TC: arith.cmpi uge
// TC: nvgpu.mma.sync
// TC: } else {
// TC-NOT: memref.load %[[N]]
// TC: scf.for
// TC-NEXT: memref.load %arg0
// TC-NOT: memref.load %[[N]]
// TC-COUNT-5: gpu.shuffle xor
// TC-NOT: memref.load %[[N]]
// TC: gpu.barrier
// TC-NOT: memref.load %[[N]]
// TC: scf.for
// TC-NEXT: memref.load %arg0
// TC-NEXT: memref.load %arg1
// TC-NOT: memref.load %[[N]]
// TC: math.rsqrt
// TC-NOT: memref.load %[[N]]
// TC: memref.load %arg2
// TC-NOT: memref.load %[[N]]
// TC: arith.cmpi uge
// TC: return
// NONORM-LABEL: func.func @norm_prologue
// NONORM: %[[N:.*]] = memref.alloc(%{{.*}}) : memref<?x64xf16>
// NONORM-NOT: arith.cmpi uge
// NONORM: math.rsqrt
// NONORM: } else {
// NONORM: memref.load %[[N]]
func.func @norm_prologue(%x: memref<?x64xf16>, %g: memref<64xf16>, %wq: memref<32x64xf16>, %wk: memref<32x64xf16>) -> (memref<?x32xf16>, memref<?x32xf16>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %inv = arith.constant 1.5625e-2 : f32
  %rows = memref.dim %x, %c0 : memref<?x64xf16>
  %sum = memref.alloc(%rows) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<?xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(s, k) -> (s, k)>, affine_map<(s, k) -> (s)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf16>) outs(%sum : memref<?xf32>) {
  ^bb0(%a: f16, %o: f32):
    %e = arith.extf %a : f16 to f32
    %m = arith.mulf %e, %e : f32
    %s = arith.addf %m, %o : f32
    linalg.yield %s : f32
  }
  %n = memref.alloc(%rows) : memref<?x64xf16>
  linalg.generic {
      indexing_maps = [affine_map<(s, k) -> (s, k)>, affine_map<(s, k) -> (s)>,
                       affine_map<(s, k) -> (k)>, affine_map<(s, k) -> (s, k)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum, %g : memref<?x64xf16>, memref<?xf32>, memref<64xf16>)
      outs(%n : memref<?x64xf16>) {
  ^bb0(%a: f16, %t: f32, %w: f16, %o: f16):
    %mean = arith.mulf %t, %inv : f32
    %v = arith.addf %mean, %eps : f32
    %r = math.rsqrt %v : f32
    %e = arith.extf %a : f16 to f32
    %y = arith.mulf %e, %r : f32
    %h = arith.truncf %y : f32 to f16
    %z = arith.mulf %w, %h : f16
    linalg.yield %z : f16
  }
  %q = memref.alloc(%rows) : memref<?x32xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<?x32xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%n, %wq : memref<?x64xf16>, memref<32x64xf16>)
      outs(%q : memref<?x32xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  %q16 = memref.alloc(%rows) : memref<?x32xf16>
  linalg.generic {
      indexing_maps = [affine_map<(s, n) -> (s, n)>, affine_map<(s, n) -> (s, n)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%q : memref<?x32xf32>) outs(%q16 : memref<?x32xf16>) {
  ^bb0(%a: f32, %o: f16):
    %t = arith.truncf %a : f32 to f16
    linalg.yield %t : f16
  }
  %k = memref.alloc(%rows) : memref<?x32xf32>
  linalg.fill ins(%zero : f32) outs(%k : memref<?x32xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%n, %wk : memref<?x64xf16>, memref<32x64xf16>)
      outs(%k : memref<?x32xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  %k16 = memref.alloc(%rows) : memref<?x32xf16>
  linalg.generic {
      indexing_maps = [affine_map<(s, n) -> (s, n)>, affine_map<(s, n) -> (s, n)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%k : memref<?x32xf32>) outs(%k16 : memref<?x32xf16>) {
  ^bb0(%a: f32, %o: f16):
    %t = arith.truncf %a : f32 to f16
    linalg.yield %t : f16
  }
  memref.dealloc %sum : memref<?xf32>
  memref.dealloc %n : memref<?x64xf16>
  memref.dealloc %q : memref<?x32xf32>
  memref.dealloc %k : memref<?x32xf32>
  return %q16, %k16 : memref<?x32xf16>, memref<?x32xf16>
}

// -----

// The norm's result read by something else too (returned): its kernel
// always runs, and the projection reads it.
// TC-LABEL: func.func @norm_read_elsewhere
// TC: %[[N:.*]] = memref.alloc(%{{.*}}) : memref<?x64xf16>
// TC-NOT: arith.cmpi uge
// TC: math.rsqrt
// TC: } else {
// TC: memref.load %[[N]]
func.func @norm_read_elsewhere(%x: memref<?x64xf16>, %g: memref<64xf16>, %wq: memref<32x64xf16>, %wk: memref<32x64xf16>) -> (memref<?x32xf16>, memref<?x64xf16>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %inv = arith.constant 1.5625e-2 : f32
  %rows = memref.dim %x, %c0 : memref<?x64xf16>
  %sum = memref.alloc(%rows) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<?xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(s, k) -> (s, k)>, affine_map<(s, k) -> (s)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<?x64xf16>) outs(%sum : memref<?xf32>) {
  ^bb0(%a: f16, %o: f32):
    %e = arith.extf %a : f16 to f32
    %m = arith.mulf %e, %e : f32
    %s = arith.addf %m, %o : f32
    linalg.yield %s : f32
  }
  %n = memref.alloc(%rows) : memref<?x64xf16>
  linalg.generic {
      indexing_maps = [affine_map<(s, k) -> (s, k)>, affine_map<(s, k) -> (s)>,
                       affine_map<(s, k) -> (k)>, affine_map<(s, k) -> (s, k)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum, %g : memref<?x64xf16>, memref<?xf32>, memref<64xf16>)
      outs(%n : memref<?x64xf16>) {
  ^bb0(%a: f16, %t: f32, %w: f16, %o: f16):
    %mean = arith.mulf %t, %inv : f32
    %v = arith.addf %mean, %eps : f32
    %r = math.rsqrt %v : f32
    %e = arith.extf %a : f16 to f32
    %y = arith.mulf %e, %r : f32
    %h = arith.truncf %y : f32 to f16
    %z = arith.mulf %w, %h : f16
    linalg.yield %z : f16
  }
  %q = memref.alloc(%rows) : memref<?x32xf32>
  linalg.fill ins(%zero : f32) outs(%q : memref<?x32xf32>)
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%n, %wq : memref<?x64xf16>, memref<32x64xf16>)
      outs(%q : memref<?x32xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  %q16 = memref.alloc(%rows) : memref<?x32xf16>
  linalg.generic {
      indexing_maps = [affine_map<(s, n) -> (s, n)>, affine_map<(s, n) -> (s, n)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%q : memref<?x32xf32>) outs(%q16 : memref<?x32xf16>) {
  ^bb0(%a: f32, %o: f16):
    %t = arith.truncf %a : f32 to f16
    linalg.yield %t : f16
  }
  memref.dealloc %sum : memref<?xf32>
  memref.dealloc %q : memref<?x32xf32>
  return %q16, %n : memref<?x32xf16>, memref<?x64xf16>
}
