//===- Runtime.cpp - C API of a compiled Kiln model -----------------------===//
//
// Implements kiln_runtime.h on top of the contract in kiln_model_abi.h. A
// model is immutable after kiln_model_open, so contexts on several threads
// share it without locks; each context owns the mutable state of a run.
//
//===----------------------------------------------------------------------===//

#include "Arena.h"
#include "Cuda.h"
#include "Internal.h"
#include "Signature.h"
#include "Strides.h"
#include "Support.h"
#include "WeightsFile.h"
#include "kiln/Runtime/kiln_runtime.h"

#include <atomic>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <new>
#include <sys/stat.h>
#include <unistd.h>

#define KILN_EXPORT extern "C" __attribute__((visibility("default")))

using namespace kiln::runtime;

struct kiln_model {
  std::string dir;
  void *handle = nullptr;
  const kiln_abi_model_desc *desc = nullptr;
  WeightsFile weights;
  /// A cuda model's weights, uploaded once at open (the data section).
  void *deviceWeights = nullptr;
  /// Sizes of the per-context tables, the maximum over all entries.
  size_t maxTensors = 0;
  size_t maxDims = 0;
  /// One reference for the opener and one per live context, so that closing
  /// a model before its contexts does not unmap memory they still use.
  std::atomic<int> refs{1};

  bool onCuda() const {
    return desc && desc->device == KILN_ABI_DEVICE_CUDA;
  }

  ~kiln_model() {
    cuda::release(deviceWeights);
    if (handle)
      ::dlclose(handle);
  }
};

/// A caller's strided output, computed into arena scratch and copied back.
struct StagedOutput {
  int32_t index;
  void *data;
  const int64_t *strides;
};

struct kiln_context {
  kiln_model *model = nullptr;
  int32_t numThreads = 1;
  Arena arena;
  /// A cuda model's activations, inputs and outputs: device memory reused
  /// by every call (the arena only allocates when a call needs more).
  std::unique_ptr<Arena> deviceArena;
  std::vector<DimBinding> bindings;
  std::vector<kiln_abi_buffer> buffers;
  std::vector<int64_t> dims;
  std::vector<StagedOutput> stagedOutputs;
  char error[2048];
};

namespace {
void release(kiln_model *model) {
  if (model && model->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete model;
}

bool validEntry(const kiln_model *model, int32_t entry) {
  return model && entry >= 0 &&
         static_cast<uint32_t>(entry) < model->desc->num_entries;
}

kiln_status checkEntry(const kiln_model *model, int32_t entry) {
  if (!model)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "model is null");
  if (!validEntry(model, entry)) {
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("entry index %d is out of range; model '%s' has "
                             "%u entries",
                             entry, model->dir.c_str(),
                             model->desc->num_entries));
  }
  return KILN_OK;
}

void fillInfo(const kiln_abi_tensor_desc &desc, kiln_tensor_info *info) {
  info->name = desc.name;
  info->dtype = static_cast<kiln_dtype>(desc.dtype);
  info->rank = desc.rank;
  info->dims = desc.dims;
  info->dim_names = desc.dim_names;
}

kiln_status tensorInfo(const kiln_model *model, int32_t entry, int32_t index,
                       bool output, kiln_tensor_info *info) {
  if (kiln_status status = checkEntry(model, entry))
    return status;
  if (!info)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "info is null");
  const kiln_abi_entry_desc &desc = model->desc->entries[entry];
  int32_t count = output ? desc.num_outputs : desc.num_inputs;
  if (index < 0 || index >= count) {
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("entry '%s': %s index %d is out of range (%d %ss)",
                             desc.name, output ? "output" : "input", index,
                             count, output ? "output" : "input"));
  }
  fillInfo(output ? desc.outputs[index] : desc.inputs[index], info);
  return KILN_OK;
}

/// Loads model.so from `dir` and checks its descriptor.
kiln_status loadLibrary(kiln_model &model) {
  std::string soPath = model.dir + "/model.so";
  struct stat info;
  if (::stat(soPath.c_str(), &info) != 0) {
    return fail(KILN_ERROR_NOT_FOUND,
                formatString("'%s' not found; is '%s' a kiln-compile output "
                             "directory?",
                             soPath.c_str(), model.dir.c_str()));
  }
  model.handle = ::dlopen(soPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!model.handle) {
    const char *reason = ::dlerror();
    return fail(KILN_ERROR_IO,
                formatString("cannot load '%s': %s", soPath.c_str(),
                             reason ? reason : "unknown dlopen error"));
  }
  ::dlerror();
  void *symbol = ::dlsym(model.handle, KILN_MODEL_DESCRIBE_SYMBOL);
  if (!symbol) {
    return fail(KILN_ERROR_NOT_FOUND,
                formatString("'%s' does not export '%s'; it is not a model "
                             "written by kiln-compile",
                             soPath.c_str(), KILN_MODEL_DESCRIBE_SYMBOL));
  }
  auto describe = reinterpret_cast<kiln_model_describe_fn>(symbol);
  model.desc = describe();
  if (!model.desc)
    return fail(KILN_ERROR_CORRUPT,
                formatString("'%s': %s returned null", soPath.c_str(),
                             KILN_MODEL_DESCRIBE_SYMBOL));
  const kiln_abi_model_desc &desc = *model.desc;
  if (desc.abi_version != KILN_MODEL_ABI_VERSION) {
    return fail(KILN_ERROR_VERSION_MISMATCH,
                formatString("'%s' uses model ABI version %u but this "
                             "runtime implements version %u (model written "
                             "by kiln %s); recompile it with a matching "
                             "kiln-compile",
                             soPath.c_str(), desc.abi_version,
                             KILN_MODEL_ABI_VERSION,
                             desc.kiln_version ? desc.kiln_version : "?"));
  }
  if (desc.device != KILN_ABI_DEVICE_CPU &&
      desc.device != KILN_ABI_DEVICE_CUDA)
    return fail(KILN_ERROR_CORRUPT,
                formatString("'%s' targets unknown device %d", soPath.c_str(),
                             desc.device));
  if (desc.device == KILN_ABI_DEVICE_CUDA) {
    // model.so's constructors tried to load its GPU code already; the
    // driver's state says whether that could work.
    std::string error;
    if (!cuda::initialize(error)) {
      cuda::takeError();
      return fail(KILN_ERROR_NOT_FOUND,
                  formatString("'%s' was compiled for cuda: %s",
                               soPath.c_str(), error.c_str()));
    }
    error = cuda::takeError();
    if (!error.empty())
      return fail(KILN_ERROR_EXECUTION,
                  formatString("'%s': loading its GPU code failed: %s",
                               soPath.c_str(), error.c_str()));
  }
  std::string error;
  if (kiln_status status = checkModelDescriptor(desc, soPath, model.maxTensors,
                                                model.maxDims, error))
    return fail(status, std::move(error));
  return KILN_OK;
}
} // namespace

KILN_EXPORT const char *kiln_last_error(void) { return lastErrorMessage(); }

KILN_EXPORT const char *kiln_status_string(kiln_status status) {
  switch (status) {
  case KILN_OK:
    return "ok";
  case KILN_ERROR_INVALID_ARGUMENT:
    return "invalid argument";
  case KILN_ERROR_NOT_FOUND:
    return "not found";
  case KILN_ERROR_IO:
    return "I/O error";
  case KILN_ERROR_CORRUPT:
    return "corrupt model or weights";
  case KILN_ERROR_VERSION_MISMATCH:
    return "version mismatch";
  case KILN_ERROR_SHAPE_MISMATCH:
    return "shape mismatch";
  case KILN_ERROR_DTYPE_MISMATCH:
    return "dtype mismatch";
  case KILN_ERROR_OUT_OF_MEMORY:
    return "out of memory";
  case KILN_ERROR_EXECUTION:
    return "execution error";
  }
  return "unknown status";
}

KILN_EXPORT size_t kiln_dtype_size(kiln_dtype dtype) {
  switch (dtype) {
  case KILN_DTYPE_F32:
  case KILN_DTYPE_I32:
    return 4;
  case KILN_DTYPE_F16:
  case KILN_DTYPE_BF16:
    return 2;
  case KILN_DTYPE_I8:
  case KILN_DTYPE_U8:
  case KILN_DTYPE_BOOL:
    return 1;
  case KILN_DTYPE_I64:
    return 8;
  }
  return 0;
}

KILN_EXPORT const char *kiln_dtype_name(kiln_dtype dtype) {
  switch (dtype) {
  case KILN_DTYPE_F32:
    return "f32";
  case KILN_DTYPE_F16:
    return "f16";
  case KILN_DTYPE_BF16:
    return "bf16";
  case KILN_DTYPE_I8:
    return "i8";
  case KILN_DTYPE_I32:
    return "i32";
  case KILN_DTYPE_I64:
    return "i64";
  case KILN_DTYPE_U8:
    return "u8";
  case KILN_DTYPE_BOOL:
    return "bool";
  }
  return "<invalid dtype>";
}

KILN_EXPORT kiln_status kiln_model_open(const char *dir, kiln_model **model) {
  if (!model)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_model_open: model is null");
  *model = nullptr;
  if (!dir || !*dir)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "kiln_model_open: directory is null or empty");
  struct stat info;
  if (::stat(dir, &info) != 0)
    return fail(KILN_ERROR_NOT_FOUND,
                formatString("model directory '%s' does not exist", dir));
  if (!S_ISDIR(info.st_mode)) {
    return fail(KILN_ERROR_NOT_FOUND,
                formatString("'%s' is not a directory; kiln_model_open "
                             "takes the directory kiln-compile wrote",
                             dir));
  }

  kiln_model *result = new (std::nothrow) kiln_model();
  if (!result)
    return fail(KILN_ERROR_OUT_OF_MEMORY, "cannot allocate the model");
  result->dir = dir;
  if (kiln_status status = loadLibrary(*result)) {
    delete result;
    return status;
  }
  const char *weightsName = result->desc->weights_file;
  if (!weightsName || !*weightsName) {
    delete result;
    return fail(KILN_ERROR_CORRUPT,
                formatString("'%s/model.so' names no weights file", dir));
  }
  std::string error;
  if (kiln_status status = result->weights.open(result->dir + "/" + weightsName,
                                                *result->desc, error)) {
    delete result;
    return fail(status, std::move(error));
  }
  if (result->onCuda()) {
    uint64_t bytes = result->weights.dataSize();
    result->deviceWeights = cuda::allocate(bytes ? bytes : 1);
    if (!result->deviceWeights) {
      delete result;
      return fail(KILN_ERROR_OUT_OF_MEMORY,
                  formatString("no device memory for the %llu bytes of "
                               "weights of '%s'",
                               static_cast<unsigned long long>(bytes), dir));
    }
    if (!cuda::copyToDevice(result->deviceWeights, result->weights.data(),
                            bytes, error)) {
      delete result;
      return fail(KILN_ERROR_EXECUTION,
                  formatString("uploading the weights of '%s': %s", dir,
                               error.c_str()));
    }
  }
  *model = result;
  return KILN_OK;
}

KILN_EXPORT const char *kiln_model_device(const kiln_model *model) {
  if (!model)
    return nullptr;
  return model->onCuda() ? "cuda" : "cpu";
}

KILN_EXPORT void kiln_model_close(kiln_model *model) { release(model); }

KILN_EXPORT int32_t kiln_model_num_entries(const kiln_model *model) {
  return model ? static_cast<int32_t>(model->desc->num_entries) : -1;
}

KILN_EXPORT const char *kiln_model_entry_name(const kiln_model *model,
                                              int32_t entry) {
  return validEntry(model, entry) ? model->desc->entries[entry].name : nullptr;
}

KILN_EXPORT kiln_status kiln_model_find_entry(const kiln_model *model,
                                              const char *name,
                                              int32_t *entry) {
  if (!model || !name || !entry)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "kiln_model_find_entry: null argument");
  for (uint32_t e = 0; e < model->desc->num_entries; ++e) {
    if (std::strcmp(model->desc->entries[e].name, name) == 0) {
      *entry = static_cast<int32_t>(e);
      return KILN_OK;
    }
  }
  std::string available;
  for (uint32_t e = 0; e < model->desc->num_entries; ++e)
    available +=
        (e ? ", '" : "'") + std::string(model->desc->entries[e].name) + "'";
  return fail(KILN_ERROR_NOT_FOUND,
              formatString("model '%s' has no entry '%s' (entries: %s)",
                           model->dir.c_str(), name,
                           available.empty() ? "none" : available.c_str()));
}

KILN_EXPORT int32_t kiln_entry_num_inputs(const kiln_model *model,
                                          int32_t entry) {
  return validEntry(model, entry) ? model->desc->entries[entry].num_inputs : -1;
}

KILN_EXPORT int32_t kiln_entry_num_outputs(const kiln_model *model,
                                           int32_t entry) {
  return validEntry(model, entry) ? model->desc->entries[entry].num_outputs
                                  : -1;
}

KILN_EXPORT kiln_status kiln_entry_input_info(const kiln_model *model,
                                              int32_t entry, int32_t index,
                                              kiln_tensor_info *info) {
  return tensorInfo(model, entry, index, /*output=*/false, info);
}

KILN_EXPORT kiln_status kiln_entry_output_info(const kiln_model *model,
                                               int32_t entry, int32_t index,
                                               kiln_tensor_info *info) {
  return tensorInfo(model, entry, index, /*output=*/true, info);
}

KILN_EXPORT kiln_status kiln_entry_output_shape(
    const kiln_model *model, int32_t entry, const kiln_tensor *inputs,
    int32_t numInputs, int32_t output, int64_t *shape) {
  if (kiln_status status = checkEntry(model, entry))
    return status;
  const kiln_abi_entry_desc &desc = model->desc->entries[entry];
  if (output < 0 || output >= desc.num_outputs) {
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("entry '%s': output index %d is out of range "
                             "(%d outputs)",
                             desc.name, output, desc.num_outputs));
  }
  if (!shape && desc.outputs[output].rank > 0)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "kiln_entry_output_shape: shape is null");
  std::vector<DimBinding> bindings;
  std::string error;
  if (kiln_status status =
          checkInputs(desc, inputs, numInputs, bindings, error))
    return fail(status, std::move(error));
  if (kiln_status status =
          inferOutputShape(desc, bindings, output, shape, error))
    return fail(status, std::move(error));
  return KILN_OK;
}

KILN_EXPORT kiln_status kiln_context_create(kiln_model *model,
                                            const kiln_context_options *options,
                                            kiln_context **context) {
  if (!context)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "kiln_context_create: context is null");
  *context = nullptr;
  if (!model)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "kiln_context_create: model is null");
  int32_t threads = options ? options->num_threads : 0;
  if (threads < 0) {
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                formatString("kiln_context_create: num_threads is %d; use 0 "
                             "for all cores or a positive count",
                             threads));
  }
  if (threads == 0) {
    long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    threads = online > 0 ? static_cast<int32_t>(online) : 1;
  }
  kiln_context *result = new (std::nothrow) kiln_context();
  if (!result)
    return fail(KILN_ERROR_OUT_OF_MEMORY, "cannot allocate the context");
  result->model = model;
  result->numThreads = threads;
  // Sized once so that validation on the hot path never allocates.
  result->buffers.resize(model->maxTensors);
  result->dims.resize(model->maxDims);
  result->bindings.reserve(model->maxDims);
  result->stagedOutputs.reserve(model->maxTensors);
  if (model->onCuda())
    result->deviceArena = std::make_unique<Arena>(
        Arena::SystemMemory{&cuda::allocate, &cuda::release});
  model->refs.fetch_add(1, std::memory_order_relaxed);
  *context = result;
  return KILN_OK;
}

KILN_EXPORT void kiln_context_destroy(kiln_context *context) {
  if (!context)
    return;
  kiln_model *model = context->model;
  delete context;
  release(model);
}

KILN_EXPORT kiln_model *kiln_context_model(const kiln_context *context) {
  return context ? context->model : nullptr;
}

namespace {
/// kiln_context_run for a cuda model, after validation: inputs go to the
/// device arena (through host scratch when strided), the entry runs, and
/// outputs come back.
kiln_status runOnCuda(kiln_context *context, const kiln_abi_entry_desc &desc,
                      const kiln_tensor *inputs, int32_t numInputs,
                      const kiln_tensor *outputs, int32_t numOutputs) {
  const kiln_model *model = context->model;
  Arena &device = *context->deviceArena;
  context->arena.reset();
  device.reset();
  kiln_abi_buffer *buffers = context->buffers.data();
  int64_t *strideSlot = context->dims.data();
  std::string error;
  // Finishes a failed call: nothing may still be running on the arena.
  auto failCall = [&](kiln_status status, std::string message) {
    std::string ignored;
    cuda::synchronize(ignored);
    device.consolidate();
    context->arena.consolidate();
    return fail(status, std::move(message));
  };
  auto elementCount = [](const kiln_abi_buffer &buffer) {
    int64_t count = 1;
    for (int32_t d = 0; d < buffer.rank; ++d)
      count *= buffer.shape[d];
    return static_cast<uint64_t>(count);
  };
  for (int32_t i = 0; i < numInputs + numOutputs; ++i) {
    bool isInput = i < numInputs;
    const kiln_tensor &tensor = isInput ? inputs[i] : outputs[i - numInputs];
    kiln_abi_buffer &buffer = buffers[i];
    makeBuffer(tensor, buffer, strideSlot);
    const void *host = buffer.data;
    bool dense = kilnIsDenseRowMajor(buffer.rank, buffer.shape, buffer.strides);
    const int64_t *hostStrides = buffer.strides;
    uint64_t bytes = elementCount(buffer) * kiln_dtype_size(tensor.dtype);
    void *onDevice = device.allocate(bytes ? bytes : 1);
    const char *name = isInput ? desc.inputs[i].name
                               : desc.outputs[i - numInputs].name;
    if (!onDevice)
      return failCall(KILN_ERROR_OUT_OF_MEMORY,
                   formatString("entry '%s': no device memory for '%s'",
                                desc.name, name));
    buffer.data = onDevice;
    kilnSetRowMajorStrides(buffer.rank, buffer.shape, strideSlot);
    buffer.strides = strideSlot;
    if (isInput && bytes) {
      if (!dense) {
        void *staged = context->arena.allocate(bytes);
        if (!staged)
          return failCall(KILN_ERROR_OUT_OF_MEMORY,
                       formatString("entry '%s': no memory to stage strided "
                                    "input '%s'",
                                    desc.name, name));
        kilnCopyStrided(staged, buffer.strides, host, hostStrides,
                        buffer.shape, buffer.rank,
                        kiln_dtype_size(tensor.dtype));
        host = staged;
      }
      if (!cuda::copyToDevice(onDevice, host, bytes, error))
        return failCall(KILN_ERROR_EXECUTION,
                     formatString("entry '%s': input '%s': %s", desc.name,
                                  name, error.c_str()));
    }
    strideSlot += tensor.rank;
  }

  context->error[0] = '\0';
  kiln_abi_call call;
  call.weights_data = model->deviceWeights;
  call.inputs = buffers;
  call.outputs = buffers + numInputs;
  call.num_threads = context->numThreads;
  call.alloc = &Arena::allocateThunk;
  call.arena = &device;
  call.error = context->error;
  call.error_capacity = sizeof(context->error);
  cuda::takeError();
  int32_t rc = desc.fn(&call);
  bool synced = cuda::synchronize(error);
  if (rc != 0) {
    context->error[sizeof(context->error) - 1] = '\0';
    return failCall(KILN_ERROR_EXECUTION,
                 formatString("entry '%s' failed (code %d): %s", desc.name, rc,
                              context->error[0] ? context->error
                                                : "no message"));
  }
  if (!synced)
    return failCall(KILN_ERROR_EXECUTION,
                 formatString("entry '%s' failed on the GPU: %s", desc.name,
                              error.c_str()));
  for (int32_t o = 0; o < numOutputs; ++o) {
    const kiln_abi_buffer &result = buffers[numInputs + o];
    const kiln_tensor &tensor = outputs[o];
    uint64_t bytes = elementCount(result) * kiln_dtype_size(tensor.dtype);
    kiln_abi_buffer caller;
    auto *callerStrides = static_cast<int64_t *>(
        context->arena.allocate(sizeof(int64_t) * (tensor.rank + 1)));
    if (!callerStrides)
      return failCall(KILN_ERROR_OUT_OF_MEMORY, "out of host memory");
    makeBuffer(tensor, caller, callerStrides);
    bool dense = kilnIsDenseRowMajor(caller.rank, caller.shape, caller.strides);
    void *target = dense ? caller.data : context->arena.allocate(bytes);
    if (!target)
      return failCall(KILN_ERROR_OUT_OF_MEMORY,
                   formatString("entry '%s': no memory to stage strided "
                                "output '%s'",
                                desc.name, desc.outputs[o].name));
    if (!cuda::copyToHost(target, result.data, bytes, error))
      return failCall(KILN_ERROR_EXECUTION,
                   formatString("entry '%s': output '%s': %s", desc.name,
                                desc.outputs[o].name, error.c_str()));
    if (!dense)
      kilnCopyStrided(caller.data, caller.strides, target, result.strides,
                      result.shape, result.rank,
                      kiln_dtype_size(tensor.dtype));
  }
  device.consolidate();
  context->arena.consolidate();
  return KILN_OK;
}
} // namespace

KILN_EXPORT kiln_status kiln_context_run(kiln_context *context, int32_t entry,
                                         const kiln_tensor *inputs,
                                         int32_t numInputs,
                                         const kiln_tensor *outputs,
                                         int32_t numOutputs) {
  if (!context)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "kiln_context_run: context is null");
  const kiln_model *model = context->model;
  if (kiln_status status = checkEntry(model, entry))
    return status;
  const kiln_abi_entry_desc &desc = model->desc->entries[entry];
  std::string error;
  if (kiln_status status =
          checkInputs(desc, inputs, numInputs, context->bindings, error))
    return fail(status, std::move(error));
  // Inputs took at most `dims` entries of shape scratch; outputs are checked
  // in the same table before it is reused for strides.
  if (kiln_status status =
          checkOutputs(desc, context->bindings, outputs, numOutputs,
                       context->dims.data(), error))
    return fail(status, std::move(error));

  if (model->onCuda())
    return runOnCuda(context, desc, inputs, numInputs, outputs, numOutputs);

  // Compiled code takes dense row-major buffers: strided tensors are staged
  // through the arena (inputs copied in, outputs copied back after the run).
  context->arena.reset();
  kiln_abi_buffer *buffers = context->buffers.data();
  int64_t *strideSlot = context->dims.data();
  context->stagedOutputs.clear();
  // Points `buffer` at dense arena scratch with row-major strides (in its
  // stride slot); false when out of memory.
  auto stage = [&](kiln_abi_buffer &buffer, kiln_dtype dtype) {
    int64_t count = 1;
    for (int32_t d = 0; d < buffer.rank; ++d)
      count *= buffer.shape[d];
    void *dense = context->arena.allocate(static_cast<uint64_t>(count) *
                                          kiln_dtype_size(dtype));
    if (!dense)
      return false;
    kilnSetRowMajorStrides(buffer.rank, buffer.shape, strideSlot);
    buffer.data = dense;
    buffer.strides = strideSlot;
    return true;
  };
  for (int32_t i = 0; i < numInputs; ++i) {
    kiln_abi_buffer &buffer = buffers[i];
    makeBuffer(inputs[i], buffer, strideSlot);
    if (!kilnIsDenseRowMajor(buffer.rank, buffer.shape, buffer.strides)) {
      kiln_abi_buffer caller = buffer;
      if (!stage(buffer, inputs[i].dtype))
        return fail(KILN_ERROR_OUT_OF_MEMORY,
                    formatString("entry '%s': no memory to stage strided "
                                 "input '%s'",
                                 desc.name, desc.inputs[i].name));
      kilnCopyStrided(buffer.data, buffer.strides, caller.data, caller.strides,
                      buffer.shape, buffer.rank,
                      kiln_dtype_size(inputs[i].dtype));
    }
    strideSlot += inputs[i].rank;
  }
  for (int32_t o = 0; o < numOutputs; ++o) {
    kiln_abi_buffer &buffer = buffers[numInputs + o];
    makeBuffer(outputs[o], buffer, strideSlot);
    if (!kilnIsDenseRowMajor(buffer.rank, buffer.shape, buffer.strides)) {
      context->stagedOutputs.push_back({o, buffer.data, buffer.strides});
      if (!stage(buffer, outputs[o].dtype))
        return fail(KILN_ERROR_OUT_OF_MEMORY,
                    formatString("entry '%s': no memory to stage strided "
                                 "output '%s'",
                                 desc.name, desc.outputs[o].name));
    }
    strideSlot += outputs[o].rank;
  }

  context->error[0] = '\0';
  kiln_abi_call call;
  call.weights_data = model->weights.data();
  call.inputs = buffers;
  call.outputs = buffers + numInputs;
  call.num_threads = context->numThreads;
  call.alloc = &Arena::allocateThunk;
  call.arena = &context->arena;
  call.error = context->error;
  call.error_capacity = sizeof(context->error);

  int32_t rc = desc.fn(&call);
  if (rc == 0)
    for (const StagedOutput &staged : context->stagedOutputs) {
      const kiln_abi_buffer &dense = buffers[numInputs + staged.index];
      kilnCopyStrided(staged.data, staged.strides, dense.data, dense.strides,
                      dense.shape, dense.rank,
                      kiln_dtype_size(outputs[staged.index].dtype));
    }
  context->arena.consolidate();
  if (rc != 0) {
    context->error[sizeof(context->error) - 1] = '\0';
    return fail(
        KILN_ERROR_EXECUTION,
        formatString("entry '%s' failed (code %d): %s", desc.name, rc,
                     context->error[0] ? context->error : "no message"));
  }
  return KILN_OK;
}

KILN_EXPORT kiln_status kiln_internal_context_arena_stats(
    const kiln_context *context, uint64_t *capacity,
    uint64_t *numSystemAllocations) {
  if (!context || !capacity || !numSystemAllocations)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "kiln_internal_context_arena_stats: null argument");
  *capacity = context->arena.capacity();
  *numSystemAllocations = context->arena.numSystemAllocations();
  return KILN_OK;
}
