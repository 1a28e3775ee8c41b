//===- CApi.cpp - The llmc runtime's C interface --------------------------===//

#include "llmrt/llmrt.h"

#include "Artifact.h"
#include "comm/Communicator.h"
#include "cpu/CpuExecutable.h"
#ifdef LLMRT_HAVE_CUDA
#include "cuda/CudaExecutable.h"
#endif

#include "llmrt/WeightStore.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

using namespace llmrt;

struct llmrt_model {
  Manifest manifest;
  WeightStore store;
  /// Null when the artifact runs on one rank.
  std::unique_ptr<Communicator> communicator;
  MeshShape mesh;
  int64_t rank = 0, replica = 0, stage = 0, tpRank = 0;
  const ArtifactProgram *program = nullptr;
  std::unique_ptr<Executable> executable;
};

/// Rows [first, first + rows) of the batch, with their own KV cache.
struct Microbatch {
  int64_t first = 0, rows = 0;
  /// Where the program's code reads it: host or device memory.
  std::shared_ptr<void> cache;
};

struct llmrt_session {
  llmrt_model *model;
  int64_t batch;
  /// This rank's replica's rows, cut into microbatches.
  int64_t replicaFirst = 0, replicaRows = 0;
  std::vector<Microbatch> microbatches;
  /// Rank 0's tokens, as every rank runs them.
  std::vector<int32_t> ids;
  std::vector<int64_t> positions, last;
  /// Logits of this replica's rows (last stage, tensor rank 0).
  std::vector<float> logits;
  int64_t calls = 0;
};

namespace {

int report(const Status &status, char *error, size_t size) {
  if (status.ok())
    return 0;
  if (error && size)
    std::snprintf(error, size, "%s", status.message().c_str());
  return 1;
}

std::string baseName(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// Part `index` of `total` items cut into `parts` runs, the first ones one
/// longer: {first, count}.
std::pair<int64_t, int64_t> share(int64_t total, int64_t parts,
                                  int64_t index) {
  int64_t base = total / parts, extra = total % parts;
  return {index * base + std::min(index, extra), base + (index < extra)};
}

/// Errors of a sharded run name the rank.
Status onRank(const llmrt_model &model, Status status) {
  if (status.ok() || model.mesh.world() == 1)
    return status;
  return Status::error("rank " + std::to_string(model.rank) + ": " +
                       status.message());
}

Status checkParams(llmrt_model &model, const std::string &context);

/// The checkpoint must be the one the artifact was compiled from (or the
/// program's packed weights must be there).
Status checkWeights(llmrt_model &model) {
  const Manifest &manifest = model.manifest;
  if (!model.program->weights.empty()) {
    // The program's own weights, packed into the artifact.
    std::string dir = manifest.dir + "/" + model.program->weights;
    if (Status status = WeightStore::open(dir, model.store); !status.ok())
      return status;
    return checkParams(model, manifest.dir + ": ");
  }
  std::string context = manifest.dir + " was compiled from " +
                        manifest.checkpoint + ": ";
  if (Status status = WeightStore::open(manifest.checkpoint, model.store);
      !status.ok())
    return Status::error(context + status.message());
  const std::vector<std::string> &files = model.store.getFiles();
  for (const ArtifactFile &expected : manifest.files) {
    size_t i = 0;
    while (i < files.size() && baseName(files[i]) != expected.name)
      ++i;
    if (i == files.size())
      return Status::error(context + expected.name + " is missing");
    struct stat info;
    uint64_t bytes = stat(files[i].c_str(), &info) == 0 ? info.st_size : 0;
    char checksum[32];
    std::snprintf(checksum, sizeof(checksum), "0x%016" PRIx64,
                  model.store.getHeader(i).getChecksum());
    if (bytes != expected.bytes || checksum != expected.headerChecksum)
      return Status::error(context + expected.name +
                           " changed since compilation (" +
                           std::to_string(bytes) + " bytes, header " +
                           checksum + "; compiled with " +
                           std::to_string(expected.bytes) + " bytes, header " +
                           expected.headerChecksum + "): recompile");
  }
  return checkParams(model, context);
}

/// Every parameter of the program is in the store with its dtype and shape.
Status checkParams(llmrt_model &model, const std::string &context) {
  for (const ArtifactParam &param : model.program->params) {
    WeightStore::Entry entry = model.store.find(param.name);
    if (!entry.info)
      return Status::error(context + "tensor '" + param.name +
                           "' is missing: recompile");
    if (entry.info->dtype != param.storedDType ||
        entry.info->shape != param.stored())
      return Status::error(
          context + "tensor '" + param.name + "' is " +
          std::string(dtypeName(entry.info->dtype)) + " " +
          formatShape(entry.info->shape) + ", compiled for " +
          std::string(dtypeName(param.storedDType)) + " " +
          formatShape(param.stored()) + ": recompile");
  }
  return {};
}

Status checkTokens(const llmrt_session &session, const int32_t *ids,
                   int64_t seq, const int64_t *positions) {
  const Manifest &manifest = session.model->manifest;
  for (int64_t b = 0; b < session.batch; ++b) {
    if (positions[b] < 0 || positions[b] + seq > manifest.maxSeqLen)
      return Status::error(
          "row " + std::to_string(b) + ": " + std::to_string(seq) +
          " tokens at position " + std::to_string(positions[b]) +
          " exceed the artifact's max_seq_len (" +
          std::to_string(manifest.maxSeqLen) + ")");
    for (int64_t s = 0; s < seq; ++s) {
      int32_t id = ids[b * seq + s];
      if (id < 0 || id >= manifest.vocabSize)
        return Status::error("row " + std::to_string(b) + ": token id " +
                             std::to_string(id) +
                             " is outside the vocabulary (0.." +
                             std::to_string(manifest.vocabSize - 1) + ")");
    }
  }
  return {};
}

/// A testing hook: LLMRT_FAULT_RANK=r [LLMRT_FAULT_CALL=n] makes rank r die
/// at its n-th step (default 1), as a crashed process would.
void injectFault(const llmrt_session &session) {
  const char *rank = std::getenv("LLMRT_FAULT_RANK");
  if (!rank || std::atoll(rank) != session.model->rank)
    return;
  const char *call = std::getenv("LLMRT_FAULT_CALL");
  if (session.calls >= (call ? std::atoll(call) : 1))
    _exit(3);
}

/// One step of every rank: rank 0's tokens go to all, each replica runs its
/// rows microbatch by microbatch through the pipeline, and the logits of
/// each replica (its last stage, tensor rank 0) come back to rank 0.
Status run(llmrt_session &session, Executable::Entry entry,
           const int32_t *ids, int64_t seq, const int64_t *positions,
           const int64_t *last, float *logits) {
  llmrt_model &model = *session.model;
  const Manifest &manifest = model.manifest;
  Communicator *communicator = model.communicator.get();
  int64_t batch = session.batch;
  session.ids.assign(ids, ids + batch * seq);
  session.positions.assign(positions, positions + batch);
  if (last)
    session.last.assign(last, last + batch);
  if (communicator) {
    communicator->broadcast(session.ids.data(),
                            session.ids.size() * sizeof(int32_t), 0);
    communicator->broadcast(session.positions.data(),
                            batch * sizeof(int64_t), 0);
    if (last)
      communicator->broadcast(session.last.data(), batch * sizeof(int64_t),
                              0);
  }
  if (Status status =
          checkTokens(session, session.ids.data(), seq, session.positions.data());
      !status.ok())
    return onRank(model, status);
  if (last)
    for (int64_t b = 0; b < batch; ++b)
      if (session.last[b] < 0 || session.last[b] >= seq)
        return onRank(model,
                      Status::error("row " + std::to_string(b) +
                                    ": last token index " +
                                    std::to_string(session.last[b]) +
                                    " outside [0, " + std::to_string(seq) +
                                    ")"));
  ++session.calls;
  injectFault(session);

  int64_t rowsOut = entry == Executable::Entry::Prefill ? seq : 1;
  int64_t rowFloats = rowsOut * manifest.vocabSize;
  bool collects = model.program->returnsLogits;
  // The one rank that runs everything writes the caller's logits directly.
  float *out = communicator ? nullptr : logits;
  if (communicator && collects)
    session.logits.resize(session.replicaRows * rowFloats);
  for (Microbatch &microbatch : session.microbatches) {
    int64_t first = microbatch.first;
    float *rows = !collects ? nullptr
                  : out     ? out + first * rowFloats
                            : session.logits.data() +
                              (first - session.replicaFirst) * rowFloats;
    if (Status status = model.executable->run(
            entry, microbatch.cache.get(), microbatch.rows, seq,
            session.ids.data() + first * seq, session.positions.data() + first,
            last ? session.last.data() + first : nullptr, rows);
        !status.ok())
      return onRank(model, status);
  }
  if (!communicator)
    return {};

  // Logits to rank 0, one message per replica.
  const MeshShape &mesh = model.mesh;
  size_t bytes = session.replicaRows * rowFloats * sizeof(float);
  bool owner = collects && model.tpRank == 0;
  if (owner && model.rank != 0 && bytes)
    communicator->sendBytes(session.logits.data(), bytes, 0);
  if (model.rank == 0)
    for (int64_t d = 0; d < mesh.dp; ++d) {
      auto [first, rows] = share(batch, mesh.dp, d);
      int64_t source = mesh.rankOf(d, mesh.pp - 1, 0);
      float *target = logits + first * rowFloats;
      if (rows == 0)
        continue;
      if (source == 0)
        std::memcpy(target, session.logits.data(),
                    rows * rowFloats * sizeof(float));
      else
        communicator->recvBytes(target, rows * rowFloats * sizeof(float),
                                source);
    }
  return {};
}

} // namespace

extern "C" {

int llmrt_model_open(const char *artifactDir, llmrt_model **out, char *error,
                     size_t errorSize) {
  *out = nullptr;
  auto model = std::make_unique<llmrt_model>();
  Manifest &manifest = model->manifest;
  Status status = readManifest(artifactDir, manifest);
  bool gpu = manifest.target == "sm_80" || manifest.target == "sm_90";
  if (status.ok() && manifest.target != "cpu" && !gpu)
    status = Status::error(std::string(artifactDir) + ": target '" +
                           manifest.target +
                           "' is not supported by this runtime (cpu, sm_80, "
                           "sm_90)");
#ifndef LLMRT_HAVE_CUDA
  if (status.ok() && gpu)
    status = Status::error(std::string(artifactDir) + ": target '" +
                           manifest.target +
                           "' needs the CUDA backend, and this runtime was "
                           "built without CUDA (LLMC_ENABLE_CUDA=OFF)");
#endif
  if (!status.ok())
    return report(status, error, errorSize);

  // Ranks come from the launcher (mpirun, srun); one rank needs none.
  model->mesh = {manifest.dp, manifest.pp, manifest.tp};
  int64_t world = model->mesh.world();
  if (world > 1 && !launchedByMpi())
    return report(
        Status::error(std::string(artifactDir) + " runs on " +
                      std::to_string(world) + " ranks (dp " +
                      std::to_string(manifest.dp) + " x pp " +
                      std::to_string(manifest.pp) + " x tp " +
                      std::to_string(manifest.tp) +
                      "): start it with mpirun -np " + std::to_string(world) +
                      " (or srun -n " + std::to_string(world) + ")"),
        error, errorSize);
  if (world > 1 || launcherWorldSize() > 1) {
    status = createMpiCommunicator(model->mesh, model->communicator);
    model->rank = model->communicator->rank();
    if (!status.ok())
      return report(Status::error("rank " + std::to_string(model->rank) +
                                  ": " + status.message()),
                    error, errorSize);
  }
  auto [replica, stage, tpRank] = model->mesh.coordinates(model->rank);
  model->replica = replica;
  model->stage = stage;
  model->tpRank = tpRank;
  model->program = &manifest.programs[stage * manifest.tp + tpRank];
  status = checkWeights(*model);
  if (status.ok() && gpu) {
#ifdef LLMRT_HAVE_CUDA
    std::unique_ptr<CudaExecutable> executable;
    status = CudaExecutable::load(manifest, *model->program, model->store,
                                  &model->communicator, executable);
    model->executable = std::move(executable);
#endif
  } else if (status.ok()) {
    std::unique_ptr<CpuExecutable> executable;
    status = CpuExecutable::load(manifest, *model->program, model->store,
                                 model->communicator.get(), executable);
    model->executable = std::move(executable);
  }
  // No rank goes on alone: the others would wait for it forever.
  if (model->communicator && !model->communicator->allAgree(status.ok()) &&
      status.ok())
    status = Status::error("another rank could not open " +
                           std::string(artifactDir));
  if (!status.ok())
    return report(onRank(*model, status), error, errorSize);
  *out = model.release();
  return 0;
}

void llmrt_model_close(llmrt_model *model) { delete model; }

int64_t llmrt_model_vocab_size(const llmrt_model *model) {
  return model->manifest.vocabSize;
}
int64_t llmrt_model_max_seq_len(const llmrt_model *model) {
  return model->manifest.maxSeqLen;
}
int64_t llmrt_model_max_batch(const llmrt_model *model) {
  return model->manifest.maxBatch;
}
int64_t llmrt_model_rank(const llmrt_model *model) { return model->rank; }
int64_t llmrt_launcher_rank(void) { return launcherWorldRank(); }
int64_t llmrt_model_world_size(const llmrt_model *model) {
  return model->mesh.world();
}
uint64_t llmrt_model_weight_bytes(const llmrt_model *model) {
  return model->executable->weightBytes();
}
uint64_t llmrt_model_communicated_bytes(const llmrt_model *model) {
  return model->communicator ? model->communicator->dataBytes() : 0;
}

int llmrt_session_create(llmrt_model *model, int64_t batch,
                         llmrt_session **out, char *error, size_t errorSize) {
  *out = nullptr;
  const Manifest &manifest = model->manifest;
  if (batch <= 0 || batch > manifest.maxBatch)
    return report(Status::error("batch of " + std::to_string(batch) +
                                " exceeds the artifact's max_batch (" +
                                std::to_string(manifest.maxBatch) + ")"),
                  error, errorSize);
  auto session = std::make_unique<llmrt_session>();
  session->model = model;
  session->batch = batch;
  auto [replicaFirst, replicaRows] =
      share(batch, manifest.dp, model->replica);
  session->replicaFirst = replicaFirst;
  session->replicaRows = replicaRows;
  int64_t parts = std::min(manifest.microbatches, replicaRows);
  const ArtifactProgram &program = *model->program;
  for (int64_t m = 0; m < parts; ++m) {
    auto [first, rows] = share(replicaRows, parts, m);
    Microbatch &microbatch = session->microbatches.emplace_back();
    microbatch.first = replicaFirst + first;
    microbatch.rows = rows;
    size_t elements = 2 * program.numLayers * rows * manifest.maxSeqLen *
                      program.numKVHeads * manifest.headDim;
    if (Status status = model->executable->allocateCache(
            elements * dtypeSize(manifest.computeType), microbatch.cache);
        !status.ok())
      return report(status, error, errorSize);
  }
  *out = session.release();
  return 0;
}

void llmrt_session_close(llmrt_session *session) { delete session; }

int llmrt_prefill(llmrt_session *session, const int32_t *ids, int64_t seq,
                  const int64_t *positions, float *logits, char *error,
                  size_t errorSize) {
  return report(run(*session, Executable::Entry::Prefill, ids, seq,
                    positions, nullptr, logits),
                error, errorSize);
}

int llmrt_prefill_last(llmrt_session *session, const int32_t *ids,
                       int64_t seq, const int64_t *positions,
                       const int64_t *last, float *logits, char *error,
                       size_t errorSize) {
  return report(run(*session, Executable::Entry::PrefillLast, ids, seq,
                    positions, last, logits),
                error, errorSize);
}

int llmrt_decode(llmrt_session *session, const int32_t *ids,
                 const int64_t *positions, float *logits, char *error,
                 size_t errorSize) {
  return report(run(*session, Executable::Entry::Decode, ids, 1,
                    positions, nullptr, logits),
                error, errorSize);
}

} // extern "C"
