//===- GpuCode.cpp - The kernels of a GPU program -------------------------===//

#include "llmc/Target/GpuCode.h"
#include "llmc/Support/Error.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"

using namespace mlir;

namespace llmc {

llvm::Expected<GpuCode> takeGpuCode(ModuleOp module) {
  GpuCode code;
  SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
  if (binaries.size() != 1)
    return makeError("expected one kernel module after the GPU pipeline, "
                     "found " + llvm::Twine(binaries.size()));
  gpu::BinaryOp binary = binaries.front();
  if (binary.getObjects().size() != 1)
    return makeError("expected one object in the kernel module");
  auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
  code.ptx = object.getObject().getValue().str();
  while (!code.ptx.empty() && code.ptx.back() == '\0')
    code.ptx.pop_back();
  binary.erase();
  if (auto names = module->getAttrOfType<ArrayAttr>("llmc.gpu_kernels"))
    for (Attribute name : names)
      code.kernels.push_back(cast<StringAttr>(name).str());
  module->removeAttr("llmc.gpu_kernels");
  code.dynamicSharedBytes.assign(code.kernels.size(), 0);
  if (auto sizes = module->getAttrOfType<ArrayAttr>("llmc.gpu_dynamic_shared"))
    for (auto [i, size] : llvm::enumerate(sizes))
      if (i < code.dynamicSharedBytes.size())
        code.dynamicSharedBytes[i] = cast<IntegerAttr>(size).getInt();
  module->removeAttr("llmc.gpu_dynamic_shared");
  code.parameterBytes.resize(code.kernels.size());
  if (auto params = module->getAttrOfType<ArrayAttr>("llmc.gpu_kernel_params"))
    for (auto [i, bytes] : llvm::enumerate(params))
      if (i < code.parameterBytes.size())
        for (int32_t size : cast<DenseI32ArrayAttr>(bytes).asArrayRef())
          code.parameterBytes[i].push_back(size);
  module->removeAttr("llmc.gpu_kernel_params");
  code.dependentLaunch = module->hasAttr("llmc.gpu_dependent_launch");
  module->removeAttr("llmc.gpu_dependent_launch");
  module->removeAttr("gpu.container_module");
  return code;
}

std::optional<std::string> findPtxas(llvm::StringRef cudaPath) {
  if (!cudaPath.empty())
    if (auto path =
            llvm::sys::findProgramByName("ptxas", {(cudaPath + "/bin").str()}))
      return *path;
  if (auto path = llvm::sys::findProgramByName("ptxas"))
    return *path;
  return std::nullopt;
}

std::vector<KernelResources> parsePtxasReport(llvm::StringRef report) {
  std::vector<KernelResources> kernels;
  llvm::Regex entry("Compiling entry function '([A-Za-z0-9_$.]+)'");
  llvm::Regex frame("([0-9]+) bytes stack frame, ([0-9]+) bytes spill "
                    "stores, ([0-9]+) bytes spill loads");
  llvm::Regex used("Used ([0-9]+) registers");
  llvm::Regex shared("([0-9]+) bytes smem");
  llvm::SmallVector<llvm::StringRef> lines;
  report.split(lines, '\n');
  for (llvm::StringRef line : lines) {
    llvm::SmallVector<llvm::StringRef> m;
    if (entry.match(line, &m)) {
      kernels.push_back({m[1].str()});
      continue;
    }
    if (kernels.empty())
      continue;
    KernelResources &k = kernels.back();
    if (frame.match(line, &m)) {
      int64_t stores = 0, loads = 0;
      m[1].getAsInteger(10, k.stackBytes);
      m[2].getAsInteger(10, stores);
      m[3].getAsInteger(10, loads);
      k.spillBytes = stores + loads;
    }
    if (used.match(line, &m))
      m[1].getAsInteger(10, k.registers);
    if (shared.match(line, &m))
      m[1].getAsInteger(10, k.sharedBytes);
  }
  return kernels;
}

llvm::Expected<std::vector<KernelResources>>
assemblePtx(llvm::StringRef ptxas, llvm::StringRef ptxPath,
            llvm::StringRef cubinPath, llvm::StringRef chip) {
  llvm::SmallString<128> report;
  if (std::error_code error =
          llvm::sys::fs::createTemporaryFile("llmc-ptxas", "txt", report))
    return makeError("cannot create a temporary file: " + error.message());
  std::string arch = ("-arch=" + chip).str();
  llvm::SmallVector<llvm::StringRef> args = {ptxas, arch, "-v", "-o",
                                             cubinPath, ptxPath};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, report.str(),
                                                report.str()};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects,
                                         0, 0, &message);
  auto text = llvm::MemoryBuffer::getFile(report);
  llvm::sys::fs::remove(report);
  std::string output = text ? (*text)->getBuffer().str() : "";
  if (status != 0) {
    llvm::StringRef first = llvm::StringRef(output).split('\n').first;
    return makeError("ptxas failed on " + ptxPath + ": " +
                     (first.empty() ? llvm::StringRef(message) : first));
  }
  return parsePtxasReport(output);
}

llvm::json::Object
describeGpuCode(const GpuCode &code, llvm::StringRef ptx, llvm::StringRef cubin,
                const std::vector<KernelResources> &resources) {
  llvm::StringMap<const KernelResources *> byName;
  for (const KernelResources &k : resources)
    byName[k.name] = &k;
  llvm::json::Array kernels;
  for (auto [i, name] : llvm::enumerate(code.kernels)) {
    llvm::json::Object kernel{{"name", name}};
    // Launched with more than the 48 KiB it may declare: its total.
    if (int64_t dynamic = code.dynamicSharedBytes[i])
      kernel["dynamic_shared_bytes"] = dynamic;
    if (i < code.parameterBytes.size())
      kernel["param_bytes"] = llvm::json::Array(code.parameterBytes[i]);
    if (const KernelResources *k = byName.lookup(name)) {
      kernel["registers"] = k->registers;
      kernel["spill_bytes"] = k->spillBytes;
      kernel["stack_bytes"] = k->stackBytes;
      kernel["shared_bytes"] = k->sharedBytes;
    }
    kernels.push_back(std::move(kernel));
  }
  return llvm::json::Object{
      {"ptx", ptx.str()},
      {"cubin", cubin.empty() ? llvm::json::Value(nullptr)
                              : llvm::json::Value(cubin.str())},
      {"kernels", std::move(kernels)},
      {"dependent_launch", code.dependentLaunch}};
}

} // namespace llmc
