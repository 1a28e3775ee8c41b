//===- ModuleSummary.cpp - What `llmc explain` tells about a model --------===//

#include "ModuleSummary.h"

#include "llmc/Dialect/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>

using namespace mlir;

namespace llmc {

static uint64_t bitWidth(Type elementType) {
  return elementType.isIntOrFloat() ? elementType.getIntOrFloatBitWidth() : 0;
}

/// Formats a byte count with a binary unit, e.g. "4.50 MiB".
static std::string formatBytes(uint64_t bytes) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = bytes;
  unsigned unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  if (unit == 0)
    return llvm::formatv("{0} B", bytes).str();
  return llvm::formatv("{0:F2} {1}", value, units[unit]).str();
}

static void printEntryPoints(ModuleOp module, llvm::raw_ostream &os) {
  os << "entry points:\n";
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isPrivate())
      continue;
    os << "  @" << func.getSymName() << " : " << func.getFunctionType()
       << '\n';
  }
}

static void printParameters(ModuleOp module, llvm::raw_ostream &os) {
  struct Totals {
    uint64_t count = 0, elements = 0, bits = 0;
  };
  std::map<std::string, Totals> byElementType;
  Totals all;
  for (auto param : module.getOps<llm::ParamOp>()) {
    RankedTensorType type = param.getTensorType();
    uint64_t elements = type.getNumElements();
    uint64_t bits = elements * bitWidth(type.getElementType());
    std::string key;
    llvm::raw_string_ostream(key) << type.getElementType();
    for (Totals *totals : {&byElementType[key], &all}) {
      ++totals->count;
      totals->elements += elements;
      totals->bits += bits;
    }
  }
  os << llvm::formatv("parameters: {0} tensors, {1} elements, {2}\n",
                      all.count, all.elements, formatBytes(all.bits / 8));
  for (const auto &[elementType, totals] : byElementType)
    os << llvm::formatv("  {0}: {1} tensors, {2} elements, {3}\n",
                        elementType, totals.count, totals.elements,
                        formatBytes(totals.bits / 8));
}

static void printKVCaches(ModuleOp module, llvm::raw_ostream &os) {
  llvm::SetVector<llm::KVCacheType> caches;
  for (auto func : module.getOps<func::FuncOp>())
    for (Type type : func.getArgumentTypes())
      if (auto cache = dyn_cast<llm::KVCacheType>(type))
        caches.insert(cache);
  for (llm::KVCacheType cache : caches) {
    uint64_t perRow = 2 * cache.getNumLayers() * cache.getMaxSeqLen() *
                      cache.getNumKVHeads() * cache.getHeadDim() *
                      bitWidth(cache.getElementType()) / 8;
    os << "kv cache: " << cache << ", " << formatBytes(perRow)
       << " per batch row\n";
  }
}

static void printOpCounts(ModuleOp module, llvm::raw_ostream &os) {
  std::map<std::string, unsigned> counts;
  module.walk([&](Operation *op) {
    if (isa<llm::LLMDialect>(op->getDialect()))
      ++counts[op->getName().getStringRef().str()];
  });
  os << "llm ops:\n";
  for (const auto &[name, count] : counts)
    os << llvm::formatv("  {0,-22} {1}\n", name, count);
}

void printModuleSummary(ModuleOp module, llvm::raw_ostream &os) {
  printEntryPoints(module, os);
  printParameters(module, os);
  printKVCaches(module, os);
  printOpCounts(module, os);
}

} // namespace llmc
