/*===- CollectiveABI.h - How compiled code reaches the collectives -*- C -*-===*\
|*                                                                            *|
|* A sharded program's host library exports `__llmc_runtime`, an array of     *|
|* LLMRT_COLLECTIVE_SLOTS pointers the runtime fills before the first call:   *|
|* a context, then the functions below. Compiled code calls them for the     *|
|* llm.*_buffer ops. `axes` is a bit mask of mesh axes (1: dp, 2: pp, 4: tp); *|
|* the group is the ranks that differ from the caller only along them, in    *|
|* mesh order. `dtype` is an llmrt::DType value (F32, F16 or BF16).          *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef LLMRT_COLLECTIVEABI_H
#define LLMRT_COLLECTIVEABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLMRT_COLLECTIVE_TABLE "__llmc_runtime"

enum {
  LLMRT_SLOT_CONTEXT,
  LLMRT_SLOT_ALL_REDUCE,
  LLMRT_SLOT_ALL_GATHER,
  LLMRT_SLOT_SEND,
  LLMRT_SLOT_RECV,
  LLMRT_COLLECTIVE_SLOTS
};

/* Sums `count` elements at `data` over the group, in place. */
typedef void (*llmrt_all_reduce_fn)(void *context, void *data, int64_t count,
                                    int32_t dtype, int32_t axes);
/* `input` is [outer, chunk]; `output` [outer, group size * chunk] holds the
   group's inputs side by side, in group order. */
typedef void (*llmrt_all_gather_fn)(void *context, const void *input,
                                    void *output, int64_t outer,
                                    int64_t chunk, int32_t dtype,
                                    int32_t axes);
/* Point to point with the group member of index `peer`. */
typedef void (*llmrt_send_fn)(void *context, const void *data, int64_t count,
                              int32_t dtype, int32_t axes, int64_t peer);
typedef void (*llmrt_recv_fn)(void *context, void *data, int64_t count,
                              int32_t dtype, int32_t axes, int64_t peer);

#ifdef __cplusplus
}
#endif

#endif /* LLMRT_COLLECTIVEABI_H */
