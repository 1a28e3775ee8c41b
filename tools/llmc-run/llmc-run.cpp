//===- llmc-run.cpp - Run a compiled model --------------------------------===//
//
// Loads an artifact, runs the prompts as one batch (prefill, then greedy or
// sampled decode steps with the KV cache) and prints the generated token
// ids. Links the runtime and LLVMSupport only, no MLIR.
//
//===----------------------------------------------------------------------===//

#include "NpyWriter.h"
#include "Sampler.h"

#include "llmrt/Tokenizer.h"
#include "llmrt/llmrt.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <memory>

namespace cl = llvm::cl;

namespace {
cl::OptionCategory category("llmc-run options");

cl::opt<std::string> artifactDir(cl::Positional, cl::Required,
                                 cl::desc("<artifact directory>"),
                                 cl::cat(category));
cl::list<std::string> promptIds(
    "prompt-ids",
    cl::desc("A prompt as comma-separated token ids; repeat for a batch"),
    cl::value_desc("1,2,3"), cl::cat(category));
cl::list<std::string> promptTexts(
    "prompt",
    cl::desc("A prompt as text, encoded with the artifact's tokenizer; "
             "repeat for a batch. The text is printed as it is generated"),
    cl::value_desc("text"), cl::cat(category));
cl::opt<int64_t> maxNewTokens("max-new-tokens",
                              cl::desc("Tokens to generate per prompt"),
                              cl::init(16), cl::cat(category));
cl::opt<double> temperature("temperature",
                            cl::desc("Sampling temperature (0: greedy)"),
                            cl::init(0.0), cl::cat(category));
cl::opt<int64_t> topK("top-k", cl::desc("Sample among the k most likely"),
                      cl::init(0), cl::cat(category));
cl::opt<double> topP("top-p", cl::desc("Nucleus sampling probability mass"),
                     cl::init(1.0), cl::cat(category));
cl::opt<uint64_t> seed("seed", cl::desc("Random seed for sampling"),
                       cl::init(0), cl::cat(category));
cl::opt<bool> printStats(
    "timings",
    cl::desc("Print prefill and decode times (tokens/s) to stderr"),
    cl::cat(category));
cl::opt<bool> warmup(
    "warmup",
    cl::desc("Before the timed run, run the prompts' prefill and two decode "
             "steps once in a session of their own (benchmarks: the memory "
             "pool and caches are warm when --timings starts)"),
    cl::cat(category));
cl::opt<bool> rankStats(
    "rank-stats",
    cl::desc("Every rank prints its weight bytes and the bytes its "
             "collectives sent per decode step to stderr (benchmarks)"),
    cl::cat(category));
cl::opt<std::string> logitsOut(
    "logits-out",
    cl::desc("Write float32 logits [prompt_len + new_tokens - 1, vocab]: "
             "every prompt position, then every decode step (prompt k of a "
             "batch goes to FILE.k.npy)"),
    cl::value_desc("file.npy"), cl::cat(category));

/// Under a launcher, rank 0 reports what every rank finds in the
/// arguments; runtime errors name their rank and come from each.
bool quietErrors = false;

int fail(const llvm::Twine &message) {
  // One write per line, so that the lines of several ranks do not mix.
  if (!quietErrors)
    llvm::errs() << ("llmc-run: error: " + message + "\n").str();
  return 1;
}

/// Parses "1,2,3"; an error names the prompt and the bad entry.
llvm::Expected<std::vector<int32_t>> parseIds(llvm::StringRef text,
                                              size_t index) {
  std::vector<int32_t> ids;
  llvm::SmallVector<llvm::StringRef> parts;
  text.split(parts, ',');
  for (llvm::StringRef part : parts) {
    int32_t id;
    if (part.trim().getAsInteger(10, id))
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "--prompt-ids #%zu: expected comma-separated integers, found '%s'",
          index, part.str().c_str());
    ids.push_back(id);
  }
  return ids;
}

struct ModelDeleter {
  void operator()(llmrt_model *model) const { llmrt_model_close(model); }
};
struct SessionDeleter {
  void operator()(llmrt_session *session) const {
    llmrt_session_close(session);
  }
};
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "llmc-run: run a model compiled by llmc\n"
                              "  (a sharded artifact: mpirun -np <ranks> "
                              "llmc-run ...)\n");
  quietErrors = llmrt_launcher_rank() != 0;
  if (promptIds.empty() == promptTexts.empty())
    return fail("expects --prompt or --prompt-ids (one of them)");
  if (maxNewTokens < 1)
    return fail("--max-new-tokens: expected at least 1");

  std::unique_ptr<llmrt::Tokenizer> tokenizer;
  std::vector<std::vector<int32_t>> prompts;
  if (!promptTexts.empty()) {
    bool found = false;
    if (llmrt::Status status =
            llmrt::Tokenizer::open(artifactDir, tokenizer, found);
        !status.ok())
      return fail(status.message());
    if (!found)
      return fail(artifactDir + " has no tokenizer (its checkpoint had no "
                                "tokenizer.json or tokenizer.model): use "
                                "--prompt-ids");
    for (const std::string &text : promptTexts) {
      std::vector<int32_t> ids;
      if (llmrt::Status status = tokenizer->encode(text, true, ids);
          !status.ok())
        return fail(status.message());
      if (ids.empty())
        return fail("--prompt '" + text + "' encodes to no tokens");
      prompts.push_back(std::move(ids));
    }
  }
  for (size_t i = 0; i < promptIds.size(); ++i) {
    auto ids = parseIds(promptIds[i], i);
    if (!ids)
      return fail(llvm::toString(ids.takeError()));
    if (ids->empty())
      return fail("--prompt-ids #" + llvm::Twine(i) + " is empty");
    prompts.push_back(std::move(*ids));
  }

  char error[1024];
  llmrt_model *rawModel = nullptr;
  quietErrors = false;
  if (llmrt_model_open(artifactDir.c_str(), &rawModel, error, sizeof(error)))
    return fail(error);
  std::unique_ptr<llmrt_model, ModelDeleter> model(rawModel);
  // Only rank 0 prints results; every rank runs the same steps.
  bool printer = llmrt_model_rank(model.get()) == 0;
  quietErrors = !printer;
  llvm::raw_null_ostream silent;
  llvm::raw_ostream &out =
      printer ? static_cast<llvm::raw_ostream &>(llvm::outs()) : silent;
  int64_t batch = prompts.size();
  int64_t vocab = llmrt_model_vocab_size(model.get());
  int64_t maxSeq = llmrt_model_max_seq_len(model.get());
  for (size_t i = 0; i < prompts.size(); ++i)
    if (int64_t needed = prompts[i].size() + maxNewTokens - 1; needed > maxSeq)
      return fail("--prompt-ids #" + llvm::Twine(i) + ": " +
                  llvm::Twine(prompts[i].size()) + " prompt tokens and " +
                  llvm::Twine(maxNewTokens.getValue()) +
                  " new tokens need " + llvm::Twine(needed) +
                  " positions; the artifact's max_seq_len is " +
                  llvm::Twine(maxSeq));
  llmrt_session *rawSession = nullptr;
  if (llmrt_session_create(model.get(), batch, &rawSession, error,
                           sizeof(error)))
    return fail(error);
  std::unique_ptr<llmrt_session, SessionDeleter> session(rawSession);

  // Prefill: rows right-padded to the longest prompt.
  int64_t seq = 0;
  for (const auto &prompt : prompts)
    seq = std::max<int64_t>(seq, prompt.size());
  std::vector<int32_t> ids(batch * seq, 0);
  std::vector<int64_t> positions(batch, 0);
  for (int64_t b = 0; b < batch; ++b)
    std::copy(prompts[b].begin(), prompts[b].end(), ids.begin() + b * seq);
  // Logits of every prompt position only when they are written out;
  // otherwise just those of each row's last prompt token.
  bool allPositions = !logitsOut.empty();
  std::vector<int64_t> last(batch);
  for (int64_t b = 0; b < batch; ++b)
    last[b] = prompts[b].size() - 1;
  std::vector<float> logits(batch * (allPositions ? seq : 1) * vocab);
  if (warmup) {
    llmrt_session *rawWarm = nullptr;
    if (llmrt_session_create(model.get(), batch, &rawWarm, error,
                             sizeof(error)))
      return fail(error);
    std::unique_ptr<llmrt_session, SessionDeleter> warm(rawWarm);
    std::vector<float> warmLogits(batch * vocab);
    std::vector<int64_t> warmPositions(batch, 0);
    if (llmrt_prefill_last(warm.get(), ids.data(), seq, warmPositions.data(),
                           last.data(), warmLogits.data(), error,
                           sizeof(error)))
      return fail(error);
    std::vector<int32_t> token(batch, 0);
    // As many steps as the cache has room for after the longest prompt.
    for (int64_t step = 0; step < 2 && seq + step < maxSeq; ++step) {
      for (int64_t b = 0; b < batch; ++b)
        warmPositions[b] = prompts[b].size() + step;
      if (llmrt_decode(warm.get(), token.data(), warmPositions.data(),
                       warmLogits.data(), error, sizeof(error)))
        return fail(error);
    }
  }
  using Clock = std::chrono::steady_clock;
  auto prefillStart = Clock::now();
  int failed =
      allPositions
          ? llmrt_prefill(session.get(), ids.data(), seq, positions.data(),
                          logits.data(), error, sizeof(error))
          : llmrt_prefill_last(session.get(), ids.data(), seq,
                               positions.data(), last.data(), logits.data(),
                               error, sizeof(error));
  if (failed)
    return fail(error);

  std::vector<std::vector<float>> recorded(batch);
  std::vector<std::vector<int32_t>> generated(batch);
  // One text prompt streams its continuation as it is generated.
  std::unique_ptr<llmrt::TextStream> stream;
  if (tokenizer && batch == 1)
    stream = std::make_unique<llmrt::TextStream>(*tokenizer);
  auto emit = [&](int64_t b, int32_t id) {
    generated[b].push_back(id);
    if (stream) {
      out << stream->push(id);
      out.flush();
    }
  };
  llmc::Sampler sampler({temperature, topK, topP, seed});
  std::vector<int32_t> next(batch);
  for (int64_t b = 0; b < batch; ++b) {
    const float *lastRow = logits.data() + b * vocab;
    if (allPositions) {
      const float *rows = logits.data() + b * seq * vocab;
      recorded[b].assign(rows, rows + (last[b] + 1) * vocab);
      lastRow = rows + last[b] * vocab;
    }
    next[b] = sampler.next(lastRow, vocab);
    emit(b, next[b]);
  }

  auto decodeStart = Clock::now();
  uint64_t sentBeforeDecode = llmrt_model_communicated_bytes(model.get());
  std::vector<float> stepLogits(batch * vocab);
  for (int64_t step = 1; step < maxNewTokens; ++step) {
    for (int64_t b = 0; b < batch; ++b)
      positions[b] = prompts[b].size() + step - 1;
    if (llmrt_decode(session.get(), next.data(), positions.data(),
                     stepLogits.data(), error, sizeof(error)))
      return fail(error);
    for (int64_t b = 0; b < batch; ++b) {
      const float *row = stepLogits.data() + b * vocab;
      if (!logitsOut.empty())
        recorded[b].insert(recorded[b].end(), row, row + vocab);
      next[b] = sampler.next(row, vocab);
      emit(b, next[b]);
    }
  }

  auto decodeEnd = Clock::now();
  if (rankStats) {
    int64_t steps = maxNewTokens - 1;
    uint64_t sent =
        llmrt_model_communicated_bytes(model.get()) - sentBeforeDecode;
    llvm::errs() << llvm::formatv(
                        "rank {0}: weights {1} bytes; decode sent {2} bytes "
                        "per step\n",
                        llmrt_model_rank(model.get()),
                        llmrt_model_weight_bytes(model.get()),
                        steps > 0 ? double(sent) / steps : 0.0)
                        .str();
  }
  if (printStats && printer) {
    auto seconds = [](Clock::duration d) {
      return std::chrono::duration<double>(d).count();
    };
    double prefillSeconds = seconds(decodeStart - prefillStart);
    double decodeSeconds = seconds(decodeEnd - decodeStart);
    int64_t steps = maxNewTokens - 1;
    llvm::errs() << llvm::format(
        "prefill: %lld x %lld tokens in %.2f ms (%.1f tokens/s)\n",
        (long long)batch, (long long)seq, prefillSeconds * 1e3,
        batch * seq / prefillSeconds);
    if (steps > 0)
      llvm::errs() << llvm::format(
          "decode: %lld steps x %lld rows in %.2f ms (%.1f tokens/s)\n",
          (long long)steps, (long long)batch, decodeSeconds * 1e3,
          steps * batch / decodeSeconds);
  }
  for (int64_t b = 0; b < batch; ++b) {
    if (stream)
      out << stream->finish() << "\n";
    else if (tokenizer)
      out << tokenizer->decode(generated[b]) << "\n";
    else
      out << llvm::join(llvm::map_range(generated[b],
                                                 [](int32_t id) {
                                                   return std::to_string(id);
                                                 }),
                                 ",")
                   << "\n";
    if (logitsOut.empty() || !printer)
      continue;
    std::string path = logitsOut;
    if (batch > 1)
      path = (llvm::StringRef(logitsOut).rsplit(".npy").first + "." +
              llvm::Twine(b) + ".npy")
                 .str();
    int64_t rows = recorded[b].size() / vocab;
    if (llvm::Error error = llmc::writeNpy(path, {rows, vocab}, recorded[b]))
      return fail(llvm::toString(std::move(error)));
  }
  return 0;
}
