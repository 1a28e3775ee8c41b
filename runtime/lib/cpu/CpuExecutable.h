//===- CpuExecutable.h - Host code of a CPU artifact ------------*- C++ -*-===//
//
// The CPU backend: the artifact's shared library, its parameter table filled
// with the addresses of the mapped weights, and calls of the compiled entry
// points through their C interface (MLIR memref descriptors).
//
//===----------------------------------------------------------------------===//

#ifndef LLMRT_LIB_CPU_CPUEXECUTABLE_H
#define LLMRT_LIB_CPU_CPUEXECUTABLE_H

#include "../Artifact.h"

#include "llmrt/WeightStore.h"

#include <memory>

namespace llmrt {

class CpuExecutable {
public:
  /// Loads the library of `manifest` and points its parameter table at the
  /// tensors of `store` (which must outlive the executable).
  static Status load(const Manifest &manifest, WeightStore &store,
                     std::unique_ptr<CpuExecutable> &out);
  ~CpuExecutable();

  enum class Entry { Prefill, PrefillLast, Decode };

  /// Runs an entry point on `cache` (2 x layers x batch x max_seq x kv_heads
  /// x head_dim of the compute type) for `seq` tokens per row (1 for
  /// decode) and writes float32 logits: [batch, seq, vocab] for Prefill,
  /// [batch, vocab] for the token last[b] of each row (PrefillLast) or for
  /// the one token (Decode).
  void run(Entry entry, void *cache, int64_t batch, int64_t seq,
           const int32_t *ids, const int64_t *positions, const int64_t *last,
           float *logits) const;

private:
  CpuExecutable(const Manifest &manifest) : manifest(manifest) {}

  const Manifest &manifest;
  void *library = nullptr;
  void *prefill = nullptr;
  void *prefillLast = nullptr;
  void *decode = nullptr;
};

} // namespace llmrt

#endif // LLMRT_LIB_CPU_CPUEXECUTABLE_H
