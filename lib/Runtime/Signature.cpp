//===- Signature.cpp - Checking tensors against an entry signature --------===//
//
//===----------------------------------------------------------------------===//

#include "Signature.h"
#include "Support.h"

#include <cinttypes>
#include <cstring>

using namespace kiln::runtime;

namespace {
bool isValidDtype(int32_t dtype) {
  return dtype >= KILN_ABI_DTYPE_F32 && dtype <= KILN_ABI_DTYPE_BOOL;
}

const char *dtypeName(int32_t dtype) {
  return kiln_dtype_name(static_cast<kiln_dtype>(dtype));
}

const char *orUnnamed(const char *name) { return name ? name : "<unnamed>"; }

const DimBinding *findBinding(const std::vector<DimBinding> &bindings,
                              const char *name) {
  for (const DimBinding &binding : bindings)
    if (std::strcmp(binding.name, name) == 0)
      return &binding;
  return nullptr;
}

/// Checks one input or output descriptor of `entry`.
kiln_status checkTensorDesc(const kiln_abi_entry_desc &entry,
                            const kiln_abi_tensor_desc &desc, const char *kind,
                            int32_t index, const std::string &soPath,
                            std::string &error) {
  std::string where =
      formatString("'%s': entry '%s' %s %d ('%s')", soPath.c_str(), entry.name,
                   kind, index, orUnnamed(desc.name));
  if (!desc.name) {
    error = "model descriptor of " + where + " has no name";
    return KILN_ERROR_CORRUPT;
  }
  if (!isValidDtype(desc.dtype)) {
    error = formatString("model descriptor of %s has unknown dtype %d",
                         where.c_str(), desc.dtype);
    return KILN_ERROR_CORRUPT;
  }
  if (desc.rank < 0 || (desc.rank > 0 && (!desc.dims || !desc.dim_names))) {
    error = formatString("model descriptor of %s has rank %d but no dims or "
                         "dim names",
                         where.c_str(), desc.rank);
    return KILN_ERROR_CORRUPT;
  }
  for (int32_t d = 0; d < desc.rank; ++d) {
    int64_t dim = desc.dims[d];
    if (dim < -1 || (dim == -1 && !desc.dim_names[d])) {
      error = formatString("model descriptor of %s: dim %d is %" PRId64 "%s",
                           where.c_str(), d, dim,
                           dim == -1 ? " with no symbol name" : "");
      return KILN_ERROR_CORRUPT;
    }
  }
  return KILN_OK;
}

/// Checks the parts of a tensor that do not depend on the signature's dims.
kiln_status checkTensorBasics(const kiln_abi_entry_desc &entry,
                              const kiln_abi_tensor_desc &desc,
                              const kiln_tensor &tensor, const char *kind,
                              bool isOutput, std::string &error) {
  // A C caller may store any int in the enum field, and loading an enum
  // outside its values is undefined in C++: read the integer instead.
  int32_t dtype;
  static_assert(sizeof(tensor.dtype) == sizeof(dtype), "kiln_dtype is an int");
  std::memcpy(&dtype, &tensor.dtype, sizeof(dtype));
  if (!isValidDtype(dtype)) {
    error = formatString("entry '%s': %s '%s' has unknown dtype %d (valid: "
                         "0..%d, see kiln_dtype)",
                         entry.name, kind, desc.name, dtype,
                         KILN_ABI_DTYPE_BOOL);
    return KILN_ERROR_INVALID_ARGUMENT;
  }
  if (dtype != desc.dtype) {
    error = formatString(
        "entry '%s': %s '%s' has dtype %s but the entry expects %s", entry.name,
        kind, desc.name, dtypeName(dtype), dtypeName(desc.dtype));
    return KILN_ERROR_DTYPE_MISMATCH;
  }
  if (tensor.rank != desc.rank) {
    error = formatString(
        "entry '%s': %s '%s' has rank %d but the entry expects rank %d %s",
        entry.name, kind, desc.name, tensor.rank, desc.rank,
        formatSignatureShape(desc).c_str());
    return KILN_ERROR_SHAPE_MISMATCH;
  }
  if (tensor.rank > 0 && !tensor.shape) {
    error = formatString("entry '%s': %s '%s' has rank %d but a null shape",
                         entry.name, kind, desc.name, tensor.rank);
    return KILN_ERROR_INVALID_ARGUMENT;
  }
  // Elements must be addressable with int64 arithmetic, as generated code
  // computes offsets that way. The product skips zero dims: an empty tensor
  // of shape [0, 2^62, 8] still has strides and loop bounds to compute.
  int64_t elements = 1, nonZeroProduct = 1;
  for (int32_t d = 0; d < tensor.rank; ++d) {
    int64_t dim = tensor.shape[d];
    if (dim < 0) {
      error = formatString("entry '%s': %s '%s' dim %d is %" PRId64
                           "; sizes must be non-negative",
                           entry.name, kind, desc.name, d, dim);
      return KILN_ERROR_SHAPE_MISMATCH;
    }
    if (dim != 0 && nonZeroProduct > INT64_MAX / dim) {
      error = formatString("entry '%s': %s '%s' has dims whose product does "
                           "not fit in 64 bits",
                           entry.name, kind, desc.name);
      return KILN_ERROR_SHAPE_MISMATCH;
    }
    if (dim != 0)
      nonZeroProduct *= dim;
    elements *= dim;
  }
  if (tensor.strides) {
    for (int32_t d = 0; d < tensor.rank; ++d) {
      int64_t stride = tensor.strides[d];
      if (stride < 0) {
        error = formatString("entry '%s': %s '%s' dim %d has stride %" PRId64
                             "; strides must be non-negative",
                             entry.name, kind, desc.name, d, stride);
        return KILN_ERROR_INVALID_ARGUMENT;
      }
      // A zero stride broadcasts an input, but would make several output
      // elements share one address.
      if (isOutput && stride == 0 && tensor.shape[d] > 1) {
        error = formatString("entry '%s': output '%s' dim %d has stride 0; "
                             "output elements must not overlap",
                             entry.name, desc.name, d);
        return KILN_ERROR_INVALID_ARGUMENT;
      }
    }
  }
  if (!tensor.data && elements != 0) {
    error = formatString("entry '%s': %s '%s' has %" PRId64
                         " elements but null data",
                         entry.name, kind, desc.name, elements);
    return KILN_ERROR_INVALID_ARGUMENT;
  }
  return KILN_OK;
}

kiln_status checkCount(const kiln_abi_entry_desc &entry, const char *kind,
                       const void *tensors, int32_t given, int32_t expected,
                       std::string &error) {
  if (given != expected) {
    error = formatString("entry '%s' takes %d %ss but %d were given",
                         entry.name, expected, kind, given);
    return KILN_ERROR_INVALID_ARGUMENT;
  }
  if (given > 0 && !tensors) {
    error = formatString("entry '%s': %d %ss given but the %s array is null",
                         entry.name, given, kind, kind);
    return KILN_ERROR_INVALID_ARGUMENT;
  }
  return KILN_OK;
}
} // namespace

std::string
kiln::runtime::formatSignatureShape(const kiln_abi_tensor_desc &desc) {
  std::string result = "[";
  for (int32_t d = 0; d < desc.rank; ++d) {
    if (d)
      result += ", ";
    if (desc.dims[d] < 0)
      result += desc.dim_names[d] ? desc.dim_names[d] : "?";
    else
      result += std::to_string(desc.dims[d]);
  }
  return result + "]";
}

kiln_status kiln::runtime::checkModelDescriptor(const kiln_abi_model_desc &desc,
                                                const std::string &soPath,
                                                size_t &maxTensors,
                                                size_t &maxDims,
                                                std::string &error) {
  maxTensors = 0;
  maxDims = 0;
  if (desc.num_entries > 0 && !desc.entries) {
    error = formatString("model descriptor of '%s' lists %u entries but no "
                         "entry table",
                         soPath.c_str(), desc.num_entries);
    return KILN_ERROR_CORRUPT;
  }
  if (desc.num_entries > INT32_MAX) {
    error = formatString("model descriptor of '%s' lists %u entries",
                         soPath.c_str(), desc.num_entries);
    return KILN_ERROR_CORRUPT;
  }
  std::vector<DimBinding> bound;
  for (uint32_t e = 0; e < desc.num_entries; ++e) {
    const kiln_abi_entry_desc &entry = desc.entries[e];
    if (!entry.name || !entry.fn || entry.num_inputs < 0 ||
        entry.num_outputs < 0 || (entry.num_inputs > 0 && !entry.inputs) ||
        (entry.num_outputs > 0 && !entry.outputs)) {
      error = formatString("model descriptor of '%s': entry %u ('%s') lacks "
                           "a name, a function or its tensor tables",
                           soPath.c_str(), e, orUnnamed(entry.name));
      return KILN_ERROR_CORRUPT;
    }
    size_t dims = 0;
    bound.clear();
    for (int32_t i = 0; i < entry.num_inputs; ++i) {
      const kiln_abi_tensor_desc &input = entry.inputs[i];
      if (kiln_status status =
              checkTensorDesc(entry, input, "input", i, soPath, error))
        return status;
      dims += static_cast<size_t>(input.rank);
      for (int32_t d = 0; d < input.rank; ++d)
        if (input.dims[d] < 0)
          bound.push_back({input.dim_names[d], 0, i, d});
    }
    for (int32_t o = 0; o < entry.num_outputs; ++o) {
      const kiln_abi_tensor_desc &output = entry.outputs[o];
      if (kiln_status status =
              checkTensorDesc(entry, output, "output", o, soPath, error))
        return status;
      dims += static_cast<size_t>(output.rank);
      for (int32_t d = 0; d < output.rank; ++d) {
        if (output.dims[d] >= 0 || findBinding(bound, output.dim_names[d]))
          continue;
        error = formatString("model descriptor of '%s': entry '%s' output "
                             "'%s' dim %d ('%s') is bound by no input",
                             soPath.c_str(), entry.name, output.name, d,
                             output.dim_names[d]);
        return KILN_ERROR_CORRUPT;
      }
    }
    size_t tensors = static_cast<size_t>(entry.num_inputs) +
                     static_cast<size_t>(entry.num_outputs);
    if (tensors > maxTensors)
      maxTensors = tensors;
    if (dims > maxDims)
      maxDims = dims;
  }
  return KILN_OK;
}

kiln_status kiln::runtime::checkInputs(const kiln_abi_entry_desc &entry,
                                       const kiln_tensor *inputs,
                                       int32_t numInputs,
                                       std::vector<DimBinding> &bindings,
                                       std::string &error) {
  bindings.clear();
  if (kiln_status status = checkCount(entry, "input", inputs, numInputs,
                                      entry.num_inputs, error))
    return status;
  for (int32_t i = 0; i < numInputs; ++i) {
    const kiln_abi_tensor_desc &desc = entry.inputs[i];
    const kiln_tensor &tensor = inputs[i];
    if (kiln_status status =
            checkTensorBasics(entry, desc, tensor, "input", false, error))
      return status;
    for (int32_t d = 0; d < desc.rank; ++d) {
      int64_t size = tensor.shape[d];
      if (desc.dims[d] >= 0) {
        if (size == desc.dims[d])
          continue;
        error = formatString("entry '%s': input '%s' dim %d is %" PRId64
                             " but the entry expects %" PRId64 " %s",
                             entry.name, desc.name, d, size, desc.dims[d],
                             formatSignatureShape(desc).c_str());
        return KILN_ERROR_SHAPE_MISMATCH;
      }
      const char *name = desc.dim_names[d];
      const DimBinding *binding = findBinding(bindings, name);
      if (!binding) {
        bindings.push_back({name, size, i, d});
        continue;
      }
      if (binding->size == size)
        continue;
      const kiln_abi_tensor_desc &first = entry.inputs[binding->input];
      error = formatString("entry '%s': input '%s' dim %d ('%s') is %" PRId64
                           " but input '%s' binds '%s' to %" PRId64,
                           entry.name, desc.name, d, name, size, first.name,
                           name, binding->size);
      return KILN_ERROR_SHAPE_MISMATCH;
    }
  }
  return KILN_OK;
}

kiln_status kiln::runtime::inferOutputShape(
    const kiln_abi_entry_desc &entry, const std::vector<DimBinding> &bindings,
    int32_t output, int64_t *shape, std::string &error) {
  const kiln_abi_tensor_desc &desc = entry.outputs[output];
  for (int32_t d = 0; d < desc.rank; ++d) {
    if (desc.dims[d] >= 0) {
      shape[d] = desc.dims[d];
      continue;
    }
    const DimBinding *binding = findBinding(bindings, desc.dim_names[d]);
    if (!binding) {
      // checkModelDescriptor rules this out; kept so a bad descriptor can
      // never make the runtime read garbage.
      error = formatString("entry '%s': output '%s' dim %d ('%s') is bound "
                           "by no input",
                           entry.name, desc.name, d, desc.dim_names[d]);
      return KILN_ERROR_CORRUPT;
    }
    shape[d] = binding->size;
  }
  return KILN_OK;
}

kiln_status kiln::runtime::checkOutputs(const kiln_abi_entry_desc &entry,
                                        const std::vector<DimBinding> &bindings,
                                        const kiln_tensor *outputs,
                                        int32_t numOutputs,
                                        int64_t *shapeScratch,
                                        std::string &error) {
  if (kiln_status status = checkCount(entry, "output", outputs, numOutputs,
                                      entry.num_outputs, error))
    return status;
  for (int32_t o = 0; o < numOutputs; ++o) {
    const kiln_abi_tensor_desc &desc = entry.outputs[o];
    const kiln_tensor &tensor = outputs[o];
    if (kiln_status status =
            checkTensorBasics(entry, desc, tensor, "output", true, error))
      return status;
    if (kiln_status status =
            inferOutputShape(entry, bindings, o, shapeScratch, error))
      return status;
    for (int32_t d = 0; d < desc.rank; ++d) {
      if (tensor.shape[d] == shapeScratch[d])
        continue;
      std::string origin =
          desc.dims[d] >= 0
              ? std::string("the entry expects")
              : formatString("the inputs bind '%s' to", desc.dim_names[d]);
      error = formatString("entry '%s': output '%s' dim %d is %" PRId64
                           " but %s %" PRId64,
                           entry.name, desc.name, d, tensor.shape[d],
                           origin.c_str(), shapeScratch[d]);
      return KILN_ERROR_SHAPE_MISMATCH;
    }
  }
  return KILN_OK;
}

void kiln::runtime::makeBuffer(const kiln_tensor &tensor,
                               kiln_abi_buffer &buffer,
                               int64_t *strideStorage) {
  buffer.data = tensor.data;
  buffer.rank = tensor.rank;
  buffer.shape = tensor.shape;
  if (tensor.strides) {
    buffer.strides = tensor.strides;
    return;
  }
  int64_t stride = 1;
  for (int32_t d = tensor.rank - 1; d >= 0; --d) {
    strideStorage[d] = stride;
    stride *= tensor.shape[d];
  }
  buffer.strides = strideStorage;
}
