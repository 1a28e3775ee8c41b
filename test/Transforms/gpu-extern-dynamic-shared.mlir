// RUN: llmc-opt %s --llmc-gpu-prepare-launches --gpu-kernel-outlining --convert-gpu-to-nvvm --llmc-gpu-extern-dynamic-shared | FileCheck %s
// RUN: llmc-opt %s --llmc-gpu-prepare-launches --gpu-kernel-outlining --convert-gpu-to-nvvm | FileCheck %s --check-prefix=UPSTREAM

// A launch with more than 48 KiB of shared memory takes it dynamically;
// MLIR lowers gpu.dynamic_shared_memory to an internal global of no
// elements (which NVPTX prints as a one-byte static variable), made here
// an external declaration (printed `.extern .shared .b8 name[]`), the
// kernel's accesses unchanged. Other shared globals are left alone.
// UPSTREAM: llvm.mlir.global internal @__dynamic_shmem__0()
// CHECK: llvm.mlir.global external @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// CHECK-NOT: llvm.mlir.global
// CHECK: llvm.func @dynamic_kernel
// CHECK: llvm.mlir.addressof @__dynamic_shmem__0 : !llvm.ptr<3>
func.func @dynamic(%x: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %shared = memref.alloca() : memref<16384xf32, #gpu.address_space<workgroup>>
    %v = memref.load %x[%tx] : memref<64xf32>
    memref.store %v, %shared[%tx] : memref<16384xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %w = memref.load %shared[%c0] : memref<16384xf32, #gpu.address_space<workgroup>>
    memref.store %w, %x[%tx] : memref<64xf32>
    gpu.terminator
  }
  return
}
