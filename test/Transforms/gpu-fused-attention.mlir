// llm.fused_attention on buffers as two parallel loop nests (kernels once
// mapped): partial results per split of the keys, then their combination.
// RUN: llmc-opt %s --split-input-file --llmc-gpu-fused-attention --verify-diagnostics | FileCheck %s
// RUN: llmc-opt %s --split-input-file --llmc-gpu-fused-attention=ldmatrix=false --verify-diagnostics | FileCheck %s --check-prefix=NOLDM
// RUN: llmc-opt %s --split-input-file --llmc-gpu-fused-attention=combine-in-blocks=false --verify-diagnostics | FileCheck %s --check-prefix=APART
// RUN: llmc-opt %s --split-input-file --llmc-gpu-fused-attention=fuse-cache-update=false --verify-diagnostics | FileCheck %s --check-prefix=NOCACHE
// RUN: llmc-opt %s --split-input-file --llmc-gpu-fused-attention=stages=1 --verify-diagnostics | FileCheck %s --check-prefix=SYNC
// RUN: not llmc-opt %s --split-input-file --llmc-gpu-fused-attention=stages=0 2>&1 | FileCheck %s --check-prefix=STAGES0
// RUN: llmc-opt %s --split-input-file --llmc-gpu-fused-attention=wgmma=true --verify-diagnostics | FileCheck %s --check-prefix=WGMMA
// RUN: llmc-opt %s --split-input-file "--llmc-gpu-fused-attention=wgmma=true stages=1" --verify-diagnostics | FileCheck %s --check-prefix=SYNC
// RUN: llmc-opt %s --split-input-file "--llmc-gpu-fused-attention=wgmma=true overlap=true" --verify-diagnostics | FileCheck %s --check-prefix=OVERLAP
// STAGES0: stages: expected 1 or more, found 0
// With stages=1 every step loads its tiles (no cp.async), and the scores
// stay on mma.sync with wgmma=true.
// SYNC-NOT: nvgpu.device_async_copy
// SYNC-NOT: nvvm.cp.async
// SYNC-NOT: nvvm.wgmma

// The arrival counters of the last-block combination, zero at load.
// CHECK: memref.global "private" @__llmc_attention_counters : memref<16384xi32> = dense<0>
// APART-NOT: memref.global
// APART-NOT: memref.atomic_rmw

// CHECK-LABEL: func.func @attention
// CHECK-NOT: llm.fused_attention
// The blocks combine where the counters suffice (no tensor cores here).
// CHECK: %[[FEW:.*]] = arith.cmpi ule, %{{.*}}, %c16384
// CHECK: %[[IN_BLOCKS:.*]] = arith.andi %{{.*}}, %[[FEW]]
// The splits' accumulators [b, s, head, split, value dim], maxima and sums.
// CHECK: %[[VALUES:.*]] = memref.alloc(%{{.*}}, %{{.*}}, %[[SPLITS:.*]]) : memref<?x?x4x?x8xf32>
// CHECK: %[[MAX:.*]] = memref.alloc(%{{.*}}, %{{.*}}, %[[SPLITS]]) : memref<?x?x4x?xf32>
// CHECK: %[[SUM:.*]] = memref.alloc(%{{.*}}, %{{.*}}, %[[SPLITS]]) : memref<?x?x4x?xf32>
// Partial results: rows, tiles of 8 query rows, KV heads, splits, 8 warps,
// 32 lanes; the warps' scaled query rows and a step's keys and values
// (rows padded by one) in shared memory.
// CHECK: scf.parallel (%{{.*}}) = {{.*}} to (%{{.*}}, %{{.*}}, %c2{{.*}}, %[[SPLITS]], %c8{{.*}}, %c32{{.*}})
// CHECK: %[[Q:.*]] = memref.alloca() : memref<8x8xf32, #gpu.address_space<workgroup>>
// CHECK: %[[KT:.*]] = memref.alloca() : memref<32x9xf32, #gpu.address_space<workgroup>>
// CHECK: %[[VT:.*]] = memref.alloca() : memref<32x9xf32, #gpu.address_space<workgroup>>
// 32 keys a step: the block loads them (a warp reads consecutive
// elements), then a lane per key: its score over the head dimension, the
// step's maximum (butterfly), the rescaled running sum and accumulator.
// CHECK: scf.for %{{.*}} step %c32
// CHECK: gpu.barrier
// CHECK: memref.load %{{.*}} : memref<?x?x2x8xf16, strided<[4096, 32, 16, 1], offset: ?>>
// CHECK: memref.store %{{.*}}, %[[KT]]
// CHECK: memref.load %{{.*}} : memref<?x?x2x8xf16, strided<[4096, 32, 16, 1], offset: ?>>
// CHECK: memref.store %{{.*}}, %[[VT]]
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: memref.load %[[Q]]
// CHECK: memref.load %[[KT]]
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: math.exp
// CHECK: math.exp
// Each key's probability to every lane, times the lane's value dimensions.
// CHECK: scf.for
// CHECK: gpu.shuffle  idx
// CHECK: memref.load %[[VT]]
// The lane sums, then the warp's results for its split.
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: memref.store %{{.*}}, %[[VALUES]]
// CHECK: memref.store %{{.*}}, %[[MAX]]
// CHECK: memref.store %{{.*}}, %[[SUM]]
// The block to store a tile's last split combines them (where the host
// says the counters suffice): every thread's stores, a barrier, thread 0
// fences and counts (resetting the counter if last), a barrier, a fence,
// then a warp per row as the kernel below.
// CHECK: scf.if %[[IN_BLOCKS]] {
// CHECK: gpu.barrier
// CHECK: %[[COUNTERS:.*]] = memref.get_global @__llmc_attention_counters
// CHECK: llvm.call_intrinsic "llvm.nvvm.membar.gl"()
// CHECK: %[[BEFORE:.*]] = memref.atomic_rmw addi %{{.*}}, %[[COUNTERS]][%[[SLOT:.*]]]
// CHECK: arith.cmpi eq, %[[BEFORE]]
// CHECK: memref.store %{{.*}}, %[[COUNTERS]][%[[SLOT]]]
// CHECK: gpu.barrier
// CHECK: llvm.call_intrinsic "llvm.nvvm.membar.gl"()
// CHECK: scf.for {{.*}} to %[[SPLITS]]
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %{{.*}}, %arg4
// Combination: a warp per query row and head, a kernel where the blocks
// do not combine.
// CHECK: %[[SEPARATE:.*]] = arith.xori %[[IN_BLOCKS]], %true
// CHECK: scf.if %[[SEPARATE]] {
// CHECK: scf.parallel (%{{.*}}) = {{.*}} to (%{{.*}}, %{{.*}}, %c4{{.*}}, %c32{{.*}})
// CHECK: scf.for {{.*}} to %[[SPLITS]]
// CHECK: arith.maximumf
// CHECK: scf.for {{.*}} to %[[SPLITS]]
// CHECK: math.exp
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %{{.*}}, %arg4
// CHECK: memref.dealloc %[[VALUES]]
// CHECK: memref.dealloc %[[MAX]]
// CHECK: memref.dealloc %[[SUM]]
func.func @attention(%q: memref<?x?x4x8xf16>, %k: memref<?x?x2x8xf16, strided<[4096, 32, 16, 1], offset: ?>>, %v: memref<?x?x2x8xf16, strided<[4096, 32, 16, 1], offset: ?>>, %pos: memref<?xi64>, %out: memref<?x?x4x8xf16>) {
  llm.fused_attention %q, %k, %v, %pos into %out {causal, scale = 0.25} : memref<?x?x4x8xf16>, memref<?x?x2x8xf16, strided<[4096, 32, 16, 1], offset: ?>>, memref<?x?x2x8xf16, strided<[4096, 32, 16, 1], offset: ?>>, memref<?xi64> into memref<?x?x4x8xf16>
  return
}

// -----

func.func @tensors(%q: tensor<?x?x4x8xf32>, %k: tensor<?x?x2x8xf32>) -> tensor<?x?x4x8xf32> {
  // expected-error @+1 {{expects buffers (run after bufferization)}}
  %0 = llm.fused_attention %q, %k, %k into %q {scale = 0.25} : tensor<?x?x4x8xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32> into tensor<?x?x4x8xf32> -> tensor<?x?x4x8xf32>
  return %0 : tensor<?x?x4x8xf32>
}

// -----

// f16 with head dimensions in steps of 16: where a KV head has 16 rows or
// more (prefill), the tensor-core variant, a warp per 16 query rows; else
// the warp per row above. Its tiles hold 3 steps of 32 keys (stages); the
// copies of the first two are issued before the loop, 64 threads copying
// 16 bytes of a 16-dimension tile each (the others nothing), a group per
// step; each step waits for its own group (1 may stay in flight), then
// for the block, then issues the copies two steps ahead.
// With one split (the host's choice) the kernel writes the output itself
// (accumulator x 1 / sum, in f16), and the combination is not launched.
// CHECK-LABEL: func.func @tensor_cores
// CHECK: %[[MMA:.*]] = arith.cmpi uge, %{{.*}}, %c16
// CHECK: %[[ONE:.*]] = arith.cmpi eq, %[[SPLITS:.*]], %c1 : index
// CHECK: scf.if %[[MMA]] {
// CHECK: scf.parallel
// CHECK: memref.alloca() : memref<96x24xf16, #gpu.address_space<workgroup>>
// CHECK: memref.alloca() : memref<96x24xf16, #gpu.address_space<workgroup>>
// CHECK: %[[FEW:.*]] = arith.cmpi ult, %{{.*}}, %c64
// CHECK: scf.if %[[FEW]] {
// CHECK: nvgpu.device_async_copy %arg1
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for %{{.*}} step %c32
// CHECK: nvvm.cp.async.wait.group 1
// CHECK-NEXT: gpu.barrier
// CHECK: nvgpu.device_async_copy %arg1
// CHECK: nvvm.cp.async.commit.group
// S = Q K^T: 4 tiles of 8 keys, one 16-dimension step each.
// CHECK-COUNT-4: nvgpu.mma.sync
// A row's maximum over its quad, O += P V for the 2 value tiles, twice.
// CHECK: gpu.shuffle  xor
// CHECK: gpu.shuffle  xor
// CHECK-COUNT-4: nvgpu.mma.sync
// No copy outlives the kernel.
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: scf.if %[[ONE]] {
// CHECK: arith.divf
// CHECK: memref.store %{{.*}}, %arg2[
// CHECK: } else {
// CHECK: memref.store %{{.*}} : memref<?x?x4x?x16xf32>
// CHECK: } else {
// CHECK: scf.parallel
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.shuffle  idx
// CHECK: }
// CHECK: %[[DIRECT:.*]] = arith.andi %[[MMA]], %[[ONE]]
// CHECK: %[[COMBINED:.*]] = arith.ori %{{.*}}, %[[DIRECT]]
// CHECK: %[[COMBINE_KERNEL:.*]] = arith.xori %[[COMBINED]], %true
// CHECK: scf.if %[[COMBINE_KERNEL]] {
func.func @tensor_cores(%q: memref<?x?x4x16xf16>, %k: memref<?x?x2x16xf16>, %out: memref<?x?x4x16xf16>) {
  llm.fused_attention %q, %k, %k into %out {scale = 0.25} : memref<?x?x4x16xf16>, memref<?x?x2x16xf16>, memref<?x?x2x16xf16> into memref<?x?x4x16xf16>
  return
}

// -----

// head_dim 64 from a KV cache's views (an offset of their own). The
// tensor-core variant copies its tiles by cp.async (16 bytes) where both
// views' offsets are multiples of 8 (checked in the kernel), else element
// by element (stage 0 of 3, rows 0-31, here); it reads its key fragments
// by ldmatrix (x4: two 16-dimension steps) and its values' transposed;
// with ldmatrix=false, 16-bit loads. In the warp variant each thread
// loads 8 keys' or values' elements from a one-dimensional view whose
// offset is rounded to 8 (one 16-byte load) where the offset is a
// multiple of 8, else one at a time.
// CHECK-LABEL: func.func @cache_views
// CHECK: scf.if
// CHECK: memref.alloca() : memref<96x72xf16, #gpu.address_space<workgroup>>
// CHECK: %{{.*}}, %[[KOFFSET:.*]], %{{.*}}:4, %{{.*}}:4 = memref.extract_strided_metadata %arg1
// CHECK: %[[KREM:.*]] = arith.remui %[[KOFFSET]], %c8
// CHECK: %[[KALIGNED:.*]] = arith.cmpi eq, %[[KREM]], %c0
// CHECK: %{{.*}}, %[[VOFFSET:.*]], %{{.*}}:4, %{{.*}}:4 = memref.extract_strided_metadata %arg2
// CHECK: %[[VREM:.*]] = arith.remui %[[VOFFSET]], %c8
// CHECK: %[[VALIGNED:.*]] = arith.cmpi eq, %[[VREM]], %c0
// CHECK: %[[COPIES:.*]] = arith.andi %[[KALIGNED]], %[[VALIGNED]]
// CHECK: scf.if %[[COPIES]] {
// CHECK: nvgpu.device_async_copy %arg1[{{.*}}], %{{.*}}, 8 {bypassL1}
// CHECK: nvgpu.device_async_copy %arg2[{{.*}}], %{{.*}}, 8 {bypassL1}
// CHECK: } else {
// CHECK: memref.load %arg1
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: nvgpu.ldmatrix %{{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.ldmatrix %{{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK: nvvm.cp.async.wait.group 0
// CHECK: } else {
// CHECK: %[[BASE:.*]], %[[OFFSET:.*]], %{{.*}}:4, %{{.*}}:4 = memref.extract_strided_metadata %arg1
// CHECK: %[[REM:.*]] = arith.remui %[[OFFSET]], %c8
// CHECK: %[[ALIGNED:.*]] = arith.cmpi eq, %[[REM]], %c0
// CHECK: scf.if %[[ALIGNED]] {
// CHECK: %[[FLAT:.*]] = memref.reinterpret_cast %[[BASE]]
// CHECK: memref.assume_alignment %[[FLAT]], 16
// CHECK-COUNT-8: memref.load %[[FLAT]]
// CHECK: } else {
// CHECK: memref.load %arg1
// NOLDM-LABEL: func.func @cache_views
// NOLDM-NOT: nvgpu.ldmatrix
// NOLDM: return
// With wgmma=true the scores and P V are warpgroup multiplies: the block's
// 128 query rows stored once (each lane's 32 elements) into a tile in
// wgmma's core-matrix layout (8 x 8 matrices of 16-byte rows:
// memref<1024x8>), the 3 stages of 32 keys and of 32 values likewise
// (memref<768x8> each, unpadded); each step fences the generic proxy's
// writes (cp.async, stores) from wgmma's async reads before its barrier,
// then one m64n32k16 per 16 dimensions (4) for S, waited for at once;
// then O += P V as two m64n64k16 (16 keys each) with P's fragments in
// registers (inline PTX: A as four registers, B's descriptor, trans-b 1:
// the values' tile is n-major), waited for at once. No ldmatrix, no
// mma.sync.
// WGMMA-LABEL: func.func @cache_views
// WGMMA: %[[WQ:.*]] = memref.alloca() : memref<1024x8xf16, #gpu.address_space<workgroup>>
// WGMMA-COUNT-32: memref.store %{{.*}}, %[[WQ]]
// WGMMA: %[[WK:.*]] = memref.alloca() : memref<768x8xf16, #gpu.address_space<workgroup>>
// WGMMA: %[[WV:.*]] = memref.alloca() : memref<768x8xf16, #gpu.address_space<workgroup>>
// WGMMA: memref.extract_aligned_pointer_as_index %[[WQ]]
// WGMMA: nvgpu.device_async_copy %arg1[{{.*}}], %[[WK]][{{.*}}], 8 {bypassL1}
// WGMMA: nvgpu.device_async_copy %arg2[{{.*}}], %[[WV]][{{.*}}], 8 {bypassL1}
// WGMMA: scf.for
// WGMMA: nvvm.cp.async.wait.group 1
// WGMMA-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// WGMMA-NEXT: gpu.barrier
// WGMMA: memref.extract_aligned_pointer_as_index %[[WK]]
// WGMMA: nvvm.wgmma.fence.aligned
// WGMMA-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 32, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// WGMMA-NEXT: nvvm.wgmma.commit.group.sync.aligned
// WGMMA-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// WGMMA-NOT: nvgpu.ldmatrix
// WGMMA-NOT: nvgpu.mma.sync
// WGMMA: nvvm.wgmma.fence.aligned
// WGMMA-NOT: nvgpu.mma.sync
// WGMMA: memref.extract_aligned_pointer_as_index %[[WV]]
// WGMMA-COUNT-2: llvm.inline_asm has_side_effects "{\0A.reg .pred p;\0Asetp.ne.b32 p, $69, 0;\0Awgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {$0, {{.*}}, $31}, {$64, $65, $66, $67}, $68, p, $70, $71, $72;\0A}\0A", "=f,{{.*}},=f,0,1,{{.*}},31,r,r,r,r,l,n,n,n,n"
// WGMMA-NEXT: nvvm.wgmma.commit.group.sync.aligned
// WGMMA-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// WGMMA-NOT: nvgpu.mma.sync
// WGMMA: return
// With overlap=true (and 3 stages) each step issues the next step's
// scores before its softmax: before the loop two steps' copies, step 0's
// tiles waited for (one group left in flight), its scores multiplied and
// waited for; in the loop the next step's tiles waited for (no group left
// in flight: the copies one step ahead), the next copies, the next step's
// 4 m64n32k16 committed but not waited for, the softmax on the scores
// the loop carries (its last value, the accumulators' struct), P V, then
// one wait for both groups; the next scores carried.
// OVERLAP-LABEL: func.func @cache_views
// OVERLAP-COUNT-2: nvgpu.device_async_copy %arg1
// OVERLAP: nvvm.cp.async.wait.group 1
// OVERLAP-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// OVERLAP-NEXT: gpu.barrier
// OVERLAP: nvvm.wgmma.fence.aligned
// OVERLAP-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 32, k = 16>
// OVERLAP-NEXT: nvvm.wgmma.commit.group.sync.aligned
// OVERLAP-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// OVERLAP: %[[LOOP:.*]]:37 = scf.for {{.*}} iter_args({{.*}}, %[[S:.*]] = %{{.*}}) -> ({{.*}}, !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)>)
// OVERLAP: nvvm.cp.async.wait.group 0
// OVERLAP-NEXT: nvvm.fence.proxy
// OVERLAP-NEXT: gpu.barrier
// OVERLAP: nvgpu.device_async_copy %arg1
// OVERLAP: nvvm.wgmma.fence.aligned
// OVERLAP-COUNT-4: %[[NEXT:.*]] = nvvm.wgmma.mma_async {{.*}} <m = 64, n = 32, k = 16>
// OVERLAP-NEXT: nvvm.wgmma.commit.group.sync.aligned
// OVERLAP-NEXT: llvm.extractvalue %[[S]][0]
// OVERLAP-NOT: nvvm.wgmma.wait.group
// OVERLAP: nvvm.wgmma.fence.aligned
// OVERLAP-COUNT-2: llvm.inline_asm has_side_effects "{{.*}}m64n64k16
// OVERLAP-NEXT: nvvm.wgmma.commit.group.sync.aligned
// OVERLAP-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// OVERLAP: scf.yield {{.*}}, %[[NEXT]] :
// OVERLAP: return
func.func @cache_views(%q: memref<?x?x8x64xf16>, %k: memref<?x?x2x64xf16, strided<[262144, 128, 64, 1], offset: ?>>, %v: memref<?x?x2x64xf16, strided<[262144, 128, 64, 1], offset: ?>>, %out: memref<?x?x8x64xf16>) {
  llm.fused_attention %q, %k, %v into %out {scale = 0.125} : memref<?x?x8x64xf16>, memref<?x?x2x64xf16, strided<[262144, 128, 64, 1], offset: ?>>, memref<?x?x2x64xf16, strided<[262144, 128, 64, 1], offset: ?>> into memref<?x?x8x64xf16>
  return
}

// -----

// head_dim 128: the tensor-core variant keeps its query fragments in a
// shared tile of the block's 128 query rows (padded by 8), written once
// before the key loop (each lane's 64 elements: 8 fragments of 8), and
// loads each product's A fragment from it by ldmatrix (x4, not
// transposed) inside the loop, instead of 32 registers held across it.
// With ldmatrix=false the fragments stay in registers. The key and value
// tiles' 3 stages and the query tile: 87040 bytes (dynamic shared memory
// once mapped).
// CHECK-LABEL: func.func @head_dim_128
// CHECK: scf.if
// CHECK: %[[QTILE:.*]] = memref.alloca() : memref<128x136xf16, #gpu.address_space<workgroup>>
// CHECK-COUNT-64: memref.store %{{.*}}, %[[QTILE]]
// CHECK: memref.alloca() : memref<96x136xf16, #gpu.address_space<workgroup>>
// CHECK: memref.alloca() : memref<96x136xf16, #gpu.address_space<workgroup>>
// CHECK: scf.for
// CHECK: nvgpu.ldmatrix %[[QTILE]]{{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK: nvgpu.mma.sync
// NOLDM-LABEL: func.func @head_dim_128
// NOLDM-NOT: memref<128x136xf16
// NOLDM: return
func.func @head_dim_128(%q: memref<?x?x8x128xf16>, %k: memref<?x?x1x128xf16>, %out: memref<?x?x8x128xf16>) {
  llm.fused_attention %q, %k, %k into %out {scale = 0.088} : memref<?x?x8x128xf16>, memref<?x?x1x128xf16>, memref<?x?x1x128xf16> into memref<?x?x8x128xf16>
  return
}

// -----

// A decode step's producers (fuse-cache-update): the queries' rotation (an
// elementwise generic, the query buffer's only writer) and the KV-cache
// update (llmc-gpu-parallel-copies' loop: each row's new keys, rotated,
// and values stored at its position). Where every row has one new token
// and the warp variant runs, its kernel computes them: each query element
// through the rotation's body as the warp loads it; the step that holds a
// row's position puts that key and value (the loop's body at token 0, a
// dimension per thread) into the tiles, the block of query-row tile 0
// storing them into the cache too, then a barrier. Elsewhere (prefill) the
// rotation and the loop run first, as they were.
// CHECK-LABEL: func.func @cache_update
// CHECK-NOT: linalg.generic
// CHECK: %[[ONE:.*]] = arith.cmpi eq, %{{.*}}, %c1
// CHECK: %[[FUSED:.*]] = arith.andi %{{.*}}, %[[ONE]]
// CHECK: scf.if %[[FUSED]] {
// CHECK: scf.parallel (%[[B:.*]], %[[TILE:.*]], %[[KVH:.*]], %{{.*}}, %[[WARP:.*]], %[[LANE:.*]]) =
// CHECK: %[[KT:.*]] = memref.alloca() : memref<32x9xf32, #gpu.address_space<workgroup>>
// CHECK: %[[VT:.*]] = memref.alloca() : memref<32x9xf32, #gpu.address_space<workgroup>>
// CHECK: %[[RAWQ:.*]] = memref.load %arg0[{{.*}}] : memref<?x?x4x8xf16>
// CHECK: arith.negf %[[RAWQ]]
// CHECK: scf.for %[[T0:.*]] = {{.*}} step %c32
// CHECK: gpu.barrier
// CHECK: gpu.barrier
// CHECK: %[[THREAD:.*]] = arith.addi %{{.*}}, %[[LANE]]
// CHECK: %[[P:.*]] = memref.load %arg4[%[[B]]] : memref<?xi64>
// CHECK: %[[AT:.*]] = arith.index_cast %[[P]]
// CHECK: scf.if
// CHECK: arith.cmpi ult, %[[THREAD]], %c8
// CHECK: %[[KEYS:.*]] = memref.subview %arg3[0, %arg5, %[[B]],
// CHECK: %[[VALUES:.*]] = memref.subview %arg3[1, %arg5, %[[B]],
// CHECK: %[[RAWK:.*]] = memref.load %arg1[%[[B]], %c0{{.*}}, %[[KVH]], %[[THREAD]]]
// CHECK: %[[K:.*]] = arith.negf %[[RAWK]]
// CHECK: %[[V:.*]] = memref.load %arg2[%[[B]], %c0{{.*}}, %[[KVH]], %[[THREAD]]]
// CHECK: %[[R:.*]] = arith.subi %[[AT]], %[[T0]]
// CHECK: %[[KF:.*]] = arith.extf %[[K]]
// CHECK: memref.store %[[KF]], %[[KT]][%[[R]], %[[THREAD]]]
// CHECK: %[[VF:.*]] = arith.extf %[[V]]
// CHECK: memref.store %[[VF]], %[[VT]][%[[R]], %[[THREAD]]]
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[TILE]], %c0
// CHECK: scf.if %[[FIRST]] {
// CHECK: memref.store %[[K]], %[[KEYS]][%c0{{.*}}, %[[KVH]], %[[THREAD]]]
// CHECK: memref.store %[[V]], %[[VALUES]][%c0{{.*}}, %[[KVH]], %[[THREAD]]]
// CHECK: gpu.barrier
// CHECK: } else {
// CHECK: linalg.generic
// CHECK: scf.parallel (%{{.*}}) = {{.*}} to (%{{.*}}, %{{.*}}, %c2, %c8)
// CHECK: scf.parallel
// NOCACHE-LABEL: func.func @cache_update
// NOCACHE: linalg.generic
// NOCACHE: scf.parallel (%{{.*}}) = {{.*}} to (%{{.*}}, %{{.*}}, %c2, %c8)
// NOCACHE: arith.negf
// NOCACHE: scf.reduce
// NOCACHE-NOT: arith.negf
// NOCACHE: return
func.func @cache_update(%q: memref<?x?x4x8xf16>, %k: memref<?x?x2x8xf16>, %v: memref<?x?x2x8xf16>, %cache: memref<2x2x?x16x2x8xf16>, %pos: memref<?xi64>, %layer: index, %out: memref<?x?x4x8xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %n = memref.dim %q, %c0 : memref<?x?x4x8xf16>
  %t = memref.dim %q, %c1 : memref<?x?x4x8xf16>
  %qr = memref.alloc(%n, %t) : memref<?x?x4x8xf16>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%q, %pos : memref<?x?x4x8xf16>, memref<?xi64>) outs(%qr : memref<?x?x4x8xf16>) {
  ^bb0(%in: f16, %p: i64, %o: f16):
    %x = arith.negf %in : f16
    linalg.yield %x : f16
  }
  scf.parallel (%b, %tt, %h, %d) = (%c0, %c0, %c0, %c0) to (%n, %t, %c2, %c8) step (%c1, %c1, %c1, %c1) {
    %p = memref.load %pos[%b] : memref<?xi64>
    %at = arith.index_cast %p : i64 to index
    %kv = memref.subview %cache[0, %layer, %b, %at, 0, 0] [1, 1, 1, %t, 2, 8] [1, 1, 1, 1, 1, 1] : memref<2x2x?x16x2x8xf16> to memref<?x2x8xf16, strided<[16, 8, 1], offset: ?>>
    %vv = memref.subview %cache[1, %layer, %b, %at, 0, 0] [1, 1, 1, %t, 2, 8] [1, 1, 1, 1, 1, 1] : memref<2x2x?x16x2x8xf16> to memref<?x2x8xf16, strided<[16, 8, 1], offset: ?>>
    %x = memref.load %k[%b, %tt, %h, %d] : memref<?x?x2x8xf16>
    %y = arith.negf %x : f16
    memref.store %y, %kv[%tt, %h, %d] : memref<?x2x8xf16, strided<[16, 8, 1], offset: ?>>
    %z = memref.load %v[%b, %tt, %h, %d] : memref<?x?x2x8xf16>
    memref.store %z, %vv[%tt, %h, %d] : memref<?x2x8xf16, strided<[16, 8, 1], offset: ?>>
    scf.reduce
  }
  %kall = memref.subview %cache[0, %layer, 0, 0, 0, 0] [1, 1, %n, 16, 2, 8] [1, 1, 1, 1, 1, 1] : memref<2x2x?x16x2x8xf16> to memref<?x16x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>
  %vall = memref.subview %cache[1, %layer, 0, 0, 0, 0] [1, 1, %n, 16, 2, 8] [1, 1, 1, 1, 1, 1] : memref<2x2x?x16x2x8xf16> to memref<?x16x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>
  %len = arith.addi %t, %c8 : index
  %keys = memref.subview %kall[0, 0, 0, 0] [%n, %len, 2, 8] [1, 1, 1, 1] : memref<?x16x2x8xf16, strided<[256, 16, 8, 1], offset: ?>> to memref<?x?x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>
  %values = memref.subview %vall[0, 0, 0, 0] [%n, %len, 2, 8] [1, 1, 1, 1] : memref<?x16x2x8xf16, strided<[256, 16, 8, 1], offset: ?>> to memref<?x?x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>
  llm.fused_attention %qr, %keys, %values, %pos into %out {causal, scale = 0.25} : memref<?x?x4x8xf16>, memref<?x?x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>, memref<?x?x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>, memref<?xi64> into memref<?x?x4x8xf16>
  memref.dealloc %qr : memref<?x?x4x8xf16>
  return
}

// -----

// Something between the cache update and the attention reads the cache:
// the update must run before it, so nothing moves.
// CHECK-LABEL: func.func @cache_read_between
// CHECK: memref.alloc
// CHECK-NEXT: linalg.generic
// CHECK: scf.parallel (%{{.*}}) = {{.*}} to (%{{.*}}, %{{.*}}, %c2, %c8)
// CHECK: memref.load %arg3
func.func @cache_read_between(%q: memref<?x?x4x8xf16>, %k: memref<?x?x2x8xf16>, %v: memref<?x?x2x8xf16>, %cache: memref<2x2x?x16x2x8xf16>, %pos: memref<?xi64>, %layer: index, %out: memref<?x?x4x8xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %n = memref.dim %q, %c0 : memref<?x?x4x8xf16>
  %t = memref.dim %q, %c1 : memref<?x?x4x8xf16>
  %qr = memref.alloc(%n, %t) : memref<?x?x4x8xf16>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%q, %pos : memref<?x?x4x8xf16>, memref<?xi64>) outs(%qr : memref<?x?x4x8xf16>) {
  ^bb0(%in: f16, %p: i64, %o: f16):
    %x = arith.negf %in : f16
    linalg.yield %x : f16
  }
  scf.parallel (%b, %tt, %h, %d) = (%c0, %c0, %c0, %c0) to (%n, %t, %c2, %c8) step (%c1, %c1, %c1, %c1) {
    %p = memref.load %pos[%b] : memref<?xi64>
    %at = arith.index_cast %p : i64 to index
    %kv = memref.subview %cache[0, %layer, %b, %at, 0, 0] [1, 1, 1, %t, 2, 8] [1, 1, 1, 1, 1, 1] : memref<2x2x?x16x2x8xf16> to memref<?x2x8xf16, strided<[16, 8, 1], offset: ?>>
    %vv = memref.subview %cache[1, %layer, %b, %at, 0, 0] [1, 1, 1, %t, 2, 8] [1, 1, 1, 1, 1, 1] : memref<2x2x?x16x2x8xf16> to memref<?x2x8xf16, strided<[16, 8, 1], offset: ?>>
    %x = memref.load %k[%b, %tt, %h, %d] : memref<?x?x2x8xf16>
    %y = arith.negf %x : f16
    memref.store %y, %kv[%tt, %h, %d] : memref<?x2x8xf16, strided<[16, 8, 1], offset: ?>>
    %z = memref.load %v[%b, %tt, %h, %d] : memref<?x?x2x8xf16>
    memref.store %z, %vv[%tt, %h, %d] : memref<?x2x8xf16, strided<[16, 8, 1], offset: ?>>
    scf.reduce
  }
  %seen = memref.load %cache[%c0, %c0, %c0, %c0, %c0, %c0] : memref<2x2x?x16x2x8xf16>
  memref.store %seen, %out[%c0, %c0, %c0, %c0] : memref<?x?x4x8xf16>
  %kall = memref.subview %cache[0, %layer, 0, 0, 0, 0] [1, 1, %n, 16, 2, 8] [1, 1, 1, 1, 1, 1] : memref<2x2x?x16x2x8xf16> to memref<?x16x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>
  %vall = memref.subview %cache[1, %layer, 0, 0, 0, 0] [1, 1, %n, 16, 2, 8] [1, 1, 1, 1, 1, 1] : memref<2x2x?x16x2x8xf16> to memref<?x16x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>
  %len = arith.addi %t, %c8 : index
  %keys = memref.subview %kall[0, 0, 0, 0] [%n, %len, 2, 8] [1, 1, 1, 1] : memref<?x16x2x8xf16, strided<[256, 16, 8, 1], offset: ?>> to memref<?x?x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>
  %values = memref.subview %vall[0, 0, 0, 0] [%n, %len, 2, 8] [1, 1, 1, 1] : memref<?x16x2x8xf16, strided<[256, 16, 8, 1], offset: ?>> to memref<?x?x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>
  llm.fused_attention %qr, %keys, %values, %pos into %out {causal, scale = 0.25} : memref<?x?x4x8xf16>, memref<?x?x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>, memref<?x?x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>, memref<?xi64> into memref<?x?x4x8xf16>
  memref.dealloc %qr : memref<?x?x4x8xf16>
  return
}

// -----

// New keys stored at a fixed place rather than the row's position: not
// the cache update the kernel can stand in for, so nothing moves.
// CHECK-LABEL: func.func @constant_position
// CHECK: memref.alloc
// CHECK-NEXT: linalg.generic
func.func @constant_position(%q: memref<?x?x4x8xf16>, %k: memref<?x?x2x8xf16>, %v: memref<?x?x2x8xf16>, %cache: memref<2x2x?x16x2x8xf16>, %pos: memref<?xi64>, %layer: index, %out: memref<?x?x4x8xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %n = memref.dim %q, %c0 : memref<?x?x4x8xf16>
  %t = memref.dim %q, %c1 : memref<?x?x4x8xf16>
  %qr = memref.alloc(%n, %t) : memref<?x?x4x8xf16>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%q, %pos : memref<?x?x4x8xf16>, memref<?xi64>) outs(%qr : memref<?x?x4x8xf16>) {
  ^bb0(%in: f16, %p: i64, %o: f16):
    %x = arith.negf %in : f16
    linalg.yield %x : f16
  }
  scf.parallel (%b, %tt, %h, %d) = (%c0, %c0, %c0, %c0) to (%n, %t, %c2, %c8) step (%c1, %c1, %c1, %c1) {
    %p = memref.load %pos[%b] : memref<?xi64>
    %at = arith.index_cast %p : i64 to index
    %kv = memref.subview %cache[0, %layer, %b, 3, 0, 0] [1, 1, 1, %t, 2, 8] [1, 1, 1, 1, 1, 1] : memref<2x2x?x16x2x8xf16> to memref<?x2x8xf16, strided<[16, 8, 1], offset: ?>>
    %vv = memref.subview %cache[1, %layer, %b, 3, 0, 0] [1, 1, 1, %t, 2, 8] [1, 1, 1, 1, 1, 1] : memref<2x2x?x16x2x8xf16> to memref<?x2x8xf16, strided<[16, 8, 1], offset: ?>>
    %x = memref.load %k[%b, %tt, %h, %d] : memref<?x?x2x8xf16>
    %y = arith.negf %x : f16
    memref.store %y, %kv[%tt, %h, %d] : memref<?x2x8xf16, strided<[16, 8, 1], offset: ?>>
    %z = memref.load %v[%b, %tt, %h, %d] : memref<?x?x2x8xf16>
    memref.store %z, %vv[%tt, %h, %d] : memref<?x2x8xf16, strided<[16, 8, 1], offset: ?>>
    scf.reduce
  }
  %kall = memref.subview %cache[0, %layer, 0, 0, 0, 0] [1, 1, %n, 16, 2, 8] [1, 1, 1, 1, 1, 1] : memref<2x2x?x16x2x8xf16> to memref<?x16x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>
  %vall = memref.subview %cache[1, %layer, 0, 0, 0, 0] [1, 1, %n, 16, 2, 8] [1, 1, 1, 1, 1, 1] : memref<2x2x?x16x2x8xf16> to memref<?x16x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>
  %len = arith.addi %t, %c8 : index
  %keys = memref.subview %kall[0, 0, 0, 0] [%n, %len, 2, 8] [1, 1, 1, 1] : memref<?x16x2x8xf16, strided<[256, 16, 8, 1], offset: ?>> to memref<?x?x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>
  %values = memref.subview %vall[0, 0, 0, 0] [%n, %len, 2, 8] [1, 1, 1, 1] : memref<?x16x2x8xf16, strided<[256, 16, 8, 1], offset: ?>> to memref<?x?x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>
  llm.fused_attention %qr, %keys, %values, %pos into %out {causal, scale = 0.25} : memref<?x?x4x8xf16>, memref<?x?x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>, memref<?x?x2x8xf16, strided<[256, 16, 8, 1], offset: ?>>, memref<?xi64> into memref<?x?x4x8xf16>
  memref.dealloc %qr : memref<?x?x4x8xf16>
  return
}
