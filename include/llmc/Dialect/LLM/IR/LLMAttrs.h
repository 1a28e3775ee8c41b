//===- LLMAttrs.h - Attributes and enums of the llm dialect -----*- C++ -*-===//

#ifndef LLMC_DIALECT_LLM_IR_LLMATTRS_H
#define LLMC_DIALECT_LLM_IR_LLMATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "llmc/Dialect/LLM/IR/LLMEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "llmc/Dialect/LLM/IR/LLMAttrs.h.inc"

#endif // LLMC_DIALECT_LLM_IR_LLMATTRS_H
