// RUN: llmc-opt %s --expand-strided-metadata --lower-affine --convert-llm-to-llvm | FileCheck %s

// A GPU program's host code: kernels launch, buffers come and go, and host
// reads of device memory copy, all through the runtime's GPU table
// (llmrt/GpuABI.h: context, alloc, free, launch, memcpy, tensor map);
// kernels are numbered in the order of their first launch; a call of
// __llmc_gpu_tensor_map (a TMA tensor map for the kernels) becomes a call
// of the table's sixth function, the base address a pointer, and its
// declaration goes.
// CHECK: module attributes {{{.*}}llmc.gpu_kernels = ["second", "first"]}
// CHECK: llvm.mlir.global external @__llmc_gpu() {{.*}} : !llvm.array<6 x ptr>
// CHECK-LABEL: llvm.func @step
// The stack slots of the launch arguments are in the entry block.
// CHECK: llvm.alloca %{{.*}} x !llvm.ptr
// CHECK: %[[ALLOC:.*]] = llvm.getelementptr %{{.*}}[0, 1] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<6 x ptr>
// CHECK: %[[ALLOCFN:.*]] = llvm.load %[[ALLOC]]
// CHECK: llvm.call %[[ALLOCFN]](%{{.*}}, %{{.*}}) : !llvm.ptr, (!llvm.ptr, i64) -> !llvm.ptr
// CHECK: %[[SECOND:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[LAUNCH:.*]] = llvm.getelementptr %{{.*}}[0, 3] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<6 x ptr>
// CHECK: %[[LAUNCHFN:.*]] = llvm.load %[[LAUNCH]]
// CHECK: llvm.call %[[LAUNCHFN]](%{{.*}}, %[[SECOND]], {{.*}}) : !llvm.ptr, (!llvm.ptr, i32, i64, i64, i64, i64, i64, i64, i32, !llvm.ptr) -> ()
// CHECK: llvm.mlir.constant(1 : i32) : i32
// CHECK: %[[COPY:.*]] = llvm.getelementptr %{{.*}}[0, 4] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<6 x ptr>
// CHECK: llvm.call %{{.*}} : !llvm.ptr, (!llvm.ptr, !llvm.ptr, !llvm.ptr, i64) -> ()
// CHECK: %[[FREE:.*]] = llvm.getelementptr %{{.*}}[0, 2] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<6 x ptr>
// CHECK: llvm.call %{{.*}} : !llvm.ptr, (!llvm.ptr, !llvm.ptr) -> ()
// CHECK-NOT: malloc
// CHECK-NOT: _mlir_memref_to_llvm
// CHECK-LABEL: llvm.func @maps
// CHECK: %[[BASE:.*]] = llvm.inttoptr %arg0 : i64 to !llvm.ptr
// CHECK: %[[MAPSLOT:.*]] = llvm.getelementptr %{{.*}}[0, 5] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<6 x ptr>
// CHECK: %[[MAPFN:.*]] = llvm.load %[[MAPSLOT]]
// CHECK: %[[MAP:.*]] = llvm.call %[[MAPFN]](%{{.*}}, %[[BASE]], %arg1, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : !llvm.ptr, (!llvm.ptr, !llvm.ptr, i64, i64, i64, i32, i32, i32, i32) -> !llvm.ptr
// CHECK: %[[ADDRESS:.*]] = llvm.ptrtoint %[[MAP]] : !llvm.ptr to i64
// CHECK: llvm.return %[[ADDRESS]]
// CHECK-NOT: __llmc_gpu_tensor_map
module attributes {gpu.container_module} {
  gpu.binary @llmc_kernels [#gpu.object<#nvvm.target, "">]
  func.func @step(%positions: memref<?xi64>, %n: index) -> i64 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %buffer = memref.alloc(%n) : memref<?xf32>
    gpu.launch_func @llmc_kernels::@second blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%buffer : memref<?xf32>, %n : index)
    gpu.launch_func @llmc_kernels::@first blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%buffer : memref<?xf32>)
    %element = memref.subview %positions[%c0] [1] [1] : memref<?xi64> to memref<i64, strided<[], offset: ?>>
    %slot = memref.alloca() : memref<i64>
    gpu.memcpy %slot, %element : memref<i64>, memref<i64, strided<[], offset: ?>>
    %p = memref.load %slot[] : memref<i64>
    memref.dealloc %buffer : memref<?xf32>
    return %p : i64
  }
  func.func @maps(%base: i64, %rows: i64) -> i64 {
    %c128 = arith.constant 128 : i64
    %c256 = arith.constant 256 : i64
    %c64 = arith.constant 64 : i32
    %c32 = arith.constant 32 : i32
    %c0 = arith.constant 0 : i32
    %map = func.call @__llmc_gpu_tensor_map(%base, %rows, %c128, %c256, %c64, %c32, %c64, %c0) : (i64, i64, i64, i64, i32, i32, i32, i32) -> i64
    return %map : i64
  }
  func.func private @__llmc_gpu_tensor_map(i64, i64, i64, i64, i32, i32, i32, i32) -> i64
}
