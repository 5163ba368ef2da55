//===- RuntimeTest.cpp - Tests of the kiln_runtime C API ------------------===//
//
// Runs the runtime against FakeModel.c variants and checks results against
// values computed here, and every rejection against its status and message.
//
//===----------------------------------------------------------------------===//

#include "FakeModelWeights.h"
#include "Internal.h"
#include "TestSupport.h"
#include "kiln/Runtime/kiln_runtime.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

using namespace kiln::testing;
using ::testing::HasSubstr;

namespace {
kiln_tensor makeTensor(kiln_dtype dtype, const std::vector<int64_t> &shape,
                       void *data, const int64_t *strides = nullptr) {
  return {dtype, static_cast<int32_t>(shape.size()), shape.data(), strides,
          data};
}

/// Inputs, output and reference result of `forward` for one batch size.
struct ForwardCase {
  explicit ForwardCase(int64_t batch)
      : shape{batch, 4}, a(batch * 4), b(batch * 4), out(batch * 4, -1.0f),
        expected(batch * 4) {
    for (int64_t i = 0; i < batch * 4; ++i) {
      a[i] = 0.25f * static_cast<float>(i % 13) - 1.0f;
      b[i] = static_cast<float>(i % 7) - 3.0f;
      expected[i] = a[i] + b[i] * kScale[i % 4];
    }
    inputs[0] = makeTensor(KILN_DTYPE_F32, shape, a.data());
    inputs[1] = makeTensor(KILN_DTYPE_F32, shape, b.data());
    outputs[0] = makeTensor(KILN_DTYPE_F32, shape, out.data());
  }

  std::vector<int64_t> shape;
  std::vector<float> a, b, out, expected;
  kiln_tensor inputs[2];
  kiln_tensor outputs[1];
};

class RuntimeTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(dir.path().empty());
    ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_PATH));
    ASSERT_EQ(kiln_model_open(dir.path().c_str(), &model), KILN_OK)
        << kiln_last_error();
    ASSERT_EQ(kiln_context_create(model, nullptr, &context), KILN_OK)
        << kiln_last_error();
  }

  void TearDown() override {
    kiln_context_destroy(context);
    kiln_model_close(model);
  }

  int32_t entry(const char *name) {
    int32_t index = -1;
    EXPECT_EQ(kiln_model_find_entry(model, name, &index), KILN_OK);
    return index;
  }

  kiln_status runForward(const kiln_tensor *inputs, int32_t numInputs,
                         const kiln_tensor *outputs, int32_t numOutputs) {
    return kiln_context_run(context, entry("forward"), inputs, numInputs,
                            outputs, numOutputs);
  }

  TempDir dir;
  kiln_model *model = nullptr;
  kiln_context *context = nullptr;
};

TEST_F(RuntimeTest, ForwardMatchesReferenceForDynamicBatches) {
  for (int64_t batch : {1, 7, 37}) {
    ForwardCase c(batch);
    ASSERT_EQ(runForward(c.inputs, 2, c.outputs, 1), KILN_OK)
        << kiln_last_error();
    for (size_t i = 0; i < c.out.size(); ++i)
      ASSERT_FLOAT_EQ(c.out[i], c.expected[i])
          << "batch " << batch << " #" << i;
  }
}

TEST_F(RuntimeTest, EmptyBatchAcceptsNullData) {
  std::vector<int64_t> shape = {0, 4};
  kiln_tensor inputs[2] = {makeTensor(KILN_DTYPE_F32, shape, nullptr),
                           makeTensor(KILN_DTYPE_F32, shape, nullptr)};
  kiln_tensor output = makeTensor(KILN_DTYPE_F32, shape, nullptr);
  EXPECT_EQ(runForward(inputs, 2, &output, 1), KILN_OK) << kiln_last_error();
}

TEST_F(RuntimeTest, StridedInputs) {
  const int64_t batch = 5;
  // `a` is the left half of a [batch, 8] buffer; `b` is a transposed view
  // of a [4, batch] buffer.
  std::vector<float> wide(batch * 8), transposed(4 * batch);
  std::vector<float> out(batch * 4), expected(batch * 4);
  for (int64_t i = 0; i < batch; ++i) {
    for (int64_t j = 0; j < 4; ++j) {
      wide[i * 8 + j] = static_cast<float>(i * 10 + j);
      wide[i * 8 + 4 + j] = 1e6f; // never read
      transposed[j * batch + i] = static_cast<float>(j - i);
      expected[i * 4 + j] = wide[i * 8 + j] + (j - i) * kScale[j];
    }
  }
  std::vector<int64_t> shape = {batch, 4};
  int64_t wideStrides[] = {8, 1}, transposedStrides[] = {1, batch};
  kiln_tensor inputs[2] = {
      makeTensor(KILN_DTYPE_F32, shape, wide.data(), wideStrides),
      makeTensor(KILN_DTYPE_F32, shape, transposed.data(), transposedStrides)};
  kiln_tensor output = makeTensor(KILN_DTYPE_F32, shape, out.data());
  ASSERT_EQ(runForward(inputs, 2, &output, 1), KILN_OK) << kiln_last_error();
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_FLOAT_EQ(out[i], expected[i]) << "#" << i;
}

TEST_F(RuntimeTest, StridedOutputIsStagedAndCopiedBack) {
  const int64_t batch = 6;
  ForwardCase c(batch);
  // The output is a transposed view of a [4, batch] buffer; compiled code
  // writes dense rows, so the runtime must stage it and copy it back.
  std::vector<float> transposed(4 * batch, -1.0f);
  int64_t strides[] = {1, batch};
  kiln_tensor output = c.outputs[0];
  output.data = transposed.data();
  output.strides = strides;
  ASSERT_EQ(runForward(c.inputs, 2, &output, 1), KILN_OK) << kiln_last_error();
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t j = 0; j < 4; ++j)
      EXPECT_FLOAT_EQ(transposed[j * batch + i], c.expected[i * 4 + j])
          << "row " << i << " col " << j;
}

TEST_F(RuntimeTest, NegativeStrideRejected) {
  ForwardCase c(3);
  int64_t strides[] = {4, -1};
  c.inputs[1].strides = strides;
  EXPECT_EQ(runForward(c.inputs, 2, c.outputs, 1), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("input 'b' dim 1 has stride -1"));
}

TEST_F(RuntimeTest, OutputShapeInference) {
  ForwardCase c(7);
  int64_t shape[2] = {0, 0};
  ASSERT_EQ(
      kiln_entry_output_shape(model, entry("forward"), c.inputs, 2, 0, shape),
      KILN_OK)
      << kiln_last_error();
  EXPECT_EQ(shape[0], 7);
  EXPECT_EQ(shape[1], 4);
  EXPECT_EQ(
      kiln_entry_output_shape(model, entry("forward"), c.inputs, 2, 1, shape),
      KILN_ERROR_INVALID_ARGUMENT);
}

TEST_F(RuntimeTest, Int64Entry) {
  std::vector<int64_t> ids = {0, 5, -3, 1ll << 40}, out(4, 0);
  std::vector<int64_t> shape = {4};
  kiln_tensor input = makeTensor(KILN_DTYPE_I64, shape, ids.data());
  kiln_tensor output = makeTensor(KILN_DTYPE_I64, shape, out.data());
  ASSERT_EQ(
      kiln_context_run(context, entry("twice_plus_one"), &input, 1, &output, 1),
      KILN_OK)
      << kiln_last_error();
  for (size_t i = 0; i < ids.size(); ++i)
    EXPECT_EQ(out[i], 2 * ids[i] + 1);
}

TEST_F(RuntimeTest, InfoQueries) {
  EXPECT_EQ(kiln_model_num_entries(model), 3);
  EXPECT_STREQ(kiln_model_entry_name(model, 1), "fail");
  EXPECT_EQ(kiln_model_entry_name(model, 3), nullptr);
  int32_t index = 0;
  EXPECT_EQ(kiln_model_find_entry(model, "nope", &index), KILN_ERROR_NOT_FOUND);
  EXPECT_THAT(kiln_last_error(), HasSubstr("no entry 'nope'"));
  EXPECT_THAT(kiln_last_error(), HasSubstr("'twice_plus_one'"));
  EXPECT_EQ(kiln_entry_num_inputs(model, entry("forward")), 2);
  EXPECT_EQ(kiln_entry_num_outputs(model, entry("forward")), 1);
  EXPECT_EQ(kiln_entry_num_inputs(model, 9), -1);
  kiln_tensor_info info;
  ASSERT_EQ(kiln_entry_input_info(model, entry("forward"), 1, &info), KILN_OK);
  EXPECT_STREQ(info.name, "b");
  EXPECT_EQ(info.dtype, KILN_DTYPE_F32);
  ASSERT_EQ(info.rank, 2);
  EXPECT_EQ(info.dims[0], -1);
  EXPECT_STREQ(info.dim_names[0], "batch");
  EXPECT_EQ(info.dims[1], 4);
  EXPECT_EQ(kiln_entry_output_info(model, entry("forward"), 1, &info),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_dtype_size(KILN_DTYPE_I64), 8u);
  EXPECT_EQ(kiln_dtype_size(KILN_DTYPE_BF16), 2u);
  EXPECT_STREQ(kiln_dtype_name(KILN_DTYPE_BOOL), "bool");
  EXPECT_STREQ(kiln_status_string(KILN_ERROR_SHAPE_MISMATCH), "shape mismatch");
}

TEST_F(RuntimeTest, WrongRank) {
  ForwardCase c(3);
  std::vector<int64_t> flat = {12};
  c.inputs[0].rank = 1;
  c.inputs[0].shape = flat.data();
  EXPECT_EQ(runForward(c.inputs, 2, c.outputs, 1), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(),
               "entry 'forward': input 'a' has rank 1 but the entry expects "
               "rank 2 [batch, 4]");
}

TEST_F(RuntimeTest, WrongStaticDim) {
  ForwardCase c(3);
  std::vector<int64_t> shape = {3, 5};
  c.inputs[1].shape = shape.data();
  EXPECT_EQ(runForward(c.inputs, 2, c.outputs, 1), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "entry 'forward': input 'b' dim 1 is 5 but "
                                  "the entry expects 4 [batch, 4]");
}

TEST_F(RuntimeTest, InconsistentDynamicDims) {
  ForwardCase c(9);
  std::vector<int64_t> shape = {7, 4};
  c.inputs[1].shape = shape.data();
  EXPECT_EQ(runForward(c.inputs, 2, c.outputs, 1), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "entry 'forward': input 'b' dim 0 ('batch') "
                                  "is 7 but input 'a' binds 'batch' to 9");
}

TEST_F(RuntimeTest, WrongOutputShape) {
  ForwardCase c(9);
  std::vector<int64_t> shape = {8, 4};
  c.outputs[0].shape = shape.data();
  EXPECT_EQ(runForward(c.inputs, 2, c.outputs, 1), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "entry 'forward': output 'out' dim 0 is 8 "
                                  "but the inputs bind 'batch' to 9");
}

TEST_F(RuntimeTest, NegativeDimRejected) {
  ForwardCase c(2);
  std::vector<int64_t> shape = {-2, 4};
  c.inputs[0].shape = shape.data();
  c.inputs[1].shape = shape.data();
  EXPECT_EQ(runForward(c.inputs, 2, c.outputs, 1), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_THAT(kiln_last_error(), HasSubstr("input 'a' dim 0 is -2"));
}

// Found by fuzz/RuntimeSignatureFuzzer.cpp: a C caller may store any int in
// the dtype field; comparing it as a C++ enum was undefined behaviour.
TEST_F(RuntimeTest, DtypeOutsideTheEnum) {
  ForwardCase c(2);
  int32_t bad = -1;
  std::memcpy(&c.inputs[1].dtype, &bad, sizeof(bad));
  EXPECT_EQ(runForward(c.inputs, 2, c.outputs, 1),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("entry 'forward': input 'b' has unknown dtype -1"));
}

TEST_F(RuntimeTest, WrongDtype) {
  ForwardCase c(2);
  c.inputs[0].dtype = KILN_DTYPE_F16;
  EXPECT_EQ(runForward(c.inputs, 2, c.outputs, 1), KILN_ERROR_DTYPE_MISMATCH);
  EXPECT_STREQ(kiln_last_error(), "entry 'forward': input 'a' has dtype f16 "
                                  "but the entry expects f32");
}

TEST_F(RuntimeTest, NullData) {
  ForwardCase c(2);
  c.outputs[0].data = nullptr;
  EXPECT_EQ(runForward(c.inputs, 2, c.outputs, 1), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("output 'out' has 8 elements but "
                                           "null data"));
}

TEST_F(RuntimeTest, WrongCountsAndNullArguments) {
  ForwardCase c(2);
  EXPECT_EQ(runForward(c.inputs, 1, c.outputs, 1), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_last_error(),
               "entry 'forward' takes 2 inputs but 1 were given");
  EXPECT_EQ(runForward(c.inputs, 2, c.outputs, 0), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("takes 1 outputs but 0"));
  EXPECT_EQ(runForward(nullptr, 2, c.outputs, 1), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_context_run(context, 17, c.inputs, 2, c.outputs, 1),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_context_run(nullptr, 0, c.inputs, 2, c.outputs, 1),
            KILN_ERROR_INVALID_ARGUMENT);
  kiln_context_options options = {-1};
  kiln_context *other = nullptr;
  EXPECT_EQ(kiln_context_create(model, &options, &other),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(other, nullptr);
}

TEST_F(RuntimeTest, ExecutionErrorPropagated) {
  float x[2] = {1, 2}, y[2];
  std::vector<int64_t> shape = {2};
  kiln_tensor input = makeTensor(KILN_DTYPE_F32, shape, x);
  kiln_tensor output = makeTensor(KILN_DTYPE_F32, shape, y);
  EXPECT_EQ(kiln_context_run(context, entry("fail"), &input, 1, &output, 1),
            KILN_ERROR_EXECUTION);
  EXPECT_STREQ(kiln_last_error(),
               "entry 'fail' failed (code 3): " FAKE_FAILURE_MESSAGE);
}

TEST_F(RuntimeTest, ArenaReachesSteadyState) {
  uint64_t capacity = 0, allocations = 0;
  ASSERT_EQ(kiln_internal_context_arena_stats(context, &capacity, &allocations),
            KILN_OK);
  EXPECT_EQ(allocations, 0u);
  // 5000 x 4 floats is 80000 bytes per buffer: the second buffer does not
  // fit in the first chunk, so the first run chains chunks.
  ForwardCase large(5000);
  ASSERT_EQ(runForward(large.inputs, 2, large.outputs, 1), KILN_OK)
      << kiln_last_error();
  uint64_t firstCapacity = 0, firstAllocations = 0;
  kiln_internal_context_arena_stats(context, &firstCapacity, &firstAllocations);
  EXPECT_GE(firstCapacity, 2u * 80000u);
  // Two chunks during the run, then one coalesced block.
  EXPECT_EQ(firstAllocations, 3u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(runForward(large.inputs, 2, large.outputs, 1), KILN_OK);
    ForwardCase small(37);
    ASSERT_EQ(runForward(small.inputs, 2, small.outputs, 1), KILN_OK);
  }
  kiln_internal_context_arena_stats(context, &capacity, &allocations);
  EXPECT_EQ(capacity, firstCapacity);
  EXPECT_EQ(allocations, firstAllocations);
  for (size_t i = 0; i < large.out.size(); ++i)
    ASSERT_FLOAT_EQ(large.out[i], large.expected[i]);
}

TEST_F(RuntimeTest, ContextsOnTwoThreads) {
  const int64_t batch = 37;
  const int iterations = 200;
  ForwardCase cases[2] = {ForwardCase(batch), ForwardCase(batch)};
  kiln_status statuses[2] = {KILN_OK, KILN_OK};
  int32_t forward = entry("forward");
  auto work = [&](int t) {
    kiln_context_options options = {1};
    kiln_context *own = nullptr;
    statuses[t] = kiln_context_create(model, &options, &own);
    for (int i = 0; i < iterations && statuses[t] == KILN_OK; ++i)
      statuses[t] = kiln_context_run(own, forward, cases[t].inputs, 2,
                                     cases[t].outputs, 1);
    kiln_context_destroy(own);
  };
  std::thread first(work, 0), second(work, 1);
  first.join();
  second.join();
  ASSERT_EQ(statuses[0], KILN_OK);
  ASSERT_EQ(statuses[1], KILN_OK);
  EXPECT_EQ(std::memcmp(cases[0].out.data(), cases[1].out.data(),
                        cases[0].out.size() * sizeof(float)),
            0);
  for (size_t i = 0; i < cases[0].out.size(); ++i)
    ASSERT_FLOAT_EQ(cases[0].out[i], cases[0].expected[i]);
}

TEST_F(RuntimeTest, ContextOutlivesClosedModel) {
  int32_t forward = entry("forward");
  kiln_model_close(model);
  model = nullptr;
  ForwardCase c(3);
  ASSERT_EQ(kiln_context_run(context, forward, c.inputs, 2, c.outputs, 1),
            KILN_OK)
      << kiln_last_error();
  EXPECT_FLOAT_EQ(c.out[5], c.expected[5]);
}

//===----------------------------------------------------------------------===//
// Opening broken model directories
//===----------------------------------------------------------------------===//

kiln_status openStatus(const TempDir &dir) {
  kiln_model *model = reinterpret_cast<kiln_model *>(1);
  kiln_status status = kiln_model_open(dir.path().c_str(), &model);
  EXPECT_EQ(model, nullptr);
  kiln_model_close(model);
  return status;
}

TEST(ModelOpenTest, MissingDirectory) {
  kiln_model *model = nullptr;
  EXPECT_EQ(kiln_model_open("/nonexistent/kiln-model", &model),
            KILN_ERROR_NOT_FOUND);
  EXPECT_STREQ(kiln_last_error(),
               "model directory '/nonexistent/kiln-model' does not exist");
  EXPECT_EQ(kiln_model_open(nullptr, &model), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_model_open("/tmp", nullptr), KILN_ERROR_INVALID_ARGUMENT);
}

TEST(ModelOpenTest, MissingModelSo) {
  TempDir dir;
  ASSERT_TRUE(
      writeFile(dir.file("model.weights.safetensors"), fakeWeightsFile()));
  EXPECT_EQ(openStatus(dir), KILN_ERROR_NOT_FOUND);
  EXPECT_THAT(kiln_last_error(), HasSubstr("/model.so' not found"));
}

TEST(ModelOpenTest, NotASharedLibrary) {
  TempDir dir;
  ASSERT_TRUE(writeFile(dir.file("model.so"), "not an ELF file"));
  EXPECT_EQ(openStatus(dir), KILN_ERROR_IO);
  EXPECT_THAT(kiln_last_error(), HasSubstr("cannot load"));
}

TEST(ModelOpenTest, MissingSymbol) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_NO_SYMBOL_PATH));
  EXPECT_EQ(openStatus(dir), KILN_ERROR_NOT_FOUND);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("does not export 'kiln_model_describe'"));
}

TEST(ModelOpenTest, AbiVersionMismatch) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_ABI2_PATH));
  EXPECT_EQ(openStatus(dir), KILN_ERROR_VERSION_MISMATCH);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("uses model ABI version 1 but this runtime implements "
                        "version 2"));
}

// A model compiled for cuda needs the driver, which the runtime dlopens on
// first use; without it, opening fails with a message naming the library.
// KILN_CUDA_DRIVER points at a library that does not exist, so the test
// holds on GPU machines too (the outcome of the first attempt is kept for
// the process, and no other test here touches CUDA).
TEST(ModelOpenTest, CudaModelWithoutDriver) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_CUDA_PATH));
  std::string driver = dir.file("no-such-libcuda.so.1");
  ASSERT_EQ(::setenv("KILN_CUDA_DRIVER", driver.c_str(), 1), 0);
  EXPECT_EQ(openStatus(dir), KILN_ERROR_NOT_FOUND);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("was compiled for cuda: cannot load the CUDA driver "
                        "library '" +
                        driver + "'"));
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("needs an NVIDIA GPU and its driver"));
  // The failure is remembered, not retried with another outcome.
  EXPECT_EQ(openStatus(dir), KILN_ERROR_NOT_FOUND);
  ::unsetenv("KILN_CUDA_DRIVER");
}

TEST(ModelOpenTest, CpuModelDevice) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_PATH));
  kiln_model *model = nullptr;
  ASSERT_EQ(kiln_model_open(dir.path().c_str(), &model), KILN_OK);
  EXPECT_STREQ(kiln_model_device(model), "cpu");
  EXPECT_EQ(kiln_model_device(nullptr), nullptr);
  kiln_model_close(model);
}

TEST(ModelOpenTest, MissingWeightsFile) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_PATH, /*weights=*/false));
  EXPECT_EQ(openStatus(dir), KILN_ERROR_NOT_FOUND);
  EXPECT_THAT(kiln_last_error(), HasSubstr("model.weights.safetensors"));
}

TEST(ModelOpenTest, TruncatedWeights) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_PATH));
  std::string bytes = fakeWeightsFile();
  bytes.resize(bytes.size() - 4);
  ASSERT_TRUE(writeFile(dir.file("model.weights.safetensors"), bytes));
  EXPECT_EQ(openStatus(dir), KILN_ERROR_CORRUPT);
  std::string expected = "is " + std::to_string(bytes.size()) +
                         " bytes but the model was compiled against " +
                         std::to_string(bytes.size() + 4) +
                         " bytes (truncated?)";
  EXPECT_THAT(kiln_last_error(), HasSubstr(expected));
}

TEST(ModelOpenTest, WeightsHeaderAltered) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_PATH));
  std::string bytes = fakeWeightsFile();
  size_t at = bytes.find("scale");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'S'; // same size, different header
  ASSERT_TRUE(writeFile(dir.file("model.weights.safetensors"), bytes));
  EXPECT_EQ(openStatus(dir), KILN_ERROR_CORRUPT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("weights file changed after "
                                           "compile"));
}

/// Sets KILN_VERIFY_WEIGHTS for the lifetime of the object.
struct VerifyWeights {
  VerifyWeights() { ::setenv("KILN_VERIFY_WEIGHTS", "1", 1); }
  ~VerifyWeights() { ::unsetenv("KILN_VERIFY_WEIGHTS"); }
};

TEST(ModelOpenTest, WeightsFromAnotherKilnVersion) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_METADATA_PATH, /*weights=*/false));
  std::string header = FAKE_WEIGHTS_HEADER_METADATA;
  size_t at = header.find("fake-0.0");
  ASSERT_NE(at, std::string::npos);
  header.replace(at, 8, "fake-9.9"); // same size, another writer
  ASSERT_TRUE(writeFile(dir.file("model.weights.safetensors"),
                        fakeWeightsFile(kScale, header.c_str())));
  EXPECT_EQ(openStatus(dir), KILN_ERROR_CORRUPT);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("the weights were written by Kiln fake-9.9 but "
                        "model.so by Kiln fake-0.0: recompile the model"));
}

TEST(ModelOpenTest, DataChecksumVerifiedOnRequest) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_METADATA_PATH, /*weights=*/false));
  ASSERT_TRUE(writeFile(dir.file("model.weights.safetensors"),
                        fakeWeightsFile(kScale, FAKE_WEIGHTS_HEADER_METADATA)));
  VerifyWeights verify;
  kiln_model *model = nullptr;
  ASSERT_EQ(kiln_model_open(dir.path().c_str(), &model), KILN_OK)
      << kiln_last_error();
  kiln_model_close(model);
}

TEST(ModelOpenTest, DataEditedInPlace) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_METADATA_PATH, /*weights=*/false));
  const float edited[4] = {0.5f, -2.0f, 3.0f, 0.5f}; // header unchanged
  ASSERT_TRUE(writeFile(dir.file("model.weights.safetensors"),
                        fakeWeightsFile(edited, FAKE_WEIGHTS_HEADER_METADATA)));
  // Without the check the edit goes unnoticed: only the header is hashed.
  kiln_model *model = nullptr;
  ASSERT_EQ(kiln_model_open(dir.path().c_str(), &model), KILN_OK);
  kiln_model_close(model);
  VerifyWeights verify;
  EXPECT_EQ(openStatus(dir), KILN_ERROR_CORRUPT);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("but its header records 67b3266930ab6fed (tensor "
                        "bytes edited or corrupted)"));
}

TEST(ModelOpenTest, DataChecksumMissing) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_PATH));
  VerifyWeights verify;
  EXPECT_EQ(openStatus(dir), KILN_ERROR_CORRUPT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("records no data checksum"));
}

TEST(ModelOpenTest, HeaderLengthOutOfRange) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_PATH));
  std::string bytes = fakeWeightsFile();
  bytes[7] = '\x7f'; // a header length near 2^63
  ASSERT_TRUE(writeFile(dir.file("model.weights.safetensors"), bytes));
  EXPECT_EQ(openStatus(dir), KILN_ERROR_CORRUPT);
  EXPECT_THAT(kiln_last_error(), HasSubstr("header length"));
}

TEST(ModelOpenTest, WeightOffsetOutOfRange) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_BAD_OFFSET_PATH));
  EXPECT_EQ(openStatus(dir), KILN_ERROR_CORRUPT);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("weight 'scale' spans bytes [8, 8+16) of the data "
                        "section, which has only 16 bytes"));
}
TEST(ModelOpenTest, MisalignedWeightRejected) {
  TempDir dir;
  ASSERT_TRUE(makeModelDir(dir, FAKE_MODEL_UNPADDED_PATH, /*weights=*/false));
  ASSERT_TRUE(writeFile(dir.file("model.weights.safetensors"),
                        fakeWeightsFile(kScale, FAKE_WEIGHTS_HEADER_UNPADDED)));
  EXPECT_EQ(openStatus(dir), KILN_ERROR_CORRUPT);
  EXPECT_THAT(kiln_last_error(),
              HasSubstr("weight 'scale' starts at file offset 67, not a "
                        "multiple of its 4-byte element size"));
}
} // namespace
