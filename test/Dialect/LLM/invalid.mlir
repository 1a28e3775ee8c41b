// Every verifier error of the llm ops, with its exact message.
// RUN: llmc-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{expects a non-empty source tensor name}}
llm.param @w : tensor<4xf32> from ""

// -----

// expected-error @+1 {{attribute 'type' failed to satisfy constraint: type attribute of statically shaped tensor of any type values}}
llm.param @w : tensor<?x4xf32> from "w"

// -----

func.func @param_in_function() {
  // expected-error @+1 {{'llm.param' op expects parent op 'builtin.module'}}
  llm.param @w : tensor<4xf32> from "w"
  return
}

// -----

func.func @get_param_unknown() {
  // expected-error @+1 {{expects @nope to name an llm.param}}
  %0 = llm.get_param @nope : tensor<4xf32>
  return
}

// -----

llm.param @w : tensor<4x8xf32> from "w"
func.func @get_param_wrong_type() {
  // expected-error @+1 {{expects result type 'tensor<4x8xf32>' (the type of @w), found 'tensor<8x4xf32>'}}
  %0 = llm.get_param @w : tensor<8x4xf32>
  return
}

// -----

func.func @embedding_table_rank(%t: tensor<256xf32>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{expects table of rank 2, found rank 1 ('tensor<256xf32>')}}
  %0 = llm.embedding %t, %ids : tensor<256xf32>, tensor<?xi32> -> tensor<?x1xf32>
  return
}

// -----

func.func @embedding_dynamic_hidden(%t: tensor<256x?xf32>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{expects a static hidden size (table dim 1); only batch and sequence may be dynamic}}
  %0 = llm.embedding %t, %ids : tensor<256x?xf32>, tensor<?xi32> -> tensor<?x?xf32>
  return
}

// -----

func.func @embedding_result(%t: tensor<256x64xf32>, %ids: tensor<?x?xi32>) {
  // expected-error @+1 {{expects result type 'tensor<?x?x64xf32>' (from the operands), found 'tensor<?x64xf32>'}}
  %0 = llm.embedding %t, %ids : tensor<256x64xf32>, tensor<?x?xi32> -> tensor<?x64xf32>
  return
}

// -----

func.func @embedding_float_ids(%t: tensor<256x64xf32>, %ids: tensor<?xf32>) {
  // expected-error @+1 {{operand #1 must be ranked tensor of signless integer values}}
  %0 = llm.embedding %t, %ids : tensor<256x64xf32>, tensor<?xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @linear_scalar_input(%x: tensor<f32>, %w: tensor<4x4xf32>) {
  // expected-error @+1 {{expects an input of rank >= 1, found 'tensor<f32>'}}
  %0 = llm.linear %x, %w : tensor<f32>, tensor<4x4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<?x4xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{expects weight of rank 2, found rank 1 ('tensor<4xf32>')}}
  %0 = llm.linear %x, %w : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @linear_weight_type(%x: tensor<?x4xf32>, %w: tensor<8x4xf16>) {
  // expected-error @+1 {{expects weight element type 'f32', found 'f16'}}
  %0 = llm.linear %x, %w : tensor<?x4xf32>, tensor<8x4xf16> -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_in_features(%x: tensor<?x?x63xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{expects the input's last dimension (63) to equal the weight's in_features (dim 1) (64)}}
  %0 = llm.linear %x, %w : tensor<?x?x63xf32>, tensor<128x64xf32> -> tensor<?x?x128xf32>
  return
}

// -----

func.func @linear_bias_rank(%x: tensor<?x4xf32>, %w: tensor<8x4xf32>, %b: tensor<1x8xf32>) {
  // expected-error @+1 {{expects bias of rank 1, found rank 2 ('tensor<1x8xf32>')}}
  %0 = llm.linear %x, %w, %b : tensor<?x4xf32>, tensor<8x4xf32>, tensor<1x8xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_bias_type(%x: tensor<?x4xf32>, %w: tensor<8x4xf32>, %b: tensor<8xbf16>) {
  // expected-error @+1 {{expects bias element type 'f32', found 'bf16'}}
  %0 = llm.linear %x, %w, %b : tensor<?x4xf32>, tensor<8x4xf32>, tensor<8xbf16> -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_bias_length(%x: tensor<?x4xf32>, %w: tensor<8x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{expects the bias' length (4) to equal the weight's out_features (dim 0) (8)}}
  %0 = llm.linear %x, %w, %b : tensor<?x4xf32>, tensor<8x4xf32>, tensor<4xf32> -> tensor<?x8xf32>
  return
}

// -----

func.func @linear_result(%x: tensor<?x4xf32>, %w: tensor<8x4xf32>) {
  // expected-error @+1 {{expects result type 'tensor<?x8xf32>' (from the operands), found 'tensor<?x4xf32>'}}
  %0 = llm.linear %x, %w : tensor<?x4xf32>, tensor<8x4xf32> -> tensor<?x4xf32>
  return
}

// -----

func.func @linear_integer(%x: tensor<?x4xi32>, %w: tensor<8x4xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of floating-point values}}
  %0 = llm.linear %x, %w : tensor<?x4xi32>, tensor<8x4xi32> -> tensor<?x8xi32>
  return
}

// -----

func.func @matmul_rank(%a: tensor<4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{expects operands of rank >= 2, found 'tensor<4xf32>'}}
  %0 = llm.matmul %a, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

func.func @matmul_rhs_rank(%a: tensor<2x4x8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+1 {{expects rhs of rank 3, found rank 2 ('tensor<8x4xf32>')}}
  %0 = llm.matmul %a, %b : tensor<2x4x8xf32>, tensor<8x4xf32> -> tensor<2x4x4xf32>
  return
}

// -----

func.func @matmul_rhs_type(%a: tensor<4x8xf32>, %b: tensor<8x4xf16>) {
  // expected-error @+1 {{expects rhs element type 'f32', found 'f16'}}
  %0 = llm.matmul %a, %b : tensor<4x8xf32>, tensor<8x4xf16> -> tensor<4x4xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x4x8xf32>, %b: tensor<3x8x4xf32>) {
  // expected-error @+1 {{expects rhs batch dimension 0 (3) to equal the lhs batch dimension (2)}}
  %0 = llm.matmul %a, %b : tensor<2x4x8xf32>, tensor<3x8x4xf32> -> tensor<2x4x4xf32>
  return
}

// -----

func.func @matmul_contraction(%a: tensor<4x8xf32>, %b: tensor<7x4xf32>) {
  // expected-error @+1 {{expects the rhs contraction dimension (7) to equal the lhs contraction dimension (8)}}
  %0 = llm.matmul %a, %b : tensor<4x8xf32>, tensor<7x4xf32> -> tensor<4x4xf32>
  return
}

// -----

func.func @matmul_result(%a: tensor<4x8xf32>, %b: tensor<8x2xf32>) {
  // expected-error @+1 {{expects result type 'tensor<4x2xf32>' (from the operands), found 'tensor<4x8xf32>'}}
  %0 = llm.matmul %a, %b : tensor<4x8xf32>, tensor<8x2xf32> -> tensor<4x8xf32>
  return
}

// -----

func.func @rms_norm_epsilon(%x: tensor<?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{expects epsilon >= 0, found -1.000000e-05}}
  %0 = llm.rms_norm %x, %w {epsilon = -1.0e-05} : tensor<?x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @rms_norm_weight_rank(%x: tensor<?x64xf32>, %w: tensor<1x64xf32>) {
  // expected-error @+1 {{expects weight of rank 1, found rank 2 ('tensor<1x64xf32>')}}
  %0 = llm.rms_norm %x, %w {epsilon = 1.0e-05} : tensor<?x64xf32>, tensor<1x64xf32>
  return
}

// -----

func.func @rms_norm_weight_type(%x: tensor<?x64xf32>, %w: tensor<64xbf16>) {
  // expected-error @+1 {{expects weight element type 'f32', found 'bf16'}}
  %0 = llm.rms_norm %x, %w {epsilon = 1.0e-05} : tensor<?x64xf32>, tensor<64xbf16>
  return
}

// -----

func.func @rms_norm_weight_length(%x: tensor<?x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{expects weight's length (32) to equal the input's last dimension (64)}}
  %0 = llm.rms_norm %x, %w {epsilon = 1.0e-05} : tensor<?x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @rms_norm_result(%x: tensor<?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{all of {input, result} have same type}}
  %0 = "llm.rms_norm"(%x, %w) {epsilon = 1.0e-05 : f64} : (tensor<?x64xf32>, tensor<64xf32>) -> tensor<2x64xf32>
  return
}

// -----

func.func @layer_norm_epsilon(%x: tensor<?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{expects epsilon >= 0, found -1.000000e+00}}
  %0 = llm.layer_norm %x, %w {epsilon = -1.0} : tensor<?x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @layer_norm_weight_length(%x: tensor<?x64xf32>, %w: tensor<65xf32>) {
  // expected-error @+1 {{expects weight's length (65) to equal the input's last dimension (64)}}
  %0 = llm.layer_norm %x, %w {epsilon = 1.0e-05} : tensor<?x64xf32>, tensor<65xf32>
  return
}

// -----

func.func @layer_norm_bias_length(%x: tensor<?x64xf32>, %w: tensor<64xf32>, %b: tensor<32xf32>) {
  // expected-error @+1 {{expects bias's length (32) to equal the input's last dimension (64)}}
  %0 = llm.layer_norm %x, %w, %b {epsilon = 1.0e-05} : tensor<?x64xf32>, tensor<64xf32>, tensor<32xf32>
  return
}

// -----

func.func @layer_norm_bias_type(%x: tensor<?x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf16>) {
  // expected-error @+1 {{expects bias element type 'f32', found 'f16'}}
  %0 = llm.layer_norm %x, %w, %b {epsilon = 1.0e-05} : tensor<?x64xf32>, tensor<64xf32>, tensor<64xf16>
  return
}

// -----

func.func @split_heads_rank(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{expects the split type to have one dimension more than the merged type, found 'tensor<?x?x64xf32>' and 'tensor<?x?x4x4x4xf32>'}}
  %0 = llm.split_heads %x : tensor<?x?x64xf32> -> tensor<?x?x4x4x4xf32>
  return
}

// -----

func.func @split_heads_leading(%x: tensor<2x?x64xf32>) {
  // expected-error @+1 {{expects dimension 0 of the split type (3) to equal the same dimension of the merged type (2)}}
  %0 = llm.split_heads %x : tensor<2x?x64xf32> -> tensor<3x?x4x16xf32>
  return
}

// -----

func.func @split_heads_dynamic_heads(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{expects a static number of heads; only batch and sequence may be dynamic}}
  %0 = llm.split_heads %x : tensor<?x?x64xf32> -> tensor<?x?x?x16xf32>
  return
}

// -----

func.func @split_heads_dynamic_head_dim(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{expects a static head_dim; only batch and sequence may be dynamic}}
  %0 = llm.split_heads %x : tensor<?x?x64xf32> -> tensor<?x?x4x?xf32>
  return
}

// -----

func.func @split_heads_dynamic_width(%x: tensor<?x?x?xf32>) {
  // expected-error @+1 {{expects a static merged last dimension; only batch and sequence may be dynamic}}
  %0 = llm.split_heads %x : tensor<?x?x?xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @split_heads_divide(%x: tensor<?x?x60xf32>) {
  // expected-error @+1 {{expects heads (4) x head_dim (16) to equal the merged last dimension (60)}}
  %0 = llm.split_heads %x : tensor<?x?x60xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @split_heads_type(%x: tensor<?x?x64xf32>) {
  // expected-error @+1 {{expects the same element type on both sides, found 'f32' and 'f16'}}
  %0 = llm.split_heads %x : tensor<?x?x64xf32> -> tensor<?x?x4x16xf16>
  return
}

// -----

func.func @merge_heads_divide(%x: tensor<?x?x4x16xf32>) {
  // expected-error @+1 {{expects heads (4) x head_dim (16) to equal the merged last dimension (32)}}
  %0 = llm.merge_heads %x : tensor<?x?x4x16xf32> -> tensor<?x?x32xf32>
  return
}

// -----

func.func @rope_rank(%x: tensor<?x?x64xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{expects input of rank 4, found rank 3 ('tensor<?x?x64xf32>')}}
  %0 = llm.rope %x, %pos {theta = 10000.0} : tensor<?x?x64xf32>, tensor<?xi64>
  return
}

// -----

func.func @rope_dynamic_head_dim(%x: tensor<?x?x4x?xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{expects a static head_dim; only batch and sequence may be dynamic}}
  %0 = llm.rope %x, %pos {theta = 10000.0} : tensor<?x?x4x?xf32>, tensor<?xi64>
  return
}

// -----

func.func @rope_positions(%x: tensor<2x?x4x16xf32>, %pos: tensor<3xi64>) {
  // expected-error @+1 {{expects positions' length (3) to equal the batch (2)}}
  %0 = llm.rope %x, %pos {theta = 10000.0} : tensor<2x?x4x16xf32>, tensor<3xi64>
  return
}

// -----

func.func @rope_positions_rank(%x: tensor<?x?x4x16xf32>, %pos: tensor<?x?xi64>) {
  // expected-error @+1 {{operand #1 must be 1D tensor of signless integer values}}
  %0 = llm.rope %x, %pos {theta = 10000.0} : tensor<?x?x4x16xf32>, tensor<?x?xi64>
  return
}

// -----

func.func @rope_theta(%x: tensor<?x?x4x16xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{expects theta > 0, found 0}}
  %0 = llm.rope %x, %pos {theta = 0.0} : tensor<?x?x4x16xf32>, tensor<?xi64>
  return
}

// -----

func.func @rope_rotary_dim_range(%x: tensor<?x?x4x16xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{expects rotary_dim (32) in [1, head_dim (16)]}}
  %0 = llm.rope %x, %pos {theta = 10000.0, rotary_dim = 32} : tensor<?x?x4x16xf32>, tensor<?xi64>
  return
}

// -----

func.func @rope_rotary_dim_odd(%x: tensor<?x?x4x16xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{expects an even rotary_dim, found 7}}
  %0 = llm.rope %x, %pos {theta = 10000.0, rotary_dim = 7} : tensor<?x?x4x16xf32>, tensor<?xi64>
  return
}

// -----

func.func @rope_head_dim_odd(%x: tensor<?x?x4x15xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{expects an even rotary_dim, found 15 (head_dim)}}
  %0 = llm.rope %x, %pos {theta = 10000.0} : tensor<?x?x4x15xf32>, tensor<?xi64>
  return
}

// -----

func.func @rope_scaling_factor(%x: tensor<?x?x4x16xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{rope_scaling expects factor > 0, found 0}}
  %0 = llm.rope %x, %pos {theta = 10000.0, scaling = #llm.rope_scaling<linear, factor = 0.0>} : tensor<?x?x4x16xf32>, tensor<?xi64>
  return
}

// -----

func.func @rope_scaling_linear_extra(%x: tensor<?x?x4x16xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{rope_scaling 'linear' takes only factor; low_freq_factor, high_freq_factor and original_max_position_embeddings belong to 'llama3'}}
  %0 = llm.rope %x, %pos {theta = 10000.0, scaling = #llm.rope_scaling<linear, factor = 2.0, low_freq_factor = 1.0>} : tensor<?x?x4x16xf32>, tensor<?xi64>
  return
}

// -----

func.func @rope_scaling_llama3_missing(%x: tensor<?x?x4x16xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{rope_scaling 'llama3' expects low_freq_factor, high_freq_factor and original_max_position_embeddings}}
  %0 = llm.rope %x, %pos {theta = 10000.0, scaling = #llm.rope_scaling<llama3, factor = 8.0, low_freq_factor = 1.0>} : tensor<?x?x4x16xf32>, tensor<?xi64>
  return
}

// -----

func.func @rope_scaling_llama3_order(%x: tensor<?x?x4x16xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{rope_scaling 'llama3' expects 0 < low_freq_factor < high_freq_factor, found 4.000000e+00 and 1.000000e+00}}
  %0 = llm.rope %x, %pos {theta = 10000.0, scaling = #llm.rope_scaling<llama3, factor = 8.0, low_freq_factor = 4.0, high_freq_factor = 1.0, original_max_position_embeddings = 8192>} : tensor<?x?x4x16xf32>, tensor<?xi64>
  return
}

// -----

func.func @rope_scaling_llama3_positions(%x: tensor<?x?x4x16xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{rope_scaling 'llama3' expects original_max_position_embeddings > 0, found 0}}
  %0 = llm.rope %x, %pos {theta = 10000.0, scaling = #llm.rope_scaling<llama3, factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0, original_max_position_embeddings = 0>} : tensor<?x?x4x16xf32>, tensor<?xi64>
  return
}

// -----

func.func @attention_rank(%q: tensor<?x?x64xf32>, %k: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects query of rank 4, found rank 3 ('tensor<?x?x64xf32>')}}
  %0 = llm.attention %q, %k, %k : tensor<?x?x64xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32> -> tensor<?x?x64xf32>
  return
}

// -----

func.func @attention_keys_rank(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x32xf32>, %v: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects keys of rank 4, found rank 3 ('tensor<?x?x32xf32>')}}
  %0 = llm.attention %q, %k, %v : tensor<?x?x4x16xf32>, tensor<?x?x32xf32>, tensor<?x?x2x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @attention_values_rank(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x32xf32>) {
  // expected-error @+1 {{expects values of rank 4, found rank 3 ('tensor<?x?x32xf32>')}}
  %0 = llm.attention %q, %k, %v : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x32xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @attention_keys_type(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf16>, %v: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects keys element type 'f32', found 'f16'}}
  %0 = llm.attention %q, %k, %v : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf16>, tensor<?x?x2x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @attention_values_type(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x16xbf16>) {
  // expected-error @+1 {{expects values element type 'f32', found 'bf16'}}
  %0 = llm.attention %q, %k, %v : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xbf16> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @attention_keys_batch(%q: tensor<2x?x4x16xf32>, %k: tensor<3x?x2x16xf32>, %v: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects the keys' batch (3) to equal the query's batch (2)}}
  %0 = llm.attention %q, %k, %v : tensor<2x?x4x16xf32>, tensor<3x?x2x16xf32>, tensor<?x?x2x16xf32> -> tensor<2x?x4x16xf32>
  return
}

// -----

func.func @attention_values_batch(%q: tensor<2x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<1x?x2x16xf32>) {
  // expected-error @+1 {{expects the values' batch (1) to equal the query's batch (2)}}
  %0 = llm.attention %q, %k, %v : tensor<2x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<1x?x2x16xf32> -> tensor<2x?x4x16xf32>
  return
}

// -----

func.func @attention_kv_len(%q: tensor<?x?x4x16xf32>, %k: tensor<?x128x2x16xf32>, %v: tensor<?x64x2x16xf32>) {
  // expected-error @+1 {{expects the values' kv_len (64) to equal the keys' kv_len (128)}}
  %0 = llm.attention %q, %k, %v : tensor<?x?x4x16xf32>, tensor<?x128x2x16xf32>, tensor<?x64x2x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @attention_dynamic_heads(%q: tensor<?x?x?x16xf32>, %k: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects a static number of query heads; only batch and sequence may be dynamic}}
  %0 = llm.attention %q, %k, %k : tensor<?x?x?x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32> -> tensor<?x?x?x16xf32>
  return
}

// -----

func.func @attention_dynamic_kv_heads(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x?x16xf32>) {
  // expected-error @+1 {{expects a static number of KV heads; only batch and sequence may be dynamic}}
  %0 = llm.attention %q, %k, %k : tensor<?x?x4x16xf32>, tensor<?x?x?x16xf32>, tensor<?x?x?x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @attention_values_heads(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x4x16xf32>) {
  // expected-error @+1 {{expects the values' KV heads (4) to equal the keys' KV heads (2)}}
  %0 = llm.attention %q, %k, %v : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x4x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @attention_dynamic_head_dim(%q: tensor<?x?x4x?xf32>, %k: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects a static head_dim; only batch and sequence may be dynamic}}
  %0 = llm.attention %q, %k, %k : tensor<?x?x4x?xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @attention_head_dim(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x8xf32>, %v: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects the keys' head_dim (8) to equal the query's head_dim (16)}}
  %0 = llm.attention %q, %k, %v : tensor<?x?x4x16xf32>, tensor<?x?x2x8xf32>, tensor<?x?x2x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @attention_gqa(%q: tensor<?x?x6x16xf32>, %k: tensor<?x?x4x16xf32>) {
  // expected-error @+1 {{expects the number of query heads (6) to be a multiple of the number of KV heads (4)}}
  %0 = llm.attention %q, %k, %k : tensor<?x?x6x16xf32>, tensor<?x?x4x16xf32>, tensor<?x?x4x16xf32> -> tensor<?x?x6x16xf32>
  return
}

// -----

func.func @attention_positions_not_causal(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{expects 'causal' when positions are given: positions only shift the causal mask}}
  %0 = llm.attention %q, %k, %k, %pos : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>, tensor<?xi64> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @attention_positions_batch(%q: tensor<2x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %pos: tensor<4xi64>) {
  // expected-error @+1 {{expects positions' length (4) to equal the batch (2)}}
  %0 = llm.attention %q, %k, %k, %pos {causal} : tensor<2x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>, tensor<4xi64> -> tensor<2x?x4x16xf32>
  return
}

// -----

func.func @attention_scale(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects scale > 0, found -2}}
  %0 = llm.attention %q, %k, %k {scale = -2.0} : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @attention_result(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x8xf32>) {
  // expected-error @+1 {{expects result type 'tensor<?x?x4x8xf32>' (from the operands), found 'tensor<?x?x4x16xf32>'}}
  %0 = llm.attention %q, %k, %v : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @kv_update_layer(%c: !llm.kv_cache<2x?x128x2x16xf32>, %k: tensor<?x?x2x16xf32>, %pos: tensor<?xi64>) {
  %l = arith.constant 2 : index
  // expected-error @+1 {{expects layer in [0, 2), found 2}}
  %0 = llm.kv_cache.update %c[%l], %k, %k, %pos : !llm.kv_cache<2x?x128x2x16xf32>, tensor<?x?x2x16xf32>, tensor<?xi64>
  return
}

// -----

func.func @kv_update_rank(%c: !llm.kv_cache<2x?x128x2x16xf32>, %k: tensor<?x?x32xf32>, %pos: tensor<?xi64>) {
  %l0 = arith.constant 0 : index
  // expected-error @+1 {{expects keys of rank 4, found rank 3 ('tensor<?x?x32xf32>')}}
  %0 = llm.kv_cache.update %c[%l0], %k, %k, %pos : !llm.kv_cache<2x?x128x2x16xf32>, tensor<?x?x32xf32>, tensor<?xi64>
  return
}

// -----

func.func @kv_update_type(%c: !llm.kv_cache<2x?x128x2x16xf32>, %k: tensor<?x?x2x16xf16>, %pos: tensor<?xi64>) {
  %l0 = arith.constant 0 : index
  // expected-error @+1 {{expects keys element type 'f32', found 'f16'}}
  %0 = llm.kv_cache.update %c[%l0], %k, %k, %pos : !llm.kv_cache<2x?x128x2x16xf32>, tensor<?x?x2x16xf16>, tensor<?xi64>
  return
}

// -----

func.func @kv_update_batch(%c: !llm.kv_cache<2x4x128x2x16xf32>, %k: tensor<2x?x2x16xf32>, %pos: tensor<?xi64>) {
  %l0 = arith.constant 0 : index
  // expected-error @+1 {{expects the keys' batch (2) to equal the cache's batch (4)}}
  %0 = llm.kv_cache.update %c[%l0], %k, %k, %pos : !llm.kv_cache<2x4x128x2x16xf32>, tensor<2x?x2x16xf32>, tensor<?xi64>
  return
}

// -----

func.func @kv_update_heads(%c: !llm.kv_cache<2x?x128x2x16xf32>, %k: tensor<?x?x4x16xf32>, %pos: tensor<?xi64>) {
  %l0 = arith.constant 0 : index
  // expected-error @+1 {{expects the keys' KV heads (4) to equal the cache's kv_heads (2)}}
  %0 = llm.kv_cache.update %c[%l0], %k, %k, %pos : !llm.kv_cache<2x?x128x2x16xf32>, tensor<?x?x4x16xf32>, tensor<?xi64>
  return
}

// -----

func.func @kv_update_head_dim(%c: !llm.kv_cache<2x?x128x2x16xf32>, %k: tensor<?x?x2x8xf32>, %pos: tensor<?xi64>) {
  %l0 = arith.constant 0 : index
  // expected-error @+1 {{expects the keys' head_dim (8) to equal the cache's head_dim (16)}}
  %0 = llm.kv_cache.update %c[%l0], %k, %k, %pos : !llm.kv_cache<2x?x128x2x16xf32>, tensor<?x?x2x8xf32>, tensor<?xi64>
  return
}

// -----

func.func @kv_update_positions(%c: !llm.kv_cache<2x?x128x2x16xf32>, %k: tensor<3x?x2x16xf32>, %pos: tensor<2xi64>) {
  %l0 = arith.constant 0 : index
  // expected-error @+1 {{expects positions' length (2) to equal the batch (3)}}
  %0 = llm.kv_cache.update %c[%l0], %k, %k, %pos : !llm.kv_cache<2x?x128x2x16xf32>, tensor<3x?x2x16xf32>, tensor<2xi64>
  return
}

// -----

func.func @kv_update_too_long(%c: !llm.kv_cache<2x?x128x2x16xf32>, %k: tensor<?x200x2x16xf32>, %pos: tensor<?xi64>) {
  %l0 = arith.constant 0 : index
  // expected-error @+1 {{expects at most max_seq (128) new positions, found 200}}
  %0 = llm.kv_cache.update %c[%l0], %k, %k, %pos : !llm.kv_cache<2x?x128x2x16xf32>, tensor<?x200x2x16xf32>, tensor<?xi64>
  return
}

// -----

func.func @kv_update_values(%c: !llm.kv_cache<2x?x128x2x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x1x2x16xf32>, %pos: tensor<?xi64>) {
  %l0 = arith.constant 0 : index
  // expected-error @+1 {{all of {keys, values} have same type}}
  %0 = "llm.kv_cache.update"(%c, %l0, %k, %v, %pos) : (!llm.kv_cache<2x?x128x2x16xf32>, index, tensor<?x?x2x16xf32>, tensor<?x1x2x16xf32>, tensor<?xi64>) -> !llm.kv_cache<2x?x128x2x16xf32>
  return
}

// -----

func.func @kv_read_layer(%c: !llm.kv_cache<2x?x128x2x16xf32>) {
  %l = arith.constant -1 : index
  // expected-error @+1 {{expects layer in [0, 2), found -1}}
  %k, %v = llm.kv_cache.read %c[%l] : !llm.kv_cache<2x?x128x2x16xf32> -> tensor<?x128x2x16xf32>, tensor<?x128x2x16xf32>
  return
}

// -----

func.func @kv_read_keys(%c: !llm.kv_cache<2x?x128x2x16xf32>) {
  %l0 = arith.constant 0 : index
  // expected-error @+1 {{expects result type 'tensor<?x128x2x16xf32>' (from the operands), found 'tensor<?x64x2x16xf32>'}}
  %k, %v = llm.kv_cache.read %c[%l0] : !llm.kv_cache<2x?x128x2x16xf32> -> tensor<?x64x2x16xf32>, tensor<?x128x2x16xf32>
  return
}

// -----

func.func @kv_read_values(%c: !llm.kv_cache<2x?x128x2x16xf32>) {
  %l0 = arith.constant 0 : index
  // expected-error @+1 {{expects result type 'tensor<?x128x2x16xf32>' (from the operands), found 'tensor<?x128x2x16xf16>'}}
  %k, %v = llm.kv_cache.read %c[%l0] : !llm.kv_cache<2x?x128x2x16xf32> -> tensor<?x128x2x16xf32>, tensor<?x128x2x16xf16>
  return
}

// -----

func.func @softmax_axis(%x: tensor<?x256xf32>) {
  // expected-error @+1 {{expects axis in [-2, 2), found 2}}
  %0 = llm.softmax %x {axis = 2} : tensor<?x256xf32>
  return
}

// -----

func.func @add_types(%a: tensor<?x64xf32>, %b: tensor<?x64xf16>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %0 = "llm.add"(%a, %b) : (tensor<?x64xf32>, tensor<?x64xf16>) -> tensor<?x64xf32>
  return
}

// -----

func.func @linear_in_out_features(%x: tensor<?x64xf32>, %c: tensor<192x64xf32>) {
  // expected-error @+1 {{expects the input's last dimension (64) to equal the weight's in_features (dim 0) (192)}}
  %0 = llm.linear %x, %c {weight_in_out} : tensor<?x64xf32>, tensor<192x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @linear_in_out_bias(%x: tensor<?x64xf32>, %c: tensor<64x192xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{expects the bias' length (64) to equal the weight's out_features (dim 1) (192)}}
  %0 = llm.linear %x, %c, %b {weight_in_out} : tensor<?x64xf32>, tensor<64x192xf32>, tensor<64xf32> -> tensor<?x192xf32>
  return
}

// -----

func.func @split_no_results(%x: tensor<?x192xf32>) {
  // expected-error @+1 {{expects at least one result}}
  "llm.split"(%x) : (tensor<?x192xf32>) -> ()
  return
}

// -----

func.func @split_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{expects an input of rank >= 1, found 'tensor<f32>'}}
  %0 = llm.split %x : tensor<f32> -> tensor<f32>
  return
}

// -----

func.func @split_dynamic(%x: tensor<?x?xf32>) {
  // expected-error @+1 {{expects a static input last dimension; only batch and sequence may be dynamic}}
  %0, %1 = llm.split %x : tensor<?x?xf32> -> tensor<?x4xf32>, tensor<?x4xf32>
  return
}

// -----

func.func @split_rank(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{expects result #1 of rank 2, found rank 1 ('tensor<4xf32>')}}
  %0, %1 = llm.split %x : tensor<?x8xf32> -> tensor<?x4xf32>, tensor<4xf32>
  return
}

// -----

func.func @split_type(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{expects result #0 element type 'f32', found 'f16'}}
  %0, %1 = llm.split %x : tensor<?x8xf32> -> tensor<?x4xf16>, tensor<?x4xf32>
  return
}

// -----

func.func @split_leading(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{expects dimension 0 of result #1 (3) to equal the input's dimension 0 (2)}}
  %0, %1 = llm.split %x : tensor<2x8xf32> -> tensor<2x4xf32>, tensor<3x4xf32>
  return
}

// -----

func.func @split_dynamic_part(%x: tensor<?x8xf32>) {
  // expected-error @+1 {{expects a static last dimension of result #0; only batch and sequence may be dynamic}}
  %0, %1 = llm.split %x : tensor<?x8xf32> -> tensor<?x?xf32>, tensor<?x4xf32>
  return
}

// -----

func.func @split_sum(%x: tensor<?x192xf32>) {
  // expected-error @+1 {{expects the results' last dimensions to add up to the input's (192), found 128}}
  %0, %1 = llm.split %x : tensor<?x192xf32> -> tensor<?x64xf32>, tensor<?x64xf32>
  return
}

// -----

func.func @position_ids_rank(%pos: tensor<?xi64>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{expects ids of rank 2, found rank 1 ('tensor<?xi32>')}}
  %0 = llm.position_ids %pos, %ids : tensor<?xi64>, tensor<?xi32> -> tensor<?xi64>
  return
}

// -----

func.func @position_ids_batch(%pos: tensor<3xi64>, %ids: tensor<2x?xi32>) {
  // expected-error @+1 {{expects positions' length (3) to equal the batch (2)}}
  %0 = llm.position_ids %pos, %ids : tensor<3xi64>, tensor<2x?xi32> -> tensor<2x?xi64>
  return
}

// -----

func.func @position_ids_result(%pos: tensor<?xi64>, %ids: tensor<?x?xi32>) {
  // expected-error @+1 {{expects result type 'tensor<?x?xi64>' (from the operands), found 'tensor<?x?xi32>'}}
  %0 = llm.position_ids %pos, %ids : tensor<?xi64>, tensor<?x?xi32> -> tensor<?x?xi32>
  return
}

// -----

func.func @sliding_window_not_causal(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects 'causal' with a sliding_window}}
  %0 = llm.attention %q, %k, %k {sliding_window = 8} : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @sliding_window_zero(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects sliding_window > 0, found 0}}
  %0 = llm.attention %q, %k, %k {causal, sliding_window = 0} : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @select_tokens_rank(%h: tensor<?x64xf32>, %last: tensor<?xi64>) {
  // expected-error @+1 {{expects input of rank 3, found rank 2 ('tensor<?x64xf32>')}}
  %0 = llm.select_tokens %h, %last : tensor<?x64xf32>, tensor<?xi64> -> tensor<?x1x64xf32>
  return
}

// -----

func.func @select_tokens_batch(%h: tensor<2x?x64xf32>, %last: tensor<3xi64>) {
  // expected-error @+1 {{expects positions' length (3) to equal the batch (2)}}
  %0 = llm.select_tokens %h, %last : tensor<2x?x64xf32>, tensor<3xi64> -> tensor<2x1x64xf32>
  return
}

// -----

func.func @select_tokens_result(%h: tensor<?x?x64xf32>, %last: tensor<?xi64>) {
  // expected-error @+1 {{expects result type 'tensor<?x1x64xf32>' (from the operands), found 'tensor<?x2x64xf32>'}}
  %0 = llm.select_tokens %h, %last : tensor<?x?x64xf32>, tensor<?xi64> -> tensor<?x2x64xf32>
  return
}

// -----

// expected-error @+1 {{expects both the slice offsets and the stored shape, or neither}}
"llm.param"() <{sym_name = "p", type = tensor<4xf32>, source = "p", offsets = array<i64: 0>}> : () -> ()

// -----

// expected-error @+1 {{slice dimension 1: [96, 160) is outside the stored size 128}}
llm.param @p : tensor<32x64xf32> from "p" slice [0, 96] of [32, 128]

// -----

// expected-error @+1 {{expects 2 slice offsets and stored dimensions (the type's rank), found 1 and 1}}
llm.param @p : tensor<32x64xf32> from "p" slice [0] of [32]

// -----

func.func @negative_offset(%table: tensor<128x32xf32>, %ids: tensor<?x?xi32>) -> tensor<?x?x32xf32> {
  // expected-error @+1 {{expects a non-negative vocab_offset, found -1}}
  %h = llm.embedding %table, %ids {vocab_offset = -1 : i64} : tensor<128x32xf32>, tensor<?x?xi32> -> tensor<?x?x32xf32>
  return %h : tensor<?x?x32xf32>
}

// -----

func.func @bad_axis(%a: memref<4xf32>) {
  // expected-error @+1 {{expects distinct mesh axes in [0, 2] (dp, pp, tp), found 3}}
  llm.all_reduce_buffer %a {mesh_axes = array<i64: 3>} : memref<4xf32>
  return
}

// -----

func.func @repeated_axis(%a: memref<4xf32>) {
  // expected-error @+1 {{expects distinct mesh axes in [0, 2] (dp, pp, tp), found 2}}
  llm.all_reduce_buffer %a {mesh_axes = array<i64: 2, 2>} : memref<4xf32>
  return
}

// -----

func.func @no_axis(%a: memref<4xf32>) {
  // expected-error @+1 {{expects at least one mesh axis}}
  llm.all_reduce_buffer %a {mesh_axes = array<i64>} : memref<4xf32>
  return
}

// -----

func.func @strided(%a: memref<4xf32, strided<[2]>>) {
  // expected-error @+1 {{expects contiguous buffers (identity layout), found 'memref<4xf32, strided<[2]>>'}}
  llm.send_buffer %a {mesh_axes = array<i64: 1>, peer = 1 : i64} : memref<4xf32, strided<[2]>>
  return
}

// -----

func.func @gather_axis(%a: memref<4xf32>, %b: memref<8xf32>) {
  // expected-error @+1 {{expects input and output of one rank and a gather axis below it, found 'memref<4xf32>', 'memref<8xf32>', axis 1}}
  llm.all_gather_buffer %a, %b {gather_axis = 1 : i64, mesh_axes = array<i64: 2>} : memref<4xf32>, memref<8xf32>
  return
}

// -----

func.func @gather_types(%a: memref<4xf32>, %b: memref<8xf16>) {
  // expected-error @+1 {{expects one element type, found 'f32' and 'f16'}}
  llm.all_gather_buffer %a, %b {gather_axis = 0 : i64, mesh_axes = array<i64: 2>} : memref<4xf32>, memref<8xf16>
  return
}

// -----

func.func @negative_peer(%a: memref<4xf32>) {
  // expected-error @+1 {{expects a non-negative peer, found -1}}
  llm.recv_buffer %a {mesh_axes = array<i64: 1>, peer = -1 : i64} : memref<4xf32>
  return
}

// -----

func.func @fused_attention_mixed(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %o: memref<?x?x4x16xf32>) {
  // expected-error @+1 {{expects all operands on tensors or all on buffers, found 'memref<?x?x4x16xf32>'}}
  llm.fused_attention %q, %k, %k into %o {scale = 0.25} : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32> into memref<?x?x4x16xf32>
  return
}

// -----

func.func @fused_attention_heads(%q: tensor<?x?x3x16xf32>, %k: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects the number of query heads (3) to be a multiple of the number of KV heads (2)}}
  %0 = llm.fused_attention %q, %k, %k into %q {scale = 0.25} : tensor<?x?x3x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32> into tensor<?x?x3x16xf32> -> tensor<?x?x3x16xf32>
  return
}

// -----

func.func @fused_attention_init(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %v: tensor<?x?x2x8xf32>) {
  // expected-error @+1 {{expects init's head_dim (16) to equal the values' head_dim (8)}}
  %0 = llm.fused_attention %q, %k, %v into %q {scale = 0.25} : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x8xf32> into tensor<?x?x4x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @fused_attention_positions(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>, %pos: tensor<?xi64>) {
  // expected-error @+1 {{expects 'causal' when positions are given}}
  %0 = llm.fused_attention %q, %k, %k, %pos into %q {scale = 0.25} : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>, tensor<?xi64> into tensor<?x?x4x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @fused_attention_scale(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects scale > 0, found 0}}
  %0 = llm.fused_attention %q, %k, %k into %q {scale = 0.0} : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32> into tensor<?x?x4x16xf32> -> tensor<?x?x4x16xf32>
  return
}

// -----

func.func @fused_attention_result(%q: tensor<?x?x4x16xf32>, %k: tensor<?x?x2x16xf32>) {
  // expected-error @+1 {{expects one result of init's type on tensors, none on buffers}}
  llm.fused_attention %q, %k, %k into %q {scale = 0.25} : tensor<?x?x4x16xf32>, tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32> into tensor<?x?x4x16xf32>
  return
}
