//===- LLMDialect.cpp - Registration of the llm dialect -------------------===//

#include "llmc/Dialect/LLM/IR/LLMDialect.h"
#include "llmc/Dialect/LLM/IR/LLMOps.h"

using namespace mlir;
using namespace mlir::llm;

#include "llmc/Dialect/LLM/IR/LLMOpsDialect.cpp.inc"

void LLMDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "llmc/Dialect/LLM/IR/LLMOps.cpp.inc"
      >();
  registerTypes();
  registerAttributes();
}
