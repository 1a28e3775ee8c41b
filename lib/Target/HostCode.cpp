//===- HostCode.cpp - LLVM dialect to native host code --------------------===//

#include "llmc/Target/HostCode.h"
#include "llmc/Support/Error.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

#include <mutex>
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace mlir;

namespace llmc {

/// The host's target machine, for PIC shared-library code at O3.
static llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createHostTargetMachine() {
  // Once per process: programs of a sharded artifact compile on threads.
  static std::once_flag initialized;
  std::call_once(initialized, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  std::string triple = llvm::sys::getDefaultTargetTriple();
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return makeError("no LLVM target for " + triple + ": " + error);
  llvm::SubtargetFeatures features;
  for (const auto &[name, enabled] : llvm::sys::getHostCPUFeatures())
    features.AddFeature(name, enabled);
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), features.getString(), {},
      llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return makeError("cannot create a target machine for " + triple);
  return std::move(machine);
}

llvm::Error optimizeFor(llvm::Module &module, llvm::TargetMachine &machine) {
  module.setTargetTriple(machine.getTargetTriple().str());
  module.setDataLayout(machine.createDataLayout());
  auto optimize = makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                            &machine);
  return optimize(&module);
}

static llvm::Expected<std::unique_ptr<llvm::Module>>
translate(ModuleOp module, llvm::LLVMContext &context) {
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "llmc");
  if (!llvmModule)
    return makeError("cannot translate the LLVM dialect module to LLVM IR");
  return std::move(llvmModule);
}

llvm::Expected<std::unique_ptr<llvm::Module>>
translateForHost(ModuleOp module, llvm::LLVMContext &context) {
  auto machine = createHostTargetMachine();
  if (!machine)
    return machine.takeError();
  auto llvmModule = translate(module, context);
  if (!llvmModule)
    return llvmModule.takeError();
  if (llvm::Error error = optimizeFor(**llvmModule, **machine))
    return std::move(error);
  return std::move(*llvmModule);
}

/// ld.lld from PATH, or from LLVM 19's own bin directory.
static llvm::Expected<std::string> findLinker() {
  for (const char *name : {"ld.lld-19", "ld.lld"}) {
    auto path = llvm::sys::findProgramByName(name, {"/usr/lib/llvm-19/bin"});
    if (path)
      return *path;
    path = llvm::sys::findProgramByName(name);
    if (path)
      return *path;
  }
  return makeError("cannot find ld.lld to link host code (install lld-19)");
}

/// Compiles the optimized `module` for `machine` and links it into the
/// shared library `path`.
static llvm::Error linkSharedLibrary(llvm::Module &module,
                                     llvm::TargetMachine &machine,
                                     llvm::StringRef path) {
  llvm::SmallString<256> objectPath(path);
  objectPath += ".o";
  {
    std::error_code error;
    llvm::raw_fd_ostream object(objectPath, error);
    if (error)
      return makeError("cannot write " + objectPath + ": " + error.message());
    llvm::legacy::PassManager passes;
    if (machine.addPassesToEmitFile(passes, object, nullptr,
                                    llvm::CodeGenFileType::ObjectFile))
      return makeError("the host target cannot emit object files");
    passes.run(module);
  }

  auto linker = findLinker();
  if (!linker)
    return linker.takeError();
  // The code calls libc and libm, which every process that loads it already
  // has, LLVM's OpenMP runtime for its parallel loops, and compiler-rt
  // builtins (bfloat16 conversions), linked in; OpenMP only where the code
  // uses it (GPU host code does not, and runs where libomp is missing). No
  // build id, so the output is reproducible.
  llvm::SmallVector<llvm::StringRef> args = {
      *linker,  "-shared", "--build-id=none", "-O2",
      "-o",     path,      objectPath,        LLMC_BUILTINS_LIBRARY,
      "-L" LLMC_OPENMP_LIBRARY_DIR,           "-rpath",
      LLMC_OPENMP_LIBRARY_DIR,                "--as-needed", "-lomp"};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*linker, args, std::nullopt, {}, 0, 0,
                                         &message);
  llvm::sys::fs::remove(objectPath);
  if (status != 0)
    return makeError("linking " + path + " failed" +
                     (message.empty() ? "" : ": " + message));
  return llvm::Error::success();
}

llvm::Error emitHostSharedLibrary(ModuleOp module, llvm::StringRef path) {
  llvm::LLVMContext context;
  auto llvmModule = translate(module, context);
  if (!llvmModule)
    return llvmModule.takeError();
  return emitHostSharedLibrary(**llvmModule, path);
}

llvm::Error emitHostSharedLibrary(llvm::Module &module, llvm::StringRef path) {
  auto machine = createHostTargetMachine();
  if (!machine)
    return machine.takeError();
  if (llvm::Error error = optimizeFor(module, **machine))
    return error;
  return linkSharedLibrary(module, **machine, path);
}

} // namespace llmc
