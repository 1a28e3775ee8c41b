//===- Compile.cpp - What `llmc compile` does -----------------------------===//

#include "Compile.h"
#include "llmc/Support/Error.h"

#include "llmc/Dialect/LLM/Transforms/Passes.h"
#include "llmc/Pipelines/Pipelines.h"
#include "llmc/Target/Artifact.h"
#include "llmc/Target/EmulatedKernels.h"
#include "llmc/Target/GpuCode.h"
#include "llmc/Target/HostCode.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Threading.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;

namespace llmc {

static void buildStagePipeline(OpPassManager &pm, EmitStage emit,
                               const CompileOptions &options) {
  // GPU targets lower attention as llm.fused_attention unless told not to.
  bool fusedAttention = options.gpu() && options.gpuTarget.fusedAttention;
  // And read the keys in buckets (the CPU: exactly those needed).
  int64_t keyBucket = options.gpu() ? options.gpuTarget.keyBucket : 1;
  switch (emit) {
  case EmitStage::LLM:
    return;
  case EmitStage::Linalg:
    return buildLLMToLinalgPipeline(pm, fusedAttention, keyBucket);
  case EmitStage::EmulatedKernels:
    buildLLMToLinalgPipeline(pm, fusedAttention, keyBucket);
    return buildGpuKernelsPipeline(pm, options.gpuTarget);
  case EmitStage::LLVM:
  case EmitStage::Artifact:
  case EmitStage::PTX:
    if (!options.gpu())
      return buildCpuPipeline(pm);
    buildLLMToLinalgPipeline(pm, fusedAttention, keyBucket);
    return buildGpuCodegenPipeline(pm, options.gpuTarget);
  }
}

std::string describePipeline(EmitStage emit, const CompileOptions &options,
                             MLIRContext &context) {
  PassManager pm(&context);
  buildStagePipeline(pm, emit, options);
  std::string text;
  llvm::raw_string_ostream os(text);
  pm.printAsTextualPipeline(os);
  return text;
}

LogicalResult lowerToStage(ModuleOp module, EmitStage emit,
                           const CompileOptions &options) {
  PassManager pm(module.getContext());
  buildStagePipeline(pm, emit, options);
  return pm.run(module);
}

llvm::Error checkParallelOptions(const CompileOptions &options) {
  const ParallelConfig &parallel = options.parallel;
  for (auto [name, value] :
       {std::pair<const char *, int64_t>{"--dp", parallel.dp},
        {"--tp", parallel.tp},
        {"--pp", parallel.pp},
        {"--microbatches", parallel.microbatches}})
    if (value < 1)
      return makeError(llvm::Twine(name) +
                       ": expected a positive number, found " +
                       llvm::Twine(value));
  if (options.rank < 0 || options.rank >= parallel.world())
    return makeError("--rank: expected a rank below the world size " +
                     llvm::Twine(parallel.world()) + " (dp " +
                     llvm::Twine(parallel.dp) + " x pp " +
                     llvm::Twine(parallel.pp) + " x tp " +
                     llvm::Twine(parallel.tp) + "), found " +
                     llvm::Twine(options.rank));
  return llvm::Error::success();
}

LogicalResult partitionForRank(ModuleOp module, const ParallelConfig &parallel,
                               int64_t rank) {
  ParallelRank program;
  program.pp = parallel.pp;
  program.stage = (rank / parallel.tp) % parallel.pp;
  program.tp = parallel.tp;
  program.tpRank = rank % parallel.tp;
  PassManager pm(module.getContext());
  buildParallelPipeline(pm, program);
  if (failed(pm.run(module)))
    return failure();
  setWorldAxis(module, kDataAxis, parallel.dp);
  return success();
}

llvm::Error writeStage(ModuleOp module, EmitStage emit, llvm::StringRef path) {
  if (emit == EmitStage::EmulatedKernels) {
    if (path.empty() || path == "-")
      return makeError("--emit=emulated-kernels writes a shared library: "
                       "expects -o FILE.so");
    return emitEmulatedKernels(module, path);
  }
  std::string message;
  auto output = openOutputFile(path, &message);
  if (!output)
    return makeError("cannot write '" + path + "': " + message);
  // A GPU program: its kernels' PTX, or its host code without them.
  std::optional<GpuCode> gpu;
  if (!module.getOps<gpu::BinaryOp>().empty()) {
    auto code = takeGpuCode(module);
    if (!code)
      return code.takeError();
    gpu = std::move(*code);
  }
  if (emit == EmitStage::PTX) {
    if (!gpu)
      return makeError("--emit=ptx: the program has no GPU kernels");
    output->os() << gpu->ptx;
  } else if (emit == EmitStage::LLVM) {
    llvm::LLVMContext context;
    auto llvmModule = translateForHost(module, context);
    if (!llvmModule)
      return llvmModule.takeError();
    (*llvmModule)->print(output->os(), nullptr);
  } else {
    module.print(output->os());
  }
  output->keep();
  return llvm::Error::success();
}

llvm::Error compileArtifact(const CompileOptions &options,
                            MLIRContext &context) {
  if (!llvm::sys::fs::is_directory(options.input))
    return makeError("'" + options.input +
                     "': an artifact is compiled from a model folder (its "
                     "weights are referenced); use --emit=llm|linalg|llvm "
                     "for .mlir input");
  if (options.output.empty() || options.output == "-")
    return makeError("expects -o <artifact directory>");
  if (llvm::Error error = checkParallelOptions(options))
    return error;
  if (options.maxBatch <= 0)
    return makeError("--max-batch: expected a positive number, found " +
                     llvm::Twine(options.maxBatch));

  llvm::Expected<ModelConfig> config = readModelConfig(options.input);
  if (!config)
    return config.takeError();
  llmrt::WeightStore store;
  if (llvm::Error error = openWeightStore(options.input, store))
    return error;
  auto module = importHuggingFace(options.input, *config, store,
                                  options.import, &context);
  if (!module)
    return module.takeError();

  llvm::SmallString<256> checkpoint(options.input);
  llvm::sys::fs::make_absolute(checkpoint);
  llvm::sys::path::remove_dots(checkpoint, /*remove_dot_dot=*/true);
  ManifestInputs inputs;
  inputs.checkpointDir = checkpoint.str().str();
  inputs.config = &*config;
  inputs.store = &store;
  inputs.maxBatch = options.maxBatch;
  inputs.compilerVersion = options.compilerVersion;
  // The tokenizer travels with the artifact, so text prompts need nothing
  // else.
  for (const char *name : {"tokenizer.json", "tokenizer.model"})
    if (llvm::sys::fs::exists(options.input + "/" + name)) {
      inputs.tokenizer = name;
      break;
    }
  inputs.parallel = options.parallel;

  // One program per (stage, tp rank); data-parallel replicas share them.
  const ParallelConfig &parallel = options.parallel;
  std::vector<std::pair<std::string, OwningOpRef<ModuleOp>>> programs;
  // With --pack-weights: each program's weight folder and its llm module.
  std::vector<std::pair<std::string, OwningOpRef<ModuleOp>>> packs;
  for (int64_t stage = 0; stage < parallel.pp; ++stage)
    for (int64_t tpRank = 0; tpRank < parallel.tp; ++tpRank) {
      OwningOpRef<ModuleOp> program = (*module)->clone();
      if (failed(partitionForRank(*program, parallel,
                                  stage * parallel.tp + tpRank)))
        return makeReportedError();
      std::string library = programLibraryName(parallel, stage, tpRank);
      std::string weights;
      if (options.packWeights) {
        weights = llvm::formatv("weights/stage{0}.tp{1}", stage, tpRank);
        packs.emplace_back(weights, cast<ModuleOp>((*program)->clone()));
      }
      inputs.programs.push_back(
          describeProgram(*program, stage, tpRank, library, weights));
      programs.emplace_back(std::move(library), std::move(program));
    }
  llvm::json::Value manifest = buildManifest(**module, inputs);

  // The programs of a sharded artifact compile side by side, on the
  // context's threads (each pass manager and LLVM context its own). Dialects
  // cannot be loaded while threads run: every one the pipeline needs is
  // loaded first.
  {
    PassManager pm(&context);
    buildStagePipeline(pm, EmitStage::Artifact, options);
    DialectRegistry registry;
    pm.getDependentDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }
  if (failed(failableParallelForEachN(
          &context, 0, programs.size(), [&](size_t i) {
            return lowerToStage(*programs[i].second, EmitStage::Artifact,
                                options);
          })))
    return makeError("compilation failed");

  // A GPU program's kernels: PTX beside its host library, a cubin when
  // ptxas is there, and their names and resources in the manifest.
  std::vector<GpuCode> gpuCode(options.gpu() ? programs.size() : 0);
  std::optional<std::string> ptxas;
  if (options.gpu()) {
    (*manifest.getAsObject())["target"] = options.target;
    ptxas = findPtxas(options.gpuTarget.toolkit);
    for (size_t i = 0; i < programs.size(); ++i) {
      auto code = takeGpuCode(*programs[i].second);
      if (!code)
        return code.takeError();
      gpuCode[i] = std::move(*code);
    }
  }

  // Writes program i's PTX and cubin into `dir`; returns its manifest entry.
  auto writeGpuCode = [&](llvm::StringRef dir,
                          size_t i) -> llvm::Expected<llvm::json::Object> {
    std::string stem = llvm::StringRef(programs[i].first).drop_back(3).str();
    std::string ptx = stem + ".ptx", cubin;
    std::string ptxPath = (dir + "/" + ptx).str();
    {
      std::error_code error;
      llvm::raw_fd_ostream os(ptxPath, error);
      if (error)
        return makeError("cannot write " + ptxPath + ": " + error.message());
      os << gpuCode[i].ptx;
    }
    std::vector<KernelResources> resources;
    if (ptxas) {
      // sm_90a's cubin runs on sm_90 GPUs only, as the runtime loads a
      // cubin for the manifest's target (sm_90) only.
      std::string chip = options.gpuTarget.kernelChip();
      cubin = stem + "." + chip + ".cubin";
      auto assembled =
          assemblePtx(*ptxas, ptxPath, (dir + "/" + cubin).str(), chip);
      if (!assembled)
        return assembled.takeError();
      resources = std::move(*assembled);
    }
    return describeGpuCode(gpuCode[i], ptx, cubin, resources);
  };

  return writeArtifactDirectory(
      options.output, [&](llvm::StringRef dir) -> llvm::Error {
        // Each program's host library, and its kernels' PTX and cubin, on
        // the context's threads.
        std::vector<std::string> errors(programs.size());
        std::vector<llvm::json::Object> gpuEntries(gpuCode.size());
        (void)failableParallelForEachN(
            &context, 0, programs.size(), [&](size_t i) {
              auto &[library, program] = programs[i];
              llvm::Error error = llvm::Error::success();
              if (!gpuCode.empty()) {
                auto entry = writeGpuCode(dir, i);
                if (entry)
                  gpuEntries[i] = std::move(*entry);
                else
                  error = entry.takeError();
              }
              if (!error)
                error = emitHostSharedLibrary(*program,
                                              (dir + "/" + library).str());
              if (error) {
                errors[i] = llvm::toString(std::move(error));
                return failure();
              }
              return success();
            });
        for (const std::string &error : errors)
          if (!error.empty())
            return makeError(error);
        for (size_t i = 0; i < gpuEntries.size(); ++i)
          (*(*manifest.getAsObject()->getArray("programs"))[i].getAsObject())
              ["gpu"] = std::move(gpuEntries[i]);
        for (auto &[folder, program] : packs) {
          std::string path = (dir + "/" + folder).str();
          if (std::error_code error = llvm::sys::fs::create_directories(path))
            return makeError("cannot create " + path + ": " +
                             error.message());
          if (llvm::Error error = writePackedWeights(
                  *program, store, path + "/model.safetensors"))
            return error;
        }
        if (!inputs.tokenizer.empty())
          if (std::error_code error = llvm::sys::fs::copy_file(
                  options.input + "/" + inputs.tokenizer,
                  dir + "/" + inputs.tokenizer))
            return makeError("cannot copy " + inputs.tokenizer + ": " +
                             error.message());
        return writeJsonFile((dir + "/manifest.json").str(), manifest);
      });
}

} // namespace llmc
