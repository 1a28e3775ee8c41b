//===- EmulatedKernels.cpp - GPU kernels compiled for the CPU -------------===//

#include "llmc/Target/EmulatedKernels.h"
#include "llmc/Support/Error.h"
#include "llmc/Target/HostCode.h"
#include "llmc/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Analysis/ValueTracking.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/ReplaceConstant.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/Utils/BasicBlockUtils.h"
#include "llvm/Transforms/Vectorize/LoadStoreVectorizer.h"

#include <mutex>

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

/// Replaces `call` by a call of the emulator's `void name(ptr args, ptr
/// result, extra...)`: its arguments stored in a struct of their types, its
/// result (if any; else a null pointer) loaded from a slot, both slots
/// allocas at the caller's entry.
static void callEmulator(llvm::CallInst &call, llvm::StringRef name,
                         ArrayRef<llvm::Value *> extra = {}) {
  llvm::LLVMContext &context = call.getContext();
  auto *pointer = llvm::PointerType::get(context, 0);
  SmallVector<llvm::Type *> params = {pointer, pointer};
  for (llvm::Value *value : extra)
    params.push_back(value->getType());
  llvm::FunctionCallee emulated = call.getModule()->getOrInsertFunction(
      name, llvm::FunctionType::get(llvm::Type::getVoidTy(context), params,
                                    /*isVarArg=*/false));
  SmallVector<llvm::Type *> types;
  for (llvm::Value *arg : call.args())
    types.push_back(arg->getType());
  auto *argsType = llvm::StructType::get(context, types);
  llvm::Type *resultType = call.getType();
  llvm::IRBuilder<> entry(
      &*call.getFunction()->getEntryBlock().getFirstInsertionPt());
  llvm::Value *args = entry.CreateAlloca(argsType);
  llvm::Value *result = llvm::ConstantPointerNull::get(pointer);
  if (!resultType->isVoidTy())
    result = entry.CreateAlloca(resultType);
  llvm::IRBuilder<> b(&call);
  for (auto [i, arg] : llvm::enumerate(call.args()))
    b.CreateStore(arg, b.CreateStructGEP(argsType, args, i));
  SmallVector<llvm::Value *> operands = {args, result};
  operands.append(extra.begin(), extra.end());
  b.CreateCall(emulated, operands);
  if (!resultType->isVoidTy())
    call.replaceAllUsesWith(b.CreateLoad(resultType, result));
  call.eraseFromParent();
}

/// Every call of the intrinsic `intrinsic` becomes a call of
/// `llmc_emu_NAME(ptr args, ptr result)` (callEmulator).
static void redirectIntrinsic(llvm::Function &intrinsic) {
  std::string name = "llmc_emu_" +
                     intrinsic.getName().drop_front(strlen("llvm.nvvm.")).str();
  std::replace(name.begin(), name.end(), '.', '_');
  for (llvm::User *user : llvm::make_early_inc_range(intrinsic.users()))
    callEmulator(*cast<llvm::CallInst>(user), name);
  intrinsic.eraseFromParent();
}

/// `ptx` without its white space (MLIR's NVVM lays some out on lines).
static std::string withoutSpaces(llvm::StringRef ptx) {
  std::string text;
  for (char c : ptx)
    if (!llvm::isSpace(c))
      text.push_back(c);
  return text;
}

/// Inline PTX that the emulator runs as nothing: a kernel's wait for its
/// predecessor and its signal to its successor (kernels run one after the
/// other), L2 prefetches (the emulator has no caches), wgmma.fence (its
/// registers are SSA values here), mbarriers' initialization before their use
/// and tensor maps copied from the host before TMA reads them (the
/// emulator's memory is one, and it orders wgmma's reads by its groups).
static bool isEmulatedAsNothing(llvm::StringRef ptx) {
  static const llvm::StringSet<> nothing = {
      "griddepcontrol.wait;",
      "griddepcontrol.launch_dependents;",
      "prefetch.global.L2 [$0];",
      "wgmma.fence.sync.aligned;",
      "fence.mbarrier_init.release.cluster;",
      "fence.proxy.tensormap::generic.acquire.sys [$0], 128;"};
  return nothing.contains(ptx);
}

/// Inline PTX of a fixed form (white space aside) that an emulator
/// function runs, as `llmc_emu_NAME(args, result)` (callEmulator): wgmma's
/// groups (`wgmma.commit_group`, `wgmma.wait_group N`, N the call's
/// argument), the proxy fence before wgmma reads what the generic proxy
/// wrote (reportGenericStores), a cp.async with a source size (MLIR's NVVM
/// writes it as inline PTX: the copy's bytes and how many of them it reads,
/// zeros after them), an mbarrier's expected bytes and arrival, the loop that
/// waits for an mbarrier's phase, and TMA's two-dimensional tile copy. False
/// for other PTX.
static bool redirectFixedPtx(llvm::CallInst &call, llvm::StringRef ptx) {
  static const struct {
    llvm::StringRef ptx;
    unsigned args;
    llvm::StringRef emulated;
  } forms[] = {
      {"wgmma.commit_group.sync.aligned;", 0, "llmc_emu_wgmma_commit_group"},
      {"fence.proxy.async.shared::cta;", 0, "llmc_emu_fence_proxy_async"},
      {"wgmma.wait_group.sync.aligned $0;", 1, "llmc_emu_wgmma_wait_group"},
      {"cp.async.cg.shared.global [$0], [$1], $2, $3;", 4,
       "llmc_emu_cp_async_cg_shared_global_zfill"},
      {"mbarrier.arrive.expect_tx.shared.b64 _, [$0], $1;", 2,
       "llmc_emu_mbarrier_arrive_expect_tx_shared"},
      {"{ .reg .pred P1; LAB_WAIT: "
       "mbarrier.try_wait.parity.shared.b64 P1, [$0], $1, $2; "
       "@P1 bra.uni DONE; bra.uni LAB_WAIT; DONE: }",
       3, "llmc_emu_mbarrier_try_wait_parity_shared"},
      {"cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::"
       "bytes [$0], [$1, {$2,$3} ], [$4];",
       5, "llmc_emu_cp_async_bulk_tensor_2d"},
  };
  std::string text = withoutSpaces(ptx);
  for (const auto &form : forms)
    if (text == withoutSpaces(form.ptx) && call.arg_size() == form.args) {
      callEmulator(call, form.emulated);
      return true;
    }
  return false;
}

/// `wgmma.mma_async.sync.aligned.m64nNk16.f32.T.T`, T f16 or bf16, with A
/// in shared memory (as MLIR's NVVM writes it: N / 2 accumulators, the two
/// descriptors, scale-d and the four immediates) or in four registers
/// (wgmmaMultiplyRegisters: the accumulators, A's registers, B's
/// descriptor, scale-d and three immediates) becomes
/// `llmc_emu_wgmma_m64k16_f32_f16` or `llmc_emu_wgmma_rs_m64k16_f32_f16`
/// `(ptr args, ptr result, i32 N, i32 bf16)` (callEmulator). False when
/// `call` is neither form.
static bool redirectWgmma(llvm::CallInst &call, llvm::StringRef ptx) {
  static const llvm::Regex form("wgmma\\.mma_async\\.sync\\.aligned\\.m64n([0-9]+)"
                                "k16\\.f32\\.(b?f16)\\.(b?f16) ");
  llvm::SmallVector<llvm::StringRef> match;
  unsigned n = 0;
  if (!form.match(ptx, &match) || match[1].getAsInteger(10, n) ||
      match[2] != match[3])
    return false;
  bool registers = llvm::StringRef(withoutSpaces(ptx)).contains("},{$");
  if (call.arg_size() != n / 2 + (registers ? 9 : 7))
    return false;
  auto *i32 = llvm::Type::getInt32Ty(call.getContext());
  callEmulator(call,
               registers ? "llmc_emu_wgmma_rs_m64k16_f32_f16"
                         : "llmc_emu_wgmma_m64k16_f32_f16",
               {llvm::ConstantInt::get(i32, n),
                llvm::ConstantInt::get(i32, match[2] == "bf16")});
  return true;
}

/// Shared memory's addresses as integers (wgmma's descriptors) go through
/// `i64 llmc_emu_shared_address(ptr)`, which returns the address and tells
/// the emulator that the kernel's shared memory lies there: a descriptor
/// holds only the low 18 bits of an address, which the GPU's shared window
/// holds whole.
static void redirectSharedAddresses(llvm::Module &module) {
  SmallVector<llvm::Constant *> shared;
  for (llvm::GlobalVariable &global : module.globals())
    if (global.getAddressSpace() == 3)
      shared.push_back(&global);
  llvm::convertUsersOfConstantsToInstructions(shared);
  llvm::LLVMContext &context = module.getContext();
  auto *pointer = llvm::PointerType::get(context, 0);
  llvm::FunctionCallee address = module.getOrInsertFunction(
      "llmc_emu_shared_address", llvm::Type::getInt64Ty(context), pointer);
  for (llvm::Function &function : module)
    for (llvm::Instruction &inst :
         llvm::make_early_inc_range(llvm::instructions(function))) {
      auto *cast = dyn_cast<llvm::PtrToIntInst>(&inst);
      if (!cast || cast->getPointerAddressSpace() != 3)
        continue;
      llvm::IRBuilder<> b(cast);
      llvm::Value *value = b.CreateCall(
          address, {b.CreateAddrSpaceCast(cast->getPointerOperand(), pointer)});
      cast->replaceAllUsesWith(b.CreateZExtOrTrunc(value, cast->getType()));
      cast->eraseFromParent();
    }
}

/// In a function that runs wgmma, each store to shared memory first calls
/// `llmc_emu_generic_store(ptr, i32 bytes)`, and the function's entry
/// `llmc_emu_checks_proxies()`, so that the emulator can tell a wgmma
/// (the async proxy) reading shared memory that a thread wrote (stores,
/// cp.async: the generic proxy) without a fence.proxy.async after the
/// write: on a GPU it may read what was there before.
static void reportGenericStores(llvm::Module &module) {
  llvm::LLVMContext &context = module.getContext();
  auto *pointer = llvm::PointerType::get(context, 0);
  auto *i32 = llvm::Type::getInt32Ty(context);
  auto *voidType = llvm::Type::getVoidTy(context);
  llvm::FunctionCallee report = module.getOrInsertFunction(
      "llmc_emu_generic_store", voidType, pointer, i32);
  llvm::FunctionCallee checked =
      module.getOrInsertFunction("llmc_emu_checks_proxies", voidType);
  const llvm::DataLayout &layout = module.getDataLayout();
  for (llvm::Function &function : module) {
    bool runsWgmma =
        llvm::any_of(llvm::instructions(function), [](llvm::Instruction &inst) {
          auto *call = dyn_cast<llvm::CallInst>(&inst);
          return call && call->isInlineAsm() &&
                 llvm::StringRef(cast<llvm::InlineAsm>(call->getCalledOperand())
                                     ->getAsmString())
                     .contains("wgmma.mma_async");
        });
    if (!runsWgmma)
      continue;
    SmallVector<llvm::StoreInst *> stores;
    for (llvm::Instruction &inst : llvm::instructions(function))
      if (auto *store = dyn_cast<llvm::StoreInst>(&inst);
          store && store->getPointerAddressSpace() == 3)
        stores.push_back(store);
    for (llvm::StoreInst *store : stores) {
      llvm::IRBuilder<> b(store);
      b.CreateCall(report,
                   {b.CreateAddrSpaceCast(store->getPointerOperand(), pointer),
                    b.getInt32(uint32_t(layout.getTypeStoreSize(
                        store->getValueOperand()->getType())))});
    }
    llvm::IRBuilder<> entry(&*function.getEntryBlock().getFirstInsertionPt());
    entry.CreateCall(checked);
  }
}

/// Puts a block before `inst` that runs only while the i32 global `flag`
/// is not zero; returns its terminator, where code for it goes.
static llvm::Instruction *whileSet(llvm::GlobalVariable *flag,
                                   llvm::Instruction *inst) {
  llvm::IRBuilder<> b(inst);
  return llvm::SplitBlockAndInsertIfThen(
      b.CreateICmpNE(b.CreateLoad(flag->getValueType(), flag), b.getInt32(0)),
      inst, /*Unreachable=*/false);
}

/// Every load and store of shared memory first calls
/// `llmc_emu_shared_access(ptr, i32 bytes, i32 site, i32 store)` where the
/// emulator's `llmc_emu_counting` is set, `site` numbering the module's
/// loads and stores, so that the emulator can gather a warp's lanes'
/// accesses and count their bank conflicts (FAKE_CUDA_BANKS).
static void reportSharedAccesses(llvm::Module &module) {
  llvm::LLVMContext &context = module.getContext();
  auto *pointer = llvm::PointerType::get(context, 0);
  auto *i32 = llvm::Type::getInt32Ty(context);
  llvm::FunctionCallee report =
      module.getOrInsertFunction("llmc_emu_shared_access",
                                 llvm::Type::getVoidTy(context), pointer, i32,
                                 i32, i32);
  auto *counting = new llvm::GlobalVariable(
      module, i32, /*isConstant=*/false, llvm::GlobalValue::ExternalLinkage,
      nullptr, "llmc_emu_counting");
  const llvm::DataLayout &layout = module.getDataLayout();
  SmallVector<llvm::Instruction *> accesses;
  for (llvm::Function &function : module)
    for (llvm::Instruction &inst : llvm::instructions(function))
      if (llvm::Value *address = llvm::getLoadStorePointerOperand(&inst);
          address && address->getType()->getPointerAddressSpace() == 3)
        accesses.push_back(&inst);
  for (auto [site, inst] : llvm::enumerate(accesses)) {
    llvm::Value *address = llvm::getLoadStorePointerOperand(inst);
    llvm::Type *type = llvm::getLoadStoreType(inst);
    llvm::IRBuilder<> b(whileSet(counting, inst));
    b.CreateCall(report, {b.CreateAddrSpaceCast(address, pointer),
                          b.getInt32(uint32_t(layout.getTypeStoreSize(type))),
                          b.getInt32(uint32_t(site)),
                          b.getInt32(isa<llvm::StoreInst>(inst) ? 1 : 0)});
  }
}

/// Every load, store and atomic of memory other than shared memory and the
/// thread's own stack (device memory) first calls
/// `llmc_emu_global_access(ptr, i32 bytes, i32 kind)` where the emulator's
/// `llmc_emu_counting_global` is set (kind 0 a load, 1 a store, 2 both),
/// so that it can count the bytes a launch moves (FAKE_CUDA_TRAFFIC).
static void reportGlobalAccesses(llvm::Module &module) {
  llvm::LLVMContext &context = module.getContext();
  auto *pointer = llvm::PointerType::get(context, 0);
  auto *i32 = llvm::Type::getInt32Ty(context);
  llvm::FunctionCallee report = module.getOrInsertFunction(
      "llmc_emu_global_access", llvm::Type::getVoidTy(context), pointer, i32,
      i32);
  auto *counting = new llvm::GlobalVariable(
      module, i32, /*isConstant=*/false, llvm::GlobalValue::ExternalLinkage,
      nullptr, "llmc_emu_counting_global");
  const llvm::DataLayout &layout = module.getDataLayout();
  struct Access {
    llvm::Instruction *inst;
    llvm::Value *address;
    llvm::Type *type;
    int kind;
  };
  SmallVector<Access> accesses;
  for (llvm::Function &function : module)
    for (llvm::Instruction &inst : llvm::instructions(function)) {
      Access access{&inst, nullptr, nullptr, 0};
      if (auto *load = dyn_cast<llvm::LoadInst>(&inst))
        access = {&inst, load->getPointerOperand(), load->getType(), 0};
      else if (auto *store = dyn_cast<llvm::StoreInst>(&inst))
        access = {&inst, store->getPointerOperand(),
                  store->getValueOperand()->getType(), 1};
      else if (auto *rmw = dyn_cast<llvm::AtomicRMWInst>(&inst))
        access = {&inst, rmw->getPointerOperand(), rmw->getType(), 2};
      else if (auto *exchange = dyn_cast<llvm::AtomicCmpXchgInst>(&inst))
        access = {&inst, exchange->getPointerOperand(),
                  exchange->getNewValOperand()->getType(), 2};
      if (!access.address ||
          access.address->getType()->getPointerAddressSpace() == 3 ||
          isa<llvm::AllocaInst>(llvm::getUnderlyingObject(access.address, 0)))
        continue;
      accesses.push_back(access);
    }
  for (const Access &access : accesses) {
    llvm::IRBuilder<> b(whileSet(counting, access.inst));
    b.CreateCall(report,
                 {b.CreateAddrSpaceCast(access.address, pointer),
                  b.getInt32(uint32_t(layout.getTypeStoreSize(access.type))),
                  b.getInt32(access.kind)});
  }
}

/// `void K__llmc_emu(ptr params)`: K(*params[0], *params[1], ...), as
/// cuLaunchKernel passes a kernel's parameters; `K__llmc_emu_params`: their
/// count and sizes.
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

  SmallVector<uint32_t> sizes = {uint32_t(kernel.arg_size())};
  for (llvm::Argument &param : kernel.args())
    sizes.push_back(
        uint32_t(module.getDataLayout().getTypeStoreSize(param.getType())));
  llvm::Constant *table = llvm::ConstantDataArray::get(context, sizes);
  new llvm::GlobalVariable(module, table->getType(), /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage, table,
                           kernel.getName() + kEmulatedParamsSuffix);
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
  reportGenericStores(module);
  for (llvm::Function &function : module) {
    for (llvm::Instruction &inst :
         llvm::make_early_inc_range(llvm::instructions(function))) {
      auto *call = dyn_cast<llvm::CallInst>(&inst);
      if (!call || !call->isInlineAsm())
        continue;
      llvm::StringRef ptx =
          cast<llvm::InlineAsm>(call->getCalledOperand())->getAsmString();
      if (isEmulatedAsNothing(ptx)) {
        call->eraseFromParent();
        continue;
      }
      if (!redirectFixedPtx(*call, ptx) && !redirectWgmma(*call, ptx))
        return makeError("the kernel emulator cannot run the inline PTX '" +
                         ptx + "' in " + function.getName());
    }
  }
  redirectSharedAddresses(module);
  reportGlobalAccesses(module);
  reportSharedAccesses(module);
  for (const std::string &name : kernels) {
    llvm::Function *kernel = module.getFunction(name);
    if (!kernel)
      return makeError("kernel " + name + " is missing from its LLVM IR");
    addEntry(*kernel);
  }
  // Shared memory: one copy, the blocks run one at a time. Visible from
  // outside, so that the optimizer takes a barrier (a call into the
  // emulator, where the other threads of the block run) as a point where it
  // may change. Dynamic shared memory (an array of no elements) gets the
  // most a GPU gives a block (sm_90's).
  for (llvm::GlobalVariable &global :
       llvm::make_early_inc_range(module.globals())) {
    if (global.getAddressSpace() != 3)
      continue;
    auto *array = dyn_cast<llvm::ArrayType>(global.getValueType());
    if (array && array->getNumElements() == 0) {
      auto *type = llvm::ArrayType::get(array->getElementType(),
                                        llmc::maxSharedBytes("sm_90"));
      auto *sized = new llvm::GlobalVariable(
          module, type, false, llvm::GlobalValue::ExternalLinkage,
          llvm::Constant::getNullValue(type), "", nullptr,
          llvm::GlobalValue::NotThreadLocal, 3);
      sized->setAlignment(global.getAlign().valueOrOne());
      sized->takeName(&global);
      global.replaceAllUsesWith(sized);
      global.eraseFromParent();
      continue;
    }
    global.setLinkage(llvm::GlobalValue::ExternalLinkage);
    global.setInitializer(llvm::Constant::getNullValue(global.getValueType()));
  }
  if (llvm::NamedMDNode *annotations =
          module.getNamedMetadata("nvvm.annotations"))
    module.eraseNamedMetadata(annotations);
  return llvm::Error::success();
}

/// Optimizes the kernels as the PTX path does before instruction
/// selection: O3 for NVPTX (`chip`), then NVPTX's load/store vectorizer,
/// so that the emulated kernels access memory much as the PTX does (a
/// thread's 8 halves one 16-byte load, where they were 8 loads of 2 bytes;
/// instruction selection merges some stores further, which the emulated
/// code does not: FAKE_CUDA_BANKS counts plain accesses as it makes them).
static llvm::Error optimizeAsNvptx(llvm::Module &module, llvm::StringRef chip) {
  static std::once_flag initialized;
  std::call_once(initialized, [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
  });
  const char *triple = "nvptx64-nvidia-cuda";
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return makeError("no LLVM target for " + llvm::Twine(triple) + ": " +
                     error);
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, chip, "", {}, std::nullopt, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return makeError("cannot create a target machine for " + chip);
  if (llvm::Error error = optimizeFor(module, *machine))
    return error;
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager cgscc;
  llvm::ModuleAnalysisManager modules;
  llvm::PassBuilder builder(machine.get());
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(cgscc);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, cgscc, modules);
  llvm::ModulePassManager passes;
  passes.addPass(llvm::createModuleToFunctionPassAdaptor(
      llvm::LoadStoreVectorizerPass()));
  passes.run(module, modules);
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
  std::string chip = "sm_80";
  if (ArrayAttr targets = kernelModules[0].getTargetsAttr())
    for (Attribute target : targets)
      if (auto nvvm = dyn_cast<NVVM::NVVMTargetAttr>(target))
        chip = nvvm.getChip().str();
  if (llvm::Error error = optimizeAsNvptx(*llvmModule, chip))
    return error;
  if (llvm::Error error = retarget(*llvmModule, kernels))
    return error;
  return emitHostSharedLibrary(*llvmModule, path);
}

} // namespace llmc
