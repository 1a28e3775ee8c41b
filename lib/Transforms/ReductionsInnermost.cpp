//===- ReductionsInnermost.cpp - Reduction loops of generics last ---------===//

#include "llmc/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace llmc {
#define GEN_PASS_DEF_REDUCTIONSINNERMOST
#include "llmc/Transforms/Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

struct ReductionsInnermostPass
    : llmc::impl::ReductionsInnermostBase<ReductionsInnermostPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : generics) {
      // New loop i is old loop order[i]: the parallel loops, then the
      // reductions.
      SmallVector<unsigned> order;
      SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
      for (auto kind :
           {utils::IteratorType::parallel, utils::IteratorType::reduction})
        for (unsigned d = 0; d < iterators.size(); ++d)
          if (iterators[d] == kind)
            order.push_back(d);
      if (llvm::equal(order, llvm::seq<unsigned>(0, order.size())))
        continue;
      rewriter.setInsertionPoint(op);
      if (failed(linalg::interchangeGenericOp(rewriter, op, order))) {
        op.emitOpError("cannot move its reduction loops innermost");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
