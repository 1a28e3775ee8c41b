// RUN: llmc-opt %s --split-input-file --llmc-gpu-map-parallel-loops | FileCheck %s --check-prefix=MAP
// RUN: llmc-opt %s --split-input-file --llmc-gpu-map-parallel-loops --convert-parallel-loops-to-gpu --llmc-gpu-prepare-launches | FileCheck %s --check-prefix=PREP
// RUN: llmc-opt %s --split-input-file --llmc-gpu-map-parallel-loops --convert-parallel-loops-to-gpu --llmc-gpu-prepare-launches --gpu-kernel-outlining --llmc-gpu-merge-kernel-modules | FileCheck %s --check-prefix=MERGE

// An elementwise nest over [B, S, 64]: 64 threads on the hidden dimension
// (x, consecutive elements), 4 on the sequence (y); blocks outermost first
// (the batch on x, the sequence on y, the hidden dimension's tiles on z).
// MAP-LABEL: func.func @elementwise
// MAP: scf.parallel ({{.*}}) = ({{.*}}) to (%[[B:.*]], %[[S:.*]], %c64) step
// MAP: scf.parallel
// MAP: scf.if
// MAP: mapping = [#gpu.loop_dim_map<processor = thread_z{{.*}}>, #gpu.loop_dim_map<processor = thread_y{{.*}}>, #gpu.loop_dim_map<processor = thread_x{{.*}}>]
// MAP: mapping = [#gpu.loop_dim_map<processor = block_x{{.*}}>, #gpu.loop_dim_map<processor = block_y{{.*}}>, #gpu.loop_dim_map<processor = block_z{{.*}}>]
// PREP-LABEL: func.func @elementwise
// PREP: gpu.launch
// PREP-NOT: gpu.memcpy
func.func @elementwise(%a: memref<?x?x64xf16>, %b: memref<?x?x64xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %d0 = memref.dim %a, %c0 : memref<?x?x64xf16>
  %d1 = memref.dim %a, %c1 : memref<?x?x64xf16>
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%d0, %d1, %c64) step (%c1, %c1, %c1) {
    %x = memref.load %a[%i, %j, %k] : memref<?x?x64xf16>
    memref.store %x, %b[%i, %j, %k] : memref<?x?x64xf16>
    scf.reduce
  }
  return
}

// -----

// A parallel loop under a sequential one (a reduction with a parallel
// dimension inside it) runs sequentially in each thread.
// MAP-LABEL: func.func @nested
// MAP: scf.parallel
// MAP: scf.parallel
// MAP: scf.for
// MAP: scf.for
// MAP-NOT: scf.parallel
// MAP: return
func.func @nested(%a: memref<?x16x16xf32>, %b: memref<?x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %d0 = memref.dim %a, %c0 : memref<?x16x16xf32>
  scf.parallel (%i) = (%c0) to (%d0) step (%c1) {
    scf.for %r = %c0 to %c16 step %c1 {
      scf.parallel (%j) = (%c0) to (%c16) step (%c1) {
        %x = memref.load %a[%i, %r, %j] : memref<?x16x16xf32>
        %y = memref.load %b[%i, %j] : memref<?x16xf32>
        %z = arith.addf %x, %y : f32
        memref.store %z, %b[%i, %j] : memref<?x16xf32>
        scf.reduce
      }
    }
    scf.reduce
  }
  return
}

// -----

// More than three dimensions: the outer ones collapse into one, so that
// every iteration gets a thread (none runs sequentially in a kernel); the
// static inner extents stay known, so the block is 8 x 2 x 16 threads.
// MAP-LABEL: func.func @five_dims
// MAP: %[[BS:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// MAP: %[[N:.*]] = arith.muli %[[BS]], %c4 : index
// MAP: scf.parallel ({{.*}}) = ({{.*}}) to (%[[N]], %c2, %c16)
// MAP: scf.parallel
// MAP: arith.remsi %{{.*}}, %c4
// MAP: mapping = [#gpu.loop_dim_map<processor = thread_z{{.*}}>, #gpu.loop_dim_map<processor = thread_y{{.*}}>, #gpu.loop_dim_map<processor = thread_x{{.*}}>]
// MAP-NOT: scf.for
// MAP: return
func.func @five_dims(%a: memref<?x?x4x2x16xf16>, %b: memref<?x?x4x2x16xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %d0 = memref.dim %a, %c0 : memref<?x?x4x2x16xf16>
  %d1 = memref.dim %a, %c1 : memref<?x?x4x2x16xf16>
  scf.parallel (%i, %j, %k, %l, %m) = (%c0, %c0, %c0, %c0, %c0) to (%d0, %d1, %c4, %c2, %c16) step (%c1, %c1, %c1, %c1, %c1) {
    %x = memref.load %a[%i, %j, %k, %l, %m] : memref<?x?x4x2x16xf16>
    memref.store %x, %b[%i, %j, %k, %l, %m] : memref<?x?x4x2x16xf16>
    scf.reduce
  }
  return
}


// -----

// The host reads a device buffer (a position) through a copy into a stack
// slot; its own bookkeeping buffer moves to the stack; a constant table a
// kernel reads is cloned into the kernel, so outlining gives it to the
// kernel module.
memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
// PREP-LABEL: func.func @host_access
// PREP: %[[ELEMENT:.*]] = memref.subview %arg0[%{{.*}}] [1] [1] : memref<?xi64> to memref<i64, strided<[], offset: ?>>
// PREP: %[[SLOT:.*]] = memref.alloca() : memref<i64>
// PREP: gpu.memcpy %[[SLOT]], %[[ELEMENT]]
// PREP: memref.load %[[SLOT]][]
// PREP: %[[FLAGS:.*]] = memref.alloca() : memref<2xi1>
// PREP: memref.store %{{.*}}, %[[FLAGS]]
// PREP-NOT: memref.dealloc %[[FLAGS]]
// PREP: gpu.launch
// PREP: memref.get_global @table
// MERGE: gpu.launch_func @llmc_kernels::@host_access_kernel
// MERGE: gpu.module @llmc_kernels
// MERGE: gpu.func @host_access_kernel
// MERGE: memref.global "private" constant @table
// MERGE-NOT: gpu.module
func.func @host_access(%positions: memref<?xi64>, %out: memref<4xf32>) -> i64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %true = arith.constant true
  %p = memref.load %positions[%c0] : memref<?xi64>
  %flags = memref.alloc() : memref<2xi1>
  memref.store %true, %flags[%c0] : memref<2xi1>
  memref.dealloc %flags : memref<2xi1>
  %t = memref.get_global @table : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %x = memref.load %t[%i] : memref<4xf32>
    memref.store %x, %out[%i] : memref<4xf32>
    scf.reduce
  }
  return %p : i64
}


// -----

// Shared memory a block's warps combine their totals in (a reduction split
// over warps): the launch's workgroup buffer, a kernel attribution after
// outlining.
// PREP-LABEL: func.func @shared_memory
// PREP: gpu.launch {{.*}} workgroup(%[[SHARED:.*]] : memref<32xf32, #gpu.address_space<workgroup>>)
// PREP-NOT: memref.alloca
// PREP: memref.store %{{.*}}, %[[SHARED]]
// PREP: gpu.barrier
// PREP: memref.load %[[SHARED]]
// MERGE-LABEL: func.func @shared_memory
// MERGE: gpu.func @shared_memory_kernel({{.*}}) workgroup(%{{.*}} : memref<32xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
func.func @shared_memory(%x: memref<8x32xf32>, %out: memref<8x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%w, %lane) = (%c0, %c0) to (%c8, %c32) step (%c1, %c1) {
    %shared = memref.alloca() : memref<32xf32, #gpu.address_space<workgroup>>
    %v = memref.load %x[%w, %lane] : memref<8x32xf32>
    memref.store %v, %shared[%w] : memref<32xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %first = memref.load %shared[%c0] : memref<32xf32, #gpu.address_space<workgroup>>
    memref.store %first, %out[%w, %lane] : memref<8x32xf32>
    scf.reduce
  }
  return
}

// -----

// More than the 48 KiB a kernel may declare (32 KiB + 20 KiB): views of the
// launch's dynamic shared memory at 16-byte aligned offsets, the launch
// sized to their sum; a view's address taken as an integer is the buffer's
// plus its offset.
// PREP-LABEL: func.func @dynamic_shared_memory
// PREP: %[[BYTES:.*]] = arith.constant 53264 : i32
// PREP: gpu.launch {{.*}} dynamic_shared_memory_size %[[BYTES]]
// PREP: %[[BASE:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// PREP: %[[POINTER:.*]] = memref.extract_aligned_pointer_as_index %[[BASE]]
// PREP: %[[AT0:.*]] = arith.constant 0 : index
// PREP: %[[A:.*]] = memref.view %[[BASE]][%[[AT0]]][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<8192xf32, #gpu.address_space<workgroup>>
// PREP: %[[AT1:.*]] = arith.constant 32768 : index
// PREP: %[[ADDRESS:.*]] = arith.addi %[[POINTER]], %[[AT1]]
// PREP: %[[B:.*]] = memref.view %[[BASE]][%[[AT1]]][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<5121xf32, #gpu.address_space<workgroup>>
// PREP-NOT: memref.alloca
// PREP: memref.store %{{.*}}, %[[A]]
// PREP: memref.store %{{.*}}, %[[B]]
// PREP: arith.index_cast %[[ADDRESS]]
func.func @dynamic_shared_memory(%x: memref<8x32xf32>, %out: memref<8x32xi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  scf.parallel (%w, %lane) = (%c0, %c0) to (%c8, %c32) step (%c1, %c1) {
    %a = memref.alloca() : memref<8192xf32, #gpu.address_space<workgroup>>
    %b = memref.alloca() : memref<5121xf32, #gpu.address_space<workgroup>>
    %v = memref.load %x[%w, %lane] : memref<8x32xf32>
    memref.store %v, %a[%w] : memref<8192xf32, #gpu.address_space<workgroup>>
    memref.store %v, %b[%lane] : memref<5121xf32, #gpu.address_space<workgroup>>
    %p = memref.extract_aligned_pointer_as_index %b : memref<5121xf32, #gpu.address_space<workgroup>> -> index
    %i = arith.index_cast %p : index to i64
    memref.store %i, %out[%w, %lane] : memref<8x32xi64>
    scf.reduce
  }
  return
}
