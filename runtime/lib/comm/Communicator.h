//===- Communicator.h - Collectives between the ranks of a mesh -*- C++ -*-===//
//
// The ranks of a sharded artifact form the mesh dp x pp x tp (tp fastest):
// world rank = (d * pp + s) * tp + t. Compiled code reaches the data-plane
// collectives through the table of llmrt/CollectiveABI.h; the runtime itself
// uses the control-plane calls (broadcast of the tokens, logits to rank 0,
// agreement on errors). One interface, one backend per transport: MPI for
// CPU ranks, NCCL for GPU ranks (with MPI for its bootstrap).
//
//===----------------------------------------------------------------------===//

#ifndef LLMRT_LIB_COMM_COMMUNICATOR_H
#define LLMRT_LIB_COMM_COMMUNICATOR_H

#include "llmrt/DType.h"
#include "llmrt/Status.h"

#include <array>
#include <cstdint>
#include <memory>

namespace llmrt {

/// A rank's coordinates in the mesh dp x pp x tp.
struct MeshShape {
  int64_t dp = 1, pp = 1, tp = 1;
  int64_t world() const { return dp * pp * tp; }
  std::array<int64_t, 3> coordinates(int64_t rank) const {
    return {rank / (pp * tp), (rank / tp) % pp, rank % tp};
  }
  int64_t rankOf(int64_t d, int64_t s, int64_t t) const {
    return (d * pp + s) * tp + t;
  }
};

class Communicator {
public:
  virtual ~Communicator();

  int64_t rank() const { return worldRank; }
  int64_t size() const { return worldSize; }
  const MeshShape &mesh() const { return shape; }

  /// Data plane (`axes`: bit mask of mesh axes, 1 dp, 2 pp, 4 tp).
  virtual void allReduce(void *data, int64_t count, DType dtype,
                         int axes) = 0;
  virtual void allGather(const void *input, void *output, int64_t outer,
                         int64_t chunk, DType dtype, int axes) = 0;
  virtual void send(const void *data, int64_t count, DType dtype, int axes,
                    int64_t peer) = 0;
  virtual void recv(void *data, int64_t count, DType dtype, int axes,
                    int64_t peer) = 0;

  /// Control plane, over all ranks.
  virtual void broadcast(void *data, size_t bytes, int64_t root) = 0;
  virtual void sendBytes(const void *data, size_t bytes, int64_t to) = 0;
  virtual void recvBytes(void *data, size_t bytes, int64_t from) = 0;
  /// Broadcast within the group of `axes` from its member `root`.
  virtual void groupBroadcast(void *data, size_t bytes, int axes,
                              int64_t root) = 0;
  /// This rank's index in the group of `axes`, and the group's size.
  virtual int64_t groupRank(int axes) const = 0;
  virtual int64_t groupSize(int axes) const = 0;
  /// True on every rank when `ok` is true on every rank.
  virtual bool allAgree(bool ok) = 0;
  /// Ends every rank of the job (a rank that cannot go on).
  [[noreturn]] virtual void abortAll(int code) = 0;

  /// Bytes this rank's data-plane calls moved (sent), for benchmarks.
  uint64_t dataBytes() const { return bytesMoved; }

  /// Fills the compiled code's collectives table (LLMRT_COLLECTIVE_SLOTS
  /// pointers) with this communicator.
  void fillTable(void **table);

protected:
  int64_t worldRank = 0, worldSize = 1;
  MeshShape shape;
  uint64_t bytesMoved = 0;
};

/// True when this process was started by an MPI launcher (mpirun, srun).
bool launchedByMpi();

/// MPI_COMM_WORLD as the mesh `shape`; fails with one line when the job's
/// size is not shape.world(). Initializes MPI if needed.
Status createMpiCommunicator(const MeshShape &shape,
                             std::unique_ptr<Communicator> &out);

/// The rank and size the launcher gave this process, without initializing
/// MPI (1 process when not launched by MPI).
int64_t launcherWorldSize();
int64_t launcherWorldRank();
/// This process's rank among those of its node (the world rank when the
/// launcher does not say).
int64_t launcherLocalRank();

} // namespace llmrt

#endif // LLMRT_LIB_COMM_COMMUNICATOR_H
