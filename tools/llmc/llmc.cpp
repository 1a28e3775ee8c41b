//===- llmc.cpp - The llmc command-line compiler --------------------------===//
//
// The user-facing driver: `llmc compile` and `llmc explain`. Every error is
// one line on stderr and a non-zero exit; nothing is written on failure.
//
//===----------------------------------------------------------------------===//

#include "Compile.h"
#include "ModuleSummary.h"
#include "OneLineDiagnostics.h"

#include "llmc/Import/HFImporter.h"
#include "llmc/Pipelines/Pipelines.h"
#include "llmc/Transforms/Passes.h"

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

using llmc::EmitStage;

namespace {

cl::OptionCategory llmcCategory("llmc options");

cl::SubCommand importCommand(
    "import", "Import a Hugging Face checkpoint folder as an llm module");
cl::SubCommand compileCommand(
    "compile", "Compile a model into an artifact directory (or print a "
               "stage with --emit)");
cl::SubCommand explainCommand(
    "explain", "Summarize a model: entry points, parameters, KV cache, ops");
cl::SubCommandGroup inputCommands({&importCommand, &compileCommand,
                                   &explainCommand});
cl::SubCommandGroup outputCommands({&importCommand, &compileCommand});

cl::opt<std::string>
    inputPath(cl::Positional,
              cl::desc("<model folder | model.mlir | - for stdin>"),
              cl::sub(inputCommands), cl::cat(llmcCategory));

cl::opt<std::string> outputPath("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::sub(outputCommands),
                                cl::cat(llmcCategory));

cl::opt<int64_t> maxSeqLen(
    "max-seq-len",
    cl::desc("KV cache length (default: max_position_embeddings)"),
    cl::value_desc("N"), cl::init(0), cl::sub(inputCommands),
    cl::cat(llmcCategory));

cl::opt<llmc::FloatDType> computeDType(
    "dtype",
    cl::desc("Activation and KV cache type (default: the config's dtype)"),
    cl::values(clEnumValN(llmc::FloatDType::F32, "f32", "float32"),
               clEnumValN(llmc::FloatDType::F16, "f16", "float16"),
               clEnumValN(llmc::FloatDType::BF16, "bf16", "bfloat16")),
    cl::sub(inputCommands), cl::cat(llmcCategory));

cl::opt<EmitStage> emitStage(
    "emit",
    cl::desc("Print a stage instead of writing the artifact directory"),
    cl::init(EmitStage::Artifact),
    cl::values(
        clEnumValN(EmitStage::LLM, "llm", "the verified llm dialect module"),
        clEnumValN(EmitStage::Linalg, "linalg", "linalg on tensors"),
        clEnumValN(EmitStage::LLVM, "llvm", "LLVM IR for the host"),
        clEnumValN(EmitStage::PTX, "ptx",
                   "the program's GPU kernels (--target=sm_80|sm_90)"),
        clEnumValN(EmitStage::EmulatedKernels, "emulated-kernels",
                   "the GPU kernels compiled for this CPU, a shared library "
                   "for the fake driver's emulator (tests; -o FILE.so)")),
    cl::sub(compileCommand), cl::cat(llmcCategory));

cl::opt<std::string> target("target", cl::desc("Code generation target"),
                            cl::value_desc("cpu|sm_80|sm_90"), cl::init("cpu"),
                            cl::sub(compileCommand), cl::cat(llmcCategory));

cl::opt<std::string> cudaPath(
    "cuda-path",
    cl::desc("CUDA toolkit for GPU targets: libdevice, ptxas for cubins"),
    cl::value_desc("dir"), cl::init(LLMC_CUDA_TOOLKIT),
    cl::sub(compileCommand), cl::cat(llmcCategory));

// --gpu-NAME for each option of a GPU target: gpuOption_FIELD.
#define LLMC_GPU_OPTION(TYPE, FIELD, NAME, DEFAULT, HELP)                      \
  cl::opt<TYPE> gpuOption_##FIELD("gpu-" NAME, cl::desc(HELP),                 \
                                  cl::init(DEFAULT), cl::sub(compileCommand),  \
                                  cl::cat(llmcCategory));
#include "llmc/Pipelines/GpuOptions.def"

cl::opt<int64_t> maxBatch("max-batch",
                          cl::desc("Largest batch the artifact runs"),
                          cl::value_desc("N"), cl::init(8),
                          cl::sub(compileCommand), cl::cat(llmcCategory));

cl::opt<int64_t> dataParallel(
    "dp", cl::desc("Data-parallel replicas (each runs a slice of the batch)"),
    cl::value_desc("N"), cl::init(1), cl::sub(compileCommand),
    cl::cat(llmcCategory));
cl::opt<int64_t> tensorParallel(
    "tp", cl::desc("Tensor-parallel ranks (heads and MLP split, Megatron)"),
    cl::value_desc("N"), cl::init(1), cl::sub(compileCommand),
    cl::cat(llmcCategory));
cl::opt<int64_t> pipelineParallel(
    "pp", cl::desc("Pipeline stages (layers split, balanced by cost)"),
    cl::value_desc("N"), cl::init(1), cl::sub(compileCommand),
    cl::cat(llmcCategory));
cl::opt<int64_t> microbatches(
    "microbatches",
    cl::desc("Microbatches each replica's batch is cut into for the "
             "pipeline (default 1)"),
    cl::value_desc("M"), cl::init(1), cl::sub(compileCommand),
    cl::cat(llmcCategory));
cl::opt<bool> packWeights(
    "pack-weights",
    cl::desc("Store each rank's weight slices in the artifact (dense, "
             "zero-copy at load) instead of reading the checkpoint"),
    cl::sub(compileCommand), cl::cat(llmcCategory));
cl::opt<int64_t> emitRank(
    "rank",
    cl::desc("With --emit and --dp/--tp/--pp: print this world rank's "
             "program"),
    cl::value_desc("N"), cl::init(0), cl::sub(compileCommand),
    cl::cat(llmcCategory));

cl::opt<bool> printPipeline("print-pipeline",
                            cl::desc("Print the passes of --emit's stage and "
                                     "exit"),
                            cl::sub(compileCommand), cl::cat(llmcCategory));
} // namespace

static void printVersion(llvm::raw_ostream &os) {
  os << "llmc " << LLMC_VERSION << " (MLIR/LLVM " << LLVM_VERSION_STRING
     << ")\n";
}

/// Reports a problem that is not a diagnostic on the IR.
static int fail(const llvm::Twine &message) {
  // An empty message: the diagnostics already said it.
  if (!message.isTriviallyEmpty() && !message.str().empty())
    llvm::errs() << "llmc: error: " << message << '\n';
  return 1;
}

/// Parses and verifies an .mlir input; diagnostics go to the handler.
static OwningOpRef<ModuleOp> parseModule(MLIRContext &context) {
  StringRef extension = llvm::sys::path::extension(inputPath);
  if (inputPath != "-" && extension != ".mlir") {
    fail("'" + inputPath + "' has unknown input kind '" + extension +
         "': expects a model folder (config.json + safetensors) or an .mlir "
         "file");
    return nullptr;
  }
  auto file = llvm::MemoryBuffer::getFileOrSTDIN(inputPath);
  if (std::error_code error = file.getError()) {
    fail("cannot open '" + inputPath + "': " + error.message());
    return nullptr;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(*file), llvm::SMLoc());
  return parseSourceFile<ModuleOp>(sourceMgr, &context);
}

static llmc::ImportOptions importOptions() {
  llmc::ImportOptions options;
  if (maxSeqLen.getNumOccurrences())
    options.maxSeqLen = maxSeqLen;
  if (computeDType.getNumOccurrences())
    options.dtype = computeDType;
  return options;
}

/// Imports a checkpoint folder.
static OwningOpRef<ModuleOp> importModule(MLIRContext &context) {
  auto module = llmc::importHuggingFace(inputPath, importOptions(), &context);
  if (!module) {
    fail(llvm::toString(module.takeError()));
    return nullptr;
  }
  return std::move(*module);
}

/// The input as a verified llm module: a model folder is imported, a .mlir
/// file parsed.
static OwningOpRef<ModuleOp> loadModule(MLIRContext &context) {
  if (inputPath != "-" && llvm::sys::fs::is_directory(inputPath))
    return importModule(context);
  if (importCommand) {
    fail("'" + inputPath +
         "' is not a folder: llmc import expects a Hugging Face checkpoint "
         "folder (config.json + safetensors)");
    return nullptr;
  }
  return parseModule(context);
}

static int writeModule(ModuleOp module) {
  std::string errorMessage;
  auto output = openOutputFile(outputPath, &errorMessage);
  if (!output)
    return fail("cannot write '" + outputPath + "': " + errorMessage);
  module.print(output->os());
  output->keep();
  return 0;
}

static int runCompile(MLIRContext &context) {
  bool gpu = target == "sm_80" || target == "sm_90";
  if (target != "cpu" && !gpu)
    return fail("--target: unsupported target '" + target +
                "' (supported: cpu, sm_80, sm_90)");
  if (!gpu && emitStage == EmitStage::PTX)
    return fail("--emit=ptx needs --target=sm_80 or sm_90");
  if (!gpu && emitStage == EmitStage::EmulatedKernels)
    return fail("--emit=emulated-kernels needs --target=sm_80 or sm_90");
  // The target first: the tiles' limits are the target's.
  if (gpuOption_wgmma && target != "sm_90")
    return fail("--gpu-wgmma: needs --target=sm_90, found --target=" + target);
  if (gpuOption_attentionWgmma && target != "sm_90")
    return fail("--gpu-attention-wgmma: needs --target=sm_90, found "
                "--target=" +
                target);
  if (gpuOption_attentionOverlap && !gpuOption_attentionWgmma)
    return fail("--gpu-attention-overlap: needs --gpu-attention-wgmma");
  if (std::string error = llmc::mmaTileOptionsError(
          gpuOption_mmaBlockRows, gpuOption_mmaBlockCols,
          gpuOption_mmaStageSteps, gpuOption_mmaStages, gpuOption_wgmma,
          gpuOption_tma, gpuOption_tmaProducer, llmc::maxSharedBytes(target),
          "--gpu-");
      !error.empty())
    return fail(error);
  if (gpuOption_keyBucket < 1)
    return fail("--gpu-key-bucket: expected 1 or more, found " +
                std::to_string(gpuOption_keyBucket));
  if (gpuOption_attentionStages < 1 || gpuOption_attentionStages > 8)
    return fail("--gpu-attention-stages: expected 1 to 8, found " +
                std::to_string(gpuOption_attentionStages));
  if (gpuOption_prefetchWeights && target != "sm_90")
    return fail("--gpu-prefetch-weights: needs --target=sm_90 (programmatic "
                "dependent launch), found --target=" +
                target);
  if (gpuOption_prefetchWeights && !gpuOption_dependentLaunches)
    return fail("--gpu-prefetch-weights: needs dependent launches, found "
                "--gpu-dependent-launches=false");
  llmc::CompileOptions options;
  options.parallel.dp = dataParallel;
  options.parallel.tp = tensorParallel;
  options.parallel.pp = pipelineParallel;
  options.parallel.microbatches = microbatches;
  options.rank = emitRank;
  options.packWeights = packWeights;
  options.target = target;
  options.gpuTarget = {target, cudaPath};
#define LLMC_GPU_OPTION(TYPE, FIELD, NAME, DEFAULT, HELP)                      \
  options.gpuTarget.FIELD = gpuOption_##FIELD;
#include "llmc/Pipelines/GpuOptions.def"
  if (printPipeline) {
    llvm::outs() << llmc::describePipeline(emitStage, options, context)
                 << "\n";
    return 0;
  }
  if (emitStage == EmitStage::Artifact) {
    options.input = inputPath;
    options.output = outputPath;
    options.import = importOptions();
    options.maxBatch = maxBatch;
    llvm::raw_string_ostream version(options.compilerVersion);
    printVersion(version);
    options.compilerVersion.pop_back();
    if (llvm::Error error = llmc::compileArtifact(options, context))
      return fail(llvm::toString(std::move(error)));
    return 0;
  }
  // compileArtifact checks these itself.
  if (llvm::Error error = llmc::checkParallelOptions(options))
    return fail(llvm::toString(std::move(error)));
  OwningOpRef<ModuleOp> module = loadModule(context);
  if (!module)
    return 1;
  if (options.parallel.world() > 1 &&
      failed(llmc::partitionForRank(*module, options.parallel, options.rank)))
    return 1;
  if (failed(llmc::lowerToStage(*module, emitStage, options)))
    return 1;
  if (llvm::Error error = llmc::writeStage(*module, emitStage, outputPath))
    return fail(llvm::toString(std::move(error)));
  return 0;
}

/// The commands, for the checks cl does not make with one clear line.
static const char *const kCommands[] = {"import", "compile", "explain"};

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  if (argc > 1 && argv[1][0] != '-' &&
      !llvm::is_contained(kCommands, StringRef(argv[1])))
    return fail(llvm::Twine("unknown command '") + argv[1] +
                "': expects import, compile or explain (see llmc --help)");
  cl::SetVersionPrinter(printVersion);
  cl::HideUnrelatedOptions(llmcCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "llmc: ahead-of-time compiler for Transformer language models\n\n"
      "  llmc import <model-dir> [-o model.mlir]\n"
      "  llmc compile <model-dir> -o out.llmc [--target=cpu] [--dp N] "
      "[--tp N] [--pp N]\n"
      "  llmc compile <model-dir | model.mlir> --emit=llm|linalg|llvm\n"
      "  llmc compile <model-dir> -o out.llmc --target=sm_80|sm_90 "
      "[--dtype f16]\n"
      "  llmc compile <model-dir> --target=sm_80|sm_90 --emit=ptx\n"
      "  llmc compile <model-dir> --target=sm_80|sm_90 "
      "--emit=emulated-kernels -o kernels.so\n"
      "  llmc explain <model-dir | model.mlir>\n");

  if (!importCommand && !compileCommand && !explainCommand)
    return fail(
        "expects a command: import, compile or explain (see llmc --help)");
  if (inputPath.empty())
    return fail("expects an input: a model folder, a .mlir file, or - for "
                "stdin");

  DialectRegistry registry;
  llmc::registerPipelineDialects(registry);
  MLIRContext context(registry);
  llmc::OneLineDiagnosticHandler diagnostics(&context, llvm::errs());

  if (compileCommand)
    return runCompile(context);
  OwningOpRef<ModuleOp> module = loadModule(context);
  if (!module)
    return 1;
  if (importCommand)
    return writeModule(*module);
  llmc::printModuleSummary(*module, llvm::outs());
  return 0;
}
