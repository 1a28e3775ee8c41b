//===- Status.h - Success or one error line ---------------------*- C++ -*-===//
//
// The runtime builds without LLVM, so it cannot use llvm::Error; a Status is
// the same idea reduced to what the runtime needs: ok, or one message that
// names the file, field or tensor and what was expected.
//
//===----------------------------------------------------------------------===//

#ifndef LLMRT_STATUS_H
#define LLMRT_STATUS_H

#include <string>
#include <utility>

namespace llmrt {

class [[nodiscard]] Status {
public:
  /// Success.
  Status() = default;
  static Status error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !failed; }
  explicit operator bool() const { return failed; }
  const std::string &message() const { return text; }

private:
  explicit Status(std::string message)
      : failed(true), text(std::move(message)) {}

  bool failed = false;
  std::string text;
};

} // namespace llmrt

#endif // LLMRT_STATUS_H
