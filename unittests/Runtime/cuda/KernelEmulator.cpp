//===- KernelEmulator.cpp - GPU kernels run on the CPU, for tests ---------===//
//
// Each thread of the running block is a fiber; the scheduler resumes, in
// order, every fiber that is not waiting, until all have returned. A thread
// waits at a block barrier until every live thread of its block arrived,
// and at a warp operation (shuffle, mma) until every live lane of its warp
// did: it leaves what it contributes in its lane's slot and reads the
// others' once released. Slots alternate between two buffers by the lane's
// count of warp operations: a lane released from operation k may write
// k + 1's buffer while a slower lane still reads k's, and cannot reach
// k + 2 before every lane has left k.
//
// Asynchronous operations are kept per thread in groups, as the PTX ISA
// defines them: a cp.async copies when a wait_group (or the thread's exit)
// completes its group, so that a kernel reading a stage before waiting for
// it reads what was there before; a wgmma computes its result when issued
// (its registers are SSA values of the emulated code) and again when its
// group completes, and the two must agree: shared memory it reads must not
// change while it is in flight. TMA's tile copies (cp.async.bulk.tensor)
// are kept by the mbarrier they complete on, and land when a thread waits
// for that mbarrier's phase once its arrivals are in: a kernel that reads
// a stage without waiting reads what was there before. With
// FAKE_CUDA_TMA=eager they land as they are issued instead: a kernel that
// overwrites a stage a wgmma in flight reads fails that wgmma's check.
// In a kernel that runs wgmma, shared memory a thread writes through the
// generic proxy (its stores, its cp.async copies once landed) may be read
// by a wgmma only after that thread's fence.proxy.async and, by another
// thread, a block barrier after the fence (PTX ISA's proxies: else the
// tensor cores may read what was there before): other reads are errors.
//
//===----------------------------------------------------------------------===//

#include "KernelEmulator.h"
#include "FakeTensorMap.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <sys/mman.h>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#if !defined(__x86_64__)
#error "the kernel emulator switches stacks in x86-64 assembly"
#endif

// fake_cuda_switch(from, to): saves the callee-saved registers on this
// stack, stores its pointer in *from, continues on stack `to`.
// fake_cuda_fiber_start: a new fiber's first return address; calls r12
// with rbx.
extern "C" void fake_cuda_switch(void **from, void *to);
extern "C" void fake_cuda_fiber_start();
asm(R"(
  .text
  .globl fake_cuda_switch
  .hidden fake_cuda_switch
  .type fake_cuda_switch, @function
fake_cuda_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size fake_cuda_switch, .-fake_cuda_switch

  .globl fake_cuda_fiber_start
  .hidden fake_cuda_fiber_start
  .type fake_cuda_fiber_start, @function
fake_cuda_fiber_start:
  movq %rbx, %rdi
  callq *%r12
  ud2
  .size fake_cuda_fiber_start, .-fake_cuda_fiber_start
)");

// Set while shared-memory traffic is counted: the emulated kernels then
// report their loads and stores of shared memory (llmc_emu_shared_access).
extern "C" int32_t llmc_emu_counting = 0;
// Set while device-memory traffic is counted: the emulated kernels then
// report their other loads, stores and atomics (llmc_emu_global_access).
extern "C" int32_t llmc_emu_counting_global = 0;

namespace fakecuda {
namespace {

constexpr size_t kStackBytes = 256 << 10;
constexpr size_t kGuardBytes = 4096;
constexpr int kSlotBytes = 32;
/// The unit of device-memory traffic (a DRAM sector).
constexpr size_t kSectorBytes = 32;

struct AsyncCopy {
  void *to;
  const void *from;
  /// Bytes written, the first `sourceBytes` of them read (the rest zeros).
  int bytes, sourceBytes;
};

/// A TMA tile copy in flight: the box at (inner, outer) of `map`'s tensor
/// into shared memory at `to`.
struct TmaCopy {
  const FakeTensorMap *map;
  unsigned char *to;
  int32_t inner, outer;
};

/// An mbarrier (PTX ISA): the arrivals and transaction bytes its current
/// phase still waits for, and the TMA copies that will bring those bytes.
struct MBarrier {
  int count = 0, pending = 0;
  long bytes = 0;
  unsigned phase = 0;
  std::vector<TmaCopy> copies;
};

/// A wgmma as its thread issued it: operands, accumulators in and out.
/// With A in registers, `aRows` holds the thread's two rows of it (16
/// values each, gathered from its quad's registers) and `a` is unused.
struct WgmmaIssue {
  uint64_t a = 0, b = 0;
  int n = 0;
  bool scaleD = false, bf16 = false, transposeB = false;
  std::vector<float> aRows, in, out;
};

/// Asynchronous operations of one kind: those issued since the last
/// commit, then the committed groups, oldest first.
template <typename Operation> struct AsyncGroups {
  std::vector<Operation> open;
  std::deque<std::vector<Operation>> committed;

  void commit() {
    committed.push_back(std::move(open));
    open.clear();
  }
  /// Completes (`complete(operation)`) the oldest groups until at most
  /// `pending` are left.
  template <typename F> void wait(size_t pending, F complete) {
    while (committed.size() > pending) {
      for (const Operation &operation : committed.front())
        complete(operation);
      committed.pop_front();
    }
  }
};

struct Thread {
  void *sp = nullptr;
  Dim3 id{};
  int warp = 0, lane = 0;
  long warpOps = 0, barriers = 0, copiesIssued = 0;
  /// How many times the thread ran each shared load or store (by site).
  std::vector<long> accesses;
  bool done = false;
  AsyncGroups<AsyncCopy> copies;
  AsyncGroups<WgmmaIssue> wgmmas;
  /// The shared 2-byte units the thread wrote through the generic proxy
  /// since its last fence.proxy.async (Emulator::genericWrites).
  std::vector<uintptr_t> unfencedWrites;
};

/// One lane's part of a warp-wide shared-memory access (0 bytes: none).
struct Access {
  uintptr_t address = 0;
  int bytes = 0;
};
using WarpAccess = std::array<Access, 32>;

/// Adds a warp-wide access to `traffic`: lanes in phases of 128 bytes'
/// worth (8 of 16 bytes, 16 of 8, 32 of 4 or less), each phase as many
/// wavefronts as the most distinct words one bank serves.
void addWarpAccess(const WarpAccess &lanes, SharedTraffic &traffic) {
  int width = 4;
  for (const Access &access : lanes)
    width = std::max(width, access.bytes);
  int perPhase = 128 / width;
  for (int first = 0; first < 32; first += perPhase) {
    std::vector<uintptr_t> banks[32];
    bool active = false;
    for (int lane = first; lane < first + perPhase; ++lane)
      for (uintptr_t word = lanes[lane].address / 4;
           lanes[lane].bytes &&
           word <= (lanes[lane].address + lanes[lane].bytes - 1) / 4;
           ++word) {
        std::vector<uintptr_t> &bank = banks[word % 32];
        if (std::find(bank.begin(), bank.end(), word) == bank.end())
          bank.push_back(word);
        active = true;
      }
    if (!active)
      continue;
    size_t most = 0;
    for (const std::vector<uintptr_t> &bank : banks)
      most = std::max(most, bank.size());
    traffic.wavefronts += long(most);
    ++traffic.ideal;
  }
}

/// Threads that meet again and again (a warp at its shuffles, a block at
/// its barriers): meeting k is released once every live member has
/// arrived; a member that returns no longer counts.
struct Rendezvous {
  long released = 0; // meetings every live member has reached
  int arrived = 0, live = 0;

  void arrive() {
    if (++arrived == live)
      release();
  }
  void leave() {
    if (--live > 0 && arrived == live)
      release();
  }

private:
  void release() {
    arrived = 0;
    ++released;
  }
};

struct Warp {
  Rendezvous lanes;
  alignas(16) unsigned char slots[2][32][kSlotBytes];
};

struct Emulator {
  EmulatedKernel kernel = nullptr;
  void **params = nullptr;
  Dim3 grid{}, block{}, blockId{};
  std::vector<Thread> threads;
  std::vector<Warp> warps;
  Rendezvous barriers; // the block's threads at gpu.barrier
  Thread *current = nullptr;
  void *schedulerSp = nullptr;
  std::vector<char *> stacks;
  /// FAKE_CUDA_ORDER=reverse: the block's last thread runs first, and the
  /// grid's last block (races that the usual order hides show; another
  /// block arrives last where blocks count their arrivals).
  bool reverse = false;
  /// FAKE_CUDA_TMA=eager: TMA copies land as they are issued (a stage
  /// overwritten while a wgmma still reads it shows), else when a thread
  /// waits for their phase (a stage read before its wait shows).
  bool eagerTma = false;
  /// Where the running kernel's shared memory lies (addresses it took as
  /// integers): a wgmma descriptor holds an address's low 18 bits, the
  /// shared window's size on a GPU.
  std::vector<uintptr_t> sharedBases;
  /// The first broken rule of the running kernel, if any.
  std::string failure;
  /// Whether the running kernel runs wgmma (its shared stores are then
  /// reported: llmc_emu_generic_store), and the shared 2-byte units
  /// written through the generic proxy (stores, cp.async): by whom, and
  /// the writer's count of barriers when it last fenced them
  /// (fence.proxy.async; -1: not since the write). A wgmma (the async
  /// proxy) may read a unit once its writer fenced it and, for another
  /// thread, a barrier followed the fence.
  bool checksProxies = false;
  struct GenericWrite {
    Thread *writer;
    long fencedAt;
  };
  std::unordered_map<uintptr_t, GenericWrite> genericWrites;
  /// Shared-memory traffic while llmc_emu_counting is set, by kernel; the
  /// running block's accesses of each kind (cp.async stores, plain loads,
  /// plain stores) by (warp, site, the lanes' count of that site's runs).
  std::string kernelName;
  std::map<std::string, SharedStats> traffic;
  enum Kind { Copies, Loads, Stores };
  std::map<std::tuple<int, int, long>, WarpAccess> blockAccesses[3];

  /// Device-memory traffic while llmc_emu_counting_global is set: the
  /// region counted, the 32-byte sectors of it the running launch has read
  /// and written (a bit each; the words set, to clear them for the next
  /// launch), and their counts.
  struct Sectors {
    std::vector<uint64_t> bits;
    std::vector<size_t> touched;
    long count = 0;
    void add(size_t sector) {
      uint64_t &word = bits[sector / 64];
      uint64_t bit = uint64_t(1) << (sector % 64);
      if (word & bit)
        return;
      if (!word)
        touched.push_back(sector / 64);
      word |= bit;
      ++count;
    }
    void clear() {
      for (size_t word : touched)
        bits[word] = 0;
      touched.clear();
      count = 0;
    }
  };
  uintptr_t regionBegin = 0, regionEnd = 0;
  Sectors read, written;
  /// `bytes` from `address` read (kind 0), written (1) or both (2).
  void globalAccess(const void *address, size_t bytes, int kind) {
    auto begin = reinterpret_cast<uintptr_t>(address);
    if (begin < regionBegin || begin + bytes > regionEnd || !bytes)
      return;
    for (size_t sector = (begin - regionBegin) / kSectorBytes,
                last = (begin + bytes - 1 - regionBegin) / kSectorBytes;
         sector <= last; ++sector) {
      if (kind != 1)
        read.add(sector);
      if (kind != 0)
        written.add(sector);
    }
  }

  /// The current thread's `run`-th access of the kind at `site`.
  void record(Kind kind, int site, long run, const void *address, int bytes) {
    Thread &t = *current;
    blockAccesses[kind][{t.warp, site, run}][t.lane] = {
        reinterpret_cast<uintptr_t>(address), bytes};
  }
  void access(const void *address, int bytes, int site, bool store) {
    Thread &t = *current;
    if (t.accesses.size() <= size_t(site))
      t.accesses.resize(site + 1);
    record(store ? Stores : Loads, site, t.accesses[site]++, address, bytes);
  }

  std::string blockName() const {
    return "block (" + std::to_string(blockId.x) + ", " +
           std::to_string(blockId.y) + ", " + std::to_string(blockId.z) + ")";
  }
  void fail(const std::string &message) {
    if (failure.empty())
      failure = blockName() + ", thread " +
                std::to_string(current - threads.data()) + ": " + message;
  }

  void issueCopy(void *to, const void *from, int bytes, int sourceBytes) {
    Thread &t = *current;
    t.copies.open.push_back({to, from, bytes, std::min(sourceBytes, bytes)});
    if (llmc_emu_counting_global)
      globalAccess(from, std::min(sourceBytes, bytes), 0);
    if (llmc_emu_counting)
      record(Copies, 0, t.copiesIssued, to, bytes);
    ++t.copiesIssued;
  }
  void waitCopies(size_t pending) {
    current->copies.wait(pending, [this](const AsyncCopy &copy) {
      std::memcpy(copy.to, copy.from, copy.sourceBytes);
      std::memset(static_cast<char *>(copy.to) + copy.sourceBytes, 0,
                  copy.bytes - copy.sourceBytes);
      genericWrite(copy.to, copy.bytes);
    });
  }
  /// The current thread wrote `bytes` of shared memory at `address`
  /// through the generic proxy.
  void genericWrite(const void *address, size_t bytes) {
    if (!checksProxies)
      return;
    auto first = reinterpret_cast<uintptr_t>(address) / 2;
    for (uintptr_t unit = first; unit < first + (bytes + 1) / 2; ++unit) {
      genericWrites[unit] = {current, -1};
      current->unfencedWrites.push_back(unit);
    }
  }
  /// fence.proxy.async by the current thread: its writes so far are
  /// visible to the async proxy (to other threads' after a barrier).
  void proxyFence() {
    for (uintptr_t unit : current->unfencedWrites)
      if (auto it = genericWrites.find(unit);
          it != genericWrites.end() && it->second.writer == current)
        it->second.fencedAt = current->barriers;
    current->unfencedWrites.clear();
  }
  /// A wgmma of the current thread reads the 2 bytes at `address`.
  void asyncRead(const void *address) {
    if (!checksProxies)
      return;
    auto it = genericWrites.find(reinterpret_cast<uintptr_t>(address) / 2);
    if (it == genericWrites.end())
      return;
    const GenericWrite &write = it->second;
    if (write.fencedAt < 0)
      fail("a wgmma read shared memory that a thread wrote through the "
           "generic proxy (a store or cp.async) without fence.proxy.async "
           "after it");
    else if (write.writer != current && current->barriers <= write.fencedAt)
      fail("a wgmma read shared memory that another thread wrote through "
           "the generic proxy and fenced, without a barrier after the "
           "fence");
  }
  void waitWgmmas(size_t pending);

  /// The block's mbarriers by address (shared memory: one block at a time).
  std::map<uintptr_t, MBarrier> mbarriers;
  MBarrier *mbarrier(const void *address) {
    auto found = mbarriers.find(reinterpret_cast<uintptr_t>(address));
    if (found == mbarriers.end()) {
      fail("an mbarrier used before mbarrier.init");
      return nullptr;
    }
    return &found->second;
  }
  /// Ends the phase once its arrivals and bytes are all in.
  void completePhase(MBarrier &barrier) {
    if (barrier.pending || barrier.bytes || !barrier.copies.empty())
      return;
    ++barrier.phase;
    barrier.pending = barrier.count;
  }
  void landCopy(MBarrier &barrier, const TmaCopy &copy);
  void landCopies(MBarrier &barrier);
  /// An arrival on `barrier` bringing `bytes` to expect.
  void arrive(MBarrier &barrier, long bytes) {
    if (barrier.pending == 0)
      return fail("an mbarrier arrival beyond its count");
    barrier.bytes += bytes;
    --barrier.pending;
    completePhase(barrier);
  }
  /// Waits until the phase of parity `parity` has completed: lands the
  /// phase's copies once its arrivals are in, else lets the other threads
  /// run (a thread that cannot get there spins until kMaxSpins).
  void waitPhase(const void *address, unsigned parity) {
    constexpr long kMaxSpins = 1 << 20;
    for (long spins = 0; spins < kMaxSpins; ++spins) {
      MBarrier *barrier = mbarrier(address);
      if (!barrier || (barrier->phase & 1) != parity)
        return;
      if (!barrier->pending && !barrier->copies.empty()) {
        landCopies(*barrier);
        continue;
      }
      yield();
    }
    fail("waits for an mbarrier phase that never completes");
  }

  /// The address whose low 18 bits are `low`: the one nearest above a
  /// base the kernel took (the buffers of one kernel lie within 256 KiB of
  /// each other), null without one.
  const unsigned char *sharedAddress(uint32_t low) const {
    constexpr uintptr_t window = uintptr_t(1) << 18;
    const unsigned char *best = nullptr;
    uintptr_t nearest = window;
    for (uintptr_t base : sharedBases) {
      uintptr_t offset = (low - base) & (window - 1);
      if (offset < nearest) {
        nearest = offset;
        best = reinterpret_cast<const unsigned char *>(base + offset);
      }
    }
    return best;
  }

  char *stackTop(size_t i) {
    while (stacks.size() <= i) {
      void *memory =
          mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (memory == MAP_FAILED)
        return nullptr;
      mprotect(memory, kGuardBytes, PROT_NONE); // overflow faults
      stacks.push_back(static_cast<char *>(memory));
    }
    return stacks[i] + kGuardBytes + kStackBytes;
  }

  /// The next thread after the current one (in the block's order) that
  /// can run, if any.
  Thread *nextReady() {
    size_t count = threads.size();
    size_t at = current - threads.data();
    for (size_t step = 1; step <= count; ++step) {
      size_t i = reverse ? (at + count - step) % count : (at + step) % count;
      if (ready(threads[i]))
        return &threads[i];
    }
    return nullptr;
  }

  /// Leaves the current thread (waiting, or done) for the next that can
  /// run, straight to it; to the scheduler when none can.
  void yield() {
    Thread *from = current;
    Thread *next = nextReady();
    if (next == from)
      return;
    current = next;
    fake_cuda_switch(&from->sp, next ? next->sp : schedulerSp);
  }

  /// Leaves `bytes` of `data` in the lane's slot, waits for the warp, and
  /// returns the warp's slots of this operation.
  unsigned char (*exchange(const void *data, size_t bytes))[kSlotBytes] {
    Thread &t = *current;
    Warp &w = warps[t.warp];
    int buffer = t.warpOps & 1;
    std::memcpy(w.slots[buffer][t.lane], data, bytes);
    ++t.warpOps;
    w.lanes.arrive();
    while (w.lanes.released < t.warpOps)
      yield();
    return w.slots[buffer];
  }

  void barrier() {
    Thread &t = *current;
    ++t.barriers;
    barriers.arrive();
    while (barriers.released < t.barriers)
      yield();
  }

  /// A thread has returned: what it left in flight completes, the others
  /// no longer wait for it.
  void exited(Thread &t) {
    t.copies.commit();
    waitCopies(0);
    t.wgmmas.commit();
    waitWgmmas(0);
    t.done = true;
    warps[t.warp].lanes.leave();
    barriers.leave();
  }

  bool ready(const Thread &t) const {
    return !t.done && warps[t.warp].lanes.released >= t.warpOps &&
           barriers.released >= t.barriers;
  }

  bool runBlock(std::string &error);
};

Emulator emulator;

[[noreturn]] void fiberMain(Thread *t) {
  emulator.kernel(emulator.params);
  emulator.exited(*t);
  emulator.yield(); // never resumed: the thread is done
  __builtin_unreachable();
}

bool Emulator::runBlock(std::string &error) {
  size_t count = size_t(block.x) * block.y * block.z;
  threads.assign(count, Thread());
  warps.assign((count + 31) / 32, Warp());
  checksProxies = false;
  genericWrites.clear();
  barriers = Rendezvous();
  barriers.live = static_cast<int>(count);
  mbarriers.clear();
  for (size_t i = 0; i < count; ++i) {
    Thread &t = threads[i];
    t.id = {unsigned(i % block.x), unsigned(i / block.x % block.y),
            unsigned(i / (size_t(block.x) * block.y))};
    t.warp = static_cast<int>(i / 32);
    t.lane = static_cast<int>(i % 32);
    ++warps[t.warp].lanes.live;
    char *top = stackTop(i);
    if (!top) {
      error = "cannot map a thread's stack";
      return false;
    }
    // fake_cuda_switch pops r15, r14, r13, r12, rbx, rbp, then returns to
    // fake_cuda_fiber_start with the stack 16-byte aligned.
    auto *frame = reinterpret_cast<void **>(top - 72);
    std::memset(frame, 0, 72);
    frame[3] = reinterpret_cast<void *>(&fiberMain);
    frame[4] = &t;
    frame[6] = reinterpret_cast<void *>(&fake_cuda_fiber_start);
    t.sp = frame;
  }
  // Threads switch to each other; the scheduler regains control when none
  // can run: all done, or all waiting.
  current = &threads[reverse ? count - 1 : 0];
  fake_cuda_switch(&schedulerSp, current->sp);
  SharedStats &stats = traffic[kernelName];
  for (auto [kind, counted] : {std::pair{Copies, &stats.copies},
                               std::pair{Loads, &stats.loads},
                               std::pair{Stores, &stats.stores}}) {
    for (const auto &[key, lanes] : blockAccesses[kind])
      addWarpAccess(lanes, *counted);
    blockAccesses[kind].clear();
  }
  if (!failure.empty()) {
    error = failure;
    return false;
  }
  if (barriers.live > 0) {
    error = blockName() +
            ": threads wait at a barrier or warp operation the others "
            "never reach";
    return false;
  }
  return true;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31, exponent = (h >> 10) & 0x1f,
           mantissa = h & 0x3ff, bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (!mantissa) {
    bits = sign;
  } else { // subnormal: normalize
    int shift = 0;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      ++shift;
    }
    bits = sign | uint32_t(113 - shift) << 23 | ((mantissa & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float bf16ToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// A 16-bit float's value: f16, or bf16 where `bf16`.
float toFloat(uint16_t h, bool bf16) {
  return bf16 ? bf16ToFloat(h) : halfToFloat(h);
}

/// shfl.sync: the lane whose value this lane reads (PTX ISA; c packs the
/// segment mask and the clamp).
int shuffleSource(int mode, int lane, int b, int c) {
  int segmask = (c >> 8) & 0x1f,
      maxLane = (lane & segmask) | (c & 0x1f & ~segmask),
      minLane = lane & segmask;
  int j = 0;
  bool valid = false;
  switch (mode) {
  case 0: // up
    j = lane - b;
    valid = j >= minLane;
    break;
  case 1: // down
    j = lane + b;
    valid = j <= maxLane;
    break;
  case 2: // bfly
    j = lane ^ b;
    valid = j <= maxLane;
    break;
  default: // idx
    j = minLane | (b & ~segmask);
    valid = j <= maxLane;
    break;
  }
  return valid ? j : lane;
}

template <typename T> void shuffle(int mode, const void *args, void *result) {
  struct Args {
    uint32_t mask;
    T value;
    int32_t b, c;
  } a;
  std::memcpy(&a, args, sizeof a);
  auto slots = emulator.exchange(&a.value, sizeof(T));
  int source = shuffleSource(mode, emulator.current->lane, a.b, a.c);
  std::memcpy(result, slots[source], sizeof(T));
}

} // namespace

bool runEmulatedKernel(EmulatedKernel kernel, const std::string &name,
                       Dim3 grid, Dim3 block, void **params,
                       std::string &error) {
  // Whether the environment variable `name` is `value`.
  auto envIs = [](const char *name, const char *value) {
    const char *set = std::getenv(name);
    return set && std::strcmp(set, value) == 0;
  };
  static const bool reverse = envIs("FAKE_CUDA_ORDER", "reverse"),
                    eagerTma = envIs("FAKE_CUDA_TMA", "eager");
  emulator.reverse = reverse;
  emulator.eagerTma = eagerTma;
  emulator.sharedBases.clear();
  emulator.failure.clear();
  emulator.read.clear();
  emulator.written.clear();
  emulator.kernelName = name;
  emulator.kernel = kernel;
  emulator.params = params;
  emulator.grid = grid;
  emulator.block = block;
  size_t blocks = size_t(grid.x) * grid.y * grid.z;
  for (size_t i = 0; i < blocks; ++i) {
    size_t linear = reverse ? blocks - 1 - i : i;
    emulator.blockId = {unsigned(linear % grid.x),
                        unsigned(linear / grid.x % grid.y),
                        unsigned(linear / grid.x / grid.y)};
    if (!emulator.runBlock(error))
      return false;
  }
  return true;
}

void countSharedTraffic(bool on) { llmc_emu_counting = on; }

void countGlobalTraffic(const void *begin, size_t bytes) {
  emulator.regionBegin = reinterpret_cast<uintptr_t>(begin);
  emulator.regionEnd = emulator.regionBegin + bytes;
  size_t words = (bytes / kSectorBytes + 63) / 64;
  emulator.read.bits.assign(words, 0);
  emulator.written.bits.assign(words, 0);
  llmc_emu_counting_global = bytes != 0;
}

GlobalTraffic lastGlobalTraffic() {
  return {emulator.read.count * long(kSectorBytes),
          emulator.written.count * long(kSectorBytes)};
}

const std::map<std::string, SharedStats> &sharedTraffic() {
  return emulator.traffic;
}

} // namespace fakecuda

using fakecuda::emulator;

// The calls the emulated kernels make (llmc/Target/EmulatedKernels.h):
// llmc_emu_NAME(args, result) for the intrinsic llvm.nvvm.NAME.
#define SPECIAL_REGISTER(name, value)                                          \
  extern "C" void llmc_emu_read_ptx_sreg_##name(const void *, void *result) {  \
    uint32_t v = (value);                                                      \
    std::memcpy(result, &v, 4);                                                \
  }
SPECIAL_REGISTER(tid_x, emulator.current->id.x)
SPECIAL_REGISTER(tid_y, emulator.current->id.y)
SPECIAL_REGISTER(tid_z, emulator.current->id.z)
SPECIAL_REGISTER(ntid_x, emulator.block.x)
SPECIAL_REGISTER(ntid_y, emulator.block.y)
SPECIAL_REGISTER(ntid_z, emulator.block.z)
SPECIAL_REGISTER(ctaid_x, emulator.blockId.x)
SPECIAL_REGISTER(ctaid_y, emulator.blockId.y)
SPECIAL_REGISTER(ctaid_z, emulator.blockId.z)
SPECIAL_REGISTER(nctaid_x, emulator.grid.x)
SPECIAL_REGISTER(nctaid_y, emulator.grid.y)
SPECIAL_REGISTER(nctaid_z, emulator.grid.z)
SPECIAL_REGISTER(laneid, uint32_t(emulator.current->lane))
#undef SPECIAL_REGISTER

extern "C" void llmc_emu_barrier0(const void *, void *) { emulator.barrier(); }
// __threadfence(): one thread runs at a time; the host's own order.
extern "C" void llmc_emu_membar_gl(const void *, void *) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

#define SHUFFLE(mode, index, type)                                             \
  extern "C" void llmc_emu_shfl_sync_##mode##_##type(const void *args,         \
                                                     void *result) {           \
    fakecuda::shuffle<type##_t>(index, args, result);                          \
  }
using f32_t = float;
using i32_t = int32_t;
SHUFFLE(up, 0, f32)
SHUFFLE(up, 0, i32)
SHUFFLE(down, 1, f32)
SHUFFLE(down, 1, i32)
SHUFFLE(bfly, 2, f32)
SHUFFLE(bfly, 2, i32)
SHUFFLE(idx, 3, f32)
SHUFFLE(idx, 3, i32)
#undef SHUFFLE

// cp.async copies when its group completes (cp.async.wait_group N: all
// but the newest N committed groups; wait_all: commit, then wait for 0).
#define ASYNC_COPY(cache, bytes)                                               \
  extern "C" void llmc_emu_cp_async_##cache##_shared_global_##bytes(           \
      const void *args, void *) {                                              \
    void *pointers[2];                                                         \
    std::memcpy(pointers, args, sizeof pointers);                              \
    emulator.issueCopy(pointers[0], pointers[1], bytes, bytes);                \
  }
ASYNC_COPY(ca, 4)
ASYNC_COPY(ca, 8)
ASYNC_COPY(ca, 16)
ASYNC_COPY(cg, 16)
#undef ASYNC_COPY
// `cp.async.cg.shared.global [to], [from], bytes, source bytes;` (inline
// PTX: the copy reads the first source bytes and writes zeros after them).
extern "C" void llmc_emu_cp_async_cg_shared_global_zfill(const void *args,
                                                         void *) {
  struct {
    void *to;
    const void *from;
    int32_t bytes, sourceBytes;
  } copy;
  std::memcpy(&copy, args, sizeof copy);
  emulator.issueCopy(copy.to, copy.from, copy.bytes, copy.sourceBytes);
}
extern "C" void llmc_emu_cp_async_commit_group(const void *, void *) {
  emulator.current->copies.commit();
}
namespace fakecuda {
/// The N of a `wait_group N` (its only argument).
size_t pendingGroups(const void *args) {
  int32_t pending;
  std::memcpy(&pending, args, 4);
  return size_t(pending);
}
} // namespace fakecuda
extern "C" void llmc_emu_cp_async_wait_group(const void *args, void *) {
  emulator.waitCopies(fakecuda::pendingGroups(args));
}
extern "C" void llmc_emu_cp_async_wait_all(const void *, void *) {
  emulator.current->copies.commit();
  emulator.waitCopies(0);
}

// ldmatrix.sync.aligned.m8n8.xN[.trans].b16 (the intrinsic's pointer in
// shared memory: _p3): lanes 8i to 8i + 7 give the
// addresses of matrix i's 8 rows (16 bytes each); register i of lane l
// holds row l / 4, columns 2 (l % 4) and + 1 of matrix i, or with .trans
// rows 2 (l % 4) and + 1 of column l / 4.
namespace fakecuda {
template <int Matrices, bool Transposed>
void loadMatrices(const void *args, void *result) {
  const uint16_t *address;
  std::memcpy(&address, args, sizeof address);
  auto slots = emulator.exchange(&address, sizeof address);
  int lane = emulator.current->lane;
  if (llmc_emu_counting && lane == 0) { // each matrix's 8 rows: a phase
    WarpAccess rows;
    for (int r = 0; r < 8 * Matrices; ++r) {
      std::memcpy(&rows[r].address, slots[r], sizeof rows[r].address);
      rows[r].bytes = 16;
    }
    addWarpAccess(rows, emulator.traffic[emulator.kernelName].matrices);
  }
  uint16_t registers[Matrices][2];
  for (int m = 0; m < Matrices; ++m)
    for (int i = 0; i < 2; ++i) {
      int row = lane / 4, column = 2 * (lane % 4) + i;
      if (Transposed)
        std::swap(row, column);
      const uint16_t *rowAddress;
      std::memcpy(&rowAddress, slots[8 * m + row], sizeof rowAddress);
      registers[m][i] = rowAddress[column];
    }
  std::memcpy(result, registers, sizeof registers);
}
} // namespace fakecuda

#define LOAD_MATRICES(count, suffix, transposed)                               \
  extern "C" void llmc_emu_ldmatrix_sync_aligned_m8n8_x##count##suffix##_p3(   \
      const void *args, void *result) {                                        \
    fakecuda::loadMatrices<count, transposed>(args, result);                   \
  }
LOAD_MATRICES(1, _b16, false)
LOAD_MATRICES(2, _b16, false)
LOAD_MATRICES(4, _b16, false)
LOAD_MATRICES(1, _trans_b16, true)
LOAD_MATRICES(2, _trans_b16, true)
LOAD_MATRICES(4, _trans_b16, true)
#undef LOAD_MATRICES

// mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32 (PTX
// ISA fragment layouts; g = lane / 4, t = lane % 4): A's four registers
// hold rows g, g + 8, g, g + 8 at columns 2t, 2t, 2t + 8, 2t + 8 (and the
// next column); B's two hold rows (k) 2t and 2t + 8 (and the next) of
// column g; C and D rows g, g, g + 8, g + 8 at columns 2t, 2t + 1, 2t,
// 2t + 1. The f16 intrinsic takes vector<2 x half> registers, the bf16 one
// i32: the same bytes.
namespace fakecuda {
void mmaM16n8k16(const void *args, void *result, bool bf16) {
  struct Args {
    uint16_t a[4][2], b[2][2];
    float c[4];
  } mine;
  static_assert(sizeof(Args) == 40, "the struct the emulated kernel stores");
  std::memcpy(&mine, args, sizeof mine);
  auto slots = emulator.exchange(&mine, 24); // a and b
  float a[16][16], b[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    Args other;
    std::memcpy(&other, slots[lane], 24);
    int g = lane / 4, t = lane % 4;
    for (int i = 0; i < 2; ++i) {
      a[g][2 * t + i] = toFloat(other.a[0][i], bf16);
      a[g + 8][2 * t + i] = toFloat(other.a[1][i], bf16);
      a[g][2 * t + 8 + i] = toFloat(other.a[2][i], bf16);
      a[g + 8][2 * t + 8 + i] = toFloat(other.a[3][i], bf16);
      b[2 * t + i][g] = toFloat(other.b[0][i], bf16);
      b[2 * t + 8 + i][g] = toFloat(other.b[1][i], bf16);
    }
  }
  int lane = emulator.current->lane, g = lane / 4, t = lane % 4;
  float d[4];
  for (int r = 0; r < 4; ++r) {
    int row = g + (r >= 2 ? 8 : 0), column = 2 * t + (r & 1);
    float sum = mine.c[r];
    for (int k = 0; k < 16; ++k)
      sum += a[row][k] * b[k][column];
    d[r] = sum;
  }
  std::memcpy(result, d, sizeof d);
}
} // namespace fakecuda
extern "C" void llmc_emu_mma_m16n8k16_row_col_f32_f32(const void *args,
                                                      void *result) {
  fakecuda::mmaM16n8k16(args, result, /*bf16=*/false);
}
extern "C" void llmc_emu_mma_m16n8k16_row_col_bf16(const void *args,
                                                   void *result) {
  fakecuda::mmaM16n8k16(args, result, /*bf16=*/true);
}

// A load or store of shared memory (EmulatedKernels.cpp: `site` numbers
// the kernels' loads and stores), reported while llmc_emu_counting is set.
extern "C" void llmc_emu_shared_access(const void *address, int32_t bytes,
                                       int32_t site, int32_t store) {
  emulator.access(address, bytes, site, store != 0);
}

// A load (kind 0), store (1) or atomic (2) of device memory
// (EmulatedKernels.cpp), reported while llmc_emu_counting_global is set.
extern "C" void llmc_emu_global_access(const void *address, int32_t bytes,
                                       int32_t kind) {
  emulator.globalAccess(address, size_t(bytes), kind);
}

// A shared buffer's address taken as an integer (EmulatedKernels.cpp).
extern "C" uint64_t llmc_emu_shared_address(const void *pointer) {
  auto base = reinterpret_cast<uintptr_t>(pointer);
  auto &bases = emulator.sharedBases;
  if (std::find(bases.begin(), bases.end(), base) == bases.end())
    bases.push_back(base);
  return base;
}

// wgmma.mma_async.sync.aligned.m64nNk16.f32.f16.f16 d, a-desc, b-desc,
// scale-d, 1, 1, 0, trans-b (PTX ISA): A (64 x 16) and B (N x 16) k-major
// in shared memory, element (r, k) without swizzling at start + (r / 8)
// SBO + (k / 8) LBO + (r % 8) 16 + (k % 8) 2, swizzled in spans of S bytes
// at swizzled(start + (r / 8) SBO + (r % 8) S + 2 k) (FakeTensorMap.h: the
// address TMA wrote it to) (descriptor: start / 16 in bits 0-13, LBO / 16
// in 16-29, SBO / 16 in 32-45, the swizzle in 62-63). With trans-b, B is
// n-major (unswizzled only here): (n, k) at start + (n / 8) SBO + (k / 8)
// LBO + (k % 8) 16 + (n % 8) 2 (a core matrix: 8 k of 8 contiguous n;
// CUTLASS's canonical Major-MN INTERLEAVE layout).
// wgmma.mma_async.sync.aligned.m64nNk16.f32.f16.f16 d, {a0, a1, a2, a3},
// b-desc, scale-d, 1, 1, trans-b: A in registers, a warp's 16 rows of the
// 64 as mma.sync.m16n8k16's A fragment (a0: row g, columns 2t and 2t + 1;
// a1: row g + 8; a2, a3: columns + 8).
// Thread t of the warpgroup holds D's rows 16 (t / 32) + (t % 32) / 4 and
// + 8, columns 8 j + 2 (t % 4) and + 1: register 4 j + 2 h + e. A thread's
// results depend on shared memory and its own accumulators only, so each
// computes its own when it issues the instruction, and again when its
// group completes (the two must agree: a kernel must not overwrite the
// operands of a wgmma in flight).
namespace fakecuda {
/// A wgmma operand in shared memory, its descriptor resolved once.
struct MatrixOperand {
  const unsigned char *start;
  uint64_t lbo, sbo;
  /// The swizzle's span in bytes (bits 62-63: none, 128, 64, 32).
  uint32_t span;
  /// Elements in bf16 (else f16).
  bool bf16;
  /// Rows (m or n) contiguous in a core matrix's 16 bytes (else k).
  bool rowMajor;

  MatrixOperand(uint64_t descriptor, bool bf16, bool rowMajor = false)
      : start(emulator.sharedAddress(uint32_t(descriptor & 0x3fff) << 4)),
        lbo(((descriptor >> 16) & 0x3fff) << 4),
        sbo(((descriptor >> 32) & 0x3fff) << 4),
        span(std::array<uint32_t, 4>{0, 128, 64, 32}[descriptor >> 62]),
        bf16(bf16), rowMajor(rowMajor) {
    if (!start) {
      std::fprintf(stderr, "fake-cuda: a wgmma descriptor names no shared "
                           "memory of the kernel\n");
      std::abort();
    }
    if (rowMajor && span) {
      std::fprintf(stderr, "fake-cuda: the emulator runs a transposed wgmma "
                           "operand without swizzling only\n");
      std::abort();
    }
  }
  float at(int row, int k) const {
    const void *element;
    if (span)
      element = reinterpret_cast<const void *>(
          swizzled(reinterpret_cast<uintptr_t>(start) + row / 8 * sbo +
                       row % 8 * span + k * 2,
                   span));
    else if (rowMajor)
      element = start + row / 8 * sbo + k / 8 * lbo + k % 8 * 16 + row % 8 * 2;
    else
      element = start + row / 8 * sbo + k / 8 * lbo + row % 8 * 16 + k % 8 * 2;
    emulator.asyncRead(element);
    uint16_t h;
    std::memcpy(&h, element, 2);
    return toFloat(h, bf16);
  }
};

/// A thread's N / 2 accumulators of wgmma m64nNk16 f32 += f16 x f16 (or
/// bf16 x bf16): `in` (or 0 without scale-d) plus its rows of A times B.
void wgmmaProduct(const Thread &t, const WgmmaIssue &issue, const float *in,
                  float *out) {
  MatrixOperand b(issue.b, issue.bf16, issue.transposeB);
  int n = issue.n;
  bool scaleD = issue.scaleD;
  int group = t.lane / 4, pair = 2 * (t.lane % 4);
  // The thread's two rows of A, read once for all its columns.
  float rows[2][16];
  if (!issue.aRows.empty()) {
    std::memcpy(rows, issue.aRows.data(), sizeof rows);
  } else {
    MatrixOperand a(issue.a, issue.bf16);
    for (int h = 0; h < 2; ++h)
      for (int k = 0; k < 16; ++k)
        rows[h][k] = a.at(16 * (t.warp % 4) + group + 8 * h, k);
  }
  for (int j = 0; j < n / 8; ++j)
    for (int h = 0; h < 2; ++h)
      for (int e = 0; e < 2; ++e) {
        int column = 8 * j + pair + e, i = 4 * j + 2 * h + e;
        float sum = scaleD ? in[i] : 0.0f;
        for (int k = 0; k < 16; ++k)
          sum += rows[h][k] * b.at(column, k);
        out[i] = sum;
      }
}

void Emulator::waitWgmmas(size_t pending) {
  current->wgmmas.wait(pending, [this](const WgmmaIssue &issue) {
    std::vector<float> now(issue.out.size());
    wgmmaProduct(*current, issue, issue.in.data(), now.data());
    if (std::memcmp(now.data(), issue.out.data(), now.size() * 4) != 0)
      fail("shared memory read by a wgmma in flight changed before "
           "wgmma.wait_group completed it");
  });
}
} // namespace fakecuda

namespace fakecuda {
/// A wgmma's accumulators in from the emulated call's arguments (`n` / 2
/// floats first); `issue` then holds all but its operands.
const unsigned char *wgmmaAccumulators(const void *args, int32_t n,
                                       int32_t bf16, WgmmaIssue &issue) {
  const auto *bytes = static_cast<const unsigned char *>(args);
  issue.n = n;
  issue.bf16 = bf16 != 0;
  issue.in.resize(n / 2);
  issue.out.resize(n / 2);
  std::memcpy(issue.in.data(), bytes, issue.in.size() * 4);
  return bytes + issue.in.size() * 4;
}

/// Checks a wgmma's immediates and descriptors (unscaled operands, A not
/// transposed, no base offset), computes its result into `result` and
/// leaves it in flight.
void issueWgmma(WgmmaIssue issue, int32_t scaleA, int32_t scaleB,
                int32_t transposeA, void *result) {
  if (scaleA != 1 || scaleB != 1 || transposeA ||
      ((issue.a | issue.b) >> 49 & 0x1fff)) {
    std::fprintf(stderr, "fake-cuda: the emulator runs wgmma with unscaled "
                         "operands, A k-major, at no base offset only\n");
    std::abort();
  }
  Thread &t = *emulator.current;
  wgmmaProduct(t, issue, issue.in.data(), issue.out.data());
  std::memcpy(result, issue.out.data(), issue.out.size() * 4);
  t.wgmmas.open.push_back(std::move(issue));
}
} // namespace fakecuda

extern "C" void llmc_emu_wgmma_m64k16_f32_f16(const void *args, void *result,
                                              int32_t n, int32_t bf16) {
  fakecuda::WgmmaIssue issue;
  const unsigned char *rest = fakecuda::wgmmaAccumulators(args, n, bf16, issue);
  struct Operands {
    uint64_t a, b;
    int32_t scaleD, scaleA, scaleB, transposeA, transposeB;
  } o;
  std::memcpy(&o, rest, sizeof o);
  issue.a = o.a;
  issue.b = o.b;
  issue.scaleD = o.scaleD != 0;
  issue.transposeB = o.transposeB != 0;
  fakecuda::issueWgmma(std::move(issue), o.scaleA, o.scaleB, o.transposeA,
                       result);
}

// The warp's lanes give each other A's registers (a warp operation): a
// thread's rows g and g + 8 are held by the four lanes of its quad.
extern "C" void llmc_emu_wgmma_rs_m64k16_f32_f16(const void *args, void *result,
                                                 int32_t n, int32_t bf16) {
  fakecuda::WgmmaIssue issue;
  const unsigned char *rest = fakecuda::wgmmaAccumulators(args, n, bf16, issue);
  struct Operands {
    uint16_t a[4][2];
    uint64_t b;
    int32_t scaleD, scaleA, scaleB, transposeB;
  } o;
  std::memcpy(&o, rest, sizeof o);
  auto slots = emulator.exchange(o.a, sizeof o.a);
  int lane = emulator.current->lane, group = lane / 4;
  issue.aRows.resize(32);
  for (int quad = 0; quad < 4; ++quad) {
    uint16_t a[4][2];
    std::memcpy(a, slots[4 * group + quad], sizeof a);
    for (int h = 0; h < 2; ++h)
      for (int e = 0; e < 2; ++e) {
        issue.aRows[16 * h + 2 * quad + e] = fakecuda::toFloat(a[h][e], bf16);
        issue.aRows[16 * h + 2 * quad + 8 + e] =
            fakecuda::toFloat(a[2 + h][e], bf16);
      }
  }
  issue.b = o.b;
  issue.scaleD = o.scaleD != 0;
  issue.transposeB = o.transposeB != 0;
  fakecuda::issueWgmma(std::move(issue), o.scaleA, o.scaleB,
                       /*transposeA=*/0, result);
}

// A store to shared memory in a kernel that runs wgmma, and such a
// kernel's start (EmulatedKernels.cpp: reportGenericStores);
// fence.proxy.async.shared::cta.
extern "C" void llmc_emu_generic_store(const void *address, int32_t bytes) {
  emulator.genericWrite(address, size_t(bytes));
}
extern "C" void llmc_emu_checks_proxies() { emulator.checksProxies = true; }
extern "C" void llmc_emu_fence_proxy_async(const void *, void *) {
  emulator.proxyFence();
}

// wgmma.commit_group and wgmma.wait_group N (EmulatedKernels.cpp: N in
// the arguments).
extern "C" void llmc_emu_wgmma_commit_group(const void *, void *) {
  emulator.current->wgmmas.commit();
}
extern "C" void llmc_emu_wgmma_wait_group(const void *args, void *) {
  emulator.waitWgmmas(fakecuda::pendingGroups(args));
}

// mbarrier.init, mbarrier.arrive (an arrival; the state it returns is the
// phase count), mbarrier.arrive.expect_tx (its bytes, then an arrival),
// mbarrier.try_wait.parity in MLIR's loop (EmulatedKernels.cpp: waits until
// the phase completed), and cp.async.bulk.tensor.2d (tile mode, completing
// on an mbarrier).
extern "C" void llmc_emu_mbarrier_init_shared(const void *args, void *) {
  struct {
    void *address;
    int32_t count;
  } init;
  std::memcpy(&init, args, sizeof init);
  fakecuda::MBarrier &barrier =
      emulator.mbarriers[reinterpret_cast<uintptr_t>(init.address)];
  barrier = fakecuda::MBarrier();
  barrier.count = barrier.pending = init.count;
}
extern "C" void llmc_emu_mbarrier_arrive_expect_tx_shared(const void *args,
                                                          void *) {
  struct {
    void *address;
    int32_t bytes;
  } arrive;
  std::memcpy(&arrive, args, sizeof arrive);
  if (fakecuda::MBarrier *barrier = emulator.mbarrier(arrive.address))
    emulator.arrive(*barrier, arrive.bytes);
}
extern "C" void llmc_emu_mbarrier_arrive_shared(const void *args,
                                                void *result) {
  void *address;
  std::memcpy(&address, args, sizeof address);
  fakecuda::MBarrier *barrier = emulator.mbarrier(address);
  uint64_t state = barrier ? barrier->phase : 0;
  std::memcpy(result, &state, sizeof state);
  if (barrier)
    emulator.arrive(*barrier, 0);
}
extern "C" void llmc_emu_mbarrier_try_wait_parity_shared(const void *args,
                                                         void *) {
  struct {
    void *address;
    int32_t parity, ticks;
  } wait;
  std::memcpy(&wait, args, sizeof wait);
  emulator.waitPhase(wait.address, unsigned(wait.parity) & 1);
}
extern "C" void llmc_emu_cp_async_bulk_tensor_2d(const void *args, void *) {
  struct {
    unsigned char *to;
    const fakecuda::FakeTensorMap *map;
    int32_t inner, outer;
    void *barrier;
  } copy;
  std::memcpy(&copy, args, sizeof copy);
  if (copy.map->magic != fakecuda::FakeTensorMap::kMagic)
    return emulator.fail("cp.async.bulk.tensor: the tensor map was not made "
                         "by cuTensorMapEncodeTiled");
  // The destination: 128-byte aligned, swizzled boxes at a multiple of
  // the swizzle's 8 rows.
  uintptr_t to = reinterpret_cast<uintptr_t>(copy.to);
  if (to % 128 || to % (8 * std::max<uint32_t>(copy.map->swizzleBytes, 16)))
    return emulator.fail("cp.async.bulk.tensor: a misaligned shared "
                         "destination");
  fakecuda::MBarrier *barrier = emulator.mbarrier(copy.barrier);
  if (!barrier)
    return;
  fakecuda::TmaCopy tile{copy.map, copy.to, copy.inner, copy.outer};
  if (!emulator.eagerTma)
    return barrier->copies.push_back(tile);
  emulator.landCopy(*barrier, tile);
  if (barrier->bytes < 0)
    return emulator.fail(
        "an mbarrier's copies bring more bytes than it expects");
  emulator.completePhase(*barrier);
}

namespace fakecuda {
/// Writes `copy` into shared memory (element (r, e) of the box at its
/// row-major place, swizzled; zeros outside the tensor) and takes its
/// bytes off the phase's.
void Emulator::landCopy(MBarrier &barrier, const TmaCopy &copy) {
  const FakeTensorMap &map = *copy.map;
  uint32_t size = map.elementBytes, rowBytes = map.box[0] * size;
  for (uint32_t r = 0; r < map.box[1]; ++r) {
    int64_t outer = int64_t(copy.outer) + r;
    for (uint32_t e = 0; e < map.box[0]; ++e) {
      int64_t inner = int64_t(copy.inner) + e;
      auto *to = reinterpret_cast<unsigned char *>(swizzled(
          reinterpret_cast<uintptr_t>(copy.to) + r * rowBytes + e * size,
          map.swizzleBytes));
      if (inner < 0 || outer < 0 || uint64_t(inner) >= map.dims[0] ||
          uint64_t(outer) >= map.dims[1])
        std::memset(to, 0, size);
      else {
        const unsigned char *from =
            map.base + outer * map.rowBytes + inner * size;
        std::memcpy(to, from, size);
        if (llmc_emu_counting_global)
          globalAccess(from, size, 0);
      }
    }
  }
  barrier.bytes -= long(rowBytes) * map.box[1];
}

/// Lands every copy of `barrier`'s phase (landCopy); their bytes must be
/// those expected.
void Emulator::landCopies(MBarrier &barrier) {
  for (const TmaCopy &copy : barrier.copies)
    landCopy(barrier, copy);
  barrier.copies.clear();
  if (barrier.bytes != 0) {
    fail("an mbarrier's expected bytes differ from its copies' bytes");
    barrier.bytes = 0;
  }
  completePhase(barrier);
}
} // namespace fakecuda
