//===- BPETokenizer.h - tokenizer.json with a byte-level BPE ----*- C++ -*-===//

#ifndef LLMRT_LIB_TOKENIZER_BPETOKENIZER_H
#define LLMRT_LIB_TOKENIZER_BPETOKENIZER_H

#include "llmrt/Tokenizer.h"

#include <array>
#include <unordered_map>

struct pcre2_real_code_8;

namespace llmrt {

/// Hugging Face's byte-level BPE: added tokens split the text first, then
/// an optional NFC normalizer, the pre-tokenizer regex (GPT-2's, or an
/// explicit Split), bytes mapped to printable characters, and BPE merges by
/// rank; a TemplateProcessing post-processor adds special tokens.
class BPETokenizer : public Tokenizer {
public:
  static Status load(const std::string &path, std::unique_ptr<Tokenizer> &out);
  ~BPETokenizer() override;

  Status encode(std::string_view text, bool addSpecialTokens,
                std::vector<int32_t> &ids) const override;
  std::string decode(const std::vector<int32_t> &ids) const override;

private:
  BPETokenizer();
  Status configure(const std::string &path, const void *json);
  Status encodePiece(std::string_view bytes, std::vector<int32_t> &ids) const;
  Status encodeText(std::string_view text, std::vector<int32_t> &ids) const;

  std::string path;
  std::unordered_map<std::string, int32_t> vocab;
  std::vector<std::string> tokens;
  std::unordered_map<std::string, int32_t> mergeRanks;
  /// Added tokens (content, id), longest first.
  std::vector<std::pair<std::string, int32_t>> added;
  pcre2_real_code_8 *pattern = nullptr;
  /// Split keeps the text between matches; GPT-2's regex matches it all.
  bool keepGaps = false;
  bool addPrefixSpace = false;
  bool nfc = false;
  bool ignoreMerges = false;
  std::vector<int32_t> prefix, suffix;
  std::array<std::string, 256> byteToChar;
  std::unordered_map<std::string, unsigned char> charToByte;
};

} // namespace llmrt

#endif // LLMRT_LIB_TOKENIZER_BPETOKENIZER_H
