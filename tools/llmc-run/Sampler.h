//===- Sampler.h - Choosing the next token from logits ----------*- C++ -*-===//

#ifndef LLMC_TOOLS_LLMC_RUN_SAMPLER_H
#define LLMC_TOOLS_LLMC_RUN_SAMPLER_H

#include <cstdint>
#include <random>
#include <vector>

namespace llmc {

struct SamplingOptions {
  /// 0 picks the most likely token (greedy).
  double temperature = 0.0;
  /// Keep only the k most likely tokens; 0 keeps all.
  int64_t topK = 0;
  /// Keep the smallest set of tokens whose probability reaches p.
  double topP = 1.0;
  uint64_t seed = 0;
};

/// Greedy, or temperature / top-k / top-p sampling with a seeded generator
/// (the same seed gives the same tokens).
class Sampler {
public:
  explicit Sampler(const SamplingOptions &options)
      : options(options), generator(options.seed) {}

  int32_t next(const float *logits, int64_t vocab);

private:
  SamplingOptions options;
  std::mt19937_64 generator;
  std::vector<std::pair<float, int32_t>> candidates;
};

} // namespace llmc

#endif // LLMC_TOOLS_LLMC_RUN_SAMPLER_H
