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

    LLVMTypeConverter converter(context);
    RewritePatternSet patterns(context);
    patterns.add<ParamBufferLowering>(converter, slots, tableType);
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
    target.addLegalOp<ModuleOp, llm::ParamOp>();
    if (failed(applyFullConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    for (llm::ParamOp param : params)
      param.erase();
  }
};

} // namespace
