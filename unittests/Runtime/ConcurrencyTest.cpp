//===- ConcurrencyTest.cpp - Contexts of a compiled model on two threads --===//
//
// The runtime promises that contexts of one model may run on different
// threads at once (kiln_runtime.h). RuntimeTest checks that with the fake
// model; here a model compiled by kiln-compile (multi-threaded generated
// code, causal attention) runs on two threads at once, each with its own
// context and inputs, and every result must equal, bit for bit, the result
// of the same call run alone.
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"

#include "kiln/Runtime/kiln_runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

using namespace kiln::testing;

namespace {

constexpr const char *kModel = R"mlir(
func.func @forward(%q: tensor<?x?x4x8xf32> {kiln.name = "q"},
                   %k: tensor<?x?x4x8xf32> {kiln.name = "k"},
                   %v: tensor<?x?x4x8xf32> {kiln.name = "v"})
    -> (tensor<?x?x4x8xf32> {kiln.name = "out"}) {
  %o = kiln.attention %q, %k, %v heads 4 kv_heads 4 mask <causal>
      : (tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>, tensor<?x?x4x8xf32>) -> tensor<?x?x4x8xf32>
  return %o : tensor<?x?x4x8xf32>
}
)mlir";

/// Inputs and output of one call, filled from `seed`.
struct Call {
  static constexpr int64_t kShape[4] = {2, 45, 4, 8};
  std::vector<float> q, k, v, out;
  kiln_tensor inputs[3];
  kiln_tensor output;

  explicit Call(unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    size_t n = 2 * 45 * 4 * 8;
    for (std::vector<float> *t : {&q, &k, &v}) {
      t->resize(n);
      for (float &x : *t)
        x = normal(rng);
    }
    out.assign(n, 0.0f);
    float *data[3] = {q.data(), k.data(), v.data()};
    for (int i = 0; i < 3; ++i)
      inputs[i] = {KILN_DTYPE_F32, 4, kShape, nullptr, data[i]};
    output = {KILN_DTYPE_F32, 4, kShape, nullptr, out.data()};
  }
};

TEST(CompiledModelConcurrency, TwoContextsMatchSequentialRuns) {
  TempDir dir;
  ASSERT_TRUE(writeFile(dir.file("attention.mlir"), kModel));
  std::string output;
  ASSERT_EQ(runCommand(shellQuote(KILN_COMPILE_PATH) + " " +
                           shellQuote(dir.file("attention.mlir")) + " -o " +
                           shellQuote(dir.file("model")) + " --quiet",
                       output),
            0)
      << output;
  kiln_model *model = nullptr;
  ASSERT_EQ(kiln_model_open(dir.file("model").c_str(), &model), KILN_OK)
      << kiln_last_error();
  int32_t forward = -1;
  ASSERT_EQ(kiln_model_find_entry(model, "forward", &forward), KILN_OK);

  // Each thread's call alone, with the thread count the threads use.
  kiln_context_options options = {2};
  std::vector<float> alone[2];
  for (unsigned t = 0; t < 2; ++t) {
    kiln_context *context = nullptr;
    ASSERT_EQ(kiln_context_create(model, &options, &context), KILN_OK);
    Call call(t + 1);
    ASSERT_EQ(kiln_context_run(context, forward, call.inputs, 3, &call.output,
                               1),
              KILN_OK)
        << kiln_last_error();
    alone[t] = call.out;
    kiln_context_destroy(context);
  }
  ASSERT_NE(alone[0], alone[1]);

  std::atomic<int> failures{0}, mismatches{0};
  auto work = [&](unsigned t) {
    kiln_context *context = nullptr;
    if (kiln_context_create(model, &options, &context) != KILN_OK) {
      ++failures;
      return;
    }
    for (int i = 0; i < 25; ++i) {
      Call call(t + 1);
      if (kiln_context_run(context, forward, call.inputs, 3, &call.output,
                           1) != KILN_OK)
        ++failures;
      else if (std::memcmp(call.out.data(), alone[t].data(),
                           call.out.size() * sizeof(float)) != 0)
        ++mismatches;
    }
    kiln_context_destroy(context);
  };
  std::thread first(work, 0u), second(work, 1u);
  first.join();
  second.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  kiln_model_close(model);
}

} // namespace
