//===- LlamaFamily.cpp - Llama, Mistral and Qwen2 layers ------------------===//
//
// Pre-norm decoder layers with RMSNorm, rotary attention with grouped KV
// heads, and the gated SiLU MLP, named as transformers' LlamaForCausalLM,
// MistralForCausalLM and Qwen2ForCausalLM save them.
//
//===----------------------------------------------------------------------===//

#include "ForwardBuilder.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

using namespace mlir;

namespace llmc {

/// One decoder layer inside @layer; weight names are relative to
/// "model.layers.<i>".
static Value buildLlamaLayer(ForwardBuilder &forward, Value h) {
  const ModelConfig &config = forward.config;
  OpBuilder &builder = forward.builder;
  Location loc = forward.loc;
  int64_t hidden = config.hiddenSize;
  int64_t qWidth = config.numHeads * config.headDim;
  int64_t kvWidth = config.numKVHeads * config.headDim;
  int64_t mlpWidth = config.intermediateSize;
  auto rmsNorm = [&](Value x, StringRef weight) {
    return builder.create<llm::RMSNormOp>(
        loc, x.getType(), x, forward.weight(weight, {hidden}),
        builder.getF64FloatAttr(config.normEpsilon));
  };

  Value x = rmsNorm(h, ".input_layernorm.weight");
  Value q = forward.linear(x, ".self_attn.q_proj", hidden, qWidth,
                           config.qkvBias);
  Value k = forward.linear(x, ".self_attn.k_proj", hidden, kvWidth,
                           config.qkvBias);
  Value v = forward.linear(x, ".self_attn.v_proj", hidden, kvWidth,
                           config.qkvBias);
  Value a = forward.attention(q, k, v, /*rotary=*/true);
  Value o = forward.linear(a, ".self_attn.o_proj", qWidth, hidden,
                           config.outputBias);
  Value r = builder.create<llm::AddOp>(loc, h, o);

  Value y = rmsNorm(r, ".post_attention_layernorm.weight");
  Value gate = forward.linear(y, ".mlp.gate_proj", hidden, mlpWidth,
                              config.mlpBias);
  Value up =
      forward.linear(y, ".mlp.up_proj", hidden, mlpWidth, config.mlpBias);
  Value gated = builder.create<llm::MulOp>(
      loc, builder.create<llm::SiluOp>(loc, gate), up);
  Value down = forward.linear(gated, ".mlp.down_proj", mlpWidth, hidden,
                              config.mlpBias);
  return builder.create<llm::AddOp>(loc, r, down);
}

ForwardResult buildLlamaForward(ForwardBuilder &forward) {
  const ModelConfig &config = forward.config;
  OpBuilder &builder = forward.builder;
  Location loc = forward.loc;
  int64_t hidden = config.hiddenSize;

  Value table =
      forward.weight("model.embed_tokens.weight", {config.vocabSize, hidden});
  Value h = builder.create<llm::EmbeddingOp>(loc, table, forward.ids);
  forward.buildLayerFunction(
      [&](Value input) { return buildLlamaLayer(forward, input); });
  for (int64_t layer = 0; layer < config.numLayers; ++layer)
    h = forward.callLayer(h, layer, "model.layers." + std::to_string(layer));
  Value normed = builder.create<llm::RMSNormOp>(
      loc, h.getType(), h, forward.weight("model.norm.weight", {hidden}),
      builder.getF64FloatAttr(config.normEpsilon));
  return {normed,
          config.tieWordEmbeddings ? "model.embed_tokens" : "lm_head"};
}

} // namespace llmc
