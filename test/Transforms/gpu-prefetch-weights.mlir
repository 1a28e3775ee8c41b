// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores prefetch-weights" --canonicalize --cse | FileCheck %s
// RUN: llmc-opt %s --llmc-gpu-warp-reductions="tensor-cores prefetch-weights" --convert-linalg-to-parallel-loops --llmc-gpu-map-parallel-loops --convert-parallel-loops-to-gpu --llmc-gpu-prepare-launches --canonicalize --cse --llmc-gpu-fuse-launches | FileCheck %s --check-prefix=FUSED

// With prefetch-weights, a decode step's warp reductions that read model
// parameters (an llm.param_buffer, or a layer's argument that every call
// passes one) let the next kernel launch, prefetch their lanes' weight
// elements into L2 (one prefetch.global.L2 per step of the lane: 4096
// of k over 8 warps of 32 lanes, 8 elements a step, are 2 steps, 8192
// are 4) and only
// then wait for the kernel before: nothing of x is read before the wait.

llm.param @wq : tensor<64x4096xf16> from "wq"
llm.param @wo : tensor<64x8192xf16> from "wo"

// CHECK-LABEL: func.func @layer
// CHECK: scf.if
// CHECK: } else {
// CHECK: scf.parallel
// CHECK: llvm.inline_asm has_side_effects "griddepcontrol.launch_dependents;", ""
// CHECK: %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %arg1
// CHECK: %[[ADDRESS:.*]] = arith.index_castui %{{.*}} : index to i64
// CHECK-NEXT: llvm.inline_asm has_side_effects "prefetch.global.L2 [$0];", "l" %[[ADDRESS]] : (i64) -> ()
// CHECK: llvm.inline_asm has_side_effects "prefetch.global.L2 [$0];"
// CHECK-NOT: prefetch.global.L2
// CHECK: llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
// CHECK-NOT: griddepcontrol
// CHECK: memref.load %arg0
// CHECK: return
func.func @layer(%x: memref<?x4096xf16>, %w: memref<64x4096xf16>,
                 %y: memref<?x64xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x4096xf16>, memref<64x4096xf16>)
      outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

// A parameter read directly: the lane's four steps prefetched.
// CHECK-LABEL: func.func @head
// CHECK: llm.param_buffer @wo
// CHECK: griddepcontrol.launch_dependents
// CHECK-COUNT-4: prefetch.global.L2
// CHECK-NEXT: griddepcontrol.wait
func.func @head(%x: memref<?x8192xf16>, %y: memref<?x64xf32>) {
  %w = llm.param_buffer @wo : memref<64x8192xf16>
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x8192xf16>, memref<64x8192xf16>)
      outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

// A layer argument that one call passes something other than a parameter
// is no weight: no prefetch, and no wait of its own (the GPU pipeline's
// llmc-gpu-dependent-launches adds one at the kernel's start).
// CHECK-LABEL: func.func @activations
// CHECK-NOT: griddepcontrol
// CHECK-NOT: prefetch
// CHECK: return
func.func @activations(%x: memref<?x4096xf16>, %w: memref<64x4096xf16>,
                       %y: memref<?x64xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x4096xf16>, memref<64x4096xf16>)
      outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}

func.func @step(%x: memref<?x4096xf16>, %other: memref<64x4096xf16>,
                %y: memref<?x64xf32>) {
  %w = llm.param_buffer @wq : memref<64x4096xf16>
  call @layer(%x, %w, %y) : (memref<?x4096xf16>, memref<64x4096xf16>, memref<?x64xf32>) -> ()
  call @layer(%x, %w, %y) : (memref<?x4096xf16>, memref<64x4096xf16>, memref<?x64xf32>) -> ()
  call @activations(%x, %w, %y) : (memref<?x4096xf16>, memref<64x4096xf16>, memref<?x64xf32>) -> ()
  call @activations(%x, %other, %y) : (memref<?x4096xf16>, memref<64x4096xf16>, memref<?x64xf32>) -> ()
  return
}

// Two independent projections of a decode step, one of a parameter, one
// not, fused into one launch (the wait and the hints are no buffer
// accesses to the fusion's analysis): the blocks of the one that does not
// wait itself wait first thing, so that every block of the fused kernel
// waits for the kernel before before it reads.
// FUSED-LABEL: func.func @two
// FUSED: gpu.launch
// FUSED: gpu.launch
// FUSED: } else {
// FUSED: gpu.launch
// FUSED: griddepcontrol.launch_dependents
// FUSED: prefetch.global.L2
// FUSED: griddepcontrol.wait
// FUSED: } else {
// FUSED-NEXT: llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
// FUSED-NOT: gpu.launch
// FUSED: return
func.func @two(%x: memref<?x8192xf16>, %other: memref<64x8192xf16>)
    -> (memref<?x64xf32>, memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %rows = memref.dim %x, %c0 : memref<?x8192xf16>
  %y = memref.alloc(%rows) : memref<?x64xf32>
  %z = memref.alloc(%rows) : memref<?x64xf32>
  %w = llm.param_buffer @wo : memref<64x8192xf16>
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x8192xf16>, memref<64x8192xf16>)
      outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(s, n, k) -> (s, k)>,
                       affine_map<(s, n, k) -> (n, k)>,
                       affine_map<(s, n, k) -> (s, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %other : memref<?x8192xf16>, memref<64x8192xf16>)
      outs(%z : memref<?x64xf32>) {
  ^bb0(%a: f16, %b: f16, %c: f32):
    %ea = arith.extf %a : f16 to f32
    %eb = arith.extf %b : f16 to f32
    %m = arith.mulf %ea, %eb : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return %y, %z : memref<?x64xf32>, memref<?x64xf32>
}
