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
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"

#include "llmrt/CollectiveABI.h"
#include "llmrt/DType.h"

namespace llmc {
#define GEN_PASS_DEF_CONVERTLLMTOLLVM
#include "llmc/Conversion/Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

/// The exported table of parameter addresses, in llm.param order.
constexpr llvm::StringLiteral kParamTable = "__llmc_params";

struct ParamBufferLowering : ConvertOpToLLVMPattern<llm::ParamBufferOp> {
  ParamBufferLowering(LLVMTypeConverter &converter,
                      const llvm::StringMap<int64_t> &slots,
                      LLVM::LLVMArrayType tableType)
      : ConvertOpToLLVMPattern(converter), slots(slots),
        tableType(tableType) {}

  LogicalResult
  matchAndRewrite(llm::ParamBufferOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto slot = slots.find(op.getName());
    if (slot == slots.end())
      return rewriter.notifyMatchFailure(op, "unknown parameter");
    auto ptrType = LLVM::LLVMPointerType::get(rewriter.getContext());
    Value table =
        rewriter.create<LLVM::AddressOfOp>(loc, ptrType, kParamTable);
    Value entry = rewriter.create<LLVM::GEPOp>(
        loc, ptrType, tableType, table,
        ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(slot->second)});
    Value data = rewriter.create<LLVM::LoadOp>(loc, ptrType, entry);
    Value descriptor = MemRefDescriptor::fromStaticShape(
        rewriter, loc, *getTypeConverter(), op.getType(), data);
    rewriter.replaceOp(op, descriptor);
    return success();
  }

  const llvm::StringMap<int64_t> &slots;
  LLVM::LLVMArrayType tableType;
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
  Value slot(OpBuilder &b, Location loc, int slot) const {
    auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
    auto tableType =
        LLVM::LLVMArrayType::get(ptrType, LLMRT_COLLECTIVE_SLOTS);
    Value table = b.create<LLVM::AddressOfOp>(loc, ptrType,
                                              LLMRT_COLLECTIVE_TABLE);
    Value entry = b.create<LLVM::GEPOp>(loc, ptrType, tableType, table,
                                        ArrayRef<LLVM::GEPArg>{0, slot});
    return b.create<LLVM::LoadOp>(loc, ptrType, entry);
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
    auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
    SmallVector<Value> operands = {slot(b, loc, slotIndex),
                                   slot(b, loc, LLMRT_SLOT_CONTEXT)};
    operands.append(args.begin(), args.end());
    SmallVector<Type> types = {ptrType};
    for (Value arg : args)
      types.push_back(arg.getType());
    auto type = LLVM::LLVMFunctionType::get(
        LLVM::LLVMVoidType::get(b.getContext()), types);
    b.create<LLVM::CallOp>(loc, type, operands);
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
  if (!used)
    return;
  OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
  auto ptrType = LLVM::LLVMPointerType::get(module.getContext());
  auto tableType = LLVM::LLVMArrayType::get(ptrType, LLMRT_COLLECTIVE_SLOTS);
  auto table = builder.create<LLVM::GlobalOp>(
      module.getLoc(), tableType, /*isConstant=*/false,
      LLVM::Linkage::External, LLMRT_COLLECTIVE_TABLE, Attribute());
  builder.setInsertionPointToStart(builder.createBlock(
      &table.getInitializerRegion()));
  builder.create<LLVM::ReturnOp>(
      module.getLoc(),
      builder.create<LLVM::ZeroOp>(module.getLoc(), tableType).getResult());
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
    auto ptrType = LLVM::LLVMPointerType::get(context);
    auto tableType = LLVM::LLVMArrayType::get(ptrType, params.size());
    builder.setInsertionPointToStart(module.getBody());
    auto table = builder.create<LLVM::GlobalOp>(
        module.getLoc(), tableType, /*isConstant=*/false,
        LLVM::Linkage::External, kParamTable, Attribute());
    Block *init = builder.createBlock(&table.getInitializerRegion());
    builder.setInsertionPointToStart(init);
    builder.create<LLVM::ReturnOp>(
        module.getLoc(),
        builder.create<LLVM::ZeroOp>(module.getLoc(), tableType).getResult());

    declareCollectiveTable(module);

    LLVMTypeConverter converter(context);
    RewritePatternSet patterns(context);
    patterns.add<ParamBufferLowering>(converter, slots, tableType);
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
    target.addLegalOp<ModuleOp, llm::ParamOp, mesh::MeshOp>();
    if (failed(applyFullConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    for (llm::ParamOp param : params)
      param.erase();
    // The mesh was the collectives' vocabulary; the runtime knows the ranks.
    for (auto mesh : llvm::make_early_inc_range(module.getOps<mesh::MeshOp>()))
      mesh.erase();
  }
};

} // namespace
