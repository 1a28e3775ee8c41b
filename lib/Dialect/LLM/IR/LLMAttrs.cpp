//===- LLMAttrs.cpp - Attributes and enums of the llm dialect -------------===//

#include "llmc/Dialect/LLM/IR/LLMAttrs.h"
#include "llmc/Dialect/LLM/IR/LLMDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::llm;

#include "llmc/Dialect/LLM/IR/LLMEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "llmc/Dialect/LLM/IR/LLMAttrs.cpp.inc"

void LLMDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "llmc/Dialect/LLM/IR/LLMAttrs.cpp.inc"
      >();
}

LogicalResult
RopeScalingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        RopeScalingKind kind, FloatAttr factor,
                        FloatAttr lowFreqFactor, FloatAttr highFreqFactor,
                        std::optional<int64_t> originalMaxPositions) {
  if (!(factor.getValueAsDouble() > 0.0))
    return emitError() << "rope_scaling expects factor > 0, found "
                       << factor.getValueAsDouble();
  bool hasLlama3Fields =
      lowFreqFactor || highFreqFactor || originalMaxPositions.has_value();
  if (kind == RopeScalingKind::linear) {
    if (hasLlama3Fields)
      return emitError() << "rope_scaling 'linear' takes only factor; "
                            "low_freq_factor, high_freq_factor and "
                            "original_max_position_embeddings belong to "
                            "'llama3'";
    return success();
  }
  if (!lowFreqFactor || !highFreqFactor || !originalMaxPositions)
    return emitError() << "rope_scaling 'llama3' expects low_freq_factor, "
                          "high_freq_factor and "
                          "original_max_position_embeddings";
  double low = lowFreqFactor.getValueAsDouble();
  double high = highFreqFactor.getValueAsDouble();
  if (!(low > 0.0) || !(high > low))
    return emitError() << "rope_scaling 'llama3' expects 0 < low_freq_factor "
                          "< high_freq_factor, found "
                       << low << " and " << high;
  if (*originalMaxPositions <= 0)
    return emitError() << "rope_scaling 'llama3' expects "
                          "original_max_position_embeddings > 0, found "
                       << *originalMaxPositions;
  return success();
}
