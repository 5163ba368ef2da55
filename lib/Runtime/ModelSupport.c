/*===- ModelSupport.c - Support code linked into every model.so ----------===*
 *
 * Part of Kiln. The generated code allocates through
 * _mlir_memref_to_llvm_alloc/free; during a call these come from the
 * calling context's arena, so steady-state runs do not malloc. Each block
 * carries a header saying where it came from, because OpenMP workers (no
 * current call) fall back to the heap and frees may happen on any thread.
 * Failures inside generated code (out of memory, an output whose computed
 * shape differs from the buffer's) unwind to kiln_support_invoke with
 * longjmp: generated frames hold no resources that need cleanup.
 *
 * Built twice: as is for CPU models, and with KILN_SUPPORT_CUDA for models
 * compiled with --target=cuda, where every buffer is device memory: blocks
 * come from the call's device arena without a header (the host cannot
 * write into them), frees are no-ops, and outputs are copied on the device
 * with mgpuMemcpy, which libkiln_runtime implements.
 *
 *===----------------------------------------------------------------------===*/

#include "Strides.h"
#include "kiln/Runtime/kiln_model_abi.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KILN_SUPPORT_EXPORT __attribute__((visibility("hidden")))

enum { kHeaderBytes = 64 };
static const uint64_t kFromArena = 0x4b494c4e4152454eull; /* "KILNAREN" */
static const uint64_t kFromHeap = 0x4b494c4e48454150ull;  /* "KILNHEAP" */

typedef struct CallState {
  const kiln_abi_call *call;
  jmp_buf unwind;
} CallState;

static _Thread_local CallState *current;

/* Present when model.so was compiled with OpenMP row blocks (weak: a
 * single-threaded model.so does not link libomp). */
extern void omp_set_num_threads(int) __attribute__((weak));

/** Records the message and unwinds to kiln_support_invoke. */
KILN_SUPPORT_EXPORT __attribute__((noreturn, format(printf, 1, 2))) void
kiln_support_fail(const char *format, ...) {
  CallState *state = current;
  if (!state) {
    /* Not inside a call (an OpenMP worker): nothing to unwind to. */
    va_list args;
    va_start(args, format);
    fputs("kiln model: fatal: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    abort();
  }
  if (state->call->error && state->call->error_capacity) {
    va_list args;
    va_start(args, format);
    vsnprintf(state->call->error, state->call->error_capacity, format, args);
    va_end(args);
  }
  longjmp(state->unwind, 1);
}

#ifdef KILN_SUPPORT_CUDA
/* From libkiln_runtime (the MLIR CUDA runtime-wrapper ABI). */
extern void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream);

KILN_SUPPORT_EXPORT void *_mlir_memref_to_llvm_alloc(uint64_t nbytes) {
  CallState *state = current;
  if (!state || !state->call->alloc)
    kiln_support_fail("device memory requested outside of a call");
  void *block = state->call->alloc(state->call->arena, nbytes);
  if (!block)
    kiln_support_fail("out of device memory allocating %llu bytes",
                      (unsigned long long)nbytes);
  return block;
}

/* Device blocks go back when the context's arena is reset. */
KILN_SUPPORT_EXPORT void _mlir_memref_to_llvm_free(void *pointer) {
  (void)pointer;
}
#else
KILN_SUPPORT_EXPORT void *_mlir_memref_to_llvm_alloc(uint64_t nbytes) {
  CallState *state = current;
  unsigned char *block;
  uint64_t tag;
  if (state && state->call->alloc) {
    block = (unsigned char *)state->call->alloc(state->call->arena,
                                                nbytes + kHeaderBytes);
    tag = kFromArena;
  } else {
    block = (unsigned char *)malloc(nbytes + kHeaderBytes);
    tag = kFromHeap;
  }
  if (!block)
    kiln_support_fail("out of memory allocating %llu bytes",
                      (unsigned long long)nbytes);
  memcpy(block, &tag, sizeof(tag));
  return block + kHeaderBytes;
}

KILN_SUPPORT_EXPORT void _mlir_memref_to_llvm_free(void *pointer) {
  if (!pointer)
    return;
  unsigned char *block = (unsigned char *)pointer - kHeaderBytes;
  uint64_t tag;
  memcpy(&tag, block, sizeof(tag));
  if (tag == kFromHeap)
    free(block);
  /* Arena blocks are released when the context's arena is reset. */
}
#endif

/** Copies a result the generated code computed (a dense row-major memref,
 *  as the entry's identity-layout boundary guarantees) into the caller's
 *  output buffer `index`, after checking that the shapes agree, and frees
 *  the result. */
KILN_SUPPORT_EXPORT void
kiln_support_copy_output(int32_t index, void *allocated, const void *aligned,
                         int64_t offset, int32_t rank, const int64_t *sizes,
                         int64_t elementBytes) {
  const kiln_abi_buffer *out = &current->call->outputs[index];
  if (out->rank != rank)
    kiln_support_fail("output %d: computed rank %d but the buffer has rank %d",
                      index, rank, out->rank);
  int64_t count = 1;
  for (int32_t d = 0; d < rank; ++d) {
    if (sizes[d] != out->shape[d])
      kiln_support_fail("output %d: computed dim %d = %lld but the buffer "
                        "has %lld (the entry's output dims do not follow "
                        "its declared dim names)",
                        index, d, (long long)sizes[d],
                        (long long)out->shape[d]);
    count *= sizes[d];
  }
  const unsigned char *source =
      (const unsigned char *)aligned + offset * elementBytes;
  if (count > 0 && source != out->data)
#ifdef KILN_SUPPORT_CUDA
    mgpuMemcpy(out->data, (void *)source, (size_t)(count * elementBytes),
               NULL);
#else
    memcpy(out->data, source, (size_t)(count * elementBytes));
#endif
  _mlir_memref_to_llvm_free(allocated);
}

/* MLIR's memref descriptors: finalize-memref-to-llvm lowers a memref.copy
 * that is not a plain memcpy to a call of memrefCopy (from MLIR's runner
 * utilities, which a deployed model does not have), so model.so brings its
 * own. */
typedef struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
} UnrankedMemRef;

typedef struct RankedMemRefHeader {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizesAndStrides[]; /* sizes[rank], then strides[rank] */
} RankedMemRefHeader;

KILN_SUPPORT_EXPORT void memrefCopy(int64_t elementBytes, UnrankedMemRef *src,
                                    UnrankedMemRef *dst) {
#ifdef KILN_SUPPORT_CUDA
  /* kiln-gpu-map-to-kernels turns copies into kernels; a host copy of
   * device memory cannot happen. */
  (void)elementBytes;
  (void)src;
  (void)dst;
  kiln_support_fail("internal error: strided copy on the host in a cuda "
                    "model");
#else
  const RankedMemRefHeader *from = (const RankedMemRefHeader *)src->descriptor;
  const RankedMemRefHeader *to = (const RankedMemRefHeader *)dst->descriptor;
  int64_t rank = src->rank;
  kilnCopyStrided(
      to->aligned + to->offset * elementBytes, to->sizesAndStrides + rank,
      from->aligned + from->offset * elementBytes, from->sizesAndStrides + rank,
      from->sizesAndStrides, rank, elementBytes);
#endif
}

/** Fails unless input `index` is dense row-major: the entry's boundary
 *  buffers have the identity layout (the runtime stages strided inputs). */
KILN_SUPPORT_EXPORT void kiln_support_check_input(int32_t index) {
  const kiln_abi_buffer *in = &current->call->inputs[index];
  if (!kilnIsDenseRowMajor(in->rank, in->shape, in->strides))
    kiln_support_fail("input %d is not dense row-major", index);
}

/** Runs `body(call)` with the call's arena as the allocator; returns 0, or
 *  1 with call->error set when the body failed. */
KILN_SUPPORT_EXPORT int32_t kiln_support_invoke(
    const kiln_abi_call *call, void (*body)(const kiln_abi_call *)) {
  CallState state;
  state.call = call;
  if (omp_set_num_threads && call->num_threads > 0)
    omp_set_num_threads(call->num_threads);
  CallState *outer = current;
  current = &state;
  if (setjmp(state.unwind)) {
    current = outer;
    return 1;
  }
  body(call);
  current = outer;
  return 0;
}
