//===- LLMDialect.h - The llm dialect ---------------------------*- C++ -*-===//
//
// Declares the `llm` dialect: Transformer models at tensor level.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_DIALECT_LLM_IR_LLMDIALECT_H
#define LLMC_DIALECT_LLM_IR_LLMDIALECT_H

#include "mlir/IR/Dialect.h"

#include "llmc/Dialect/LLM/IR/LLMOpsDialect.h.inc"

#endif // LLMC_DIALECT_LLM_IR_LLMDIALECT_H
