// One-shot bufferization turns the mesh collectives into llm's buffer
// collectives: the all-reduce in place, the all-gather into a new buffer,
// the send from and the recv into the operand's buffer; then
// convert-llm-to-llvm calls the runtime's table.
// RUN: llmc-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s
// RUN: llmc-opt %s --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --convert-llm-to-llvm | FileCheck %s --check-prefix=LLVM

mesh.mesh @world(shape = 1x2x2)

// CHECK-LABEL: func.func @reduce(
// CHECK-SAME: %[[A:.*]]: memref<?x64xf32>
// CHECK: llm.all_reduce_buffer %[[A]] {mesh_axes = array<i64: 2>} : memref<?x64xf32>
// CHECK: return %[[A]]
// LLVM: llvm.mlir.global external @__llmc_runtime() {{.*}} : !llvm.array<5 x ptr>
// LLVM-LABEL: llvm.func @reduce(
// LLVM: %[[SLOT:.*]] = llvm.getelementptr %{{.*}}[0, 1] : (!llvm.ptr) -> !llvm.ptr, !llvm.array<5 x ptr>
// LLVM: %[[FN:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// LLVM: llvm.call %[[FN]](%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : !llvm.ptr, (!llvm.ptr, !llvm.ptr, i64, i32, i32) -> ()
func.func @reduce(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %r = mesh.all_reduce %x on @world mesh_axes = [2] : tensor<?x64xf32> -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @gather(
// CHECK-SAME: %[[X:.*]]: memref<?x128xf16>
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) {{.*}}: memref<?x256xf16>
// CHECK: llm.all_gather_buffer %[[X]], %[[OUT]] {gather_axis = 1 : i64, mesh_axes = array<i64: 2>}
func.func @gather(%x: tensor<?x128xf16>) -> tensor<?x256xf16> {
  %g = mesh.all_gather %x on @world mesh_axes = [2] gather_axis = 1 : tensor<?x128xf16> -> tensor<?x256xf16>
  return %g : tensor<?x256xf16>
}

// CHECK-LABEL: func.func @pipeline(
// CHECK: llm.send_buffer %{{.*}} {mesh_axes = array<i64: 1>, peer = 1 : i64}
// CHECK: %[[BUF:.*]] = memref.alloc(%{{.*}}) {{.*}}: memref<?x64xf32>
// CHECK: llm.recv_buffer %[[BUF]] {mesh_axes = array<i64: 1>, peer = 0 : i64}
// CHECK: return %[[BUF]]
func.func @pipeline(%x: tensor<?x64xf32>, %n: index) -> tensor<?x64xf32> {
  %s = mesh.send %x on @world mesh_axes = [1] destination = [1] : (tensor<?x64xf32>) -> tensor<?x64xf32>
  %e = tensor.empty(%n) : tensor<?x64xf32>
  %r = mesh.recv %e on @world mesh_axes = [1] source = [0] : (tensor<?x64xf32>) -> tensor<?x64xf32>
  return %r : tensor<?x64xf32>
}
