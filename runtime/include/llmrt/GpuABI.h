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
  LLMRT_GPU_SLOT_TENSOR_MAP,
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

/* A TMA tensor map (sm_90, cuTensorMapEncodeTiled) of the matrix at
   `base`, of 16-bit floats (`bf16`: 0 f16, 1 bf16): `rows` rows of
   `columns` elements, `row_bytes` apart (a multiple of 16), read in boxes
   of box_rows x box_columns elements that land in shared memory swizzled
   in spans of `swizzle_bytes` (0: none, 32, 64 or 128); elements outside
   the matrix read as zeros. Returns the map's device
   address (64-byte aligned, in global memory), valid while the program is
   loaded: the same arguments give the same map. Host code calls it under
   the name LLMRT_GPU_TENSOR_MAP_CALL until the GPU table replaces the
   name. */
typedef void *(*llmrt_gpu_tensor_map_fn)(void *context, const void *base,
                                         int64_t rows, int64_t columns,
                                         int64_t row_bytes, int32_t box_rows,
                                         int32_t box_columns,
                                         int32_t swizzle_bytes, int32_t bf16);
#define LLMRT_GPU_TENSOR_MAP_CALL "__llmc_gpu_tensor_map"

/* The GPU's multiprocessor count: an int64_t the host library exports
   under this name when its GEMMs split k across blocks where their tiles
   are fewer than the multiprocessors (an H100's 132 until the runtime
   writes the GPU's before the first call). */
#define LLMRT_GPU_MULTIPROCESSORS "__llmc_gpu_multiprocessors"

#ifdef __cplusplus
}
#endif

#endif /* LLMRT_GPUABI_H */
