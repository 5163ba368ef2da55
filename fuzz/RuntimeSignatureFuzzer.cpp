//===- RuntimeSignatureFuzzer.cpp - libFuzzer target for input checks -----===//
//
// The runtime's guard in front of generated code (lib/Runtime/Signature.h):
// a model descriptor built from the input is checked as kiln_model_open
// checks the one a model.so exports; when it passes, tensors built from the
// rest of the input are checked as kiln_context_run checks the caller's.
// Whatever passes is handed on as the runtime would: output shapes are
// inferred and buffers made. Rejections must carry a message.
//
//===----------------------------------------------------------------------===//

#include "Signature.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

using namespace kiln::runtime;

namespace {

/// Dim names the descriptor picks from; nullptr tests unnamed dynamic dims.
const char *const kNames[] = {"batch", "seq", "capacity", "len", nullptr};

/// Owns everything a descriptor points to.
struct Storage {
  std::deque<std::vector<int64_t>> dims;
  std::deque<std::vector<const char *>> names;
  std::deque<std::vector<kiln_abi_tensor_desc>> tensors;
  std::vector<kiln_abi_entry_desc> entries;
};

int32_t dummyEntry(const kiln_abi_call *) { return 0; }

int64_t pickDim(FuzzedDataProvider &fdp) {
  switch (fdp.ConsumeIntegralInRange<int>(0, 3)) {
  case 0:
    return -1;
  case 1:
    return fdp.ConsumeIntegralInRange<int64_t>(0, 16);
  case 2:
    return fdp.ConsumeIntegral<int64_t>();
  default:
    return 8;
  }
}

void makeTensorDescs(FuzzedDataProvider &fdp, Storage &s, int32_t count,
                     const kiln_abi_tensor_desc *&out) {
  std::vector<kiln_abi_tensor_desc> &descs = s.tensors.emplace_back();
  for (int32_t i = 0; i < count; ++i) {
    kiln_abi_tensor_desc desc{};
    desc.name = fdp.ConsumeBool() ? "t" : (fdp.ConsumeBool() ? nullptr : "u");
    desc.dtype = fdp.ConsumeIntegralInRange<int32_t>(-1, 8);
    desc.rank = fdp.ConsumeIntegralInRange<int32_t>(-1, 4);
    if (desc.rank > 0 && fdp.ConsumeProbability<float>() > 0.02f) {
      std::vector<int64_t> &dims = s.dims.emplace_back();
      std::vector<const char *> &names = s.names.emplace_back();
      for (int32_t d = 0; d < desc.rank; ++d) {
        dims.push_back(pickDim(fdp));
        names.push_back(kNames[fdp.ConsumeIntegralInRange<size_t>(
            0, std::size(kNames) - 1)]);
      }
      desc.dims = dims.data();
      desc.dim_names = names.data();
    }
    descs.push_back(desc);
  }
  out = descs.empty() ? nullptr : descs.data();
}

/// Tensors for `entry`'s inputs or outputs, mostly well-formed.
void makeTensors(FuzzedDataProvider &fdp, const kiln_abi_tensor_desc *descs,
                 int32_t count, std::deque<std::vector<int64_t>> &arrays,
                 std::vector<kiln_tensor> &tensors, void *data) {
  tensors.clear();
  for (int32_t i = 0; i < count; ++i) {
    const kiln_abi_tensor_desc &desc = descs[i];
    kiln_tensor tensor{};
    // Stored as a C caller would store any int: the runtime must cope.
    int32_t dtype = fdp.ConsumeBool()
                        ? desc.dtype
                        : fdp.ConsumeIntegralInRange<int32_t>(-1, 8);
    std::memcpy(&tensor.dtype, &dtype, sizeof(dtype));
    tensor.rank = fdp.ConsumeBool() ? desc.rank
                                    : fdp.ConsumeIntegralInRange<int32_t>(0, 4);
    if (tensor.rank > 0 && fdp.ConsumeProbability<float>() > 0.02f) {
      std::vector<int64_t> &shape = arrays.emplace_back();
      for (int32_t d = 0; d < tensor.rank; ++d)
        shape.push_back(d < desc.rank && desc.dims && desc.dims[d] >= 0 &&
                                fdp.ConsumeBool()
                            ? desc.dims[d]
                            : pickDim(fdp));
      tensor.shape = shape.data();
      if (fdp.ConsumeBool()) {
        std::vector<int64_t> &strides = arrays.emplace_back();
        for (int32_t d = 0; d < tensor.rank; ++d)
          strides.push_back(fdp.ConsumeIntegralInRange<int64_t>(-1, 64));
        tensor.strides = strides.data();
      }
    }
    tensor.data = fdp.ConsumeProbability<float>() > 0.05f ? data : nullptr;
    tensors.push_back(tensor);
  }
}

void requireMessage(kiln_status status, const std::string &error) {
  if (status != KILN_OK && error.empty())
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size) {
  FuzzedDataProvider fdp(bytes, size);
  Storage s;
  int32_t numEntries = fdp.ConsumeIntegralInRange<int32_t>(0, 3);
  for (int32_t e = 0; e < numEntries; ++e) {
    kiln_abi_entry_desc entry{};
    entry.name = fdp.ConsumeProbability<float>() > 0.02f ? "forward" : nullptr;
    entry.fn = fdp.ConsumeProbability<float>() > 0.02f ? dummyEntry : nullptr;
    entry.num_inputs = fdp.ConsumeIntegralInRange<int32_t>(0, 4);
    entry.num_outputs = fdp.ConsumeIntegralInRange<int32_t>(0, 3);
    makeTensorDescs(fdp, s, entry.num_inputs, entry.inputs);
    makeTensorDescs(fdp, s, entry.num_outputs, entry.outputs);
    s.entries.push_back(entry);
  }
  kiln_abi_model_desc model{};
  model.abi_version = KILN_MODEL_ABI_VERSION;
  model.num_entries = static_cast<uint32_t>(s.entries.size());
  model.entries = s.entries.empty() ? nullptr : s.entries.data();

  std::string error;
  size_t maxTensors = 0, maxDims = 0;
  kiln_status status =
      checkModelDescriptor(model, "fuzz/model.so", maxTensors, maxDims, error);
  requireMessage(status, error);
  if (status != KILN_OK || s.entries.empty())
    return 0;

  // A valid descriptor: run calls against its first entry.
  const kiln_abi_entry_desc &entry = s.entries.front();
  alignas(64) static unsigned char data[64];
  std::deque<std::vector<int64_t>> arrays;
  std::vector<kiln_tensor> inputs, outputs;
  std::vector<DimBinding> bindings;
  while (fdp.remaining_bytes() > 0) {
    int32_t numInputs = fdp.ConsumeBool()
                            ? entry.num_inputs
                            : fdp.ConsumeIntegralInRange<int32_t>(0, 4);
    makeTensors(fdp, entry.inputs, std::min(numInputs, entry.num_inputs),
                arrays, inputs, data);
    error.clear();
    status = checkInputs(entry, inputs.empty() ? nullptr : inputs.data(),
                         numInputs > entry.num_inputs ? numInputs
                                                      : int32_t(inputs.size()),
                         bindings, error);
    requireMessage(status, error);
    if (status != KILN_OK)
      continue;
    std::vector<int64_t> shape(maxDims + 1);
    for (int32_t o = 0; o < entry.num_outputs; ++o) {
      error.clear();
      requireMessage(inferOutputShape(entry, bindings, o, shape.data(), error),
                     error);
    }
    makeTensors(fdp, entry.outputs, entry.num_outputs, arrays, outputs, data);
    error.clear();
    status = checkOutputs(entry, bindings,
                          outputs.empty() ? nullptr : outputs.data(),
                          int32_t(outputs.size()), shape.data(), error);
    requireMessage(status, error);
    if (status != KILN_OK)
      continue;
    std::vector<int64_t> strides(maxDims + 1);
    for (const kiln_tensor &tensor : inputs) {
      kiln_abi_buffer buffer;
      makeBuffer(tensor, buffer, strides.data());
    }
  }
  return 0;
}
