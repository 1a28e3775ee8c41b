//===- MpiCommunicator.cpp - Collectives through MPI ----------------------===//

#include "Communicator.h"

#include "llmrt/CollectiveABI.h"

#include <mpi.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace llmrt {

Communicator::~Communicator() = default;

namespace {

extern "C" void llmrtAllReduce(void *context, void *data, int64_t count,
                               int32_t dtype, int32_t axes) {
  static_cast<Communicator *>(context)->allReduce(
      data, count, static_cast<DType>(dtype), axes);
}
extern "C" void llmrtAllGather(void *context, const void *input, void *output,
                               int64_t outer, int64_t chunk, int32_t dtype,
                               int32_t axes) {
  static_cast<Communicator *>(context)->allGather(
      input, output, outer, chunk, static_cast<DType>(dtype), axes);
}
extern "C" void llmrtSend(void *context, const void *data, int64_t count,
                          int32_t dtype, int32_t axes, int64_t peer) {
  static_cast<Communicator *>(context)->send(
      data, count, static_cast<DType>(dtype), axes, peer);
}
extern "C" void llmrtRecv(void *context, void *data, int64_t count,
                          int32_t dtype, int32_t axes, int64_t peer) {
  static_cast<Communicator *>(context)->recv(
      data, count, static_cast<DType>(dtype), axes, peer);
}

const char *envFirst(std::initializer_list<const char *> names) {
  for (const char *name : names)
    if (const char *value = std::getenv(name))
      return value;
  return nullptr;
}

/// Elementwise sums of 16-bit floats, through float.
template <float (*ToFloat)(uint16_t), uint16_t (*FromFloat)(float)>
void sum16(void *in, void *inout, int *length, MPI_Datatype *) {
  auto *a = static_cast<const uint16_t *>(in);
  auto *b = static_cast<uint16_t *>(inout);
  for (int i = 0; i < *length; ++i)
    b[i] = FromFloat(ToFloat(a[i]) + ToFloat(b[i]));
}

class MpiCommunicator final : public Communicator {
public:
  Status init(const MeshShape &mesh) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      // Finalized at exit, after the caller has reported any error: the
      // finalization waits for every rank, so none is killed by the
      // launcher before it has said what went wrong.
      std::atexit(+[] {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized)
          MPI_Finalize();
      });
    }
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    worldRank = rank;
    worldSize = size;
    shape = mesh;
    if (size != mesh.world())
      return Status::error(
          "the artifact runs on " + std::to_string(mesh.world()) +
          " ranks (dp " + std::to_string(mesh.dp) + " x pp " +
          std::to_string(mesh.pp) + " x tp " + std::to_string(mesh.tp) +
          "), but " + std::to_string(size) +
          " were started: run it with mpirun -np " +
          std::to_string(mesh.world()));
    MPI_Comm_dup(MPI_COMM_WORLD, &control);
    // The group of each axis mask: ranks equal outside the masked axes.
    std::array<int64_t, 3> own = mesh.coordinates(rank);
    std::array<int64_t, 3> extent = {mesh.dp, mesh.pp, mesh.tp};
    for (int mask = 1; mask < 8; ++mask) {
      int64_t color = 0;
      for (int axis = 0; axis < 3; ++axis)
        color = color * extent[axis] + ((mask >> axis) & 1 ? 0 : own[axis]);
      MPI_Comm_split(MPI_COMM_WORLD, static_cast<int>(color), rank,
                     &groups[mask]);
    }
    MPI_Op_create(&sum16<halfToFloat, floatToHalf>, /*commute=*/1, &sumF16);
    MPI_Op_create(&sum16<bfloat16ToFloat, floatToBFloat16>, 1, &sumBF16);
    return {};
  }

  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized)
      return;
    for (MPI_Comm &group : groups)
      if (group != MPI_COMM_NULL)
        MPI_Comm_free(&group);
    if (control != MPI_COMM_NULL)
      MPI_Comm_free(&control);
    if (sumF16 != MPI_OP_NULL)
      MPI_Op_free(&sumF16);
    if (sumBF16 != MPI_OP_NULL)
      MPI_Op_free(&sumBF16);
  }

  void allReduce(void *data, int64_t count, DType dtype, int axes) override {
    MPI_Comm group = groups[axes];
    MPI_Op op = dtype == DType::F16    ? sumF16
                : dtype == DType::BF16 ? sumBF16
                                       : MPI_SUM;
    MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(count), type(dtype),
                  op, group);
    int64_t members = groupSizeOf(group);
    bytesMoved += 2 * (members - 1) * count * dtypeSize(dtype) / members;
  }

  void allGather(const void *input, void *output, int64_t outer,
                 int64_t chunk, DType dtype, int axes) override {
    MPI_Comm group = groups[axes];
    int64_t members = groupSizeOf(group);
    size_t element = dtypeSize(dtype);
    int count = static_cast<int>(outer * chunk);
    bytesMoved += (members - 1) * outer * chunk * element;
    if (outer == 1) {
      MPI_Allgather(input, count, type(dtype), output, count, type(dtype),
                    group);
      return;
    }
    // [members, outer, chunk] -> [outer, members * chunk].
    std::vector<std::byte> gathered(members * outer * chunk * element);
    MPI_Allgather(input, count, type(dtype), gathered.data(), count,
                  type(dtype), group);
    auto *out = static_cast<std::byte *>(output);
    for (int64_t m = 0; m < members; ++m)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(out + (o * members + m) * chunk * element,
                    gathered.data() + (m * outer + o) * chunk * element,
                    chunk * element);
  }

  void send(const void *data, int64_t count, DType dtype, int axes,
            int64_t peer) override {
    MPI_Send(data, static_cast<int>(count), type(dtype),
             static_cast<int>(peer), /*tag=*/0, groups[axes]);
    bytesMoved += count * dtypeSize(dtype);
  }

  void recv(void *data, int64_t count, DType dtype, int axes,
            int64_t peer) override {
    MPI_Recv(data, static_cast<int>(count), type(dtype),
             static_cast<int>(peer), /*tag=*/0, groups[axes],
             MPI_STATUS_IGNORE);
  }

  void broadcast(void *data, size_t bytes, int64_t root) override {
    MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE,
              static_cast<int>(root), control);
  }
  void sendBytes(const void *data, size_t bytes, int64_t to) override {
    MPI_Send(data, static_cast<int>(bytes), MPI_BYTE, static_cast<int>(to),
             /*tag=*/1, control);
  }
  void recvBytes(void *data, size_t bytes, int64_t from) override {
    MPI_Recv(data, static_cast<int>(bytes), MPI_BYTE, static_cast<int>(from),
             /*tag=*/1, control, MPI_STATUS_IGNORE);
  }
  void groupBroadcast(void *data, size_t bytes, int axes,
                      int64_t root) override {
    MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, static_cast<int>(root),
              groups[axes]);
  }
  int64_t groupRank(int axes) const override {
    int rank = 0;
    MPI_Comm_rank(groups[axes], &rank);
    return rank;
  }
  int64_t groupSize(int axes) const override {
    return groupSizeOf(groups[axes]);
  }
  bool allAgree(bool ok) override {
    int mine = ok ? 1 : 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, control);
    return all == 1;
  }
  [[noreturn]] void abortAll(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

private:
  static MPI_Datatype type(DType dtype) {
    return dtype == DType::F32 ? MPI_FLOAT : MPI_UINT16_T;
  }
  static int64_t groupSizeOf(MPI_Comm group) {
    int size = 1;
    MPI_Comm_size(group, &size);
    return size;
  }

  MPI_Comm control = MPI_COMM_NULL;
  std::array<MPI_Comm, 8> groups = {MPI_COMM_NULL, MPI_COMM_NULL,
                                    MPI_COMM_NULL, MPI_COMM_NULL,
                                    MPI_COMM_NULL, MPI_COMM_NULL,
                                    MPI_COMM_NULL, MPI_COMM_NULL};
  MPI_Op sumF16 = MPI_OP_NULL, sumBF16 = MPI_OP_NULL;
};

} // namespace

void Communicator::fillTable(void **table) {
  table[LLMRT_SLOT_CONTEXT] = this;
  table[LLMRT_SLOT_ALL_REDUCE] = reinterpret_cast<void *>(&llmrtAllReduce);
  table[LLMRT_SLOT_ALL_GATHER] = reinterpret_cast<void *>(&llmrtAllGather);
  table[LLMRT_SLOT_SEND] = reinterpret_cast<void *>(&llmrtSend);
  table[LLMRT_SLOT_RECV] = reinterpret_cast<void *>(&llmrtRecv);
}

bool launchedByMpi() {
  return envFirst({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK",
                   "SLURM_STEP_NUM_TASKS"}) != nullptr;
}

int64_t launcherWorldSize() {
  const char *size =
      envFirst({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"});
  return size ? std::atoll(size) : 1;
}

int64_t launcherWorldRank() {
  const char *rank =
      envFirst({"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK",
                "SLURM_PROCID"});
  return rank ? std::atoll(rank) : 0;
}

int64_t launcherLocalRank() {
  const char *rank = envFirst({"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                               "SLURM_LOCALID"});
  return rank ? std::atoll(rank) : launcherWorldRank();
}

Status createMpiCommunicator(const MeshShape &shape,
                             std::unique_ptr<Communicator> &out) {
  auto communicator = std::make_unique<MpiCommunicator>();
  Status status = communicator->init(shape);
  out = std::move(communicator);
  return status;
}

} // namespace llmrt
