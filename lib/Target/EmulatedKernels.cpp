//===- EmulatedKernels.cpp - GPU kernels compiled for the CPU -------------===//

#include "llmc/Target/EmulatedKernels.h"
#include "llmc/Support/Error.h"
#include "llmc/Target/HostCode.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"

using namespace mlir;

namespace llmc {

/// libdevice functions with a C library function of the same meaning and
/// type, named without the `__nv_` prefix.
static bool isLibmFunction(llvm::StringRef name) {
  static const llvm::StringSet<> names = {
      "expf",  "exp2f",  "expm1f", "logf",  "log2f", "log1pf", "sqrtf",
      "sinf",  "cosf",   "tanhf",  "erff",  "powf",  "fabsf",  "floorf",
      "ceilf", "roundf", "truncf", "fmaxf", "fminf", "exp",    "log",
      "sqrt",  "sin",    "cos",    "tanh",  "erf",   "pow",    "fabs"};
  return names.contains(name);
}

/// `__nv_rsqrtf(x)` as 1 / sqrtf(x).
static void defineRsqrt(llvm::Function &function) {
  llvm::Module &module = *function.getParent();
  llvm::LLVMContext &context = module.getContext();
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(context, "entry", &function));
  llvm::Type *type = function.getReturnType();
  llvm::FunctionCallee sqrt = module.getOrInsertFunction(
      type->isFloatTy() ? "sqrtf" : "sqrt", type, type);
  llvm::Value *root = b.CreateCall(sqrt, {function.getArg(0)});
  b.CreateRet(b.CreateFDiv(llvm::ConstantFP::get(type, 1.0), root));
  function.setLinkage(llvm::GlobalValue::InternalLinkage);
}

/// Every call of the intrinsic `intrinsic` becomes a call of
/// `llmc_emu_NAME(ptr args, ptr result)`, its arguments stored in a struct
/// of their types, its result loaded from a slot; both slots are allocas at
/// the caller's entry.
static void redirectIntrinsic(llvm::Function &intrinsic) {
  llvm::Module &module = *intrinsic.getParent();
  llvm::LLVMContext &context = module.getContext();
  std::string name = intrinsic.getName().drop_front(strlen("llvm.nvvm.")).str();
  std::replace(name.begin(), name.end(), '.', '_');
  auto *pointer = llvm::PointerType::get(context, 0);
  llvm::FunctionCallee emulated = module.getOrInsertFunction(
      "llmc_emu_" + name, llvm::Type::getVoidTy(context), pointer, pointer);
  llvm::FunctionType *type = intrinsic.getFunctionType();
  auto *argsType = llvm::StructType::get(context, type->params());
  llvm::Type *resultType = type->getReturnType();

  for (llvm::User *user : llvm::make_early_inc_range(intrinsic.users())) {
    auto *call = cast<llvm::CallInst>(user);
    llvm::Function *caller = call->getFunction();
    llvm::IRBuilder<> entry(&*caller->getEntryBlock().getFirstInsertionPt());
    llvm::Value *args = entry.CreateAlloca(argsType);
    llvm::Value *result = llvm::ConstantPointerNull::get(pointer);
    if (!resultType->isVoidTy())
      result = entry.CreateAlloca(resultType);
    llvm::IRBuilder<> b(call);
    for (auto [i, arg] : llvm::enumerate(call->args()))
      b.CreateStore(arg, b.CreateStructGEP(argsType, args, i));
    b.CreateCall(emulated, {args, result});
    if (!resultType->isVoidTy())
      call->replaceAllUsesWith(b.CreateLoad(resultType, result));
    call->eraseFromParent();
  }
  intrinsic.eraseFromParent();
}

/// `void K__llmc_emu(ptr params)`: K(*params[0], *params[1], ...), as
/// cuLaunchKernel passes a kernel's parameters.
static void addEntry(llvm::Function &kernel) {
  llvm::Module &module = *kernel.getParent();
  llvm::LLVMContext &context = module.getContext();
  auto *pointer = llvm::PointerType::get(context, 0);
  auto *entry = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(context), {pointer}, false),
      llvm::GlobalValue::ExternalLinkage,
      kernel.getName() + kEmulatedKernelSuffix, module);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(context, "entry", entry));
  SmallVector<llvm::Value *> args;
  for (llvm::Argument &param : kernel.args()) {
    llvm::Value *slot =
        b.CreateConstGEP1_64(pointer, entry->getArg(0), param.getArgNo());
    args.push_back(b.CreateLoad(param.getType(), b.CreateLoad(pointer, slot)));
  }
  b.CreateCall(&kernel, args);
  b.CreateRetVoid();
}

/// Rewrites the kernels' module for the emulator (EmulatedKernels.h).
static llvm::Error retarget(llvm::Module &module,
                            ArrayRef<std::string> kernels) {
  for (llvm::Function &function : llvm::make_early_inc_range(module)) {
    llvm::StringRef name = function.getName();
    if (name.starts_with("llvm.nvvm.")) {
      redirectIntrinsic(function);
      continue;
    }
    if (!function.isDeclaration() || !name.starts_with("__nv_"))
      continue;
    llvm::StringRef libm = name.drop_front(strlen("__nv_"));
    if (libm == "rsqrtf" || libm == "rsqrt")
      defineRsqrt(function);
    else if (isLibmFunction(libm))
      function.setName(libm);
    else
      return makeError("the kernel emulator has no " + name);
  }
  for (llvm::Function &function : module) {
    for (llvm::Instruction &inst :
         llvm::make_early_inc_range(llvm::instructions(function))) {
      auto *call = dyn_cast<llvm::CallInst>(&inst);
      if (!call || !call->isInlineAsm())
        continue;
      auto *asmCode = cast<llvm::InlineAsm>(call->getCalledOperand());
      if (asmCode->getAsmString() != "griddepcontrol.wait;")
        return makeError("the kernel emulator cannot run the inline PTX '" +
                         asmCode->getAsmString() + "' in " +
                         function.getName());
      call->eraseFromParent();
    }
  }
  for (const std::string &name : kernels) {
    llvm::Function *kernel = module.getFunction(name);
    if (!kernel)
      return makeError("kernel " + name + " is missing from its LLVM IR");
    addEntry(*kernel);
  }
  // Shared memory: one copy, the blocks run one at a time. Visible from
  // outside, so that the optimizer takes a barrier (a call into the
  // emulator, where the other threads of the block run) as a point where it
  // may change.
  for (llvm::GlobalVariable &global : module.globals())
    if (global.getAddressSpace() == 3) {
      global.setLinkage(llvm::GlobalValue::ExternalLinkage);
      global.setInitializer(
          llvm::Constant::getNullValue(global.getValueType()));
    }
  if (llvm::NamedMDNode *annotations =
          module.getNamedMetadata("nvvm.annotations"))
    module.eraseNamedMetadata(annotations);
  return llvm::Error::success();
}

llvm::Error emitEmulatedKernels(ModuleOp module, llvm::StringRef path) {
  SmallVector<gpu::GPUModuleOp> kernelModules(
      module.getOps<gpu::GPUModuleOp>());
  if (kernelModules.size() != 1)
    return makeError("--emit=emulated-kernels: expected one kernel module, "
                     "found " +
                     llvm::Twine(kernelModules.size()));
  std::vector<std::string> kernels;
  for (auto function : kernelModules[0].getOps<LLVM::LLVMFuncOp>())
    if (function->hasAttr("nvvm.kernel"))
      kernels.push_back(function.getName().str());
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(kernelModules[0], context, "llmc-kernels");
  if (!llvmModule)
    return makeError("cannot translate the kernel module to LLVM IR");
  if (llvm::Error error = retarget(*llvmModule, kernels))
    return error;
  return emitHostSharedLibrary(*llvmModule, path);
}

} // namespace llmc
