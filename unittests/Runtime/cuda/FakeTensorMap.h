//===- FakeTensorMap.h - What the fake driver's tensor maps hold -*- C++
//-*-===//
//
// A CUtensorMap is opaque: the fake driver's cuTensorMapEncodeTiled writes
// this into its 128 bytes, and the kernel emulator's cp.async.bulk.tensor
// reads it back (a two-dimensional tiled map, no interleave, elements
// outside the tensor read as zeros).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_UNITTESTS_RUNTIME_CUDA_FAKETENSORMAP_H
#define LLMC_UNITTESTS_RUNTIME_CUDA_FAKETENSORMAP_H

#include <cstdint>

namespace fakecuda {

struct FakeTensorMap {
  static constexpr uint64_t kMagic = 0x4d544b4146ULL; // "FAKTM"
  uint64_t magic;
  const unsigned char *base;
  /// Elements along the inner (contiguous) and the outer dimension.
  uint64_t dims[2];
  /// Bytes between consecutive outer indices.
  uint64_t rowBytes;
  /// The box: elements along the inner and the outer dimension.
  uint32_t box[2];
  uint32_t elementBytes;
  /// The span shared memory is swizzled in: 0 (none), 32, 64 or 128.
  uint32_t swizzleBytes;
};

/// The byte address `address` of a swizzled span of `swizzleBytes` lands
/// at: its 16-byte chunk within the span (address bits 4 and up, as many
/// as the span has chunks) exclusive-or'ed with the address's 128-byte row
/// (bits 7 and up), as TMA writes and wgmma reads a swizzled tile (whose
/// first byte is aligned to 8 such rows).
inline uintptr_t swizzled(uintptr_t address, uint32_t swizzleBytes) {
  if (swizzleBytes < 32)
    return address;
  uintptr_t mask = swizzleBytes / 16 - 1;
  return address ^ (((address >> 7) & mask) << 4);
}

} // namespace fakecuda

#endif // LLMC_UNITTESTS_RUNTIME_CUDA_FAKETENSORMAP_H
