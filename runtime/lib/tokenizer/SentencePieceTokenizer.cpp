//===- SentencePieceTokenizer.cpp - tokenizer.model -----------------------===//

#include "SentencePieceTokenizer.h"

#include <sentencepiece_processor.h>

namespace llmrt {

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

Status SentencePieceTokenizer::load(const std::string &path,
                                    std::unique_ptr<Tokenizer> &out) {
  auto tokenizer = std::make_unique<SentencePieceTokenizer>();
  tokenizer->processor =
      std::make_unique<sentencepiece::SentencePieceProcessor>();
  auto status = tokenizer->processor->Load(path);
  if (!status.ok())
    return Status::error(path + ": not a SentencePiece model: " +
                         status.ToString());
  out = std::move(tokenizer);
  return {};
}

Status SentencePieceTokenizer::encode(std::string_view text,
                                      bool addSpecialTokens,
                                      std::vector<int32_t> &ids) const {
  std::vector<int> pieces;
  auto status = processor->Encode(std::string(text), &pieces);
  if (!status.ok())
    return Status::error("SentencePiece: " + status.ToString());
  ids.clear();
  if (addSpecialTokens && processor->bos_id() >= 0)
    ids.push_back(processor->bos_id());
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  return {};
}

std::string SentencePieceTokenizer::decode(
    const std::vector<int32_t> &ids) const {
  std::vector<int> pieces(ids.begin(), ids.end());
  std::string text;
  processor->Decode(pieces, &text);
  return text;
}

} // namespace llmrt
