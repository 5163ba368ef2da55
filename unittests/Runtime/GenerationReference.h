//===- GenerationReference.h - Tokens the fake models predict --*- C++ -*-===//
//
// The next-token rules described in FakeGenModel.c, written again from the
// description so that the tests do not trust the fake's (or the
// generator's) code.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_UNITTESTS_RUNTIME_GENERATIONREFERENCE_H
#define KILN_UNITTESTS_RUNTIME_GENERATIONREFERENCE_H

#include "FakeGenModel.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace kiln {
namespace testing {

/// Decoder: the scores after `tokens` (at positions 0, 1, ...) are one-hot
/// at S mod V with S = sum t_p * (p + 2), plus a tie at (S mod V + 5) mod V
/// when S is a multiple of 4.
inline std::vector<float> decoderScores(const std::vector<int64_t> &tokens) {
  int64_t sum = 0;
  for (size_t p = 0; p < tokens.size(); ++p)
    sum += tokens[p] * static_cast<int64_t>(p + 2);
  std::vector<float> scores(FAKE_GEN_VOCAB, 0.0f);
  scores[sum % FAKE_GEN_VOCAB] = 1.0f;
  if (sum % 4 == 0)
    scores[(sum % FAKE_GEN_VOCAB + 5) % FAKE_GEN_VOCAB] = 1.0f;
  return scores;
}

/// Mamba: one-hot at (sum of tokens + 3 * second-to-last token) mod V.
inline std::vector<float> mambaScores(const std::vector<int64_t> &tokens) {
  int64_t sum = 0;
  for (int64_t t : tokens)
    sum += t;
  int64_t previous = tokens.size() >= 2 ? tokens[tokens.size() - 2] : 0;
  std::vector<float> scores(FAKE_GEN_VOCAB, 0.0f);
  scores[(sum + 3 * previous) % FAKE_GEN_VOCAB] = 1.0f;
  return scores;
}

/// Greedy decoding of `n` tokens after `prompt` with `scores`; `ties`
/// counts the picks that had to break a tie.
template <typename Scores>
std::vector<int64_t> referenceGreedy(Scores scores, std::vector<int64_t> prompt,
                                     int64_t n, int *ties = nullptr) {
  std::vector<int64_t> generated;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<float> row = scores(prompt);
    auto best = std::max_element(row.begin(), row.end());
    if (ties && std::count(row.begin(), row.end(), *best) > 1)
      ++*ties;
    int64_t token = best - row.begin();
    generated.push_back(token);
    prompt.push_back(token);
  }
  return generated;
}

} // namespace testing
} // namespace kiln

#endif // KILN_UNITTESTS_RUNTIME_GENERATIONREFERENCE_H
