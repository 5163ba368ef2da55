//===- SignatureTest.cpp - Input checks on hand-built descriptors --------===//
//
// checkInputs / makeBuffer on descriptors the public API cannot reach with
// the fake model's fixed entries. Each case was first found by
// fuzz/RuntimeSignatureFuzzer.cpp.
//
//===----------------------------------------------------------------------===//

#include "Signature.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstdint>

using namespace kiln::runtime;
using ::testing::HasSubstr;

namespace {

int32_t noop(const kiln_abi_call *) { return 0; }

const int64_t kDynamic3[] = {-1, -1, -1};
const char *const kNames3[] = {"a", "b", "c"};
const kiln_abi_tensor_desc kInput = {"x", KILN_ABI_DTYPE_F32, 3, kDynamic3,
                                     kNames3};
const kiln_abi_entry_desc kEntry = {"forward", 1, &kInput, 0, nullptr, noop};

// An empty tensor whose other dims multiply past 2^63: the element count is
// 0, but the row-major strides made for it overflowed int64.
TEST(SignatureTest, EmptyTensorWithHugeDims) {
  const int64_t shape[] = {0, INT64_MAX / 4, 8};
  float data = 0;
  kiln_tensor input = {KILN_DTYPE_F32, 3, shape, nullptr, &data};
  std::vector<DimBinding> bindings;
  std::string error;
  EXPECT_EQ(checkInputs(kEntry, &input, 1, bindings, error),
            KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_THAT(error, HasSubstr("entry 'forward': input 'x' has dims whose "
                               "product does not fit in 64 bits"));
}

TEST(SignatureTest, EmptyTensorGetsStrides) {
  const int64_t shape[] = {0, 1 << 20, 8};
  kiln_tensor input = {KILN_DTYPE_F32, 3, shape, nullptr, nullptr};
  std::vector<DimBinding> bindings;
  std::string error;
  ASSERT_EQ(checkInputs(kEntry, &input, 1, bindings, error), KILN_OK) << error;
  int64_t strides[3];
  kiln_abi_buffer buffer;
  makeBuffer(input, buffer, strides);
  EXPECT_EQ(strides[0], (1 << 20) * 8);
  EXPECT_EQ(strides[1], 8);
  EXPECT_EQ(strides[2], 1);
}

} // namespace
