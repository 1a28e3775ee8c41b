//===- CommunicatorTest.cpp - The collectives behind llmrt's interface ----===//
//
// Runs on any number of ranks: alone (lit's unit suite) and under
// `mpirun -np 4` (test/e2e/communicator.test), as the mesh dp x pp x tp that
// the world size allows.
//
//===----------------------------------------------------------------------===//

#include "../../runtime/lib/comm/Communicator.h"

#include "llmrt/CollectiveABI.h"

#include <gtest/gtest.h>

#include <vector>

#ifdef LLMC_TEST_NCCL
#include "../../runtime/lib/cuda/NcclCommunicator.h"
#endif

using namespace llmrt;

namespace {

MeshShape meshForWorld() {
  int64_t world = launcherWorldSize();
  if (world == 8)
    return {2, 2, 2};
  if (world == 4)
    return {1, 2, 2};
  return {1, 1, world};
}

Communicator &communicator() {
  static std::unique_ptr<Communicator> instance = [] {
    std::unique_ptr<Communicator> out;
    Status status = createMpiCommunicator(meshForWorld(), out);
    EXPECT_TRUE(status.ok()) << status.message();
    return out;
  }();
  return *instance;
}

constexpr int kTensor = 4, kPipeline = 2;

TEST(Communicator, MeshCoordinates) {
  MeshShape mesh{2, 3, 4};
  EXPECT_EQ(mesh.world(), 24);
  auto [d, s, t] = mesh.coordinates(17);
  EXPECT_EQ(d, 1);
  EXPECT_EQ(s, 1);
  EXPECT_EQ(t, 1);
  EXPECT_EQ(mesh.rankOf(1, 1, 1), 17);
}

TEST(Communicator, AllReduceSumsTheGroup) {
  Communicator &comm = communicator();
  int64_t t = comm.mesh().coordinates(comm.rank())[2];
  int64_t tp = comm.mesh().tp;
  std::vector<float> data = {float(t + 1), 2.0f * float(t + 1), -1.0f};
  comm.allReduce(data.data(), data.size(), DType::F32, kTensor);
  float sum = tp * (tp + 1) / 2.0f;
  EXPECT_EQ(data[0], sum);
  EXPECT_EQ(data[1], 2 * sum);
  EXPECT_EQ(data[2], -float(tp));
}

TEST(Communicator, AllReduceHalfAndBFloat16) {
  Communicator &comm = communicator();
  int64_t t = comm.mesh().coordinates(comm.rank())[2];
  int64_t tp = comm.mesh().tp;
  std::vector<uint16_t> half = {floatToHalf(0.5f * float(t + 1))};
  std::vector<uint16_t> brain = {floatToBFloat16(0.25f * float(t + 1))};
  comm.allReduce(half.data(), 1, DType::F16, kTensor);
  comm.allReduce(brain.data(), 1, DType::BF16, kTensor);
  EXPECT_EQ(halfToFloat(half[0]), 0.5f * tp * (tp + 1) / 2);
  EXPECT_EQ(bfloat16ToFloat(brain[0]), 0.25f * tp * (tp + 1) / 2);
}

TEST(Communicator, AllGatherInterleavesRows) {
  Communicator &comm = communicator();
  int64_t t = comm.mesh().coordinates(comm.rank())[2];
  int64_t tp = comm.mesh().tp;
  // [2 rows, 3 columns] per rank -> [2 rows, 3 * tp columns].
  std::vector<float> input(6);
  for (int i = 0; i < 6; ++i)
    input[i] = float(100 * t + i);
  std::vector<float> output(6 * tp, -1.0f);
  comm.allGather(input.data(), output.data(), 2, 3, DType::F32, kTensor);
  for (int64_t row = 0; row < 2; ++row)
    for (int64_t member = 0; member < tp; ++member)
      for (int64_t col = 0; col < 3; ++col)
        EXPECT_EQ(output[(row * tp + member) * 3 + col],
                  float(100 * member + row * 3 + col));
}

TEST(Communicator, SendRecvAlongThePipeline) {
  Communicator &comm = communicator();
  int64_t s = comm.mesh().coordinates(comm.rank())[1];
  int64_t pp = comm.mesh().pp;
  if (pp == 1)
    GTEST_SKIP() << "one pipeline stage";
  std::vector<float> data(5);
  if (s > 0) {
    comm.recv(data.data(), data.size(), DType::F32, kPipeline, s - 1);
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(data[i], float(10 * (s - 1) + i));
  }
  if (s + 1 < pp) {
    for (int i = 0; i < 5; ++i)
      data[i] = float(10 * s + i);
    comm.send(data.data(), data.size(), DType::F32, kPipeline, s + 1);
  }
}

TEST(Communicator, ControlPlane) {
  Communicator &comm = communicator();
  int64_t value = comm.rank() == 0 ? 42 : -1;
  comm.broadcast(&value, sizeof(value), 0);
  EXPECT_EQ(value, 42);
  EXPECT_TRUE(comm.allAgree(true));
  EXPECT_EQ(comm.allAgree(comm.rank() != comm.size() - 1), false);
}

TEST(Communicator, TableCallsTheCommunicator) {
  Communicator &comm = communicator();
  void *table[LLMRT_COLLECTIVE_SLOTS] = {};
  comm.fillTable(table);
  ASSERT_EQ(table[LLMRT_SLOT_CONTEXT], &comm);
  float value = 1.0f;
  reinterpret_cast<llmrt_all_reduce_fn>(table[LLMRT_SLOT_ALL_REDUCE])(
      table[LLMRT_SLOT_CONTEXT], &value, 1, int32_t(DType::F32), kTensor);
  EXPECT_EQ(value, float(comm.mesh().tp));
}

#ifdef LLMC_TEST_NCCL
/// The collectives' stream work, done at once (the executable without a
/// recording).
struct AtOnce : StreamWork {
  void enqueue(std::function<void()> work, std::string) override { work(); }
};

// With a GPU per rank: an all-reduce through NCCL (libnccl.so.2, opened at
// run time) on a driver stream, as the CUDA backend runs it. Without a
// driver (CI) or with fewer GPUs than ranks (NCCL needs one each) there is
// nothing to run it on.
TEST(NcclCommunicator, AllReduceOnTheStream) {
  const CudaDriver *driver = nullptr;
  int devices = 0;
  if (!CudaDriver::load(driver).ok() ||
      driver->deviceGetCount(&devices) != CUDA_SUCCESS ||
      devices < communicator().size())
    GTEST_SKIP() << "needs a CUDA device per rank";
  std::unique_ptr<CudaDevice> device;
  ASSERT_TRUE(
      CudaDevice::open(int(launcherLocalRank() % devices), device).ok());
  CUstream stream = nullptr;
  ASSERT_EQ(driver->streamCreate(&stream, CU_STREAM_NON_BLOCKING),
            CUDA_SUCCESS);
  std::unique_ptr<Communicator> nccl;
  ASSERT_TRUE(createMpiCommunicator(meshForWorld(), nccl).ok());
  AtOnce order;
  Status status = useNccl(nccl, *driver, stream, order);
  ASSERT_TRUE(status.ok()) << status.message();
  CUdeviceptr value = 0;
  ASSERT_EQ(driver->memAlloc(&value, sizeof(float)), CUDA_SUCCESS);
  float one = 1.0f, sum = 0.0f;
  ASSERT_EQ(driver->memcpyHtoD(value, &one, sizeof(one)), CUDA_SUCCESS);
  nccl->allReduce(reinterpret_cast<void *>(value), 1, DType::F32, kTensor);
  ASSERT_EQ(driver->streamSynchronize(stream), CUDA_SUCCESS);
  ASSERT_EQ(driver->memcpyDtoH(&sum, value, sizeof(sum)), CUDA_SUCCESS);
  EXPECT_EQ(sum, float(nccl->mesh().tp));
  driver->memFree(value);
  nccl.reset();
  driver->streamDestroy(stream);
}
#endif

} // namespace
