//===- Artifact.cpp - The compiled model as a directory -------------------===//

#include "llmc/Target/Artifact.h"
#include "llmc/Support/Error.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace llmc {

/// The safetensors spelling of a parameter's element type.
static std::string storedDType(Type type) {
  if (type.isF32())
    return "F32";
  if (type.isF16())
    return "F16";
  if (type.isBF16())
    return "BF16";
  return "unsupported";
}

static llvm::json::Array shapeArray(llvm::ArrayRef<int64_t> shape) {
  llvm::json::Array array;
  for (int64_t dim : shape)
    array.push_back(dim);
  return array;
}

/// The Hugging Face spelling of a compute type.
static std::string computeDTypeName(Type type) {
  if (type.isF16())
    return "float16";
  if (type.isBF16())
    return "bfloat16";
  return "float32";
}

/// The KV cache the entry points thread (every entry point has the same).
static llm::KVCacheType kvCacheType(ModuleOp module) {
  for (auto func : module.getOps<func::FuncOp>())
    for (Type type : func.getArgumentTypes())
      if (auto cache = dyn_cast<llm::KVCacheType>(type))
        return cache;
  return {};
}

std::string programLibraryName(const ParallelConfig &parallel, int64_t stage,
                               int64_t tpRank) {
  if (parallel.pp == 1 && parallel.tp == 1)
    return kHostLibraryName.str();
  return llvm::formatv("model.stage{0}.tp{1}.so", stage, tpRank).str();
}

llvm::json::Object describeProgram(ModuleOp program, int64_t stage,
                                   int64_t tpRank, llvm::StringRef library,
                                   llvm::StringRef packedWeights) {
  llvm::json::Array params;
  int64_t bytes = 0;
  bool packed = !packedWeights.empty();
  for (auto param : program.getOps<llm::ParamOp>()) {
    RankedTensorType type = param.getTensorType();
    llvm::json::Object entry{
        {"name", packed ? param.getSymName().str() : param.getSource().str()},
        {"dtype", storedDType(type.getElementType())},
        {"shape", shapeArray(type.getShape())}};
    std::optional<llvm::ArrayRef<int64_t>> offsets = param.getOffsets();
    if (offsets && !packed) {
      entry["offsets"] = shapeArray(*offsets);
      entry["stored_shape"] = shapeArray(*param.getSourceShape());
    }
    // Packed weights are written in the program's type.
    if (param.getStoredElementType() && !packed)
      entry["stored_dtype"] = storedDType(param.getStoredType());
    bytes += type.getNumElements() * type.getElementTypeBitWidth() / 8;
    params.push_back(std::move(entry));
  }
  llm::KVCacheType cache = kvCacheType(program);
  int64_t firstLayer = 0;
  if (auto pipeline =
          program->getAttrOfType<DictionaryAttr>("llm.pipeline"))
    if (auto first = pipeline.getAs<IntegerAttr>("first_layer"))
      firstLayer = first.getInt();
  bool logits = false;
  if (auto decode = program.lookupSymbol<func::FuncOp>("decode"))
    logits = llvm::any_of(decode.getFunctionType().getResults(),
                          [](Type type) { return isa<RankedTensorType>(type); });
  llvm::json::Object out{{"stage", stage},
                         {"tp_rank", tpRank},
                         {"library", library.str()},
                            {"first_layer", firstLayer},
                            {"num_layers", cache.getNumLayers()},
                            {"num_kv_heads", cache.getNumKVHeads()},
                            {"returns_logits", logits},
                         {"weight_bytes", bytes},
                         {"params", std::move(params)}};
  if (packed)
    out["weights"] = packedWeights.str();
  return out;
}

llvm::Error writePackedWeights(ModuleOp program, llmrt::WeightStore &store,
                               llvm::StringRef path) {
  // Header first: every tensor's dtype (the program's), shape and byte
  // range.
  SmallVector<std::pair<llmrt::TensorView, llmrt::DType>> tensors;
  llvm::json::Object header;
  uint64_t offset = 0;
  for (auto param : program.getOps<llm::ParamOp>()) {
    llmrt::TensorView view;
    if (llmrt::Status status = store.view(param.getSource(), view);
        !status.ok())
      return makeError(status.message());
    llvm::ArrayRef<int64_t> shape = param.getTensorType().getShape();
    if (std::optional<llvm::ArrayRef<int64_t>> offsets = param.getOffsets())
      for (auto [dim, start] : llvm::enumerate(*offsets))
        if (llmrt::Status status = view.slice(dim, start, shape[dim], view);
            !status.ok())
          return makeError("tensor '" + param.getSource() +
                           "': " + status.message());
    std::string dtype = storedDType(param.getTensorType().getElementType());
    std::optional<llmrt::DType> type = llmrt::parseDType(dtype);
    if (!type)
      return makeError("tensor '" + param.getSource() +
                       "': cannot pack an element type other than f32, f16 "
                       "or bf16");
    uint64_t bytes = view.numElements() * llmrt::dtypeSize(*type);
    header[param.getSymName()] = llvm::json::Object{
        {"dtype", dtype},
        {"shape", shapeArray(shape)},
        {"data_offsets", llvm::json::Array{static_cast<int64_t>(offset),
                                           static_cast<int64_t>(offset +
                                                                bytes)}}};
    offset += bytes;
    tensors.emplace_back(view, *type);
  }
  std::string text = llvm::formatv("{0}", llvm::json::Value(std::move(header)));
  text.append((8 - text.size() % 8) % 8, ' ');

  std::error_code error;
  llvm::raw_fd_ostream os(path, error);
  if (error)
    return makeError("cannot write " + path + ": " + error.message());
  uint64_t length = text.size();
  char prefix[8];
  for (int i = 0; i < 8; ++i)
    prefix[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  os.write(prefix, 8);
  os << text;
  std::vector<std::byte> buffer;
  for (auto &[view, type] : tensors) {
    buffer.resize(view.numElements() * llmrt::dtypeSize(type));
    view.copyAs(type, buffer.data());
    os.write(reinterpret_cast<const char *>(buffer.data()), buffer.size());
  }
  if (os.has_error())
    return makeError("cannot write " + path + ": " + os.error().message());
  return llvm::Error::success();
}

llvm::json::Object describeSchedule(const ParallelConfig &parallel) {
  int64_t pp = parallel.pp, m = parallel.microbatches;
  llvm::json::Array gpipe, oneForwardOneBackward;
  for (int64_t stage = 0; stage < pp; ++stage) {
    llvm::json::Array forward, interleaved;
    for (int64_t i = 0; i < m; ++i)
      forward.push_back(llvm::formatv("F{0}", i).str());
    // 1F1B: pp - 1 - stage warm-up forwards, then one forward and one
    // backward in turn, then the remaining backwards.
    int64_t warmup = std::min(pp - 1 - stage, m), f = 0, b = 0;
    for (; f < warmup; ++f)
      interleaved.push_back(llvm::formatv("F{0}", f).str());
    while (f < m) {
      interleaved.push_back(llvm::formatv("F{0}", f++).str());
      interleaved.push_back(llvm::formatv("B{0}", b++).str());
    }
    while (b < m)
      interleaved.push_back(llvm::formatv("B{0}", b++).str());
    gpipe.push_back(std::move(forward));
    oneForwardOneBackward.push_back(std::move(interleaved));
  }
  return llvm::json::Object{
      {"inference", llvm::json::Object{{"kind", "gpipe"},
                                       {"stages", std::move(gpipe)}}},
      {"training",
       llvm::json::Object{{"kind", "1f1b"},
                          {"stages", std::move(oneForwardOneBackward)}}},
      {"bubble_fraction", double(pp - 1) / double(m + pp - 1)}};
}

llvm::json::Value buildManifest(ModuleOp module, const ManifestInputs &inputs) {
  const ModelConfig &config = *inputs.config;
  const ParallelConfig &parallel = inputs.parallel;
  llvm::json::Array files;
  const std::vector<std::string> &paths = inputs.store->getFiles();
  for (size_t i = 0; i < paths.size(); ++i) {
    uint64_t bytes = 0;
    llvm::sys::fs::file_size(paths[i], bytes);
    files.push_back(llvm::json::Object{
        {"name", llvm::sys::path::filename(paths[i])},
        {"bytes", static_cast<int64_t>(bytes)},
        {"header_checksum",
         llvm::formatv("{0:x16}", inputs.store->getHeader(i).getChecksum())
             .str()}});
  }

  llm::KVCacheType cache = kvCacheType(module);
  return llvm::json::Object{
      {"format", "llmc-artifact"},
      {"format_version", kArtifactFormatVersion},
      {"compiler", inputs.compilerVersion},
      {"target", "cpu"},
      {"parallel", llvm::json::Object{{"dp", parallel.dp},
                                      {"tp", parallel.tp},
                                      {"pp", parallel.pp},
                                      {"world", parallel.world()},
                                      {"microbatches", parallel.microbatches},
                                      {"schedule", describeSchedule(parallel)}}},
      {"model",
       llvm::json::Object{{"model_type", config.modelType},
                          {"vocab_size", config.vocabSize},
                          {"hidden_size", config.hiddenSize},
                          {"num_layers", config.numLayers},
                          {"num_heads", config.numHeads},
                          {"num_kv_heads", config.numKVHeads},
                          {"head_dim", config.headDim},
                          {"dtype", computeDTypeName(cache.getElementType())},
                          {"max_seq_len", cache.getMaxSeqLen()},
                          {"max_batch", inputs.maxBatch}}},
      {"code", llvm::json::Object{{"prefill", "_mlir_ciface_prefill"},
                                  {"prefill_last", "_mlir_ciface_prefill_last"},
                                  {"decode", "_mlir_ciface_decode"},
                                  {"param_table", "__llmc_params"},
                                  {"collectives", "__llmc_runtime"}}},
      {"programs", llvm::json::Array(inputs.programs)},
      {"tokenizer", inputs.tokenizer.empty()
                        ? llvm::json::Value(nullptr)
                        : llvm::json::Value(inputs.tokenizer)},
      {"weights", llvm::json::Object{{"checkpoint", inputs.checkpointDir},
                                     {"files", std::move(files)}}},
  };
}

llvm::Error writeJsonFile(llvm::StringRef path, const llvm::json::Value &value) {
  std::error_code error;
  llvm::raw_fd_ostream os(path, error);
  if (error)
    return makeError("cannot write " + path + ": " + error.message());
  os << llvm::formatv("{0:2}", value) << "\n";
  return llvm::Error::success();
}

llvm::Error writeArtifactDirectory(
    llvm::StringRef out,
    llvm::function_ref<llvm::Error(llvm::StringRef)> writeFiles) {
  // Absolute, so the temporary directory is created next to it (a relative
  // prefix would put it in the system's temporary directory).
  llvm::SmallString<256> outDir(out);
  if (std::error_code error = llvm::sys::fs::make_absolute(outDir))
    return makeError("cannot resolve " + out + ": " + error.message());
  llvm::SmallString<256> temp;
  if (std::error_code error = llvm::sys::fs::createUniqueDirectory(
          outDir + ".tmp", temp))
    return makeError("cannot create a directory next to " + outDir + ": " +
                     error.message());
  auto discard = [&](llvm::Error error) {
    llvm::sys::fs::remove_directories(temp);
    return error;
  };
  if (llvm::Error error = writeFiles(temp))
    return discard(std::move(error));

  // Replace an older artifact: move it aside, move the new one in, drop it.
  llvm::SmallString<256> old;
  if (llvm::sys::fs::exists(outDir)) {
    if (!llvm::sys::fs::is_directory(outDir) ||
        !llvm::sys::fs::exists(outDir + "/manifest.json"))
      return discard(makeError(outDir + " exists and is not an llmc artifact; "
                                        "not replacing it"));
    old = (outDir + ".old").str();
    llvm::sys::fs::remove_directories(old);
    if (std::error_code error = llvm::sys::fs::rename(outDir, old))
      return discard(makeError("cannot replace " + outDir + ": " +
                               error.message()));
  }
  if (std::error_code error = llvm::sys::fs::rename(temp, outDir))
    return discard(makeError("cannot create " + outDir + ": " +
                             error.message()));
  if (!old.empty())
    llvm::sys::fs::remove_directories(old);
  return llvm::Error::success();
}

} // namespace llmc
