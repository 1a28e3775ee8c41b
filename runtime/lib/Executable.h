//===- Executable.h - One program's compiled code, on a backend -*- C++ -*-===//
//
// What the C interface calls, whatever the target: the CPU backend runs a
// host library on the weights mapped in memory, the CUDA backend the same
// kind of library whose kernels run on a GPU, on weights uploaded once.
// Also the host library both load and the memref descriptors through which
// they call its entry points.
//
//===----------------------------------------------------------------------===//

#ifndef LLMRT_LIB_EXECUTABLE_H
#define LLMRT_LIB_EXECUTABLE_H

#include "Artifact.h"

#include "llmrt/DType.h"
#include "llmrt/Status.h"
#include "llmrt/WeightStore.h"

#include <cstdint>
#include <dlfcn.h>
#include <memory>
#include <string>

namespace llmrt {

class Executable {
public:
  enum class Entry { Prefill, PrefillLast, Decode };

  virtual ~Executable() = default;

  /// Runs an entry point on `cache` (from allocateCache: 2 x layers x batch
  /// x max_seq x kv_heads x head_dim of the compute type, for the program's
  /// layers and KV heads) for `seq` tokens per row (1 for decode). A
  /// program that returns logits writes float32 logits: [batch, seq, vocab]
  /// for Prefill, [batch, vocab] for the token last[b] of each row
  /// (PrefillLast) or for the one token (Decode); others write nothing.
  virtual Status run(Entry entry, void *cache, int64_t batch, int64_t seq,
                     const int32_t *ids, const int64_t *positions,
                     const int64_t *last, float *logits) = 0;

  /// A zeroed KV cache of `bytes` where the program's code reads it.
  virtual Status allocateCache(size_t bytes, std::shared_ptr<void> &out) = 0;

  /// Bytes of this program's weights.
  virtual uint64_t weightBytes() const = 0;
};

/// MLIR's memref descriptor of rank N.
template <int N> struct MemRef {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[N];
  int64_t strides[N];
};

template <int N>
MemRef<N> contiguousMemRef(const void *data, const int64_t (&sizes)[N]) {
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

/// The entry points' C interfaces (`_mlir_ciface_*`): the logits come back
/// as a descriptor the code allocated. Pipeline stages before the last
/// return nothing.
using EntryPoint = void (*)(MemRef<3> *logits, MemRef<2> *ids,
                            MemRef<1> *positions, MemRef<6> *cache);
using LastEntryPoint = void (*)(MemRef<3> *logits, MemRef<2> *ids,
                                MemRef<1> *positions, MemRef<1> *last,
                                MemRef<6> *cache);
using StageEntryPoint = void (*)(MemRef<2> *ids, MemRef<1> *positions,
                                 MemRef<6> *cache);
using LastStageEntryPoint = void (*)(MemRef<2> *ids, MemRef<1> *positions,
                                     MemRef<1> *last, MemRef<6> *cache);

/// Element `index` of `data` (F32, F16 or BF16) as a float.
inline float elementToFloat(const void *data, int64_t index, DType dtype) {
  switch (dtype) {
  case DType::F16:
    return halfToFloat(static_cast<const uint16_t *>(data)[index]);
  case DType::BF16:
    return bfloat16ToFloat(static_cast<const uint16_t *>(data)[index]);
  default:
    return static_cast<const float *>(data)[index];
  }
}

/// Copies the [batch, rows, vocab] logits of `result` (strided, of
/// `dtype`, at `data` in host memory) densely into `logits` as floats.
inline void copyLogits(const MemRef<3> &result, const void *data,
                       DType dtype, int64_t batch, float *logits) {
  int64_t rows = result.sizes[1], vocab = result.sizes[2];
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < rows; ++s)
      for (int64_t v = 0; v < vocab; ++v)
        logits[(b * rows + s) * vocab + v] = elementToFloat(
            data,
            result.offset + b * result.strides[0] + s * result.strides[1] +
                v * result.strides[2],
            dtype);
}

/// The descriptors of one call's inputs.
struct EntryInputs {
  MemRef<2> ids;
  MemRef<1> positions;
  MemRef<1> last;
  MemRef<6> cache;
};

/// The descriptors of a call of `program` on `cache` for `batch` rows of
/// `seq` tokens.
inline EntryInputs entryInputs(const Manifest &manifest,
                               const ArtifactProgram &program, void *cache,
                               int64_t batch, int64_t seq, const int32_t *ids,
                               const int64_t *positions, const int64_t *last) {
  EntryInputs in;
  in.ids = contiguousMemRef(ids, {batch, seq});
  in.positions = contiguousMemRef(positions, {batch});
  in.last = contiguousMemRef(last, {batch});
  in.cache =
      contiguousMemRef(cache, {2, program.numLayers, batch, manifest.maxSeqLen,
                               program.numKVHeads, manifest.headDim});
  return in;
}

/// A program's host library, loaded with dlopen, with its parameter table
/// and entry points; closed with the object.
class HostLibrary {
public:
  HostLibrary() = default;
  HostLibrary(const HostLibrary &) = delete;
  HostLibrary &operator=(const HostLibrary &) = delete;
  ~HostLibrary() {
    if (handle)
      dlclose(handle);
  }

  Status open(const Manifest &manifest, const ArtifactProgram &program) {
    path = manifest.dir + "/" + program.library;
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle)
      return Status::error(path + ": cannot load: " + dlerror());
    void *table = nullptr;
    for (auto [name, address] :
         {std::pair<const std::string *, void **>{&manifest.paramTableSymbol,
                                                  &table},
          {&manifest.prefillSymbol, &prefill},
          {&manifest.prefillLastSymbol, &prefillLast},
          {&manifest.decodeSymbol, &decode}})
      if (Status status = require(*name, *address); !status.ok())
        return status;
    params = static_cast<const void **>(table);
    return {};
  }

  /// The library file.
  const std::string &file() const { return path; }
  /// An exported symbol, or null.
  void *find(const std::string &name) const {
    return dlsym(handle, name.c_str());
  }
  /// An exported symbol the library must have.
  Status require(const std::string &name, void *&address) const {
    address = find(name);
    if (!address)
      return Status::error(path + ": missing symbol '" + name + "'");
    return {};
  }

  /// Calls `entry` on `in`; `result` receives the logits when the program
  /// returns them.
  void call(Executable::Entry entry, bool returnsLogits, EntryInputs &in,
            MemRef<3> &result) const {
    bool lastOnly = entry == Executable::Entry::PrefillLast;
    void *code = entry == Executable::Entry::Decode ? decode
                 : lastOnly                         ? prefillLast
                                                    : prefill;
    if (!returnsLogits) {
      if (lastOnly)
        reinterpret_cast<LastStageEntryPoint>(code)(&in.ids, &in.positions,
                                                    &in.last, &in.cache);
      else
        reinterpret_cast<StageEntryPoint>(code)(&in.ids, &in.positions,
                                                &in.cache);
      return;
    }
    if (lastOnly)
      reinterpret_cast<LastEntryPoint>(code)(&result, &in.ids, &in.positions,
                                             &in.last, &in.cache);
    else
      reinterpret_cast<EntryPoint>(code)(&result, &in.ids, &in.positions,
                                         &in.cache);
  }

  /// The parameter table, in the manifest's `params` order.
  const void **params = nullptr;

private:
  std::string path;
  void *handle = nullptr;
  void *prefill = nullptr, *prefillLast = nullptr, *decode = nullptr;
};

/// The weights of `param`: its tensor in `store`, or its box of it.
inline Status viewParam(WeightStore &store, const ArtifactParam &param,
                        TensorView &view) {
  if (Status status = store.view(param.name, view); !status.ok())
    return status;
  for (size_t d = 0; d < param.offsets.size(); ++d)
    if (Status status = view.slice(d, param.offsets[d], param.shape[d], view);
        !status.ok())
      return Status::error("tensor '" + param.name + "': " +
                           status.message());
  return {};
}

} // namespace llmrt

#endif // LLMRT_LIB_EXECUTABLE_H
