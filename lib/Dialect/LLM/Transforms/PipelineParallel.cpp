//===- PipelineParallel.cpp - One pipeline stage's layers -----------------===//

#include "llmc/Dialect/LLM/Transforms/Passes.h"

#include "Sharding.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AttrTypeSubElements.h"

namespace llmc {
#define GEN_PASS_DEF_LLMPIPELINEPARALLEL
#include "llmc/Dialect/LLM/Transforms/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace llmc;

namespace {

/// Elements of the parameters a function reads directly.
int64_t paramElements(func::FuncOp function) {
  int64_t elements = 0;
  function.walk([&](llm::GetParamOp get) {
    elements += cast<RankedTensorType>(get.getType()).getNumElements();
  });
  return elements;
}

/// Splits `costs` into `stages` contiguous non-empty runs, minimizing the
/// largest run's cost (`lastExtra` counts for the last run); returns the
/// first index of each run.
SmallVector<int64_t> balance(ArrayRef<int64_t> costs, int64_t stages,
                             int64_t lastExtra) {
  int64_t n = costs.size();
  SmallVector<int64_t> prefix(n + 1, 0);
  for (int64_t i = 0; i < n; ++i)
    prefix[i + 1] = prefix[i] + costs[i];
  constexpr int64_t kInf = std::numeric_limits<int64_t>::max();
  // best[s][i]: the least largest cost of s runs covering the first i.
  std::vector<std::vector<int64_t>> best(
      stages + 1, std::vector<int64_t>(n + 1, kInf));
  std::vector<std::vector<int64_t>> cut(stages + 1,
                                        std::vector<int64_t>(n + 1, 0));
  best[0][0] = 0;
  for (int64_t s = 1; s <= stages; ++s)
    for (int64_t i = s; i <= n; ++i)
      for (int64_t j = s - 1; j < i; ++j) {
        if (best[s - 1][j] == kInf)
          continue;
        int64_t run = prefix[i] - prefix[j] + (s == stages ? lastExtra : 0);
        int64_t cost = std::max(best[s - 1][j], run);
        if (cost < best[s][i]) {
          best[s][i] = cost;
          cut[s][i] = j;
        }
      }
  SmallVector<int64_t> firsts(stages);
  for (int64_t s = stages, i = n; s >= 1; --s) {
    firsts[s - 1] = cut[s][i];
    i = cut[s][i];
  }
  return firsts;
}

struct PipelineParallelPass
    : llmc::impl::LLMPipelineParallelBase<PipelineParallelPass> {
  using LLMPipelineParallelBase::LLMPipelineParallelBase;

  int64_t pp = 1, stage = 0;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    pp = numStages;
    stage = stageIndex;
    if (pp < 1 || stage < 0 || stage >= pp) {
      module.emitError() << "llm-pipeline-parallel: expects 0 <= stage < pp, "
                            "found stage "
                         << stage << " of " << pp;
      return signalPassFailure();
    }
    if (pp == 1)
      return;
    SymbolTable symbols(module);
    auto forward = symbols.lookup<func::FuncOp>("forward");
    auto layer = symbols.lookup<func::FuncOp>("layer");
    if (!forward || !layer) {
      module.emitError() << "llm-pipeline-parallel: expects @forward and "
                            "@layer functions";
      return signalPassFailure();
    }
    SmallVector<func::CallOp> calls;
    forward.walk([&](func::CallOp call) {
      if (call.getCallee() == "layer")
        calls.push_back(call);
    });
    int64_t layers = calls.size();
    if (layers < pp) {
      forward.emitError() << "llm-pipeline-parallel: pp=" << pp
                         << " needs at least one layer per stage; the model "
                            "has "
                         << layers << " layers";
      return signalPassFailure();
    }
    setWorldAxis(module, kPipelineAxis, pp);

    // Cost: the parameter elements each stage multiplies by.
    SmallVector<int64_t> costs;
    for (func::CallOp call : calls) {
      int64_t elements = 0;
      for (Value operand : call.getOperands())
        if (!weightSource(operand).empty())
          elements += cast<RankedTensorType>(operand.getType()).getNumElements();
      costs.push_back(elements);
    }
    auto head = symbols.lookup<func::FuncOp>("head");
    SmallVector<int64_t> firsts =
        balance(costs, pp, head ? paramElements(head) : 0);
    int64_t first = firsts[stage];
    int64_t count = (stage + 1 < pp ? firsts[stage + 1] : layers) - first;
    Builder b(module.getContext());
    module->setAttr("llm.pipeline",
                    b.getDictionaryAttr({
                        b.getNamedAttr("stage", b.getI64IntegerAttr(stage)),
                        b.getNamedAttr("stages", b.getI64IntegerAttr(pp)),
                        b.getNamedAttr("first_layer",
                                       b.getI64IntegerAttr(first)),
                        b.getNamedAttr("num_layers",
                                       b.getI64IntegerAttr(count)),
                    }));

    // Keep this stage's layers, with cache indices from 0.
    for (auto [index, call] : llvm::enumerate(calls)) {
      int64_t i = index;
      if (i < first || i >= first + count) {
        call.getResult(0).replaceAllUsesWith(call.getOperand(0));
        call.getResult(1).replaceAllUsesWith(call.getOperand(2));
        call.erase();
        continue;
      }
      OpBuilder builder(call);
      call.setOperand(3, builder.create<arith::ConstantIndexOp>(
                             call.getLoc(), i - first));
    }
    func::CallOp firstCall = calls[first], lastCall = calls[first + count - 1];
    Location loc = forward.getLoc();
    auto hiddenType = cast<RankedTensorType>(firstCall.getOperand(0).getType());
    if (stage > 0) {
      // The hidden states of the stage before, [batch, seq, hidden] as the
      // ids are [batch, seq].
      OpBuilder builder(firstCall);
      Value ids = forward.getArgument(0);
      SmallVector<Value> sizes = {
          builder.create<tensor::DimOp>(loc, ids, 0),
          builder.create<tensor::DimOp>(loc, ids, 1)};
      Value empty = builder.create<tensor::EmptyOp>(
          loc, hiddenType.getShape(), hiddenType.getElementType(), sizes);
      auto recv = builder.create<mesh::RecvOp>(
          loc, hiddenType, kWorldMesh, ArrayRef<int16_t>{kPipelineAxis},
          empty, builder.getDenseI64ArrayAttr({stage - 1}), ValueRange());
      firstCall.setOperand(0, recv.getResult());
    }
    if (stage + 1 < pp) {
      OpBuilder builder(lastCall->getNextNode());
      auto send = builder.create<mesh::SendOp>(
          loc, hiddenType, kWorldMesh, ArrayRef<int16_t>{kPipelineAxis},
          lastCall.getResult(0), ArrayRef<int64_t>{stage + 1}, ValueRange());
      // @forward hands back what it sent; the final norm goes.
      forward.getBody().front().getTerminator()->setOperand(0,
                                                            send.getResult());
      dropLogits(module);
    }

    AttrTypeReplacer replacer;
    replacer.addReplacement([&](llm::KVCacheType type) -> Type {
      return llm::KVCacheType::get(type.getContext(), count, type.getBatch(),
                                   type.getMaxSeqLen(), type.getNumKVHeads(),
                                   type.getHeadDim(), type.getElementType());
    });
    replacer.recursivelyReplaceElementsIn(module, /*replaceAttrs=*/true,
                                          /*replaceLocs=*/false,
                                          /*replaceTypes=*/true);
    eraseDeadCode(module);
    // Before the last stage, nothing reads @head's logits.
    module.walk([&](func::CallOp call) {
      if (call.getCallee() == "head" && call->use_empty())
        call.erase();
    });
    for (auto function :
         llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (function.isPrivate() &&
          SymbolTable::symbolKnownUseEmpty(function, module))
        function.erase();
    eraseDeadCode(module);
  }

  /// Entry points before the last stage return only the KV cache.
  void dropLogits(ModuleOp module) {
    for (auto function : module.getOps<func::FuncOp>()) {
      if (!function.isPublic() || function.isExternal())
        continue;
      Operation *ret = function.getBody().back().getTerminator();
      SmallVector<Value> kept;
      for (Value operand : ret->getOperands())
        if (isa<llm::KVCacheType>(operand.getType()))
          kept.push_back(operand);
      ret->setOperands(kept);
      function.setFunctionType(FunctionType::get(
          function.getContext(), function.getArgumentTypes(),
          ValueRange(kept).getTypes()));
    }
  }
};

} // namespace
