//===- HostCode.h - LLVM dialect to native host code ------------*- C++ -*-===//
//
// The last step for CPU targets: the LLVM-dialect module becomes LLVM IR,
// is optimized (O3) and compiled for the host CPU in-process, and is linked
// into a shared library with ld.lld that the runtime dlopens.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TARGET_HOSTCODE_H
#define LLMC_TARGET_HOSTCODE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace llvm {
class TargetMachine;
} // namespace llvm

namespace llmc {

/// Gives `module` the machine's triple and data layout and optimizes it at
/// O3 for that machine.
llvm::Error optimizeFor(llvm::Module &module, llvm::TargetMachine &machine);

/// Translates `module` (LLVM dialect) to LLVM IR with the host's triple and
/// data layout, optimized at O3.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateForHost(mlir::ModuleOp module, llvm::LLVMContext &context);

/// Compiles `module` (LLVM dialect) for the host and links it into the
/// shared library `path`.
llvm::Error emitHostSharedLibrary(mlir::ModuleOp module, llvm::StringRef path);

/// The same for a module already in LLVM IR (its triple and data layout
/// replaced by the host's).
llvm::Error emitHostSharedLibrary(llvm::Module &module, llvm::StringRef path);

} // namespace llmc

#endif // LLMC_TARGET_HOSTCODE_H
