//===- llmc.cpp - The llmc command-line compiler --------------------------===//
//
// The user-facing driver: `llmc compile` and `llmc explain`. Every error is
// one line on stderr and a non-zero exit; nothing is written on failure.
//
//===----------------------------------------------------------------------===//

#include "ModuleSummary.h"
#include "OneLineDiagnostics.h"

#include "llmc/Dialect/LLM/IR/LLMDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {
enum class EmitStage { LLM };

cl::OptionCategory llmcCategory("llmc options");

cl::SubCommand compileCommand(
    "compile", "Compile a model; --emit picks the stage to print");
cl::SubCommand explainCommand(
    "explain", "Summarize a model: entry points, parameters, KV cache, ops");
cl::SubCommandGroup inputCommands({&compileCommand, &explainCommand});

cl::opt<std::string> inputPath(cl::Positional,
                               cl::desc("<model.mlir | - for stdin>"),
                               cl::sub(inputCommands), cl::cat(llmcCategory));

cl::opt<std::string> outputPath("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::sub(compileCommand),
                                cl::cat(llmcCategory));

cl::opt<EmitStage> emitStage(
    "emit", cl::desc("The stage to write"), cl::init(EmitStage::LLM),
    cl::values(clEnumValN(EmitStage::LLM, "llm",
                          "the verified llm dialect module")),
    cl::sub(compileCommand), cl::cat(llmcCategory));
} // namespace

static void printVersion(llvm::raw_ostream &os) {
  os << "llmc " << LLMC_VERSION << " (MLIR/LLVM " << LLVM_VERSION_STRING
     << ")\n";
}

/// Reports a problem that is not a diagnostic on the IR.
static int fail(const llvm::Twine &message) {
  llvm::errs() << "llmc: error: " << message << '\n';
  return 1;
}

/// Checks that `path` names something llmc can read, before opening it.
static LogicalResult checkInputKind(StringRef path) {
  if (path == "-")
    return success();
  if (llvm::sys::fs::is_directory(path)) {
    fail("'" + path +
         "' is a directory; importing Hugging Face checkpoint folders is not "
         "supported yet: expects an .mlir file");
    return failure();
  }
  StringRef extension = llvm::sys::path::extension(path);
  if (extension != ".mlir") {
    fail("'" + path + "' has unknown input kind '" + extension +
         "': expects an .mlir file");
    return failure();
  }
  return success();
}

/// Parses and verifies the input module; diagnostics go to the handler.
static OwningOpRef<ModuleOp> loadModule(MLIRContext &context) {
  if (failed(checkInputKind(inputPath)))
    return nullptr;
  auto file = llvm::MemoryBuffer::getFileOrSTDIN(inputPath);
  if (std::error_code error = file.getError()) {
    fail("cannot open '" + inputPath + "': " + error.message());
    return nullptr;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*file), llvm::SMLoc());
  return parseSourceFile<ModuleOp>(sourceMgr, &context);
}

static int runCompile(ModuleOp module) {
  std::string errorMessage;
  auto output = openOutputFile(outputPath, &errorMessage);
  if (!output)
    return fail("cannot write '" + outputPath + "': " + errorMessage);
  switch (emitStage) {
  case EmitStage::LLM:
    module.print(output->os());
    break;
  }
  output->keep();
  return 0;
}

/// The commands, for the checks cl does not make with one clear line.
static const char *const kCommands[] = {"compile", "explain"};

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  if (argc > 1 && argv[1][0] != '-' &&
      !llvm::is_contained(kCommands, StringRef(argv[1])))
    return fail(llvm::Twine("unknown command '") + argv[1] +
                "': expects compile or explain (see llmc --help)");
  cl::SetVersionPrinter(printVersion);
  cl::HideUnrelatedOptions(llmcCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "llmc: ahead-of-time compiler for Transformer language models\n\n"
      "  llmc compile model.mlir [--emit=llm] [-o out]\n"
      "  llmc explain model.mlir\n");

  if (!compileCommand && !explainCommand)
    return fail("expects a command: compile or explain (see llmc --help)");
  if (inputPath.empty())
    return fail("expects an input file (a .mlir module, or - for stdin)");

  DialectRegistry registry;
  registry.insert<llm::LLMDialect, func::FuncDialect, arith::ArithDialect,
                  tensor::TensorDialect>();
  MLIRContext context(registry);
  llmc::OneLineDiagnosticHandler diagnostics(&context, llvm::errs());

  OwningOpRef<ModuleOp> module = loadModule(context);
  if (!module)
    return 1;
  if (compileCommand)
    return runCompile(*module);
  llmc::printModuleSummary(*module, llvm::outs());
  return 0;
}
