//===- Safetensors.cpp - Validated headers of .safetensors files ----------===//

#include "llmrt/Safetensors.h"

#include "JsonText.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace llmrt {

using nlohmann::json;

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

namespace {
constexpr uint64_t kLengthBytes = 8;

uint64_t readLittleEndian64(const unsigned char *bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = (value << 8) | bytes[i];
  return value;
}

/// Checks the header length against the file size and the limit.
Status checkHeaderLength(uint64_t headerBytes, uint64_t fileBytes,
                         std::string_view fileName) {
  std::string prefix = std::string(fileName) + ": header length " +
                       std::to_string(headerBytes);
  if (headerBytes > SafetensorsHeader::kMaxHeaderBytes)
    return Status::error(prefix + " exceeds the limit of " +
                         std::to_string(SafetensorsHeader::kMaxHeaderBytes) +
                         " bytes");
  if (headerBytes > fileBytes - kLengthBytes)
    return Status::error(prefix + " exceeds the " +
                         std::to_string(fileBytes - kLengthBytes) +
                         " bytes that follow the length in the file");
  return {};
}

Status tooSmall(uint64_t fileBytes, std::string_view fileName) {
  return Status::error(std::string(fileName) + ": " +
                       std::to_string(fileBytes) +
                       " bytes is too small for a safetensors file (expects "
                       "an 8-byte header length first)");
}

/// Parses one tensor entry of the header.
Status parseTensor(const std::string &name, const json &entry,
                   uint64_t dataSize, const std::string &where,
                   TensorInfo &tensor) {
  tensor.name = name;
  if (!entry.is_object())
    return Status::error(where + ": expected an object with dtype, shape "
                                 "and data_offsets");
  auto dtypeIt = entry.find("dtype");
  if (dtypeIt == entry.end() || !dtypeIt->is_string())
    return Status::error(where + ": field 'dtype': expected a string");
  const std::string &dtypeName = dtypeIt->get_ref<const std::string &>();
  std::optional<DType> dtype = parseDType(dtypeName);
  if (!dtype)
    return Status::error(where + ": unknown dtype '" + dtypeName +
                         "' (expects one of " + std::string(dtypeNames()) +
                         ")");
  tensor.dtype = *dtype;

  auto shapeIt = entry.find("shape");
  if (shapeIt == entry.end() || !shapeIt->is_array())
    return Status::error(where + ": field 'shape': expected an array of "
                                 "non-negative integers");
  uint64_t elements = 1;
  bool overflow = false;
  for (const json &dim : *shapeIt) {
    std::optional<int64_t> size = getNonNegativeInt(dim);
    if (!size)
      return Status::error(where + ": field 'shape': expected an array of "
                                   "non-negative integers, found " +
                           dim.dump());
    tensor.shape.push_back(*size);
    overflow |= __builtin_mul_overflow(elements, static_cast<uint64_t>(*size),
                                       &elements);
  }

  auto offsetsIt = entry.find("data_offsets");
  std::optional<int64_t> begin, end;
  if (offsetsIt != entry.end() && offsetsIt->is_array() &&
      offsetsIt->size() == 2) {
    begin = getNonNegativeInt((*offsetsIt)[0]);
    end = getNonNegativeInt((*offsetsIt)[1]);
  }
  if (!begin || !end || *begin > *end)
    return Status::error(where + ": field 'data_offsets': expected [begin, "
                                 "end] with 0 <= begin <= end");
  tensor.begin = *begin;
  tensor.end = *end;
  std::string range = "[" + std::to_string(tensor.begin) + ", " +
                      std::to_string(tensor.end) + "]";

  uint64_t bytes = 0;
  overflow |= __builtin_mul_overflow(elements, dtypeSize(tensor.dtype), &bytes);
  if (overflow || bytes != tensor.numBytes())
    return Status::error(where + ": shape " + formatShape(tensor.shape) +
                         " of " + dtypeName + " needs " +
                         (overflow ? std::string("more than 2^64")
                                   : std::to_string(bytes)) +
                         " bytes, but data_offsets " + range + " hold " +
                         std::to_string(tensor.numBytes()));
  if (tensor.end > dataSize)
    return Status::error(where + ": data_offsets " + range +
                         " exceed the data section (" +
                         std::to_string(dataSize) +
                         " bytes): the file is truncated or corrupt");
  return {};
}

Status parseMetadata(const json &value, std::string_view fileName,
                     std::map<std::string, std::string> &metadata) {
  if (value.is_object()) {
    for (const auto &[key, item] : value.items()) {
      if (!item.is_string())
        break;
      metadata[key] = item.get<std::string>();
    }
    if (metadata.size() == value.size())
      return {};
  }
  return Status::error(std::string(fileName) +
                       ": '__metadata__': expected an object of strings");
}
} // namespace

/// 64-bit FNV-1a.
static uint64_t fnv1a(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char byte : bytes)
    hash = (hash ^ byte) * 0x100000001b3ULL;
  return hash;
}

Status SafetensorsHeader::parseJson(std::string_view text,
                                    std::string_view fileName) {
  checksum = fnv1a(text);
  json root;
  if (Status status = parseJsonText(text, std::string(fileName) + ": header",
                                    root);
      !status.ok())
    return status;
  if (!root.is_object())
    return Status::error(std::string(fileName) +
                         ": header: expected a JSON object of tensors");
  for (const auto &[name, entry] : root.items()) {
    if (name == "__metadata__") {
      if (Status status = parseMetadata(entry, fileName, metadata);
          !status.ok())
        return status;
      continue;
    }
    TensorInfo tensor;
    std::string where = std::string(fileName) + ": tensor '" + name + "'";
    if (Status status = parseTensor(name, entry, dataSize, where, tensor);
        !status.ok())
      return status;
    tensors.push_back(std::move(tensor));
  }

  std::sort(tensors.begin(), tensors.end(),
            [](const TensorInfo &a, const TensorInfo &b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  // Sorted by begin, a tensor overlaps an earlier one exactly when it starts
  // before the furthest end seen so far (empty tensors overlap nothing).
  const TensorInfo *furthest = nullptr;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorInfo &tensor = tensors[i];
    if (furthest && tensor.numBytes() > 0 && tensor.begin < furthest->end)
      return Status::error(std::string(fileName) + ": tensors '" +
                           furthest->name + "' [" +
                           std::to_string(furthest->begin) + ", " +
                           std::to_string(furthest->end) + "] and '" +
                           tensor.name + "' [" + std::to_string(tensor.begin) +
                           ", " + std::to_string(tensor.end) + "] overlap");
    if (!furthest || tensor.end > furthest->end)
      furthest = &tensor;
    index.emplace(tensor.name, i);
  }
  return {};
}

Status SafetensorsHeader::parseFile(std::string_view bytes,
                                    std::string_view fileName,
                                    SafetensorsHeader &out) {
  out = SafetensorsHeader();
  if (bytes.size() < kLengthBytes)
    return tooSmall(bytes.size(), fileName);
  uint64_t headerBytes =
      readLittleEndian64(reinterpret_cast<const unsigned char *>(bytes.data()));
  if (Status status = checkHeaderLength(headerBytes, bytes.size(), fileName);
      !status.ok())
    return status;
  out.dataOffset = kLengthBytes + headerBytes;
  out.dataSize = bytes.size() - out.dataOffset;
  return out.parseJson(bytes.substr(kLengthBytes, headerBytes), fileName);
}

namespace {
/// Reads exactly `size` bytes at `offset`.
Status readAt(int fd, uint64_t offset, size_t size, char *buffer,
              const std::string &path) {
  size_t done = 0;
  while (done < size) {
    ssize_t got = pread(fd, buffer + done, size - done, offset + done);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return Status::error(path + ": read failed: " +
                           (got < 0 ? std::strerror(errno) : "unexpected end"));
    done += got;
  }
  return {};
}

/// Closes a file descriptor when it goes out of scope.
struct FileCloser {
  int fd;
  ~FileCloser() {
    if (fd >= 0)
      close(fd);
  }
};
} // namespace

Status SafetensorsHeader::read(const std::string &path,
                               SafetensorsHeader &out) {
  out = SafetensorsHeader();
  FileCloser file{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0)
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  struct stat info;
  if (fstat(file.fd, &info) != 0)
    return Status::error(path + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    return Status::error(path + ": not a regular file");
  uint64_t fileBytes = info.st_size;
  if (fileBytes < kLengthBytes)
    return tooSmall(fileBytes, path);

  unsigned char length[kLengthBytes];
  if (Status status = readAt(file.fd, 0, kLengthBytes,
                             reinterpret_cast<char *>(length), path);
      !status.ok())
    return status;
  uint64_t headerBytes = readLittleEndian64(length);
  if (Status status = checkHeaderLength(headerBytes, fileBytes, path);
      !status.ok())
    return status;
  std::string header(headerBytes, '\0');
  if (Status status =
          readAt(file.fd, kLengthBytes, headerBytes, header.data(), path);
      !status.ok())
    return status;
  out.dataOffset = kLengthBytes + headerBytes;
  out.dataSize = fileBytes - out.dataOffset;
  return out.parseJson(header, path);
}

const TensorInfo *SafetensorsHeader::find(std::string_view name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &tensors[it->second];
}

} // namespace llmrt
