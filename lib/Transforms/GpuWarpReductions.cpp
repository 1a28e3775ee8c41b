//===- GpuWarpReductions.cpp - One warp per output of a reduction ---------===//

#include "llmc/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace llmc {
#define GEN_PASS_DEF_GPUWARPREDUCTIONS
#include "llmc/Transforms/Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

constexpr int64_t kWarp = 32;
/// Bytes a lane loads at once where it can: NVPTX's widest load.
constexpr int64_t kVectorBytes = 16;

/// The op that folds the body's value into the output, when the body is
/// `out <combiner> f(inputs)` with the output used nowhere else.
Operation *combinerOf(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1)
    return nullptr;
  BlockArgument out = body.getArgument(op.getNumDpsInputs());
  Operation *combiner = yield.getOperand(0).getDefiningOp();
  if (!combiner || !isa<arith::AddFOp, arith::MaximumFOp>(combiner) ||
      combiner->getBlock() != &body || !out.hasOneUse() ||
      out.getUses().begin()->getOwner() != combiner)
    return nullptr;
  return combiner;
}

/// Whether `op` is a reduction this pass rewrites: buffers, one output of a
/// 16- or 32-bit float, the last loop its only reduction.
bool isWarpReduction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1)
    return false;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators.empty() || iterators.back() != utils::IteratorType::reduction)
    return false;
  for (size_t d = 0; d + 1 < iterators.size(); ++d)
    if (iterators[d] != utils::IteratorType::parallel)
      return false;
  Type type = op.getDpsInitOperand(0)->get().getType();
  Type element = cast<MemRefType>(type).getElementType();
  return isa<FloatType>(element) && element.getIntOrFloatBitWidth() <= 32 &&
         combinerOf(op) != nullptr;
}

Value combine(OpBuilder &b, Location loc, Operation *combiner, Value lhs,
              Value rhs) {
  if (isa<arith::AddFOp>(combiner))
    return b.create<arith::AddFOp>(loc, lhs, rhs);
  return b.create<arith::MaximumFOp>(loc, lhs, rhs);
}

/// The combiner's identity: 0 for sums, -inf for maxima.
Value identity(OpBuilder &b, Location loc, Operation *combiner, Type type) {
  auto floatType = cast<FloatType>(type);
  APFloat value = isa<arith::AddFOp>(combiner)
                      ? APFloat::getZero(floatType.getFloatSemantics())
                      : APFloat::getInf(floatType.getFloatSemantics(),
                                        /*Negative=*/true);
  return b.create<arith::ConstantOp>(loc, b.getFloatAttr(type, value));
}

/// Loads of `op`'s operand `operand` at loop indices `dims`.
Value loadAt(OpBuilder &b, Location loc, linalg::GenericOp op,
             OpOperand &operand, ValueRange dims) {
  Value source = operand.get();
  if (!isa<MemRefType>(source.getType()))
    return source;
  AffineMap map = op.getMatchingIndexingMap(&operand);
  SmallVector<Value> indices;
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    indices.push_back(
        b.create<affine::AffineApplyOp>(loc, map.getSubMap({r}), dims));
  return b.create<memref::LoadOp>(loc, source, indices);
}

/// Elements each lane reduces per step, consecutive in memory: 16 bytes of
/// every input that varies along the reduction, when each has it as its
/// contiguous last dimension and the extent is a multiple of 32 steps; else
/// 1. `aligned` gets those inputs with no offset in their layout: their
/// pointer is an allocation's (the runtime's are 256-byte aligned), so the
/// loads can be 16-byte vectors.
int64_t elementsPerStep(linalg::GenericOp op,
                        SmallVectorImpl<Value> &aligned) {
  unsigned rank = op.getNumLoops(), k = rank - 1;
  std::optional<int64_t> extent = op.getStaticLoopRanges().back();
  if (!extent || ShapedType::isDynamic(*extent))
    return 1;
  int64_t elements = kVectorBytes;
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(input->get().getType());
    AffineMap map = op.getMatchingIndexingMap(input);
    if (!type || !map.isFunctionOfDim(k))
      continue;
    SmallVector<int64_t> strides;
    int64_t offset;
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (!last || last.getPosition() != k || failed(getStridesAndOffset(type, strides, offset)) ||
        strides.back() != 1)
      return 1;
    for (AffineExpr result : map.getResults().drop_back())
      if (result.isFunctionOfDim(k))
        return 1;
    elements = std::min<int64_t>(
        elements, kVectorBytes * 8 / type.getElementTypeBitWidth());
    if (offset == 0 && type.getLayout().isIdentity())
      aligned.push_back(input->get());
  }
  if (elements < 2 || *extent % (kWarp * elements) != 0) {
    aligned.clear();
    return 1;
  }
  return elements;
}

/// The linalg.fill that initializes the reduction's output, a fresh
/// allocation nothing else touches before the reduction: the reduction
/// starts from the fill's value instead of loading it.
linalg::FillOp foldableFill(linalg::GenericOp op) {
  Value buffer = op.getDpsInitOperand(0)->get();
  unsigned rank = op.getNumLoops();
  // Every element of the buffer gets a total.
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!buffer.getDefiningOp<memref::AllocOp>() ||
      !AffineMap::get(rank - 1, 0, outMap.getResults(), op.getContext())
           .isPermutation())
    return {};
  linalg::FillOp fill;
  for (Operation *user : buffer.getUsers()) {
    if (user == op.getOperation())
      continue;
    if (user->getBlock() != op->getBlock())
      return {};
    if (op->isBeforeInBlock(user))
      continue;
    auto candidate = dyn_cast<linalg::FillOp>(user);
    if (!candidate || fill ||
        candidate.getDpsInitOperand(0)->get() != buffer)
      return {};
    fill = candidate;
  }
  return fill;
}

/// The allocation `value` views, if any.
Operation *allocationOf(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value.getDefiningOp<memref::AllocOp>();
}

/// An elementwise generic right after the reduction (only allocations and
/// pure ops between) that is the only reader of its output, through the
/// identity map: its body runs in lane 0 on the total, and the reduction's
/// buffer is never written (a projection's bias, its rounding to f16).
linalg::GenericOp fusableConsumer(linalg::GenericOp op) {
  Value buffer = op.getDpsInitOperand(0)->get();
  if (!buffer.getDefiningOp<memref::AllocOp>())
    return {};
  unsigned rank = op.getNumLoops();
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!AffineMap::get(rank - 1, 0, outMap.getResults(), op.getContext())
           .isIdentity())
    return {};
  Operation *next = op->getNextNode();
  while (next && (isa<memref::AllocOp>(next) || isMemoryEffectFree(next)))
    next = next->getNextNode();
  auto consumer = dyn_cast_or_null<linalg::GenericOp>(next);
  if (!consumer || !consumer.hasPureBufferSemantics() ||
      consumer.getNumLoops() != rank - 1 ||
      consumer.getNumParallelLoops() != rank - 1)
    return {};
  OpOperand *use = nullptr;
  for (OpOperand &operand : consumer->getOpOperands())
    if (operand.get() == buffer) {
      if (use)
        return {};
      use = &operand;
    }
  if (!use || !consumer.isDpsInput(use) ||
      !consumer.getMatchingIndexingMap(use).isIdentity())
    return {};
  for (Operation *user : buffer.getUsers())
    if (user != op.getOperation() && user != consumer.getOperation() &&
        !isa<linalg::FillOp, memref::DeallocOp>(user))
      return {};
  // Its outputs are written while other warps still read the reduction's
  // inputs: they must be other buffers.
  for (OpOperand &result : consumer.getDpsInitsMutable()) {
    Operation *allocation = allocationOf(result.get());
    if (!allocation)
      return {};
    for (OpOperand *input : op.getDpsInputOperands())
      if (allocationOf(input->get()) == allocation)
        return {};
  }
  return consumer;
}

void rewrite(linalg::GenericOp op, RewriterBase &rewriter) {
  Location loc = op.getLoc();
  Operation *combiner = combinerOf(op);
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  OpOperand *output = op.getDpsInitOperand(0);
  Type type = cast<MemRefType>(output->get().getType()).getElementType();
  // Shuffles move 32-bit values: 16-bit partial results widen for them.
  Type wide = type.getIntOrFloatBitWidth() < 32
                  ? Float32Type::get(op.getContext())
                  : type;

  linalg::FillOp fill = foldableFill(op);
  linalg::GenericOp consumer = fusableConsumer(op);
  // Where the consumer was: its output buffers may be allocated between.
  rewriter.setInsertionPoint(consumer ? consumer.getOperation()
                                      : op.getOperation());
  unsigned rank = op.getNumLoops();
  SmallVector<Value> sizes = llvm::map_to_vector(
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(rewriter, loc),
      [&](Range range) {
        return getValueOrCreateConstantIndexOp(rewriter, loc, range.size);
      });
  Value zero = rewriter.create<arith::ConstantIndexOp>(loc, 0);
  Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
  Value lanes = rewriter.create<arith::ConstantIndexOp>(loc, kWarp);
  SmallVector<Value> aligned;
  int64_t elements = elementsPerStep(op, aligned);
  Value perStep = rewriter.create<arith::ConstantIndexOp>(loc, elements);
  Value stride =
      rewriter.create<arith::ConstantIndexOp>(loc, kWarp * elements);
  SmallVector<Value> lower(rank, zero), steps(rank, one);
  SmallVector<Value> upper(sizes.begin(), sizes.end() - 1);
  upper.push_back(lanes);

  rewriter.create<scf::ParallelOp>(
      loc, lower, upper, steps,
      [&](OpBuilder &b, Location loc, ValueRange ivs) {
        Value lane = ivs.back();
        SmallVector<Value> outer(ivs.drop_back());
        for (Value input : aligned)
          b.create<memref::AssumeAlignmentOp>(loc, input, kVectorBytes);
        // Each lane: `elements` consecutive elements from lane * elements,
        // then 32 * elements further on, and so on: a warp's loads cover
        // consecutive memory, each lane's as one vector where aligned.
        Value start = b.create<arith::MulIOp>(loc, lane, perStep);
        auto loop = b.create<scf::ForOp>(
            loc, start, sizes.back(), stride,
            ValueRange{identity(b, loc, combiner, type)},
            [&](OpBuilder &fb, Location loc, Value k0, ValueRange partial) {
              Value acc = partial[0];
              for (int64_t e = 0; e < elements; ++e) {
                SmallVector<Value> dims = outer;
                dims.push_back(
                    e == 0 ? k0
                           : fb.create<arith::AddIOp>(
                                 loc, k0,
                                 fb.create<arith::ConstantIndexOp>(loc, e)));
                IRMapping mapping;
                for (OpOperand *input : op.getDpsInputOperands())
                  mapping.map(body.getArgument(input->getOperandNumber()),
                              loadAt(fb, loc, op, *input, dims));
                mapping.map(body.getArgument(op.getNumDpsInputs()), acc);
                for (Operation &inner : body.without_terminator()) {
                  if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
                    mapping.map(index.getResult(), dims[index.getDim()]);
                    continue;
                  }
                  fb.clone(inner, mapping);
                }
                acc = mapping.lookupOrDefault(yield.getOperand(0));
              }
              fb.create<scf::YieldOp>(loc, acc);
            });
        // A butterfly over the warp: every lane ends with the total.
        Value total = loop.getResult(0);
        if (wide != type)
          total = b.create<arith::ExtFOp>(loc, wide, total);
        for (int32_t offset = kWarp / 2; offset > 0; offset /= 2) {
          Value other = b.create<gpu::ShuffleOp>(loc, total, offset, kWarp,
                                                 gpu::ShuffleMode::XOR)
                            .getShuffleResult();
          total = combine(b, loc, combiner, total, other);
        }
        if (wide != type)
          total = b.create<arith::TruncFOp>(loc, type, total);
        Value first =
            b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, lane, zero);
        b.create<scf::IfOp>(loc, first, [&](OpBuilder &ib, Location loc) {
          SmallVector<Value> dims = outer;
          dims.push_back(zero); // the output's map does not use it
          Value start = fill ? fill.getDpsInputOperand(0)->get()
                             : loadAt(ib, loc, op, *output, dims);
          Value result = combine(ib, loc, combiner, start, total);
          if (!consumer) {
            SmallVector<Value> indices;
            AffineMap map = op.getMatchingIndexingMap(output);
            for (unsigned r = 0; r < map.getNumResults(); ++r)
              indices.push_back(ib.create<affine::AffineApplyOp>(
                  loc, map.getSubMap({r}), dims));
            ib.create<memref::StoreOp>(loc, result, output->get(), indices);
            ib.create<scf::YieldOp>(loc);
            return;
          }
          // The consumer's body on this output element.
          Block &epilogue = consumer.getRegion().front();
          IRMapping mapping;
          for (OpOperand &operand : consumer->getOpOperands()) {
            BlockArgument arg =
                epilogue.getArgument(operand.getOperandNumber());
            if (operand.get() == output->get())
              mapping.map(arg, result);
            else if (!arg.use_empty())
              mapping.map(arg, loadAt(ib, loc, consumer, operand, outer));
          }
          for (Operation &inner : epilogue.without_terminator()) {
            if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
              mapping.map(index.getResult(), outer[index.getDim()]);
              continue;
            }
            ib.clone(inner, mapping);
          }
          auto yielded = cast<linalg::YieldOp>(epilogue.getTerminator());
          for (auto [value, init] : llvm::zip(yielded.getOperands(),
                                              consumer.getDpsInitsMutable())) {
            AffineMap map = consumer.getMatchingIndexingMap(&init);
            SmallVector<Value> indices;
            for (unsigned r = 0; r < map.getNumResults(); ++r)
              indices.push_back(ib.create<affine::AffineApplyOp>(
                  loc, map.getSubMap({r}), outer));
            ib.create<memref::StoreOp>(loc, mapping.lookupOrDefault(value),
                                       init.get(), indices);
          }
          ib.create<scf::YieldOp>(loc);
        });
      });
  Value buffer = output->get();
  rewriter.eraseOp(op);
  if (consumer)
    rewriter.eraseOp(consumer);
  if (fill && consumer) {
    // Nothing reads the buffer any more.
    rewriter.eraseOp(fill);
    if (llvm::all_of(buffer.getUsers(), [](Operation *user) {
          return isa<memref::DeallocOp>(user);
        })) {
      for (Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
        rewriter.eraseOp(user);
      rewriter.eraseOp(buffer.getDefiningOp());
    }
  } else if (fill) {
    rewriter.eraseOp(fill);
  }
}

struct GpuWarpReductionsPass
    : llmc::impl::GpuWarpReductionsBase<GpuWarpReductionsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> reductions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isWarpReduction(op))
        reductions.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : reductions)
      rewrite(op, rewriter);
  }
};

} // namespace
