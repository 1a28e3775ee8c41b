//===- GpuReductions.h - Shared by the GPU reduction rewrites ---*- C++ -*-===//
//
// What llmc-gpu-warp-reductions' two halves share: the reductions it takes,
// where their totals go (GpuWarpReductions.cpp), and the contractions that
// run on tensor cores (GpuTensorCores.cpp). Internal to lib/Transforms.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_LIB_TRANSFORMS_GPUREDUCTIONS_H
#define LLMC_LIB_TRANSFORMS_GPUREDUCTIONS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <optional>

namespace llmc::gpu {

using mlir::ArrayRef;
using mlir::Location;
using mlir::OpBuilder;
using mlir::Operation;
using mlir::OpOperand;
using mlir::SmallVector;
using mlir::Value;
namespace linalg = mlir::linalg;

constexpr int64_t kWarp = 32;
/// Multiprocessors assumed where the GPU does not say (an H100's and an
/// H200's; an A100 has 108): a grid of fewer blocks leaves some idle.
constexpr int64_t kMultiprocessors = 132;
/// The most multiprocessors split k plans for (its counters' slots).
constexpr int64_t kMaxMultiprocessors = 512;
/// Bytes a lane loads at once where it can: NVPTX's widest load.
constexpr int64_t kVectorBytes = 16;

/// The op that folds the body's value into the output, when the body is
/// `out <combiner> f(inputs)` with the output used nowhere else.
Operation *combinerOf(linalg::GenericOp op);

/// Whether `op` is a reduction the pass rewrites: buffers, one output of a
/// 16- or 32-bit float, the last loop its only reduction.
bool isWarpReduction(linalg::GenericOp op);

/// Whether `operand`'s last (innermost) index is loop `loop` of `op`: the
/// loop's consecutive iterations read neighbouring elements of a row.
bool lastIndexIs(linalg::GenericOp op, OpOperand &operand, unsigned loop);

/// The indices of `op`'s operand `operand` at loop indices `dims`.
SmallVector<Value> indicesAt(OpBuilder &b, Location loc, linalg::GenericOp op,
                             OpOperand &operand, mlir::ValueRange dims);

/// The element of `op`'s operand `operand` at loop indices `dims` (the
/// operand itself when it is a scalar).
Value loadAt(OpBuilder &b, Location loc, linalg::GenericOp op,
             OpOperand &operand, mlir::ValueRange dims);

/// What `value` views: its allocation, or a function argument.
Value rootOf(Value value);

/// Whether `op` may write into one of `roots` (or into a function
/// argument, which may alias them): anything but pure ops, allocations
/// and destination-style ops on other buffers.
bool mayWrite(Operation *op, ArrayRef<Value> roots);

/// The one elementwise generic that writes `buffer` before `reader` (in
/// its block): `buffer`'s users are it, `reader` (`readerUser`: the op
/// among the users that reads it, the same or a view of it) and
/// deallocations; all its loops parallel, `buffer` its only output (an
/// identity map, not read) and not among its inputs. Null otherwise.
linalg::GenericOp elementwiseWriter(Value buffer, Operation *readerUser,
                                    Operation *reader);

/// What the body of `op` (one output) yields at loop indices `ivs`: its
/// inputs loaded there, linalg.index the indices, its ops cloned.
Value yieldedAt(OpBuilder &b, Location loc, linalg::GenericOp op,
                mlir::ValueRange ivs);

/// The loop extents of `op`, as index values.
SmallVector<Value> loopSizes(OpBuilder &b, Location loc, linalg::GenericOp op);

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
  /// A reduction over the same loops before `op` whose output only the
  /// consumer reads (SwiGLU's gate beside its up projection): the same
  /// warps compute its totals, which go to the consumer in place of its
  /// buffer (siblingReduction in GpuWarpReductions.cpp).
  linalg::GenericOp sibling;
  linalg::FillOp siblingFill;

  /// Combines `total` with the output's start and stores it (or runs the
  /// fused consumer on it, with `siblingTotal` the sibling's total) at the
  /// output element of parallel indices `outer`.
  void emit(OpBuilder &b, Location loc, Value total, ArrayRef<Value> outer,
            Value siblingTotal = {});
  /// emit() of several totals (no sibling), every element's loads (its
  /// start, the consumer's inputs) before any store: neighbouring
  /// elements' accesses then pair up (LLVM's load/store vectorizer does not
  /// move a load above a store that may alias it).
  void emitAll(OpBuilder &b, Location loc, ArrayRef<Value> totals,
               ArrayRef<SmallVector<Value>> outers);

private:
  /// An element on its way: its indices (the output's, or with a consumer
  /// the consumer's loop indices) and what it stores (the combined total,
  /// or the consumer's body mapped onto it).
  struct Pending {
    SmallVector<Value> dims;
    Value result;
    mlir::IRMapping mapping;
  };
  /// emit()'s loads and arithmetic for one element.
  Pending compute(OpBuilder &b, Location loc, Value total,
                  ArrayRef<Value> outer, Value siblingTotal);
  /// emit()'s stores for `element`.
  void store(OpBuilder &b, Location loc, Pending &element);
};

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
  mlir::Type element;              // of x and w: f16 or bf16
};

/// A tensor-core fragment of 16-bit pairs: vector<Nx2xT> from N (first,
/// second), T their type (f16 or bf16).
Value packFragment(OpBuilder &b, Location loc,
                   ArrayRef<std::pair<Value, Value>> halves);

/// `count` (2 or 4) 8 x 8 matrices of the 16-bit shared-memory `tile` by
/// ldmatrix, lane l giving the address of row l % 8 of matrix l / 8 at
/// `indices`, transposed or not: vector<count x 2>, an A fragment when
/// count is 4.
Value loadMatrices(OpBuilder &b, Location loc, Value tile,
                   mlir::ValueRange indices, int64_t count, bool transpose);

/// Where chunk `chunk` of 8 elements (16 bytes) of a tile goes, rows of
/// `rowChunks` chunks: 8 consecutive chunks are the 8 rows of a group at
/// the same columns (row 8 (chunk / 8 / rowChunks) + chunk % 8, first column
/// 8 (chunk / 8 % rowChunks)), so that the 8 threads whose 16-byte stores
/// shared memory serves at once write 8 rows (padded rows fall in
/// different banks; wgmma's core matrices are 128 consecutive bytes), where
/// one row's chunks side by side hit the same banks 2 to 8 times
/// (FAKE_CUDA_BANKS); a warp still reads 8 rows' consecutive bytes from
/// global memory. {row, first column}.
std::pair<Value, Value> tileChunkPlace(OpBuilder &b, Location loc, Value chunk,
                                       int64_t rowChunks);

/// acc + a b on tensor cores (mma.sync m16n8k16, f32 accumulation): A a
/// vector<4x2xT>, B vector<2x2xT>, acc vector<2x2xf32>; T f16 (nvgpu's
/// mma.sync) or bf16 (NVVM's intrinsic on the fragments' 32-bit registers:
/// MLIR 19's mma ops take no bf16 at this shape).
mlir::Value mmaSync(mlir::OpBuilder &b, mlir::Location loc, mlir::Value a,
                    mlir::Value bFragment, mlir::Value acc);

/// wgmma's matrix descriptor (PTX ISA) of an operand at shared byte
/// address `address` (i64): the address / 16 in bits 0-13, the leading
/// byte offset (between core matrices along k) / 16 in bits 16-29, the
/// stride byte offset (between groups of 8 rows) / 16 in bits 32-45,
/// `swizzle` in bits 62-63 (0 none, 1 128 bytes, 2 64 bytes).
mlir::Value wgmmaDescriptor(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value address, int64_t leadingBytes,
                            int64_t strideBytes, int64_t swizzle);

/// fence.proxy.async.shared::cta: the thread's writes to shared memory
/// through the generic proxy (stores, cp.async once waited for) ordered
/// before the async proxy's reads (wgmma's operands); other threads see
/// them after a barrier that follows.
void asyncProxyFence(mlir::OpBuilder &b, mlir::Location loc);

/// The f32 accumulators of wgmma m64nNk16: a struct of N / 2 a thread.
mlir::Type wgmmaAccumulatorType(mlir::MLIRContext *context, int64_t n);

/// acc + A B by one wgmma.mma_async m64nNk16 (f32 accumulators, of
/// wgmmaAccumulatorType), A (64 x 16) and B (N x 16) of `element` (f16 or
/// bf16), both k-major in shared memory at descriptors `a` and
/// `bDescriptor`.
mlir::Value wgmmaMultiply(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value acc, mlir::Value a,
                          mlir::Value bDescriptor, int64_t n,
                          mlir::Type element);

/// acc + A B by one wgmma.mma_async m64nNk16 with A in registers: `a` the
/// thread's mma.sync-shaped A fragment (vector<4x2xT>, T f16 or bf16: rows
/// g and g + 8 of its warp's 16 of the 64, as mma.sync.m16n8k16's A), B
/// (16 x N) in shared memory at `bDescriptor`, k-major, or with
/// `transposeB` N-major (a core matrix's 8 rows are 8 k of 8 contiguous n;
/// the descriptor's leading byte offset then steps k by 8, its stride n).
/// Inline PTX: MLIR 19's NVVM op takes A's descriptor only.
mlir::Value wgmmaMultiplyRegisters(mlir::OpBuilder &b, mlir::Location loc,
                                   mlir::Value acc, mlir::Value a,
                                   mlir::Value bDescriptor, int64_t n,
                                   bool transposeB);

/// The B fragments (vector<2x2>) of loadMatrices' result: its rows 0-1,
/// then 2-3.
SmallVector<Value> bFragments(OpBuilder &b, Location loc, Value matrices);

/// The contraction `op` is, when it can run on tensor cores.
std::optional<MmaContraction> matchMma(linalg::GenericOp op);

/// The row count of `mma` (the product of its row loops' extents).
Value rowCount(OpBuilder &b, Location loc, const MmaContraction &mma,
               ArrayRef<Value> sizes);

/// How the block tiles run (llmc-gpu-warp-reductions' options).
struct MmaOptions {
  /// Tiles into shared memory with cp.async where the operands allow.
  bool asyncCopies = true;
  /// Fragments from shared memory with ldmatrix (else 32-bit loads).
  bool loadMatrices = true;
  /// Rows of a block's tile: 64 (8 warps of 32 x 16) or 128 (32 x 32).
  int64_t blockRows = 64;
  /// Steps of k per stage of the cp.async pipeline: 32 or 64.
  int64_t stageSteps = 32;
  /// Block tiles that cp.async fills on wgmma.mma_async (sm_90a): each of
  /// the block's two warpgroups multiplies its half from shared memory.
  bool wgmma = false;
  /// Columns of a block's tile where they divide n: 64, or 128 (wgmma).
  int64_t blockCols = 64;
  /// Stages of the cp.async pipeline; 0: as many as 48 KiB hold, up to 4.
  int64_t stages = 0;
  /// With wgmma and 3 stages or more: a tile's wgmma group stays in flight
  /// until the next tile's is issued (the copies run a stage less ahead).
  bool wgmmaInFlight = true;
  /// Where a projection's tiles are fewer than the multiprocessors (a
  /// short prompt, a batch of decode rows), its k is split across blocks
  /// whose partial totals the last block of each tile adds up.
  bool splitK = false;
  /// With wgmma: the tiles copied by TMA (cp.async.bulk.tensor) into
  /// swizzled stages, one thread issuing them, an mbarrier per stage.
  bool tma = false;
  /// With tma: a ninth warp issues the copies; the eight that multiply
  /// release each stage by an mbarrier (no block barrier per tile).
  bool tmaProducer = false;
};

/// Makes a zero device global of `slots` i32 arrival counters for one
/// kernel (see lastToArrive).
using CountersMaker = llvm::function_ref<mlir::memref::GlobalOp(int64_t slots)>;

/// A zero device global of `slots` i32 arrival counters (see lastToArrive)
/// at the start of the symbol table's op, named `name` or, where that is
/// taken, a name made from it.
mlir::memref::GlobalOp addCounters(mlir::SymbolTable &symbols,
                                   llvm::StringRef name, int64_t slots);

/// A fence over the GPU's memory, `__threadfence()` (NVPTX in LLVM 19
/// selects no LLVM fence instruction).
void globalFence(OpBuilder &b, Location loc);

/// On a root scf.parallel: the threads of its blocks (an i64), where they
/// are more than llmc-gpu-map-parallel-loops' `threads` (a tensor-core
/// kernel's producer warp).
constexpr llvm::StringLiteral kBlockThreadsAttr = "llmc.block_threads";

/// Inline PTX `text` with side effects, of `operands` under `constraints`.
void inlinePtx(OpBuilder &b, Location loc, llvm::StringRef text,
               mlir::ValueRange operands = {},
               llvm::StringRef constraints = "");

/// `griddepcontrol.wait` (programmatic dependent launch): the threads wait
/// until the kernel launched before has completed and its writes are
/// visible; the memory clobber keeps every load and store after it.
void waitForPredecessor(OpBuilder &b, Location loc);

/// Whether `op` holds a waitForPredecessor.
bool waitsForPredecessor(mlir::Operation *op);

/// Whether this block is the last of `arrivals` blocks to arrive at counter
/// `slot` of `counters` (i1, the same in every thread): every thread's
/// stores so far, a barrier, then thread `leader` fences and counts (the
/// pattern of a cooperative grid sync) and the last one resets the counter
/// for the next launch; a barrier. The last block must fence before it
/// reads what the others stored.
Value lastToArrive(OpBuilder &b, Location loc, mlir::memref::GlobalOp counters,
                   Value slot, Value arrivals, Value leader);

/// `op` as `mma` on tensor cores, its totals into `sink`: block tiles in
/// shared memory where 64 divides n and k (or they are dynamic), as
/// `options` say (a split k's arrival counters from `counters`); else warps
/// of 16 x 16 outputs.
void buildMmaContraction(OpBuilder &builder, Location loc, linalg::GenericOp op,
                         const MmaContraction &mma, ResultSink &sink,
                         const MmaOptions &options, CountersMaker counters);

} // namespace llmc::gpu

#endif // LLMC_LIB_TRANSFORMS_GPUREDUCTIONS_H
