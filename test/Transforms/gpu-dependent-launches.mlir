// RUN: llmc-opt %s --llmc-gpu-dependent-launches | FileCheck %s

// Every kernel first waits for the kernel before it on the stream (its
// results, and its reads of what this one overwrites), before its first
// memory access; the next kernel launches as its blocks exit (no early
// trigger). The module says so for the manifest.
// CHECK: module attributes {gpu.container_module, llmc.gpu_dependent_launch}
// CHECK-LABEL: gpu.func @copy
// CHECK-NEXT: llvm.inline_asm has_side_effects "griddepcontrol.wait;", "~{memory}"
// CHECK-NEXT: gpu.thread_id x
// CHECK-NEXT: memref.load
// Functions that are not kernels are left alone.
// CHECK-NOT: launch_dependents
// CHECK-LABEL: gpu.func @helper
// CHECK-NOT: griddepcontrol
// CHECK: gpu.return
module attributes {gpu.container_module} {
  gpu.module @llmc_kernels {
    gpu.func @copy(%a: memref<64xf32>, %b: memref<64xf32>) kernel {
      %i = gpu.thread_id x
      %x = memref.load %a[%i] : memref<64xf32>
      memref.store %x, %b[%i] : memref<64xf32>
      gpu.return
    }
    gpu.func @helper(%a: memref<64xf32>) {
      gpu.return
    }
  }
}

// -----

// A module without kernels is not marked.
// RUN: llmc-opt %s --split-input-file --llmc-gpu-dependent-launches | FileCheck %s --check-prefix=NONE
// NONE-LABEL: module {
// NONE-NOT: llmc.gpu_dependent_launch
