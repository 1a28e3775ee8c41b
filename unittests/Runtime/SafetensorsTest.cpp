//===- SafetensorsTest.cpp - Header parsing of hostile files --------------===//

#include "SafetensorsFixture.h"

#include "llmrt/Safetensors.h"

#include <gtest/gtest.h>

using namespace llmrt;
using llmc::testing::safetensorsBytes;
using llmc::testing::TempDir;

namespace {

/// Parses `bytes` and returns the error message ("" on success).
std::string parseError(const std::string &bytes) {
  SafetensorsHeader header;
  Status status = SafetensorsHeader::parseFile(bytes, "m.safetensors", header);
  return status.message();
}

std::string headerError(const std::string &header, const std::string &data) {
  return parseError(safetensorsBytes(header, data));
}

TEST(Safetensors, ParsesTensorsAndMetadata) {
  std::string data(24 + 4, '\0');
  std::string bytes = safetensorsBytes(
      R"({"__metadata__":{"format":"pt"},)"
      R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]},)"
      R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})",
      data);
  SafetensorsHeader header;
  ASSERT_TRUE(SafetensorsHeader::parseFile(bytes, "m", header).ok());
  ASSERT_EQ(header.getTensors().size(), 2u);
  EXPECT_EQ(header.getTensors()[0].name, "a");
  EXPECT_EQ(header.getMetadata().at("format"), "pt");
  const TensorInfo *b = header.find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->dtype, DType::BF16);
  EXPECT_EQ(b->shape, std::vector<int64_t>{2});
  EXPECT_EQ(header.getDataSize(), 28u);
  EXPECT_EQ(header.getDataOffset(), bytes.size() - 28);
  EXPECT_EQ(header.find("c"), nullptr);
}

TEST(Safetensors, ScalarsAndEmptyTensors) {
  EXPECT_EQ(headerError(R"({"s":{"dtype":"I64","shape":[],"data_offsets":[0,8]},)"
                        R"("e":{"dtype":"F32","shape":[0,4],"data_offsets":[8,8]}})",
                        std::string(8, '\0')),
            "");
}

TEST(Safetensors, TooSmall) {
  EXPECT_EQ(parseError("abc"),
            "m.safetensors: 3 bytes is too small for a safetensors file "
            "(expects an 8-byte header length first)");
}

TEST(Safetensors, HeaderLengthPastEnd) {
  std::string bytes = safetensorsBytes("{}", "");
  bytes[0] = 100;
  EXPECT_EQ(parseError(bytes), "m.safetensors: header length 100 exceeds the "
                               "2 bytes that follow the length in the file");
}

TEST(Safetensors, HugeHeaderLength) {
  std::string bytes = safetensorsBytes("{}", "");
  for (int i = 0; i < 8; ++i)
    bytes[i] = '\xff';
  EXPECT_EQ(parseError(bytes),
            "m.safetensors: header length 18446744073709551615 exceeds the "
            "limit of 100000000 bytes");
}

TEST(Safetensors, MalformedJson) {
  EXPECT_EQ(headerError(R"({"a": {"dtype": )", ""),
            "m.safetensors: header: malformed JSON at line 1, column 17: syntax error "
            "while parsing value - unexpected end of input; expected '[', "
            "'{', or a literal");
}

TEST(Safetensors, NotAnObject) {
  EXPECT_EQ(headerError("[1, 2]", ""),
            "m.safetensors: header: expected a JSON object of tensors");
}

TEST(Safetensors, EntryNotAnObject) {
  EXPECT_EQ(headerError(R"({"a": 3})", ""),
            "m.safetensors: tensor 'a': expected an object with dtype, shape "
            "and data_offsets");
}

TEST(Safetensors, MissingDType) {
  EXPECT_EQ(headerError(R"({"a":{"shape":[1],"data_offsets":[0,4]}})",
                        std::string(4, '\0')),
            "m.safetensors: tensor 'a': field 'dtype': expected a string");
}

TEST(Safetensors, UnknownDType) {
  EXPECT_EQ(
      headerError(R"({"a":{"dtype":"Q4_K","shape":[1],"data_offsets":[0,4]}})",
                  std::string(4, '\0')),
      "m.safetensors: tensor 'a': unknown dtype 'Q4_K' (expects one of BOOL, "
      "U8, I8, U16, I16, F16, BF16, U32, I32, F32, U64, I64, F64, F8_E4M3, "
      "F8_E5M2)");
}

TEST(Safetensors, BadShape) {
  EXPECT_EQ(
      headerError(R"({"a":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,4]}})",
                  std::string(4, '\0')),
      "m.safetensors: tensor 'a': field 'shape': expected an array of "
      "non-negative integers, found -1");
  EXPECT_EQ(
      headerError(R"({"a":{"dtype":"F32","shape":"2","data_offsets":[0,4]}})",
                  std::string(4, '\0')),
      "m.safetensors: tensor 'a': field 'shape': expected an array of "
      "non-negative integers");
}

TEST(Safetensors, BadOffsets) {
  const char *expected = "m.safetensors: tensor 'a': field 'data_offsets': "
                         "expected [begin, end] with 0 <= begin <= end";
  EXPECT_EQ(headerError(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})",
                        std::string(4, '\0')),
            expected);
  EXPECT_EQ(headerError(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})",
                        std::string(4, '\0')),
            expected);
  EXPECT_EQ(headerError(R"({"a":{"dtype":"F32","shape":[1]}})", ""), expected);
}

TEST(Safetensors, ShapeSizeMismatch) {
  EXPECT_EQ(
      headerError(R"({"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})",
                  std::string(20, '\0')),
      "m.safetensors: tensor 'a': shape [2, 3] of F32 needs 24 bytes, but "
      "data_offsets [0, 20] hold 20");
}

TEST(Safetensors, ShapeOverflow) {
  EXPECT_EQ(
      headerError(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],)"
                  R"("data_offsets":[0,4]}})",
                  std::string(4, '\0')),
      "m.safetensors: tensor 'a': shape [4294967296, 4294967296] of F32 needs "
      "more than 2^64 bytes, but data_offsets [0, 4] hold 4");
}

TEST(Safetensors, Truncated) {
  EXPECT_EQ(
      headerError(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                  std::string(10, '\0')),
      "m.safetensors: tensor 'a': data_offsets [0, 16] exceed the data "
      "section (10 bytes): the file is truncated or corrupt");
}

TEST(Safetensors, Overlap) {
  EXPECT_EQ(headerError(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                        R"("z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                        std::string(16, '\0')),
            "m.safetensors: tensors 'a' [0, 16] and 'b' [8, 16] overlap");
}

TEST(Safetensors, BadMetadata) {
  EXPECT_EQ(headerError(R"({"__metadata__":{"format":1}})", ""),
            "m.safetensors: '__metadata__': expected an object of strings");
}

TEST(Safetensors, ReadsHeaderFromFile) {
  TempDir dir;
  std::string path = dir.write(
      "m.safetensors",
      safetensorsBytes(R"({"a":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}})",
                       std::string(6, '\0')));
  SafetensorsHeader header;
  Status status = SafetensorsHeader::read(path, header);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(header.find("a")->dtype, DType::F16);
}

TEST(Safetensors, ReadMissingFile) {
  SafetensorsHeader header;
  Status status = SafetensorsHeader::read("/nonexistent/m.safetensors", header);
  EXPECT_EQ(status.message(),
            "/nonexistent/m.safetensors: cannot open: No such file or directory");
}

TEST(Safetensors, ReadTruncatedHeader) {
  TempDir dir;
  std::string bytes = safetensorsBytes(R"({"a":1})", "");
  std::string path = dir.write("m.safetensors", bytes.substr(0, 10));
  SafetensorsHeader header;
  EXPECT_EQ(SafetensorsHeader::read(path, header).message(),
            path + ": header length 7 exceeds the 2 bytes that follow the "
                   "length in the file");
}

} // namespace
