//===- Error.h - One-line errors as llvm::Error -----------------*- C++ -*-===//

#ifndef LLMC_SUPPORT_ERROR_H
#define LLMC_SUPPORT_ERROR_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

namespace llmc {

/// An error carrying one line for the user (file, field, expected, found).
inline llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 message.str());
}

/// A failure whose diagnostics were already printed (by MLIR's handler):
/// the tool adds no second line.
inline llvm::Error makeReportedError() { return makeError(""); }

} // namespace llmc

#endif // LLMC_SUPPORT_ERROR_H
