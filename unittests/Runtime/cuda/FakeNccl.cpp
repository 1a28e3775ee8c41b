//===- FakeNccl.cpp - libnccl.so.2 for the fake driver, over MPI ----------===//
//
// The collectives of a sharded GPU artifact where the "GPUs" are the fake
// driver's (unittests/Runtime/cuda/FakeCudaDriver.cpp): device memory is
// host memory and every launch has run by the time the runtime enqueues a
// collective, so each call does its work at once through MPI, which the
// runtime has started (llmc-run under mpirun). A communicator is the world's
// ranks that share its unique id (MPI_Comm_split: every rank creates its
// communicators in the same order, as the runtime does). Sums add the
// members' elements in rank order in f32 and round once, so every rank gets
// the same bits. Without FAKE_CUDA_KERNELS the fake driver's device memory
// is out of the host's reach: ncclCommInitRank fails. On a stream the
// fake driver is capturing into a CUDA graph, a call is a host function
// node of the graph (cuLaunchHostFunc) that does the work each time the
// graph runs, as NCCL's kernels would be captured.
//
//===----------------------------------------------------------------------===//

#include <cuda.h>
#include <mpi.h>
#include <nccl.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <dlfcn.h>
#include <functional>
#include <random>
#include <vector>

namespace {

struct FakeComm {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0, size = 1;
};

size_t elementBytes(ncclDataType_t type) {
  switch (type) {
  case ncclInt8:
  case ncclUint8:
    return 1;
  case ncclFloat16:
  case ncclBfloat16:
    return 2;
  case ncclInt64:
  case ncclUint64:
  case ncclFloat64:
    return 8;
  default:
    return 4;
  }
}

float toFloat(const unsigned char *element, ncclDataType_t type) {
  switch (type) {
  case ncclFloat16: {
    _Float16 h;
    std::memcpy(&h, element, 2);
    return float(h);
  }
  case ncclBfloat16: {
    uint16_t bits;
    std::memcpy(&bits, element, 2);
    uint32_t wide = uint32_t(bits) << 16;
    float f;
    std::memcpy(&f, &wide, 4);
    return f;
  }
  default: {
    float f;
    std::memcpy(&f, element, 4);
    return f;
  }
  }
}

void fromFloat(float value, unsigned char *element, ncclDataType_t type) {
  switch (type) {
  case ncclFloat16: {
    _Float16 h = _Float16(value);
    std::memcpy(element, &h, 2);
    return;
  }
  case ncclBfloat16: {
    // Round to nearest even.
    uint32_t bits;
    std::memcpy(&bits, &value, 4);
    bits += 0x7fff + ((bits >> 16) & 1);
    uint16_t half = uint16_t(bits >> 16);
    std::memcpy(element, &half, 2);
    return;
  }
  default:
    std::memcpy(element, &value, 4);
  }
}

bool summable(ncclDataType_t type) {
  return type == ncclFloat16 || type == ncclBfloat16 || type == ncclFloat32;
}

ncclResult_t mpiResult(int code) {
  return code == MPI_SUCCESS ? ncclSuccess : ncclSystemError;
}

/// Every member's `bytes` from `send` into `recv`, in rank order.
ncclResult_t gatherBytes(const void *send, void *recv, size_t bytes,
                         const FakeComm &comm) {
  return mpiResult(MPI_Allgather(send, int(bytes), MPI_BYTE, recv, int(bytes),
                                 MPI_BYTE, comm.comm));
}

/// The fake driver's functions for the graphs (it is loaded: the runtime
/// opened it before NCCL).
struct Driver {
  decltype(&cuStreamGetCaptureInfo_v3) captureInfo = nullptr;
  decltype(&cuLaunchHostFunc) hostFunc = nullptr;
  Driver() {
    void *handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (!handle)
      return;
    captureInfo = reinterpret_cast<decltype(captureInfo)>(
        dlsym(handle, "cuStreamGetCaptureInfo_v3"));
    hostFunc =
        reinterpret_cast<decltype(hostFunc)>(dlsym(handle, "cuLaunchHostFunc"));
  }
};

/// Does `work` now, or, on a capturing stream, as a host function node of
/// the graph (kept until exit: the graph may run it again). A node's
/// failure ends the process: a host function has no way to report it.
ncclResult_t onStream(cudaStream_t stream, std::function<ncclResult_t()> work) {
  static Driver driver;
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  if (driver.captureInfo)
    driver.captureInfo(reinterpret_cast<CUstream>(stream), &status, nullptr,
                       nullptr, nullptr, nullptr, nullptr);
  if (status != CU_STREAM_CAPTURE_STATUS_ACTIVE)
    return work();
  if (!driver.hostFunc)
    return ncclInvalidUsage;
  static std::deque<std::function<ncclResult_t()>> captured;
  captured.push_back(std::move(work));
  auto run = [](void *data) {
    if (ncclResult_t result =
            (*static_cast<std::function<ncclResult_t()> *>(data))();
        result != ncclSuccess) {
      std::fprintf(stderr, "fake NCCL: a captured collective failed\n");
      std::abort();
    }
  };
  return driver.hostFunc(reinterpret_cast<CUstream>(stream), run,
                         &captured.back()) == CUDA_SUCCESS
             ? ncclSuccess
             : ncclInvalidUsage;
}

} // namespace

extern "C" {

const char *ncclGetErrorString(ncclResult_t result) {
  switch (result) {
  case ncclSuccess:
    return "no error";
  case ncclInvalidArgument:
    return "invalid argument (fake NCCL)";
  case ncclInvalidUsage:
    return "invalid usage (fake NCCL: device memory is the host's only "
           "with FAKE_CUDA_KERNELS)";
  default:
    return "system error (fake NCCL: an MPI call failed)";
  }
}

ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
  std::random_device device;
  std::memset(id, 0, sizeof *id);
  for (size_t i = 0; i + 4 <= sizeof id->internal; i += 4) {
    uint32_t word = device();
    std::memcpy(id->internal + i, &word, 4);
  }
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t *out, int nranks, ncclUniqueId id,
                              int rank) {
  if (!std::getenv("FAKE_CUDA_KERNELS"))
    return ncclInvalidUsage;
  uint32_t color;
  std::memcpy(&color, id.internal, 4);
  auto *comm = new FakeComm;
  if (int code = MPI_Comm_split(MPI_COMM_WORLD, int(color & 0x7fffffff),
                                rank, &comm->comm);
      code != MPI_SUCCESS) {
    delete comm;
    return mpiResult(code);
  }
  MPI_Comm_rank(comm->comm, &comm->rank);
  MPI_Comm_size(comm->comm, &comm->size);
  if (comm->size != nranks || comm->rank != rank) {
    MPI_Comm_free(&comm->comm);
    delete comm;
    return ncclInvalidArgument;
  }
  *out = reinterpret_cast<ncclComm_t>(comm);
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t handle) {
  auto *comm = reinterpret_cast<FakeComm *>(handle);
  MPI_Comm_free(&comm->comm);
  delete comm;
  return ncclSuccess;
}

ncclResult_t ncclAllGather(const void *send, void *recv, size_t count,
                           ncclDataType_t type, ncclComm_t handle,
                           cudaStream_t stream) {
  auto *comm = reinterpret_cast<FakeComm *>(handle);
  return onStream(stream, [=] {
    return gatherBytes(send, recv, count * elementBytes(type), *comm);
  });
}

ncclResult_t ncclAllReduce(const void *send, void *recv, size_t count,
                           ncclDataType_t type, ncclRedOp_t op,
                           ncclComm_t handle, cudaStream_t stream) {
  auto *comm = reinterpret_cast<FakeComm *>(handle);
  if (op != ncclSum || !summable(type))
    return ncclInvalidArgument;
  return onStream(stream, [=] {
    size_t element = elementBytes(type);
    std::vector<unsigned char> all(count * element * comm->size);
    if (ncclResult_t result =
            gatherBytes(send, all.data(), count * element, *comm);
        result != ncclSuccess)
      return result;
    auto *out = static_cast<unsigned char *>(recv);
    for (size_t i = 0; i < count; ++i) {
      float sum = 0;
      for (int member = 0; member < comm->size; ++member)
        sum += toFloat(&all[(member * count + i) * element], type);
      fromFloat(sum, out + i * element, type);
    }
    return ncclSuccess;
  });
}

ncclResult_t ncclSend(const void *data, size_t count, ncclDataType_t type,
                      int peer, ncclComm_t handle, cudaStream_t stream) {
  auto *comm = reinterpret_cast<FakeComm *>(handle);
  return onStream(stream, [=] {
    return mpiResult(MPI_Send(data, int(count * elementBytes(type)), MPI_BYTE,
                              peer, 0, comm->comm));
  });
}

ncclResult_t ncclRecv(void *data, size_t count, ncclDataType_t type, int peer,
                      ncclComm_t handle, cudaStream_t stream) {
  auto *comm = reinterpret_cast<FakeComm *>(handle);
  return onStream(stream, [=] {
    return mpiResult(MPI_Recv(data, int(count * elementBytes(type)), MPI_BYTE,
                              peer, 0, comm->comm, MPI_STATUS_IGNORE));
  });
}

} // extern "C"
