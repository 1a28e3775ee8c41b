//===- SentencePieceTokenizer.h - tokenizer.model ---------------*- C++ -*-===//

#ifndef LLMRT_LIB_TOKENIZER_SENTENCEPIECETOKENIZER_H
#define LLMRT_LIB_TOKENIZER_SENTENCEPIECETOKENIZER_H

#include "llmrt/Tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace llmrt {

/// A SentencePiece model through libsentencepiece; adds BOS as Llama 2's
/// tokenizer does.
class SentencePieceTokenizer : public Tokenizer {
public:
  static Status load(const std::string &path, std::unique_ptr<Tokenizer> &out);
  ~SentencePieceTokenizer() override;

  Status encode(std::string_view text, bool addSpecialTokens,
                std::vector<int32_t> &ids) const override;
  std::string decode(const std::vector<int32_t> &ids) const override;

private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor;
};

} // namespace llmrt

#endif // LLMRT_LIB_TOKENIZER_SENTENCEPIECETOKENIZER_H
