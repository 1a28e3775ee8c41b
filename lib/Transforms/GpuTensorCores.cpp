//===- GpuTensorCores.cpp - Contractions on tensor cores (mma.sync) -------===//
//
// llmc-gpu-warp-reductions' tensor-core half: the f16 contractions it
// recognizes, and the kernels that run them with nvgpu.mma.sync, in blocks
// of 64 x 64 outputs with tiles in shared memory or in warps of 16 x 16.
//
//===----------------------------------------------------------------------===//

#include "GpuReductions.h"

#include "llmc/Transforms/Passes.h"
#include "llmrt/GpuABI.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace llmc::gpu;

namespace {

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
  /// A zero m16n8 accumulator fragment.
  Value zeroAccumulator(OpBuilder &b) {
    auto type = VectorType::get({2, 2}, b.getF32Type());
    return b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(type, b.getF32FloatAttr(0.0f)));
  }

  /// Loop indices with the block's batch (none without batch loops), 0
  /// elsewhere.
  SmallVector<Value> batchIndices() {
    SmallVector<Value> dims(rank, zero);
    for (auto [d, iv] : llvm::zip(mma.batchDims, batch))
      dims[d] = iv;
    return dims;
  }

  /// The loop indices of a row of the batch: its position in each row loop,
  /// the batch's in each batch loop.
  SmallVector<Value> rowIndices(OpBuilder &b, Value row) {
    SmallVector<Value> dims = batchIndices();
    for (unsigned d : llvm::reverse(mma.rowDims)) {
      dims[d] = b.create<arith::RemUIOp>(loc, row, sizes[d]);
      row = b.create<arith::DivUIOp>(loc, row, sizes[d]);
    }
    return dims;
  }

  Location loc;
  linalg::GenericOp op;
  const MmaContraction &mma;
  ResultSink &sink;
  unsigned rank, kDim;
  SmallVector<Value> sizes;
  /// The batch loops' indices of the kernel's tile (BlockMmaTiles).
  SmallVector<Value> batch;
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
    SmallVector<Value> accs(subtiles, zeroAccumulator(b));
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
      results.push_back(mmaSync(b, loc, a, pack(b, bHalves), partial[t]));
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

/// Blocks of 8 warps for 64 x 64 (or 128 x 64) outputs on tensor cores,
/// with tiles of x (the block's rows) and w (its 64 columns) staged in
/// shared memory. Where both operands have k as their last index and rows
/// 16-byte aligned, tiles of 32 steps of k are copied with cp.async into a
/// ring of stages (see pipeline()); else tiles of 64 steps go through
/// registers, the block's 256 threads loading 8 elements at a time (16-byte
/// loads where aligned), the next tile's loads in flight while the warps
/// run mma.sync on the current one. Each warp takes 32 rows and 64 / (8 /
/// (rows / 32)) columns of the block's (32 x 16 of 64 x 64, 32 x 32 of
/// 128 x 64): 2 x (2 or 4) m16n8k16 tiles, their fragments read from
/// shared memory (ldmatrix, or 32-bit loads), whose rows are padded by 8
/// elements (16 bytes: a fragment's 8 rows fall in different banks). Batch
/// loops (attention's) are grid dimensions. Rows and columns past the end
/// load the last one and are not stored; a dynamic k's last tile reads
/// zeros of x. Needs the mapping's 256 threads per block: the warps and
/// lanes are the block's threads.
///
/// With `wgmma` (sm_90a) and cp.async tiles, the block's two warpgroups
/// multiply from shared memory instead (see multiplyStage()): each takes 64
/// rows and all the block's columns (128-row tiles) or all 64 rows and half
/// of them; blocks may then be 128 columns wide where 128 divides n
/// (`blockCols`), or 256: wgmma m64nNk16 with N = 32 to 256. The tiles are
/// stored as wgmma reads its operands without swizzling: 8 x 8 core
/// matrices of 128 contiguous bytes (8 rows of 8 steps of k), a row
/// group's core matrices one after the other along k.
class BlockMmaTiles : MmaKernel {
public:
  static constexpr int64_t kCols = 64, kSteps = 64, kWarps = 8,
                           kThreads = kWarps * kWarp, kWarpRows = 32;
  /// wgmma's tiles: no padding (the operands' layout is the descriptors').
  static bool wgmmaTiles(const MmaOptions &options) {
    return options.wgmma && options.asyncCopies;
  }
  /// The asynchronous copies' pipeline: stages of 32 (or 64) steps of k,
  /// as many as 48 KiB of shared memory hold, up to 4 (32 steps: 4 for 64
  /// rows, 3 for 128; 64 steps: 2 for 64 rows), or as many as `stages`
  /// says (more than 48 KiB: dynamic shared memory, up to sm_90's most).
  static constexpr int64_t kMaxStages = 4;

  /// The stages `options` give, 0 where fewer than 2 fit.
  static int64_t stagesFor(const MmaOptions &options) {
    if (options.stages)
      return sharedBytes(options, options.stages) <=
                     llmc::maxSharedBytes("sm_90")
                 ? options.stages
                 : 0;
    int64_t stages = kMaxStages;
    while (stages >= 2 &&
           sharedBytes(options, stages) > llmc::kStaticSharedBytes)
      --stages;
    return stages >= 2 ? stages : 0;
  }
  /// A TMA stage's tiles start at a multiple of kTileAlignment bytes (the
  /// swizzle's 8 rows of 128 bytes); the buffer has that much to spare.
  static constexpr int64_t kTileAlignment = 1024;
  /// The shared memory of `stages` stages: their tiles, and with TMA the
  /// alignment's spare bytes and an mbarrier (8 bytes) per stage, two
  /// with a producer warp.
  static int64_t sharedBytes(const MmaOptions &options, int64_t stages) {
    int64_t bytes = stages * stageBytes(options);
    if (options.tma)
      bytes += kTileAlignment + 8 * stages * (options.tmaProducer ? 2 : 1);
    return bytes;
  }
  /// A stage's bytes: tiles of x and w.
  static int64_t stageBytes(const MmaOptions &options) {
    int64_t padding = wgmmaTiles(options) ? 0 : 8;
    return (options.blockRows + options.blockCols) *
           (options.stageSteps + padding) * 2;
  }

  static bool fits(const MmaContraction &mma) {
    return (ShapedType::isDynamic(mma.n) || mma.n % kCols == 0) &&
           (ShapedType::isDynamic(mma.k) || mma.k % kSteps == 0);
  }

  /// Split k (MmaOptions::splitK): where the tiles are fewer than the
  /// multiprocessors (the GPU's, at run time: multiprocessors()), splits
  /// enough for kBlocksPerMultiprocessor blocks on each, at most
  /// kMaxSplits, each of kMinSplitStages stages of k or more.
  static constexpr int64_t kBlocksPerMultiprocessor = 2, kMaxSplits = 8,
                           kMinSplitStages = 2;

  BlockMmaTiles(OpBuilder &builder, Location loc, linalg::GenericOp op,
                const MmaContraction &mma, ResultSink &sink,
                const MmaOptions &options, CountersMaker makeCounters)
      : MmaKernel(builder, loc, op, mma, sink), makeCounters(makeCounters),
        loadMatrices(options.loadMatrices), blockRows(options.blockRows) {
    // Tiles copy straight into shared memory (cp.async, 16 bytes) where a
    // chunk's 8 steps of k are 8 consecutive elements of each operand and
    // 16-byte aligned: both row-major with no offset, k their last index
    // (not GPT-2's Conv1D weights [k, n]: on an H200 those cp.async
    // faulted, misaligned), a static last extent divisible by 8.
    async = options.asyncCopies && stagesFor(options) &&
            !ShapedType::isDynamic(mma.k) && mma.k % options.stageSteps == 0;
    for (OpOperand *operand : {mma.x, mma.w}) {
      auto type = cast<MemRefType>(operand->get().getType());
      async &= lastIndexIs(op, *operand, kDim) &&
               type.getLayout().isIdentity() &&
               !ShapedType::isDynamic(type.getShape().back()) &&
               type.getShape().back() % 8 == 0;
    }
    wgmma = async && options.wgmma;
    // TMA copies 2-d boxes: x's rows (its loops in order, then k) and w's
    // n by k, no batch loops.
    SmallVector<unsigned> xDims(mma.rowDims);
    xDims.push_back(kDim);
    tma = wgmma && options.tma && mma.batchDims.empty() &&
          indexedBy(*mma.x, xDims) && indexedBy(*mma.w, {mma.nDim, kDim});
    // 256 or 128 columns (wgmma only) where they divide n, else half as
    // many, down to 64; as many stages as the narrower tiles allow.
    MmaOptions tiles = options;
    if (!wgmma)
      tiles.blockCols = kCols;
    while (tiles.blockCols > kCols &&
           (ShapedType::isDynamic(mma.n) || mma.n % tiles.blockCols != 0))
      tiles.blockCols /= 2;
    cols = tiles.blockCols;
    tileSteps = async ? options.stageSteps : kSteps;
    padded = tileSteps + 8;
    tiles.tma = tma;
    producer = tma && options.tmaProducer;
    tiles.tmaProducer = producer;
    stages = async ? stagesFor(tiles) : 1;
    if (tma)
      tmaBufferBytes = sharedBytes(tiles, stages);
    inFlight = wgmma && options.wgmmaInFlight && stages >= 3;
    // Projections (no batch loops) of a static n, k long enough for two
    // splits.
    splitK = options.splitK && async && mma.batchDims.empty() &&
             !ShapedType::isDynamic(mma.n) &&
             mma.k / tileSteps >= 2 * kMinSplitStages;
    warpsAcross = kWarps / (blockRows / kWarpRows);
    colTiles = kCols / warpsAcross / 8;
  }

  void build(OpBuilder &builder) {
    Value one = index(builder, 1);
    auto blocks = [&](Value extent, int64_t tile) -> Value {
      return builder.create<arith::DivUIOp>(
          loc,
          builder.create<arith::AddIOp>(loc, extent, index(builder, tile - 1)),
          index(builder, tile));
    };
    // The batch loops (or a split k's splits), then the tiles of rows and
    // columns, the warps and their lanes.
    Value rowBlocks = blocks(rows, blockRows);
    SmallVector<Value> upper;
    for (unsigned d : mma.batchDims)
      upper.push_back(sizes[d]);
    if (splitK)
      upper.push_back(planSplits(builder, rowBlocks));
    if (tma) {
      xMap = tensorMap(builder, mma.x->get(), rows, blockRows);
      wMap = tensorMap(builder, mma.w->get(), sizes[mma.nDim], cols);
    }
    int64_t warps = producer ? kWarps + 1 : kWarps;
    upper.append({rowBlocks, blocks(sizes[mma.nDim], cols),
                  index(builder, warps), index(builder, kWarp)});
    auto parallel = builder.create<scf::ParallelOp>(
        loc, SmallVector<Value>(upper.size(), zero), upper,
        SmallVector<Value>(upper.size(), one),
        [&](OpBuilder &b, Location, ValueRange ivs) {
          ValueRange outer = ivs.drop_back(4);
          if (splitK)
            split = outer.front();
          else
            batch.assign(outer.begin(), outer.end());
          block(b, ivs.take_back(4));
        });
    // A block of 288 threads, more than llmc-gpu-map-parallel-loops gives.
    if (producer)
      parallel->setAttr(llmc::gpu::kBlockThreadsAttr,
                        builder.getI64IntegerAttr(warps * kWarp));
    if (splitK)
      builder.create<memref::DeallocOp>(loc, workspace);
  }

private:
  Value add(OpBuilder &b, Value x, int64_t v) {
    return v == 0 ? x : b.create<arith::AddIOp>(loc, x, index(b, v));
  }
  Value mul(OpBuilder &b, Value x, int64_t v) {
    return b.create<arith::MulIOp>(loc, x, index(b, v));
  }
  Value div(OpBuilder &b, Value x, int64_t v) {
    return b.create<arith::DivUIOp>(loc, x, index(b, v));
  }
  Value rem(OpBuilder &b, Value x, int64_t v) {
    return b.create<arith::RemUIOp>(loc, x, index(b, v));
  }
  int64_t accumulators() const { return 2 * colTiles; }

  /// Whether `operand` is indexed by the loops `dims`, in order.
  bool indexedBy(OpOperand &operand, ArrayRef<unsigned> dims) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (map.getNumResults() != dims.size())
      return false;
    for (auto [expr, d] : llvm::zip(map.getResults(), dims))
      if (expr != getAffineDimExpr(d, op.getContext()))
        return false;
    return true;
  }

  /// Host code: the TMA tensor map (its device address, i64) of the
  /// row-major f16 or bf16 `matrix` of `matrixRows` rows of k, in boxes of
  /// `boxRows` rows of a stage's steps, swizzled in spans of a box row's
  /// bytes (LLMRT_GPU_TENSOR_MAP_CALL).
  Value tensorMap(OpBuilder &b, Value matrix, Value matrixRows,
                  int64_t boxRows) {
    Type i64 = b.getI64Type(), i32 = b.getI32Type();
    auto module = op->getParentOfType<ModuleOp>();
    auto function =
        module.lookupSymbol<func::FuncOp>(LLMRT_GPU_TENSOR_MAP_CALL);
    if (!function) {
      OpBuilder declare = OpBuilder::atBlockEnd(module.getBody());
      function = declare.create<func::FuncOp>(
          loc, LLMRT_GPU_TENSOR_MAP_CALL,
          b.getFunctionType({i64, i64, i64, i64, i32, i32, i32, i32}, {i64}));
      function.setPrivate();
    }
    auto i64Of = [&](Value v) -> Value {
      return b.create<arith::IndexCastUIOp>(loc, i64, v);
    };
    auto constant = [&](int64_t v, Type type) -> Value {
      return b.create<arith::ConstantIntOp>(loc, v, type);
    };
    Value base =
        i64Of(b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, matrix));
    return b
        .create<func::CallOp>(
            loc, function,
            ValueRange{base, i64Of(matrixRows), constant(mma.k, i64),
                       constant(mma.k * 2, i64), constant(boxRows, i32),
                       constant(tileSteps, i32), constant(tileSteps * 2, i32),
                       constant(mma.element.isBF16(), i32)})
        .getResult(0);
  }

  /// Host code: the GPU's multiprocessors, from 1 to kMaxMultiprocessors:
  /// the host library's global LLMRT_GPU_MULTIPROCESSORS, which the
  /// runtime sets (kMultiprocessors until then).
  Value multiprocessors(OpBuilder &b) {
    auto module = op->getParentOfType<ModuleOp>();
    Type i64 = b.getI64Type();
    auto type = MemRefType::get({}, i64);
    if (!module.lookupSymbol<memref::GlobalOp>(LLMRT_GPU_MULTIPROCESSORS)) {
      OpBuilder declare = OpBuilder::atBlockBegin(module.getBody());
      declare.create<memref::GlobalOp>(
          loc, LLMRT_GPU_MULTIPROCESSORS, declare.getStringAttr("public"),
          type,
          DenseElementsAttr::get(RankedTensorType::get({}, i64),
                                 declare.getI64IntegerAttr(kMultiprocessors)
                                     .getValue()),
          /*constant=*/false, /*alignment=*/nullptr);
    }
    Value count = b.create<memref::LoadOp>(
        loc,
        b.create<memref::GetGlobalOp>(loc, type, LLMRT_GPU_MULTIPROCESSORS),
        ValueRange());
    count = b.create<arith::IndexCastOp>(loc, b.getIndexType(), count);
    return b.create<arith::MaxSIOp>(
        loc,
        b.create<arith::MinSIOp>(loc, count, index(b, kMaxMultiprocessors)),
        index(b, 1));
  }

  /// Host code: the splits of k for `rowBlocks` rows of tiles (one where
  /// the tiles fill the multiprocessors), each of splitStages stages of k
  /// (the last may have fewer), the workspace of their partial totals, and
  /// the kernel's arrival counters (a tile's, while tiles are fewer than
  /// the multiprocessors).
  Value planSplits(OpBuilder &b, Value rowBlocks) {
    // (arith.ceildivui has no lowering to LLVM.)
    auto ceilDiv = [&](Value x, Value y) -> Value {
      Value rounded = b.create<arith::AddIOp>(
          loc, x, b.create<arith::SubIOp>(loc, y, index(b, 1)));
      return b.create<arith::DivUIOp>(loc, rounded, y);
    };
    int64_t kTiles = mma.k / tileSteps;
    Value tiles = mul(b, rowBlocks, mma.n / cols);
    Value gpuBlocks = multiprocessors(b);
    Value wanted = b.create<arith::MinUIOp>(
        loc, ceilDiv(mul(b, gpuBlocks, kBlocksPerMultiprocessor), tiles),
        index(b, std::min(kMaxSplits, kTiles / kMinSplitStages)));
    Value few = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, tiles,
                                        gpuBlocks);
    wanted = b.create<arith::SelectOp>(loc, few, wanted, index(b, 1));
    splitStages = ceilDiv(index(b, kTiles), wanted);
    splits = ceilDiv(index(b, kTiles), splitStages);
    Value apart = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ugt,
                                          splits, index(b, 1));
    Value elements = b.create<arith::SelectOp>(
        loc, apart,
        mul(b, b.create<arith::MulIOp>(loc, splits, tiles), blockRows * cols),
        index(b, 1));
    workspace = b.create<memref::AllocOp>(
        loc, MemRefType::get({ShapedType::kDynamic}, b.getF32Type()),
        ValueRange{elements});
    counters = makeCounters(kMaxMultiprocessors);
    return splits;
  }

  /// Stores the block's totals `accs` with `storeAll`, or, split, adds up
  /// its tile's partial totals first (see finishSplit).
  void finish(OpBuilder &b, ValueRange accs,
              llvm::function_ref<void(OpBuilder &, ValueRange)> storeAll) {
    // A producer warp's accumulators are not the block's.
    auto consumersStore = [&](OpBuilder &sb, ValueRange values) {
      if (!producer)
        return storeAll(sb, values);
      thenIf(sb, consumer, [&](OpBuilder &cb) { storeAll(cb, values); });
    };
    if (!splitK)
      return consumersStore(b, accs);
    auto choice = b.create<scf::IfOp>(
        loc,
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ugt, splits,
                                index(b, 1)),
        /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&choice.getElseRegion().front());
    consumersStore(b, accs);
    b.setInsertionPointToStart(&choice.getThenRegion().front());
    finishSplit(b, accs, storeAll);
  }

  /// The thread's partial totals into the workspace (element e of split s
  /// of tile t at ((t splits + s) elements + e) 256 + thread: a warp's
  /// stores are consecutive), then in the last block of the tile to
  /// arrive each thread adds its elements of every split, in the order of
  /// the splits, and stores them with `storeAll`.
  void finishSplit(OpBuilder &b, ValueRange accs,
                   llvm::function_ref<void(OpBuilder &, ValueRange)> storeAll) {
    SmallVector<Value> elements = accumulatorElements(b, accs);
    int64_t count = elements.size();
    auto at = [&](OpBuilder &ab, Value s, int64_t e) -> Value {
      Value part = ab.create<arith::AddIOp>(
          loc, ab.create<arith::MulIOp>(loc, tileIndex, splits), s);
      return ab.create<arith::AddIOp>(
          loc, mul(ab, add(ab, mul(ab, part, count), e), kThreads), thread);
    };
    auto storeParts = [&](OpBuilder &sb) {
      for (auto [e, element] : llvm::enumerate(elements))
        sb.create<memref::StoreOp>(loc, element, workspace,
                                   ValueRange{at(sb, split, e)});
    };
    // Without the producer warp's (no place there), which still takes
    // part in lastToArrive's block barriers.
    if (producer)
      thenIf(b, consumer, storeParts);
    else
      storeParts(b);
    Value leader =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, thread, zero);
    Value isLast = lastToArrive(b, loc, counters, tileIndex, splits, leader);
    if (producer)
      isLast = b.create<arith::AndIOp>(loc, isLast, consumer);
    auto last = b.create<scf::IfOp>(loc, isLast, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&last.getThenRegion().front());
    globalFence(b, loc);
    Value zeroF32 = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
    auto sum = b.create<scf::ForOp>(
        loc, zero, splits, index(b, 1), SmallVector<Value>(count, zeroF32),
        [&](OpBuilder &fb, Location, Value s, ValueRange totals) {
          SmallVector<Value> next;
          for (int64_t e = 0; e < count; ++e)
            next.push_back(fb.create<arith::AddFOp>(
                loc, totals[e],
                fb.create<memref::LoadOp>(loc, workspace,
                                          ValueRange{at(fb, s, e)})));
          fb.create<scf::YieldOp>(loc, next);
        });
    storeAll(b, withAccumulatorElements(b, accs, sum.getResults()));
  }

  /// The f32 elements of the thread's accumulators: mma.sync's
  /// vector<2x2xf32> fragments or wgmma's struct.
  SmallVector<Value> accumulatorElements(OpBuilder &b, ValueRange accs) {
    SmallVector<Value> elements;
    for (Value acc : accs) {
      if (auto type = dyn_cast<LLVM::LLVMStructType>(acc.getType())) {
        for (int64_t i = 0, e = type.getBody().size(); i < e; ++i)
          elements.push_back(
              b.create<LLVM::ExtractValueOp>(loc, acc, ArrayRef<int64_t>{i}));
        continue;
      }
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 2; ++j)
          elements.push_back(
              b.create<vector::ExtractOp>(loc, acc, ArrayRef<int64_t>{i, j}));
    }
    return elements;
  }
  /// `accs` with accumulatorElements' elements replaced by `elements`.
  SmallVector<Value> withAccumulatorElements(OpBuilder &b, ValueRange accs,
                                             ValueRange elements) {
    SmallVector<Value> result;
    auto next = elements.begin();
    for (Value acc : accs) {
      if (auto type = dyn_cast<LLVM::LLVMStructType>(acc.getType())) {
        for (int64_t i = 0, e = type.getBody().size(); i < e; ++i)
          acc = b.create<LLVM::InsertValueOp>(loc, acc, *next++,
                                              ArrayRef<int64_t>{i});
      } else {
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t j = 0; j < 2; ++j)
            acc = b.create<vector::InsertOp>(loc, *next++, acc,
                                             ArrayRef<int64_t>{i, j});
      }
      result.push_back(acc);
    }
    return result;
  }

  void block(OpBuilder &b, ValueRange ivs) {
    Value warp = ivs[2];
    lane = ivs[3];
    auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                                gpu::AddressSpace::Workgroup);
    auto tileType = [&](int64_t tileRows) {
      SmallVector<int64_t> shape = {stages, tileRows, padded};
      if (wgmma) // stage, row / 8, step / 8, row % 8, step % 8
        shape = {stages, tileRows / 8, tileSteps / 8, 8, 8};
      return MemRefType::get(shape, mma.element,
                             MemRefLayoutAttrInterface(), workgroup);
    };
    if (tma) {
      // One buffer: the stages' x tiles, their w tiles (the first aligned
      // to kTileAlignment bytes, each a multiple of it), an mbarrier per
      // stage.
      Value buffer = b.create<memref::AllocaOp>(
          loc, MemRefType::get({tmaBufferBytes / 2}, mma.element,
                               MemRefLayoutAttrInterface(), workgroup));
      Value start =
          b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, buffer);
      xTiles = b.create<arith::AndIOp>(loc, add(b, start, kTileAlignment - 1),
                                       index(b, -kTileAlignment));
      wTiles = add(b, xTiles, stages * blockRows * tileSteps * 2);
      barriers = add(b, wTiles, stages * cols * tileSteps * 2);
      if (producer) {
        empties = add(b, barriers, stages * 8);
        consumer = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult,
                                           warp, index(b, kWarps));
      }
    } else {
      sharedX = b.create<memref::AllocaOp>(loc, tileType(blockRows));
      sharedW = b.create<memref::AllocaOp>(loc, tileType(cols));
    }
    // Row-major buffers with no offset are allocations' (256-byte aligned):
    // 8 elements from a multiple of 8 load as one 16-byte vector; the
    // epilogue's pairs of columns (an even first one) as one 4-byte access
    // (LLVM's load/store vectorizer), in the output, the consumer's inputs
    // (a residual) and its outputs.
    SetVector<Value> aligned;
    for (OpOperand *operand : {mma.x, mma.w, op.getDpsInitOperand(0)})
      aligned.insert(operand->get());
    if (sink.consumer)
      for (Value operand : sink.consumer->getOperands())
        aligned.insert(operand);
    for (Value buffer : aligned) {
      auto type = dyn_cast<MemRefType>(buffer.getType());
      if (type && type.getLayout().isIdentity())
        b.create<memref::AssumeAlignmentOp>(loc, buffer, kVectorBytes);
    }
    firstRow = mul(b, ivs[0], blockRows);
    firstCol = mul(b, ivs[1], cols);
    // The thread's part of a tile: chunks t, t + 256, ... of 8 elements,
    // placed by tileChunkPlace; x has blockRows rows, w cols (none with
    // TMA, which copies whole boxes).
    thread = b.create<arith::AddIOp>(loc, mul(b, warp, kWarp), lane);
    if (splitK)
      tileIndex =
          b.create<arith::AddIOp>(loc, mul(b, ivs[0], mma.n / cols), ivs[1]);
    Value lastRow = b.create<arith::SubIOp>(loc, rows, index(b, 1));
    Value lastCol = b.create<arith::SubIOp>(loc, sizes[mma.nDim], index(b, 1));
    xChunks = blockRows * tileSteps / 8 / kThreads;
    wChunks = cols * tileSteps / 8 / kThreads;
    for (int64_t c = 0; !tma && c < std::max(xChunks, wChunks); ++c) {
      auto [row, column] = llmc::gpu::tileChunkPlace(
          b, loc, add(b, thread, c * kThreads), tileSteps / 8);
      chunkRows.push_back(row);
      chunkCols.push_back(column);
      if (c < xChunks)
        xRows.push_back(rowIndices(
            b, b.create<arith::MinUIOp>(
                   loc, b.create<arith::AddIOp>(loc, firstRow, row), lastRow)));
      if (c >= wChunks)
        continue;
      // Columns past a dynamic n load the last column (and are not
      // stored).
      Value col = b.create<arith::AddIOp>(loc, firstCol, row);
      if (ShapedType::isDynamic(mma.n))
        col = b.create<arith::MinUIOp>(loc, col, lastCol);
      wCols.push_back(col);
    }
    // The lane's place in the fragments (and in wgmma's accumulators):
    // lane / 4 and 2 (lane % 4).
    group = div(b, lane, 4);
    pair = mul(b, rem(b, lane, 4), 2);
    if (wgmma) {
      finish(b, pipeline(b, {startWarpgroup(b, warp)}),
             [&](OpBuilder &sb, ValueRange accs) {
               storeWarpgroup(sb, accs.front());
             });
      return;
    }
    // The warp's place: rows 32 (v / across), columns (64 / across) (v %
    // across); the rows whose addresses the lane gives ldmatrix: A's lane %
    // 16 at column 8 (lane / 16), B's (lane % 8) + 8 (lane / 16) at column 8
    // (lane / 8 % 2).
    warpRow = mul(b, div(b, warp, warpsAcross), kWarpRows);
    warpCol = mul(b, rem(b, warp, warpsAcross), 8 * colTiles);
    Value half = div(b, lane, 16);
    matrixRowA = rem(b, lane, 16);
    matrixColA = mul(b, half, 8);
    matrixRowB = b.create<arith::AddIOp>(loc, rem(b, lane, 8), mul(b, half, 8));
    matrixColB = mul(b, rem(b, div(b, lane, 8), 2), 8);

    Value zeros = zeroAccumulator(b);
    if (async) {
      finish(b, pipeline(b, SmallVector<Value>(accumulators(), zeros)),
             [&](OpBuilder &sb, ValueRange accs) { store(sb, accs); });
      return;
    }
    SmallVector<Value> carried = loadTile(b, zero);
    size_t loaded = carried.size();
    carried.append(accumulators(), zeros);
    // The last tile's first step: (k - 1) rounded down to 64.
    Value lastTile = mul(
        b, div(b, b.create<arith::SubIOp>(loc, sizes[kDim], index(b, 1)),
               kSteps),
        kSteps);
    auto loop = b.create<scf::ForOp>(
        loc, zero, sizes[kDim], index(b, kSteps), carried,
        [&](OpBuilder &fb, Location, Value k0, ValueRange values) {
          storeTile(fb, values.take_front(loaded));
          fb.create<gpu::BarrierOp>(loc);
          // The next tile's loads (the last tile again at the end: no
          // branch, and within bounds).
          SmallVector<Value> next =
              loadTile(fb, fb.create<arith::MinUIOp>(loc, add(fb, k0, kSteps),
                                                     lastTile));
          SmallVector<Value> accs(values.drop_front(loaded));
          for (int64_t kk = 0; kk < kSteps; kk += 16)
            steps(fb, zero, kk, accs);
          fb.create<gpu::BarrierOp>(loc);
          next.append(accs);
          fb.create<scf::YieldOp>(loc, next);
        });
    store(b, loop.getResults().drop_front(loaded));
  }

  /// The asynchronous pipeline: tile i + ahead's copies are issued while
  /// the warps run tile i, each tile a group of copies; a thread waits
  /// until at most ahead - 1 groups of its own are in flight (tile i's has
  /// landed), then the barrier makes every thread's copies visible and
  /// tells that the tile whose stage the new copies take is done: ahead =
  /// stages - 1 where every thread waits for its multiplies before that
  /// barrier; with a wgmma group in flight (inFlight), tile i - 1's may
  /// still read its stage, which the barrier tells of tile i - 2 only, so
  /// ahead = stages - 2. Past the last tile the copies read nothing (a
  /// group per iteration all the same). The accumulators at the end. Split
  /// k: the split's tiles of k only.
  SmallVector<Value> pipeline(OpBuilder &b, SmallVector<Value> accs) {
    if (tma)
      return tmaPipeline(b, accs.front());
    int64_t ahead = inFlight ? stages - 2 : stages - 1;
    Value first, tiles;
    std::tie(first, tiles) = splitTiles(b);
    Value last = b.createOrFold<arith::SubIOp>(loc, tiles, index(b, 1));
    // The copies of the split's tile `tile`; past its last, a group of
    // copies that read nothing and write zeros into a stage no multiply
    // reads (at the last tile's addresses).
    auto copyAt = [&](OpBuilder &cb, Value tile, Value stage) {
      Value at = cb.create<arith::AddIOp>(
          loc, first, cb.create<arith::MinUIOp>(loc, tile, last));
      std::optional<int64_t> t = getConstantIntValue(tile),
                             l = getConstantIntValue(last);
      if (t && l && *t <= *l)
        return copyTile(cb, at, stage);
      Value inside =
          cb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ule, tile, last);
      return copyTile(
          cb, at, stage,
          cb.create<arith::SelectOp>(loc, inside, index(cb, 8), index(cb, 0)));
    };
    Value token;
    for (int64_t t = 0; t < ahead; ++t)
      token = copyAt(b, index(b, t), index(b, t));
    accs.push_back(token);
    auto loop = b.create<scf::ForOp>(
        loc, zero, tiles, index(b, 1), accs,
        [&](OpBuilder &fb, Location, Value tile, ValueRange carried) {
          fb.create<nvgpu::DeviceAsyncWaitOp>(loc, carried.back(),
                                              fb.getI32IntegerAttr(ahead - 1));
          // cp.async wrote the stage through the generic proxy; wgmma reads
          // it through the async proxy.
          if (wgmma)
            asyncProxyFence(fb, loc);
          fb.create<gpu::BarrierOp>(loc);
          Value copied = add(fb, tile, ahead);
          Value next = copyAt(fb, copied, rem(fb, copied, stages));
          Value stage = rem(fb, tile, stages);
          SmallVector<Value> results(carried.drop_back());
          if (wgmma)
            results.front() = multiplyStage(fb, stage, results.front());
          else
            for (int64_t kk = 0; kk < tileSteps; kk += 16)
              steps(fb, stage, kk, results);
          results.push_back(next);
          fb.create<scf::YieldOp>(loc, results);
        });
    b.create<nvgpu::DeviceAsyncWaitOp>(loc, loop.getResults().back(),
                                       b.getI32IntegerAttr(0));
    if (inFlight)
      b.create<NVVM::WgmmaWaitGroupSyncOp>(loc, 0);
    return SmallVector<Value>(loop.getResults().drop_back());
  }

  /// The block's first tile of k and its count: all of k's, or with split k
  /// its split's.
  std::pair<Value, Value> splitTiles(OpBuilder &b) {
    Value first = zero, tiles = index(b, mma.k / tileSteps);
    if (splitK) {
      first = b.create<arith::MulIOp>(loc, split, splitStages);
      tiles = b.create<arith::MinUIOp>(
          loc, splitStages, b.create<arith::SubIOp>(loc, tiles, first));
    }
    return {first, tiles};
  }

  /// pipeline() with TMA: thread 0 issues each tile's two copies (x's rows
  /// and w's columns of the tile, by the tensor maps; rows past the end
  /// read zeros) on its stage's mbarrier with the bytes they bring (one
  /// arrival expected per phase); every thread waits for the phase of its
  /// tile (the stage's use count modulo 2) instead of for its own copies.
  /// The barrier after that wait tells thread 0 that the stage the next
  /// copies take is no longer read (as in pipeline(): `ahead` tiles in
  /// flight, one less with a wgmma group in flight). Copies past the last
  /// tile are not issued.
  SmallVector<Value> tmaPipeline(OpBuilder &b, Value accumulators) {
    if (producer)
      return producerPipeline(b, accumulators);
    int64_t ahead = inFlight ? stages - 2 : stages - 1;
    Value first, tiles;
    std::tie(first, tiles) = splitTiles(b);
    Value leader =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, thread, zero);
    initBarriers(b, leader);
    auto issueIfInside = [&](OpBuilder &ib, Value tile) {
      Value inside = ib.create<arith::AndIOp>(
          loc, leader,
          ib.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, tile,
                                   tiles));
      thenIf(ib, inside, [&](OpBuilder &tb) { issueTile(tb, first, tile); });
    };
    for (int64_t t = 0; t < ahead; ++t)
      issueIfInside(b, index(b, t));
    auto loop = b.create<scf::ForOp>(
        loc, zero, tiles, index(b, 1), ValueRange{accumulators},
        [&](OpBuilder &fb, Location, Value tile, ValueRange carried) {
          Value stage = rem(fb, tile, stages);
          waitPhase(fb, barrierAt(fb, barriers, stage), div(fb, tile, stages));
          fb.create<gpu::BarrierOp>(loc);
          issueIfInside(fb, add(fb, tile, ahead));
          fb.create<scf::YieldOp>(loc,
                                  multiplyStage(fb, stage, carried.front()));
        });
    if (inFlight)
      b.create<NVVM::WgmmaWaitGroupSyncOp>(loc, 0);
    return {loop.getResult(0)};
  }

  /// tmaPipeline() with a producer warp (warp specialization): the block's
  /// ninth warp goes through the split's tiles, its lane 0 issuing each
  /// tile's copies into stage tile % stages once the stage is free: once
  /// the stage's `empty` mbarrier (an arrival from each of the 8 consumer
  /// warps) completed the phase of the stage's use before (the phase before
  /// the first, parity 1, counts as completed). The consumer warps wait for
  /// their tile's phase of the stage's `full` mbarrier, multiply, and their
  /// lanes 0 release the stage whose wgmma group completed: the tile's own,
  /// or with a group in flight the tile's before. No block barrier per
  /// tile: a slow warp holds up only the copies into the stage it reads.
  /// The producer's accumulators stay zero and are not stored (finish()).
  SmallVector<Value> producerPipeline(OpBuilder &b, Value accumulators) {
    Value first, tiles;
    std::tie(first, tiles) = splitTiles(b);
    Value laneZero =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, lane, zero);
    initBarriers(
        b, b.create<arith::AndIOp>(
               loc, b.create<arith::XOrIOp>(
                        loc, consumer,
                        b.create<arith::ConstantIntOp>(loc, 1, 1)),
               laneZero));
    auto roles = b.create<scf::IfOp>(loc, accumulators.getType(), consumer,
                                     /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&roles.getElseRegion().front());
    b.create<scf::ForOp>(
        loc, zero, tiles, index(b, 1), ValueRange(),
        [&](OpBuilder &fb, Location, Value tile, ValueRange) {
          Value stage = rem(fb, tile, stages);
          waitPhase(fb, barrierAt(fb, empties, stage),
                    add(fb, div(fb, tile, stages), 1));
          thenIf(fb, laneZero,
                 [&](OpBuilder &ib) { issueTile(ib, first, tile); });
          fb.create<scf::YieldOp>(loc);
        });
    b.create<scf::YieldOp>(loc, accumulators);

    b.setInsertionPointToStart(&roles.getThenRegion().front());
    int64_t lag = inFlight ? 1 : 0;
    auto loop = b.create<scf::ForOp>(
        loc, zero, tiles, index(b, 1), ValueRange{accumulators},
        [&](OpBuilder &fb, Location, Value tile, ValueRange carried) {
          Value stage = rem(fb, tile, stages);
          waitPhase(fb, barrierAt(fb, barriers, stage), div(fb, tile, stages));
          Value accs = multiplyStage(fb, stage, carried.front());
          // The tile whose group completed (none before the first).
          Value released = laneZero;
          if (lag)
            released = fb.create<arith::AndIOp>(
                loc, released,
                fb.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, tile,
                                         index(fb, lag)));
          thenIf(fb, released, [&](OpBuilder &ib) {
            Value done = ib.createOrFold<arith::SubIOp>(loc, tile,
                                                        index(ib, lag));
            ib.create<NVVM::MBarrierArriveSharedOp>(
                loc, ib.getI64Type(),
                barrierAt(ib, empties, rem(ib, done, stages)));
          });
          fb.create<scf::YieldOp>(loc, accs);
        });
    if (inFlight)
      b.create<NVVM::WgmmaWaitGroupSyncOp>(loc, 0);
    b.create<scf::YieldOp>(loc, loop.getResult(0));
    return {roles.getResult(0)};
  }

  /// Builds `body` where `condition` holds.
  void thenIf(OpBuilder &b, Value condition,
              llvm::function_ref<void(OpBuilder &)> body) {
    auto choice = b.create<scf::IfOp>(loc, condition, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&choice.getThenRegion().front());
    body(b);
  }

  /// The shared address `address` as an LLVM pointer.
  Value sharedPointer(OpBuilder &b, Value address) {
    return b.create<LLVM::IntToPtrOp>(
        loc, LLVM::LLVMPointerType::get(b.getContext(), 3),
        b.create<arith::IndexCastUIOp>(loc, b.getI64Type(), address));
  }
  /// The mbarrier of stage `stage` among those at `base`.
  Value barrierAt(OpBuilder &b, Value base, Value stage) {
    return sharedPointer(b,
                         b.create<arith::AddIOp>(loc, base, mul(b, stage, 8)));
  }

  /// Where `leader` holds: the stages' `full` mbarriers (one arrival a
  /// phase: the copies' issue), with a producer warp their `empty` ones
  /// too (an arrival from each consumer warp), and the tensor maps
  /// acquired; then the block barrier, and the maps as pointers.
  void initBarriers(OpBuilder &b, Value leader) {
    thenIf(b, leader, [&](OpBuilder &ib) {
      Type i32 = ib.getI32Type();
      Value one = ib.create<arith::ConstantIntOp>(loc, 1, i32);
      Value warps = ib.create<arith::ConstantIntOp>(loc, kWarps, i32);
      for (int64_t s = 0; s < stages; ++s) {
        ib.create<NVVM::MBarrierInitSharedOp>(
            loc, barrierAt(ib, barriers, index(ib, s)), one, Value());
        if (producer)
          ib.create<NVVM::MBarrierInitSharedOp>(
              loc, barrierAt(ib, empties, index(ib, s)), warps, Value());
      }
      ib.create<NVVM::FenceMbarrierInitOp>(loc);
      // The maps came to global memory by a copy from the host: the thread
      // that hands them to TMA acquires them through the tensor-map proxy
      // first (CUDA programming guide, TMA).
      for (Value map : {xMap, wMap})
        inlinePtx(ib, loc,
                  "fence.proxy.tensormap::generic.acquire.sys [$0], 128;",
                  map, "l");
    });
    b.create<gpu::BarrierOp>(loc);
    auto pointer = LLVM::LLVMPointerType::get(b.getContext());
    xMapPointer = b.create<LLVM::IntToPtrOp>(loc, pointer, xMap);
    wMapPointer = b.create<LLVM::IntToPtrOp>(loc, pointer, wMap);
  }

  /// Waits until the mbarrier `barrier` completed its phase of parity
  /// `use` % 2.
  void waitPhase(OpBuilder &b, Value barrier, Value use) {
    Type i32 = b.getI32Type();
    b.create<NVVM::MBarrierTryWaitParitySharedOp>(
        loc, barrier,
        b.create<arith::IndexCastUIOp>(loc, i32, rem(b, use, 2)),
        b.create<arith::ConstantIntOp>(loc, kWaitTicks, i32));
  }

  /// The split's tile `tile` (its first is `first`) into its stage: the
  /// bytes its stage's `full` mbarrier expects, x's box at (k0, the
  /// block's first row) and w's at (k0, its first column), each into its
  /// tiles' part of the stage.
  void issueTile(OpBuilder &b, Value first, Value tile) {
    Type i32 = b.getI32Type();
    auto i32Of = [&](Value v) -> Value {
      return b.create<arith::IndexCastUIOp>(loc, i32, v);
    };
    int64_t xBytes = blockRows * tileSteps * 2, wBytes = cols * tileSteps * 2;
    Value stage = rem(b, tile, stages);
    Value barrier = barrierAt(b, barriers, stage);
    b.create<NVVM::MBarrierArriveExpectTxSharedOp>(
        loc, barrier, b.create<arith::ConstantIntOp>(loc, xBytes + wBytes, i32),
        Value());
    Value k0 =
        i32Of(mul(b, b.create<arith::AddIOp>(loc, first, tile), tileSteps));
    for (auto [base, bytes, map, origin] :
         {std::tuple{xTiles, xBytes, xMapPointer, firstRow},
          std::tuple{wTiles, wBytes, wMapPointer, firstCol}})
      b.create<NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp>(
          loc,
          sharedPointer(b,
                        b.create<arith::AddIOp>(loc, base, mul(b, stage, bytes))),
          map, ValueRange{k0, i32Of(origin)}, barrier, ValueRange(), Value(),
          Value(), Value());
  }

  /// Copies tile `tile` of x and w into stage `stage`: one group, its token;
  /// `sourceElements` (8 or 0: zeros) of each chunk read where given.
  Value copyTile(OpBuilder &b, Value tile, Value stage,
                 Value sourceElements = {}) {
    Value k0 = mul(b, tile, tileSteps);
    auto tokenType = nvgpu::DeviceAsyncTokenType::get(b.getContext());
    SmallVector<Value> tokens;
    auto copy = [&](OpOperand *operand, ArrayRef<Value> dims, Value tileBuffer,
                    int64_t c) {
      SmallVector<Value> at = {stage, chunkRows[c], chunkCols[c]};
      if (wgmma) // the chunk is row % 8 of core matrix (row / 8, step / 8)
        at = {stage, div(b, chunkRows[c], 8), div(b, chunkCols[c], 8),
              rem(b, chunkRows[c], 8), zero};
      tokens.push_back(b.create<nvgpu::DeviceAsyncCopyOp>(
          loc, tokenType, tileBuffer, at, operand->get(),
          indicesAt(b, loc, op, *operand, dims), b.getIndexAttr(8),
          sourceElements, b.getUnitAttr()));
    };
    for (int64_t c = 0; c < std::max(xChunks, wChunks); ++c) {
      Value k = b.create<arith::AddIOp>(loc, k0, chunkCols[c]);
      if (c < xChunks) {
        SmallVector<Value> xDims = xRows[c];
        xDims[kDim] = k;
        copy(mma.x, xDims, sharedX, c);
      }
      if (c >= wChunks)
        continue;
      SmallVector<Value> wDims = batchIndices();
      wDims[mma.nDim] = wCols[c];
      wDims[kDim] = k;
      copy(mma.w, wDims, sharedW, c);
    }
    return b.create<nvgpu::DeviceAsyncCreateGroupOp>(loc, tokenType, tokens);
  }

  /// The thread's elements of the tile at k0: 8 of x per chunk, 8 of w per
  /// chunk of w. Past a dynamic k: x's are 0, w's those of the last step
  /// (finite).
  SmallVector<Value> loadTile(OpBuilder &b, Value k0) {
    SmallVector<Value> values;
    bool tail = ShapedType::isDynamic(mma.k);
    Value lastStep =
        tail ? b.create<arith::SubIOp>(loc, sizes[kDim], index(b, 1)) : Value();
    Value zeroHalf =
        tail ? b.create<arith::ConstantOp>(loc, b.getFloatAttr(mma.element, 0))
             : Value();
    for (int64_t c = 0; c < xChunks; ++c) {
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
      if (c >= wChunks)
        continue;
      for (int64_t e = 0; e < 8; ++e) {
        SmallVector<Value> dims = batchIndices();
        dims[mma.nDim] = wCols[c];
        dims[kDim] = steps[e];
        values.push_back(loadAt(b, loc, op, *mma.w, dims));
      }
    }
    return values;
  }

  /// Stores what loadTile loaded, in its order.
  void storeTile(OpBuilder &b, ValueRange values) {
    for (int64_t c = 0; c < xChunks; ++c)
      for (Value tile : {sharedX, sharedW}) {
        if (tile == sharedW && c >= wChunks)
          continue;
        for (int64_t e = 0; e < 8; ++e) {
          b.create<memref::StoreOp>(
              loc, values.front(), tile,
              ValueRange{zero, chunkRows[c], add(b, chunkCols[c], e)});
          values = values.drop_front();
        }
      }
  }

  /// 16 steps of k from kk in the tile of stage `stage`: the warp's 2 A
  /// and colTiles B fragments, then the 2 x colTiles mma.sync.
  void steps(OpBuilder &b, Value stage, int64_t kk,
             SmallVectorImpl<Value> &accs) {
    SmallVector<Value> as, bs;
    if (loadMatrices) {
      auto matrices = [&](Value tile, Value row, Value column) {
        return llmc::gpu::loadMatrices(b, loc, tile,
                                       {stage, row, add(b, column, kk)}, 4,
                                       /*transpose=*/false);
      };
      // A: the four 8 x 8 matrices (rows 0-7, 8-15) x (k 0-7, 8-15).
      for (int64_t m = 0; m < 2; ++m)
        as.push_back(matrices(
            sharedX,
            b.create<arith::AddIOp>(loc, add(b, warpRow, 16 * m), matrixRowA),
            matrixColA));
      // B of two column tiles: (columns 0-7: k 0-7, 8-15), (8-15: ...).
      for (int64_t n = 0; n < colTiles; n += 2) {
        bs.append(bFragments(
            b, loc,
            matrices(sharedW,
                     b.create<arith::AddIOp>(loc, add(b, warpCol, 8 * n),
                                             matrixRowB),
                     matrixColB)));
      }
    } else {
      Value column = add(b, pair, kk);
      auto halves = [&](Value tile, Value row, int64_t offset) {
        Value at = add(b, column, offset);
        return std::pair<Value, Value>{
            b.create<memref::LoadOp>(loc, tile, ValueRange{stage, row, at}),
            b.create<memref::LoadOp>(loc, tile,
                                     ValueRange{stage, row, add(b, at, 1)})};
      };
      for (int64_t m = 0; m < 2; ++m) {
        // A: rows (lane/4, +8) x columns (pair, +1) and +8.
        Value row =
            b.create<arith::AddIOp>(loc, add(b, warpRow, 16 * m), group);
        Value below = add(b, row, 8);
        as.push_back(
            pack(b, {halves(sharedX, row, 0), halves(sharedX, below, 0),
                     halves(sharedX, row, 8), halves(sharedX, below, 8)}));
      }
      for (int64_t n = 0; n < colTiles; ++n) {
        // B: k (pair, +1) and +8 x column lane/4.
        Value col = b.create<arith::AddIOp>(loc, add(b, warpCol, 8 * n), group);
        bs.push_back(
            pack(b, {halves(sharedW, col, 0), halves(sharedW, col, 8)}));
      }
    }
    for (int64_t m = 0; m < 2; ++m)
      for (int64_t n = 0; n < colTiles; ++n)
        accs[m * colTiles + n] =
            mmaSync(b, loc, as[m], bs[n], accs[m * colTiles + n]);
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
        Value inside =
            b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, row, rows);
        b.create<scf::IfOp>(loc, inside, [&](OpBuilder &ib, Location) {
          SmallVector<Value> dims = rowIndices(ib, row);
          for (int64_t n = 0; n < colTiles; ++n) {
            Value values = ib.create<vector::ExtractOp>(
                loc, accs[m * colTiles + n], ArrayRef<int64_t>{half});
            SmallVector<Value> totals;
            for (int64_t j = 0; j < 2; ++j)
              totals.push_back(ib.create<vector::ExtractOp>(
                  loc, values, ArrayRef<int64_t>{j}));
            emitPair(ib, dims,
                     ib.create<arith::AddIOp>(loc, colBase,
                                              add(ib, pair, 8 * n)),
                     totals);
          }
          ib.create<scf::YieldOp>(loc);
        });
      }
  }

  /// Gives the sink the totals of columns `col` (even) and `col` + 1 at
  /// `dims` (their column in dims[nDim]): both loads before the stores
  /// where n is static (a pair of columns in one 4-byte access), one by one
  /// inside a dynamic n.
  void emitPair(OpBuilder &b, SmallVector<Value> dims, Value col,
                ArrayRef<Value> totals) {
    SmallVector<SmallVector<Value>> outers;
    for (int64_t e = 0; e < 2; ++e) {
      dims[mma.nDim] = add(b, col, e);
      if (ShapedType::isDynamic(mma.n))
        emitTotal(b, dims, totals[e]);
      else
        outers.push_back(SmallVector<Value>(ArrayRef<Value>(dims).drop_back()));
    }
    if (!outers.empty())
      sink.emitAll(b, loc, totals, outers);
  }

  /// Gives the sink the total at `dims` (its column in dims[nDim]), which
  /// must lie inside a dynamic n.
  void emitTotal(OpBuilder &b, ArrayRef<Value> dims, Value total) {
    if (!ShapedType::isDynamic(mma.n)) {
      sink.emit(b, loc, total, dims.drop_back());
      return;
    }
    Value within = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult,
                                           dims[mma.nDim], sizes[mma.nDim]);
    b.create<scf::IfOp>(loc, within, [&](OpBuilder &cb, Location) {
      sink.emit(cb, loc, total, dims.drop_back());
      cb.create<scf::YieldOp>(loc);
    });
  }

  /// wgmma's accumulators: m64nN, N = the block's columns / (warpgroups
  /// across them), f32, N / 2 of them per thread.
  int64_t warpgroupColumns() const {
    return blockRows == 128 ? cols : cols / 2;
  }
  Type accumulatorType(OpBuilder &b) const {
    return wgmmaAccumulatorType(b.getContext(), warpgroupColumns());
  }

  /// The warpgroup's place in the block (rows 64 g or columns N g), its
  /// warp's rows in the accumulators (16 (warp % 4)), the descriptors of
  /// its parts of stage 0's tiles, and its zero accumulators.
  Value startWarpgroup(OpBuilder &b, Value warp) {
    Value warpgroup = div(b, warp, 4);
    Value rowOffset = blockRows == 128 ? mul(b, warpgroup, 64) : zero;
    Value colOffset =
        blockRows == 128 ? zero : mul(b, warpgroup, warpgroupColumns());
    warpRow = b.create<arith::AddIOp>(loc, rowOffset,
                                      mul(b, rem(b, warp, 4), 16));
    warpCol = colOffset;
    auto address = [&](Value tile) -> Value {
      return b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, tile);
    };
    descriptorX = descriptor(b, tma ? xTiles : address(sharedX), rowOffset);
    descriptorW = descriptor(b, tma ? wTiles : address(sharedW), colOffset);
    return b.create<LLVM::ZeroOp>(loc, accumulatorType(b));
  }

  /// The matrix descriptor (PTX ISA, wgmma) of stage 0 of the tile at
  /// `tile` (a shared address) from row `row` (a multiple of 8): start
  /// address / 16 in bits 0-13, the leading byte offset (between core
  /// matrices along k: 128; with TMA's swizzle none: 16) / 16 in bits
  /// 16-29, the stride byte offset (between groups of 8 rows: 16 bytes per
  /// step of k) / 16 in bits 32-45, the swizzle in bits 62-63 (none; with
  /// TMA a row's bytes: 64 (2) or 128 (1)).
  Value descriptor(OpBuilder &b, Value tile, Value row) {
    Value address = b.create<arith::IndexCastUIOp>(
        loc, b.getI64Type(),
        b.create<arith::AddIOp>(loc, tile, mul(b, row, tileSteps * 2)));
    return wgmmaDescriptor(b, loc, address, tma ? 16 : 128, tileSteps * 16,
                           !tma              ? 0
                           : tileSteps == 64 ? 1
                                             : 2);
  }

  /// The stage's 16-step slices of k, one wgmma.mma_async each on the
  /// warpgroup's accumulators, committed as a group and waited for (with
  /// inFlight, all but that group: the previous tile's) before the next
  /// barrier, after which copies may overwrite the stage it read (see
  /// pipeline()). The accumulators of a wgmma in flight are only an
  /// operand of the next wgmma, which the PTX ISA allows without a wait. A
  /// descriptor moves along the tile by its address bits: a stage's bytes /
  /// 16; kk steps are kk / 8 core matrices of 128 bytes, kk units of 16
  /// bytes (swizzled: kk 2 bytes along the row, kk / 8 units, the swizzle
  /// applying to the address so moved).
  Value multiplyStage(OpBuilder &b, Value stage, Value accumulators) {
    Type i64 = b.getI64Type();
    auto at = [&](Value descriptor, int64_t tileRows, int64_t kk) -> Value {
      Value offset = b.create<arith::IndexCastUIOp>(
          loc, i64,
          add(b, mul(b, stage, tileRows * tileSteps * 2 / 16),
              tma ? kk / 8 : kk));
      return b.create<arith::AddIOp>(loc, descriptor, offset);
    };
    b.create<NVVM::WgmmaFenceAlignedOp>(loc);
    for (int64_t kk = 0; kk < tileSteps; kk += 16)
      accumulators = wgmmaMultiply(
          b, loc, accumulators, at(descriptorX, blockRows, kk),
          at(descriptorW, cols, kk), warpgroupColumns(), mma.element);
    b.create<NVVM::WgmmaGroupSyncAlignedOp>(loc);
    b.create<NVVM::WgmmaWaitGroupSyncOp>(loc, inFlight ? 1 : 0);
    return accumulators;
  }

  /// wgmma's accumulators (PTX ISA, m64nNk16 D fragments): the thread's
  /// 4 j + 2 h + e is row 16 (warp % 4) + lane / 4 + 8 h, column 8 j +
  /// 2 (lane % 4) + e of its warpgroup's part; rows inside only.
  void storeWarpgroup(OpBuilder &b, Value accumulators) {
    Value colBase = b.create<arith::AddIOp>(loc, firstCol, warpCol);
    for (int64_t half = 0; half < 2; ++half) {
      Value row = b.create<arith::AddIOp>(
          loc, b.create<arith::AddIOp>(loc, firstRow, warpRow),
          add(b, group, 8 * half));
      Value inside =
          b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, row, rows);
      b.create<scf::IfOp>(loc, inside, [&](OpBuilder &ib, Location) {
        SmallVector<Value> dims = rowIndices(ib, row);
        for (int64_t j = 0; j < warpgroupColumns() / 8; ++j) {
          SmallVector<Value> totals;
          for (int64_t e = 0; e < 2; ++e)
            totals.push_back(ib.create<LLVM::ExtractValueOp>(
                loc, accumulators, ArrayRef<int64_t>{4 * j + 2 * half + e}));
          emitPair(ib, dims,
                   ib.create<arith::AddIOp>(loc, colBase,
                                            add(ib, pair, 8 * j)),
                   totals);
        }
        ib.create<scf::YieldOp>(loc);
      });
    }
  }

  CountersMaker makeCounters;
  Value sharedX, sharedW, firstRow, firstCol, thread;
  // Split k: whether it may, the splits and each one's stages of k (host
  // values), the workspace of partial totals and the counters; in the
  // kernel, the block's split and its tile's place among the tiles.
  bool splitK = false;
  Value splits, splitStages, workspace, split, tileIndex;
  memref::GlobalOp counters;
  // Fragments by ldmatrix; the block's rows; warps across its 64 columns
  // and each warp's column tiles of 8.
  bool loadMatrices = true;
  int64_t blockRows = 64, cols = kCols, warpsAcross = 4, colTiles = 2;
  // Asynchronous copies or loads through registers; the tile's steps of k,
  // its rows' padded length, the stages and the thread's chunks of x and
  // of w per tile.
  bool async = false, wgmma = false, inFlight = false;
  Value descriptorX, descriptorW;
  // TMA: the tensor maps of x and w (host values; in the kernel also as
  // pointers, after initBarriers()), the shared addresses of
  // the stages' x tiles, w tiles and mbarriers; how long an mbarrier wait
  // may suspend its thread (a hint, ns).
  // With a producer warp (warp kWarps): its `empty` mbarriers after the
  // `full` ones, whether the thread is a consumer's; the thread's lane.
  bool tma = false, producer = false;
  int64_t tmaBufferBytes = 0;
  Value xMap, wMap, xMapPointer, wMapPointer, xTiles, wTiles, barriers,
      empties, consumer, lane;
  static constexpr int64_t kWaitTicks = 10000000;
  int64_t tileSteps = kSteps, padded = kSteps + 8, stages = 1, xChunks = 2,
          wChunks = 2;
  // The thread's chunks of a tile: their rows and columns in the tile, the
  // loop indices of x's row and w's column.
  SmallVector<Value> chunkRows, chunkCols, wCols;
  SmallVector<SmallVector<Value>> xRows;
  // The warp's first row and column in the block; lane / 4, 2 (lane % 4);
  // the row and column whose address the lane gives ldmatrix in A and B.
  Value warpRow, warpCol, group, pair, matrixRowA, matrixColA, matrixRowB,
      matrixColB;
};

} // namespace

namespace llmc::gpu {

/// A tensor-core fragment of 16-bit pairs: vector<Nx2xf16> from N (first,
/// second).
Value packFragment(OpBuilder &b, Location loc,
                   ArrayRef<std::pair<Value, Value>> halves) {
  Type element = halves.front().first.getType();
  auto type = VectorType::get({int64_t(halves.size()), 2}, element);
  Value vector = b.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(type, b.getFloatAttr(element, 0)));
  for (auto [i, two] : llvm::enumerate(halves)) {
    Value pair = b.create<vector::FromElementsOp>(
        loc, VectorType::get({2}, element), ValueRange{two.first, two.second});
    vector = b.create<vector::InsertOp>(loc, pair, vector,
                                        ArrayRef<int64_t>{int64_t(i)});
  }
  return vector;
}


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
    if (!arg || !(arg.getType().isF16() || arg.getType().isBF16()))
      return std::nullopt;
    extended.push_back(arg.getArgNumber());
  }
  Block &args = op.getRegion().front();
  if (extended[0] == extended[1] ||
      args.getArgument(extended[0]).getType() !=
          args.getArgument(extended[1]).getType())
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
  // x: its last index k, contiguous (w may be [n, k] or [k, n]: the tiles
  // load by index).
  AffineMap xMap = op.getMatchingIndexingMap(mma.x);
  AffineMap wMap = op.getMatchingIndexingMap(mma.w);
  auto xType = cast<MemRefType>(mma.x->get().getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!lastIndexIs(op, *mma.x, kDim) ||
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
  mma.element = op.getRegion().front().getArgument(extended[0]).getType();
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

Value rowCount(OpBuilder &b, Location loc, const MmaContraction &mma,
               ArrayRef<Value> sizes) {
  Value rows = b.create<arith::ConstantIndexOp>(loc, 1);
  for (unsigned d : mma.rowDims)
    rows = b.create<arith::MulIOp>(loc, rows, sizes[d]);
  return rows;
}

std::pair<Value, Value> tileChunkPlace(OpBuilder &b, Location loc, Value chunk,
                                       int64_t rowChunks) {
  auto constant = [&](int64_t v) -> Value {
    return b.create<arith::ConstantIndexOp>(loc, v);
  };
  Value group = b.create<arith::DivUIOp>(loc, chunk, constant(8));
  Value row = b.create<arith::AddIOp>(
      loc,
      b.create<arith::MulIOp>(
          loc, b.create<arith::DivUIOp>(loc, group, constant(rowChunks)),
          constant(8)),
      b.create<arith::RemUIOp>(loc, chunk, constant(8)));
  Value column = b.create<arith::MulIOp>(
      loc, b.create<arith::RemUIOp>(loc, group, constant(rowChunks)),
      constant(8));
  return {row, column};
}

Value wgmmaDescriptor(OpBuilder &b, Location loc, Value address,
                      int64_t leadingBytes, int64_t strideBytes,
                      int64_t swizzle) {
  Type i64 = b.getI64Type();
  auto constant = [&](int64_t v) -> Value {
    return b.create<arith::ConstantIntOp>(loc, v, i64);
  };
  Value start = b.create<arith::AndIOp>(
      loc, b.create<arith::ShRUIOp>(loc, address, constant(4)),
      constant(0x3FFF));
  int64_t fields =
      (leadingBytes >> 4) << 16 | (strideBytes >> 4) << 32 | swizzle << 62;
  return b.create<arith::OrIOp>(loc, start, constant(fields));
}

void asyncProxyFence(OpBuilder &b, Location loc) {
  b.create<NVVM::FenceProxyOp>(
      loc, NVVM::ProxyKind::async_shared,
      NVVM::SharedSpaceAttr::get(b.getContext(),
                                 NVVM::SharedSpace::shared_cta));
}

Type wgmmaAccumulatorType(MLIRContext *context, int64_t n) {
  return LLVM::LLVMStructType::getLiteral(
      context, SmallVector<Type>(n / 2, Float32Type::get(context)));
}

Value wgmmaMultiply(OpBuilder &b, Location loc, Value acc, Value a,
                    Value bDescriptor, int64_t n, Type element) {
  NVVM::WGMMATypes type =
      element.isBF16() ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  return b.create<NVVM::WgmmaMmaAsyncOp>(
      loc, acc.getType(), acc, a, bDescriptor,
      NVVM::MMAShapeAttr::get(b.getContext(), 64, n, 16), type, type,
      NVVM::WGMMATypes::f32, NVVM::WGMMAScaleOut::one, NVVM::WGMMAScaleIn::one,
      NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row, NVVM::MMALayout::col,
      /*satfinite=*/nullptr);
}

Value wgmmaMultiplyRegisters(OpBuilder &b, Location loc, Value acc, Value a,
                             Value bDescriptor, int64_t n, bool transposeB) {
  Type element = cast<VectorType>(a.getType()).getElementType();
  Type i32 = b.getI32Type();
  // Outputs $0 .. $(n/2 - 1), tied to the accumulators in; then A's four
  // registers, B's descriptor, scale-d and the immediates (as MLIR's NVVM
  // writes its shared-memory form).
  int64_t outputs = n / 2;
  SmallVector<Value> operands;
  SmallVector<std::string> constraints(outputs, "=f");
  for (int64_t i = 0; i < outputs; ++i) {
    operands.push_back(
        b.create<LLVM::ExtractValueOp>(loc, acc, ArrayRef<int64_t>{i}));
    constraints.push_back(std::to_string(i));
  }
  for (int64_t i = 0; i < 4; ++i) {
    operands.push_back(b.create<LLVM::BitcastOp>(
        loc, i32, b.create<vector::ExtractOp>(loc, a, ArrayRef<int64_t>{i})));
    constraints.push_back("r");
  }
  operands.push_back(bDescriptor);
  constraints.push_back("l");
  for (int64_t immediate : {1, 1, 1, transposeB ? 1 : 0}) {
    operands.push_back(
        b.create<LLVM::ConstantOp>(loc, i32, b.getI32IntegerAttr(immediate)));
    constraints.push_back("n");
  }
  std::string type = element.isBF16() ? "bf16" : "f16";
  std::string text;
  llvm::raw_string_ostream ptx(text);
  ptx << "{\n.reg .pred p;\nsetp.ne.b32 p, $" << outputs * 2 + 5
      << ", 0;\nwgmma.mma_async.sync.aligned.m64n" << n << "k16.f32." << type
      << "." << type << " {";
  for (int64_t i = 0; i < outputs; ++i)
    ptx << (i ? ", $" : "$") << i;
  int64_t first = outputs * 2;
  ptx << "}, {$" << first << ", $" << first + 1 << ", $" << first + 2 << ", $"
      << first + 3 << "}, $" << first + 4 << ", p, $" << first + 6 << ", $"
      << first + 7 << ", $" << first + 8 << ";\n}\n";
  return b
      .create<LLVM::InlineAsmOp>(
          loc, acc.getType(), operands, text, llvm::join(constraints, ","),
          /*has_side_effects=*/true,
          /*is_align_stack=*/false, LLVM::AsmDialectAttr(), ArrayAttr())
      .getResult(0);
}

Value loadMatrices(OpBuilder &b, Location loc, Value tile,
                   mlir::ValueRange indices, int64_t count, bool transpose) {
  Type element = cast<MemRefType>(tile.getType()).getElementType();
  return b.create<nvgpu::LdMatrixOp>(loc, VectorType::get({count, 2}, element),
                                     tile, indices, transpose, count);
}

Value mmaSync(OpBuilder &b, Location loc, Value a, Value bFragment,
              Value acc) {
  if (cast<VectorType>(a.getType()).getElementType().isF16())
    return b.create<nvgpu::MmaSyncOp>(loc, a, bFragment, acc,
                                      ArrayRef<int64_t>{16, 8, 16});
  // Each pair of bf16 is a 32-bit register; C and D are 4 f32.
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  SmallVector<Value> operands;
  for (Value fragment : {a, bFragment})
    for (int64_t i = 0,
                 e = cast<VectorType>(fragment.getType()).getDimSize(0);
         i < e; ++i)
      operands.push_back(b.create<LLVM::BitcastOp>(
          loc, i32,
          b.create<vector::ExtractOp>(loc, fragment, ArrayRef<int64_t>{i})));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j)
      operands.push_back(
          b.create<vector::ExtractOp>(loc, acc, ArrayRef<int64_t>{i, j}));
  auto resultType =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  Value d = b.create<LLVM::CallIntrinsicOp>(
                 loc, resultType,
                 b.getStringAttr("llvm.nvvm.mma.m16n8k16.row.col.bf16"),
                 operands)
                .getResult(0);
  Value result = acc;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j)
      result = b.create<vector::InsertOp>(
          loc,
          b.create<LLVM::ExtractValueOp>(loc, d, ArrayRef<int64_t>{2 * i + j}),
          result, ArrayRef<int64_t>{i, j});
  return result;
}

SmallVector<Value> bFragments(OpBuilder &b, Location loc, Value matrices) {
  SmallVector<Value> fragments;
  int64_t count = cast<VectorType>(matrices.getType()).getDimSize(0);
  for (int64_t i = 0; i < count; i += 2)
    fragments.push_back(b.create<vector::ExtractStridedSliceOp>(
        loc, matrices, ArrayRef<int64_t>{i}, ArrayRef<int64_t>{2},
        ArrayRef<int64_t>{1}));
  return fragments;
}

memref::GlobalOp addCounters(SymbolTable &symbols, StringRef name,
                             int64_t slots) {
  Operation *module = symbols.getOp();
  OpBuilder detached(module->getContext());
  auto type = MemRefType::get({slots}, detached.getI32Type());
  auto counters = detached.create<memref::GlobalOp>(
      module->getLoc(), name, detached.getStringAttr("private"), type,
      DenseElementsAttr::get(
          RankedTensorType::get({slots}, detached.getI32Type()),
          detached.getI32IntegerAttr(0).getValue()),
      /*constant=*/false, /*alignment=*/nullptr);
  symbols.insert(counters, module->getRegion(0).front().begin());
  return counters;
}

void inlinePtx(OpBuilder &b, Location loc, StringRef text, ValueRange operands,
               StringRef constraints) {
  b.create<LLVM::InlineAsmOp>(loc, TypeRange(), operands, text, constraints,
                              /*has_side_effects=*/true,
                              /*is_align_stack=*/false, LLVM::AsmDialectAttr(),
                              ArrayAttr());
}

static constexpr llvm::StringLiteral kWaitForPredecessor =
    "griddepcontrol.wait;";

void waitForPredecessor(OpBuilder &b, Location loc) {
  inlinePtx(b, loc, kWaitForPredecessor, {}, "~{memory}");
}

bool waitsForPredecessor(Operation *op) {
  return op
      ->walk([](LLVM::InlineAsmOp ptx) {
        return ptx.getAsmString() == kWaitForPredecessor
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      })
      .wasInterrupted();
}

void globalFence(OpBuilder &b, Location loc) {
  b.create<LLVM::CallIntrinsicOp>(loc, TypeRange{}, "llvm.nvvm.membar.gl",
                                  ValueRange{});
}

Value lastToArrive(OpBuilder &b, Location loc, memref::GlobalOp counters,
                   Value slot, Value arrivals, Value leader) {
  OpBuilder::InsertionGuard guard(b);
  auto workgroup = mlir::gpu::AddressSpaceAttr::get(
      b.getContext(), mlir::gpu::AddressSpace::Workgroup);
  Type i32 = b.getI32Type();
  Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
  Value flag = b.create<memref::AllocaOp>(
      loc, MemRefType::get({1}, i32, MemRefLayoutAttrInterface(), workgroup));
  b.create<mlir::gpu::BarrierOp>(loc);
  auto arrive = b.create<scf::IfOp>(loc, leader, false);
  b.setInsertionPointToStart(&arrive.getThenRegion().front());
  Value table = b.create<memref::GetGlobalOp>(loc, counters.getType(),
                                              counters.getSymName());
  globalFence(b, loc);
  Value before = b.create<memref::AtomicRMWOp>(
      loc, arith::AtomicRMWKind::addi,
      b.create<arith::ConstantIntOp>(loc, 1, 32), table, ValueRange{slot});
  Value isLast = b.create<arith::CmpIOp>(
      loc, arith::CmpIPredicate::eq, before,
      b.create<arith::IndexCastOp>(
          loc, i32,
          b.create<arith::SubIOp>(loc, arrivals,
                                  b.create<arith::ConstantIndexOp>(loc, 1))));
  auto reset = b.create<scf::IfOp>(loc, isLast, false);
  {
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(&reset.getThenRegion().front());
    b.create<memref::StoreOp>(loc, b.create<arith::ConstantIntOp>(loc, 0, 32),
                              table, ValueRange{slot});
  }
  b.create<memref::StoreOp>(loc, b.create<arith::ExtUIOp>(loc, i32, isLast),
                            flag, ValueRange{zero});
  b.setInsertionPointAfter(arrive);
  b.create<mlir::gpu::BarrierOp>(loc);
  return b.create<arith::CmpIOp>(
      loc, arith::CmpIPredicate::ne,
      b.create<memref::LoadOp>(loc, flag, ValueRange{zero}),
      b.create<arith::ConstantIntOp>(loc, 0, 32));
}

void buildMmaContraction(OpBuilder &builder, Location loc, linalg::GenericOp op,
                         const MmaContraction &mma, ResultSink &sink,
                         const MmaOptions &options, CountersMaker counters) {
  if (BlockMmaTiles::fits(mma))
    BlockMmaTiles(builder, loc, op, mma, sink, options, counters)
        .build(builder);
  else
    MmaTiles(builder, loc, op, mma, sink).build(builder);
}

} // namespace llmc::gpu

std::string llmc::mmaTileOptionsError(int64_t blockRows, int64_t blockCols,
                                      int64_t stageSteps, int64_t stages,
                                      bool wgmma, bool tma, bool tmaProducer,
                                      int64_t sharedLimit,
                                      llvm::StringRef prefix) {
  std::string rows = (prefix + "mma-block-rows").str(),
              cols = (prefix + "mma-block-cols").str(),
              steps = (prefix + "mma-stage-steps").str(),
              stagesName = (prefix + "mma-stages").str();
  if (blockRows != 64 && blockRows != 128)
    return rows + ": expected 64 or 128, found " + std::to_string(blockRows);
  if (blockCols != 64 && blockCols != 128 && blockCols != 256)
    return cols + ": expected 64, 128 or 256, found " +
           std::to_string(blockCols);
  if (blockCols != 64 && !wgmma)
    return cols + "=" + std::to_string(blockCols) + " needs " + prefix.str() +
           "wgmma";
  if (tma && !wgmma)
    return prefix.str() + "tma needs " + prefix.str() + "wgmma";
  if (tmaProducer && !tma)
    return prefix.str() + "tma-producer needs " + prefix.str() + "tma";
  if (stageSteps != 32 && stageSteps != 64)
    return steps + ": expected 32 or 64, found " + std::to_string(stageSteps);
  if (stages == 1 || stages < 0)
    return stagesName + ": expected 2 or more (0: as many as 48 KiB hold), "
                        "found " + std::to_string(stages);
  MmaOptions options;
  options.blockRows = blockRows;
  options.blockCols = blockCols;
  options.stageSteps = stageSteps;
  options.wgmma = wgmma;
  options.tma = tma;
  options.tmaProducer = tmaProducer;
  options.stages = stages;
  int64_t bytes = BlockMmaTiles::sharedBytes(options, stages);
  if (stages && bytes > sharedLimit)
    return stagesName + "=" + std::to_string(stages) + ": the tiles need " +
           std::to_string(bytes / 1024) + " KiB of shared memory, the GPU " +
           "gives a block at most " + std::to_string(sharedLimit / 1024) +
           " KiB";
  if (!BlockMmaTiles::stagesFor(options))
    return steps + "=" + std::to_string(stageSteps) + " with " + rows + "=" +
           std::to_string(blockRows) +
           (blockCols == 64
                ? ""
                : " and " + cols + "=" + std::to_string(blockCols)) +
           ": two stages need more than 48 KiB of shared memory";
  return {};
}
