//===- ModelConfigFuzzer.cpp - libFuzzer target for config.json -----------===//
//
// Feeds arbitrary text as config.json to the config reader, which must
// answer with a config or one error line, never crash.
//
//===----------------------------------------------------------------------===//

#include "llmc/Import/ModelConfig.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<llmc::ModelConfig> config =
      llmc::parseModelConfig(text, "config.json");
  if (!config) {
    llvm::consumeError(config.takeError());
    return 0;
  }
  // A config that passes has consistent attention shapes.
  if (config->numHeads % config->numKVHeads != 0 || config->headDim <= 0)
    __builtin_trap();
  return 0;
}
