/*===- kiln_model_abi.h - Contract between model.so and the runtime -*- C -*-===*
 *
 * A compiled model (`model.so`, written by kiln-compile) exports exactly one
 * symbol, `kiln_model_describe`, returning a static description of its
 * entry points and of the weights it expects. The runtime (libkiln_runtime)
 * is the only consumer of this header; applications use kiln_runtime.h.
 *
 * Neither side links LLVM or MLIR.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RUNTIME_KILN_MODEL_ABI_H
#define KILN_RUNTIME_KILN_MODEL_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Bumped on any incompatible change of the structures below. */
#define KILN_MODEL_ABI_VERSION 2u

/** Element types, shared with kiln_runtime.h (kiln_dtype). */
enum {
  KILN_ABI_DTYPE_F32 = 0,
  KILN_ABI_DTYPE_F16 = 1,
  KILN_ABI_DTYPE_BF16 = 2,
  KILN_ABI_DTYPE_I8 = 3,
  KILN_ABI_DTYPE_I32 = 4,
  KILN_ABI_DTYPE_I64 = 5,
  KILN_ABI_DTYPE_U8 = 6,
  KILN_ABI_DTYPE_BOOL = 7,
};

/** One input or output of an entry point. A dynamic dimension has size -1
 *  and a symbolic name ("batch", "seq"); every dynamic output dimension names
 *  a symbol that some input binds, so the runtime can infer output shapes. */
typedef struct kiln_abi_tensor_desc {
  const char *name;
  int32_t dtype;
  int32_t rank;
  const int64_t *dims;          /**< rank entries, -1 = dynamic */
  const char *const *dim_names; /**< rank entries, NULL for static dims */
} kiln_abi_tensor_desc;

/** One tensor of model.weights.safetensors, as the code expects it. Offsets
 *  are relative to the start of the safetensors data section. */
typedef struct kiln_abi_weight_desc {
  const char *name;
  int32_t dtype;
  int32_t rank;
  const int64_t *shape;
  uint64_t offset;
  uint64_t nbytes;
} kiln_abi_weight_desc;

/** A strided view handed to generated code (elements, not bytes). */
typedef struct kiln_abi_buffer {
  void *data;
  int32_t rank;
  const int64_t *shape;
  const int64_t *strides;
} kiln_abi_buffer;

/** Everything one invocation of an entry point needs. `inputs` and
 *  `outputs` follow the entry's descriptor order; shapes and dtypes were
 *  validated by the runtime before the call. */
typedef struct kiln_abi_call {
  const void *weights_data;     /**< start of the mmapped data section */
  const kiln_abi_buffer *inputs;
  const kiln_abi_buffer *outputs;
  int32_t num_threads;
  /** Scratch memory from the context's arena, 64-byte aligned, valid until
   *  the call returns. Returns NULL when out of memory. */
  void *(*alloc)(void *arena, uint64_t nbytes);
  void *arena;
  /** Error message buffer the entry may fill when it returns non-zero. */
  char *error;
  size_t error_capacity;
} kiln_abi_call;

/** Returns 0 on success, non-zero with `call->error` set otherwise. */
typedef int32_t (*kiln_abi_entry_fn)(const kiln_abi_call *call);

typedef struct kiln_abi_entry_desc {
  const char *name;
  int32_t num_inputs;
  const kiln_abi_tensor_desc *inputs;
  int32_t num_outputs;
  const kiln_abi_tensor_desc *outputs;
  kiln_abi_entry_fn fn;
} kiln_abi_entry_desc;

/** Where a model's code runs (kiln_abi_model_desc::device). */
enum {
  KILN_ABI_DEVICE_CPU = 0,
  /** NVIDIA GPU: every pointer in kiln_abi_call (weights_data, the inputs'
   *  and outputs' data, what `alloc` returns) is a CUDA device pointer. The
   *  runtime uploads the weights once at load, stages inputs and outputs
   *  around each call and implements the MLIR CUDA runtime-wrapper
   *  functions (mgpu*) that model.so's kernel launches call. */
  KILN_ABI_DEVICE_CUDA = 1,
};

typedef struct kiln_abi_model_desc {
  uint32_t abi_version;      /**< KILN_MODEL_ABI_VERSION */
  const char *kiln_version;  /**< version of the kiln-compile that wrote it */
  const char *weights_file;  /**< file name relative to the model directory */
  uint64_t weights_file_size;
  /** FNV-1a 64 of the safetensors header bytes (the JSON after the 8-byte
   *  length): cheap to check at open, changes with any re-export. */
  uint64_t weights_header_hash;
  uint32_t num_weights;
  const kiln_abi_weight_desc *weights;
  uint32_t num_entries;
  const kiln_abi_entry_desc *entries;
  int32_t device; /**< KILN_ABI_DEVICE_* (added in version 2) */
} kiln_abi_model_desc;

/** The one symbol model.so exports. */
typedef const kiln_abi_model_desc *(*kiln_model_describe_fn)(void);
#define KILN_MODEL_DESCRIBE_SYMBOL "kiln_model_describe"

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_KILN_MODEL_ABI_H */
