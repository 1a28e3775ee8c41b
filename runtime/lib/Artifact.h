//===- Artifact.h - Reading and checking an artifact's manifest -*- C++ -*-===//

#ifndef LLMRT_LIB_ARTIFACT_H
#define LLMRT_LIB_ARTIFACT_H

#include "llmrt/DType.h"
#include "llmrt/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmrt {

/// The format version this runtime reads.
constexpr int64_t kArtifactFormatVersion = 1;

struct ArtifactParam {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
};

struct ArtifactFile {
  std::string name;
  uint64_t bytes = 0;
  std::string headerChecksum;
};

/// What manifest.json says.
struct Manifest {
  std::string dir;
  std::string target;
  std::string modelType;
  int64_t vocabSize = 0, numLayers = 0, numKVHeads = 0, headDim = 0;
  int64_t maxSeqLen = 0, maxBatch = 0;
  DType computeType = DType::F32;
  std::string library, prefillSymbol, prefillLastSymbol, decodeSymbol,
      paramTableSymbol;
  std::string checkpoint;
  std::vector<ArtifactFile> files;
  std::vector<ArtifactParam> params;
};

/// Reads `<dir>/manifest.json`; errors name the field.
Status readManifest(const std::string &dir, Manifest &manifest);

} // namespace llmrt

#endif // LLMRT_LIB_ARTIFACT_H
