//===- KilnRunTest.cpp - Tests of the kiln-run tool -----------------------===//
//
// Runs the built kiln-run binary on a fake model directory, as a user would.
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"
#include "kiln/Runtime/Npy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstring>

using namespace kiln::runtime;
using namespace kiln::testing;
using ::testing::HasSubstr;

namespace {
class KilnRunTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(makeModelDir(modelDir, FAKE_MODEL_PATH));
    int64_t shape[2] = {3, 4};
    for (int i = 0; i < 12; ++i) {
      a[i] = static_cast<float>(i);
      b[i] = 1.0f - static_cast<float>(i) * 0.5f;
    }
    std::string error;
    ASSERT_TRUE(
        writeNpy(work.file("a.npy"), KILN_DTYPE_F32, shape, 2, a, error))
        << error;
    ASSERT_TRUE(
        writeNpy(work.file("b.npy"), KILN_DTYPE_F32, shape, 2, b, error))
        << error;
  }

  /// Runs kiln-run on the model with `args`; returns the exit code.
  int kilnRun(const std::string &args, std::string &output) {
    return runCommand(shellQuote(KILN_RUN_PATH) + " " +
                          shellQuote(modelDir.path()) + " " + args,
                      output);
  }

  std::string input(const char *name) {
    return "--input " + shellQuote(std::string(name) + "=" +
                                   work.file(std::string(name) + ".npy"));
  }

  TempDir modelDir;
  TempDir work;
  float a[12], b[12];
};

TEST_F(KilnRunTest, RunsAndWritesOutputs) {
  std::string output;
  ASSERT_EQ(kilnRun(input("a") + " " + input("b") + " --output-dir " +
                        shellQuote(work.path()),
                    output),
            0)
      << output;
  NpyArray out;
  std::string error;
  ASSERT_TRUE(readNpy(work.file("out.npy"), out, error)) << error;
  EXPECT_EQ(out.dtype, KILN_DTYPE_F32);
  EXPECT_EQ(out.shape, (std::vector<int64_t>{3, 4}));
  ASSERT_EQ(out.data.size(), 12 * sizeof(float));
  const float *values = reinterpret_cast<const float *>(out.data.data());
  for (int i = 0; i < 12; ++i)
    EXPECT_FLOAT_EQ(values[i], a[i] + b[i] * kScale[i % 4]) << "#" << i;
}

TEST_F(KilnRunTest, ListsEntries) {
  std::string output;
  ASSERT_EQ(kilnRun("--list", output), 0) << output;
  EXPECT_THAT(output, HasSubstr("entry 'forward'\n"
                                "  input  a: f32[batch, 4]\n"
                                "  input  b: f32[batch, 4]\n"
                                "  output out: f32[batch, 4]\n"));
  EXPECT_THAT(output, HasSubstr("entry 'twice_plus_one'\n"
                                "  input  ids: i64[seq]\n"));
}

TEST_F(KilnRunTest, MissingInputIsAnError) {
  std::string output;
  EXPECT_NE(kilnRun(input("a"), output), 0);
  EXPECT_THAT(output, HasSubstr("kiln-run: error: missing input(s) 'b' for "
                                "entry 'forward'"));
}

TEST_F(KilnRunTest, UnknownInputIsAnError) {
  std::string output;
  EXPECT_NE(kilnRun(input("a") + " " + input("b") +
                        " --input c=" + shellQuote(work.file("a.npy")),
                    output),
            0);
  EXPECT_THAT(output, HasSubstr("kiln-run: error: unknown input 'c' for entry "
                                "'forward' (inputs: 'a', 'b')"));
}

TEST_F(KilnRunTest, WrongShapedInputIsAnError) {
  int64_t shape[2] = {3, 5};
  float wide[15] = {};
  std::string error, output;
  ASSERT_TRUE(
      writeNpy(work.file("b.npy"), KILN_DTYPE_F32, shape, 2, wide, error));
  EXPECT_NE(kilnRun(input("a") + " " + input("b"), output), 0);
  EXPECT_THAT(output, HasSubstr("kiln-run: error: entry 'forward': input 'b' "
                                "dim 1 is 5 but the entry expects 4"));
}

TEST_F(KilnRunTest, RandomInputsAndTiming) {
  std::string output;
  ASSERT_EQ(kilnRun("--random-inputs --dim batch=6 --warmup 1 --iterations 3 "
                    "--threads 1 --output-dir " +
                        shellQuote(work.path()),
                    output),
            0)
      << output;
  EXPECT_THAT(output, HasSubstr("latency over 3 iterations: min "));
  EXPECT_THAT(output, HasSubstr(" ms, median "));
  NpyArray out;
  std::string error;
  ASSERT_TRUE(readNpy(work.file("out.npy"), out, error)) << error;
  EXPECT_EQ(out.shape, (std::vector<int64_t>{6, 4}));
}

TEST_F(KilnRunTest, RandomIntegerInputsInRange) {
  std::string output;
  ASSERT_EQ(kilnRun("--entry twice_plus_one --random-inputs --dim seq=50 "
                    "--int-range 3,5 --output-dir " +
                        shellQuote(work.path()),
                    output),
            0)
      << output;
  NpyArray out;
  std::string error;
  ASSERT_TRUE(readNpy(work.file("out.npy"), out, error)) << error;
  ASSERT_EQ(out.dtype, KILN_DTYPE_I64);
  ASSERT_EQ(out.numElements(), 50);
  const int64_t *values = reinterpret_cast<const int64_t *>(out.data.data());
  for (int i = 0; i < 50; ++i)
    EXPECT_TRUE(values[i] == 7 || values[i] == 9) << values[i];
}

TEST_F(KilnRunTest, RandomInputsNeedDynamicDims) {
  std::string output;
  EXPECT_NE(kilnRun("--random-inputs", output), 0);
  EXPECT_THAT(output, HasSubstr("input 'a' dim 0 is dynamic ('batch'): give "
                                "--dim batch=SIZE"));
}

TEST_F(KilnRunTest, ExecutionErrorAndBadArguments) {
  std::string output;
  EXPECT_NE(kilnRun("--entry fail --random-inputs", output), 0);
  EXPECT_THAT(output, HasSubstr("deliberate failure for testing"));
  EXPECT_NE(kilnRun("--entry nope", output), 0);
  EXPECT_THAT(output, HasSubstr("kiln-run: error: model"));
  EXPECT_NE(kilnRun("--iterations x", output), 0);
  EXPECT_THAT(output, HasSubstr("kiln-run: error: option '--iterations' "
                                "wants a non-negative integer"));
  EXPECT_NE(runCommand(shellQuote(KILN_RUN_PATH) + " /nonexistent/dir", output),
            0);
  EXPECT_THAT(output, HasSubstr("kiln-run: error: cannot open model: model "
                                "directory '/nonexistent/dir' does not exist"));
  EXPECT_EQ(runCommand(shellQuote(KILN_RUN_PATH) + " --help", output), 0);
  EXPECT_THAT(output, HasSubstr("usage: kiln-run OUTDIR"));
}
} // namespace
