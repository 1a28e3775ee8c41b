//===- LLMToLLVM.cpp - Parameters and the rest to the LLVM dialect --------===//

#include "llmc/Conversion/Passes.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"

#include "llmrt/CollectiveABI.h"
#include "llmrt/DType.h"
#include "llmrt/GpuABI.h"

namespace llmc {
#define GEN_PASS_DEF_CONVERTLLMTOLLVM
#include "llmc/Conversion/Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

/// The exported table of parameter addresses, in llm.param order.
constexpr llvm::StringLiteral kParamTable = "__llmc_params";

/// A table of pointers the runtime fills: its symbol, its slot count, and
/// for a table of functions the slot of the context passed first to each.
struct RuntimeTable {
  llvm::StringLiteral symbol;
  int64_t slots;
  int contextSlot = -1;
};
constexpr RuntimeTable kCollectives{LLMRT_COLLECTIVE_TABLE,
                                    LLMRT_COLLECTIVE_SLOTS,
                                    LLMRT_SLOT_CONTEXT};
constexpr RuntimeTable kGpu{LLMRT_GPU_TABLE, LLMRT_GPU_SLOTS,
                            LLMRT_GPU_SLOT_CONTEXT};

Value loadSlot(OpBuilder &b, Location loc, const RuntimeTable &table,
               int64_t slot) {
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  auto tableType = LLVM::LLVMArrayType::get(ptrType, table.slots);
  Value address = b.create<LLVM::AddressOfOp>(loc, ptrType, table.symbol);
  Value entry = b.create<LLVM::GEPOp>(loc, ptrType, tableType, address,
                                      ArrayRef<LLVM::GEPArg>{0, int32_t(slot)});
  return b.create<LLVM::LoadOp>(loc, ptrType, entry);
}

/// Calls the function in `slot` with the table's context, then `args`.
LLVM::CallOp callThroughTable(OpBuilder &b, Location loc,
                              const RuntimeTable &table, int slot,
                              ArrayRef<Value> args,
                              Type result = Type()) {
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  SmallVector<Value> operands = {loadSlot(b, loc, table, slot),
                                 loadSlot(b, loc, table, table.contextSlot)};
  operands.append(args.begin(), args.end());
  SmallVector<Type> types = {ptrType};
  for (Value arg : args)
    types.push_back(arg.getType());
  auto type = LLVM::LLVMFunctionType::get(
      result ? result : LLVM::LLVMVoidType::get(b.getContext()), types);
  return b.create<LLVM::CallOp>(loc, type, operands);
}

/// Declares a runtime table, zeroed, exported.
void declareTable(ModuleOp module, const RuntimeTable &table) {
  OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
  auto ptrType = LLVM::LLVMPointerType::get(module.getContext());
  auto tableType = LLVM::LLVMArrayType::get(ptrType, table.slots);
  auto global = builder.create<LLVM::GlobalOp>(
      module.getLoc(), tableType, /*isConstant=*/false,
      LLVM::Linkage::External, table.symbol, Attribute());
  builder.setInsertionPointToStart(
      builder.createBlock(&global.getInitializerRegion()));
  builder.create<LLVM::ReturnOp>(
      module.getLoc(),
      builder.create<LLVM::ZeroOp>(module.getLoc(), tableType).getResult());
}

struct ParamBufferLowering : ConvertOpToLLVMPattern<llm::ParamBufferOp> {
  ParamBufferLowering(LLVMTypeConverter &converter,
                      const llvm::StringMap<int64_t> &slots,
                      RuntimeTable table)
      : ConvertOpToLLVMPattern(converter), slots(slots), table(table) {}

  LogicalResult
  matchAndRewrite(llm::ParamBufferOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto slot = slots.find(op.getName());
    if (slot == slots.end())
      return rewriter.notifyMatchFailure(op, "unknown parameter");
    Value data = loadSlot(rewriter, loc, table, slot->second);
    Value descriptor = MemRefDescriptor::fromStaticShape(
        rewriter, loc, *getTypeConverter(), op.getType(), data);
    rewriter.replaceOp(op, descriptor);
    return success();
  }

  const llvm::StringMap<int64_t> &slots;
  RuntimeTable table;
};

/// Calls into the runtime's collectives table (llmrt/CollectiveABI.h).
template <typename OpTy>
struct CollectiveLowering : ConvertOpToLLVMPattern<OpTy> {
  using ConvertOpToLLVMPattern<OpTy>::ConvertOpToLLVMPattern;
  using OpAdaptor = typename OpTy::Adaptor;

  Value i32(OpBuilder &b, Location loc, int64_t value) const {
    return b.create<LLVM::ConstantOp>(loc, b.getI32Type(),
                                      b.getI32IntegerAttr(value));
  }
  Value i64(OpBuilder &b, Location loc, int64_t value) const {
    return b.create<LLVM::ConstantOp>(loc, b.getI64Type(),
                                      b.getI64IntegerAttr(value));
  }
  /// The first element of a contiguous buffer.
  Value data(OpBuilder &b, Location loc, Value descriptor, Type type) const {
    return MemRefDescriptor(descriptor).bufferPtr(
        b, loc, *this->getTypeConverter(), cast<MemRefType>(type));
  }
  /// The product of sizes [from, to) of a buffer.
  Value elements(OpBuilder &b, Location loc, Value descriptor, int64_t from,
                 int64_t to) const {
    MemRefDescriptor memref(descriptor);
    Value product = i64(b, loc, 1);
    for (int64_t i = from; i < to; ++i)
      product = b.create<LLVM::MulOp>(loc, product, memref.size(b, loc, i));
    return product;
  }
  Value dtype(OpBuilder &b, Location loc, Type type) const {
    Type element = cast<MemRefType>(type).getElementType();
    llmrt::DType code = element.isF16()    ? llmrt::DType::F16
                        : element.isBF16() ? llmrt::DType::BF16
                                           : llmrt::DType::F32;
    return i32(b, loc, static_cast<int64_t>(code));
  }
  Value axes(OpBuilder &b, Location loc, ArrayRef<int64_t> axes) const {
    int64_t mask = 0;
    for (int64_t axis : axes)
      mask |= int64_t(1) << axis;
    return i32(b, loc, mask);
  }
  void call(OpBuilder &b, Location loc, int slotIndex,
            ArrayRef<Value> args) const {
    callThroughTable(b, loc, kCollectives, slotIndex, args);
  }
};

struct AllReduceLowering : CollectiveLowering<llm::AllReduceBufferOp> {
  using CollectiveLowering::CollectiveLowering;
  LogicalResult
  matchAndRewrite(llm::AllReduceBufferOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type type = op.getBuffer().getType();
    int64_t rank = cast<MemRefType>(type).getRank();
    call(rewriter, loc, LLMRT_SLOT_ALL_REDUCE,
         {data(rewriter, loc, adaptor.getBuffer(), type),
          elements(rewriter, loc, adaptor.getBuffer(), 0, rank),
          dtype(rewriter, loc, type), axes(rewriter, loc, op.getMeshAxes())});
    rewriter.eraseOp(op);
    return success();
  }
};

struct AllGatherLowering : CollectiveLowering<llm::AllGatherBufferOp> {
  using CollectiveLowering::CollectiveLowering;
  LogicalResult
  matchAndRewrite(llm::AllGatherBufferOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type type = op.getInput().getType();
    int64_t rank = cast<MemRefType>(type).getRank();
    int64_t axis = op.getGatherAxis();
    call(rewriter, loc, LLMRT_SLOT_ALL_GATHER,
         {data(rewriter, loc, adaptor.getInput(), type),
          data(rewriter, loc, adaptor.getOutput(), op.getOutput().getType()),
          elements(rewriter, loc, adaptor.getInput(), 0, axis),
          elements(rewriter, loc, adaptor.getInput(), axis, rank),
          dtype(rewriter, loc, type), axes(rewriter, loc, op.getMeshAxes())});
    rewriter.eraseOp(op);
    return success();
  }
};

template <typename OpTy, int Slot>
struct PointToPointLowering : CollectiveLowering<OpTy> {
  using CollectiveLowering<OpTy>::CollectiveLowering;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type type = op.getBuffer().getType();
    int64_t rank = cast<MemRefType>(type).getRank();
    this->call(rewriter, loc, Slot,
               {this->data(rewriter, loc, adaptor.getBuffer(), type),
                this->elements(rewriter, loc, adaptor.getBuffer(), 0, rank),
                this->dtype(rewriter, loc, type),
                this->axes(rewriter, loc, op.getMeshAxes()),
                this->i64(rewriter, loc, op.getPeer())});
    rewriter.eraseOp(op);
    return success();
  }
};

/// The collectives table, zeroed, when the module communicates.
void declareCollectiveTable(ModuleOp module) {
  bool used = false;
  module.walk([&](Operation *op) {
    used |= isa<llm::AllReduceBufferOp, llm::AllGatherBufferOp,
                llm::SendBufferOp, llm::RecvBufferOp>(op);
  });
  if (used)
    declareTable(module, kCollectives);
}

/// Fields of an LLVM struct or array value, recursively: a memref
/// descriptor becomes the kernel arguments NVVM expects for it.
void flatten(OpBuilder &b, Location loc, Value value,
             SmallVectorImpl<Value> &out) {
  Type type = value.getType();
  int64_t count = 0;
  if (auto structType = dyn_cast<LLVM::LLVMStructType>(type))
    count = structType.getBody().size();
  else if (auto arrayType = dyn_cast<LLVM::LLVMArrayType>(type))
    count = arrayType.getNumElements();
  else
    return out.push_back(value);
  for (int64_t i = 0; i < count; ++i)
    flatten(b, loc, b.create<LLVM::ExtractValueOp>(loc, value, i), out);
}

/// gpu.launch_func -> the runtime's launch with the kernel's index and an
/// array of pointers to the arguments, kept in stack slots of the entry
/// block (launches in loops reuse them).
struct LaunchFuncLowering : ConvertOpToLLVMPattern<gpu::LaunchFuncOp> {
  /// `parameterBytes[k]`: kernel k's parameter sizes as its launches pass
  /// them (what the runtime copies when it records a launch into a CUDA
  /// graph), filled by the first.
  LaunchFuncLowering(LLVMTypeConverter &converter,
                     const llvm::StringMap<int32_t> &kernels,
                     SmallVectorImpl<SmallVector<int32_t>> &parameterBytes)
      : ConvertOpToLLVMPattern(converter), kernels(kernels),
        parameterBytes(parameterBytes) {}

  LogicalResult
  matchAndRewrite(gpu::LaunchFuncOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!adaptor.getAsyncDependencies().empty() || op.getAsyncToken())
      return rewriter.notifyMatchFailure(op, "asynchronous launch");
    auto kernel = kernels.find(op.getKernelName());
    if (kernel == kernels.end())
      return rewriter.notifyMatchFailure(op, "unknown kernel");
    Location loc = op.getLoc();
    auto ptrType = LLVM::LLVMPointerType::get(rewriter.getContext());
    SmallVector<Value> args;
    for (Value operand : adaptor.getKernelOperands())
      flatten(rewriter, loc, operand, args);
    SmallVector<int32_t> &bytes = parameterBytes[kernel->second];
    if (bytes.empty()) {
      DataLayout layout = DataLayout::closest(op);
      for (Value arg : args)
        bytes.push_back(int32_t(layout.getTypeSize(arg.getType())));
    }

    Block &entry = op->getParentOfType<FunctionOpInterface>()
                       .getFunctionBody()
                       .front();
    Value array;
    SmallVector<Value> slots;
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(&entry);
      auto i64 = [&](int64_t value) -> Value {
        return rewriter.create<LLVM::ConstantOp>(
            loc, rewriter.getI64Type(), rewriter.getI64IntegerAttr(value));
      };
      array = rewriter.create<LLVM::AllocaOp>(
          loc, ptrType, ptrType, i64(std::max<size_t>(args.size(), 1)));
      Value one = i64(1);
      for (Value arg : args)
        slots.push_back(
            rewriter.create<LLVM::AllocaOp>(loc, ptrType, arg.getType(), one));
    }
    for (auto [i, arg] : llvm::enumerate(args)) {
      rewriter.create<LLVM::StoreOp>(loc, arg, slots[i]);
      Value element = rewriter.create<LLVM::GEPOp>(
          loc, ptrType, ptrType, array,
          ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
      rewriter.create<LLVM::StoreOp>(loc, slots[i], element);
    }
    Value shared =
        adaptor.getDynamicSharedMemorySize()
            ? adaptor.getDynamicSharedMemorySize()
            : rewriter
                  .create<LLVM::ConstantOp>(loc, rewriter.getI32Type(),
                                            rewriter.getI32IntegerAttr(0))
                  .getResult();
    Value index = rewriter.create<LLVM::ConstantOp>(
        loc, rewriter.getI32Type(), rewriter.getI32IntegerAttr(kernel->second));
    callThroughTable(rewriter, loc, kGpu, LLMRT_GPU_SLOT_LAUNCH,
                     {index, adaptor.getGridSizeX(), adaptor.getGridSizeY(),
                      adaptor.getGridSizeZ(), adaptor.getBlockSizeX(),
                      adaptor.getBlockSizeY(), adaptor.getBlockSizeZ(),
                      shared, array});
    rewriter.eraseOp(op);
    return success();
  }

  const llvm::StringMap<int32_t> &kernels;
  SmallVectorImpl<SmallVector<int32_t>> &parameterBytes;
};

/// gpu.memcpy of contiguous buffers -> the runtime's copy.
struct MemcpyLowering : ConvertOpToLLVMPattern<gpu::MemcpyOp> {
  using ConvertOpToLLVMPattern::ConvertOpToLLVMPattern;

  LogicalResult
  matchAndRewrite(gpu::MemcpyOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!adaptor.getAsyncDependencies().empty() || op.getAsyncToken())
      return rewriter.notifyMatchFailure(op, "asynchronous copy");
    Location loc = op.getLoc();
    auto type = cast<MemRefType>(op.getSrc().getType());
    MemRefDescriptor source(adaptor.getSrc());
    Value bytes = getSizeInBytes(loc, type.getElementType(), rewriter);
    for (int64_t i = 0; i < type.getRank(); ++i)
      bytes = rewriter.create<LLVM::MulOp>(loc, bytes,
                                           source.size(rewriter, loc, i));
    Value to = MemRefDescriptor(adaptor.getDst())
                   .bufferPtr(rewriter, loc, *getTypeConverter(),
                              cast<MemRefType>(op.getDst().getType()));
    Value from = source.bufferPtr(rewriter, loc, *getTypeConverter(), type);
    callThroughTable(rewriter, loc, kGpu, LLMRT_GPU_SLOT_MEMCPY,
                     {to, from, bytes});
    rewriter.eraseOp(op);
    return success();
  }
};

/// memref.alloc/dealloc lowered with generic function names -> the
/// runtime's device allocator.
void allocateOnDevice(ModuleOp module) {
  auto ptrType = LLVM::LLVMPointerType::get(module.getContext());
  SmallVector<LLVM::CallOp> calls;
  module.walk([&](LLVM::CallOp call) {
    if (std::optional<StringRef> callee = call.getCallee())
      if (callee->starts_with("_mlir_memref_to_llvm_"))
        calls.push_back(call);
  });
  for (LLVM::CallOp call : calls) {
    OpBuilder b(call);
    StringRef callee = *call.getCallee();
    if (callee == "_mlir_memref_to_llvm_free") {
      callThroughTable(b, call.getLoc(), kGpu, LLMRT_GPU_SLOT_FREE,
                       {call.getOperand(0)});
    } else {
      // The device allocator aligns to 256 bytes, more than any alignment
      // the host code asks for.
      Value bytes = call.getOperands().back();
      Value pointer = callThroughTable(b, call.getLoc(), kGpu,
                                       LLMRT_GPU_SLOT_ALLOC, {bytes}, ptrType)
                          .getResult();
      call.getResult().replaceAllUsesWith(pointer);
    }
    call.erase();
  }
  for (auto func : llvm::make_early_inc_range(module.getOps<LLVM::LLVMFuncOp>()))
    if (func.getName().starts_with("_mlir_memref_to_llvm_"))
      func.erase();
}

/// Calls of LLMRT_GPU_TENSOR_MAP_CALL (the GPU kernels' tensor maps: base
/// address, then the slot's other arguments; the map's address back, both
/// as i64) -> the runtime's tensor-map function.
void callTensorMaps(ModuleOp module) {
  auto ptrType = LLVM::LLVMPointerType::get(module.getContext());
  SmallVector<LLVM::CallOp> calls;
  module.walk([&](LLVM::CallOp call) {
    if (call.getCallee() == LLMRT_GPU_TENSOR_MAP_CALL)
      calls.push_back(call);
  });
  for (LLVM::CallOp call : calls) {
    OpBuilder b(call);
    Location loc = call.getLoc();
    SmallVector<Value> args(call.getOperands());
    args.front() = b.create<LLVM::IntToPtrOp>(loc, ptrType, args.front());
    Value map =
        callThroughTable(b, loc, kGpu, LLMRT_GPU_SLOT_TENSOR_MAP, args, ptrType)
            .getResult();
    call.getResult().replaceAllUsesWith(
        b.create<LLVM::PtrToIntOp>(loc, call.getResult().getType(), map)
            .getResult());
    call.erase();
  }
  if (auto func =
          module.lookupSymbol<LLVM::LLVMFuncOp>(LLMRT_GPU_TENSOR_MAP_CALL))
    func.erase();
}

struct ConvertLLMToLLVMPass
    : llmc::impl::ConvertLLMToLLVMBase<ConvertLLMToLLVMPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    OpBuilder builder(context);

    // The runtime calls public functions through their C interface.
    for (auto func : module.getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal())
        func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                      builder.getUnitAttr());

    llvm::StringMap<int64_t> slots;
    SmallVector<llm::ParamOp> params(module.getOps<llm::ParamOp>());
    for (auto [index, param] : llvm::enumerate(params))
      slots[param.getSymName()] = index;
    RuntimeTable paramTable{kParamTable, int64_t(params.size())};
    declareTable(module, paramTable);
    declareCollectiveTable(module);

    // A GPU program: kernels are launched, and buffers allocated, through
    // the runtime's GPU table; the kernels are named by index in the order
    // of their first launch (the `llmc.gpu_kernels` attribute), the dynamic
    // shared memory each launches with in `llmc.gpu_dynamic_shared`, the
    // bytes of their parameters in `llmc.gpu_kernel_params`.
    bool gpu = false;
    llvm::StringMap<int32_t> kernels;
    SmallVector<Attribute> kernelNames;
    SmallVector<int64_t> dynamicShared;
    SmallVector<SmallVector<int32_t>> parameterBytes;
    module.walk([&](Operation *op) {
      gpu |= isa<gpu::GPUDialect>(op->getDialect());
      auto launch = dyn_cast<gpu::LaunchFuncOp>(op);
      if (!launch)
        return;
      auto [it, first] =
          kernels.try_emplace(launch.getKernelName(), kernels.size());
      if (first) {
        kernelNames.push_back(
            builder.getStringAttr(launch.getKernelName().getValue()));
        dynamicShared.push_back(0);
        parameterBytes.emplace_back();
      }
      if (Value bytes = launch.getDynamicSharedMemorySize())
        if (std::optional<int64_t> size = getConstantIntValue(bytes))
          dynamicShared[it->second] =
              std::max(dynamicShared[it->second], *size);
    });
    if (gpu) {
      declareTable(module, kGpu);
      module->setAttr("llmc.gpu_kernels", builder.getArrayAttr(kernelNames));
      module->setAttr("llmc.gpu_dynamic_shared",
                      builder.getI64ArrayAttr(dynamicShared));
    }

    LowerToLLVMOptions options(context);
    options.useGenericFunctions = gpu;
    LLVMTypeConverter converter(context, options);
    RewritePatternSet patterns(context);
    if (gpu) {
      patterns.add<LaunchFuncLowering>(converter, kernels, parameterBytes);
      patterns.add<MemcpyLowering>(converter);
    }
    patterns.add<ParamBufferLowering>(converter, slots, paramTable);
    patterns.add<AllReduceLowering, AllGatherLowering,
                 PointToPointLowering<llm::SendBufferOp, LLMRT_SLOT_SEND>,
                 PointToPointLowering<llm::RecvBufferOp, LLMRT_SLOT_RECV>>(
        converter);
    populateFuncToLLVMConversionPatterns(converter, patterns);
    arith::populateArithToLLVMConversionPatterns(converter, patterns);
    cf::populateControlFlowToLLVMConversionPatterns(converter, patterns);
    populateMathToLLVMConversionPatterns(converter, patterns);
    populateFinalizeMemRefToLLVMConversionPatterns(converter, patterns);
    index::populateIndexToLLVMConversionPatterns(converter, patterns);
    populateVectorToLLVMConversionPatterns(converter, patterns);
    ub::populateUBToLLVMConversionPatterns(converter, patterns);
    populateOpenMPToLLVMConversionPatterns(converter, patterns);
    populateSCFToControlFlowConversionPatterns(patterns);

    LLVMConversionTarget target(*context);
    configureOpenMPToLLVMConversionLegality(target, converter);
    target.addLegalOp<omp::TerminatorOp, omp::BarrierOp, omp::FlushOp>();
    target.addLegalOp<ModuleOp, llm::ParamOp, mesh::MeshOp, gpu::BinaryOp>();
    if (failed(applyFullConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    if (gpu) {
      SmallVector<Attribute> kernelParams;
      for (ArrayRef<int32_t> bytes : parameterBytes)
        kernelParams.push_back(builder.getDenseI32ArrayAttr(bytes));
      module->setAttr("llmc.gpu_kernel_params",
                      builder.getArrayAttr(kernelParams));
      allocateOnDevice(module);
      callTensorMaps(module);
    }
    for (llm::ParamOp param : params)
      param.erase();
    // The mesh was the collectives' vocabulary; the runtime knows the ranks.
    for (auto mesh : llvm::make_early_inc_range(module.getOps<mesh::MeshOp>()))
      mesh.erase();
  }
};

} // namespace
