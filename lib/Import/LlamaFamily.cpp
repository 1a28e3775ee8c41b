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

Value buildLlamaForward(ForwardBuilder &forward) {
  const ModelConfig &config = forward.config;
  OpBuilder &builder = forward.builder;
  Location loc = forward.loc;
  int64_t hidden = config.hiddenSize;
  int64_t qWidth = config.numHeads * config.headDim;
  int64_t kvWidth = config.numKVHeads * config.headDim;
  int64_t mlpWidth = config.intermediateSize;
  auto rmsNorm = [&](Value x, const std::string &weight) {
    return builder.create<llm::RMSNormOp>(
        loc, x.getType(), x, forward.param(weight, {hidden}),
        builder.getF64FloatAttr(config.normEpsilon));
  };

  Value table = forward.param("model.embed_tokens.weight",
                              {config.vocabSize, hidden});
  Value h = builder.create<llm::EmbeddingOp>(loc, table, forward.ids);
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    std::string prefix = "model.layers." + std::to_string(layer);
    std::string attn = prefix + ".self_attn";
    std::string mlp = prefix + ".mlp";

    Value x = rmsNorm(h, prefix + ".input_layernorm.weight");
    Value q = forward.linear(x, attn + ".q_proj", hidden, qWidth,
                             config.qkvBias);
    Value k = forward.linear(x, attn + ".k_proj", hidden, kvWidth,
                             config.qkvBias);
    Value v = forward.linear(x, attn + ".v_proj", hidden, kvWidth,
                             config.qkvBias);
    Value a = forward.attention(q, k, v, layer, /*rotary=*/true);
    Value o = forward.linear(a, attn + ".o_proj", qWidth, hidden,
                             config.outputBias);
    Value r = builder.create<llm::AddOp>(loc, h, o);

    Value y = rmsNorm(r, prefix + ".post_attention_layernorm.weight");
    Value gate = forward.linear(y, mlp + ".gate_proj", hidden, mlpWidth,
                                config.mlpBias);
    Value up = forward.linear(y, mlp + ".up_proj", hidden, mlpWidth,
                              config.mlpBias);
    Value gated = builder.create<llm::MulOp>(
        loc, builder.create<llm::SiluOp>(loc, gate), up);
    Value down = forward.linear(gated, mlp + ".down_proj", mlpWidth, hidden,
                                config.mlpBias);
    h = builder.create<llm::AddOp>(loc, r, down);
  }
  Value normed = rmsNorm(h, "model.norm.weight");
  StringRef head =
      config.tieWordEmbeddings ? "model.embed_tokens" : "lm_head";
  return forward.linear(normed, head, hidden, config.vocabSize,
                        /*bias=*/false);
}

} // namespace llmc
