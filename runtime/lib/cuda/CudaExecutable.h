//===- CudaExecutable.h - Host code and kernels of a GPU artifact -*- C++ -*-=//
//
// The CUDA backend: one program's host library, whose GPU table
// (llmrt/GpuABI.h) the backend fills with its allocator, launcher and copy
// on one stream; its kernels loaded from the artifact's cubin (or its PTX,
// compiled by the driver, when the cubin does not fit the GPU); its
// parameter table pointing at the weights, uploaded to the device once.
//
//===----------------------------------------------------------------------===//

#ifndef LLMRT_LIB_CUDA_CUDAEXECUTABLE_H
#define LLMRT_LIB_CUDA_CUDAEXECUTABLE_H

#include "../Artifact.h"
#include "../Executable.h"
#include "../comm/Communicator.h"
#include "CudaDriver.h"
#include "NcclCommunicator.h"

#include "llmrt/WeightStore.h"

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace llmrt {

class CudaExecutable : public Executable, public StreamWork {
public:
  /// Opens the GPU (LLMRT_CUDA_DEVICE; else, with a `communicator`, the
  /// rank's turn among the node's GPUs; else 0), loads `program`'s library
  /// and kernels and uploads its weights from `store`. A program that
  /// communicates gets NCCL on its stream: `communicator` (MPI, the control
  /// plane) becomes the NCCL communicator that wraps it.
  static Status load(const Manifest &manifest, const ArtifactProgram &program,
                     WeightStore &store,
                     std::unique_ptr<Communicator> *communicator,
                     std::unique_ptr<CudaExecutable> &out);
  ~CudaExecutable() override;

  Status run(Entry entry, void *cache, int64_t batch, int64_t seq,
             const int32_t *ids, const int64_t *positions, const int64_t *last,
             float *logits) override;
  Status allocateCache(size_t bytes, std::shared_ptr<void> &out) override;
  uint64_t weightBytes() const override { return bytes; }

  /// The GPU table's functions (context: the executable).
  void *allocate(int64_t size);
  void release(void *pointer);
  void launch(int32_t kernel, const int64_t grid[3], const int64_t block[3],
              int32_t sharedBytes, void **args);
  void copy(void *destination, const void *source, int64_t size);
  /// Whether `pointer` is in a block the host code allocated or a KV cache.
  bool onDevice(const void *pointer) const;
  void *tensorMap(const void *base, int64_t rows, int64_t columns,
                  int64_t rowBytes, int32_t boxRows, int32_t boxColumns,
                  int32_t swizzleBytes, bool bf16);
  /// A collective's stream work (NCCL): at once, or recorded in its place
  /// among a decode step's launches for its graph.
  void enqueue(std::function<void()> work, std::string key) override;

private:
  CudaExecutable(const Manifest &manifest, const ArtifactProgram &program)
      : manifest(manifest), program(program) {}
  /// Keeps the first failure; later calls of the table do nothing, and
  /// run() returns it.
  bool failed(CUresult result, const std::string &what);
  Status loadModule();
  Status uploadWeights(WeightStore &store, const void **table);
  /// With LLMRT_CUDA_PROFILE set, each run's host code is timed on the host
  /// (issuing its launches) and on the GPU (events before its first launch
  /// and after its last); unless it is "steps", every launch is also
  /// bracketed by two events and the times are added up per entry and
  /// kernel. The tables go to stderr when the executable is destroyed.
  void recordLaunchEvent(int32_t kernel, bool after);
  void recordStepEvent(int which);
  void collectProfile(Entry entry);
  void printProfile() const;
  /// With LLMRT_CUDA_DUMP=DIR, every launch waits for the GPU before and
  /// after, and the bytes it changed in the host code's buffers and the
  /// run's KV cache go to DIR (index.tsv: a line per changed range, its
  /// bytes in a file of their own), so that two runs of one artifact (on
  /// a GPU and under the kernel emulator) can be compared launch by launch
  /// (test/e2e/compare_dumps.py): the first kernel whose results differ.
  /// Buffers are named by the order of their allocation (a3: the host
  /// code's fourth), the same in every run of the same inputs. The ranks
  /// of a sharded run write to DIR/rankN.
  struct DumpRegion {
    CUdeviceptr pointer;
    size_t bytes;
    std::string name;
  };
  std::vector<DumpRegion> dumpRegions() const;
  bool readRegions(const std::vector<DumpRegion> &regions,
                   std::vector<std::vector<std::byte>> &contents);
  void dumpLaunch(int32_t kernel, const int64_t grid[3],
                  const int64_t block[3],
                  const std::vector<DumpRegion> &regions,
                  const std::vector<std::vector<std::byte>> &before);

  /// Issues one launch on the stream (programmatic stream serialization
  /// where the kernels wait for their predecessors themselves).
  CUresult issue(int32_t kernel, const unsigned grid[3],
                 const unsigned block[3], unsigned sharedBytes, void **args);

  /// With LLMRT_CUDA_GRAPHS=1 a decode step runs as one CUDA graph: its
  /// launches are recorded (kernel, grid, block, shared memory, parameter
  /// bytes, as the manifest sizes them) instead of issued, and at the end
  /// of the step, or before anything else the step puts on the stream, or
  /// once there are enough of them to start the GPU on (16, then 32, 64,
  /// ...: the step's segments; LLMRT_CUDA_GRAPH_SEGMENT sets the first),
  /// they run as a graph. A graph of the same
  /// segment, with the same kernels in the same order, is reused: the nodes
  /// whose grid or parameters changed (the attention's key count, a buffer the
  /// host code got elsewhere) are updated, and the graph launched: one driver
  /// call for the step instead of one per kernel. Otherwise the launches are
  /// captured from the stream (which keeps their programmatic dependencies)
  /// into a new graph; the last kMaxStepGraphs stay. Not with
  /// LLMRT_CUDA_PROFILE (per launch) or LLMRT_CUDA_DUMP. A sharded
  /// program's collectives are recorded in their place among the launches
  /// (kernel kStreamWork: the work to run, its key as the parameter
  /// bytes) and captured with them: a graph is reused only where every
  /// collective's key is the same.
  static constexpr int32_t kStreamWork = -1;
  struct RecordedLaunch {
    int32_t kernel = 0;
    /// kStreamWork: its index in the step's work.
    size_t work = 0;
    unsigned grid[3] = {}, block[3] = {}, sharedBytes = 0;
    /// Where its parameters start in the step's bytes (each at a multiple
    /// of 8), and how many bytes they take.
    size_t params = 0, paramSpan = 0;
  };
  struct StepGraph {
    /// Which of the step's graphs: the GPU starts on the first while the
    /// host code records the next (firstSegment launches, then twice as
    /// many each time).
    int segment = 0;
    std::vector<RecordedLaunch> launches;
    std::vector<std::byte> params;
    std::vector<std::function<void()>> work;
    /// A node per launch (null for stream work).
    std::vector<CUgraphNode> nodes;
    CUgraph graph = nullptr;
    CUgraphExec exec = nullptr;
    uint64_t lastUse = 0;
  };
  static constexpr size_t kMaxStepGraphs = 16;
  /// The launches of the first segment (LLMRT_CUDA_GRAPH_SEGMENT, default
  /// 16; 0: the whole step one graph).
  size_t firstSegment = 16;
  void record(int32_t kernel, const unsigned grid[3], const unsigned block[3],
              unsigned sharedBytes, void **args);
  /// Runs the recorded launches (nothing when there are none).
  void flushRecorded();
  /// Captures `graph`'s launches into it and instantiates it.
  Status buildGraph(StepGraph &graph);
  /// Updates the nodes of `graph` whose launch the recorded one changes.
  Status updateGraph(StepGraph &graph);
  /// Where the driver cannot capture the launches or update a node: one
  /// line saying why, the recorded launches issued one by one (the graph's
  /// nodes as recorded) and dropped, and no graphs from then on. A program
  /// that communicates fails instead (the step's error): NCCL asks that a
  /// collective be captured on every rank or on none.
  void stopGraphs(const Status &why);
  /// The launch's parameter pointers into `params`.
  std::vector<void *> parameterPointers(const RecordedLaunch &launch,
                                        std::vector<std::byte> &params) const;
  void destroyGraph(StepGraph &graph);
  /// Drops the step's recorded launches, parameters and stream work.
  void clearRecorded();
  bool graphs = false, recording = false;
  /// The program's collectives go through NCCL (a sharded run).
  bool communicates = false;
  int segment = 0;
  std::vector<RecordedLaunch> recorded;
  std::vector<std::byte> recordedParams;
  std::vector<std::function<void()>> recordedWork;
  std::vector<StepGraph> stepGraphs;
  uint64_t graphUses = 0;
  int64_t graphsBuilt = 0, graphsLaunched = 0, nodesUpdated = 0;

  const Manifest &manifest;
  const ArtifactProgram &program;
  std::unique_ptr<CudaDevice> device;
  const CudaDriver *api = nullptr;
  CUstream stream = nullptr;
  CUmodule module = nullptr;
  std::vector<CUfunction> kernels;
  /// The dynamic shared memory each kernel may take (48 KiB until it opts
  /// in to more).
  std::vector<int32_t> sharedOptIn;
  /// Launches with programmatic stream serialization (the program's
  /// kernels wait for their predecessors themselves).
  bool dependentLaunch = false;
  HostLibrary code;
  std::vector<CUdeviceptr> weights;
  uint64_t bytes = 0;
  Status error;
  /// Device memory the host code freed, by size class, for its next
  /// allocations (a decode step allocates the same sizes as the last one):
  /// no driver call per intermediate buffer. Handed back to the pool when
  /// an allocation fails and at the end. The lowest address of a size
  /// goes first, so that a step that allocates and frees as the one before
  /// it gets the same addresses (its CUDA graph's nodes stay as they are).
  std::map<size_t, std::set<CUdeviceptr>> freeBlocks;
  std::map<CUdeviceptr, size_t> blockSizes;
  /// LLMRT_CUDA_DUMP (dumpLaunch): its folder, index and launch count, the
  /// allocation order of the host code's live buffers, the KV caches'
  /// sizes and the running one's.
  std::string dumpDir;
  std::FILE *dumpIndex = nullptr;
  int64_t launchesDumped = 0, allocations = 0;
  std::map<CUdeviceptr, int64_t> allocationOrder;
  std::map<CUdeviceptr, size_t> cacheSizes;
  CUdeviceptr runningCache = 0;
  void releaseCachedBlocks();
  /// TMA tensor maps by their arguments (the host code asks for a
  /// launch's maps before every launch), each in 128 bytes of device memory
  /// from chunks of kTensorMapsPerChunk, uploaded once on the stream from
  /// its host copy here.
  static constexpr size_t kTensorMapsPerChunk = 512;
  using TensorMapKey = std::tuple<const void *, int64_t, int64_t, int64_t,
                                  int32_t, int32_t, int32_t, bool>;
  std::map<TensorMapKey, CUdeviceptr> tensorMaps;
  std::vector<std::unique_ptr<CUtensorMap>> hostTensorMaps;
  std::vector<CUdeviceptr> tensorMapChunks;
  /// The current run's inputs (token ids, positions, last rows) on the
  /// device and their host copy: kernels never write them, so the host
  /// code's reads of them (a row's position, the causal limit) are served
  /// from the host copy without waiting for the stream.
  const std::byte *deviceInputs = nullptr;
  std::vector<std::byte> hostInputs;

  struct KernelTime {
    double milliseconds = 0;
    int64_t launches = 0;
  };
  struct StepTime {
    int64_t runs = 0;
    double gpuMilliseconds = 0;
    double hostMilliseconds = 0;
  };
  bool timingSteps = false;
  bool profiling = false;
  CUevent stepEvents[2] = {nullptr, nullptr};
  std::map<int, StepTime> steps;
  std::vector<CUevent> events;      // two per launch of the current run
  std::vector<int32_t> launched;    // the kernel of each event pair
  size_t eventsUsed = 0;
  std::map<std::pair<int, int32_t>, KernelTime> profile;
};

} // namespace llmrt

#endif // LLMRT_LIB_CUDA_CUDAEXECUTABLE_H
