// A 2-layer Llama-style model written by hand in the llm dialect: hidden 64,
// 4 query heads and 2 KV heads of 16 (grouped-query attention), MLP 128,
// vocabulary 256, rope theta 10000, KV cache of 128 positions.
//
//   llmc explain examples/llama-2layer/model.mlir

!cache = !llm.kv_cache<2x?x128x2x16xf32>

module {
  llm.param @embed_tokens : tensor<256x64xf32> from "model.embed_tokens.weight"
  llm.param @layers.0.input_layernorm : tensor<64xf32> from "model.layers.0.input_layernorm.weight"
  llm.param @layers.0.q_proj : tensor<64x64xf32> from "model.layers.0.self_attn.q_proj.weight"
  llm.param @layers.0.k_proj : tensor<32x64xf32> from "model.layers.0.self_attn.k_proj.weight"
  llm.param @layers.0.v_proj : tensor<32x64xf32> from "model.layers.0.self_attn.v_proj.weight"
  llm.param @layers.0.o_proj : tensor<64x64xf32> from "model.layers.0.self_attn.o_proj.weight"
  llm.param @layers.0.post_attention_layernorm : tensor<64xf32> from "model.layers.0.post_attention_layernorm.weight"
  llm.param @layers.0.gate_proj : tensor<128x64xf32> from "model.layers.0.mlp.gate_proj.weight"
  llm.param @layers.0.up_proj : tensor<128x64xf32> from "model.layers.0.mlp.up_proj.weight"
  llm.param @layers.0.down_proj : tensor<64x128xf32> from "model.layers.0.mlp.down_proj.weight"
  llm.param @layers.1.input_layernorm : tensor<64xf32> from "model.layers.1.input_layernorm.weight"
  llm.param @layers.1.q_proj : tensor<64x64xf32> from "model.layers.1.self_attn.q_proj.weight"
  llm.param @layers.1.k_proj : tensor<32x64xf32> from "model.layers.1.self_attn.k_proj.weight"
  llm.param @layers.1.v_proj : tensor<32x64xf32> from "model.layers.1.self_attn.v_proj.weight"
  llm.param @layers.1.o_proj : tensor<64x64xf32> from "model.layers.1.self_attn.o_proj.weight"
  llm.param @layers.1.post_attention_layernorm : tensor<64xf32> from "model.layers.1.post_attention_layernorm.weight"
  llm.param @layers.1.gate_proj : tensor<128x64xf32> from "model.layers.1.mlp.gate_proj.weight"
  llm.param @layers.1.up_proj : tensor<128x64xf32> from "model.layers.1.mlp.up_proj.weight"
  llm.param @layers.1.down_proj : tensor<64x128xf32> from "model.layers.1.mlp.down_proj.weight"
  llm.param @norm : tensor<64xf32> from "model.norm.weight"
  llm.param @lm_head : tensor<256x64xf32> from "lm_head.weight"

  // One step of the model over a chunk of tokens: the whole prompt (prefill)
  // or one new token per row (decode). Token s of row b is at positions[b] + s.
  func.func private @forward(%ids: tensor<?x?xi32>, %positions: tensor<?xi64>,
                             %cache: !cache) -> (tensor<?x?x256xf32>, !cache) {
    %l0 = arith.constant 0 : index
    %l1 = arith.constant 1 : index
    %table = llm.get_param @embed_tokens : tensor<256x64xf32>
    %h0 = llm.embedding %table, %ids : tensor<256x64xf32>, tensor<?x?xi32> -> tensor<?x?x64xf32>

    // Layer 0: attention block.
    %ln0_w = llm.get_param @layers.0.input_layernorm : tensor<64xf32>
    %x0 = llm.rms_norm %h0, %ln0_w {epsilon = 1.0e-05} : tensor<?x?x64xf32>, tensor<64xf32>
    %wq0 = llm.get_param @layers.0.q_proj : tensor<64x64xf32>
    %wk0 = llm.get_param @layers.0.k_proj : tensor<32x64xf32>
    %wv0 = llm.get_param @layers.0.v_proj : tensor<32x64xf32>
    %q0 = llm.linear %x0, %wq0 : tensor<?x?x64xf32>, tensor<64x64xf32> -> tensor<?x?x64xf32>
    %k0 = llm.linear %x0, %wk0 : tensor<?x?x64xf32>, tensor<32x64xf32> -> tensor<?x?x32xf32>
    %v0 = llm.linear %x0, %wv0 : tensor<?x?x64xf32>, tensor<32x64xf32> -> tensor<?x?x32xf32>
    %qh0 = llm.split_heads %q0 : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
    %kh0 = llm.split_heads %k0 : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
    %vh0 = llm.split_heads %v0 : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
    %qr0 = llm.rope %qh0, %positions {theta = 10000.0} : tensor<?x?x4x16xf32>, tensor<?xi64>
    %kr0 = llm.rope %kh0, %positions {theta = 10000.0} : tensor<?x?x2x16xf32>, tensor<?xi64>
    %c1 = llm.kv_cache.update %cache[%l0], %kr0, %vh0, %positions : !cache, tensor<?x?x2x16xf32>, tensor<?xi64>
    %kc0, %vc0 = llm.kv_cache.read %c1[%l0] : !cache -> tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>
    %att0 = llm.attention %qr0, %kc0, %vc0, %positions {causal}
        : tensor<?x?x4x16xf32>, tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>, tensor<?xi64> -> tensor<?x?x4x16xf32>
    %attm0 = llm.merge_heads %att0 : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
    %wo0 = llm.get_param @layers.0.o_proj : tensor<64x64xf32>
    %o0 = llm.linear %attm0, %wo0 : tensor<?x?x64xf32>, tensor<64x64xf32> -> tensor<?x?x64xf32>
    %r0 = llm.add %h0, %o0 : tensor<?x?x64xf32>

    // Layer 0: MLP block, down(silu(gate(x)) * up(x)).
    %ln0_w2 = llm.get_param @layers.0.post_attention_layernorm : tensor<64xf32>
    %y0 = llm.rms_norm %r0, %ln0_w2 {epsilon = 1.0e-05} : tensor<?x?x64xf32>, tensor<64xf32>
    %wg0 = llm.get_param @layers.0.gate_proj : tensor<128x64xf32>
    %wu0 = llm.get_param @layers.0.up_proj : tensor<128x64xf32>
    %wd0 = llm.get_param @layers.0.down_proj : tensor<64x128xf32>
    %g0 = llm.linear %y0, %wg0 : tensor<?x?x64xf32>, tensor<128x64xf32> -> tensor<?x?x128xf32>
    %u0 = llm.linear %y0, %wu0 : tensor<?x?x64xf32>, tensor<128x64xf32> -> tensor<?x?x128xf32>
    %gs0 = llm.silu %g0 : tensor<?x?x128xf32>
    %gu0 = llm.mul %gs0, %u0 : tensor<?x?x128xf32>
    %d0 = llm.linear %gu0, %wd0 : tensor<?x?x128xf32>, tensor<64x128xf32> -> tensor<?x?x64xf32>
    %h1 = llm.add %r0, %d0 : tensor<?x?x64xf32>

    // Layer 1: attention block.
    %ln1_w = llm.get_param @layers.1.input_layernorm : tensor<64xf32>
    %x1 = llm.rms_norm %h1, %ln1_w {epsilon = 1.0e-05} : tensor<?x?x64xf32>, tensor<64xf32>
    %wq1 = llm.get_param @layers.1.q_proj : tensor<64x64xf32>
    %wk1 = llm.get_param @layers.1.k_proj : tensor<32x64xf32>
    %wv1 = llm.get_param @layers.1.v_proj : tensor<32x64xf32>
    %q1 = llm.linear %x1, %wq1 : tensor<?x?x64xf32>, tensor<64x64xf32> -> tensor<?x?x64xf32>
    %k1 = llm.linear %x1, %wk1 : tensor<?x?x64xf32>, tensor<32x64xf32> -> tensor<?x?x32xf32>
    %v1 = llm.linear %x1, %wv1 : tensor<?x?x64xf32>, tensor<32x64xf32> -> tensor<?x?x32xf32>
    %qh1 = llm.split_heads %q1 : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
    %kh1 = llm.split_heads %k1 : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
    %vh1 = llm.split_heads %v1 : tensor<?x?x32xf32> -> tensor<?x?x2x16xf32>
    %qr1 = llm.rope %qh1, %positions {theta = 10000.0} : tensor<?x?x4x16xf32>, tensor<?xi64>
    %kr1 = llm.rope %kh1, %positions {theta = 10000.0} : tensor<?x?x2x16xf32>, tensor<?xi64>
    %c2 = llm.kv_cache.update %c1[%l1], %kr1, %vh1, %positions : !cache, tensor<?x?x2x16xf32>, tensor<?xi64>
    %kc1, %vc1 = llm.kv_cache.read %c2[%l1] : !cache -> tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>
    %att1 = llm.attention %qr1, %kc1, %vc1, %positions {causal}
        : tensor<?x?x4x16xf32>, tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>, tensor<?xi64> -> tensor<?x?x4x16xf32>
    %attm1 = llm.merge_heads %att1 : tensor<?x?x4x16xf32> -> tensor<?x?x64xf32>
    %wo1 = llm.get_param @layers.1.o_proj : tensor<64x64xf32>
    %o1 = llm.linear %attm1, %wo1 : tensor<?x?x64xf32>, tensor<64x64xf32> -> tensor<?x?x64xf32>
    %r1 = llm.add %h1, %o1 : tensor<?x?x64xf32>

    // Layer 1: MLP block, down(silu(gate(x)) * up(x)).
    %ln1_w2 = llm.get_param @layers.1.post_attention_layernorm : tensor<64xf32>
    %y1 = llm.rms_norm %r1, %ln1_w2 {epsilon = 1.0e-05} : tensor<?x?x64xf32>, tensor<64xf32>
    %wg1 = llm.get_param @layers.1.gate_proj : tensor<128x64xf32>
    %wu1 = llm.get_param @layers.1.up_proj : tensor<128x64xf32>
    %wd1 = llm.get_param @layers.1.down_proj : tensor<64x128xf32>
    %g1 = llm.linear %y1, %wg1 : tensor<?x?x64xf32>, tensor<128x64xf32> -> tensor<?x?x128xf32>
    %u1 = llm.linear %y1, %wu1 : tensor<?x?x64xf32>, tensor<128x64xf32> -> tensor<?x?x128xf32>
    %gs1 = llm.silu %g1 : tensor<?x?x128xf32>
    %gu1 = llm.mul %gs1, %u1 : tensor<?x?x128xf32>
    %d1 = llm.linear %gu1, %wd1 : tensor<?x?x128xf32>, tensor<64x128xf32> -> tensor<?x?x64xf32>
    %h2 = llm.add %r1, %d1 : tensor<?x?x64xf32>

    %norm_w = llm.get_param @norm : tensor<64xf32>
    %hn = llm.rms_norm %h2, %norm_w {epsilon = 1.0e-05} : tensor<?x?x64xf32>, tensor<64xf32>
    %head = llm.get_param @lm_head : tensor<256x64xf32>
    %logits = llm.linear %hn, %head : tensor<?x?x64xf32>, tensor<256x64xf32> -> tensor<?x?x256xf32>
    return %logits, %c2 : tensor<?x?x256xf32>, !cache
  }

  // Prefill: the prompts (right-padded), written into the cache from positions.
  func.func @prefill(%ids: tensor<?x?xi32>, %positions: tensor<?xi64>,
                     %cache: !cache) -> (tensor<?x?x256xf32>, !cache) {
    %logits, %next = func.call @forward(%ids, %positions, %cache)
        : (tensor<?x?xi32>, tensor<?xi64>, !cache) -> (tensor<?x?x256xf32>, !cache)
    return %logits, %next : tensor<?x?x256xf32>, !cache
  }

  // Decode: one new token per row at positions[b].
  func.func @decode(%ids: tensor<?x1xi32>, %positions: tensor<?xi64>,
                    %cache: !cache) -> (tensor<?x1x256xf32>, !cache) {
    %chunk = tensor.cast %ids : tensor<?x1xi32> to tensor<?x?xi32>
    %logits, %next = func.call @forward(%chunk, %positions, %cache)
        : (tensor<?x?xi32>, tensor<?xi64>, !cache) -> (tensor<?x?x256xf32>, !cache)
    %step = tensor.cast %logits : tensor<?x?x256xf32> to tensor<?x1x256xf32>
    return %step, %next : tensor<?x1x256xf32>, !cache
  }
}
