//===- Sharding.cpp - Helpers shared by the parallelization passes --------===//

#include "Sharding.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"
#include "llmc/Dialect/LLM/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Iterators.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

namespace llmc {

mesh::MeshOp setWorldAxis(ModuleOp module, int64_t axis, int64_t size) {
  auto world = SymbolTable(module).lookup<mesh::MeshOp>(kWorldMesh);
  SmallVector<int64_t> shape = {1, 1, 1};
  if (world)
    shape.assign(world.getShape().begin(), world.getShape().end());
  shape[axis] = size;
  if (!world) {
    OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
    return builder.create<mesh::MeshOp>(module.getLoc(), kWorldMesh, shape);
  }
  world.setShape(shape);
  return world;
}

/// The get_param at the root of a conversion chain, and the chain.
static llm::GetParamOp paramChain(Value weight,
                                  SmallVectorImpl<Operation *> &chain) {
  while (Operation *op = weight.getDefiningOp()) {
    if (auto get = dyn_cast<llm::GetParamOp>(op))
      return get;
    if (!isa<arith::ExtFOp, arith::TruncFOp>(op))
      return {};
    chain.push_back(op);
    weight = op->getOperand(0);
  }
  return {};
}

StringRef weightSource(Value weight) {
  SmallVector<Operation *> chain;
  llm::GetParamOp get = paramChain(weight, chain);
  if (!get)
    return "";
  auto param = SymbolTable::lookupNearestSymbolFrom<llm::ParamOp>(
      get, get.getNameAttr());
  return param ? param.getSource() : "";
}

FailureOr<Value> sliceWeight(OpBuilder &builder, Value weight,
                             ArrayRef<int64_t> offsets,
                             ArrayRef<int64_t> sizes) {
  SmallVector<Operation *> chain;
  llm::GetParamOp get = paramChain(weight, chain);
  if (!get)
    return failure();
  auto module = get->getParentOfType<ModuleOp>();
  SymbolTable symbols(module);
  auto param = symbols.lookup<llm::ParamOp>(get.getName());
  if (!param)
    return failure();

  // The box within the stored tensor, composing with an existing slice.
  SmallVector<int64_t> stored = param.getStoredShape();
  SmallVector<int64_t> absolute(offsets);
  if (std::optional<ArrayRef<int64_t>> base = param.getOffsets())
    for (auto [offset, start] : llvm::zip(absolute, *base))
      offset += start;
  RankedTensorType type = param.getTensorType().clone(sizes);
  bool whole = llvm::equal(stored, sizes);

  llm::ParamOp sliced;
  for (auto candidate : module.getOps<llm::ParamOp>()) {
    if (candidate.getSource() != param.getSource() ||
        candidate.getType() != type)
      continue;
    std::optional<ArrayRef<int64_t>> at = candidate.getOffsets();
    if (whole ? !at : (at && llvm::equal(*at, absolute))) {
      sliced = candidate;
      break;
    }
  }
  if (!sliced) {
    OpBuilder declare(param);
    std::string name = param.getSymName().str();
    if (!whole)
      name += llvm::formatv(".slice_{0:$[_]}",
                            llvm::make_range(absolute.begin(), absolute.end()));
    sliced = declare.create<llm::ParamOp>(
        param.getLoc(), declare.getStringAttr(name), TypeAttr::get(type),
        param.getSourceAttr(),
        whole ? DenseI64ArrayAttr() : declare.getDenseI64ArrayAttr(absolute),
        whole ? DenseI64ArrayAttr() : declare.getDenseI64ArrayAttr(stored),
        param.getStoredElementTypeAttr(), /*sym_visibility=*/StringAttr());
    symbols.insert(sliced);
  }

  Value value = builder.create<llm::GetParamOp>(
      get.getLoc(), type, FlatSymbolRefAttr::get(sliced.getSymNameAttr()));
  for (Operation *op : llvm::reverse(chain)) {
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    Operation *copy = builder.clone(*op);
    copy->setOperand(0, value);
    copy->getResult(0).setType(resultType.clone(sizes));
    value = copy->getResult(0);
  }
  return value;
}

void eraseDeadCode(ModuleOp module) {
  bool changed = true;
  while (changed) {
    changed = false;
    module.walk<WalkOrder::PostOrder, mlir::ReverseIterator>([&](Operation *op) {
      if (op->getNumResults() && op->use_empty() && isPure(op)) {
        op->erase();
        changed = true;
      }
    });
  }
  SymbolTable symbols(module);
  for (auto param : llvm::make_early_inc_range(module.getOps<llm::ParamOp>()))
    if (SymbolTable::symbolKnownUseEmpty(param, module))
      param.erase();
}

} // namespace llmc
