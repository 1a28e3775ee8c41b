//===- TensorParallel.cpp - Megatron tensor parallelism -------------------===//
//
// Rewrites the whole model into the program of one tensor-parallel rank. In
// @layer, values are either whole on every rank (replicated) or hold a range
// of the features of their last dimension (heads for split-head tensors);
// projections switch between the two: replicated in, split out (column
// parallel); split in, partial sums out, then one all-reduce (row parallel).
//
//===----------------------------------------------------------------------===//

#include "llmc/Dialect/LLM/Transforms/Passes.h"

#include "Sharding.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AttrTypeSubElements.h"

#include "llvm/Support/FormatVariadic.h"

namespace llmc {
#define GEN_PASS_DEF_LLMTENSORPARALLEL
#include "llmc/Dialect/LLM/Transforms/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;

namespace {

/// The part [lo, hi) of `full` units (features, or heads) a rank holds.
struct Range {
  int64_t lo, hi, full;
  int64_t size() const { return hi - lo; }
  bool operator==(const Range &other) const {
    return lo == other.lo && hi == other.hi && full == other.full;
  }
};

RankedTensorType withDim(Type type, int64_t dim, int64_t size) {
  auto tensor = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(tensor.getShape());
  shape[dim < 0 ? shape.size() + dim : dim] = size;
  return tensor.clone(shape);
}

struct TensorParallelPass
    : llmc::impl::LLMTensorParallelBase<TensorParallelPass> {
  using LLMTensorParallelBase::LLMTensorParallelBase;

  int64_t tp = 1, rank = 0;

  void runOnOperation() override {
    tp = tpSize;
    rank = tpRank;
    if (tp < 1 || rank < 0 || rank >= tp) {
      getOperation().emitError()
          << "llm-tensor-parallel: expects 0 <= rank < tp, found rank "
          << rank << " of " << tp;
      return signalPassFailure();
    }
    if (tp == 1)
      return;
    ModuleOp module = getOperation();
    setWorldAxis(module, kTensorAxis, tp);
    auto layer = SymbolTable(module).lookup<func::FuncOp>("layer");
    if (!layer) {
      module.emitError() << "llm-tensor-parallel: expects a @layer function";
      return signalPassFailure();
    }
    if (failed(shardCache(module)) || failed(shardLayer(module, layer)) ||
        failed(shardVocabulary(module)))
      return signalPassFailure();
    eraseDeadCode(module);
  }

  /// This rank's heads of `heads` split ones: an equal share, or one head
  /// shared by tp / heads ranks (KV heads replicated).
  FailureOr<Range> headRange(Operation *at, int64_t heads, StringRef what) {
    if (heads % tp == 0)
      return Range{rank * (heads / tp), (rank + 1) * (heads / tp), heads};
    if (tp % heads == 0) {
      int64_t head = rank / (tp / heads);
      return Range{head, head + 1, heads};
    }
    return at->emitError() << "llm-tensor-parallel: tp=" << tp
                           << " neither divides nor is a multiple of the "
                           << heads << " heads of " << what;
  }

  FailureOr<Range> evenRange(Operation *at, int64_t full, StringRef what) {
    if (full % tp != 0)
      return at->emitError() << "llm-tensor-parallel: tp=" << tp
                             << " does not divide the " << full
                             << " output features of " << what;
    return Range{rank * (full / tp), (rank + 1) * (full / tp), full};
  }

  /// This rank's KV heads, which shardCache finds from the cache type.
  std::optional<Range> kvHeads;

  /// The KV cache keeps this rank's KV heads.
  LogicalResult shardCache(ModuleOp module) {
    Operation *at = module;
    module.walk([&](llm::KVCacheUpdateOp update) {
      at = update;
      return WalkResult::interrupt();
    });
    bool unsplittable = false;
    AttrTypeReplacer replacer;
    replacer.addReplacement([&](llm::KVCacheType type) -> Type {
      if (!kvHeads && !unsplittable) {
        FailureOr<Range> kv =
            headRange(at, type.getNumKVHeads(), "the KV cache");
        if (failed(kv))
          unsplittable = true;
        else
          kvHeads = *kv;
      }
      if (!kvHeads)
        return type;
      return llm::KVCacheType::get(type.getContext(), type.getNumLayers(),
                                   type.getBatch(), type.getMaxSeqLen(),
                                   kvHeads->size(), type.getHeadDim(),
                                   type.getElementType());
    });
    replacer.recursivelyReplaceElementsIn(module, /*replaceAttrs=*/true,
                                          /*replaceLocs=*/false,
                                          /*replaceTypes=*/true);
    return failure(unsplittable);
  }

  //===--------------------------------------------------------------------===//
  // @layer
  //===--------------------------------------------------------------------===//

  /// A new @layer argument: box `offsets`/`sizes` of argument `source`.
  struct SlicedArgument {
    unsigned source;
    SmallVector<int64_t> offsets, sizes;
  };

  func::FuncOp layer;
  SmallVector<func::CallOp> calls;
  SmallVector<SlicedArgument> slicedArguments;
  DenseMap<Value, Range> split;

  /// The checkpoint name of @layer argument `arg` in its first call.
  std::string argumentName(Value arg) {
    auto blockArg = dyn_cast<BlockArgument>(arg);
    if (!blockArg || calls.empty())
      return "a projection";
    StringRef source =
        weightSource(calls.front().getOperand(blockArg.getArgNumber()));
    return source.empty() ? "a projection" : ("'" + source + "'").str();
  }

  /// A new @layer argument holding the box of weight argument `weight`.
  FailureOr<Value> sliceArgument(Operation *at, Value weight, int64_t dim,
                                 int64_t offset, int64_t size) {
    auto arg = dyn_cast<BlockArgument>(weight);
    if (!arg || arg.getOwner() != &layer.getBody().front())
      return at->emitError() << "llm-tensor-parallel: expects the weights of "
                                "@layer's projections to be its arguments";
    auto type = cast<RankedTensorType>(weight.getType());
    SmallVector<int64_t> offsets(type.getRank(), 0);
    SmallVector<int64_t> sizes(type.getShape());
    offsets[dim] = offset;
    sizes[dim] = size;
    slicedArguments.push_back({arg.getArgNumber(), offsets, sizes});
    return layer.getBody().front().addArgument(type.clone(sizes),
                                               weight.getLoc());
  }

  /// Turns `linear` (replicated input) into this rank's column block
  /// `range` of its output features.
  LogicalResult makeColumnParallel(llm::LinearOp linear, Range range) {
    int64_t outDim = linear.getOutFeaturesDim();
    FailureOr<Value> weight = sliceArgument(linear, linear.getWeight(),
                                            outDim, range.lo, range.size());
    if (failed(weight))
      return failure();
    linear.getWeightMutable().assign(*weight);
    if (Value bias = linear.getBias()) {
      FailureOr<Value> sliced =
          sliceArgument(linear, bias, 0, range.lo, range.size());
      if (failed(sliced))
        return failure();
      linear.getBiasMutable().assign(*sliced);
    }
    linear.getResult().setType(
        withDim(linear.getType(), -1, range.size()));
    split[linear.getResult()] = range;
    return success();
  }

  /// The output features of a column-parallel projection this rank keeps,
  /// from what reads them: whole heads for split_heads, else an even share.
  FailureOr<Range> columnRange(Operation *at, Value output, int64_t base,
                               int64_t full, StringRef what) {
    if (output.hasOneUse())
      if (auto heads = dyn_cast<llm::SplitHeadsOp>(*output.getUsers().begin())) {
        int64_t count = heads.getType().getDimSize(2);
        int64_t width = full / count;
        FailureOr<Range> range = headRange(at, count, what);
        if (failed(range))
          return failure();
        return Range{base + range->lo * width, base + range->hi * width,
                     full};
      }
    FailureOr<Range> range = evenRange(at, full, what);
    if (failed(range))
      return failure();
    return Range{base + range->lo, base + range->hi, full};
  }

  /// GPT-2's fused q/k/v projection, split into parts: one column-parallel
  /// projection per part.
  LogicalResult splitFusedProjection(llm::LinearOp linear,
                                     llm::SplitOp parts) {
    OpBuilder builder(parts);
    int64_t base = 0;
    std::string name = argumentName(linear.getWeight());
    for (Value part : parts.getResults()) {
      int64_t width = cast<RankedTensorType>(part.getType()).getDimSize(2);
      FailureOr<Range> range =
          columnRange(linear, part, 0, width, name);
      if (failed(range))
        return failure();
      auto copy = cast<llm::LinearOp>(builder.clone(*linear));
      // Columns of this part within the fused weight.
      if (failed(makeColumnParallel(
              copy, Range{base + range->lo, base + range->hi,
                          linear.getType().getDimSize(2)})))
        return failure();
      split[copy.getResult()] = *range;
      part.replaceAllUsesWith(copy.getResult());
      base += width;
    }
    parts.erase();
    linear.erase();
    return success();
  }

  LogicalResult rewriteLinear(llm::LinearOp linear,
                              SmallPtrSetImpl<Operation *> &erased) {
    auto input = split.find(linear.getInput());
    if (input == split.end()) {
      Value output = linear.getResult();
      if (output.hasOneUse())
        if (auto parts = dyn_cast<llm::SplitOp>(*output.getUsers().begin())) {
          erased.insert(parts);
          return splitFusedProjection(linear, parts);
        }
      FailureOr<Range> range =
          columnRange(linear, output, 0, linear.getType().getDimSize(2),
                      argumentName(linear.getWeight()));
      return failed(range) ? failure() : makeColumnParallel(linear, *range);
    }

    // Row parallel: the ranks' input ranges must tile the input features,
    // or the all-reduce would count some twice.
    Range range = input->second;
    if (range.size() * tp != range.full)
      return linear.emitError()
             << "llm-tensor-parallel: tp=" << tp
             << " ranks cannot split the input of "
             << argumentName(linear.getWeight())
             << " without overlap (each holds " << range.size() << " of "
             << range.full << " features)";
    FailureOr<Value> weight =
        sliceArgument(linear, linear.getWeight(), linear.getInFeaturesDim(),
                      range.lo, range.size());
    if (failed(weight))
      return failure();
    linear.getWeightMutable().assign(*weight);
    // The bias is added once, by rank 0.
    if (linear.getBias() && rank != 0)
      linear.getBiasMutable().clear();
    OpBuilder builder(linear->getNextNode());
    auto reduce = builder.create<mesh::AllReduceOp>(
        linear.getLoc(), linear.getType(), kWorldMesh,
        ArrayRef<int16_t>{kTensorAxis}, linear.getResult());
    linear.getResult().replaceAllUsesExcept(reduce.getResult(), reduce);
    return success();
  }

  /// Ops between the projections follow their operands' split.
  LogicalResult rewriteOther(Operation *op) {
    std::optional<Range> range;
    for (Value operand : op->getOperands()) {
      auto found = split.find(operand);
      if (found == split.end())
        continue;
      if (range && !(*range == found->second))
        return op->emitError() << "llm-tensor-parallel: operands split "
                                  "differently across ranks";
      range = found->second;
    }
    if (auto read = dyn_cast<llm::KVCacheReadOp>(op)) {
      auto cache = cast<llm::KVCacheType>(read.getCache().getType());
      for (Value result : read->getResults())
        result.setType(withDim(result.getType(), 2, cache.getNumKVHeads()));
      return success();
    }
    if (!range)
      return success();
    if (auto heads = dyn_cast<llm::SplitHeadsOp>(op)) {
      int64_t count = heads.getType().getDimSize(2);
      int64_t width = range->full / count;
      heads.getResult().setType(
          withDim(heads.getType(), 2, range->size() / width));
      split[heads.getResult()] =
          Range{range->lo / width, range->hi / width, count};
      return success();
    }
    if (auto merge = dyn_cast<llm::MergeHeadsOp>(op)) {
      int64_t width = merge.getType().getDimSize(2) / range->full;
      merge.getResult().setType(
          withDim(merge.getType(), 2, range->size() * width));
      split[merge.getResult()] =
          Range{range->lo * width, range->hi * width, range->full * width};
      return success();
    }
    if (isa<llm::KVCacheUpdateOp>(op))
      return success();
    if (auto attention = dyn_cast<llm::AttentionOp>(op)) {
      // Query head q reads KV head q / group; the rank's heads must agree.
      auto keys = cast<RankedTensorType>(attention.getKeys().getType());
      int64_t localKV = keys.getDimSize(2);
      if (range->size() * tp != range->full)
        return op->emitError() << "llm-tensor-parallel: tp=" << tp
                               << " does not divide the " << range->full
                               << " query heads";
      if (!kvHeads)
        return op->emitError() << "llm-tensor-parallel: expects the "
                                  "attention to read a KV cache";
      int64_t group = range->full / kvHeads->full;
      if (range->size() % localKV != 0 || range->lo / group != kvHeads->lo ||
          (range->hi - 1) / group != kvHeads->hi - 1)
        return op->emitError()
               << "llm-tensor-parallel: tp=" << tp << " splits the "
               << range->full << " query heads and " << kvHeads->full
               << " KV heads so that a rank's query heads need KV heads "
                  "it does not hold";
    }
    if (op->getNumResults() == 1 &&
        isa<RankedTensorType>(op->getResult(0).getType())) {
      op->getResult(0).setType(op->getOperand(0).getType());
      split[op->getResult(0)] = *range;
      return success();
    }
    return op->emitError() << "llm-tensor-parallel: cannot split '"
                           << op->getName() << "'";
  }

  LogicalResult shardLayer(ModuleOp module, func::FuncOp layerFunction) {
    layer = layerFunction;
    if (auto uses = SymbolTable::getSymbolUses(layer, module))
      for (const SymbolTable::SymbolUse &use : *uses) {
        auto call = dyn_cast<func::CallOp>(use.getUser());
        if (!call)
          return use.getUser()->emitError()
                 << "llm-tensor-parallel: expects only calls of @layer";
        calls.push_back(call);
      }
    if (calls.empty())
      return layer.emitError() << "llm-tensor-parallel: @layer is never "
                                  "called";
    SmallVector<Operation *> ops;
    for (Operation &op : layer.getBody().front().without_terminator())
      ops.push_back(&op);
    SmallPtrSet<Operation *, 8> erased;
    for (Operation *op : ops) {
      if (erased.contains(op))
        continue;
      LogicalResult result =
          isa<llm::LinearOp>(op)
              ? rewriteLinear(cast<llm::LinearOp>(op), erased)
              : rewriteOther(op);
      if (failed(result))
        return failure();
    }
    for (Value result : layer.getBody().front().getTerminator()->getOperands())
      if (split.count(result))
        return layer.emitError() << "llm-tensor-parallel: @layer returns a "
                                    "value split across ranks";

    // New arguments replace the sliced ones at every call site.
    Block &body = layer.getBody().front();
    unsigned original = body.getNumArguments() - slicedArguments.size();
    for (func::CallOp call : calls) {
      OpBuilder builder(call);
      SmallVector<Value> operands(call.getOperands());
      for (const SlicedArgument &arg : slicedArguments) {
        FailureOr<Value> value = sliceWeight(
            builder, call.getOperand(arg.source), arg.offsets, arg.sizes);
        if (failed(value))
          return call.emitError() << "llm-tensor-parallel: expects @layer's "
                                     "weights to be llm.get_param values";
        operands.push_back(*value);
      }
      call->setOperands(operands);
    }
    // Weights now read through slices, and a bias dropped on ranks > 0.
    llvm::BitVector unused(body.getNumArguments());
    for (unsigned i = 0; i < body.getNumArguments(); ++i)
      if (body.getArgument(i).use_empty() &&
          (i >= original || !weightSource(calls.front().getOperand(i)).empty()))
        unused.set(i);
    layer.setFunctionType(FunctionType::get(
        layer.getContext(), body.getArgumentTypes(),
        layer.getFunctionType().getResults()));
    for (func::CallOp call : calls) {
      SmallVector<Value> kept;
      for (auto [i, operand] : llvm::enumerate(call.getOperands()))
        if (!unused.test(i))
          kept.push_back(operand);
      call->setOperands(kept);
    }
    layer.eraseArguments(unused);
    return success();
  }

  //===--------------------------------------------------------------------===//
  // Embedding and head
  //===--------------------------------------------------------------------===//

  /// Vocab-parallel token embedding and head when tp divides the vocabulary;
  /// both stay whole otherwise.
  LogicalResult shardVocabulary(ModuleOp module) {
    // The vocabulary: @head's logits, or (a pipeline stage without the
    // head) the rows of the token embedding, which reads the ids directly.
    auto head = SymbolTable(module).lookup<func::FuncOp>("head");
    int64_t vocab = 0;
    if (head)
      vocab = cast<RankedTensorType>(head.getFunctionType().getResult(0))
                  .getDimSize(2);
    else
      module.walk([&](llm::EmbeddingOp lookup) {
        if (isa<BlockArgument>(lookup.getIds()))
          vocab = lookup.getTable().getType().getDimSize(0);
      });
    if (vocab == 0 || vocab % tp != 0)
      return success();
    int64_t rows = vocab / tp, first = rank * rows;

    SmallVector<llm::EmbeddingOp> lookups;
    module.walk([&](llm::EmbeddingOp lookup) {
      // The token embedding reads the entry point's ids directly.
      if (isa<BlockArgument>(lookup.getIds()) &&
          lookup.getTable().getType().getDimSize(0) == vocab)
        lookups.push_back(lookup);
    });
    for (llm::EmbeddingOp lookup : lookups) {
      OpBuilder builder(lookup);
      auto table = cast<RankedTensorType>(lookup.getTable().getType());
      FailureOr<Value> sliced =
          sliceWeight(builder, lookup.getTable(), {first, 0},
                      {rows, table.getDimSize(1)});
      if (failed(sliced))
        return lookup.emitError() << "llm-tensor-parallel: expects the "
                                     "embedding table to be a parameter";
      lookup.getTableMutable().assign(*sliced);
      lookup.setVocabOffset(first);
      builder.setInsertionPointAfter(lookup);
      auto reduce = builder.create<mesh::AllReduceOp>(
          lookup.getLoc(), lookup.getType(), kWorldMesh,
          ArrayRef<int16_t>{kTensorAxis}, lookup.getResult());
      lookup.getResult().replaceAllUsesExcept(reduce.getResult(), reduce);
    }

    if (!head)
      return success();
    SmallVector<llm::LinearOp> projections;
    head.walk([&](llm::LinearOp linear) {
      if (linear.getType().getDimSize(2) == vocab)
        projections.push_back(linear);
    });
    for (llm::LinearOp linear : projections) {
      OpBuilder builder(linear);
      auto weightType = cast<RankedTensorType>(linear.getWeight().getType());
      int64_t outDim = linear.getOutFeaturesDim();
      SmallVector<int64_t> offsets = {0, 0};
      SmallVector<int64_t> sizes(weightType.getShape());
      offsets[outDim] = first;
      sizes[outDim] = rows;
      FailureOr<Value> weight =
          sliceWeight(builder, linear.getWeight(), offsets, sizes);
      if (failed(weight))
        return linear.emitError() << "llm-tensor-parallel: expects the "
                                     "vocabulary projection's weight to be "
                                     "a parameter";
      linear.getWeightMutable().assign(*weight);
      if (Value bias = linear.getBias()) {
        FailureOr<Value> sliced = sliceWeight(builder, bias, {first}, {rows});
        if (failed(sliced))
          return linear.emitError() << "llm-tensor-parallel: expects the "
                                       "vocabulary bias to be a parameter";
        linear.getBiasMutable().assign(*sliced);
      }
      Type full = linear.getType();
      linear.getResult().setType(withDim(full, 2, rows));
      builder.setInsertionPointAfter(linear);
      auto gather = builder.create<mesh::AllGatherOp>(
          linear.getLoc(), full, kWorldMesh, ArrayRef<int16_t>{kTensorAxis},
          linear.getResult(), APInt(64, 2));
      linear.getResult().replaceAllUsesExcept(gather.getResult(), gather);
    }
    return success();
  }
};

} // namespace
