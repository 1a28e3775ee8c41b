//===- SafetensorsHeaderFuzzer.cpp - libFuzzer target for headers ---------===//
//
// Feeds arbitrary bytes as a whole .safetensors file to the header parser,
// which must answer with success or one error, never crash or over-read
// (AddressSanitizer watches the reads).
//
//===----------------------------------------------------------------------===//

#include "llmrt/Safetensors.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llmrt::SafetensorsHeader header;
  llmrt::Status status = llmrt::SafetensorsHeader::parseFile(
      std::string_view(reinterpret_cast<const char *>(data), size),
      "fuzz.safetensors", header);
  if (status.ok())
    for (const llmrt::TensorInfo &tensor : header.getTensors())
      if (tensor.end > header.getDataSize() || tensor.begin > tensor.end)
        __builtin_trap();
  return 0;
}
