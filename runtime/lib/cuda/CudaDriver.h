//===- CudaDriver.h - The CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// The GPU backend talks to the driver directly (no CUDA runtime library):
// libcuda.so.1 is opened with dlopen when a GPU artifact is loaded, so the
// runtime builds and runs on machines without a driver, where it fails with
// one line instead of at program start.
//
//===----------------------------------------------------------------------===//

#ifndef LLMRT_LIB_CUDA_CUDADRIVER_H
#define LLMRT_LIB_CUDA_CUDADRIVER_H

#include "llmrt/Status.h"

#include <cuda.h>

#include <memory>
#include <string>

namespace llmrt {

/// The driver entry points the backend uses, resolved from libcuda.so.1.
struct CudaDriver {
  CUresult (*init)(unsigned int);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*deviceGetAttribute)(int *, CUdevice_attribute, CUdevice);
  CUresult (*deviceTotalMem)(size_t *, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*primaryCtxRelease)(CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*moduleLoadDataEx)(CUmodule *, const void *, unsigned int,
                               CUjit_option *, void **);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, unsigned, CUstream,
                           void **, void **);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*memcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*streamCreate)(CUstream *, unsigned int);
  CUresult (*streamDestroy)(CUstream);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*eventCreate)(CUevent *, unsigned int);
  CUresult (*eventDestroy)(CUevent);
  CUresult (*eventRecord)(CUevent, CUstream);
  CUresult (*eventSynchronize)(CUevent);
  CUresult (*eventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*getErrorString)(CUresult, const char **);
  // Stream-ordered memory (the device's default pool) and copies.
  CUresult (*memAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*memFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*deviceGetDefaultMemPool)(CUmemoryPool *, CUdevice);
  CUresult (*memPoolSetAttribute)(CUmemoryPool, CUmemPool_attribute, void *);
  CUresult (*memcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*memsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
  CUresult (*memcpy2DAsync)(const CUDA_MEMCPY2D *, CUstream);
  /// A kernel's attributes (the dynamic shared memory it may take).
  CUresult (*funcSetAttribute)(CUfunction, CUfunction_attribute, int);
  /// Optional (null when the driver lacks it): launches with attributes,
  /// for programmatic dependent launch.
  CUresult (*launchKernelEx)(const CUlaunchConfig *, CUfunction, void **,
                             void **);
  /// Optional (CUDA 12 and later): TMA tensor maps, for sm_90 kernels that
  /// copy tiles with cp.async.bulk.tensor.
  CUresult (*tensorMapEncodeTiled)(CUtensorMap *, CUtensorMapDataType,
                                   cuuint32_t, void *, const cuuint64_t *,
                                   const cuuint64_t *, const cuuint32_t *,
                                   const cuuint32_t *, CUtensorMapInterleave,
                                   CUtensorMapSwizzle, CUtensorMapL2promotion,
                                   CUtensorMapFloatOOBfill);
  /// Optional (CUDA 12.3 and later; all or none): CUDA graphs, built by
  /// capturing a stream and updated node by node.
  CUresult (*streamBeginCapture)(CUstream, CUstreamCaptureMode);
  CUresult (*streamEndCapture)(CUstream, CUgraph *);
  CUresult (*streamGetCaptureInfo)(CUstream, CUstreamCaptureStatus *,
                                   cuuint64_t *, CUgraph *,
                                   const CUgraphNode **,
                                   const CUgraphEdgeData **, size_t *);
  CUresult (*graphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*graphExecKernelNodeSetParams)(CUgraphExec, CUgraphNode,
                                           const CUDA_KERNEL_NODE_PARAMS *);
  CUresult (*graphLaunch)(CUgraphExec, CUstream);
  CUresult (*graphExecDestroy)(CUgraphExec);
  CUresult (*graphDestroy)(CUgraph);
  bool hasGraphs() const { return graphDestroy != nullptr; }

  /// Opens libcuda.so.1 once per process and initializes the driver; the
  /// error says whether the driver is missing or failed to start.
  static Status load(const CudaDriver *&out);

  /// "<what>: <the driver's message>" for a failed call, or success.
  Status check(CUresult result, const std::string &what) const;

private:
  void *library = nullptr;
};

/// One GPU: its primary context, made current on the calling thread.
class CudaDevice {
public:
  static Status open(int ordinal, std::unique_ptr<CudaDevice> &out);
  ~CudaDevice();

  const CudaDriver &driver() const { return *api; }
  const std::string &name() const { return deviceName; }
  /// sm_XY as XY.
  int computeCapability() const { return capability; }
  size_t totalMemory() const { return memory; }
  int multiprocessors() const { return multiprocessorCount; }
  CUdevice handle() const { return device; }
  /// Makes the device's context current on the calling thread.
  Status makeCurrent() const;

  /// Loads a module image: a cubin, or PTX the driver compiles (the error
  /// then carries the compiler's log).
  Status loadModule(const std::string &image, CUmodule &module) const;

  /// Loads a module image and finds `kernel` in it.
  Status loadKernel(const std::string &image, const char *kernel,
                    CUmodule &module, CUfunction &function) const;

private:
  const CudaDriver *api = nullptr;
  CUdevice device = 0;
  CUcontext context = nullptr;
  std::string deviceName;
  int capability = 0, multiprocessorCount = 0;
  size_t memory = 0;
};

} // namespace llmrt

#endif // LLMRT_LIB_CUDA_CUDADRIVER_H
