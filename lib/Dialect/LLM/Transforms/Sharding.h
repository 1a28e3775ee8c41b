//===- Sharding.h - Helpers shared by the parallelization passes -*- C++ -*-===//

#ifndef LLMC_LIB_DIALECT_LLM_TRANSFORMS_SHARDING_H
#define LLMC_LIB_DIALECT_LLM_TRANSFORMS_SHARDING_H

#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Builders.h"

namespace llmc {

/// `weight` is an `llm.get_param` result, possibly converted to the compute
/// type (arith.extf / truncf). Returns the same chain on the box `offsets`,
/// `sizes` of the stored tensor: a sliced `llm.param` (shared with other
/// uses of the same box) read at the builder's insertion point.
mlir::FailureOr<mlir::Value> sliceWeight(mlir::OpBuilder &builder,
                                         mlir::Value weight,
                                         llvm::ArrayRef<int64_t> offsets,
                                         llvm::ArrayRef<int64_t> sizes);

/// The checkpoint tensor behind `weight` (see sliceWeight), or "".
llvm::StringRef weightSource(mlir::Value weight);

/// Erases ops without uses or side effects, and parameters nothing reads.
void eraseDeadCode(mlir::ModuleOp module);

} // namespace llmc

#endif // LLMC_LIB_DIALECT_LLM_TRANSFORMS_SHARDING_H
