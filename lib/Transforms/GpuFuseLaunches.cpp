//===- GpuFuseLaunches.cpp - Independent launches as one kernel -----------===//
//
// A decode step launches hundreds of kernels of a few microseconds; the
// q, k and v projections (or the rotations of q and k) are independent
// launches one after the other. This pass makes such neighbours one launch
// whose first blocks run the first kernel and the rest the second.
//
//===----------------------------------------------------------------------===//

#include "llmc/Transforms/Passes.h"

#include "GpuReductions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace llmc {
#define GEN_PASS_DEF_GPUFUSELAUNCHES
#include "llmc/Transforms/Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

/// Host code that may move above a launch: it touches no memory (index
/// arithmetic, views) or only allocates.
bool isMovable(Operation *op) {
  return isMemoryEffectFree(op) || isa<memref::AllocOp>(op);
}

/// The first `OpT` after `op` in its block with only movable host code
/// between them, or null.
template <typename OpT> OpT nextAcrossMovable(Operation *op) {
  for (Operation *next = op->getNextNode(); next; next = next->getNextNode()) {
    if (auto found = dyn_cast<OpT>(next))
      return found;
    if (!isMovable(next))
      return nullptr;
  }
  return nullptr;
}

/// Moves the ops strictly between `first` and `second` (found by
/// nextAcrossMovable) above `first`.
void hoistBetween(Operation *first, Operation *second) {
  while (first->getNextNode() != second)
    first->getNextNode()->moveBefore(first);
}

/// The buffer behind a view: an allocation or a block argument.
Value rootOf(Value memref) {
  while (Operation *def = memref.getDefiningOp()) {
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      break;
    memref = view.getViewSource();
  }
  return memref;
}

struct Access {
  Value view; // what the launch accesses
  Value root; // the buffer behind it
  bool write;
};

/// PTX that touches no buffer of the program: the kernel's wait for the
/// kernel launched before it and its signal to the next (programmatic
/// dependent launch), and L2 prefetches (hints).
bool isOrderingOrHint(Operation *op) {
  auto ptx = dyn_cast<LLVM::InlineAsmOp>(op);
  return ptx && llvm::is_contained({"griddepcontrol.wait;",
                                    "griddepcontrol.launch_dependents;",
                                    "prefetch.global.L2 [$0];"},
                                   ptx.getAsmString());
}

/// The buffers from outside `launch` that it reads and writes, or nothing
/// when some access cannot be told (an op with unknown effects).
std::optional<SmallVector<Access>> accessesOf(gpu::LaunchOp launch) {
  SmallVector<Access> accesses;
  Region &body = launch.getBody();
  WalkResult walked = body.walk([&](Operation *op) {
    // A barrier orders the block's own threads, an alignment is a promise;
    // nested ops are visited.
    if (isa<gpu::BarrierOp, memref::AssumeAlignmentOp>(op) ||
        isOrderingOrHint(op) ||
        op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    auto interface = dyn_cast<MemoryEffectOpInterface>(op);
    if (!interface)
      return WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> effects;
    interface.getEffects(effects);
    for (const MemoryEffects::EffectInstance &effect : effects) {
      Value value = effect.getValue();
      if (!value)
        return WalkResult::interrupt();
      Value root = rootOf(value);
      // Shared memory and buffers made inside are the launch's own.
      if (body.isAncestor(root.getParentRegion()))
        continue;
      if (isa<MemoryEffects::Read>(effect.getEffect()))
        accesses.push_back({value, root, false});
      else if (isa<MemoryEffects::Write>(effect.getEffect()))
        accesses.push_back({value, root, true});
    }
    return WalkResult::advance();
  });
  if (walked.wasInterrupted())
    return std::nullopt;
  return accesses;
}

/// Whether two buffers may overlap: the same one, or neither a distinct
/// allocation of this function (arguments may alias each other, unless
/// their element types differ: llmc's programs never view one allocation
/// with two element types, so the KV cache is not the positions).
bool mayAlias(Value a, Value b) {
  if (a == b)
    return true;
  auto local = [](Value v) {
    return v.getDefiningOp<memref::AllocOp>() ||
           v.getDefiningOp<memref::AllocaOp>();
  };
  auto element = [](Value v) {
    return cast<MemRefType>(v.getType()).getElementType();
  };
  return !local(a) && !local(b) && element(a) == element(b);
}

/// The subview of `root` through which `view` reaches it, if any.
memref::SubViewOp subviewOf(Value view, Value root) {
  memref::SubViewOp nearest;
  for (Value v = view; v != root;) {
    Operation *def = v.getDefiningOp();
    auto like = def ? dyn_cast<ViewLikeOpInterface>(def) : nullptr;
    if (!like)
      return nullptr;
    if (auto subview = dyn_cast<memref::SubViewOp>(def))
      nearest = subview;
    v = like.getViewSource();
  }
  return nearest && nearest.getSource() == root ? nearest : nullptr;
}

/// Whether two views of `root` cover disjoint elements: subviews of it
/// whose static ranges are apart in some dimension (the KV cache's keys at
/// [0, layer, ...] and values at [1, layer, ...]).
bool disjoint(Value a, Value b, Value root) {
  memref::SubViewOp x = subviewOf(a, root), y = subviewOf(b, root);
  if (!x || !y)
    return false;
  auto end = [](memref::SubViewOp s, unsigned d) {
    return s.getStaticOffsets()[d] +
           (s.getStaticSizes()[d] - 1) * s.getStaticStrides()[d] + 1;
  };
  for (unsigned d = 0; d < x.getStaticOffsets().size(); ++d) {
    auto known = [&](memref::SubViewOp s) {
      return !ShapedType::isDynamic(s.getStaticOffsets()[d]) &&
             !ShapedType::isDynamic(s.getStaticSizes()[d]) &&
             !ShapedType::isDynamic(s.getStaticStrides()[d]);
    };
    if (known(x) && known(y) &&
        (end(x, d) <= y.getStaticOffsets()[d] ||
         end(y, d) <= x.getStaticOffsets()[d]))
      return true;
  }
  return false;
}

/// Whether `second` may run beside `first`: neither writes what the other
/// reads or writes.
bool independent(gpu::LaunchOp first, gpu::LaunchOp second) {
  std::optional<SmallVector<Access>> a = accessesOf(first);
  std::optional<SmallVector<Access>> b = accessesOf(second);
  if (!a || !b)
    return false;
  for (const Access &x : *a)
    for (const Access &y : *b)
      if ((x.write || y.write) && mayAlias(x.root, y.root) &&
          !(x.root == y.root && disjoint(x.view, y.view, x.root)))
        return false;
  return true;
}

/// Threads per block of a launch with a static block, else nothing.
std::optional<int64_t> threadsOf(gpu::LaunchOp launch) {
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  int64_t threads = 1;
  for (Value size : {block.x, block.y, block.z}) {
    std::optional<int64_t> value = getConstantIntValue(size);
    if (!value)
      return std::nullopt;
    threads *= *value;
  }
  return threads;
}

int64_t sharedBytesOf(gpu::LaunchOp launch) {
  int64_t bytes = 0;
  for (BlockArgument buffer : launch.getWorkgroupAttributions()) {
    auto type = cast<MemRefType>(buffer.getType());
    bytes += type.getNumElements() * type.getElementTypeBitWidth() / 8;
  }
  return bytes;
}

/// Launches this pass can put together: synchronous, one-block bodies, a
/// static block of the same thread count, shared memory within the limit.
bool canFuse(gpu::LaunchOp first, gpu::LaunchOp second) {
  for (gpu::LaunchOp launch : {first, second})
    if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
        launch.getDynamicSharedMemorySize() || launch.hasClusterSize() ||
        !launch.getPrivateAttributions().empty() ||
        !launch.getBody().hasOneBlock() || !threadsOf(launch))
      return false;
  return *threadsOf(first) == *threadsOf(second) &&
         sharedBytesOf(first) + sharedBytesOf(second) <=
             llmc::kStaticSharedBytes;
}

/// Clones `launch`'s body at `b` for the fused launch's block `block`
/// (counted from the first of `launch`'s blocks) and linear thread
/// `thread`; `shared` are its workgroup buffers in the fused launch.
void cloneBody(OpBuilder &b, gpu::LaunchOp launch, Value block, Value thread,
               ValueRange shared) {
  Location loc = launch.getLoc();
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 size = launch.getBlockSizeOperandValues();
  auto div = [&](Value x, Value y) -> Value {
    return b.create<arith::DivUIOp>(loc, x, y);
  };
  auto rem = [&](Value x, Value y) -> Value {
    return b.create<arith::RemUIOp>(loc, x, y);
  };
  // Ids from linear ones, x fastest: the same warps as the launch's own.
  auto split = [&](Value linear, gpu::KernelDim3 extent) {
    Value xy = b.create<arith::MulIOp>(loc, extent.x, extent.y);
    return gpu::KernelDim3{rem(linear, extent.x),
                           rem(div(linear, extent.x), extent.y),
                           div(linear, xy)};
  };
  gpu::KernelDim3 blockIds = split(block, grid);
  gpu::KernelDim3 threadIds = split(thread, size);
  IRMapping map;
  auto mapDim3 = [&](gpu::KernelDim3 from, gpu::KernelDim3 to) {
    map.map(from.x, to.x);
    map.map(from.y, to.y);
    map.map(from.z, to.z);
  };
  mapDim3(launch.getBlockIds(), blockIds);
  mapDim3(launch.getThreadIds(), threadIds);
  mapDim3(launch.getGridSize(), grid);
  mapDim3(launch.getBlockSize(), size);
  for (auto [from, to] : llvm::zip(launch.getWorkgroupAttributions(), shared))
    map.map(from, to);
  Block &body = launch.getBody().front();
  SmallVector<Operation *> cloned;
  for (Operation &op : body.without_terminator())
    cloned.push_back(b.clone(op, map));
  // Ids read through ops rather than the region's arguments.
  auto pick = [](gpu::KernelDim3 dims, gpu::Dimension d) {
    return d == gpu::Dimension::x   ? dims.x
           : d == gpu::Dimension::y ? dims.y
                                    : dims.z;
  };
  for (Operation *root : cloned)
    root->walk([&](Operation *op) {
      Value replacement;
      if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
        replacement = pick(threadIds, id.getDimension());
      else if (auto id = dyn_cast<gpu::BlockIdOp>(op))
        replacement = pick(blockIds, id.getDimension());
      else if (auto dim = dyn_cast<gpu::BlockDimOp>(op))
        replacement = pick(size, dim.getDimension());
      else if (auto dim = dyn_cast<gpu::GridDimOp>(op))
        replacement = pick(grid, dim.getDimension());
      if (replacement) {
        op->getResult(0).replaceAllUsesWith(replacement);
        op->erase();
      }
    });
}

/// One launch doing `first`'s blocks, then `second`'s; replaces both. Where
/// one of them waits for the kernel before itself, the other's blocks wait
/// first thing (llmc-gpu-dependent-launches adds no wait to a kernel that
/// has one).
void fuse(gpu::LaunchOp first, gpu::LaunchOp second) {
  OpBuilder b(first);
  Location loc = first.getLoc();
  auto blocksOf = [&](gpu::LaunchOp launch) -> Value {
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    Value xy = b.create<arith::MulIOp>(loc, grid.x, grid.y);
    return b.create<arith::MulIOp>(loc, xy, grid.z);
  };
  Value firstBlocks = blocksOf(first);
  Value blocks = b.create<arith::AddIOp>(loc, firstBlocks, blocksOf(second));
  Value one = b.create<arith::ConstantIndexOp>(loc, 1);
  Value threads = b.create<arith::ConstantIndexOp>(loc, *threadsOf(first));
  SmallVector<Type> shared;
  for (gpu::LaunchOp launch : {first, second})
    for (BlockArgument buffer : launch.getWorkgroupAttributions())
      shared.push_back(buffer.getType());
  auto fused = b.create<gpu::LaunchOp>(
      loc, blocks, one, one, threads, one, one, /*dynamicSharedMemorySize=*/
      nullptr, /*asyncTokenType=*/nullptr, ValueRange(), shared);
  Block &body = fused.getBody().front();
  b.setInsertionPointToEnd(&body);
  ArrayRef<BlockArgument> buffers = fused.getWorkgroupAttributions();
  size_t firstShared = first.getNumWorkgroupAttributions();
  Value block = fused.getBlockIds().x, thread = fused.getThreadIds().x;
  Value isFirst = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, block,
                                          firstBlocks);
  // A part that waits for the kernel before itself: one of
  // llmc-gpu-warp-reductions' prefetch-weights.
  bool firstWaits = llmc::gpu::waitsForPredecessor(first),
       secondWaits = llmc::gpu::waitsForPredecessor(second);
  auto waitIf = [&](OpBuilder &nb, bool needed) {
    if (needed)
      llmc::gpu::waitForPredecessor(nb, loc);
  };
  b.create<scf::IfOp>(
      loc, isFirst,
      [&](OpBuilder &nb, Location) {
        waitIf(nb, secondWaits && !firstWaits);
        cloneBody(nb, first, block, thread, buffers.take_front(firstShared));
        nb.create<scf::YieldOp>(loc);
      },
      [&](OpBuilder &nb, Location) {
        waitIf(nb, firstWaits && !secondWaits);
        Value rest = nb.create<arith::SubIOp>(loc, block, firstBlocks);
        cloneBody(nb, second, rest, thread, buffers.drop_front(firstShared));
        nb.create<scf::YieldOp>(loc);
      });
  b.create<gpu::TerminatorOp>(loc);
  first.erase();
  second.erase();
}

/// Two scf.if without results on one condition become one, where the host
/// code between them may move above the first.
bool mergeIfs(Block &block) {
  auto append = [](Region &to, Region &from) {
    Block &target = to.front();
    target.getOperations().splice(
        target.getTerminator()->getIterator(), from.front().getOperations(),
        from.front().begin(), from.front().getTerminator()->getIterator());
  };
  for (Operation &op : block) {
    auto first = dyn_cast<scf::IfOp>(op);
    if (!first || first.getNumResults() != 0)
      continue;
    auto second = nextAcrossMovable<scf::IfOp>(first);
    if (!second || second.getNumResults() != 0 ||
        second.getCondition() != first.getCondition())
      continue;
    hoistBetween(first, second);
    append(first.getThenRegion(), second.getThenRegion());
    if (!second.getElseRegion().empty()) {
      if (first.getElseRegion().empty()) {
        OpBuilder b(first);
        Block *elseBlock = b.createBlock(&first.getElseRegion());
        b.setInsertionPointToEnd(elseBlock);
        b.create<scf::YieldOp>(first.getLoc());
      }
      append(first.getElseRegion(), second.getElseRegion());
    }
    second.erase();
    return true;
  }
  return false;
}

/// Fuses the first pair of neighbouring launches in `block` that may be.
bool fuseLaunches(Block &block) {
  for (Operation &op : block) {
    auto first = dyn_cast<gpu::LaunchOp>(op);
    if (!first)
      continue;
    auto second = nextAcrossMovable<gpu::LaunchOp>(first);
    if (!second || !canFuse(first, second) || !independent(first, second))
      continue;
    hoistBetween(first, second);
    fuse(first, second);
    return true;
  }
  return false;
}

struct GpuFuseLaunchesPass
    : llmc::impl::GpuFuseLaunchesBase<GpuFuseLaunchesPass> {
  void runOnOperation() override {
    // Host blocks only: a launch's body is not host code.
    auto hostBlocks = [&] {
      SmallVector<Block *> blocks;
      getOperation()->walk([&](Block *block) {
        if (!block->getParentOp()->getParentOfType<gpu::LaunchOp>() &&
            !isa<gpu::LaunchOp>(block->getParentOp()))
          blocks.push_back(block);
      });
      return blocks;
    };
    // Each change may erase blocks: the walk starts over.
    auto untilDone = [&](function_ref<bool(Block &)> step) {
      for (bool changed = true; changed;) {
        changed = false;
        for (Block *block : hostBlocks())
          if (step(*block)) {
            changed = true;
            break;
          }
      }
    };
    untilDone(mergeIfs);
    untilDone(fuseLaunches);
  }
};

} // namespace
