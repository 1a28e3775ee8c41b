//===- KernelEmulatorTest.cpp - The fake driver's kernel emulator ---------===//
//
// Kernels written here the way `llmc --emit=emulated-kernels` compiles them
// (calls `llmc_emu_NAME(args, result)` for the NVVM intrinsics): shuffles
// of every mode, a barrier with shared memory, mma.sync (f16 and bf16)
// against a plain matrix product, ldmatrix (plain and transposed) against the
// fragment layout, wgmma against a plain product (A in shared memory, or in
// registers with B transposed), wgmma reading stores not fenced from
// its proxy (an error), cp.async landing only when waited
// for, a wgmma whose operands change in flight (an error), TMA tiles
// landing swizzled when their mbarrier phase is waited for and read back
// by a wgmma through swizzled descriptors, shared-memory
// bank conflicts counted, and threads that wait for each other forever (an
// error, not a hang).
//
//===----------------------------------------------------------------------===//

#include "KernelEmulator.h"
#include "FakeTensorMap.h"

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
void llmc_emu_mma_m16n8k16_row_col_bf16(const void *, void *);
void llmc_emu_ldmatrix_sync_aligned_m8n8_x4_b16_p3(const void *, void *);
void llmc_emu_ldmatrix_sync_aligned_m8n8_x4_trans_b16_p3(const void *, void *);
void llmc_emu_cp_async_ca_shared_global_4(const void *, void *);
void llmc_emu_cp_async_cg_shared_global_16(const void *, void *);
void llmc_emu_cp_async_cg_shared_global_zfill(const void *, void *);
void llmc_emu_cp_async_commit_group(const void *, void *);
void llmc_emu_cp_async_wait_group(const void *, void *);
uint64_t llmc_emu_shared_address(const void *);
void llmc_emu_shared_access(const void *, int32_t, int32_t, int32_t);
void llmc_emu_global_access(const void *, int32_t, int32_t);
void llmc_emu_wgmma_m64k16_f32_f16(const void *, void *, int32_t, int32_t);
void llmc_emu_wgmma_rs_m64k16_f32_f16(const void *, void *, int32_t, int32_t);
void llmc_emu_wgmma_commit_group(const void *, void *);
void llmc_emu_generic_store(const void *, int32_t);
void llmc_emu_checks_proxies();
void llmc_emu_fence_proxy_async(const void *, void *);
void llmc_emu_wgmma_wait_group(const void *, void *);
void llmc_emu_mbarrier_init_shared(const void *, void *);
void llmc_emu_mbarrier_arrive_expect_tx_shared(const void *, void *);
void llmc_emu_mbarrier_arrive_shared(const void *, void *);
void llmc_emu_mbarrier_try_wait_parity_shared(const void *, void *);
void llmc_emu_cp_async_bulk_tensor_2d(const void *, void *);
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
         std::string &error, unsigned blocks = 1,
         const std::string &name = "test") {
  void *params[] = {&out};
  return runEmulatedKernel(kernel, name, {blocks, 1, 1}, {threads, 1, 1},
                           params, error);
}

void waitGroups(void (*wait)(const void *, void *), int32_t pending) {
  wait(&pending, nullptr);
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

/// bf16 is f32's upper half: exact for small integers.
uint16_t toBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return uint16_t(bits >> 16);
}

float a[16][16], b[16][8];

/// mma.sync m16n8k16 through `mma` (the f16 or the bf16 form), the
/// operands converted by `convert`, against a plain product.
void checkMma(void (*mma)(const void *, void *), uint16_t (*convert)(float)) {
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k)
      a[i][k] = float((i * 3 + k * 7) % 11 - 5);
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j)
      b[k][j] = float((k * 5 + j) % 7 - 3);
  // Each lane passes its fragments in the PTX ISA layout, C = 1.
  static void (*theMma)(const void *, void *);
  static uint16_t (*theConvert)(float);
  theMma = mma;
  theConvert = convert;
  auto kernel = [](void **params) {
    auto toHalf = theConvert;
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
    theMma(&args, d);
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

TEST(KernelEmulator, MmaMatchesAMatrixProduct) {
  checkMma(llmc_emu_mma_m16n8k16_row_col_f32_f32, toHalf);
}

TEST(KernelEmulator, Bf16MmaMatchesAMatrixProduct) {
  // The bf16 intrinsic's registers are i32: the same bytes.
  checkMma(llmc_emu_mma_m16n8k16_row_col_bf16, toBf16);
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

float staged[32], source[32];

TEST(KernelEmulator, SizedAsyncCopiesReadTheirSourceBytes) {
  // `cp.async.cg.shared.global [to], [from], 16, N`: thread t copies 16
  // bytes reading 4 t of them (0, 4, 8, 12, 16), zeros after them.
  for (int i = 0; i < 32; ++i)
    source[i] = float(i + 1);
  auto kernel = [](void **params) {
    uint32_t t = threadId();
    float to[4] = {-1, -1, -1, -1};
    struct {
      float *to;
      const float *from;
      int32_t bytes, sourceBytes;
    } args = {to, &source[4 * t], 16, int32_t(4 * t)};
    llmc_emu_cp_async_cg_shared_global_zfill(&args, nullptr);
    llmc_emu_cp_async_commit_group(nullptr, nullptr);
    waitGroups(llmc_emu_cp_async_wait_group, 0);
    std::memcpy(output(params) + 4 * t, to, sizeof to);
  };
  std::vector<float> out(5 * 4);
  std::string error;
  ASSERT_TRUE(run(kernel, 5, out.data(), error)) << error;
  for (int t = 0; t < 5; ++t)
    for (int e = 0; e < 4; ++e)
      EXPECT_EQ(out[4 * t + e], e < t ? float(4 * t + e + 1) : 0.0f)
          << t << ", " << e;
}

TEST(KernelEmulator, AsyncCopiesLandWhenWaitedFor) {
  // Each thread copies two words in two groups: neither is there before a
  // wait, the older after waiting for all but one, both after waiting for
  // all.
  for (int i = 0; i < 32; ++i)
    source[i] = float(i + 1);
  auto kernel = [](void **params) {
    uint32_t t = threadId();
    staged[t] = staged[16 + t] = -1;
    for (int g = 0; g < 2; ++g) {
      struct {
        float *to;
        const float *from;
      } args = {&staged[16 * g + t], &source[16 * g + t]};
      llmc_emu_cp_async_ca_shared_global_4(&args, nullptr);
      llmc_emu_cp_async_commit_group(nullptr, nullptr);
    }
    float *out = output(params) + 6 * t;
    out[0] = staged[t];
    out[1] = staged[16 + t];
    waitGroups(llmc_emu_cp_async_wait_group, 1);
    out[2] = staged[t];
    out[3] = staged[16 + t];
    waitGroups(llmc_emu_cp_async_wait_group, 0);
    out[4] = staged[t];
    out[5] = staged[16 + t];
  };
  std::vector<float> out(16 * 6);
  std::string error;
  ASSERT_TRUE(run(kernel, 16, out.data(), error)) << error;
  for (int t = 0; t < 16; ++t) {
    float first = float(t + 1), second = float(t + 17);
    std::vector<float> want = {-1, -1, first, -1, first, second};
    EXPECT_EQ(std::vector<float>(out.begin() + 6 * t, out.begin() + 6 * t + 6),
              want)
        << t;
  }
}

// wgmma operands as the kernels store them: 8 x 8 core matrices of 128
// bytes, along k (LBO 128) then by 8 rows (SBO 256 for 16 steps of k).
alignas(128) uint16_t tileA[8][2][8][8], tileB[2][8][8];

uint64_t descriptor(const void *tile) {
  uint64_t address = llmc_emu_shared_address(tile);
  return ((address >> 4) & 0x3fff) | uint64_t(128 >> 4) << 16 |
         uint64_t(256 >> 4) << 32;
}

float wgmmaA(int r, int k) { return float((r * 5 + k * 3) % 9 - 4); }
float wgmmaB(int n, int k) { return float((n * 7 + k) % 5 - 2); }

/// `out`, a 64 x `n` wgmma result (row-major) into accumulators of 1,
/// against 1 + A B.
void expectWgmmaProduct(const std::vector<float> &out, int n) {
  for (int r = 0; r < 64; ++r)
    for (int c = 0; c < n; ++c) {
      float want = 1;
      for (int k = 0; k < 16; ++k)
        want += wgmmaA(r, k) * wgmmaB(c, k);
      EXPECT_EQ(out[r * n + c], want) << r << ", " << c;
    }
}

/// How a kernel's stores of wgmma's operands reach the async proxy.
enum class Proxy {
  Unchecked,       // stores not reported (as a kernel without wgmma)
  Fenced,          // thread 0's stores of B reported, its fence, a barrier
  FencedNoBarrier, // thread 0's stores of B reported, its fence
  Unfenced,        // thread 0's stores of B reported, a barrier
};

/// A warpgroup's m64n8k16 wgmma into accumulators of 1, committed and
/// waited for; thread 0 writes `overwrite` into A's first element before
/// the wait where it is not 0.
void wgmmaKernel(void **params, float overwrite,
                 Proxy proxy = Proxy::Unchecked) {
  for (int r = 0; r < 64; ++r)
    for (int k = 0; k < 16; ++k)
      tileA[r / 8][k / 8][r % 8][k % 8] = toHalf(wgmmaA(r, k));
  for (int n = 0; n < 8; ++n)
    for (int k = 0; k < 16; ++k)
      tileB[k / 8][n][k % 8] = toHalf(wgmmaB(n, k));
  if (proxy != Proxy::Unchecked) {
    llmc_emu_checks_proxies();
    if (threadId() == 0)
      llmc_emu_generic_store(tileB, sizeof tileB);
    if (proxy != Proxy::Unfenced)
      llmc_emu_fence_proxy_async(nullptr, nullptr);
    if (proxy != Proxy::FencedNoBarrier)
      llmc_emu_barrier0(nullptr, nullptr);
  }
  struct {
    float d[4];
    uint64_t a, b;
    int32_t scaleD, scaleA, scaleB, transposeA, transposeB;
  } args = {{1, 1, 1, 1}, descriptor(tileA), descriptor(tileB), 1, 1, 1, 0, 0};
  float d[4];
  llmc_emu_wgmma_m64k16_f32_f16(&args, d, 8, 0);
  llmc_emu_wgmma_commit_group(nullptr, nullptr);
  uint32_t t = threadId();
  if (overwrite != 0 && t == 0)
    tileA[0][0][0][0] = toHalf(overwrite);
  waitGroups(llmc_emu_wgmma_wait_group, 0);
  // Thread t: rows 16 (t / 32) + (t % 32) / 4 and + 8, columns 2 (t % 4)
  // and + 1: register 2 h + e.
  int row = 16 * int(t / 32) + int(t % 32) / 4, column = 2 * int(t % 4);
  for (int h = 0; h < 2; ++h)
    for (int e = 0; e < 2; ++e)
      output(params)[(row + 8 * h) * 8 + column + e] = d[2 * h + e];
}

TEST(KernelEmulator, WgmmaMatchesAMatrixProduct) {
  std::vector<float> out(64 * 8);
  std::string error;
  ASSERT_TRUE(run([](void **params) { wgmmaKernel(params, 0); }, 128,
                  out.data(), error))
      << error;
  expectWgmmaProduct(out, 8);
}

// Shared memory written through the generic proxy reaches wgmma (the
// async proxy) only after the writer's fence.proxy.async and, for the
// other threads, a barrier after it.
TEST(KernelEmulator, WgmmaReadsGenericWritesOnlyAfterAProxyFence) {
  std::vector<float> out(64 * 8);
  std::string error;
  EXPECT_TRUE(run([](void **params) { wgmmaKernel(params, 0, Proxy::Fenced); },
                  128, out.data(), error))
      << error;
  EXPECT_FALSE(
      run([](void **params) { wgmmaKernel(params, 0, Proxy::Unfenced); }, 128,
          out.data(), error));
  // (The last thread to reach the barrier runs on first.)
  EXPECT_EQ(error, "block (0, 0, 0), thread 127: a wgmma read shared memory "
                   "that a thread wrote through the generic proxy (a store "
                   "or cp.async) without fence.proxy.async after it");
  EXPECT_FALSE(
      run([](void **params) { wgmmaKernel(params, 0, Proxy::FencedNoBarrier); },
          128, out.data(), error));
  EXPECT_EQ(error, "block (0, 0, 0), thread 1: a wgmma read shared memory "
                   "that another thread wrote through the generic proxy and "
                   "fenced, without a barrier after the fence");
}

TEST(KernelEmulator, WgmmaOperandsOverwrittenInFlightAreAnError) {
  std::vector<float> out(64 * 8);
  std::string error;
  EXPECT_FALSE(run([](void **params) { wgmmaKernel(params, 3); }, 128,
                   out.data(), error));
  EXPECT_EQ(error, "block (0, 0, 0), thread 0: shared memory read by a wgmma "
                   "in flight changed before wgmma.wait_group completed it");
}

// A wgmma with A in registers (each warp's 16 rows as mma.sync's A
// fragment) and B n-major (wgmma's transposed B: a core matrix is 8 k of
// 8 contiguous n; 8 n further: SBO 128, 8 k further: LBO 256 for N = 16).
alignas(128) uint16_t tileBN[2][2][8][8];

void wgmmaRegistersKernel(void **params) {
  for (int n = 0; n < 16; ++n)
    for (int k = 0; k < 16; ++k)
      tileBN[k / 8][n / 8][k % 8][n % 8] = toHalf(wgmmaB(n, k));
  uint32_t t = threadId();
  int g = int(t % 32) / 4, quad = 2 * int(t % 4), first = 16 * int(t / 32);
  struct {
    float d[8];
    uint16_t a[4][2];
    uint64_t b;
    int32_t scaleD, scaleA, scaleB, transposeB;
  } args = {{1, 1, 1, 1, 1, 1, 1, 1}, {}, 0, 1, 1, 1, 1};
  for (int e = 0; e < 2; ++e) {
    args.a[0][e] = toHalf(wgmmaA(first + g, quad + e));
    args.a[1][e] = toHalf(wgmmaA(first + g + 8, quad + e));
    args.a[2][e] = toHalf(wgmmaA(first + g, quad + 8 + e));
    args.a[3][e] = toHalf(wgmmaA(first + g + 8, quad + 8 + e));
  }
  uint64_t address = llmc_emu_shared_address(tileBN);
  args.b = ((address >> 4) & 0x3fff) | uint64_t(256 >> 4) << 16 |
           uint64_t(128 >> 4) << 32;
  float d[8];
  llmc_emu_wgmma_rs_m64k16_f32_f16(&args, d, 16, 0);
  llmc_emu_wgmma_commit_group(nullptr, nullptr);
  waitGroups(llmc_emu_wgmma_wait_group, 0);
  // Register 4 j + 2 h + e: row first + g + 8 h, column 8 j + quad + e.
  for (int j = 0; j < 2; ++j)
    for (int h = 0; h < 2; ++h)
      for (int e = 0; e < 2; ++e)
        output(params)[(first + g + 8 * h) * 16 + 8 * j + quad + e] =
            d[4 * j + 2 * h + e];
}

TEST(KernelEmulator, WgmmaWithRegistersAndTransposedBMatchesAProduct) {
  std::vector<float> out(64 * 16);
  std::string error;
  ASSERT_TRUE(run(wgmmaRegistersKernel, 128, out.data(), error)) << error;
  expectWgmmaProduct(out, 16);
}

// TMA: boxes of a 60 x 64 f16 matrix land in shared memory swizzled in
// 128-byte spans (16-byte chunk c of box row r at chunk c ^ (r % 8)) once
// a thread waits for their mbarrier's phase; a wgmma reads them through
// swizzled descriptors from k = 16 (32 bytes into each row).
alignas(1024) unsigned char tmaA[64 * 128], tmaB[8 * 128];
alignas(8) uint64_t tmaBarrier;
std::vector<uint16_t> tmaMatrix;
fakecuda::FakeTensorMap tmaMapA, tmaMapB;
bool tmaLandedEarly;

float tmaValue(int r, int c) { return float((r * 3 + c * 5) % 11 - 5); }

uint64_t swizzledDescriptor(const void *tile, int byteOffset) {
  uint64_t address = llmc_emu_shared_address(tile) + byteOffset;
  return ((address >> 4) & 0x3fff) | uint64_t(1) << 16 |
         uint64_t(1024 >> 4) << 32 | uint64_t(1) << 62;
}

/// tmaBarrier's mbarrier.init (`count` arrivals a phase), arrive,
/// arrive.expect_tx and try_wait.parity, as the kernels call them.
void initBarrier(int32_t count = 1) {
  struct {
    void *address;
    int32_t count;
  } init = {&tmaBarrier, count};
  llmc_emu_mbarrier_init_shared(&init, nullptr);
}
uint64_t arrive() {
  void *address = &tmaBarrier;
  uint64_t state;
  llmc_emu_mbarrier_arrive_shared(&address, &state);
  return state;
}
void expectBytes(int32_t bytes) {
  struct {
    void *address;
    int32_t bytes;
  } expect = {&tmaBarrier, bytes};
  llmc_emu_mbarrier_arrive_expect_tx_shared(&expect, nullptr);
}
void waitPhase(int32_t parity) {
  struct {
    void *address;
    int32_t parity, ticks;
  } wait = {&tmaBarrier, parity, 1000};
  llmc_emu_mbarrier_try_wait_parity_shared(&wait, nullptr);
}

void tmaKernel(void **params) {
  uint32_t t = threadId();
  if (t == 0)
    initBarrier();
  llmc_emu_barrier0(nullptr, nullptr);
  if (t == 0) {
    expectBytes(int32_t(sizeof tmaA + sizeof tmaB));
    struct {
      unsigned char *to;
      const fakecuda::FakeTensorMap *map;
      int32_t inner, outer;
      void *barrier;
    } copyA = {tmaA, &tmaMapA, 0, 0, &tmaBarrier},
      copyB = {tmaB, &tmaMapB, 0, 20, &tmaBarrier};
    llmc_emu_cp_async_bulk_tensor_2d(&copyA, nullptr);
    llmc_emu_cp_async_bulk_tensor_2d(&copyB, nullptr);
    tmaLandedEarly = tmaA[0] != 0xab;
  }
  waitPhase(0);
  struct {
    float d[4];
    uint64_t a, b;
    int32_t scaleD, scaleA, scaleB, transposeA, transposeB;
  } args = {{0, 0, 0, 0},
            swizzledDescriptor(tmaA, 32),
            swizzledDescriptor(tmaB, 32),
            0,
            1,
            1,
            0,
            0};
  float d[4];
  llmc_emu_wgmma_m64k16_f32_f16(&args, d, 8, 0);
  llmc_emu_wgmma_commit_group(nullptr, nullptr);
  waitGroups(llmc_emu_wgmma_wait_group, 0);
  int row = 16 * int(t / 32) + int(t % 32) / 4, column = 2 * int(t % 4);
  for (int h = 0; h < 2; ++h)
    for (int e = 0; e < 2; ++e)
      output(params)[(row + 8 * h) * 8 + column + e] = d[2 * h + e];
}

TEST(KernelEmulator, TmaLandsSwizzledAndWgmmaReadsItBack) {
  tmaMatrix.resize(60 * 64);
  for (int r = 0; r < 60; ++r)
    for (int c = 0; c < 64; ++c)
      tmaMatrix[r * 64 + c] = toHalf(tmaValue(r, c));
  auto map = [](uint32_t boxRows) {
    return fakecuda::FakeTensorMap{
        fakecuda::FakeTensorMap::kMagic,
        reinterpret_cast<const unsigned char *>(tmaMatrix.data()),
        {64, 60},
        128,
        {64, boxRows},
        2,
        128};
  };
  tmaMapA = map(64);
  tmaMapB = map(8);
  std::memset(tmaA, 0xab, sizeof tmaA);
  std::vector<float> out(64 * 8);
  std::string error;
  ASSERT_TRUE(run(tmaKernel, 128, out.data(), error)) << error;
  EXPECT_FALSE(tmaLandedEarly);
  // Rows 60-63 lie outside the matrix: zeros.
  for (int r = 0; r < 64; ++r)
    for (int c = 0; c < 64; ++c) {
      uint16_t h;
      std::memcpy(&h, &tmaA[r * 128 + ((c / 8) ^ (r % 8)) * 16 + c % 8 * 2], 2);
      EXPECT_EQ(h, r < 60 ? toHalf(tmaValue(r, c)) : 0) << r << ", " << c;
    }
  for (int r = 0; r < 64; ++r)
    for (int n = 0; n < 8; ++n) {
      float want = 0;
      for (int k = 16; k < 32; ++k)
        want += (r < 60 ? tmaValue(r, k) : 0) * tmaValue(20 + n, k);
      EXPECT_EQ(out[r * 8 + n], want) << r << ", " << n;
    }
}

TEST(KernelEmulator, WaitingForAPhaseThatNeverCompletesIsAnError) {
  // Thread 0 expects bytes that no copy brings.
  auto kernel = [](void **) {
    if (threadId() == 0) {
      initBarrier();
      expectBytes(128);
    }
    llmc_emu_barrier0(nullptr, nullptr);
    waitPhase(0);
  };
  std::string error;
  EXPECT_FALSE(run(kernel, 32, nullptr, error));
  // (The thread that gives up first reports it.)
  EXPECT_NE(error.find("waits for an mbarrier phase that never completes"),
            std::string::npos)
      << error;
}

TEST(KernelEmulator, PlainArrivalsCompleteAPhaseAtTheirCount) {
  // An mbarrier of 2 arrivals: lane 0 of each of 2 warps arrives (the
  // state each gets back is the phase it arrived in: 0); every thread
  // waits for phase 0 (warp 0's until warp 1 arrived), then writes.
  static uint64_t states[2];
  auto kernel = [](void **params) {
    uint32_t t = threadId();
    if (t == 0)
      initBarrier(2);
    llmc_emu_barrier0(nullptr, nullptr);
    if (t % 32 == 0)
      states[t / 32] = arrive();
    waitPhase(0);
    output(params)[t] = 1;
  };
  std::vector<float> out(64);
  std::string error;
  ASSERT_TRUE(run(kernel, 64, out.data(), error)) << error;
  EXPECT_EQ(states[0], 0u);
  EXPECT_EQ(states[1], 0u);
  for (float v : out)
    EXPECT_EQ(v, 1);
  // One arrival of the two: the phase never completes.
  auto short_ = [](void **) {
    if (threadId() == 0) {
      initBarrier(2);
      arrive();
    }
    llmc_emu_barrier0(nullptr, nullptr);
    waitPhase(0);
  };
  EXPECT_FALSE(run(short_, 32, nullptr, error));
  EXPECT_NE(error.find("waits for an mbarrier phase that never completes"),
            std::string::npos)
      << error;
}

alignas(128) unsigned char landing[4096];

TEST(KernelEmulator, SharedTrafficCountsBankConflicts) {
  // A warp's 16-byte cp.async stores, 8 lanes a phase: lane l at 16 l (each
  // phase 128 consecutive bytes: one wavefront), then 8 lanes of a phase
  // 128 bytes apart (all in banks 0-3: 8 wavefronts).
  auto kernel = [](void **) {
    uint32_t lane = threadId();
    for (uint32_t offset : {16 * lane, 128 * (lane % 8) + 16 * (lane / 8)}) {
      struct {
        void *to;
        const void *from;
      } args = {&landing[offset], &source[0]};
      llmc_emu_cp_async_cg_shared_global_16(&args, nullptr);
    }
    llmc_emu_cp_async_commit_group(nullptr, nullptr);
    waitGroups(llmc_emu_cp_async_wait_group, 0);
    // Plain accesses, each site a warp-wide access: 2-byte loads side by
    // side (one wavefront), 4-byte stores 128 bytes apart (one bank: 32).
    llmc_emu_shared_access(&landing[2 * lane], 2, 0, 0);
    llmc_emu_shared_access(&landing[128 * lane], 4, 1, 1);
  };
  fakecuda::countSharedTraffic(true);
  std::string error;
  ASSERT_TRUE(run(kernel, 32, nullptr, error, 1, "copies")) << error;
  fakecuda::countSharedTraffic(false);
  const fakecuda::SharedTraffic &copies =
      fakecuda::sharedTraffic().at("copies").copies;
  EXPECT_EQ(copies.ideal, 8);
  EXPECT_EQ(copies.wavefronts, 4 + 4 * 8);
  const fakecuda::SharedStats &stats = fakecuda::sharedTraffic().at("copies");
  EXPECT_EQ(stats.loads.ideal, 1);
  EXPECT_EQ(stats.loads.wavefronts, 1);
  EXPECT_EQ(stats.stores.ideal, 1);
  EXPECT_EQ(stats.stores.wavefronts, 32);
}

TEST(KernelEmulator, DeviceTrafficCountsDistinctSectorsPerLaunch) {
  // Each of 64 threads loads 4 bytes of the first 256 (8 sectors, each read
  // by 8 threads), stores 2 bytes at 64 t + 300 (64 sectors, one each: 300
  // to 4333), updates one counter atomically (read and written); a cp.async
  // reads 16 bytes that straddle two sectors (4090-4105, 4090 is in sector
  // 127 with 4064-4095). What lies outside the counted region is not
  // counted.
  alignas(32) static unsigned char memory[8192];
  alignas(16) static unsigned char landing[16];
  static unsigned char outside[64];
  auto kernel = [](void **) {
    uint32_t t = threadId();
    llmc_emu_global_access(&memory[4 * t], 4, 0);
    llmc_emu_global_access(&memory[64 * t + 300], 2, 1);
    llmc_emu_global_access(&memory[6000], 4, 2);
    llmc_emu_global_access(&outside[t % 64], 1, 0);
    if (t == 0) {
      struct {
        void *to;
        const void *from;
        int32_t bytes, sourceBytes;
      } args = {landing, &memory[4090], 16, 16};
      llmc_emu_cp_async_cg_shared_global_zfill(&args, nullptr);
      llmc_emu_cp_async_commit_group(nullptr, nullptr);
      waitGroups(llmc_emu_cp_async_wait_group, 0);
    }
  };
  fakecuda::countGlobalTraffic(memory, sizeof memory);
  std::string error;
  ASSERT_TRUE(run(kernel, 64, nullptr, error)) << error;
  fakecuda::GlobalTraffic traffic = fakecuda::lastGlobalTraffic();
  EXPECT_EQ(traffic.readBytes, 32 * (8 + 1 + 2));
  EXPECT_EQ(traffic.writtenBytes, 32 * (64 + 1));
  // The next launch starts from nothing.
  auto reader = [](void **) { llmc_emu_global_access(&memory[0], 1, 0); };
  ASSERT_TRUE(run(reader, 32, nullptr, error)) << error;
  EXPECT_EQ(fakecuda::lastGlobalTraffic().readBytes, 32);
  EXPECT_EQ(fakecuda::lastGlobalTraffic().writtenBytes, 0);
  fakecuda::countGlobalTraffic(nullptr, 0);
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
