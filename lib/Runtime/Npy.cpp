//===- Npy.cpp - .npy reader and writer -----------------------------------===//
//
// The header is a Python dict literal; numpy only ever writes the three keys
// 'descr', 'fortran_order' and 'shape', so a small hand parser for exactly
// that grammar is enough and keeps the runtime free of dependencies.
//
//===----------------------------------------------------------------------===//

#include "kiln/Runtime/Npy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

using namespace kiln::runtime;

namespace {
const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
/// numpy aligns the start of the data to this many bytes.
constexpr size_t kHeaderAlignment = 64;

struct DtypeEntry {
  kiln_dtype dtype;
  const char *descr;
};

const DtypeEntry kDtypes[] = {
    {KILN_DTYPE_F32, "<f4"},  {KILN_DTYPE_F16, "<f2"}, {KILN_DTYPE_I8, "|i1"},
    {KILN_DTYPE_I32, "<i4"},  {KILN_DTYPE_I64, "<i8"}, {KILN_DTYPE_U8, "|u1"},
    {KILN_DTYPE_BOOL, "|b1"},
};

/// Maps a numpy descr to a dtype. Single-byte types may carry any byte-order
/// mark; wider ones must be little-endian ('<', or '=' on this host).
bool parseDescr(const std::string &descr, kiln_dtype &dtype,
                std::string &error) {
  if (descr.size() == 3) {
    char order = descr[0];
    std::string kind = descr.substr(1);
    for (const DtypeEntry &entry : kDtypes) {
      if (kind != entry.descr + 1)
        continue;
      bool oneByte = entry.descr[0] == '|';
      if (order == '>' && !oneByte) {
        error = "dtype '" + descr +
                "' is big-endian; only little-endian arrays are supported "
                "(use arr.astype(arr.dtype.newbyteorder('<')))";
        return false;
      }
      if (order == '<' || order == '=' || (oneByte && order == '|') ||
          (oneByte && order == '>')) {
        dtype = entry.dtype;
        return true;
      }
    }
  }
  error = "unsupported dtype '" + descr +
          "'; supported: <f4 <f2 |i1 <i4 <i8 |u1 |b1 (bf16 has no numpy "
          "dtype: store it as <f4)";
  return false;
}

/// A cursor over the header dict.
class HeaderParser {
public:
  HeaderParser(const char *begin, const char *end) : pos(begin), end(end) {}

  bool parse(std::string &descr, bool &fortranOrder,
             std::vector<int64_t> &shape, std::string &error) {
    bool sawDescr = false, sawOrder = false, sawShape = false;
    skipSpace();
    if (!consume('{'))
      return fail("header does not start with '{'", error);
    while (true) {
      skipSpace();
      if (consume('}'))
        break;
      std::string key;
      if (!parseString(key, error))
        return false;
      skipSpace();
      if (!consume(':'))
        return fail("expected ':' after key '" + key + "'", error);
      skipSpace();
      if (key == "descr") {
        if (pos < end && *pos == '[')
          return fail("structured dtypes are not supported", error);
        if (!parseString(descr, error))
          return false;
        sawDescr = true;
      } else if (key == "fortran_order") {
        if (!parseBool(fortranOrder, error))
          return false;
        sawOrder = true;
      } else if (key == "shape") {
        if (!parseShape(shape, error))
          return false;
        sawShape = true;
      } else {
        return fail("unexpected header key '" + key + "'", error);
      }
      skipSpace();
      if (consume('}'))
        break;
      if (!consume(','))
        return fail("expected ',' or '}' in header dict", error);
    }
    if (!sawDescr || !sawOrder || !sawShape)
      return fail("header lacks one of 'descr', 'fortran_order', 'shape'",
                  error);
    return true;
  }

private:
  static bool fail(const std::string &message, std::string &error) {
    error = "malformed header: " + message;
    return false;
  }

  void skipSpace() {
    while (pos < end &&
           (*pos == ' ' || *pos == '\t' || *pos == '\n' || *pos == '\r'))
      ++pos;
  }

  bool consume(char c) {
    if (pos < end && *pos == c) {
      ++pos;
      return true;
    }
    return false;
  }

  bool parseString(std::string &value, std::string &error) {
    if (pos >= end || (*pos != '\'' && *pos != '"'))
      return fail("expected a quoted string", error);
    char quote = *pos++;
    const char *start = pos;
    while (pos < end && *pos != quote)
      ++pos;
    if (pos >= end)
      return fail("unterminated string", error);
    value.assign(start, pos);
    ++pos;
    return true;
  }

  bool parseBool(bool &value, std::string &error) {
    size_t left = static_cast<size_t>(end - pos);
    if (left >= 4 && std::strncmp(pos, "True", 4) == 0) {
      pos += 4;
      value = true;
      return true;
    }
    if (left >= 5 && std::strncmp(pos, "False", 5) == 0) {
      pos += 5;
      value = false;
      return true;
    }
    return fail("'fortran_order' must be True or False", error);
  }

  bool parseShape(std::vector<int64_t> &shape, std::string &error) {
    shape.clear();
    if (!consume('('))
      return fail("'shape' must be a tuple", error);
    while (true) {
      skipSpace();
      if (consume(')'))
        return true;
      if (pos >= end || *pos < '0' || *pos > '9')
        return fail("'shape' holds something other than a non-negative "
                    "integer",
                    error);
      int64_t dim = 0;
      while (pos < end && *pos >= '0' && *pos <= '9') {
        int digit = *pos++ - '0';
        if (dim > (INT64_MAX - digit) / 10)
          return fail("a 'shape' entry overflows 64 bits", error);
        dim = dim * 10 + digit;
      }
      // numpy writes a trailing 'L' on Python 2 longs.
      consume('L');
      shape.push_back(dim);
      skipSpace();
      if (consume(')'))
        return true;
      if (!consume(','))
        return fail("expected ',' or ')' in 'shape'", error);
    }
  }

  const char *pos;
  const char *end;
};

uint32_t readLittleEndian(const unsigned char *bytes, int size) {
  uint32_t value = 0;
  for (int i = size - 1; i >= 0; --i)
    value = (value << 8) | bytes[i];
  return value;
}
} // namespace

int64_t NpyArray::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

const char *kiln::runtime::npyDescr(kiln_dtype dtype) {
  for (const DtypeEntry &entry : kDtypes)
    if (entry.dtype == dtype)
      return entry.descr;
  return nullptr;
}

bool kiln::runtime::parseNpy(const void *data, size_t size, NpyArray &array,
                             std::string &error) {
  const unsigned char *bytes = static_cast<const unsigned char *>(data);
  if (size < kMagicSize + 2 || std::memcmp(bytes, kMagic, kMagicSize) != 0) {
    error = "not a .npy file (bad magic; expected \\x93NUMPY)";
    return false;
  }
  unsigned major = bytes[6], minor = bytes[7];
  size_t lengthSize;
  if (major == 1)
    lengthSize = 2;
  else if (major == 2 || major == 3)
    lengthSize = 4;
  else {
    error = "unsupported .npy version " + std::to_string(major) + "." +
            std::to_string(minor) + "; supported: 1.0, 2.0, 3.0";
    return false;
  }
  size_t prefix = kMagicSize + 2 + lengthSize;
  if (size < prefix) {
    error = "truncated: file ends inside the header length";
    return false;
  }
  size_t headerSize = readLittleEndian(bytes + 8, static_cast<int>(lengthSize));
  if (headerSize > size - prefix) {
    error = "truncated: header claims " + std::to_string(headerSize) +
            " bytes but only " + std::to_string(size - prefix) + " follow";
    return false;
  }
  const char *header = reinterpret_cast<const char *>(bytes + prefix);
  std::string descr;
  bool fortranOrder = false;
  NpyArray result;
  if (!HeaderParser(header, header + headerSize)
           .parse(descr, fortranOrder, result.shape, error))
    return false;
  if (!parseDescr(descr, result.dtype, error))
    return false;
  // A 1-D or scalar array is the same in both orders; numpy still writes
  // True for some of them.
  if (fortranOrder && result.shape.size() > 1) {
    error = "fortran_order arrays are not supported; save a C-order copy "
            "(np.ascontiguousarray)";
    return false;
  }
  uint64_t expected = kiln_dtype_size(result.dtype);
  for (int64_t dim : result.shape) {
    if (dim != 0 && expected > UINT64_MAX / static_cast<uint64_t>(dim)) {
      error = "shape is too large";
      return false;
    }
    expected *= static_cast<uint64_t>(dim);
  }
  size_t available = size - prefix - headerSize;
  if (expected > available) {
    error = "truncated: shape and dtype need " + std::to_string(expected) +
            " bytes of data but only " + std::to_string(available) +
            " are present";
    return false;
  }
  if (expected < available) {
    error = std::to_string(available - expected) +
            " unexpected bytes after the array data";
    return false;
  }
  const unsigned char *payload = bytes + prefix + headerSize;
  result.data.assign(payload, payload + expected);
  array = std::move(result);
  return true;
}

bool kiln::runtime::readNpy(const std::string &path, NpyArray &array,
                            std::string &error) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::vector<unsigned char> bytes;
  unsigned char chunk[1 << 16];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof(chunk), file)) > 0)
    bytes.insert(bytes.end(), chunk, chunk + got);
  bool readFailed = std::ferror(file);
  std::fclose(file);
  if (readFailed) {
    error = "cannot read '" + path + "'";
    return false;
  }
  if (!parseNpy(bytes.data(), bytes.size(), array, error)) {
    error = "'" + path + "': " + error;
    return false;
  }
  return true;
}

bool kiln::runtime::serializeNpy(kiln_dtype dtype, const int64_t *shape,
                                 int32_t rank, const void *data,
                                 std::string &out, std::string &error) {
  const char *descr = npyDescr(dtype);
  if (!descr) {
    error = dtype == KILN_DTYPE_BF16
                ? "bf16 has no numpy dtype; convert to f32 before saving"
                : "unknown dtype " + std::to_string(dtype);
    return false;
  }
  if (rank < 0 || (rank > 0 && !shape)) {
    error = "invalid rank or null shape";
    return false;
  }
  uint64_t bytes = kiln_dtype_size(dtype);
  std::string dict = "{'descr': '" + std::string(descr) +
                     "', 'fortran_order': False, 'shape': (";
  for (int32_t d = 0; d < rank; ++d) {
    if (shape[d] < 0) {
      error = "dim " + std::to_string(d) + " is negative";
      return false;
    }
    if (shape[d] != 0 && bytes > UINT64_MAX / static_cast<uint64_t>(shape[d])) {
      error = "shape is too large";
      return false;
    }
    bytes *= static_cast<uint64_t>(shape[d]);
    dict += std::to_string(shape[d]) + (rank == 1 ? ",)" : "");
    if (d + 1 < rank)
      dict += ", ";
  }
  if (rank != 1)
    dict += ")";
  dict += ", }";
  if (bytes > 0 && !data) {
    error = "null data";
    return false;
  }
  // Pad with spaces so the data starts on a 64-byte boundary; numpy relies
  // on the final newline.
  size_t unpadded = kMagicSize + 2 + 2 + dict.size() + 1;
  size_t padding =
      (kHeaderAlignment - unpadded % kHeaderAlignment) % kHeaderAlignment;
  size_t headerSize = dict.size() + padding + 1;
  if (headerSize > 0xffff) {
    error = "header too long for .npy version 1.0";
    return false;
  }
  out.assign(kMagic, kMagicSize);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(headerSize & 0xff);
  out += static_cast<char>(headerSize >> 8);
  out += dict;
  out.append(padding, ' ');
  out += '\n';
  out.append(static_cast<const char *>(data), static_cast<size_t>(bytes));
  return true;
}

bool kiln::runtime::writeNpy(const std::string &path, kiln_dtype dtype,
                             const int64_t *shape, int32_t rank,
                             const void *data, std::string &error) {
  std::string bytes;
  if (!serializeNpy(dtype, shape, rank, data, bytes, error)) {
    error = "cannot write '" + path + "': " + error;
    return false;
  }
  std::FILE *file = std::fopen(path.c_str(), "wb");
  if (!file) {
    error = "cannot create '" + path + "': " + std::strerror(errno);
    return false;
  }
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  ok = (std::fclose(file) == 0) && ok;
  if (!ok)
    error = "cannot write '" + path + "': " + std::strerror(errno);
  return ok;
}

bool kiln::runtime::writeNpy(const std::string &path, const NpyArray &array,
                             std::string &error) {
  return writeNpy(path, array.dtype, array.shape.data(),
                  static_cast<int32_t>(array.shape.size()), array.data.data(),
                  error);
}
