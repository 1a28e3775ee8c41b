//===- CudaDriverTest.cpp - The driver layer of the CUDA backend ----------===//
//
// Without a driver (the build machines): one clear error, no crash. With a
// GPU: a PTX kernel is JIT-compiled by the driver, launched, and its result
// read back.
//
//===----------------------------------------------------------------------===//

#include "../../runtime/lib/cuda/CudaDriver.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <vector>

using namespace llmrt;

namespace {

TEST(CudaDriver, LoadsOrSaysWhy) {
  const CudaDriver *driver = nullptr;
  Status status = CudaDriver::load(driver);
  std::unique_ptr<CudaDevice> device;
  Status opened = CudaDevice::open(0, device);
  if (!status.ok()) {
    EXPECT_EQ(status.message().find('\n'), std::string::npos);
    EXPECT_TRUE(status.message().rfind("no NVIDIA driver", 0) == 0 ||
                status.message().rfind("CUDA driver: cuInit", 0) == 0)
        << status.message();
    EXPECT_FALSE(opened.ok());
    EXPECT_EQ(opened.message(), status.message());
    return;
  }
  EXPECT_EQ(CudaDevice::open(-1, device).message().find("does not exist") !=
                std::string::npos,
            true);
}

TEST(CudaDriver, RunsAKernel) {
  std::unique_ptr<CudaDevice> device;
  if (Status status = CudaDevice::open(0, device); !status.ok())
    GTEST_SKIP() << status.message();
  std::ifstream file(LLMC_CUDA_FIXTURES "/add_one.ptx");
  std::stringstream ptx;
  ptx << file.rdbuf();
  CUmodule module;
  CUfunction function;
  ASSERT_TRUE(device->loadKernel(ptx.str(), "add_one", module, function).ok());
  const CudaDriver &api = device->driver();
  std::vector<float> host(1000);
  for (size_t i = 0; i < host.size(); ++i)
    host[i] = float(i);
  CUdeviceptr data;
  ASSERT_EQ(api.memAlloc(&data, host.size() * sizeof(float)), CUDA_SUCCESS);
  ASSERT_EQ(api.memcpyHtoD(data, host.data(), host.size() * sizeof(float)),
            CUDA_SUCCESS);
  unsigned n = host.size();
  void *args[] = {&data, &n};
  ASSERT_EQ(api.launchKernel(function, (n + 127) / 128, 1, 1, 128, 1, 1, 0,
                             nullptr, args, nullptr),
            CUDA_SUCCESS);
  ASSERT_EQ(api.memcpyDtoH(host.data(), data, host.size() * sizeof(float)),
            CUDA_SUCCESS);
  for (size_t i = 0; i < host.size(); ++i)
    ASSERT_EQ(host[i], float(i) + 1);
  api.memFree(data);
  api.moduleUnload(module);
}

} // namespace
