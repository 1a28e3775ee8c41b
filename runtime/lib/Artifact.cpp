//===- Artifact.cpp - Reading and checking an artifact's manifest ---------===//

#include "Artifact.h"

#include "JsonText.h"

#include <sys/stat.h>

namespace llmrt {

using nlohmann::json;

namespace {
/// Reads typed fields of the manifest, keeping the first error.
class ManifestReader {
public:
  explicit ManifestReader(std::string path) : path(std::move(path)) {}

  const json *field(const json &object, const char *key, const char *where) {
    if (!object.is_object() || !object.contains(key)) {
      fail(std::string(where) + key, "present");
      return nullptr;
    }
    return &object[key];
  }
  std::string string(const json &object, const char *key,
                     const char *where = "") {
    const json *value = field(object, key, where);
    if (value && value->is_string())
      return value->get<std::string>();
    if (value)
      fail(std::string(where) + key, "a string");
    return {};
  }
  int64_t count(const json &object, const char *key, const char *where = "") {
    const json *value = field(object, key, where);
    std::optional<int64_t> number =
        value ? getNonNegativeInt(*value) : std::nullopt;
    if (value && !number)
      fail(std::string(where) + key, "a non-negative integer");
    return number.value_or(0);
  }
  DType dtype(const std::string &name, const std::string &where) {
    std::optional<DType> dtype = parseDType(name);
    if (!dtype)
      fail(where, "a safetensors dtype");
    return dtype.value_or(DType::F32);
  }
  void fail(const std::string &key, const std::string &expected) {
    if (status.ok())
      status = Status::error(path + ": field '" + key + "': expected " +
                             expected);
  }

  std::string path;
  Status status;
};

DType computeDType(const std::string &name) {
  if (name == "float16")
    return DType::F16;
  if (name == "bfloat16")
    return DType::BF16;
  return DType::F32;
}
} // namespace

Status readManifest(const std::string &dir, Manifest &manifest) {
  std::string path = dir + "/manifest.json";
  struct stat info;
  if (stat(path.c_str(), &info) != 0)
    return Status::error(dir + ": not an llmc artifact (no manifest.json)");
  json root;
  if (Status status = readJsonFile(path, root); !status.ok())
    return status;

  ManifestReader read(path);
  if (read.string(root, "format") != "llmc-artifact" && read.status.ok())
    read.fail("format", "\"llmc-artifact\"");
  int64_t version = read.count(root, "format_version");
  if (read.status.ok() && version != kArtifactFormatVersion)
    return Status::error(path + ": artifact format version " +
                         std::to_string(version) + ", this runtime reads " +
                         std::to_string(kArtifactFormatVersion) +
                         " (recompile with the matching llmc)");
  manifest.dir = dir;
  manifest.target = read.string(root, "target");
  const json *model = read.field(root, "model", "");
  const json *code = read.field(root, "code", "");
  const json *weights = read.field(root, "weights", "");
  if (!read.status.ok())
    return read.status;

  manifest.modelType = read.string(*model, "model_type", "model.");
  manifest.vocabSize = read.count(*model, "vocab_size", "model.");
  manifest.numLayers = read.count(*model, "num_layers", "model.");
  manifest.numKVHeads = read.count(*model, "num_kv_heads", "model.");
  manifest.headDim = read.count(*model, "head_dim", "model.");
  manifest.maxSeqLen = read.count(*model, "max_seq_len", "model.");
  manifest.maxBatch = read.count(*model, "max_batch", "model.");
  manifest.computeType = computeDType(read.string(*model, "dtype", "model."));
  manifest.prefillSymbol = read.string(*code, "prefill", "code.");
  manifest.prefillLastSymbol = read.string(*code, "prefill_last", "code.");
  manifest.decodeSymbol = read.string(*code, "decode", "code.");
  manifest.paramTableSymbol = read.string(*code, "param_table", "code.");
  manifest.collectivesSymbol = read.string(*code, "collectives", "code.");
  const json *parallel = read.field(root, "parallel", "");
  const json *programs = read.field(root, "programs", "");
  if (!read.status.ok())
    return read.status;
  manifest.dp = read.count(*parallel, "dp", "parallel.");
  manifest.tp = read.count(*parallel, "tp", "parallel.");
  manifest.pp = read.count(*parallel, "pp", "parallel.");
  manifest.microbatches = read.count(*parallel, "microbatches", "parallel.");
  if (!programs->is_array())
    return Status::error(path + ": field 'programs': expected an array");
  auto dims = [&](const json &object, const char *key) {
    std::vector<int64_t> out;
    const json *array = read.field(object, key, "programs[].params[].");
    if (array && array->is_array())
      for (const json &dim : *array)
        out.push_back(getNonNegativeInt(dim).value_or(-1));
    else if (array)
      read.fail(std::string("programs[].params[].") + key, "an array");
    return out;
  };
  for (const json &entry : *programs) {
    const char *where = "programs[].";
    ArtifactProgram program;
    program.stage = read.count(entry, "stage", where);
    program.tpRank = read.count(entry, "tp_rank", where);
    program.library = read.string(entry, "library", where);
    program.firstLayer = read.count(entry, "first_layer", where);
    program.numLayers = read.count(entry, "num_layers", where);
    program.numKVHeads = read.count(entry, "num_kv_heads", where);
    if (entry.is_object() && entry.contains("weights"))
      program.weights = read.string(entry, "weights", where);
    if (entry.is_object() && entry.contains("gpu")) {
      const json &gpu = entry["gpu"];
      program.ptx = read.string(gpu, "ptx", "programs[].gpu.");
      if (gpu.is_object() && gpu.contains("cubin") && gpu["cubin"].is_string())
        program.cubin = gpu["cubin"].get<std::string>();
      if (gpu.is_object() && gpu.contains("dependent_launch")) {
        if (!gpu["dependent_launch"].is_boolean())
          read.fail("programs[].gpu.dependent_launch", "a boolean");
        else
          program.dependentLaunch = gpu["dependent_launch"].get<bool>();
      }
      const json *kernels = read.field(gpu, "kernels", "programs[].gpu.");
      program.kernelParamsSized = true;
      if (kernels && !kernels->is_array())
        read.fail("programs[].gpu.kernels", "an array");
      else if (kernels)
        for (const json &kernel : *kernels) {
          program.kernels.push_back(
              read.string(kernel, "name", "programs[].gpu.kernels[]."));
          std::vector<int32_t> &bytes = program.kernelParamBytes.emplace_back();
          if (!kernel.is_object() || !kernel.contains("param_bytes")) {
            program.kernelParamsSized = false;
            continue;
          }
          const json &sizes = kernel["param_bytes"];
          for (size_t i = 0; sizes.is_array() && i < sizes.size(); ++i) {
            std::optional<int64_t> size = getNonNegativeInt(sizes[i]);
            if (!size || *size == 0 || *size > 4096)
              break;
            bytes.push_back(int32_t(*size));
          }
          if (!sizes.is_array() || bytes.size() != sizes.size())
            read.fail("programs[].gpu.kernels[].param_bytes",
                      "an array of parameter sizes (1 to 4096 bytes)");
        }
    }
    const json *logits = read.field(entry, "returns_logits", where);
    program.returnsLogits = logits && logits->is_boolean() && logits->get<bool>();
    const json *params = read.field(entry, "params", where);
    if (!read.status.ok())
      return read.status;
    if (!params->is_array())
      return Status::error(path + ": field 'programs[].params': expected an "
                                  "array");
    for (const json &param : *params) {
      ArtifactParam out;
      out.name = read.string(param, "name", "programs[].params[].");
      out.dtype =
          read.dtype(read.string(param, "dtype", "programs[].params[]."),
                     "programs[].params[].dtype");
      out.storedDType = out.dtype;
      if (param.is_object() && param.contains("stored_dtype")) {
        out.storedDType = read.dtype(
            read.string(param, "stored_dtype", "programs[].params[]."),
            "programs[].params[].stored_dtype");
        // The weights load converted between float types only.
        auto isFloat = [](DType dtype) {
          return dtype == DType::F32 || dtype == DType::F16 ||
                 dtype == DType::BF16;
        };
        if (!isFloat(out.storedDType) || !isFloat(out.dtype))
          read.fail("programs[].params[].stored_dtype",
                    "F32, F16 or BF16 beside a dtype of those, found " +
                        std::string(dtypeName(out.storedDType)) + " for " +
                        std::string(dtypeName(out.dtype)));
      }
      out.shape = dims(param, "shape");
      if (param.is_object() && param.contains("offsets")) {
        out.offsets = dims(param, "offsets");
        out.storedShape = dims(param, "stored_shape");
      }
      program.params.push_back(std::move(out));
    }
    manifest.programs.push_back(std::move(program));
  }
  for (auto [key, value] : {std::pair<const char *, int64_t>{"dp", manifest.dp},
                             {"tp", manifest.tp},
                             {"pp", manifest.pp},
                             {"microbatches", manifest.microbatches}})
    if (read.status.ok() && value < 1)
      read.fail(std::string("parallel.") + key, "a positive integer");
  for (size_t i = 0; read.status.ok() && i < manifest.programs.size(); ++i)
    if (manifest.programs[i].stage != int64_t(i) / manifest.tp ||
        manifest.programs[i].tpRank != int64_t(i) % manifest.tp)
      read.fail("programs[" + std::to_string(i) + "]",
                "stage " + std::to_string(i / manifest.tp) + " and tp_rank " +
                    std::to_string(i % manifest.tp));
  if (read.status.ok() &&
      manifest.programs.size() != size_t(manifest.pp * manifest.tp))
    return Status::error(path + ": field 'programs': expected " +
                         std::to_string(manifest.pp * manifest.tp) +
                         " programs (pp x tp), found " +
                         std::to_string(manifest.programs.size()));
  manifest.checkpoint = read.string(*weights, "checkpoint", "weights.");
  const json *files = read.field(*weights, "files", "weights.");
  if (!read.status.ok())
    return read.status;
  if (!files->is_array())
    return Status::error(path + ": field 'weights.files': expected an array");
  for (const json &file : *files)
    manifest.files.push_back({read.string(file, "name", "weights.files[]."),
                              static_cast<uint64_t>(read.count(
                                  file, "bytes", "weights.files[].")),
                              read.string(file, "header_checksum",
                                          "weights.files[].")});
  return read.status;
}

} // namespace llmrt
