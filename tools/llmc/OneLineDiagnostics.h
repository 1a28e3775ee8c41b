//===- OneLineDiagnostics.h - Diagnostics as single lines -------*- C++ -*-===//
//
// Users of llmc get each error as one line, `file:line:col: error: message`,
// the way compilers report them, without echoing source or IR.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TOOLS_LLMC_ONELINEDIAGNOSTICS_H
#define LLMC_TOOLS_LLMC_ONELINEDIAGNOSTICS_H

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"

namespace llmc {

/// While alive, prints every error and warning of `context` as one line on
/// `os` and drops notes and remarks.
class OneLineDiagnosticHandler : public mlir::ScopedDiagnosticHandler {
public:
  OneLineDiagnosticHandler(mlir::MLIRContext *context, llvm::raw_ostream &os);

  /// The number of errors reported so far.
  unsigned getNumErrors() const { return numErrors; }

private:
  mlir::LogicalResult report(mlir::Diagnostic &diag);

  llvm::raw_ostream &os;
  unsigned numErrors = 0;
};

} // namespace llmc

#endif // LLMC_TOOLS_LLMC_ONELINEDIAGNOSTICS_H
