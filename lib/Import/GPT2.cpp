//===- GPT2.cpp - GPT-2 layers --------------------------------------------===//
//
// Pre-norm decoder layers with LayerNorm, learned positions, a fused c_attn
// projection, and a GELU MLP; weights in Conv1D (in x out) layout, named as
// transformers' GPT2LMHeadModel saves them (with or without "transformer.").
//
//===----------------------------------------------------------------------===//

#include "ForwardBuilder.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

using namespace mlir;

namespace llmc {

/// LayerNorm with weight and bias `<name>.weight`, `<name>.bias`.
static Value layerNorm(ForwardBuilder &forward, Value x, StringRef name) {
  int64_t hidden = forward.config.hiddenSize;
  return forward.builder.create<llm::LayerNormOp>(
      forward.loc, x.getType(), x,
      forward.weight((name + ".weight").str(), {hidden}),
      forward.weight((name + ".bias").str(), {hidden}),
      forward.builder.getF64FloatAttr(forward.config.normEpsilon));
}

/// One GPT-2 block inside @layer; weight names are relative to "h.<i>".
static Value buildGPT2Layer(ForwardBuilder &forward, Value h) {
  const ModelConfig &config = forward.config;
  OpBuilder &builder = forward.builder;
  Location loc = forward.loc;
  int64_t hidden = config.hiddenSize;
  int64_t mlpWidth = config.intermediateSize;
  auto conv1d = [&](Value x, StringRef name, int64_t in, int64_t out) {
    return forward.linear(x, name, in, out, /*bias=*/true,
                          /*weightInOut=*/true);
  };

  Value x = layerNorm(forward, h, ".ln_1");
  Value qkv = conv1d(x, ".attn.c_attn", hidden, 3 * hidden);
  Type part = forward.activationType(hidden);
  auto split =
      builder.create<llm::SplitOp>(loc, TypeRange{part, part, part}, qkv);
  Value a = forward.attention(split.getResult(0), split.getResult(1),
                              split.getResult(2), /*rotary=*/false);
  Value o = conv1d(a, ".attn.c_proj", hidden, hidden);
  Value r = builder.create<llm::AddOp>(loc, h, o);

  Value y = layerNorm(forward, r, ".ln_2");
  Value up = conv1d(y, ".mlp.c_fc", hidden, mlpWidth);
  auto approximation = config.activation == Activation::GeluTanh
                           ? llm::GeluApproximation::tanh
                           : llm::GeluApproximation::erf;
  Value act =
      builder.create<llm::GeluOp>(loc, up.getType(), approximation, up);
  Value down = conv1d(act, ".mlp.c_proj", mlpWidth, hidden);
  return builder.create<llm::AddOp>(loc, r, down);
}

ForwardResult buildGPT2Forward(ForwardBuilder &forward, StringRef prefix) {
  const ModelConfig &config = forward.config;
  OpBuilder &builder = forward.builder;
  Location loc = forward.loc;
  int64_t hidden = config.hiddenSize;

  std::string wte = (prefix + "wte").str();
  Value tokens = builder.create<llm::EmbeddingOp>(
      loc, forward.weight(wte + ".weight", {config.vocabSize, hidden}),
      forward.ids);
  Value positionIds =
      builder.create<llm::PositionIdsOp>(loc, forward.positions, forward.ids);
  Value positions = builder.create<llm::EmbeddingOp>(
      loc,
      forward.weight((prefix + "wpe.weight").str(),
                     {config.maxPositions, hidden}),
      positionIds);
  Value h = builder.create<llm::AddOp>(loc, tokens, positions);

  forward.buildLayerFunction(
      [&](Value input) { return buildGPT2Layer(forward, input); });
  for (int64_t layer = 0; layer < config.numLayers; ++layer)
    h = forward.callLayer(h, layer, (prefix + "h." + Twine(layer)).str());
  Value normed = layerNorm(forward, h, (prefix + "ln_f").str());
  return {normed, config.tieWordEmbeddings ? wte : "lm_head"};
}

} // namespace llmc
