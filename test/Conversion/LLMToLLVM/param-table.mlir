// Parameters become slots of one exported pointer table, read into static
// memref descriptors; public functions get C interfaces for the runtime.
// RUN: llmc-opt %s --convert-llm-to-llvm | FileCheck %s

// CHECK: llvm.mlir.global external @__llmc_params() {{.*}} : !llvm.array<2 x ptr>
// CHECK: llvm.mlir.zero : !llvm.array<2 x ptr>
// CHECK-NOT: llm.param
llm.param @a : tensor<4xf32> from "a"
llm.param @b : tensor<2x3xf16> from "b"

// CHECK-LABEL: llvm.func @second(
// CHECK: %[[T:.*]] = llvm.mlir.addressof @__llmc_params : !llvm.ptr
// CHECK: %[[SLOT:.*]] = llvm.getelementptr %[[T]][0, 1] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<2 x ptr>
// CHECK: %[[P:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.insertvalue %[[P]], %{{.*}}[0]
// CHECK: llvm.insertvalue %[[P]], %{{.*}}[1]
// CHECK: llvm.func @_mlir_ciface_second
func.func @second() -> memref<2x3xf16> {
  %0 = llm.param_buffer @b : memref<2x3xf16>
  return %0 : memref<2x3xf16>
}
