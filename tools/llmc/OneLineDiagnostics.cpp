//===- OneLineDiagnostics.cpp - Diagnostics as single lines ---------------===//

#include "OneLineDiagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"

using namespace mlir;

namespace llmc {

/// The first file position inside `loc` (through names, call sites and
/// fusions), if any.
static std::optional<FileLineColLoc> findFileLocation(Location loc) {
  std::optional<FileLineColLoc> found;
  loc->walk([&](Location nested) {
    if (auto fileLoc = dyn_cast<FileLineColLoc>(nested)) {
      found = fileLoc;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return found;
}

OneLineDiagnosticHandler::OneLineDiagnosticHandler(MLIRContext *context,
                                                   llvm::raw_ostream &os)
    : ScopedDiagnosticHandler(context), os(os) {
  setHandler([this](Diagnostic &diag) { return report(diag); });
}

LogicalResult OneLineDiagnosticHandler::report(Diagnostic &diag) {
  StringRef kind;
  switch (diag.getSeverity()) {
  case DiagnosticSeverity::Error:
    kind = "error";
    ++numErrors;
    break;
  case DiagnosticSeverity::Warning:
    kind = "warning";
    break;
  case DiagnosticSeverity::Note:
  case DiagnosticSeverity::Remark:
    return success();
  }
  if (std::optional<FileLineColLoc> loc = findFileLocation(diag.getLocation()))
    os << loc->getFilename().getValue() << ':' << loc->getLine() << ':'
       << loc->getColumn() << ": ";
  else
    os << "llmc: ";
  std::string message = diag.str();
  std::replace(message.begin(), message.end(), '\n', ' ');
  os << kind << ": " << message << '\n';
  os.flush();
  return success();
}

} // namespace llmc
