//===- WeightStore.h - A checkpoint's tensors, headers and data -*- C++ -*-===//
//
// The weights of a Hugging Face checkpoint folder: one model.safetensors, or
// the shards named by model.safetensors.index.json. Opening reads headers
// only (what the compiler needs); data is mmapped on first access and handed
// out as zero-copy typed views, so a model is never in memory twice.
//
//===----------------------------------------------------------------------===//

#ifndef LLMRT_WEIGHTSTORE_H
#define LLMRT_WEIGHTSTORE_H

#include "llmrt/Safetensors.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

/// A strided view of stored tensor data; strides count elements.
struct TensorView {
  const std::byte *data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;

  /// Elements [start, start + size) of dimension `dim`; no copy.
  /// Returns an error when the range is outside the tensor.
  Status slice(size_t dim, int64_t start, int64_t size, TensorView &out) const;
  /// True when the elements are dense and in row-major order.
  bool isContiguous() const;
  /// Elements and bytes of the view.
  int64_t numElements() const;
  size_t numBytes() const { return numElements() * dtypeSize(dtype); }
  /// Writes the elements densely, row-major, to `out` (numBytes() bytes).
  void copyTo(std::byte *out) const;
  /// The same as `to` (F32, F16 or BF16, from one of those; floats rounded
  /// to nearest even): numElements() * dtypeSize(to) bytes.
  void copyAs(DType to, std::byte *out) const;
  /// Typed pointer to the first element (the caller checks the dtype).
  template <typename T> const T *as() const {
    return reinterpret_cast<const T *>(data);
  }
};

/// A read-only memory map of a whole file.
class MappedFile;

class WeightStore {
public:
  /// Where a stored tensor lives.
  struct Entry {
    const TensorInfo *info;
    /// The file's path and header.
    const std::string *path;
    const SafetensorsHeader *header;
  };

  WeightStore();
  WeightStore(WeightStore &&);
  WeightStore &operator=(WeightStore &&);
  ~WeightStore();

  /// Opens the checkpoint folder `dir`: model.safetensors.index.json when
  /// present, else model.safetensors. Reads and checks headers only.
  static Status open(const std::string &dir, WeightStore &out);

  /// The tensor called `name`, or an entry with null `info`.
  Entry find(std::string_view name) const;
  /// All tensor names, sorted.
  std::vector<std::string> getNames() const;
  /// The file that lists the tensors: the index, or the single file.
  const std::string &getSourcePath() const { return sourcePath; }
  /// The files of the checkpoint, in the order opened.
  const std::vector<std::string> &getFiles() const { return paths; }
  /// The header of file `index` of getFiles().
  const SafetensorsHeader &getHeader(size_t index) const {
    return *headers[index];
  }
  /// Total bytes of tensor data.
  uint64_t getTotalBytes() const;

  /// A view of tensor `name`'s data; maps its file on first use.
  Status view(std::string_view name, TensorView &out);

private:
  Status addFile(const std::string &path);
  Status addIndexedShards(const std::string &dir, const std::string &index);

  std::string sourcePath;
  std::vector<std::string> paths;
  // Owned through pointers: entries point into them.
  std::vector<std::unique_ptr<SafetensorsHeader>> headers;
  std::vector<std::unique_ptr<MappedFile>> maps;
  /// tensor name -> (file index, tensor) for the tensors the checkpoint
  /// declares.
  std::map<std::string, std::pair<size_t, const TensorInfo *>, std::less<>>
      tensors;
};

} // namespace llmrt

#endif // LLMRT_WEIGHTSTORE_H
