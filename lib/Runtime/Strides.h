/*===- Strides.h - Dense row-major checks and strided copies --*- C -*-===*
 *
 * Part of Kiln. Shared by the runtime (staging strided tensors, C++) and
 * the support code linked into every model.so (ModelSupport.c, C), which
 * deploy separately: header-only, C-compatible.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_LIB_RUNTIME_STRIDES_H
#define KILN_LIB_RUNTIME_STRIDES_H

#include <stdint.h>
#include <string.h>

/** True when `strides` (elements) lay `shape` out dense row-major; strides
 *  of size-1 dims do not matter. */
static inline int kilnIsDenseRowMajor(int32_t rank, const int64_t *shape,
                                      const int64_t *strides) {
  int64_t expected = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    if (shape[d] > 1 && strides[d] != expected)
      return 0;
    expected *= shape[d];
  }
  return 1;
}

/** Writes the dense row-major strides of `shape` into `strides`. */
static inline void kilnSetRowMajorStrides(int32_t rank, const int64_t *shape,
                                          int64_t *strides) {
  int64_t stride = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= shape[d];
  }
}

/** Copies an N-d strided tensor of `elementBytes`-byte elements. */
static inline void kilnCopyStrided(void *dst, const int64_t *dstStrides,
                                   const void *src, const int64_t *srcStrides,
                                   const int64_t *shape, int32_t rank,
                                   int64_t elementBytes) {
  if (rank == 0) {
    memcpy(dst, src, (size_t)elementBytes);
    return;
  }
  for (int64_t i = 0; i < shape[0]; ++i)
    kilnCopyStrided((char *)dst + i * dstStrides[0] * elementBytes,
                    dstStrides + 1,
                    (const char *)src + i * srcStrides[0] * elementBytes,
                    srcStrides + 1, shape + 1, rank - 1, elementBytes);
}

#endif /* KILN_LIB_RUNTIME_STRIDES_H */
