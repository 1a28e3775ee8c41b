//===- CpuExecutable.cpp - Host code of a CPU artifact --------------------===//

#include "CpuExecutable.h"

#include "../comm/Communicator.h"

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

namespace llmrt {

Status CpuExecutable::load(const Manifest &manifest,
                           const ArtifactProgram &program, WeightStore &store,
                           Communicator *communicator,
                           std::unique_ptr<CpuExecutable> &out) {
  std::unique_ptr<CpuExecutable> executable(
      new CpuExecutable(manifest, program));
  std::string path = manifest.dir + "/" + program.library;
  executable->library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!executable->library)
    return Status::error(path + ": cannot load: " + dlerror());
  auto symbol = [&](const std::string &name, void *&address) -> Status {
    address = dlsym(executable->library, name.c_str());
    if (!address)
      return Status::error(path + ": missing symbol '" + name + "'");
    return {};
  };
  void *table = nullptr;
  if (Status status = symbol(manifest.paramTableSymbol, table); !status.ok())
    return status;
  if (Status status = symbol(manifest.prefillSymbol, executable->prefill);
      !status.ok())
    return status;
  if (Status status = symbol(manifest.decodeSymbol, executable->decode);
      !status.ok())
    return status;
  if (Status status =
          symbol(manifest.prefillLastSymbol, executable->prefillLast);
      !status.ok())
    return status;

  // The collectives table exists when the program communicates.
  if (void *collectives =
          dlsym(executable->library, manifest.collectivesSymbol.c_str())) {
    if (!communicator)
      return Status::error(path + ": the program communicates but the "
                                  "artifact runs on one rank");
    communicator->fillTable(static_cast<void **>(collectives));
  }

  auto *slots = static_cast<const void **>(table);
  for (size_t i = 0; i < program.params.size(); ++i) {
    const ArtifactParam &param = program.params[i];
    TensorView view;
    if (Status status = viewParam(store, param, view); !status.ok())
      return status;
    executable->bytes += view.numBytes();
    if (view.isContiguous()) {
      slots[i] = view.data;
      continue;
    }
    std::vector<std::byte> &copy =
        executable->copies.emplace_back(view.numBytes());
    view.copyTo(copy.data());
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

CpuExecutable::~CpuExecutable() {
  if (library)
    dlclose(library);
}

Status CpuExecutable::run(Entry entry, void *cache, int64_t batch,
                          int64_t seq, const int32_t *ids,
                          const int64_t *positions, const int64_t *last,
                          float *logits) {
  EntryInputs in = entryInputs(manifest, program, cache, batch, seq, ids,
                               positions, last);
  void *code = entry == Entry::Decode        ? decode
               : entry == Entry::PrefillLast ? prefillLast
                                             : prefill;
  MemRef<3> result;
  callEntryPoint(code, entry == Entry::PrefillLast, program.returnsLogits, in,
                 result);
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
