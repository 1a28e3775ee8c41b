//===- HFImporter.cpp - Hugging Face checkpoint folder to llm -------------===//

#include "llmc/Import/HFImporter.h"
#include "llmc/Support/Error.h"

#include "ForwardBuilder.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace llmc {

void registerImportDialects(DialectRegistry &registry) {
  registry.insert<llm::LLMDialect, func::FuncDialect, arith::ArithDialect,
                  tensor::TensorDialect>();
}

static FloatType toFloatType(FloatDType dtype, MLIRContext *context) {
  switch (dtype) {
  case FloatDType::F32:
    return FloatType::getF32(context);
  case FloatDType::F16:
    return FloatType::getF16(context);
  case FloatDType::BF16:
    return FloatType::getBF16(context);
  }
  llvm_unreachable("unknown dtype");
}

/// Adds the public entry points around @forward: prefill over prompts of any
/// length and decode of one token per row.
static void addEntryPoints(ModuleOp module, func::FuncOp forward) {
  OpBuilder builder(module.getContext());
  builder.setInsertionPointToEnd(module.getBody());
  Location loc = forward.getLoc();
  FunctionType type = forward.getFunctionType();
  auto ids = cast<RankedTensorType>(type.getInput(0));
  auto logits = cast<RankedTensorType>(type.getResult(0));
  auto withSeq = [](RankedTensorType t, int64_t seq) {
    SmallVector<int64_t> shape(t.getShape());
    shape[1] = seq;
    return RankedTensorType::get(shape, t.getElementType());
  };

  for (auto [name, seq] : {std::pair<StringRef, int64_t>{"prefill",
                                                         ShapedType::kDynamic},
                           {"decode", 1}}) {
    auto inputs = SmallVector<Type>(type.getInputs());
    inputs[0] = withSeq(ids, seq);
    auto results = SmallVector<Type>(type.getResults());
    results[0] = withSeq(logits, seq);
    auto func = builder.create<func::FuncOp>(
        loc, name, builder.getFunctionType(inputs, results));
    OpBuilder::InsertionGuard guard(builder);
    Block *entry = func.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    SmallVector<Value> args(entry->getArguments());
    if (inputs[0] != ids)
      args[0] = builder.create<tensor::CastOp>(loc, ids, args[0]);
    auto call = builder.create<func::CallOp>(loc, forward, args);
    SmallVector<Value> outs(call.getResults());
    if (results[0] != logits)
      outs[0] = builder.create<tensor::CastOp>(loc, results[0], outs[0]);
    builder.create<func::ReturnOp>(loc, outs);
  }
}

llvm::Error openWeightStore(StringRef dir, llmrt::WeightStore &store) {
  if (llmrt::Status status = llmrt::WeightStore::open(dir.str(), store);
      !status.ok())
    return makeError(status.message());
  return llvm::Error::success();
}

FloatDType computeTypeOf(const ImportOptions &options,
                         const ModelConfig &config) {
  return options.dtype.value_or(config.dtype.value_or(FloatDType::F32));
}

llvm::Expected<OwningOpRef<ModuleOp>>
importHuggingFace(StringRef dir, const ImportOptions &options,
                  MLIRContext *context) {
  llvm::Expected<ModelConfig> config = readModelConfig(dir);
  if (!config)
    return config.takeError();
  llmrt::WeightStore store;
  if (llvm::Error error = openWeightStore(dir, store))
    return std::move(error);
  return importHuggingFace(dir, *config, store, options, context);
}

llvm::Expected<OwningOpRef<ModuleOp>>
importHuggingFace(StringRef dir, const ModelConfig &config,
                  const llmrt::WeightStore &store,
                  const ImportOptions &options, MLIRContext *context) {
  int64_t maxSeq = options.maxSeqLen.value_or(config.maxPositions);
  if (maxSeq <= 0 || maxSeq > config.maxPositions)
    return makeError(llvm::formatv(
        "--max-seq-len: expected 1 to the model's max_position_embeddings "
        "({0}), found {1}",
        config.maxPositions, maxSeq));

  for (StringRef name : {"llm", "func", "arith", "tensor"})
    context->getOrLoadDialect(name);
  FloatType computeType = toFloatType(computeTypeOf(options, config), context);

  SmallString<256> configPath(dir);
  llvm::sys::path::append(configPath, "config.json");
  Location loc = FileLineColLoc::get(context, configPath, 1, 1);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder builder(context);
  (*module)->setAttr("llm.model_type",
                     builder.getStringAttr(config.modelType));

  auto dynamic = ShapedType::kDynamic;
  auto cacheType = llm::KVCacheType::get(context, config.numLayers, dynamic,
                                         maxSeq, config.numKVHeads,
                                         config.headDim, computeType);
  Type ids = RankedTensorType::get({dynamic, dynamic}, builder.getI32Type());
  Type positions = RankedTensorType::get({dynamic}, builder.getI64Type());
  Type logits = RankedTensorType::get({dynamic, dynamic, config.vocabSize},
                                      computeType);
  builder.setInsertionPointToEnd(module->getBody());
  auto forward = builder.create<func::FuncOp>(
      loc, "forward",
      builder.getFunctionType({ids, positions, cacheType},
                              {logits, cacheType}));
  forward.setPrivate();

  ForwardBuilder body(config, store, *module, forward, computeType);
  Value result;
  if (config.family == ModelFamily::GPT2)
    result = buildGPT2Forward(
        body, store.find("transformer.wte.weight").info ? "transformer." : "");
  else
    result = buildLlamaForward(body);
  body.builder.create<func::ReturnOp>(loc, ValueRange{result, body.cache});
  if (llvm::Error error = body.takeError())
    return std::move(error);

  addEntryPoints(*module, forward);
  if (failed(verify(*module)))
    return makeError(dir + ": internal error: the imported module does not "
                           "verify");
  return module;
}

} // namespace llmc
