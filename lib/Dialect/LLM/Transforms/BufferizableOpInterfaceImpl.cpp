//===- BufferizableOpInterfaceImpl.cpp - llm ops onto buffers -------------===//
//
// One-shot bufferization of llm's destination-style ops: llm.fused_attention
// reads its operands' buffers and writes its init's (in place where the
// analysis allows, else into a copy).
//
//===----------------------------------------------------------------------===//

#include "llmc/Dialect/LLM/Transforms/Passes.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace {

struct FusedAttentionModel
    : DstBufferizableOpInterfaceExternalModel<FusedAttentionModel,
                                              llm::FusedAttentionOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options) const {
    SmallVector<Value> buffers;
    for (Value operand : op->getOperands()) {
      FailureOr<Value> buffer = getBuffer(rewriter, operand, options);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
    }
    rewriter.create<llm::FusedAttentionOp>(op->getLoc(), TypeRange{}, buffers,
                                           op->getAttrs());
    replaceOpWithBufferizedValues(rewriter, op, buffers.back());
    return success();
  }
};

} // namespace

void llmc::registerLLMBufferizationModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, llm::LLMDialect *) {
    llm::FusedAttentionOp::attachInterface<FusedAttentionModel>(*context);
  });
}
