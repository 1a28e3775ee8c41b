//===- CudaExecutable.cpp - Host code and kernels of a GPU artifact -------===//

#include "CudaExecutable.h"
#include "NcclCommunicator.h"

#include "llmrt/CollectiveABI.h"
#include "llmrt/GpuABI.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <sys/stat.h>

namespace llmrt {

namespace {

/// Where the table's allocator points after a failure: host code never
/// dereferences device memory, and every later call is skipped.
alignas(256) std::byte failedAllocation[256];

void *gpuAlloc(void *context, int64_t size) {
  return static_cast<CudaExecutable *>(context)->allocate(size);
}
void gpuFree(void *context, void *pointer) {
  static_cast<CudaExecutable *>(context)->release(pointer);
}
void gpuLaunch(void *context, int32_t kernel, int64_t gridX, int64_t gridY,
               int64_t gridZ, int64_t blockX, int64_t blockY, int64_t blockZ,
               int32_t sharedBytes, void **args) {
  const int64_t grid[3] = {gridX, gridY, gridZ};
  const int64_t block[3] = {blockX, blockY, blockZ};
  static_cast<CudaExecutable *>(context)->launch(kernel, grid, block,
                                                 sharedBytes, args);
}
void gpuMemcpy(void *context, void *destination, const void *source,
               int64_t size) {
  static_cast<CudaExecutable *>(context)->copy(destination, source, size);
}
void *gpuTensorMap(void *context, const void *base, int64_t rows,
                   int64_t columns, int64_t rowBytes, int32_t boxRows,
                   int32_t boxColumns, int32_t swizzleBytes, int32_t bf16) {
  return static_cast<CudaExecutable *>(context)->tensorMap(
      base, rows, columns, rowBytes, boxRows, boxColumns, swizzleBytes,
      bf16 != 0);
}

Status readFile(const std::string &path, std::string &out) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return Status::error(path + ": cannot read");
  std::ostringstream text;
  text << file.rdbuf();
  out = text.str();
  return {};
}

CUdeviceptr devicePointer(const void *pointer) {
  return reinterpret_cast<CUdeviceptr>(pointer);
}

} // namespace

bool CudaExecutable::failed(CUresult result, const std::string &what) {
  if (result == CUDA_SUCCESS)
    return false;
  if (error.ok())
    error = api->check(result, what);
  return true;
}

namespace {
/// Sizes the cache keeps apart: multiples of 256 bytes up to 1 MiB, then
/// four classes per power of two.
size_t sizeClass(int64_t size) {
  size_t bytes = size_t(std::max<int64_t>(size, 1));
  size_t granule = 256;
  if (bytes > (size_t(1) << 20)) {
    granule = size_t(1) << (63 - __builtin_clzll(bytes));
    granule /= 4;
  }
  return (bytes + granule - 1) / granule * granule;
}
} // namespace

void *CudaExecutable::allocate(int64_t size) {
  if (!error.ok())
    return failedAllocation;
  size_t bytes = sizeClass(size);
  CUdeviceptr pointer = 0;
  std::set<CUdeviceptr> &cached = freeBlocks[bytes];
  if (!cached.empty()) {
    // Freed earlier on this stream: whatever used it is ordered before.
    pointer = *cached.begin();
    cached.erase(cached.begin());
  } else {
    CUresult result = api->memAllocAsync(&pointer, bytes, stream);
    if (result == CUDA_ERROR_OUT_OF_MEMORY) {
      releaseCachedBlocks();
      result = api->memAllocAsync(&pointer, bytes, stream);
    }
    if (failed(result, "out of device memory allocating " +
                           std::to_string(size) + " bytes (cuMemAllocAsync)"))
      return failedAllocation;
  }
  blockSizes[pointer] = bytes;
  if (!dumpDir.empty())
    allocationOrder[pointer] = allocations++;
  return reinterpret_cast<void *>(pointer);
}

void CudaExecutable::release(void *pointer) {
  if (pointer == failedAllocation)
    return;
  // After a failure too: the block goes back to the cache, which the
  // destructor hands back to the driver.
  auto found = blockSizes.find(devicePointer(pointer));
  if (found == blockSizes.end()) {
    if (error.ok())
      error = Status::error("the host code freed device memory it did not "
                            "allocate");
    return;
  }
  freeBlocks[found->second].insert(found->first);
  allocationOrder.erase(found->first);
  blockSizes.erase(found);
}

void CudaExecutable::releaseCachedBlocks() {
  // Recorded launches may use the blocks.
  flushRecorded();
  for (auto &[bytes, blocks] : freeBlocks)
    for (CUdeviceptr block : blocks)
      api->memFreeAsync(block, stream);
  freeBlocks.clear();
}

void CudaExecutable::launch(int32_t kernel, const int64_t grid[3],
                            const int64_t block[3], int32_t sharedBytes,
                            void **args) {
  if (!error.ok())
    return;
  if (kernel < 0 || size_t(kernel) >= kernels.size()) {
    error = Status::error("the host code launched kernel " +
                          std::to_string(kernel) + " of " +
                          std::to_string(kernels.size()));
    return;
  }
  for (int i = 0; i < 3; ++i) {
    // An empty batch or sequence: nothing to do.
    if (grid[i] <= 0 || block[i] <= 0)
      return;
    if (grid[i] > (i == 0 ? int64_t(0x7fffffff) : int64_t(65535))) {
      error = Status::error("kernel '" + program.kernels[kernel] + "': " +
                            std::to_string(grid[i]) + " blocks along " +
                            "xyz"[i] + " exceed the GPU's grid");
      return;
    }
  }
  // Beyond 48 KiB of dynamic shared memory a kernel must opt in, once, to
  // at most what the GPU gives a block (an sm_80 artifact may run on an
  // sm_86 GPU, which gives less).
  if (sharedBytes > sharedOptIn[kernel]) {
    int limit = 0;
    if (failed(api->deviceGetAttribute(
                   &limit, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                   device->handle()),
               "cuDeviceGetAttribute"))
      return;
    if (sharedBytes > limit) {
      error = Status::error(
          "kernel '" + program.kernels[kernel] + "' needs " +
          std::to_string(sharedBytes) + " bytes of shared memory, GPU " +
          device->name() + " gives a block at most " + std::to_string(limit) +
          " (compile with fewer --gpu-mma-stages)");
      return;
    }
    if (failed(api->funcSetAttribute(
                   kernels[kernel],
                   CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                   sharedBytes),
               "cuFuncSetAttribute"))
      return;
    sharedOptIn[kernel] = sharedBytes;
  }
  const unsigned gridDims[3] = {unsigned(grid[0]), unsigned(grid[1]),
                                unsigned(grid[2])};
  const unsigned blockDims[3] = {unsigned(block[0]), unsigned(block[1]),
                                 unsigned(block[2])};
  if (recording) {
    record(kernel, gridDims, blockDims, unsigned(sharedBytes), args);
    return;
  }
  std::vector<DumpRegion> regions;
  std::vector<std::vector<std::byte>> before;
  if (!dumpDir.empty()) {
    regions = dumpRegions();
    if (!readRegions(regions, before))
      return;
  }
  if (profiling)
    recordLaunchEvent(kernel, false);
  CUresult result =
      issue(kernel, gridDims, blockDims, unsigned(sharedBytes), args);
  // The message is built on failure only: a decode step launches hundreds.
  if (result != CUDA_SUCCESS)
    failed(result, "launching kernel '" + program.kernels[kernel] + "'");
  if (profiling)
    recordLaunchEvent(kernel, true);
  if (!dumpDir.empty())
    dumpLaunch(kernel, grid, block, regions, before);
}

CUresult CudaExecutable::issue(int32_t kernel, const unsigned grid[3],
                               const unsigned block[3], unsigned sharedBytes,
                               void **args) {
  if (!dependentLaunch)
    return api->launchKernel(kernels[kernel], grid[0], grid[1], grid[2],
                             block[0], block[1], block[2], sharedBytes, stream,
                             args, nullptr);
  // The kernel waits for the one before it itself: it may be scheduled
  // while that one finishes.
  CUlaunchAttribute early = {};
  early.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
  early.value.programmaticStreamSerializationAllowed = 1;
  CUlaunchConfig config = {};
  config.gridDimX = grid[0];
  config.gridDimY = grid[1];
  config.gridDimZ = grid[2];
  config.blockDimX = block[0];
  config.blockDimY = block[1];
  config.blockDimZ = block[2];
  config.sharedMemBytes = sharedBytes;
  config.hStream = stream;
  config.attrs = &early;
  config.numAttrs = 1;
  return api->launchKernelEx(&config, kernels[kernel], args, nullptr);
}

namespace {
size_t alignedParam(int32_t bytes) { return (size_t(bytes) + 7) / 8 * 8; }
} // namespace

void CudaExecutable::record(int32_t kernel, const unsigned grid[3],
                            const unsigned block[3], unsigned sharedBytes,
                            void **args) {
  RecordedLaunch launch;
  launch.kernel = kernel;
  std::copy(grid, grid + 3, launch.grid);
  std::copy(block, block + 3, launch.block);
  launch.sharedBytes = sharedBytes;
  launch.params = recordedParams.size();
  const std::vector<int32_t> &sizes = program.kernelParamBytes[kernel];
  for (int32_t bytes : sizes)
    launch.paramSpan += alignedParam(bytes);
  recordedParams.resize(launch.params + launch.paramSpan);
  std::byte *at = recordedParams.data() + launch.params;
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::memcpy(at, args[i], size_t(sizes[i]));
    at += alignedParam(sizes[i]);
  }
  recorded.push_back(launch);
  // The GPU starts on the step's first kernels while the host code records
  // the rest: segments of 16, 32, 64, ... launches.
  if (firstSegment && recorded.size() >= (firstSegment << std::min(segment, 8)))
    flushRecorded();
}

void CudaExecutable::enqueue(std::function<void()> work, std::string key) {
  // After a failure the buffers may be the failed allocation's: no
  // collective reads them (the step returns the error; mpirun ends the job).
  if (!error.ok())
    return;
  if (!recording)
    return work();
  RecordedLaunch entry;
  entry.kernel = kStreamWork;
  entry.work = recordedWork.size();
  entry.params = recordedParams.size();
  entry.paramSpan = key.size();
  recordedParams.resize(entry.params + entry.paramSpan);
  std::memcpy(recordedParams.data() + entry.params, key.data(), key.size());
  recordedWork.push_back(std::move(work));
  recorded.push_back(entry);
}

std::vector<void *>
CudaExecutable::parameterPointers(const RecordedLaunch &launch,
                                  std::vector<std::byte> &params) const {
  std::vector<void *> pointers;
  std::byte *at = params.data() + launch.params;
  for (int32_t bytes : program.kernelParamBytes[launch.kernel]) {
    pointers.push_back(at);
    at += alignedParam(bytes);
  }
  return pointers;
}

Status CudaExecutable::buildGraph(StepGraph &graph) {
  if (Status status = api->check(
          api->streamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
          "cuStreamBeginCapture");
      !status.ok())
    return status;
  Status status;
  for (const RecordedLaunch &launch : graph.launches) {
    if (launch.kernel == kStreamWork) {
      // NCCL's calls are captured as nodes of their own.
      graph.work[launch.work]();
      graph.nodes.push_back(nullptr);
      continue;
    }
    std::vector<void *> args = parameterPointers(launch, graph.params);
    status =
        api->check(issue(launch.kernel, launch.grid, launch.block,
                         launch.sharedBytes, args.data()),
                   "capturing kernel '" + program.kernels[launch.kernel] + "'");
    if (!status.ok())
      break;
    // The node just captured: what the stream's next work depends on.
    CUstreamCaptureStatus capture;
    const CUgraphNode *last = nullptr;
    size_t count = 0;
    status =
        api->check(api->streamGetCaptureInfo(stream, &capture, nullptr, nullptr,
                                             &last, nullptr, &count),
                   "cuStreamGetCaptureInfo");
    if (!status.ok())
      break;
    if (count != 1) {
      status = Status::error("the captured stream depends on " +
                             std::to_string(count) +
                             " nodes after a launch, expected 1");
      break;
    }
    graph.nodes.push_back(last[0]);
  }
  // Ended in any case: the stream leaves capture.
  CUresult ended = api->streamEndCapture(stream, &graph.graph);
  if (!status.ok())
    return status;
  if (status = api->check(ended, "cuStreamEndCapture"); !status.ok())
    return status;
  return api->check(api->graphInstantiate(&graph.exec, graph.graph, 0),
                    "cuGraphInstantiate");
}

Status CudaExecutable::updateGraph(StepGraph &graph) {
  for (size_t i = 0; i < recorded.size(); ++i) {
    RecordedLaunch &now = recorded[i], &then = graph.launches[i];
    // Stream work is the graph's as it is (its keys are the same).
    if (now.kernel == kStreamWork)
      continue;
    bool same =
        std::equal(now.grid, now.grid + 3, then.grid) &&
        std::equal(now.block, now.block + 3, then.block) &&
        now.sharedBytes == then.sharedBytes &&
        std::memcmp(recordedParams.data() + now.params,
                    graph.params.data() + then.params, now.paramSpan) == 0;
    if (same)
      continue;
    std::memcpy(graph.params.data() + then.params,
                recordedParams.data() + now.params, now.paramSpan);
    std::copy(now.grid, now.grid + 3, then.grid);
    std::copy(now.block, now.block + 3, then.block);
    then.sharedBytes = now.sharedBytes;
    std::vector<void *> args = parameterPointers(then, graph.params);
    CUDA_KERNEL_NODE_PARAMS node = {};
    node.func = kernels[then.kernel];
    node.gridDimX = then.grid[0];
    node.gridDimY = then.grid[1];
    node.gridDimZ = then.grid[2];
    node.blockDimX = then.block[0];
    node.blockDimY = then.block[1];
    node.blockDimZ = then.block[2];
    node.sharedMemBytes = then.sharedBytes;
    node.kernelParams = args.data();
    if (Status status =
            api->check(api->graphExecKernelNodeSetParams(graph.exec,
                                                         graph.nodes[i], &node),
                       "updating kernel '" + program.kernels[then.kernel] +
                           "' of a graph (cuGraphExecKernelNodeSetParams)");
        !status.ok())
      return status;
    ++nodesUpdated;
  }
  return {};
}

void CudaExecutable::stopGraphs(const Status &why) {
  graphs = recording = false;
  for (StepGraph &graph : stepGraphs)
    destroyGraph(graph);
  stepGraphs.clear();
  if (communicates) {
    // NCCL asks every rank to capture a collective or none: this rank
    // cannot go on alone without graphs.
    if (error.ok())
      error = Status::error(
          "LLMRT_CUDA_GRAPHS: " + why.message() +
          "; a sharded run stops (its ranks must all capture their NCCL "
          "calls or none: run it without LLMRT_CUDA_GRAPHS)");
    return clearRecorded();
  }
  std::fprintf(stderr, "llmrt: LLMRT_CUDA_GRAPHS: %s; running without graphs\n",
               why.message().c_str());
  for (const RecordedLaunch &launch : recorded) {
    if (launch.kernel == kStreamWork) {
      recordedWork[launch.work]();
      continue;
    }
    std::vector<void *> args = parameterPointers(launch, recordedParams);
    CUresult result = issue(launch.kernel, launch.grid, launch.block,
                            launch.sharedBytes, args.data());
    if (result != CUDA_SUCCESS) {
      failed(result,
             "launching kernel '" + program.kernels[launch.kernel] + "'");
      break;
    }
  }
  clearRecorded();
}

void CudaExecutable::clearRecorded() {
  recorded.clear();
  recordedParams.clear();
  recordedWork.clear();
}

void CudaExecutable::destroyGraph(StepGraph &graph) {
  if (graph.exec)
    api->graphExecDestroy(graph.exec);
  if (graph.graph)
    api->graphDestroy(graph.graph);
  graph.exec = nullptr;
  graph.graph = nullptr;
}

void CudaExecutable::flushRecorded() {
  if (recorded.empty() || !error.ok())
    return clearRecorded();
  int index = segment++;
  auto sameKernels = [&](const StepGraph &graph) {
    if (graph.segment != index || graph.launches.size() != recorded.size())
      return false;
    for (size_t i = 0; i < recorded.size(); ++i) {
      const RecordedLaunch &then = graph.launches[i], &now = recorded[i];
      if (then.kernel != now.kernel)
        return false;
      if (now.kernel == kStreamWork &&
          (then.paramSpan != now.paramSpan ||
           std::memcmp(graph.params.data() + then.params,
                       recordedParams.data() + now.params, now.paramSpan)))
        return false;
    }
    return true;
  };
  auto found = std::find_if(stepGraphs.begin(), stepGraphs.end(), sameKernels);
  // Where the driver cannot capture the launches or update the nodes: one
  // by one from here on.
  if (found != stepGraphs.end()) {
    if (Status status = updateGraph(*found); !status.ok())
      return stopGraphs(status);
  } else {
    if (stepGraphs.size() == kMaxStepGraphs) {
      auto oldest =
          std::min_element(stepGraphs.begin(), stepGraphs.end(),
                           [](const StepGraph &a, const StepGraph &b) {
                             return a.lastUse < b.lastUse;
                           });
      destroyGraph(*oldest);
      stepGraphs.erase(oldest);
    }
    StepGraph built;
    built.segment = index;
    built.launches = recorded;
    built.params = recordedParams;
    built.work = recordedWork;
    if (Status status = buildGraph(built); !status.ok()) {
      destroyGraph(built);
      return stopGraphs(status);
    }
    ++graphsBuilt;
    found = stepGraphs.insert(stepGraphs.end(), std::move(built));
  }
  clearRecorded();
  found->lastUse = ++graphUses;
  if (!failed(api->graphLaunch(found->exec, stream),
              "launching a CUDA graph of " +
                  std::to_string(found->launches.size()) + " kernels"))
    ++graphsLaunched;
}

std::vector<CudaExecutable::DumpRegion> CudaExecutable::dumpRegions() const {
  std::vector<DumpRegion> regions;
  for (auto [pointer, order] : allocationOrder)
    regions.push_back(
        {pointer, blockSizes.at(pointer), "a" + std::to_string(order)});
  if (runningCache)
    regions.push_back({runningCache, cacheSizes.at(runningCache), "cache"});
  return regions;
}

bool CudaExecutable::readRegions(
    const std::vector<DumpRegion> &regions,
    std::vector<std::vector<std::byte>> &contents) {
  if (failed(api->streamSynchronize(stream), "cuStreamSynchronize (dump)"))
    return false;
  contents.resize(regions.size());
  for (size_t i = 0; i < regions.size(); ++i) {
    contents[i].resize(regions[i].bytes);
    if (failed(api->memcpyAsync(devicePointer(contents[i].data()),
                                regions[i].pointer, regions[i].bytes, stream),
               "cuMemcpyAsync (dump)"))
      return false;
  }
  return !failed(api->streamSynchronize(stream), "cuStreamSynchronize (dump)");
}

void CudaExecutable::dumpLaunch(
    int32_t kernel, const int64_t grid[3], const int64_t block[3],
    const std::vector<DumpRegion> &regions,
    const std::vector<std::vector<std::byte>> &before) {
  std::vector<std::vector<std::byte>> after;
  if (!error.ok() || !readRegions(regions, after))
    return;
  int64_t launch = launchesDumped++;
  char prefix[160];
  std::snprintf(prefix, sizeof prefix, "%lld	%s	%lld,%lld,%lld	%lld,%lld,%lld",
                static_cast<long long>(launch), program.kernels[kernel].c_str(),
                static_cast<long long>(grid[0]), static_cast<long long>(grid[1]),
                static_cast<long long>(grid[2]),
                static_cast<long long>(block[0]),
                static_cast<long long>(block[1]),
                static_cast<long long>(block[2]));
  bool any = false;
  for (size_t i = 0; i < regions.size(); ++i) {
    const std::vector<std::byte> &old = before[i], &now = after[i];
    size_t first = 0, end = now.size();
    while (first < end && old[first] == now[first])
      ++first;
    while (end > first && old[end - 1] == now[end - 1])
      --end;
    if (first == end)
      continue;
    // Whole 16-byte units: an element never straddles the range's ends.
    first = first / 16 * 16;
    end = std::min(now.size(), (end + 15) / 16 * 16);
    std::string file = std::to_string(launch) + "-" + regions[i].name + ".bin";
    std::ofstream out(dumpDir + "/" + file, std::ios::binary);
    out.write(reinterpret_cast<const char *>(now.data() + first),
              std::streamsize(end - first));
    if (!out) {
      error = Status::error(dumpDir + "/" + file + ": cannot write (" +
                            "LLMRT_CUDA_DUMP)");
      return;
    }
    std::fprintf(dumpIndex, "%s\t%s\t%zu\t%zu\t%s\n", prefix,
                 regions[i].name.c_str(), first, end - first, file.c_str());
    any = true;
  }
  if (!any)
    std::fprintf(dumpIndex, "%s\t-\t0\t0\t-\n", prefix);
  std::fflush(dumpIndex);
}

void CudaExecutable::recordLaunchEvent(int32_t kernel, bool after) {
  if (!error.ok())
    return;
  if (eventsUsed == events.size()) {
    CUevent event = nullptr;
    if (failed(api->eventCreate(&event, CU_EVENT_DEFAULT), "cuEventCreate"))
      return;
    events.push_back(event);
  }
  if (!after)
    launched.push_back(kernel);
  failed(api->eventRecord(events[eventsUsed++], stream), "cuEventRecord");
}

void CudaExecutable::recordStepEvent(int which) {
  if (!error.ok())
    return;
  if (!stepEvents[which] &&
      failed(api->eventCreate(&stepEvents[which], CU_EVENT_DEFAULT),
             "cuEventCreate"))
    return;
  failed(api->eventRecord(stepEvents[which], stream), "cuEventRecord");
}

void CudaExecutable::collectProfile(Entry entry) {
  StepTime &step = steps[int(entry)];
  step.runs += 1;
  float milliseconds = 0;
  if (error.ok() &&
      !failed(api->eventElapsedTime(&milliseconds, stepEvents[0],
                                    stepEvents[1]),
              "cuEventElapsedTime"))
    step.gpuMilliseconds += milliseconds;
  if (!profiling)
    return;
  for (size_t i = 0; error.ok() && i < launched.size(); ++i) {
    float kernelMilliseconds = 0;
    if (failed(api->eventElapsedTime(&kernelMilliseconds, events[2 * i],
                                     events[2 * i + 1]),
               "cuEventElapsedTime"))
      break;
    KernelTime &time = profile[{int(entry), launched[i]}];
    time.milliseconds += kernelMilliseconds;
    time.launches += 1;
  }
  launched.clear();
  eventsUsed = 0;
}

void CudaExecutable::printProfile() const {
  static const char *entryNames[] = {"prefill", "prefill_last", "decode"};
  for (auto [entry, step] : steps)
    std::fprintf(stderr,
                 "llmrt steps: %s: %lld runs, %.3f ms per run on the GPU "
                 "(first launch to last kernel's end), %.3f ms issuing on "
                 "the host\n",
                 entryNames[entry], static_cast<long long>(step.runs),
                 step.gpuMilliseconds / double(step.runs),
                 step.hostMilliseconds / double(step.runs));
  if (graphs)
    std::fprintf(stderr,
                 "llmrt graphs: %lld built, %lld launched, %lld kernel nodes "
                 "updated\n",
                 static_cast<long long>(graphsBuilt),
                 static_cast<long long>(graphsLaunched),
                 static_cast<long long>(nodesUpdated));
  if (!profiling)
    return;
  for (auto [entry, step] : steps) {
    int64_t count = step.runs;
    std::vector<std::pair<int32_t, KernelTime>> rows;
    double total = 0;
    int64_t launches = 0;
    for (const auto &[key, time] : profile)
      if (key.first == entry) {
        rows.push_back({key.second, time});
        total += time.milliseconds;
        launches += time.launches;
      }
    std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
      if (a.second.milliseconds != b.second.milliseconds)
        return a.second.milliseconds > b.second.milliseconds;
      return a.second.launches > b.second.launches;
    });
    std::fprintf(stderr,
                 "llmrt profile: %s: %lld runs, %.3f ms in kernels per run, "
                 "%.1f launches per run\n",
                 entryNames[entry], static_cast<long long>(count),
                 total / double(count), double(launches) / double(count));
    for (size_t i = 0; i < rows.size() && i < 12; ++i)
      std::fprintf(stderr, "  %6.2f%% %9.4f ms/run %6.1f launches/run  %s\n",
                   100.0 * rows[i].second.milliseconds / std::max(total, 1e-9),
                   rows[i].second.milliseconds / double(count),
                   double(rows[i].second.launches) / double(count),
                   program.kernels[rows[i].first].c_str());
  }
}

void CudaExecutable::copy(void *destination, const void *source,
                          int64_t size) {
  if (!error.ok() || destination == failedAllocation ||
      source == failedAllocation)
    return;
  auto *from = static_cast<const std::byte *>(source);
  auto *to = static_cast<std::byte *>(destination);
  auto inInputs = [&](const std::byte *p) {
    return deviceInputs && p >= deviceInputs &&
           p + size <= deviceInputs + hostInputs.size();
  };
  if (inInputs(from)) {
    // The host code reads an input: its host copy is the same.
    std::memcpy(destination, hostInputs.data() + (from - deviceInputs),
                size_t(size));
    return;
  }
  // The step's launches so far go first.
  flushRecorded();
  if (inInputs(to))
    // Written on the device below; the host copy follows.
    std::memcpy(hostInputs.data() + (to - deviceInputs), source,
                size_t(size));
  // Unified addressing: the driver tells host from device pointers. A copy
  // to the device is ordered before the launches that read it (from
  // pageable memory, the driver has taken the bytes when it returns); the
  // host code reads what it copies to the host next, so that one completes
  // here.
  if (!failed(api->memcpyAsync(devicePointer(destination),
                               devicePointer(source), size_t(size), stream),
              "cuMemcpyAsync") &&
      !onDevice(to))
    failed(api->streamSynchronize(stream), "cuStreamSynchronize");
}

bool CudaExecutable::onDevice(const void *pointer) const {
  CUdeviceptr at = devicePointer(pointer);
  auto within = [at](const std::map<CUdeviceptr, size_t> &blocks) {
    auto after = blocks.upper_bound(at);
    return after != blocks.begin() &&
           at < std::prev(after)->first + std::prev(after)->second;
  };
  return within(blockSizes) || within(cacheSizes);
}

void *CudaExecutable::tensorMap(const void *base, int64_t rows, int64_t columns,
                                int64_t rowBytes, int32_t boxRows,
                                int32_t boxColumns, int32_t swizzleBytes,
                                bool bf16) {
  if (!error.ok() || base == failedAllocation)
    return failedAllocation;
  TensorMapKey key{base,       rows,         columns, rowBytes, boxRows,
                   boxColumns, swizzleBytes, bf16};
  if (auto found = tensorMaps.find(key); found != tensorMaps.end())
    return reinterpret_cast<void *>(found->second);
  std::string what = "cuTensorMapEncodeTiled (" + std::to_string(rows) + " x " +
                     std::to_string(columns) +
                     (bf16 ? " bf16, rows " : " f16, rows ") +
                     std::to_string(rowBytes) + " bytes apart, boxes of " +
                     std::to_string(boxRows) + " x " +
                     std::to_string(boxColumns) + ", swizzle " +
                     std::to_string(swizzleBytes) + " bytes)";
  if (!api->tensorMapEncodeTiled) {
    error = Status::error(what + ": the CUDA driver has no such function "
                                 "(it needs CUDA 12 or later); compile "
                                 "without --gpu-tma");
    return failedAllocation;
  }
  CUtensorMapSwizzle swizzle = CU_TENSOR_MAP_SWIZZLE_NONE;
  switch (swizzleBytes) {
  case 32:
    swizzle = CU_TENSOR_MAP_SWIZZLE_32B;
    break;
  case 64:
    swizzle = CU_TENSOR_MAP_SWIZZLE_64B;
    break;
  case 128:
    swizzle = CU_TENSOR_MAP_SWIZZLE_128B;
    break;
  }
  auto map = std::make_unique<CUtensorMap>();
  const cuuint64_t dims[2] = {cuuint64_t(columns), cuuint64_t(rows)};
  const cuuint64_t strides[1] = {cuuint64_t(rowBytes)};
  const cuuint32_t box[2] = {cuuint32_t(boxColumns), cuuint32_t(boxRows)};
  const cuuint32_t elementStrides[2] = {1, 1};
  if (failed(api->tensorMapEncodeTiled(
                 map.get(),
                 bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                      : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
                 2,
                 const_cast<void *>(base), dims, strides, box, elementStrides,
                 CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
                 CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                 CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE),
             what))
    return failedAllocation;
  size_t used = tensorMaps.size() % kTensorMapsPerChunk;
  if (used == 0) {
    CUdeviceptr chunk = 0;
    if (failed(api->memAlloc(&chunk, kTensorMapsPerChunk * sizeof(CUtensorMap)),
               "cuMemAlloc (tensor maps)"))
      return failedAllocation;
    tensorMapChunks.push_back(chunk);
  }
  CUdeviceptr slot = tensorMapChunks.back() + used * sizeof(CUtensorMap);
  // On the stream, before the launch that reads it; the host copy stays.
  if (failed(api->memcpyAsync(slot, devicePointer(map.get()),
                              sizeof(CUtensorMap), stream),
             "cuMemcpyAsync (tensor map)"))
    return failedAllocation;
  hostTensorMaps.push_back(std::move(map));
  tensorMaps[key] = slot;
  return reinterpret_cast<void *>(slot);
}

Status CudaExecutable::loadModule() {
  // The cubin when it was made for this GPU (and the driver takes it);
  // else the PTX, which the driver compiles for the GPU.
  std::string image;
  if (!program.cubin.empty() &&
      manifest.target == "sm_" + std::to_string(device->computeCapability())) {
    if (Status status = readFile(manifest.dir + "/" + program.cubin, image);
        !status.ok())
      return status;
    if (!device->loadModule(image, module).ok())
      module = nullptr;
  }
  if (!module) {
    std::string ptx = manifest.dir + "/" + program.ptx;
    if (Status status = readFile(ptx, image); !status.ok())
      return status;
    if (Status status = device->loadModule(image, module); !status.ok())
      return Status::error(ptx + ": the driver cannot compile it for sm_" +
                           std::to_string(device->computeCapability()) +
                           ": " + status.message());
  }
  kernels.resize(program.kernels.size());
  sharedOptIn.assign(program.kernels.size(), 48 * 1024);
  for (size_t i = 0; i < kernels.size(); ++i)
    if (Status status = api->check(
            api->moduleGetFunction(&kernels[i], module,
                                   program.kernels[i].c_str()),
            manifest.dir + "/" + program.ptx + ": kernel '" +
                program.kernels[i] + "'");
        !status.ok())
      return status;
  return {};
}

Status CudaExecutable::uploadWeights(WeightStore &store, const void **table) {
  std::vector<std::byte> staging;
  for (size_t i = 0; i < program.params.size(); ++i) {
    const ArtifactParam &param = program.params[i];
    TensorView view;
    if (Status status = viewParam(store, param, view); !status.ok())
      return status;
    size_t size = view.numElements() * dtypeSize(param.dtype);
    CUdeviceptr pointer = 0;
    if (Status status = api->check(
            api->memAlloc(&pointer, size ? size : 1),
            "out of device memory for tensor '" + param.name + "' (" +
                std::to_string(size) + " bytes, " + std::to_string(bytes) +
                " uploaded before it, " +
                std::to_string(device->totalMemory()) + " on the GPU)");
        !status.ok())
      return status;
    weights.push_back(pointer);
    const void *source = view.data;
    if (!view.isContiguous() || view.dtype != param.dtype) {
      staging.resize(size);
      view.copyAs(param.dtype, staging.data());
      source = staging.data();
    }
    if (Status status = api->check(api->memcpyHtoD(pointer, source, size),
                                   "uploading tensor '" + param.name + "'");
        !status.ok())
      return status;
    bytes += size;
    table[i] = reinterpret_cast<void *>(pointer);
  }
  return {};
}

Status CudaExecutable::load(const Manifest &manifest,
                            const ArtifactProgram &program, WeightStore &store,
                            std::unique_ptr<Communicator> *communicator,
                            std::unique_ptr<CudaExecutable> &out) {
  std::unique_ptr<CudaExecutable> executable(
      new CudaExecutable(manifest, program));
  int ordinal = 0;
  bool sharded = communicator && *communicator;
  if (const char *env = std::getenv("LLMRT_CUDA_DEVICE")) {
    ordinal = std::atoi(env);
  } else if (sharded) {
    // Ranks on one node take its GPUs in turn.
    const CudaDriver *driver = nullptr;
    if (Status status = CudaDriver::load(driver); !status.ok())
      return status;
    int count = 0;
    if (Status status =
            driver->check(driver->deviceGetCount(&count), "cuDeviceGetCount");
        !status.ok())
      return status;
    if (count > 0)
      ordinal = int(launcherLocalRank() % count);
  }
  if (Status status = CudaDevice::open(ordinal, executable->device);
      !status.ok())
    return status;
  const CudaDriver *api = &executable->device->driver();
  executable->api = api;
  int wanted = std::atoi(manifest.target.c_str() + 3);
  if (executable->device->computeCapability() < wanted)
    return Status::error(manifest.dir + ": compiled for " + manifest.target +
                         ", but GPU " + std::to_string(ordinal) + " (" +
                         executable->device->name() + ") is sm_" +
                         std::to_string(
                             executable->device->computeCapability()));
  if (Status status = api->check(
          api->streamCreate(&executable->stream, CU_STREAM_NON_BLOCKING),
          "cuStreamCreate");
      !status.ok())
    return status;
  // Freed memory stays in the pool for the next step.
  CUmemoryPool pool = nullptr;
  uint64_t keep = UINT64_MAX;
  if (Status status = api->check(
          api->deviceGetDefaultMemPool(&pool, executable->device->handle()),
          "cuDeviceGetDefaultMemPool");
      !status.ok())
    return status;
  if (Status status = api->check(
          api->memPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                                   &keep),
          "cuMemPoolSetAttribute");
      !status.ok())
    return status;
  if (Status status = executable->loadModule(); !status.ok())
    return status;
  // Kernels compiled to wait for their predecessor (sm_90 only) launch
  // early where the driver can; LLMRT_CUDA_DEPENDENT_LAUNCH=0 turns it off.
  const char *early = std::getenv("LLMRT_CUDA_DEPENDENT_LAUNCH");
  executable->dependentLaunch =
      program.dependentLaunch && api->launchKernelEx &&
      executable->device->computeCapability() >= 90 &&
      !(early && std::strcmp(early, "0") == 0);

  if (Status status = executable->code.open(manifest, program); !status.ok())
    return status;
  // The collectives table exists when the program communicates: NCCL on
  // this stream, so a collective follows the kernels before it.
  if (void *collectives = executable->code.find(manifest.collectivesSymbol)) {
    if (!sharded)
      return Status::error(executable->code.file() +
                           ": the program communicates but the artifact runs "
                           "on one rank");
    executable->communicates = true;
    if (Status status =
            useNccl(*communicator, *api, executable->stream, *executable);
        !status.ok())
      return status;
    (*communicator)->fillTable(static_cast<void **>(collectives));
  }
  void *gpu = nullptr;
  if (Status status = executable->code.require(LLMRT_GPU_TABLE, gpu);
      !status.ok())
    return status;
  void **table = static_cast<void **>(gpu);
  // Where GEMMs split k: how many blocks fill this GPU.
  if (void *count = executable->code.find(LLMRT_GPU_MULTIPROCESSORS))
    *static_cast<int64_t *>(count) = executable->device->multiprocessors();
  table[LLMRT_GPU_SLOT_CONTEXT] = executable.get();
  table[LLMRT_GPU_SLOT_ALLOC] = reinterpret_cast<void *>(&gpuAlloc);
  table[LLMRT_GPU_SLOT_FREE] = reinterpret_cast<void *>(&gpuFree);
  table[LLMRT_GPU_SLOT_LAUNCH] = reinterpret_cast<void *>(&gpuLaunch);
  table[LLMRT_GPU_SLOT_MEMCPY] = reinterpret_cast<void *>(&gpuMemcpy);
  table[LLMRT_GPU_SLOT_TENSOR_MAP] = reinterpret_cast<void *>(&gpuTensorMap);
  if (const char *profile = std::getenv("LLMRT_CUDA_PROFILE")) {
    executable->timingSteps = true;
    executable->profiling = std::strcmp(profile, "steps") != 0;
  }
  if (const char *wanted = std::getenv("LLMRT_CUDA_GRAPHS");
      wanted && std::strcmp(wanted, "1") == 0) {
    const char *without = nullptr;
    if (!api->hasGraphs())
      without = "the CUDA driver has no graph functions (it needs CUDA 12.3 "
                "or later)";
    else if (executable->profiling)
      without = "LLMRT_CUDA_PROFILE times each launch";
    else if (std::getenv("LLMRT_CUDA_DUMP"))
      without = "LLMRT_CUDA_DUMP reads memory after each launch";
    else if (!program.kernelParamsSized)
      without = "the manifest does not size every kernel's parameters "
                "(recompile with this llmc)";
    if (const char *first = std::getenv("LLMRT_CUDA_GRAPH_SEGMENT"))
      executable->firstSegment = size_t(std::max(0L, std::atol(first)));
    if (without)
      std::fprintf(stderr,
                   "llmrt: LLMRT_CUDA_GRAPHS: %s; running without "
                   "graphs\n",
                   without);
    executable->graphs = !without;
  }
  if (const char *dump = std::getenv("LLMRT_CUDA_DUMP"); dump && *dump) {
    // Each rank of a sharded run in a folder of its own.
    std::string folder = dump;
    if (sharded) {
      folder += "/rank" + std::to_string((*communicator)->rank());
      ::mkdir(folder.c_str(), 0755);
    }
    std::string index = folder + "/index.tsv";
    executable->dumpIndex = std::fopen(index.c_str(), "w");
    if (!executable->dumpIndex)
      return Status::error(index + ": cannot write (LLMRT_CUDA_DUMP names a "
                                   "folder that must exist)");
    executable->dumpDir = folder;
    std::fprintf(executable->dumpIndex,
                 "# llmrt launch dump: compute %s\n"
                 "# launch\tkernel\tgrid\tblock\tbuffer\toffset\tbytes"
                 "\tfile\n",
                 std::string(dtypeName(manifest.computeType)).c_str());
  }
  if (Status status =
          executable->uploadWeights(store, executable->code.params);
      !status.ok())
    return status;
  out = std::move(executable);
  return {};
}

CudaExecutable::~CudaExecutable() {
  if (!api)
    return;
  (void)device->makeCurrent();
  if (stream)
    api->streamSynchronize(stream);
  if (timingSteps)
    printProfile();
  if (dumpIndex)
    std::fclose(dumpIndex);
  // Blocks the host code still holds (a run that failed midway) and the
  // cache.
  for (auto [pointer, bytes] : blockSizes)
    api->memFreeAsync(pointer, stream);
  blockSizes.clear();
  releaseCachedBlocks();
  if (stream)
    api->streamSynchronize(stream);
  for (StepGraph &graph : stepGraphs)
    destroyGraph(graph);
  for (CUevent event : events)
    api->eventDestroy(event);
  for (CUevent event : stepEvents)
    if (event)
      api->eventDestroy(event);
  for (CUdeviceptr pointer : weights)
    api->memFree(pointer);
  for (CUdeviceptr chunk : tensorMapChunks)
    api->memFree(chunk);
  if (module)
    api->moduleUnload(module);
  if (stream)
    api->streamDestroy(stream);
}

Status CudaExecutable::allocateCache(size_t size,
                                     std::shared_ptr<void> &out) {
  if (Status status = device->makeCurrent(); !status.ok())
    return status;
  CUdeviceptr pointer = 0;
  if (Status status = api->check(
          api->memAlloc(&pointer, size ? size : 1),
          "out of device memory for a KV cache of " + std::to_string(size) +
              " bytes");
      !status.ok())
    return status;
  if (Status status = api->check(
          api->memsetD8Async(pointer, 0, size, stream), "cuMemsetD8Async");
      !status.ok())
    return status;
  const CudaDriver *driver = api;
  cacheSizes[pointer] = size ? size : 1;
  out = std::shared_ptr<void>(reinterpret_cast<void *>(pointer),
                              [driver](void *p) {
                                driver->memFree(devicePointer(p));
                              });
  return api->check(api->streamSynchronize(stream), "cuStreamSynchronize");
}

Status CudaExecutable::run(Entry entry, void *cache, int64_t batch,
                           int64_t seq, const int32_t *ids,
                           const int64_t *positions, const int64_t *last,
                           float *logits) {
  if (!error.ok())
    return error;
  if (Status status = device->makeCurrent(); !status.ok())
    return status;
  // The inputs, copied to the device in one buffer.
  size_t idsBytes = size_t(batch * seq) * sizeof(int32_t);
  size_t rowBytes = size_t(batch) * sizeof(int64_t);
  size_t idsSpace = (idsBytes + 255) / 256 * 256;
  std::vector<std::byte> &host = hostInputs;
  host.assign(idsSpace + 2 * rowBytes, std::byte{0});
  std::memcpy(host.data(), ids, idsBytes);
  std::memcpy(host.data() + idsSpace, positions, rowBytes);
  if (last)
    std::memcpy(host.data() + idsSpace + rowBytes, last, rowBytes);
  auto *inputs = static_cast<std::byte *>(allocate(int64_t(host.size())));
  copy(inputs, host.data(), int64_t(host.size()));
  deviceInputs = inputs;
  runningCache = devicePointer(cache);
  if (!cacheSizes.count(runningCache))
    runningCache = 0;

  EntryInputs in = entryInputs(
      manifest, program, cache, batch, seq, reinterpret_cast<int32_t *>(inputs),
      reinterpret_cast<int64_t *>(inputs + idsSpace),
      reinterpret_cast<int64_t *>(inputs + idsSpace + rowBytes));
  MemRef<3> result;
  std::chrono::steady_clock::time_point issued;
  if (timingSteps) {
    issued = std::chrono::steady_clock::now();
    recordStepEvent(0);
  }
  recording = graphs && entry == Entry::Decode;
  segment = 0;
  code.call(entry, program.returnsLogits, in, result);
  flushRecorded();
  recording = false;
  if (timingSteps) {
    recordStepEvent(1);
    steps[int(entry)].hostMilliseconds +=
        std::chrono::duration<double, std::milli>(
            std::chrono::steady_clock::now() - issued)
            .count();
  }
  if (program.returnsLogits && error.ok()) {
    // The logits: a device buffer the code allocated, copied back whole.
    int64_t end = result.offset + 1;
    for (int d = 0; d < 3; ++d)
      end += (result.sizes[d] - 1) * result.strides[d];
    std::vector<std::byte> staging(size_t(end) *
                                   dtypeSize(manifest.computeType));
    copy(staging.data(), result.aligned, int64_t(staging.size()));
    if (error.ok())
      copyLogits(result, staging.data(), manifest.computeType, batch, logits);
    release(result.allocated);
  }
  deviceInputs = nullptr;
  runningCache = 0;
  release(inputs);
  if (error.ok())
    failed(api->streamSynchronize(stream), "running the model");
  if (timingSteps)
    collectProfile(entry);
  return error;
}

} // namespace llmrt
