//===- WeightsFile.cpp - mmapped safetensors weights of a model -----------===//
//
//===----------------------------------------------------------------------===//

#include "WeightsFile.h"
#include "Support.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cinttypes>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kiln::runtime;

namespace {
/// safetensors itself refuses headers above 100 MB; anything larger means
/// the length field is garbage.
constexpr uint64_t kMaxHeaderSize = 100ull * 1000 * 1000;

/// Closes a file descriptor on every return path.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Bytes per element of an ABI dtype, 0 for an unknown dtype.
uint64_t abiDtypeSize(int32_t dtype) {
  if (dtype < KILN_ABI_DTYPE_F32 || dtype > KILN_ABI_DTYPE_BOOL)
    return 0;
  return kiln_dtype_size(static_cast<kiln_dtype>(dtype));
}

/// Checks one weight descriptor against a data section of `dataSize` bytes.
kiln_status checkWeight(const std::string &path,
                        const kiln_abi_weight_desc &weight, uint32_t index,
                        uint64_t dataFileOffset, uint64_t dataSize,
                        std::string &error) {
  const char *name = weight.name ? weight.name : "<unnamed>";
  uint64_t elementSize = abiDtypeSize(weight.dtype);
  if (elementSize == 0) {
    error =
        formatString("model descriptor: weight %u ('%s') has unknown dtype %d",
                     index, name, weight.dtype);
    return KILN_ERROR_CORRUPT;
  }
  if (weight.rank < 0 || (weight.rank > 0 && !weight.shape)) {
    error =
        formatString("model descriptor: weight %u ('%s') has rank %d and %s "
                     "shape",
                     index, name, weight.rank, weight.shape ? "a" : "no");
    return KILN_ERROR_CORRUPT;
  }
  uint64_t expected = elementSize;
  for (int32_t i = 0; i < weight.rank; ++i) {
    int64_t dim = weight.shape[i];
    if (dim < 0) {
      error = formatString("model descriptor: weight '%s' dim %d is %" PRId64,
                           name, i, dim);
      return KILN_ERROR_CORRUPT;
    }
    if (dim != 0 && expected > UINT64_MAX / static_cast<uint64_t>(dim)) {
      error =
          formatString("model descriptor: weight '%s' size overflows", name);
      return KILN_ERROR_CORRUPT;
    }
    expected *= static_cast<uint64_t>(dim);
  }
  if (weight.nbytes != expected) {
    error = formatString("model descriptor: weight '%s' has %" PRIu64
                         " bytes but its shape and dtype need %" PRIu64,
                         name, weight.nbytes, expected);
    return KILN_ERROR_CORRUPT;
  }
  // Written as two comparisons so that offset + nbytes cannot wrap.
  if (weight.offset > dataSize || weight.nbytes > dataSize - weight.offset) {
    error = formatString(
        "weights file '%s': weight '%s' spans bytes [%" PRIu64 ", %" PRIu64
        "+%" PRIu64 ") of the data section, which has only %" PRIu64 " bytes",
        path.c_str(), name, weight.offset, weight.offset, weight.nbytes,
        dataSize);
    return KILN_ERROR_CORRUPT;
  }
  // The mapping is page aligned, so this is the alignment generated code
  // sees; it loads elements with their natural alignment.
  uint64_t fileOffset = dataFileOffset + weight.offset;
  if (fileOffset % elementSize != 0) {
    error = formatString("weights file '%s': weight '%s' starts at file "
                         "offset %" PRIu64 ", not a multiple of its %" PRIu64
                         "-byte element size (unpadded safetensors header?)",
                         path.c_str(), name, fileOffset, elementSize);
    return KILN_ERROR_CORRUPT;
  }
  return KILN_OK;
}

/// The string value of `"key":"` in the JSON header, or "" if absent. The
/// header is the one kiln-compile wrote (its hash was checked or is about to
/// be reported), so a plain search finds the metadata it wrote.
std::string findHeaderString(const char *header, size_t size,
                             const char *key) {
  std::string needle = std::string("\"") + key + "\":\"";
  const char *end = header + size;
  const char *at = std::search(header, end, needle.begin(), needle.end());
  if (at == end)
    return "";
  const char *value = at + needle.size();
  const char *close = std::find(value, end, '"');
  return close == end ? "" : std::string(value, close);
}

/// True when the environment asks for the data checksum (KILN_VERIFY_WEIGHTS
/// set to anything but "" or "0").
bool verifyRequested() {
  const char *value = std::getenv("KILN_VERIFY_WEIGHTS");
  return value && *value && std::strcmp(value, "0") != 0;
}

/// Compares the data section with the checksum its header records.
kiln_status verifyDataChecksum(const std::string &path, const char *header,
                               size_t headerSize, const void *data,
                               uint64_t size, std::string &error) {
  std::string recorded =
      findHeaderString(header, headerSize, "kiln_data_checksum");
  const char *prefix = "fnv1a64w:";
  if (recorded.rfind(prefix, 0) != 0) {
    error = formatString("weights file '%s' records no data checksum "
                         "(written by a kiln-compile older than the check); "
                         "recompile the model, or unset KILN_VERIFY_WEIGHTS",
                         path.c_str());
    return KILN_ERROR_CORRUPT;
  }
  uint64_t actual = dataChecksum64(data, size);
  std::string expected = recorded.substr(std::strlen(prefix));
  char actualText[17];
  std::snprintf(actualText, sizeof(actualText), "%016" PRIx64, actual);
  if (expected != actualText) {
    error = formatString("weights file changed after compile: the data of "
                         "'%s' has checksum %s but its header records %s "
                         "(tensor bytes edited or corrupted); recompile the "
                         "model or restore the file",
                         path.c_str(), actualText, expected.c_str());
    return KILN_ERROR_CORRUPT;
  }
  return KILN_OK;
}
} // namespace

uint64_t kiln::runtime::dataChecksum64(const void *data, size_t size) {
  const unsigned char *bytes = static_cast<const unsigned char *>(data);
  uint64_t hash = 0xcbf29ce484222325ull;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8); // little-endian hosts only
    hash = (hash ^ word) * 0x100000001b3ull;
  }
  if (i < size) {
    uint64_t word = 0;
    for (size_t k = 0; i + k < size; ++k)
      word |= uint64_t(bytes[i + k]) << (8 * k);
    hash = (hash ^ word) * 0x100000001b3ull;
  }
  return hash;
}

uint64_t kiln::runtime::fnv1a64(const void *data, size_t size) {
  const unsigned char *bytes = static_cast<const unsigned char *>(data);
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

WeightsFile::~WeightsFile() {
  if (mapping)
    ::munmap(mapping, mappingSize);
}

kiln_status WeightsFile::open(const std::string &path,
                              const kiln_abi_model_desc &desc,
                              std::string &error) {
  FdCloser file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) {
    int err = errno;
    error = formatString("cannot open weights file '%s': %s", path.c_str(),
                         std::strerror(err));
    return err == ENOENT ? KILN_ERROR_NOT_FOUND : KILN_ERROR_IO;
  }
  struct stat info;
  if (::fstat(file.fd, &info) != 0) {
    error = formatString("cannot stat weights file '%s': %s", path.c_str(),
                         std::strerror(errno));
    return KILN_ERROR_IO;
  }
  uint64_t fileSize = static_cast<uint64_t>(info.st_size);
  if (fileSize != desc.weights_file_size) {
    error = formatString("weights file '%s' is %" PRIu64
                         " bytes but the model was compiled against %" PRIu64
                         " bytes (%s)",
                         path.c_str(), fileSize, desc.weights_file_size,
                         fileSize < desc.weights_file_size
                             ? "truncated?"
                             : "weights file changed after compile?");
    return KILN_ERROR_CORRUPT;
  }
  if (fileSize < 8) {
    error = formatString("weights file '%s' is %" PRIu64
                         " bytes, too small for the 8-byte safetensors header "
                         "length",
                         path.c_str(), fileSize);
    return KILN_ERROR_CORRUPT;
  }
  if (fileSize > SIZE_MAX) {
    error = formatString("weights file '%s' is too large to map", path.c_str());
    return KILN_ERROR_IO;
  }

  void *map = ::mmap(nullptr, static_cast<size_t>(fileSize), PROT_READ,
                     MAP_PRIVATE, file.fd, 0);
  if (map == MAP_FAILED) {
    error =
        formatString("cannot mmap weights file '%s' (%" PRIu64 " bytes): %s",
                     path.c_str(), fileSize, std::strerror(errno));
    return KILN_ERROR_IO;
  }
  mapping = map;
  mappingSize = static_cast<size_t>(fileSize);

  const unsigned char *bytes = static_cast<const unsigned char *>(map);
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | bytes[i];
  if (headerSize > kMaxHeaderSize || headerSize > fileSize - 8) {
    error = formatString("weights file '%s': safetensors header length %" PRIu64
                         " is not plausible for a %" PRIu64 "-byte file",
                         path.c_str(), headerSize, fileSize);
    return KILN_ERROR_CORRUPT;
  }
  uint64_t hash = fnv1a64(bytes + 8, static_cast<size_t>(headerSize));
  if (hash != desc.weights_header_hash) {
    error = formatString(
        "weights file changed after compile: header of '%s' has "
        "FNV-1a hash 0x%016" PRIx64 " but the model expects 0x%016" PRIx64,
        path.c_str(), hash, desc.weights_header_hash);
    // Say so when the two come from different Kiln versions: a model.so
    // copied next to the weights of another build.
    std::string weightsVersion =
        findHeaderString(reinterpret_cast<const char *>(bytes + 8),
                         static_cast<size_t>(headerSize), "kiln_version");
    const char *soVersion = desc.kiln_version ? desc.kiln_version : "?";
    if (!weightsVersion.empty() && weightsVersion != soVersion)
      error += formatString("; the weights were written by Kiln %s but "
                            "model.so by Kiln %s: recompile the model",
                            weightsVersion.c_str(), soVersion);
    return KILN_ERROR_CORRUPT;
  }
  dataStart = bytes + 8 + headerSize;
  dataBytes = fileSize - 8 - headerSize;

  if (desc.num_weights > 0 && !desc.weights) {
    error = formatString("model descriptor: %u weights but no weight table",
                         desc.num_weights);
    return KILN_ERROR_CORRUPT;
  }
  for (uint32_t i = 0; i < desc.num_weights; ++i)
    if (kiln_status status = checkWeight(path, desc.weights[i], i,
                                         8 + headerSize, dataBytes, error))
      return status;
  if (verifyRequested())
    if (kiln_status status = verifyDataChecksum(
            path, reinterpret_cast<const char *>(bytes + 8),
            static_cast<size_t>(headerSize), dataStart, dataBytes, error))
      return status;
  // The model reads weights all through its lifetime; ask for them early.
  ::madvise(map, mappingSize, MADV_WILLNEED);
  return KILN_OK;
}
