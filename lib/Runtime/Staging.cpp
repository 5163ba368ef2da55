//===- Staging.cpp - Dense copies of strided tensors ----------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//

#include "Staging.h"

#include <cstring>

using namespace kiln::runtime;

bool kiln::runtime::isDenseRowMajor(const kiln_abi_buffer &buffer) {
  int64_t expected = 1;
  for (int32_t d = buffer.rank - 1; d >= 0; --d) {
    if (buffer.shape[d] > 1 && buffer.strides[d] != expected)
      return false;
    expected *= buffer.shape[d];
  }
  return true;
}

void kiln::runtime::setRowMajorStrides(const int64_t *shape, int32_t rank,
                                       int64_t *strides) {
  int64_t stride = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= shape[d];
  }
}

void kiln::runtime::copyStrided(void *dst, const int64_t *dstStrides,
                                const void *src, const int64_t *srcStrides,
                                const int64_t *shape, int32_t rank,
                                size_t elementBytes) {
  if (rank == 0) {
    std::memcpy(dst, src, elementBytes);
    return;
  }
  auto *out = static_cast<char *>(dst);
  const auto *in = static_cast<const char *>(src);
  int64_t dstStep = dstStrides[0] * static_cast<int64_t>(elementBytes);
  int64_t srcStep = srcStrides[0] * static_cast<int64_t>(elementBytes);
  for (int64_t i = 0; i < shape[0]; ++i)
    copyStrided(out + i * dstStep, dstStrides + 1, in + i * srcStep,
                srcStrides + 1, shape + 1, rank - 1, elementBytes);
}
