//===- FillPerUse.cpp - One tensor linalg.fill per use --------------------===//

#include "llmc/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace llmc {
#define GEN_PASS_DEF_FILLPERUSE
#include "llmc/Transforms/Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

struct FillPerUsePass : llmc::impl::FillPerUseBase<FillPerUsePass> {
  void runOnOperation() override {
    SmallVector<linalg::FillOp> fills;
    getOperation().walk([&](linalg::FillOp fill) {
      if (fill.hasPureTensorSemantics() && !fill->getResult(0).hasOneUse())
        fills.push_back(fill);
    });
    OpBuilder builder(&getContext());
    for (linalg::FillOp fill : fills) {
      Value result = fill->getResult(0);
      // Every use but the first gets a copy of the fill (and of the empty
      // tensor it fills) right before its user.
      SmallVector<OpOperand *> uses = llvm::map_to_vector(
          result.getUses(), [](OpOperand &use) { return &use; });
      // The first user in the fill's block keeps the original.
      OpOperand *kept = uses.front();
      for (OpOperand *use : uses) {
        Operation *user = use->getOwner(), *keeper = kept->getOwner();
        if (user->getBlock() == keeper->getBlock() &&
            user->isBeforeInBlock(keeper))
          kept = use;
      }
      for (OpOperand *use : uses) {
        if (use == kept)
          continue;
        builder.setInsertionPoint(use->getOwner());
        IRMapping mapping;
        Value init = fill.getDpsInitOperand(0)->get();
        if (auto empty = init.getDefiningOp<tensor::EmptyOp>())
          mapping.map(init, builder.clone(*empty)->getResult(0));
        use->set(builder.clone(*fill, mapping)->getResult(0));
      }
    }
  }
};

} // namespace
