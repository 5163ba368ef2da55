//===- Internal.h - Introspection hooks for the runtime's tests -*- C++ -*-===//
//
// Not part of the public API: tests use these to observe behaviour that the
// public API hides on purpose (the arena's allocations).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LIB_RUNTIME_INTERNAL_H
#define KILN_LIB_RUNTIME_INTERNAL_H

#include "kiln/Runtime/kiln_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Arena state of a context: bytes owned, and how many times it has asked
/// the system allocator for memory since the context was created.
kiln_status kiln_internal_context_arena_stats(const kiln_context *context,
                                              uint64_t *capacity,
                                              uint64_t *numSystemAllocations);

#ifdef __cplusplus
}
#endif

#endif // KILN_LIB_RUNTIME_INTERNAL_H
