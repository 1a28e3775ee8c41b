//===- GpuFusedAttention.cpp - Attention with an online softmax on GPUs ---===//
//
// llm.fused_attention on buffers as two kernels (flash decoding): partial
// results per split of the keys, a warp per query row, then their
// combination. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "llmc/Transforms/Passes.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "GpuReductions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace llmc {
#define GEN_PASS_DEF_GPUFUSEDATTENTION
#include "llmc/Transforms/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using llmc::gpu::addCounters;
using llmc::gpu::bFragments;
using llmc::gpu::globalFence;
using llmc::gpu::lastToArrive;
using llmc::gpu::mmaSync;
using llmc::gpu::packFragment;
using llmc::gpu::rootOf;

namespace {

constexpr int64_t kWarp = 32, kWarps = 8;
/// Query rows of a block in the tensor-core variant: 16 per warp.
constexpr int64_t kMmaRows = 16 * kWarps;
/// Blocks that fill a GPU (an H100 has 132 multiprocessors): splits of the
/// keys are added until the partial kernel has as many.
constexpr int64_t kTargetBlocks = 256;
/// Arrival counters of the warp variant's blocks, one per (row, tile of
/// query rows, KV head), in a device global the last block of each resets:
/// where there are more, the combination is a kernel of its own.
constexpr int64_t kCounters = 16384;
constexpr llvm::StringLiteral kCountersName = "__llmc_attention_counters";

/// What a decode step writes before llm.fused_attention and its warp
/// variant can compute instead (Passes.td, fuse-cache-update): the
/// queries' rotation, the sole writer of the op's query buffer (null where
/// there is none, GPT-2's learned positions), and the loop that stores
/// each row's new keys and values into the cache at its position (`keys`
/// and `values`: its two stores).
struct CacheUpdate {
  linalg::GenericOp rotation;
  scf::ParallelOp copies;
  memref::StoreOp keys, values;
};

bool sameOffset(OpFoldResult a, OpFoldResult b) {
  std::optional<int64_t> x = getConstantIntValue(a), y = getConstantIntValue(b);
  if (x || y)
    return x && y && *x == *y;
  return cast<Value>(a) == cast<Value>(b);
}

/// The subview of a buffer's root that `view` is, or is a view of at
/// offset 0 (unit strides, no dimension dropped past the root's subview).
memref::SubViewOp rootSubview(Value view) {
  auto subview = view.getDefiningOp<memref::SubViewOp>();
  while (subview) {
    if (!subview.hasUnitStride())
      return {};
    auto source = subview.getSource().getDefiningOp<memref::SubViewOp>();
    if (!source)
      break;
    if (subview.getDroppedDims().any() ||
        !llvm::all_of(subview.getMixedOffsets(), [](OpFoldResult offset) {
          return isConstantIntValue(offset, 0);
        }))
      return {};
    subview = source;
  }
  if (!subview || rootOf(subview.getSource()) != subview.getSource())
    return {};
  return subview;
}

/// Whether `view` is a part of a 6-d cache [c, layer, row, key, head,
/// dimension] that drops dimensions [0, `dropped`) and starts at 0 in
/// dimensions `firstZero` and on.
bool cachePart(memref::SubViewOp view, int64_t dropped, int64_t firstZero) {
  llvm::SmallBitVector drops = view.getDroppedDims();
  if (view.getSourceType().getRank() != 6)
    return false;
  for (int64_t d = 0; d < 6; ++d)
    if (drops.test(d) != (d < dropped))
      return false;
  for (int64_t d = firstZero; d < 6; ++d)
    if (!isConstantIntValue(view.getMixedOffsets()[d], 0))
      return false;
  return true;
}

/// Whether the ops strictly between `from` and `to` (one block) let
/// `from` run at `to` instead: none of them writes what it reads
/// (`reads`, roots) or reads or writes what it writes (`written`).
/// Distinct roots are taken to be distinct memory (the KV cache and the
/// positions are the runtime's buffers of their own).
bool movable(Operation *from, Operation *to, ArrayRef<Value> reads,
             ArrayRef<Value> written) {
  auto conflict = [&](Value memref, bool writes) {
    Value root = rootOf(memref);
    return llvm::is_contained(written, root) ||
           (writes && llvm::is_contained(reads, root));
  };
  for (Operation *op = from->getNextNode(); op != to; op = op->getNextNode()) {
    if (!op)
      return false;
    WalkResult walk = op->walk([&](Operation *inner) {
      bool bad = false;
      if (auto load = dyn_cast<memref::LoadOp>(inner))
        bad = conflict(load.getMemRef(), false);
      else if (auto store = dyn_cast<memref::StoreOp>(inner))
        bad = conflict(store.getMemRef(), true);
      else if (auto dealloc = dyn_cast<memref::DeallocOp>(inner))
        bad = conflict(dealloc.getMemref(), true);
      else if (auto linalgOp = dyn_cast<linalg::LinalgOp>(inner)) {
        if (!linalgOp.hasPureBufferSemantics())
          return WalkResult::interrupt();
        for (OpOperand *input : linalgOp.getDpsInputOperands())
          bad |= isa<MemRefType>(input->get().getType()) &&
                 conflict(input->get(), false);
        for (OpOperand &init : linalgOp.getDpsInitsMutable())
          bad |= conflict(init.get(), true);
      } else if (!isMemoryEffectFree(inner) &&
                 !isa<memref::AllocOp, memref::AllocaOp>(inner) &&
                 !inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>()) {
        bad = true;
      }
      return bad ? WalkResult::interrupt() : WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return false;
  }
  return true;
}

/// The buffers `op` (or an op in it) loads from or takes as inputs.
SmallVector<Value> readRoots(Operation *op) {
  SmallVector<Value> roots;
  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    for (OpOperand *input : generic.getDpsInputOperands())
      if (isa<MemRefType>(input->get().getType()))
        roots.push_back(rootOf(input->get()));
  op->walk(
      [&](memref::LoadOp load) { roots.push_back(rootOf(load.getMemRef())); });
  return roots;
}

/// The rotation that alone writes `op`'s query buffer, an elementwise
/// generic of one output before it that may run where `op` is.
linalg::GenericOp matchRotation(llm::FusedAttentionOp op) {
  Value query = op.getQuery();
  if (!query.getDefiningOp<memref::AllocOp>())
    return {};
  linalg::GenericOp writer = llmc::gpu::elementwiseWriter(query, op, op);
  if (!writer || writer.getNumLoops() != 4)
    return {};
  for (Operation &inner : writer.getRegion().front())
    if (inner.getNumRegions() != 0)
      return {};
  if (!movable(writer, op, readRoots(writer), {query}))
    return {};
  return writer;
}

/// The loop before `op` that stores each row's new keys and values into
/// the cache `op` reads them from, at the row's position: an scf.parallel
/// over (row, new token, KV head, dimension) of the op's rows and tokens
/// whose body, without regions, loads and stores twice, each store at
/// (token, head, dimension) into cache[c, layer, row, position, ...] of
/// the op's keys' or values' c and layer, the position loaded from the
/// op's positions at the row.
std::optional<CacheUpdate> matchCacheUpdate(llm::FusedAttentionOp op,
                                            linalg::GenericOp rotation) {
  Value positions = op.getPositions();
  memref::SubViewOp keyView = rootSubview(op.getKeys()),
                    valueView = rootSubview(op.getValues());
  if (!positions || !op.getCausal() || !keyView || !valueView ||
      keyView.getSource() != valueView.getSource() ||
      !cachePart(keyView, 2, 2) || !cachePart(valueView, 2, 2))
    return std::nullopt;
  Value cache = keyView.getSource();
  auto queryType = cast<MemRefType>(op.getQuery().getType());
  // The rows and new tokens: the dynamic sizes of the queries' buffer
  // (or of the buffer it views, with the same two leading dimensions).
  auto query = rootOf(op.getQuery()).getDefiningOp<memref::AllocOp>();
  if (!query || query.getDynamicSizes().size() != 2 ||
      !query.getType().isDynamicDim(0) || !query.getType().isDynamicDim(1))
    return std::nullopt;
  int64_t kvHeads = cast<MemRefType>(op.getKeys().getType()).getDimSize(2);
  int64_t headDim = queryType.getDimSize(3);
  if (cast<MemRefType>(op.getValues().getType()).getDimSize(3) != headDim ||
      headDim > 256 || !queryType.isDynamicDim(0) || !queryType.isDynamicDim(1))
    return std::nullopt;

  scf::ParallelOp loop;
  for (Operation *prev = op->getPrevNode(); prev && !loop;
       prev = prev->getPrevNode()) {
    auto parallel = dyn_cast<scf::ParallelOp>(prev);
    if (parallel && parallel
                        .walk([&](memref::StoreOp store) {
                          return rootOf(store.getMemRef()) == cache
                                     ? WalkResult::interrupt()
                                     : WalkResult::advance();
                        })
                        .wasInterrupted())
      loop = parallel;
  }
  if (!loop || loop.getNumResults() != 0 || loop.getNumLoops() != 4)
    return std::nullopt;
  ValueRange ivs = loop.getInductionVars();
  Value upper[] = {query.getDynamicSizes()[0], query.getDynamicSizes()[1]};
  for (int i = 0; i < 4; ++i)
    if (!isConstantIntValue(getAsOpFoldResult(loop.getLowerBound()[i]), 0) ||
        !isConstantIntValue(getAsOpFoldResult(loop.getStep()[i]), 1))
      return std::nullopt;
  if (loop.getUpperBound()[0] != upper[0] ||
      loop.getUpperBound()[1] != upper[1] ||
      !isConstantIntValue(getAsOpFoldResult(loop.getUpperBound()[2]),
                          kvHeads) ||
      !isConstantIntValue(getAsOpFoldResult(loop.getUpperBound()[3]), headDim))
    return std::nullopt;

  CacheUpdate update{rotation, loop, {}, {}};
  for (Operation &inner : loop.getBody()->without_terminator()) {
    if (inner.getNumRegions() != 0)
      return std::nullopt;
    auto store = dyn_cast<memref::StoreOp>(inner);
    if (!store) {
      if (!isMemoryEffectFree(&inner) && !isa<memref::LoadOp>(inner))
        return std::nullopt;
      continue;
    }
    auto view = store.getMemRef().getDefiningOp<memref::SubViewOp>();
    if (!view || view.getSource() != cache || !view.hasUnitStride() ||
        !cachePart(view, 3, 4) ||
        !llvm::equal(store.getIndices(), ivs.drop_front()))
      return std::nullopt;
    SmallVector<OpFoldResult> offsets = view.getMixedOffsets();
    // At the row, from its position.
    Value at = dyn_cast_if_present<Value>(offsets[3]);
    auto cast = at ? at.getDefiningOp<arith::IndexCastOp>() : nullptr;
    auto load = cast ? cast.getIn().getDefiningOp<memref::LoadOp>() : nullptr;
    if (dyn_cast_if_present<Value>(offsets[2]) != ivs[0] || !load ||
        load.getMemRef() != positions ||
        !llvm::equal(load.getIndices(), ValueRange{ivs[0]}))
      return std::nullopt;
    for (auto [part, slot] :
         {std::pair{keyView, &update.keys}, {valueView, &update.values}})
      if (sameOffset(offsets[0], part.getMixedOffsets()[0]) &&
          sameOffset(offsets[1], part.getMixedOffsets()[1])) {
        if (*slot)
          return std::nullopt;
        *slot = store;
      }
  }
  if (!update.keys || !update.values ||
      !movable(loop, op, readRoots(loop), {cache}))
    return std::nullopt;
  return update;
}

/// Builds the kernels of one llm.fused_attention.
class FusedAttention {
public:
  /// `counters`: the arrival counters where the warp variant's last blocks
  /// combine the splits, else null.
  /// `update`: the cache update the warp variant computes at one new
  /// token per row, else null.
  /// `stages`: steps of keys in the tensor-core variant's tiles.
  /// `wgmma`: the tensor-core variant's scores and P V on
  /// wgmma.mma_async; `overlap`: with wgmma, the next step's scores
  /// issued before a step's softmax.
  FusedAttention(OpBuilder &b, llm::FusedAttentionOp op, bool loadMatrices,
                 int64_t stages, bool wgmma, bool overlap,
                 memref::GlobalOp counters, const CacheUpdate *update)
      : b(b), loc(op.getLoc()), op(op), loadMatrices(loadMatrices),
        stages(stages), wgmma(wgmma), overlap(overlap), counters(counters),
        update(update) {
    auto queryType = cast<MemRefType>(op.getQuery().getType());
    elementType = queryType.getElementType();
    heads = queryType.getDimSize(2);
    headDim = queryType.getDimSize(3);
    kvHeads = cast<MemRefType>(op.getKeys().getType()).getDimSize(2);
    valueDim = cast<MemRefType>(op.getValues().getType()).getDimSize(3);
    group = heads / kvHeads;
    f32 = b.getF32Type();
  }

  void build() {
    Value zero = index(0), one = index(1);
    batch = b.create<memref::DimOp>(loc, op.getQuery(), 0);
    seq = b.create<memref::DimOp>(loc, op.getQuery(), 1);
    keys = b.create<memref::DimOp>(loc, op.getKeys(), 1);
    // Rows of a KV head: its group's heads for every query.
    rows = b.create<arith::MulIOp>(loc, seq, index(group));
    // f16 or bf16 with 16 rows or more per KV head (prefill) on tensor cores, 128
    // rows a block; else a warp per row, 8 a block.
    Value useMma = b.create<arith::ConstantIntOp>(loc, 0, 1);
    if (mmaApplies())
      useMma = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, rows,
                                       index(16));
    Value rowsPerBlock = select(useMma, index(kMmaRows), index(kWarps));
    rowTiles = ceilDiv(rows, rowsPerBlock);
    // Splits: enough blocks, at least 32 keys each; then as many as the
    // rounded chunk needs.
    Value blocks = b.create<arith::MulIOp>(
        loc, b.create<arith::MulIOp>(loc, batch, rowTiles), index(kvHeads));
    Value wanted = b.create<arith::MaxUIOp>(
        loc, one,
        b.create<arith::MinUIOp>(loc, ceilDiv(keys, index(kWarp)),
                                 ceilDiv(index(kTargetBlocks), blocks)));
    chunk = b.create<arith::MulIOp>(
        loc, ceilDiv(ceilDiv(keys, wanted), index(kWarp)), index(kWarp));
    splits = b.create<arith::MaxUIOp>(loc, one, ceilDiv(keys, chunk));
    // The tensor-core variant with one split writes the output itself.
    if (mmaApplies())
      oneSplit =
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, splits, one);
    // The warp variant's last block of a row's tile and KV head combines
    // the splits (a decode step: one launch fewer) where the counters
    // suffice.
    Value notMma = b.create<arith::XOrIOp>(
        loc, useMma, b.create<arith::ConstantIntOp>(loc, 1, 1));
    if (counters)
      combineInBlocks = b.create<arith::AndIOp>(
          loc, notMma,
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ule, blocks,
                                  index(kCounters)));
    else
      combineInBlocks = b.create<arith::ConstantIntOp>(loc, 0, 1);

    // The splits' accumulators, maxima and sums.
    Value dims[] = {batch, seq, splits};
    partialValues = b.create<memref::AllocOp>(
        loc,
        MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic, heads,
                         ShapedType::kDynamic, valueDim},
                        f32),
        dims);
    auto statsType =
        MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic, heads,
                         ShapedType::kDynamic},
                        f32);
    partialMax = b.create<memref::AllocOp>(loc, statsType, dims);
    partialSum = b.create<memref::AllocOp>(loc, statsType, dims);

    auto partials = [&](bool mma, bool fused = false) {
      b.create<scf::ParallelOp>(loc, SmallVector<Value>(6, zero),
                                ValueRange{batch, rowTiles, index(kvHeads),
                                           splits, index(kWarps), index(kWarp)},
                                SmallVector<Value>(6, one),
                                [&](OpBuilder &nb, Location, ValueRange ivs) {
                                  OpBuilder::InsertionGuard guard(b);
                                  b.setInsertionPointToStart(
                                      nb.getInsertionBlock());
                                  if (mma)
                                    mmaPartialKernel(ivs);
                                  else
                                    partialKernel(ivs, fused);
                                });
    };
    auto anyPartials = [&] {
      if (mmaApplies()) {
        auto choice = b.create<scf::IfOp>(loc, useMma, /*withElse=*/true);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&choice.getThenRegion().front());
        partials(true);
        b.setInsertionPointToStart(&choice.getElseRegion().front());
        partials(false);
      } else {
        partials(false);
      }
    };
    if (update) {
      // One new token per row in the warp variant: the rotation and the
      // cache update in its kernel; else both first, as they were.
      Value fused = b.create<arith::AndIOp>(
          loc, notMma,
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, seq, one));
      auto choice = b.create<scf::IfOp>(loc, fused, /*withElse=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&choice.getThenRegion().front());
      partials(false, /*fused=*/true);
      b.setInsertionPointToStart(&choice.getElseRegion().front());
      if (update->rotation)
        b.clone(*update->rotation);
      b.clone(*update->copies);
      anyPartials();
    } else {
      anyPartials();
    }
    Value combined = combineInBlocks;
    if (oneSplit)
      combined = b.create<arith::OrIOp>(
          loc, combined, b.create<arith::AndIOp>(loc, useMma, oneSplit));
    auto apart = b.create<scf::IfOp>(
        loc,
        b.create<arith::XOrIOp>(loc, combined,
                                b.create<arith::ConstantIntOp>(loc, 1, 1)),
        /*withElse=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&apart.getThenRegion().front());
      b.create<scf::ParallelOp>(
          loc, SmallVector<Value>(4, zero),
          ValueRange{batch, seq, index(heads), index(kWarp)},
          SmallVector<Value>(4, one),
          [&](OpBuilder &nb, Location, ValueRange ivs) {
            OpBuilder::InsertionGuard guard(b);
            b.setInsertionPointToStart(nb.getInsertionBlock());
            combineKernel(ivs);
          });
    }
    for (Value buffer : {partialValues, partialMax, partialSum})
      b.create<memref::DeallocOp>(loc, buffer);
  }

private:
  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value f32Constant(double v) {
    return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v));
  }
  Value minusInfinity() {
    return f32Constant(-std::numeric_limits<double>::infinity());
  }
  /// (x + y - 1) / y.
  Value ceilDiv(Value x, Value y) {
    Value up = b.create<arith::SubIOp>(loc, b.create<arith::AddIOp>(loc, x, y),
                                       index(1));
    return b.create<arith::DivUIOp>(loc, up, y);
  }
  Value toF32(Value v) {
    return v.getType() == f32 ? v : b.create<arith::ExtFOp>(loc, f32, v);
  }
  Value loadF32(Value buffer, ValueRange indices) {
    return toF32(b.create<memref::LoadOp>(loc, buffer, indices));
  }
  Value select(Value condition, Value yes, Value no) {
    return b.create<arith::SelectOp>(loc, condition, yes, no);
  }
  Value less(Value x, Value y) {
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, x, y);
  }
  /// `value` combined over the warp's lanes, in every lane.
  Value butterfly(Value value, bool maximum) {
    return xorCombine(value, maximum, {16, 8, 4, 2, 1});
  }
  /// `value` combined over the 4 lanes of a quad (one fragment row).
  Value quad(Value value, bool maximum) {
    return xorCombine(value, maximum, {1, 2});
  }
  /// `value` combined (sum or maximum) with the lanes at the xor `offsets`.
  Value xorCombine(Value value, bool maximum, ArrayRef<int64_t> offsets) {
    for (int64_t offset : offsets) {
      Value other = b.create<gpu::ShuffleOp>(loc, value, offset, kWarp,
                                             gpu::ShuffleMode::XOR)
                        .getShuffleResult();
      value = maximum
                  ? b.create<arith::MaximumFOp>(loc, value, other).getResult()
                  : b.create<arith::AddFOp>(loc, value, other).getResult();
    }
    return value;
  }
  /// exp(x - m) where m is finite, else 0 (no key seen yet).
  Value rescale(Value x, Value m) {
    Value finite = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, m,
                                           minusInfinity());
    Value e = b.create<math::ExpOp>(loc, b.create<arith::SubFOp>(loc, x, m));
    return select(finite, e, f32Constant(0));
  }
  /// Runs `body(d, j)` for the lane's dimensions d = lane + 32 j below
  /// `extent` (a head's: all 64 / 32 of them where 32 divides it).
  void forLaneDims(Value lane, int64_t extent,
                   function_ref<void(Value, int64_t)> body) {
    for (int64_t j = 0; j * kWarp < extent; ++j) {
      Value d = b.create<arith::AddIOp>(loc, lane, index(j * kWarp));
      if ((j + 1) * kWarp <= extent) {
        body(d, j);
        continue;
      }
      auto inside = b.create<scf::IfOp>(loc, less(d, index(extent)), false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&inside.getThenRegion().front());
      body(d, j);
    }
  }
  /// The lane's value dimension j, clamped to the last (a partial last
  /// group of lanes reads it and never stores).
  Value laneValueDim(Value lane, int64_t j) {
    return b.create<arith::MinUIOp>(
        loc, b.create<arith::AddIOp>(loc, lane, index(j * kWarp)),
        index(valueDim - 1));
  }

  /// The keys query `s` of row `bIdx` sees: {first, end}, before the
  /// split's bounds.
  std::pair<Value, Value> visibleKeys(Value bIdx, Value s) {
    Value end = keys, first = index(0);
    if (!op.getCausal())
      return {first, end};
    Value position = s;
    if (Value positions = op.getPositions()) {
      Value p = b.create<memref::LoadOp>(loc, positions, bIdx);
      position = b.create<arith::AddIOp>(
          loc, s, b.create<arith::IndexCastOp>(loc, b.getIndexType(), p));
    }
    end = b.create<arith::MinUIOp>(
        loc, end, b.create<arith::AddIOp>(loc, position, index(1)));
    if (std::optional<int64_t> window = op.getSlidingWindow()) {
      Value w = index(*window - 1);
      Value past =
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ugt, position, w);
      first = select(past, b.create<arith::SubIOp>(loc, position, w), index(0));
    }
    return {first, end};
  }

  /// Query row `row` of KV head `kvHead` (row = query * group + head) in
  /// split `split`: whether it is one (rows past the last read
  /// row 0, see no key and store nothing), its query and head, and the
  /// split's keys it sees, [first, end).
  struct RowPlace {
    Value inside, s, head, first, end;
  };
  RowPlace place(Value bIdx, Value kvHead, Value row, Value split) {
    Value begin = b.create<arith::MulIOp>(loc, split, chunk);
    Value splitEnd = b.create<arith::AddIOp>(loc, begin, chunk);
    RowPlace at;
    at.inside = less(row, rows);
    Value safe = select(at.inside, row, index(0));
    at.s = b.create<arith::DivUIOp>(loc, safe, index(group));
    at.head = b.create<arith::AddIOp>(
        loc, b.create<arith::MulIOp>(loc, kvHead, index(group)),
        b.create<arith::RemUIOp>(loc, safe, index(group)));
    Value end;
    std::tie(at.first, end) = visibleKeys(bIdx, at.s);
    at.end =
        select(at.inside, b.create<arith::MinUIOp>(loc, end, splitEnd), begin);
    return at;
  }
  /// Whether `key` is among [first, end).
  Value keyVisible(Value key, Value first, Value end) {
    return b.create<arith::AndIOp>(
        loc, less(key, end),
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, key, first));
  }

  /// The steps of 32 keys over the split's keys any of the block's rows
  /// (`blockRows` from `firstRow`) sees, from the first step that reaches
  /// them: each loads its keys and values into the tiles (`toF32` or as
  /// they are), then runs `body(t0, carried)`, which returns what the next
  /// step carries.
  scf::ForOp stepLoop(Value bIdx, Value kvHead, Value split, Value firstRow,
                      int64_t blockRows, Value thread, Value keyTile,
                      Value valueTile, bool toF32, ValueRange init,
                      function_ref<SmallVector<Value>(Value, ValueRange)> body,
                      function_ref<void(Value)> patch = {}) {
    auto [lower, end] = stepRange(bIdx, split, firstRow, blockRows);
    return b.create<scf::ForOp>(
        loc, lower, end, index(kWarp), init,
        [&](OpBuilder &nb, Location, Value t0, ValueRange carried) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(nb.getInsertionBlock());
          // Every thread is done with the last step's tiles (and has stored
          // its query), then the block loads this step's and waits for all
          // of it.
          b.create<gpu::BarrierOp>(loc);
          loadTile(op.getKeys(), keyTile, headDim, t0, thread, bIdx, kvHead,
                   toF32);
          loadTile(op.getValues(), valueTile, valueDim, t0, thread, bIdx,
                   kvHead, toF32);
          b.create<gpu::BarrierOp>(loc);
          if (patch)
            patch(t0);
          b.create<scf::YieldOp>(loc, body(t0, carried));
        });
  }

  /// The first and the end of the steps of stepLoop: from the step of the
  /// split's keys that holds the first key any of the block's rows sees, to
  /// the last such key + 1 (or the split's end).
  std::pair<Value, Value> stepRange(Value bIdx, Value split, Value firstRow,
                                    int64_t blockRows) {
    Value begin = b.create<arith::MulIOp>(loc, split, chunk);
    Value lastRow = b.create<arith::MinUIOp>(
        loc, b.create<arith::AddIOp>(loc, firstRow, index(blockRows - 1)),
        b.create<arith::SubIOp>(loc, rows, index(1)));
    Value first =
        visibleKeys(bIdx, b.create<arith::DivUIOp>(loc, firstRow, index(group)))
            .first;
    Value end = b.create<arith::MinUIOp>(
        loc,
        visibleKeys(bIdx, b.create<arith::DivUIOp>(loc, lastRow, index(group)))
            .second,
        b.create<arith::AddIOp>(loc, begin, chunk));
    Value skip = b.create<arith::MulIOp>(
        loc,
        b.create<arith::DivUIOp>(
            loc,
            b.create<arith::SubIOp>(
                loc, b.create<arith::MaxUIOp>(loc, first, begin), begin),
            index(kWarp)),
        index(kWarp));
    return {b.create<arith::AddIOp>(loc, begin, skip), end};
  }

  /// Stages of the tensor-core variant's tiles: `stages` where their copies
  /// can be cp.async's (rows of a multiple of 8 16-bit elements, contiguous
  /// dimensions), as many as 96 KiB of shared memory hold beside the query
  /// tile (key and value rows padded by `padding`); else 1.
  int64_t stagesFor(int64_t queryTileBytes, int64_t padding = 8) {
    if (stages <= 1 || !chunksOf8(op.getKeys(), headDim) ||
        !chunksOf8(op.getValues(), valueDim))
      return 1;
    constexpr int64_t kBudget = 96 * 1024;
    int64_t stageBytes = kWarp * (headDim + valueDim + 2 * padding) * 2;
    return std::clamp<int64_t>((kBudget - queryTileBytes) / stageBytes, 1,
                               stages);
  }

  /// stepLoop's steps with `tileStages` stages of 32 keys in the tiles
  /// (rows 32 s to 32 s + 31: stage s): step i's keys and values are
  /// copied by cp.async into stage i mod tileStages, tileStages - 1 steps
  /// ahead of their multiplies, a group of copies per step (each thread
  /// copies 16 bytes at a time, rows placed by tileChunkPlace; keys past
  /// the last read the last one; the steps ahead past the loop's end
  /// copy nothing, an empty group). Step i waits until its own group has
  /// landed, then at a barrier for every thread's (which also tells that
  /// step i - 1, whose stage the next copies take, is done). Where the
  /// keys' or values' view starts off a multiple of 8 elements (checked
  /// once: a branch the whole block takes), the copies are a thread's
  /// loads and stores instead. `body(t0, first row of the stage, first
  /// row of the next step's stage, carried)`.
  /// With `lookahead` (3 stages or more) step i + 1's tiles are waited
  /// for in step i, so that its body can start step i + 1's multiplies
  /// before its own softmax: the copies run tileStages - 2 steps ahead
  /// (stages i and i + 1 are read in step i), and before the loop, once
  /// step 0's tiles are in, `lookahead(first row of step 0's stage)`
  /// gives a value the first step carries after `init`.
  scf::ForOp pipelinedStepLoop(
      Value bIdx, Value kvHead, Value split, Value firstRow, Value thread,
      Value keyTile, Value valueTile, int64_t tileStages, ValueRange init,
      function_ref<SmallVector<Value>(Value, Value, Value, ValueRange)> body,
      function_ref<Value(Value)> lookahead = {}) {
    Value lower, end;
    std::tie(lower, end) = stepRange(bIdx, split, firstRow, kMmaRows);
    int64_t ahead = lookahead ? tileStages - 2 : tileStages - 1;
    Value keysAligned = offsetAligned(
        b.create<memref::ExtractStridedMetadataOp>(loc, op.getKeys()));
    Value aligned = b.create<arith::AndIOp>(
        loc, keysAligned,
        offsetAligned(
            b.create<memref::ExtractStridedMetadataOp>(loc, op.getValues())));
    Value lastKey = b.create<arith::SubIOp>(loc, keys, index(1));
    // Step t0's copies into `stage`, none past the last step (a group all
    // the same).
    auto copyStep = [&](Value t0, Value stage) {
      Value base = b.create<arith::MulIOp>(loc, stage, index(kWarp));
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(
            &b.create<scf::IfOp>(loc, less(t0, end), /*withElse=*/false)
                 .getThenRegion()
                 .front());
        auto copies = b.create<scf::IfOp>(loc, aligned, /*withElse=*/true);
        b.setInsertionPointToStart(&copies.getThenRegion().front());
        auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
        for (auto [source, tile, width] :
             {std::tuple{op.getKeys(), keyTile, headDim},
              {op.getValues(), valueTile, valueDim}})
          for (int64_t c0 = 0, chunks = kWarp * width / 8; c0 < chunks;
               c0 += kWarps * kWarp) {
            Value chunk = b.create<arith::AddIOp>(loc, thread, index(c0));
            // The last round's threads past the chunks copy nothing.
            OpBuilder::InsertionGuard round(b);
            if (c0 + kWarps * kWarp > chunks)
              b.setInsertionPointToStart(
                  &b.create<scf::IfOp>(loc, less(chunk, index(chunks)), false)
                       .getThenRegion()
                       .front());
            auto [r, d] = llmc::gpu::tileChunkPlace(b, loc, chunk, width / 8);
            Value key = b.create<arith::MinUIOp>(
                loc, b.create<arith::AddIOp>(loc, t0, r), lastKey);
            b.create<nvgpu::DeviceAsyncCopyOp>(
                loc, tokenType, tile,
                tilePlace(tile, b.create<arith::AddIOp>(loc, base, r), d,
                          width),
                source, ValueRange{bIdx, key, kvHead, d}, b.getIndexAttr(8),
                /*srcElements=*/Value(), b.getUnitAttr());
          }
        b.setInsertionPointToStart(&copies.getElseRegion().front());
        scalarTile(op.getKeys(), keyTile, headDim, t0, thread, bIdx, kvHead,
                   /*toF32=*/false, base);
        scalarTile(op.getValues(), valueTile, valueDim, t0, thread, bIdx,
                   kvHead, /*toF32=*/false, base);
      }
      b.create<NVVM::CpAsyncCommitGroupOp>(loc);
    };
    auto stepAt = [&](Value i) {
      return b.create<arith::AddIOp>(
          loc, lower, b.create<arith::MulIOp>(loc, i, index(kWarp)));
    };
    // The thread's copies but the last `pending` groups have landed; the
    // block's, after the barrier. The tiles (and the query tile before
    // the loop) were written through the generic proxy; wgmma reads them
    // through the async proxy.
    auto landed = [&](int64_t pending) {
      b.create<NVVM::CpAsyncWaitGroupOp>(loc, pending);
      if (coreKeyTile)
        llmc::gpu::asyncProxyFence(b, loc);
      b.create<gpu::BarrierOp>(loc);
    };
    // The first row of step i's stage.
    auto stageBase = [&](Value i) -> Value {
      return b.create<arith::MulIOp>(
          loc, b.create<arith::RemUIOp>(loc, i, index(tileStages)),
          index(kWarp));
    };
    int64_t before = lookahead ? ahead + 1 : ahead;
    for (int64_t i = 0; i < before; ++i)
      copyStep(stepAt(index(i)), index(i));
    SmallVector<Value> initial(init.begin(), init.end());
    if (lookahead) {
      landed(ahead);
      initial.push_back(lookahead(index(0)));
    }
    auto loop = b.create<scf::ForOp>(
        loc, lower, end, index(kWarp), initial,
        [&](OpBuilder &nb, Location, Value t0, ValueRange carried) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(nb.getInsertionBlock());
          Value i = b.create<arith::DivUIOp>(
              loc, b.create<arith::SubIOp>(loc, t0, lower), index(kWarp));
          landed(ahead - 1);
          Value next = b.create<arith::AddIOp>(loc, i, index(before));
          copyStep(stepAt(next),
                   b.create<arith::RemUIOp>(loc, next, index(tileStages)));
          b.create<scf::YieldOp>(
              loc, body(t0, stageBase(i),
                        stageBase(b.create<arith::AddIOp>(loc, i, index(1))),
                        carried));
        });
    // No copy outlives the kernel.
    b.create<NVVM::CpAsyncWaitGroupOp>(loc, 0);
    return loop;
  }

  /// A row's maximum and sum for the split, stored by `leader` (one lane of
  /// those that hold the row).
  void storeStats(Value leader, Value max, Value sum, ValueRange indices) {
    auto store = b.create<scf::IfOp>(loc, leader, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&store.getThenRegion().front());
    b.create<memref::StoreOp>(loc, max, partialMax, indices);
    b.create<memref::StoreOp>(loc, sum, partialSum, indices);
  }
  Value isZero(Value v) {
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, v, index(0));
  }
  /// The query element at `ivs` (row, token, head, dimension) through
  /// the rotation's body, in the element type.
  Value rotated(ValueRange ivs) {
    return llmc::gpu::yieldedAt(b, loc, update->rotation, ivs);
  }

  /// At one new token per row: where row `bIdx`'s position is among the
  /// step's 32 keys from `t0`, the block's first `headDim` threads compute
  /// its key and value (the cache update's body at token 0, KV head
  /// `kvHead`, dimension thread) into the tiles, the block of query-row
  /// tile 0 storing them into the cache too; then every thread waits.
  void newKeyInStep(Value t0, Value bIdx, Value kvHead, Value tile,
                    Value thread, Value keyTile, Value valueTile) {
    Value position = b.create<arith::IndexCastOp>(
        loc, b.getIndexType(),
        b.create<memref::LoadOp>(loc, op.getPositions(), bIdx));
    Value inStep = b.create<arith::AndIOp>(
        loc,
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, position, t0),
        less(position, b.create<arith::AddIOp>(loc, t0, index(kWarp))));
    auto step = b.create<scf::IfOp>(loc, inStep, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&step.getThenRegion().front());
    auto mine = b.create<scf::IfOp>(loc, less(thread, index(headDim)), false);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(&mine.getThenRegion().front());
      scf::ParallelOp copies = update->copies;
      ValueRange ivs = copies.getInductionVars();
      IRMapping mapping;
      mapping.map(ivs[0], bIdx);
      mapping.map(ivs[1], index(0));
      mapping.map(ivs[2], kvHead);
      mapping.map(ivs[3], thread);
      for (Operation &op : copies.getBody()->without_terminator())
        if (!isa<memref::StoreOp>(op))
          b.clone(op, mapping);
      Value r = b.create<arith::SubIOp>(loc, position, t0);
      for (auto [store, tileOf] :
           {std::pair{update->keys, keyTile}, {update->values, valueTile}})
        b.create<memref::StoreOp>(
            loc, toF32(mapping.lookupOrDefault(store.getValueToStore())),
            tileOf, ValueRange{r, thread});
      auto writer = b.create<scf::IfOp>(loc, isZero(tile), false);
      b.setInsertionPointToStart(&writer.getThenRegion().front());
      b.clone(*update->keys, mapping);
      b.clone(*update->values, mapping);
    }
    b.create<gpu::BarrierOp>(loc);
  }

  /// The indices in `tile` of element (r, d) of its rows of `width`: (r, d)
  /// in the padded row-major tiles; in wgmma's core-matrix layout
  /// (coreQueryTile, coreKeyTile, coreValueTile: memref<N x 8>, a core
  /// matrix's 8 rows of 16 bytes after another, those of 8 rows' dimensions
  /// in order, then the next 8 rows'), row ((r / 8) (width / 8) + d / 8) 8
  /// + r % 8, column d % 8.
  SmallVector<Value, 2> tilePlace(Value tile, Value r, Value d, int64_t width) {
    if (tile != coreQueryTile && tile != coreKeyTile && tile != coreValueTile)
      return {r, d};
    Value eight = index(8);
    Value matrix = b.create<arith::AddIOp>(
        loc,
        b.create<arith::MulIOp>(loc, b.create<arith::DivUIOp>(loc, r, eight),
                                index(width / 8)),
        b.create<arith::DivUIOp>(loc, d, eight));
    return {b.create<arith::AddIOp>(loc,
                                    b.create<arith::MulIOp>(loc, matrix, eight),
                                    b.create<arith::RemUIOp>(loc, r, eight)),
            b.create<arith::RemUIOp>(loc, d, eight)};
  }

  /// wgmma's descriptor of a core-matrix tile's rows from `firstRow` (a
  /// multiple of 8) of `width` dimensions, no swizzle. As a k-major operand
  /// (rows m or n, dimensions k): core matrices 128 bytes apart along the
  /// dimensions (the leading byte offset), width x 16 bytes between groups
  /// of 8 rows (the stride); 16 dimensions further: + 16 (two core
  /// matrices, in 16-byte units). As an n-major B (`nMajor`: rows k,
  /// dimensions n, wgmma's transposed B) the two swap: width x 16 bytes
  /// from 8 k to the next 8, 128 from 8 n to the next 8.
  Value coreDescriptor(Value tile, Value firstRow, int64_t width,
                       bool nMajor = false) {
    Value address = b.create<arith::IndexCastUIOp>(
        loc, b.getI64Type(),
        b.create<arith::AddIOp>(
            loc, b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, tile),
            b.create<arith::MulIOp>(loc, firstRow, index(width * 2))));
    int64_t along = 128, across = width * 16;
    if (nMajor)
      std::swap(along, across);
    return llmc::gpu::wgmmaDescriptor(b, loc, address, along, across, 0);
  }

  /// A `rows` x `width` buffer of `element` in the block's shared memory.
  Value sharedTile(int64_t rows, int64_t width, Type element) {
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    return b.create<memref::AllocaOp>(
        loc, MemRefType::get({rows, width}, element,
                             MemRefLayoutAttrInterface(), workgroup));
  }

  /// The block's thread index, warp-major.
  Value threadOf(Value warp, Value lane) {
    return b.create<arith::AddIOp>(
        loc, b.create<arith::MulIOp>(loc, warp, index(kWarp)), lane);
  }

  /// One warp's query row over one split of the keys; the block's 8 rows
  /// share the keys, loaded 32 at a time into shared memory by all its
  /// threads (consecutive threads, consecutive dimensions).
  void partialKernel(ValueRange ivs, bool fused) {
    Value bIdx = ivs[0], tile = ivs[1], kvHead = ivs[2], split = ivs[3],
          warp = ivs[4], lane = ivs[5];
    Value firstRow = b.create<arith::MulIOp>(loc, tile, index(kWarps));
    RowPlace at = place(bIdx, kvHead,
                        b.create<arith::AddIOp>(loc, firstRow, warp), split);
    Value s = at.s, head = at.head;

    // The query rows, scaled, and a step's keys and values in shared
    // memory (f32; rows padded by one, so that lane l reading row l hits
    // bank l + d).
    Value queries = sharedTile(kWarps, headDim, f32);
    Value keyTile = sharedTile(kWarp, headDim + 1, f32);
    Value valueTile = sharedTile(kWarp, valueDim + 1, f32);
    Value scale = f32Constant(op.getScale().convertToDouble());
    forLaneDims(lane, headDim, [&](Value d, int64_t) {
      Value q = fused && update->rotation
                    ? toF32(rotated({bIdx, s, head, d}))
                    : loadF32(op.getQuery(), {bIdx, s, head, d});
      b.create<memref::StoreOp>(loc, b.create<arith::MulFOp>(loc, q, scale),
                                queries, ValueRange{warp, d});
    });

    int64_t laneDims = (valueDim + kWarp - 1) / kWarp;
    SmallVector<Value> init = {minusInfinity(), f32Constant(0)};
    init.append(laneDims, f32Constant(0));
    auto loop = stepLoop(
        bIdx, kvHead, split, firstRow, kWarps, threadOf(warp, lane), keyTile,
        valueTile, /*toF32=*/true, init,
        [&](Value t0, ValueRange carried) {
          return step(t0, carried, at.first, at.end, warp, lane, queries,
                      keyTile, valueTile);
        },
        fused ? [&](Value t0) {
          newKeyInStep(t0, bIdx, kvHead, tile, threadOf(warp, lane), keyTile,
                       valueTile);
        } : function_ref<void(Value)>());
    Value max = loop.getResult(0);
    Value sum = butterfly(loop.getResult(1), /*maximum=*/false);
    {
      auto store = b.create<scf::IfOp>(loc, at.inside, false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&store.getThenRegion().front());
      forLaneDims(lane, valueDim, [&](Value d, int64_t j) {
        b.create<memref::StoreOp>(loc, loop.getResult(2 + j), partialValues,
                                  ValueRange{bIdx, s, head, split, d});
      });
      storeStats(isZero(lane), max, sum, {bIdx, s, head, split});
    }
    if (!counters)
      return;
    auto last = b.create<scf::IfOp>(loc, combineInBlocks, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&last.getThenRegion().front());
    combineInLastBlock(bIdx, tile, kvHead, warp, lane, at);
  }

  /// The block that stores the last split of its rows (an arrival counter
  /// per row, tile and KV head) combines them, a warp per row, as the
  /// combination kernel would.
  void combineInLastBlock(Value bIdx, Value tile, Value kvHead, Value warp,
                          Value lane, const RowPlace &at) {
    Value slot = b.create<arith::AddIOp>(
        loc,
        b.create<arith::MulIOp>(
            loc,
            b.create<arith::AddIOp>(
                loc, b.create<arith::MulIOp>(loc, bIdx, rowTiles), tile),
            index(kvHeads)),
        kvHead);
    Value isLast =
        lastToArrive(b, loc, counters, slot, splits,
                     b.create<arith::AndIOp>(loc, isZero(warp), isZero(lane)));
    auto combine = b.create<scf::IfOp>(
        loc, b.create<arith::AndIOp>(loc, isLast, at.inside), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&combine.getThenRegion().front());
    globalFence(b, loc);
    combineKernel({bIdx, at.s, at.head, lane});
  }

  /// Whether the tensor-core variant applies: f16 or bf16, head dimensions
  /// in steps of 16 (keys) and 8 (values).
  bool mmaApplies() const {
    return (elementType.isF16() || elementType.isBF16()) && headDim % 16 == 0 &&
           valueDim % 8 == 0;
  }

  /// A vector<2x2xf32> accumulator from its four values (rows g, g, g + 8,
  /// g + 8).
  Value accumulator(ArrayRef<Value> c) {
    auto type = VectorType::get({2, 2}, f32);
    Value v = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(type, b.getF32FloatAttr(0)));
    for (int64_t r = 0; r < 4; ++r)
      v = b.create<vector::InsertOp>(loc, c[r], v,
                                     ArrayRef<int64_t>{r / 2, r % 2});
    return v;
  }
  SmallVector<Value> elementsOf(Value acc) {
    SmallVector<Value> c;
    for (int64_t r = 0; r < 4; ++r)
      c.push_back(b.create<vector::ExtractOp>(loc, acc,
                                              ArrayRef<int64_t>{r / 2, r % 2}));
    return c;
  }
  Value half(Value v) { return b.create<arith::TruncFOp>(loc, elementType, v); }

  /// A B fragment from `tile`: the elements at `start` + {0, 1} and
  /// + {8, 9} along its rows (`alongRows`) or its columns, at `other` in the
  /// other dimension.
  Value tileFragment(Value tile, Value start, Value other, bool alongRows) {
    auto at = [&](int64_t offset) -> Value {
      Value i = b.create<arith::AddIOp>(loc, start, index(offset));
      SmallVector<Value, 2> indices = {i, other};
      if (!alongRows)
        std::swap(indices[0], indices[1]);
      return b.create<memref::LoadOp>(loc, tile, indices);
    };
    return packFragment(b, loc, {{at(0), at(1)}, {at(8), at(9)}});
  }

  /// The tensor-core variant of partialKernel: a warp per 16 query rows
  /// (128 per block), S = Q K^T and O += P V with mma.sync.m16n8k16 (f16
  /// or bf16 operands, f32 accumulators) on each step's 32 keys, the online
  /// softmax on the accumulator fragments (lane l holds rows l / 4 and
  /// l / 4 + 8, keys 2 (l % 4) and + 1 of each 8; a row's maximum and sum
  /// over the 4 lanes of its quad), P's fragments turned into A fragments
  /// in registers.
  void mmaPartialKernel(ValueRange ivs) {
    Value bIdx = ivs[0], tile = ivs[1], kvHead = ivs[2], split = ivs[3],
          warp = ivs[4], lane = ivs[5];
    Value firstRow = b.create<arith::MulIOp>(loc, tile, index(kMmaRows));
    Value g = b.create<arith::DivUIOp>(loc, lane, index(4));
    Value pair = b.create<arith::MulIOp>(
        loc, b.create<arith::RemUIOp>(loc, lane, index(4)), index(2));
    Value warpRow = b.create<arith::AddIOp>(
        loc, firstRow, b.create<arith::MulIOp>(loc, warp, index(16)));
    // The lane's two rows, g and g + 8.
    RowPlace at[2];
    for (int h = 0; h < 2; ++h)
      at[h] = place(
          bIdx, kvHead,
          b.create<arith::AddIOp>(
              loc, warpRow, b.create<arith::AddIOp>(loc, g, index(8 * h))),
          split);

    // Q's A fragments, one per 16 dimensions: kept in registers for every
    // step up to 64 dimensions; beyond (head_dim 128: 32 registers beside
    // the 64 of the accumulators) in a shared tile of the block's query
    // rows (padded by 8, as the key and value tiles), from which each
    // product loads its fragment by ldmatrix.x4: lane l gives row l % 16
    // of the warp's rows at dimension 8 (l / 16) of the 16.
    // With wgmma the scores' operands are both in shared memory: the query
    // tile (as below, in wgmma's layout, unpadded) and the key tiles, where
    // the tiles come in stages (cp.async's chunks of 16 bytes).
    int64_t coreQueryBytes = kWarps * 16 * headDim * 2;
    int64_t coreStages = wgmma ? stagesFor(coreQueryBytes, 0) : 1;
    bool onWgmma = coreStages > 1;
    bool queriesShared = !onWgmma && loadMatrices && headDim > 64;
    Value queryTile, tileRows[2], queryRow, queryColumn;
    if (onWgmma)
      queryTile = coreQueryTile =
          sharedTile(kWarps * 16 * headDim / 8, 8, elementType);
    if (queriesShared)
      queryTile = sharedTile(kWarps * 16, headDim + 8, elementType);
    if (queriesShared || onWgmma) {
      Value warpFirst = b.create<arith::MulIOp>(loc, warp, index(16));
      for (int h = 0; h < 2; ++h)
        tileRows[h] = b.create<arith::AddIOp>(
            loc, warpFirst, b.create<arith::AddIOp>(loc, g, index(8 * h)));
      queryRow = b.create<arith::AddIOp>(
          loc, warpFirst, b.create<arith::RemUIOp>(loc, lane, index(16)));
      queryColumn = b.create<arith::MulIOp>(
          loc, b.create<arith::DivUIOp>(loc, lane, index(16)), index(8));
    }
    SmallVector<Value> queryFragments;
    for (int64_t kc = 0; kc < headDim; kc += 16) {
      auto halves = [&](int h, int64_t offset) {
        Value d = b.create<arith::AddIOp>(loc, pair, index(kc + offset));
        Value d1 = b.create<arith::AddIOp>(loc, d, index(1));
        return std::pair<Value, Value>{
            b.create<memref::LoadOp>(loc, op.getQuery(),
                                     ValueRange{bIdx, at[h].s, at[h].head, d}),
            b.create<memref::LoadOp>(
                loc, op.getQuery(), ValueRange{bIdx, at[h].s, at[h].head, d1})};
      };
      if (!queriesShared && !onWgmma) {
        queryFragments.push_back(packFragment(
            b, loc, {halves(0, 0), halves(1, 0), halves(0, 8), halves(1, 8)}));
        continue;
      }
      // The lane's elements of the fragment at their places in the tile
      // (rows g and g + 8 of the warp's 16, dimensions pair, pair + 1 and
      // 8 further); the key loop's first barrier orders them before any
      // ldmatrix.
      for (int h = 0; h < 2; ++h)
        for (int64_t offset : {0, 8}) {
          auto [x, y] = halves(h, offset);
          Value d = b.create<arith::AddIOp>(loc, pair, index(kc + offset));
          b.create<memref::StoreOp>(
              loc, x, queryTile, tilePlace(queryTile, tileRows[h], d, headDim));
          b.create<memref::StoreOp>(
              loc, y, queryTile,
              tilePlace(queryTile, tileRows[h],
                        b.create<arith::AddIOp>(loc, d, index(1)), headDim));
        }
    }
    auto queryFragment = [&](int64_t c) -> Value {
      if (!queriesShared)
        return queryFragments[c];
      return llmc::gpu::loadMatrices(
          b, loc, queryTile,
          {queryRow, b.create<arith::AddIOp>(loc, queryColumn, index(16 * c))},
          4, /*transpose=*/false);
    };
    // The steps' keys and values, 32 rows a stage (with wgmma the keys in
    // its layout).
    int64_t tileStages =
        onWgmma
            ? coreStages
            : stagesFor(queriesShared ? kWarps * 16 * (headDim + 8) * 2 : 0);
    Value keyTile =
        onWgmma ? coreKeyTile = sharedTile(tileStages * kWarp * headDim / 8, 8,
                                           elementType)
                : sharedTile(tileStages * kWarp, headDim + 8, elementType);
    // With wgmma P V too (N = the value dimensions, at most 256): the value
    // tiles in its layout, read as an n-major B.
    bool valuesOnWgmma = onWgmma && valueDim <= 256;
    Value valueTile =
        valuesOnWgmma
            ? coreValueTile =
                  sharedTile(tileStages * kWarp * valueDim / 8, 8, elementType)
            : sharedTile(tileStages * kWarp, valueDim + 8, elementType);
    // wgmma's accumulators (m64n32: 16 f32 a thread) and the descriptor of
    // the warpgroup's 64 query rows.
    Type scoresType = llmc::gpu::wgmmaAccumulatorType(b.getContext(), kWarp);
    Value queryDescriptor;
    if (onWgmma)
      queryDescriptor = coreDescriptor(
          queryTile,
          b.create<arith::MulIOp>(
              loc, b.create<arith::DivUIOp>(loc, warp, index(4)), index(64)),
          headDim);
    // The lane's row and columns as it gives ldmatrix addresses: l % 8, 8
    // (l / 8) (x4), 8 (l / 8 % 2) (x2).
    Value laneRow = b.create<arith::RemUIOp>(loc, lane, index(8));
    Value laneColumn = b.create<arith::MulIOp>(
        loc, b.create<arith::DivUIOp>(loc, lane, index(8)), index(8));
    Value laneColumnOf16 =
        b.create<arith::RemUIOp>(loc, laneColumn, index(16));
    int64_t valueTiles = valueDim / 8;
    // Carried: m and l of both rows, then O's fragments' values.
    SmallVector<Value> init = {minusInfinity(), minusInfinity(), f32Constant(0),
                               f32Constant(0)};
    init.append(valueTiles * 4, f32Constant(0));
    Value scale = f32Constant(op.getScale().convertToDouble());
    // mma.sync's scores of the step's keys 8 j to 8 j + 7 (from the stage at
    // `base`): key 8 j + g's dimensions as B (by ldmatrix: lane l gives key
    // 8 j + l % 8 at dimensions 8 (l / 8) of 32, two B fragments).
    auto mmaScores = [&](int64_t j, Value base) -> SmallVector<Value> {
      Value keyRow = b.create<arith::AddIOp>(
          loc, base, b.create<arith::AddIOp>(loc, g, index(8 * j)));
      SmallVector<Value> keyFragments;
      for (int64_t c = 0; c < headDim / 16; ++c) {
        if (!loadMatrices) {
          keyFragments.push_back(tileFragment(
              keyTile, b.create<arith::AddIOp>(loc, pair, index(c * 16)),
              keyRow, /*alongRows=*/false));
          continue;
        }
        if (c % 2)
          continue;
        int64_t count = c + 1 < headDim / 16 ? 4 : 2;
        Value row = b.create<arith::AddIOp>(
            loc, base, b.create<arith::AddIOp>(loc, laneRow, index(8 * j)));
        Value column = b.create<arith::AddIOp>(
            loc, count == 4 ? laneColumn : laneColumnOf16, index(16 * c));
        keyFragments.append(bFragments(
            b, loc,
            llmc::gpu::loadMatrices(b, loc, keyTile, {row, column}, count,
                                    /*transpose=*/false)));
      }
      Value acc = accumulator(SmallVector<Value>(4, f32Constant(0)));
      for (int64_t c = 0; c < headDim / 16; ++c)
        acc = mmaSync(b, loc, queryFragment(c), keyFragments[c], acc);
      return elementsOf(acc);
    };
    // With wgmma: the scores of the keys in the tiles' rows from `base`,
    // a warpgroup's 64 rows by the step's 32 keys, one m64n32k16 per 16
    // dimensions, committed as a group, not waited for.
    auto issueScores = [&](Value base) -> Value {
      Value keyDescriptor = coreDescriptor(keyTile, base, headDim);
      Value acc = b.create<LLVM::ZeroOp>(loc, scoresType);
      b.create<NVVM::WgmmaFenceAlignedOp>(loc);
      for (int64_t kk = 0; kk < headDim; kk += 16) {
        Value step = b.create<arith::ConstantIntOp>(loc, kk, b.getI64Type());
        acc = llmc::gpu::wgmmaMultiply(
            b, loc, acc, b.create<arith::AddIOp>(loc, queryDescriptor, step),
            b.create<arith::AddIOp>(loc, keyDescriptor, step), kWarp,
            elementType);
      }
      b.create<NVVM::WgmmaGroupSyncAlignedOp>(loc);
      return acc;
    };
    auto scoresOf = [&](Value base) -> Value {
      Value acc = issueScores(base);
      b.create<NVVM::WgmmaWaitGroupSyncOp>(loc, 0);
      return acc;
    };
    // With `overlap`: step i + 1's scores issued before step i's softmax
    // (the tensor cores multiply while the softmax runs), carried after
    // the step's values, waited for with P V's group.
    bool lookahead = overlap && onWgmma && tileStages >= 3;
    // A step: 32 keys from t0, in the tiles' rows from `base` (the next
    // step's from `nextBase`).
    auto stepBody = [&](Value t0, Value base, Value nextBase,
                        ValueRange carried) -> SmallVector<Value> {
      // S: 4 tiles of 8 keys by the warp's 16 rows (mmaScores); with
      // wgmma (issueScores) the warpgroup's 64 rows, whose thread's element
      // 4 j + r is its mma.sync tile j's element r (rows g and g + 8 of
      // its warp's 16, keys 8 j + pair and + 1).
      SmallVector<SmallVector<Value>> scores;
      Value onTensorCores, nextScores;
      if (lookahead) {
        onTensorCores = carried.back();
        carried = carried.drop_back();
        nextScores = issueScores(nextBase);
      } else if (onWgmma) {
        onTensorCores = scoresOf(base);
      }
      for (int64_t j = 0; j < 4; ++j) {
        SmallVector<Value> values;
        if (onWgmma) {
          for (int64_t r = 0; r < 4; ++r)
            values.push_back(b.create<LLVM::ExtractValueOp>(
                loc, onTensorCores, ArrayRef<int64_t>{4 * j + r}));
        } else {
          values = mmaScores(j, base);
        }
        for (int64_t r = 0; r < 4; ++r) {
          int h = r / 2;
          Value key = b.create<arith::AddIOp>(
              loc, t0,
              b.create<arith::AddIOp>(loc, pair, index(8 * j + r % 2)));
          Value valid = keyVisible(key, at[h].first, at[h].end);
          values[r] =
              select(valid, b.create<arith::MulFOp>(loc, values[r], scale),
                     minusInfinity());
        }
        scores.push_back(values);
      }
      // The online softmax per row.
      SmallVector<Value> next, c(2);
      SmallVector<Value> newMax(2);
      for (int h = 0; h < 2; ++h) {
        Value local = carried[h];
        for (int64_t j = 0; j < 4; ++j)
          for (int64_t r = 2 * h; r < 2 * h + 2; ++r)
            local = b.create<arith::MaximumFOp>(loc, local, scores[j][r]);
        newMax[h] = quad(local, /*maximum=*/true);
        c[h] = rescale(carried[h], newMax[h]);
      }
      SmallVector<Value> sums = {
          b.create<arith::MulFOp>(loc, carried[2], c[0]),
          b.create<arith::MulFOp>(loc, carried[3], c[1])};
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t r = 0; r < 4; ++r) {
          scores[j][r] = rescale(scores[j][r], newMax[r / 2]);
          sums[r / 2] = b.create<arith::AddFOp>(loc, sums[r / 2], scores[j][r]);
        }
      next = {newMax[0], newMax[1], sums[0], sums[1]};
      // O += P V: P's C fragments of keys 16 kc .. + 15 as an A
      // fragment; V's B fragments (keys 2 (l % 4) and + 1, and + 8, of
      // value dimension 8 n + g) from the tile.
      SmallVector<Value> probabilities;
      for (int64_t kc = 0; kc < 2; ++kc) {
        auto p =
            [&](int64_t j, int64_t r0) {
              return std::pair<Value, Value>{half(scores[j][r0]),
                                             half(scores[j][r0 + 1])};
            };
        probabilities.push_back(packFragment(
            b, loc,
            {p(2 * kc, 0), p(2 * kc, 2), p(2 * kc + 1, 0), p(2 * kc + 1, 2)}));
      }
      if (valuesOnWgmma) {
        // The warpgroup's 64 rows by the value dimensions, two m64nNk16
        // (keys 0-15, 16-31) with P's A fragments from registers and the
        // step's values as B; a thread's accumulator 4 n + r is its
        // mma.sync value tile n's element r, as carried.
        Value acc = b.create<LLVM::UndefOp>(
            loc, llmc::gpu::wgmmaAccumulatorType(b.getContext(), valueDim));
        for (int64_t i = 0; i < valueTiles * 4; ++i)
          acc = b.create<LLVM::InsertValueOp>(
              loc, acc,
              b.create<arith::MulFOp>(loc, carried[4 + i], c[i % 4 / 2]),
              ArrayRef<int64_t>{i});
        b.create<NVVM::WgmmaFenceAlignedOp>(loc);
        for (int64_t kc = 0; kc < 2; ++kc)
          acc = llmc::gpu::wgmmaMultiplyRegisters(
              b, loc, acc, probabilities[kc],
              coreDescriptor(valueTile,
                             b.create<arith::AddIOp>(loc, base, index(16 * kc)),
                             valueDim, /*nMajor=*/true),
              valueDim, /*transposeB=*/true);
        b.create<NVVM::WgmmaGroupSyncAlignedOp>(loc);
        b.create<NVVM::WgmmaWaitGroupSyncOp>(loc, 0);
        for (int64_t i = 0; i < valueTiles * 4; ++i)
          next.push_back(
              b.create<LLVM::ExtractValueOp>(loc, acc, ArrayRef<int64_t>{i}));
      } else {
        for (int64_t n = 0; n < valueTiles; ++n) {
          SmallVector<Value> o(carried.begin() + 4 + n * 4,
                               carried.begin() + 8 + n * 4);
          for (int64_t r = 0; r < 4; ++r)
            o[r] = b.create<arith::MulFOp>(loc, o[r], c[r / 2]);
          Value acc = accumulator(o);
          // V's B fragments of keys 0-15 and 16-31 (by ldmatrix,
          // transposed: lane l gives key l at dimension 8 n).
          SmallVector<Value> valueFragments;
          if (loadMatrices) {
            valueFragments = bFragments(
                b, loc,
                llmc::gpu::loadMatrices(
                    b, loc, valueTile,
                    {b.create<arith::AddIOp>(loc, base, lane), index(8 * n)}, 4,
                    /*transpose=*/true));
          } else {
            Value column = b.create<arith::AddIOp>(loc, g, index(8 * n));
            for (int64_t kc = 0; kc < 2; ++kc)
              valueFragments.push_back(tileFragment(
                  valueTile,
                  b.create<arith::AddIOp>(
                      loc, base,
                      b.create<arith::AddIOp>(loc, pair, index(16 * kc))),
                  column, /*alongRows=*/true));
          }
          for (int64_t kc = 0; kc < 2; ++kc)
            acc = mmaSync(b, loc, probabilities[kc], valueFragments[kc], acc);
          SmallVector<Value> updated = elementsOf(acc);
          next.append(updated.begin(), updated.end());
        }
        // The next step's scores (with `overlap`), whose group P V's wait
        // completed on wgmma.
        if (nextScores)
          b.create<NVVM::WgmmaWaitGroupSyncOp>(loc, 0);
      }
      if (nextScores)
        next.push_back(nextScores);
      return next;
    };
    Value thread = threadOf(warp, lane);
    scf::ForOp loop =
        tileStages > 1
            ? pipelinedStepLoop(bIdx, kvHead, split, firstRow, thread, keyTile,
                                valueTile, tileStages, init, stepBody,
                                lookahead ? function_ref<Value(Value)>(scoresOf)
                                          : function_ref<Value(Value)>())
            : stepLoop(bIdx, kvHead, split, firstRow, kMmaRows, thread, keyTile,
                       valueTile, /*toF32=*/false, init,
                       [&](Value t0, ValueRange carried) {
                         return stepBody(t0, index(0), index(0), carried);
                       });
    // Each row's results, where the row is inside: with one split (a
    // long prompt) the output itself (as the combination would make it of
    // one split: the same values); else the split's partial results.
    for (int h = 0; h < 2; ++h) {
      Value sum = quad(loop.getResult(2 + h), /*maximum=*/false);
      auto store = b.create<scf::IfOp>(loc, at[h].inside, false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&store.getThenRegion().front());
      // The row's accumulators: value dimensions pair + 8 n + {0, 1}.
      auto eachValue = [&](function_ref<void(Value value, Value d)> store) {
        for (int64_t n = 0; n < valueTiles; ++n)
          for (int64_t k = 0; k < 2; ++k)
            store(loop.getResult(4 + n * 4 + 2 * h + k),
                  b.create<arith::AddIOp>(loc, pair, index(8 * n + k)));
      };
      auto results = b.create<scf::IfOp>(loc, oneSplit, /*withElse=*/true);
      b.setInsertionPointToStart(&results.getThenRegion().front());
      Value inverse = inverseOf(sum);
      eachValue([&](Value value, Value d) {
        storeOutput(value, inverse, {bIdx, at[h].s, at[h].head, d});
      });
      b.setInsertionPointToStart(&results.getElseRegion().front());
      eachValue([&](Value value, Value d) {
        b.create<memref::StoreOp>(
            loc, value, partialValues,
            ValueRange{bIdx, at[h].s, at[h].head, split, d});
      });
      storeStats(isZero(pair), loop.getResult(h), sum,
                 {bIdx, at[h].s, at[h].head, split});
    }
  }

  /// 1 / sum, or 0 for a row that sees no key (cannot happen with causal
  /// masks): its output is 0.
  Value inverseOf(Value sum) {
    Value seen = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, sum,
                                         f32Constant(0));
    return select(seen, b.create<arith::DivFOp>(loc, f32Constant(1), sum),
                  f32Constant(0));
  }
  /// accumulator x inverse into the output at `indices`, in its type.
  void storeOutput(Value accumulator, Value inverse, ValueRange indices) {
    Value out = b.create<arith::MulFOp>(loc, accumulator, inverse);
    if (elementType != f32)
      out = b.create<arith::TruncFOp>(loc, elementType, out);
    b.create<memref::StoreOp>(loc, out, op.getInit(), indices);
  }

  /// Keys (or values) t0 .. t0 + 31 of `source` into `tile` (in f32, or
  /// as they are; rows of `width` and padding). Keys past the last read the
  /// last one. 16-bit elements in rows of a multiple of 8 go 8 at a time
  /// (vectorTile) where the source's offset is a multiple of 8 (checked
  /// here, a branch the whole block takes: a KV cache's views start at
  /// multiples of the head dimension); else one at a time.
  void loadTile(Value source, Value tile, int64_t width, Value t0, Value thread,
                Value bIdx, Value kvHead, bool toF32) {
    if (!chunksOf8(source, width) ||
        (kWarp * width / 8) % (kWarps * kWarp) != 0) {
      scalarTile(source, tile, width, t0, thread, bIdx, kvHead, toF32);
      return;
    }
    auto metadata = b.create<memref::ExtractStridedMetadataOp>(loc, source);
    auto aligned =
        b.create<scf::IfOp>(loc, offsetAligned(metadata), /*withElse=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&aligned.getThenRegion().front());
    vectorTile(metadata, tile, width, t0, thread, bIdx, kvHead, toF32);
    b.setInsertionPointToStart(&aligned.getElseRegion().front());
    scalarTile(source, tile, width, t0, thread, bIdx, kvHead, toF32);
  }

  /// Whether rows of `width` elements of `source` come in chunks of 8
  /// 16-bit elements (16 bytes), its dimensions contiguous: at a view
  /// offset of a multiple of 8 (offsetAligned), each chunk is one 16-byte
  /// load or cp.async.
  bool chunksOf8(Value source, int64_t width) {
    SmallVector<int64_t> strides;
    int64_t offset;
    return width % 8 == 0 && elementType.getIntOrFloatBitWidth() == 16 &&
           succeeded(getStridesAndOffset(cast<MemRefType>(source.getType()),
                                         strides, offset)) &&
           strides.back() == 1;
  }
  /// Whether a view's offset (checked in the kernel) is a multiple of 8.
  Value offsetAligned(memref::ExtractStridedMetadataOp metadata) {
    return isZero(
        b.create<arith::RemUIOp>(loc, metadata.getOffset(), index(8)));
  }

  /// loadTile's 8 elements a thread, loaded from a one-dimensional view of
  /// the source at an offset LLVM sees is a multiple of 8 (NVPTX then loads
  /// them as one 16-byte vector, and stores a 16-bit tile's the same way).
  /// Thread i takes chunks i, i + 256, ... of 8 elements, placed by
  /// tileChunkPlace (an f32 tile's rows of width + 1: a warp's stores were
  /// 2-way conflicts when 8 threads took one row's 8 chunks).
  void vectorTile(memref::ExtractStridedMetadataOp metadata, Value tile,
                  int64_t width, Value t0, Value thread, Value bIdx,
                  Value kvHead, bool toF32) {
    constexpr int64_t kThreads = kWarps * kWarp;
    Value eight = index(8);
    Value offset = b.create<arith::MulIOp>(
        loc, b.create<arith::DivUIOp>(loc, metadata.getOffset(), eight),
        eight);
    // The view's extent: the last element's place + 1.
    Value extent = index(1);
    for (auto [size, stride] :
         llvm::zip(metadata.getSizes(), metadata.getStrides()))
      extent = b.create<arith::AddIOp>(
          loc, extent,
          b.create<arith::MulIOp>(
              loc, b.create<arith::SubIOp>(loc, size, index(1)), stride));
    auto flatType = MemRefType::get(
        {ShapedType::kDynamic}, elementType,
        StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, {1}));
    Value flat = b.create<memref::ReinterpretCastOp>(
        loc, flatType, metadata.getBaseBuffer(), offset, ValueRange{extent},
        ValueRange{index(1)});
    b.create<memref::AssumeAlignmentOp>(loc, flat, 16);
    Value lastKey = b.create<arith::SubIOp>(loc, keys, index(1));
    ValueRange strides = metadata.getStrides();
    for (int64_t c0 = 0; c0 < kWarp * width / 8; c0 += kThreads) {
      auto [r, d] = llmc::gpu::tileChunkPlace(
          b, loc, b.create<arith::AddIOp>(loc, thread, index(c0)), width / 8);
      Value key = b.create<arith::MinUIOp>(
          loc, b.create<arith::AddIOp>(loc, t0, r), lastKey);
      // (b, key, kvHead, d) in the source, from the view's offset.
      Value at = d;
      SmallVector<Value, 3> indices = {bIdx, key, kvHead};
      for (auto [i, v] : llvm::enumerate(indices))
        at = b.create<arith::AddIOp>(
            loc, at, b.create<arith::MulIOp>(loc, v, strides[i]));
      SmallVector<Value> values;
      for (int64_t i = 0; i < 8; ++i)
        values.push_back(b.create<memref::LoadOp>(
            loc, flat, ValueRange{b.create<arith::AddIOp>(loc, at, index(i))}));
      for (int64_t i = 0; i < 8; ++i)
        b.create<memref::StoreOp>(
            loc, toF32 ? this->toF32(values[i]) : values[i], tile,
            tilePlace(tile, r, b.create<arith::AddIOp>(loc, d, index(i)),
                      width));
    }
  }

  /// loadTile's element at a time: element e by the block's thread e mod
  /// 256, a warp reading consecutive elements.
  void scalarTile(Value source, Value tile, int64_t width, Value t0,
                  Value thread, Value bIdx, Value kvHead, bool toF32,
                  Value rowBase = {}) {
    constexpr int64_t kThreads = kWarps * kWarp;
    int64_t elements = kWarp * width;
    Value lastKey = b.create<arith::SubIOp>(loc, keys, index(1));
    for (int64_t e0 = 0; e0 < elements; e0 += kThreads) {
      Value e = b.create<arith::AddIOp>(loc, thread, index(e0));
      auto body = [&] {
        Value r = b.create<arith::DivUIOp>(loc, e, index(width));
        Value d = b.create<arith::RemUIOp>(loc, e, index(width));
        Value key = b.create<arith::MinUIOp>(
            loc, b.create<arith::AddIOp>(loc, t0, r), lastKey);
        Value v = b.create<memref::LoadOp>(loc, source,
                                           ValueRange{bIdx, key, kvHead, d});
        if (rowBase)
          r = b.create<arith::AddIOp>(loc, rowBase, r);
        b.create<memref::StoreOp>(loc, toF32 ? this->toF32(v) : v, tile,
                                  tilePlace(tile, r, d, width));
      };
      if (e0 + kThreads <= elements) {
        body();
        continue;
      }
      auto inside = b.create<scf::IfOp>(loc, less(e, index(elements)), false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&inside.getThenRegion().front());
      body();
    }
  }

  /// 32 keys from `t0` (in `keyTile` and `valueTile`), a lane each: {max,
  /// the lane's sum, its accumulators}.
  SmallVector<Value> step(Value t0, ValueRange carried, Value first, Value end,
                          Value warp, Value lane, Value queries, Value keyTile,
                          Value valueTile) {
    Value valid =
        keyVisible(b.create<arith::AddIOp>(loc, t0, lane), first, end);
    auto dot = b.create<scf::ForOp>(
        loc, index(0), index(headDim), index(1), ValueRange{f32Constant(0)},
        [&](OpBuilder &nb, Location, Value d, ValueRange acc) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(nb.getInsertionBlock());
          Value q = b.create<memref::LoadOp>(loc, queries, ValueRange{warp, d});
          Value k = b.create<memref::LoadOp>(loc, keyTile, ValueRange{lane, d});
          Value sum = b.create<arith::AddFOp>(
              loc, acc[0], b.create<arith::MulFOp>(loc, q, k));
          b.create<scf::YieldOp>(loc, sum);
        });
    Value score = select(valid, dot.getResult(0), minusInfinity());
    Value max = b.create<arith::MaximumFOp>(loc, carried[0],
                                            butterfly(score, /*maximum=*/true));
    // Keys not seen score -inf: their probability is exp(-inf) = 0.
    Value p = rescale(score, max);
    Value c = rescale(carried[0], max);
    SmallVector<Value> next = {
        max, b.create<arith::AddFOp>(
                 loc, b.create<arith::MulFOp>(loc, carried[1], c), p)};
    SmallVector<Value> accs;
    for (Value acc : carried.drop_front(2))
      accs.push_back(b.create<arith::MulFOp>(loc, acc, c));
    // Each key's probability to every lane, times the lane's dimensions of
    // its value.
    auto values = b.create<scf::ForOp>(
        loc, index(0), index(kWarp), index(1), accs,
        [&](OpBuilder &nb, Location, Value j, ValueRange acc) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(nb.getInsertionBlock());
          Value pj =
              b.create<gpu::ShuffleOp>(
                   loc, p, b.create<arith::IndexCastOp>(loc, b.getI32Type(), j),
                   b.create<arith::ConstantIntOp>(loc, kWarp, 32),
                   gpu::ShuffleMode::IDX)
                  .getShuffleResult();
          // Dimensions past the head's (a partial last group of lanes) read
          // its last one and are never stored.
          SmallVector<Value> updated;
          for (auto [jj, a] : llvm::enumerate(acc)) {
            Value v = b.create<memref::LoadOp>(
                loc, valueTile, ValueRange{j, laneValueDim(lane, jj)});
            updated.push_back(b.create<arith::AddFOp>(
                loc, a, b.create<arith::MulFOp>(loc, pj, v)));
          }
          b.create<scf::YieldOp>(loc, updated);
        });
    next.append(values.getResults().begin(), values.getResults().end());
    return next;
  }

  /// One query row and head: the splits' results combined.
  void combineKernel(ValueRange ivs) {
    Value bIdx = ivs[0], s = ivs[1], head = ivs[2], lane = ivs[3];
    Value zero = index(0), one = index(1);
    auto maxLoop = b.create<scf::ForOp>(
        loc, zero, splits, one, ValueRange{minusInfinity()},
        [&](OpBuilder &nb, Location, Value i, ValueRange acc) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(nb.getInsertionBlock());
          Value m = b.create<memref::LoadOp>(loc, partialMax,
                                             ValueRange{bIdx, s, head, i});
          b.create<scf::YieldOp>(
              loc, b.create<arith::MaximumFOp>(loc, acc[0], m).getResult());
        });
    Value max = maxLoop.getResult(0);
    int64_t laneDims = (valueDim + kWarp - 1) / kWarp;
    SmallVector<Value> init(laneDims + 1, f32Constant(0));
    auto sumLoop = b.create<scf::ForOp>(
        loc, zero, splits, one, init,
        [&](OpBuilder &nb, Location, Value i, ValueRange acc) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(nb.getInsertionBlock());
          Value m = b.create<memref::LoadOp>(loc, partialMax,
                                             ValueRange{bIdx, s, head, i});
          Value c = rescale(m, max);
          Value l = b.create<memref::LoadOp>(loc, partialSum,
                                             ValueRange{bIdx, s, head, i});
          SmallVector<Value> next = {b.create<arith::AddFOp>(
              loc, acc[0], b.create<arith::MulFOp>(loc, l, c))};
          for (int64_t j = 0; j < laneDims; ++j) {
            Value d = laneValueDim(lane, j);
            Value o = b.create<memref::LoadOp>(loc, partialValues,
                                               ValueRange{bIdx, s, head, i, d});
            next.push_back(b.create<arith::AddFOp>(
                loc, acc[1 + j], b.create<arith::MulFOp>(loc, o, c)));
          }
          b.create<scf::YieldOp>(loc, next);
        });
    Value inverse = inverseOf(sumLoop.getResult(0));
    forLaneDims(lane, valueDim, [&](Value d, int64_t j) {
      storeOutput(sumLoop.getResult(1 + j), inverse, {bIdx, s, head, d});
    });
  }

  OpBuilder &b;
  Location loc;
  llm::FusedAttentionOp op;
  /// The tensor-core variant's key and value fragments by ldmatrix.
  bool loadMatrices;
  /// Steps of keys the tensor-core variant's tiles hold (tileStages).
  int64_t stages;
  /// Scores and P V on wgmma where the tiles come in stages; then the
  /// query, key and value tiles in its core-matrix layout (tilePlace), read
  /// through the async proxy.
  bool wgmma;
  /// With wgmma and 3 stages or more: step i + 1's scores issued before
  /// step i's softmax (mmaPartialKernel's lookahead).
  bool overlap;
  Value coreQueryTile, coreKeyTile, coreValueTile;
  Type elementType, f32;
  int64_t heads, headDim, valueDim, kvHeads, group;
  Value batch, seq, keys, rows, rowTiles, chunk, splits, oneSplit;
  Value partialValues, partialMax, partialSum;
  /// The arrival counters, and whether the warp variant's last blocks
  /// combine (else a kernel does).
  memref::GlobalOp counters;
  Value combineInBlocks;
  const CacheUpdate *update;
};

struct GpuFusedAttentionPass
    : llmc::impl::GpuFusedAttentionBase<GpuFusedAttentionPass> {
  using GpuFusedAttentionBase::GpuFusedAttentionBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (stages < 1) {
      module.emitError() << "stages: expected 1 or more, found "
                         << static_cast<int64_t>(stages);
      return signalPassFailure();
    }
    SmallVector<llm::FusedAttentionOp> ops;
    module.walk([&](llm::FusedAttentionOp op) { ops.push_back(op); });
    if (ops.empty())
      return;
    memref::GlobalOp counters =
        module.lookupSymbol<memref::GlobalOp>(kCountersName);
    if (!counters && combineInBlocks) {
      SymbolTable symbols(module);
      counters = addCounters(symbols, kCountersName, kCounters);
    }
    for (llm::FusedAttentionOp op : ops) {
      if (op.getNumResults() != 0) {
        op.emitOpError() << "expects buffers (run after bufferization)";
        return signalPassFailure();
      }
      std::optional<CacheUpdate> update;
      if (fuseCacheUpdate)
        update = matchCacheUpdate(op, matchRotation(op));
      OpBuilder b(op);
      FusedAttention(b, op, loadMatrices, stages, wgmma, overlap, counters,
                     update ? &*update : nullptr)
          .build();
      op.erase();
      if (update) {
        update->copies.erase();
        if (update->rotation)
          update->rotation.erase();
      }
    }
  }
};

} // namespace
