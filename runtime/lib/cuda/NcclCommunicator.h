//===- NcclCommunicator.h - Collectives between GPUs through NCCL -*- C++ -*-=//
//
// The data plane of GPU ranks. NCCL (libnccl.so.2, a few hundred megabytes)
// is opened with dlopen when a sharded GPU artifact is loaded, like the
// driver: nothing links it, so llmc-run starts on machines without it.
//
//===----------------------------------------------------------------------===//

#ifndef LLMRT_LIB_CUDA_NCCLCOMMUNICATOR_H
#define LLMRT_LIB_CUDA_NCCLCOMMUNICATOR_H

#include "../comm/Communicator.h"
#include "CudaDriver.h"

namespace llmrt {

/// Replaces `communicator` (MPI) with NCCL for the data plane (device
/// buffers, enqueued on `stream`, the executable's, so they follow its
/// kernels and precede the next ones without a wait), the MPI communicator
/// kept inside for the rest and for sharing each mesh-axis group's NCCL
/// unique id. The current context must be the rank's device's. Fails with
/// one line when libnccl.so.2 cannot be opened or NCCL cannot start, leaving
/// `communicator` as it was (the ranks still agree on the failure).
Status useNccl(std::unique_ptr<Communicator> &communicator,
               const CudaDriver &driver, CUstream stream);

} // namespace llmrt

#endif // LLMRT_LIB_CUDA_NCCLCOMMUNICATOR_H
