//===- llmc-opt.cpp - mlir-opt with the llm dialect and llmc's passes -----===//
//
// Runs passes and pipelines on .mlir files, for tests and for developers.
// Registers llm together with every upstream dialect, extension and pass, so
// that any stage of llmc's lowering can be read back and replayed.
//
//===----------------------------------------------------------------------===//

#include "llmc/Conversion/Passes.h"
#include "llmc/Dialect/LLM/IR/LLMDialect.h"
#include "llmc/Dialect/LLM/Transforms/Passes.h"
#include "llmc/Pipelines/Pipelines.h"
#include "llmc/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  llmc::registerLLMCConversionPasses();
  llmc::registerPipelines();
  llmc::registerLLMCTransformsPasses();
  llmc::registerLLMDialectTransformsPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mlir::llm::LLMDialect>();
  llmc::registerMeshBufferizationModels(registry);
  llmc::registerPipelineDialects(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "llmc optimizer driver (llm dialect and passes)\n",
      registry));
}
