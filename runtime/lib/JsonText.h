//===- JsonText.h - JSON parsing that reports where it failed ---*- C++ -*-===//
//
// The runtime reads JSON (safetensors headers, checkpoint indexes, artifact
// manifests) with nlohmann::json, built without exceptions. This wrapper
// parses without ever throwing and turns a syntax error into a message with
// its byte position.
//
//===----------------------------------------------------------------------===//

#ifndef LLMRT_LIB_JSONTEXT_H
#define LLMRT_LIB_JSONTEXT_H

#include "llmrt/Status.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace llmrt {

/// Parses `text` into `out`; on a syntax error returns
/// "<what>: malformed JSON at line L, column C: <reason>".
Status parseJsonText(std::string_view text, std::string_view what,
                     nlohmann::json &out);

/// Reads and parses the JSON file at `path` ("<path>: cannot open" when it
/// cannot be read).
Status readJsonFile(const std::string &path, nlohmann::json &out);

/// A non-negative integer that fits int64_t, or nullopt.
std::optional<int64_t> getNonNegativeInt(const nlohmann::json &value);

} // namespace llmrt

#endif // LLMRT_LIB_JSONTEXT_H
