//===- SafetensorsTest.cpp - safetensors tests ------------------*- C++ -*-===//
//
// Files are built byte by byte in the tests (the 8-byte length, the JSON,
// the data) so that the reader is checked against the format, not against
// the writer; the writer is checked by reading its files back and by looking
// at the raw bytes.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/Safetensors/Safetensors.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <fstream>
#include <initializer_list>
#include <random>
#include <sstream>

using namespace kiln::safetensors;
using llvm::StringRef;

namespace {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// FNV-1a 64 written out here, independent of the library's.
uint64_t referenceFnv1a64(StringRef bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes)
    hash = (hash ^ c) * 1099511628211ull;
  return hash;
}

/// The 8-byte little-endian length, `header`, then `data`.
std::string makeFile(StringRef header, StringRef data = "") {
  std::string file;
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i)
    file.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  file += header.str();
  file += data.str();
  return file;
}

/// `count` bytes 0, 1, 2, ... (mod 251, so that no period matches a size).
std::string patternBytes(size_t count, unsigned seed = 0) {
  std::string bytes(count, '\0');
  for (size_t i = 0; i < count; ++i)
    bytes[i] = static_cast<char>((i + seed) % 251);
  return bytes;
}

llvm::ArrayRef<uint8_t> asBytes(StringRef text) {
  return llvm::arrayRefFromStringRef(text);
}

/// Parses `contents` as a file named "model.safetensors".
llvm::Expected<std::unique_ptr<SafetensorsFile>>
parseBytes(StringRef contents) {
  return SafetensorsFile::fromBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(contents, "model.safetensors"));
}

/// The error parsing `contents` gives, or "" if it parses.
std::string parseError(StringRef contents) {
  auto file = parseBytes(contents);
  if (file)
    return "";
  return llvm::toString(file.takeError());
}

/// Checks that parsing `contents` fails with a message holding every one of
/// `parts`.
void expectParseError(StringRef contents,
                      std::initializer_list<const char *> parts) {
  std::string message = parseError(contents);
  ASSERT_FALSE(message.empty()) << "parsed, but an error was expected";
  for (const char *part : parts)
    EXPECT_NE(message.find(part), std::string::npos)
        << "'" << part << "' missing from: " << message;
}

/// Checks that `error` fails with a message holding every one of `parts`.
void expectError(llvm::Error error, std::initializer_list<const char *> parts) {
  ASSERT_TRUE(static_cast<bool>(error))
      << "succeeded, but an error was expected";
  std::string message = llvm::toString(std::move(error));
  for (const char *part : parts)
    EXPECT_NE(message.find(part), std::string::npos)
        << "'" << part << "' missing from: " << message;
}

/// The contents of the file at `path`.
std::string readFile(StringRef path) {
  std::ifstream stream(path.str(), std::ios::binary);
  std::stringstream contents;
  contents << stream.rdbuf();
  return contents.str();
}

/// A header entry `"name":{"dtype":..,"shape":..,"data_offsets":[b,e]}`.
std::string entry(StringRef name, StringRef dtype, StringRef shape,
                  uint64_t begin, uint64_t end) {
  return ("\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
          ",\"data_offsets\":[" + llvm::Twine(begin) + "," + llvm::Twine(end) +
          "]}")
      .str();
}

/// Gives each test a fresh directory, removed afterwards.
class SafetensorsFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(
        llvm::sys::fs::createUniqueDirectory("kiln-safetensors-test", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string pathTo(StringRef name) const {
    llvm::SmallString<128> path(dir);
    llvm::sys::path::append(path, name);
    return std::string(path);
  }

  /// Names of the files in the directory.
  std::vector<std::string> listDir() const {
    std::vector<std::string> names;
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(dir, ec), end; !ec && it != end;
         it.increment(ec))
      names.push_back(llvm::sys::path::filename(it->path()).str());
    llvm::sort(names);
    return names;
  }

  llvm::SmallString<128> dir;
};

//===----------------------------------------------------------------------===//
// DType and hash
//===----------------------------------------------------------------------===//

TEST(SafetensorsDTypeTest, NamesAndSizes) {
  struct Expected {
    DType dtype;
    const char *name;
    uint64_t size;
  };
  const Expected table[] = {
      {DType::F64, "F64", 8},        {DType::F32, "F32", 4},
      {DType::F16, "F16", 2},        {DType::BF16, "BF16", 2},
      {DType::F8E4M3, "F8_E4M3", 1}, {DType::F8E5M2, "F8_E5M2", 1},
      {DType::I64, "I64", 8},        {DType::I32, "I32", 4},
      {DType::I16, "I16", 2},        {DType::I8, "I8", 1},
      {DType::U64, "U64", 8},        {DType::U32, "U32", 4},
      {DType::U16, "U16", 2},        {DType::U8, "U8", 1},
      {DType::Bool, "BOOL", 1},
  };
  EXPECT_EQ(allDTypes().size(), std::size(table));
  for (const Expected &row : table) {
    EXPECT_EQ(dtypeName(row.dtype), row.name);
    EXPECT_EQ(dtypeSize(row.dtype), row.size) << row.name;
    EXPECT_EQ(parseDType(row.name), row.dtype) << row.name;
  }
  EXPECT_EQ(parseDType("f32"), std::nullopt);
  EXPECT_EQ(parseDType("Bool"), std::nullopt);
  EXPECT_EQ(parseDType(""), std::nullopt);
}

TEST(SafetensorsHashTest, KnownFnv1a64Vectors) {
  // Published FNV-1a 64 test vectors.
  EXPECT_EQ(fnv1a64(StringRef("")), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64(StringRef("a")), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64(StringRef("foobar")), 0x85944171f73967e8ull);
  EXPECT_EQ(fnv1a64(StringRef("foobar")), referenceFnv1a64("foobar"));
}

//===----------------------------------------------------------------------===//
// Writer, read back
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsFileTest, RoundTripEveryDType) {
  SafetensorsWriter writer;
  std::vector<std::string> payloads;
  // [3, 5] elements: odd byte sizes for 1- and 2-byte types force padding.
  for (auto [index, dtype] : llvm::enumerate(allDTypes())) {
    payloads.push_back(patternBytes(15 * dtypeSize(dtype), index));
    std::string name = ("t." + dtypeName(dtype)).str();
    ASSERT_FALSE(llvm::errorToBool(
        writer.addTensor(name, dtype, {3, 5}, asBytes(payloads.back()))));
  }
  ASSERT_FALSE(llvm::errorToBool(
      writer.addTensor("scalar", DType::I64, {}, asBytes(patternBytes(8)))));
  ASSERT_FALSE(
      llvm::errorToBool(writer.addTensor("empty", DType::BF16, {0, 7}, {})));
  ASSERT_FALSE(llvm::errorToBool(writer.setMetadata("format", "kiln")));
  ASSERT_FALSE(llvm::errorToBool(writer.setMetadata("version", "1")));

  std::string path = pathTo("model.weights.safetensors");
  ASSERT_FALSE(llvm::errorToBool(writer.write(path)));
  auto fileOrError = SafetensorsFile::open(path);
  ASSERT_TRUE(static_cast<bool>(fileOrError))
      << llvm::toString(fileOrError.takeError());
  const SafetensorsFile &file = **fileOrError;

  EXPECT_EQ(file.getPath(), path);
  ASSERT_EQ(file.tensors().size(), allDTypes().size() + 2);
  for (auto [index, dtype] : llvm::enumerate(allDTypes())) {
    const TensorInfo &info = file.tensors()[index];
    EXPECT_EQ(info.name, ("t." + dtypeName(dtype)).str());
    EXPECT_EQ(info.dtype, dtype);
    EXPECT_EQ(llvm::ArrayRef<int64_t>(info.shape),
              llvm::ArrayRef<int64_t>({3, 5}));
    EXPECT_EQ(info.numElements, 15u);
    EXPECT_EQ(info.byteSize, payloads[index].size());
    EXPECT_EQ(info.data(), payloads[index]) << info.name;
    EXPECT_EQ(file.lookup(info.name), &info);
  }
  const TensorInfo *scalar = file.lookup("scalar");
  ASSERT_NE(scalar, nullptr);
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(scalar->numElements, 1u);
  EXPECT_EQ(scalar->data(), patternBytes(8));
  const TensorInfo *empty = file.lookup("empty");
  ASSERT_NE(empty, nullptr);
  EXPECT_EQ(llvm::ArrayRef<int64_t>(empty->shape),
            llvm::ArrayRef<int64_t>({0, 7}));
  EXPECT_EQ(empty->numElements, 0u);
  EXPECT_EQ(empty->byteSize, 0u);
  EXPECT_EQ(file.lookup("missing"), nullptr);

  ASSERT_EQ(file.metadata().size(), 2u);
  EXPECT_EQ(file.metadata()[0].first, "format");
  EXPECT_EQ(file.metadata()[0].second, "kiln");
  EXPECT_EQ(file.metadata()[1].first, "version");
  EXPECT_EQ(file.lookupMetadata("version"), StringRef("1"));
  EXPECT_EQ(file.lookupMetadata("nope"), std::nullopt);

  EXPECT_EQ(file.getFileSize(), writer.fileSize());
  EXPECT_EQ(file.headerHash(), writer.headerHash());
  EXPECT_EQ(file.header(), writer.getLayout().header);
  for (const TensorInfo &info : file.tensors())
    EXPECT_EQ(writer.tensorOffset(info.name), info.dataOffset) << info.name;
  EXPECT_EQ(writer.tensorOffset("missing"), std::nullopt);
}

TEST_F(SafetensorsFileTest, AlignsDataSectionAndTensors) {
  SafetensorsWriter writer;
  // Sizes 1, 3, 64, 65, 130 bytes: every padding case.
  const size_t sizes[] = {1, 3, 64, 65, 130};
  for (size_t size : sizes)
    ASSERT_FALSE(llvm::errorToBool(writer.addTensor(
        "u8." + std::to_string(size), DType::U8, {static_cast<int64_t>(size)},
        asBytes(patternBytes(size, size)))));
  std::string path = pathTo("aligned.safetensors");
  ASSERT_FALSE(llvm::errorToBool(writer.write(path)));
  std::string raw = readFile(path);
  ASSERT_EQ(raw.size(), writer.fileSize());

  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i)
    headerLength = (headerLength << 8) | static_cast<uint8_t>(raw[i]);
  uint64_t dataStart = 8 + headerLength;
  EXPECT_EQ(dataStart % 64, 0u);
  EXPECT_EQ(dataStart, writer.getLayout().dataSectionOffset);
  // The JSON ends with '}' and the rest of the header is spaces.
  StringRef header = StringRef(raw).substr(8, headerLength);
  size_t close = header.rfind('}');
  ASSERT_NE(close, StringRef::npos);
  EXPECT_EQ(header.substr(close + 1).find_first_not_of(' '), StringRef::npos);
  EXPECT_LT(header.size() - close - 1, 64u);

  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  uint64_t previousEnd = 0;
  for (const TensorInfo &info : (*file)->tensors()) {
    EXPECT_EQ(info.fileOffset % 64, 0u) << info.name;
    EXPECT_EQ(info.dataOffset % 64, 0u) << info.name;
    // Zero padding between tensors, and no more than needed.
    StringRef gap =
        StringRef(raw).slice(dataStart + previousEnd, info.fileOffset);
    EXPECT_LT(gap.size(), 64u);
    EXPECT_EQ(gap.find_first_not_of('\0'), StringRef::npos) << info.name;
    previousEnd = info.dataOffset + info.byteSize;
  }
  // The file ends with the last tensor.
  EXPECT_EQ(dataStart + previousEnd, raw.size());
}

TEST_F(SafetensorsFileTest, HeaderHashIsFnv1aOfPaddedHeader) {
  SafetensorsWriter writer;
  ASSERT_FALSE(llvm::errorToBool(
      writer.addTensor("w", DType::F32, {2, 3}, asBytes(patternBytes(24)))));
  ASSERT_FALSE(llvm::errorToBool(writer.setMetadata("k", "v")));
  std::string path = pathTo("hash.safetensors");
  ASSERT_FALSE(llvm::errorToBool(writer.write(path)));
  std::string raw = readFile(path);
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i)
    headerLength = (headerLength << 8) | static_cast<uint8_t>(raw[i]);
  uint64_t expected = referenceFnv1a64(StringRef(raw).substr(8, headerLength));
  EXPECT_EQ(writer.headerHash(), expected);
  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->headerHash(), expected);
  // The hash covers the padding: a different pad changes it.
  EXPECT_NE(referenceFnv1a64(StringRef(raw).substr(8, headerLength - 1)),
            expected);
}

/// dataChecksum64 written out plainly: FNV-1a 64 over little-endian 64-bit
/// words, the last partial word zero-extended.
uint64_t referenceDataChecksum(StringRef bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t word = 0;
    for (size_t k = 0; k < 8 && i + k < bytes.size(); ++k)
      word |= uint64_t(static_cast<uint8_t>(bytes[i + k])) << (8 * k);
    hash = (hash ^ word) * 0x100000001b3ull;
  }
  return hash;
}

TEST_F(SafetensorsFileTest, DataChecksumCoversTheWrittenDataSection) {
  // Sizes that leave zero padding between tensors and a partial last word.
  SafetensorsWriter writer;
  ASSERT_FALSE(llvm::errorToBool(
      writer.addTensor("a", DType::U8, {3}, asBytes(patternBytes(3)))));
  ASSERT_FALSE(llvm::errorToBool(
      writer.addTensor("b", DType::F32, {2, 5}, asBytes(patternBytes(40)))));
  ASSERT_FALSE(llvm::errorToBool(
      writer.addTensor("c", DType::I16, {7}, asBytes(patternBytes(14)))));
  uint64_t before = writer.dataChecksum();
  // Metadata moves the data section but does not change it.
  ASSERT_FALSE(llvm::errorToBool(writer.setMetadata("k", "v")));
  EXPECT_EQ(writer.dataChecksum(), before);
  std::string path = pathTo("checksum.safetensors");
  ASSERT_FALSE(llvm::errorToBool(writer.write(path)));
  std::string raw = readFile(path);
  StringRef data =
      StringRef(raw).drop_front(writer.getLayout().dataSectionOffset);
  EXPECT_EQ(before, referenceDataChecksum(data));
  EXPECT_EQ(before, dataChecksum64(llvm::arrayRefFromStringRef(data)));
  // One flipped bit anywhere changes it.
  std::string flipped = data.str();
  flipped[flipped.size() / 2] ^= 1;
  EXPECT_NE(referenceDataChecksum(flipped), before);
}

TEST_F(SafetensorsFileTest, OutputIsDeterministicInInsertionOrder) {
  auto build = [](SafetensorsWriter &writer) {
    ASSERT_FALSE(llvm::errorToBool(writer.setMetadata("b", "2")));
    ASSERT_FALSE(llvm::errorToBool(writer.setMetadata("a", "1")));
    ASSERT_FALSE(llvm::errorToBool(
        writer.addTensor("z", DType::F16, {3}, asBytes(patternBytes(6)))));
    ASSERT_FALSE(llvm::errorToBool(
        writer.addTensor("a", DType::I32, {2}, asBytes(patternBytes(8)))));
    ASSERT_FALSE(llvm::errorToBool(writer.setMetadata("b", "3")));
  };
  SafetensorsWriter first, second;
  build(first);
  build(second);
  std::string firstBytes, secondBytes;
  llvm::raw_string_ostream firstStream(firstBytes), secondStream(secondBytes);
  first.write(firstStream);
  second.write(secondStream);
  EXPECT_EQ(firstBytes, secondBytes);

  std::string json = "{\"__metadata__\":{\"b\":\"3\",\"a\":\"1\"},"
                     "\"z\":{\"dtype\":\"F16\",\"shape\":[3],"
                     "\"data_offsets\":[0,6]},"
                     "\"a\":{\"dtype\":\"I32\",\"shape\":[2],"
                     "\"data_offsets\":[64,72]}}";
  const std::string &header = first.getLayout().header;
  EXPECT_EQ(StringRef(header).rtrim(' '), json);
  EXPECT_EQ((8 + header.size()) % 64, 0u);
  EXPECT_EQ(first.getLayout().tensorOffsets, std::vector<uint64_t>({0, 64}));
  EXPECT_EQ(firstBytes.size(), 8 + header.size() + 72);

  // The file written to disk is the same bytes.
  std::string path = pathTo("deterministic.safetensors");
  ASSERT_FALSE(llvm::errorToBool(first.write(path)));
  EXPECT_EQ(readFile(path), firstBytes);

  auto file = parseBytes(firstBytes);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  ASSERT_EQ((*file)->tensors().size(), 2u);
  EXPECT_EQ((*file)->tensors()[0].name, "z");
  EXPECT_EQ((*file)->tensors()[1].name, "a");
  ASSERT_EQ((*file)->metadata().size(), 2u);
  EXPECT_EQ((*file)->metadata()[0].first, "b");
  EXPECT_EQ((*file)->metadata()[0].second, "3");
}

TEST_F(SafetensorsFileTest, EscapedNamesRoundTrip) {
  const char *names[] = {"quote\"d", "back\\slash", "new\nline",
                         "tab\tx",   "caf\xc3\xa9", "emoji \xf0\x9f\x98\x80",
                         "ctl\x01"};
  SafetensorsWriter writer;
  for (auto [index, name] : llvm::enumerate(names))
    ASSERT_FALSE(llvm::errorToBool(writer.addTensor(
        name, DType::U8, {1}, asBytes(patternBytes(1, index)))));
  std::string bytes;
  llvm::raw_string_ostream stream(bytes);
  writer.write(stream);
  auto file = parseBytes(bytes);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  ASSERT_EQ((*file)->tensors().size(), std::size(names));
  for (auto [index, name] : llvm::enumerate(names)) {
    EXPECT_EQ((*file)->tensors()[index].name, name);
    ASSERT_NE((*file)->lookup(name), nullptr) << name;
    EXPECT_EQ((*file)->lookup(name)->data(), patternBytes(1, index));
  }
}

TEST_F(SafetensorsFileTest, AddTensorRefReferencesTheCallersBytes) {
  std::string payload = patternBytes(12);
  SafetensorsWriter writer;
  ASSERT_FALSE(llvm::errorToBool(
      writer.addTensorRef("r", DType::F32, {3}, asBytes(payload))));
  // The bytes are read at write time.
  payload[0] = 'X';
  std::string bytes;
  llvm::raw_string_ostream stream(bytes);
  writer.write(stream);
  auto file = parseBytes(bytes);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->lookup("r")->data(), payload);
}

TEST_F(SafetensorsFileTest, WriteIsAtomicAndReplaces) {
  std::string path = pathTo("out.safetensors");
  {
    std::ofstream old(path, std::ios::binary);
    old << "old contents";
  }
  SafetensorsWriter writer;
  ASSERT_FALSE(llvm::errorToBool(
      writer.addTensor("x", DType::I8, {4}, asBytes("abcd"))));
  ASSERT_FALSE(llvm::errorToBool(writer.write(path)));
  // No temporary file is left behind.
  EXPECT_EQ(listDir(), std::vector<std::string>({"out.safetensors"}));
  EXPECT_EQ(readFile(path).size(), writer.fileSize());

  std::string missingDir = pathTo("no/such/dir/out.safetensors");
  expectError(writer.write(missingDir), {"no/such/dir/out.safetensors"});
  EXPECT_EQ(listDir(), std::vector<std::string>({"out.safetensors"}));
}

TEST_F(SafetensorsFileTest, EmptyWriterWritesEmptyHeader) {
  SafetensorsWriter writer;
  std::string bytes;
  llvm::raw_string_ostream stream(bytes);
  writer.write(stream);
  EXPECT_EQ(bytes.size(), 64u);
  EXPECT_EQ(writer.fileSize(), 64u);
  EXPECT_EQ(StringRef(writer.getLayout().header).rtrim(' '), "{}");
  auto file = parseBytes(bytes);
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_TRUE((*file)->tensors().empty());
  EXPECT_EQ((*file)->dataSectionSize(), 0u);
}

TEST(SafetensorsWriterTest, RejectsBadTensors) {
  SafetensorsWriter writer;
  ASSERT_FALSE(llvm::errorToBool(
      writer.addTensor("w", DType::F32, {2}, asBytes(patternBytes(8)))));
  expectError(writer.addTensor("w", DType::F32, {2}, asBytes(patternBytes(8))),
              {"'w'", "added twice"});
  expectError(
      writer.addTensor("v", DType::F32, {5, 5}, asBytes(patternBytes(96))),
      {"'v'", "96 bytes given", "F32 [5, 5] needs 100"});
  expectError(writer.addTensor("n", DType::F32, {2, -1}, {}),
              {"'n'", "negative dim -1 at index 1"});
  expectError(writer.addTensor("o", DType::F64, {1ll << 40, 1ll << 40}, {}),
              {"'o'", "overflows"});
  expectError(writer.addTensor("__metadata__", DType::U8, {}, asBytes("x")),
              {"reserved"});
  expectError(writer.addTensor("", DType::U8, {}, asBytes("x")), {"empty"});
  expectError(writer.addTensor("bad\xff", DType::U8, {}, asBytes("x")),
              {"UTF-8"});
  expectError(writer.setMetadata("k\xc3", "v"), {"UTF-8"});
  expectError(writer.setMetadata("k", "v\xc3"), {"UTF-8", "'k'"});
  EXPECT_EQ(writer.size(), 1u);
}

//===----------------------------------------------------------------------===//
// Files as the Python safetensors package writes them
//===----------------------------------------------------------------------===//

/// Two little-endian F32 values.
std::string f32Bytes(std::initializer_list<float> values) {
  std::string bytes;
  for (float value : values) {
    char raw[4];
    std::memcpy(raw, &value, 4);
    bytes.append(raw, 4);
  }
  return bytes;
}

TEST(SafetensorsReaderTest, ReadsUnpaddedSortedHeader) {
  // Keys sorted, no padding, tensors packed with unaligned offsets: an F16
  // [3] (6 bytes) puts the F32 after it at offset 6.
  std::string data = patternBytes(6) + f32Bytes({1.0f, 2.5f, -3.0f, 0.5f});
  std::string header = "{" + entry("a.bias", "F16", "[3]", 0, 6) + "," +
                       entry("b.weight", "F32", "[2,2]", 6, 22) + "}";
  auto file = parseBytes(makeFile(header, data));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  ASSERT_EQ((*file)->tensors().size(), 2u);
  EXPECT_EQ((*file)->dataSectionOffset(), 8 + header.size());
  const TensorInfo *weight = (*file)->lookup("b.weight");
  ASSERT_NE(weight, nullptr);
  EXPECT_EQ(weight->dtype, DType::F32);
  EXPECT_EQ(weight->dataOffset, 6u);
  EXPECT_EQ(weight->fileOffset, 8 + header.size() + 6);
  float values[4];
  ASSERT_EQ(weight->bytes.size(), sizeof(values));
  std::memcpy(values, weight->bytes.data(), sizeof(values));
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[1], 2.5f);
  EXPECT_EQ(values[2], -3.0f);
  EXPECT_EQ(values[3], 0.5f);
  EXPECT_EQ((*file)->lookup("a.bias")->data(), patternBytes(6));
  EXPECT_TRUE((*file)->metadata().empty());
  EXPECT_EQ((*file)->headerHash(), referenceFnv1a64(header));
}

TEST(SafetensorsWidenTest, HalfAndBf16BitPatterns) {
  // Values from the IEEE 754 binary16 and bfloat16 definitions.
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0xc000), -2.0f);
  // Largest normal, smallest normal, smallest and largest subnormal.
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03ff), std::ldexp(1023.0f, -24));
  // Exponent 13, mantissa 0x155.
  EXPECT_EQ(halfToFloat(0x3555), 0.25f * (1.0f + 0x155 / 1024.0f));
  EXPECT_TRUE(std::signbit(halfToFloat(0x8000)));
  EXPECT_EQ(halfToFloat(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(halfToFloat(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0xc049), -3.140625f);
  EXPECT_EQ(bf16ToFloat(0x0001), std::ldexp(1.0f, -133));
  EXPECT_TRUE(std::isnan(bf16ToFloat(0x7fc0)));
}

TEST(SafetensorsWidenTest, ReadAsF32WidensHalfTypesOnly) {
  // F16 [1.0, -2.0, 65504], BF16 [1.0, -3.140625], F32 [0.5], I32 [7].
  std::string data = std::string("\x00\x3c\x00\xc0\xff\x7b", 6) +
                     std::string("\x80\x3f\x49\xc0", 4) +
                     f32Bytes({0.5f}) + std::string("\x07\0\0\0", 4);
  std::string header = "{" + entry("h", "F16", "[3]", 0, 6) + "," +
                       entry("b", "BF16", "[2]", 6, 10) + "," +
                       entry("f", "F32", "[1]", 10, 14) + "," +
                       entry("i", "I32", "[1]", 14, 18) + "}";
  auto file = parseBytes(makeFile(header, data));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_EQ(readAsF32(*(*file)->lookup("h")),
            std::vector<float>({1.0f, -2.0f, 65504.0f}));
  EXPECT_EQ(readAsF32(*(*file)->lookup("b")),
            std::vector<float>({1.0f, -3.140625f}));
  EXPECT_EQ(readAsF32(*(*file)->lookup("f")), std::vector<float>({0.5f}));
  EXPECT_EQ(readAsF32(*(*file)->lookup("i")), std::nullopt);
  EXPECT_TRUE(isWidenableToF32(DType::BF16));
  EXPECT_FALSE(isWidenableToF32(DType::F8E4M3));
}

TEST(SafetensorsReaderTest, ReadsSpacePaddedHeaderWithMetadata) {
  // Newer writers put __metadata__ first and pad the header with spaces to a
  // multiple of 8.
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}," +
                       entry("embed", "BF16", "[2,3]", 0, 12) + "," +
                       entry("mask", "BOOL", "[5]", 12, 17) + "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string data = patternBytes(17);
  auto file = parseBytes(makeFile(header, data));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->lookupMetadata("format"), StringRef("pt"));
  EXPECT_EQ((*file)->lookup("mask")->dtype, DType::Bool);
  EXPECT_EQ((*file)->lookup("mask")->data(), StringRef(data).substr(12));
  EXPECT_EQ((*file)->header(), header);
}

TEST(SafetensorsReaderTest, EmptyHeaderAndTrailingBytes) {
  auto empty = parseBytes(makeFile("{}"));
  ASSERT_TRUE(static_cast<bool>(empty)) << llvm::toString(empty.takeError());
  EXPECT_TRUE((*empty)->tensors().empty());
  EXPECT_TRUE((*empty)->metadata().empty());

  // Trailing padding after the last tensor is allowed, as is a gap.
  std::string header = "{" + entry("x", "I32", "[1]", 8, 12) + "}";
  auto padded = parseBytes(makeFile(header, patternBytes(40)));
  ASSERT_TRUE(static_cast<bool>(padded)) << llvm::toString(padded.takeError());
  EXPECT_EQ((*padded)->lookup("x")->data(), patternBytes(40).substr(8, 4));
  EXPECT_EQ((*padded)->dataSectionSize(), 40u);
}

TEST(SafetensorsReaderTest, HeaderOrderIsKept) {
  // Header order, not offset order and not sorted.
  std::string header = "{" + entry("m", "U8", "[1]", 2, 3) + "," +
                       entry("b", "U8", "[1]", 0, 1) + "," +
                       entry("x", "U8", "[1]", 1, 2) + "}";
  auto file = parseBytes(makeFile(header, "abc"));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  ASSERT_EQ((*file)->tensors().size(), 3u);
  EXPECT_EQ((*file)->tensors()[0].name, "m");
  EXPECT_EQ((*file)->tensors()[1].name, "b");
  EXPECT_EQ((*file)->tensors()[2].name, "x");
  EXPECT_EQ((*file)->lookup("m")->data(), "c");
}

TEST(SafetensorsReaderTest, ZeroSizedTensorsMayShareOffsets) {
  std::string header = "{" + entry("e1", "F32", "[0]", 4, 4) + "," +
                       entry("e2", "F32", "[3,0]", 4, 4) + "," +
                       entry("w", "F32", "[1]", 0, 4) + "," +
                       entry("e3", "F32", "[0]", 2, 2) + "}";
  auto file = parseBytes(makeFile(header, patternBytes(4)));
  ASSERT_TRUE(static_cast<bool>(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->tensors().size(), 4u);
}

TEST(SafetensorsReaderTest, OpenReportsMissingFile) {
  auto file = SafetensorsFile::open("/nonexistent/dir/model.safetensors");
  ASSERT_FALSE(static_cast<bool>(file));
  std::string message = llvm::toString(file.takeError());
  EXPECT_NE(message.find("/nonexistent/dir/model.safetensors"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("cannot open"), std::string::npos) << message;
}

//===----------------------------------------------------------------------===//
// Validation errors
//===----------------------------------------------------------------------===//

TEST(SafetensorsErrorTest, FileShorterThanLength) {
  expectParseError("", {"model.safetensors", "0 bytes", "8-byte"});
  expectParseError(StringRef("\x02\0\0", 3),
                   {"model.safetensors", "3 bytes", "8-byte"});
}

TEST(SafetensorsErrorTest, HeaderLengthBeyondFile) {
  std::string file = makeFile("{}");
  file[0] = 10; // Claims 10 header bytes; 2 follow.
  expectParseError(file, {"model.safetensors", "header length 10",
                          "exceeds the 2 bytes", "10-byte file"});
}

TEST(SafetensorsErrorTest, HeaderLengthAbsurd) {
  std::string file = makeFile("{}");
  file[0] = '\x01';
  file[3] = '\x10'; // 0x10000001 = 268435457 > 100 MB.
  expectParseError(file, {"model.safetensors", "header length 268435457",
                          "limit of 100000000"});
  std::string huge(8, '\xff');
  expectParseError(huge, {"header length 18446744073709551615"});
}

TEST(SafetensorsErrorTest, HeaderNotJson) {
  expectParseError(makeFile("{\"a\": }"),
                   {"model.safetensors", "not valid JSON", "Invalid JSON"});
  expectParseError(makeFile("{\"a\":1} x"), {"not valid JSON"});
  expectParseError(makeFile(""), {"not valid JSON"});
  expectParseError(makeFile("{\"\xff\":1}"), {"not valid JSON", "UTF-8"});
}

TEST(SafetensorsErrorTest, HeaderNotObject) {
  expectParseError(
      makeFile("[1,2]"),
      {"model.safetensors", "header is an array", "not a JSON object"});
  expectParseError(makeFile("null"), {"header is null"});
}

TEST(SafetensorsErrorTest, EntryNotObject) {
  expectParseError(makeFile("{\"w\":[1]}"), {"model.safetensors", "tensor 'w'",
                                             "is an array", "not an object"});
}

TEST(SafetensorsErrorTest, EntryLacksFields) {
  expectParseError(
      makeFile("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "abcd"),
      {"model.safetensors", "tensor 'w'", "lacks 'dtype'"});
  expectParseError(
      makeFile("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "abcd"),
      {"tensor 'w'", "lacks 'shape'"});
  expectParseError(
      makeFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", "abcd"),
      {"tensor 'w'", "lacks 'data_offsets'"});
  expectParseError(
      makeFile("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}",
               "abcd"),
      {"tensor 'w'", "'dtype' is a number (4), not a string"});
  expectParseError(makeFile("{\"w\":{\"dtype\":\"F32\",\"shape\":\"1\","
                            "\"data_offsets\":[0,4]}}",
                            "abcd"),
                   {"tensor 'w'", "'shape' is a string"});
}

TEST(SafetensorsErrorTest, UnknownDType) {
  expectParseError(
      makeFile("{" + entry("w", "F128", "[1]", 0, 16) + "}", patternBytes(16)),
      {"model.safetensors", "tensor 'w'", "unknown dtype 'F128'"});
}

TEST(SafetensorsErrorTest, NegativeDim) {
  expectParseError(makeFile("{" + entry("w", "F32", "[2,-3]", 0, 0) + "}"),
                   {"model.safetensors", "tensor 'w'", "shape [2, -3]",
                    "negative dim -3 at index 1"});
}

TEST(SafetensorsErrorTest, NonIntegerDim) {
  expectParseError(
      makeFile("{" + entry("w", "F32", "[2,1.5]", 0, 12) + "}",
               patternBytes(12)),
      {"tensor 'w'", "'shape' dim 1 is 1.5", "not a 64-bit integer"});
  expectParseError(
      makeFile("{" + entry("w", "F32", "[2.0]", 0, 8) + "}", patternBytes(8)),
      {"tensor 'w'", "'shape' dim 0 is 2"});
  expectParseError(
      makeFile("{" + entry("w", "F32", "[18446744073709551615]", 0, 8) + "}",
               patternBytes(8)),
      {"tensor 'w'", "18446744073709551615", "not a 64-bit integer"});
}

TEST(SafetensorsErrorTest, ShapeProductOverflow) {
  expectParseError(
      makeFile("{" + entry("w", "F32", "[4294967296,4294967296]", 0, 0) + "}"),
      {"model.safetensors", "tensor 'w'",
       "element count of shape [4294967296, 4294967296] overflows"});
  // Fits in int64 elements, overflows as F64 bytes.
  expectParseError(
      makeFile("{" + entry("w", "F64", "[4611686018427387904]", 0, 0) + "}"),
      {"tensor 'w'", "byte size of F64 [4611686018427387904] overflows"});
  // A zero dim makes the product zero, whatever the other dims.
  auto zero = parseBytes(makeFile(
      "{" + entry("w", "F32", "[4294967296,4294967296,0]", 0, 0) + "}"));
  EXPECT_TRUE(static_cast<bool>(zero)) << llvm::toString(zero.takeError());
}

TEST(SafetensorsErrorTest, BadDataOffsets) {
  std::string data = patternBytes(16);
  auto withOffsets = [&](StringRef offsets) {
    return makeFile(
        ("{\"w\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":" + offsets +
         "}}")
            .str(),
        data);
  };
  expectParseError(withOffsets("[0]"), {"tensor 'w'", "'data_offsets' is [0]",
                                        "not two non-negative integers"});
  expectParseError(withOffsets("[0,4,8]"), {"not two non-negative integers"});
  expectParseError(withOffsets("[-4,0]"),
                   {"'data_offsets' is [-4,0]", "non-negative"});
  expectParseError(withOffsets("[0,4.5]"), {"not two non-negative integers"});
  expectParseError(withOffsets("\"0,4\""), {"not two non-negative integers"});
  expectParseError(withOffsets("[8,4]"),
                   {"model.safetensors", "tensor 'w'", "data_offsets [8, 4]",
                    "begin after they end"});
}

TEST(SafetensorsErrorTest, EndBeyondDataSection) {
  expectParseError(
      makeFile("{" + entry("w", "U8", "[8]", 12, 20) + "}", patternBytes(16)),
      {"model.safetensors", "tensor 'w'", "data_offsets [12, 20]",
       "end beyond the 16-byte data section"});
  // An offset far beyond the file, with a matching size: no wrap-around.
  expectParseError(makeFile("{" +
                                entry("w", "U8", "[8]", 18446744073709551600u,
                                      18446744073709551608u) +
                                "}",
                            patternBytes(16)),
                   {"tensor 'w'", "end beyond the 16-byte data section"});
}

TEST(SafetensorsErrorTest, ByteSizeMismatch) {
  expectParseError(
      makeFile("{" + entry("bert.pooler.dense.weight", "F32", "[5,5]", 0, 96) +
                   "}",
               patternBytes(100)),
      {"model.safetensors: tensor 'bert.pooler.dense.weight': "
       "data_offsets [0, 96] hold 96 bytes but F32 [5, 5] needs "
       "100"});
}

TEST(SafetensorsErrorTest, OverlappingTensors) {
  std::string header = "{" + entry("a", "U8", "[10]", 0, 10) + "," +
                       entry("b", "U8", "[8]", 8, 16) + "}";
  expectParseError(makeFile(header, patternBytes(16)),
                   {"model.safetensors", "tensor 'b'", "data_offsets [8, 16]",
                    "overlap tensor 'a'", "[0, 10]"});
  // Containment far apart in the header, with a tensor in between.
  std::string contained = "{" + entry("big", "U8", "[16]", 0, 16) + "," +
                          entry("gap", "U8", "[0]", 3, 3) + "," +
                          entry("after", "U8", "[4]", 16, 20) + "," +
                          entry("inner", "U8", "[2]", 5, 7) + "}";
  expectParseError(makeFile(contained, patternBytes(20)),
                   {"tensor 'inner'", "overlap tensor 'big'"});
  // Identical ranges.
  std::string same = "{" + entry("x", "U8", "[4]", 0, 4) + "," +
                     entry("y", "U8", "[4]", 0, 4) + "}";
  expectParseError(makeFile(same, patternBytes(4)), {"overlap tensor"});
}

TEST(SafetensorsErrorTest, DuplicateNames) {
  std::string header = "{" + entry("w", "U8", "[1]", 0, 1) + "," +
                       entry("w", "U8", "[1]", 1, 2) + "}";
  expectParseError(makeFile(header, "ab"),
                   {"model.safetensors", "tensor 'w'", "more than once"});
  // The same key spelled with an escape.
  std::string escaped = "{" + entry("w", "U8", "[1]", 0, 1) + "," +
                        entry("\\u0077", "U8", "[1]", 1, 2) + "}";
  expectParseError(makeFile(escaped, "ab"), {"tensor 'w'", "more than once"});
  expectParseError(makeFile("{\"__metadata__\":{},\"__metadata__\":{}}"),
                   {"'__metadata__' appears more than once"});
  expectParseError(makeFile("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}"),
                   {"'__metadata__' key 'k' appears more than once"});
}

TEST(SafetensorsErrorTest, BadMetadata) {
  expectParseError(makeFile("{\"__metadata__\":[\"a\"]}"),
                   {"model.safetensors", "'__metadata__' is an array"});
  expectParseError(
      makeFile("{\"__metadata__\":{\"n\":3}}"),
      {"'__metadata__' value for key 'n' is a number", "not a string"});
}

//===----------------------------------------------------------------------===//
// Robustness
//===----------------------------------------------------------------------===//

/// Parses `contents`; if it parses, checks that every view lies in the
/// buffer and agrees with the header.
void parseAndCheckViews(StringRef contents) {
  auto file = parseBytes(contents);
  if (!file) {
    std::string message = llvm::toString(file.takeError());
    EXPECT_EQ(message.rfind("model.safetensors", 0), 0u) << message;
    return;
  }
  const SafetensorsFile &parsed = **file;
  ASSERT_EQ(parsed.getFileSize(), contents.size());
  ASSERT_LE(parsed.dataSectionOffset(), contents.size());
  for (const TensorInfo &info : parsed.tensors()) {
    ASSERT_LE(info.fileOffset, contents.size());
    ASSERT_LE(info.byteSize, contents.size() - info.fileOffset);
    ASSERT_EQ(info.bytes.size(), info.byteSize);
    ASSERT_EQ(info.fileOffset, parsed.dataSectionOffset() + info.dataOffset);
    ASSERT_EQ(info.byteSize, info.numElements * dtypeSize(info.dtype));
    ASSERT_EQ(info.data(), contents.substr(info.fileOffset, info.byteSize));
    ASSERT_EQ(parsed.lookup(info.name), &info);
  }
}

/// A valid file with metadata and a few tensors, as the writer makes it.
std::string sampleFile() {
  SafetensorsWriter writer;
  EXPECT_FALSE(llvm::errorToBool(writer.setMetadata("format", "pt")));
  EXPECT_FALSE(llvm::errorToBool(
      writer.addTensor("w", DType::F32, {2, 3}, asBytes(patternBytes(24)))));
  EXPECT_FALSE(llvm::errorToBool(
      writer.addTensor("b", DType::F16, {3}, asBytes(patternBytes(6)))));
  EXPECT_FALSE(llvm::errorToBool(
      writer.addTensor("s", DType::I64, {}, asBytes(patternBytes(8)))));
  std::string bytes;
  llvm::raw_string_ostream stream(bytes);
  writer.write(stream);
  return bytes;
}

TEST(SafetensorsFuzzTest, EveryTruncationFailsCleanly) {
  std::string file = sampleFile();
  ASSERT_TRUE(static_cast<bool>(parseBytes(file)));
  for (size_t length = 0; length < file.size(); ++length) {
    StringRef truncated = StringRef(file).substr(0, length);
    parseAndCheckViews(truncated);
    // Cutting into the data section leaves the last tensor short.
    EXPECT_FALSE(parseError(truncated).empty()) << "length " << length;
  }
}

TEST(SafetensorsFuzzTest, HeaderByteFlipsNeverCrash) {
  std::string file = sampleFile();
  auto parsed = parseBytes(file);
  ASSERT_TRUE(static_cast<bool>(parsed)) << llvm::toString(parsed.takeError());
  // The length field, the JSON and its padding.
  uint64_t headerEnd = (*parsed)->dataSectionOffset();
  const unsigned char replacements[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '"',
                                        '\\', '{',  '}',  '[',  ']',  ',',
                                        ':',  '-',  '0',  '9',  ' ',  'e'};
  for (size_t position = 0; position < headerEnd; ++position) {
    for (unsigned char replacement : replacements) {
      std::string mutated = file;
      mutated[position] = static_cast<char>(replacement);
      parseAndCheckViews(mutated);
    }
    for (unsigned bit = 0; bit < 8; ++bit) {
      std::string mutated = file;
      mutated[position] = static_cast<char>(mutated[position] ^ (1u << bit));
      parseAndCheckViews(mutated);
    }
  }
}

TEST(SafetensorsFuzzTest, RandomMutationsNeverCrash) {
  std::string file = sampleFile();
  std::mt19937_64 random(20240611);
  for (int round = 0; round < 20000; ++round) {
    std::string mutated = file;
    int edits = 1 + random() % 4;
    for (int edit = 0; edit < edits; ++edit) {
      size_t position = random() % mutated.size();
      switch (random() % 4) {
      case 0:
        mutated[position] = static_cast<char>(random());
        break;
      case 1:
        mutated.erase(position, 1 + random() % 8);
        break;
      case 2:
        mutated.insert(position, 1, "{}[],:\"0-"[random() % 9]);
        break;
      default:
        mutated.resize(position);
        break;
      }
      if (mutated.empty())
        break;
    }
    parseAndCheckViews(mutated);
    if (::testing::Test::HasFatalFailure())
      return;
  }
}

} // namespace
