//===- GpuWarpReductions.cpp - One warp per output of a reduction ---------===//

#include "llmc/Transforms/Passes.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
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

/// The element of `op`'s operand `operand` at loop indices `dims`.
SmallVector<Value> indicesAt(OpBuilder &b, Location loc, linalg::GenericOp op,
                             OpOperand &operand, ValueRange dims) {
  AffineMap map = op.getMatchingIndexingMap(&operand);
  SmallVector<Value> indices;
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    indices.push_back(
        b.create<affine::AffineApplyOp>(loc, map.getSubMap({r}), dims));
  return indices;
}

/// Loads of `op`'s operand `operand` at loop indices `dims`.
Value loadAt(OpBuilder &b, Location loc, linalg::GenericOp op,
             OpOperand &operand, ValueRange dims) {
  Value source = operand.get();
  if (!isa<MemRefType>(source.getType()))
    return source;
  return b.create<memref::LoadOp>(loc, source,
                                  indicesAt(b, loc, op, operand, dims));
}

/// Stores `value` into `op`'s operand `operand` at loop indices `dims`.
void storeAt(OpBuilder &b, Location loc, Value value, linalg::GenericOp op,
             OpOperand &operand, ValueRange dims) {
  b.create<memref::StoreOp>(loc, value, operand.get(),
                            indicesAt(b, loc, op, operand, dims));
}

/// Elements each lane reduces per step, consecutive in memory: 16 bytes of
/// every input that varies along the reduction, when each has it as its
/// contiguous last dimension and the extent is a multiple of 32 steps; else
/// 1. `aligned` gets those inputs with no offset in their layout: their
/// pointer is an allocation's (the runtime's are 256-byte aligned), so the
/// loads can be 16-byte vectors.
int64_t elementsPerStep(linalg::GenericOp op, SmallVectorImpl<Value> &aligned) {
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
    if (!last || last.getPosition() != k ||
        failed(getStridesAndOffset(type, strides, offset)) ||
        strides.back() != 1)
      return 1;
    for (AffineExpr result : map.getResults().drop_back())
      if (result.isFunctionOfDim(k))
        return 1;
    elements = std::min<int64_t>(elements, kVectorBytes * 8 /
                                               type.getElementTypeBitWidth());
    if (offset == 0 && type.getLayout().isIdentity())
      aligned.push_back(input->get());
  }
  if (elements < 2 || *extent % (kWarp * elements) != 0) {
    aligned.clear();
    return 1;
  }
  return elements;
}

/// Clones a generic's body (its terminator aside) with `mapping` (the block
/// arguments mapped to loaded values), linalg.index i becoming ivs[i].
void cloneBody(OpBuilder &b, Block &body, IRMapping &mapping,
               ArrayRef<Value> ivs) {
  for (Operation &inner : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      mapping.map(index.getResult(), ivs[index.getDim()]);
      continue;
    }
    b.clone(inner, mapping);
  }
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
    if (!candidate || fill || candidate.getDpsInitOperand(0)->get() != buffer)
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

/// The generic on buffers that comes next after `op` with an effect on
/// memory (only allocations and pure ops between), if any.
linalg::GenericOp nextGeneric(linalg::GenericOp op) {
  Operation *next = op->getNextNode();
  while (next && (isa<memref::AllocOp>(next) || isMemoryEffectFree(next)))
    next = next->getNextNode();
  auto consumer = dyn_cast_or_null<linalg::GenericOp>(next);
  if (!consumer || !consumer.hasPureBufferSemantics())
    return {};
  return consumer;
}

/// Whether `consumer`'s outputs are allocations other than the reduction's
/// output and its inputs': fused, they are written while other warps still
/// read the reduction's inputs.
bool writesOtherBuffers(linalg::GenericOp op, linalg::GenericOp consumer) {
  for (OpOperand &result : consumer.getDpsInitsMutable()) {
    Operation *allocation = allocationOf(result.get());
    if (!allocation || result.get() == op.getDpsInitOperand(0)->get())
      return false;
    for (OpOperand *input : op.getDpsInputOperands())
      if (allocationOf(input->get()) == allocation)
        return false;
  }
  return true;
}

/// Whether anything but `op`, `consumer`, fills and deallocations uses the
/// reduction's output buffer.
bool outputReadElsewhere(linalg::GenericOp op, linalg::GenericOp consumer) {
  for (Operation *user : op.getDpsInitOperand(0)->get().getUsers())
    if (user != op.getOperation() && user != consumer.getOperation() &&
        !isa<linalg::FillOp, memref::DeallocOp>(user))
      return true;
  return false;
}

/// Maps `consumer`'s block arguments for its element at loop indices `ivs`:
/// the reduction's `output` to `result`, its other operands to loads.
void mapConsumerArguments(OpBuilder &b, Location loc,
                          linalg::GenericOp consumer, Value output,
                          Value result, ArrayRef<Value> ivs,
                          IRMapping &mapping) {
  Block &body = consumer.getRegion().front();
  for (OpOperand &operand : consumer->getOpOperands()) {
    BlockArgument arg = body.getArgument(operand.getOperandNumber());
    if (operand.get() == output)
      mapping.map(arg, result);
    else if (!arg.use_empty())
      mapping.map(arg, loadAt(b, loc, consumer, operand, ivs));
  }
}

/// Stores what `consumer`'s body (cloned with `mapping`) yields at loop
/// indices `ivs`.
void storeConsumerResults(OpBuilder &b, Location loc,
                          linalg::GenericOp consumer, IRMapping &mapping,
                          ArrayRef<Value> ivs) {
  auto yielded =
      cast<linalg::YieldOp>(consumer.getRegion().front().getTerminator());
  for (auto [value, init] :
       llvm::zip(yielded.getOperands(), consumer.getDpsInitsMutable()))
    storeAt(b, loc, mapping.lookupOrDefault(value), consumer, init, ivs);
}

/// An elementwise generic right after the reduction (only allocations and
/// pure ops between) that is the only reader of its output, through the
/// output map's permutation: its body runs in lane 0 on the total, and the
/// reduction's buffer is never written (a projection's bias, its rounding to
/// f16).
linalg::GenericOp fusableConsumer(linalg::GenericOp op) {
  Value buffer = op.getDpsInitOperand(0)->get();
  if (!buffer.getDefiningOp<memref::AllocOp>())
    return {};
  unsigned rank = op.getNumLoops();
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!AffineMap::get(rank - 1, 0, outMap.getResults(), op.getContext())
           .isPermutation())
    return {};
  linalg::GenericOp consumer = nextGeneric(op);
  if (!consumer || consumer.getNumLoops() != rank - 1 ||
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
      !consumer.getMatchingIndexingMap(use).isIdentity() ||
      outputReadElsewhere(op, consumer) || !writesOtherBuffers(op, consumer))
    return {};
  return consumer;
}

/// The generic after the reduction (only allocations and pure ops between)
/// that runs over the reduction's own loops, reading the total broadcast
/// along the reduction (the reduction's output map) and an operand the
/// reduction reads the same way (so both loop nests have the same extents):
/// a norm's scaling after its sum of squares, softmax's exponentials after
/// the maximum and its division after the sum. Every lane has the total
/// after the butterfly and runs the consumer on the elements it reduced.
linalg::GenericOp broadcastConsumer(linalg::GenericOp op) {
  Value buffer = op.getDpsInitOperand(0)->get();
  unsigned rank = op.getNumLoops();
  linalg::GenericOp consumer = nextGeneric(op);
  if (!consumer || consumer.getNumLoops() != rank ||
      consumer.getNumParallelLoops() != rank)
    return {};
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  OpOperand *use = nullptr;
  bool sameDomain = false;
  for (OpOperand &operand : consumer->getOpOperands()) {
    AffineMap map = consumer.getMatchingIndexingMap(&operand);
    if (operand.get() == buffer) {
      if (use || !consumer.isDpsInput(&operand) || map != outMap)
        return {};
      use = &operand;
      continue;
    }
    if (!consumer.isDpsInput(&operand) || !map.isPermutation())
      continue;
    for (OpOperand *input : op.getDpsInputOperands())
      if (input->get() == operand.get() &&
          op.getMatchingIndexingMap(input) == map)
        sameDomain = true;
  }
  if (!use || !sameDomain || !writesOtherBuffers(op, consumer))
    return {};
  return consumer;
}

/// Where a reduction's totals go: combined with the output's start (the
/// folded fill's value, or what the output holds) and stored, or through
/// the fused consumer's body into its outputs. `outer`: the parallel loop
/// indices of one output element.
struct ResultSink {
  linalg::GenericOp op;
  Operation *combiner;
  linalg::FillOp fill;
  linalg::GenericOp consumer;
  /// A consumer over the reduction's loops (broadcastConsumer): it runs in
  /// every lane instead; `storeTotal`: the output is read elsewhere too.
  linalg::GenericOp broadcast;
  bool storeTotal = true;

  void emit(OpBuilder &b, Location loc, Value total, ArrayRef<Value> outer) {
    OpOperand *output = op.getDpsInitOperand(0);
    SmallVector<Value> dims(outer);
    Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
    dims.push_back(zero); // the output's map does not use the reduction
    Value start = fill ? fill.getDpsInputOperand(0)->get()
                       : loadAt(b, loc, op, *output, dims);
    Value result = combine(b, loc, combiner, start, total);
    if (!consumer) {
      storeAt(b, loc, result, op, *output, dims);
      return;
    }
    // The consumer's body on this output element: its loop j is the
    // output's dimension j, the reduction's loop outMap(j).
    AffineMap outMap = op.getMatchingIndexingMap(output);
    SmallVector<Value> ivs;
    for (unsigned j = 0; j < outMap.getNumResults(); ++j)
      ivs.push_back(outer[outMap.getDimPosition(j)]);
    IRMapping mapping;
    mapConsumerArguments(b, loc, consumer, output->get(), result, ivs, mapping);
    cloneBody(b, consumer.getRegion().front(), mapping, ivs);
    storeConsumerResults(b, loc, consumer, mapping, ivs);
  }
};

/// The loop extents of `op`, as index values.
SmallVector<Value> loopSizes(OpBuilder &b, Location loc, linalg::GenericOp op) {
  return llvm::map_to_vector(
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc),
      [&](Range range) {
        return getValueOrCreateConstantIndexOp(b, loc, range.size);
      });
}

/// Outputs a warp computes at once along a parallel loop of static extent
/// that some input read along the reduction does not use (attention's keys
/// are the same for the query heads of a group): that input is loaded once
/// for all of them.
/// Not where an input that varies along the loop has a static shape (a
/// weight: a decode step's projection needs every warp it can get to read
/// the weights at full bandwidth, and sharing x, 4 KB, saves little; on an
/// H200 four outputs per warp made the 1B model's k/v projections 8.3 ->
/// 12 us). {loop, count}, or count 1.
std::pair<unsigned, int64_t> outputsPerWarp(linalg::GenericOp op) {
  constexpr int64_t kOutputs = 4;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (unsigned d = 0; d + 1 < op.getNumLoops(); ++d) {
    if (ShapedType::isDynamic(ranges[d]) || ranges[d] % kOutputs != 0)
      continue;
    bool shared = false, varying = false, weight = false;
    for (OpOperand *input : op.getDpsInputOperands()) {
      auto type = dyn_cast<MemRefType>(input->get().getType());
      if (!type)
        continue;
      AffineMap map = op.getMatchingIndexingMap(input);
      if (map.isFunctionOfDim(d)) {
        varying = true;
        weight |= type.hasStaticShape();
      } else if (map.isFunctionOfDim(op.getNumLoops() - 1)) {
        shared = true;
      }
    }
    if (shared && varying && !weight)
      return {d, kOutputs};
  }
  return {0, 1};
}

/// Warps per output: 8 (a block of 256 threads, the mapping's) where the
/// outputs that the op's static extents give are too few to fill a GPU with
/// warps (under 1024: a decode step's k/v projections, a norm's or
/// softmax's single row, whose extents are all dynamic); 2 under 4096 (a
/// decode step's 2048-output projections: 4096 warps, each 4 vector steps
/// per lane) where every warp keeps 4 steps of 16 bytes per lane and the
/// innermost static extent (the block's 4 outputs, next to the 2 warps)
/// divides by 4, so that no block is partial; else 1.
int64_t warpsPerOutput(linalg::GenericOp op, int64_t elements) {
  constexpr int64_t kWarpsPerBlock = 8, kFewOutputs = 1024,
                    kSomeOutputs = 4096;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t outputs = 1, innermost = 1;
  for (int64_t range : ArrayRef<int64_t>(ranges).drop_back())
    if (!ShapedType::isDynamic(range)) {
      outputs *= range;
      innermost = range;
    }
  if (outputs < kFewOutputs)
    return kWarpsPerBlock;
  int64_t extent = ranges.back();
  if (outputs < kSomeOutputs && elements > 1 && innermost % 4 == 0 &&
      !ShapedType::isDynamic(extent) &&
      extent % (kWarp * 2 * elements * 4) == 0)
    return 2;
  return 1;
}

/// The combination of `partial` over the warp's lanes, in every lane: a
/// butterfly of shuffles (16-bit values widen to 32 bits for them).
Value warpTotal(OpBuilder &b, Location loc, Operation *combiner,
                Value partial) {
  Type type = partial.getType();
  Type wide = type.getIntOrFloatBitWidth() < 32 ? b.getF32Type() : type;
  Value total = partial;
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
  return total;
}

/// One warp per output (or per `outputs` outputs): see the pass
/// description.
class WarpReduction {
public:
  WarpReduction(OpBuilder &builder, Location loc, linalg::GenericOp op,
                ResultSink &sink)
      : loc(loc), op(op), sink(sink), body(op.getRegion().front()) {
    type = cast<MemRefType>(op.getDpsInitOperand(0)->get().getType())
               .getElementType();
    sizes = loopSizes(builder, loc, op);
    zero = builder.create<arith::ConstantIndexOp>(loc, 0);
    one = builder.create<arith::ConstantIndexOp>(loc, 1);
    lanes = builder.create<arith::ConstantIndexOp>(loc, kWarp);
    elements = elementsPerStep(op, aligned);
    // A broadcast consumer runs over the same elements of each lane: its
    // buffers with no offset are as aligned (norm weights, the result).
    if (sink.broadcast && elements > 1)
      for (Value operand : sink.broadcast->getOperands())
        if (auto type = dyn_cast<MemRefType>(operand.getType()))
          if (type.getLayout().isIdentity() && !llvm::is_contained(aligned, operand))
            aligned.push_back(operand);
    // Several outputs per warp (not with a broadcast consumer, which runs
    // over the reduction of one output); then one step per iteration, for
    // the registers.
    if (!sink.broadcast)
      std::tie(sharedLoop, outputs) = outputsPerWarp(op);
    if (outputs == 1)
      split = warpsPerOutput(op, elements);
    // Vector steps need the reduction to divide among the warps' lanes;
    // else a lane takes one element at a time (the loop's bound keeps it
    // within the extent).
    if (split > 1 && elements > 1 &&
        op.getStaticLoopRanges().back() % (kWarp * split * elements) != 0)
      elements = 1;
    perStep = builder.create<arith::ConstantIndexOp>(loc, elements);
    // Steps per loop iteration: each lane's loads of `unroll` steps are in
    // flight together, summed into as many partial results.
    if (elements > 1 && outputs == 1) {
      int64_t perLane =
          op.getStaticLoopRanges().back() / (kWarp * split * elements);
      unroll = perLane % 4 == 0 ? 4 : perLane % 2 == 0 ? 2 : 1;
    }
    stride =
        builder.create<arith::ConstantIndexOp>(loc, kWarp * split * elements);
    unrolledStride = builder.create<arith::ConstantIndexOp>(
        loc, kWarp * split * elements * unroll);
  }

  void build(OpBuilder &builder) {
    unsigned rank = op.getNumLoops();
    SmallVector<Value> lower(rank, zero), steps(rank, one);
    SmallVector<Value> upper(sizes.begin(), sizes.end() - 1);
    upper.push_back(lanes);
    if (outputs > 1)
      upper[sharedLoop] = builder.create<arith::ConstantIndexOp>(
          loc, op.getStaticLoopRanges()[sharedLoop] / outputs);
    // The loop's dimensions: those of dynamic extent outermost, then the
    // static ones, then the warps of one output, then the lanes (each group
    // in the op's order). A block's warps take the dimensions next to the
    // lanes: static ones fill it, where a dynamic one (a decode step's
    // single row) would leave all but one of its warps idle.
    SmallVector<unsigned> order;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    for (bool isStatic : {false, true})
      for (unsigned d = 0; d + 1 < rank; ++d)
        if (ShapedType::isDynamic(ranges[d]) != isStatic)
          order.push_back(d);
    SmallVector<Value> orderedUpper;
    for (unsigned d : order)
      orderedUpper.push_back(upper[d]);
    if (split > 1) {
      orderedUpper.push_back(
          builder.create<arith::ConstantIndexOp>(loc, split));
      lower.push_back(zero);
      steps.push_back(one);
    }
    orderedUpper.push_back(lanes);
    builder.create<scf::ParallelOp>(
        loc, lower, orderedUpper, steps,
        [&](OpBuilder &b, Location, ValueRange ordered) {
          SmallVector<Value> ivs(rank);
          for (auto [position, d] : llvm::enumerate(order))
            ivs[d] = ordered[position];
          ivs[rank - 1] = ordered.back();
          warpOfOutput = split > 1 ? ordered[ordered.size() - 2] : zero;
          warp(b, ivs);
        });
  }

private:
  /// The body of the parallel loop: one warp's outputs.
  void warp(OpBuilder &b, ValueRange ivs) {
    Value lane = ivs.back();
    // The parallel indices of each output of this warp.
    SmallVector<SmallVector<Value>> outers(outputs,
                                           SmallVector<Value>(ivs.drop_back()));
    if (outputs > 1)
      for (int64_t r = 0; r < outputs; ++r)
        outers[r][sharedLoop] = b.create<arith::AddIOp>(
            loc,
            b.create<arith::MulIOp>(
                loc, ivs[sharedLoop],
                b.create<arith::ConstantIndexOp>(loc, outputs)),
            b.create<arith::ConstantIndexOp>(loc, r));
    for (Value input : aligned)
      b.create<memref::AssumeAlignmentOp>(loc, input, kVectorBytes);
    // Each lane: `elements` consecutive elements from lane * elements, then
    // 32 * elements further on, and so on: a warp's loads cover consecutive
    // memory, each lane's as one vector where aligned. With several warps
    // per output, warp w's lanes start at (32 * w + lane) * elements and
    // step 32 * warps * elements.
    Value start = lane;
    if (split > 1)
      start = b.create<arith::AddIOp>(
          loc, b.create<arith::MulIOp>(loc, warpOfOutput, lanes), lane);
    start = b.create<arith::MulIOp>(loc, start, perStep);
    scf::ForOp loop = partials(b, start, outers);
    // Per output: the partial results, then the warp's total.
    SmallVector<Value> totals;
    for (int64_t r = 0; r < outputs; ++r) {
      Value total = loop.getResult(r);
      for (int64_t u = 1; u < unroll; ++u)
        total = combine(b, loc, sink.combiner, total,
                        loop.getResult(u * outputs + r));
      totals.push_back(warpTotal(b, loc, sink.combiner, total));
    }
    Value first =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, lane, zero);
    if (split > 1) {
      totals[0] = blockTotal(b, totals[0], first);
      first = b.create<arith::AndIOp>(
          loc, first,
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, warpOfOutput,
                                  zero));
    }
    if (!sink.broadcast) {
      b.create<scf::IfOp>(loc, first, [&](OpBuilder &ib, Location loc) {
        for (int64_t r = 0; r < outputs; ++r)
          sink.emit(ib, loc, totals[r], outers[r]);
        ib.create<scf::YieldOp>(loc);
      });
      return;
    }
    // Every lane: the output's value, then the consumer on the elements it
    // reduced.
    OpOperand *output = op.getDpsInitOperand(0);
    SmallVector<Value> dims = outers[0];
    dims.push_back(zero);
    Value begin = sink.fill ? sink.fill.getDpsInputOperand(0)->get()
                            : loadAt(b, loc, op, *output, dims);
    Value result = combine(b, loc, sink.combiner, begin, totals[0]);
    if (sink.storeTotal)
      b.create<scf::IfOp>(loc, first, [&](OpBuilder &ib, Location loc) {
        storeAt(ib, loc, result, op, *output, dims);
        ib.create<scf::YieldOp>(loc);
      });
    broadcastConsumer(b, start, outers[0], result);
  }

  /// The total of the output's warps, in every lane of each: each warp's
  /// lane 0 puts the warp's total in shared memory, and after a barrier
  /// every lane combines those of its output's warps (in the same order:
  /// the same value everywhere). The slots are the warps of the block, in
  /// the order of their threads: the mapping gives the lanes to x and the
  /// output's warps to y, so those of an output are consecutive.
  Value blockTotal(OpBuilder &b, Value total, Value first) {
    constexpr int64_t kMaxWarps = 1024 / kWarp;
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    Value shared = b.create<memref::AllocaOp>(
        loc, MemRefType::get({kMaxWarps}, total.getType(),
                             MemRefLayoutAttrInterface(), workgroup));
    auto thread = [&](gpu::Dimension d) -> Value {
      return b.create<gpu::ThreadIdOp>(loc, d);
    };
    auto size = [&](gpu::Dimension d) -> Value {
      return b.create<gpu::BlockDimOp>(loc, d);
    };
    // (z * size_y + y) * size_x + x, over 32.
    Value linear = b.create<arith::AddIOp>(
        loc,
        b.create<arith::MulIOp>(
            loc,
            b.create<arith::AddIOp>(
                loc,
                b.create<arith::MulIOp>(loc, thread(gpu::Dimension::z),
                                        size(gpu::Dimension::y)),
                thread(gpu::Dimension::y)),
            size(gpu::Dimension::x)),
        thread(gpu::Dimension::x));
    Value slot = b.create<arith::DivUIOp>(loc, linear, lanes);
    Value base = b.create<arith::SubIOp>(loc, slot, warpOfOutput);
    b.create<scf::IfOp>(loc, first, [&](OpBuilder &ib, Location loc) {
      ib.create<memref::StoreOp>(loc, total, shared, slot);
      ib.create<scf::YieldOp>(loc);
    });
    b.create<gpu::BarrierOp>(loc);
    Value result = b.create<memref::LoadOp>(loc, shared, base);
    for (int64_t w = 1; w < split; ++w)
      result = combine(
          b, loc, sink.combiner, result,
          b.create<memref::LoadOp>(
              loc, shared,
              ValueRange{b.create<arith::AddIOp>(
                  loc, base, b.create<arith::ConstantIndexOp>(loc, w))}));
    return result;
  }

  /// The offsets of one loop iteration's elements: `unroll` steps of
  /// `elements`, `32 * split * elements` apart.
  SmallVector<Value> offsets(OpBuilder &b, Value k0) {
    SmallVector<Value> ks;
    for (int64_t u = 0; u < unroll; ++u)
      for (int64_t e = 0; e < elements; ++e) {
        int64_t offset = u * kWarp * split * elements + e;
        ks.push_back(
            offset == 0
                ? k0
                : b.create<arith::AddIOp>(
                      loc, k0, b.create<arith::ConstantIndexOp>(loc, offset)));
      }
    return ks;
  }

  /// The lane's loop over the reduction: a partial result per step of an
  /// iteration and per output. Every load first (once for the inputs the
  /// outputs share), then the bodies.
  scf::ForOp partials(OpBuilder &b, Value start,
                      ArrayRef<SmallVector<Value>> outers) {
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    SmallVector<Value> identities(unroll * outputs,
                                  identity(b, loc, sink.combiner, type));
    return b.create<scf::ForOp>(
        loc, start, sizes.back(), unrolledStride, identities,
        [&](OpBuilder &fb, Location loc, Value k0, ValueRange partial) {
          SmallVector<Value> ks = offsets(fb, k0);
          size_t count = ks.size() * outputs;
          SmallVector<IRMapping> mappings(count);
          SmallVector<SmallVector<Value>> dims(count);
          for (auto [i, k] : llvm::enumerate(ks))
            for (int64_t r = 0; r < outputs; ++r) {
              size_t at = i * outputs + r;
              dims[at] = outers[r];
              dims[at].push_back(k);
              for (OpOperand *input : op.getDpsInputOperands()) {
                BlockArgument arg = body.getArgument(input->getOperandNumber());
                bool shared =
                    r > 0 && !op.getMatchingIndexingMap(input).isFunctionOfDim(
                                 sharedLoop);
                mappings[at].map(
                    arg, shared ? mappings[i * outputs].lookup(arg)
                                : loadAt(fb, loc, op, *input, dims[at]));
              }
            }
          SmallVector<Value> accs(partial);
          for (size_t at = 0; at < count; ++at) {
            size_t step = at / outputs / elements;
            Value &acc = accs[step * outputs + at % outputs];
            mappings[at].map(body.getArgument(op.getNumDpsInputs()), acc);
            cloneBody(fb, body, mappings[at], dims[at]);
            acc = mappings[at].lookupOrDefault(yield.getOperand(0));
          }
          fb.create<scf::YieldOp>(loc, accs);
        });
  }

  /// The broadcast consumer on the elements this lane reduced, `unroll`
  /// steps of `elements` per iteration like the reduction's: every load of
  /// an iteration first, then the bodies, then the stores, so the loads are
  /// in flight together (a store may alias them for all ptxas knows).
  void broadcastConsumer(OpBuilder &b, Value start, ArrayRef<Value> outer,
                         Value result) {
    linalg::GenericOp consumer = sink.broadcast;
    Block &epilogue = consumer.getRegion().front();
    Value output = op.getDpsInitOperand(0)->get();
    b.create<scf::ForOp>(
        loc, start, sizes.back(), unrolledStride, ValueRange{},
        [&](OpBuilder &fb, Location loc, Value k0, ValueRange) {
          SmallVector<Value> ks = offsets(fb, k0);
          SmallVector<SmallVector<Value>> ivs;
          SmallVector<IRMapping> mappings(ks.size());
          for (auto [i, k] : llvm::enumerate(ks)) {
            ivs.push_back(SmallVector<Value>(outer));
            ivs.back().push_back(k);
            mapConsumerArguments(fb, loc, consumer, output, result, ivs[i],
                                 mappings[i]);
          }
          for (size_t i = 0; i < ks.size(); ++i)
            cloneBody(fb, epilogue, mappings[i], ivs[i]);
          for (size_t i = 0; i < ks.size(); ++i)
            storeConsumerResults(fb, loc, consumer, mappings[i], ivs[i]);
          fb.create<scf::YieldOp>(loc);
        });
  }

  Location loc;
  linalg::GenericOp op;
  ResultSink &sink;
  Block &body;
  Type type;
  SmallVector<Value> sizes, aligned;
  Value zero, one, lanes, perStep, stride, unrolledStride;
  /// The warp's index among those of its output (0 with one warp each).
  Value warpOfOutput;
  int64_t elements = 1, unroll = 1, outputs = 1, split = 1;
  unsigned sharedLoop = 0;
};

void buildWarpReduction(OpBuilder &builder, Location loc, linalg::GenericOp op,
                        ResultSink &sink) {
  WarpReduction(builder, loc, op, sink).build(builder);
}

/// Outputs from which a reduction that is no projection, and whose threads
/// read contiguously, runs a thread per output (a prefill's attention
/// values: a warp per output would read v across rows, 32 of them per
/// load); fewer (a decode step's: one query row) keep a warp per output,
/// whose lanes share each sum.
constexpr int64_t kThreadOutputs = 32768;

/// Whether consecutive threads over the innermost parallel loop read
/// consecutive elements: every input that varies along that loop has it as
/// its last index (attention's values: a thread per output reads v[t, d]
/// along d, while a warp's lanes would read 32 rows t), and the output
/// too.
bool threadsReadContiguously(linalg::GenericOp op) {
  unsigned inner = op.getNumLoops() - 2;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (!isa<MemRefType>(operand.get().getType()) ||
        !map.isFunctionOfDim(inner))
      continue;
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (!last || last.getPosition() != inner)
      return false;
  }
  return true;
}

/// One thread per output, in the op's loop order (the innermost on
/// consecutive threads), the reduction a loop in each: the fill folded, the
/// result through the sink like a warp's total.
void buildThreadReduction(OpBuilder &builder, Location loc,
                          linalg::GenericOp op, ResultSink &sink) {
  SmallVector<Value> sizes = loopSizes(builder, loc, op);
  unsigned rank = op.getNumLoops();
  Value zero = builder.create<arith::ConstantIndexOp>(loc, 0);
  Value one = builder.create<arith::ConstantIndexOp>(loc, 1);
  Type type =
      cast<MemRefType>(op.getDpsInitOperand(0)->get().getType()).getElementType();
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  builder.create<scf::ParallelOp>(
      loc, SmallVector<Value>(rank - 1, zero), ArrayRef(sizes).drop_back(),
      SmallVector<Value>(rank - 1, one),
      [&](OpBuilder &b, Location, ValueRange outer) {
        auto loop = b.create<scf::ForOp>(
            loc, zero, sizes.back(), one,
            ValueRange{identity(b, loc, sink.combiner, type)},
            [&](OpBuilder &fb, Location, Value k, ValueRange acc) {
              SmallVector<Value> dims(outer);
              dims.push_back(k);
              IRMapping mapping;
              for (OpOperand *input : op.getDpsInputOperands())
                mapping.map(body.getArgument(input->getOperandNumber()),
                            loadAt(fb, loc, op, *input, dims));
              mapping.map(body.getArgument(op.getNumDpsInputs()), acc[0]);
              cloneBody(fb, body, mapping, dims);
              fb.create<scf::YieldOp>(
                  loc, mapping.lookupOrDefault(yield.getOperand(0)));
            });
        sink.emit(b, loc, loop.getResult(0), SmallVector<Value>(outer));
      });
}

//===----------------------------------------------------------------------===//
// Tensor cores
//===----------------------------------------------------------------------===//

/// Rows from which a contraction runs on tensor cores: fewer (a decode
/// step's rows) stay with a warp per output, which reads the weights with
/// 16-byte loads and wastes no tensor-core rows. Attention's (batched)
/// contractions from 16: a decode step's 8 query heads of a group would
/// make a grid of a few blocks, each stepping through all the keys.
constexpr int64_t kMmaMinRows = 8, kBatchedMmaMinRows = 16;

/// A contraction y[batch, rows, n] += x[batch, rows, k] * w[batch, n, k]
/// of f16 operands into f32, the shape `mma.sync.m16n8k16` takes: a
/// projection (no batch loops, w a weight [n, k]) or attention's scores
/// (batch: sequence and key-value head, rows: the group's query heads and
/// the queries, n: the keys, w the cache's keys). k is the last loop and
/// x's last, contiguous index.
struct MmaContraction {
  OpOperand *x = nullptr, *w = nullptr;
  unsigned nDim = 0;
  SmallVector<unsigned> rowDims;   // the loops only x uses, in order
  SmallVector<unsigned> batchDims; // the parallel loops both use
  int64_t n = 0, k = 0;            // n may be dynamic
};

std::optional<MmaContraction> matchMma(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || !isWarpReduction(op) ||
      !isa<arith::AddFOp>(combinerOf(op)))
    return std::nullopt;
  unsigned rank = op.getNumLoops(), kDim = rank - 1;
  auto elementOf = [](Value v) {
    return cast<MemRefType>(v.getType()).getElementType();
  };
  if (!elementOf(op.getDpsInitOperand(0)->get()).isF32())
    return std::nullopt;
  // The body: out + extf(a) * extf(b).
  Block &body = op.getRegion().front();
  auto add = cast<arith::AddFOp>(combinerOf(op));
  Value product =
      add.getLhs() == body.getArgument(2) ? add.getRhs() : add.getLhs();
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul || body.getOperations().size() != 5)
    return std::nullopt;
  SmallVector<unsigned> extended;
  for (Value factor : {mul.getLhs(), mul.getRhs()}) {
    auto ext = factor.getDefiningOp<arith::ExtFOp>();
    auto arg = ext ? dyn_cast<BlockArgument>(ext.getIn()) : BlockArgument();
    if (!arg || !arg.getType().isF16())
      return std::nullopt;
    extended.push_back(arg.getArgNumber());
  }
  if (extended[0] == extended[1])
    return std::nullopt;
  for (OpOperand *input : op.getDpsInputOperands())
    if (!op.getMatchingIndexingMap(input).isProjectedPermutation())
      return std::nullopt;
  // The weight: w uses exactly one parallel loop that x does not (n); a
  // static n is preferred (a projection's weight over its activations).
  MmaContraction mma;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (bool wantStatic : {true, false}) {
    for (OpOperand *input : op.getDpsInputOperands()) {
      OpOperand *other =
          op.getDpsInputOperand(input == op.getDpsInputOperand(0) ? 1 : 0);
      AffineMap map = op.getMatchingIndexingMap(input);
      AffineMap otherMap = op.getMatchingIndexingMap(other);
      SmallVector<unsigned> own;
      for (unsigned d = 0; d < kDim; ++d)
        if (map.isFunctionOfDim(d) && !otherMap.isFunctionOfDim(d))
          own.push_back(d);
      if (mma.w || own.size() != 1 || !map.isFunctionOfDim(kDim) ||
          ShapedType::isDynamic(ranges[own[0]]) == wantStatic)
        continue;
      mma.w = input;
      mma.x = other;
      mma.nDim = own[0];
    }
  }
  if (!mma.w)
    return std::nullopt;
  // x: its last index k, contiguous; w: k last too (w[n, k]) unless it is
  // a weight [k, n] of two indices.
  AffineMap xMap = op.getMatchingIndexingMap(mma.x);
  AffineMap wMap = op.getMatchingIndexingMap(mma.w);
  auto xType = cast<MemRefType>(mma.x->get().getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  auto xLast = dyn_cast<AffineDimExpr>(xMap.getResults().back());
  if (!xLast || xLast.getPosition() != kDim ||
      failed(getStridesAndOffset(xType, strides, offset)) ||
      strides.back() != 1)
    return std::nullopt;
  for (unsigned d = 0; d < kDim; ++d) {
    if (d == mma.nDim)
      continue;
    if (wMap.isFunctionOfDim(d))
      mma.batchDims.push_back(d);
    else if (xMap.isFunctionOfDim(d))
      mma.rowDims.push_back(d);
    else
      return std::nullopt; // a loop neither uses: not a contraction
  }
  mma.n = ranges[mma.nDim];
  mma.k = ranges[kDim];
  // Batches, a dynamic n or k (attention's keys): the block tiles only, in
  // steps of 64 (a dynamic k's last tile filled with zeros).
  bool general = !mma.batchDims.empty() || ShapedType::isDynamic(mma.n) ||
                 ShapedType::isDynamic(mma.k);
  if (general && ((!ShapedType::isDynamic(mma.k) && mma.k % 64 != 0) ||
                  (!ShapedType::isDynamic(mma.n) && mma.n % 64 != 0)))
    return std::nullopt;
  if (!general &&
      (wMap.getNumResults() != 2 || mma.n % 8 != 0 || mma.k % 16 != 0))
    return std::nullopt;
  return mma;
}

/// A tensor-core fragment of 16-bit pairs: vector<Nx2xf16> from N (first,
/// second).
Value packFragment(OpBuilder &b, Location loc,
                   ArrayRef<std::pair<Value, Value>> halves) {
  auto type = VectorType::get({int64_t(halves.size()), 2}, b.getF16Type());
  Value vector = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(type, b.getF16FloatAttr(0)));
  for (auto [i, two] : llvm::enumerate(halves)) {
    Value pair = b.create<vector::FromElementsOp>(
        loc, VectorType::get({2}, b.getF16Type()),
        ValueRange{two.first, two.second});
    vector = b.create<vector::InsertOp>(loc, pair, vector,
                                        ArrayRef<int64_t>{int64_t(i)});
  }
  return vector;
}

/// The row count of `mma` (the product of its row loops' extents).
Value rowCount(OpBuilder &b, Location loc, const MmaContraction &mma,
               ArrayRef<Value> sizes) {
  Value rows = b.create<arith::ConstantIndexOp>(loc, 1);
  for (unsigned d : mma.rowDims)
    rows = b.create<arith::MulIOp>(loc, rows, sizes[d]);
  return rows;
}

/// What both tensor-core builders share: the op, its contraction, where
/// the totals go, its loop extents and row count, and small helpers.
class MmaKernel {
protected:
  MmaKernel(OpBuilder &builder, Location loc, linalg::GenericOp op,
            const MmaContraction &mma, ResultSink &sink)
      : loc(loc), op(op), mma(mma), sink(sink), rank(op.getNumLoops()),
        kDim(rank - 1) {
    sizes = loopSizes(builder, loc, op);
    rows = rowCount(builder, loc, mma, sizes);
    zero = index(builder, 0);
  }

  Value index(OpBuilder &b, int64_t v) {
    return b.create<arith::ConstantIndexOp>(loc, v);
  }
  Value pack(OpBuilder &b, ArrayRef<std::pair<Value, Value>> halves) {
    return packFragment(b, loc, halves);
  }

  Location loc;
  linalg::GenericOp op;
  const MmaContraction &mma;
  ResultSink &sink;
  unsigned rank, kDim;
  SmallVector<Value> sizes;
  Value rows, zero;
};

/// Warps of 16 rows x (8 x subtiles) columns on tensor cores: each lane
/// holds the mma.sync.m16n8k16 fragments of the PTX ISA layout (A: rows
/// lane/4 and +8, columns 2 (lane%4) + {0, 1} and +8; B: rows (k)
/// 2 (lane%4) + {0, 1} and +8, column (n) lane/4; C: rows lane/4 and +8,
/// columns 2 (lane%4) + {0, 1}), loaded from global memory (L1/L2) every
/// 16 steps of k; rows past the end read the last row and are not stored.
class MmaTiles : MmaKernel {
public:
  MmaTiles(OpBuilder &builder, Location loc, linalg::GenericOp op,
           const MmaContraction &mma, ResultSink &sink)
      : MmaKernel(builder, loc, op, mma, sink) {
    // Two 8-column subtiles per warp: the A fragment serves both, and a
    // prefill of ~128 rows still has a warp for every 16 x 16 outputs (four
    // subtiles left the 2048-column projections one wave of 64 blocks).
    subtiles = mma.n % 16 == 0 ? 2 : 1;
  }

  void build(OpBuilder &builder) {
    Value rowTiles = builder.create<arith::DivUIOp>(
        loc, builder.create<arith::AddIOp>(loc, rows, index(builder, 15)),
        index(builder, 16));
    Value one = index(builder, 1);
    builder.create<scf::ParallelOp>(
        loc, ValueRange{zero, zero, zero},
        ValueRange{rowTiles, index(builder, mma.n / (8 * subtiles)),
                   index(builder, kWarp)},
        ValueRange{one, one, one},
        [&](OpBuilder &b, Location, ValueRange ivs) { warp(b, ivs); });
  }

private:
  /// The loop indices of a row: its position in each row loop.
  SmallVector<Value> rowIndices(OpBuilder &b, Value row) {
    SmallVector<Value> dims(rank, zero);
    for (unsigned d : llvm::reverse(mma.rowDims)) {
      dims[d] = b.create<arith::RemUIOp>(loc, row, sizes[d]);
      row = b.create<arith::DivUIOp>(loc, row, sizes[d]);
    }
    return dims;
  }

  /// One warp's 16 x (8 x subtiles) outputs.
  void warp(OpBuilder &b, ValueRange ivs) {
    Value lane = ivs[2];
    group = b.create<arith::DivUIOp>(loc, lane, index(b, 4));
    pair = b.create<arith::MulIOp>(
        loc, b.create<arith::RemUIOp>(loc, lane, index(b, 4)), index(b, 2));
    Value firstRow = b.create<arith::AddIOp>(
        loc, b.create<arith::MulIOp>(loc, ivs[0], index(b, 16)), group);
    Value lastRow = b.create<arith::SubIOp>(loc, rows, index(b, 1));
    // Rows past the end load the last row (and are not stored).
    for (int64_t half = 0; half < 2; ++half) {
      Value row = b.create<arith::AddIOp>(loc, firstRow, index(b, 8 * half));
      fragmentRows.push_back(row);
      loadRows.push_back(
          rowIndices(b, b.create<arith::MinUIOp>(loc, row, lastRow)));
    }
    firstCol = b.create<arith::MulIOp>(loc, ivs[1], index(b, 8 * subtiles));
    auto cType = VectorType::get({2, 2}, b.getF32Type());
    Value zeros = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(cType, b.getF32FloatAttr(0.0f)));
    SmallVector<Value> accs(subtiles, zeros);
    auto loop = b.create<scf::ForOp>(
        loc, zero, sizes[kDim], index(b, 16), accs,
        [&](OpBuilder &fb, Location, Value k0, ValueRange partial) {
          fb.create<scf::YieldOp>(loc, step(fb, k0, partial));
        });
    store(b, loop);
  }

  /// 16 steps of k: the A fragment, then each subtile's B and mma.sync.
  SmallVector<Value> step(OpBuilder &b, Value k0, ValueRange partial) {
    auto at = [&](int64_t offset) -> Value {
      return b.create<arith::AddIOp>(
          loc, b.create<arith::AddIOp>(loc, k0, pair), index(b, offset));
    };
    // A: rows (lane/4, +8) x columns (pair, +1) and +8.
    auto loadX = [&](int64_t half, int64_t offset) {
      SmallVector<Value> dims = loadRows[half];
      dims[kDim] = at(offset);
      return loadAt(b, loc, op, *mma.x, dims);
    };
    SmallVector<std::pair<Value, Value>> aHalves;
    for (auto [half, column] : {std::pair{0, 0}, {1, 0}, {0, 8}, {1, 8}})
      aHalves.push_back({loadX(half, column), loadX(half, column + 1)});
    Value a = pack(b, aHalves);
    SmallVector<Value> results;
    for (int64_t t = 0; t < subtiles; ++t) {
      // B: k (pair, +1) and +8 x column lane/4 of subtile t.
      SmallVector<Value> dims(rank, zero);
      dims[mma.nDim] = b.create<arith::AddIOp>(
          loc, firstCol, b.create<arith::AddIOp>(loc, group, index(b, 8 * t)));
      auto loadW = [&](int64_t offset) {
        dims[kDim] = at(offset);
        return loadAt(b, loc, op, *mma.w, dims);
      };
      SmallVector<std::pair<Value, Value>> bHalves;
      for (int64_t offset : {0, 8})
        bHalves.push_back({loadW(offset), loadW(offset + 1)});
      results.push_back(b.create<nvgpu::MmaSyncOp>(
          loc, a, pack(b, bHalves), partial[t], ArrayRef<int64_t>{16, 8, 16}));
    }
    return results;
  }

  /// C: rows (lane/4, +8) x columns (pair, +1) of each subtile, rows inside
  /// only.
  void store(OpBuilder &b, scf::ForOp loop) {
    for (int64_t t = 0; t < subtiles; ++t)
      for (int64_t half = 0; half < 2; ++half) {
        Value inside = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult,
                                               fragmentRows[half], rows);
        b.create<scf::IfOp>(loc, inside, [&](OpBuilder &ib, Location) {
          SmallVector<Value> dims = rowIndices(ib, fragmentRows[half]);
          Value values = ib.create<vector::ExtractOp>(loc, loop.getResult(t),
                                                      ArrayRef<int64_t>{half});
          for (int64_t j = 0; j < 2; ++j) {
            dims[mma.nDim] = ib.create<arith::AddIOp>(
                loc, firstCol,
                ib.create<arith::AddIOp>(loc, pair, index(ib, 8 * t + j)));
            Value total =
                ib.create<vector::ExtractOp>(loc, values, ArrayRef<int64_t>{j});
            sink.emit(ib, loc, total, ArrayRef<Value>(dims).drop_back());
          }
          ib.create<scf::YieldOp>(loc);
        });
      }
  }

  int64_t subtiles = 1;
  // Per warp: lane / 4, 2 (lane % 4), its first column, its two fragment
  // rows and the loop indices they load from.
  Value group, pair, firstCol;
  SmallVector<Value> fragmentRows;
  SmallVector<SmallVector<Value>> loadRows;
};

/// Blocks of 8 warps for 64 x 64 outputs on tensor cores, with tiles of x
/// and w (64 rows of each) staged in shared memory. Where both operands
/// have k as their last index and rows 16-byte aligned, tiles of 32 steps
/// of k are copied with cp.async into a ring of 4 stages (see pipeline());
/// else tiles of 64 steps go through registers, the block's 256 threads
/// loading 8 elements at a time (16-byte loads where aligned), the next
/// tile's loads in flight while the warps run mma.sync on the current one.
/// Warp v takes rows 32 (v / 4) + [0, 32) and columns 16 (v % 4) + [0, 16)
/// of the block's: 2 x 2 m16n8k16 tiles, their fragments read from shared
/// memory, whose rows are padded by 8 elements (a fragment's 32-bit reads
/// fall in 32 different banks). Batch loops (attention's) are grid
/// dimensions. Rows and columns past the end load the last one and are not
/// stored; a dynamic k's last tile reads zeros of x. Needs the mapping's 256
/// threads per block: the warps and lanes are the block's threads.
class BlockMmaTiles : MmaKernel {
public:
  static constexpr int64_t kRows = 64, kCols = 64, kSteps = 64, kWarps = 8,
                           kThreads = kWarps * kWarp;
  /// The asynchronous copies' pipeline: 4 stages of 32 steps of k.
  static constexpr int64_t kStages = 4, kStageSteps = 32;

  static bool fits(const MmaContraction &mma) {
    return (ShapedType::isDynamic(mma.n) || mma.n % kCols == 0) &&
           (ShapedType::isDynamic(mma.k) || mma.k % kSteps == 0);
  }

  BlockMmaTiles(OpBuilder &builder, Location loc, linalg::GenericOp op,
                const MmaContraction &mma, ResultSink &sink, bool asyncCopies)
      : MmaKernel(builder, loc, op, mma, sink) {
    // Tiles copy straight into shared memory (cp.async, 16 bytes) where a
    // chunk's 8 steps of k are 8 consecutive elements of each operand and
    // 16-byte aligned: both row-major with no offset, k their last index
    // (not GPT-2's Conv1D weights [k, n]: on an H200 those cp.async
    // faulted, misaligned), a static last extent divisible by 8.
    async = asyncCopies && !ShapedType::isDynamic(mma.k) &&
            mma.k % kStageSteps == 0;
    for (OpOperand *operand : {mma.x, mma.w}) {
      auto type = cast<MemRefType>(operand->get().getType());
      auto last = dyn_cast<AffineDimExpr>(
          op.getMatchingIndexingMap(operand).getResults().back());
      async &= last && last.getPosition() == kDim &&
               type.getLayout().isIdentity() &&
               !ShapedType::isDynamic(type.getShape().back()) &&
               type.getShape().back() % 8 == 0;
    }
    tileSteps = async ? kStageSteps : kSteps;
    padded = tileSteps + 8;
    stages = async ? kStages : 1;
  }

  void build(OpBuilder &builder) {
    Value one = index(builder, 1);
    auto blocks = [&](Value extent, int64_t tile) -> Value {
      return builder.create<arith::DivUIOp>(
          loc, builder.create<arith::AddIOp>(loc, extent, index(builder, tile - 1)),
          index(builder, tile));
    };
    // The batch loops, then the tiles of rows and columns, the warps and
    // their lanes.
    SmallVector<Value> upper;
    for (unsigned d : mma.batchDims)
      upper.push_back(sizes[d]);
    upper.append({blocks(rows, kRows), blocks(sizes[mma.nDim], kCols),
                  index(builder, kWarps), index(builder, kWarp)});
    builder.create<scf::ParallelOp>(
        loc, SmallVector<Value>(upper.size(), zero), upper,
        SmallVector<Value>(upper.size(), one),
        [&](OpBuilder &b, Location, ValueRange ivs) {
          ValueRange batchIvs = ivs.drop_back(4);
          batch.assign(batchIvs.begin(), batchIvs.end());
          block(b, ivs.take_back(4));
        });
  }

private:
  Value add(OpBuilder &b, Value x, int64_t v) {
    return v == 0 ? x : b.create<arith::AddIOp>(loc, x, index(b, v));
  }

  /// The loop indices of a row of the block's batch: its position in each
  /// row loop, the batch's in each batch loop.
  SmallVector<Value> rowIndices(OpBuilder &b, Value row) {
    SmallVector<Value> dims = batchIndices();
    for (unsigned d : llvm::reverse(mma.rowDims)) {
      dims[d] = b.create<arith::RemUIOp>(loc, row, sizes[d]);
      row = b.create<arith::DivUIOp>(loc, row, sizes[d]);
    }
    return dims;
  }

  /// Loop indices with the block's batch, 0 elsewhere.
  SmallVector<Value> batchIndices() {
    SmallVector<Value> dims(rank, zero);
    for (auto [d, iv] : llvm::zip(mma.batchDims, batch))
      dims[d] = iv;
    return dims;
  }

  void block(OpBuilder &b, ValueRange ivs) {
    Value warp = ivs[2], lane = ivs[3];
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    auto tileType = MemRefType::get({stages, kRows, padded}, b.getF16Type(),
                                    MemRefLayoutAttrInterface(), workgroup);
    sharedX = b.create<memref::AllocaOp>(loc, tileType);
    sharedW = b.create<memref::AllocaOp>(loc, tileType);
    // Row-major buffers with no offset are allocations' (256-byte aligned):
    // 8 elements from a multiple of 8 load as one 16-byte vector.
    for (OpOperand *operand : {mma.x, mma.w}) {
      auto type = cast<MemRefType>(operand->get().getType());
      if (type.getLayout().isIdentity())
        b.create<memref::AssumeAlignmentOp>(loc, operand->get(), kVectorBytes);
    }
    firstRow = b.create<arith::MulIOp>(loc, ivs[0], index(b, kRows));
    firstCol = b.create<arith::MulIOp>(loc, ivs[1], index(b, kCols));
    // The thread's part of a tile: chunks t (and t + 256) of 8 elements,
    // row chunk / (steps / 8), column 8 (chunk % (steps / 8)), of x and of w.
    Value thread = b.create<arith::AddIOp>(
        loc, b.create<arith::MulIOp>(loc, warp, index(b, kWarp)), lane);
    Value lastRow = b.create<arith::SubIOp>(loc, rows, index(b, 1));
    Value lastCol = b.create<arith::SubIOp>(loc, sizes[mma.nDim], index(b, 1));
    chunks = kRows * tileSteps / 8 / kThreads;
    Value perRow = index(b, tileSteps / 8);
    for (int64_t c = 0; c < chunks; ++c) {
      Value chunk = add(b, thread, c * kThreads);
      Value row = b.create<arith::DivUIOp>(loc, chunk, perRow);
      chunkRows.push_back(row);
      chunkCols.push_back(b.create<arith::MulIOp>(
          loc, b.create<arith::RemUIOp>(loc, chunk, perRow), index(b, 8)));
      xRows.push_back(rowIndices(
          b, b.create<arith::MinUIOp>(
                 loc, b.create<arith::AddIOp>(loc, firstRow, row), lastRow)));
      // Columns past a dynamic n load the last column (and are not
      // stored).
      Value col = b.create<arith::AddIOp>(loc, firstCol, row);
      if (ShapedType::isDynamic(mma.n))
        col = b.create<arith::MinUIOp>(loc, col, lastCol);
      wCols.push_back(col);
    }
    // The warp's place: rows 32 (v / 4), columns 16 (v % 4); the lane's in
    // the fragments: lane / 4 and 2 (lane % 4).
    warpRow = b.create<arith::MulIOp>(
        loc, b.create<arith::DivUIOp>(loc, warp, index(b, 4)), index(b, 32));
    warpCol = b.create<arith::MulIOp>(
        loc, b.create<arith::RemUIOp>(loc, warp, index(b, 4)), index(b, 16));
    group = b.create<arith::DivUIOp>(loc, lane, index(b, 4));
    pair = b.create<arith::MulIOp>(
        loc, b.create<arith::RemUIOp>(loc, lane, index(b, 4)), index(b, 2));

    auto cType = VectorType::get({2, 2}, b.getF32Type());
    Value zeros = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(cType, b.getF32FloatAttr(0.0f)));
    if (async) {
      store(b, pipeline(b, SmallVector<Value>(4, zeros)));
      return;
    }
    SmallVector<Value> carried = loadTile(b, zero);
    size_t loaded = carried.size();
    carried.append(4, zeros);
    // The last tile's first step: (k - 1) rounded down to 64.
    Value lastTile = b.create<arith::MulIOp>(
        loc,
        b.create<arith::DivUIOp>(
            loc, b.create<arith::SubIOp>(loc, sizes[kDim], index(b, 1)),
            index(b, kSteps)),
        index(b, kSteps));
    auto loop = b.create<scf::ForOp>(
        loc, zero, sizes[kDim], index(b, kSteps), carried,
        [&](OpBuilder &fb, Location, Value k0, ValueRange values) {
          storeTile(fb, values.take_front(loaded));
          fb.create<gpu::BarrierOp>(loc);
          // The next tile's loads (the last tile again at the end: no
          // branch, and within bounds).
          SmallVector<Value> next = loadTile(
              fb, fb.create<arith::MinUIOp>(loc, add(fb, k0, kSteps), lastTile));
          SmallVector<Value> accs(values.drop_front(loaded));
          for (int64_t kk = 0; kk < kSteps; kk += 16)
            steps(fb, zero, kk, accs);
          fb.create<gpu::BarrierOp>(loc);
          next.append(accs);
          fb.create<scf::YieldOp>(loc, next);
        });
    store(b, loop.getResults().drop_front(loaded));
  }

  /// The asynchronous pipeline: tile i + 3's copies are issued while the
  /// warps run tile i, each tile a group of copies; a thread waits until at
  /// most 2 groups of its own are in flight (tile i's has landed), then the
  /// barrier makes every thread's copies visible and tells that tile i - 1
  /// (whose stage tile i + 3 takes) is done. Past the last tile the copies
  /// repeat it (a group per iteration all the same). The accumulators at
  /// the end.
  SmallVector<Value> pipeline(OpBuilder &b, SmallVector<Value> accs) {
    int64_t tiles = mma.k / tileSteps;
    Value last = index(b, tiles - 1);
    Value token;
    for (int64_t t = 0; t + 1 < stages; ++t)
      token = copyTile(b, index(b, std::min(t, tiles - 1)), index(b, t));
    accs.push_back(token);
    auto loop = b.create<scf::ForOp>(
        loc, zero, index(b, tiles), index(b, 1), accs,
        [&](OpBuilder &fb, Location, Value tile, ValueRange carried) {
          fb.create<nvgpu::DeviceAsyncWaitOp>(
              loc, carried.back(), fb.getI32IntegerAttr(stages - 2));
          fb.create<gpu::BarrierOp>(loc);
          Value ahead = add(fb, tile, stages - 1);
          Value next = copyTile(
              fb, fb.create<arith::MinUIOp>(loc, ahead, last),
              fb.create<arith::RemUIOp>(loc, ahead, index(fb, stages)));
          Value stage = fb.create<arith::RemUIOp>(loc, tile, index(fb, stages));
          SmallVector<Value> results(carried.drop_back());
          for (int64_t kk = 0; kk < tileSteps; kk += 16)
            steps(fb, stage, kk, results);
          results.push_back(next);
          fb.create<scf::YieldOp>(loc, results);
        });
    b.create<nvgpu::DeviceAsyncWaitOp>(loc, loop.getResults().back(),
                                       b.getI32IntegerAttr(0));
    return SmallVector<Value>(loop.getResults().drop_back());
  }

  /// Copies tile `tile` of x and w into stage `stage`: one group, its token.
  Value copyTile(OpBuilder &b, Value tile, Value stage) {
    Value k0 = b.create<arith::MulIOp>(loc, tile, index(b, tileSteps));
    auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
    SmallVector<Value> tokens;
    for (int64_t c = 0; c < chunks; ++c) {
      Value k = b.create<arith::AddIOp>(loc, k0, chunkCols[c]);
      SmallVector<Value> xDims = xRows[c], wDims = batchIndices();
      xDims[kDim] = k;
      wDims[mma.nDim] = wCols[c];
      wDims[kDim] = k;
      for (auto [operand, dims, tileBuffer] :
           {std::tuple{mma.x, xDims, sharedX}, {mma.w, wDims, sharedW}})
        tokens.push_back(b.create<nvgpu::DeviceAsyncCopyOp>(
            loc, tokenType, tileBuffer,
            ValueRange{stage, chunkRows[c], chunkCols[c]}, operand->get(),
            indicesAt(b, loc, op, *operand, dims), b.getIndexAttr(8),
            /*srcElements=*/Value(), b.getUnitAttr()));
    }
    return b.create<nvgpu::DeviceAsyncCreateGroupOp>(loc, tokenType, tokens);
  }

  /// The thread's elements of the tile at k0: 8 of x and 8 of w per chunk.
  /// Past a dynamic k: x's are 0, w's those of the last step (finite).
  SmallVector<Value> loadTile(OpBuilder &b, Value k0) {
    SmallVector<Value> values;
    bool tail = ShapedType::isDynamic(mma.k);
    Value lastStep =
        tail ? b.create<arith::SubIOp>(loc, sizes[kDim], index(b, 1)) : Value();
    Value zeroHalf =
        tail ? b.create<arith::ConstantOp>(loc, b.getF16FloatAttr(0.0f))
             : Value();
    for (int64_t c = 0; c < chunks; ++c) {
      Value k = b.create<arith::AddIOp>(loc, k0, chunkCols[c]);
      SmallVector<Value> steps, inside;
      for (int64_t e = 0; e < 8; ++e) {
        Value step = add(b, k, e);
        if (tail) {
          inside.push_back(b.create<arith::CmpIOp>(
              loc, arith::CmpIPredicate::ult, step, sizes[kDim]));
          step = b.create<arith::MinUIOp>(loc, step, lastStep);
        }
        steps.push_back(step);
      }
      for (int64_t e = 0; e < 8; ++e) {
        SmallVector<Value> dims = xRows[c];
        dims[kDim] = steps[e];
        Value value = loadAt(b, loc, op, *mma.x, dims);
        if (tail)
          value = b.create<arith::SelectOp>(loc, inside[e], value, zeroHalf);
        values.push_back(value);
      }
      for (int64_t e = 0; e < 8; ++e) {
        SmallVector<Value> dims = batchIndices();
        dims[mma.nDim] = wCols[c];
        dims[kDim] = steps[e];
        values.push_back(loadAt(b, loc, op, *mma.w, dims));
      }
    }
    return values;
  }

  void storeTile(OpBuilder &b, ValueRange values) {
    for (int64_t c = 0; c < chunks; ++c)
      for (int64_t e = 0; e < 16; ++e) {
        Value tile = e < 8 ? sharedX : sharedW;
        b.create<memref::StoreOp>(
            loc, values[c * 16 + e], tile,
            ValueRange{zero, chunkRows[c], add(b, chunkCols[c], e % 8)});
      }
  }

  /// 16 steps of k from kk in the tile of stage `stage`: the warp's 2 A
  /// and 2 B fragments, then the 4 mma.sync.
  void steps(OpBuilder &b, Value stage, int64_t kk,
             SmallVectorImpl<Value> &accs) {
    Value column = add(b, pair, kk);
    auto halves = [&](Value tile, Value row, int64_t offset) {
      Value at = add(b, column, offset);
      return std::pair<Value, Value>{
          b.create<memref::LoadOp>(loc, tile, ValueRange{stage, row, at}),
          b.create<memref::LoadOp>(loc, tile,
                                   ValueRange{stage, row, add(b, at, 1)})};
    };
    SmallVector<Value> as, bs;
    for (int64_t m = 0; m < 2; ++m) {
      // A: rows (lane/4, +8) x columns (pair, +1) and +8.
      Value row = b.create<arith::AddIOp>(loc, add(b, warpRow, 16 * m), group);
      Value below = add(b, row, 8);
      as.push_back(pack(b, {halves(sharedX, row, 0), halves(sharedX, below, 0),
                            halves(sharedX, row, 8), halves(sharedX, below, 8)}));
    }
    for (int64_t n = 0; n < 2; ++n) {
      // B: k (pair, +1) and +8 x column lane/4.
      Value col = b.create<arith::AddIOp>(loc, add(b, warpCol, 8 * n), group);
      bs.push_back(pack(b, {halves(sharedW, col, 0), halves(sharedW, col, 8)}));
    }
    for (int64_t m = 0; m < 2; ++m)
      for (int64_t n = 0; n < 2; ++n)
        accs[m * 2 + n] = b.create<nvgpu::MmaSyncOp>(
            loc, as[m], bs[n], accs[m * 2 + n], ArrayRef<int64_t>{16, 8, 16});
  }

  /// C: rows (lane/4, +8) x columns (pair, +1) of each tile, rows inside
  /// only.
  void store(OpBuilder &b, ValueRange accs) {
    Value colBase = b.create<arith::AddIOp>(loc, firstCol, warpCol);
    for (int64_t m = 0; m < 2; ++m)
      for (int64_t half = 0; half < 2; ++half) {
        Value row = b.create<arith::AddIOp>(
            loc, b.create<arith::AddIOp>(loc, firstRow, warpRow),
            add(b, group, 16 * m + 8 * half));
        Value inside = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult,
                                               row, rows);
        b.create<scf::IfOp>(loc, inside, [&](OpBuilder &ib, Location) {
          SmallVector<Value> dims = rowIndices(ib, row);
          for (int64_t n = 0; n < 2; ++n) {
            Value values = ib.create<vector::ExtractOp>(
                loc, accs[m * 2 + n], ArrayRef<int64_t>{half});
            for (int64_t j = 0; j < 2; ++j) {
              Value col = ib.create<arith::AddIOp>(
                  loc, colBase, add(ib, pair, 8 * n + j));
              dims[mma.nDim] = col;
              Value total = ib.create<vector::ExtractOp>(
                  loc, values, ArrayRef<int64_t>{j});
              if (!ShapedType::isDynamic(mma.n)) {
                sink.emit(ib, loc, total, ArrayRef<Value>(dims).drop_back());
                continue;
              }
              Value within = ib.create<arith::CmpIOp>(
                  loc, arith::CmpIPredicate::ult, col, sizes[mma.nDim]);
              ib.create<scf::IfOp>(loc, within, [&](OpBuilder &cb, Location) {
                sink.emit(cb, loc, total, ArrayRef<Value>(dims).drop_back());
                cb.create<scf::YieldOp>(loc);
              });
            }
          }
          ib.create<scf::YieldOp>(loc);
        });
      }
  }

  SmallVector<Value> batch;
  Value sharedX, sharedW, firstRow, firstCol;
  // Asynchronous copies or loads through registers; the tile's steps of k,
  // its rows' padded length, the stages and the thread's chunks per tile.
  bool async = false;
  int64_t tileSteps = kSteps, padded = kSteps + 8, stages = 1, chunks = 2;
  // The thread's chunks of a tile: their rows and columns in the tile, the
  // loop indices of x's row and w's column.
  SmallVector<Value> chunkRows, chunkCols, wCols;
  SmallVector<SmallVector<Value>> xRows;
  // The warp's first row and column in the block; lane / 4, 2 (lane % 4).
  Value warpRow, warpCol, group, pair;
};

void buildMmaContraction(OpBuilder &builder, Location loc, linalg::GenericOp op,
                         const MmaContraction &mma, ResultSink &sink,
                         bool asyncCopies) {
  if (BlockMmaTiles::fits(mma))
    BlockMmaTiles(builder, loc, op, mma, sink, asyncCopies).build(builder);
  else
    MmaTiles(builder, loc, op, mma, sink).build(builder);
}

void rewrite(linalg::GenericOp op, RewriterBase &rewriter, bool tensorCores,
             bool asyncCopies) {
  Location loc = op.getLoc();
  OpOperand *output = op.getDpsInitOperand(0);
  ResultSink sink{op,
                  combinerOf(op),
                  foldableFill(op),
                  fusableConsumer(op),
                  /*broadcast=*/{},
                  /*storeTotal=*/true};
  if (!sink.consumer) {
    sink.broadcast = broadcastConsumer(op);
    if (sink.broadcast)
      sink.storeTotal = outputReadElsewhere(op, sink.broadcast);
  }
  Operation *consumerOp = sink.consumer    ? sink.consumer.getOperation()
                          : sink.broadcast ? sink.broadcast.getOperation()
                                           : nullptr;
  // Where the consumer was: its output buffers may be allocated between.
  rewriter.setInsertionPoint(consumerOp ? consumerOp : op.getOperation());
  std::optional<MmaContraction> mma;
  if (tensorCores && !sink.broadcast)
    mma = matchMma(op);
  if (mma) {
    // Enough rows for tensor cores, else a warp per output.
    SmallVector<Value> sizes = loopSizes(rewriter, loc, op);
    Value many = rewriter.create<arith::CmpIOp>(
        loc, arith::CmpIPredicate::uge, rowCount(rewriter, loc, *mma, sizes),
        rewriter.create<arith::ConstantIndexOp>(
            loc, mma->batchDims.empty() ? kMmaMinRows : kBatchedMmaMinRows));
    rewriter.create<scf::IfOp>(
        loc, many,
        [&](OpBuilder &b, Location loc) {
          buildMmaContraction(b, loc, op, *mma, sink, asyncCopies);
          b.create<scf::YieldOp>(loc);
        },
        [&](OpBuilder &b, Location loc) {
          buildWarpReduction(b, loc, op, sink);
          b.create<scf::YieldOp>(loc);
        });
  } else if (!sink.broadcast && op.getNumLoops() >= 2 &&
             threadsReadContiguously(op)) {
    // Many outputs: a thread each; else a warp each.
    SmallVector<Value> sizes = loopSizes(rewriter, loc, op);
    Value outputs = rewriter.create<arith::ConstantIndexOp>(loc, 1);
    for (Value size : ArrayRef(sizes).drop_back())
      outputs = rewriter.create<arith::MulIOp>(loc, outputs, size);
    Value many = rewriter.create<arith::CmpIOp>(
        loc, arith::CmpIPredicate::uge, outputs,
        rewriter.create<arith::ConstantIndexOp>(loc, kThreadOutputs));
    rewriter.create<scf::IfOp>(
        loc, many,
        [&](OpBuilder &b, Location loc) {
          buildThreadReduction(b, loc, op, sink);
          b.create<scf::YieldOp>(loc);
        },
        [&](OpBuilder &b, Location loc) {
          buildWarpReduction(b, loc, op, sink);
          b.create<scf::YieldOp>(loc);
        });
  } else {
    buildWarpReduction(rewriter, loc, op, sink);
  }

  Value buffer = output->get();
  rewriter.eraseOp(op);
  if (consumerOp)
    rewriter.eraseOp(consumerOp);
  if (sink.fill)
    rewriter.eraseOp(sink.fill);
  if (sink.fill && consumerOp &&
      llvm::all_of(buffer.getUsers(), [](Operation *user) {
        return isa<memref::DeallocOp>(user);
      })) {
    // Nothing reads the buffer any more.
    for (Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
      rewriter.eraseOp(user);
    rewriter.eraseOp(buffer.getDefiningOp());
  }
}

/// Whether the address of an element of `type` has a term that LLVM cannot
/// see is a multiple of the inner extents: a row-major buffer with a dynamic
/// extent inside its first, whose stride the kernel gets as a number.
bool hasDynamicStride(MemRefType type) {
  return type.getRank() >= 2 && type.getLayout().isIdentity() &&
         llvm::any_of(type.getShape().drop_front(),
                      [](int64_t extent) { return ShapedType::isDynamic(extent); });
}

/// Rewrites the loads and stores in `loop` of row-major buffers with dynamic
/// strides into accesses of a one-dimensional view, at the offset
/// ((i0 * n1 + i1) * n2 + i2)...: LLVM then knows the offset is a multiple of
/// the static inner extents, and puts a lane's consecutive elements (or a
/// fragment's pairs) in one vector load where their buffer is aligned.
void flattenAccesses(scf::ParallelOp loop) {
  SmallVector<Operation *> accesses;
  loop.getBody()->walk([&](Operation *op) {
    if (auto load = dyn_cast<memref::LoadOp>(op))
      if (hasDynamicStride(load.getMemRefType()))
        accesses.push_back(op);
    if (auto store = dyn_cast<memref::StoreOp>(op))
      if (hasDynamicStride(store.getMemRefType()))
        accesses.push_back(op);
  });
  Block *body = loop.getBody();
  Location loc = loop.getLoc();
  DenseMap<Value, std::pair<Value, SmallVector<Value>>> views;
  auto viewOf = [&](Value memref) -> std::pair<Value, SmallVector<Value>> & {
    auto found = views.find(memref);
    if (found != views.end())
      return found->second;
    // Defined in the loop's body before any use: the views of buffers that
    // the loop's own operations make would follow them, and there are none
    // (each access's buffer comes from outside).
    OpBuilder b = OpBuilder::atBlockBegin(body);
    auto type = cast<MemRefType>(memref.getType());
    SmallVector<ReassociationIndices> all(1);
    for (int64_t d = 0; d < type.getRank(); ++d)
      all[0].push_back(d);
    Value view = b.create<memref::CollapseShapeOp>(loc, memref, all);
    // The view's pointer is the buffer's, and as aligned (folding may make
    // the view one of the buffer the kernel gets, not of this one).
    for (Operation *user : memref.getUsers())
      if (auto assume = dyn_cast<memref::AssumeAlignmentOp>(user))
        if (assume->getBlock() == body)
          b.create<memref::AssumeAlignmentOp>(loc, view,
                                              assume.getAlignment());
    SmallVector<Value> extents;
    for (int64_t d = 0; d < type.getRank(); ++d)
      extents.push_back(b.createOrFold<memref::DimOp>(loc, memref, d));
    return views[memref] = {view, extents};
  };
  for (Operation *op : accesses) {
    bool isLoad = isa<memref::LoadOp>(op);
    Value memref = isLoad ? cast<memref::LoadOp>(op).getMemRef()
                          : cast<memref::StoreOp>(op).getMemRef();
    if (memref.getParentBlock() == body ||
        !memref.getParentRegion()->isAncestor(loop->getParentRegion()))
      continue;
    auto &[view, extents] = viewOf(memref);
    OpBuilder b(op);
    ValueRange indices = isLoad ? cast<memref::LoadOp>(op).getIndices()
                                : cast<memref::StoreOp>(op).getIndices();
    Value offset = indices[0];
    for (size_t d = 1; d < indices.size(); ++d)
      offset = b.create<arith::AddIOp>(
          op->getLoc(), b.create<arith::MulIOp>(op->getLoc(), offset, extents[d]),
          indices[d]);
    if (isLoad) {
      op->getResult(0).replaceAllUsesWith(
          b.create<memref::LoadOp>(op->getLoc(), view, offset));
    } else {
      b.create<memref::StoreOp>(op->getLoc(),
                                cast<memref::StoreOp>(op).getValueToStore(),
                                view, offset);
    }
    op->erase();
  }
}

struct GpuWarpReductionsPass
    : llmc::impl::GpuWarpReductionsBase<GpuWarpReductionsPass> {
  using GpuWarpReductionsBase::GpuWarpReductionsBase;
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> reductions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isWarpReduction(op))
        reductions.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : reductions)
      rewrite(op, rewriter, tensorCores, asyncCopies);
    // Every parallel loop is one of those just made.
    getOperation().walk([](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        flattenAccesses(loop);
    });
  }
};

} // namespace
