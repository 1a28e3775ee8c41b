//===- KernelEmulatorTest.cpp - The fake driver's kernel emulator ---------===//
//
// Kernels written here the way `llmc --emit=emulated-kernels` compiles them
// (calls `llmc_emu_NAME(args, result)` for the NVVM intrinsics): shuffles
// of every mode, a barrier with shared memory, mma.sync against a plain
// matrix product, ldmatrix (plain and transposed) against the fragment
// layout, and threads that wait for each other forever (an error,
// not a hang).
//
//===----------------------------------------------------------------------===//

#include "KernelEmulator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

extern "C" {
void llmc_emu_read_ptx_sreg_tid_x(const void *, void *);
void llmc_emu_read_ptx_sreg_ctaid_x(const void *, void *);
void llmc_emu_barrier0(const void *, void *);
void llmc_emu_shfl_sync_bfly_f32(const void *, void *);
void llmc_emu_shfl_sync_idx_f32(const void *, void *);
void llmc_emu_shfl_sync_down_f32(const void *, void *);
void llmc_emu_shfl_sync_up_i32(const void *, void *);
void llmc_emu_mma_m16n8k16_row_col_f32_f32(const void *, void *);
void llmc_emu_ldmatrix_sync_aligned_m8n8_x4_b16_p3(const void *, void *);
void llmc_emu_ldmatrix_sync_aligned_m8n8_x4_trans_b16_p3(const void *, void *);
}

namespace {

using fakecuda::runEmulatedKernel;

uint32_t threadId() {
  uint32_t id;
  llmc_emu_read_ptx_sreg_tid_x(nullptr, &id);
  return id;
}

template <typename T>
T shuffle(void (*intrinsic)(const void *, void *), T value, int32_t b,
          int32_t c = 31) {
  struct {
    uint32_t mask;
    T value;
    int32_t b, c;
  } args = {~0u, value, b, c};
  T result;
  intrinsic(&args, &result);
  return result;
}

float *output(void **params) { return *static_cast<float **>(params[0]); }

bool run(fakecuda::EmulatedKernel kernel, unsigned threads, float *out,
         std::string &error, unsigned blocks = 1) {
  void *params[] = {&out};
  return runEmulatedKernel(kernel, {blocks, 1, 1}, {threads, 1, 1}, params,
                           error);
}

TEST(KernelEmulator, Shuffles) {
  auto kernel = [](void **params) {
    uint32_t lane = threadId() % 32;
    float v = float(lane);
    float sum = v;
    for (int offset = 16; offset; offset /= 2)
      sum += shuffle(llmc_emu_shfl_sync_bfly_f32, sum, offset);
    float *out = output(params) + threadId() * 4;
    out[0] = sum;
    out[1] = shuffle(llmc_emu_shfl_sync_idx_f32, v, 5);
    out[2] = shuffle(llmc_emu_shfl_sync_down_f32, v, 3);
    out[3] = float(shuffle(llmc_emu_shfl_sync_up_i32, int32_t(lane), 3, 0));
  };
  std::vector<float> out(64 * 4);
  std::string error;
  ASSERT_TRUE(run(kernel, 64, out.data(), error)) << error;
  for (unsigned t = 0; t < 64; ++t) {
    unsigned lane = t % 32;
    EXPECT_EQ(out[t * 4], 496.0f) << t;
    EXPECT_EQ(out[t * 4 + 1], 5.0f) << t;
    // Past the last lane (down) or before the first (up): its own value.
    EXPECT_EQ(out[t * 4 + 2], float(lane + 3 <= 31 ? lane + 3 : lane)) << t;
    EXPECT_EQ(out[t * 4 + 3], float(lane >= 3 ? lane - 3 : lane)) << t;
  }
}

float shared[8];

TEST(KernelEmulator, BarrierAndSharedMemory) {
  // Each warp's lane 0 leaves its warp's index, every thread sums them
  // after the barrier; blocks run one after the other on one copy.
  auto kernel = [](void **params) {
    uint32_t t = threadId(), block;
    llmc_emu_read_ptx_sreg_ctaid_x(nullptr, &block);
    if (t % 32 == 0)
      shared[t / 32] = float(t / 32 + block);
    llmc_emu_barrier0(nullptr, nullptr);
    float sum = 0;
    for (float v : shared)
      sum += v;
    output(params)[block * 256 + t] = sum;
  };
  std::vector<float> out(512);
  std::string error;
  ASSERT_TRUE(run(kernel, 256, out.data(), error, 2)) << error;
  for (unsigned i = 0; i < 512; ++i)
    EXPECT_EQ(out[i], i < 256 ? 28.0f : 36.0f) << i;
}

uint16_t toHalf(float f) {
  // Exact for the small integers used here.
  if (f == 0)
    return 0;
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  uint32_t sign = bits >> 31, exponent = (bits >> 23) & 0xff;
  return uint16_t(sign << 15 | (exponent - 112) << 10 | ((bits >> 13) & 0x3ff));
}

float a[16][16], b[16][8];

TEST(KernelEmulator, MmaMatchesAMatrixProduct) {
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k)
      a[i][k] = float((i * 3 + k * 7) % 11 - 5);
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j)
      b[k][j] = float((k * 5 + j) % 7 - 3);
  // Each lane passes its fragments in the PTX ISA layout, C = 1.
  auto kernel = [](void **params) {
    int lane = int(threadId()), g = lane / 4, t = lane % 4;
    struct {
      uint16_t a[4][2], b[2][2];
      float c[4];
    } args;
    for (int i = 0; i < 2; ++i) {
      args.a[0][i] = toHalf(a[g][2 * t + i]);
      args.a[1][i] = toHalf(a[g + 8][2 * t + i]);
      args.a[2][i] = toHalf(a[g][2 * t + 8 + i]);
      args.a[3][i] = toHalf(a[g + 8][2 * t + 8 + i]);
      args.b[0][i] = toHalf(b[2 * t + i][g]);
      args.b[1][i] = toHalf(b[2 * t + 8 + i][g]);
    }
    for (float &c : args.c)
      c = 1;
    float d[4];
    llmc_emu_mma_m16n8k16_row_col_f32_f32(&args, d);
    float *out = output(params);
    for (int r = 0; r < 4; ++r)
      out[(g + (r >= 2 ? 8 : 0)) * 8 + 2 * t + (r & 1)] = d[r];
  };
  std::vector<float> out(16 * 8);
  std::string error;
  ASSERT_TRUE(run(kernel, 32, out.data(), error)) << error;
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j) {
      float want = 1;
      for (int k = 0; k < 16; ++k)
        want += a[i][k] * b[k][j];
      EXPECT_EQ(out[i * 8 + j], want) << i << ", " << j;
    }
}

uint16_t tile[16][24]; // rows padded as the kernels' shared tiles

TEST(KernelEmulator, LoadMatricesGiveTheFragmentLayout) {
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 24; ++c)
      tile[r][c] = uint16_t(r * 100 + c);
  // Lane l gives row l % 16, columns from 8 (l / 16): matrices 0-3 are the
  // tile's quarters (rows 0-7, 8-15) x (columns 0-7, 8-15), as an A
  // fragment wants them.
  auto kernel = [](void **params) {
    int lane = int(threadId());
    struct {
      const uint16_t *address;
    } args = {&tile[lane % 16][8 * (lane / 16)]};
    uint16_t plain[4][2], transposed[4][2];
    llmc_emu_ldmatrix_sync_aligned_m8n8_x4_b16_p3(&args, plain);
    llmc_emu_ldmatrix_sync_aligned_m8n8_x4_trans_b16_p3(&args, transposed);
    float *out = output(params) + lane * 16;
    for (int m = 0; m < 4; ++m)
      for (int i = 0; i < 2; ++i) {
        out[m * 2 + i] = plain[m][i];
        out[8 + m * 2 + i] = transposed[m][i];
      }
  };
  std::vector<float> out(32 * 16);
  std::string error;
  ASSERT_TRUE(run(kernel, 32, out.data(), error)) << error;
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int m = 0; m < 4; ++m) {
      int row0 = 8 * (m % 2), col0 = 8 * (m / 2);
      for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(out[lane * 16 + m * 2 + i], tile[row0 + g][col0 + 2 * t + i])
            << "lane " << lane << " matrix " << m;
        EXPECT_EQ(out[lane * 16 + 8 + m * 2 + i],
                  tile[row0 + 2 * t + i][col0 + g])
            << "lane " << lane << " matrix " << m << " transposed";
      }
    }
  }
}

TEST(KernelEmulator, ThreadsThatNeverMeetAreAnError) {
  // Warp 0 shuffles while warp 1 waits at a barrier warp 0 never reaches
  // (it waits for lane 0, which waits at the barrier too).
  auto kernel = [](void **) {
    uint32_t t = threadId();
    if (t == 0 || t >= 32)
      llmc_emu_barrier0(nullptr, nullptr);
    else
      shuffle(llmc_emu_shfl_sync_bfly_f32, 1.0f, 1);
  };
  std::string error;
  EXPECT_FALSE(run(kernel, 64, nullptr, error));
  EXPECT_EQ(error, "block (0, 0, 0): threads wait at a barrier or warp "
                   "operation the others never reach");
}

} // namespace
