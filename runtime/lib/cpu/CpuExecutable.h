//===- CpuExecutable.h - Host code of a CPU artifact ------------*- C++ -*-===//
//
// The CPU backend: one program's shared library, its parameter table filled
// with the addresses of the mapped weights (slices of them are views when
// contiguous, copies when strided), its collectives table filled with the
// communicator, and calls of the compiled entry points through their C
// interface (MLIR memref descriptors).
//
//===----------------------------------------------------------------------===//

#ifndef LLMRT_LIB_CPU_CPUEXECUTABLE_H
#define LLMRT_LIB_CPU_CPUEXECUTABLE_H

#include "../Artifact.h"
#include "../Executable.h"

#include "llmrt/WeightStore.h"

#include <memory>

namespace llmrt {

class Communicator;

class CpuExecutable : public Executable {
public:
  /// Loads `program`'s library and points its parameter table at the
  /// tensors (or slices) of `store`, which must outlive the executable, as
  /// must `communicator` (null for an unsharded program).
  static Status load(const Manifest &manifest, const ArtifactProgram &program,
                     WeightStore &store, Communicator *communicator,
                     std::unique_ptr<CpuExecutable> &out);

  Status run(Entry entry, void *cache, int64_t batch, int64_t seq,
             const int32_t *ids, const int64_t *positions, const int64_t *last,
             float *logits) override;
  Status allocateCache(size_t bytes, std::shared_ptr<void> &out) override;
  /// Bytes of this program's weights (views and copies).
  uint64_t weightBytes() const override { return bytes; }
  /// Bytes of weight slices copied out of the checkpoint (strided slices).
  uint64_t copiedBytes() const;

private:
  CpuExecutable(const Manifest &manifest, const ArtifactProgram &program)
      : manifest(manifest), program(program) {}

  const Manifest &manifest;
  const ArtifactProgram &program;
  HostLibrary code;
  uint64_t bytes = 0;
  /// Strided weight slices, copied dense.
  std::vector<std::vector<std::byte>> copies;
};

} // namespace llmrt

#endif // LLMRT_LIB_CPU_CPUEXECUTABLE_H
