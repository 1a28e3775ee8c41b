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

/// A tensor type like `type` with dimension 1 set to `size`.
static RankedTensorType withSeq(RankedTensorType type, int64_t size) {
  SmallVector<int64_t> shape(type.getShape());
  shape[1] = size;
  return RankedTensorType::get(shape, type.getElementType());
}

/// Adds the public entry points: prefill over prompts of any length (logits
/// of every position), prefill_last (logits of position last[b] of each row
/// only) and decode of one token per row.
static void addEntryPoints(ModuleOp module, func::FuncOp forward,
                           func::FuncOp head) {
  OpBuilder builder(module.getContext());
  builder.setInsertionPointToEnd(module.getBody());
  Location loc = forward.getLoc();
  FunctionType type = forward.getFunctionType();
  auto ids = cast<RankedTensorType>(type.getInput(0));
  Type positions = type.getInput(1), cache = type.getInput(2);
  auto logits = cast<RankedTensorType>(head.getFunctionType().getResult(0));
  auto hidden = cast<RankedTensorType>(type.getResult(0));
  int64_t dynamic = ShapedType::kDynamic;

  struct Entry {
    StringRef name;
    int64_t seq;
    bool last;
  };
  for (Entry entry : {Entry{"prefill", dynamic, false},
                      Entry{"prefill_last", dynamic, true},
                      Entry{"decode", 1, false}}) {
    SmallVector<Type> inputs = {withSeq(ids, entry.seq), positions};
    if (entry.last)
      inputs.push_back(positions);
    inputs.push_back(cache);
    RankedTensorType result = withSeq(logits, entry.last ? 1 : entry.seq);
    auto func = builder.create<func::FuncOp>(
        loc, entry.name, builder.getFunctionType(inputs, {result, cache}));
    OpBuilder::InsertionGuard guard(builder);
    Block *block = func.addEntryBlock();
    builder.setInsertionPointToStart(block);
    Value tokens = block->getArgument(0);
    if (tokens.getType() != ids)
      tokens = builder.create<tensor::CastOp>(loc, ids, tokens);
    auto step = builder.create<func::CallOp>(
        loc, forward,
        ValueRange{tokens, block->getArgument(1), block->getArguments().back()});
    Value states = step.getResult(0);
    if (entry.last)
      states = builder.create<tensor::CastOp>(
          loc, hidden,
          builder.create<llm::SelectTokensOp>(loc, states,
                                              block->getArgument(2)));
    Value out = builder.create<func::CallOp>(loc, head, states).getResult(0);
    if (out.getType() != result)
      out = builder.create<tensor::CastOp>(loc, result, out);
    builder.create<func::ReturnOp>(loc, ValueRange{out, step.getResult(1)});
  }
}

llvm::Error openWeightStore(StringRef dir, llmrt::WeightStore &store) {
  if (llmrt::Status status = llmrt::WeightStore::open(dir.str(), store);
      !status.ok())
    return makeError(status.message());
  return llvm::Error::success();
}

/// The compute type `options` and `config` select.
static FloatDType computeTypeOf(const ImportOptions &options,
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
  Type hidden = RankedTensorType::get({dynamic, dynamic, config.hiddenSize},
                                      computeType);
  builder.setInsertionPointToEnd(module->getBody());
  auto forward = builder.create<func::FuncOp>(
      loc, "forward",
      builder.getFunctionType({ids, positions, cacheType},
                              {hidden, cacheType}));
  forward.setPrivate();

  ForwardBuilder body(config, store, *module, forward, computeType);
  ForwardResult result =
      config.family == ModelFamily::GPT2
          ? buildGPT2Forward(body, store.find("transformer.wte.weight").info
                                       ? "transformer."
                                       : "")
          : buildLlamaForward(body);
  body.builder.create<func::ReturnOp>(loc,
                                      ValueRange{result.hidden, body.cache});
  func::FuncOp head = body.buildHeadFunction(result.head);
  if (llvm::Error error = body.takeError())
    return std::move(error);

  addEntryPoints(*module, forward, head);
  if (failed(verify(*module)))
    return makeError(dir + ": internal error: the imported module does not "
                           "verify");
  return module;
}

} // namespace llmc
