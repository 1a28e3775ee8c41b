//===- GpuMapping.cpp - Parallel loops to kernels and device memory -------===//
//
// The GPU half of code generation before NVVM: parallel loops tiled and
// mapped to blocks and threads, host code that reaches device memory only
// through copies, the outlined kernels gathered in one module, and on sm_90
// kernels that may launch while the kernel before them finishes.
//
//===----------------------------------------------------------------------===//

#include "llmc/Transforms/Passes.h"

#include "GpuReductions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"

namespace llmc {
#define GEN_PASS_DEF_GPUMAPPARALLELLOOPS
#define GEN_PASS_DEF_GPUPREPARELAUNCHES
#define GEN_PASS_DEF_GPUMERGEKERNELMODULES
#define GEN_PASS_DEF_GPUDEPENDENTLAUNCHES
#define GEN_PASS_DEF_GPUEXTERNDYNAMICSHARED
#include "llmc/Transforms/Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

/// Iterations of dimension `d` of `loop` when they are known.
std::optional<int64_t> staticTripCount(scf::ParallelOp loop, unsigned d) {
  std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound()[d]);
  std::optional<int64_t> upper = getConstantIntValue(loop.getUpperBound()[d]);
  std::optional<int64_t> step = getConstantIntValue(loop.getStep()[d]);
  if (!lower || !upper || !step || *step <= 0)
    return std::nullopt;
  return std::max<int64_t>(0, (*upper - *lower + *step - 1) / *step);
}

/// Tile sizes that give up to `threads` iterations to a block, innermost
/// dimensions first, at most three dimensions tiled.
SmallVector<int64_t> threadTileSizes(scf::ParallelOp loop, int64_t threads) {
  unsigned rank = loop.getNumLoops();
  SmallVector<int64_t> sizes(rank, 1);
  int64_t budget = threads;
  int tiled = 0;
  for (int d = rank - 1; d >= 0 && budget > 1 && tiled < 3; --d) {
    std::optional<int64_t> trips = staticTripCount(loop, d);
    if (trips && *trips <= 1)
      continue;
    int64_t size = trips ? std::min(*trips, budget) : budget;
    sizes[d] = size;
    budget /= size;
    ++tiled;
  }
  return sizes;
}

/// A loop of more than three dimensions with its outer dimensions collapsed
/// into one, so that every iteration has a block or thread of its own: the
/// grid has three dimensions, and any further one would run sequentially
/// in each thread.
scf::ParallelOp collapseToThreeDimensions(scf::ParallelOp loop) {
  unsigned rank = loop.getNumLoops();
  if (rank <= 3)
    return loop;
  std::vector<unsigned> outer;
  for (unsigned d = 0; d + 2 < rank; ++d)
    outer.push_back(d);
  Block *block = loop->getBlock();
  Operation *before = loop->getPrevNode();
  IRRewriter rewriter(loop.getContext());
  collapseParallelLoops(rewriter, loop, {outer, {rank - 2}, {rank - 1}});
  // The new loop follows the bound computations made where the old one
  // was; those are folded so that static extents stay constants.
  SmallVector<Operation *> bounds;
  scf::ParallelOp collapsed;
  for (Operation *op = before ? before->getNextNode() : &block->front();
       op && !collapsed; op = op->getNextNode()) {
    collapsed = dyn_cast<scf::ParallelOp>(op);
    if (!collapsed)
      bounds.push_back(op);
  }
  assert(collapsed && "collapseParallelLoops made no loop");
  (void)applyOpPatternsAndFold(bounds, FrozenRewritePatternSet());
  return collapsed;
}

/// Maps dimensions of more than one iteration to the three `processors`
/// while they last, innermost first (or outermost first), the rest to
/// sequential loops.
void mapDimensions(scf::ParallelOp loop, ArrayRef<gpu::Processor> processors,
                   bool outermostFirst = false) {
  MLIRContext *context = loop.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, context);
  unsigned rank = loop.getNumLoops();
  SmallVector<gpu::ParallelLoopDimMappingAttr> mapping(
      rank, gpu::ParallelLoopDimMappingAttr::get(
                context, gpu::Processor::Sequential, identity, identity));
  SmallVector<unsigned> dims;
  for (int d = rank - 1; d >= 0; --d) {
    std::optional<int64_t> trips = staticTripCount(loop, d);
    if (!trips || *trips > 1)
      dims.push_back(d);
  }
  if (outermostFirst)
    std::reverse(dims.begin(), dims.end());
  for (size_t i = 0; i < dims.size() && i < processors.size(); ++i)
    mapping[dims[i]] = gpu::ParallelLoopDimMappingAttr::get(
        context, processors[i], identity, identity);
  // Cannot fail: every processor is used at most once.
  (void)gpu::setMappingAttr(loop, mapping);
}

struct GpuMapParallelLoopsPass
    : llmc::impl::GpuMapParallelLoopsBase<GpuMapParallelLoopsPass> {
  using GpuMapParallelLoopsBase::GpuMapParallelLoopsBase;

  void runOnOperation() override {
    if (threads < 1 || threads > 1024) {
      getOperation().emitError("llmc-gpu-map-parallel-loops: threads must be "
                               "in [1, 1024], found ")
          << static_cast<int64_t>(threads);
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> roots;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>() &&
          !loop->getParentOfType<gpu::LaunchOp>())
        roots.push_back(loop);
    });
    for (scf::ParallelOp loop : roots) {
      // Parallel loops nested in this one run inside each thread; walk()
      // visits them before the loop itself.
      SmallVector<scf::ParallelOp> nest;
      loop->walk([&](scf::ParallelOp inner) { nest.push_back(inner); });
      for (scf::ParallelOp inner : nest) {
        if (inner.getNumReductions() != 0) {
          inner.emitError("a parallel loop with reductions cannot be mapped "
                          "to the GPU");
          return signalPassFailure();
        }
        if (inner != loop)
          llmc::sequentializeParallelLoop(inner);
      }
      int64_t blockThreads = threads;
      if (auto attr = loop->getAttrOfType<IntegerAttr>(
              llmc::gpu::kBlockThreadsAttr))
        blockThreads = attr.getInt();
      loop = collapseToThreeDimensions(loop);
      auto [blocks, tile] = scf::tileParallelLoop(
          loop, threadTileSizes(loop, blockThreads), /*noMinMaxBounds=*/true);
      // Blocks: the outermost dimension (tokens, heads x tokens: the one
      // that grows with the input) on x, which takes 2^31 - 1 blocks; y and
      // z take 65535.
      mapDimensions(blocks,
                    {gpu::Processor::BlockX, gpu::Processor::BlockY,
                     gpu::Processor::BlockZ},
                    /*outermostFirst=*/true);
      mapDimensions(tile, {gpu::Processor::ThreadX, gpu::Processor::ThreadY,
                           gpu::Processor::ThreadZ});
    }
  }
};

/// The buffer a memref.load or memref.store accesses and its indices.
std::optional<std::pair<Value, ValueRange>> accessedElement(Operation *op) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return std::make_pair(load.getMemRef(), load.getIndices());
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return std::make_pair(store.getMemRef(), store.getIndices());
  return std::nullopt;
}

/// Host code reads and writes device memory one element at a time through
/// a stack slot.
void copyThroughStack(Operation *access) {
  auto [memref, indices] = *accessedElement(access);
  OpBuilder b(access);
  Location loc = access->getLoc();
  auto type = cast<MemRefType>(memref.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(indices.begin(), indices.end());
  SmallVector<OpFoldResult> ones(rank, b.getIndexAttr(1));
  auto elementType = cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
      {}, type, offsets, ones, ones));
  Value element = b.create<memref::SubViewOp>(loc, elementType, memref,
                                              offsets, ones, ones);
  Value slot =
      b.create<memref::AllocaOp>(loc, MemRefType::get({}, type.getElementType()));
  if (auto load = dyn_cast<memref::LoadOp>(access)) {
    b.create<gpu::MemcpyOp>(loc, TypeRange(), ValueRange(), slot, element);
    load.getResult().replaceAllUsesWith(
        b.create<memref::LoadOp>(loc, slot, ValueRange()));
  } else {
    auto store = cast<memref::StoreOp>(access);
    b.create<memref::StoreOp>(loc, store.getValueToStore(), slot,
                              ValueRange());
    b.create<gpu::MemcpyOp>(loc, TypeRange(), ValueRange(), element, slot);
  }
  access->erase();
}

/// Which buffers live on the device: memref values joined when one is a
/// view of the other or flows through a call, a class being on the device
/// when a kernel, the runtime (public functions) or the weights touch any
/// of its members. The rest is host bookkeeping (the deallocation pass's
/// alias checks).
class DeviceBuffers {
public:
  explicit DeviceBuffers(ModuleOp module) {
    SymbolTable symbols(module);
    module.walk([&](Operation *op) {
      if (auto view = dyn_cast<ViewLikeOpInterface>(op)) {
        join(view.getViewSource(), op->getResult(0));
      } else if (auto metadata = dyn_cast<memref::ExtractStridedMetadataOp>(op)) {
        join(metadata.getSource(), metadata.getBaseBuffer());
      } else if (auto call = dyn_cast<func::CallOp>(op)) {
        auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
        if (!callee || callee.isExternal())
          return;
        for (auto [operand, arg] :
             llvm::zip(call.getOperands(), callee.getArguments()))
          join(operand, arg);
        callee.walk([&](func::ReturnOp ret) {
          for (auto [result, returned] :
               llvm::zip(call.getResults(), ret.getOperands()))
            join(result, returned);
        });
      } else if (auto launch = dyn_cast<gpu::LaunchOp>(op)) {
        llvm::SetVector<Value> captured;
        getUsedValuesDefinedAbove(launch.getBody(), captured);
        for (Value value : captured)
          markDevice(value);
      } else if (auto func = dyn_cast<func::FuncOp>(op)) {
        if (!func.isPublic() || func.isExternal())
          return;
        for (Value arg : func.getArguments())
          markDevice(arg);
        func.walk([&](func::ReturnOp ret) {
          for (Value value : ret.getOperands())
            markDevice(value);
        });
      } else if (op->getName().getStringRef() == "llm.param_buffer") {
        markDevice(op->getResult(0));
      }
    });
    // The classes are complete: a class is on the device when one of its
    // members was seen there.
    for (const void *member : deviceMembers)
      device.insert(*classes.findLeader(member));
  }

  bool onDevice(Value value) const {
    if (!isa<MemRefType>(value.getType()))
      return false;
    auto leader = classes.findLeader(value.getAsOpaquePointer());
    return leader != classes.member_end() && device.contains(*leader);
  }

private:
  void join(Value a, Value b) {
    if (isa<MemRefType>(a.getType()) && isa<MemRefType>(b.getType()))
      classes.unionSets(a.getAsOpaquePointer(), b.getAsOpaquePointer());
  }
  void markDevice(Value value) {
    if (!isa<MemRefType>(value.getType()))
      return;
    classes.insert(value.getAsOpaquePointer());
    deviceMembers.push_back(value.getAsOpaquePointer());
  }

  llvm::EquivalenceClasses<const void *> classes;
  SmallVector<const void *> deviceMembers;
  /// Leaders of the classes on the device.
  llvm::DenseSet<const void *> device;
};

/// Shared memory (a block's warps combining their partial results, tensor
/// cores' tiles): the launch's workgroup buffers; beyond the 48 KiB a
/// kernel may declare, views of its dynamic shared memory (one buffer the
/// launch sizes, GPUs opt in up to 227 KiB) at 16-byte aligned offsets.
LogicalResult placeSharedBuffers(gpu::LaunchOp launch) {
  SmallVector<memref::AllocaOp> shared;
  launch.getBody().walk([&](memref::AllocaOp alloca) {
    if (gpu::GPUDialect::hasWorkgroupMemoryAddressSpace(alloca.getType()))
      shared.push_back(alloca);
  });
  int64_t bytes = 0;
  SmallVector<int64_t> offsets;
  for (memref::AllocaOp alloca : shared) {
    MemRefType type = alloca.getType();
    if (!type.hasStaticShape())
      return alloca.emitError("shared memory of dynamic size");
    offsets.push_back(bytes);
    bytes += llvm::alignTo(
        type.getNumElements() * type.getElementTypeBitWidth() / 8, 16);
  }
  if (bytes <= llmc::kStaticSharedBytes) {
    for (memref::AllocaOp alloca : shared) {
      BlockArgument buffer =
          launch.addWorkgroupAttribution(alloca.getType(), alloca.getLoc());
      alloca.replaceAllUsesWith(buffer);
      alloca.erase();
    }
    return success();
  }
  OpBuilder host(launch);
  launch.getDynamicSharedMemorySizeMutable().assign(
      host.create<arith::ConstantIntOp>(launch.getLoc(), bytes, 32));
  OpBuilder b = OpBuilder::atBlockBegin(&launch.getBody().front());
  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(),
                                              gpu::AddressSpace::Workgroup);
  Value base = b.create<gpu::DynamicSharedMemoryOp>(
      launch.getLoc(), MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                       MemRefLayoutAttrInterface(), workgroup));
  Value basePointer =
      b.create<memref::ExtractAlignedPointerAsIndexOp>(launch.getLoc(), base);
  for (auto [alloca, offset] : llvm::zip(shared, offsets)) {
    Value at = b.create<arith::ConstantIndexOp>(alloca.getLoc(), offset);
    // A view's address is the buffer's plus the offset; said here because
    // memref's expand-strided-metadata (LLVM 19) takes a view's aligned
    // pointer for its source's.
    Value pointer = b.create<arith::AddIOp>(alloca.getLoc(), basePointer, at);
    for (Operation *user : llvm::make_early_inc_range(alloca->getUsers())) {
      auto extract = dyn_cast<memref::ExtractAlignedPointerAsIndexOp>(user);
      if (!extract)
        continue;
      extract.replaceAllUsesWith(pointer);
      extract.erase();
    }
    alloca.replaceAllUsesWith(
        b.create<memref::ViewOp>(alloca.getLoc(), alloca.getType(), base, at,
                                 ValueRange{})
            .getResult());
    alloca.erase();
  }
  return success();
}

struct GpuPrepareLaunchesPass
    : llmc::impl::GpuPrepareLaunchesBase<GpuPrepareLaunchesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    module.walk([&](gpu::LaunchOp launch) {
      if (failed(placeSharedBuffers(launch)))
        return signalPassFailure();
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(launch.getBody(), captured);
      OpBuilder b = OpBuilder::atBlockBegin(&launch.getBody().front());
      for (Value value : captured)
        if (auto global = value.getDefiningOp<memref::GetGlobalOp>()) {
          Value inside = b.clone(*global)->getResult(0);
          replaceAllUsesInRegionWith(value, inside, launch.getBody());
        }
    });

    WalkResult unmapped = module.walk([&](scf::ParallelOp loop) {
      if (loop->getParentOfType<gpu::LaunchOp>())
        return WalkResult::advance();
      loop.emitError("this loop nest was not mapped to the GPU "
                     "(convert-parallel-loops-to-gpu left it on the host)");
      return WalkResult::interrupt();
    });
    if (unmapped.wasInterrupted())
      return signalPassFailure();

    DeviceBuffers buffers(module);
    // Host bookkeeping lives on the stack.
    SmallVector<memref::AllocOp> hostAllocs;
    module.walk([&](memref::AllocOp alloc) {
      if (!buffers.onDevice(alloc))
        hostAllocs.push_back(alloc);
    });
    for (memref::AllocOp alloc : hostAllocs) {
      for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
        if (isa<memref::DeallocOp>(user))
          user->erase();
      OpBuilder b(alloc);
      auto alloca = b.create<memref::AllocaOp>(
          alloc.getLoc(), alloc.getType(), alloc.getDynamicSizes(),
          alloc.getSymbolOperands(), alloc.getAlignmentAttr());
      alloc.replaceAllUsesWith(alloca.getResult());
      alloc.erase();
    }

    SmallVector<Operation *> hostAccesses;
    module.walk([&](Operation *op) {
      std::optional<std::pair<Value, ValueRange>> access = accessedElement(op);
      if (access && !op->getParentOfType<gpu::LaunchOp>() &&
          buffers.onDevice(access->first))
        hostAccesses.push_back(op);
    });
    for (Operation *op : hostAccesses)
      copyThroughStack(op);
  }
};

constexpr llvm::StringLiteral kKernelModule = "llmc_kernels";

struct GpuDependentLaunchesPass
    : llmc::impl::GpuDependentLaunchesBase<GpuDependentLaunchesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool any = false;
    module.walk([&](gpu::GPUFuncOp kernel) {
      if (!kernel.isKernel() || kernel.getBody().empty())
        return;
      // A kernel that waits where it needs to (after prefetching weights:
      // llmc-gpu-warp-reductions' prefetch-weights) keeps its waits.
      any = true;
      if (llmc::gpu::waitsForPredecessor(kernel))
        return;
      OpBuilder b = OpBuilder::atBlockBegin(&kernel.getBody().front());
      llmc::gpu::waitForPredecessor(b, kernel.getLoc());
    });
    if (any)
      module->setAttr("llmc.gpu_dependent_launch",
                      UnitAttr::get(module.getContext()));
  }
};

struct GpuExternDynamicSharedPass
    : llmc::impl::GpuExternDynamicSharedBase<GpuExternDynamicSharedPass> {
  void runOnOperation() override {
    for (auto global : getOperation().getOps<LLVM::GlobalOp>()) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
      if (global.getAddrSpace() != 3 || !array || array.getNumElements() != 0)
        continue;
      global.setLinkage(LLVM::Linkage::External);
      global.removeValueAttr();
      global.getInitializerRegion().getBlocks().clear();
    }
  }
};

struct GpuMergeKernelModulesPass
    : llmc::impl::GpuMergeKernelModulesBase<GpuMergeKernelModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> sources(module.getOps<gpu::GPUModuleOp>());
    if (sources.empty())
      return;
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto merged = b.create<gpu::GPUModuleOp>(module.getLoc(), kKernelModule);
    SymbolTable mergedSymbols(merged);
    // The outliner names every kernel after its function and makes the
    // module names unique: a kernel takes its module's name.
    llvm::DenseMap<SymbolRefAttr, StringAttr> renamed;
    for (gpu::GPUModuleOp source : sources) {
      for (Operation &op :
           llvm::make_early_inc_range(source.getBody()->getOperations())) {
        if (op.hasTrait<OpTrait::IsTerminator>())
          continue;
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        if (auto kernel = dyn_cast<gpu::GPUFuncOp>(op)) {
          StringAttr name = source.getSymNameAttr();
          renamed[SymbolRefAttr::get(
              name, {FlatSymbolRefAttr::get(kernel.getNameAttr())})] =
              name;
          if (mergedSymbols.lookup(name)) {
            source.emitError("two kernels named ") << name;
            return signalPassFailure();
          }
          SymbolTable::setSymbolName(kernel, name);
        } else if (symbol && mergedSymbols.lookup(symbol.getName())) {
          // A global copied into several modules is kept once.
          continue;
        }
        op.moveBefore(merged.getBody()->getTerminator());
        if (symbol)
          mergedSymbols.insert(&op);
      }
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto name = renamed.find(launch.getKernel());
      if (name == renamed.end())
        return;
      launch.setKernelAttr(SymbolRefAttr::get(
          b.getStringAttr(kKernelModule),
          {FlatSymbolRefAttr::get(name->second)}));
    });
    // Shared memory 16-byte aligned: a block's threads store their tiles
    // with 16-byte stores.
    merged.walk([&](gpu::GPUFuncOp kernel) {
      for (unsigned i = 0; i < kernel.getNumWorkgroupAttributions(); ++i)
        kernel.setWorkgroupAttributionAttr(
            i, LLVM::LLVMDialect::getAlignAttrName(), b.getI64IntegerAttr(16));
    });
    for (gpu::GPUModuleOp source : sources)
      source.erase();
  }
};

} // namespace
