//===- Safetensors.h - Validated headers of .safetensors files --*- C++ -*-===//
//
// A .safetensors file is an 8-byte little-endian header length N, N bytes of
// JSON describing each tensor (dtype, shape, byte range in the data section),
// then the data section. This parser reads and checks the header only; it
// treats every file as hostile: any inconsistency is one error line, never a
// crash or a read past what the file holds.
//
//===----------------------------------------------------------------------===//

#ifndef LLMRT_SAFETENSORS_H
#define LLMRT_SAFETENSORS_H

#include "llmrt/DType.h"
#include "llmrt/Status.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

/// One tensor of a safetensors file.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// Byte range [begin, end) in the data section.
  uint64_t begin = 0;
  uint64_t end = 0;

  uint64_t numBytes() const { return end - begin; }
};

/// "[2, 3]" for error messages and summaries.
std::string formatShape(const std::vector<int64_t> &shape);

/// The parsed, validated header of one .safetensors file.
class SafetensorsHeader {
public:
  /// The largest header accepted (as in the reference implementation).
  static constexpr uint64_t kMaxHeaderBytes = 100'000'000;

  /// Reads and validates the header of the file at `path`, reading only the
  /// header bytes, never tensor data.
  static Status read(const std::string &path, SafetensorsHeader &out);

  /// Validates a whole file held in memory (`fileName` names it in errors).
  static Status parseFile(std::string_view bytes, std::string_view fileName,
                          SafetensorsHeader &out);

  /// Tensors in the order of their data.
  const std::vector<TensorInfo> &getTensors() const { return tensors; }
  /// The tensor called `name`, or null.
  const TensorInfo *find(std::string_view name) const;
  /// File offset of the data section (8 + header length).
  uint64_t getDataOffset() const { return dataOffset; }
  /// Size of the data section in bytes.
  uint64_t getDataSize() const { return dataSize; }
  /// A 64-bit FNV-1a checksum of the header bytes, to notice a checkpoint
  /// that changed after compilation without reading its data.
  uint64_t getChecksum() const { return checksum; }
  /// The optional "__metadata__" string map.
  const std::map<std::string, std::string> &getMetadata() const {
    return metadata;
  }

private:
  Status parseJson(std::string_view json, std::string_view fileName);

  std::vector<TensorInfo> tensors;
  std::map<std::string, size_t, std::less<>> index;
  std::map<std::string, std::string> metadata;
  uint64_t dataOffset = 0;
  uint64_t dataSize = 0;
  uint64_t checksum = 0;
};

} // namespace llmrt

#endif // LLMRT_SAFETENSORS_H
