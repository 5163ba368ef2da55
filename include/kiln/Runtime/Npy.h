//===- Npy.h - .npy reader and writer ---------------------------*- C++ -*-===//
//
// Reads and writes NumPy's .npy format (versions 1.0 and 2.0; 3.0 is read
// too) for the dtypes a compiled model takes, so that kiln-run and tests can
// exchange tensors with numpy and PyTorch. Only little-endian, C-order
// arrays: that is what the runtime passes to generated code. No LLVM.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_NPY_H
#define KILN_RUNTIME_NPY_H

#include "kiln/Runtime/kiln_runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {
namespace runtime {

/// A dense, C-order array with its element type.
struct NpyArray {
  kiln_dtype dtype = KILN_DTYPE_F32;
  std::vector<int64_t> shape;
  /// Raw little-endian elements, row-major.
  std::vector<unsigned char> data;

  /// Product of `shape` (1 for a scalar).
  int64_t numElements() const;
};

/// The numpy `descr` string for `dtype` ("<f4"), or nullptr for dtypes numpy
/// cannot represent (bf16).
const char *npyDescr(kiln_dtype dtype);

/// Parses an in-memory .npy file. On failure returns false and sets `error`
/// to a message saying what is wrong and where.
bool parseNpy(const void *bytes, size_t size, NpyArray &array,
              std::string &error);

/// Reads a .npy file; error messages name `path`.
bool readNpy(const std::string &path, NpyArray &array, std::string &error);

/// Serializes a C-order array as a version 1.0 .npy file into `out`.
/// Fails for bf16, which has no numpy dtype.
bool serializeNpy(kiln_dtype dtype, const int64_t *shape, int32_t rank,
                  const void *data, std::string &out, std::string &error);

/// Writes a C-order array to `path` as a version 1.0 .npy file.
bool writeNpy(const std::string &path, kiln_dtype dtype, const int64_t *shape,
              int32_t rank, const void *data, std::string &error);

/// Writes `array` to `path`.
bool writeNpy(const std::string &path, const NpyArray &array,
              std::string &error);

} // namespace runtime
} // namespace kiln

#endif // KILN_RUNTIME_NPY_H
