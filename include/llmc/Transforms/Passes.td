//===- Passes.td - llmc's code generation transforms ---------*- tablegen -*-===//
//
// Transforms on the upstream dialects llmc lowers through (passes on the
// llm dialect itself live in Dialect/LLM/Transforms).
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_TRANSFORMS_PASSES_TD
#define LLMC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FuseElementwise : Pass<"llmc-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Fuse elementwise producers into consumers that use each "
                "element once";
  let description = [{
    Upstream elementwise fusion, restricted to producers whose every element
    is used by exactly one iteration of the consumer: the consumer's
    indexing map for the fused operand must use all of its loops. A
    normalization feeding a projection is not fused, since it would be
    recomputed for every output feature:

    ```
    %n = linalg.generic (b, s, k) { x / sqrt(ms + eps) * w }
    %y = linalg.generic (b, s, n, k) { acc + n[b, s, k] * W[n, k] }
      => unchanged (fusing would compute the sqrt N times per element)

    %a = linalg.generic (b, s, k) { silu(g) }
    %m = linalg.generic (b, s, k) { a * u }
      => %m = linalg.generic (b, s, k) { silu(g) * u }
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def SequentializeInnerParallel
    : Pass<"llmc-sequentialize-inner-parallel", "::mlir::func::FuncOp"> {
  let summary = "Turn scf.parallel loops nested in another scf.parallel "
                "into scf.for nests";
  let description = [{
    After `scf-parallel-loop-tiling`, the tile loop is parallel and each tile
    is one thread's work: its loops become sequential, so only the outer loop
    becomes an OpenMP worksharing loop and the tile body compiles like serial
    code (vectorized, invariants hoisted).

    ```
    scf.parallel (%i) = ... step 64 {
      scf.parallel (%j) = (%i) to ... { body }
    }
      => scf.parallel (%i) = ... step 64 {
           scf.for %j = %i to ... { body }
         }
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

#endif // LLMC_TRANSFORMS_PASSES_TD
