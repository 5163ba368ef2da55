//===- NpyTest.cpp - Tests of the .npy reader and writer ------------------===//
//
//===----------------------------------------------------------------------===//

#include "kiln/Runtime/Npy.h"
#include "TestSupport.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cstring>

using namespace kiln::runtime;
using namespace kiln::testing;
using ::testing::HasSubstr;

namespace {
/// A .npy file with the given version, header dict and payload, padded the
/// way numpy pads it.
std::string makeNpy(int major, const std::string &dict,
                    const std::string &payload) {
  size_t lengthSize = major == 1 ? 2 : 4;
  std::string header = dict;
  while ((6 + 2 + lengthSize + header.size() + 1) % 64)
    header += ' ';
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += static_cast<char>(major);
  bytes += '\0';
  for (size_t i = 0; i < lengthSize; ++i)
    bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return bytes + header + payload;
}

struct DtypeCase {
  kiln_dtype dtype;
  const char *descr;
};

/// Keeps gtest from printing the case as raw bytes in test names.
// NOLINTNEXTLINE(readability-identifier-naming): gtest looks up this name.
void PrintTo(const DtypeCase &param, std::ostream *os) { *os << param.descr; }

class NpyRoundTrip : public ::testing::TestWithParam<DtypeCase> {};

TEST_P(NpyRoundTrip, PreservesShapeDtypeAndBytes) {
  DtypeCase param = GetParam();
  size_t elementSize = kiln_dtype_size(param.dtype);
  for (const std::vector<int64_t> &shape :
       std::vector<std::vector<int64_t>>{{}, {5}, {2, 3, 4}, {3, 0}}) {
    int64_t count = 1;
    for (int64_t dim : shape)
      count *= dim;
    std::vector<unsigned char> data(static_cast<size_t>(count) * elementSize);
    for (size_t i = 0; i < data.size(); ++i)
      data[i] = param.dtype == KILN_DTYPE_BOOL
                    ? static_cast<unsigned char>(i % 2)
                    : static_cast<unsigned char>(i * 37 + 11);
    std::string bytes, error;
    ASSERT_TRUE(serializeNpy(param.dtype, shape.data(),
                             static_cast<int32_t>(shape.size()), data.data(),
                             bytes, error))
        << error;
    // Version 1.0, data 64-byte aligned, the descr numpy itself writes.
    EXPECT_EQ(bytes[6], '\x01');
    uint16_t headerSize = static_cast<unsigned char>(bytes[8]) |
                          static_cast<unsigned char>(bytes[9]) << 8;
    EXPECT_EQ((10 + headerSize) % 64, 0);
    EXPECT_THAT(bytes, HasSubstr(std::string("'descr': '") + param.descr));

    TempDir dir;
    std::string path = dir.file("array.npy");
    ASSERT_TRUE(writeFile(path, bytes));
    NpyArray array;
    ASSERT_TRUE(readNpy(path, array, error)) << error;
    EXPECT_EQ(array.dtype, param.dtype);
    EXPECT_EQ(array.shape, shape);
    EXPECT_EQ(array.data, data);
  }
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, NpyRoundTrip,
                         ::testing::Values(DtypeCase{KILN_DTYPE_F32, "<f4"},
                                           DtypeCase{KILN_DTYPE_F16, "<f2"},
                                           DtypeCase{KILN_DTYPE_I8, "|i1"},
                                           DtypeCase{KILN_DTYPE_I32, "<i4"},
                                           DtypeCase{KILN_DTYPE_I64, "<i8"},
                                           DtypeCase{KILN_DTYPE_U8, "|u1"},
                                           DtypeCase{KILN_DTYPE_BOOL, "|b1"}),
                         [](const ::testing::TestParamInfo<DtypeCase> &info) {
                           return std::string(
                               kiln_dtype_name(info.param.dtype));
                         });

TEST(NpyTest, WriteNpyToFileAndBack) {
  TempDir dir;
  std::string path = dir.file("x.npy"), error;
  float values[6] = {1.5f, -2, 3, 4, 5, 6};
  int64_t shape[2] = {2, 3};
  ASSERT_TRUE(writeNpy(path, KILN_DTYPE_F32, shape, 2, values, error)) << error;
  NpyArray array;
  ASSERT_TRUE(readNpy(path, array, error)) << error;
  ASSERT_EQ(array.data.size(), sizeof(values));
  EXPECT_EQ(std::memcmp(array.data.data(), values, sizeof(values)), 0);
  EXPECT_EQ(array.numElements(), 6);
}

TEST(NpyTest, ReadsVersion2AndLittleEndianSpellings) {
  int32_t values[3] = {7, -8, 9};
  std::string payload(reinterpret_cast<const char *>(values), sizeof(values));
  NpyArray array;
  std::string error;
  std::string v2 = makeNpy(
      2, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", payload);
  ASSERT_TRUE(parseNpy(v2.data(), v2.size(), array, error)) << error;
  EXPECT_EQ(array.dtype, KILN_DTYPE_I32);
  EXPECT_EQ(array.shape, std::vector<int64_t>{3});
  EXPECT_EQ(std::memcmp(array.data.data(), values, sizeof(values)), 0);

  std::string byteSpelling =
      makeNpy(1,
              "{\"shape\": (2,), \"fortran_order\": False, \"descr\": "
              "\"<i1\"}",
              "ab");
  ASSERT_TRUE(parseNpy(byteSpelling.data(), byteSpelling.size(), array, error))
      << error;
  EXPECT_EQ(array.dtype, KILN_DTYPE_I8);
}

TEST(NpyTest, FortranOrderRejected) {
  std::string bytes =
      makeNpy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
              std::string(16, '\0'));
  NpyArray array;
  std::string error;
  EXPECT_FALSE(parseNpy(bytes.data(), bytes.size(), array, error));
  EXPECT_THAT(error, HasSubstr("fortran_order arrays are not supported"));
}

TEST(NpyTest, TruncatedRejected) {
  std::string dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }";
  std::string bytes = makeNpy(1, dict, std::string(12, '\0'));
  NpyArray array;
  std::string error;
  EXPECT_FALSE(parseNpy(bytes.data(), bytes.size(), array, error));
  EXPECT_THAT(error, HasSubstr("truncated: shape and dtype need 16 bytes of "
                               "data but only 12 are present"));
  // Cut inside the header as well.
  EXPECT_FALSE(parseNpy(bytes.data(), 30, array, error));
  EXPECT_THAT(error, HasSubstr("truncated: header claims"));
  EXPECT_FALSE(parseNpy(bytes.data(), 9, array, error));
  EXPECT_THAT(error, HasSubstr("truncated"));
}

TEST(NpyTest, BadMagicRejected) {
  std::string bytes = makeNpy(
      1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "abcd");
  bytes[1] = 'X';
  NpyArray array;
  std::string error;
  EXPECT_FALSE(parseNpy(bytes.data(), bytes.size(), array, error));
  EXPECT_THAT(error, HasSubstr("bad magic"));
  TempDir dir;
  ASSERT_TRUE(writeFile(dir.file("bad.npy"), bytes));
  EXPECT_FALSE(readNpy(dir.file("bad.npy"), array, error));
  EXPECT_THAT(error, HasSubstr("bad.npy': not a .npy file"));
  EXPECT_FALSE(readNpy(dir.file("missing.npy"), array, error));
  EXPECT_THAT(error, HasSubstr("cannot open"));
}

TEST(NpyTest, UnsupportedDtypesExplained) {
  NpyArray array;
  std::string error;
  std::string big = makeNpy(
      1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", "abcd");
  EXPECT_FALSE(parseNpy(big.data(), big.size(), array, error));
  EXPECT_THAT(error, HasSubstr("big-endian"));
  std::string f64 = makeNpy(
      1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", "abcdefgh");
  EXPECT_FALSE(parseNpy(f64.data(), f64.size(), array, error));
  EXPECT_THAT(error, HasSubstr("unsupported dtype '<f8'"));

  uint16_t bf16[2] = {0x3f80, 0x4000};
  int64_t shape[1] = {2};
  std::string bytes;
  EXPECT_FALSE(serializeNpy(KILN_DTYPE_BF16, shape, 1, bf16, bytes, error));
  EXPECT_THAT(error, HasSubstr("bf16 has no numpy dtype"));
}

TEST(NpyTest, MalformedHeadersRejected) {
  NpyArray array;
  std::string error;
  for (const char *dict :
       {"{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': "
        "(99999999999999999999,)}",
        "['descr']"}) {
    std::string bytes = makeNpy(1, dict, "abcd");
    EXPECT_FALSE(parseNpy(bytes.data(), bytes.size(), array, error)) << dict;
    EXPECT_THAT(error, HasSubstr("malformed header")) << dict;
  }
  std::string extra = makeNpy(
      1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "abcdXY");
  EXPECT_FALSE(parseNpy(extra.data(), extra.size(), array, error));
  EXPECT_THAT(error, HasSubstr("2 unexpected bytes"));
}
} // namespace
