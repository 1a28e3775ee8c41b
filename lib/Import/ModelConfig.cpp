//===- ModelConfig.cpp - A Hugging Face config.json, checked --------------===//

#include "llmc/Import/ModelConfig.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace llvm;

namespace llmc {

StringRef supportedModelTypes() { return "llama, mistral, qwen2, gpt2"; }

namespace {

/// Reads typed fields of one JSON object and keeps the first error, so a
/// config is read top to bottom and reports one precise line.
class FieldReader {
public:
  FieldReader(const json::Object &object, StringRef fileName)
      : object(object), fileName(fileName) {}

  bool has(StringRef key) const {
    const json::Value *value = object.get(key);
    return value && value->kind() != json::Value::Null;
  }

  int64_t positiveInt(StringRef key) {
    std::optional<int64_t> value = optionalPositiveInt(key);
    if (!value)
      fail(key, "a positive integer");
    return value.value_or(1);
  }

  /// Absent or null gives nullopt.
  std::optional<int64_t> optionalPositiveInt(StringRef key) {
    if (!has(key))
      return std::nullopt;
    std::optional<int64_t> value = object.get(key)->getAsInteger();
    if (!value || *value <= 0) {
      fail(key, "a positive integer");
      return std::nullopt;
    }
    return value;
  }

  double positiveNumber(StringRef key, std::optional<double> fallback) {
    if (!has(key)) {
      if (!fallback)
        fail(key, "a positive number");
      return fallback.value_or(1.0);
    }
    std::optional<double> value = object.get(key)->getAsNumber();
    if (!value || !(*value > 0)) {
      fail(key, "a positive number");
      return 1.0;
    }
    return *value;
  }

  bool flag(StringRef key, bool fallback) {
    if (!has(key))
      return fallback;
    std::optional<bool> value = object.get(key)->getAsBoolean();
    if (!value)
      fail(key, "true or false");
    return value.value_or(fallback);
  }

  std::optional<std::string> optionalString(StringRef key) {
    if (!has(key))
      return std::nullopt;
    std::optional<StringRef> value = object.get(key)->getAsString();
    if (!value) {
      fail(key, "a string");
      return std::nullopt;
    }
    return value->str();
  }

  const json::Object *optionalObject(StringRef key) {
    if (!has(key))
      return nullptr;
    const json::Object *value = object.get(key)->getAsObject();
    if (!value)
      fail(key, "an object");
    return value;
  }

  /// Records "field '<key>': expected <expected>, found <value>".
  void fail(StringRef key, const Twine &expected) {
    const json::Value *value = object.get(key);
    std::string found = "nothing";
    if (value)
      found = formatv("{0}", *value).str();
    failField(key, "expected " + expected + ", found " + found);
  }

  /// Records "field '<key>': <message>".
  void failField(StringRef key, const Twine &message) {
    failLine(formatv("field '{0}{1}': {2}", prefix, key, message.str()).str());
  }

  void failLine(const Twine &message) {
    if (!error)
      error = (fileName + ": " + message).str();
  }

  bool failed() const { return error.has_value(); }

  /// Keeps the first error of a reader of a nested object.
  void adoptError(FieldReader &nested) {
    if (!error)
      error = std::move(nested.error);
  }

  StringRef getFileName() const { return fileName; }

  Error takeError() {
    if (!error)
      return Error::success();
    return createStringError(inconvertibleErrorCode(), *error);
  }

  /// Prefixes field names of a nested object ("rope_scaling.").
  std::string prefix;

private:
  const json::Object &object;
  StringRef fileName;
  std::optional<std::string> error;
};

void readDType(FieldReader &reader, ModelConfig &config) {
  StringRef key = reader.has("torch_dtype") ? "torch_dtype" : "dtype";
  std::optional<std::string> name = reader.optionalString(key);
  if (!name)
    return;
  std::optional<FloatDType> dtype =
      StringSwitch<std::optional<FloatDType>>(*name)
          .Case("float32", FloatDType::F32)
          .Case("float16", FloatDType::F16)
          .Case("bfloat16", FloatDType::BF16)
          .Default(std::nullopt);
  if (!dtype)
    reader.fail(key, "float32, float16 or bfloat16");
  config.dtype = dtype;
}

/// rope_theta and rope_scaling (transformers 4) or rope_parameters (5).
void readRope(FieldReader &reader, ModelConfig &config) {
  const json::Object *parameters = reader.optionalObject("rope_parameters");
  StringRef scalingKey = parameters ? "rope_parameters" : "rope_scaling";
  const json::Object *scaling =
      parameters ? parameters : reader.optionalObject("rope_scaling");
  config.ropeTheta = reader.positiveNumber("rope_theta", 10000.0);
  if (!scaling || reader.failed())
    return;

  FieldReader nested(*scaling, reader.getFileName());
  nested.prefix = (scalingKey + ".").str();
  if (parameters)
    config.ropeTheta = nested.positiveNumber("rope_theta", config.ropeTheta);
  StringRef typeKey = nested.has("rope_type") ? "rope_type" : "type";
  std::string type = nested.optionalString(typeKey).value_or("default");
  if (type == "default") {
    config.ropeScaling = RopeScaling::None;
  } else if (type == "linear") {
    config.ropeScaling = RopeScaling::Linear;
    config.ropeFactor = nested.positiveNumber("factor", std::nullopt);
  } else if (type == "llama3") {
    config.ropeScaling = RopeScaling::Llama3;
    config.ropeFactor = nested.positiveNumber("factor", std::nullopt);
    config.ropeLowFreqFactor =
        nested.positiveNumber("low_freq_factor", std::nullopt);
    config.ropeHighFreqFactor =
        nested.positiveNumber("high_freq_factor", std::nullopt);
    config.ropeOriginalMaxPositions =
        nested.positiveInt("original_max_position_embeddings");
    if (!nested.failed() &&
        config.ropeHighFreqFactor <= config.ropeLowFreqFactor)
      nested.fail("high_freq_factor",
                  "a number above low_freq_factor (" +
                      formatv("{0}", *scaling->get("low_freq_factor")) + ")");
  } else {
    nested.failField(typeKey, "unsupported rope scaling '" + type +
                                  "' (supported: default, linear, llama3)");
  }
  reader.adoptError(nested);
}

void readLlamaFamily(FieldReader &reader, ModelConfig &config) {
  config.family = ModelFamily::Llama;
  config.vocabSize = reader.positiveInt("vocab_size");
  config.hiddenSize = reader.positiveInt("hidden_size");
  config.intermediateSize = reader.positiveInt("intermediate_size");
  config.numLayers = reader.positiveInt("num_hidden_layers");
  config.numHeads = reader.positiveInt("num_attention_heads");
  config.numKVHeads = reader.optionalPositiveInt("num_key_value_heads")
                          .value_or(config.numHeads);
  std::optional<int64_t> headDim = reader.optionalPositiveInt("head_dim");
  config.maxPositions = reader.positiveInt("max_position_embeddings");
  config.normEpsilon = reader.positiveNumber("rms_norm_eps", 1e-6);
  config.tieWordEmbeddings = reader.flag("tie_word_embeddings", false);
  std::string act = reader.optionalString("hidden_act").value_or("silu");
  if (act != "silu")
    reader.fail("hidden_act", "\"silu\"");

  bool attentionBias = reader.flag("attention_bias", false);
  config.qkvBias = attentionBias || config.modelType == "qwen2";
  config.outputBias = attentionBias;
  config.mlpBias = reader.flag("mlp_bias", false);
  if (config.modelType == "mistral")
    config.slidingWindow = reader.optionalPositiveInt("sliding_window");
  if (config.modelType == "qwen2" && reader.flag("use_sliding_window", false))
    reader.failField("use_sliding_window",
                     "Qwen2's per-layer sliding window is not supported "
                     "(expected false)");
  readRope(reader, config);
  if (reader.failed())
    return;

  if (headDim) {
    config.headDim = *headDim;
  } else if (config.hiddenSize % config.numHeads != 0) {
    reader.failField("num_attention_heads",
                     formatv("expects num_attention_heads ({0}) to divide "
                             "hidden_size ({1})",
                             config.numHeads, config.hiddenSize));
  } else {
    config.headDim = config.hiddenSize / config.numHeads;
  }
  if (config.numHeads % config.numKVHeads != 0)
    reader.failField("num_key_value_heads",
                     formatv("expects num_key_value_heads ({0}) to divide "
                             "num_attention_heads ({1})",
                             config.numKVHeads, config.numHeads));
  if (config.headDim % 2 != 0)
    reader.failField("head_dim",
                     formatv("expects an even head_dim for rotary "
                             "embeddings, found {0}",
                             config.headDim));
}

void readGPT2(FieldReader &reader, ModelConfig &config) {
  config.family = ModelFamily::GPT2;
  config.vocabSize = reader.positiveInt("vocab_size");
  config.hiddenSize = reader.positiveInt("n_embd");
  config.numLayers = reader.positiveInt("n_layer");
  config.numHeads = reader.positiveInt("n_head");
  config.numKVHeads = config.numHeads;
  config.maxPositions = reader.positiveInt("n_positions");
  config.intermediateSize =
      reader.optionalPositiveInt("n_inner").value_or(4 * config.hiddenSize);
  config.normEpsilon = reader.positiveNumber("layer_norm_epsilon", 1e-5);
  config.tieWordEmbeddings = reader.flag("tie_word_embeddings", true);
  config.qkvBias = config.outputBias = config.mlpBias = true;
  std::string act =
      reader.optionalString("activation_function").value_or("gelu_new");
  if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast")
    config.activation = Activation::GeluTanh;
  else if (act == "gelu")
    config.activation = Activation::GeluErf;
  else
    reader.fail("activation_function",
                "\"gelu_new\", \"gelu_pytorch_tanh\", \"gelu_fast\" or "
                "\"gelu\"");
  if (!reader.flag("scale_attn_weights", true))
    reader.failField("scale_attn_weights", "unscaled attention is not "
                                           "supported (expected true)");
  for (StringRef key :
       {"scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"})
    if (reader.flag(key, false))
      reader.failField(key, "not supported (expected false)");
  if (reader.failed())
    return;
  if (config.hiddenSize % config.numHeads != 0)
    reader.failField("n_head", formatv("expects n_head ({0}) to divide "
                                       "n_embd ({1})",
                                       config.numHeads, config.hiddenSize));
  config.headDim = config.hiddenSize / config.numHeads;
}

} // namespace

Expected<ModelConfig> parseModelConfig(StringRef text, StringRef fileName) {
  Expected<json::Value> root = json::parse(text);
  if (!root)
    return createStringError(inconvertibleErrorCode(),
                             "%s: malformed JSON: %s", fileName.str().c_str(),
                             toString(root.takeError()).c_str());
  const json::Object *object = root->getAsObject();
  if (!object)
    return createStringError(inconvertibleErrorCode(),
                             "%s: expected a JSON object",
                             fileName.str().c_str());
  FieldReader reader(*object, fileName);
  ModelConfig config;
  std::optional<std::string> modelType = reader.optionalString("model_type");
  if (!modelType && !reader.failed())
    reader.fail("model_type", "a string naming the architecture (" +
                                  supportedModelTypes() + ")");
  if (reader.failed())
    return reader.takeError();
  config.modelType = *modelType;
  readDType(reader, config);
  if (config.modelType == "llama" || config.modelType == "mistral" ||
      config.modelType == "qwen2")
    readLlamaFamily(reader, config);
  else if (config.modelType == "gpt2")
    readGPT2(reader, config);
  else
    reader.failField("model_type", "unsupported model_type '" +
                                       config.modelType + "' (supported: " +
                                       supportedModelTypes() + ")");
  if (Error error = reader.takeError())
    return std::move(error);
  return config;
}

Expected<ModelConfig> readModelConfig(StringRef dir) {
  SmallString<256> path(dir);
  sys::path::append(path, "config.json");
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer = MemoryBuffer::getFile(path);
  if (std::error_code error = buffer.getError())
    return createStringError(error, "%s: cannot open: %s", path.c_str(),
                             error.message().c_str());
  return parseModelConfig((*buffer)->getBuffer(), path);
}

} // namespace llmc
