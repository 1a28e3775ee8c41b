//===- GpuWarpReductions.cpp - One warp per output of a reduction ---------===//

#include "llmc/Dialect/LLM/IR/LLMOps.h"
#include "llmc/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "GpuReductions.h"

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
using namespace llmc::gpu;

namespace llmc::gpu {

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

bool lastIndexIs(linalg::GenericOp op, OpOperand &operand, unsigned loop) {
  auto last = dyn_cast<AffineDimExpr>(
      op.getMatchingIndexingMap(&operand).getResults().back());
  return last && last.getPosition() == loop;
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

/// The loop extents of `op`, as index values.
SmallVector<Value> loopSizes(OpBuilder &b, Location loc, linalg::GenericOp op) {
  return llvm::map_to_vector(
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc),
      [&](Range range) {
        return getValueOrCreateConstantIndexOp(b, loc, range.size);
      });
}

Value rootOf(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}

bool mayWrite(Operation *op, ArrayRef<Value> roots) {
  if (isa<memref::AllocOp>(op) || isMemoryEffectFree(op))
    return false;
  auto dps = dyn_cast<DestinationStyleOpInterface>(op);
  if (!dps || !dps.hasPureBufferSemantics())
    return true;
  for (OpOperand &init : dps.getDpsInitsMutable()) {
    Value root = rootOf(init.get());
    if (isa<BlockArgument>(root) || llvm::is_contained(roots, root))
      return true;
  }
  return false;
}

Value yieldedAt(OpBuilder &b, Location loc, linalg::GenericOp op,
                ValueRange ivs) {
  Block &body = op.getRegion().front();
  IRMapping mapping;
  for (OpOperand *input : op.getDpsInputOperands())
    mapping.map(body.getArgument(input->getOperandNumber()),
                loadAt(b, loc, op, *input, ivs));
  for (Operation &inner : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      mapping.map(index.getResult(), ivs[index.getDim()]);
      continue;
    }
    b.clone(inner, mapping);
  }
  return mapping.lookupOrDefault(
      cast<linalg::YieldOp>(body.getTerminator()).getOperand(0));
}

linalg::GenericOp elementwiseWriter(Value buffer, Operation *readerUser,
                                    Operation *reader) {
  linalg::GenericOp writer;
  for (Operation *user : buffer.getUsers()) {
    if (user == readerUser || isa<memref::DeallocOp>(user))
      continue;
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (!generic || writer)
      return {};
    writer = generic;
  }
  if (!writer || writer->getBlock() != reader->getBlock() ||
      !writer->isBeforeInBlock(reader) || !writer.hasPureBufferSemantics() ||
      writer.getNumDpsInits() != 1 ||
      writer.getDpsInitOperand(0)->get() != buffer ||
      writer.getNumParallelLoops() != writer.getNumLoops() ||
      !writer.getMatchingIndexingMap(writer.getDpsInitOperand(0))
           .isIdentity() ||
      !writer.getMatchingBlockArgument(writer.getDpsInitOperand(0))
           .use_empty() ||
      llvm::count(writer->getOperands(), buffer) != 1)
    return {};
  return writer;
}

} // namespace llmc::gpu

namespace {

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
    if (!lastIndexIs(op, *input, k) ||
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
    // Users in regions after the op (a guarded norm's) come after it too.
    Operation *at = op->getBlock()->findAncestorOpInBlock(*user);
    if (!at)
      return {};
    if (op->isBeforeInBlock(at))
      continue;
    if (at != user)
      return {};
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
/// the reductions' outputs in `results` (buffer, value) to their values, its
/// other operands to loads.
void mapConsumerArguments(OpBuilder &b, Location loc,
                          linalg::GenericOp consumer,
                          ArrayRef<std::pair<Value, Value>> results,
                          ArrayRef<Value> ivs, IRMapping &mapping) {
  Block &body = consumer.getRegion().front();
  for (OpOperand &operand : consumer->getOpOperands()) {
    BlockArgument arg = body.getArgument(operand.getOperandNumber());
    auto known = llvm::find_if(results, [&](const std::pair<Value, Value> &r) {
      return r.first == operand.get();
    });
    if (known != results.end())
      mapping.map(arg, known->second);
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

/// A norm that the contractions reading its result recompute where they
/// run a warp per output (decode): `reduction` (the row's sum of squares,
/// from `start`) and its broadcast `scaling` into `buffer`, which only
/// those contractions read, as their x. Each of their warps computes the
/// row's total itself and scales x's elements as it loads them, so the
/// norm's own kernel runs only where the tensor cores read `buffer`.
struct Prologue {
  linalg::GenericOp reduction, scaling;
  Value start, buffer;
  /// The reduction's output, which the scaling reads as the total.
  Value totals() const {
    return linalg::GenericOp(reduction).getDpsInitOperand(0)->get();
  }
};

/// Whether `op` writes every element of `buffer` without reading it.
bool overwrites(linalg::GenericOp op, Value buffer) {
  if (op.getNumParallelLoops() != op.getNumLoops())
    return false;
  for (OpOperand *input : op.getDpsInputOperands())
    if (rootOf(input->get()) == buffer)
      return false;
  for (OpOperand &init : op.getDpsInitsMutable())
    if (init.get() == buffer && op.getMatchingIndexingMap(&init).isIdentity() &&
        op.getMatchingBlockArgument(&init).use_empty())
      return true;
  return false;
}

/// The contractions that can take `op` (a norm's reduction) as their
/// prologue: its broadcast consumer alone writes a fresh buffer (identity
/// map), and after it, until something overwrites that buffer, only
/// contractions that run on tensor cores from enough rows read it, as
/// their x (no batch loops: its rows are theirs); nothing between it and
/// the last of them writes what the norm reads. Empty if not.
SmallVector<linalg::GenericOp> prologueConsumers(linalg::GenericOp op) {
  linalg::GenericOp scaling = broadcastConsumer(op);
  if (!scaling || scaling.getNumDpsInits() != 1 || !foldableFill(op) ||
      outputReadElsewhere(op, scaling))
    return {};
  OpOperand *init = scaling.getDpsInitOperand(0);
  Value buffer = init->get();
  if (!buffer.getDefiningOp<memref::AllocOp>() ||
      !scaling.getMatchingIndexingMap(init).isIdentity())
    return {};
  SmallVector<Value> roots;
  for (linalg::GenericOp generic : {op, scaling})
    for (OpOperand *input : generic.getDpsInputOperands())
      if (isa<MemRefType>(input->get().getType()))
        roots.push_back(rootOf(input->get()));
  SmallVector<linalg::GenericOp> consumers;
  for (Operation *next = scaling->getNextNode(); next;
       next = next->getNextNode()) {
    bool touches = false;
    next->walk([&](Operation *inner) {
      for (Value operand : inner->getOperands())
        touches |= isa<MemRefType>(operand.getType()) &&
                   rootOf(operand) == buffer;
    });
    if (!touches || isa<memref::DeallocOp, ViewLikeOpInterface>(next))
      continue;
    auto generic = dyn_cast<linalg::GenericOp>(next);
    if (!generic)
      return {};
    if (overwrites(generic, buffer))
      break;
    std::optional<MmaContraction> mma;
    if (isWarpReduction(generic))
      mma = matchMma(generic);
    if (!mma || mma->x->get() != buffer || !mma->batchDims.empty() ||
        llvm::count(generic->getOperands(), buffer) != 1)
      return {};
    consumers.push_back(generic);
  }
  if (consumers.empty())
    return {};
  for (Operation *between = scaling->getNextNode();
       between != consumers.back().getOperation();
       between = between->getNextNode())
    if (mayWrite(between, roots))
      return {};
  return consumers;
}

/// Runs the norm of `prologue` (its fill, reduction and scaling) only where
/// its consumers will run on tensor cores: from kMmaMinRows rows of its
/// buffer (their condition, from the same extents).
void guardPrologue(const Prologue &prologue, linalg::FillOp fill) {
  linalg::GenericOp scaling = prologue.scaling;
  Location loc = scaling.getLoc();
  OpBuilder b(scaling->getContext());
  b.setInsertionPointAfter(scaling);
  Value buffer = prologue.buffer;
  Value rows = b.create<arith::ConstantIndexOp>(loc, 1);
  for (int64_t d = 0; d + 1 < cast<MemRefType>(buffer.getType()).getRank(); ++d)
    rows = b.create<arith::MulIOp>(loc, rows,
                                   b.createOrFold<memref::DimOp>(loc, buffer, d));
  Value many = b.create<arith::CmpIOp>(
      loc, arith::CmpIPredicate::uge, rows,
      b.create<arith::ConstantIndexOp>(loc, kMmaMinRows));
  auto guard = b.create<scf::IfOp>(loc, many, /*withElseRegion=*/false);
  Operation *yield = guard.thenBlock()->getTerminator();
  fill->moveBefore(yield);
  prologue.reduction->moveBefore(yield);
  scaling->moveBefore(yield);
}

} // namespace

void llmc::gpu::ResultSink::emit(OpBuilder &b, Location loc, Value total,
                                 ArrayRef<Value> outer, Value siblingTotal) {
  Pending element = compute(b, loc, total, outer, siblingTotal);
  store(b, loc, element);
}

void llmc::gpu::ResultSink::emitAll(OpBuilder &b, Location loc,
                                    ArrayRef<Value> totals,
                                    ArrayRef<SmallVector<Value>> outers) {
  SmallVector<Pending> elements;
  for (auto [total, outer] : llvm::zip(totals, outers))
    elements.push_back(compute(b, loc, total, outer, Value()));
  for (Pending &element : elements)
    store(b, loc, element);
}

llmc::gpu::ResultSink::Pending
llmc::gpu::ResultSink::compute(OpBuilder &b, Location loc, Value total,
                               ArrayRef<Value> outer, Value siblingTotal) {
  OpOperand *output = op.getDpsInitOperand(0);
  Pending element;
  element.dims.assign(outer.begin(), outer.end());
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  element.dims.push_back(zero); // the output's map does not use the reduction
  Value start = fill ? fill.getDpsInputOperand(0)->get()
                     : loadAt(b, loc, op, *output, element.dims);
  element.result = combine(b, loc, combiner, start, total);
  if (!consumer)
    return element;
  // The consumer's body on this output element: its loop j is the
  // output's dimension j, the reduction's loop outMap(j).
  AffineMap outMap = op.getMatchingIndexingMap(output);
  element.dims.clear();
  for (unsigned j = 0; j < outMap.getNumResults(); ++j)
    element.dims.push_back(outer[outMap.getDimPosition(j)]);
  SmallVector<std::pair<Value, Value>> results = {
      {output->get(), element.result}};
  if (siblingTotal)
    results.push_back(
        {sibling.getDpsInitOperand(0)->get(),
         combine(b, loc, combinerOf(sibling),
                 siblingFill.getDpsInputOperand(0)->get(), siblingTotal)});
  mapConsumerArguments(b, loc, consumer, results, element.dims,
                       element.mapping);
  cloneBody(b, consumer.getRegion().front(), element.mapping, element.dims);
  return element;
}

void llmc::gpu::ResultSink::store(OpBuilder &b, Location loc,
                                  Pending &element) {
  if (!consumer)
    storeAt(b, loc, element.result, op, *op.getDpsInitOperand(0),
            element.dims);
  else
    storeConsumerResults(b, loc, consumer, element.mapping, element.dims);
}

namespace {

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
/// softmax's single row, whose extents are all dynamic), or 4 or 2 where
/// the lanes' 16-byte steps divide among those and not among 8 and the
/// innermost static extent fills a block with the 2 or 4 outputs (Qwen2
/// 7B's k/v projections, 3584 long: 2 warps of 7 steps, where 8 warps of
/// a lane's 2 bytes a step kept 64 bytes of a warp in flight); 2 under 4096 (a
/// decode step's 2048-output projections: 4096 warps, each 4 vector steps
/// per lane for q and o, 11 for the 1.1B model's down projection, whose
/// 2048 warps with one each left 3 of 4 multiprocessors' warp slots empty:
/// 13.6 -> 12.6 us on an H100 in session 7) where every warp keeps 4
/// steps of 16 bytes per lane or more and the innermost static extent (the
/// block's 4 outputs, next to the 2 warps) divides by 4, so that no block
/// is partial; else 1.
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
  int64_t extent = ranges.back();
  auto wholeSteps = [&](int64_t split) {
    return elements > 1 && !ShapedType::isDynamic(extent) &&
           extent % (kWarp * split * elements) == 0;
  };
  if (outputs < kFewOutputs) {
    for (int64_t split = kWarpsPerBlock; split > 1; split /= 2)
      if (wholeSteps(split) && (split == kWarpsPerBlock ||
                                innermost % (kWarpsPerBlock / split) == 0))
        return split;
    return kWarpsPerBlock;
  }
  if (outputs < kSomeOutputs && innermost % 4 == 0 && wholeSteps(2) &&
      extent / (kWarp * 2 * elements) >= 4)
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
                ResultSink &sink, const Prologue *prologue,
                bool prefetchWeights)
      : loc(loc), op(op), sink(sink), prologue(prologue),
        prefetchWeights(prefetchWeights) {
    type = cast<MemRefType>(op.getDpsInitOperand(0)->get().getType())
               .getElementType();
    sizes = loopSizes(builder, loc, op);
    zero = builder.create<arith::ConstantIndexOp>(loc, 0);
    one = builder.create<arith::ConstantIndexOp>(loc, 1);
    lanes = builder.create<arith::ConstantIndexOp>(loc, kWarp);
    reductions = {op};
    elements = elementsPerStep(op, aligned);
    // A sibling has the op's loops and operand shapes: the same steps.
    if (sink.sibling) {
      reductions.push_back(sink.sibling);
      SmallVector<Value> siblingAligned;
      elements =
          std::min(elements, elementsPerStep(sink.sibling, siblingAligned));
      for (Value input : siblingAligned)
        if (!llvm::is_contained(aligned, input))
          aligned.push_back(input);
    }
    // Buffers with no offset in their layout that are read at the
    // reduction's elements are as aligned: a broadcast consumer's (norm
    // weights, the result), a prologue's (its norm's operands, at x's).
    auto alignAlso = [&](ValueRange operands) {
      if (elements > 1)
        for (Value operand : operands)
          if (auto type = dyn_cast<MemRefType>(operand.getType()))
            if (type.getLayout().isIdentity() &&
                !llvm::is_contained(aligned, operand))
              aligned.push_back(operand);
    };
    if (sink.broadcast)
      alignAlso(sink.broadcast->getOperands());
    if (prologue)
      for (linalg::GenericOp generic : {prologue->reduction, prologue->scaling})
        alignAlso(generic.getDpsInputs());
    // Several outputs per warp (not with a broadcast consumer, which runs
    // over the reduction of one output, nor a prologue, a row's); then one
    // step per iteration, for the registers.
    if (!sink.broadcast && !prologue)
      std::tie(sharedLoop, outputs) = outputsPerWarp(op);
    if (outputs == 1)
      split = warpsPerOutput(op, elements);
    // Vector steps need the reduction to divide among the warps' lanes;
    // else a lane takes one element at a time (the loop's bound keeps it
    // within the extent).
    if (split > 1 && elements > 1 &&
        op.getStaticLoopRanges().back() % laneStride() != 0)
      elements = 1;
    perStep = builder.create<arith::ConstantIndexOp>(loc, elements);
    // Steps per loop iteration: each lane's loads of `unroll` steps are in
    // flight together, summed into as many partial results; the steps that
    // remain after the loop's iterations follow it (laneSteps): Llama 2
    // 7B's down projection, 43 steps a lane, would otherwise keep one load
    // of a lane in flight.
    if (elements > 1 && outputs == 1) {
      unroll = std::min(kStepsInFlight, stepsPerLane());
      // At most 12 16-byte loads of a lane in flight (a sibling's or a
      // prologue's operands would otherwise take their registers from the
      // warps a multiprocessor holds: the 1.1B model's gate/up kernel with
      // its norm, 6 loads a step, took 95 registers in 4 steps).
      while (unroll > 1 && unroll * vectorLoadsPerStep() > 12)
        unroll /= 2;
    }
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
    if (prefetchWeights)
      prefetchWeightSteps(b, start, outers);
    if (prologue)
      rowTotal = prologueTotal(b, lane, start, outers[0]);
    SmallVector<Value> partial = partials(b, start, outers);
    // A broadcast consumer needs the output's start in every lane, where
    // lane 0 then stores the result: every lane reads it before the
    // exchanges below (a read after them races with that store).
    OpOperand *output = op.getDpsInitOperand(0);
    SmallVector<Value> dims = outers[0];
    dims.push_back(zero);
    Value begin;
    if (sink.broadcast)
      begin = sink.fill ? sink.fill.getDpsInputOperand(0)->get()
                        : loadAt(b, loc, op, *output, dims);
    // Per reduction and output: the partial results, then the warp's
    // total.
    SmallVector<SmallVector<Value>> totals(reductions.size());
    for (size_t m = 0; m < reductions.size(); ++m)
      for (int64_t r = 0; r < outputs; ++r) {
        auto at = [&](int64_t u) {
          return partial[(m * unroll + u) * outputs + r];
        };
        Value total = at(0);
        for (int64_t u = 1; u < unroll; ++u)
          total = combine(b, loc, sink.combiner, total, at(u));
        totals[m].push_back(warpTotal(b, loc, sink.combiner, total));
      }
    Value first =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, lane, zero);
    if (split > 1) {
      for (SmallVector<Value> &each : totals)
        each[0] = blockTotal(b, each[0], first);
      first = b.create<arith::AndIOp>(
          loc, first,
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, warpOfOutput,
                                  zero));
    }
    if (!sink.broadcast) {
      b.create<scf::IfOp>(loc, first, [&](OpBuilder &ib, Location loc) {
        for (int64_t r = 0; r < outputs; ++r)
          sink.emit(ib, loc, totals[0][r], outers[r],
                    sink.sibling ? totals[1][r] : Value());
        ib.create<scf::YieldOp>(loc);
      });
      return;
    }
    // Every lane: the output's value, then the consumer on the elements it
    // reduced.
    Value result = combine(b, loc, sink.combiner, begin, totals[0][0]);
    if (sink.storeTotal)
      b.create<scf::IfOp>(loc, first, [&](OpBuilder &ib, Location loc) {
        storeAt(ib, loc, result, op, *output, dims);
        ib.create<scf::YieldOp>(loc);
      });
    broadcastConsumer(b, start, outers[0], result);
  }

  /// The most steps of a lane whose weights prefetchWeightSteps asks for.
  static constexpr int64_t kMaxPrefetchSteps = 16;

  /// With programmatic dependent launch: the model's weights do not depend
  /// on the kernel before, so the kernel lets the next one launch
  /// (`griddepcontrol.launch_dependents`), each lane asks L2 for the
  /// weight elements of its first steps (up to kMaxPrefetchSteps, one
  /// `prefetch.global.L2` each: a warp's 32 lanes as many lines as its
  /// loads), and only then waits for the kernel before
  /// (`griddepcontrol.wait`, which llmc-gpu-dependent-launches then does
  /// not add at the kernel's start): the weights stream while that
  /// kernel's last blocks finish. Weights: inputs read from model
  /// parameters (isWeight), the reduction their last index.
  void prefetchWeightSteps(OpBuilder &b, Value start,
                           ArrayRef<SmallVector<Value>> outers) {
    // The lane's steps first: isWeight looks at the module's calls.
    int64_t extent = op.getStaticLoopRanges().back();
    if (ShapedType::isDynamic(extent))
      return;
    int64_t steps = std::min(kMaxPrefetchSteps, extent / laneStride());
    if (steps == 0)
      return;
    unsigned rank = op.getNumLoops();
    SmallVector<std::pair<linalg::GenericOp, OpOperand *>> weights;
    for (linalg::GenericOp reduction : reductions)
      for (OpOperand *input : reduction.getDpsInputOperands())
        if (isa<MemRefType>(input->get().getType()) &&
            lastIndexIs(reduction, *input, rank - 1) && isWeight(input->get()))
          weights.push_back({reduction, input});
    if (weights.empty())
      return;
    inlinePtx(b, loc, "griddepcontrol.launch_dependents;");
    for (auto [reduction, input] : weights)
      for (const SmallVector<Value> &outer : outers)
        for (int64_t u = 0; u < steps; ++u) {
          SmallVector<Value> dims(outer);
          dims.push_back(b.create<arith::AddIOp>(
              loc, start,
              b.create<arith::ConstantIndexOp>(loc, u * laneStride())));
          inlinePtx(b, loc, "prefetch.global.L2 [$0];",
                    elementAddress(b, input->get(),
                                   indicesAt(b, loc, reduction, *input, dims)),
                    "l");
        }
    waitForPredecessor(b, loc);
  }

  /// Whether `value` views a model parameter: an `llm.param_buffer`, or an
  /// argument of a function (a layer's) that every call passes one.
  static bool isWeight(Value value) {
    Value root = rootOf(value);
    if (root.getDefiningOp<llm::ParamBufferOp>())
      return true;
    auto arg = dyn_cast<BlockArgument>(root);
    auto function =
        arg ? dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()) : nullptr;
    if (!function || arg.getOwner() != &function.getBody().front())
      return false;
    std::optional<SymbolTable::UseRange> uses = SymbolTable::getSymbolUses(
        function, function->getParentOfType<ModuleOp>());
    if (!uses || uses->empty())
      return false;
    for (const SymbolTable::SymbolUse &use : *uses) {
      auto call = dyn_cast<func::CallOp>(use.getUser());
      if (!call || !isWeight(call.getOperand(arg.getArgNumber())))
        return false;
    }
    return true;
  }

  /// The global address (i64) of `memref`'s element at `indices`.
  Value elementAddress(OpBuilder &b, Value memref, ValueRange indices) {
    auto metadata = b.create<memref::ExtractStridedMetadataOp>(loc, memref);
    Value linear = metadata.getOffset();
    for (auto [index, stride] : llvm::zip(indices, metadata.getStrides()))
      linear = b.create<arith::AddIOp>(
          loc, linear, b.create<arith::MulIOp>(loc, index, stride));
    int64_t bytes =
        cast<MemRefType>(memref.getType()).getElementTypeBitWidth() / 8;
    Value address = b.create<arith::AddIOp>(
        loc, b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, memref),
        b.create<arith::MulIOp>(loc, linear,
                                b.create<arith::ConstantIndexOp>(loc, bytes)));
    return b.create<arith::IndexCastUIOp>(loc, b.getI64Type(), address);
  }

  /// The total of the output's warps, in every lane of each: each warp's
  /// lane 0 puts the warp's total in shared memory, and after a barrier
  /// every lane combines those of its output's warps (in the same order:
  /// the same value everywhere). The slots are the warps of the block, in
  /// the order of their threads: the mapping gives the lanes to x and the
  /// output's warps to y, so those of an output are consecutive.
  Value blockTotal(OpBuilder &b, Value total, Value first,
                   Operation *combiner = nullptr) {
    if (!combiner)
      combiner = sink.combiner;
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
          b, loc, combiner, result,
          b.create<memref::LoadOp>(
              loc, shared,
              ValueRange{b.create<arith::AddIOp>(
                  loc, base, b.create<arith::ConstantIndexOp>(loc, w))}));
    return result;
  }

  /// The most steps of a lane in one loop iteration.
  static constexpr int64_t kStepsInFlight = 4;

  /// Elements between a lane's consecutive steps: a step of every lane of
  /// the output's warps.
  int64_t laneStride() const { return kWarp * split * elements; }

  /// A lane's steps over the reduction (its static extent over
  /// laneStride()).
  int64_t stepsPerLane() {
    return op.getStaticLoopRanges().back() / laneStride();
  }

  /// Builds `steps` steps of a lane from its element `k0`, given the
  /// values carried from the steps before; returns those carried on.
  using StepsBuilder = function_ref<SmallVector<Value>(
      OpBuilder &, Value k0, int64_t steps, ValueRange carried)>;

  /// A lane's steps from its element `start`: a loop of `perIteration`
  /// steps per iteration, then, where the lane's steps do not divide by
  /// `perIteration`, the remaining ones after it (`steps` below
  /// `perIteration` for `body`). The values carried out of the last steps.
  SmallVector<Value> laneSteps(OpBuilder &b, Value start, int64_t perIteration,
                               ValueRange init, StepsBuilder body) {
    Value end = sizes.back();
    int64_t remaining = 0;
    if (perIteration > 1) {
      remaining = stepsPerLane() % perIteration;
      end = b.create<arith::ConstantIndexOp>(
          loc, (stepsPerLane() - remaining) * laneStride());
    }
    auto loop = b.create<scf::ForOp>(
        loc, start, end,
        b.create<arith::ConstantIndexOp>(loc, laneStride() * perIteration),
        init,
        [&](OpBuilder &fb, Location loc, Value k0, ValueRange carried) {
          fb.create<scf::YieldOp>(loc, body(fb, k0, perIteration, carried));
        });
    SmallVector<Value> carried(loop.getResults());
    if (remaining == 0)
      return carried;
    return body(b, b.create<arith::AddIOp>(loc, start, end), remaining,
                carried);
  }

  /// The offsets of one loop iteration's elements: `steps` steps of
  /// `elements`, laneStride() apart.
  SmallVector<Value> offsets(OpBuilder &b, Value k0, int64_t steps) {
    SmallVector<Value> ks;
    for (int64_t u = 0; u < steps; ++u)
      for (int64_t e = 0; e < elements; ++e) {
        int64_t offset = u * laneStride() + e;
        ks.push_back(
            offset == 0
                ? k0
                : b.create<arith::AddIOp>(
                      loc, k0, b.create<arith::ConstantIndexOp>(loc, offset)));
      }
    return ks;
  }

  /// The lane's loop over the reduction: a partial result per reduction
  /// (the op, its sibling), step of an iteration and output. Every load
  /// first (once for the inputs the outputs share, and for a sibling's
  /// input that the op reads the same way: x), then the bodies.
  SmallVector<Value> partials(OpBuilder &b, Value start,
                              ArrayRef<SmallVector<Value>> outers) {
    SmallVector<Value> identities(reductions.size() * unroll * outputs,
                                  identity(b, loc, sink.combiner, type));
    return laneSteps(
        b, start, unroll, identities,
        [&](OpBuilder &fb, Value k0, int64_t steps, ValueRange partial) {
          SmallVector<Value> ks = offsets(fb, k0, steps);
          size_t count = ks.size() * outputs;
          SmallVector<SmallVector<Value>> dims(count);
          for (auto [i, k] : llvm::enumerate(ks))
            for (int64_t r = 0; r < outputs; ++r) {
              dims[i * outputs + r] = outers[r];
              dims[i * outputs + r].push_back(k);
            }
          SmallVector<SmallVector<IRMapping>> mappings(
              reductions.size(), SmallVector<IRMapping>(count));
          for (auto [m, reduction] : llvm::enumerate(reductions)) {
            Block &body = reduction.getRegion().front();
            for (size_t at = 0; at < count; ++at)
              for (OpOperand *input : reduction.getDpsInputOperands()) {
                BlockArgument arg = body.getArgument(input->getOperandNumber());
                AffineMap map = reduction.getMatchingIndexingMap(input);
                Value value;
                if (at % outputs > 0 && !map.isFunctionOfDim(sharedLoop))
                  value = mappings[m][at - at % outputs].lookup(arg);
                for (OpOperand *same : op.getDpsInputOperands())
                  if (!value && m > 0 && same->get() == input->get() &&
                      op.getMatchingIndexingMap(same) == map)
                    value = mappings[0][at].lookup(op.getRegion().getArgument(
                        same->getOperandNumber()));
                if (!value && prologue && input->get() == prologue->buffer)
                  value = scaled(
                      fb, indicesAt(fb, loc, reduction, *input, dims[at]));
                mappings[m][at].map(
                    arg, value ? value
                               : loadAt(fb, loc, reduction, *input, dims[at]));
              }
          }
          SmallVector<Value> accs(partial);
          for (auto [m, reduction] : llvm::enumerate(reductions)) {
            Block &body = reduction.getRegion().front();
            auto yield = cast<linalg::YieldOp>(body.getTerminator());
            for (size_t at = 0; at < count; ++at) {
              size_t step = at / outputs / elements;
              Value &acc = accs[(m * unroll + step) * outputs + at % outputs];
              mappings[m][at].map(body.getArgument(reduction.getNumDpsInputs()),
                                  acc);
              cloneBody(fb, body, mappings[m][at], dims[at]);
              acc = mappings[m][at].lookupOrDefault(yield.getOperand(0));
            }
          }
          return accs;
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
    laneSteps(
        b, start, unroll, ValueRange{},
        [&](OpBuilder &fb, Value k0, int64_t steps, ValueRange) {
          SmallVector<Value> ks = offsets(fb, k0, steps);
          SmallVector<SmallVector<Value>> ivs;
          SmallVector<IRMapping> mappings(ks.size());
          for (auto [i, k] : llvm::enumerate(ks)) {
            ivs.push_back(SmallVector<Value>(outer));
            ivs.back().push_back(k);
            mapConsumerArguments(fb, loc, consumer, {{output, result}},
                                 ivs[i], mappings[i]);
          }
          for (size_t i = 0; i < ks.size(); ++i)
            cloneBody(fb, epilogue, mappings[i], ivs[i]);
          for (size_t i = 0; i < ks.size(); ++i)
            storeConsumerResults(fb, loc, consumer, mappings[i], ivs[i]);
          return SmallVector<Value>();
        });
  }

  /// The 16-byte loads (or fewer bytes) of a lane's step: every operand
  /// the reductions read along the reduction, once each, with a prologue's
  /// operands in place of the buffer it recomputes.
  int64_t vectorLoadsPerStep() const {
    SmallVector<std::pair<linalg::GenericOp, OpOperand *>> operands;
    for (linalg::GenericOp reduction : reductions)
      for (OpOperand *input : reduction.getDpsInputOperands())
        operands.push_back({reduction, input});
    if (prologue)
      for (linalg::GenericOp norm : {prologue->reduction, prologue->scaling})
        for (OpOperand *input : norm.getDpsInputOperands())
          if (input->get() != prologue->totals())
            operands.push_back({norm, input});
    SmallVector<Value> loaded;
    int64_t loads = 0;
    for (auto [generic, input] : operands) {
      Value value = input->get();
      if (!isa<MemRefType>(value.getType()) ||
          !generic.getMatchingIndexingMap(input).isFunctionOfDim(
              generic.getNumLoops() - 1) ||
          (prologue && value == prologue->buffer) ||
          llvm::is_contained(loaded, value))
        continue;
      loaded.push_back(value);
      loads += llvm::divideCeil(
          elements * cast<MemRefType>(value.getType()).getElementTypeBitWidth(),
          kVectorBytes * 8);
    }
    return loads;
  }

  /// The prologue's total for the row of the output at `outer`: the
  /// output's warps sum the row as they do the reduction (`elements` a
  /// lane and step, up to 4 steps in flight), their totals meeting in
  /// shared memory where they are several; from the fill's value. `start`:
  /// the lane's first element, the reduction's.
  Value prologueTotal(OpBuilder &b, Value lane, Value start,
                      ArrayRef<Value> outer) {
    linalg::GenericOp norm = prologue->reduction;
    OpOperand *x = nullptr;
    for (OpOperand *input : op.getDpsInputOperands())
      if (input->get() == prologue->buffer)
        x = input;
    // The norm's loops are the buffer's indices (the scaling's identity
    // map), its last the reduction: x's row, then k.
    SmallVector<Value> dims(outer);
    dims.push_back(zero);
    SmallVector<Value> row = indicesAt(b, loc, op, *x, dims);
    row.pop_back();
    Operation *combiner = combinerOf(norm);
    Type normType = cast<MemRefType>(norm.getDpsInitOperand(0)->get().getType())
                        .getElementType();
    // Its own steps in flight: its loads are fewer than the reduction's.
    // (The norm's loops are the op's but for the output's: the same steps.)
    int64_t rowUnroll =
        elements > 1 ? std::min(kStepsInFlight, stepsPerLane()) : 1;
    Block &body = norm.getRegion().front();
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    SmallVector<Value> partial = laneSteps(
        b, start, rowUnroll,
        SmallVector<Value>(rowUnroll, identity(b, loc, combiner, normType)),
        [&](OpBuilder &fb, Value k0, int64_t steps, ValueRange carried) {
          SmallVector<Value> accs(carried);
          SmallVector<SmallVector<Value>> at;
          SmallVector<IRMapping> mappings;
          for (Value k : offsets(fb, k0, steps)) {
            at.push_back(row);
            at.back().push_back(k);
            mappings.emplace_back();
            for (OpOperand *input : norm.getDpsInputOperands())
              mappings.back().map(body.getArgument(input->getOperandNumber()),
                                  loadAt(fb, loc, norm, *input, at.back()));
          }
          for (int64_t i = 0; i < steps * elements; ++i) {
            Value &acc = accs[i / elements];
            mappings[i].map(body.getArgument(norm.getNumDpsInputs()), acc);
            cloneBody(fb, body, mappings[i], at[i]);
            acc = mappings[i].lookupOrDefault(yield.getOperand(0));
          }
          return accs;
        });
    Value total = partial[0];
    for (int64_t u = 1; u < rowUnroll; ++u)
      total = combine(b, loc, combiner, total, partial[u]);
    total = warpTotal(b, loc, combiner, total);
    if (split > 1)
      total = blockTotal(
          b, total,
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, lane, zero),
          combiner);
    return combine(b, loc, combiner, prologue->start, total);
  }

  /// The prologue's scaling at its loop indices `ivs` (x's element): what
  /// the norm would have stored there.
  Value scaled(OpBuilder &b, ArrayRef<Value> ivs) {
    linalg::GenericOp scaling = prologue->scaling;
    IRMapping mapping;
    mapConsumerArguments(b, loc, scaling, {{prologue->totals(), rowTotal}},
                         ivs, mapping);
    cloneBody(b, scaling.getRegion().front(), mapping, ivs);
    auto yield =
        cast<linalg::YieldOp>(scaling.getRegion().front().getTerminator());
    return mapping.lookupOrDefault(yield.getOperand(0));
  }

  Location loc;
  linalg::GenericOp op;
  ResultSink &sink;
  /// The norm this warp recomputes for x, if any, and its row's total.
  const Prologue *prologue;
  Value rowTotal;
  /// Whether the warp prefetches its weights before it waits for the
  /// kernel before (prefetchWeights()).
  bool prefetchWeights;
  /// The op, then its sibling if it has one.
  SmallVector<linalg::GenericOp, 2> reductions;
  Type type;
  SmallVector<Value> sizes, aligned;
  Value zero, one, lanes, perStep;
  /// The warp's index among those of its output (0 with one warp each).
  Value warpOfOutput;
  int64_t elements = 1, unroll = 1, outputs = 1, split = 1;
  unsigned sharedLoop = 0;
};

void buildWarpReduction(OpBuilder &builder, Location loc, linalg::GenericOp op,
                        ResultSink &sink, const Prologue *prologue = nullptr,
                        bool prefetchWeights = false) {
  WarpReduction(builder, loc, op, sink, prologue, prefetchWeights)
      .build(builder);
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
    if (!isa<MemRefType>(operand.get().getType()) ||
        !op.getMatchingIndexingMap(&operand).isFunctionOfDim(inner))
      continue;
    if (!lastIndexIs(op, operand, inner))
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

/// The reduction that `op`'s fused consumer reads beside `op`'s output, to
/// compute in the same warps (SwiGLU: silu(x Wg) * (x Wu) in one kernel,
/// x loaded once for both): a generic before `op` (only allocations, fills
/// and pure ops between) over the same loops, with the same maps, operand
/// types and combiner, whose output is a fresh filled buffer that the
/// consumer alone reads, the way it reads `op`'s; `op` does not read it,
/// and both take the same kernel (tensor cores for both or neither).
linalg::GenericOp siblingReduction(linalg::GenericOp op,
                                   linalg::GenericOp consumer,
                                   bool tensorCores) {
  if (!consumer)
    return {};
  Operation *previous = op->getPrevNode();
  while (previous &&
         (isa<memref::AllocOp, linalg::FillOp>(previous) ||
          isMemoryEffectFree(previous)))
    previous = previous->getPrevNode();
  auto sibling = dyn_cast_or_null<linalg::GenericOp>(previous);
  if (!sibling || !isWarpReduction(sibling) || !foldableFill(sibling) ||
      sibling.getStaticLoopRanges() != op.getStaticLoopRanges() ||
      sibling.getIndexingMapsArray() != op.getIndexingMapsArray() ||
      sibling->getOperandTypes() != op->getOperandTypes() ||
      combinerOf(sibling)->getName() != combinerOf(op)->getName() ||
      outputsPerWarp(op).second != 1)
    return {};
  Value buffer = sibling.getDpsInitOperand(0)->get();
  if (llvm::is_contained(op->getOperands(), buffer) ||
      outputReadElsewhere(sibling, consumer))
    return {};
  // The consumer reads both outputs at the same element.
  AffineMap opMap, siblingMap;
  for (OpOperand *input : consumer.getDpsInputOperands()) {
    if (input->get() == buffer)
      siblingMap = consumer.getMatchingIndexingMap(input);
    if (input->get() == op.getDpsInitOperand(0)->get())
      opMap = consumer.getMatchingIndexingMap(input);
  }
  if (!siblingMap || siblingMap != opMap ||
      llvm::is_contained(consumer.getDpsInits(), buffer))
    return {};
  if (tensorCores && matchMma(op).has_value() != matchMma(sibling).has_value())
    return {};
  return sibling;
}

/// Rewrites `op` (and `sibling`, siblingReduction's, if any; with the
/// norm `prologue` recomputed where it runs a warp per output, if any).
void rewrite(linalg::GenericOp op, linalg::GenericOp sibling,
             RewriterBase &rewriter, bool tensorCores,
             const MmaOptions &mmaOptions, CountersMaker counters,
             const Prologue *prologue, bool prefetchWeights) {
  Location loc = op.getLoc();
  OpOperand *output = op.getDpsInitOperand(0);
  ResultSink sink{op,
                  combinerOf(op),
                  foldableFill(op),
                  fusableConsumer(op),
                  /*broadcast=*/{},
                  /*storeTotal=*/true,
                  sibling,
                  sibling ? foldableFill(sibling) : linalg::FillOp()};
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
          // The sibling on tensor cores on its own, into its buffer (from
          // its fill's value), which the consumer then reads.
          ResultSink alone = sink;
          if (sibling) {
            ResultSink siblingSink{sibling, combinerOf(sibling),
                                   sink.siblingFill, /*consumer=*/{},
                                   /*broadcast=*/{}, /*storeTotal=*/true,
                                   /*sibling=*/{}, /*siblingFill=*/{}};
            buildMmaContraction(b, loc, sibling, *matchMma(sibling),
                                siblingSink, mmaOptions, counters);
            alone.sibling = {};
          }
          buildMmaContraction(b, loc, op, *mma, alone, mmaOptions, counters);
          b.create<scf::YieldOp>(loc);
        },
        [&](OpBuilder &b, Location loc) {
          buildWarpReduction(b, loc, op, sink, prologue, prefetchWeights);
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
    buildWarpReduction(rewriter, loc, op, sink, nullptr, prefetchWeights);
  }

  Value buffer = output->get();
  rewriter.eraseOp(op);
  if (consumerOp)
    rewriter.eraseOp(consumerOp);
  if (sink.fill)
    rewriter.eraseOp(sink.fill);
  if (sibling) {
    // Both branches start from the fill's value.
    rewriter.eraseOp(sibling);
    rewriter.eraseOp(sink.siblingFill);
  }
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
    if (std::string error = llmc::mmaTileOptionsError(
            mmaBlockRows, mmaBlockCols, mmaStageSteps, mmaStages, wgmma, tma,
            tmaProducer, llmc::maxSharedBytes("sm_90"), "");
        !error.empty()) {
      getOperation().emitError(error);
      return signalPassFailure();
    }
    MmaOptions mmaOptions{
        asyncCopies,  loadMatrices, mmaBlockRows,  mmaStageSteps, wgmma,
        mmaBlockCols, mmaStages,    wgmmaInFlight, mmaSplitK,     tma,
        tmaProducer};
    // A split k's arrival counters: a zero device global per kernel (two
    // kernels fused into one launch must not share them).
    SymbolTable symbols(getOperation());
    auto makeCounters = [&](int64_t slots) {
      return addCounters(symbols, "__llmc_split_k_counters", slots);
    };
    // Siblings first (rewriting one reduction leaves the others' places as
    // they are): each is rewritten with the reduction whose consumer reads
    // it.
    llvm::DenseMap<Operation *, linalg::GenericOp> siblings;
    llvm::DenseSet<Operation *> taken;
    if (fuseSiblings)
      for (linalg::GenericOp op : reductions) {
        linalg::GenericOp sibling =
            siblingReduction(op, fusableConsumer(op), tensorCores);
        if (sibling && !siblings.count(sibling) && !taken.contains(op) &&
            taken.insert(sibling).second)
          siblings[op] = sibling;
      }
    // Norms whose contractions recompute them at decode: those first,
    // while the norms are still there to copy.
    llvm::DenseMap<Operation *, Prologue> prologues;
    if (tensorCores && fuseNorms) {
      llvm::DenseMap<Operation *, Operation *> siblingOf;
      for (auto [op, sibling] : siblings)
        siblingOf[sibling] = op;
      for (linalg::GenericOp op : reductions) {
        SmallVector<linalg::GenericOp> consumers = prologueConsumers(op);
        // A sibling runs in its partner's warps: both are consumers.
        if (consumers.empty() ||
            llvm::any_of(consumers, [&](linalg::GenericOp consumer) {
              Operation *partner = siblingOf.lookup(consumer);
              return partner && !llvm::is_contained(consumers, partner);
            }))
          continue;
        linalg::FillOp fill = foldableFill(op);
        linalg::GenericOp scaling = broadcastConsumer(op);
        Prologue prologue{op, scaling, fill.getDpsInputOperand(0)->get(),
                          scaling.getDpsInitOperand(0)->get()};
        guardPrologue(prologue, fill);
        for (linalg::GenericOp consumer : consumers)
          prologues[consumer] = prologue;
      }
    }
    IRRewriter rewriter(&getContext());
    for (bool withPrologue : {true, false})
      for (linalg::GenericOp op : reductions)
        if (!taken.contains(op) && prologues.count(op) == withPrologue)
          rewrite(op, siblings.lookup(op), rewriter, tensorCores, mmaOptions,
                  makeCounters, withPrologue ? &prologues[op] : nullptr,
                  prefetchWeights);
    // Every parallel loop is one of those just made.
    getOperation().walk([](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        flattenAccesses(loop);
    });
  }
};

} // namespace
