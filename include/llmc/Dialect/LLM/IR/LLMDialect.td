//===- LLMDialect.td - The llm dialect definition ----------*- tablegen -*-===//
//
// The `llm` dialect: Transformer models at tensor level, weights external.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECT_LLM_IR_LLMDIALECT_TD
#define LLMC_DIALECT_LLM_IR_LLMDIALECT_TD

include "mlir/IR/OpBase.td"

def LLM_Dialect : Dialect {
  let name = "llm";
  let cppNamespace = "::mlir::llm";
  let summary = "Transformer language models at tensor level";
  let description = [{
    The `llm` dialect holds a Transformer language model between import and
    code generation. Its ops work on ranked tensors with static model
    dimensions (hidden size, heads, vocabulary) and dynamic batch and sequence
    dimensions (`?`).

    Weights are never dense constants: a module-level `llm.param` names each
    parameter with its type and the tensor it refers to in the weight store,
    and functions read it with `llm.get_param`. The KV cache is an explicit
    SSA value of type `!llm.kv_cache`, threaded through the `prefill` and
    `decode` entry points so that passes and the runtime agree on its layout.

    Positions are given per sequence as the index of the first token of the
    current chunk (`tensor<?xi64>`, one entry per batch row): token `s` of row
    `b` sits at position `positions[b] + s`. Rotary embeddings, cache writes
    and the causal mask of attention all use this one convention.
  }];
  let useDefaultTypePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
    void registerTypes();
  }];
  let useDefaultAttributePrinterParser = 1;
}

class LLM_Op<string mnemonic, list<Trait> traits = []>
    : Op<LLM_Dialect, mnemonic, traits>;

#endif // LLMC_DIALECT_LLM_IR_LLMDIALECT_TD
