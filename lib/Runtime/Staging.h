//===- Staging.h - Dense copies of strided tensors --------------*- C++ -*-===//
//
// Part of Kiln. Compiled entry points take dense row-major buffers; callers
// may pass any strides, so the runtime stages strided tensors through the
// context's arena.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_RUNTIME_STAGING_H
#define KILN_LIB_RUNTIME_STAGING_H

#include "kiln/Runtime/kiln_model_abi.h"

#include <cstddef>
#include <cstdint>

namespace kiln {
namespace runtime {

/// True when `buffer` is dense row-major (strides of size-1 dims ignored).
bool isDenseRowMajor(const kiln_abi_buffer &buffer);

/// Writes the row-major strides of `shape` into `strides`.
void setRowMajorStrides(const int64_t *shape, int32_t rank, int64_t *strides);

/// Copies an N-d strided tensor of `elementBytes`-byte elements.
void copyStrided(void *dst, const int64_t *dstStrides, const void *src,
                 const int64_t *srcStrides, const int64_t *shape, int32_t rank,
                 size_t elementBytes);

} // namespace runtime
} // namespace kiln

#endif // KILN_LIB_RUNTIME_STAGING_H
