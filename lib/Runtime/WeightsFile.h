//===- WeightsFile.h - mmapped safetensors weights of a model ---*- C++ -*-===//
//
// The runtime never parses the safetensors JSON header: the model descriptor
// already says where each weight lives. It checks instead that the file is
// the one the model was compiled against (size and header hash) and that
// every weight the descriptor names lies inside the data section.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_RUNTIME_WEIGHTSFILE_H
#define KILN_LIB_RUNTIME_WEIGHTSFILE_H

#include "kiln/Runtime/kiln_model_abi.h"
#include "kiln/Runtime/kiln_runtime.h"

#include <cstdint>
#include <string>

namespace kiln {
namespace runtime {

/// FNV-1a 64-bit hash, the hash kiln-compile stores for the header.
uint64_t fnv1a64(const void *data, size_t size);

/// Kiln's data-section checksum: FNV-1a 64 over little-endian 64-bit words,
/// a final partial word zero-extended (kiln::safetensors::dataChecksum64).
uint64_t dataChecksum64(const void *data, size_t size);

/// A read-only mapping of a safetensors file, validated against the model
/// descriptor. Immutable once open, so it can be shared across threads.
class WeightsFile {
public:
  WeightsFile() = default;
  ~WeightsFile();
  WeightsFile(const WeightsFile &) = delete;
  WeightsFile &operator=(const WeightsFile &) = delete;

  /// Maps `path` and checks it against `desc`: size, header hash, weight
  /// extents, and with KILN_VERIFY_WEIGHTS=1 in the environment the data
  /// checksum too (one read of the whole file). On failure returns the status
  /// and sets `error` to a message naming the file and the mismatch.
  kiln_status open(const std::string &path, const kiln_abi_model_desc &desc,
                   std::string &error);

  /// Start of the data section (just past the JSON header).
  const void *data() const { return dataStart; }
  /// Size of the data section in bytes.
  uint64_t dataSize() const { return dataBytes; }

private:
  void *mapping = nullptr;
  size_t mappingSize = 0;
  const void *dataStart = nullptr;
  uint64_t dataBytes = 0;
};

} // namespace runtime
} // namespace kiln

#endif // KILN_LIB_RUNTIME_WEIGHTSFILE_H
