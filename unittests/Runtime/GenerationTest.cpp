//===- GenerationTest.cpp - Tests of the kiln_generator API ---------------===//
//
// Drives the fake generation models (FakeGenModel.c) through the generator
// and checks tokens, logits and state against GenerationReference.h, and
// every rejection against its status and message.
//
//===----------------------------------------------------------------------===//

#include "FakeGenModel.h"
#include "GenerationReference.h"
#include "TestSupport.h"
#include "kiln/Runtime/kiln_runtime.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstring>

using namespace kiln::testing;
using ::testing::HasSubstr;

namespace {
constexpr int64_t kVocab = FAKE_GEN_VOCAB;

/// A fake model opened with one context.
class GeneratorTest : public ::testing::Test {
protected:
  void open(const char *soPath) {
    ASSERT_FALSE(dir.path().empty());
    ASSERT_TRUE(makeModelDir(dir, soPath));
    ASSERT_EQ(kiln_model_open(dir.path().c_str(), &model), KILN_OK)
        << kiln_last_error();
    kiln_context_options options = {1};
    ASSERT_EQ(kiln_context_create(model, &options, &context), KILN_OK)
        << kiln_last_error();
  }

  void create(int64_t batch, int64_t capacity) {
    ASSERT_EQ(kiln_generator_create(context, batch, capacity, &generator),
              KILN_OK)
        << kiln_last_error();
  }

  void TearDown() override {
    kiln_generator_destroy(generator);
    kiln_context_destroy(context);
    kiln_model_close(model);
  }

  /// State `index` as a vector of floats, with its name and shape.
  std::vector<float> state(int32_t index, std::string &name,
                           std::vector<int64_t> &shape) {
    const char *stateName = nullptr;
    kiln_tensor view;
    EXPECT_EQ(kiln_generator_state(generator, index, &stateName, &view),
              KILN_OK)
        << kiln_last_error();
    name = stateName ? stateName : "";
    shape.assign(view.shape, view.shape + view.rank);
    EXPECT_EQ(view.dtype, KILN_DTYPE_F32);
    EXPECT_EQ(view.strides, nullptr);
    int64_t count = 1;
    for (int64_t dim : shape)
      count *= dim;
    const float *data = static_cast<const float *>(view.data);
    return std::vector<float>(data, data + count);
  }

  TempDir dir;
  kiln_model *model = nullptr;
  kiln_context *context = nullptr;
  kiln_generator *generator = nullptr;
};

/// Row-major [batch, n] from per-sequence rows.
std::vector<int64_t> flatten(const std::vector<std::vector<int64_t>> &rows) {
  std::vector<int64_t> flat;
  for (const auto &row : rows)
    flat.insert(flat.end(), row.begin(), row.end());
  return flat;
}

TEST_F(GeneratorTest, DecoderGreedyMatchesReference) {
  open(FAKE_GEN_DECODER_PATH);
  std::vector<std::vector<int64_t>> prompts = {{3, 1, 4}, {10, 0, 7}};
  const int64_t n = 12;
  // The last pick is never fed back: len + n - 1 positions are enough.
  create(2, 3 + n - 1);
  EXPECT_EQ(kiln_generator_batch(generator), 2);
  EXPECT_EQ(kiln_generator_capacity(generator), 3 + n - 1);
  EXPECT_EQ(kiln_generator_vocab_size(generator), kVocab);

  int ties = 0;
  std::vector<std::vector<int64_t>> expected;
  for (const auto &prompt : prompts)
    expected.push_back(referenceGreedy(decoderScores, prompt, n, &ties));
  // Otherwise the lowest-id rule would go untested.
  ASSERT_GT(ties, 0);

  std::vector<int64_t> out(2 * n, -1);
  ASSERT_EQ(kiln_generator_greedy(generator, flatten(prompts).data(), 3, n,
                                  out.data()),
            KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(out, flatten(expected));
  EXPECT_EQ(kiln_generator_position(generator), 3 + n - 1);

  // A second run starts over from the new prompt.
  std::vector<int64_t> again(2 * n, -1);
  ASSERT_EQ(kiln_generator_greedy(generator, flatten(prompts).data(), 3, n,
                                  again.data()),
            KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(again, out);
}

TEST_F(GeneratorTest, DecoderStepLogitsAndState) {
  open(FAKE_GEN_DECODER_PATH);
  const int64_t batch = 2, capacity = 6;
  create(batch, capacity);
  ASSERT_EQ(kiln_generator_num_states(generator), 2);

  std::vector<std::vector<int64_t>> seqs = {{5, 2}, {9, 9}};
  std::vector<float> logits(batch * kVocab, -1.0f);
  ASSERT_EQ(
      kiln_generator_prefill(generator, flatten(seqs).data(), 2, logits.data()),
      KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(kiln_generator_position(generator), 2);
  for (int64_t b = 0; b < batch; ++b)
    EXPECT_EQ(std::vector<float>(logits.begin() + b * kVocab,
                                 logits.begin() + (b + 1) * kVocab),
              decoderScores(seqs[b]))
        << "prefill, sequence " << b;

  // Tokens of our choosing, not the model's picks.
  const int64_t steps[3][2] = {{1, 4}, {0, 8}, {6, 3}};
  for (const auto &step : steps) {
    ASSERT_EQ(kiln_generator_step(generator, step, logits.data()), KILN_OK)
        << kiln_last_error();
    for (int64_t b = 0; b < batch; ++b) {
      seqs[b].push_back(step[b]);
      EXPECT_EQ(std::vector<float>(logits.begin() + b * kVocab,
                                   logits.begin() + (b + 1) * kVocab),
                decoderScores(seqs[b]))
          << "after " << seqs[b].size() << " tokens, sequence " << b;
    }
  }
  EXPECT_EQ(kiln_generator_position(generator), 5);

  // key_cache[l, b, p, 0, :] = {t + l, p + 1}; value_cache = {t (l + 1), -1}
  // for the 5 positions written, zeros after them.
  const std::vector<int64_t> cacheShape = {
      FAKE_GEN_LAYERS, batch, capacity, FAKE_GEN_KV_HEADS, FAKE_GEN_HEAD_DIM};
  for (int32_t s = 0; s < 2; ++s) {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> values = state(s, name, shape);
    EXPECT_EQ(name, s == 0 ? "key_cache" : "value_cache");
    ASSERT_EQ(shape, cacheShape);
    for (int64_t l = 0; l < FAKE_GEN_LAYERS; ++l)
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t p = 0; p < capacity; ++p) {
          const float *at = values.data() + ((l * batch + b) * capacity + p) *
                                                FAKE_GEN_HEAD_DIM;
          float first = 0, second = 0;
          if (p < 5) {
            int64_t t = seqs[b][p];
            first = s == 0 ? t + l : t * (l + 1);
            second = s == 0 ? p + 1 : -1;
          }
          EXPECT_EQ(at[0], first)
              << name << " l" << l << " b" << b << " p" << p;
          EXPECT_EQ(at[1], second)
              << name << " l" << l << " b" << b << " p" << p;
        }
  }
}

TEST_F(GeneratorTest, StateBuffersPingPongWithoutCopies) {
  open(FAKE_GEN_DECODER_PATH);
  create(1, 8);
  auto statePointer = [&]() {
    kiln_tensor view;
    EXPECT_EQ(kiln_generator_state(generator, 0, nullptr, &view), KILN_OK);
    return view.data;
  };
  const int64_t prompt[] = {1, 2};
  ASSERT_EQ(kiln_generator_prefill(generator, prompt, 2, nullptr), KILN_OK)
      << kiln_last_error();
  void *first = statePointer();
  const int64_t token = 3;
  ASSERT_EQ(kiln_generator_step(generator, &token, nullptr), KILN_OK)
      << kiln_last_error();
  void *second = statePointer();
  ASSERT_EQ(kiln_generator_step(generator, &token, nullptr), KILN_OK)
      << kiln_last_error();
  // The outputs of one call are the inputs of the next: two buffers,
  // alternating (the fake also fails if an output aliases its input).
  EXPECT_NE(first, second);
  EXPECT_EQ(statePointer(), first);
}

TEST_F(GeneratorTest, ExtendMatchesOnePrefillAndForward) {
  open(FAKE_GEN_DECODER_PATH);
  create(1, 10);
  const std::vector<int64_t> tokens = {4, 8, 1, 5, 9, 2, 6};
  std::vector<float> whole(kVocab), chunked(kVocab);
  ASSERT_EQ(kiln_generator_prefill(generator, tokens.data(), 7, whole.data()),
            KILN_OK)
      << kiln_last_error();
  ASSERT_EQ(kiln_generator_prefill(generator, tokens.data(), 3, nullptr),
            KILN_OK)
      << kiln_last_error();
  ASSERT_EQ(
      kiln_generator_extend(generator, tokens.data() + 3, 4, chunked.data()),
      KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(kiln_generator_position(generator), 7);
  EXPECT_EQ(whole, decoderScores(tokens));
  EXPECT_EQ(chunked, whole);

  // The forward entry agrees on the last position.
  int32_t forward = -1;
  ASSERT_EQ(kiln_model_find_entry(model, "forward", &forward), KILN_OK);
  std::vector<int64_t> mask(7, 1), idsShape = {1, 7},
                                   logitsShape = {1, 7, kVocab};
  std::vector<float> all(7 * kVocab);
  kiln_tensor inputs[2] = {
      {KILN_DTYPE_I64, 2, idsShape.data(), nullptr,
       const_cast<int64_t *>(tokens.data())},
      {KILN_DTYPE_I64, 2, idsShape.data(), nullptr, mask.data()}};
  kiln_tensor output = {KILN_DTYPE_F32, 3, logitsShape.data(), nullptr,
                        all.data()};
  ASSERT_EQ(kiln_context_run(context, forward, inputs, 2, &output, 1), KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(std::vector<float>(all.end() - kVocab, all.end()), whole);
}

TEST_F(GeneratorTest, CapacityIsEnforced) {
  open(FAKE_GEN_DECODER_PATH);
  create(1, 4);
  const int64_t prompt[] = {1, 2, 3, 4, 5};
  EXPECT_EQ(kiln_generator_prefill(generator, prompt, 5, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("position 0 + 5 tokens exceeds the KV-cache "
                        "capacity 4"));

  std::vector<float> logits(kVocab);
  ASSERT_EQ(kiln_generator_prefill(generator, prompt, 3, logits.data()),
            KILN_OK)
      << kiln_last_error();
  const int64_t token = 7;
  ASSERT_EQ(kiln_generator_step(generator, &token, logits.data()), KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(kiln_generator_step(generator, &token, logits.data()),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(), "kiln_generator_extend: position 4 + 1 "
                                  "tokens exceeds the KV-cache capacity 4");
  // The failed step changed nothing.
  EXPECT_EQ(kiln_generator_position(generator), 4);
  EXPECT_EQ(logits, decoderScores({1, 2, 3, 7}));

  std::vector<int64_t> out(3);
  EXPECT_EQ(kiln_generator_greedy(generator, prompt, 3, 3, out.data()),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("a 3-token prompt and 3 generated tokens need 5 "
                        "positions but the KV-cache capacity is 4"));
  EXPECT_EQ(kiln_generator_greedy(generator, prompt, 3, 2, out.data()), KILN_OK)
      << kiln_last_error();
}

TEST_F(GeneratorTest, DecoderNeedsACapacity) {
  open(FAKE_GEN_DECODER_PATH);
  EXPECT_EQ(kiln_generator_create(context, 1, 0, &generator),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(generator, nullptr);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("capacity is 0 but the model keeps a KV cache"));
  EXPECT_EQ(kiln_generator_create(context, 1, -3, &generator),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("capacity is -3"));
}

TEST_F(GeneratorTest, MambaGreedyAndState) {
  open(FAKE_GEN_MAMBA_PATH);
  // Fixed-size state: no capacity, any length.
  create(3, 0);
  EXPECT_EQ(kiln_generator_capacity(generator), -1);
  std::vector<std::vector<int64_t>> prompts = {{2, 7}, {0, 0}, {10, 3}};
  const int64_t n = 40;
  std::vector<int64_t> out(3 * n, -1);
  ASSERT_EQ(kiln_generator_greedy(generator, flatten(prompts).data(), 2, n,
                                  out.data()),
            KILN_OK)
      << kiln_last_error();
  std::vector<std::vector<int64_t>> expected, seqs = prompts;
  for (size_t b = 0; b < prompts.size(); ++b) {
    expected.push_back(referenceGreedy(mambaScores, prompts[b], n));
    // The state has seen all but the last pick.
    seqs[b].insert(seqs[b].end(), expected[b].begin(), expected[b].end() - 1);
  }
  EXPECT_EQ(out, flatten(expected));

  ASSERT_EQ(kiln_generator_num_states(generator), 2);
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> conv = state(0, name, shape);
  EXPECT_EQ(name, "conv_state");
  EXPECT_EQ(shape, (std::vector<int64_t>{FAKE_GEN_LAYERS, 3, FAKE_GEN_D_INNER,
                                         FAKE_GEN_CONV_WIDTH}));
  std::vector<float> ssm = state(1, name, shape);
  EXPECT_EQ(name, "ssm_state");
  EXPECT_EQ(shape, (std::vector<int64_t>{FAKE_GEN_LAYERS, 3, FAKE_GEN_D_INNER,
                                         FAKE_GEN_STATE_SIZE}));
  for (int64_t l = 0; l < FAKE_GEN_LAYERS; ++l)
    for (int64_t b = 0; b < 3; ++b) {
      const std::vector<int64_t> &seq = seqs[b];
      int64_t sum = 0;
      for (int64_t t : seq)
        sum += t;
      const float *convRow =
          conv.data() + (l * 3 + b) * FAKE_GEN_D_INNER * FAKE_GEN_CONV_WIDTH;
      const float *ssmRow =
          ssm.data() + (l * 3 + b) * FAKE_GEN_D_INNER * FAKE_GEN_STATE_SIZE;
      EXPECT_EQ(convRow[0], seq[seq.size() - 2] + l) << "l" << l << " b" << b;
      EXPECT_EQ(convRow[1], seq.back() + l) << "l" << l << " b" << b;
      EXPECT_EQ(ssmRow[0], sum * (l + 1)) << "l" << l << " b" << b;
      EXPECT_EQ(ssmRow[1], 1.0f);
      EXPECT_EQ(convRow[FAKE_GEN_CONV_WIDTH + 1], 10 * l + 2);
    }
}

TEST_F(GeneratorTest, AttentionMaskIsOnes) {
  // The fake fails unless every mask element is 1, also when the token count
  // changes between calls.
  open(FAKE_GEN_DECODER_MASK_PATH);
  create(2, 16);
  std::vector<int64_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<int64_t> out(2 * 5);
  ASSERT_EQ(kiln_generator_greedy(generator, prompt.data(), 4, 5, out.data()),
            KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(std::vector<int64_t>(out.begin(), out.begin() + 5),
            referenceGreedy(decoderScores, {1, 2, 3, 4}, 5));
  EXPECT_EQ(std::vector<int64_t>(out.begin() + 5, out.end()),
            referenceGreedy(decoderScores, {5, 6, 7, 8}, 5));
  ASSERT_EQ(kiln_generator_prefill(generator, prompt.data(), 1, nullptr),
            KILN_OK)
      << kiln_last_error();
  ASSERT_EQ(kiln_generator_extend(generator, prompt.data(), 3, nullptr),
            KILN_OK)
      << kiln_last_error();
}

TEST_F(GeneratorTest, ModelWithoutDecodeStep) {
  open(FAKE_GEN_NO_DECODE_PATH);
  EXPECT_EQ(kiln_generator_create(context, 1, 8, &generator),
            KILN_ERROR_NOT_FOUND);
  EXPECT_EQ(generator, nullptr);
  EXPECT_STREQ(kiln_last_error(), "model has no 'decode_step' entry: it was "
                                  "not compiled for generation");
}

TEST_F(GeneratorTest, ModelWithoutGenerationEntries) {
  open(FAKE_MODEL_PATH);
  EXPECT_EQ(kiln_generator_create(context, 1, 8, &generator),
            KILN_ERROR_NOT_FOUND);
  EXPECT_STREQ(kiln_last_error(), "model has no 'prefill' entry: it was "
                                  "not compiled for generation");
}

TEST_F(GeneratorTest, InputTheGeneratorCannotFill) {
  open(FAKE_GEN_EXTRA_INPUT_PATH);
  EXPECT_EQ(kiln_generator_create(context, 1, 8, &generator),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("entry 'decode_step' input 'temperature' is none the "
                        "generator can fill"));
}

TEST_F(GeneratorTest, BadArguments) {
  open(FAKE_GEN_DECODER_PATH);
  EXPECT_EQ(kiln_generator_create(context, 1, 8, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_generator_create(nullptr, 1, 8, &generator),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_generator_create(context, 0, 8, &generator),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("batch is 0"));
  EXPECT_EQ(generator, nullptr);

  EXPECT_EQ(kiln_generator_prefill(nullptr, nullptr, 1, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_generator_position(nullptr), -1);
  EXPECT_EQ(kiln_generator_vocab_size(nullptr), -1);
  EXPECT_EQ(kiln_generator_num_states(nullptr), -1);
  kiln_generator_destroy(nullptr);

  create(1, 8);
  const int64_t ids[] = {1, 2};
  const int64_t bad[] = {1, kVocab};
  EXPECT_EQ(kiln_generator_step(generator, ids, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("call kiln_generator_prefill "
                                           "first"));
  EXPECT_EQ(kiln_generator_prefill(generator, nullptr, 2, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_generator_prefill(generator, ids, 0, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("0 tokens per sequence"));
  EXPECT_EQ(kiln_generator_prefill(generator, bad, 2, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("token id 11 (sequence 0, token 1) is outside the "
                        "vocabulary [0, 11)"));
  EXPECT_EQ(kiln_generator_position(generator), 0);

  ASSERT_EQ(kiln_generator_prefill(generator, ids, 2, nullptr), KILN_OK);
  int64_t out[4];
  EXPECT_EQ(kiln_generator_greedy(generator, ids, 2, 0, out),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_generator_greedy(generator, ids, 2, 1, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  kiln_tensor view;
  EXPECT_EQ(kiln_generator_state(generator, 2, nullptr, &view),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("index 2 is out of range (2 "
                                           "states)"));
  EXPECT_EQ(kiln_generator_state(generator, 0, nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);

  ASSERT_EQ(kiln_generator_reset(generator), KILN_OK);
  EXPECT_EQ(kiln_generator_position(generator), 0);
  EXPECT_EQ(kiln_generator_step(generator, ids, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
}
} // namespace
