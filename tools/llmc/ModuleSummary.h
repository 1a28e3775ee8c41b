//===- ModuleSummary.h - What `llmc explain` tells about a model -*- C++ -*-===//

#ifndef LLMC_TOOLS_LLMC_MODULESUMMARY_H
#define LLMC_TOOLS_LLMC_MODULESUMMARY_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace llmc {

/// Prints a human-readable summary of an `llm` module: its entry points,
/// parameters (count, elements, bytes by element type), KV caches and op
/// counts. Reads only the IR, never weight data.
void printModuleSummary(mlir::ModuleOp module, llvm::raw_ostream &os);

} // namespace llmc

#endif // LLMC_TOOLS_LLMC_MODULESUMMARY_H
