//===- CudaDriver.cpp - The CUDA driver API, loaded at run time -----------===//

#include "CudaDriver.h"

#include <dlfcn.h>
#include <mutex>

namespace llmrt {

namespace {
/// The driver's own names (cuda.h maps some calls to versioned symbols).
template <typename Fn>
bool resolve(void *library, const char *name, Fn &out, std::string &missing) {
  out = reinterpret_cast<Fn>(dlsym(library, name));
  if (!out && missing.empty())
    missing = name;
  return out != nullptr;
}
} // namespace

Status CudaDriver::load(const CudaDriver *&out) {
  static CudaDriver driver;
  static Status status;
  static std::once_flag once;
  std::call_once(once, [] {
    driver.library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!driver.library) {
      const char *reason = dlerror();
      status = Status::error(
          std::string("no NVIDIA driver: cannot load libcuda.so.1 (") +
          (reason ? reason : "unknown reason") +
          "); GPU artifacts need a machine with an NVIDIA GPU and its driver");
      return;
    }
    std::string missing;
    void *lib = driver.library;
    resolve(lib, "cuInit", driver.init, missing);
    resolve(lib, "cuDeviceGetCount", driver.deviceGetCount, missing);
    resolve(lib, "cuDeviceGet", driver.deviceGet, missing);
    resolve(lib, "cuDeviceGetName", driver.deviceGetName, missing);
    resolve(lib, "cuDeviceGetAttribute", driver.deviceGetAttribute, missing);
    resolve(lib, "cuDeviceTotalMem_v2", driver.deviceTotalMem, missing);
    resolve(lib, "cuDevicePrimaryCtxRetain", driver.primaryCtxRetain,
            missing);
    resolve(lib, "cuDevicePrimaryCtxRelease_v2", driver.primaryCtxRelease,
            missing);
    resolve(lib, "cuCtxSetCurrent", driver.ctxSetCurrent, missing);
    resolve(lib, "cuModuleLoadDataEx", driver.moduleLoadDataEx, missing);
    resolve(lib, "cuModuleUnload", driver.moduleUnload, missing);
    resolve(lib, "cuModuleGetFunction", driver.moduleGetFunction, missing);
    resolve(lib, "cuLaunchKernel", driver.launchKernel, missing);
    resolve(lib, "cuMemAlloc_v2", driver.memAlloc, missing);
    resolve(lib, "cuMemFree_v2", driver.memFree, missing);
    resolve(lib, "cuMemcpyHtoD_v2", driver.memcpyHtoD, missing);
    resolve(lib, "cuMemcpyDtoH_v2", driver.memcpyDtoH, missing);
    resolve(lib, "cuStreamCreate", driver.streamCreate, missing);
    resolve(lib, "cuStreamDestroy_v2", driver.streamDestroy, missing);
    resolve(lib, "cuStreamSynchronize", driver.streamSynchronize, missing);
    resolve(lib, "cuEventCreate", driver.eventCreate, missing);
    resolve(lib, "cuEventDestroy_v2", driver.eventDestroy, missing);
    resolve(lib, "cuEventRecord", driver.eventRecord, missing);
    resolve(lib, "cuEventSynchronize", driver.eventSynchronize, missing);
    resolve(lib, "cuEventElapsedTime", driver.eventElapsedTime, missing);
    resolve(lib, "cuGetErrorString", driver.getErrorString, missing);
    resolve(lib, "cuMemAllocAsync", driver.memAllocAsync, missing);
    resolve(lib, "cuMemFreeAsync", driver.memFreeAsync, missing);
    resolve(lib, "cuDeviceGetDefaultMemPool", driver.deviceGetDefaultMemPool,
            missing);
    resolve(lib, "cuMemPoolSetAttribute", driver.memPoolSetAttribute,
            missing);
    resolve(lib, "cuMemcpyAsync", driver.memcpyAsync, missing);
    resolve(lib, "cuMemsetD8Async", driver.memsetD8Async, missing);
    resolve(lib, "cuMemcpy2DAsync_v2", driver.memcpy2DAsync, missing);
    resolve(lib, "cuFuncSetAttribute", driver.funcSetAttribute, missing);
    std::string optional;
    resolve(lib, "cuLaunchKernelEx", driver.launchKernelEx, optional);
    resolve(lib, "cuTensorMapEncodeTiled", driver.tensorMapEncodeTiled,
            optional);
    // The graph functions by their versioned names (cuda.h maps the plain
    // ones to these), all or none.
    std::string noGraphs;
    resolve(lib, "cuStreamBeginCapture_v2", driver.streamBeginCapture,
            noGraphs);
    resolve(lib, "cuStreamEndCapture", driver.streamEndCapture, noGraphs);
    resolve(lib, "cuStreamGetCaptureInfo_v3", driver.streamGetCaptureInfo,
            noGraphs);
    resolve(lib, "cuGraphInstantiateWithFlags", driver.graphInstantiate,
            noGraphs);
    resolve(lib, "cuGraphExecKernelNodeSetParams_v2",
            driver.graphExecKernelNodeSetParams, noGraphs);
    resolve(lib, "cuGraphLaunch", driver.graphLaunch, noGraphs);
    resolve(lib, "cuGraphExecDestroy", driver.graphExecDestroy, noGraphs);
    resolve(lib, "cuGraphDestroy", driver.graphDestroy, noGraphs);
    if (!noGraphs.empty())
      driver.graphDestroy = nullptr;
    if (!missing.empty()) {
      status = Status::error("libcuda.so.1 has no " + missing +
                             ": the NVIDIA driver is too old");
      return;
    }
    status = driver.check(driver.init(0), "cuInit");
  });
  out = &driver;
  return status;
}

Status CudaDriver::check(CUresult result, const std::string &what) const {
  if (result == CUDA_SUCCESS)
    return {};
  const char *message = nullptr;
  if (getErrorString)
    getErrorString(result, &message);
  return Status::error("CUDA driver: " + what + ": " +
                       (message ? message : "error " +
                                                std::to_string(int(result))));
}

Status CudaDevice::open(int ordinal, std::unique_ptr<CudaDevice> &out) {
  const CudaDriver *api = nullptr;
  if (Status status = CudaDriver::load(api); !status.ok())
    return status;
  auto device = std::unique_ptr<CudaDevice>(new CudaDevice());
  device->api = api;
  int count = 0;
  if (Status status = api->check(api->deviceGetCount(&count),
                                 "cuDeviceGetCount");
      !status.ok())
    return status;
  if (ordinal < 0 || ordinal >= count)
    return Status::error("CUDA device " + std::to_string(ordinal) +
                         " does not exist (" + std::to_string(count) +
                         " found)");
  char name[256] = {};
  int major = 0, minor = 0;
  for (auto [result, what] :
       {std::pair{api->deviceGet(&device->device, ordinal), "cuDeviceGet"},
        {api->deviceGetName(name, sizeof(name), device->device),
         "cuDeviceGetName"},
        {api->deviceGetAttribute(
             &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
             device->device),
         "cuDeviceGetAttribute"},
        {api->deviceGetAttribute(
             &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
             device->device),
         "cuDeviceGetAttribute"},
        {api->deviceGetAttribute(&device->multiprocessorCount,
                                 CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                                 device->device),
         "cuDeviceGetAttribute"},
        {api->deviceTotalMem(&device->memory, device->device),
         "cuDeviceTotalMem"},
        {api->primaryCtxRetain(&device->context, device->device),
         "cuDevicePrimaryCtxRetain"}})
    if (Status status = api->check(result, what); !status.ok())
      return status;
  if (Status status =
          api->check(api->ctxSetCurrent(device->context), "cuCtxSetCurrent");
      !status.ok())
    return status;
  device->deviceName = name;
  device->capability = 10 * major + minor;
  out = std::move(device);
  return {};
}

Status CudaDevice::makeCurrent() const {
  return api->check(api->ctxSetCurrent(context), "cuCtxSetCurrent");
}

CudaDevice::~CudaDevice() {
  if (context)
    api->primaryCtxRelease(device);
}

Status CudaDevice::loadModule(const std::string &image,
                              CUmodule &module) const {
  // The JIT's log says why PTX did not compile.
  char log[4096] = {};
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, reinterpret_cast<void *>(sizeof(log))};
  CUresult result =
      api->moduleLoadDataEx(&module, image.c_str(), 2, options, values);
  return api->check(result, std::string("cuModuleLoadDataEx") +
                                (log[0] ? ": " : "") + log);
}

Status CudaDevice::loadKernel(const std::string &image, const char *kernel,
                              CUmodule &module, CUfunction &function) const {
  if (Status status = loadModule(image, module); !status.ok())
    return status;
  return api->check(api->moduleGetFunction(&function, module, kernel),
                    std::string("cuModuleGetFunction '") + kernel + "'");
}

} // namespace llmrt
