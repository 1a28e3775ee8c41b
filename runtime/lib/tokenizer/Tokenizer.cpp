//===- Tokenizer.cpp - Choosing a tokenizer, streaming text ---------------===//

#include "llmrt/Tokenizer.h"

#include "BPETokenizer.h"
#include "SentencePieceTokenizer.h"

#include <sys/stat.h>

namespace llmrt {

Tokenizer::~Tokenizer() = default;

static bool exists(const std::string &path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

Status Tokenizer::openFile(const std::string &path,
                           std::unique_ptr<Tokenizer> &out) {
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0)
    return BPETokenizer::load(path, out);
  return SentencePieceTokenizer::load(path, out);
}

Status Tokenizer::open(const std::string &dir, std::unique_ptr<Tokenizer> &out,
                       bool &found) {
  found = false;
  for (const char *name : {"tokenizer.json", "tokenizer.model"}) {
    std::string path = dir + "/" + name;
    if (exists(path)) {
      found = true;
      return openFile(path, out);
    }
  }
  return {};
}

/// The length of the longest prefix of `text` that ends on a UTF-8
/// character boundary.
static size_t completeUtf8Prefix(const std::string &text) {
  size_t end = text.size();
  // Look back over at most 3 continuation bytes for a lead byte.
  for (size_t back = 1; back <= 4 && back <= text.size(); ++back) {
    unsigned char byte = text[text.size() - back];
    if ((byte & 0xC0) == 0x80)
      continue;
    size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2
                                   : (byte >> 4) == 0xE ? 3
                                   : (byte >> 3) == 0x1E ? 4
                                                         : 1;
    if (back < length)
      end = text.size() - back;
    break;
  }
  return end;
}

std::string TextStream::push(int32_t id) {
  ids.push_back(id);
  std::string text = tokenizer.decode(ids);
  size_t end = completeUtf8Prefix(text);
  if (end <= emitted)
    return {};
  std::string piece = text.substr(emitted, end - emitted);
  emitted = end;
  return piece;
}

} // namespace llmrt

namespace llmrt {

std::string TextStream::finish() {
  std::string text = tokenizer.decode(ids);
  std::string rest = emitted < text.size() ? text.substr(emitted) : "";
  emitted = text.size();
  return rest;
}

} // namespace llmrt
