// A 2-layer Llama-style model (hidden 8, 4 query heads and 2 KV heads of 2,
// MLP 16, vocabulary 30) as llmc imports it, with the decode entry point:
// the input of the parallelization pass tests.
module attributes {llm.model_type = "llama"} {
  llm.param @model.embed_tokens.weight : tensor<30x8xf32> from "model.embed_tokens.weight"
  llm.param @model.layers.0.input_layernorm.weight : tensor<8xf32> from "model.layers.0.input_layernorm.weight"
  llm.param @model.layers.0.self_attn.q_proj.weight : tensor<8x8xf32> from "model.layers.0.self_attn.q_proj.weight"
  llm.param @model.layers.0.self_attn.k_proj.weight : tensor<4x8xf32> from "model.layers.0.self_attn.k_proj.weight"
  llm.param @model.layers.0.self_attn.v_proj.weight : tensor<4x8xf32> from "model.layers.0.self_attn.v_proj.weight"
  llm.param @model.layers.0.self_attn.o_proj.weight : tensor<8x8xf32> from "model.layers.0.self_attn.o_proj.weight"
  llm.param @model.layers.0.post_attention_layernorm.weight : tensor<8xf32> from "model.layers.0.post_attention_layernorm.weight"
  llm.param @model.layers.0.mlp.gate_proj.weight : tensor<16x8xf32> from "model.layers.0.mlp.gate_proj.weight"
  llm.param @model.layers.0.mlp.up_proj.weight : tensor<16x8xf32> from "model.layers.0.mlp.up_proj.weight"
  llm.param @model.layers.0.mlp.down_proj.weight : tensor<8x16xf32> from "model.layers.0.mlp.down_proj.weight"
  llm.param @model.layers.1.input_layernorm.weight : tensor<8xf32> from "model.layers.1.input_layernorm.weight"
  llm.param @model.layers.1.self_attn.q_proj.weight : tensor<8x8xf32> from "model.layers.1.self_attn.q_proj.weight"
  llm.param @model.layers.1.self_attn.k_proj.weight : tensor<4x8xf32> from "model.layers.1.self_attn.k_proj.weight"
  llm.param @model.layers.1.self_attn.v_proj.weight : tensor<4x8xf32> from "model.layers.1.self_attn.v_proj.weight"
  llm.param @model.layers.1.self_attn.o_proj.weight : tensor<8x8xf32> from "model.layers.1.self_attn.o_proj.weight"
  llm.param @model.layers.1.post_attention_layernorm.weight : tensor<8xf32> from "model.layers.1.post_attention_layernorm.weight"
  llm.param @model.layers.1.mlp.gate_proj.weight : tensor<16x8xf32> from "model.layers.1.mlp.gate_proj.weight"
  llm.param @model.layers.1.mlp.up_proj.weight : tensor<16x8xf32> from "model.layers.1.mlp.up_proj.weight"
  llm.param @model.layers.1.mlp.down_proj.weight : tensor<8x16xf32> from "model.layers.1.mlp.down_proj.weight"
  llm.param @model.norm.weight : tensor<8xf32> from "model.norm.weight"
  llm.param @lm_head.weight : tensor<30x8xf32> from "lm_head.weight"
  func.func private @layer(%arg0: tensor<?x?x8xf32>, %arg1: tensor<?xi64>, %arg2: !llm.kv_cache<2x?x16x2x2xf32>, %arg3: index, %arg4: tensor<8xf32>, %arg5: tensor<8x8xf32>, %arg6: tensor<4x8xf32>, %arg7: tensor<4x8xf32>, %arg8: tensor<8x8xf32>, %arg9: tensor<8xf32>, %arg10: tensor<16x8xf32>, %arg11: tensor<16x8xf32>, %arg12: tensor<8x16xf32>) -> (tensor<?x?x8xf32>, !llm.kv_cache<2x?x16x2x2xf32>) {
    %0 = llm.rms_norm %arg0, %arg4 {epsilon = 1.000000e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32>
    %1 = llm.linear %0, %arg5 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
    %2 = llm.linear %0, %arg6 : tensor<?x?x8xf32>, tensor<4x8xf32> -> tensor<?x?x4xf32>
    %3 = llm.linear %0, %arg7 : tensor<?x?x8xf32>, tensor<4x8xf32> -> tensor<?x?x4xf32>
    %4 = llm.split_heads %1 : tensor<?x?x8xf32> -> tensor<?x?x4x2xf32>
    %5 = llm.split_heads %2 : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
    %6 = llm.split_heads %3 : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
    %7 = llm.rope %4, %arg1 {theta = 1.000000e+04 : f64} : tensor<?x?x4x2xf32>, tensor<?xi64>
    %8 = llm.rope %5, %arg1 {theta = 1.000000e+04 : f64} : tensor<?x?x2x2xf32>, tensor<?xi64>
    %9 = llm.kv_cache.update %arg2[%arg3], %8, %6, %arg1 : !llm.kv_cache<2x?x16x2x2xf32>, tensor<?x?x2x2xf32>, tensor<?xi64>
    %keys, %values = llm.kv_cache.read %9[%arg3] : !llm.kv_cache<2x?x16x2x2xf32> -> tensor<?x16x2x2xf32>, tensor<?x16x2x2xf32>
    %10 = llm.attention %7, %keys, %values, %arg1 {causal} : tensor<?x?x4x2xf32>, tensor<?x16x2x2xf32>, tensor<?x16x2x2xf32>, tensor<?xi64> -> tensor<?x?x4x2xf32>
    %11 = llm.merge_heads %10 : tensor<?x?x4x2xf32> -> tensor<?x?x8xf32>
    %12 = llm.linear %11, %arg8 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
    %13 = llm.add %arg0, %12 : tensor<?x?x8xf32>
    %14 = llm.rms_norm %13, %arg9 {epsilon = 1.000000e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32>
    %15 = llm.linear %14, %arg10 : tensor<?x?x8xf32>, tensor<16x8xf32> -> tensor<?x?x16xf32>
    %16 = llm.linear %14, %arg11 : tensor<?x?x8xf32>, tensor<16x8xf32> -> tensor<?x?x16xf32>
    %17 = llm.silu %15 : tensor<?x?x16xf32>
    %18 = llm.mul %17, %16 : tensor<?x?x16xf32>
    %19 = llm.linear %18, %arg12 : tensor<?x?x16xf32>, tensor<8x16xf32> -> tensor<?x?x8xf32>
    %20 = llm.add %13, %19 : tensor<?x?x8xf32>
    return %20, %9 : tensor<?x?x8xf32>, !llm.kv_cache<2x?x16x2x2xf32>
  }
  func.func private @head(%arg0: tensor<?x?x8xf32>) -> tensor<?x?x30xf32> {
    %0 = llm.get_param @lm_head.weight : tensor<30x8xf32>
    %1 = llm.linear %arg0, %0 : tensor<?x?x8xf32>, tensor<30x8xf32> -> tensor<?x?x30xf32>
    return %1 : tensor<?x?x30xf32>
  }
  func.func private @forward(%arg0: tensor<?x?xi32>, %arg1: tensor<?xi64>, %arg2: !llm.kv_cache<2x?x16x2x2xf32>) -> (tensor<?x?x8xf32>, !llm.kv_cache<2x?x16x2x2xf32>) {
    %0 = llm.get_param @model.embed_tokens.weight : tensor<30x8xf32>
    %1 = llm.embedding %0, %arg0 : tensor<30x8xf32>, tensor<?x?xi32> -> tensor<?x?x8xf32>
    %c0 = arith.constant 0 : index
    %2 = llm.get_param @model.layers.0.input_layernorm.weight : tensor<8xf32>
    %3 = llm.get_param @model.layers.0.self_attn.q_proj.weight : tensor<8x8xf32>
    %4 = llm.get_param @model.layers.0.self_attn.k_proj.weight : tensor<4x8xf32>
    %5 = llm.get_param @model.layers.0.self_attn.v_proj.weight : tensor<4x8xf32>
    %6 = llm.get_param @model.layers.0.self_attn.o_proj.weight : tensor<8x8xf32>
    %7 = llm.get_param @model.layers.0.post_attention_layernorm.weight : tensor<8xf32>
    %8 = llm.get_param @model.layers.0.mlp.gate_proj.weight : tensor<16x8xf32>
    %9 = llm.get_param @model.layers.0.mlp.up_proj.weight : tensor<16x8xf32>
    %10 = llm.get_param @model.layers.0.mlp.down_proj.weight : tensor<8x16xf32>
    %11:2 = call @layer(%1, %arg1, %arg2, %c0, %2, %3, %4, %5, %6, %7, %8, %9, %10) : (tensor<?x?x8xf32>, tensor<?xi64>, !llm.kv_cache<2x?x16x2x2xf32>, index, tensor<8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> (tensor<?x?x8xf32>, !llm.kv_cache<2x?x16x2x2xf32>)
    %c1 = arith.constant 1 : index
    %12 = llm.get_param @model.layers.1.input_layernorm.weight : tensor<8xf32>
    %13 = llm.get_param @model.layers.1.self_attn.q_proj.weight : tensor<8x8xf32>
    %14 = llm.get_param @model.layers.1.self_attn.k_proj.weight : tensor<4x8xf32>
    %15 = llm.get_param @model.layers.1.self_attn.v_proj.weight : tensor<4x8xf32>
    %16 = llm.get_param @model.layers.1.self_attn.o_proj.weight : tensor<8x8xf32>
    %17 = llm.get_param @model.layers.1.post_attention_layernorm.weight : tensor<8xf32>
    %18 = llm.get_param @model.layers.1.mlp.gate_proj.weight : tensor<16x8xf32>
    %19 = llm.get_param @model.layers.1.mlp.up_proj.weight : tensor<16x8xf32>
    %20 = llm.get_param @model.layers.1.mlp.down_proj.weight : tensor<8x16xf32>
    %21:2 = call @layer(%11#0, %arg1, %11#1, %c1, %12, %13, %14, %15, %16, %17, %18, %19, %20) : (tensor<?x?x8xf32>, tensor<?xi64>, !llm.kv_cache<2x?x16x2x2xf32>, index, tensor<8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, tensor<8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> (tensor<?x?x8xf32>, !llm.kv_cache<2x?x16x2x2xf32>)
    %22 = llm.get_param @model.norm.weight : tensor<8xf32>
    %23 = llm.rms_norm %21#0, %22 {epsilon = 1.000000e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32>
    return %23, %21#1 : tensor<?x?x8xf32>, !llm.kv_cache<2x?x16x2x2xf32>
  }


  func.func @decode(%arg0: tensor<?x1xi32>, %arg1: tensor<?xi64>, %arg2: !llm.kv_cache<2x?x16x2x2xf32>) -> (tensor<?x1x30xf32>, !llm.kv_cache<2x?x16x2x2xf32>) {
    %cast = tensor.cast %arg0 : tensor<?x1xi32> to tensor<?x?xi32>
    %0:2 = call @forward(%cast, %arg1, %arg2) : (tensor<?x?xi32>, tensor<?xi64>, !llm.kv_cache<2x?x16x2x2xf32>) -> (tensor<?x?x8xf32>, !llm.kv_cache<2x?x16x2x2xf32>)
    %1 = call @head(%0#0) : (tensor<?x?x8xf32>) -> tensor<?x?x30xf32>
    %cast_0 = tensor.cast %1 : tensor<?x?x30xf32> to tensor<?x1x30xf32>
    return %cast_0, %0#1 : tensor<?x1x30xf32>, !llm.kv_cache<2x?x16x2x2xf32>
  }
}
