//===- LLMAttrs.td - Attributes and enums of the llm dialect -*- tablegen -*-===//

#ifndef LLMC_DIALECT_LLM_IR_LLMATTRS_TD
#define LLMC_DIALECT_LLM_IR_LLMATTRS_TD

include "llmc/Dialect/LLM/IR/LLMDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def LLM_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "how gelu computes the Gaussian CDF", [
      I32EnumAttrCase<"erf", 0>,
      I32EnumAttrCase<"tanh", 1>
    ]> {
  let cppNamespace = "::mlir::llm";
}

def LLM_RopeScalingKind : I32EnumAttr<"RopeScalingKind",
    "how rotary frequencies are rescaled for long contexts", [
      I32EnumAttrCase<"linear", 0>,
      I32EnumAttrCase<"llama3", 1>
    ]> {
  let cppNamespace = "::mlir::llm";
  let genSpecializedAttr = 0;
}

def LLM_RopeScalingAttr : AttrDef<LLM_Dialect, "RopeScaling"> {
  let mnemonic = "rope_scaling";
  let summary = "rescaling of rotary frequencies (config.json `rope_scaling`)";
  let description = [{
    Mirrors the `rope_scaling` entry of a Hugging Face config.

    - `linear`: every position is divided by `factor`.
    - `llama3`: frequencies whose wavelength exceeds
      `original_max_position_embeddings / low_freq_factor` are divided by
      `factor`, those below `original_max_position_embeddings /
      high_freq_factor` are kept, and those between are interpolated smoothly.

    Example:
    ```mlir
    #llm.rope_scaling<linear, factor = 2.0>
    #llm.rope_scaling<llama3, factor = 8.0, low_freq_factor = 1.0,
                      high_freq_factor = 4.0,
                      original_max_position_embeddings = 8192>
    ```
  }];
  let parameters = (ins
    EnumParameter<LLM_RopeScalingKind>:$kind,
    "::mlir::FloatAttr":$factor,
    OptionalParameter<"::mlir::FloatAttr">:$low_freq_factor,
    OptionalParameter<"::mlir::FloatAttr">:$high_freq_factor,
    OptionalParameter<"std::optional<int64_t>">:$original_max_position_embeddings
  );
  let assemblyFormat = [{
    `<` $kind `,` struct($factor, $low_freq_factor, $high_freq_factor,
                         $original_max_position_embeddings) `>`
  }];
  let genVerifyDecl = 1;
}

#endif // LLMC_DIALECT_LLM_IR_LLMATTRS_TD
