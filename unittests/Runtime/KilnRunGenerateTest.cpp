//===- KilnRunGenerateTest.cpp - Tests of kiln-run --generate -------------===//
//
// Runs the built kiln-run binary on the fake generation models and checks
// that stdout holds exactly the ids GenerationReference.h predicts.
//
//===----------------------------------------------------------------------===//

#include "GenerationReference.h"
#include "TestSupport.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

using namespace kiln::testing;
using ::testing::HasSubstr;

namespace {
class KilnRunGenerateTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_FALSE(work.path().empty()); }

  void use(const char *soPath) { ASSERT_TRUE(makeModelDir(modelDir, soPath)); }

  /// Runs kiln-run with `args`; `out` gets stdout, `err` stderr.
  int kilnRun(const std::string &args, std::string &out, std::string &err) {
    std::string errPath = work.file("stderr.txt");
    int rc = runCommand("(" + shellQuote(KILN_RUN_PATH) + " " +
                            shellQuote(modelDir.path()) + " " + args + " 2>" +
                            shellQuote(errPath) + ")",
                        out);
    if (!readFile(errPath, err))
      err = "<no stderr>";
    return rc;
  }

  static std::string join(const std::vector<int64_t> &ids) {
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i)
      line += (i ? " " : "") + std::to_string(ids[i]);
    return line + "\n";
  }

  TempDir modelDir;
  TempDir work;
};

TEST_F(KilnRunGenerateTest, DecoderPrintsTheIdsOnly) {
  use(FAKE_GEN_DECODER_PATH);
  std::string out, err;
  ASSERT_EQ(kilnRun("--generate 9 --prompt-ids 3,1,4 --threads 1", out, err), 0)
      << err;
  EXPECT_EQ(out, join(referenceGreedy(decoderScores, {3, 1, 4}, 9)));
  EXPECT_THAT(err, HasSubstr("kiln-run: prefill of 3 tokens: "));
  EXPECT_THAT(err, HasSubstr("kiln-run: decode of 8 tokens: median "));
  EXPECT_THAT(err, HasSubstr(" tokens/s\n"));
}

TEST_F(KilnRunGenerateTest, MambaAndOneToken) {
  use(FAKE_GEN_MAMBA_PATH);
  std::string out, err;
  ASSERT_EQ(kilnRun("--generate=25 --prompt-ids=6", out, err), 0) << err;
  EXPECT_EQ(out, join(referenceGreedy(mambaScores, {6}, 25)));
  ASSERT_EQ(kilnRun("--generate 1 --prompt-ids 6,2", out, err), 0) << err;
  EXPECT_EQ(out, join(referenceGreedy(mambaScores, {6, 2}, 1)));
  EXPECT_THAT(err, ::testing::Not(HasSubstr("decode of")));
}

TEST_F(KilnRunGenerateTest, Capacity) {
  use(FAKE_GEN_DECODER_PATH);
  std::string out, err;
  // 2 + 5 - 1 positions are enough.
  ASSERT_EQ(kilnRun("--generate 5 --prompt-ids 2,9 --capacity 6", out, err), 0)
      << err;
  EXPECT_EQ(out, join(referenceGreedy(decoderScores, {2, 9}, 5)));
  EXPECT_NE(kilnRun("--generate 5 --prompt-ids 2,9 --capacity 5", out, err), 0);
  EXPECT_EQ(out, "");
  EXPECT_THAT(err, HasSubstr("kiln-run: error: a 2-token prompt and 5 "
                             "generated tokens need 6 positions but "
                             "--capacity is 5"));
  EXPECT_NE(kilnRun("--generate 5 --prompt-ids 2,9 --capacity 0", out, err), 0);
  EXPECT_THAT(err, HasSubstr("give a capacity > 0"));
}

TEST_F(KilnRunGenerateTest, BadArguments) {
  use(FAKE_GEN_DECODER_PATH);
  std::string out, err;
  const char *const badIds[] = {"''", "1,x", "1,-2", "1,,2", "1,", "' 1'"};
  for (const char *ids : badIds) {
    EXPECT_NE(
        kilnRun(std::string("--generate 2 --prompt-ids ") + ids, out, err), 0)
        << ids;
    EXPECT_THAT(err, HasSubstr("kiln-run: error: --prompt-ids wants "
                               "comma-separated non-negative token ids"))
        << ids;
    EXPECT_EQ(out, "");
  }
  for (const char *n : {"0", "-1", "x"}) {
    EXPECT_NE(
        kilnRun(std::string("--generate ") + n + " --prompt-ids 1", out, err),
        0);
    EXPECT_THAT(err, HasSubstr("--generate wants a positive number of "
                               "tokens"));
  }
  EXPECT_NE(kilnRun("--generate 2", out, err), 0);
  EXPECT_THAT(err, HasSubstr("--generate needs --prompt-ids"));
  EXPECT_NE(kilnRun("--prompt-ids 1,2", out, err), 0);
  EXPECT_THAT(err, HasSubstr("--prompt-ids and --capacity need --generate"));
  EXPECT_NE(kilnRun("--generate 2 --prompt-ids 1 --entry forward", out, err),
            0);
  EXPECT_THAT(err, HasSubstr("--generate cannot be combined with --entry"));
  EXPECT_NE(kilnRun("--generate 2 --prompt-ids 1,11", out, err), 0);
  EXPECT_THAT(err, HasSubstr("token id 11 (sequence 0, token 1) is outside "
                             "the vocabulary [0, 11)"));
  EXPECT_EQ(out, "");
}

TEST_F(KilnRunGenerateTest, ModelNotCompiledForGeneration) {
  use(FAKE_GEN_NO_DECODE_PATH);
  std::string out, err;
  EXPECT_NE(kilnRun("--generate 2 --prompt-ids 1", out, err), 0);
  EXPECT_THAT(err, HasSubstr("kiln-run: error: model has no 'decode_step' "
                             "entry: it was not compiled for generation"));
  EXPECT_EQ(out, "");
}
} // namespace
