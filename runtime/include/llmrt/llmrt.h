/*===- llmrt.h - The llmc runtime's C interface -------------------*- C -*-===*\
|*                                                                            *|
|* Loads an artifact written by `llmc compile`, maps the checkpoint's weights *|
|* (one copy, shared with the page cache), and runs prefill and decode steps  *|
|* with a KV cache. Every call that can fail returns 0 on success and writes  *|
|* one line into `error` (at most error_size bytes) otherwise.               *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef LLMRT_LLMRT_H
#define LLMRT_LLMRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct llmrt_model llmrt_model;
typedef struct llmrt_session llmrt_session;

/* Opens the artifact directory: checks its format version, that the
   checkpoint it was compiled from is unchanged (sizes, header checksums,
   tensor dtypes and shapes), maps the weights and loads the code. */
int llmrt_model_open(const char *artifact_dir, llmrt_model **model,
                     char *error, size_t error_size);
void llmrt_model_close(llmrt_model *model);

int64_t llmrt_model_vocab_size(const llmrt_model *model);
int64_t llmrt_model_max_seq_len(const llmrt_model *model);
int64_t llmrt_model_max_batch(const llmrt_model *model);

/* A sharded artifact (dp x pp x tp ranks) runs as one process per rank,
   started by mpirun or srun; every rank makes the same calls. Rank 0's
   tokens are the ones every rank runs, and the logits are written on rank
   0 only. An artifact of one rank needs no launcher. */
int64_t llmrt_model_rank(const llmrt_model *model);
/* The rank the launcher gave this process, before any model is open (0
   when not started by mpirun or srun). */
int64_t llmrt_launcher_rank(void);
int64_t llmrt_model_world_size(const llmrt_model *model);
/* Bytes of this rank's weights, and of what its collectives sent so far
   (ring algorithms: an all-reduce of N bytes over G ranks sends
   2 (G - 1) N / G). */
uint64_t llmrt_model_weight_bytes(const llmrt_model *model);
uint64_t llmrt_model_communicated_bytes(const llmrt_model *model);

/* A KV cache for `batch` sequences, zeroed. */
int llmrt_session_create(llmrt_model *model, int64_t batch,
                         llmrt_session **session, char *error,
                         size_t error_size);
void llmrt_session_close(llmrt_session *session);

/* Runs `seq` tokens per row: ids is [batch, seq] (rows right-padded),
   positions[b] the position of row b's first token. Writes float32 logits
   [batch, seq, vocab] and the keys and values into the cache. */
int llmrt_prefill(llmrt_session *session, const int32_t *ids, int64_t seq,
                  const int64_t *positions, float *logits, char *error,
                  size_t error_size);

/* Like llmrt_prefill, but writes only the logits of token last[b] of each
   row (its last prompt token): [batch, vocab]. Skips the vocabulary
   projection of every other token. */
int llmrt_prefill_last(llmrt_session *session, const int32_t *ids,
                       int64_t seq, const int64_t *positions,
                       const int64_t *last, float *logits, char *error,
                       size_t error_size);

/* One token per row at positions[b]; logits [batch, vocab]. */
int llmrt_decode(llmrt_session *session, const int32_t *ids,
                 const int64_t *positions, float *logits, char *error,
                 size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* LLMRT_LLMRT_H */
