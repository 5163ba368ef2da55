/*===- kiln_runtime.h - C API of a compiled Kiln model -------------*- C -*-===*
 *
 * Open a directory written by `kiln-compile`, inspect its entry points,
 * create execution contexts and run entries on caller-provided buffers.
 * Every function returns a kiln_status; on failure kiln_last_error() gives a
 * message for the calling thread. Nothing here aborts on bad input.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RUNTIME_KILN_RUNTIME_H
#define KILN_RUNTIME_KILN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kiln_status {
  KILN_OK = 0,
  KILN_ERROR_INVALID_ARGUMENT = 1, /**< null pointer, bad index, bad option */
  KILN_ERROR_NOT_FOUND = 2,        /**< missing file, entry or symbol */
  KILN_ERROR_IO = 3,               /**< open/mmap/read failed */
  KILN_ERROR_CORRUPT = 4,          /**< weights file truncated or altered */
  KILN_ERROR_VERSION_MISMATCH = 5, /**< model ABI or weights do not match */
  KILN_ERROR_SHAPE_MISMATCH = 6,   /**< wrong rank or dimension */
  KILN_ERROR_DTYPE_MISMATCH = 7,   /**< wrong element type */
  KILN_ERROR_OUT_OF_MEMORY = 8,
  KILN_ERROR_EXECUTION = 9,        /**< the compiled code reported an error */
} kiln_status;

typedef enum kiln_dtype {
  KILN_DTYPE_F32 = 0,
  KILN_DTYPE_F16 = 1,
  KILN_DTYPE_BF16 = 2,
  KILN_DTYPE_I8 = 3,
  KILN_DTYPE_I32 = 4,
  KILN_DTYPE_I64 = 5,
  KILN_DTYPE_U8 = 6,
  KILN_DTYPE_BOOL = 7,
} kiln_dtype;

/** A caller-owned tensor. `strides` counts elements; NULL means row-major
 *  contiguous. */
typedef struct kiln_tensor {
  kiln_dtype dtype;
  int32_t rank;
  const int64_t *shape;
  const int64_t *strides;
  void *data;
} kiln_tensor;

/** Static description of one input or output (-1 marks a dynamic dim). */
typedef struct kiln_tensor_info {
  const char *name;
  kiln_dtype dtype;
  int32_t rank;
  const int64_t *dims;
  const char *const *dim_names;
} kiln_tensor_info;

typedef struct kiln_model kiln_model;
typedef struct kiln_context kiln_context;

typedef struct kiln_context_options {
  int32_t num_threads; /**< 0 = all cores */
} kiln_context_options;

/** Message describing the last failure on this thread ("" if none). */
const char *kiln_last_error(void);
const char *kiln_status_string(kiln_status status);
size_t kiln_dtype_size(kiln_dtype dtype);
const char *kiln_dtype_name(kiln_dtype dtype);

/** Opens `dir` (model.so + weights); weights are mmapped once and shared by
 *  all contexts of the model. */
kiln_status kiln_model_open(const char *dir, kiln_model **model);
void kiln_model_close(kiln_model *model);

int32_t kiln_model_num_entries(const kiln_model *model);
const char *kiln_model_entry_name(const kiln_model *model, int32_t entry);
kiln_status kiln_model_find_entry(const kiln_model *model, const char *name,
                                  int32_t *entry);
int32_t kiln_entry_num_inputs(const kiln_model *model, int32_t entry);
int32_t kiln_entry_num_outputs(const kiln_model *model, int32_t entry);
kiln_status kiln_entry_input_info(const kiln_model *model, int32_t entry,
                                  int32_t index, kiln_tensor_info *info);
kiln_status kiln_entry_output_info(const kiln_model *model, int32_t entry,
                                   int32_t index, kiln_tensor_info *info);

/** Output shape for the given inputs (binds the dynamic dims by name).
 *  `shape` must hold the output's rank. */
kiln_status kiln_entry_output_shape(const kiln_model *model, int32_t entry,
                                    const kiln_tensor *inputs,
                                    int32_t num_inputs, int32_t output,
                                    int64_t *shape);

/** A context owns scratch memory and a thread setting; use one per thread. */
kiln_status kiln_context_create(kiln_model *model,
                                const kiln_context_options *options,
                                kiln_context **context);
void kiln_context_destroy(kiln_context *context);

/** Runs `entry`. Shapes and dtypes of inputs and outputs are checked
 *  against the entry's signature before any code runs. */
kiln_status kiln_context_run(kiln_context *context, int32_t entry,
                             const kiln_tensor *inputs, int32_t num_inputs,
                             const kiln_tensor *outputs, int32_t num_outputs);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_KILN_RUNTIME_H */
