//===- CpuExecutable.cpp - Host code of a CPU artifact --------------------===//

#include "CpuExecutable.h"

#include "../comm/Communicator.h"

#include <cstdlib>
#include <cstring>

namespace llmrt {

Status CpuExecutable::load(const Manifest &manifest,
                           const ArtifactProgram &program, WeightStore &store,
                           Communicator *communicator,
                           std::unique_ptr<CpuExecutable> &out) {
  std::unique_ptr<CpuExecutable> executable(
      new CpuExecutable(manifest, program));
  if (Status status = executable->code.open(manifest, program); !status.ok())
    return status;

  // The collectives table exists when the program communicates.
  if (void *collectives = executable->code.find(manifest.collectivesSymbol)) {
    if (!communicator)
      return Status::error(executable->code.file() +
                           ": the program communicates but the artifact runs "
                           "on one rank");
    communicator->fillTable(static_cast<void **>(collectives));
  }

  const void **slots = executable->code.params;
  for (size_t i = 0; i < program.params.size(); ++i) {
    const ArtifactParam &param = program.params[i];
    TensorView view;
    if (Status status = viewParam(store, param, view); !status.ok())
      return status;
    size_t bytes = view.numElements() * dtypeSize(param.dtype);
    executable->bytes += bytes;
    if (view.isContiguous() && view.dtype == param.dtype) {
      slots[i] = view.data;
      continue;
    }
    // A box of the tensor, or another dtype: the one copy the program uses.
    std::vector<std::byte> &copy = executable->copies.emplace_back(bytes);
    view.copyAs(param.dtype, copy.data());
    slots[i] = copy.data();
  }
  out = std::move(executable);
  return {};
}

uint64_t CpuExecutable::copiedBytes() const {
  uint64_t total = 0;
  for (const std::vector<std::byte> &copy : copies)
    total += copy.size();
  return total;
}

Status CpuExecutable::run(Entry entry, void *cache, int64_t batch,
                          int64_t seq, const int32_t *ids,
                          const int64_t *positions, const int64_t *last,
                          float *logits) {
  EntryInputs in = entryInputs(manifest, program, cache, batch, seq, ids,
                               positions, last);
  MemRef<3> result;
  code.call(entry, program.returnsLogits, in, result);
  if (!program.returnsLogits)
    return {};
  // The compiled code allocated the logits with malloc; copy out and free.
  copyLogits(result, result.aligned, manifest.computeType, batch, logits);
  std::free(result.allocated);
  return {};
}

Status CpuExecutable::allocateCache(size_t bytes, std::shared_ptr<void> &out) {
  void *data = std::calloc(bytes ? bytes : 1, 1);
  if (!data)
    return Status::error("cannot allocate a KV cache of " +
                         std::to_string(bytes) + " bytes");
  out = std::shared_ptr<void>(data, std::free);
  return {};
}

} // namespace llmrt
