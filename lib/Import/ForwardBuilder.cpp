//===- ForwardBuilder.cpp - Building a model's forward function -----------===//

#include "ForwardBuilder.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

namespace llmc {

ForwardBuilder::ForwardBuilder(const ModelConfig &config,
                               const llmrt::WeightStore &store,
                               ModuleOp module, func::FuncOp forward,
                               FloatType computeType)
    : config(config), builder(forward.getContext()), loc(forward.getLoc()),
      computeType(computeType), store(store), module(module),
      paramBuilder(forward.getContext()) {
  Block *entry = forward.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  ids = entry->getArgument(0);
  positions = entry->getArgument(1);
  cache = entry->getArgument(2);
}

void ForwardBuilder::fail(const std::string &message) {
  if (!error)
    error = message;
}

/// The MLIR type of a stored dtype the importer accepts, or null.
static FloatType storedFloatType(llmrt::DType dtype, MLIRContext *context) {
  switch (dtype) {
  case llmrt::DType::F32:
    return FloatType::getF32(context);
  case llmrt::DType::F16:
    return FloatType::getF16(context);
  case llmrt::DType::BF16:
    return FloatType::getBF16(context);
  default:
    return nullptr;
  }
}

Value ForwardBuilder::param(StringRef name, ArrayRef<int64_t> shape) {
  std::vector<int64_t> expected(shape.begin(), shape.end());
  std::string expectedShape = llmrt::formatShape(expected);
  FloatType storedType = computeType;
  llmrt::WeightStore::Entry entry = store.find(name);
  if (!entry.info) {
    fail(llvm::formatv("{0}: missing tensor '{1}' (a {2} model with {3} "
                       "layers expects shape {4})",
                       store.getSourcePath(), name, config.modelType,
                       config.numLayers, expectedShape));
  } else if (entry.info->shape != expected) {
    fail(llvm::formatv("{0}: tensor '{1}': expected shape {2}, found {3}",
                       *entry.path, name, expectedShape,
                       llmrt::formatShape(entry.info->shape)));
  } else if (FloatType type = storedFloatType(entry.info->dtype,
                                              builder.getContext())) {
    storedType = type;
  } else {
    fail(llvm::formatv("{0}: tensor '{1}': expected dtype F32, F16 or BF16, "
                       "found {2}",
                       *entry.path, name, llmrt::dtypeName(entry.info->dtype)));
  }

  // Declared in the compute type: a checkpoint of another float type is
  // converted once, by the runtime as it loads the weights.
  auto type = RankedTensorType::get(shape, computeType);
  auto [it, inserted] = declared.try_emplace(name, type);
  if (inserted) {
    // Declarations stay together, before the first function.
    paramBuilder.setInsertionPoint(*module.getOps<func::FuncOp>().begin());
    paramBuilder.create<llm::ParamOp>(
        loc, builder.getStringAttr(name), TypeAttr::get(type),
        builder.getStringAttr(name), /*offsets=*/DenseI64ArrayAttr(),
        /*source_shape=*/DenseI64ArrayAttr(),
        storedType == computeType ? TypeAttr() : TypeAttr::get(storedType),
        /*sym_visibility=*/StringAttr());
  }
  return builder.create<llm::GetParamOp>(
      loc, it->second, FlatSymbolRefAttr::get(builder.getContext(), name));
}

Value ForwardBuilder::weight(StringRef name, ArrayRef<int64_t> shape) {
  if (!inLayer)
    return param(name, shape);
  layerWeights.emplace_back(name.str(), SmallVector<int64_t>(shape));
  Block &entry = layerFunction.getBody().front();
  return entry.addArgument(RankedTensorType::get(shape, computeType), loc);
}

void ForwardBuilder::buildLayerFunction(function_ref<Value(Value)> body) {
  MLIRContext *context = builder.getContext();
  Type hidden = activationType(config.hiddenSize);
  Type types[] = {hidden, positions.getType(), cache.getType(),
                  builder.getIndexType()};
  OpBuilder::InsertionGuard guard(builder);
  // Callees before callers: bufferization then drops the cache results of
  // @layer before it looks at @forward's, in one pass.
  builder.setInsertionPoint(builder.getBlock()->getParentOp());
  layerFunction = builder.create<func::FuncOp>(
      loc, "layer", FunctionType::get(context, types, {hidden, cache.getType()}));
  layerFunction.setPrivate();
  Block *entry = layerFunction.addEntryBlock();
  builder.setInsertionPointToStart(entry);

  Value savedPositions = positions, savedCache = cache;
  positions = entry->getArgument(1);
  cache = entry->getArgument(2);
  layer = entry->getArgument(3);
  inLayer = true;
  Value result = body(entry->getArgument(0));
  builder.create<func::ReturnOp>(loc, ValueRange{result, cache});
  inLayer = false;
  layerFunction.setFunctionType(FunctionType::get(
      context, entry->getArgumentTypes(), {hidden, cache.getType()}));
  positions = savedPositions;
  cache = savedCache;
  layer = Value();
}

Value ForwardBuilder::callLayer(Value h, int64_t index, StringRef prefix) {
  SmallVector<Value> operands = {
      h, positions, cache,
      builder.create<arith::ConstantIndexOp>(loc, index).getResult()};
  for (const auto &[name, shape] : layerWeights)
    operands.push_back(param((prefix + name).str(), shape));
  auto call = builder.create<func::CallOp>(loc, layerFunction, operands);
  cache = call.getResult(1);
  return call.getResult(0);
}

func::FuncOp ForwardBuilder::buildHeadFunction(StringRef prefix) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(builder.getBlock()->getParentOp());
  Type hidden = activationType(config.hiddenSize);
  Type logits = activationType(config.vocabSize);
  auto head = builder.create<func::FuncOp>(
      loc, "head", builder.getFunctionType(hidden, logits));
  head.setPrivate();
  Block *entry = head.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  Value result = linear(entry->getArgument(0), prefix, config.hiddenSize,
                        config.vocabSize, /*bias=*/false);
  builder.create<func::ReturnOp>(loc, result);
  return head;
}

Value ForwardBuilder::linear(Value x, StringRef prefix, int64_t in,
                             int64_t out, bool bias, bool weightInOut) {
  SmallVector<int64_t, 2> shape =
      weightInOut ? SmallVector<int64_t, 2>{in, out}
                  : SmallVector<int64_t, 2>{out, in};
  Value matrix = weight((prefix + ".weight").str(), shape);
  Value biasValue = bias ? weight((prefix + ".bias").str(), {out}) : Value();
  return builder.create<llm::LinearOp>(loc, x, matrix, biasValue,
                                       weightInOut);
}

Value ForwardBuilder::attention(Value q, Value k, Value v, bool rotary) {
  Value qh = builder.create<llm::SplitHeadsOp>(loc, q, config.numHeads);
  Value kh = builder.create<llm::SplitHeadsOp>(loc, k, config.numKVHeads);
  Value vh = builder.create<llm::SplitHeadsOp>(loc, v, config.numKVHeads);
  if (rotary) {
    MLIRContext *context = builder.getContext();
    llm::RopeScalingAttr scaling;
    auto f64 = [&](double value) { return builder.getF64FloatAttr(value); };
    if (config.ropeScaling == RopeScaling::Linear)
      scaling = llm::RopeScalingAttr::get(
          context, llm::RopeScalingKind::linear, f64(config.ropeFactor),
          nullptr, nullptr, std::nullopt);
    else if (config.ropeScaling == RopeScaling::Llama3)
      scaling = llm::RopeScalingAttr::get(
          context, llm::RopeScalingKind::llama3, f64(config.ropeFactor),
          f64(config.ropeLowFreqFactor), f64(config.ropeHighFreqFactor),
          config.ropeOriginalMaxPositions);
    auto rope = [&](Value x) {
      return builder.create<llm::RopeOp>(loc, x.getType(), x, positions,
                                         f64(config.ropeTheta),
                                         /*rotary_dim=*/nullptr, scaling);
    };
    qh = rope(qh);
    kh = rope(kh);
  }
  cache = builder.create<llm::KVCacheUpdateOp>(loc, cache.getType(), cache,
                                               layer, kh, vh, positions);
  auto read = builder.create<llm::KVCacheReadOp>(loc, cache, layer);
  auto attention = builder.create<llm::AttentionOp>(
      loc, qh, read.getKeys(), read.getValues(), positions, /*causal=*/true);
  if (config.slidingWindow)
    attention.setSlidingWindow(*config.slidingWindow);
  return builder.create<llm::MergeHeadsOp>(loc, attention);
}

RankedTensorType ForwardBuilder::activationType(int64_t width) const {
  return RankedTensorType::get({ShapedType::kDynamic, ShapedType::kDynamic,
                                width},
                               computeType);
}

/// Tensors checkpoints carry that are not parameters: rotary and mask
/// buffers of older transformers versions, and a tied head saved anyway.
static bool isKnownBuffer(StringRef name, const ModelConfig &config) {
  return name.ends_with("rotary_emb.inv_freq") ||
         (config.family == ModelFamily::GPT2 &&
          (name.ends_with(".attn.bias") ||
           name.ends_with(".attn.masked_bias"))) ||
         (config.tieWordEmbeddings && name == "lm_head.weight");
}

llvm::Error ForwardBuilder::takeError() {
  if (!error) {
    for (const std::string &name : store.getNames()) {
      if (declared.count(name) || isKnownBuffer(name, config))
        continue;
      llmrt::WeightStore::Entry entry = store.find(name);
      fail(llvm::formatv("{0}: unexpected tensor '{1}' {2}: a {3} model with "
                         "{4} layers has no such parameter",
                         *entry.path, name,
                         llmrt::formatShape(entry.info->shape),
                         config.modelType, config.numLayers));
      break;
    }
  }
  if (!error)
    return llvm::Error::success();
  return llvm::createStringError(llvm::inconvertibleErrorCode(), *error);
}

} // namespace llmc
