/*===- GpuABI.h - How compiled host code reaches the GPU -----------*- C -*-===*\
|*                                                                            *|
|* The host library of a GPU program exports `__llmc_gpu`, an array of        *|
|* LLMRT_GPU_SLOTS pointers the runtime fills before the first call: a        *|
|* context, then the functions below. All of them are ordered on one stream:  *|
|* allocations, launches and copies run in the order the host code issues     *|
|* them. Kernels are named by their index in the manifest's program          *|
|* `kernels` list; their arguments follow the NVVM calling convention of the *|
|* kernel (a memref is its descriptor's fields, one argument each).          *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef LLMRT_GPUABI_H
#define LLMRT_GPUABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLMRT_GPU_TABLE "__llmc_gpu"

enum {
  LLMRT_GPU_SLOT_CONTEXT,
  LLMRT_GPU_SLOT_ALLOC,
  LLMRT_GPU_SLOT_FREE,
  LLMRT_GPU_SLOT_LAUNCH,
  LLMRT_GPU_SLOT_MEMCPY,
  LLMRT_GPU_SLOTS
};

/* Device memory, stream-ordered; never null (the runtime ends the process
   with one line when the device is out of memory). */
typedef void *(*llmrt_gpu_alloc_fn)(void *context, int64_t bytes);
typedef void (*llmrt_gpu_free_fn)(void *context, void *pointer);
/* `args` holds one pointer per kernel argument, to its value. */
typedef void (*llmrt_gpu_launch_fn)(void *context, int32_t kernel,
                                    int64_t grid_x, int64_t grid_y,
                                    int64_t grid_z, int64_t block_x,
                                    int64_t block_y, int64_t block_z,
                                    int32_t shared_bytes, void **args);
/* Copies between device and host memory in either direction; returns when
   the copy is done (host code reads the result next). */
typedef void (*llmrt_gpu_memcpy_fn)(void *context, void *destination,
                                    const void *source, int64_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* LLMRT_GPUABI_H */
