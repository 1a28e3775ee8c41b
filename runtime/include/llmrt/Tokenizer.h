//===- Tokenizer.h - Text to token ids and back -----------------*- C++ -*-===//
//
// The tokenizers checkpoints ship: tokenizer.json with a byte-level BPE model
// (GPT-2, Llama 3, Qwen2; pre-tokenizer regexes through PCRE2, NFC through
// utf8proc) and tokenizer.model (SentencePiece, Llama 2, through
// libsentencepiece). Encoding matches Hugging Face tokenizers.
//
//===----------------------------------------------------------------------===//

#ifndef LLMRT_TOKENIZER_H
#define LLMRT_TOKENIZER_H

#include "llmrt/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

class Tokenizer {
public:
  virtual ~Tokenizer();

  /// Loads `dir`/tokenizer.json, else `dir`/tokenizer.model; `found` is
  /// false (and the status ok) when there is neither.
  static Status open(const std::string &dir, std::unique_ptr<Tokenizer> &out,
                     bool &found);
  /// Loads one tokenizer file (.json or SentencePiece model).
  static Status openFile(const std::string &path,
                         std::unique_ptr<Tokenizer> &out);

  /// The ids of `text`; with `addSpecialTokens`, also the tokens the
  /// tokenizer puts around a sequence (a BOS, for most models).
  virtual Status encode(std::string_view text, bool addSpecialTokens,
                        std::vector<int32_t> &ids) const = 0;
  /// The text of `ids` (special tokens included as their text). Bytes of a
  /// character cut by the end of `ids` come out as they are.
  virtual std::string decode(const std::vector<int32_t> &ids) const = 0;
};

/// Turns ids, as they are generated, into text that can be printed at once:
/// each call returns what the new id adds, holding back an incomplete UTF-8
/// character until its last byte arrives.
class TextStream {
public:
  explicit TextStream(const Tokenizer &tokenizer) : tokenizer(tokenizer) {}
  std::string push(int32_t id);
  /// What is still held back (bytes that never completed a character).
  std::string finish();

private:
  const Tokenizer &tokenizer;
  std::vector<int32_t> ids;
  size_t emitted = 0;
};

} // namespace llmrt

#endif // LLMRT_TOKENIZER_H
