//===- SequentializeInnerParallel.cpp - One parallel level per loop nest --===//

#include "llmc/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace llmc {
#define GEN_PASS_DEF_SEQUENTIALIZEINNERPARALLEL
#include "llmc/Transforms/Passes.h.inc"
} // namespace llmc

using namespace mlir;

void llmc::sequentializeParallelLoop(scf::ParallelOp loop) {
  OpBuilder builder(loop);
  Location loc = loop.getLoc();
  IRMapping mapping;
  for (auto [lower, upper, step, iv] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep(),
                 loop.getInductionVars())) {
    auto forOp = builder.create<scf::ForOp>(loc, lower, upper, step);
    mapping.map(iv, forOp.getInductionVar());
    builder.setInsertionPointToStart(forOp.getBody());
  }
  for (Operation &op : loop.getBody()->without_terminator())
    builder.clone(op, mapping);
  loop.erase();
}

namespace {

struct SequentializeInnerParallelPass
    : llmc::impl::SequentializeInnerParallelBase<
          SequentializeInnerParallelPass> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> inner;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (loop->getParentOfType<scf::ParallelOp>() &&
          loop.getNumReductions() == 0)
        inner.push_back(loop);
    });
    // Innermost first: walk() visits nested loops before their parents.
    for (scf::ParallelOp loop : inner)
      llmc::sequentializeParallelLoop(loop);
  }
};

} // namespace
