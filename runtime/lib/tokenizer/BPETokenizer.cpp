//===- BPETokenizer.cpp - tokenizer.json with a byte-level BPE ------------===//

#include "BPETokenizer.h"

#include "../JsonText.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

namespace llmrt {

using nlohmann::json;

namespace {
/// GPT-2's pre-tokenizer regex (ByteLevel with use_regex).
constexpr const char *kGPT2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|"
    "\\s+(?!\\S)|\\s+";

/// Separates the two symbols of a merge key; never part of a token.
constexpr char kMergeSeparator = '\x01';

std::string encodeUtf8(uint32_t codepoint) {
  std::string out;
  if (codepoint < 0x80) {
    out += static_cast<char>(codepoint);
  } else if (codepoint < 0x800) {
    out += static_cast<char>(0xC0 | (codepoint >> 6));
    out += static_cast<char>(0x80 | (codepoint & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (codepoint >> 12));
    out += static_cast<char>(0x80 | ((codepoint >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (codepoint & 0x3F));
  }
  return out;
}

/// Splits UTF-8 text into characters.
std::vector<std::string> utf8Characters(std::string_view text) {
  std::vector<std::string> characters;
  for (size_t i = 0; i < text.size();) {
    unsigned char lead = text[i];
    size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2
                                  : (lead >> 4) == 0xE ? 3
                                  : (lead >> 3) == 0x1E ? 4
                                                        : 1;
    length = std::min(length, text.size() - i);
    characters.emplace_back(text.substr(i, length));
    i += length;
  }
  return characters;
}

/// The pre-tokenizer's regex and whether text between matches is kept.
Status readPreTokenizer(const json &node, std::string &pattern, bool &keepGaps,
                        bool &addPrefixSpace, const std::string &where) {
  std::string type = node.is_object() && node.contains("type") &&
                             node["type"].is_string()
                         ? node["type"].get<std::string>()
                         : "";
  if (type == "Sequence" && node.contains("pretokenizers") &&
      node["pretokenizers"].is_array()) {
    for (const json &child : node["pretokenizers"])
      if (Status status =
              readPreTokenizer(child, pattern, keepGaps, addPrefixSpace, where);
          !status.ok())
        return status;
    return {};
  }
  if (type == "ByteLevel") {
    addPrefixSpace = node.value("add_prefix_space", false);
    if (node.value("use_regex", true)) {
      if (!pattern.empty())
        return Status::error(where + ": two pre-tokenizer regexes");
      pattern = kGPT2Pattern;
    }
    return {};
  }
  if (type == "Split" && node.contains("pattern") &&
      node["pattern"].is_object() && node["pattern"].contains("Regex") &&
      node["pattern"]["Regex"].is_string() &&
      node.value("behavior", "") == "Isolated" && !node.value("invert", false)) {
    if (!pattern.empty())
      return Status::error(where + ": two pre-tokenizer regexes");
    pattern = node["pattern"]["Regex"].get<std::string>();
    keepGaps = true;
    return {};
  }
  return Status::error(where + ": unsupported pre_tokenizer " + node.dump() +
                       " (supported: ByteLevel, Split with a Regex and "
                       "behavior Isolated, Sequence of these)");
}

/// The ids TemplateProcessing puts before and after a single sequence.
Status readPostProcessor(const json &node, std::vector<int32_t> &prefix,
                         std::vector<int32_t> &suffix,
                         const std::unordered_map<std::string, int32_t> &ids,
                         const std::string &where) {
  if (node.is_null())
    return {};
  std::string type = node.value("type", "");
  if (type == "Sequence" && node.contains("processors")) {
    for (const json &child : node["processors"])
      if (Status status = readPostProcessor(child, prefix, suffix, ids, where);
          !status.ok())
        return status;
    return {};
  }
  if (type == "ByteLevel")
    return {};
  if (type != "TemplateProcessing" || !node.contains("single") ||
      !node["single"].is_array())
    return Status::error(where + ": unsupported post_processor type '" +
                         type + "' (supported: TemplateProcessing, ByteLevel)");
  bool afterSequence = false;
  for (const json &item : node["single"]) {
    if (item.contains("Sequence")) {
      afterSequence = true;
      continue;
    }
    std::string name = item.contains("SpecialToken") &&
                               item["SpecialToken"].contains("id") &&
                               item["SpecialToken"]["id"].is_string()
                           ? item["SpecialToken"]["id"].get<std::string>()
                           : "";
    auto id = ids.find(name);
    if (id == ids.end())
      return Status::error(where + ": post_processor names an unknown "
                                   "special token '" +
                           name + "'");
    (afterSequence ? suffix : prefix).push_back(id->second);
  }
  return {};
}
} // namespace

BPETokenizer::BPETokenizer() {
  // GPT-2's printable stand-ins for bytes: printable Latin-1 characters stand
  // for themselves, the others take code points from 256 on.
  int next = 0;
  for (int byte = 0; byte < 256; ++byte) {
    bool printable = (byte >= '!' && byte <= '~') ||
                     (byte >= 0xA1 && byte <= 0xAC) ||
                     (byte >= 0xAE && byte <= 0xFF);
    uint32_t codepoint = printable ? byte : 256 + next++;
    byteToChar[byte] = encodeUtf8(codepoint);
    charToByte[byteToChar[byte]] = static_cast<unsigned char>(byte);
  }
}

BPETokenizer::~BPETokenizer() { pcre2_code_free(pattern); }

Status BPETokenizer::load(const std::string &path,
                          std::unique_ptr<Tokenizer> &out) {
  json root;
  if (Status status = readJsonFile(path, root); !status.ok())
    return status;
  std::unique_ptr<BPETokenizer> tokenizer(new BPETokenizer());
  if (Status status = tokenizer->configure(path, &root); !status.ok())
    return status;
  out = std::move(tokenizer);
  return {};
}

Status BPETokenizer::configure(const std::string &file, const void *node) {
  const json &root = *static_cast<const json *>(node);
  path = file;
  const json *model = root.is_object() && root.contains("model")
                          ? &root["model"]
                          : nullptr;
  if (!model || model->value("type", "") != "BPE" ||
      !model->contains("vocab") || !(*model)["vocab"].is_object() ||
      !model->contains("merges") || !(*model)["merges"].is_array())
    return Status::error(path + ": field 'model': expected a BPE model with "
                                "vocab and merges");
  for (const auto &[token, id] : (*model)["vocab"].items()) {
    std::optional<int64_t> value = getNonNegativeInt(id);
    if (!value || *value > INT32_MAX)
      return Status::error(path + ": model.vocab['" + token +
                           "']: expected a token id");
    vocab[token] = static_cast<int32_t>(*value);
    if (tokens.size() <= size_t(*value))
      tokens.resize(*value + 1);
    tokens[*value] = token;
  }
  int32_t rank = 0;
  for (const json &merge : (*model)["merges"]) {
    std::string first, second;
    if (merge.is_string()) {
      const std::string &text = merge.get_ref<const std::string &>();
      size_t space = text.find(' ');
      if (space == std::string::npos)
        return Status::error(path + ": model.merges: expected \"a b\", found " +
                             merge.dump());
      first = text.substr(0, space);
      second = text.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      first = merge[0].get<std::string>();
      second = merge[1].get<std::string>();
    } else {
      return Status::error(path + ": model.merges: expected \"a b\" or "
                                  "[a, b], found " +
                           merge.dump());
    }
    mergeRanks.emplace(first + kMergeSeparator + second, rank++);
  }
  ignoreMerges = model->value("ignore_merges", false);

  std::unordered_map<std::string, int32_t> specialIds;
  if (root.contains("added_tokens") && root["added_tokens"].is_array())
    for (const json &token : root["added_tokens"]) {
      if (!token.contains("content") || !token["content"].is_string() ||
          !token.contains("id") || !getNonNegativeInt(token["id"]))
        return Status::error(path + ": added_tokens: expected {id, content}, "
                                    "found " +
                             token.dump());
      std::string content = token["content"].get<std::string>();
      int32_t id = static_cast<int32_t>(*getNonNegativeInt(token["id"]));
      added.emplace_back(content, id);
      specialIds[content] = id;
      if (tokens.size() <= size_t(id))
        tokens.resize(id + 1);
      tokens[id] = content;
    }
  std::sort(added.begin(), added.end(), [](const auto &a, const auto &b) {
    return a.first.size() > b.first.size();
  });

  const json &normalizer = root.value("normalizer", json());
  if (!normalizer.is_null()) {
    if (normalizer.value("type", "") != "NFC")
      return Status::error(path + ": unsupported normalizer " +
                           normalizer.dump() + " (supported: NFC or none)");
    nfc = true;
  }
  std::string regex;
  if (Status status = readPreTokenizer(root.value("pre_tokenizer", json()),
                                       regex, keepGaps, addPrefixSpace, path);
      !status.ok())
    return status;
  if (regex.empty())
    return Status::error(path + ": pre_tokenizer has no regex; expected a "
                                "byte-level BPE tokenizer");
  int errorCode;
  PCRE2_SIZE offset;
  pattern = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(regex.data()),
                          regex.size(), PCRE2_UTF | PCRE2_UCP, &errorCode,
                          &offset, nullptr);
  if (!pattern) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(errorCode, message, sizeof(message));
    return Status::error(path + ": pre-tokenizer regex at offset " +
                         std::to_string(offset) + ": " +
                         reinterpret_cast<const char *>(message));
  }
  std::unordered_map<std::string, int32_t> allIds = vocab;
  allIds.insert(specialIds.begin(), specialIds.end());
  return readPostProcessor(root.value("post_processor", json()), prefix,
                           suffix, allIds, path);
}

Status BPETokenizer::encodePiece(std::string_view bytes,
                                 std::vector<int32_t> &ids) const {
  std::string mapped;
  std::vector<std::string> symbols;
  for (unsigned char byte : bytes) {
    symbols.push_back(byteToChar[byte]);
    mapped += byteToChar[byte];
  }
  if (ignoreMerges)
    if (auto whole = vocab.find(mapped); whole != vocab.end()) {
      ids.push_back(whole->second);
      return {};
    }
  // Merge the pair of lowest rank, everywhere it occurs, until none is left.
  while (symbols.size() > 1) {
    int32_t best = INT32_MAX;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto merge =
          mergeRanks.find(symbols[i] + kMergeSeparator + symbols[i + 1]);
      if (merge != mergeRanks.end())
        best = std::min(best, merge->second);
    }
    if (best == INT32_MAX)
      break;
    std::vector<std::string> merged;
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size()) {
        auto merge =
            mergeRanks.find(symbols[i] + kMergeSeparator + symbols[i + 1]);
        if (merge != mergeRanks.end() && merge->second == best) {
          merged.push_back(symbols[i] + symbols[i + 1]);
          ++i;
          continue;
        }
      }
      merged.push_back(symbols[i]);
    }
    symbols = std::move(merged);
  }
  for (const std::string &symbol : symbols) {
    auto id = vocab.find(symbol);
    if (id == vocab.end())
      return Status::error(path + ": no token for '" + symbol +
                           "' in the vocabulary");
    ids.push_back(id->second);
  }
  return {};
}

Status BPETokenizer::encodeText(std::string_view text,
                                std::vector<int32_t> &ids) const {
  std::string input(text);
  if (nfc && !input.empty()) {
    utf8proc_uint8_t *normalized = utf8proc_NFC(
        reinterpret_cast<const utf8proc_uint8_t *>(input.c_str()));
    if (!normalized)
      return Status::error("the prompt is not valid UTF-8");
    input = reinterpret_cast<const char *>(normalized);
    std::free(normalized);
  }
  if (addPrefixSpace && !input.empty() && input[0] != ' ')
    input = " " + input;

  pcre2_match_data *match = pcre2_match_data_create_from_pattern(pattern,
                                                                 nullptr);
  size_t start = 0, gapStart = 0;
  Status status;
  while (status.ok() && start <= input.size()) {
    int found = pcre2_match(pattern,
                            reinterpret_cast<PCRE2_SPTR>(input.data()),
                            input.size(), start, 0, match, nullptr);
    if (found < 0)
      break;
    PCRE2_SIZE *bounds = pcre2_get_ovector_pointer(match);
    size_t begin = bounds[0], end = bounds[1];
    if (end == begin) {
      // An empty match: step over one character.
      start = end + 1;
      while (start < input.size() && (input[start] & 0xC0) == 0x80)
        ++start;
      continue;
    }
    if (keepGaps && begin > gapStart)
      status = encodePiece(std::string_view(input).substr(gapStart,
                                                          begin - gapStart),
                           ids);
    if (status.ok())
      status = encodePiece(std::string_view(input).substr(begin, end - begin),
                           ids);
    start = gapStart = end;
  }
  if (status.ok() && keepGaps && gapStart < input.size())
    status = encodePiece(std::string_view(input).substr(gapStart), ids);
  pcre2_match_data_free(match);
  return status;
}

Status BPETokenizer::encode(std::string_view text, bool addSpecialTokens,
                            std::vector<int32_t> &ids) const {
  ids.clear();
  if (addSpecialTokens)
    ids = prefix;
  // Added tokens split the text first; the pieces between are encoded.
  size_t position = 0;
  while (position < text.size()) {
    size_t next = text.size();
    const std::pair<std::string, int32_t> *token = nullptr;
    for (const auto &candidate : added) {
      size_t at = text.find(candidate.first, position);
      if (at < next) {
        next = at;
        token = &candidate;
      }
    }
    if (Status status = encodeText(text.substr(position, next - position), ids);
        !status.ok())
      return status;
    if (!token)
      break;
    ids.push_back(token->second);
    position = next + token->first.size();
  }
  if (addSpecialTokens)
    ids.insert(ids.end(), suffix.begin(), suffix.end());
  return {};
}

std::string BPETokenizer::decode(const std::vector<int32_t> &ids) const {
  std::string text;
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= tokens.size())
      continue;
    bool isAdded = std::any_of(added.begin(), added.end(),
                               [&](const auto &a) { return a.second == id; });
    if (isAdded) {
      text += tokens[id];
      continue;
    }
    for (const std::string &character : utf8Characters(tokens[id])) {
      auto byte = charToByte.find(character);
      text += byte != charToByte.end() ? std::string(1, char(byte->second))
                                       : character;
    }
  }
  return text;
}

} // namespace llmrt
