//===- Sampler.cpp - Choosing the next token from logits ------------------===//

#include "Sampler.h"

#include <algorithm>
#include <cmath>

namespace llmc {

int32_t Sampler::next(const float *logits, int64_t vocab) {
  if (options.temperature <= 0.0)
    return static_cast<int32_t>(std::max_element(logits, logits + vocab) -
                                logits);
  candidates.clear();
  for (int64_t i = 0; i < vocab; ++i)
    candidates.emplace_back(logits[i], static_cast<int32_t>(i));
  std::sort(candidates.begin(), candidates.end(),
            [](const auto &a, const auto &b) { return a.first > b.first; });
  if (options.topK > 0 && options.topK < vocab)
    candidates.resize(options.topK);

  // Probabilities at the temperature, most likely first.
  double maxLogit = candidates.front().first, total = 0.0;
  std::vector<double> weights;
  for (const auto &candidate : candidates) {
    weights.push_back(
        std::exp((candidate.first - maxLogit) / options.temperature));
    total += weights.back();
  }
  size_t keep = weights.size();
  if (options.topP < 1.0) {
    double mass = 0.0;
    for (keep = 0; keep < weights.size();) {
      mass += weights[keep++] / total;
      if (mass >= options.topP)
        break;
    }
  }
  std::discrete_distribution<size_t> pick(weights.begin(),
                                          weights.begin() + keep);
  return candidates[pick(generator)].second;
}

} // namespace llmc
