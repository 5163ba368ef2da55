//===- Safetensors.cpp - safetensors reader and writer ----------*- C++ -*-===//
//
// The reader parses the header with llvm::json, which accepts duplicate keys
// (keeping the last) and forgets key order. A small scanner therefore walks
// the (already validated) header text once more to list the top-level keys
// and the `__metadata__` keys in order, so that duplicates are rejected and
// tensors keep the header's order.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/Safetensors/Safetensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <numeric>

using namespace kiln::safetensors;
using llvm::ArrayRef;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
using llvm::Twine;

namespace {

/// One row of the dtype table.
struct DTypeEntry {
  DType dtype;
  const char *name;
  uint64_t size;
};

/// Every dtype with its header spelling and element size.
constexpr DTypeEntry kDTypes[] = {
    {DType::F64, "F64", 8},        {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},        {DType::BF16, "BF16", 2},
    {DType::F8E4M3, "F8_E4M3", 1}, {DType::F8E5M2, "F8_E5M2", 1},
    {DType::I64, "I64", 8},        {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},        {DType::I8, "I8", 1},
    {DType::U64, "U64", 8},        {DType::U32, "U32", 4},
    {DType::U16, "U16", 2},        {DType::U8, "U8", 1},
    {DType::Bool, "BOOL", 1},
};

constexpr DType kAllDTypes[] = {
    DType::F64,    DType::F32, DType::F16, DType::BF16, DType::F8E4M3,
    DType::F8E5M2, DType::I64, DType::I32, DType::I16,  DType::I8,
    DType::U64,    DType::U32, DType::U16, DType::U8,   DType::Bool,
};

static_assert(std::size(kDTypes) == std::size(kAllDTypes),
              "kAllDTypes must list every row of kDTypes");

const DTypeEntry &dtypeEntry(DType dtype) {
  for (const DTypeEntry &entry : kDTypes)
    if (entry.dtype == dtype)
      return entry;
  // Every enumerator is in the table.
  llvm_unreachable("DType missing from kDTypes");
}

/// An error carrying `message`.
Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// `[2, 3, 4]`.
std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, ", ");
  os << "]";
  return text;
}

/// A JSON value's kind with its article, for "is a string, not ..." errors.
const char *describeKind(const llvm::json::Value &value) {
  switch (value.kind()) {
  case llvm::json::Value::Null:
    return "null";
  case llvm::json::Value::Boolean:
    return "a boolean";
  case llvm::json::Value::Number:
    return "a number";
  case llvm::json::Value::String:
    return "a string";
  case llvm::json::Value::Array:
    return "an array";
  case llvm::json::Value::Object:
    return "an object";
  }
  return "a value";
}

/// `value` as compact JSON, cut to a readable length.
std::string formatValue(const llvm::json::Value &value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << value;
  constexpr size_t kMaxLength = 60;
  if (text.size() > kMaxLength)
    text = text.substr(0, kMaxLength) + "...";
  return text;
}

/// One key of a JSON object with the text of its value.
struct ScannedMember {
  std::string key;
  StringRef valueText;
};

/// Walks the text of a JSON object that llvm::json has already accepted and
/// lists its members in order. Every access is bounds-checked; text that is
/// not a well-formed object yields std::nullopt.
class ObjectScanner {
public:
  explicit ObjectScanner(StringRef text) : text(text) {}

  std::optional<std::vector<ScannedMember>> scan() {
    std::vector<ScannedMember> members;
    skipSpace();
    if (!consume('{'))
      return std::nullopt;
    skipSpace();
    if (consume('}'))
      return members;
    while (true) {
      skipSpace();
      size_t keyBegin = pos;
      if (!skipString())
        return std::nullopt;
      // Let llvm::json decode the escapes in the key.
      Expected<llvm::json::Value> key =
          llvm::json::parse(text.slice(keyBegin, pos));
      if (!key) {
        llvm::consumeError(key.takeError());
        return std::nullopt;
      }
      std::optional<StringRef> keyString = key->getAsString();
      if (!keyString)
        return std::nullopt;
      skipSpace();
      if (!consume(':'))
        return std::nullopt;
      skipSpace();
      size_t valueBegin = pos;
      if (!skipValue())
        return std::nullopt;
      members.push_back({keyString->str(), text.slice(valueBegin, pos)});
      skipSpace();
      if (consume(','))
        continue;
      if (consume('}'))
        return members;
      return std::nullopt;
    }
  }

private:
  bool atEnd() const { return pos >= text.size(); }

  void skipSpace() {
    while (!atEnd() && (text[pos] == ' ' || text[pos] == '\t' ||
                        text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }

  bool consume(char c) {
    if (atEnd() || text[pos] != c)
      return false;
    ++pos;
    return true;
  }

  /// Skips a string token, escapes included.
  bool skipString() {
    if (!consume('"'))
      return false;
    while (!atEnd()) {
      char c = text[pos++];
      if (c == '"')
        return true;
      if (c == '\\') {
        if (atEnd())
          return false;
        ++pos;
      }
    }
    return false;
  }

  /// Skips one value of any kind, nested arrays and objects included.
  bool skipValue() {
    if (atEnd())
      return false;
    if (text[pos] == '"')
      return skipString();
    if (text[pos] == '{' || text[pos] == '[') {
      size_t depth = 0;
      while (!atEnd()) {
        char c = text[pos];
        if (c == '"') {
          if (!skipString())
            return false;
          continue;
        }
        ++pos;
        if (c == '{' || c == '[') {
          ++depth;
        } else if (c == '}' || c == ']') {
          if (--depth == 0)
            return true;
        }
      }
      return false;
    }
    // A number, true, false or null: runs to the next delimiter.
    size_t begin = pos;
    while (!atEnd() && !StringRef(",}] \t\n\r").contains(text[pos]))
      ++pos;
    return pos > begin;
  }

  StringRef text;
  size_t pos = 0;
};

/// Key of the metadata entry in a header.
constexpr StringRef kMetadataKey = "__metadata__";

/// Reads one header entry into `info`; `prefix` is "path: tensor 'name'".
Error parseTensorEntry(const llvm::json::Value &value, const Twine &prefix,
                       TensorInfo &info) {
  const llvm::json::Object *entry = value.getAsObject();
  if (!entry)
    return makeError(prefix + ": header entry is " + describeKind(value) +
                     ", not an object");

  // dtype.
  const llvm::json::Value *dtypeValue = entry->get("dtype");
  if (!dtypeValue)
    return makeError(prefix + ": header entry lacks 'dtype'");
  std::optional<StringRef> dtypeString = dtypeValue->getAsString();
  if (!dtypeString)
    return makeError(prefix + ": 'dtype' is " + describeKind(*dtypeValue) +
                     " (" + formatValue(*dtypeValue) + "), not a string");
  std::optional<DType> dtype = parseDType(*dtypeString);
  if (!dtype)
    return makeError(prefix + ": unknown dtype '" + *dtypeString + "'");
  info.dtype = *dtype;

  // shape.
  const llvm::json::Value *shapeValue = entry->get("shape");
  if (!shapeValue)
    return makeError(prefix + ": header entry lacks 'shape'");
  const llvm::json::Array *shapeArray = shapeValue->getAsArray();
  if (!shapeArray)
    return makeError(prefix + ": 'shape' is " + describeKind(*shapeValue) +
                     " (" + formatValue(*shapeValue) +
                     "), not an array of integers");
  for (auto [index, dimValue] : llvm::enumerate(*shapeArray)) {
    std::optional<int64_t> dim;
    // getAsInteger() also takes 3.0; only true integers are accepted, but a
    // negative integer is let through to get the more precise error below.
    if (std::optional<uint64_t> unsignedDim = dimValue.getAsUINT64()) {
      if (*unsignedDim <= uint64_t(std::numeric_limits<int64_t>::max()))
        dim = static_cast<int64_t>(*unsignedDim);
    } else if (std::optional<int64_t> signedDim = dimValue.getAsInteger();
               signedDim && *signedDim < 0) {
      dim = signedDim;
    }
    if (!dim)
      return makeError(prefix + ": 'shape' dim " + Twine(index) + " is " +
                       formatValue(dimValue) + ", not a 64-bit integer");
    info.shape.push_back(*dim);
  }
  for (auto [index, dim] : llvm::enumerate(info.shape)) {
    if (dim < 0)
      return makeError(prefix + ": shape " + formatShape(info.shape) +
                       " has negative dim " + Twine(dim) + " at index " +
                       Twine(index));
  }
  int64_t numElements = 1;
  if (!llvm::is_contained(info.shape, 0)) {
    for (int64_t dim : info.shape)
      if (llvm::MulOverflow(numElements, dim, numElements))
        return makeError(prefix + ": the element count of shape " +
                         formatShape(info.shape) + " overflows 64 bits");
  } else {
    numElements = 0;
  }
  info.numElements = static_cast<uint64_t>(numElements);
  uint64_t expectedBytes = 0;
  if (__builtin_mul_overflow(info.numElements, dtypeSize(info.dtype),
                             &expectedBytes))
    return makeError(prefix + ": the byte size of " + dtypeName(info.dtype) +
                     " " + formatShape(info.shape) + " overflows 64 bits");

  // data_offsets.
  const llvm::json::Value *offsetsValue = entry->get("data_offsets");
  if (!offsetsValue)
    return makeError(prefix + ": header entry lacks 'data_offsets'");
  const llvm::json::Array *offsetsArray = offsetsValue->getAsArray();
  std::optional<uint64_t> begin, end;
  if (offsetsArray && offsetsArray->size() == 2) {
    begin = (*offsetsArray)[0].getAsUINT64();
    end = (*offsetsArray)[1].getAsUINT64();
  }
  if (!begin || !end)
    return makeError(prefix + ": 'data_offsets' is " +
                     formatValue(*offsetsValue) +
                     ", not two non-negative integers");
  if (*begin > *end)
    return makeError(prefix + ": data_offsets [" + Twine(*begin) + ", " +
                     Twine(*end) + "] begin after they end");
  info.dataOffset = *begin;
  info.byteSize = *end - *begin;
  if (info.byteSize != expectedBytes) {
    return makeError(prefix + ": data_offsets [" + Twine(*begin) + ", " +
                     Twine(*end) + "] hold " + Twine(info.byteSize) +
                     " bytes but " + dtypeName(info.dtype) + " " +
                     formatShape(info.shape) + " needs " +
                     Twine(expectedBytes));
  }
  return Error::success();
}

/// Reads the `__metadata__` entry; `prefix` is the file name.
Error parseMetadata(const llvm::json::Value &value, StringRef valueText,
                    const Twine &prefix,
                    std::vector<std::pair<std::string, std::string>> &out) {
  const llvm::json::Object *object = value.getAsObject();
  if (!object)
    return makeError(prefix + ": '__metadata__' is " + describeKind(value) +
                     ", not an object of strings");
  std::optional<std::vector<ScannedMember>> members =
      ObjectScanner(valueText).scan();
  if (!members)
    return makeError(prefix + ": cannot list the keys of '__metadata__'");
  llvm::StringSet<> seen;
  for (const ScannedMember &member : *members) {
    if (!seen.insert(member.key).second)
      return makeError(prefix + ": '__metadata__' key '" + member.key +
                       "' appears more than once");
    const llvm::json::Value *memberValue = object->get(member.key);
    std::optional<StringRef> string =
        memberValue ? memberValue->getAsString() : std::nullopt;
    if (!string) {
      return makeError(prefix + ": '__metadata__' value for key '" +
                       member.key + "' is " +
                       (memberValue ? describeKind(*memberValue) : "missing") +
                       ", not a string");
    }
    out.emplace_back(member.key, string->str());
  }
  return Error::success();
}

/// Writes `count` zero bytes.
void writeZeros(llvm::raw_ostream &os, uint64_t count) {
  static const char kZeros[256] = {};
  while (count > 0) {
    uint64_t chunk = std::min<uint64_t>(count, sizeof(kZeros));
    os.write(kZeros, chunk);
    count -= chunk;
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// DType and hashing
//===----------------------------------------------------------------------===//

ArrayRef<DType> kiln::safetensors::allDTypes() { return kAllDTypes; }

StringRef kiln::safetensors::dtypeName(DType dtype) {
  return dtypeEntry(dtype).name;
}

uint64_t kiln::safetensors::dtypeSize(DType dtype) {
  return dtypeEntry(dtype).size;
}

std::optional<DType> kiln::safetensors::parseDType(StringRef name) {
  for (const DTypeEntry &entry : kDTypes)
    if (name == entry.name)
      return entry.dtype;
  return std::nullopt;
}

uint64_t kiln::safetensors::fnv1a64(ArrayRef<uint8_t> bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (uint8_t byte : bytes) {
    hash ^= byte;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

uint64_t kiln::safetensors::fnv1a64(StringRef bytes) {
  return fnv1a64(llvm::arrayRefFromStringRef(bytes));
}

namespace {
/// dataChecksum64 fed in pieces, which need not end on word boundaries.
class DataChecksum {
public:
  void update(ArrayRef<uint8_t> bytes) {
    for (uint8_t byte : bytes) {
      word |= uint64_t(byte) << (8 * filled);
      if (++filled == 8)
        flush();
    }
  }
  void updateZeros(uint64_t count) {
    for (; count > 0 && filled != 0; --count)
      updateByte(0);
    // Whole zero words, then the rest.
    for (; count >= 8; count -= 8)
      flush();
    for (; count > 0; --count)
      updateByte(0);
  }
  uint64_t finish() {
    if (filled)
      flush();
    return hash;
  }

private:
  void updateByte(uint8_t byte) { update(ArrayRef<uint8_t>(&byte, 1)); }
  void flush() {
    hash = (hash ^ word) * 0x100000001b3ull;
    word = 0;
    filled = 0;
  }
  uint64_t hash = 0xcbf29ce484222325ull;
  uint64_t word = 0;
  unsigned filled = 0;
};
} // namespace

uint64_t kiln::safetensors::dataChecksum64(ArrayRef<uint8_t> bytes) {
  DataChecksum checksum;
  checksum.update(bytes);
  return checksum.finish();
}

//===----------------------------------------------------------------------===//
// SafetensorsFile
//===----------------------------------------------------------------------===//

Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::open(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError(path + ": cannot open: " + buffer.getError().message());
  return fromBuffer(std::move(*buffer));
}

Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile(std::move(buffer)));
  if (Error error = file->parse())
    return std::move(error);
  return std::move(file);
}

Error SafetensorsFile::parse() {
  StringRef path = getPath();
  StringRef contents = buffer->getBuffer();
  uint64_t fileSize = contents.size();
  if (fileSize < 8)
    return makeError(path + ": file is " + Twine(fileSize) +
                     " bytes, too small for the 8-byte safetensors header "
                     "length");
  uint64_t length = llvm::support::endian::read64le(contents.data());
  if (length > kMaxHeaderSize)
    return makeError(path + ": header length " + Twine(length) +
                     " exceeds the safetensors limit of " +
                     Twine(kMaxHeaderSize) + " bytes");
  if (length > fileSize - 8) {
    return makeError(path + ": header length " + Twine(length) +
                     " exceeds the " + Twine(fileSize - 8) +
                     " bytes after the length field (" + Twine(fileSize) +
                     "-byte file)");
  }
  headerLength = length;
  uint64_t dataBegin = 8 + length;
  uint64_t dataSize = fileSize - dataBegin;

  StringRef headerText = header();
  Expected<llvm::json::Value> root = llvm::json::parse(headerText);
  if (!root)
    return makeError(path + ": header is not valid JSON: " +
                     llvm::toString(root.takeError()));
  const llvm::json::Object *object = root->getAsObject();
  if (!object)
    return makeError(path + ": header is " + describeKind(*root) +
                     ", not a JSON object");
  std::optional<std::vector<ScannedMember>> members =
      ObjectScanner(headerText).scan();
  if (!members)
    return makeError(path + ": cannot list the keys of the header");

  bool seenMetadata = false;
  for (const ScannedMember &member : *members) {
    const llvm::json::Value *value = object->get(member.key);
    if (!value)
      return makeError(path + ": cannot find header key '" + member.key + "'");
    if (member.key == kMetadataKey) {
      if (seenMetadata)
        return makeError(path +
                         ": '__metadata__' appears more than once in the "
                         "header");
      seenMetadata = true;
      if (Error error =
              parseMetadata(*value, member.valueText, path, metadataList))
        return error;
      continue;
    }
    std::string prefix = (path + ": tensor '" + member.key + "'").str();
    if (tensorIndex.count(member.key))
      return makeError(prefix + ": appears more than once in the header");
    TensorInfo info;
    info.name = member.key;
    if (Error error = parseTensorEntry(*value, prefix, info))
      return error;
    uint64_t end = info.dataOffset + info.byteSize;
    if (info.dataOffset > dataSize ||
        info.byteSize > dataSize - info.dataOffset) {
      return makeError(prefix + ": data_offsets [" + Twine(info.dataOffset) +
                       ", " + Twine(end) + "] end beyond the " +
                       Twine(dataSize) + "-byte data section (file offset " +
                       Twine(dataBegin) + ", file size " + Twine(fileSize) +
                       ")");
    }
    info.fileOffset = dataBegin + info.dataOffset;
    info.bytes = ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(contents.data()) + info.fileOffset,
        info.byteSize);
    tensorIndex[info.name] = tensorList.size();
    tensorList.push_back(std::move(info));
  }

  // Overlaps: sort the non-empty tensors by offset; each must start at or
  // after the furthest end before it.
  std::vector<size_t> order;
  for (auto [index, info] : llvm::enumerate(tensorList))
    if (info.byteSize > 0)
      order.push_back(index);
  llvm::sort(order, [&](size_t lhs, size_t rhs) {
    const TensorInfo &a = tensorList[lhs], &b = tensorList[rhs];
    return std::make_pair(a.dataOffset, a.byteSize) <
           std::make_pair(b.dataOffset, b.byteSize);
  });
  std::optional<size_t> furthest;
  for (size_t index : order) {
    const TensorInfo &info = tensorList[index];
    if (furthest) {
      const TensorInfo &other = tensorList[*furthest];
      uint64_t otherEnd = other.dataOffset + other.byteSize;
      if (info.dataOffset < otherEnd) {
        return makeError(path + ": tensor '" + info.name + "': data_offsets [" +
                         Twine(info.dataOffset) + ", " +
                         Twine(info.dataOffset + info.byteSize) +
                         "] overlap tensor '" + other.name +
                         "' at data_offsets [" + Twine(other.dataOffset) +
                         ", " + Twine(otherEnd) + "]");
      }
      if (info.dataOffset + info.byteSize <= otherEnd)
        continue;
    }
    furthest = index;
  }
  return Error::success();
}

const TensorInfo *SafetensorsFile::lookup(StringRef name) const {
  auto it = tensorIndex.find(name);
  if (it == tensorIndex.end())
    return nullptr;
  return &tensorList[it->second];
}

std::optional<StringRef> SafetensorsFile::lookupMetadata(StringRef key) const {
  for (const auto &[entryKey, value] : metadataList)
    if (entryKey == key)
      return StringRef(value);
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// SafetensorsWriter
//===----------------------------------------------------------------------===//

Error SafetensorsWriter::addTensor(StringRef name, DType dtype,
                                   ArrayRef<int64_t> shape,
                                   ArrayRef<uint8_t> bytes) {
  return add(name, dtype, shape, bytes, /*copy=*/true);
}

Error SafetensorsWriter::addTensorRef(StringRef name, DType dtype,
                                      ArrayRef<int64_t> shape,
                                      ArrayRef<uint8_t> bytes) {
  return add(name, dtype, shape, bytes, /*copy=*/false);
}

Error SafetensorsWriter::add(StringRef name, DType dtype,
                             ArrayRef<int64_t> shape, ArrayRef<uint8_t> bytes,
                             bool copy) {
  if (name.empty())
    return makeError("safetensors writer: tensor name is empty");
  if (!llvm::json::isUTF8(name))
    return makeError("safetensors writer: tensor name '" + name +
                     "' is not valid UTF-8");
  std::string prefix = ("safetensors writer: tensor '" + name + "'").str();
  if (name == kMetadataKey)
    return makeError(prefix + ": the name is reserved for metadata");
  if (entryIndex.count(name))
    return makeError(prefix + ": added twice");
  uint64_t expectedBytes = dtypeSize(dtype);
  for (auto [index, dim] : llvm::enumerate(shape)) {
    if (dim < 0)
      return makeError(prefix + ": shape " + formatShape(shape) +
                       " has negative dim " + Twine(dim) + " at index " +
                       Twine(index));
  }
  if (llvm::is_contained(shape, 0))
    expectedBytes = 0;
  for (int64_t dim : shape) {
    if (__builtin_mul_overflow(expectedBytes, static_cast<uint64_t>(dim),
                               &expectedBytes))
      return makeError(prefix + ": the byte size of " + dtypeName(dtype) + " " +
                       formatShape(shape) + " overflows 64 bits");
  }
  if (bytes.size() != expectedBytes)
    return makeError(prefix + ": " + Twine(bytes.size()) + " bytes given but " +
                     dtypeName(dtype) + " " + formatShape(shape) + " needs " +
                     Twine(expectedBytes));

  Entry entry;
  entry.name = name.str();
  entry.dtype = dtype;
  entry.shape.assign(shape.begin(), shape.end());
  if (copy)
    entry.owned.assign(bytes.begin(), bytes.end());
  else
    entry.borrowed = bytes;
  entryIndex[name] = entries.size();
  entries.push_back(std::move(entry));
  cachedLayout.reset();
  return Error::success();
}

Error SafetensorsWriter::setMetadata(StringRef key, StringRef value) {
  if (!llvm::json::isUTF8(key))
    return makeError("safetensors writer: metadata key '" + key +
                     "' is not valid UTF-8");
  if (!llvm::json::isUTF8(value))
    return makeError("safetensors writer: metadata value for key '" + key +
                     "' is not valid UTF-8");
  cachedLayout.reset();
  for (auto &[entryKey, entryValue] : metadataList) {
    if (entryKey == key) {
      entryValue = value.str();
      return Error::success();
    }
  }
  metadataList.emplace_back(key.str(), value.str());
  return Error::success();
}

const SafetensorsLayout &SafetensorsWriter::getLayout() const {
  if (cachedLayout)
    return *cachedLayout;
  SafetensorsLayout layout;
  uint64_t cursor = 0;
  for (const Entry &entry : entries) {
    uint64_t offset = llvm::alignTo(cursor, kWriterAlignment);
    layout.tensorOffsets.push_back(offset);
    cursor = offset + entry.bytes().size();
  }

  llvm::raw_string_ostream os(layout.header);
  llvm::json::OStream json(os);
  json.object([&] {
    if (!metadataList.empty()) {
      json.attributeObject(kMetadataKey, [&] {
        for (const auto &[key, value] : metadataList)
          json.attribute(key, value);
      });
    }
    for (size_t index = 0; index < entries.size(); ++index) {
      const Entry &entry = entries[index];
      uint64_t offset = layout.tensorOffsets[index];
      json.attributeObject(entry.name, [&] {
        json.attribute("dtype", dtypeName(entry.dtype));
        json.attributeArray("shape", [&] {
          for (int64_t dim : entry.shape)
            json.value(dim);
        });
        json.attributeArray("data_offsets", [&] {
          json.value(offset);
          json.value(offset + entry.bytes().size());
        });
      });
    }
  });
  uint64_t unpadded = 8 + layout.header.size();
  layout.header.append(llvm::alignTo(unpadded, kWriterAlignment) - unpadded,
                       ' ');
  layout.dataSectionOffset = 8 + layout.header.size();
  layout.fileSize = layout.dataSectionOffset + cursor;
  layout.headerHash = fnv1a64(StringRef(layout.header));
  cachedLayout = std::move(layout);
  return *cachedLayout;
}

std::optional<uint64_t> SafetensorsWriter::tensorOffset(StringRef name) const {
  auto it = entryIndex.find(name);
  if (it == entryIndex.end())
    return std::nullopt;
  return getLayout().tensorOffsets[it->second];
}

void SafetensorsWriter::write(llvm::raw_ostream &os) const {
  const SafetensorsLayout &layout = getLayout();
  char length[8];
  llvm::support::endian::write64le(length, layout.header.size());
  os.write(length, sizeof(length));
  os << layout.header;
  uint64_t cursor = 0;
  for (auto [entry, offset] : llvm::zip_equal(entries, layout.tensorOffsets)) {
    writeZeros(os, offset - cursor);
    ArrayRef<uint8_t> bytes = entry.bytes();
    os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
    cursor = offset + bytes.size();
  }
}

uint64_t SafetensorsWriter::dataChecksum() const {
  const SafetensorsLayout &layout = getLayout();
  DataChecksum checksum;
  uint64_t cursor = 0;
  for (auto [entry, offset] : llvm::zip_equal(entries, layout.tensorOffsets)) {
    checksum.updateZeros(offset - cursor);
    checksum.update(entry.bytes());
    cursor = offset + entry.bytes().size();
  }
  return checksum.finish();
}

Error SafetensorsWriter::write(StringRef path) const {
  Expected<llvm::sys::fs::TempFile> temp =
      llvm::sys::fs::TempFile::create(path + ".tmp%%%%%%");
  if (!temp)
    return makeError(path + ": cannot create a temporary file: " +
                     llvm::toString(temp.takeError()));
  std::error_code writeError;
  {
    llvm::raw_fd_ostream os(temp->FD, /*shouldClose=*/false);
    write(os);
    os.flush();
    if (os.has_error()) {
      writeError = os.error();
      os.clear_error();
    }
  }
  if (writeError) {
    std::string tempName = temp->TmpName;
    if (Error discardError = temp->discard())
      llvm::consumeError(std::move(discardError));
    return makeError(path + ": cannot write " + tempName + ": " +
                     writeError.message());
  }
  std::string tempName = temp->TmpName;
  if (Error keepError = temp->keep(path))
    return makeError(path + ": cannot rename " + tempName +
                     " to it: " + llvm::toString(std::move(keepError)));
  return Error::success();
}

float kiln::safetensors::halfToFloat(uint16_t half) {
  uint32_t sign = uint32_t(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1fu, mantissa = half & 0x3ffu;
  uint32_t bits = sign;
  if (exponent == 0x1f) {
    bits |= 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits |= ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa != 0) {
    // Subnormal: shift the leading one into the implicit bit.
    uint32_t shift = 0;
    while (!(mantissa & 0x400u)) {
      mantissa <<= 1;
      ++shift;
    }
    bits |= ((113 - shift) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

float kiln::safetensors::bf16ToFloat(uint16_t half) {
  uint32_t bits = uint32_t(half) << 16;
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

bool kiln::safetensors::isWidenableToF32(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

std::optional<std::vector<float>>
kiln::safetensors::readAsF32(const TensorInfo &tensor) {
  if (!isWidenableToF32(tensor.dtype))
    return std::nullopt;
  std::vector<float> values(tensor.numElements);
  if (tensor.dtype == DType::F32) {
    if (!values.empty())
      std::memcpy(values.data(), tensor.bytes.data(),
                  values.size() * sizeof(float));
    return values;
  }
  float (*widen)(uint16_t) =
      tensor.dtype == DType::BF16 ? bf16ToFloat : halfToFloat;
  for (uint64_t i = 0; i < tensor.numElements; ++i) {
    uint16_t half;
    std::memcpy(&half, &tensor.bytes[2 * i], sizeof(half));
    values[i] = widen(half);
  }
  return values;
}
