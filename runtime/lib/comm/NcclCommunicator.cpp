//===- NcclCommunicator.cpp - Collectives between GPUs through NCCL -------===//
//
// The data plane of GPU ranks: one NCCL communicator per mesh-axis group,
// created from a unique id that the group's first member shares through MPI
// (no home-made bootstrap), and one CUDA stream. The control plane stays on
// MPI. Buffers are device memory.
//
//===----------------------------------------------------------------------===//

#include "Communicator.h"

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <array>
#include <cstdio>
#include <string>

namespace llmrt {
namespace {

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
  explicit NcclCommunicator(std::unique_ptr<Communicator> control)
      : control(std::move(control)) {
    worldRank = this->control->rank();
    worldSize = this->control->size();
    shape = this->control->mesh();
  }

  Status init() {
    int devices = 0;
    if (cudaError_t error = cudaGetDeviceCount(&devices);
        error != cudaSuccess || devices == 0)
      return Status::error(
          "NCCL collectives need a CUDA device: " +
          std::string(error != cudaSuccess ? cudaGetErrorString(error)
                                           : "no device found"));
    // Ranks on one node take devices in turn.
    if (cudaError_t error = cudaSetDevice(int(worldRank % devices));
        error != cudaSuccess)
      return Status::error(std::string("cudaSetDevice: ") +
                           cudaGetErrorString(error));
    if (cudaError_t error = cudaStreamCreate(&stream); error != cudaSuccess)
      return Status::error(std::string("cudaStreamCreate: ") +
                           cudaGetErrorString(error));
    for (int axes = 1; axes < 8; ++axes) {
      ncclUniqueId id;
      if (control->groupRank(axes) == 0)
        if (ncclResult_t result = ncclGetUniqueId(&id); result != ncclSuccess)
          return Status::error(std::string("ncclGetUniqueId: ") +
                               ncclGetErrorString(result));
      control->groupBroadcast(&id, sizeof(id), axes, 0);
      if (ncclResult_t result = ncclCommInitRank(
              &groups[axes], int(control->groupSize(axes)), id,
              int(control->groupRank(axes)));
          result != ncclSuccess)
        return Status::error(std::string("ncclCommInitRank: ") +
                             ncclGetErrorString(result));
    }
    return {};
  }

  ~NcclCommunicator() override {
    for (ncclComm_t comm : groups)
      if (comm)
        ncclCommDestroy(comm);
    if (stream)
      cudaStreamDestroy(stream);
  }

  void allReduce(void *data, int64_t count, DType dtype, int axes) override {
    check(ncclAllReduce(data, data, size_t(count), ncclType(dtype), ncclSum,
                        groups[axes], stream));
    int64_t members = control->groupSize(axes);
    bytesMoved += 2 * (members - 1) * count * dtypeSize(dtype) / members;
    synchronize();
  }

  void allGather(const void *input, void *output, int64_t outer,
                 int64_t chunk, DType dtype, int axes) override {
    int64_t members = control->groupSize(axes);
    size_t element = dtypeSize(dtype);
    bytesMoved += (members - 1) * outer * chunk * element;
    if (outer == 1) {
      check(ncclAllGather(input, output, size_t(chunk), ncclType(dtype),
                          groups[axes], stream));
      synchronize();
      return;
    }
    // [members, outer, chunk] -> [outer, members * chunk], on the device.
    void *gathered = nullptr;
    checkCuda(cudaMallocAsync(&gathered, members * outer * chunk * element,
                              stream));
    check(ncclAllGather(input, gathered, size_t(outer * chunk),
                        ncclType(dtype), groups[axes], stream));
    for (int64_t m = 0; m < members; ++m)
      checkCuda(cudaMemcpy2DAsync(
          static_cast<std::byte *>(output) + m * chunk * element,
          members * chunk * element,
          static_cast<std::byte *>(gathered) + m * outer * chunk * element,
          chunk * element, chunk * element, outer, cudaMemcpyDeviceToDevice,
          stream));
    checkCuda(cudaFreeAsync(gathered, stream));
    synchronize();
  }

  void send(const void *data, int64_t count, DType dtype, int axes,
            int64_t peer) override {
    check(ncclSend(data, size_t(count), ncclType(dtype), int(peer),
                   groups[axes], stream));
    bytesMoved += count * dtypeSize(dtype);
    synchronize();
  }

  void recv(void *data, int64_t count, DType dtype, int axes,
            int64_t peer) override {
    check(ncclRecv(data, size_t(count), ncclType(dtype), int(peer),
                   groups[axes], stream));
    synchronize();
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
  [[noreturn]] void abortAll(int code) override { control->abortAll(code); }

private:
  /// A failed collective leaves the other ranks waiting: end the job.
  void check(ncclResult_t result) {
    if (result != ncclSuccess) {
      std::fprintf(stderr, "llmrt: rank %lld: NCCL: %s\n",
                   static_cast<long long>(worldRank),
                   ncclGetErrorString(result));
      abortAll(1);
    }
  }
  void checkCuda(cudaError_t error) {
    if (error != cudaSuccess) {
      std::fprintf(stderr, "llmrt: rank %lld: CUDA: %s\n",
                   static_cast<long long>(worldRank),
                   cudaGetErrorString(error));
      abortAll(1);
    }
  }
  void synchronize() { checkCuda(cudaStreamSynchronize(stream)); }

  std::unique_ptr<Communicator> control;
  cudaStream_t stream = nullptr;
  std::array<ncclComm_t, 8> groups = {};
};

} // namespace

Status createNcclCommunicator(std::unique_ptr<Communicator> control,
                              std::unique_ptr<Communicator> &out) {
  auto communicator = std::make_unique<NcclCommunicator>(std::move(control));
  Status status = communicator->init();
  if (!status.ok())
    return Status::error("rank " + std::to_string(communicator->rank()) +
                         ": " + status.message());
  out = std::move(communicator);
  return {};
}

} // namespace llmrt
