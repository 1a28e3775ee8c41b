//===- CApi.cpp - The llmc runtime's C interface --------------------------===//

#include "llmrt/llmrt.h"

#include "Artifact.h"
#include "cpu/CpuExecutable.h"

#include "llmrt/WeightStore.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

using namespace llmrt;

struct llmrt_model {
  Manifest manifest;
  WeightStore store;
  std::unique_ptr<CpuExecutable> executable;
};

struct llmrt_session {
  llmrt_model *model;
  int64_t batch;
  std::vector<std::byte> cache;
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

/// The checkpoint must be the one the artifact was compiled from.
Status checkWeights(llmrt_model &model) {
  const Manifest &manifest = model.manifest;
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
  for (const ArtifactParam &param : manifest.params) {
    WeightStore::Entry entry = model.store.find(param.name);
    if (!entry.info)
      return Status::error(context + "tensor '" + param.name +
                           "' is missing: recompile");
    if (entry.info->dtype != param.dtype || entry.info->shape != param.shape)
      return Status::error(
          context + "tensor '" + param.name + "' is " +
          std::string(dtypeName(entry.info->dtype)) + " " +
          formatShape(entry.info->shape) + ", compiled for " +
          std::string(dtypeName(param.dtype)) + " " +
          formatShape(param.shape) + ": recompile");
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

} // namespace

extern "C" {

int llmrt_model_open(const char *artifactDir, llmrt_model **out, char *error,
                     size_t errorSize) {
  *out = nullptr;
  auto model = std::make_unique<llmrt_model>();
  Status status = readManifest(artifactDir, model->manifest);
  if (status.ok() && model->manifest.target != "cpu")
    status = Status::error(std::string(artifactDir) + ": target '" +
                           model->manifest.target +
                           "' is not supported by this runtime (cpu)");
  if (status.ok())
    status = checkWeights(*model);
  if (status.ok())
    status = CpuExecutable::load(model->manifest, model->store,
                                 model->executable);
  if (!status.ok())
    return report(status, error, errorSize);
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
  size_t elements = 2 * manifest.numLayers * batch * manifest.maxSeqLen *
                    manifest.numKVHeads * manifest.headDim;
  session->cache.assign(elements * dtypeSize(manifest.computeType),
                        std::byte{0});
  *out = session.release();
  return 0;
}

void llmrt_session_close(llmrt_session *session) { delete session; }

int llmrt_prefill(llmrt_session *session, const int32_t *ids, int64_t seq,
                  const int64_t *positions, float *logits, char *error,
                  size_t errorSize) {
  if (Status status = checkTokens(*session, ids, seq, positions);
      !status.ok())
    return report(status, error, errorSize);
  session->model->executable->run(CpuExecutable::Entry::Prefill,
                                  session->cache.data(), session->batch, seq,
                                  ids, positions, nullptr, logits);
  return 0;
}

int llmrt_prefill_last(llmrt_session *session, const int32_t *ids,
                       int64_t seq, const int64_t *positions,
                       const int64_t *last, float *logits, char *error,
                       size_t errorSize) {
  if (Status status = checkTokens(*session, ids, seq, positions);
      !status.ok())
    return report(status, error, errorSize);
  for (int64_t b = 0; b < session->batch; ++b)
    if (last[b] < 0 || last[b] >= seq)
      return report(Status::error("row " + std::to_string(b) +
                                  ": last token index " +
                                  std::to_string(last[b]) + " outside [0, " +
                                  std::to_string(seq) + ")"),
                    error, errorSize);
  session->model->executable->run(CpuExecutable::Entry::PrefillLast,
                                  session->cache.data(), session->batch, seq,
                                  ids, positions, last, logits);
  return 0;
}

int llmrt_decode(llmrt_session *session, const int32_t *ids,
                 const int64_t *positions, float *logits, char *error,
                 size_t errorSize) {
  if (Status status = checkTokens(*session, ids, 1, positions); !status.ok())
    return report(status, error, errorSize);
  session->model->executable->run(CpuExecutable::Entry::Decode,
                                  session->cache.data(), session->batch, 1,
                                  ids, positions, nullptr, logits);
  return 0;
}

} // extern "C"
