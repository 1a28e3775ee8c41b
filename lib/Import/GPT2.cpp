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

Value buildGPT2Forward(ForwardBuilder &forward, StringRef prefix) {
  const ModelConfig &config = forward.config;
  OpBuilder &builder = forward.builder;
  Location loc = forward.loc;
  int64_t hidden = config.hiddenSize;
  int64_t mlpWidth = config.intermediateSize;
  auto layerNorm = [&](Value x, const std::string &name) {
    return builder.create<llm::LayerNormOp>(
        loc, x.getType(), x, forward.param(name + ".weight", {hidden}),
        forward.param(name + ".bias", {hidden}),
        builder.getF64FloatAttr(config.normEpsilon));
  };
  auto conv1d = [&](Value x, const std::string &name, int64_t in,
                    int64_t out) {
    return forward.linear(x, name, in, out, /*bias=*/true,
                          /*weightInOut=*/true);
  };

  std::string wte = (prefix + "wte").str();
  Value tokens = builder.create<llm::EmbeddingOp>(
      loc, forward.param(wte + ".weight", {config.vocabSize, hidden}),
      forward.ids);
  Value positionIds =
      builder.create<llm::PositionIdsOp>(loc, forward.positions, forward.ids);
  Value positions = builder.create<llm::EmbeddingOp>(
      loc,
      forward.param((prefix + "wpe.weight").str(),
                    {config.maxPositions, hidden}),
      positionIds);
  Value h = builder.create<llm::AddOp>(loc, tokens, positions);

  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    std::string block = (prefix + "h." + std::to_string(layer)).str();
    Value x = layerNorm(h, block + ".ln_1");
    Value qkv = conv1d(x, block + ".attn.c_attn", hidden, 3 * hidden);
    Type part = forward.activationType(hidden);
    auto split = builder.create<llm::SplitOp>(
        loc, TypeRange{part, part, part}, qkv);
    Value a = forward.attention(split.getResult(0), split.getResult(1),
                                split.getResult(2), layer, /*rotary=*/false);
    Value o = conv1d(a, block + ".attn.c_proj", hidden, hidden);
    Value r = builder.create<llm::AddOp>(loc, h, o);

    Value y = layerNorm(r, block + ".ln_2");
    Value up = conv1d(y, block + ".mlp.c_fc", hidden, mlpWidth);
    auto approximation = config.activation == Activation::GeluTanh
                             ? llm::GeluApproximation::tanh
                             : llm::GeluApproximation::erf;
    Value act = builder.create<llm::GeluOp>(loc, up.getType(), approximation,
                                            up);
    Value down = conv1d(act, block + ".mlp.c_proj", mlpWidth, hidden);
    h = builder.create<llm::AddOp>(loc, r, down);
  }
  Value normed = layerNorm(h, (prefix + "ln_f").str());
  std::string head = config.tieWordEmbeddings ? wte : "lm_head";
  return forward.linear(normed, head, hidden, config.vocabSize,
                        /*bias=*/false);
}

} // namespace llmc
