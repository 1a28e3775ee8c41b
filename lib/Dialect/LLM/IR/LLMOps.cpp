//===- LLMOps.cpp - Verifiers and builders of the llm ops -----------------===//

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::llm;

//===----------------------------------------------------------------------===//
// Shape checks shared by the verifiers
//===----------------------------------------------------------------------===//

/// A dimension size the way types write it: `?` when dynamic.
static std::string dimString(int64_t size) {
  return ShapedType::isDynamic(size) ? "?" : std::to_string(size);
}

/// True when two dimension sizes can be equal at run time.
static bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

static RankedTensorType tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// Checks that `value` (called `name` in messages) has rank `rank`.
static LogicalResult verifyRank(Operation *op, StringRef name, Value value,
                                int64_t rank) {
  int64_t found = tensorType(value).getRank();
  if (found == rank)
    return success();
  return op->emitOpError() << "expects " << name << " of rank " << rank
                           << ", found rank " << found << " ("
                           << value.getType() << ")";
}

/// Checks that two dimensions that must agree can agree:
/// "expects <what> (<found>) to equal <other> (<expected>)".
static LogicalResult verifyDim(Operation *op, StringRef what, int64_t found,
                               StringRef other, int64_t expected) {
  if (compatible(found, expected))
    return success();
  return op->emitOpError() << "expects " << what << " (" << dimString(found)
                           << ") to equal " << other << " ("
                           << dimString(expected) << ")";
}

/// Checks that a model dimension (heads, head_dim, ...) is static.
static LogicalResult verifyStatic(Operation *op, StringRef what,
                                  int64_t size) {
  if (!ShapedType::isDynamic(size))
    return success();
  return op->emitOpError() << "expects a static " << what
                           << "; only batch and sequence may be dynamic";
}

static LogicalResult verifyElementType(Operation *op, StringRef name,
                                       Value value, Type expected) {
  Type found = getElementTypeOrSelf(value.getType());
  if (found == expected)
    return success();
  return op->emitOpError() << "expects " << name << " element type "
                           << expected << ", found " << found;
}

/// Checks the result against the shape and element type the operands imply.
static LogicalResult verifyResultType(Operation *op, Value result,
                                      ArrayRef<int64_t> shape,
                                      Type elementType) {
  auto expected = RankedTensorType::get(shape, elementType);
  auto found = tensorType(result);
  if (found.getElementType() == elementType &&
      succeeded(verifyCompatibleShape(found, expected)))
    return success();
  return op->emitOpError() << "expects result type " << expected
                           << " (from the operands), found " << found;
}

/// Checks a per-row positions operand against the batch dimension.
static LogicalResult verifyPositions(Operation *op, Value positions,
                                     int64_t batch) {
  return verifyDim(op, "positions' length",
                   tensorType(positions).getDimSize(0), "the batch", batch);
}

/// Checks `epsilon` of a normalization.
static LogicalResult verifyEpsilon(Operation *op, double epsilon) {
  if (epsilon >= 0.0)
    return success();
  return op->emitOpError() << "expects epsilon >= 0, found " << epsilon;
}

/// Checks a normalization's per-feature operand (weight or bias).
static LogicalResult verifyNormOperand(Operation *op, StringRef name,
                                       Value operand, Value input) {
  auto inputType = tensorType(input);
  if (failed(verifyRank(op, name, operand, 1)) ||
      failed(verifyElementType(op, name, operand, inputType.getElementType())))
    return failure();
  std::string what = (name + "'s length").str();
  return verifyDim(op, what, tensorType(operand).getDimSize(0),
                   "the input's last dimension",
                   inputType.getDimSize(inputType.getRank() - 1));
}

/// Checks the layer index of a KV cache op when it is a constant.
static LogicalResult verifyLayer(Operation *op, Value layerValue,
                                 KVCacheType cache) {
  std::optional<int64_t> layer = getConstantIntValue(layerValue);
  if (!layer || (*layer >= 0 && *layer < cache.getNumLayers()))
    return success();
  return op->emitOpError() << "expects layer in [0, " << cache.getNumLayers()
                           << "), found " << *layer;
}

//===----------------------------------------------------------------------===//
// ParamOp and GetParamOp
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (getSource().empty())
    return emitOpError() << "expects a non-empty source tensor name";
  std::optional<ArrayRef<int64_t>> offsets = getOffsets();
  std::optional<ArrayRef<int64_t>> stored = getSourceShape();
  if (offsets.has_value() != stored.has_value())
    return emitOpError() << "expects both the slice offsets and the stored "
                            "shape, or neither";
  if (!offsets)
    return success();
  ArrayRef<int64_t> shape = getTensorType().getShape();
  if (offsets->size() != shape.size() || stored->size() != shape.size())
    return emitOpError() << "expects " << shape.size()
                         << " slice offsets and stored dimensions (the "
                            "type's rank), found "
                         << offsets->size() << " and " << stored->size();
  for (size_t i = 0; i < shape.size(); ++i)
    if ((*offsets)[i] < 0 || (*offsets)[i] + shape[i] > (*stored)[i])
      return emitOpError() << "slice dimension " << i << ": ["
                           << (*offsets)[i] << ", "
                           << (*offsets)[i] + shape[i]
                           << ") is outside the stored size "
                           << (*stored)[i];
  return success();
}

LogicalResult
GetParamOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto param =
      symbolTable.lookupNearestSymbolFrom<ParamOp>(*this, getNameAttr());
  if (!param)
    return emitOpError() << "expects " << getNameAttr()
                         << " to name an llm.param";
  if (param.getType() != getType())
    return emitOpError() << "expects result type " << param.getType()
                         << " (the type of " << getNameAttr()
                         << "), found " << getType();
  return success();
}

LogicalResult
ParamBufferOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto param =
      symbolTable.lookupNearestSymbolFrom<ParamOp>(*this, getNameAttr());
  if (!param)
    return emitOpError() << "expects " << getNameAttr()
                         << " to name an llm.param";
  RankedTensorType declared = param.getTensorType();
  MemRefType type = getType();
  if (declared.getShape() != type.getShape() ||
      declared.getElementType() != type.getElementType() ||
      !type.getLayout().isIdentity())
    return emitOpError() << "expects a buffer of the type of " << getNameAttr()
                         << " (" << declared << ") with the identity layout, "
                         << "found " << type;
  return success();
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

static SmallVector<int64_t> embeddingShape(RankedTensorType table,
                                           RankedTensorType ids) {
  SmallVector<int64_t> shape(ids.getShape());
  shape.push_back(table.getDimSize(1));
  return shape;
}

void EmbeddingOp::build(OpBuilder &builder, OperationState &state,
                        Value table, Value ids) {
  auto tableType = tensorType(table);
  build(builder, state,
        RankedTensorType::get(embeddingShape(tableType, tensorType(ids)),
                              tableType.getElementType()),
        table, ids, /*vocab_offset=*/IntegerAttr());
}

LogicalResult EmbeddingOp::verify() {
  if (IntegerAttr offset = getVocabOffsetAttr(); offset && offset.getInt() < 0)
    return emitOpError() << "expects a non-negative vocab_offset, found "
                         << offset.getInt();
  if (failed(verifyRank(*this, "table", getTable(), 2)) ||
      failed(verifyStatic(*this, "hidden size (table dim 1)",
                          getTable().getType().getDimSize(1))))
    return failure();
  return verifyResultType(*this, getResult(),
                          embeddingShape(getTable().getType(),
                                         getIds().getType()),
                          getTable().getType().getElementType());
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

static SmallVector<int64_t> linearShape(RankedTensorType input,
                                        RankedTensorType weight,
                                        bool weightInOut) {
  SmallVector<int64_t> shape(input.getShape());
  shape.back() = weight.getDimSize(weightInOut ? 1 : 0);
  return shape;
}

void LinearOp::build(OpBuilder &builder, OperationState &state, Value input,
                     Value weight, Value bias, bool weightInOut) {
  auto inputType = tensorType(input);
  build(builder, state,
        RankedTensorType::get(
            linearShape(inputType, tensorType(weight), weightInOut),
            inputType.getElementType()),
        input, weight, bias, weightInOut);
}

LogicalResult LinearOp::verify() {
  auto inputType = getInput().getType();
  auto weightType = getWeight().getType();
  Type elementType = inputType.getElementType();
  if (inputType.getRank() < 1)
    return emitOpError() << "expects an input of rank >= 1, found "
                         << inputType;
  if (failed(verifyRank(*this, "weight", getWeight(), 2)) ||
      failed(verifyElementType(*this, "weight", getWeight(), elementType)))
    return failure();
  std::string inDim = "the weight's in_features (dim " +
                      std::to_string(getInFeaturesDim()) + ")";
  std::string outDim = "the weight's out_features (dim " +
                       std::to_string(getOutFeaturesDim()) + ")";
  int64_t outFeatures = weightType.getDimSize(getOutFeaturesDim());
  if (failed(verifyDim(*this, "the input's last dimension",
                       inputType.getDimSize(inputType.getRank() - 1), inDim,
                       weightType.getDimSize(getInFeaturesDim()))))
    return failure();
  if (Value bias = getBias()) {
    if (failed(verifyRank(*this, "bias", bias, 1)) ||
        failed(verifyElementType(*this, "bias", bias, elementType)) ||
        failed(verifyDim(*this, "the bias' length",
                         tensorType(bias).getDimSize(0), outDim,
                         outFeatures)))
      return failure();
  }
  return verifyResultType(*this, getResult(),
                          linearShape(inputType, weightType, getWeightInOut()),
                          elementType);
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

static SmallVector<int64_t> matmulShape(RankedTensorType lhs,
                                        RankedTensorType rhs) {
  SmallVector<int64_t> shape(lhs.getShape());
  shape.back() = rhs.getShape().back();
  return shape;
}

void MatmulOp::build(OpBuilder &builder, OperationState &state, Value lhs,
                     Value rhs) {
  auto lhsType = tensorType(lhs);
  build(builder, state,
        RankedTensorType::get(matmulShape(lhsType, tensorType(rhs)),
                              lhsType.getElementType()),
        lhs, rhs);
}

LogicalResult MatmulOp::verify() {
  auto lhsType = getLhs().getType();
  auto rhsType = getRhs().getType();
  int64_t rank = lhsType.getRank();
  if (rank < 2)
    return emitOpError() << "expects operands of rank >= 2, found " << lhsType;
  if (failed(verifyRank(*this, "rhs", getRhs(), rank)) ||
      failed(verifyElementType(*this, "rhs", getRhs(),
                               lhsType.getElementType())))
    return failure();
  for (int64_t i = 0; i < rank - 2; ++i) {
    std::string what = "rhs batch dimension " + std::to_string(i);
    if (failed(verifyDim(*this, what, rhsType.getDimSize(i),
                         "the lhs batch dimension", lhsType.getDimSize(i))))
      return failure();
  }
  if (failed(verifyDim(*this, "the rhs contraction dimension",
                       rhsType.getDimSize(rank - 2),
                       "the lhs contraction dimension",
                       lhsType.getDimSize(rank - 1))))
    return failure();
  return verifyResultType(*this, getResult(), matmulShape(lhsType, rhsType),
                          lhsType.getElementType());
}

//===----------------------------------------------------------------------===//
// RMSNormOp and LayerNormOp
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  if (failed(verifyEpsilon(*this, getEpsilon().convertToDouble())))
    return failure();
  return verifyNormOperand(*this, "weight", getWeight(), getInput());
}

LogicalResult LayerNormOp::verify() {
  if (failed(verifyEpsilon(*this, getEpsilon().convertToDouble())) ||
      failed(verifyNormOperand(*this, "weight", getWeight(), getInput())))
    return failure();
  if (Value bias = getBias())
    return verifyNormOperand(*this, "bias", bias, getInput());
  return success();
}

//===----------------------------------------------------------------------===//
// SplitHeadsOp and MergeHeadsOp
//===----------------------------------------------------------------------===//

/// Checks that `split` is `merged` with its last dimension split in two:
/// merged is `... x N`, split is `... x H x D` with H * D == N.
static LogicalResult verifyHeadSplit(Operation *op, RankedTensorType merged,
                                     RankedTensorType split) {
  if (split.getRank() != merged.getRank() + 1 || merged.getRank() < 1)
    return op->emitOpError()
           << "expects the split type to have one dimension more than the "
              "merged type, found "
           << merged << " and " << split;
  int64_t rank = merged.getRank();
  for (int64_t i = 0; i < rank - 1; ++i) {
    std::string what = "dimension " + std::to_string(i) + " of the split type";
    if (failed(verifyDim(op, what, split.getDimSize(i),
                         "the same dimension of the merged type",
                         merged.getDimSize(i))))
      return failure();
  }
  int64_t heads = split.getDimSize(rank - 1);
  int64_t headDim = split.getDimSize(rank);
  int64_t width = merged.getDimSize(rank - 1);
  if (failed(verifyStatic(op, "number of heads", heads)) ||
      failed(verifyStatic(op, "head_dim", headDim)) ||
      failed(verifyStatic(op, "merged last dimension", width)))
    return failure();
  if (heads * headDim != width)
    return op->emitOpError() << "expects heads (" << heads << ") x head_dim ("
                             << headDim << ") to equal the merged last "
                                           "dimension ("
                             << width << ")";
  if (merged.getElementType() != split.getElementType())
    return op->emitOpError() << "expects the same element type on both "
                                "sides, found "
                             << merged.getElementType() << " and "
                             << split.getElementType();
  return success();
}

void SplitHeadsOp::build(OpBuilder &builder, OperationState &state,
                         Value input, int64_t numHeads) {
  auto inputType = tensorType(input);
  SmallVector<int64_t> shape(inputType.getShape());
  int64_t width = shape.back();
  shape.back() = numHeads;
  shape.push_back(width / numHeads);
  build(builder, state,
        RankedTensorType::get(shape, inputType.getElementType()), input);
}

LogicalResult SplitHeadsOp::verify() {
  return verifyHeadSplit(*this, getInput().getType(), getResult().getType());
}

void MergeHeadsOp::build(OpBuilder &builder, OperationState &state,
                         Value input) {
  auto inputType = tensorType(input);
  SmallVector<int64_t> shape(inputType.getShape());
  int64_t headDim = shape.pop_back_val();
  shape.back() *= headDim;
  build(builder, state,
        RankedTensorType::get(shape, inputType.getElementType()), input);
}

LogicalResult MergeHeadsOp::verify() {
  return verifyHeadSplit(*this, getResult().getType(), getInput().getType());
}

//===----------------------------------------------------------------------===//
// SplitOp and PositionIdsOp
//===----------------------------------------------------------------------===//

LogicalResult SplitOp::verify() {
  auto inputType = getInput().getType();
  int64_t rank = inputType.getRank();
  if (getResults().empty())
    return emitOpError() << "expects at least one result";
  if (rank < 1)
    return emitOpError() << "expects an input of rank >= 1, found "
                         << inputType;
  int64_t width = inputType.getDimSize(rank - 1);
  if (failed(verifyStatic(*this, "input last dimension", width)))
    return failure();
  int64_t total = 0;
  for (auto [index, result] : llvm::enumerate(getResults())) {
    std::string name = "result #" + std::to_string(index);
    if (failed(verifyRank(*this, name, result, rank)) ||
        failed(verifyElementType(*this, name, result,
                                 inputType.getElementType())))
      return failure();
    auto resultType = tensorType(result);
    for (int64_t i = 0; i < rank - 1; ++i)
      if (failed(verifyDim(*this,
                           "dimension " + std::to_string(i) + " of " + name,
                           resultType.getDimSize(i),
                           "the input's dimension " + std::to_string(i),
                           inputType.getDimSize(i))))
        return failure();
    int64_t part = resultType.getDimSize(rank - 1);
    if (failed(verifyStatic(*this, "last dimension of " + name, part)))
      return failure();
    total += part;
  }
  if (total != width)
    return emitOpError() << "expects the results' last dimensions to add up "
                            "to the input's ("
                         << width << "), found " << total;
  return success();
}

void PositionIdsOp::build(OpBuilder &builder, OperationState &state,
                          Value positions, Value ids) {
  build(builder, state,
        RankedTensorType::get(tensorType(ids).getShape(),
                              tensorType(positions).getElementType()),
        positions, ids);
}

LogicalResult PositionIdsOp::verify() {
  auto idsType = getIds().getType();
  if (failed(verifyRank(*this, "ids", getIds(), 2)) ||
      failed(verifyPositions(*this, getPositions(), idsType.getDimSize(0))))
    return failure();
  return verifyResultType(*this, getResult(), idsType.getShape(),
                          getPositions().getType().getElementType());
}

//===----------------------------------------------------------------------===//
// SelectTokensOp
//===----------------------------------------------------------------------===//

static SmallVector<int64_t> selectTokensShape(RankedTensorType input) {
  return {input.getDimSize(0), 1, input.getDimSize(2)};
}

void SelectTokensOp::build(OpBuilder &builder, OperationState &state,
                           Value input, Value index) {
  auto inputType = tensorType(input);
  build(builder, state,
        RankedTensorType::get(selectTokensShape(inputType),
                              inputType.getElementType()),
        input, index);
}

LogicalResult SelectTokensOp::verify() {
  auto inputType = getInput().getType();
  if (failed(verifyRank(*this, "input", getInput(), 3)) ||
      failed(verifyPositions(*this, getIndex(), inputType.getDimSize(0))))
    return failure();
  return verifyResultType(*this, getResult(), selectTokensShape(inputType),
                          inputType.getElementType());
}

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

int64_t RopeOp::getEffectiveRotaryDim() {
  if (std::optional<int64_t> rotaryDim = getRotaryDim())
    return *rotaryDim;
  return getInput().getType().getDimSize(3);
}

LogicalResult RopeOp::verify() {
  auto inputType = getInput().getType();
  if (failed(verifyRank(*this, "input", getInput(), 4)) ||
      failed(verifyStatic(*this, "head_dim", inputType.getDimSize(3))) ||
      failed(verifyPositions(*this, getPositions(), inputType.getDimSize(0))))
    return failure();
  if (!(getTheta().convertToDouble() > 0.0))
    return emitOpError() << "expects theta > 0, found "
                         << getTheta().convertToDouble();
  int64_t headDim = inputType.getDimSize(3);
  int64_t rotaryDim = getEffectiveRotaryDim();
  if (rotaryDim <= 0 || rotaryDim > headDim)
    return emitOpError() << "expects rotary_dim (" << rotaryDim
                         << ") in [1, head_dim (" << headDim << ")]";
  if (rotaryDim % 2 != 0)
    return emitOpError() << "expects an even rotary_dim, found " << rotaryDim
                         << (getRotaryDim() ? "" : " (head_dim)");
  return success();
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

static SmallVector<int64_t> attentionShape(RankedTensorType query,
                                           RankedTensorType values) {
  SmallVector<int64_t> shape(query.getShape());
  shape.back() = values.getDimSize(3);
  return shape;
}

void AttentionOp::build(OpBuilder &builder, OperationState &state,
                        Value query, Value keys, Value values, Value positions,
                        bool causal) {
  auto queryType = tensorType(query);
  build(builder, state,
        RankedTensorType::get(attentionShape(queryType, tensorType(values)),
                              queryType.getElementType()),
        query, keys, values, positions, causal, /*scale=*/nullptr,
        /*sliding_window=*/nullptr);
}

LogicalResult AttentionOp::verify() {
  auto queryType = getQuery().getType();
  auto keysType = getKeys().getType();
  auto valuesType = getValues().getType();
  Type elementType = queryType.getElementType();
  if (failed(verifyRank(*this, "query", getQuery(), 4)) ||
      failed(verifyRank(*this, "keys", getKeys(), 4)) ||
      failed(verifyRank(*this, "values", getValues(), 4)) ||
      failed(verifyElementType(*this, "keys", getKeys(), elementType)) ||
      failed(verifyElementType(*this, "values", getValues(), elementType)))
    return failure();
  int64_t batch = queryType.getDimSize(0);
  int64_t heads = queryType.getDimSize(2);
  int64_t kvHeads = keysType.getDimSize(2);
  if (failed(verifyDim(*this, "the keys' batch", keysType.getDimSize(0),
                       "the query's batch", batch)) ||
      failed(verifyDim(*this, "the values' batch", valuesType.getDimSize(0),
                       "the query's batch", batch)) ||
      failed(verifyDim(*this, "the values' kv_len", valuesType.getDimSize(1),
                       "the keys' kv_len", keysType.getDimSize(1))) ||
      failed(verifyStatic(*this, "number of query heads", heads)) ||
      failed(verifyStatic(*this, "number of KV heads", kvHeads)) ||
      failed(verifyDim(*this, "the values' KV heads",
                       valuesType.getDimSize(2), "the keys' KV heads",
                       kvHeads)) ||
      failed(verifyStatic(*this, "head_dim", queryType.getDimSize(3))) ||
      failed(verifyDim(*this, "the keys' head_dim", keysType.getDimSize(3),
                       "the query's head_dim", queryType.getDimSize(3))))
    return failure();
  if (heads % kvHeads != 0)
    return emitOpError() << "expects the number of query heads (" << heads
                         << ") to be a multiple of the number of KV heads ("
                         << kvHeads << ")";
  if (Value positions = getPositions()) {
    if (!getCausal())
      return emitOpError() << "expects 'causal' when positions are given: "
                              "positions only shift the causal mask";
    if (failed(verifyPositions(*this, positions, batch)))
      return failure();
  }
  if (FloatAttr scale = getScaleAttr();
      scale && !(scale.getValueAsDouble() > 0.0))
    return emitOpError() << "expects scale > 0, found "
                         << scale.getValueAsDouble();
  if (std::optional<int64_t> window = getSlidingWindow()) {
    if (!getCausal())
      return emitOpError() << "expects 'causal' with a sliding_window";
    if (*window <= 0)
      return emitOpError() << "expects sliding_window > 0, found " << *window;
  }
  return verifyResultType(*this, getResult(),
                          attentionShape(queryType, valuesType), elementType);
}

LogicalResult FusedAttentionOp::verify() {
  auto shape = [](Value v) { return cast<ShapedType>(v.getType()); };
  bool tensors = isa<RankedTensorType>(getQuery().getType());
  SmallVector<Value> operands = {getQuery(), getKeys(), getValues(),
                                 getInit()};
  if (Value positions = getPositions())
    operands.push_back(positions);
  for (Value operand : operands)
    if (isa<RankedTensorType>(operand.getType()) != tensors)
      return emitOpError() << "expects all operands on tensors or all on "
                              "buffers, found "
                           << operand.getType();
  for (auto [name, value] : {std::pair<StringRef, Value>{"query", getQuery()},
                             {"keys", getKeys()},
                             {"values", getValues()},
                             {"init", getInit()}}) {
    if (shape(value).getRank() != 4)
      return emitOpError() << "expects " << name << " of rank 4, found "
                           << value.getType();
    if (shape(value).getElementType() != shape(getQuery()).getElementType())
      return emitOpError() << "expects " << name << " element type "
                           << shape(getQuery()).getElementType() << ", found "
                           << shape(value).getElementType();
  }
  ArrayRef<int64_t> query = shape(getQuery()).getShape(),
                    keys = shape(getKeys()).getShape(),
                    values = shape(getValues()).getShape(),
                    init = shape(getInit()).getShape();
  for (int64_t d = 0; d < 3; ++d)
    if (failed(verifyDim(*this, "init's dimension " + std::to_string(d),
                         init[d], "the query's", query[d])))
      return failure();
  if (failed(verifyDim(*this, "init's head_dim", init[3],
                       "the values' head_dim", values[3])))
    return failure();
  if (failed(verifyDim(*this, "the values' kv_len", values[1],
                       "the keys' kv_len", keys[1])) ||
      failed(verifyDim(*this, "the values' KV heads", values[2],
                       "the keys' KV heads", keys[2])) ||
      failed(verifyStatic(*this, "number of query heads", query[2])) ||
      failed(verifyStatic(*this, "number of KV heads", keys[2])) ||
      failed(verifyStatic(*this, "head_dim", query[3])) ||
      failed(verifyStatic(*this, "value head_dim", values[3])) ||
      failed(verifyDim(*this, "the keys' head_dim", keys[3],
                       "the query's head_dim", query[3])))
    return failure();
  if (query[2] % keys[2] != 0)
    return emitOpError() << "expects the number of query heads (" << query[2]
                         << ") to be a multiple of the number of KV heads ("
                         << keys[2] << ")";
  if (getPositions() && !getCausal())
    return emitOpError() << "expects 'causal' when positions are given";
  if (getSlidingWindow() && !getCausal())
    return emitOpError() << "expects 'causal' with a sliding_window";
  if (!(getScale().convertToDouble() > 0.0))
    return emitOpError() << "expects scale > 0, found "
                         << getScale().convertToDouble();
  if (tensors != (getNumResults() == 1) ||
      (tensors && getResult()[0].getType() != getInit().getType()))
    return emitOpError() << "expects one result of init's type on tensors, "
                            "none on buffers";
  return success();
}

void FusedAttentionOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  for (OpOperand &operand : getOperation()->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    effects.emplace_back(MemoryEffects::Read::get(), &operand,
                         SideEffects::DefaultResource::get());
    if (&operand == &getInitMutable())
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

//===----------------------------------------------------------------------===//
// KVCacheUpdateOp and KVCacheReadOp
//===----------------------------------------------------------------------===//

LogicalResult KVCacheUpdateOp::verify() {
  KVCacheType cache = getCache().getType();
  auto keysType = getKeys().getType();
  if (failed(verifyLayer(*this, getLayer(), cache)) ||
      failed(verifyRank(*this, "keys", getKeys(), 4)) ||
      failed(verifyElementType(*this, "keys", getKeys(),
                               cache.getElementType())) ||
      failed(verifyDim(*this, "the keys' batch", keysType.getDimSize(0),
                       "the cache's batch", cache.getBatch())) ||
      failed(verifyDim(*this, "the keys' KV heads", keysType.getDimSize(2),
                       "the cache's kv_heads", cache.getNumKVHeads())) ||
      failed(verifyDim(*this, "the keys' head_dim", keysType.getDimSize(3),
                       "the cache's head_dim", cache.getHeadDim())) ||
      failed(verifyPositions(*this, getPositions(), keysType.getDimSize(0))))
    return failure();
  int64_t seq = keysType.getDimSize(1);
  if (!ShapedType::isDynamic(seq) && seq > cache.getMaxSeqLen())
    return emitOpError() << "expects at most max_seq ("
                         << cache.getMaxSeqLen()
                         << ") new positions, found " << seq;
  return success();
}

void KVCacheReadOp::build(OpBuilder &builder, OperationState &state,
                          Value cache, Value layer) {
  auto layerType = cast<KVCacheType>(cache.getType()).getLayerTensorType();
  build(builder, state, layerType, layerType, cache, layer);
}

LogicalResult KVCacheReadOp::verify() {
  KVCacheType cache = getCache().getType();
  if (failed(verifyLayer(*this, getLayer(), cache)))
    return failure();
  RankedTensorType layerType = cache.getLayerTensorType();
  if (failed(verifyResultType(*this, getKeys(), layerType.getShape(),
                              layerType.getElementType())))
    return failure();
  return verifyResultType(*this, getValues(), layerType.getShape(),
                          layerType.getElementType());
}

//===----------------------------------------------------------------------===//
// SoftmaxOp
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank();
  int64_t axis = getAxis();
  if (axis < -rank || axis >= rank)
    return emitOpError() << "expects axis in [" << -rank << ", " << rank
                         << "), found " << axis;
  return success();
}

#define GET_OP_CLASSES
#include "llmc/Dialect/LLM/IR/LLMOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Collectives on buffers
//===----------------------------------------------------------------------===//

/// Mesh axes name dp, pp and tp; a buffer moved whole must be contiguous.
static LogicalResult verifyCollective(Operation *op, ArrayRef<int64_t> axes,
                                      ArrayRef<Value> buffers) {
  if (axes.empty())
    return op->emitOpError() << "expects at least one mesh axis";
  for (auto [i, axis] : llvm::enumerate(axes))
    if (axis < 0 || axis > 2 || llvm::is_contained(axes.take_front(i), axis))
      return op->emitOpError()
             << "expects distinct mesh axes in [0, 2] (dp, pp, tp), found "
             << axis;
  for (Value buffer : buffers)
    if (!cast<MemRefType>(buffer.getType()).getLayout().isIdentity())
      return op->emitOpError() << "expects contiguous buffers (identity "
                                  "layout), found "
                               << buffer.getType();
  return success();
}

LogicalResult AllReduceBufferOp::verify() {
  return verifyCollective(*this, getMeshAxes(), {getBuffer()});
}

LogicalResult AllGatherBufferOp::verify() {
  if (failed(verifyCollective(*this, getMeshAxes(), {getInput(), getOutput()})))
    return failure();
  auto input = cast<MemRefType>(getInput().getType());
  auto output = cast<MemRefType>(getOutput().getType());
  int64_t axis = getGatherAxisAttr().getInt();
  if (input.getRank() != output.getRank() || axis < 0 ||
      axis >= input.getRank())
    return emitOpError() << "expects input and output of one rank and a "
                            "gather axis below it, found "
                         << input << ", " << output << ", axis " << axis;
  if (input.getElementType() != output.getElementType())
    return emitOpError() << "expects one element type, found "
                         << input.getElementType() << " and "
                         << output.getElementType();
  return success();
}

LogicalResult SendBufferOp::verify() {
  if (getPeerAttr().getInt() < 0)
    return emitOpError() << "expects a non-negative peer, found "
                         << getPeerAttr().getInt();
  return verifyCollective(*this, getMeshAxes(), {getBuffer()});
}

LogicalResult RecvBufferOp::verify() {
  if (getPeerAttr().getInt() < 0)
    return emitOpError() << "expects a non-negative peer, found "
                         << getPeerAttr().getInt();
  return verifyCollective(*this, getMeshAxes(), {getBuffer()});
}
