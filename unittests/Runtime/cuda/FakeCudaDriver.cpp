//===- FakeCudaDriver.cpp - A libcuda.so.1 without a GPU, for tests -------===//
//
// Lets the CUDA backend's host side run on a machine with no GPU: every
// driver call the backend makes succeeds, kernels are not run (launches are
// checked and counted), and device memory is a region the process cannot
// touch: it is mapped twice from one memfd, PROT_NONE where device pointers
// point and read-write where this driver copies. Host code that dereferences
// a device pointer crashes the test. At exit it prints what it saw:
//
//   fake-cuda: L launches (K kernels, E early), A allocations, F frees,
//   C copies
//
// (E: launches with programmatic stream serialization, cuLaunchKernelEx).
//
// The compute capability is FAKE_CUDA_SM (default 90), the multiprocessors
// FAKE_CUDA_MULTIPROCESSORS (default 132); a launch with more
// than 48 KiB of dynamic shared memory fails unless its kernel opted in
// (cuFuncSetAttribute) to at least that much, which fails beyond the GPU's
// limit. FAKE_CUDA_FAIL_LAUNCH=N makes the N-th launch fail
// (CUDA_ERROR_LAUNCH_FAILED), as a faulting kernel does;
// FAKE_CUDA_SKIP_LAUNCH=N makes it do nothing and succeed, as a kernel
// that computes nothing right does (what LLMRT_CUDA_DUMP's comparison
// must point at).
// FAKE_CUDA_NO_TMA=1 makes cuTensorMapEncodeTiled refuse every map
// (CUDA_ERROR_NOT_SUPPORTED).
//
// CUDA graphs: a stream capture records its launches as nodes in order,
// each parameter copied by the sizes the emulated kernels export
// (K__llmc_emu_params); an instantiated graph is a copy whose nodes
// cuGraphExecKernelNodeSetParams replaces, and cuGraphLaunch runs them one
// after the other (kernel runs, which FAKE_CUDA_FAIL_LAUNCH and _SKIP_LAUNCH
// count with the plain launches). The line at exit then adds "G graph
// launches (N kernels, U node updates)". FAKE_CUDA_NO_GRAPHS=1 fails every
// launch into a capture (CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED, the capture
// invalidated), FAKE_CUDA_NO_GRAPH_UPDATES=1 every node update
// (CUDA_ERROR_NOT_SUPPORTED). Host functions (cuLaunchHostFunc: the fake
// NCCL's collectives) and two-dimensional copies put on a capturing
// stream are nodes of the graph too, run in their place; the exit line
// counts the kernels only.
//
// FAKE_CUDA_KERNELS=FILE.so runs the kernels: FILE.so is what
// `llmc compile --target=... --emit=emulated-kernels` made of the same
// model, and each launch runs its kernel's emulator entry on the CPU
// (KernelEmulator.h). Device memory is then readable and writable from the
// host too (the kernels run here). FAKE_CUDA_ORDER=reverse runs the
// blocks and each block's threads last to first. FAKE_CUDA_BANKS=1 prints at
// exit, per kernel and in all, the shared-memory wavefronts of its cp.async
// stores, ldmatrix loads and plain loads and stores against the least they
// could take (bank conflicts make more). FAKE_CUDA_TRAFFIC=1 prints at
// exit, per kernel and in all, the device memory its runs read and wrote,
// counted in distinct 32-byte sectors per run (KernelEmulator.h,
// GlobalTraffic). The collectives of sharded artifacts
// then run through this directory's libnccl.so.2 (FakeNccl.cpp, over MPI).
//
//===----------------------------------------------------------------------===//

#include "FakeTensorMap.h"
#include "KernelEmulator.h"

#include <cuda.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace {

constexpr size_t kDeviceBytes = size_t(4) << 30;

struct Device {
  char *device = nullptr; // PROT_NONE: what device pointers point into
  char *shadow = nullptr; // the same pages, read-write, for this driver
  size_t used = 0;
  long launches = 0, early = 0, allocations = 0, frees = 0, copies = 0;
  /// Kernels run (launched or as graph nodes), graphs launched, the nodes
  /// they ran and node updates.
  long runs = 0, graphLaunches = 0, graphNodes = 0, nodeUpdates = 0;
  std::set<std::string> kernels;
  /// Function handles: each kernel's name and, when kernels run, its
  /// emulator entry and parameter sizes (the count, then each one's
  /// bytes: what a capture copies).
  struct Emulated {
    fakecuda::EmulatedKernel entry = nullptr;
    const int32_t *paramSizes = nullptr;
  };
  using Function = std::pair<const std::string, Emulated>;
  std::map<std::string, Emulated> functions;
  /// FAKE_CUDA_TRAFFIC (with kernels): each kernel's runs and
  /// device-memory traffic.
  bool countsTraffic = false;
  struct Traffic {
    long runs = 0;
    fakecuda::GlobalTraffic bytes;
  };
  std::map<std::string, Traffic> traffic;
  /// The dynamic shared memory each kernel opted into beyond 48 KiB.
  std::map<std::string, int> sharedOptIn;
  bool failed = false;

  Device() {
    int fd = memfd_create("fake-cuda", 0);
    if (fd < 0 || ftruncate(fd, kDeviceBytes) != 0)
      std::abort();
    device = static_cast<char *>(
        mmap(nullptr, kDeviceBytes, PROT_NONE, MAP_SHARED, fd, 0));
    shadow = static_cast<char *>(mmap(nullptr, kDeviceBytes,
                                      PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                                      0));
    close(fd);
    if (device == MAP_FAILED || shadow == MAP_FAILED)
      std::abort();
    if (std::getenv("FAKE_CUDA_KERNELS"))
      mprotect(device, kDeviceBytes, PROT_READ | PROT_WRITE);
    fakecuda::countSharedTraffic(std::getenv("FAKE_CUDA_BANKS") != nullptr);
    countsTraffic =
        std::getenv("FAKE_CUDA_KERNELS") && std::getenv("FAKE_CUDA_TRAFFIC");
    if (countsTraffic)
      fakecuda::countGlobalTraffic(device, kDeviceBytes);
  }
  ~Device() {
    std::string graphs;
    if (graphLaunches)
      graphs = ", " + std::to_string(graphLaunches) + " graph launches (" +
               std::to_string(graphNodes) + " kernels, " +
               std::to_string(nodeUpdates) + " node updates)";
    std::fprintf(stderr,
                 "fake-cuda: %ld launches (%zu kernels, %ld early), %ld "
                 "allocations, %ld frees, %ld copies%s%s\n",
                 launches, kernels.size(), early, allocations, frees, copies,
                 graphs.c_str(), failed ? ", INVALID CALLS" : "");
    fakecuda::SharedStats all;
    for (const auto &[name, stats] : fakecuda::sharedTraffic())
      if (!stats.empty()) {
        printSharedStats(" of " + name, stats);
        all.add(stats);
      }
    if (!all.empty())
      printSharedStats(", all kernels", all);
    Traffic total;
    for (const auto &[name, t] : traffic) {
      printTraffic(" of " + name, t);
      total.runs += t.runs;
      total.bytes.readBytes += t.bytes.readBytes;
      total.bytes.writtenBytes += t.bytes.writtenBytes;
    }
    if (total.runs)
      printTraffic(", all kernels", total);
  }
  /// One line of FAKE_CUDA_TRAFFIC: "fake-cuda: device memory`what`: ...".
  static void printTraffic(const std::string &what, const Traffic &t) {
    std::fprintf(stderr,
                 "fake-cuda: device memory%s: %ld bytes read, %ld bytes "
                 "written (%ld runs)\n",
                 what.c_str(), t.bytes.readBytes, t.bytes.writtenBytes, t.runs);
  }
  /// One line of FAKE_CUDA_BANKS: "fake-cuda: shared memory`what`: ...".
  static void printSharedStats(const std::string &what,
                               const fakecuda::SharedStats &stats) {
    auto line = [](const fakecuda::SharedTraffic &t) {
      char text[96];
      std::snprintf(text, sizeof text, "%ld wavefronts for %ld (%.2fx)",
                    t.wavefronts, t.ideal,
                    t.ideal ? double(t.wavefronts) / t.ideal : 0.0);
      return std::string(text);
    };
    std::fprintf(stderr,
                 "fake-cuda: shared memory%s: cp.async stores %s, ldmatrix "
                 "%s, loads %s, stores %s\n",
                 what.c_str(), line(stats.copies).c_str(),
                 line(stats.matrices).c_str(), line(stats.loads).c_str(),
                 line(stats.stores).c_str());
  }
  bool isDevice(const void *p) const {
    auto *c = static_cast<const char *>(p);
    return c >= device && c < device + kDeviceBytes;
  }
  /// Where this driver reads or writes `p`: the shadow of a device
  /// pointer, else the host pointer itself.
  void *access(CUdeviceptr p) const {
    auto *c = reinterpret_cast<char *>(p);
    return isDevice(c) ? shadow + (c - device) : c;
  }
  CUresult allocate(CUdeviceptr *out, size_t bytes) {
    size_t start = (used + 255) / 256 * 256;
    if (start + bytes > kDeviceBytes)
      return CUDA_ERROR_OUT_OF_MEMORY;
    used = start + bytes;
    ++allocations;
    *out = reinterpret_cast<CUdeviceptr>(device + start);
    return CUDA_SUCCESS;
  }
  CUresult release(CUdeviceptr p) {
    if (!isDevice(reinterpret_cast<void *>(p))) {
      failed = true;
      return CUDA_ERROR_INVALID_VALUE;
    }
    ++frees;
    return CUDA_SUCCESS;
  }
  CUresult copy(CUdeviceptr to, CUdeviceptr from, size_t bytes) {
    ++copies;
    std::memcpy(access(to), access(from), bytes);
    return CUDA_SUCCESS;
  }
};

Device &gpu() {
  static Device device;
  return device;
}

/// The environment variable `name` as a number, else `otherwise`.
long envNumber(const char *name, long otherwise) {
  const char *value = std::getenv(name);
  return value ? std::atol(value) : otherwise;
}

int computeCapability() { return int(envNumber("FAKE_CUDA_SM", 90)); }

/// The shared memory a block may opt into: 227 KiB on sm_90, 163 on sm_80
/// and sm_87, 99 on the other 8.x.
int sharedOptInLimit() {
  int sm = computeCapability();
  return (sm >= 90 ? 227 : sm == 80 || sm == 87 ? 163 : 99) * 1024;
}

/// FAKE_CUDA_MULTIPROCESSORS, else an H100's 132.
int multiprocessors() {
  return int(envNumber("FAKE_CUDA_MULTIPROCESSORS", 132));
}

} // namespace

extern "C" {

CUresult cuInit(unsigned int) { return CUDA_SUCCESS; }
CUresult cuDeviceGetCount(int *count) {
  *count = 1;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGet(CUdevice *device, int ordinal) {
  *device = ordinal;
  return ordinal == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}
CUresult cuDeviceGetName(char *name, int size, CUdevice) {
  std::snprintf(name, size, "fake GPU");
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetAttribute(int *value, CUdevice_attribute attribute,
                              CUdevice) {
  *value = attribute == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
               ? computeCapability() / 10
           : attribute == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
               ? computeCapability() % 10
           : attribute == CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
               ? sharedOptInLimit()
           : attribute == CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
               ? multiprocessors()
               : 0;
  return CUDA_SUCCESS;
}
CUresult cuDeviceTotalMem(size_t *bytes, CUdevice) {
  *bytes = kDeviceBytes;
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRetain(CUcontext *context, CUdevice) {
  *context = reinterpret_cast<CUcontext>(&gpu());
  return CUDA_SUCCESS;
}
CUresult cuDevicePrimaryCtxRelease(CUdevice) { return CUDA_SUCCESS; }
CUresult cuCtxSetCurrent(CUcontext) { return CUDA_SUCCESS; }
CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned int,
                            CUjit_option *, void **) {
  *module = reinterpret_cast<CUmodule>(const_cast<void *>(image));
  return CUDA_SUCCESS;
}
CUresult cuModuleUnload(CUmodule) { return CUDA_SUCCESS; }
/// The kernels of FAKE_CUDA_KERNELS, loaded once; null (with a line on
/// stderr) where they cannot be. Their calls into the emulator resolve to
/// this library, made global first (the runtime opened it local). "{rank}"
/// in the path is the process's rank under mpirun (each rank of a sharded
/// artifact has kernels of its own: `llmc --emit=emulated-kernels --rank`).
static void *emulatedKernels(const char *path) {
  static void *library = [path]() -> void * {
    Dl_info self;
    if (!dladdr(reinterpret_cast<void *>(&cuInit), &self) ||
        !dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL)) {
      std::fprintf(stderr, "fake-cuda: cannot make the driver global\n");
      return nullptr;
    }
    std::string file = path;
    if (size_t at = file.find("{rank}"); at != std::string::npos) {
      const char *rank = std::getenv("OMPI_COMM_WORLD_RANK");
      file.replace(at, 6, rank ? rank : "0");
    }
    void *handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle)
      std::fprintf(stderr, "fake-cuda: FAKE_CUDA_KERNELS: %s\n", dlerror());
    return handle;
  }();
  return library;
}

CUresult cuModuleGetFunction(CUfunction *function, CUmodule, const char *name) {
  Device &device = gpu();
  auto [it, inserted] = device.functions.try_emplace(name);
  const char *path = std::getenv("FAKE_CUDA_KERNELS");
  if (inserted && path) {
    // Not kept where it fails: a later call fails the same way.
    void *library = emulatedKernels(path);
    if (!library) {
      device.functions.erase(it);
      return CUDA_ERROR_INVALID_IMAGE;
    }
    it->second.entry = reinterpret_cast<fakecuda::EmulatedKernel>(
        dlsym(library, (std::string(name) + "__llmc_emu").c_str()));
    it->second.paramSizes = static_cast<const int32_t *>(
        dlsym(library, (std::string(name) + "__llmc_emu_params").c_str()));
    if (!it->second.entry) {
      std::fprintf(stderr, "fake-cuda: %s has no kernel %s\n", path, name);
      device.functions.erase(it);
      return CUDA_ERROR_NOT_FOUND;
    }
  }
  *function = reinterpret_cast<CUfunction>(&*it);
  return CUDA_SUCCESS;
}
/// A kernel may take more than 48 KiB of dynamic shared memory once it has
/// opted in, up to the GPU's limit (sharedOptInLimit).
CUresult cuFuncSetAttribute(CUfunction function, CUfunction_attribute attribute,
                            int value) {
  Device &device = gpu();
  if (attribute != CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES ||
      value < 0 || value > sharedOptInLimit())
    return CUDA_ERROR_INVALID_VALUE;
  device.sharedOptIn[reinterpret_cast<Device::Function *>(function)->first] =
      value;
  return CUDA_SUCCESS;
}
} // extern "C"

namespace {

/// A kernel launch as a graph keeps it: its parameters copied, each in
/// bytes of its own, sized by the emulated kernels' table (without
/// FAKE_CUDA_KERNELS nothing runs and nothing is copied).
struct Node {
  /// Set for a host function's or a copy's node: what it does.
  std::function<CUresult()> host;
  Device::Function *function = nullptr;
  unsigned grid[3] = {}, block[3] = {}, sharedBytes = 0;
  std::vector<std::vector<char>> params;
  std::vector<void *> pointers() {
    std::vector<void *> out;
    for (std::vector<char> &param : params)
      out.push_back(param.data());
    return out;
  }
};
struct Graph {
  std::vector<std::unique_ptr<Node>> nodes;
  bool invalidated = false;
};
struct GraphExec {
  std::map<const Node *, Node> nodes; // by the graph's node
  std::vector<const Node *> order;
};

/// The stream's capture (the backend uses one stream), or null.
Graph *capturing = nullptr;

/// Whether a launch's configuration is one the driver takes.
bool validLaunch(Device::Function *f, const unsigned g[3], const unsigned b[3],
                 unsigned sharedBytes, void **params) {
  bool sharedFits = sharedBytes <= 48 * 1024 ||
                    int(sharedBytes) <= gpu().sharedOptIn[f->first];
  return g[0] && g[1] && g[2] && b[0] && b[1] && b[2] &&
         b[0] * b[1] * b[2] <= 1024 && g[1] <= 65535 && g[2] <= 65535 &&
         params && sharedFits;
}

/// Copies a launch's parameters as a captured node keeps them.
bool copyParams(Node &node, void **params) {
  node.params.clear();
  if (!node.function->second.entry)
    return true;
  const int32_t *sizes = node.function->second.paramSizes;
  if (!sizes) {
    std::fprintf(stderr, "fake-cuda: no parameter sizes for %s\n",
                 node.function->first.c_str());
    return false;
  }
  for (int32_t i = 0; i < sizes[0]; ++i) {
    auto *from = static_cast<const char *>(params[i]);
    node.params.emplace_back(from, from + sizes[i + 1]);
  }
  return true;
}

/// Runs (or counts, without kernels) one launch or graph node.
CUresult run(Device::Function *f, const unsigned g[3], const unsigned b[3],
             void **params) {
  Device &device = gpu();
  ++device.runs;
  device.kernels.insert(f->first);
  static const long failing = envNumber("FAKE_CUDA_FAIL_LAUNCH", 0);
  if (device.runs == failing)
    return CUDA_ERROR_LAUNCH_FAILED;
  static const long skipped = envNumber("FAKE_CUDA_SKIP_LAUNCH", 0);
  if (device.runs == skipped)
    return CUDA_SUCCESS;
  static const bool trace = std::getenv("FAKE_CUDA_TRACE") != nullptr;
  if (trace)
    std::fprintf(stderr, "fake-cuda: launch %s grid %ux%ux%u block %ux%ux%u\n",
                 f->first.c_str(), g[0], g[1], g[2], b[0], b[1], b[2]);
  std::string error;
  if (f->second.entry && !fakecuda::runEmulatedKernel(
                             f->second.entry, f->first, {g[0], g[1], g[2]},
                             {b[0], b[1], b[2]}, params, error)) {
    std::fprintf(stderr, "fake-cuda: %s: %s\n", f->first.c_str(),
                 error.c_str());
    return CUDA_ERROR_LAUNCH_FAILED;
  }
  if (f->second.entry && device.countsTraffic) {
    Device::Traffic &t = device.traffic[f->first];
    fakecuda::GlobalTraffic last = fakecuda::lastGlobalTraffic();
    ++t.runs;
    t.bytes.readBytes += last.readBytes;
    t.bytes.writtenBytes += last.writtenBytes;
  }
  return CUDA_SUCCESS;
}

CUresult launch(CUfunction function, const unsigned g[3], const unsigned b[3],
                unsigned sharedBytes, bool early, void **params) {
  Device &device = gpu();
  auto *f = reinterpret_cast<Device::Function *>(function);
  if (!validLaunch(f, g, b, sharedBytes, params)) {
    device.failed = true;
    return CUDA_ERROR_INVALID_VALUE;
  }
  if (capturing) {
    // FAKE_CUDA_NO_GRAPHS: a launch the driver cannot capture (as an old
    // driver does a programmatic dependency); the capture is invalidated.
    if (std::getenv("FAKE_CUDA_NO_GRAPHS")) {
      capturing->invalidated = true;
      return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    }
    auto node = std::make_unique<Node>();
    node->function = f;
    std::copy(g, g + 3, node->grid);
    std::copy(b, b + 3, node->block);
    node->sharedBytes = sharedBytes;
    if (!copyParams(*node, params))
      return CUDA_ERROR_INVALID_VALUE;
    capturing->nodes.push_back(std::move(node));
    return CUDA_SUCCESS;
  }
  ++device.launches;
  device.early += early;
  return run(f, g, b, params);
}

/// Work on the stream that is not a kernel: a node of the capture, else
/// done at once.
CUresult hostNode(std::function<CUresult()> work) {
  if (!capturing)
    return work();
  auto node = std::make_unique<Node>();
  node->host = std::move(work);
  capturing->nodes.push_back(std::move(node));
  return CUDA_SUCCESS;
}

} // namespace

extern "C" {

CUresult cuLaunchKernel(CUfunction function, unsigned gx, unsigned gy,
                        unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned sharedBytes, CUstream, void **params,
                        void **) {
  const unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  return launch(function, grid, block, sharedBytes, false, params);
}
CUresult cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction function,
                          void **params, void **) {
  bool early = false;
  for (unsigned i = 0; i < config->numAttrs; ++i) {
    const CUlaunchAttribute &attribute = config->attrs[i];
    if (attribute.id !=
            CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION ||
        attribute.value.programmaticStreamSerializationAllowed != 1) {
      gpu().failed = true;
      return CUDA_ERROR_INVALID_VALUE;
    }
    early = true;
  }
  const unsigned grid[3] = {config->gridDimX, config->gridDimY,
                            config->gridDimZ};
  const unsigned block[3] = {config->blockDimX, config->blockDimY,
                             config->blockDimZ};
  return launch(function, grid, block, config->sharedMemBytes, early, params);
}
// Graphs: a capture of the stream's launches, in order (each node depends
// on the one before, as a stream orders them), instantiated as a copy
// whose nodes may be updated, and launched by running its nodes.
CUresult cuStreamBeginCapture_v2(CUstream, CUstreamCaptureMode) {
  if (capturing) {
    gpu().failed = true;
    return CUDA_ERROR_ILLEGAL_STATE;
  }
  capturing = new Graph;
  return CUDA_SUCCESS;
}
CUresult cuStreamGetCaptureInfo_v3(CUstream, CUstreamCaptureStatus *status,
                                   cuuint64_t *id, CUgraph *graph,
                                   const CUgraphNode **dependencies,
                                   const CUgraphEdgeData **edges,
                                   size_t *count) {
  static thread_local CUgraphNode last;
  *status = capturing ? CU_STREAM_CAPTURE_STATUS_ACTIVE
                      : CU_STREAM_CAPTURE_STATUS_NONE;
  if (id)
    *id = 1;
  if (graph)
    *graph = reinterpret_cast<CUgraph>(capturing);
  bool any = capturing && !capturing->nodes.empty();
  if (any)
    last = reinterpret_cast<CUgraphNode>(capturing->nodes.back().get());
  if (dependencies)
    *dependencies = any ? &last : nullptr;
  if (edges)
    *edges = nullptr;
  if (count)
    *count = any ? 1 : 0;
  return CUDA_SUCCESS;
}
CUresult cuStreamEndCapture(CUstream, CUgraph *graph) {
  if (!capturing) {
    gpu().failed = true;
    return CUDA_ERROR_ILLEGAL_STATE;
  }
  Graph *captured = capturing;
  capturing = nullptr;
  if (captured->invalidated) {
    delete captured;
    *graph = nullptr;
    return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
  }
  *graph = reinterpret_cast<CUgraph>(captured);
  return CUDA_SUCCESS;
}
CUresult cuGraphInstantiateWithFlags(CUgraphExec *exec, CUgraph graph,
                                     unsigned long long) {
  auto *instance = new GraphExec;
  for (const std::unique_ptr<Node> &node :
       reinterpret_cast<Graph *>(graph)->nodes) {
    instance->nodes.emplace(node.get(), *node);
    instance->order.push_back(node.get());
  }
  *exec = reinterpret_cast<CUgraphExec>(instance);
  return CUDA_SUCCESS;
}
CUresult cuGraphExecKernelNodeSetParams_v2(CUgraphExec exec, CUgraphNode node,
                                           const CUDA_KERNEL_NODE_PARAMS *p) {
  auto *instance = reinterpret_cast<GraphExec *>(exec);
  auto found = instance->nodes.find(reinterpret_cast<const Node *>(node));
  auto *f = reinterpret_cast<Device::Function *>(p->func);
  const unsigned grid[3] = {p->gridDimX, p->gridDimY, p->gridDimZ};
  const unsigned block[3] = {p->blockDimX, p->blockDimY, p->blockDimZ};
  if (found == instance->nodes.end() || found->second.host || p->extra ||
      !validLaunch(f, grid, block, p->sharedMemBytes, p->kernelParams)) {
    gpu().failed = true;
    return CUDA_ERROR_INVALID_VALUE;
  }
  // FAKE_CUDA_NO_GRAPH_UPDATES: the driver refuses every update.
  if (std::getenv("FAKE_CUDA_NO_GRAPH_UPDATES"))
    return CUDA_ERROR_NOT_SUPPORTED;
  Node &updated = found->second;
  updated.function = f;
  std::copy(grid, grid + 3, updated.grid);
  std::copy(block, block + 3, updated.block);
  updated.sharedBytes = p->sharedMemBytes;
  if (!copyParams(updated, p->kernelParams))
    return CUDA_ERROR_INVALID_VALUE;
  ++gpu().nodeUpdates;
  return CUDA_SUCCESS;
}
CUresult cuGraphLaunch(CUgraphExec exec, CUstream) {
  auto *instance = reinterpret_cast<GraphExec *>(exec);
  Device &device = gpu();
  ++device.graphLaunches;
  for (const Node *key : instance->order) {
    Node &node = instance->nodes.at(key);
    if (node.host) {
      if (CUresult result = node.host(); result != CUDA_SUCCESS)
        return result;
      continue;
    }
    std::vector<void *> params = node.pointers();
    ++device.graphNodes;
    if (CUresult result =
            run(node.function, node.grid, node.block, params.data());
        result != CUDA_SUCCESS)
      return result;
  }
  return CUDA_SUCCESS;
}
CUresult cuGraphExecDestroy(CUgraphExec exec) {
  delete reinterpret_cast<GraphExec *>(exec);
  return CUDA_SUCCESS;
}
CUresult cuGraphDestroy(CUgraph graph) {
  delete reinterpret_cast<Graph *>(graph);
  return CUDA_SUCCESS;
}
CUresult cuMemAlloc(CUdeviceptr *out, size_t bytes) {
  return gpu().allocate(out, bytes);
}
CUresult cuMemFree(CUdeviceptr p) { return gpu().release(p); }
CUresult cuMemAllocAsync(CUdeviceptr *out, size_t bytes, CUstream) {
  return gpu().allocate(out, bytes);
}
CUresult cuMemFreeAsync(CUdeviceptr p, CUstream) { return gpu().release(p); }
CUresult cuMemcpyHtoD(CUdeviceptr to, const void *from, size_t bytes) {
  return gpu().copy(to, reinterpret_cast<CUdeviceptr>(from), bytes);
}
CUresult cuMemcpyDtoH(void *to, CUdeviceptr from, size_t bytes) {
  return gpu().copy(reinterpret_cast<CUdeviceptr>(to), from, bytes);
}
CUresult cuMemcpyAsync(CUdeviceptr to, CUdeviceptr from, size_t bytes,
                       CUstream) {
  return gpu().copy(to, from, bytes);
}
// Two-dimensional tiled f16/bf16/f32 maps as llmrt asks for them, checked
// against the driver's documented limits; the map holds a FakeTensorMap.
CUresult cuTensorMapEncodeTiled(
    CUtensorMap *map, CUtensorMapDataType type, cuuint32_t rank, void *base,
    const cuuint64_t *dims, const cuuint64_t *strides, const cuuint32_t *box,
    const cuuint32_t *elementStrides, CUtensorMapInterleave interleave,
    CUtensorMapSwizzle swizzle, CUtensorMapL2promotion,
    CUtensorMapFloatOOBfill fill) {
  if (std::getenv("FAKE_CUDA_NO_TMA"))
    return CUDA_ERROR_NOT_SUPPORTED;
  auto invalid = [](const char *why) {
    std::fprintf(stderr, "fake-cuda: cuTensorMapEncodeTiled: %s\n", why);
    return CUDA_ERROR_INVALID_VALUE;
  };
  uint32_t elementBytes = type == CU_TENSOR_MAP_DATA_TYPE_FLOAT16 ||
                                 type == CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                             ? 2
                         : type == CU_TENSOR_MAP_DATA_TYPE_FLOAT32 ? 4
                                                                   : 0;
  static const uint32_t spans[] = {0, 32, 64, 128};
  if (!elementBytes || rank != 2 ||
      interleave != CU_TENSOR_MAP_INTERLEAVE_NONE ||
      swizzle > CU_TENSOR_MAP_SWIZZLE_128B ||
      fill != CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)
    return invalid("the fake driver takes 2-d f16/bf16/f32 maps, no "
                   "interleave, swizzle up to 128B, zeros outside");
  uint32_t span = spans[swizzle];
  if (reinterpret_cast<uintptr_t>(map) % 64 ||
      reinterpret_cast<uintptr_t>(base) % 16)
    return invalid("the map must be 64-byte aligned, the tensor 16-byte");
  if (!dims[0] || !dims[1] || strides[0] % 16 ||
      strides[0] < dims[0] * elementBytes)
    return invalid("dimensions must be non-zero, the row stride a multiple "
                   "of 16 bytes and no less than a row");
  if (!box[0] || !box[1] || box[0] > 256 || box[1] > 256 ||
      box[0] * elementBytes % 16 || (span && box[0] * elementBytes > span))
    return invalid("box dimensions must be 1 to 256, the inner one a "
                   "multiple of 16 bytes within the swizzle span");
  if (elementStrides[0] != 1 || elementStrides[1] != 1)
    return invalid("the fake driver takes element strides of 1");
  fakecuda::FakeTensorMap fake{fakecuda::FakeTensorMap::kMagic,
                               static_cast<const unsigned char *>(base),
                               {dims[0], dims[1]},
                               strides[0],
                               {box[0], box[1]},
                               elementBytes,
                               span};
  static_assert(sizeof fake <= sizeof *map);
  std::memset(map, 0, sizeof *map);
  std::memcpy(map, &fake, sizeof fake);
  return CUDA_SUCCESS;
}
CUresult cuMemcpy2DAsync(const CUDA_MEMCPY2D *copy, CUstream) {
  auto work = [copy = *copy] {
    Device &device = gpu();
    ++device.copies;
    for (size_t row = 0; row < copy.Height; ++row)
      std::memcpy(static_cast<char *>(device.access(copy.dstDevice)) +
                      copy.dstXInBytes + (copy.dstY + row) * copy.dstPitch,
                  static_cast<char *>(device.access(copy.srcDevice)) +
                      copy.srcXInBytes + (copy.srcY + row) * copy.srcPitch,
                  copy.WidthInBytes);
    return CUDA_SUCCESS;
  };
  return hostNode(work);
}
CUresult cuLaunchHostFunc(CUstream, CUhostFn fn, void *userData) {
  return hostNode([fn, userData] {
    fn(userData);
    return CUDA_SUCCESS;
  });
}
CUresult cuMemsetD8Async(CUdeviceptr p, unsigned char value, size_t bytes,
                         CUstream) {
  std::memset(gpu().access(p), value, bytes);
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *pool, CUdevice) {
  *pool = reinterpret_cast<CUmemoryPool>(&gpu());
  return CUDA_SUCCESS;
}
CUresult cuMemPoolSetAttribute(CUmemoryPool, CUmemPool_attribute, void *) {
  return CUDA_SUCCESS;
}
CUresult cuStreamCreate(CUstream *stream, unsigned int) {
  *stream = reinterpret_cast<CUstream>(&gpu());
  return CUDA_SUCCESS;
}
CUresult cuStreamDestroy(CUstream) { return CUDA_SUCCESS; }
CUresult cuStreamSynchronize(CUstream) { return CUDA_SUCCESS; }
CUresult cuEventCreate(CUevent *event, unsigned int) {
  *event = reinterpret_cast<CUevent>(&gpu());
  return CUDA_SUCCESS;
}
CUresult cuEventDestroy(CUevent) { return CUDA_SUCCESS; }
CUresult cuEventRecord(CUevent, CUstream) { return CUDA_SUCCESS; }
CUresult cuEventSynchronize(CUevent) { return CUDA_SUCCESS; }
// The backend resolves the unversioned name, which cuda.h maps to _v2.
#undef cuEventElapsedTime
CUresult cuEventElapsedTime(float *ms, CUevent, CUevent) {
  *ms = 0;
  return CUDA_SUCCESS;
}
CUresult cuGetErrorString(CUresult result, const char **message) {
  // The real driver's strings for the errors this driver returns.
  switch (result) {
  case CUDA_ERROR_OUT_OF_MEMORY:
    *message = "out of memory";
    break;
  case CUDA_ERROR_LAUNCH_FAILED:
    *message = "unspecified launch failure";
    break;
  case CUDA_ERROR_NOT_SUPPORTED:
    *message = "operation not supported";
    break;
  case CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED:
    *message = "operation not permitted when stream is capturing";
    break;
  case CUDA_ERROR_STREAM_CAPTURE_INVALIDATED:
    *message = "operation failed due to a previous error during capture";
    break;
  default:
    *message = "invalid value";
  }
  return CUDA_SUCCESS;
}

} // extern "C"
