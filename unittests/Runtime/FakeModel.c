/*===- FakeModel.c - A hand-written model.so for the runtime tests -*- C -*-===*
 *
 * Implements kiln_model_abi.h the way kiln-compile output will, without the
 * compiler: three entries and one weight. Compile definitions build broken
 * variants (wrong ABI version, no describe symbol, weight out of range,
 * misaligned weights) so that the runtime's checks can be tested.
 *
 *===----------------------------------------------------------------------===*/

#include "FakeModelWeights.h"
#include "kiln/Runtime/kiln_model_abi.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef FAKE_ABI_VERSION
#define FAKE_ABI_VERSION KILN_MODEL_ABI_VERSION
#endif
#ifndef FAKE_WEIGHT_OFFSET
#define FAKE_WEIGHT_OFFSET 0
#endif

/* forward(a: f32[batch, 4], b: f32[batch, 4]) -> out: f32[batch, 4]
 * out = a + b * scale, through two arena buffers so that the tests see the
 * arena grow and settle. */
static int32_t forward(const kiln_abi_call *call) {
  const kiln_abi_buffer *a = &call->inputs[0];
  const kiln_abi_buffer *b = &call->inputs[1];
  const kiln_abi_buffer *out = &call->outputs[0];
  const float *scale =
      (const float *)((const char *)call->weights_data + FAKE_WEIGHT_OFFSET);
  int64_t batch = a->shape[0];
  uint64_t bytes = (uint64_t)batch * 4 * sizeof(float);
  float *product = (float *)call->alloc(call->arena, bytes);
  float *sum = (float *)call->alloc(call->arena, bytes);
  if ((!product || !sum) && bytes > 0) {
    snprintf(call->error, call->error_capacity, "arena out of memory");
    return 1;
  }
  if ((uintptr_t)product % 64 || (uintptr_t)sum % 64) {
    snprintf(call->error, call->error_capacity, "arena memory misaligned");
    return 2;
  }
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t j = 0; j < 4; ++j)
      product[i * 4 + j] =
          ((const float *)b->data)[i * b->strides[0] + j * b->strides[1]] *
          scale[j];
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t j = 0; j < 4; ++j)
      sum[i * 4 + j] =
          ((const float *)a->data)[i * a->strides[0] + j * a->strides[1]] +
          product[i * 4 + j];
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t j = 0; j < 4; ++j)
      ((float *)out->data)[i * out->strides[0] + j * out->strides[1]] =
          sum[i * 4 + j];
  return 0;
}

/* fail(x: f32[2]) -> y: f32[2]: always reports an error. */
static int32_t fail(const kiln_abi_call *call) {
  snprintf(call->error, call->error_capacity, "%s", FAKE_FAILURE_MESSAGE);
  return 3;
}

/* twice_plus_one(ids: i64[seq]) -> out: i64[seq] = 2 * ids + 1. */
static int32_t twicePlusOne(const kiln_abi_call *call) {
  const kiln_abi_buffer *ids = &call->inputs[0];
  const kiln_abi_buffer *out = &call->outputs[0];
  for (int64_t i = 0; i < ids->shape[0]; ++i)
    ((int64_t *)out->data)[i * out->strides[0]] =
        2 * ((const int64_t *)ids->data)[i * ids->strides[0]] + 1;
  return 0;
}

static const int64_t kBatchBy4[] = {-1, 4};
static const char *const kBatchBy4Names[] = {"batch", NULL};
static const int64_t kTwo[] = {2};
static const char *const kNoNames[] = {NULL};
static const int64_t kSeq[] = {-1};
static const char *const kSeqNames[] = {"seq"};

static const kiln_abi_tensor_desc kForwardInputs[] = {
    {"a", KILN_ABI_DTYPE_F32, 2, kBatchBy4, kBatchBy4Names},
    {"b", KILN_ABI_DTYPE_F32, 2, kBatchBy4, kBatchBy4Names},
};
static const kiln_abi_tensor_desc kForwardOutputs[] = {
    {"out", KILN_ABI_DTYPE_F32, 2, kBatchBy4, kBatchBy4Names},
};
static const kiln_abi_tensor_desc kFailInputs[] = {
    {"x", KILN_ABI_DTYPE_F32, 1, kTwo, kNoNames},
};
static const kiln_abi_tensor_desc kFailOutputs[] = {
    {"y", KILN_ABI_DTYPE_F32, 1, kTwo, kNoNames},
};
static const kiln_abi_tensor_desc kIdsInputs[] = {
    {"ids", KILN_ABI_DTYPE_I64, 1, kSeq, kSeqNames},
};
static const kiln_abi_tensor_desc kIdsOutputs[] = {
    {"out", KILN_ABI_DTYPE_I64, 1, kSeq, kSeqNames},
};

static const kiln_abi_entry_desc kEntries[] = {
    {"forward", 2, kForwardInputs, 1, kForwardOutputs, forward},
    {"fail", 1, kFailInputs, 1, kFailOutputs, fail},
    {"twice_plus_one", 1, kIdsInputs, 1, kIdsOutputs, twicePlusOne},
};

static const int64_t kScaleShape[] = {4};
static const kiln_abi_weight_desc kWeights[] = {
    {"scale", KILN_ABI_DTYPE_F32, 1, kScaleShape, FAKE_WEIGHT_OFFSET, 16},
};

static kiln_abi_model_desc modelDesc = {
    FAKE_ABI_VERSION,
    "fake-0.0",
    "model.weights.safetensors",
    0, /* weights_file_size: filled in by initDesc */
    0, /* weights_header_hash: filled in by initDesc */
    1,
    kWeights,
    sizeof(kEntries) / sizeof(kEntries[0]),
    kEntries,
#ifdef FAKE_DEVICE
    FAKE_DEVICE,
#else
    KILN_ABI_DEVICE_CPU,
#endif
};

/* kiln-compile will emit these as constants; C cannot hash at compile
 * time, so the fake computes them once when it is loaded. */
__attribute__((constructor)) static void initDesc(void) {
#if defined(FAKE_UNPADDED_HEADER)
  const char *header = FAKE_WEIGHTS_HEADER_UNPADDED;
#elif defined(FAKE_METADATA_HEADER)
  const char *header = FAKE_WEIGHTS_HEADER_METADATA;
#else
  const char *header = FAKE_WEIGHTS_HEADER;
#endif
  size_t size = strlen(header);
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) {
    hash ^= (unsigned char)header[i];
    hash *= 0x100000001b3ull;
  }
  modelDesc.weights_header_hash = hash;
  modelDesc.weights_file_size = 8 + size + FAKE_WEIGHTS_DATA_SIZE;
}

#ifndef FAKE_NO_DESCRIBE
__attribute__((visibility("default"))) const kiln_abi_model_desc *
kiln_model_describe(void) {
  return &modelDesc;
}
#else
/* Exports something, so that only the describe symbol is missing. */
__attribute__((visibility("default"))) int kiln_fake_model_placeholder(void) {
  return 0;
}
#endif
