//===- GpuParallelCopies.cpp - A host loop of copies as one kernel --------===//
//
// The KV-cache update after bufferization is a loop over the batch on the
// host, each iteration copying a sequence's new keys and values to where
// its position says (data-dependent offsets). On a GPU that is a kernel per
// iteration and a read of the position on the host; here it becomes one
// parallel loop (one kernel) that reads the position itself, and the
// elementwise op that produced the copied buffer (the keys' rotation) runs
// in it instead of writing a buffer of its own. See Passes.td.
//
//===----------------------------------------------------------------------===//

#include "llmc/Transforms/Passes.h"

#include "GpuReductions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace llmc {
#define GEN_PASS_DEF_GPUPARALLELCOPIES
#include "llmc/Transforms/Passes.h.inc"
} // namespace llmc

using namespace mlir;

using llmc::gpu::mayWrite;
using llmc::gpu::rootOf;

namespace {

/// The sizes of the dimensions `subview` keeps (its result's).
SmallVector<OpFoldResult> keptSizes(memref::SubViewOp subview) {
  llvm::SmallBitVector dropped = subview.getDroppedDims();
  SmallVector<OpFoldResult> sizes;
  for (auto [d, size] : llvm::enumerate(subview.getMixedSizes()))
    if (!dropped.test(d))
      sizes.push_back(size);
  return sizes;
}

/// Whether the views `a` and `b` of one buffer are apart: static offsets
/// and sizes in some dimension whose ranges do not meet.
bool apart(memref::SubViewOp a, memref::SubViewOp b) {
  for (auto [offsetA, sizeA, offsetB, sizeB] :
       llvm::zip(a.getMixedOffsets(), a.getMixedSizes(), b.getMixedOffsets(),
                 b.getMixedSizes())) {
    std::optional<int64_t> oa = getConstantIntValue(offsetA),
                           sa = getConstantIntValue(sizeA),
                           ob = getConstantIntValue(offsetB),
                           sb = getConstantIntValue(sizeB);
    if (oa && sa && ob && sb && (*oa + *sa <= *ob || *ob + *sb <= *oa))
      return true;
  }
  return false;
}

/// Whether iteration `iv` of the loop writes its own part of `subview`'s
/// buffer: a dimension at offset `iv`, of size and stride 1.
bool ownedByIteration(memref::SubViewOp subview, Value iv) {
  for (auto [offset, size, stride] :
       llvm::zip(subview.getMixedOffsets(), subview.getMixedSizes(),
                 subview.getMixedStrides()))
    if (dyn_cast_if_present<Value>(offset) == iv && isConstantIntValue(size, 1) &&
        isConstantIntValue(stride, 1))
      return true;
  return false;
}

/// The elementwise generic before `loop` that alone writes the buffer
/// `source` views as its iteration `iv`'s slice (`source` = buffer[iv, 0,
/// ...] of the full extents), if the loop's parallel form can compute its
/// elements instead: all its loops parallel, the buffer its only output
/// (identity map, not read), and nothing between it and the loop writing
/// what it reads.
linalg::GenericOp producerOf(memref::SubViewOp source, Value iv,
                             scf::ForOp loop) {
  Value buffer = source.getSource();
  auto alloc = buffer.getDefiningOp<memref::AllocOp>();
  if (!alloc || !cast<MemRefType>(buffer.getType()).getLayout().isIdentity())
    return {};
  // The iteration's whole slice.
  SmallVector<OpFoldResult> offsets = source.getMixedOffsets(),
                            sizes = source.getMixedSizes();
  if (dyn_cast_if_present<Value>(offsets[0]) != iv ||
      !isConstantIntValue(sizes[0], 1) || !source.hasUnitStride())
    return {};
  auto type = cast<MemRefType>(buffer.getType());
  if (keptSizes(source).size() + 1 != static_cast<size_t>(type.getRank()))
    return {};
  for (int64_t d = 1; d < type.getRank(); ++d) {
    if (!isConstantIntValue(offsets[d], 0))
      return {};
    bool full = type.isDynamicDim(d)
                    ? dyn_cast_if_present<Value>(sizes[d]) ==
                          alloc.getDynamicSizes()[type.getDynamicDimIndex(d)]
                    : isConstantIntValue(sizes[d], type.getDimSize(d));
    if (!full)
      return {};
  }
  linalg::GenericOp producer =
      llmc::gpu::elementwiseWriter(buffer, source, loop);
  if (!producer)
    return {};
  // What it reads: its inputs and the buffers its body loads.
  SmallVector<Value> roots;
  for (OpOperand *input : producer.getDpsInputOperands())
    if (isa<MemRefType>(input->get().getType()))
      roots.push_back(rootOf(input->get()));
  producer.getRegion().walk([&](memref::LoadOp load) {
    roots.push_back(rootOf(load.getMemRef()));
  });
  for (Operation *between = producer->getNextNode(); between != loop;
       between = between->getNextNode())
    if (mayWrite(between, roots))
      return {};
  return producer;
}

/// `loop` as one scf.parallel over its iterations and the copies' elements,
/// where it is a loop from 0 by 1 whose body only computes views (pure ops,
/// loads, subviews) and copies between them of one shape, each iteration
/// writing its own part of the destinations (an offset at the induction
/// variable, of size 1), the copies' destinations apart from each other and
/// from what they read.
void parallelize(scf::ForOp loop) {
  if (loop.getNumRegionIterArgs() != 0 ||
      !isConstantIntValue(getAsOpFoldResult(loop.getLowerBound()), 0) ||
      !isConstantIntValue(getAsOpFoldResult(loop.getStep()), 1))
    return;
  Value iv = loop.getInductionVar();
  SmallVector<linalg::CopyOp> copies;
  for (Operation &op : loop.getBody()->without_terminator()) {
    if (auto copy = dyn_cast<linalg::CopyOp>(op)) {
      copies.push_back(copy);
      continue;
    }
    if (!isa<memref::SubViewOp, memref::LoadOp>(op) && !isMemoryEffectFree(&op))
      return;
    if (op.getNumRegions() != 0)
      return;
  }
  if (copies.empty())
    return;
  SmallVector<memref::SubViewOp> sources, destinations;
  for (linalg::CopyOp copy : copies) {
    auto source = copy.getInputs()[0].getDefiningOp<memref::SubViewOp>();
    auto destination = copy.getOutputs()[0].getDefiningOp<memref::SubViewOp>();
    if (!source || !destination || !ownedByIteration(destination, iv))
      return;
    // Every copy of the first one's shape, both sides.
    SmallVector<OpFoldResult> shape = keptSizes(destination);
    if (keptSizes(source) != shape ||
        (!destinations.empty() && keptSizes(destinations.front()) != shape))
      return;
    sources.push_back(source);
    destinations.push_back(destination);
  }
  // Writes apart from each other and from every read.
  for (auto [i, destination] : llvm::enumerate(destinations)) {
    Value root = rootOf(destination.getSource());
    for (memref::SubViewOp source : sources)
      if (rootOf(source.getSource()) == root ||
          (isa<BlockArgument>(root) &&
           isa<BlockArgument>(rootOf(source.getSource()))))
        return;
    for (size_t j = 0; j < i; ++j)
      if (rootOf(destinations[j].getSource()) == root &&
          !apart(destinations[j], destination))
        return;
  }
  for (Operation &op : loop.getBody()->without_terminator())
    if (auto load = dyn_cast<memref::LoadOp>(op))
      for (memref::SubViewOp destination : destinations)
        if (rootOf(load.getMemRef()) == rootOf(destination.getSource()))
          return;

  Location loc = loop.getLoc();
  OpBuilder b(loop);
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  SmallVector<Value> upper = {loop.getUpperBound()};
  for (OpFoldResult size : keptSizes(destinations.front()))
    upper.push_back(getValueOrCreateConstantIndexOp(b, loc, size));
  SmallVector<linalg::GenericOp> producers;
  for (memref::SubViewOp source : sources)
    producers.push_back(producerOf(source, iv, loop));
  b.create<scf::ParallelOp>(
      loc, SmallVector<Value>(upper.size(), zero), upper,
      SmallVector<Value>(upper.size(), one),
      [&](OpBuilder &pb, Location, ValueRange ivs) {
        IRMapping mapping;
        mapping.map(iv, ivs[0]);
        for (Operation &op : loop.getBody()->without_terminator())
          if (!isa<linalg::CopyOp>(op))
            pb.clone(op, mapping);
        ValueRange element = ivs.drop_front();
        for (auto [copy, source, destination, producer] :
             llvm::zip(copies, sources, destinations, producers)) {
          Value value;
          if (producer) {
            // The producer's element [iteration, element...].
            value = llmc::gpu::yieldedAt(pb, loc, producer, ivs);
          } else {
            value = pb.create<memref::LoadOp>(
                loc, mapping.lookup(source.getResult()), element);
          }
          pb.create<memref::StoreOp>(
              loc, value, mapping.lookup(destination.getResult()), element);
        }
      });
  loop.erase();
  for (linalg::GenericOp producer : producers) {
    if (!producer)
      continue;
    Value buffer = producer.getDpsInitOperand(0)->get();
    producer.erase();
    if (llvm::all_of(buffer.getUsers(), [](Operation *user) {
          return isa<memref::DeallocOp>(user);
        })) {
      for (Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
        user->erase();
      buffer.getDefiningOp()->erase();
    }
  }
}

struct GpuParallelCopiesPass
    : llmc::impl::GpuParallelCopiesBase<GpuParallelCopiesPass> {
  void runOnOperation() override {
    SmallVector<scf::ForOp> loops;
    getOperation().walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops)
      parallelize(loop);
  }
};

} // namespace
