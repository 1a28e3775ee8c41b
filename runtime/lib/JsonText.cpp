//===- JsonText.cpp - JSON parsing that reports where it failed -----------===//

#include "JsonText.h"

#include <fstream>
#include <limits>
#include <sstream>

namespace llmrt {

namespace {
/// Builds the DOM like nlohmann's own SAX parser and keeps the first error
/// instead of throwing it.
class RecordingDomParser
    : public nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
public:
  explicit RecordingDomParser(nlohmann::json &result)
      : json_sax_dom_parser(result, /*allow_exceptions=*/false) {}

  template <class Exception>
  bool parse_error(std::size_t position, const std::string & /*lastToken*/,
                   const Exception &exception) {
    errorPosition = position;
    errorMessage = exception.what();
    return false;
  }

  size_t errorPosition = 0;
  std::string errorMessage;
};
} // namespace

Status parseJsonText(std::string_view text, std::string_view what,
                     nlohmann::json &out) {
  RecordingDomParser parser(out);
  bool parsed = nlohmann::json::sax_parse(text.begin(), text.end(), &parser,
                                          nlohmann::json::input_format_t::json,
                                          /*strict=*/true);
  if (parsed && parser.errorMessage.empty())
    return {};
  // nlohmann's messages read "[json.exception.parse_error.101] parse error
  // at line 1, column 15: syntax error while parsing value - ...".
  std::string reason = parser.errorMessage;
  if (size_t bracket = reason.find("] "); bracket != std::string::npos)
    reason = reason.substr(bracket + 2);
  constexpr std::string_view kPrefix = "parse error ";
  if (reason.compare(0, kPrefix.size(), kPrefix) == 0)
    reason = reason.substr(kPrefix.size());
  else
    reason = "at byte " + std::to_string(parser.errorPosition) + ": " + reason;
  return Status::error(std::string(what) + ": malformed JSON " + reason);
}

Status readJsonFile(const std::string &path, nlohmann::json &out) {
  std::ifstream stream(path, std::ios::binary);
  std::stringstream text;
  text << stream.rdbuf();
  if (!stream)
    return Status::error(path + ": cannot open");
  return parseJsonText(text.str(), path, out);
}

std::optional<int64_t> getNonNegativeInt(const nlohmann::json &value) {
  if (value.is_number_unsigned()) {
    auto number = value.get<uint64_t>();
    if (number <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return static_cast<int64_t>(number);
    return std::nullopt;
  }
  if (value.is_number_integer()) {
    auto number = value.get<int64_t>();
    if (number >= 0)
      return number;
  }
  return std::nullopt;
}

} // namespace llmrt
