//===- ModelConfig.h - A Hugging Face config.json, checked ------*- C++ -*-===//
//
// The architecture hyper-parameters of a checkpoint, read from config.json
// (transformers 4 and 5 spellings) into one normalized form and checked for
// consistency before any IR is built.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_IMPORT_MODELCONFIG_H
#define LLMC_IMPORT_MODELCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>

namespace llmc {

enum class ModelFamily {
  /// Llama 2/3, Mistral, Qwen2: RMSNorm, rotary, gated SiLU MLP.
  Llama,
  /// GPT-2: LayerNorm, learned positions, GELU MLP, Conv1D weights.
  GPT2,
};

enum class Activation { Silu, GeluErf, GeluTanh };

enum class RopeScaling { None, Linear, Llama3 };

enum class FloatDType { F32, F16, BF16 };

struct ModelConfig {
  /// `model_type` as written (llama, mistral, qwen2, gpt2).
  std::string modelType;
  ModelFamily family = ModelFamily::Llama;

  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKVHeads = 0;
  int64_t headDim = 0;
  int64_t maxPositions = 0;
  double normEpsilon = 0;
  Activation activation = Activation::Silu;
  bool tieWordEmbeddings = false;
  /// Biases on q/k/v projections (Qwen2; Llama's attention_bias).
  bool qkvBias = false;
  /// Bias on the attention output projection (Llama's attention_bias).
  bool outputBias = false;
  /// Biases on the MLP projections (Llama's mlp_bias).
  bool mlpBias = false;

  double ropeTheta = 10000.0;
  RopeScaling ropeScaling = RopeScaling::None;
  double ropeFactor = 1.0;
  double ropeLowFreqFactor = 0.0;
  double ropeHighFreqFactor = 0.0;
  int64_t ropeOriginalMaxPositions = 0;

  std::optional<int64_t> slidingWindow;
  /// `torch_dtype` / `dtype`, when given.
  std::optional<FloatDType> dtype;
};

/// Parses and checks config.json text; `fileName` prefixes every message:
/// "<fileName>: field 'num_attention_heads': expected ..., found ...".
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef text,
                                             llvm::StringRef fileName);

/// Reads `<dir>/config.json` and parses it.
llvm::Expected<ModelConfig> readModelConfig(llvm::StringRef dir);

/// The model types the importer knows, comma-separated.
llvm::StringRef supportedModelTypes();

} // namespace llmc

#endif // LLMC_IMPORT_MODELCONFIG_H
