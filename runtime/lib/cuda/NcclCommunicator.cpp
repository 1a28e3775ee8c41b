//===- NcclCommunicator.cpp - Collectives between GPUs through NCCL -------===//
//
// One NCCL communicator per mesh-axis group, created from a unique id that
// the group's first member shares through MPI (no home-made bootstrap);
// every call enqueued on the executable's stream. nccl.h gives the types;
// the functions come from libnccl.so.2 through dlopen.
//
//===----------------------------------------------------------------------===//

#include "NcclCommunicator.h"

#include <nccl.h>

#include <dlfcn.h>

#include <array>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

namespace llmrt {
namespace {

/// The NCCL entry points the communicator uses.
struct NcclLibrary {
  decltype(&ncclGetUniqueId) getUniqueId = nullptr;
  decltype(&ncclCommInitRank) commInitRank = nullptr;
  decltype(&ncclCommDestroy) commDestroy = nullptr;
  decltype(&ncclAllReduce) allReduce = nullptr;
  decltype(&ncclAllGather) allGather = nullptr;
  decltype(&ncclSend) send = nullptr;
  decltype(&ncclRecv) recv = nullptr;
  decltype(&ncclGetErrorString) getErrorString = nullptr;

  static Status load(const NcclLibrary *&out) {
    static NcclLibrary library;
    static Status status = [] {
      void *handle = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        const char *reason = dlerror();
        return Status::error(
            std::string("a sharded GPU artifact needs NCCL: cannot load "
                        "libnccl.so.2 (") +
            (reason ? reason : "unknown reason") + ")");
      }
      std::string missing;
      auto resolve = [&](const char *name, auto &slot) {
        slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(
            dlsym(handle, name));
        if (!slot)
          missing += missing.empty() ? name : std::string(", ") + name;
      };
      resolve("ncclGetUniqueId", library.getUniqueId);
      resolve("ncclCommInitRank", library.commInitRank);
      resolve("ncclCommDestroy", library.commDestroy);
      resolve("ncclAllReduce", library.allReduce);
      resolve("ncclAllGather", library.allGather);
      resolve("ncclSend", library.send);
      resolve("ncclRecv", library.recv);
      resolve("ncclGetErrorString", library.getErrorString);
      if (!missing.empty())
        return Status::error("libnccl.so.2 has no " + missing +
                             ": NCCL 2.7 or newer is needed");
      return Status();
    }();
    out = &library;
    return status;
  }
};

ncclDataType_t ncclType(DType dtype) {
  switch (dtype) {
  case DType::F16:
    return ncclHalf;
  case DType::BF16:
    return ncclBfloat16;
  default:
    return ncclFloat;
  }
}

class NcclCommunicator final : public Communicator {
public:
  NcclCommunicator(std::unique_ptr<Communicator> control,
                   const CudaDriver &driver, CUstream stream, StreamWork &order)
      : control(std::move(control)), driver(driver), stream(stream),
        order(order) {
    worldRank = this->control->rank();
    worldSize = this->control->size();
    shape = this->control->mesh();
  }

  Status init() {
    if (Status status = NcclLibrary::load(nccl); !status.ok())
      return status;
    for (int axes = 1; axes < 8; ++axes) {
      ncclUniqueId id = {};
      if (control->groupRank(axes) == 0)
        if (ncclResult_t result = nccl->getUniqueId(&id); result != ncclSuccess)
          return Status::error(std::string("ncclGetUniqueId: ") +
                               nccl->getErrorString(result));
      control->groupBroadcast(&id, sizeof(id), axes, 0);
      if (ncclResult_t result =
              nccl->commInitRank(&groups[axes], int(control->groupSize(axes)),
                                 id, int(control->groupRank(axes)));
          result != ncclSuccess)
        return Status::error(std::string("ncclCommInitRank: ") +
                             nccl->getErrorString(result));
    }
    return {};
  }

  ~NcclCommunicator() override {
    for (ncclComm_t comm : groups)
      if (comm)
        nccl->commDestroy(comm);
    // Graphs may have captured copies from the staging buffers: they go
    // with the communicator.
    for (CUdeviceptr buffer : staging)
      driver.memFree(buffer);
  }

  void allReduce(void *data, int64_t count, DType dtype, int axes) override {
    int64_t members = control->groupSize(axes);
    bytesMoved += 2 * (members - 1) * count * dtypeSize(dtype) / members;
    order.enqueue(
        [=] {
          check(nccl->allReduce(data, data, size_t(count), ncclType(dtype),
                                ncclSum, groups[axes], cudaStream()));
        },
        key('r', data, nullptr, count, dtype, axes, 0));
  }

  void allGather(const void *input, void *output, int64_t outer, int64_t chunk,
                 DType dtype, int axes) override {
    int64_t members = control->groupSize(axes);
    size_t element = dtypeSize(dtype);
    bytesMoved += (members - 1) * outer * chunk * element;
    if (outer == 1) {
      order.enqueue(
          [=] {
            check(nccl->allGather(input, output, size_t(chunk), ncclType(dtype),
                                  groups[axes], cudaStream()));
          },
          key('g', input, output, chunk, dtype, axes, 0));
      return;
    }
    // [members, outer, chunk] -> [outer, members * chunk], on the device:
    // one strided copy per member, from a staging buffer the communicator
    // keeps (a graph may capture the copies).
    size_t bytes = size_t(members * outer * chunk) * element;
    CUdeviceptr gathered = stagingBuffer(bytes);
    order.enqueue(
        [=] {
          check(nccl->allGather(input, reinterpret_cast<void *>(gathered),
                                size_t(outer * chunk), ncclType(dtype),
                                groups[axes], cudaStream()));
          size_t row = size_t(chunk) * element;
          for (int64_t m = 0; m < members; ++m) {
            CUDA_MEMCPY2D copy = {};
            copy.srcMemoryType = copy.dstMemoryType = CU_MEMORYTYPE_DEVICE;
            copy.srcDevice = gathered + m * outer * row;
            copy.srcPitch = row;
            copy.dstDevice = reinterpret_cast<CUdeviceptr>(output) + m * row;
            copy.dstPitch = members * row;
            copy.WidthInBytes = row;
            copy.Height = size_t(outer);
            checkCuda(driver.memcpy2DAsync(&copy, stream));
          }
        },
        key('G', input, output, outer * chunk, dtype, axes, int64_t(gathered)));
  }

  void send(const void *data, int64_t count, DType dtype, int axes,
            int64_t peer) override {
    bytesMoved += count * dtypeSize(dtype);
    order.enqueue(
        [=] {
          check(nccl->send(data, size_t(count), ncclType(dtype), int(peer),
                           groups[axes], cudaStream()));
        },
        key('s', data, nullptr, count, dtype, axes, peer));
  }

  void recv(void *data, int64_t count, DType dtype, int axes,
            int64_t peer) override {
    order.enqueue(
        [=] {
          check(nccl->recv(data, size_t(count), ncclType(dtype), int(peer),
                           groups[axes], cudaStream()));
        },
        key('v', data, nullptr, count, dtype, axes, peer));
  }

  void broadcast(void *data, size_t bytes, int64_t root) override {
    control->broadcast(data, bytes, root);
  }
  void sendBytes(const void *data, size_t bytes, int64_t to) override {
    control->sendBytes(data, bytes, to);
  }
  void recvBytes(void *data, size_t bytes, int64_t from) override {
    control->recvBytes(data, bytes, from);
  }
  void groupBroadcast(void *data, size_t bytes, int axes,
                      int64_t root) override {
    control->groupBroadcast(data, bytes, axes, root);
  }
  int64_t groupRank(int axes) const override {
    return control->groupRank(axes);
  }
  int64_t groupSize(int axes) const override {
    return control->groupSize(axes);
  }
  bool allAgree(bool ok) override { return control->allAgree(ok); }

  /// The control plane back, for a communicator that could not start.
  std::unique_ptr<Communicator> releaseControl() { return std::move(control); }
  [[noreturn]] void abortAll(int code) override { control->abortAll(code); }

private:
  /// What a collective reads and writes, as bytes: equal keys, equal work.
  static std::string key(char op, const void *a, const void *b, int64_t count,
                         DType dtype, int axes, int64_t other) {
    std::string bytes(1, op);
    auto append = [&](const auto &field) {
      bytes.append(reinterpret_cast<const char *>(&field), sizeof field);
    };
    append(a);
    append(b);
    append(count);
    append(int32_t(dtype));
    append(int32_t(axes));
    append(other);
    return bytes;
  }
  /// A staging buffer of at least `bytes`; a larger one replaces the last
  /// (which stays until the end: a graph may read it).
  CUdeviceptr stagingBuffer(size_t bytes) {
    if (bytes > stagingBytes) {
      CUdeviceptr buffer = 0;
      checkCuda(driver.memAlloc(&buffer, bytes));
      staging.push_back(buffer);
      stagingBytes = bytes;
    }
    return staging.back();
  }
  /// The driver's stream is the runtime's (CUstream and cudaStream_t are
  /// the same handle).
  cudaStream_t cudaStream() const {
    return reinterpret_cast<cudaStream_t>(stream);
  }
  /// A failed collective leaves the other ranks waiting: end the job.
  void check(ncclResult_t result) {
    if (result != ncclSuccess) {
      std::fprintf(stderr, "llmrt: rank %lld: NCCL: %s\n",
                   static_cast<long long>(worldRank),
                   nccl->getErrorString(result));
      abortAll(1);
    }
  }
  void checkCuda(CUresult result) {
    if (result != CUDA_SUCCESS) {
      std::fprintf(
          stderr, "llmrt: rank %lld: %s\n", static_cast<long long>(worldRank),
          driver.check(result, "NCCL's staging copy").message().c_str());
      abortAll(1);
    }
  }

  std::unique_ptr<Communicator> control;
  const CudaDriver &driver;
  CUstream stream;
  StreamWork &order;
  std::vector<CUdeviceptr> staging;
  size_t stagingBytes = 0;
  const NcclLibrary *nccl = nullptr;
  std::array<ncclComm_t, 8> groups = {};
};

} // namespace

Status useNccl(std::unique_ptr<Communicator> &communicator,
               const CudaDriver &driver, CUstream stream, StreamWork &order) {
  auto nccl = std::make_unique<NcclCommunicator>(std::move(communicator),
                                                 driver, stream, order);
  Status status = nccl->init();
  if (status.ok())
    communicator = std::move(nccl);
  else
    communicator = nccl->releaseControl();
  return status;
}

} // namespace llmrt
