//===- WeightStore.cpp - A checkpoint's tensors, headers and data ---------===//

#include "llmrt/WeightStore.h"

#include "JsonText.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace llmrt {

using nlohmann::json;

class MappedFile {
public:
  static Status map(const std::string &path, std::unique_ptr<MappedFile> &out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return Status::error(path + ": cannot open: " + std::strerror(errno));
    struct stat info;
    if (fstat(fd, &info) != 0) {
      close(fd);
      return Status::error(path + ": cannot stat: " + std::strerror(errno));
    }
    size_t size = info.st_size;
    void *data = size ? mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0)
                      : nullptr;
    int mapError = errno;
    close(fd);
    if (data == MAP_FAILED)
      return Status::error(path + ": cannot map: " + std::strerror(mapError));
    out.reset(new MappedFile(static_cast<const std::byte *>(data), size));
    return {};
  }
  ~MappedFile() {
    if (data)
      munmap(const_cast<std::byte *>(data), size);
  }
  const std::byte *getData() const { return data; }
  size_t getSize() const { return size; }

private:
  MappedFile(const std::byte *data, size_t size) : data(data), size(size) {}
  const std::byte *data;
  size_t size;
};

//===----------------------------------------------------------------------===//
// TensorView
//===----------------------------------------------------------------------===//

Status TensorView::slice(size_t dim, int64_t start, int64_t size,
                         TensorView &out) const {
  if (dim >= shape.size() || start < 0 || size < 0 ||
      start > shape[dim] - size)
    return Status::error("slice [" + std::to_string(start) + ", " +
                         std::to_string(start + size) + ") of dimension " +
                         std::to_string(dim) + " is outside shape " +
                         formatShape(shape));
  out = *this;
  out.shape[dim] = size;
  out.data += start * strides[dim] * static_cast<int64_t>(dtypeSize(dtype));
  return {};
}

int64_t TensorView::numElements() const {
  int64_t total = 1;
  for (int64_t dim : shape)
    total *= dim;
  return total;
}

void TensorView::copyTo(std::byte *out) const {
  size_t element = dtypeSize(dtype);
  if (isContiguous()) {
    std::memcpy(out, data, numBytes());
    return;
  }
  // Row by row along the last dimension, which may itself be strided.
  size_t rank = shape.size();
  int64_t total = numElements();
  std::vector<int64_t> index(rank, 0);
  for (int64_t n = 0; n < total; ++n) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d)
      offset += index[d] * strides[d];
    std::memcpy(out + n * element, data + offset * element, element);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
}

void TensorView::copyAs(DType to, std::byte *out) const {
  if (to == dtype) {
    copyTo(out);
    return;
  }
  std::vector<std::byte> dense(numBytes());
  copyTo(dense.data());
  auto load = [&](const std::byte *at) -> float {
    uint16_t bits;
    std::memcpy(&bits, at, 2);
    switch (dtype) {
    case DType::F16:
      return halfToFloat(bits);
    case DType::BF16:
      return bfloat16ToFloat(bits);
    default: {
      float value;
      std::memcpy(&value, at, 4);
      return value;
    }
    }
  };
  size_t from = dtypeSize(dtype), width = dtypeSize(to);
  for (int64_t i = 0, n = numElements(); i < n; ++i) {
    float value = load(dense.data() + i * from);
    std::byte *at = out + i * width;
    if (to == DType::F32) {
      std::memcpy(at, &value, 4);
      continue;
    }
    uint16_t bits =
        to == DType::F16 ? floatToHalf(value) : floatToBFloat16(value);
    std::memcpy(at, &bits, 2);
  }
}

bool TensorView::isContiguous() const {
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && strides[i] != expected)
      return false;
    expected *= shape[i];
  }
  return true;
}

//===----------------------------------------------------------------------===//
// WeightStore
//===----------------------------------------------------------------------===//

WeightStore::WeightStore() = default;
WeightStore::WeightStore(WeightStore &&) = default;
WeightStore &WeightStore::operator=(WeightStore &&) = default;
WeightStore::~WeightStore() = default;

static bool exists(const std::string &path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

Status WeightStore::open(const std::string &dir, WeightStore &out) {
  out = WeightStore();
  std::string index = dir + "/model.safetensors.index.json";
  if (exists(index)) {
    out.sourcePath = index;
    return out.addIndexedShards(dir, index);
  }
  std::string single = dir + "/model.safetensors";
  if (!exists(single))
    return Status::error(dir + ": no model.safetensors or "
                               "model.safetensors.index.json");
  out.sourcePath = single;
  if (Status status = out.addFile(single); !status.ok())
    return status;
  for (const TensorInfo &tensor : out.headers.back()->getTensors())
    out.tensors.emplace(tensor.name, std::make_pair(0, &tensor));
  return {};
}

Status WeightStore::addFile(const std::string &path) {
  auto header = std::make_unique<SafetensorsHeader>();
  if (Status status = SafetensorsHeader::read(path, *header); !status.ok())
    return status;
  paths.push_back(path);
  headers.push_back(std::move(header));
  maps.emplace_back();
  return {};
}

/// A shard name must stay inside the checkpoint folder.
static bool isPlainFileName(const std::string &name) {
  return !name.empty() && name.find('/') == std::string::npos &&
         name != "." && name != "..";
}

Status WeightStore::addIndexedShards(const std::string &dir,
                                     const std::string &index) {
  json root;
  if (Status status = readJsonFile(index, root); !status.ok())
    return status;
  auto weightMap = root.is_object() ? root.find("weight_map") : root.end();
  if (!root.is_object() || weightMap == root.end() || !weightMap->is_object())
    return Status::error(index + ": field 'weight_map': expected an object "
                                 "from tensor name to shard file name");

  std::map<std::string, size_t> shardIndex;
  for (const auto &[name, shard] : weightMap->items()) {
    if (!shard.is_string() || !isPlainFileName(shard.get<std::string>()))
      return Status::error(index + ": weight_map['" + name +
                           "']: expected a file name in the checkpoint "
                           "folder, found " +
                           shard.dump());
    const std::string &file = shard.get_ref<const std::string &>();
    auto [it, inserted] = shardIndex.emplace(file, paths.size());
    if (inserted)
      if (Status status = addFile(dir + "/" + file); !status.ok())
        return status;
    const TensorInfo *tensor = headers[it->second]->find(name);
    if (!tensor)
      return Status::error(index + ": weight_map['" + name + "'] names " +
                           file + ", which has no tensor '" + name + "'");
    tensors.emplace(name, std::make_pair(it->second, tensor));
  }
  return {};
}

WeightStore::Entry WeightStore::find(std::string_view name) const {
  auto it = tensors.find(name);
  if (it == tensors.end())
    return {nullptr, nullptr, nullptr};
  size_t file = it->second.first;
  return {it->second.second, &paths[file], headers[file].get()};
}

std::vector<std::string> WeightStore::getNames() const {
  std::vector<std::string> names;
  for (const auto &entry : tensors)
    names.push_back(entry.first);
  return names;
}

uint64_t WeightStore::getTotalBytes() const {
  uint64_t total = 0;
  for (const auto &entry : tensors)
    total += entry.second.second->numBytes();
  return total;
}

Status WeightStore::view(std::string_view name, TensorView &out) {
  auto it = tensors.find(name);
  if (it == tensors.end())
    return Status::error("no tensor '" + std::string(name) +
                         "' in the checkpoint");
  auto [file, tensor] = it->second;
  if (!maps[file])
    if (Status status = MappedFile::map(paths[file], maps[file]); !status.ok())
      return status;
  const SafetensorsHeader &header = *headers[file];
  // The file may have changed since its header was read.
  if (maps[file]->getSize() < header.getDataOffset() + tensor->end)
    return Status::error(paths[file] + ": tensor '" + tensor->name +
                         "' lies past the end of the file (changed since it "
                         "was opened?)");
  out.data = maps[file]->getData() + header.getDataOffset() + tensor->begin;
  out.dtype = tensor->dtype;
  out.shape = tensor->shape;
  out.strides.assign(out.shape.size(), 1);
  for (size_t i = out.shape.size(); i-- > 1;)
    out.strides[i - 1] = out.strides[i] * out.shape[i];
  return {};
}

} // namespace llmrt
