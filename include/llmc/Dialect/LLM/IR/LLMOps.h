//===- LLMOps.h - Operations of the llm dialect -----------------*- C++ -*-===//

#ifndef LLMC_DIALECT_LLM_IR_LLMOPS_H
#define LLMC_DIALECT_LLM_IR_LLMOPS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llmc/Dialect/LLM/IR/LLMAttrs.h"
#include "llmc/Dialect/LLM/IR/LLMDialect.h"
#include "llmc/Dialect/LLM/IR/LLMTypes.h"

namespace mlir::llm {
/// What collectives read and write besides their buffers: the other ranks.
struct CommunicationResource
    : public SideEffects::Resource::Base<CommunicationResource> {
  StringRef getName() final { return "Communication"; }
};
} // namespace mlir::llm

#define GET_OP_CLASSES
#include "llmc/Dialect/LLM/IR/LLMOps.h.inc"

#endif // LLMC_DIALECT_LLM_IR_LLMOPS_H
