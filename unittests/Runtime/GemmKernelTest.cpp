//===- GemmKernelTest.cpp - The GPU target's GEMM kernels on a GPU --------===//
//
// Runs every kernel of `llmc compile --target=sm_XY --emit=gemm-ptx` (the file
// named by LLMC_GEMM_PTX, test/Runtime/gemm-gpu.test) on random f16 data
// and compares with a float reference on the host. Skipped without a GPU or
// without the file.
//
//===----------------------------------------------------------------------===//

#include "../../runtime/lib/cuda/CudaDriver.h"

#include "llmrt/DType.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <vector>

using namespace llmrt;

namespace {

/// A kernel of the listing: "// kernel NAME: y[M, N] = x[M, K] . W[..]".
struct Listed {
  std::string name, ptx;
  int64_t n = 0, k = 0, blockCols = 0, threadsX = 0;
  bool weightInOut = false;
};

std::vector<Listed> readListing(const std::string &path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  std::string all = text.str();
  std::vector<Listed> out;
  std::regex header(
      R"(// kernel (\w+): y\[M, (\d+)\] = x\[M, (\d+)\] \. W\[\d+, \d+\](\^T)?; )"
      R"(blocks of 32 x (\d+) outputs, (\d+) x 2 threads)");
  for (std::sregex_iterator it(all.begin(), all.end(), header), end; it != end;
       ++it) {
    Listed kernel;
    kernel.name = (*it)[1];
    kernel.n = std::stoll((*it)[2]);
    kernel.k = std::stoll((*it)[3]);
    kernel.weightInOut = !(*it)[4].matched;
    kernel.blockCols = std::stoll((*it)[5]);
    kernel.threadsX = std::stoll((*it)[6]);
    size_t begin = it->position() + it->length();
    size_t next = all.find("// kernel ", begin);
    kernel.ptx = all.substr(begin, next == std::string::npos ? std::string::npos
                                                             : next - begin);
    out.push_back(std::move(kernel));
  }
  return out;
}

/// MLIR's expanded descriptor of a 2-D memref, as kernel parameters.
struct Descriptor {
  CUdeviceptr allocated, aligned;
  int64_t offset, size0, size1, stride0, stride1;
};

TEST(GemmKernels, MatchTheHost) {
  const char *path = std::getenv("LLMC_GEMM_PTX");
  if (!path)
    GTEST_SKIP() << "LLMC_GEMM_PTX names no kernel listing";
  std::unique_ptr<CudaDevice> device;
  if (Status status = CudaDevice::open(0, device); !status.ok())
    GTEST_SKIP() << status.message();
  const CudaDriver &api = device->driver();
  std::vector<Listed> kernels = readListing(path);
  ASSERT_FALSE(kernels.empty());
  std::mt19937 random(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const int64_t m = 96; // three blocks of 32 rows
  for (const Listed &kernel : kernels) {
    SCOPED_TRACE(kernel.name);
    CUmodule module;
    CUfunction function;
    ASSERT_TRUE(device->loadKernel(kernel.ptx, kernel.name.c_str(), module,
                                   function)
                    .ok());
    int64_t n = kernel.n, k = kernel.k;
    std::vector<uint16_t> x(m * k), w(n * k);
    std::vector<float> xf(m * k), wf(n * k);
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = floatToHalf(uniform(random));
      xf[i] = halfToFloat(x[i]);
    }
    for (size_t i = 0; i < w.size(); ++i) {
      w[i] = floatToHalf(uniform(random));
      wf[i] = halfToFloat(w[i]);
    }
    CUdeviceptr dx, dw, dy;
    ASSERT_EQ(api.memAlloc(&dx, x.size() * 2), CUDA_SUCCESS);
    ASSERT_EQ(api.memAlloc(&dw, w.size() * 2), CUDA_SUCCESS);
    ASSERT_EQ(api.memAlloc(&dy, m * n * 4), CUDA_SUCCESS);
    api.memcpyHtoD(dx, x.data(), x.size() * 2);
    api.memcpyHtoD(dw, w.data(), w.size() * 2);
    std::vector<float> zeros(m * n, 0.0f);
    api.memcpyHtoD(dy, zeros.data(), zeros.size() * 4);
    Descriptor xd{dx, dx, 0, m, k, k, 1};
    Descriptor wd = kernel.weightInOut ? Descriptor{dw, dw, 0, k, n, n, 1}
                                       : Descriptor{dw, dw, 0, n, k, k, 1};
    Descriptor yd{dy, dy, 0, m, n, n, 1};
    std::vector<void *> args;
    for (Descriptor *d : {&xd, &wd, &yd})
      for (void *field :
           {(void *)&d->allocated, (void *)&d->aligned, (void *)&d->offset,
            (void *)&d->size0, (void *)&d->size1, (void *)&d->stride0,
            (void *)&d->stride1})
        args.push_back(field);
    ASSERT_EQ(api.launchKernel(function, unsigned(n / kernel.blockCols),
                               unsigned(m / 32), 1, unsigned(kernel.threadsX),
                               2, 1, 0, nullptr, args.data(), nullptr),
              CUDA_SUCCESS);
    std::vector<float> y(m * n);
    ASSERT_EQ(api.memcpyDtoH(y.data(), dy, y.size() * 4), CUDA_SUCCESS);
    double worst = 0;
    for (int64_t r = 0; r < m; ++r)
      for (int64_t c = 0; c < n; ++c) {
        double sum = 0;
        for (int64_t i = 0; i < k; ++i)
          sum += double(xf[r * k + i]) *
                 (kernel.weightInOut ? wf[i * n + c] : wf[c * k + i]);
        worst = std::max(worst, std::fabs(sum - y[r * n + c]));
      }
    EXPECT_LT(worst, 1e-3) << "max abs error " << worst;
    api.memFree(dx);
    api.memFree(dw);
    api.memFree(dy);
    api.moduleUnload(module);
  }
}

} // namespace
