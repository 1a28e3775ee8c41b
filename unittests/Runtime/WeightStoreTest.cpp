//===- WeightStoreTest.cpp - Checkpoint folders, views and slices ---------===//

#include "SafetensorsFixture.h"

#include "llmrt/WeightStore.h"

#include <cstring>
#include <gtest/gtest.h>

using namespace llmrt;
using llmc::testing::safetensorsBytes;
using llmc::testing::TempDir;

namespace {

/// float data 0, 1, 2, ... as bytes.
std::string floats(int count, float first = 0) {
  std::string bytes(count * sizeof(float), '\0');
  for (int i = 0; i < count; ++i) {
    float value = first + i;
    std::memcpy(&bytes[i * sizeof(float)], &value, sizeof(float));
  }
  return bytes;
}

TEST(WeightStore, SingleFileViewAndSlice) {
  TempDir dir;
  dir.write("model.safetensors",
            safetensorsBytes(R"({"w":{"dtype":"F32","shape":[3,4],)"
                             R"("data_offsets":[0,48]}})",
                             floats(12)));
  WeightStore store;
  Status status = WeightStore::open(dir.path, store);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(store.getNames(), std::vector<std::string>{"w"});
  EXPECT_EQ(store.getTotalBytes(), 48u);

  TensorView view;
  ASSERT_TRUE(store.view("w", view).ok());
  EXPECT_TRUE(view.isContiguous());
  EXPECT_EQ(view.as<float>()[5], 5.0f);

  TensorView rows;
  ASSERT_TRUE(view.slice(0, 1, 2, rows).ok());
  EXPECT_TRUE(rows.isContiguous());
  EXPECT_EQ(rows.as<float>()[0], 4.0f);

  TensorView cols;
  ASSERT_TRUE(view.slice(1, 2, 2, cols).ok());
  EXPECT_FALSE(cols.isContiguous());
  EXPECT_EQ(cols.shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(cols.as<float>()[cols.strides[0] * 2 + 1], 11.0f);

  TensorView bad;
  EXPECT_EQ(view.slice(1, 3, 2, bad).message(),
            "slice [3, 5) of dimension 1 is outside shape [3, 4]");
  EXPECT_EQ(store.view("nope", bad).message(),
            "no tensor 'nope' in the checkpoint");
}

TEST(WeightStore, CopyAsConvertsFloatTypes) {
  TempDir dir;
  dir.write("model.safetensors",
            safetensorsBytes(R"({"w":{"dtype":"F32","shape":[3,4],)"
                             R"("data_offsets":[0,48]}})",
                             floats(12, 0.5f)));
  WeightStore store;
  ASSERT_TRUE(WeightStore::open(dir.path, store).ok());
  TensorView view, cols;
  ASSERT_TRUE(store.view("w", view).ok());
  // A strided box (columns 2-3) to f16 and bf16, and back to f32.
  ASSERT_TRUE(view.slice(1, 2, 2, cols).ok());
  std::vector<uint16_t> half(6), brain(6);
  cols.copyAs(DType::F16, reinterpret_cast<std::byte *>(half.data()));
  cols.copyAs(DType::BF16, reinterpret_cast<std::byte *>(brain.data()));
  const float want[] = {2.5f, 3.5f, 6.5f, 7.5f, 10.5f, 11.5f};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(halfToFloat(half[i]), want[i]) << i;
    EXPECT_EQ(bfloat16ToFloat(brain[i]), want[i]) << i;
  }
  TensorView halves = cols;
  halves.data = reinterpret_cast<const std::byte *>(half.data());
  halves.dtype = DType::F16;
  halves.strides = {2, 1};
  std::vector<float> back(6);
  halves.copyAs(DType::F32, reinterpret_cast<std::byte *>(back.data()));
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(back[i], want[i]) << i;
}

TEST(WeightStore, ShardedIndex) {
  TempDir dir;
  dir.write("a.safetensors",
            safetensorsBytes(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                             floats(2, 10)));
  dir.write("b.safetensors",
            safetensorsBytes(R"({"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                             floats(1, 20)));
  dir.write("model.safetensors.index.json",
            R"({"metadata":{},"weight_map":{"x":"a.safetensors","y":"b.safetensors"}})");
  WeightStore store;
  Status status = WeightStore::open(dir.path, store);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(store.getFiles().size(), 2u);
  TensorView view;
  ASSERT_TRUE(store.view("y", view).ok());
  EXPECT_EQ(view.as<float>()[0], 20.0f);
  EXPECT_EQ(*store.find("x").path, dir.path + "/a.safetensors");
}

TEST(WeightStore, IndexErrors) {
  TempDir dir;
  std::string index = dir.path + "/model.safetensors.index.json";
  dir.write("a.safetensors",
            safetensorsBytes(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                             floats(2)));
  WeightStore store;

  dir.write("model.safetensors.index.json", R"({"weight_map":[]})");
  EXPECT_EQ(WeightStore::open(dir.path, store).message(),
            index + ": field 'weight_map': expected an object from tensor "
                    "name to shard file name");

  dir.write("model.safetensors.index.json",
            R"({"weight_map":{"x":"../a.safetensors"}})");
  EXPECT_EQ(WeightStore::open(dir.path, store).message(),
            index + ": weight_map['x']: expected a file name in the "
                    "checkpoint folder, found \"../a.safetensors\"");

  dir.write("model.safetensors.index.json",
            R"({"weight_map":{"y":"a.safetensors"}})");
  EXPECT_EQ(WeightStore::open(dir.path, store).message(),
            index + ": weight_map['y'] names a.safetensors, which has no "
                    "tensor 'y'");

  dir.write("model.safetensors.index.json",
            R"({"weight_map":{"x":"missing.safetensors"}})");
  EXPECT_EQ(WeightStore::open(dir.path, store).message(),
            dir.path + "/missing.safetensors: cannot open: No such file or "
                       "directory");

  dir.write("model.safetensors.index.json", R"({"weight_map":)");
  EXPECT_EQ(WeightStore::open(dir.path, store).message(),
            index + ": malformed JSON at line 1, column 15: syntax error while parsing "
                    "value - unexpected end of input; expected '[', '{', or a "
                    "literal");
}

TEST(WeightStore, EmptyFolder) {
  TempDir dir;
  WeightStore store;
  EXPECT_EQ(WeightStore::open(dir.path, store).message(),
            dir.path + ": no model.safetensors or model.safetensors.index.json");
}

} // namespace
