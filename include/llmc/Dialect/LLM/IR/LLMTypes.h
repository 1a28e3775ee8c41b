//===- LLMTypes.h - Types of the llm dialect --------------------*- C++ -*-===//

#ifndef LLMC_DIALECT_LLM_IR_LLMTYPES_H
#define LLMC_DIALECT_LLM_IR_LLMTYPES_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "llmc/Dialect/LLM/IR/LLMOpsTypes.h.inc"

#endif // LLMC_DIALECT_LLM_IR_LLMTYPES_H
