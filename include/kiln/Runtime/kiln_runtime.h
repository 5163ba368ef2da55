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
 *  all contexts of the model. The weights file must be the one model.so was
 *  compiled against (size and header hash); with the environment variable
 *  KILN_VERIFY_WEIGHTS=1 the checksum of all its tensor bytes is checked
 *  too, which reads the whole file once (docs/Reliability.md). */
kiln_status kiln_model_open(const char *dir, kiln_model **model);
void kiln_model_close(kiln_model *model);

/** Where the model's code runs: "cpu", or "cuda" for a model compiled with
 *  kiln-compile --target=cuda (opening one needs an NVIDIA GPU and its
 *  driver, libcuda.so.1, which the runtime dlopens; tensors passed to
 *  kiln_context_run stay host memory either way). */
const char *kiln_model_device(const kiln_model *model);

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

/** The model `context` runs (NULL if `context` is NULL). */
kiln_model *kiln_context_model(const kiln_context *context);

/** Runs `entry`. Shapes and dtypes of inputs and outputs are checked
 *  against the entry's signature before any code runs. */
kiln_status kiln_context_run(kiln_context *context, int32_t entry,
                             const kiln_tensor *inputs, int32_t num_inputs,
                             const kiln_tensor *outputs, int32_t num_outputs);

/*===--------------------------------------------------------------------===*
 * Generation (docs/Generation.md)
 *
 * A generator drives a model compiled for generation: entries `prefill` and
 * `decode_step` whose state (KV caches, SSM states) flows from the outputs
 * of one call to the inputs of the next. The generator owns two sets of
 * state buffers and swaps them after every call, so the state is never
 * copied by the runtime. All `batch` sequences advance together: they share
 * one position. Ids are row-major [batch, len]; logits are row-major
 * [batch, vocab] and hold the scores of each sequence's last token.
 *===--------------------------------------------------------------------===*/

typedef struct kiln_generator kiln_generator;

/** Creates a generator for `batch` sequences that runs on `context` (which
 *  must outlive it and is not used concurrently). `capacity` is the number
 *  of positions the state holds when it has a dynamic "capacity" dim (a KV
 *  cache); it must then be > 0. Models with fixed-size state (SSMs) ignore
 *  it; pass 0. Fails if the model lacks `prefill` or `decode_step` or their
 *  signatures do not follow the generation ABI. */
kiln_status kiln_generator_create(kiln_context *context, int64_t batch,
                                  int64_t capacity, kiln_generator **generator);
void kiln_generator_destroy(kiln_generator *generator);

/** Sequences per call, as created (-1 if `generator` is NULL). */
int64_t kiln_generator_batch(const kiln_generator *generator);
/** Positions the state holds; -1 when unbounded (fixed-size state) or
 *  `generator` is NULL. */
int64_t kiln_generator_capacity(const kiln_generator *generator);
/** Entries per row of the logits (-1 if `generator` is NULL). */
int64_t kiln_generator_vocab_size(const kiln_generator *generator);
/** Tokens consumed so far by each sequence, i.e. the position of the next
 *  token (-1 if `generator` is NULL). */
int64_t kiln_generator_position(const kiln_generator *generator);

/** Starts new sequences: runs `prefill` on `ids` ([batch, len], token
 *  positions 0..len-1), replacing any previous state. Writes the logits of
 *  the last position to `logits` ([batch, vocab]) unless it is NULL. */
kiln_status kiln_generator_prefill(kiln_generator *generator,
                                   const int64_t *ids, int64_t len,
                                   float *logits);
/** Feeds `len` more tokens per sequence (`ids`: [batch, len]) through
 *  `decode_step` at the current position; `logits` as for prefill. */
kiln_status kiln_generator_extend(kiln_generator *generator, const int64_t *ids,
                                  int64_t len, float *logits);
/** kiln_generator_extend with one token per sequence (`ids`: [batch]). */
kiln_status kiln_generator_step(kiln_generator *generator, const int64_t *ids,
                                float *logits);

/** Forgets the sequences: the position goes back to 0 and the next call
 *  must be a prefill. The state buffers are kept (and not cleared). */
kiln_status kiln_generator_reset(kiln_generator *generator);

/** Number of state tensors (-1 if `generator` is NULL). */
int32_t kiln_generator_num_states(const kiln_generator *generator);
/** Describes state tensor `index` as it is now: `*name` (may be NULL) gets
 *  its name in the model's signature, `view` its dtype, shape and data
 *  (dense row-major). The view is valid until the next prefill, extend,
 *  step or destroy; its contents are meaningful after a prefill. */
kiln_status kiln_generator_state(const kiln_generator *generator, int32_t index,
                                 const char **name, kiln_tensor *view);

/** Greedy decoding: prefills `prompt` ([batch, len]), then picks each
 *  sequence's highest-scoring token (lowest id on ties) `n` times, feeding
 *  each pick back in. Writes `out_ids` ([batch, n]). Needs a capacity of at
 *  least len + n - 1. */
kiln_status kiln_generator_greedy(kiln_generator *generator,
                                  const int64_t *prompt, int64_t len, int64_t n,
                                  int64_t *out_ids);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_KILN_RUNTIME_H */
