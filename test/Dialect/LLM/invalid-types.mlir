// Errors of the llm types and attributes, with their exact messages.
// RUN: llmc-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{!llm.kv_cache expects 5 dimensions (layers x batch x max_seq x kv_heads x head_dim), found 4}}
func.func private @dims(!llm.kv_cache<2x?x128x16xf32>)

// -----

// expected-error @+1 {{!llm.kv_cache expects a static max_seq; only the batch may be dynamic}}
func.func private @dynamic_seq(!llm.kv_cache<2x?x?x2x16xf32>)

// -----

// expected-error @+1 {{!llm.kv_cache expects a static layers; only the batch may be dynamic}}
func.func private @dynamic_layers(!llm.kv_cache<?x1x8x2x16xf32>)

// -----

// expected-error @+1 {{!llm.kv_cache expects kv_heads > 0, found 0}}
func.func private @zero_heads(!llm.kv_cache<2x?x128x0x16xf32>)

// -----

// expected-error @+1 {{!llm.kv_cache expects a floating-point element type, found 'i8'}}
func.func private @int_cache(!llm.kv_cache<2x?x128x2x16xi8>)

// -----

// expected-error @+1 {{rope_scaling expects factor > 0, found -1}}
func.func private @scaling() attributes {s = #llm.rope_scaling<linear, factor = -1.0>}

// -----

// expected-error @+2 {{expected ::mlir::llm::RopeScalingKind to be one of: linear, llama3}}
// expected-error @+1 {{failed to parse LLM_RopeScalingAttr parameter 'kind'}}
func.func private @scaling_kind() attributes {s = #llm.rope_scaling<yarn, factor = 2.0>}
