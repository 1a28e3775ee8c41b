//===- Passes.h - Passes on the llm dialect ---------------------*- C++ -*-===//

#ifndef LLMC_DIALECT_LLM_TRANSFORMS_PASSES_H
#define LLMC_DIALECT_LLM_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Mesh/IR/MeshDialect.h"
#include "mlir/Dialect/Mesh/IR/MeshOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace llmc {

#define GEN_PASS_DECL
#include "llmc/Dialect/LLM/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "llmc/Dialect/LLM/Transforms/Passes.h.inc"

/// The mesh every sharded program refers to: `dp x pp x tp`.
inline constexpr llvm::StringLiteral kWorldMesh = "world";
inline constexpr int64_t kDataAxis = 0, kPipelineAxis = 1, kTensorAxis = 2;

/// The module's `@world` mesh, created with every axis of size 1 when
/// missing, with `axis` set to `size`.
mlir::mesh::MeshOp setWorldAxis(mlir::ModuleOp module, int64_t axis,
                                int64_t size);

/// Bufferization of the mesh collectives into llm's buffer collectives.
void registerMeshBufferizationModels(mlir::DialectRegistry &registry);

/// Bufferization of llm's destination-style ops (llm.fused_attention).
void registerLLMBufferizationModels(mlir::DialectRegistry &registry);

} // namespace llmc

#endif // LLMC_DIALECT_LLM_TRANSFORMS_PASSES_H
