//===- LLMTypes.cpp - Types of the llm dialect ----------------------------===//

#include "llmc/Dialect/LLM/IR/LLMTypes.h"
#include "llmc/Dialect/LLM/IR/LLMDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::llm;

#define GET_TYPEDEF_CLASSES
#include "llmc/Dialect/LLM/IR/LLMOpsTypes.cpp.inc"

void LLMDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "llmc/Dialect/LLM/IR/LLMOpsTypes.cpp.inc"
      >();
}

// The dimensions of a KV cache type, in the order they are written.
static constexpr const char *kKVCacheDimNames[] = {
    "layers", "batch", "max_seq", "kv_heads", "head_dim"};

Type KVCacheType::parse(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<int64_t, 5> dims;
  Type elementType;
  if (parser.parseLess() ||
      parser.parseDimensionList(dims, /*allowDynamic=*/true,
                                /*withTrailingX=*/true) ||
      parser.parseType(elementType) || parser.parseGreater())
    return {};
  if (dims.size() != std::size(kKVCacheDimNames)) {
    parser.emitError(loc) << "!llm.kv_cache expects 5 dimensions "
                             "(layers x batch x max_seq x kv_heads x "
                             "head_dim), found "
                          << dims.size();
    return {};
  }
  return getChecked([&] { return parser.emitError(loc); },
                    parser.getContext(), dims[0], dims[1], dims[2], dims[3],
                    dims[4], elementType);
}

void KVCacheType::print(AsmPrinter &printer) const {
  printer << '<';
  for (int64_t dim : {getNumLayers(), getBatch(), getMaxSeqLen(),
                      getNumKVHeads(), getHeadDim()}) {
    if (ShapedType::isDynamic(dim))
      printer << '?';
    else
      printer << dim;
    printer << 'x';
  }
  printer << getElementType() << '>';
}

LogicalResult KVCacheType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t numLayers, int64_t batch,
                                  int64_t maxSeqLen, int64_t numKVHeads,
                                  int64_t headDim, Type elementType) {
  int64_t dims[] = {numLayers, batch, maxSeqLen, numKVHeads, headDim};
  for (size_t i = 0; i < std::size(dims); ++i) {
    const char *name = kKVCacheDimNames[i];
    bool isBatch = i == 1;
    if (ShapedType::isDynamic(dims[i])) {
      if (isBatch)
        continue;
      return emitError() << "!llm.kv_cache expects a static " << name
                         << "; only the batch may be dynamic";
    }
    if (dims[i] <= 0)
      return emitError() << "!llm.kv_cache expects " << name
                         << " > 0, found " << dims[i];
  }
  if (!llvm::isa<FloatType>(elementType))
    return emitError() << "!llm.kv_cache expects a floating-point element "
                          "type, found "
                       << elementType;
  return success();
}

RankedTensorType KVCacheType::getLayerTensorType() const {
  return RankedTensorType::get(
      {getBatch(), getMaxSeqLen(), getNumKVHeads(), getHeadDim()},
      getElementType());
}
