//===- MeshBufferization.cpp - Mesh collectives onto buffers --------------===//
//
// One-shot bufferization models for the upstream mesh collectives the
// sharding passes emit: each becomes an llm buffer collective on the
// operand's buffer (all-reduce in place, recv into its destination) or on a
// fresh buffer (all-gather).
//
//===----------------------------------------------------------------------===//

#include "llmc/Dialect/LLM/Transforms/Passes.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace {

DenseI64ArrayAttr axesOf(OpBuilder &b, ArrayRef<int16_t> axes) {
  return b.getDenseI64ArrayAttr(llvm::to_vector(
      llvm::map_range(axes, [](int16_t axis) { return int64_t(axis); })));
}

/// The buffer of `value`, which a collective moves whole.
FailureOr<Value> contiguousBuffer(RewriterBase &rewriter, Operation *op,
                                  Value value,
                                  const BufferizationOptions &options) {
  FailureOr<Value> buffer = getBuffer(rewriter, value, options);
  if (failed(buffer))
    return failure();
  if (!cast<MemRefType>(buffer->getType()).getLayout().isIdentity())
    return op->emitError() << "expects a contiguous buffer for the "
                              "collective, found "
                           << buffer->getType();
  return buffer;
}

/// The single coordinate of a point-to-point peer along one mesh axis.
FailureOr<int64_t> peerOf(Operation *op, ArrayRef<int16_t> axes,
                          ArrayRef<int64_t> coordinates) {
  if (axes.size() != 1 || coordinates.size() != 1 ||
      ShapedType::isDynamic(coordinates[0]))
    return op->emitError() << "expects a static peer along one mesh axis";
  return coordinates[0];
}

struct AllReduceModel
    : BufferizableOpInterface::ExternalModel<AllReduceModel,
                                             mesh::AllReduceOp> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &,
                               const AnalysisState &) const {
    return true;
  }
  AliasingValueList getAliasingValues(Operation *op, OpOperand &,
                                      const AnalysisState &) const {
    return {{op->getResult(0), BufferRelation::Equivalent}};
  }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options) const {
    auto allReduce = cast<mesh::AllReduceOp>(op);
    if (allReduce.getReduction() != mesh::ReductionKind::Sum)
      return op->emitError() << "only sum all-reductions are supported";
    FailureOr<Value> buffer =
        contiguousBuffer(rewriter, op, allReduce.getInput(), options);
    if (failed(buffer))
      return failure();
    rewriter.create<llm::AllReduceBufferOp>(
        op->getLoc(), *buffer, axesOf(rewriter, allReduce.getMeshAxes()));
    replaceOpWithBufferizedValues(rewriter, op, *buffer);
    return success();
  }
};

struct AllGatherModel
    : BufferizableOpInterface::ExternalModel<AllGatherModel,
                                             mesh::AllGatherOp> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &,
                               const AnalysisState &) const {
    return false;
  }
  AliasingValueList getAliasingValues(Operation *, OpOperand &,
                                      const AnalysisState &) const {
    return {};
  }
  bool bufferizesToAllocation(Operation *, Value) const { return true; }
  FailureOr<BaseMemRefType>
  getBufferType(Operation *op, Value, const BufferizationOptions &,
                SmallVector<Value> &) const {
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    return cast<BaseMemRefType>(
        MemRefType::get(type.getShape(), type.getElementType()));
  }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options) const {
    auto allGather = cast<mesh::AllGatherOp>(op);
    Location loc = op->getLoc();
    FailureOr<Value> input =
        contiguousBuffer(rewriter, op, allGather.getInput(), options);
    if (failed(input))
      return failure();
    auto resultType = cast<RankedTensorType>(allGather.getType());
    int64_t axis = allGather.getGatherAxis().getSExtValue();
    if (resultType.isDynamicDim(axis))
      return op->emitError() << "expects a static gathered dimension";
    SmallVector<Value> dynamicSizes;
    for (int64_t i = 0; i < resultType.getRank(); ++i)
      if (resultType.isDynamicDim(i))
        dynamicSizes.push_back(rewriter.create<memref::DimOp>(loc, *input, i));
    auto type =
        MemRefType::get(resultType.getShape(), resultType.getElementType());
    FailureOr<Value> output =
        options.createAlloc(rewriter, loc, type, dynamicSizes);
    if (failed(output))
      return failure();
    rewriter.create<llm::AllGatherBufferOp>(
        loc, *input, *output, axesOf(rewriter, allGather.getMeshAxes()),
        rewriter.getI64IntegerAttr(axis));
    replaceOpWithBufferizedValues(rewriter, op, *output);
    return success();
  }
};

/// The static peer of a send (destination) or a recv (source).
std::optional<ArrayRef<int64_t>> peerCoordinates(mesh::SendOp send) {
  if (!send.getDestinationDynamic().empty())
    return std::nullopt;
  return send.getDestination();
}
std::optional<ArrayRef<int64_t>> peerCoordinates(mesh::RecvOp recv) {
  if (!recv.getSourceDynamic().empty())
    return std::nullopt;
  return recv.getSource();
}

/// A send reads its operand's buffer; a recv writes into it. Either way the
/// result is that buffer.
template <typename MeshOp, typename BufferOp, bool Reads>
struct PointToPointModel
    : BufferizableOpInterface::ExternalModel<
          PointToPointModel<MeshOp, BufferOp, Reads>, MeshOp> {
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return Reads;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &,
                               const AnalysisState &) const {
    return !Reads;
  }
  AliasingValueList getAliasingValues(Operation *op, OpOperand &,
                                      const AnalysisState &) const {
    return {{op->getResult(0), BufferRelation::Equivalent}};
  }
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options) const {
    auto pointToPoint = cast<MeshOp>(op);
    std::optional<ArrayRef<int64_t>> coordinates =
        peerCoordinates(pointToPoint);
    if (!coordinates)
      return op->emitError() << "expects a static peer";
    FailureOr<int64_t> peer =
        peerOf(op, pointToPoint.getMeshAxes(), *coordinates);
    if (failed(peer))
      return failure();
    FailureOr<Value> buffer =
        contiguousBuffer(rewriter, op, pointToPoint.getInput(), options);
    if (failed(buffer))
      return failure();
    rewriter.create<BufferOp>(op->getLoc(), *buffer,
                              axesOf(rewriter, pointToPoint.getMeshAxes()),
                              rewriter.getI64IntegerAttr(*peer));
    replaceOpWithBufferizedValues(rewriter, op, *buffer);
    return success();
  }
};

} // namespace

void llmc::registerMeshBufferizationModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, mesh::MeshDialect *) {
    context->loadDialect<llm::LLMDialect, memref::MemRefDialect>();
    mesh::AllReduceOp::attachInterface<AllReduceModel>(*context);
    mesh::AllGatherOp::attachInterface<AllGatherModel>(*context);
    mesh::SendOp::attachInterface<
        PointToPointModel<mesh::SendOp, llm::SendBufferOp, true>>(*context);
    mesh::RecvOp::attachInterface<
        PointToPointModel<mesh::RecvOp, llm::RecvBufferOp, false>>(*context);
  });
}
