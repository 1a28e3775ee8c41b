// RUN: llmc-opt %s --split-input-file --verify-diagnostics --llmc-gpu-map-parallel-loops
// RUN: not llmc-opt %s --split-input-file --llmc-gpu-map-parallel-loops=threads=2048 2>&1 | FileCheck %s --check-prefix=THREADS
// RUN: not llmc-opt %s --split-input-file --llmc-gpu-prepare-launches 2>&1 | FileCheck %s --check-prefix=UNMAPPED

// THREADS: error: llmc-gpu-map-parallel-loops: threads must be in [1, 1024], found 2048
// UNMAPPED: error: this loop nest was not mapped to the GPU (convert-parallel-loops-to-gpu left it on the host)

// A reduction in a parallel loop has no GPU mapping yet: one error.
func.func @reduction(%a: memref<16xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{a parallel loop with reductions cannot be mapped to the GPU}}
  %sum = scf.parallel (%i) = (%c0) to (%c16) step (%c1) init (%zero) -> f32 {
    %x = memref.load %a[%i] : memref<16xf32>
    scf.reduce(%x : f32) {
    ^bb0(%l: f32, %r: f32):
      %s = arith.addf %l, %r : f32
      scf.reduce.return %s : f32
    }
  }
  return %sum : f32
}

// -----

// The same when the reduction is nested in a loop that would map.
func.func @nested_reduction(%a: memref<4x16xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    // expected-error @+1 {{a parallel loop with reductions cannot be mapped to the GPU}}
    %sum = scf.parallel (%j) = (%c0) to (%c16) step (%c1) init (%zero) -> f32 {
      %x = memref.load %a[%i, %j] : memref<4x16xf32>
      scf.reduce(%x : f32) {
      ^bb0(%l: f32, %r: f32):
        %s = arith.addf %l, %r : f32
        scf.reduce.return %s : f32
      }
    }
    memref.store %sum, %out[%i] : memref<4xf32>
    scf.reduce
  }
  return
}
