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
constexpr int64_t kArtifactFormatVersion = 2;

/// A parameter of a program: the stored tensor `name`, or the box
/// `offsets` + `shape` of it when `storedShape` is set.
struct ArtifactParam {
  std::string name;
  /// The program's element type, and the stored tensor's (converted when
  /// the weights load).
  DType dtype = DType::F32, storedDType = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> offsets, storedShape;
  const std::vector<int64_t> &stored() const {
    return storedShape.empty() ? shape : storedShape;
  }
};

/// The code of one (pipeline stage, tensor rank).
struct ArtifactProgram {
  int64_t stage = 0, tpRank = 0;
  std::string library;
  int64_t firstLayer = 0, numLayers = 0, numKVHeads = 0;
  /// False before the last pipeline stage: the entry points return nothing.
  bool returnsLogits = true;
  /// A folder of the artifact with this program's own weights
  /// (model.safetensors, tensors named as `params`), or empty: the
  /// checkpoint's tensors.
  std::string weights;
  std::vector<ArtifactParam> params;
  /// A GPU program's kernels: PTX and (when ptxas ran) cubin files of the
  /// artifact, and the kernel names in the host code's launch-index order.
  std::string ptx, cubin;
  std::vector<std::string> kernels;
  /// The bytes of each kernel's parameters in order, where the manifest
  /// sizes every kernel's (an older llmc's does not: its launches are not
  /// recorded into graphs).
  std::vector<std::vector<int32_t>> kernelParamBytes;
  bool kernelParamsSized = false;
  /// Every kernel waits for the kernel before it on the stream itself
  /// (griddepcontrol.wait): it may be launched before that one finishes.
  bool dependentLaunch = false;
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
  std::string prefillSymbol, prefillLastSymbol, decodeSymbol,
      paramTableSymbol, collectivesSymbol;
  int64_t dp = 1, tp = 1, pp = 1, microbatches = 1;
  int64_t world() const { return dp * tp * pp; }
  /// Stage-major: program (stage, t) is programs[stage * tp + t].
  std::vector<ArtifactProgram> programs;
  std::string checkpoint;
  std::vector<ArtifactFile> files;
};

/// Reads `<dir>/manifest.json`; errors name the field.
Status readManifest(const std::string &dir, Manifest &manifest);

} // namespace llmrt

#endif // LLMRT_LIB_ARTIFACT_H
