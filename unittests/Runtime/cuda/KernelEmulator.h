//===- KernelEmulator.h - GPU kernels run on the CPU, for tests -*- C++ -*-===//
//
// Runs the kernels `llmc --emit=emulated-kernels` compiled for the host
// (llmc/Target/EmulatedKernels.h) the way a GPU would: a launch's blocks one
// after the other, every thread of a block a fiber with its own stack, so
// that barriers, warp shuffles and warp-wide tensor-core products (all calls
// `llmc_emu_*` into this file) wait for the threads they need. Blocks share
// one copy of the kernels' shared memory. Asynchronous operations complete
// as late as the PTX ISA allows: a cp.async copies when its thread waits
// for its group, and a wgmma, computed when issued, is computed again when
// its thread waits for its group, which is an error where the two differ
// (shared memory it reads changed while it was in flight). x86-64 only
// (the fibers switch stacks in assembly).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_UNITTESTS_RUNTIME_CUDA_KERNELEMULATOR_H
#define LLMC_UNITTESTS_RUNTIME_CUDA_KERNELEMULATOR_H

#include <map>
#include <string>

namespace fakecuda {

/// A kernel's emulator entry: K__llmc_emu(void **params).
using EmulatedKernel = void (*)(void **params);

struct Dim3 {
  unsigned x, y, z;
};

/// Runs `kernel` on a grid of `grid` blocks of `block` threads; false with
/// `error` set when its threads cannot go on (one waits at a barrier the
/// others never reach) or broke a rule of the PTX ISA the emulator checks
/// (an in-flight wgmma's operands overwritten). `name` keys its statistics.
bool runEmulatedKernel(EmulatedKernel kernel, const std::string &name,
                       Dim3 grid, Dim3 block, void **params,
                       std::string &error);

/// Shared-memory wavefronts of warp-wide accesses: a wavefront serves each
/// of the 32 banks one 4-byte word (lanes reading the same word share it);
/// 16-byte accesses go 8 lanes at a time, 8-byte ones 16. `ideal` is one
/// per such phase, the least it can take.
struct SharedTraffic {
  long wavefronts = 0, ideal = 0;

  void add(const SharedTraffic &other) {
    wavefronts += other.wavefronts;
    ideal += other.ideal;
  }
};
/// A kernel's cp.async stores, ldmatrix loads, and its plain loads and
/// stores (a warp's executions of one load or store in the kernel's code,
/// the n-th of each lane together).
struct SharedStats {
  SharedTraffic copies, matrices, loads, stores;

  void add(const SharedStats &other) {
    copies.add(other.copies);
    matrices.add(other.matrices);
    loads.add(other.loads);
    stores.add(other.stores);
  }
  bool empty() const {
    return !copies.ideal && !matrices.ideal && !loads.ideal && !stores.ideal;
  }
};
/// Starts (or stops) counting; counted so far, by kernel name.
void countSharedTraffic(bool on);
const std::map<std::string, SharedStats> &sharedTraffic();

/// Device-memory traffic of a launch: the bytes of the distinct 32-byte
/// sectors its threads read (loads, cp.async and TMA sources, atomics) and
/// wrote (stores, atomics), as DRAM would serve them if every kernel
/// started with a cold cache that kept all it read.
struct GlobalTraffic {
  long readBytes = 0, writtenBytes = 0;
};
/// Counts the accesses to [begin, begin + bytes) from the next launch on
/// (0 bytes: stops).
void countGlobalTraffic(const void *begin, size_t bytes);
/// The last launch's.
GlobalTraffic lastGlobalTraffic();

} // namespace fakecuda

#endif // LLMC_UNITTESTS_RUNTIME_CUDA_KERNELEMULATOR_H
