//===- CpuExecutable.cpp - Host code of a CPU artifact --------------------===//

#include "CpuExecutable.h"

#include "../comm/Communicator.h"

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

namespace llmrt {

namespace {
/// MLIR's memref descriptor of rank N.
template <int N> struct MemRef {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[N];
  int64_t strides[N];
};

template <int N>
MemRef<N> contiguous(const void *data, const int64_t (&sizes)[N]) {
  MemRef<N> ref;
  ref.allocated = ref.aligned = const_cast<void *>(data);
  ref.offset = 0;
  int64_t stride = 1;
  for (int i = N - 1; i >= 0; --i) {
    ref.sizes[i] = sizes[i];
    ref.strides[i] = stride;
    stride *= sizes[i];
  }
  return ref;
}

using EntryPoint = void (*)(MemRef<3> *logits, MemRef<2> *ids,
                            MemRef<1> *positions, MemRef<6> *cache);
using LastEntryPoint = void (*)(MemRef<3> *logits, MemRef<2> *ids,
                                MemRef<1> *positions, MemRef<1> *last,
                                MemRef<6> *cache);
// Pipeline stages before the last return nothing.
using StageEntryPoint = void (*)(MemRef<2> *ids, MemRef<1> *positions,
                                 MemRef<6> *cache);
using LastStageEntryPoint = void (*)(MemRef<2> *ids, MemRef<1> *positions,
                                     MemRef<1> *last, MemRef<6> *cache);

float toFloat(const void *data, int64_t index, DType dtype) {
  switch (dtype) {
  case DType::F16:
    return halfToFloat(static_cast<const uint16_t *>(data)[index]);
  case DType::BF16:
    return bfloat16ToFloat(static_cast<const uint16_t *>(data)[index]);
  default:
    return static_cast<const float *>(data)[index];
  }
}
} // namespace

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
    if (Status status = store.view(param.name, view); !status.ok())
      return status;
    for (size_t d = 0; d < param.offsets.size(); ++d)
      if (Status status =
              view.slice(d, param.offsets[d], param.shape[d], view);
          !status.ok())
        return Status::error("tensor '" + param.name + "': " +
                             status.message());
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

void CpuExecutable::run(Entry entry, void *cache, int64_t batch, int64_t seq,
                        const int32_t *ids, const int64_t *positions,
                        const int64_t *last, float *logits) const {
  MemRef<2> idsRef = contiguous(ids, {batch, seq});
  MemRef<1> positionsRef = contiguous(positions, {batch});
  MemRef<6> cacheRef =
      contiguous(cache, {2, program.numLayers, batch, manifest.maxSeqLen,
                         program.numKVHeads, manifest.headDim});
  if (!program.returnsLogits) {
    if (entry == Entry::PrefillLast) {
      MemRef<1> lastRef = contiguous(last, {batch});
      reinterpret_cast<LastStageEntryPoint>(prefillLast)(
          &idsRef, &positionsRef, &lastRef, &cacheRef);
    } else {
      reinterpret_cast<StageEntryPoint>(entry == Entry::Decode ? decode
                                                               : prefill)(
          &idsRef, &positionsRef, &cacheRef);
    }
    return;
  }
  MemRef<3> result;
  if (entry == Entry::PrefillLast) {
    MemRef<1> lastRef = contiguous(last, {batch});
    reinterpret_cast<LastEntryPoint>(prefillLast)(&result, &idsRef,
                                                  &positionsRef, &lastRef,
                                                  &cacheRef);
  } else {
    reinterpret_cast<EntryPoint>(entry == Entry::Decode ? decode : prefill)(
        &result, &idsRef, &positionsRef, &cacheRef);
  }

  // The compiled code allocated the logits with malloc; copy out and free.
  int64_t rows = result.sizes[1], vocab = result.sizes[2];
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < rows; ++s)
      for (int64_t v = 0; v < vocab; ++v)
        logits[(b * rows + s) * vocab + v] =
            toFloat(result.aligned,
                    result.offset + b * result.strides[0] +
                        s * result.strides[1] + v * result.strides[2],
                    manifest.computeType);
  std::free(result.allocated);
}

} // namespace llmrt
