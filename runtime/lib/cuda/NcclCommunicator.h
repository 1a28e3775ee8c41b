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

#include <functional>
#include <string>

namespace llmrt {

/// Where a collective's stream work goes. The executable runs it at once,
/// or, while it records a decode step for a CUDA graph, records it beside
/// the step's kernels and runs it when the graph is captured (NCCL's calls
/// are captured as the kernels are), in the same order.
class StreamWork {
public:
  virtual ~StreamWork() = default;
  /// `work` puts the collective on the stream; `key` names what it reads
  /// and writes (buffers, counts, peers, group): recorded work whose keys
  /// differ from a graph's is captured into a new graph, not updated.
  virtual void enqueue(std::function<void()> work, std::string key) = 0;
};

/// Replaces `communicator` (MPI) with NCCL for the data plane (device
/// buffers, enqueued on `stream`, the executable's, so they follow its
/// kernels and precede the next ones without a wait), the MPI communicator
/// kept inside for the rest and for sharing each mesh-axis group's NCCL
/// unique id. The current context must be the rank's device's. Fails with
/// one line when libnccl.so.2 cannot be opened or NCCL cannot start, leaving
/// `communicator` as it was (the ranks still agree on the failure). Every
/// collective goes through `order`, which must outlive the communicator's
/// calls.
Status useNccl(std::unique_ptr<Communicator> &communicator,
               const CudaDriver &driver, CUstream stream, StreamWork &order);

} // namespace llmrt

#endif // LLMRT_LIB_CUDA_NCCLCOMMUNICATOR_H
