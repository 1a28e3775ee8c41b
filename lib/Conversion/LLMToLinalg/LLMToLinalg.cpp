//===- LLMToLinalg.cpp - llm ops to linalg, tensor, arith and math --------===//

#include "llmc/Conversion/Passes.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace llmc {
#define GEN_PASS_DEF_CONVERTLLMTOLINALG
#include "llmc/Conversion/Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

/// The tensor type a KV cache becomes: keys at [0] and values at [1] of
/// 2 x layers x batch x max_seq x kv_heads x head_dim.
RankedTensorType convertCacheType(llm::KVCacheType cache) {
  return RankedTensorType::get({2, cache.getNumLayers(), cache.getBatch(),
                                cache.getMaxSeqLen(), cache.getNumKVHeads(),
                                cache.getHeadDim()},
                               cache.getElementType());
}

/// An empty tensor of `shape` (dynamic sizes taken from `sizes`).
Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elementType) {
  return b.create<tensor::EmptyOp>(loc, sizes, elementType);
}

/// The sizes of `value` as a mix of constants and tensor.dim values.
SmallVector<OpFoldResult> sizesOf(OpBuilder &b, Location loc, Value value) {
  return tensor::getMixedSizes(b, loc, value);
}

/// A tensor of `sizes` filled with `value`.
Value filled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
             Type elementType, TypedAttr value) {
  Value empty = emptyTensor(b, loc, sizes, elementType);
  Value scalar = b.create<arith::ConstantOp>(loc, value);
  return b.create<linalg::FillOp>(loc, scalar, empty).getResult(0);
}

Value floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  return b.create<arith::ConstantOp>(loc, b.getFloatAttr(type, value));
}

/// Where sums over elements of `type` accumulate: f32 for 16-bit floats (as
/// cuBLAS and PyTorch do: a 16-bit sum of thousands of products loses most
/// of its bits, a sum of squares overflows f16), the type itself otherwise.
Type accumulatorType(Type type) {
  if (type.getIntOrFloatBitWidth() < 32)
    return Float32Type::get(type.getContext());
  return type;
}

/// `value` as float type `type`.
Value convertFloat(OpBuilder &b, Location loc, Value value, Type type) {
  unsigned from = value.getType().getIntOrFloatBitWidth();
  unsigned to = type.getIntOrFloatBitWidth();
  if (value.getType() == type)
    return value;
  if (from < to)
    return b.create<arith::ExtFOp>(loc, type, value);
  return b.create<arith::TruncFOp>(loc, type, value);
}

/// The map (d0..d{rank-1}) -> (the listed dims).
AffineMap dimsMap(MLIRContext *context, unsigned rank,
                  ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : dims)
    exprs.push_back(getAffineDimExpr(d, context));
  return AffineMap::get(rank, 0, exprs, context);
}

/// All dims but `skipped`, in order.
SmallVector<unsigned> allDimsBut(unsigned rank, unsigned skipped) {
  SmallVector<unsigned> dims;
  for (unsigned d = 0; d < rank; ++d)
    if (d != skipped)
      dims.push_back(d);
  return dims;
}

SmallVector<unsigned> allDims(unsigned rank) {
  return allDimsBut(rank, rank);
}

using BodyBuilder =
    function_ref<Value(OpBuilder &, Location, ValueRange /*args*/)>;

/// A linalg.generic with one result written to `init`; `body` gets the
/// block arguments (inputs, then the output) and returns the value to yield.
Value generic(OpBuilder &b, Location loc, ValueRange inputs, Value init,
              ArrayRef<AffineMap> maps,
              ArrayRef<utils::IteratorType> iterators, BodyBuilder body) {
  auto op = b.create<linalg::GenericOp>(
      loc, init.getType(), inputs, init, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        nested.create<linalg::YieldOp>(nestedLoc,
                                       body(nested, nestedLoc, args));
      });
  return op.getResult(0);
}

SmallVector<utils::IteratorType> parallel(unsigned rank) {
  return SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel);
}

/// Iterators with the listed dims reducing.
SmallVector<utils::IteratorType> reducing(unsigned rank,
                                          ArrayRef<unsigned> reductions) {
  SmallVector<utils::IteratorType> iterators = parallel(rank);
  for (unsigned d : reductions)
    iterators[d] = utils::IteratorType::reduction;
  return iterators;
}

/// The body of a contraction: acc + lhs * rhs, in the accumulator's type.
Value multiplyAccumulate(OpBuilder &b, Location l, ValueRange args) {
  Type acc = args[2].getType();
  Value mul = b.create<arith::MulFOp>(l, convertFloat(b, l, args[0], acc),
                                      convertFloat(b, l, args[1], acc));
  return b.create<arith::AddFOp>(l, args[2], mul);
}

/// A contraction of `inputs` into a zero tensor of `sizes` in the
/// accumulator type of `elementType`.
Value contract(OpBuilder &b, Location loc, ValueRange inputs,
               ArrayRef<OpFoldResult> sizes, Type elementType,
               ArrayRef<AffineMap> maps,
               ArrayRef<utils::IteratorType> iterators) {
  Type acc = accumulatorType(elementType);
  Value init = filled(b, loc, sizes, acc, b.getFloatAttr(acc, 0.0));
  return generic(b, loc, inputs, init, maps, iterators, multiplyAccumulate);
}

/// Elementwise op over same-shaped tensors, of `resultType` elements (by
/// default those of `inputs[0]`).
Value elementwise(OpBuilder &b, Location loc, ValueRange inputs,
                  BodyBuilder body, Type resultType = {}) {
  auto type = cast<RankedTensorType>(inputs[0].getType());
  unsigned rank = type.getRank();
  Value init = emptyTensor(b, loc, sizesOf(b, loc, inputs[0]),
                           resultType ? resultType : type.getElementType());
  SmallVector<AffineMap> maps(inputs.size() + 1,
                              b.getMultiDimIdentityMap(rank));
  return generic(b, loc, inputs, init, maps, parallel(rank), body);
}

/// `x` converted elementwise to float type `type`.
Value converted(OpBuilder &b, Location loc, Value x, Type type) {
  if (cast<RankedTensorType>(x.getType()).getElementType() == type)
    return x;
  return elementwise(
      b, loc, x,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        return convertFloat(nb, l, args[0], type);
      },
      type);
}

/// The maximum of `x` over dim `axis`, or the sum of `term(x)` in the
/// accumulator type, into a tensor without that dim.
Value reduce(OpBuilder &b, Location loc, Value x, unsigned axis, bool max,
             function_ref<Value(OpBuilder &, Location, Value)> term = {}) {
  auto type = cast<RankedTensorType>(x.getType());
  unsigned rank = type.getRank();
  Type elementType =
      max ? type.getElementType() : accumulatorType(type.getElementType());
  SmallVector<OpFoldResult> sizes = sizesOf(b, loc, x);
  sizes.erase(sizes.begin() + axis);
  auto floatType = cast<FloatType>(elementType);
  TypedAttr init =
      max ? b.getFloatAttr(elementType,
                           APFloat::getInf(floatType.getFloatSemantics(),
                                           /*Negative=*/true))
          : b.getFloatAttr(elementType, 0.0);
  Value acc = filled(b, loc, sizes, elementType, init);
  MLIRContext *context = b.getContext();
  SmallVector<AffineMap> maps = {
      b.getMultiDimIdentityMap(rank),
      dimsMap(context, rank, allDimsBut(rank, axis))};
  return generic(b, loc, x, acc, maps, reducing(rank, {axis}),
                 [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
                   if (max)
                     return nb.create<arith::MaximumFOp>(l, args[0], args[1]);
                   Value value = convertFloat(nb, l, args[0], elementType);
                   if (term)
                     value = term(nb, l, value);
                   return nb.create<arith::AddFOp>(l, value, args[1]);
                 });
}

/// body(x, broadcast(y)) as a tensor of `resultType` elements, where y lacks
/// dim `axis` of x.
Value withReduced(OpBuilder &b, Location loc, Value x, Value reduced,
                  unsigned axis, Type resultType, BodyBuilder body) {
  auto type = cast<RankedTensorType>(x.getType());
  unsigned rank = type.getRank();
  Value init = emptyTensor(b, loc, sizesOf(b, loc, x), resultType);
  MLIRContext *context = b.getContext();
  SmallVector<AffineMap> maps = {
      b.getMultiDimIdentityMap(rank),
      dimsMap(context, rank, allDimsBut(rank, axis)),
      b.getMultiDimIdentityMap(rank)};
  return generic(b, loc, ValueRange{x, reduced}, init, maps, parallel(rank),
                 body);
}

/// softmax(x) along `axis` as `resultType` elements, subtracting the
/// maximum first; exponentials and their sum in x's accumulator type.
Value softmax(OpBuilder &b, Location loc, Value x, unsigned axis,
              Type resultType) {
  Type acc =
      accumulatorType(cast<RankedTensorType>(x.getType()).getElementType());
  Value max = reduce(b, loc, x, axis, /*max=*/true);
  Value exps = withReduced(
      b, loc, x, max, axis, acc,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value shifted = nb.create<arith::SubFOp>(l, args[0], args[1]);
        return nb.create<math::ExpOp>(l, convertFloat(nb, l, shifted, acc))
            .getResult();
      });
  Value sum = reduce(b, loc, exps, axis, /*max=*/false);
  return withReduced(b, loc, exps, sum, axis, resultType,
                     [&](OpBuilder &nb, Location l, ValueRange args) {
                       Value p = nb.create<arith::DivFOp>(l, args[0], args[1]);
                       return convertFloat(nb, l, p, resultType);
                     });
}

/// An index value from an integer or index scalar.
Value toIndex(OpBuilder &b, Location loc, Value value) {
  if (value.getType().isIndex())
    return value;
  return b.create<arith::IndexCastOp>(loc, b.getIndexType(), value);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

struct GetParamLowering : OpConversionPattern<llm::GetParamOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::GetParamOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getType();
    auto memref = MemRefType::get(type.getShape(), type.getElementType());
    Value buffer = rewriter.create<llm::ParamBufferOp>(op.getLoc(), memref,
                                                       op.getNameAttr());
    rewriter.replaceOpWithNewOp<bufferization::ToTensorOp>(
        op, type, buffer, /*restrict=*/true, /*writable=*/false);
    return success();
  }
};

struct EmbeddingLowering : OpConversionPattern<llm::EmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::EmbeddingOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    unsigned rank = type.getRank();
    SmallVector<OpFoldResult> sizes = sizesOf(rewriter, loc, adaptor.getIds());
    sizes.push_back(rewriter.getIndexAttr(type.getShape().back()));
    Value init = emptyTensor(rewriter, loc, sizes, type.getElementType());
    Value table = adaptor.getTable();
    SmallVector<AffineMap> maps = {
        dimsMap(getContext(), rank, allDimsBut(rank, rank - 1)),
        rewriter.getMultiDimIdentityMap(rank)};
    rewriter.replaceOp(
        op, generic(rewriter, loc, adaptor.getIds(), init, maps,
                    parallel(rank),
                    [&](OpBuilder &b, Location l, ValueRange args) -> Value {
                      Value row = toIndex(b, l, args[0]);
                      Value col = b.create<linalg::IndexOp>(l, rank - 1);
                      std::optional<int64_t> offset = op.getVocabOffset();
                      if (!offset)
                        return b.create<tensor::ExtractOp>(
                            l, table, ValueRange{row, col});
                      // A vocabulary shard: ids of other ranks read row 0
                      // and give zero.
                      int64_t rows = op.getTable().getType().getDimSize(0);
                      Value local = b.create<arith::SubIOp>(
                          l, row, b.create<arith::ConstantIndexOp>(l, *offset));
                      Value zeroIndex = b.create<arith::ConstantIndexOp>(l, 0);
                      Value inRange = b.create<arith::AndIOp>(
                          l,
                          b.create<arith::CmpIOp>(l, arith::CmpIPredicate::sge,
                                                  local, zeroIndex),
                          b.create<arith::CmpIOp>(
                              l, arith::CmpIPredicate::slt, local,
                              b.create<arith::ConstantIndexOp>(l, rows)));
                      Value safeRow = b.create<arith::SelectOp>(
                          l, inRange, local, zeroIndex);
                      Value value = b.create<tensor::ExtractOp>(
                          l, table, ValueRange{safeRow, col});
                      Value zero = b.create<arith::ConstantOp>(
                          l, b.getZeroAttr(value.getType()));
                      return b.create<arith::SelectOp>(l, inRange, value,
                                                       zero);
                    }));
    return success();
  }
};

/// Sum over the last dim of x·W (W `out x in`, or `in x out`), plus bias.
struct LinearLowering : OpConversionPattern<llm::LinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    unsigned rank = type.getRank();
    Type elementType = type.getElementType();
    // Loops: the weight's outer dim first, so each weight row is read from
    // memory once and reused for every token while it is in cache, then the
    // tokens, then its contiguous dim innermost: (n, tokens..., k) for
    // `out x in`, (k, tokens..., n) for `in x out`.
    unsigned loops = rank + 1;
    bool inOut = op.getWeightInOut();
    unsigned n = inOut ? rank : 0, k = inOut ? 0 : rank;
    SmallVector<OpFoldResult> sizes =
        sizesOf(rewriter, loc, adaptor.getInput());
    sizes.back() = rewriter.getIndexAttr(type.getShape().back());
    SmallVector<unsigned> tokens;
    for (unsigned d = 1; d < rank; ++d)
      tokens.push_back(d);
    auto with = [&](unsigned last) {
      SmallVector<unsigned> dims = tokens;
      dims.push_back(last);
      return dimsMap(getContext(), loops, dims);
    };
    SmallVector<AffineMap> maps = {with(k),
                                   dimsMap(getContext(), loops,
                                           inOut ? SmallVector<unsigned>{k, n}
                                                 : SmallVector<unsigned>{n, k}),
                                   with(n)};
    Value product = contract(
        rewriter, loc, ValueRange{adaptor.getInput(), adaptor.getWeight()},
        sizes, elementType, maps, reducing(loops, {k}));
    if (Value bias = adaptor.getBias()) {
      // The bias added to the accumulated sum, then rounded once.
      Value biasInit = emptyTensor(rewriter, loc, sizes, elementType);
      SmallVector<AffineMap> biasMaps = {
          rewriter.getMultiDimIdentityMap(rank),
          dimsMap(getContext(), rank, {rank - 1}),
          rewriter.getMultiDimIdentityMap(rank)};
      product = generic(
          rewriter, loc, ValueRange{product, bias}, biasInit, biasMaps,
          parallel(rank), [&](OpBuilder &b, Location l, ValueRange args) {
            Type acc = args[0].getType();
            Value sum = b.create<arith::AddFOp>(
                l, args[0], convertFloat(b, l, args[1], acc));
            return convertFloat(b, l, sum, elementType);
          });
    }
    rewriter.replaceOp(op, converted(rewriter, loc, product, elementType));
    return success();
  }
};

/// Batched [..., m, k] x [..., k, n].
struct MatmulLowering : OpConversionPattern<llm::MatmulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    unsigned rank = type.getRank();
    Type elementType = type.getElementType();
    unsigned loops = rank + 1, m = rank - 2, n = rank - 1, k = rank;
    SmallVector<OpFoldResult> sizes = sizesOf(rewriter, loc, adaptor.getLhs());
    sizes.back() = tensor::getMixedSize(rewriter, loc, adaptor.getRhs(), n);
    SmallVector<unsigned> batch = allDims(rank - 2);
    auto with = [&](ArrayRef<unsigned> tail) {
      SmallVector<unsigned> dims = batch;
      dims.append(tail.begin(), tail.end());
      return dimsMap(getContext(), loops, dims);
    };
    SmallVector<AffineMap> maps = {with({m, k}), with({k, n}), with({m, n})};
    Value product =
        contract(rewriter, loc, ValueRange{adaptor.getLhs(), adaptor.getRhs()},
                 sizes, elementType, maps, reducing(loops, {k}));
    rewriter.replaceOp(op, converted(rewriter, loc, product, elementType));
    return success();
  }
};

/// The sum of x (or of x squared) over the last dim, in x's accumulator
/// type, without that dim. Its users scale it by 1 / (last dim) themselves:
/// no pass of its own for the mean, so a norm is a sum and one elementwise
/// op (on a GPU, one kernel: llmc-gpu-warp-reductions).
Value sumLastDim(OpBuilder &b, Location loc, Value x, bool squared) {
  auto type = cast<RankedTensorType>(x.getType());
  unsigned axis = type.getRank() - 1;
  return reduce(b, loc, x, axis, /*max=*/false,
                [&](OpBuilder &nb, Location l, Value v) -> Value {
                  if (!squared)
                    return v;
                  return nb.create<arith::MulFOp>(l, v, v);
                });
}

/// 1 / (x's last dim) in `type`.
Value inverseCount(OpBuilder &b, Location loc, Value x, Type type) {
  auto shape = cast<RankedTensorType>(x.getType()).getShape();
  return floatConstant(b, loc, type, 1.0 / static_cast<double>(shape.back()));
}

/// x / sqrt(sumsq / n + eps) * weight (+ bias) as `resultType` elements,
/// with sumsq (x's squares summed over its last dim of n) lacking the last
/// dim; computed in sumsq's type and rounded once.
Value normalize(OpBuilder &b, Location loc, Value x, Value sumsq,
                double epsilon, Value weight, Value bias, Type resultType) {
  auto type = cast<RankedTensorType>(x.getType());
  unsigned rank = type.getRank();
  MLIRContext *context = b.getContext();
  Type acc = cast<RankedTensorType>(sumsq.getType()).getElementType();
  Value eps = floatConstant(b, loc, acc, epsilon);
  Value scale = inverseCount(b, loc, x, acc);
  SmallVector<Value> inputs = {x, sumsq, weight};
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank),
                                 dimsMap(context, rank,
                                         allDimsBut(rank, rank - 1)),
                                 dimsMap(context, rank, {rank - 1})};
  if (bias) {
    inputs.push_back(bias);
    maps.push_back(dimsMap(context, rank, {rank - 1}));
  }
  maps.push_back(b.getMultiDimIdentityMap(rank));
  Value init = emptyTensor(b, loc, sizesOf(b, loc, x), resultType);
  return generic(
      b, loc, inputs, init, maps, parallel(rank),
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        auto wide = [&](Value v) { return convertFloat(nb, l, v, acc); };
        Value ms = nb.create<arith::MulFOp>(l, args[1], scale);
        Value shifted = nb.create<arith::AddFOp>(l, ms, eps);
        Value root = nb.create<math::SqrtOp>(l, shifted);
        Value normed = nb.create<arith::DivFOp>(l, wide(args[0]), root);
        Value scaled = nb.create<arith::MulFOp>(l, normed, wide(args[2]));
        if (bias)
          scaled = nb.create<arith::AddFOp>(l, scaled, wide(args[3]));
        return convertFloat(nb, l, scaled, resultType);
      });
}

struct RMSNormLowering : OpConversionPattern<llm::RMSNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::RMSNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    Value sumsq = sumLastDim(rewriter, loc, x, /*squared=*/true);
    rewriter.replaceOp(op, normalize(rewriter, loc, x, sumsq,
                                     op.getEpsilon().convertToDouble(),
                                     adaptor.getWeight(), Value(),
                                     op.getType().getElementType()));
    return success();
  }
};

struct LayerNormLowering : OpConversionPattern<llm::LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    unsigned axis = op.getType().getRank() - 1;
    // Mean, centered values and variance in the accumulator type.
    Value sum = sumLastDim(rewriter, loc, x, /*squared=*/false);
    Type acc = cast<RankedTensorType>(sum.getType()).getElementType();
    Value scale = inverseCount(rewriter, loc, x, acc);
    Value centered = withReduced(
        rewriter, loc, x, sum, axis, acc,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value mean = b.create<arith::MulFOp>(l, args[1], scale);
          return b
              .create<arith::SubFOp>(l, convertFloat(b, l, args[0], acc), mean)
              .getResult();
        });
    Value sumsq = sumLastDim(rewriter, loc, centered, /*squared=*/true);
    rewriter.replaceOp(op, normalize(rewriter, loc, centered, sumsq,
                                     op.getEpsilon().convertToDouble(),
                                     adaptor.getWeight(), adaptor.getBias(),
                                     op.getType().getElementType()));
    return success();
  }
};

struct SplitHeadsLowering : OpConversionPattern<llm::SplitHeadsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::SplitHeadsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    unsigned rank = type.getRank();
    SmallVector<OpFoldResult> sizes =
        sizesOf(rewriter, loc, adaptor.getInput());
    sizes.back() = rewriter.getIndexAttr(type.getDimSize(rank - 2));
    sizes.push_back(rewriter.getIndexAttr(type.getDimSize(rank - 1)));
    SmallVector<ReassociationIndices> groups;
    for (unsigned d = 0; d + 2 < rank; ++d)
      groups.push_back({d});
    groups.push_back({rank - 2, rank - 1});
    rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(
        op, type, adaptor.getInput(), groups, sizes);
    return success();
  }
};

struct MergeHeadsLowering : OpConversionPattern<llm::MergeHeadsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::MergeHeadsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    unsigned rank = op.getInput().getType().getRank();
    SmallVector<ReassociationIndices> groups;
    for (unsigned d = 0; d + 2 < rank; ++d)
      groups.push_back({d});
    groups.push_back({rank - 2, rank - 1});
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
        op, op.getType(), adaptor.getInput(), groups);
    return success();
  }
};

struct SplitLowering : OpConversionPattern<llm::SplitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::SplitOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    unsigned rank = op.getInput().getType().getRank();
    SmallVector<Value> parts;
    int64_t offset = 0;
    for (Value result : op.getResults()) {
      auto type = cast<RankedTensorType>(result.getType());
      SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
      offsets.back() = rewriter.getIndexAttr(offset);
      SmallVector<OpFoldResult> sizes = sizesOf(rewriter, loc, input);
      sizes.back() = rewriter.getIndexAttr(type.getShape().back());
      SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
      parts.push_back(rewriter.create<tensor::ExtractSliceOp>(
          loc, type, input, offsets, sizes, strides));
      offset += type.getShape().back();
    }
    rewriter.replaceOp(op, parts);
    return success();
  }
};

/// result[b, 0, d] = input[b, index[b], d].
struct SelectTokensLowering : OpConversionPattern<llm::SelectTokensOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::SelectTokensOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    Value input = adaptor.getInput();
    SmallVector<OpFoldResult> sizes = sizesOf(rewriter, loc, input);
    sizes[1] = rewriter.getIndexAttr(1);
    Value init = emptyTensor(rewriter, loc, sizes, type.getElementType());
    SmallVector<AffineMap> maps = {dimsMap(getContext(), 3, {0}),
                                   rewriter.getMultiDimIdentityMap(3)};
    rewriter.replaceOp(
        op, generic(rewriter, loc, adaptor.getIndex(), init, maps,
                    parallel(3),
                    [&](OpBuilder &b, Location l, ValueRange args) -> Value {
                      Value row = b.create<linalg::IndexOp>(l, 0);
                      Value column = b.create<linalg::IndexOp>(l, 2);
                      return b.create<tensor::ExtractOp>(
                          l, input,
                          ValueRange{row, toIndex(b, l, args[0]), column});
                    }));
    return success();
  }
};

struct PositionIdsLowering : OpConversionPattern<llm::PositionIdsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::PositionIdsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type elementType = op.getType().getElementType();
    Value init = emptyTensor(rewriter, loc,
                             sizesOf(rewriter, loc, adaptor.getIds()),
                             elementType);
    SmallVector<AffineMap> maps = {dimsMap(getContext(), 2, {0}),
                                   rewriter.getMultiDimIdentityMap(2)};
    rewriter.replaceOp(
        op, generic(rewriter, loc, adaptor.getPositions(), init, maps,
                    parallel(2),
                    [&](OpBuilder &b, Location l, ValueRange args) -> Value {
                      Value s = b.create<arith::IndexCastOp>(
                          l, elementType, b.create<linalg::IndexOp>(l, 1));
                      return b.create<arith::AddIOp>(l, args[0], s);
                    }));
    return success();
  }
};

/// The rotary frequencies θ^(-2i/rotary_dim), rescaled as `scaling` says,
/// computed like transformers does (in float32).
SmallVector<float> rotaryFrequencies(double theta, int64_t rotaryDim,
                                     llm::RopeScalingAttr scaling) {
  SmallVector<float> frequencies;
  for (int64_t i = 0; i < rotaryDim / 2; ++i) {
    float exponent = static_cast<float>(2 * i) / static_cast<float>(rotaryDim);
    float frequency =
        1.0f / std::pow(static_cast<float>(theta), exponent);
    if (scaling) {
      double factor = scaling.getFactor().getValueAsDouble();
      if (scaling.getKind() == llm::RopeScalingKind::linear) {
        frequency = frequency / static_cast<float>(factor);
      } else {
        double low = scaling.getLowFreqFactor().getValueAsDouble();
        double high = scaling.getHighFreqFactor().getValueAsDouble();
        double original = static_cast<double>(
            *scaling.getOriginalMaxPositionEmbeddings());
        double wavelength = 2 * M_PI / frequency;
        double lowWavelength = original / low;
        double highWavelength = original / high;
        if (wavelength > lowWavelength) {
          frequency = frequency / static_cast<float>(factor);
        } else if (wavelength >= highWavelength) {
          double smooth = (original / wavelength - low) / (high - low);
          frequency = static_cast<float>((1 - smooth) * frequency / factor +
                                         smooth * frequency);
        }
      }
    }
    frequencies.push_back(frequency);
  }
  return frequencies;
}

/// out[d] = x[d]·cos − x[d+half]·sin (d < half), x[d]·cos + x[d−half]·sin
/// (half ≤ d < rotary_dim), x[d] beyond; angle = position · freq[d mod half].
struct RopeLowering : OpConversionPattern<llm::RopeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::RopeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    Type elementType = type.getElementType();
    int64_t rotary = op.getEffectiveRotaryDim();
    int64_t half = rotary / 2;
    SmallVector<float> frequencies = rotaryFrequencies(
        op.getTheta().convertToDouble(), rotary, op.getScalingAttr());
    auto tableType = RankedTensorType::get({half}, rewriter.getF32Type());
    Value table = rewriter.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(tableType, ArrayRef<float>(frequencies)));
    Value x = adaptor.getInput();
    Value init = emptyTensor(rewriter, loc, sizesOf(rewriter, loc, x),
                             elementType);
    SmallVector<AffineMap> maps = {rewriter.getMultiDimIdentityMap(4),
                                   dimsMap(getContext(), 4, {0}),
                                   rewriter.getMultiDimIdentityMap(4)};
    Value result = generic(
        rewriter, loc, ValueRange{x, adaptor.getPositions()}, init, maps,
        parallel(4), [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          auto index = [&](int64_t value) {
            return b.create<arith::ConstantIndexOp>(l, value).getResult();
          };
          Value bIdx = b.create<linalg::IndexOp>(l, 0);
          Value s = b.create<linalg::IndexOp>(l, 1);
          Value h = b.create<linalg::IndexOp>(l, 2);
          Value d = b.create<linalg::IndexOp>(l, 3);
          Value inFirstHalf = b.create<arith::CmpIOp>(
              l, arith::CmpIPredicate::ult, d, index(half));
          Value rotated = b.create<arith::CmpIOp>(
              l, arith::CmpIPredicate::ult, d, index(rotary));
          // Frequency and partner indices, clamped where unused.
          Value dMinusHalf = b.create<arith::SubIOp>(l, d, index(half));
          Value dPlusHalf = b.create<arith::AddIOp>(l, d, index(half));
          Value freqIdx = b.create<arith::SelectOp>(
              l, inFirstHalf, d,
              b.create<arith::SelectOp>(l, rotated, dMinusHalf, index(0)));
          Value partnerIdx = b.create<arith::SelectOp>(
              l, inFirstHalf, dPlusHalf,
              b.create<arith::SelectOp>(l, rotated, dMinusHalf, d));
          Value frequency =
              b.create<tensor::ExtractOp>(l, table, ValueRange{freqIdx});
          Value sIdx = b.create<arith::IndexCastOp>(l, args[1].getType(), s);
          Value position = b.create<arith::AddIOp>(l, args[1], sIdx);
          Value positionF =
              b.create<arith::SIToFPOp>(l, b.getF32Type(), position);
          Value angle = b.create<arith::MulFOp>(l, positionF, frequency);
          Value cos = b.create<math::CosOp>(l, angle);
          Value sin = b.create<math::SinOp>(l, angle);
          Value partner = b.create<tensor::ExtractOp>(
              l, x, ValueRange{bIdx, s, h, partnerIdx});
          Value self = args[0];
          auto toF32 = [&](Value v) -> Value {
            if (v.getType().isF32())
              return v;
            return b.create<arith::ExtFOp>(l, b.getF32Type(), v);
          };
          Value selfCos = b.create<arith::MulFOp>(l, toF32(self), cos);
          Value partnerSin = b.create<arith::MulFOp>(l, toF32(partner), sin);
          Value first = b.create<arith::SubFOp>(l, selfCos, partnerSin);
          Value second = b.create<arith::AddFOp>(l, selfCos, partnerSin);
          Value out = b.create<arith::SelectOp>(l, inFirstHalf, first, second);
          if (!elementType.isF32())
            out = b.create<arith::TruncFOp>(l, elementType, out);
          return b.create<arith::SelectOp>(l, rotated, out, self);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// max(positions) + seq: one past the last key any query of the chunk sees.
Value causalLimit(OpBuilder &b, Location loc, Value positions, Value seq) {
  auto type = cast<RankedTensorType>(positions.getType());
  Type elementType = type.getElementType();
  Value init = b.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{}, elementType);
  Value lowest = b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(elementType, 0));
  init = b.create<linalg::FillOp>(loc, lowest, init).getResult(0);
  MLIRContext *context = b.getContext();
  Value max = generic(b, loc, positions, init,
                      {b.getMultiDimIdentityMap(1),
                       AffineMap::get(1, 0, {}, context)},
                      reducing(1, {0}),
                      [](OpBuilder &nb, Location l, ValueRange args) {
                        return nb.create<arith::MaxSIOp>(l, args[0], args[1])
                            .getResult();
                      });
  Value scalar = b.create<tensor::ExtractOp>(loc, max, ValueRange{});
  return b.create<arith::AddIOp>(loc, toIndex(b, loc, scalar), seq);
}

/// softmax(q·kᵀ·scale + mask)·v over loops [b, kv_head, group, s, t].
struct AttentionLowering : OpConversionPattern<llm::AttentionOp> {
  AttentionLowering(MLIRContext *context, bool fused, int64_t keyBucket)
      : OpConversionPattern(context), fused(fused), keyBucket(keyBucket) {}
  /// As llm.fused_attention, over the keys a query may see.
  bool fused;
  /// The causal limit rounded up to a multiple of this (Passes.td).
  int64_t keyBucket;

  LogicalResult
  matchAndRewrite(llm::AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = getContext();
    RankedTensorType queryType = op.getQuery().getType();
    RankedTensorType valuesType = op.getValues().getType();
    Type elementType = queryType.getElementType();
    int64_t heads = queryType.getDimSize(2);
    int64_t headDim = queryType.getDimSize(3);
    int64_t kvHeads = op.getKeys().getType().getDimSize(2);
    int64_t group = heads / kvHeads;
    int64_t valueDim = valuesType.getDimSize(3);
    double scale = op.getScaleAttr()
                       ? op.getScaleAttr().getValueAsDouble()
                       : 1.0 / std::sqrt(static_cast<double>(headDim));
    Value query = adaptor.getQuery(), keys = adaptor.getKeys(),
          values = adaptor.getValues();

    // q: [B, S, H, D] -> [B, S, Hkv, G, D].
    SmallVector<OpFoldResult> qSizes = sizesOf(rewriter, loc, query);
    OpFoldResult batch = qSizes[0], seq = qSizes[1];
    OpFoldResult kvLen = tensor::getMixedSize(rewriter, loc, keys, 1);
    auto idx = [&](int64_t v) { return rewriter.getIndexAttr(v); };
    // With causal positions no query sees past max(positions) + seq: read
    // only that prefix of the keys and values (of a KV cache window that
    // may be far longer), rounded up to the bucket.
    if (op.getCausal() && adaptor.getPositions()) {
      Value limit = causalLimit(rewriter, loc, adaptor.getPositions(),
                                getValueOrCreateConstantIndexOp(rewriter, loc,
                                                                seq));
      if (keyBucket > 1) {
        Value bucket = rewriter.create<arith::ConstantIndexOp>(loc, keyBucket);
        Value below =
            rewriter.create<arith::ConstantIndexOp>(loc, keyBucket - 1);
        limit = rewriter.create<arith::MulIOp>(
            loc,
            rewriter.create<arith::DivUIOp>(
                loc, rewriter.create<arith::AddIOp>(loc, limit, below), bucket),
            bucket);
      }
      Value window = getValueOrCreateConstantIndexOp(rewriter, loc, kvLen);
      kvLen = rewriter.create<arith::MinSIOp>(loc, limit, window).getResult();
      auto slice = [&](Value source) -> Value {
        auto type = cast<RankedTensorType>(source.getType());
        SmallVector<int64_t> shape(type.getShape());
        shape[1] = ShapedType::kDynamic;
        return rewriter.create<tensor::ExtractSliceOp>(
            loc, RankedTensorType::get(shape, type.getElementType()), source,
            SmallVector<OpFoldResult>(4, idx(0)),
            SmallVector<OpFoldResult>{batch, kvLen, idx(type.getDimSize(2)),
                                      idx(type.getDimSize(3))},
            SmallVector<OpFoldResult>(4, idx(1)));
      };
      keys = slice(keys);
      values = slice(values);
    }
    if (fused) {
      SmallVector<OpFoldResult> outSizes(qSizes);
      outSizes[3] = idx(valueDim);
      Value init = emptyTensor(rewriter, loc, outSizes, elementType);
      auto fusedOp = rewriter.create<llm::FusedAttentionOp>(
          loc, TypeRange{init.getType()}, query, keys, values,
          adaptor.getPositions(), init, op.getCausalAttr(),
          rewriter.getF64FloatAttr(scale), op.getSlidingWindowAttr());
      rewriter.replaceOp(op, fusedOp.getResult());
      return success();
    }
    auto groupedType = RankedTensorType::get(
        {queryType.getDimSize(0), queryType.getDimSize(1), kvHeads, group,
         headDim},
        elementType);
    Value grouped = rewriter.create<tensor::ExpandShapeOp>(
        loc, groupedType, query,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4}},
        SmallVector<OpFoldResult>{batch, seq, idx(kvHeads), idx(group),
                                  idx(headDim)});

    // scores[b, kh, g, s, t] = sum_d q[b, s, kh, g, d] * k[b, t, kh, d].
    SmallVector<OpFoldResult> scoreSizes = {batch, idx(kvHeads), idx(group),
                                            seq, kvLen};
    // Scores, mask and softmax in the accumulator type; the probabilities
    // in the element type, as the values.
    Type acc = accumulatorType(elementType);
    Value scores = contract(rewriter, loc, ValueRange{grouped, keys},
                            scoreSizes, elementType,
                            {dimsMap(context, 6, {0, 3, 1, 2, 5}),
                             dimsMap(context, 6, {0, 4, 1, 5}),
                             dimsMap(context, 6, {0, 1, 2, 3, 4})},
                            reducing(6, {5}));

    // Scale, then mask keys after the query's position (and outside the
    // sliding window).
    bool causal = op.getCausal();
    std::optional<int64_t> window = op.getSlidingWindow();
    Value positions = adaptor.getPositions();
    SmallVector<Value> maskInputs = {scores};
    SmallVector<AffineMap> maskMaps = {rewriter.getMultiDimIdentityMap(5)};
    if (positions) {
      maskInputs.push_back(positions);
      maskMaps.push_back(dimsMap(context, 5, {0}));
    }
    maskMaps.push_back(rewriter.getMultiDimIdentityMap(5));
    Value maskInit = emptyTensor(rewriter, loc, scoreSizes, acc);
    auto floatType = cast<FloatType>(acc);
    Value masked = generic(
        rewriter, loc, maskInputs, maskInit, maskMaps, parallel(5),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value scaled = b.create<arith::MulFOp>(
              l, args[0], floatConstant(b, l, acc, scale));
          if (!causal)
            return scaled;
          Value s = b.create<linalg::IndexOp>(l, 3);
          Value t = b.create<linalg::IndexOp>(l, 4);
          Value last = s;
          if (positions)
            last = b.create<arith::AddIOp>(l, s, toIndex(b, l, args[1]));
          Value hidden = b.create<arith::CmpIOp>(
              l, arith::CmpIPredicate::sgt, t, last);
          if (window) {
            Value first = b.create<arith::SubIOp>(
                l, last, b.create<arith::ConstantIndexOp>(l, *window));
            Value tooOld = b.create<arith::CmpIOp>(
                l, arith::CmpIPredicate::sle, t, first);
            hidden = b.create<arith::OrIOp>(l, hidden, tooOld);
          }
          Value minusInf = b.create<arith::ConstantOp>(
              l, b.getFloatAttr(acc,
                                APFloat::getInf(floatType.getFloatSemantics(),
                                                /*Negative=*/true)));
          return b.create<arith::SelectOp>(l, hidden, minusInf, scaled);
        });
    Value probs = softmax(rewriter, loc, masked, 4, elementType);

    // out[b, s, kh, g, e] = sum_t probs[b, kh, g, s, t] * v[b, t, kh, e],
    // with loops (b, s, kh, g, t, e): e innermost, contiguous in v and out.
    SmallVector<OpFoldResult> outSizes = {batch, seq, idx(kvHeads),
                                          idx(group), idx(valueDim)};
    Value out = converted(
        rewriter, loc,
        contract(rewriter, loc, ValueRange{probs, values}, outSizes,
                 elementType,
                 {dimsMap(context, 6, {0, 2, 3, 1, 4}),
                  dimsMap(context, 6, {0, 4, 2, 5}),
                  dimsMap(context, 6, {0, 1, 2, 3, 5})},
                 reducing(6, {4})),
        elementType);
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(
        op, op.getType(), out,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}, {4}});
    return success();
  }
};

/// Row b of keys (values) goes to [0 (1), layer, b, positions[b] ...].
struct KVCacheUpdateLowering : OpConversionPattern<llm::KVCacheUpdateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::KVCacheUpdateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType keysType = op.getKeys().getType();
    int64_t kvHeads = keysType.getDimSize(2), headDim = keysType.getDimSize(3);
    Value keys = adaptor.getKeys(), values = adaptor.getValues();
    Value positions = adaptor.getPositions();
    OpFoldResult seq = tensor::getMixedSize(rewriter, loc, keys, 1);
    Value zero = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
    Value rows = rewriter.create<tensor::DimOp>(loc, keys, 0);
    OpFoldResult layer = getAsOpFoldResult(adaptor.getLayer());
    auto idx = [&](int64_t v) { return rewriter.getIndexAttr(v); };
    auto rowType = RankedTensorType::get({keysType.getDimSize(1), kvHeads,
                                          headDim},
                                         keysType.getElementType());
    auto loop = rewriter.create<scf::ForOp>(
        loc, zero, rows, one, ValueRange{adaptor.getCache()},
        [&](OpBuilder &b, Location l, Value row, ValueRange iterArgs) {
          Value start = toIndex(
              b, l, b.create<tensor::ExtractOp>(l, positions, row));
          Value cache = iterArgs[0];
          Value sources[] = {keys, values};
          for (auto [slot, source] : llvm::enumerate(sources)) {
            Value slice = b.create<tensor::ExtractSliceOp>(
                l, rowType, source,
                SmallVector<OpFoldResult>{row, idx(0), idx(0), idx(0)},
                SmallVector<OpFoldResult>{idx(1), seq, idx(kvHeads),
                                          idx(headDim)},
                SmallVector<OpFoldResult>(4, idx(1)));
            cache = b.create<tensor::InsertSliceOp>(
                l, slice, cache,
                SmallVector<OpFoldResult>{idx(slot), layer, row, start,
                                          idx(0), idx(0)},
                SmallVector<OpFoldResult>{idx(1), idx(1), idx(1), seq,
                                          idx(kvHeads), idx(headDim)},
                SmallVector<OpFoldResult>(6, idx(1)));
          }
          b.create<scf::YieldOp>(l, cache);
        });
    rewriter.replaceOp(op, loop.getResult(0));
    return success();
  }
};

struct KVCacheReadLowering : OpConversionPattern<llm::KVCacheReadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::KVCacheReadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value cache = adaptor.getCache();
    RankedTensorType type = op.getKeys().getType();
    auto idx = [&](int64_t v) { return rewriter.getIndexAttr(v); };
    OpFoldResult batch = tensor::getMixedSize(rewriter, loc, cache, 2);
    OpFoldResult layer = getAsOpFoldResult(adaptor.getLayer());
    SmallVector<Value> results;
    for (int64_t slot : {0, 1})
      results.push_back(rewriter.create<tensor::ExtractSliceOp>(
          loc, type, cache,
          SmallVector<OpFoldResult>{idx(slot), layer, idx(0), idx(0),
                                    idx(0), idx(0)},
          SmallVector<OpFoldResult>{idx(1), idx(1), batch,
                                    idx(type.getDimSize(1)),
                                    idx(type.getDimSize(2)),
                                    idx(type.getDimSize(3))},
          SmallVector<OpFoldResult>(6, idx(1))));
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// Elementwise ops whose body is a function of the block arguments.
template <typename OpTy>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  using Adaptor = typename OpConversionPattern<OpTy>::OpAdaptor;

  LogicalResult
  matchAndRewrite(OpTy op, Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type elementType = op.getType().getElementType();
    rewriter.replaceOp(
        op, elementwise(rewriter, op.getLoc(), adaptor.getOperands(),
                        [&](OpBuilder &b, Location l, ValueRange args) {
                          return body(op, b, l, elementType, args);
                        }));
    return success();
  }

  static Value body(OpTy op, OpBuilder &b, Location l, Type type,
                    ValueRange args);
};

template <>
Value ElementwiseLowering<llm::AddOp>::body(llm::AddOp, OpBuilder &b,
                                            Location l, Type,
                                            ValueRange args) {
  return b.create<arith::AddFOp>(l, args[0], args[1]);
}

template <>
Value ElementwiseLowering<llm::MulOp>::body(llm::MulOp, OpBuilder &b,
                                            Location l, Type,
                                            ValueRange args) {
  return b.create<arith::MulFOp>(l, args[0], args[1]);
}

template <>
Value ElementwiseLowering<llm::SiluOp>::body(llm::SiluOp, OpBuilder &b,
                                             Location l, Type type,
                                             ValueRange args) {
  // x * sigmoid(x) = x / (1 + exp(-x))
  Value negated = b.create<arith::NegFOp>(l, args[0]);
  Value exp = b.create<math::ExpOp>(l, negated);
  Value denominator =
      b.create<arith::AddFOp>(l, floatConstant(b, l, type, 1.0), exp);
  return b.create<arith::DivFOp>(l, args[0], denominator);
}

template <>
Value ElementwiseLowering<llm::GeluOp>::body(llm::GeluOp op, OpBuilder &b,
                                             Location l, Type type,
                                             ValueRange args) {
  Value x = args[0];
  auto constant = [&](double v) { return floatConstant(b, l, type, v); };
  Value cdfArg;
  Value inner;
  if (op.getApproximation() == llm::GeluApproximation::tanh) {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    Value cube = b.create<arith::MulFOp>(l, x, b.create<arith::MulFOp>(l, x, x));
    Value sum = b.create<arith::AddFOp>(
        l, x, b.create<arith::MulFOp>(l, constant(0.044715), cube));
    cdfArg = b.create<arith::MulFOp>(l, constant(std::sqrt(2.0 / M_PI)), sum);
    inner = b.create<math::TanhOp>(l, cdfArg);
  } else {
    // 0.5 x (1 + erf(x / sqrt(2)))
    cdfArg = b.create<arith::MulFOp>(l, x, constant(M_SQRT1_2));
    inner = b.create<math::ErfOp>(l, cdfArg);
  }
  Value onePlus = b.create<arith::AddFOp>(l, constant(1.0), inner);
  Value half = b.create<arith::MulFOp>(l, constant(0.5), x);
  return b.create<arith::MulFOp>(l, half, onePlus);
}

struct SoftmaxLowering : OpConversionPattern<llm::SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(llm::SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    int64_t rank = op.getType().getRank();
    int64_t axis = op.getAxis() < 0 ? op.getAxis() + rank : op.getAxis();
    rewriter.replaceOp(op, softmax(rewriter, op.getLoc(), adaptor.getInput(),
                                   static_cast<unsigned>(axis),
                                   op.getType().getElementType()));
    return success();
  }
};

struct ConvertLLMToLinalgPass
    : llmc::impl::ConvertLLMToLinalgBase<ConvertLLMToLinalgPass> {
  using ConvertLLMToLinalgBase::ConvertLLMToLinalgBase;
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    TypeConverter converter;
    converter.addConversion([](Type type) { return type; });
    converter.addConversion(
        [](llm::KVCacheType type) -> Type { return convertCacheType(type); });

    ConversionTarget target(*context);
    target.addLegalDialect<arith::ArithDialect, bufferization::BufferizationDialect,
                           linalg::LinalgDialect, math::MathDialect,
                           scf::SCFDialect, tensor::TensorDialect>();
    target.addIllegalDialect<llm::LLMDialect>();
    target.addLegalOp<llm::ParamOp, llm::ParamBufferOp,
                      llm::FusedAttentionOp>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return converter.isSignatureLegal(op.getFunctionType());
    });
    target.addDynamicallyLegalOp<func::CallOp, func::ReturnOp>(
        [&](Operation *op) { return converter.isLegal(op); });

    RewritePatternSet patterns(context);
    patterns.add<GetParamLowering, EmbeddingLowering, LinearLowering,
                 MatmulLowering, RMSNormLowering, LayerNormLowering,
                 SplitHeadsLowering, MergeHeadsLowering, SplitLowering,
                 PositionIdsLowering, SelectTokensLowering, RopeLowering,
                 ElementwiseLowering<llm::AddOp>,
                 ElementwiseLowering<llm::MulOp>,
                 ElementwiseLowering<llm::SiluOp>,
                 ElementwiseLowering<llm::GeluOp>, SoftmaxLowering>(context);
    if (keyBucket < 1) {
      getOperation().emitError() << "key-bucket: expected 1 or more, found "
                                 << static_cast<int64_t>(keyBucket);
      return signalPassFailure();
    }
    patterns.add<AttentionLowering>(context, fusedAttention, keyBucket);
    patterns.add<KVCacheUpdateLowering, KVCacheReadLowering>(converter,
                                                             context);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   converter);
    populateCallOpTypeConversionPattern(patterns, converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();
    // Sums may be reassociated and multiply-adds fused: what lets LLVM
    // vectorize the reductions (the order differs from PyTorch's anyway).
    auto flags = arith::FastMathFlagsAttr::get(
        context, arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
    getOperation().walk([&](linalg::GenericOp generic) {
      generic.getBody()->walk([&](arith::ArithFastMathInterface op) {
        op->setAttr(op.getFastMathAttrName(), flags);
      });
    });
  }
};

} // namespace
