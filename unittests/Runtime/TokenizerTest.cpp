//===- TokenizerTest.cpp - Tokenizers against Hugging Face's output -------===//
//
// tokenizers/golden.json holds the ids Hugging Face tokenizers and
// sentencepiece give for a set of texts (ASCII, spaces, digits, contractions,
// accents, CJK, emoji, special tokens), made by tokenizers/make_fixtures.py.
//
//===----------------------------------------------------------------------===//

#include "llmrt/Tokenizer.h"

#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace llmrt;

namespace {

const std::string kFixtures = LLMC_TOKENIZER_FIXTURES;

nlohmann::json golden() {
  std::ifstream stream(kFixtures + "/golden.json");
  return nlohmann::json::parse(stream);
}

class TokenizerGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerGolden, MatchesHuggingFace) {
  std::string name = GetParam();
  std::unique_ptr<Tokenizer> tokenizer;
  Status status = Tokenizer::openFile(kFixtures + "/" + name, tokenizer);
  ASSERT_TRUE(status.ok()) << status.message();
  bool addSpecial = name != "spm.model";
  for (const auto &entry : golden()[name]) {
    std::string text = entry["text"];
    std::vector<int32_t> expected = entry["ids"];
    std::vector<int32_t> ids;
    ASSERT_TRUE(tokenizer->encode(text, addSpecial, ids).ok());
    EXPECT_EQ(ids, expected) << "text: " << text;
    EXPECT_EQ(tokenizer->decode(expected), entry["decoded"].get<std::string>())
        << "text: " << text;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TokenizerGolden,
                         ::testing::Values("gpt2-style.json",
                                           "split-style.json", "spm.model"));

TEST(TextStream, HoldsBackIncompleteCharacters) {
  std::unique_ptr<Tokenizer> tokenizer;
  ASSERT_TRUE(
      Tokenizer::openFile(kFixtures + "/gpt2-style.json", tokenizer).ok());
  std::string text = "héllo wörld — 你好 🙂";
  std::vector<int32_t> ids;
  ASSERT_TRUE(tokenizer->encode(text, false, ids).ok());
  TextStream stream(*tokenizer);
  std::string joined;
  for (int32_t id : ids) {
    std::string piece = stream.push(id);
    // Every piece ends on a character boundary.
    if (!piece.empty()) {
      unsigned char last = piece.back();
      EXPECT_TRUE(last < 0x80 || (last & 0xC0) == 0x80);
    }
    joined += piece;
  }
  EXPECT_EQ(joined, text);
}

TEST(Tokenizer, Errors) {
  std::unique_ptr<Tokenizer> tokenizer;
  EXPECT_EQ(Tokenizer::openFile("/nonexistent/tokenizer.json", tokenizer)
                .message(),
            "/nonexistent/tokenizer.json: cannot open");
  EXPECT_NE(Tokenizer::openFile(kFixtures + "/golden.json", tokenizer)
                .message()
                .find("field 'model': expected a BPE model"),
            std::string::npos);
  bool found = true;
  EXPECT_TRUE(Tokenizer::open("/nonexistent", tokenizer, found).ok());
  EXPECT_FALSE(found);
}

} // namespace
